"""`dealcli report` on a scripted history whose every figure was worked out by hand (below), and
the terminal, csv and option behaviour. Moves are scripted at given times with DEALCLI_NOW.

The fixture (pipeline sales: new 10%, preparation 20%, prepayment_invoice 40%, executing 60%,
final_invoice 80%, won, lose, apology), every time 00:00 UTC unless said:

  A  created 01-01 in new (products Licence 400x2 + Setup 200 = 1000); preparation 01-03;
     executing 01-08; won 01-18                       -> new 2 d, preparation 5 d, executing 10 d
  B  created 01-02 new, 500; preparation 01-06; lost 01-10 "price"  -> new 4 d, preparation 4 d
  C  created 01-05 new, 2000, close 2026-03-20; prepayment_invoice 01-05 12:00 (open there)
                                                      -> new 0.5 d
  D  created 02-01 directly in won, 300
  E  created 02-10 new, 700, close 2026-04-05; amount edited to 900 on 03-01 (open in new)
  F  created 01-10 new, 100; lost 01-20 "price"        -> new 10 d
  activities: C call due 03-01 (pending, overdue at NOW 03-10), E call done

Funnel (a deal counts for every process stage up to its furthest; won deals for all):
  furthest A won, B preparation, C prepayment, D won, E new, F new
  reached  new 6, preparation 4, prepayment 3, executing 2, final 2, won 2
  entered  new 5 (not D), preparation 2 (A B), prepayment 1 (C), executing 1 (A), final 0, won 2
  in stage new 1 (E), prepayment 1 (C), won 2;  lost: new 1 (F), preparation 1 (B)
  conversion 66.7 75.0 66.7 100.0 100.0;  of first 100.0 66.7 50.0 33.3 33.3 33.3
Stage time: new (2 + 4 + 0.5 + 10) / 4 = 4.125 -> 4.1; preparation (5 + 4) / 2 = 4.5; executing 10.0
Time to close: won (17 + 0) / 2 = 8.5; lost (8 + 10) / 2 = 9.0.  Win rate 2 / 4 = 50.0
Won revenue: 2026-01 1000.00, 2026-02 300.00; products Licence 800.00, Setup 200.00, none 300.00
Forecast: 2026-03 C 2000.00 x 40% = 800.00; 2026-04 E 900.00 x 10% = 90.00
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from conftest import Runner, json_exact_text as loads


T = "2026-{}T00:00:00+00:00".format


def build_fixture(base) -> tuple[Runner, dict]:
    root = base / "repo"
    Runner(base)("init", root, "--timezone", "UTC", check=True)
    cli = Runner(root)
    ids = {}

    def add(name, when, *args):
        ids[name] = cli.ok("deal", "add", name, *args, now=when).strip()

    add("A", T("01-01"), "--product", "Licence:400:2", "--product", "Setup:200")
    add("B", T("01-02"), "--amount", "500")
    add("C", T("01-05"), "--amount", "2000", "--close-date", "2026-03-20")
    add("F", T("01-10"), "--amount", "100")
    add("D", T("02-01"), "--amount", "300", "--stage", "won")
    add("E", T("02-10"), "--amount", "700", "--close-date", "2026-04-05")
    cli.ok("deal", "move", ids["A"], "preparation", now=T("01-03"))
    cli.ok("deal", "move", ids["B"], "preparation", now=T("01-06"))
    cli.ok("deal", "move", ids["C"], "prepayment_invoice", now="2026-01-05T12:00:00+00:00")
    cli.ok("deal", "move", ids["A"], "executing", now=T("01-08"))
    cli.ok("deal", "close", ids["B"], "--lost", "--reason", "price", now=T("01-10"))
    cli.ok("deal", "close", ids["A"], "--won", now=T("01-18"))
    cli.ok("deal", "close", ids["F"], "--lost", "--reason", "price", now=T("01-20"))
    cli.ok("deal", "edit", ids["E"], "--amount", "900", now=T("03-01"))
    cli.ok("activity", "add", ids["C"], "--type", "call", "--subject", "Chase", "--due", "2026-03-01 10:00",
           now=T("02-20"))
    act = cli.ok("activity", "add", ids["E"], "--type", "call", "--subject", "Intro", "--due", "2026-03-05 10:00",
                  now=T("02-20")).strip()
    cli.ok("activity", "done", act, now=T("03-05"))
    return cli, ids


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build_fixture(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def report(fixture):
    cli, _ = fixture
    return loads(cli.ok("report", "-f", "json"))


def by(rows, key):
    return {r[key]: r for r in rows}


def test_funnel_counts_reached_entered_and_conversion_by_hand(report):
    (sales,) = report["funnel"]
    assert sales["pipeline"] == "sales" and sales["deals"] == 6
    st = by(sales["stages"], "stage")
    assert list(st) == ["new", "preparation", "prepayment_invoice", "executing", "final_invoice", "won"]
    assert [st[s]["reached"] for s in st] == [6, 4, 3, 2, 2, 2]
    assert [st[s]["entered"] for s in st] == [5, 2, 1, 1, 0, 2]
    assert [st[s]["in_stage"] for s in st] == [1, 0, 1, 0, 0, 2]
    assert [st[s]["lost"] for s in st] == [1, 1, 0, 0, 0, 0]
    assert [st[s]["conversion"] for s in st] == [None, "66.7", "75.0", "66.7", "100.0", "100.0"]
    assert [st[s]["of_first"] for s in st] == ["100.0", "66.7", "50.0", "33.3", "33.3", "33.3"]


def test_durations_by_hand(report):
    (sales,) = report["stage_time"]
    st = by(sales["stages"], "stage")
    assert (st["new"]["stays"], st["new"]["avg_days"]) == (4, "4.1")
    assert (st["preparation"]["stays"], st["preparation"]["avg_days"]) == (2, "4.5")
    assert (st["prepayment_invoice"]["stays"], st["prepayment_invoice"]["avg_days"]) == (0, None)
    assert (st["executing"]["stays"], st["executing"]["avg_days"]) == (1, "10.0")
    close = {(r["pipeline"], r["status"]): (r["deals"], r["avg_days"]) for r in report["time_to_close"]}
    assert close == {("sales", "won"): (2, "8.5"), ("sales", "lost"): (2, "9.0")}


def test_win_rate_and_lost_reasons(report):
    assert report["win_rate"] == [{"pipeline": "sales", "name": "Sales", "open": 2, "won": 2, "lost": 2,
                                   "closed": 4, "win_rate": "50.0"}]
    assert report["lost_reasons"] == [{"reason": "price", "deals": 2, "share": "100.0"}]


def test_won_revenue_and_forecast(report):
    rev = report["won_revenue"]
    assert [(r["month"], r["amount"], r["deals"]) for r in rev["by_month"]] == [
        ("2026-01", "1000.00", 1), ("2026-02", "300.00", 1)]
    assert {r["product"]: r["amount"] for r in rev["by_product"]} == {
        "Licence": "800.00", "Setup": "200.00", None: "300.00"}
    assert [(r["responsible"], r["amount"], r["deals"]) for r in rev["by_responsible"]] == [
        ("tester@example.com", "1300.00", 2)]
    assert [(r["month"], r["deals"], r["amount"], r["weighted"], r["overdue"]) for r in report["forecast"]] == [
        ("2026-03", 1, "2000.00", "800.00", False), ("2026-04", 1, "900.00", "90.00", False)]


def test_activities_per_person(report):
    (row,) = report["activities"]
    assert row["person"] == "tester@example.com"
    assert (row["activities"], row["done"], row["pending"], row["overdue"], row["call"]) == (2, 1, 1, 1, 2)


def test_money_stays_exact_decimal_in_core(fixture):
    from dealcli import reports
    from dealcli.session import Session

    cli, _ = fixture
    s = Session(repo_root=cli.root, now_text="2026-03-10T12:00:00+00:00", quiet=True)
    data = reports.build(s, ["forecast", "won_revenue"])
    assert all(isinstance(r["weighted"], Decimal) for r in data["forecast"])
    assert data["won_revenue"]["by_month"][0]["amount"] == Decimal("1000.00")


def test_sections_selection_csv_and_selection_by_expression(fixture):
    cli, ids = fixture
    out = loads(cli.ok("report", "-s", "win-rate", "-f", "json"))
    assert "win_rate" in out and "funnel" not in out and "forecast" not in out
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "-s", "funnel,lost_reasons", "-f", "csv"))))
    assert {r["section"] for r in rows} == {"funnel", "lost_reasons"}
    assert [r["reached"] for r in rows if r["section"] == "funnel"] == ["6", "4", "3", "2", "2", "2"]
    only_won = loads(cli.ok("report", "status=won", "-s", "win-rate", "-f", "json"))
    assert only_won["deals"] == 2 and only_won["win_rate"][0]["won"] == 2
    bad = cli("report", "-s", "nonsense")
    assert bad.returncode == 2 and "funnel" in bad.stderr
    assert cli("report", "--pipeline", "nope").returncode == 3


@pytest.mark.parametrize("width", [40, 60, 80, 132])
def test_terminal_output_fits_the_width_and_draws_bars(fixture, width):
    cli, _ = fixture
    out = cli.ok("report", env={"COLUMNS": str(width)})
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width, [line for line in lines if len(line) > width]
    assert "Funnel: Sales (sales), 6 deals" in out
    funnel = lines[lines.index("Funnel: Sales (sales), 6 deals") + 3]
    assert funnel.startswith("New") and "█" in funnel
    assert "\x1b[" not in out  # NO_COLOR / not a terminal: plain text


def test_bar_scales_to_eighths():
    from dealcli.views.report import bar

    assert bar(1, 1, 10) == "█" * 10
    assert bar(1, 2, 10) == "█" * 5
    assert bar(1, 2, 1) == "▌" and bar(3, 8, 2) == "▊"
    assert bar(0, 5, 10) == "" and bar(None, 5, 10) == ""
    assert bar(1, 1000, 10) == "▏"  # never invisible when above zero
