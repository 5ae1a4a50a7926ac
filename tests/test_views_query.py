"""The filter language against a fixed clock: NOW = Tuesday 2026-03-10 12:00 UTC. Pure tests of
compiled predicates over plain records (the dict exactly as stored in a deal file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dealcli import query
from dealcli.errors import UsageError

UTC = dt.timezone.utc


def rec(**kw) -> dict:
    base = {
        "format": 1, "id": "d1", "title": "Cloud Backup", "pipeline": "sales", "stage": "new", "status": "open",
        "amount": Decimal("1500.00"), "currency": "USD", "manual_amount": False, "company": "c1",
        "contacts": ["p1", "p2"],
        "products": [{"name": "Backup TB", "product": "prod1", "price": 25, "quantity": 12,
                      "discount": 0, "tax_rate": Decimal("20"), "tax_included": False}],
        "type": "sale", "source": "web", "responsible": "anna@example.com", "created_by": "anna@example.com",
        "created": "2026-03-10T09:30:00+00:00", "modified": "2026-03-10T09:30:00+00:00",
        "begin": "2026-03-10", "close_date": "2026-03-20", "closed_at": None, "probability": 20,
        "repeat": False, "lost_reason": None, "origin_id": None,
        "fields": {"region": "EMEA", "seats": 25, "renewal": "2026-04-15", "vip": True},
        "comments": [], "history": [{"at": "2026-03-10T09:30:00+00:00", "kind": "created"}],
    }
    base.update(kw)
    return base


def m(session, expr: str, record: dict, next_activity: dict | None = None) -> bool:
    q = query.compile_query(session, [expr])
    if next_activity is not None:
        q.ctx.next_activity = next_activity
    return q.match(record)


# -- operators on text ----------------------------------------------------------------------------
@pytest.mark.parametrize("expr,expected", [
    ("title=cloud backup", True),          # = is case-insensitive
    ("title=Cloud", False),                 # = is the whole value
    ("title!=cloud backup", False),
    ("title!=other", True),
    ("title~BACK", True),                   # ~ contains, case-insensitive
    ("title~front", False),
    ("title!~back", False),
    ("title!~front", True),
    ("title>b", True), ("title>=cloud backup", True), ("title<cloud", False), ("title<=d", True),
    ("stage=won,new", True),                # value list: any of
    ("stage=won,lose", False),
    ("stage!=won,new", False),              # != is the negation of =
    ("title~front,back", True),
    ("responsible=@me", False),             # session user is tester@example.com
    ("source=", False), ("lost_reason=", True), ("lost_reason!=", False), ("source!=", True),
])
def test_text_operators(session, expr, expected):
    assert m(session, expr, rec()) is expected


def test_me_is_the_acting_user(session):
    assert m(session, "responsible=@me", rec(responsible="Tester@Example.com"))


def test_escaped_comma_is_part_of_the_value(session):
    assert m(session, r"title=Smith\, Jones", rec(title="Smith, Jones"))
    assert not m(session, "title=Smith, Jones", rec(title="Smith, Jones"))


# -- money and numbers: Decimal, never text order --------------------------------------------------
@pytest.mark.parametrize("expr,expected", [
    ("amount=1500", True), ("amount=1500.000", True), ("amount!=1500", False),
    ("amount>999.99", True),                # 1500 > 999.99 (as text "1500" < "999" would be wrong)
    ("amount>1500", False), ("amount>=1500.00", True), ("amount<1500.01", True), ("amount<=1499.99", False),
    ("amount=100,1500", True),
    ("amount~50", True),                    # ~ works on the text of any value
    ("probability>=20", True), ("probability>20", False), ("probability<100", True),
    ("products.price>24.99", True), ("products.price>25", False),
    ("fields.seats>9", True),               # a custom number compares as a number
    ("seats<100", True),                    # custom fields also by bare name
    ("seats=25", True),
])
def test_number_operators(session, expr, expected):
    assert m(session, expr, rec()) is expected


def test_int_amount_in_file_compares_as_a_number(session):
    assert m(session, "amount>999", rec(amount=1500))
    assert m(session, "amount=1500.00", rec(amount=1500))


def test_bad_numbers_are_usage_errors(session):
    for expr in ("amount>lots", "probability>=20.5", "amount=1,x"):
        with pytest.raises(UsageError) as exc:
            query.compile_query(session, [expr])
        assert repr(expr) in str(exc.value)


# -- dates against NOW = Tue 2026-03-10 12:00 UTC ------------------------------------------------------
@pytest.mark.parametrize("close_date,expr,expected", [
    ("2026-03-10", "close_date=today", True),
    ("2026-03-09", "close_date=yesterday", True),
    ("2026-03-11", "close_date=tomorrow", True),
    ("2026-03-10", "close_date>today", False),
    ("2026-03-11", "close_date>today", True),
    ("2026-03-10", "close_date>=today", True),
    ("2026-03-10", "close_date<today", False),
    ("2026-03-10", "close_date<=today", True),
    ("2026-03-10", "close_date!=today", False),
    ("2026-03-03", "close_date=-7d", True),
    ("2026-03-02", "close_date>=-7d", False),
    ("2026-03-24", "close_date=+2w", True),
    ("2025-12-10", "close_date=-3m", True),
    ("2027-03-10", "close_date=+1y", True),
    ("2026-03-05", "close_date=2026-03-05", True),
    ("2026-03-05", "close_date<2026-03-06", True),
    ("2026-03-05", "close_date=2026-03-05T18:00:00", True),   # a moment on a date field: its day
    ("2026-03-05", "close_date=March 5 2026", True),          # dateutil forms
    # periods: weeks start on Monday; = means within
    ("2026-03-09", "close_date=this-week", True),
    ("2026-03-15", "close_date=this-week", True),
    ("2026-03-16", "close_date=this-week", False),
    ("2026-03-08", "close_date=this-week", False),
    ("2026-03-02", "close_date=last-week", True),
    ("2026-03-08", "close_date=last-week", True),
    ("2026-03-09", "close_date=last-week", False),
    ("2026-03-31", "close_date=this-month", True),
    ("2026-04-01", "close_date=this-month", False),
    ("2026-02-28", "close_date=last-month", True),
    ("2026-02-28", "close_date<this-month", True),
    ("2026-04-01", "close_date>this-month", True),
    ("2026-03-31", "close_date>this-month", False),
    ("2026-03-31", "close_date<=this-month", True),
    ("2026-01-01", "close_date=this-quarter", True),
    ("2026-04-01", "close_date=this-quarter", False),
    ("2026-12-31", "close_date=this-year", True),
    ("2025-12-31", "close_date>=this-year", False),
    ("2026-03-20", "close_date=this-week,this-month", True),
    ("2026-03-20", "close_date~2026-03", True),
])
def test_date_expressions(session, close_date, expr, expected):
    assert m(session, expr, rec(close_date=close_date)) is expected


@pytest.mark.parametrize("created,expr,expected", [
    ("2026-03-10T00:00:00+00:00", "created=today", True),
    ("2026-03-09T23:59:59+00:00", "created=today", False),
    ("2026-03-10T01:30:00+02:00", "created=today", False),   # 23:30 UTC the day before
    ("2026-03-10T11:00:00+00:00", "created<now", True),
    ("2026-03-10T13:00:00+00:00", "created>now", True),
    ("2026-03-10T11:00:00+00:00", "created>-2h", True),
    ("2026-03-10T09:30:00+00:00", "created=2026-03-10T09:30:00+00:00", True),
    ("2026-03-10T09:30:00+00:00", "created>2026-03-10 09:00", True),
    ("2026-03-09T08:00:00+00:00", "created=this-week", True),
    ("2026-03-08T23:00:00+00:00", "created=this-week", False),
    ("2026-03-03T00:00:00+00:00", "created>=-7d", True),
    ("2026-03-02T23:59:00+00:00", "created>=-7d", False),
    ("2026-03-10T09:30:00+00:00", "history.at=today", True),
])
def test_datetime_expressions(session, created, expr, expected):
    r = rec(created=created, history=[{"at": created, "kind": "created"}])
    assert m(session, expr, r) is expected


def test_custom_date_text_compares_as_a_date(session):
    assert m(session, "renewal=next-month", rec())
    assert m(session, "fields.renewal>this-month", rec())
    assert not m(session, "renewal<2026-04-15", rec())


def test_missing_dates_only_match_empty_and_negations(session):
    r = rec(close_date=None)
    assert not m(session, "close_date<today", r)
    assert not m(session, "close_date>today", r)
    assert m(session, "close_date!=today", r)
    assert m(session, "close_date=", r)


def test_bad_dates_are_usage_errors(session):
    with pytest.raises(UsageError, match="close_date=someday"):
        query.compile_query(session, ["close_date=someday"])


# -- flags, lists, nested paths, computed fields ------------------------------------------------------
def test_flags(session):
    assert m(session, "repeat=false", rec())
    assert m(session, "repeat=no", rec())
    assert not m(session, "repeat=true", rec())
    assert m(session, "vip=true", rec())
    assert m(session, "products.tax_included=false", rec())
    with pytest.raises(UsageError):
        query.compile_query(session, ["repeat=maybe"])
    with pytest.raises(UsageError):
        query.compile_query(session, ["repeat>true"])


def test_lists_match_any_element(session):
    assert m(session, "contacts=p2", rec())
    assert not m(session, "contacts=p3", rec())
    assert m(session, "contacts!=p3", rec())
    assert m(session, "product~backup", rec())
    assert m(session, "product=prod1", rec())          # the catalogue id too
    assert not m(session, "product=hosting", rec())
    assert m(session, "product=", rec(products=[]))
    assert m(session, "fields.region=emea", rec())
    assert m(session, "region~me", rec())


def test_status_is_checked_and_defaults_to_open(session):
    assert m(session, "status=open", rec(status=None))
    with pytest.raises(UsageError, match="opne"):
        query.compile_query(session, ["status=opne"])


def test_next_activity_and_overdue(session):
    soon = dt.datetime(2026, 3, 11, 10, tzinfo=UTC)
    past = dt.datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert m(session, "next_activity=tomorrow", rec(), {"d1": soon})
    assert m(session, "next_activity<now", rec(), {"d1": past})
    assert m(session, "next_activity=", rec(), {})
    assert m(session, "overdue=true", rec(), {"d1": past})
    assert not m(session, "overdue=true", rec(), {"d1": soon})
    assert m(session, "overdue=true", rec(close_date="2026-03-09"), {"d1": soon})
    assert not m(session, "overdue=true", rec(close_date="2026-03-09", status="won"), {})


def test_only_expressions_that_need_activities_load_them(session):
    assert query.compile_query(session, ["amount>1"]).ctx.needs == set()
    assert query.compile_query(session, ["overdue=true"]).ctx.needs == {"next_activity"}
    assert query.compile_query(session, [], sort="next_activity").ctx.needs == {"next_activity"}


def test_bad_stored_values_do_not_match_and_do_not_crash(session):
    r = rec(amount="lots", close_date="soon", created=42, products="x", fields=[1])
    for expr in ("amount>1", "close_date<today", "created=today", "product=x", "region=x"):
        assert m(session, expr, r) is False


@pytest.mark.parametrize("expr", ["", "amount", "=5", "amount>>1", "amount=<1", "a b!c=1", "amount>",
                                  "title~", "stage=new,", "stage=,new"])
def test_malformed_expressions_quote_themselves(session, expr):
    with pytest.raises(UsageError) as exc:
        query.compile_query(session, [expr])
    assert repr(expr) in str(exc.value)


def test_presets_expand_to_expressions(session):
    assert query.preset_exprs(session, "stale") == ["status=open", "modified<-30d"]
    assert query.preset_exprs(session, "closing-this-month") == ["status=open", "close_date=this-month"]
    for name in query.PRESETS:
        query.compile_query(session, query.preset_exprs(session, name))  # every preset compiles
