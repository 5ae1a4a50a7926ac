"""Corrections of closed deals (issue 26 item 2): amount, products, custom fields and dates changed
without reopening, under the edit_closed right, as `corrected` events; the revenue stays in its
month; `check` accepts what the tool wrote under any --now (back-dated events are marked)."""

from __future__ import annotations

import json

from test_access_cli import BOSS, team

from dealcli.storage import yamlcodec


def load(repo, deal_id):
    return yamlcodec.loads((repo / "deals" / f"{deal_id}.yaml").read_bytes(), "x")


def revenue_by_month(cli, **kw):
    data = json.loads(cli.ok("report", "--section", "won_revenue", "-f", "json", **kw), parse_float=str)
    return {r["month"]: str(r["amount"]) for r in data["won_revenue"]["by_month"]}


def test_a_won_deal_is_corrected_without_reopening_and_its_revenue_stays_in_its_month(cli, repo):
    deal_id = cli.ok("deal", "add", "Typo", "--amount", "1000", now="2026-10-05T10:00:00+00:00").strip()
    cli.ok("deal", "close", deal_id, "--won", now="2026-10-20T10:00:00+00:00")
    assert revenue_by_month(cli) == {"2026-10": "1000.00"}
    cli.ok("deal", "correct", deal_id, "--amount", "100", "--set", "fields.po=PO-7", "--close-date", "2026-10-20",
           "--reason", "typo in the amount", now="2026-12-02T09:00:00+00:00")
    deal = load(repo, deal_id)
    assert (deal["status"], deal["stage"], deal["amount"]) == ("won", "won", 100)
    assert deal["closed_at"] == "2026-10-20T10:00:00+00:00"
    assert revenue_by_month(cli) == {"2026-10": "100.00"}  # still October, not December
    corrected = [e for e in deal["history"] if e["kind"] == "corrected"]
    assert {e["field"] for e in corrected} == {"amount", "fields.po", "close_date"}
    assert all(e["reason"] == "typo in the amount" for e in corrected)
    assert not [e for e in deal["history"] if e["kind"] in ("reopened", "changed")]
    assert cli.ok("check") == ""
    # products too; the amount follows them unless set by hand
    cli.ok("deal", "correct", deal_id, "--unset", "amount", "--product", "Licence:40:2")
    assert load(repo, deal_id)["amount"] == 80


def test_closed_at_is_corrected_on_purpose_and_moves_the_revenue(cli, repo):
    deal_id = cli.ok("deal", "add", "Late", "--amount", "10").strip()
    cli.ok("deal", "close", deal_id, "--won")
    cli.ok("deal", "correct", deal_id, "--closed-at", "2026-02-27 16:00")
    assert revenue_by_month(cli) == {"2026-02": "10.00"}
    assert cli.ok("check") == ""


def test_what_a_correction_refuses(cli, repo):
    open_id = cli.ok("deal", "add", "Open").strip()
    proc = cli("deal", "correct", open_id, "--amount", "5")
    assert proc.returncode == 1 and "is open" in proc.stderr
    won = cli.ok("deal", "add", "Won").strip()
    cli.ok("deal", "close", won, "--won")
    for args in (["--set", "title=New"], ["--set", "responsible=bob"], []):
        proc = cli("deal", "correct", won, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert cli("deal", "edit", won, "--amount", "5").returncode == 1  # edit still refuses a closed deal


def test_correcting_needs_the_edit_closed_right(cli, repo):
    team(cli)
    deal_id = cli.ok("deal", "add", "Alice's", "--amount", "10", user="alice@x.io").strip()
    cli.ok("deal", "close", deal_id, "--lost", user="carol@x.io")
    # a manager may not reopen (deal:reopen=none), so may not correct either (edit_closed falls back to reopen)
    proc = cli("deal", "correct", deal_id, "--amount", "11", user="alice@x.io")
    assert proc.returncode == 6 and "edit_closed" in proc.stderr, proc.stderr
    # ... but may still comment on it (not a correction)
    cli.ok("deal", "comment", deal_id, "lost to a rival", user="alice@x.io")
    # its own right: granted to the managers, without reopen
    cli.ok("role", "edit", "manager", "--grant", "deal:edit_closed=own", user=BOSS)
    cli.ok("deal", "correct", deal_id, "--amount", "11", user="alice@x.io")
    assert cli("deal", "reopen", deal_id, user="alice@x.io").returncode == 6
    assert cli("can", "alice", "edit_closed", f"deal:{deal_id}", user=BOSS).returncode == 0


def test_check_accepts_history_written_under_any_now(cli, repo):
    deal_id = cli.ok("deal", "add", "X", "--amount", "10", now="2026-03-10T12:00:00+00:00").strip()
    cli.ok("deal", "close", deal_id, "--won", now="2026-02-01T12:00:00+00:00")  # back-dated
    cli.ok("deal", "correct", deal_id, "--amount", "12", now="2026-01-05T12:00:00+00:00")
    for now in ("2026-01-01T00:00:00+00:00", "2026-03-10T12:00:00+00:00", "2030-01-01T00:00:00+00:00"):
        assert cli("check", now=now).returncode == 0
    history = load(repo, deal_id)["history"]
    assert [e.get("backdated") for e in history] == [None, True, None, True]
    # a hand edit that reorders history is still found
    text = (repo / "deals" / f"{deal_id}.yaml").read_text().replace("  backdated: true\n", "")
    (repo / "deals" / f"{deal_id}.yaml").write_text(text)
    assert "history-order" in cli("check").stdout
