"""Filter conditions pushed down into the index cache (issue 19) must never change an answer:
the typed columns (index.columns_of) and the pushed conditions (query._pushdown -> index.Cond)
only narrow the rows to a SUPERSET of the matches, and the exact Python test still decides.

1. A property test over generated records and expressions: whenever the exact predicate matches
   a record, the pushed SQL condition holds for that record's columns.
2. End to end: `filter` through the warm cache gives exactly what it gives with the cache off,
   also after hand edits (the edited rows are re-read, not judged by stale columns)."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dealcli import query
from dealcli.errors import RuleViolation, UsageError
from dealcli.session import Session
from dealcli.storage import index as index_mod
from dealcli.storage import yamlcodec

from conftest import NOW

FIELDS = list(index_mod.DEAL_COLUMNS)
WORDS = ["new", "New", "won", "open", "lost", "Anna@Example.com", "straße", "STRASSE", "ß", "a,b", "1000",
         "12.5", "x", " "]
DATES = ["2026-03-10", "2026-03-01", "2025-12-31", "this-month", "today", "-7d", "+3d", "next-week", "2026-03"]
NUMBERS = ["0", "1000", "999.99", "1_000", "-5", "1e3", "20", "1500.00", "12345678901234567890"]

text_values = st.sampled_from(["new", "NEW", "Won", "open", "", " ", "anna@example.com", "Straße", "strasse",
                               "2026-03-10", "2026-03-10T23:00:00+05:00", "1000", "abc"])
values = st.one_of(
    st.none(), text_values, st.text(alphabet="aAbßS1 -.", max_size=5),
    st.integers(-10, 10**22), st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False),
    st.booleans(), st.floats(allow_nan=True), st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 1, 1)),
    st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 1, 1)).map(dt.date.isoformat),
    st.lists(text_values, max_size=2), st.dictionaries(st.just("k"), text_values, max_size=1),
)
records = st.fixed_dictionaries({"id": st.just("d1")}, optional={f: values for f in FIELDS})

operands = st.one_of(st.sampled_from(WORDS + DATES + NUMBERS + ["@me", "new,won", "2026-03-10,2025-12-31"]),
                     text_values)


def sql_allows(conds: list, record: dict) -> bool:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE t ({', '.join(index_mod.COLUMN_NAMES)})")
    db.execute(f"INSERT INTO t VALUES ({','.join('?' * len(index_mod.COLUMN_NAMES))})",
               index_mod.columns_of("deals", record))
    cond, params = index_mod.where_sql(conds)
    return bool(db.execute(f"SELECT {cond} FROM t", params).fetchone()[0])


def near(value) -> list[str]:
    """Operands close to a stored value: itself in other cases, a part of it, its neighbours."""
    if isinstance(value, list):
        return [x for v in value for x in near(v)]
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    out = [text, text.upper(), text.lower(), text[:3], text[1:]]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        out += [str(value + 1), str(value - 1), str(Decimal(value) + Decimal("0.001"))]
    return [o for o in out if o.strip()]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records, data=st.data())
def test_pushed_conditions_never_exclude_a_match(session, record, data):
    present = [f for f in FIELDS if f in record] or FIELDS
    exprs = []
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(present))
        near_values = near(record.get(name))
        operand = data.draw(st.sampled_from(near_values) if near_values and data.draw(st.booleans()) else operands)
        exprs.append(f"{name}{data.draw(st.sampled_from(query.OPERATORS))}{operand}")
    try:
        q = query.compile_query(session, exprs)
    except (UsageError, RuleViolation):  # an unknown stage is a RuleViolation (exit 1)
        assume(False)
    if q.match(record):
        assert sql_allows(q.ctx.pushed, record), (exprs, record, index_mod.columns_of("deals", record))


def test_simple_conditions_are_pushed_and_narrow_the_rows(session):
    q = query.compile_query(session, ["responsible=Anna@example.com", "amount>1000", "close_date=this-month",
                                      "title~cloud", "stage!=won", "fields.region=EMEA"])
    assert [c.field for c in q.ctx.pushed] == ["responsible", "amount", "close_date", "title"]
    hit = {"id": "d1", "responsible": "anna@example.com", "amount": Decimal("1000.01"),
           "close_date": "2026-03-31", "title": "Big Cloud deal", "fields": {"region": "EMEA"}}
    assert q.match(hit) and sql_allows(q.ctx.pushed, hit)
    for miss in ({"responsible": "boris@example.com"}, {"amount": 999}, {"close_date": "2026-04-01"},
                 {"title": "On premises"}):
        assert not sql_allows(q.ctx.pushed, dict(hit, **miss)), miss
    odd = dict(hit, amount="1000.50")  # text in the file: the column is NULL, Python decides
    assert sql_allows(q.ctx.pushed, odd) and q.match(odd)


# -- end to end ------------------------------------------------------------------------------------
E2E_EXPRS = [
    ["responsible=anna@example.com"], ["responsible=ANNA@example.com", "amount>1000"], ["stage=new,won"],
    ["status=open"], ["status=won"], ["amount>=1500"], ["amount<500"], ["amount=1000"], ["probability>20"],
    ["close_date=this-month"], ["close_date<2026-03-01"], ["close_date>=2026-03-10"], ["begin=2026-03"],
    ["title~cloud"], ["title~ß,new"], ["company=c1"], ["currency=eur"], ["stage!=new"], ["title!~cloud"],
    ["responsible="], ["amount>1_000", "stage=new"],
]


def random_deal(rng: random.Random, i: int) -> dict:
    pick = rng.choice
    return {
        "format": 1, "id": f"d{i:04d}", "title": pick(["Cloud backup", "CLOUD", "Straße", "new deal", "", 42, None]),
        "pipeline": "sales", "stage": pick(["new", "NEW", "won", "preparation", "", None, 7]),
        "status": pick(["open", "won", "lost", "", None, "Open"]),
        "amount": pick([Decimal("1000.00"), 1000, Decimal("1500.5"), 250, "1200", None, True, 10**20, 1499.5]),
        "currency": pick(["USD", "EUR", "eur", None]), "company": pick(["c1", "C1", "c2", None, ["c1"]]),
        "responsible": pick(["anna@example.com", "Anna@Example.com", "boris@example.com", None, ""]),
        "probability": pick([10, 20, 30, "25", None, Decimal("20.0")]),
        "close_date": pick(["2026-03-10", "2026-03-31", "2026-02-28", "2026-04-01", "garbage", None,
                            dt.date(2026, 3, 15), "2026-03-10T23:30:00+00:00"]),
        "begin": pick(["2026-03-02", "2026-01-15", None]),
        "fields": {"region": pick(["EMEA", "APAC"])},
    }


def write_deals(repo: Path, deals: list[dict]) -> None:
    (repo / "deals").mkdir(exist_ok=True)
    for d in deals:
        (repo / "deals" / f"{d['id']}.yaml").write_text(yamlcodec.dumps(d), encoding="utf-8")


def answers(repo: Path) -> dict:
    out = {}
    for exprs in E2E_EXPRS:
        s = Session(repo_root=repo, as_user="anna@example.com", now_text=NOW, quiet=True)
        out[tuple(exprs)] = [r["id"] for r in query.run(s, query.compile_query(s, exprs))]
        if s.repo.index is not None:
            s.repo.index.close()
    return out


@pytest.mark.parametrize("seed", range(3))
def test_filter_through_the_cache_equals_reading_every_file(repo, monkeypatch, seed):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)  # rows are trusted on their stat, as in real use
    rng = random.Random(seed)
    deals = [random_deal(rng, i) for i in range(120)]
    write_deals(repo, deals)
    answers(repo)  # builds the cache
    warm = answers(repo)
    # hand edits after the cache was built: the edited rows must be judged by their new content
    edited = [dict(random_deal(rng, 1000 + i), id=d["id"]) for i, d in enumerate(rng.sample(deals, 25))]
    write_deals(repo, edited)
    for d in rng.sample(deals, 5):
        path = repo / "deals" / f"{d['id']}.yaml"
        if path.exists():
            path.unlink()
    after_edit = answers(repo)
    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    assert after_edit == answers(repo)
    assert any(after_edit.values())  # the expressions do select something
    monkeypatch.delenv("DEALCLI_NO_INDEX")
    write_deals(repo, deals)  # put the first versions back: the warm answers return
    for p in (repo / "deals").glob("*.yaml"):
        if p.stem not in {d["id"] for d in deals}:
            p.unlink()
    assert answers(repo) == warm


def test_as_of_is_not_narrowed_by_the_present_columns(cli, repo, monkeypatch):
    """`filter --as-of` rebuilds each deal as it was: conditions on today's columns must not
    leave out a deal that met them then (a deal moved on since)."""
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    deal_id = cli.ok("deal", "add", "X", "--amount", "1000", now="2026-01-01T00:00:00+00:00").strip()
    cli.ok("deal", "move", deal_id, "preparation", now="2026-01-05T00:00:00+00:00")
    cli.ok("deal", "edit", deal_id, "--amount", "5", now="2026-01-06T00:00:00+00:00")
    assert cli.ok("filter", "stage=preparation", "-f", "ids").split() == [deal_id]  # a warm, settled cache
    for exprs in (["stage=new"], ["amount>=1000"], ["stage=new", "amount>999"]):
        assert cli.ok("filter", *exprs, "--as-of", "2026-01-02", "-f", "ids").split() == [deal_id], exprs
        assert cli.ok("filter", *exprs, "-f", "ids").split() == [], exprs


@pytest.mark.parametrize("columns, sort", [
    ("id,title,amount", None), ("product,company_name,overdue,next_activity", "-amount"),
    ("fields.region,region,stage,products.price", "close_date,-probability"), ("id", "title"),
])
def test_filter_keeps_only_the_shown_fields_of_each_match_and_shows_the_same(repo, columns, sort):
    """`filter` lets go of every key of a match its columns and sort keys do not read; what it
    shows must be what the whole records give."""
    from dealcli.views import listing

    rng = random.Random(7)
    write_deals(repo, [random_deal(rng, i) for i in range(400)])  # many break the schema: skipped
    s = Session(repo_root=repo, as_user="anna@example.com", now_text=NOW, quiet=True)
    got = listing.filter_listing(s, ["currency=usd,eur"], None, sort, None, columns, "json")
    whole, q = query.select(s, ["currency=usd,eur"], None, sort)
    cols = listing.parse_columns(columns)
    expected = [{c: listing._plain(query.getter(c, q.ctx)(r), c) for c in cols} for r in whole]
    assert got.rows == expected and len(expected) > 5
    assert all(set(r) <= set(q.keep or r) for r in got.records)
    assert all(len(r) < 10 for r in got.records)  # the rest of each record was let go
