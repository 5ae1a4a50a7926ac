"""Date phrases a user types (`--close "next quarter"`): every `next week|month|quarter|year`
reads as that period's first day, through the installed CLI; `next quarter` and `next year`
used to crash (no such period)."""

import datetime as dt

import pytest

from dealcli import timeutil

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("phrase,first", [("next week", "2026-12-14"), ("next month", "2027-01-01"),
                                          ("next quarter", "2027-01-01"), ("next year", "2027-01-01")])
def test_next_period_phrases_read_as_the_first_day(phrase, first):
    assert timeutil.period(phrase.replace(" ", "-"), NOW)[0].date().isoformat() == first


def test_next_quarter_as_a_close_date_through_the_cli(cli):
    deal_id = cli.ok("deal", "add", "Q", "--close-date", "next quarter",
                     now="2026-12-07T10:00:00+00:00").strip()
    assert "2027-01-01" in cli.ok("deal", "show", deal_id, "-f", "json")
