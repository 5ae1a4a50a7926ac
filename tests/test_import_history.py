"""Source history (issue 24 item 2): the dates a source gives become the imported deal's history,
so that time to close, time in stage, `report --as-of` and revenue by month see its past."""

import csv
import datetime as dt
import json
from decimal import Decimal

from conftest import FIXTURES
from test_import_cli import by, records

SLICE = FIXTURES / "import" / "maven_sales_pipeline_slice.csv"
MAVEN = ["--map", "opportunity_id=origin_id", "--map", "sales_agent=responsible", "--map", "account=company",
         "--map", "deal_stage=stage", "--map", "engage_date=created", "--map", "close_value=amount",
         "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing", "--key", "origin_id"]


def report(cli, *args) -> dict:
    return json.loads(cli.ok("report", *args, "-f", "json"), parse_float=Decimal)


def maven_days(status: str) -> Decimal:
    """The slice's own average engage -> close, in days (what the report must show)."""
    with open(SLICE, newline="") as fh:
        spans = [(dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days
                 for r in csv.DictReader(fh) if r["deal_stage"] == status]
    return round(Decimal(sum(spans)) / len(spans), 1)


def test_maven_time_to_close_is_engage_to_close(cli, repo):
    cli.ok("import", SLICE, *MAVEN)
    rows = {r["status"]: r for r in report(cli, "-s", "time-to-close")["time_to_close"]}
    assert (rows["won"]["deals"], rows["won"]["avg_days"]) == (31, maven_days("Won"))
    assert (rows["lost"]["deals"], rows["lost"]["avg_days"]) == (7, maven_days("Lost"))
    assert rows["won"]["unknown"] == 0
    text = cli.ok("report", "-s", "time-to-close")
    assert "no closed deals" not in text and "sales won" in text


def test_maven_history_is_the_sources(cli, repo):
    cli.ok("import", SLICE, *MAVEN)
    won = by(repo, "origin_id")["1C1I7A6R"]  # engaged 2016-10-20, won 2017-03-01
    assert won["created"] == "2016-10-20T00:00:00+00:00"
    created, moved, closed = won["history"][:3]
    assert (created["kind"], created["at"], created["stage"]) == ("created", "2016-10-20T00:00:00+00:00", "new")
    assert created["imported_at"] == "2026-03-10T12:00:00+00:00"  # when it came in
    assert (moved["kind"], moved["to"], moved["at"]) == ("moved", "won", "2017-03-01T00:00:00+00:00")
    assert (closed["kind"], closed["status"], closed["at"]) == ("closed", "won", "2017-03-01T00:00:00+00:00")
    assert won["closed_at"] == "2017-03-01T00:00:00+00:00"
    assert cli("check").returncode == 0


def test_history_names_the_file_relative_to_the_repository(cli, repo, tmp_path):
    inside = repo / "incoming"
    inside.mkdir()
    (inside / "deals.csv").write_text("title,amount\nA,1\n")
    cli.ok("import", inside / "deals.csv")  # an absolute path, typed
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("title,amount\nB,2\n")
    cli.ok("import", outside)
    notes = {d["title"]: d["history"][0]["imported"] for d in records(repo)}
    assert notes == {"A": "incoming/deals.csv:2", "B": "../elsewhere.csv:2"}
    assert not any(n.startswith("/") for n in notes.values())


def test_as_of_shows_the_maven_state_then(cli, repo):
    """On 2017-03-05 the deals engaged in 2016 that closed later were still open."""
    cli.ok("import", SLICE, *MAVEN)
    with open(SLICE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    day = "2017-03-05"
    existed = [r for r in rows if r["engage_date"] and r["engage_date"] <= day]
    won = [r for r in existed if r["deal_stage"] == "Won" and r["close_date"] <= day]
    lost = [r for r in existed if r["deal_stage"] == "Lost" and r["close_date"] <= day]
    got = report(cli, "--as-of", day, "-s", "win-rate", "-s", "won-revenue")
    rate = got["win_rate"][0]
    assert got["deals"] == len(existed)
    assert (rate["won"], rate["lost"], rate["open"]) == (len(won), len(lost), len(existed) - len(won) - len(lost))
    months = {r["month"]: Decimal(r["amount"]) for r in got["won_revenue"]["by_month"]}
    assert months == {"2017-03": sum(Decimal(r["close_value"]) for r in won)}
    before = report(cli, "--as-of", "2016-10-31", "-s", "win-rate")
    assert before["deals"] == sum(1 for r in rows if r["engage_date"] and r["engage_date"] <= "2016-10-31")


def test_a_closed_deal_without_a_date_keeps_an_unknown_close(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("id,title,amount,status,created,closed_at\n"
                   "A,Old win,100,won,2020-01-05,\n"
                   "B,Dated win,50,won,2020-01-05,2020-02-04\n")
    cli.ok("import", src, "--map", "id=origin_id", "--key", "origin_id")
    deals = by(repo, "origin_id")
    assert deals["A"]["status"] == "won" and deals["A"]["closed_at"] is None  # not "now"
    assert deals["B"]["closed_at"] == "2020-02-04T00:00:00+00:00"
    got = report(cli, "-s", "time-to-close", "-s", "won-revenue")
    assert got["time_to_close"] == [{"pipeline": "sales", "status": "won", "deals": 1, "avg_days": Decimal("30.0"),
                                     "unknown": 1}]
    months = {r["month"]: Decimal(r["amount"]) for r in got["won_revenue"]["by_month"]}
    assert months == {None: Decimal("100.00"), "2020-02": Decimal("50.00")}  # not this month
    assert "1 closed deal not counted: close date unknown" in cli.ok("report", "-s", "time-to-close")
    assert cli("import", src, "--map", "id=origin_id", "--key", "origin_id").stdout == ""  # re-run: no change
    assert cli("check").returncode == 0


def test_stage_entered_gives_the_time_in_the_first_stage(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("title,stage,created,entered\nA,executing,2026-01-01,2026-01-11\n")
    cli.ok("import", src, "--map", "entered=stage_entered")
    deal = records(repo)[0]
    assert [(e["kind"], e["at"][:10]) for e in deal["history"]] == [("created", "2026-01-01"), ("moved", "2026-01-11")]
    st = report(cli, "-s", "stage-time")["stage_time"][0]["stages"]
    new = next(x for x in st if x["stage"] == "new")
    assert (new["stays"], new["avg_days"]) == (1, Decimal("10.0"))
    assert cli("check").returncode == 0
