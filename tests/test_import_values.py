"""Pure tests of the import value readers: amounts, booleans, percentages, dates."""

import datetime as dt
from decimal import Decimal

import pytest

from dealcli.importing import values as iv

UTC = dt.timezone.utc


@pytest.mark.parametrize("text,amount,currency", [
    ("1234.5", "1234.5", None),
    ("1 234,56", "1234.56", None),
    ("1\u00a0234,56", "1234.56", None),
    ("1.234,56 €", "1234.56", "EUR"),
    ("$1,234.56", "1234.56", "USD"),
    ("EUR 99", "99", "EUR"),
    ("1234 RUB", "1234", "RUB"),
    ("12 000,00 руб.", "12000.00", "RUB"),
    ("(12.00)", "-12.00", None),
    ("-3,5", "-3.5", None),
    ("1'234.50", "1234.50", None),
    ("200.000.000", "200000000", None),
    ("1,7", "1.7", None),
    ("1,234", "1234", None),
    ("0,125", "0.125", None),
    ("", None, None),
])
def test_amounts_are_exact_decimals(text, amount, currency):
    got, cur = iv.parse_amount(text)
    assert got == (Decimal(amount) if amount else None)
    if amount:
        assert str(got) == amount  # exact, no float round trip
    assert cur == currency


@pytest.mark.parametrize("text", ["12x", "1,2,3.4.5", "abc", "1.2.3,4,5", "€", "9" * 30])
def test_bad_amounts_are_refused(text):
    with pytest.raises(iv.ValueProblem):
        iv.parse_amount(text)


@pytest.mark.parametrize("text,value", [("1", True), ("", None), ("TRUE", True), ("false", False), ("Y", True),
                                        ("N", False), ("Да", True), ("нет", False), ("yes", True)])
def test_booleans(text, value):
    assert iv.parse_bool(text) is value


def test_bad_boolean():
    with pytest.raises(iv.ValueProblem):
        iv.parse_bool("maybe")


def test_percentages():
    assert iv.parse_percent("20") == 20
    assert iv.parse_percent("20%") == 20
    assert iv.parse_percent("0.8", fraction=True) == 80
    assert iv.parse_percent("") is None
    with pytest.raises(iv.ValueProblem):
        iv.parse_percent("120")


def test_date_forms():
    r = iv.DateReader(UTC)
    assert r.parse("2024-03-05") == (dt.datetime(2024, 3, 5, tzinfo=UTC), False)
    assert r.parse("2017-08-04T09:09:33.000+0000")[0] == dt.datetime(2017, 8, 4, 9, 9, 33, tzinfo=UTC)
    assert r.parse("05.03.2024 14:30:00")[0] == dt.datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert r.parse("20140102")[0].date() == dt.date(2014, 1, 2)
    assert r.parse("1700000000")[0] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert r.parse("March 3, 2024")[0].date() == dt.date(2024, 3, 3)
    assert r.parse("") is None
    with pytest.raises(iv.ValueProblem):
        r.parse("31.02.2024")
    with pytest.raises(iv.ValueProblem):
        r.parse("soon")


def test_day_or_month_first_is_decided_per_file():
    r = iv.DateReader(UTC)
    r.parse("02/03/24", "line 2")
    r.parse("03/31/26 08:55 PM", "line 3")
    assert r.decide() is False  # month first
    fixed = iv.DateReader(UTC, False)
    assert fixed.parse("03/31/26 08:55 PM")[0] == dt.datetime(2026, 3, 31, 20, 55, tzinfo=UTC)
    assert fixed.parse("02/03/24")[0].date() == dt.date(2024, 2, 3)

    r = iv.DateReader(UTC)
    r.parse("02/01/2014")
    r.parse("31/12/2012")
    assert r.decide() is True

    r = iv.DateReader(UTC)
    r.parse("02/01/2014", "line 2")
    with pytest.raises(iv.AmbiguousDates, match="02/01/2014"):
        r.decide()

    r = iv.DateReader(UTC)
    r.parse("13/01/2024")
    r.parse("01/13/2024")
    with pytest.raises(iv.MixedDates):
        r.decide()
