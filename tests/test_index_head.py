"""A warm `filter` decodes only the head of each deal let through (issue 29): the record without
its mappings and lists of mappings (products, history, comments, custom fields) when the
expressions, columns and sort keys read none of those. The answer must never change:

1. A property test: for any record and any set of keys, the head decoded for those keys holds
   exactly the record's values (and types) of those keys, or the whole record is decoded.
2. The cache hands out heads only when asked for keys the head holds.
3. End to end: `filter` (ids, json, table columns, sorts, custom fields, products) through the
   warm cache equals the answer with the cache off."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealcli.session import Session
from dealcli.storage import index as index_mod
from dealcli.views import listing

from conftest import NOW
from test_filter_pushdown import random_deal, write_deals

KEYS = ["id", "title", "amount", "products", "fields", "contacts", "history", "close_date", "x"]
leaf = st.one_of(st.none(), st.text(max_size=4), st.integers(-10**20, 10**20), st.booleans(),
                 st.decimals(allow_nan=False, allow_infinity=False, places=2), st.dates())
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)),
                     max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), value), st.sets(st.sampled_from(KEYS)))
def test_a_head_holds_exactly_the_keys_asked_for(record, keys):
    blob = index_mod.encode(record, "deals")
    assert index_mod.decode(blob) == record
    got = index_mod.decode(blob, frozenset(keys))
    for k in keys:
        assert (k in got) == (k in record)
        if k in record:
            assert got[k] == record[k] and type(got[k]) is type(record[k])
    assert set(got) <= set(record)


def _deal(rng: random.Random, i: int) -> dict:
    d = random_deal(rng, i)
    d["contacts"] = rng.choice([["p1"], ["p1", "p2"], []])
    d["products"] = [{"name": rng.choice(["Seat", "Setup"]), "price": Decimal("12.50"), "quantity": 2}]
    d["comments"] = [{"at": "2026-03-01T10:00:00+00:00", "by": "anna@example.com", "text": "hi"}]
    if rng.random() < 0.3:
        d["fields"] = {"region": rng.choice(["EMEA", "APAC"]), "tier": rng.choice([1, 2])}
    return d


def test_the_cache_hands_out_heads_only_for_keys_they_hold(repo, monkeypatch):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    rng = random.Random(3)
    write_deals(repo, [dict(_deal(rng, i), status="open", stage="new", title="T", amount=5, close_date=None)
                       for i in range(20)])
    s = Session(repo_root=repo, as_user="anna@example.com", now_text=NOW, quiet=True)
    n = len(list(s.deal_records([])))  # builds the cache (deals failing their schema are skipped)
    heads = list(s.deal_records([], keys=frozenset({"id", "amount"})))
    assert n > 3 and len(heads) == n
    assert all("products" not in r and "comments" not in r and r["amount"] == 5 for r in heads)
    whole = list(s.deal_records([], keys=frozenset({"id", "products"})))
    assert len(whole) == n and all(r["products"][0]["price"] == Decimal("12.50") and "comments" in r for r in whole)


CASES = [
    (["currency=usd,eur"], None, None, "ids"),
    (["amount>1000"], None, None, "table"),
    (["amount>=250", "status=open"], None, "-amount,title", "json"),
    (["responsible=anna@example.com"], "id,product,company_name", None, "json"),
    (["region=EMEA"], "id,title", None, "ids"),
    (["has:fields"], "id,tier,fields.region", "tier", "json"),
    (["title~cloud"], None, "close_date", "csv"),
    ([], None, None, "jsonl"),
]


@pytest.mark.parametrize("exprs, columns, sort, fmt", CASES)
def test_filter_from_heads_equals_filter_from_the_files(repo, monkeypatch, exprs, columns, sort, fmt):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)  # rows trusted on their stat, as in real use
    rng = random.Random(11)
    write_deals(repo, [_deal(rng, i) for i in range(300)])

    def answer():
        s = Session(repo_root=repo, as_user="anna@example.com", now_text=NOW, quiet=True)
        got = listing.filter_listing(s, exprs, None, sort, None, columns, fmt)
        out = listing.formatted(got, fmt, None)[0]
        if s.repo.index is not None:
            s.repo.index.close()
        return out

    answer()  # builds the cache
    warm = answer()
    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    assert warm == answer()
    assert warm.strip()


def test_as_of_still_reads_the_history(cli, monkeypatch):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    deal_id = cli.ok("deal", "add", "X", "--amount", "1000", now="2026-01-01T00:00:00+00:00").strip()
    cli.ok("deal", "move", deal_id, "preparation", now="2026-01-05T00:00:00+00:00")
    cli.ok("filter", "-f", "ids")  # warm
    assert cli.ok("filter", "stage=new", "--as-of", "2026-01-02", "-f", "ids").split() == [deal_id]
    assert dt.date(2026, 1, 2)  # the past is rebuilt from the history, which heads leave out


def test_board_from_heads_equals_board_from_the_files(repo, monkeypatch):
    """board reads only its cards' fields, so it is served from heads too."""
    from dealcli.views import board

    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    rng = random.Random(5)
    write_deals(repo, [_deal(rng, i) for i in range(200)])

    def answer():
        s = Session(repo_root=repo, as_user="anna@example.com", now_text=NOW, quiet=True)
        out = board.build(s, "sales", [], None, "-amount").as_dict()
        if s.repo.index is not None:
            s.repo.index.close()
        return out

    answer()
    warm = answer()
    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    assert warm == answer() and warm["total"]["count"] > 3
