"""The smoke layer: the installed `dealcli` console script (and `python -m dealcli`) run as real
processes for the main commands, so the entry point, start-up and exit codes of a real process
stay covered while the rest of the suite calls cli.main() in-process (see conftest.py)."""

import shutil
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import NOW, Runner, json_decimal as loads


@pytest.fixture
def cli(repo) -> Runner:
    """This module's Runner always starts the installed script."""
    return Runner(repo, subprocess=True)


def test_add_prints_only_the_id_and_show_reads_it_back(cli):
    out = cli.ok("deal", "add", "First deal", "--amount", "1234.50", "--currency", "eur")
    deal_id = out.strip()
    assert len(deal_id) == 10 and "\n" not in deal_id
    data = loads(cli.ok("deal", "show", deal_id[:6], "-f", "json"))
    assert data["id"] == deal_id
    assert data["amount"] == Decimal("1234.50")
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
    proc = Runner(tmp_path, subprocess=True)("deal", "show", "abc")
    assert proc.returncode == 3
    assert "dealcli.yaml" in proc.stderr or "repository" in proc.stderr


def test_version_help_and_python_m(cli):
    assert cli.ok("--version").strip() == cli.ok("--version").strip() != ""
    assert cli.ok("--version").startswith("dealcli ")
    assert "deal" in cli.ok("--help")
    proc = subprocess.run([sys.executable, "-m", "dealcli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == cli.ok("--version")
    usage = cli("deal", "add")  # a usage error is exit 2 from the real process too
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_main_commands_through_the_script(tmp_path):
    root = tmp_path / "r"
    Runner(tmp_path, subprocess=True).ok("init", root, "--timezone", "UTC")
    run = Runner(root, subprocess=True)
    acme = run.ok("company", "add", "Acme").strip()
    deal = run.ok("deal", "add", "Smoke deal", "--amount", "100", "--company", acme, "--close-date",
                  "2026-03-20").strip()
    assert run.ok("deal", "move", deal, "preparation").strip() == deal
    assert run.ok("activity", "add", deal, "--type", "call", "--subject", "Call", "--due", "2026-03-11 10:00")
    assert run.ok("filter", "stage=preparation", "-f", "ids") == deal + "\n"
    assert "Smoke deal" in run.ok("filter")
    assert "Preparing documents" in run.ok("board", env={"COLUMNS": "100"})
    assert "March 2026" in run.ok("calendar")
    assert "This week" in run.ok("agenda") and deal in run.ok("agenda")
    assert "Smoke deal" in run.ok("deal", "show", deal)
    exported = run.ok("export", "-f", "jsonl")
    assert loads(exported)["created"].startswith(NOW[:19])
    Runner(tmp_path, subprocess=True).ok("init", tmp_path / "b", "--timezone", "UTC")
    other = Runner(tmp_path / "b", subprocess=True)
    shutil.copytree(root / "companies", tmp_path / "b" / "companies")  # the deal's company: no dangling link
    assert other.ok("import", "-", "--format", "jsonl", input=exported).strip() == deal
    assert run.ok("check") == ""
    assert run("deal", "show", "zzzz").returncode == 3
