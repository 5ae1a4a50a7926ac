"""`--as-of` for filter, board and report against a scripted sequence of changes (DEALCLI_NOW
sets the moment of each), and the rebuild of one record in the core.

Deal X: 01-01 created in sales/new, 1000 (10%) · 01-05 moved to preparation (20%) · 01-10 amount
1500 and title "X2" · 01-15 lost "budget" (stage lose) · 01-20 reopened (preparation) · 01-25 moved
to pipeline service, stage doing (50%) · 02-01 won (done).   Deal Y: 01-12 created in new, 50.
Every moment is 00:00 UTC of 2026; a day given to --as-of means the end of that day."""

from __future__ import annotations

import pytest

from conftest import Runner, json_exact_text as loads


T = "2026-{}T00:00:00+00:00".format
COLS = "id,title,pipeline,stage,status,amount,probability,lost_reason,closed_at"


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    base = tmp_path_factory.mktemp("asof")
    root = base / "repo"
    Runner(base)("init", root, "--timezone", "UTC", check=True)
    cli = Runner(root)
    cli.ok("pipeline", "add", "service", "--name", "Service",
           "--stages", "todo:30%,doing:50%,done:Done:success,cancelled:failure", now=T("01-01"))
    x = cli.ok("deal", "add", "X", "--amount", "1000", now=T("01-01")).strip()
    cli.ok("deal", "move", x, "preparation", now=T("01-05"))
    cli.ok("deal", "edit", x, "--amount", "1500", "--title", "X2", now=T("01-10"))
    y = cli.ok("deal", "add", "Y", "--amount", "50", now=T("01-12")).strip()
    cli.ok("deal", "close", x, "--lost", "--reason", "budget", now=T("01-15"))
    cli.ok("deal", "reopen", x, now=T("01-20"))
    cli.ok("deal", "move", x, "doing", "--pipeline", "service", now=T("01-25"))
    cli.ok("deal", "close", x, "--won", now=T("02-01"))
    return cli, x, y


def deals_at(cli, when: str, *exprs) -> dict:
    rows = loads(cli.ok("filter", *exprs, "--as-of", when, "--columns", COLS, "-f", "json"))
    return {r["title"]: r for r in rows}


def pick(row: dict) -> tuple:
    return (row["pipeline"], row["stage"], row["status"], row["amount"], row["probability"], row["lost_reason"])


@pytest.mark.parametrize("when, title, expected", [
    ("2026-01-01", "X", ("sales", "new", "open", "1000.00", 10, None)),
    ("2026-01-07", "X", ("sales", "preparation", "open", "1000.00", 20, None)),
    ("2026-01-12", "X2", ("sales", "preparation", "open", "1500.00", 20, None)),
    ("2026-01-16", "X2", ("sales", "lose", "lost", "1500.00", 0, "budget")),
    ("2026-01-22", "X2", ("sales", "preparation", "open", "1500.00", 20, "budget")),
    ("2026-01-26", "X2", ("service", "doing", "open", "1500.00", 50, "budget")),
    ("2026-03-10", "X2", ("service", "done", "won", "1500.00", 100, "budget")),
])
def test_filter_as_of_rebuilds_each_moment(scripted, when, title, expected):
    cli, _, _ = scripted
    got = deals_at(cli, when)
    assert pick(got[title]) == expected


def test_deals_that_did_not_exist_yet_are_left_out(scripted):
    cli, _, _ = scripted
    assert deals_at(cli, "2025-12-31") == {}
    assert set(deals_at(cli, "2026-01-11")) == {"X2"}
    assert set(deals_at(cli, "2026-01-12")) == {"X2", "Y"}
    assert set(deals_at(cli, "2026-01-11T23:59:59+00:00")) == {"X2"}


def test_closed_at_follows_the_close_and_the_reopen(scripted):
    cli, _, _ = scripted
    assert deals_at(cli, "2026-01-16")["X2"]["closed_at"] == T("01-15")
    assert deals_at(cli, "2026-01-22")["X2"]["closed_at"] is None
    assert deals_at(cli, "2026-02-02")["X2"]["closed_at"] == T("02-01")


def test_expressions_and_relative_dates_are_read_at_the_moment(scripted):
    cli, _, _ = scripted
    assert set(deals_at(cli, "2026-01-16", "status=lost")) == {"X2"}
    assert set(deals_at(cli, "2026-01-22", "status=lost")) == set()
    # now is the --as-of moment: three days before the end of 01-12 reaches back to 01-09
    assert set(deals_at(cli, "2026-01-12", "created>=-3d")) == {"Y"}


def test_board_as_of(scripted):
    cli, _, _ = scripted
    board = loads(cli.ok("board", "--as-of", "2026-01-16", "-f", "json"))
    cols = {c["id"]: c for c in board["stages"]}
    assert (cols["lose"]["count"], cols["lose"]["sum"]) == (1, {"USD": "1500.00"})
    assert (cols["new"]["count"], cols["new"]["sum"]) == (1, {"USD": "50.00"})
    assert board["total"]["count"] == 2
    service = loads(cli.ok("board", "-p", "service", "--as-of", "2026-01-26", "-f", "json"))
    assert {c["id"]: c["count"] for c in service["stages"]}["doing"] == 1
    assert loads(cli.ok("board", "-p", "service", "--as-of", "2026-01-24", "-f", "json"))["total"]["count"] == 0


def test_report_as_of(scripted):
    cli, _, _ = scripted
    then = loads(cli.ok("report", "--as-of", "2026-01-16", "-f", "json"))
    assert then["as_of"] == "2026-01-16T23:59:59+00:00" and then["deals"] == 2
    assert [(r["pipeline"], r["open"], r["won"], r["lost"]) for r in then["win_rate"]] == [("sales", 1, 0, 1)]
    assert then["lost_reasons"] == [{"reason": "budget", "deals": 1, "share": "100.0"}]
    sales = then["funnel"][0]
    assert [(s["stage"], s["reached"], s["entered"]) for s in sales["stages"]][:2] == [("new", 2, 2),
                                                                                        ("preparation", 1, 1)]
    assert then["forecast"] == [{"month": None, "currency": "USD", "deals": 1, "amount": "50.00",
                                 "weighted": "5.00", "overdue": False}]
    now = loads(cli.ok("report", "-f", "json"))
    assert now["as_of"] is None
    assert {r["pipeline"]: r["won"] for r in now["win_rate"] if r["pipeline"]} == {"sales": 0, "service": 1}


def test_stage_time_of_the_past_ends_at_the_moment(scripted):
    cli, _, _ = scripted
    then = loads(cli.ok("report", "--as-of", "2026-01-16", "-s", "stage-time", "-f", "json"))
    st = {s["stage"]: s for s in then["stage_time"][0]["stages"]}
    # X: new 01-01 -> 01-05 (4 d), preparation 01-05 -> 01-15 (10 d); Y still in new
    assert (st["new"]["stays"], st["new"]["avg_days"]) == (1, "4.0")
    assert (st["preparation"]["stays"], st["preparation"]["avg_days"]) == (1, "10.0")


@pytest.mark.parametrize("value", ["tomorrow", "2027-01-01", "not a date"])
def test_as_of_must_be_a_readable_past_moment(scripted, value):
    cli, _, _ = scripted
    out = cli("filter", "--as-of", value)
    assert out.returncode == 2 and "--as-of" in out.stderr


def test_rebuild_in_the_core_keeps_history_up_to_the_moment(scripted):
    import datetime as dt

    from dealcli import asof
    from dealcli.session import Session

    cli, x, _ = scripted
    s = Session(repo_root=cli.root, now_text="2026-03-10T12:00:00+00:00", quiet=True)
    record = next(r for r in s.deal_records() if r["id"] == x)
    moment = dt.datetime(2026, 1, 12, tzinfo=dt.timezone.utc)
    past = asof.rebuild(record, moment, s.all_pipelines(), dt.timezone.utc)
    assert [e["kind"] for e in past["history"]] == ["created", "moved", "changed", "changed"]
    assert past["modified"] == T("01-10")
    assert record["stage"] == "done"  # the stored record is not touched
    stays = asof.stays(record, dt.timezone.utc)
    assert [(x["pipeline"], x["stage"]) for x in stays] == [
        ("sales", "new"), ("sales", "preparation"), ("sales", "lose"), ("sales", "preparation"),
        ("service", "doing"), ("service", "done")]
    assert stays[-1]["end"] is None
