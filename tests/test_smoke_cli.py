"""End-to-end basics of the foundation through the installed script."""

import json


def test_add_prints_only_the_id_and_show_reads_it_back(cli):
    out = cli.ok("deal", "add", "First deal", "--amount", "1234.50", "--currency", "eur")
    deal_id = out.strip()
    assert len(deal_id) == 10 and "\n" not in deal_id
    data = json.loads(cli.ok("deal", "show", deal_id[:6], "-f", "json"))
    assert data["id"] == deal_id
    assert data["amount"] == "1234.50"
    assert data["currency"] == "EUR"
    assert data["stage"] == "new" and data["status"] == "open"
    assert data["created_by"] == "tester@example.com"
    assert data["created"].startswith("2026-03-10T12:00:00")


def test_unknown_stage_is_refused_with_exit_1_and_nothing_written(cli, repo):
    proc = cli("deal", "add", "X", "--stage", "nope")
    assert proc.returncode == 1
    assert "nope" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (repo / "deals").exists() or list((repo / "deals").iterdir()) == []


def test_not_a_repository_exits_3(tmp_path):
    from conftest import Runner

    proc = Runner(tmp_path)("deal", "show", "abc")
    assert proc.returncode == 3
    assert "dealcli.yaml" in proc.stderr or "repository" in proc.stderr
