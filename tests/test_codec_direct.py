"""yamlcodec.dumps writes records directly (issue 29: import speed) and must give the very bytes
PyYAML's dump with the C emitter gives, which is what every record file was written with
before. Wherever the direct writer answers, its text equals yaml.dump's; where it declines, the
record goes through yaml.dump. Generated records cover the shapes of deals and the strings
that make an emitter quote: indicators, reserved words, numbers as text, colons, unicode."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealcli.storage import yamlcodec

pytestmark = pytest.mark.skipif(not yamlcodec.WITH_LIBYAML,
                                reason="the direct writer needs LibYAML's emitter as its reference")

TRICKY = ["yes", "No", "on", "OFF", "null", "Null", "~", "true", "1000", "1_000", "0x1F", "0o17", "1e3", "1.5",
          ".inf", "-.5", "+1", "1:20", "1:20:30", "2026-03-10", "2026-03-10T12:00:00+00:00", "=", "<<", "-", "a: b",
          "a:b", "a:", "a #b", "a#b", "#a", "- a", "? a", "@a", "&a", "*a", "!a", "%a", "'a", '"a', "a'b", 'a"b',
          "a  b", " a", "a ", "", "a\nb", "a\tb", "Straße", "é", "中文", "a\u2028b", "a\x85b", "\ufeffa", "y", "n",
          "a,b", "[a]", "{a}", "a|b", "a>b", "a\\b", "NaN", "0", "-0", "00", "0.0", "1.", ".", "..."]
ALPHABET = "aZ09 _.,:;#'\"-?@&*!%|>[]{}=~$/\\+()ßé\t\n"
texts = st.one_of(st.sampled_from(TRICKY), st.text(alphabet=ALPHABET, max_size=12),
                  st.builds(lambda a, b: a + b, st.sampled_from(TRICKY), st.sampled_from(TRICKY)))
scalars = st.one_of(
    texts, st.none(), st.booleans(), st.integers(-10**25, 10**25),
    st.decimals(allow_nan=True, allow_infinity=True), st.decimals(places=2, allow_nan=False, allow_infinity=False),
    st.floats(), st.dates(), st.datetimes(timezones=st.just(dt.timezone.utc)),
)
keys = st.one_of(st.sampled_from(["id", "title", "amount", "stage", "fields", "1", "yes", "a b", "a: b", "é"]), texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(keys, inner, max_size=3)), max_leaves=12)
records = st.dictionaries(keys, values, min_size=1, max_size=8)
# mostly what the direct writer takes (so that most examples compare its text, not its refusal)
QUOTED = ["yes", "No", "on", "null", "~", "true", "1000", "1_000", "0x1F", "1e3", "1.5", "1:20", "-0", "00", "0.0"]
words = st.text(alphabet="aZ09 _.,;'-?@&!%=~$/+()ßé中", min_size=1, max_size=14).filter(
    lambda t: t[0].isalnum() and not t.endswith(" "))
plain_texts = st.one_of(st.sampled_from(QUOTED), words, st.builds(lambda a, b: a + ":" + b, words, words))
plain_scalars = st.one_of(plain_texts, st.none(), st.booleans(), st.integers(-10**25, 10**25), st.dates(),
                          st.decimals(places=2, allow_nan=False, allow_infinity=False))
plain_keys = st.one_of(st.sampled_from(["id", "title", "stage", "a b", "é", "x1"]), words)
plain_values = st.recursive(plain_scalars, lambda inner: st.one_of(
    st.lists(inner.filter(lambda v: type(v) is not list), max_size=3), st.dictionaries(plain_keys, inner, max_size=3)),
    max_leaves=12)
plain_records = st.dictionaries(plain_keys, plain_values, min_size=1, max_size=8)


def reference(data) -> str:
    return yamlcodec._dump(data)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(records, plain_records))
def test_direct_writer_gives_the_bytes_of_the_c_emitter(record):
    out: list = []
    if yamlcodec._direct_map(record, "", out):
        assert "".join(out) == reference(record)
    assert yamlcodec.dumps(record) == reference(record)


def test_records_of_every_day_are_written_directly():
    """The shapes of real deals take the direct path (else it would only ever fall back)."""
    deal = {"format": 1, "id": "s2pv48qhnn", "title": "Mobile backup refresh (phase 2)", "pipeline": "sales",
            "stage": "new", "amount": Decimal("8211.00"), "manual_amount": False, "company": None,
            "contacts": ["77g3pfjn99"], "products": [{"name": "Seat", "price": Decimal("12.50"), "quantity": 5}],
            "created": "2024-02-23T23:36:00+00:00", "begin": dt.date(2024, 2, 23), "origin_id": "1000",
            "fields": {"region": "emea", "tier": 2}, "comments": [], "history": [
                {"at": "2024-02-28T00:36:00+00:00", "by": "chen@example.com", "kind": "commented",
                 "text": "Sent the proposal; decision expected after their board meeting next week."}]}
    out: list = []
    assert yamlcodec._direct_map(deal, "", out)
    assert "".join(out) == reference(deal)
    assert "origin_id: '1000'\n" in "".join(out)
