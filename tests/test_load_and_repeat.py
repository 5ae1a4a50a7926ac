"""Load and repeat (issue 26 item 5): `board --by responsible`, weighted sums of open deals only
(the board counted won deals at 100 %), and the report's first-vs-repeat section."""

from __future__ import annotations

import json

from test_access_cli import crew  # noqa: F401  (a fixture)


def test_weighted_sums_count_open_deals_only(cli):
    open_id = cli.ok("deal", "add", "Open", "--amount", "1000", "--probability", "30").strip()
    won = cli.ok("deal", "add", "Won", "--amount", "5000").strip()
    cli.ok("deal", "close", won, "--won")
    board = json.loads(cli.ok("board", "-f", "json"), parse_float=str)
    assert board["total"]["weighted"] == {"USD": "300.00"}
    assert next(c for c in board["stages"] if c["id"] == "won")["weighted"] == {"USD": "0.00"}
    forecast = json.loads(cli.ok("report", "-s", "forecast", "-f", "json"), parse_float=str)["forecast"]
    assert [r["weighted"] for r in forecast] == ["300.00"]
    assert open_id


def test_board_by_responsible_counts_open_deals_sums_and_overdue_activities(cli):
    a = cli.ok("deal", "add", "A1", "--amount", "100", "--probability", "50", "--responsible", "anna").strip()
    cli.ok("deal", "add", "A2", "--amount", "20", "--currency", "EUR", "--responsible", "anna")
    b = cli.ok("deal", "add", "B1", "--amount", "300", "--responsible", "boris").strip()
    won = cli.ok("deal", "add", "B won", "--amount", "999", "--responsible", "boris").strip()
    cli.ok("deal", "close", won, "--won")
    cli.ok("activity", "add", a, "--type", "call", "--subject", "Late", "--due", "2026-03-09 10:00",
           "--responsible", "carla")
    cli.ok("activity", "add", b, "--type", "call", "--subject", "Late", "--due", "2026-03-08 10:00")
    cli.ok("activity", "add", b, "--type", "call", "--subject", "Not yet", "--due", "2026-03-20 10:00")
    rows = json.loads(cli.ok("board", "--by", "responsible", "-f", "json"), parse_float=str)
    assert [(r["responsible"], r["deals"], r["currency"], r["sum"], r["overdue"]) for r in rows] == [
        ("anna", 1, "EUR", "20.00", 0), ("anna", 1, "USD", "100.00", 0), ("boris", 1, "USD", "300.00", 1),
        ("carla", 0, None, "0.00", 1)]
    assert rows[1]["weighted"] == "50.00" and rows[2]["weighted"] == "30.00"  # 50 %; the stage's 10 %
    table = cli.ok("board", "--by", "responsible")
    assert table.splitlines()[0].split() == ["responsible", "deals", "currency", "sum", "weighted", "overdue"]
    # a selection narrows it; an unknown pipeline is an error
    only = json.loads(cli.ok("board", "--by", "responsible", "amount>=200", "-f", "json"))
    assert [r["responsible"] for r in only] == ["boris"]
    assert cli("board", "--by", "responsible", "--pipeline", "nope").returncode == 3


def test_board_by_responsible_respects_access_rights(cli, crew):  # noqa: F811
    rows = json.loads(cli.ok("board", "--by", "responsible", "-f", "json", user="alice@x.io"), parse_float=str)
    assert "7777.00" not in json.dumps(rows) and all(r["responsible"] != "bob" for r in rows)
    everyone = json.loads(cli.ok("board", "--by", "responsible", "-f", "json", user="boss@x.io",
                                 now="2026-03-10T16:00:00+00:00"), parse_float=str)
    assert {r["responsible"] for r in everyone} >= {"alice", "bob", "carol"}
    assert next(r for r in everyone if r["responsible"] == "bob")["overdue"] == 1


def test_report_splits_first_and_repeat_sales(cli):
    first = cli.ok("deal", "add", "First", "--company", "Acme", "--amount", "100").strip()
    cli.ok("deal", "close", first, "--won")
    again = cli.ok("deal", "add", "Again", "--company", "Acme", "--amount", "300").strip()
    cli.ok("deal", "close", again, "--won")
    cli.ok("deal", "add", "Open again", "--company", "Acme", "--amount", "5")
    lost = cli.ok("deal", "add", "Other", "--company", "Globex", "--amount", "50").strip()
    cli.ok("deal", "close", lost, "--lost")
    data = json.loads(cli.ok("report", "-s", "repeat_sales", "-f", "json"), parse_float=str)["repeat_sales"]
    assert [(r["sales"], r["open"], r["won"], r["lost"], r["won_amount"], r["share"], r["win_rate"]) for r in data] == [
        ("first", 0, 1, 1, "100.00", "25.0", "50.0"), ("repeat", 1, 1, 0, "300.00", "75.0", "100.0")]
    text = cli.ok("report", "-s", "repeat-sales")
    assert "First and repeat sales" in text and "repeat" in text
    rows = cli.ok("report", "-s", "repeat_sales", "-f", "csv").splitlines()
    assert rows[0].startswith("section,sales,currency") and len(rows) == 3
