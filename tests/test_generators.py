"""`dealcli generator`: segments against a fixed clock, the deals a run makes, and idempotence
under repeated, concurrent and killed runs (the last two in real separate processes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-03-10T12:00:00+00:00"


def deal_files(repo: Path) -> list[str]:
    folder = repo / "deals"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.exists() else []


def generated(repo: Path) -> list[str]:
    return [d for d in deal_files(repo) if d.startswith("gen-")]


def company(cli, name) -> str:
    return cli.ok("company", "add", name).strip()


def closed_deal(cli, title, company_id, won, at, product="Widget:100:2") -> str:
    deal_id = cli.ok("--quiet", "deal", "add", title, "--company", company_id, "--product", product, now=at).strip()
    cli.ok("deal", "close", deal_id, "--won" if won else "--lost", now=at)
    return deal_id


@pytest.fixture
def clients(cli):
    """A: won 60 days ago; B: won 9 days ago; C: lost 90 days ago, nothing open; D: lost 90 days
    ago but an open deal; G: only an open deal begun 160 days ago; contacts E (birthday in 4 days)
    and F (in 41 days), without company."""
    ids = {k: company(cli, f"Co {k}") for k in "ABCDG"}
    closed_deal(cli, "A first", ids["A"], True, "2026-01-09T10:00:00+00:00", "Gadget:250:3")
    closed_deal(cli, "B first", ids["B"], True, "2026-03-01T10:00:00+00:00")
    closed_deal(cli, "C first", ids["C"], False, "2025-12-10T10:00:00+00:00")
    closed_deal(cli, "D first", ids["D"], False, "2025-12-10T10:00:00+00:00")
    cli.ok("--quiet", "deal", "add", "D open", "--company", ids["D"], now="2026-02-01T10:00:00+00:00")
    cli.ok("--quiet", "deal", "add", "G open", "--company", ids["G"], "--begin", "2025-10-01")
    ids["E"] = cli.ok("contact", "add", "Eve", "--birthday", "1990-03-14").strip()
    ids["F"] = cli.ok("contact", "add", "Fay", "--birthday", "1985-04-20").strip()
    return ids


def who(cli, name, *segment, now=NOW) -> list[str]:
    """Add a scenario, dry-run it, return the names of the clients it picks."""
    cli.ok("generator", "add", name, *segment)
    rows = json.loads(cli.ok("generator", "run", "--dry-run", "-f", "json", now=now))
    return sorted(r["client_name"] for r in rows if r["generator"] == name.lower())


# -- segments ----------------------------------------------------------------------------------------------
def test_builtin_segments_against_a_fixed_now(cli, repo, clients):
    assert who(cli, "repurchase", "--won-days-ago", "30..90") == ["Co A"]
    assert who(cli, "recent", "--segment", "last_won_days=0..10") == ["Co B"]
    assert who(cli, "winback", "--lost-days-ago", "60") == ["Co C"]  # D has an open deal
    assert who(cli, "birthday", "--birthday-within", "7") == ["Eve"]  # Fay's is 41 days away
    assert who(cli, "dormant", "--no-deal-days", "120") == ["Co G"]
    assert generated(repo) == []  # dry runs write nothing


def test_the_clock_moves_the_segment(cli, clients):
    cli.ok("generator", "add", "birthday", "--birthday-within", "7")
    rows = json.loads(cli.ok("generator", "run", "--dry-run", "-f", "json", now="2026-04-15T09:00:00+00:00"))
    assert [r["client_name"] for r in rows] == ["Fay"]
    assert rows[0]["period"] == "2026"  # a birthday keys on its year


def test_filter_and_client_expressions_combine(cli, clients):
    assert who(cli, "gadgets", "--segment", "status=won product~gadget") == ["Co A"]
    assert who(cli, "widgets", "--segment", "product~widget client.name!~d") == ["Co B", "Co C"]
    assert who(cli, "won-widgets", "--segment", "status=won", "--segment", "product~widget") == ["Co B"]


def test_bad_segment_is_a_usage_error_and_nothing_is_saved(cli, repo):
    proc = cli("generator", "add", "bad", "--segment", "last_won_days=9..3")
    assert proc.returncode == 2 and "less than" in proc.stderr
    proc = cli("generator", "add", "bad", "--segment", "amount>>1")
    assert proc.returncode == 2
    assert not (repo / "generators").exists() or list((repo / "generators").iterdir()) == []


# -- running -------------------------------------------------------------------------------------------------
def test_run_creates_one_deal_per_client_with_products_history_and_activity(cli, repo, clients):
    cli.ok("generator", "add", "Repurchase", "--won-days-ago", "30..90", "--title", "Again: {client} ({last_title})",
           "--stage", "preparation", "--activity-type", "call", "--activity-subject", "Offer a repurchase",
           "--activity-due", "+2d")
    out = cli.ok("generator", "run").split()
    assert out == [f"gen-repurchase-{clients['A']}-202603"]
    deal = json.loads(cli.ok("deal", "show", out[0], "-f", "json"))
    assert deal["title"] == "Again: Co A (A first)"
    assert (deal["company"], deal["stage"], deal["status"]) == (clients["A"], "preparation", "open")
    assert [(p["name"], str(p["quantity"])) for p in deal["products"]] == [("Gadget", "3")]
    assert deal["generator"] == {"scenario": "repurchase", "client": clients["A"], "period": "202603"}
    history = json.loads(cli.ok("deal", "history", out[0], "-f", "json"))
    assert history[0]["kind"] == "created" and history[0]["via"] == "generator:repurchase"
    acts = json.loads(cli.ok("activity", "list", "--deal", out[0], "-f", "json"))
    assert [(a["id"], a["type"], a["subject"]) for a in acts] == [(f"{out[0]}-a", "call", "Offer a repurchase")]
    assert acts[0]["due"].startswith("2026-03-12")
    assert cli.ok("check") is not None


def test_repeat_runs_and_next_periods(cli, repo, clients):
    cli.ok("generator", "add", "winback", "--lost-days-ago", "60", "--no-products")
    first = cli.ok("generator", "run").split()
    assert first == [f"gen-winback-{clients['C']}-202603"]
    assert cli.ok("generator", "run") == ""  # same period: nothing new
    assert cli.ok("generator", "run", now="2026-03-31T23:00:00+00:00") == ""
    # next month: C still has the open win-back deal from this scenario, so it is passed over
    assert cli.ok("generator", "run", now="2026-04-02T09:00:00+00:00") == ""
    cli.ok("deal", "close", first[0], "--lost", now="2026-04-03T09:00:00+00:00")
    # lost again only a day ago: the segment (lost 60+ days ago) no longer holds
    assert cli.ok("generator", "run", now="2026-04-04T09:00:00+00:00") == ""
    assert cli.ok("generator", "run", now="2026-06-05T09:00:00+00:00").split() == [
        f"gen-winback-{clients['C']}-202606"]


def test_pause_resume_edit_delete(cli, repo, clients):
    sid = cli.ok("generator", "add", "Birthday offer", "--birthday-within", "7", "--pipeline", "sales").strip()
    assert sid == "birthday-offer"
    assert cli("generator", "add", "Birthday offer", "--birthday-within", "3").returncode == 4
    cli.ok("generator", "pause", "birth")
    listing = json.loads(cli.ok("generator", "list", "-f", "json"))
    assert [(r["id"], r["status"], r["clients"], r["period"]) for r in listing] == [
        ("birthday-offer", "paused", "contacts", "birthday")]
    assert cli.ok("generator", "run") == ""
    cli.ok("generator", "resume", sid)
    cli.ok("generator", "edit", sid, "--birthday-within", "60", "--title", "Happy birthday {client}")
    shown = json.loads(cli.ok("generator", "show", sid, "-f", "json"))
    assert shown["segment"] == ["birthday_within=60"] and shown["deal"]["title"] == "Happy birthday {client}"
    made = cli.ok("generator", "run").split()
    assert made == sorted([f"gen-birthday-offer-{clients['E']}-2026", f"gen-birthday-offer-{clients['F']}-2026"])
    deal = json.loads(cli.ok("deal", "show", made[0], "-f", "json"))
    assert deal["contacts"] and deal["title"].startswith("Happy birthday ")
    assert cli.ok("generator", "delete", sid, "--yes").strip() == sid
    assert cli("generator", "show", sid).returncode == 3
    assert set(made) <= set(deal_files(repo))  # the deals stay


def test_activity_only_scenario_plans_on_the_open_deal_once(cli, repo, clients):
    cli.ok("generator", "add", "nudge", "--no-deal-days", "100", "--no-deal", "--activity-type", "task",
           "--activity-subject", "Check in")
    out = cli.ok("generator", "run").split()
    g_deal = next(d for d in deal_files(repo)
                  if json.loads(cli.ok("deal", "show", d, "-f", "json"))["title"] == "G open")
    assert out == [g_deal]
    assert cli.ok("generator", "run") == ""
    acts = json.loads(cli.ok("activity", "list", "--deal", g_deal, "-f", "json"))
    assert [a["subject"] for a in acts] == ["Check in"]
    assert generated(repo) == []
    cli.ok("generator", "edit", "nudge", "--no-deal-days", "90")  # editing the segment keeps it deal-less
    assert json.loads(cli.ok("generator", "show", "nudge", "-f", "json"))["deal"] is None
    cli.ok("generator", "edit", "nudge", "--title", "Check-in: {client}")  # a deal option brings a deal
    assert json.loads(cli.ok("generator", "show", "nudge", "-f", "json"))["deal"]["title"] == "Check-in: {client}"


# -- idempotence across processes ------------------------------------------------------------------------------
def _env(repo: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_NOW": NOW, "DEALCLI_USER": "cron", "NO_COLOR": "1", "DEALCLI_DIR": str(repo)})
    return env


@pytest.fixture
def many(cli, repo):
    """30 companies whose won deal closed 45 days ago, and a repurchase scenario with a call."""
    for i in range(30):
        closed_deal(cli, f"Order {i}", company(cli, f"Client {i:02d}"), True, "2026-01-24T10:00:00+00:00")
    cli.ok("generator", "add", "rep", "--won-days-ago", "30", "--activity-type", "call", "--activity-subject", "Hi")
    return sorted(f"gen-rep-{r['id']}-202603" for r in json.loads(cli.ok("company", "list", "-f", "json")))


def test_two_concurrent_runs_make_each_deal_once(repo, many):
    procs = [subprocess.Popen([sys.executable, "-m", "dealcli", "generator", "run"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env(repo)) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    printed = sorted(i for out, _ in outs for i in out.split())
    assert printed == many  # every deal printed once, by exactly one of the runs
    assert generated(repo) == many
    assert sorted(p.stem for p in (repo / "activities").glob("*.yaml")) == [f"{d}-a" for d in many]


KILLER = """
import os, signal, sys
from dealcli import activities, cli
real = activities.add
calls = []
def add(*args, **kw):
    out = real(*args, **kw)
    calls.append(1)
    if len(calls) == int(sys.argv[1]):  # the deal and its activity are staged, not committed: die
        os.kill(os.getpid(), signal.SIGKILL)
    return out
activities.add = add
cli.main(["generator", "run"])
"""


def yaml_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.exists() else []


def test_a_run_killed_in_the_middle_is_completed_by_the_next(cli, repo, many):
    proc = subprocess.run([sys.executable, "-c", KILLER, "7"], capture_output=True, text=True, env=_env(repo),
                          timeout=180)
    assert proc.returncode == -9, proc.stderr
    # clients run in id order: six complete (deal + call), the seventh neither deal nor call
    assert generated(repo) == many[:6]
    assert yaml_names(repo / "activities") == [f"{d}-a" for d in many[:6]]
    again = cli.ok("generator", "run").split()
    assert again == many[6:]
    assert generated(repo) == many
    assert yaml_names(repo / "activities") == [f"{d}-a" for d in many]
    leftovers = [p.name for f in ("deals", "activities") for p in (repo / f).iterdir() if p.suffix != ".yaml"]
    assert leftovers == []  # the killed run's staged files were swept
    assert cli("check").returncode == 0
    assert cli.ok("generator", "run") == ""


# -- deal add --from deal:- ------------------------------------------------------------------------------------
def test_deal_add_from_deals_on_stdin(cli, repo, clients):
    won = cli.ok("filter", "status=won", "-f", "ids")
    assert len(won.split()) == 2
    made = cli.ok("--quiet", "deal", "add", "Repurchase", "--from", "deal:-", input=won).split()
    assert len(made) == 2
    companies = sorted(json.loads(cli.ok("deal", "show", d, "-f", "json"))["company"] for d in made)
    assert companies == sorted([clients["A"], clients["B"]])
    before = deal_files(repo)
    proc = cli("deal", "add", "X", "--from", "deal:-", input=won.split()[0] + "\nnosuchdeal\n")
    assert proc.returncode == 3 and "nosuchdeal" in proc.stderr
    assert deal_files(repo) == before  # checked before anything is written


def test_a_broken_scenario_file_is_reported_and_the_others_still_run(cli, repo, clients):
    cli.ok("generator", "add", "rep", "--won-days-ago", "30")
    cli.ok("generator", "add", "winback", "--lost-days-ago", "60")
    path = repo / "generators" / "rep.yaml"
    path.write_text(path.read_text().replace("last_won_days=30", "last_won_days=9..3"))
    proc = cli("check")
    assert proc.returncode == 1
    assert "generators/rep.yaml:" in proc.stdout + proc.stderr and "less than" in proc.stdout + proc.stderr
    proc = cli("generator", "run")
    assert proc.returncode == 1 and "generators/rep.yaml:" in proc.stderr
    assert proc.stdout.split() == [f"gen-winback-{clients['C']}-202603"]


def test_check_names_a_scenario_pipeline_stage_that_is_gone(cli, repo):
    cli.ok("generator", "add", "rep", "--won-days-ago", "30", "--pipeline", "sales", "--stage", "preparation")
    path = repo / "generators" / "rep.yaml"
    path.write_text(path.read_text().replace("stage: preparation", "stage: nowhere"))
    proc = cli("check")
    assert proc.returncode == 1
    assert "deal.stage: 'nowhere' is not a stage of pipeline 'sales'" in proc.stdout + proc.stderr
