"""Pure schedule tests for dealcli/recurring.py: rule building, month ends, leap years, strict
RRULE semantics, titles and occurrence keys (no disk, no subprocess)."""

import datetime as dt

import pytest

from dealcli import recurring
from dealcli.errors import UsageError


def dates(rule: str, start: dt.date, n: int) -> list[str]:
    r = recurring.parse_rule(rule, start)
    out = []
    for occ in r:
        out.append(recurring.occurrence_text(occ))
        if len(out) == n:
            break
    return out


def test_monthly_from_the_31st_falls_back_to_the_last_day_of_shorter_months():
    start = dt.date(2026, 1, 31)
    rule = recurring.build_rule("month", None, None, start)
    assert dates(rule, start, 6) == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31",
                                     "2026-06-30"]


@pytest.mark.parametrize("day,expected", [
    (29, ["2024-01-29", "2024-02-29", "2024-03-29", "2024-04-29"]),   # leap February has the 29th
    (30, ["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30"]),
])
def test_monthly_from_the_29th_and_30th(day, expected):
    start = dt.date(2024, 1, day)
    assert dates(recurring.build_rule("month", None, None, start), start, 4) == expected


def test_every_two_months_from_the_31st():
    start = dt.date(2026, 12, 31)
    rule = recurring.build_rule("month", 2, None, start)
    assert dates(rule, start, 4) == ["2026-12-31", "2027-02-28", "2027-04-30", "2027-06-30"]


def test_yearly_from_29_february_uses_28_february_outside_leap_years():
    start = dt.date(2024, 2, 29)
    rule = recurring.build_rule("year", None, None, start)
    assert dates(rule, start, 6) == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29",
                                     "2029-02-28"]


def test_a_day_below_29_is_a_plain_rule():
    start = dt.date(2026, 1, 15)
    assert recurring.build_rule("month", 3, None, start) == "FREQ=MONTHLY;INTERVAL=3"
    assert dates("FREQ=MONTHLY;INTERVAL=3", start, 3) == ["2026-01-15", "2026-04-15", "2026-07-15"]


def test_rrule_keeps_strict_rfc_semantics_and_skips_months_without_the_day():
    start = dt.date(2026, 1, 31)
    rule = recurring.build_rule(None, None, "FREQ=MONTHLY", start)
    assert dates(rule, start, 4) == ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]


def test_rrule_with_byday_and_bysetpos_last_working_day_of_the_month():
    start = dt.date(2026, 1, 1)
    rule = recurring.build_rule(None, None, "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", start)
    assert dates(rule, start, 5) == ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29"]


def test_count_and_until_are_written_into_the_rule():
    start = dt.date(2026, 1, 5)
    assert dates(recurring.build_rule("week", None, None, start, count=3), start, 10) == [
        "2026-01-05", "2026-01-12", "2026-01-19"]
    until = recurring.build_rule("week", None, None, start, until=dt.date(2026, 1, 26))
    assert dates(until, start, 10) == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]


@pytest.mark.parametrize("args,fragment", [
    (("week", None, "FREQ=DAILY"), "exactly one"),
    ((None, None, None), "exactly one"),
    ((None, 2, "FREQ=DAILY"), "interval goes with every"),  # plain field names: no CLI here
    ((None, None, "FREQ=FORTNIGHTLY"), "FREQ"),
    ((None, None, "INTERVAL=2"), "FREQ="),
    ((None, None, "FREQ=HOURLY"), "finer than a day"),
    ((None, None, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), "no occurrence"),
    ((None, None, "FREQ=DAILY;COUNT=2;UNTIL=20270101"), "UNTIL and COUNT"),
    (("week", 0, None), "interval: 0 is not a positive number"),
])
def test_unusable_schedules_are_refused(args, fragment):
    with pytest.raises(UsageError) as err:
        recurring.build_rule(*args, dt.date(2026, 1, 1))
    assert fragment in err.value.message and "--" not in err.value.message


def test_rrule_with_until_or_count_refuses_the_options_too():
    with pytest.raises(UsageError):
        recurring.build_rule(None, None, "FREQ=DAILY;COUNT=3", dt.date(2026, 1, 1), count=2)


def test_title_placeholders():
    occ = dt.datetime(2026, 2, 28)
    assert recurring.render_title("Retainer {date:%B %Y} #{n}", occ, 2) == "Retainer February 2026 #2"
    assert recurring.render_title("{date} {n:03d} {{literal}}", occ, 7) == "2026-02-28 007 {literal}"
    for bad in ("X {month}", "X {date.year}", "X {n!r}", "X {", "X {n:%Y}"):
        with pytest.raises(UsageError):
            recurring.check_title(bad)


def test_occurrence_keys_are_deterministic_and_safe_file_names():
    assert recurring.occurrence_key("abc", dt.datetime(2026, 3, 1)) == "abc-20260301"
    assert recurring.occurrence_key("abc", dt.datetime(2026, 3, 1, 9, 30)) == "abc-20260301t0930"
    assert recurring.occurrence_text(dt.datetime(2026, 3, 1, 9, 30)) == "2026-03-01T09:30"
