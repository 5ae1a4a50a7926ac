"""Stage automation (issue 26 item 1): rules in the pipeline file run when a deal enters or leaves
a stage, in the transaction of the change, through every write path; tunnels; dry runs; local
commands after commit. Through the CLI (cli.main; real processes where a command runs)."""

from __future__ import annotations

import json
import subprocess

from dealcli.storage import yamlcodec

RULES = """\
- id: call-after-demo
  stage: executing
  activity: {type: call, subject: Call after the demo, due_days: 2, description: Ask about the budget}
  set: {source: demo, probability: 70}
  notify: [responsible, boris]
- id: left-new
  when: leave
  stage: new
  clear: [close_date]
- id: to-service
  stage: won
  copy_to: {pipeline: service, stage: new}
"""


def load(repo, kind, record_id):
    return yamlcodec.loads((repo / kind / f"{record_id}.yaml").read_bytes(), "x")


def files(repo):
    return {p.relative_to(repo): p.read_bytes() for p in repo.rglob("*.yaml") if ".dealcli" not in p.parts}


def rules(cli, repo, pipeline="sales", text=RULES, **kw):
    (repo / f"rules-{pipeline}.yaml").write_text(text)
    return cli("pipeline", "edit", pipeline, "--automation", repo / f"rules-{pipeline}.yaml", **kw)


def setup(cli, repo):
    cli.ok("pipeline", "add", "service", "--stages", "new:New,visit:Visit,won:Done:success,lost:Cancelled:failure")
    assert rules(cli, repo).returncode == 0


def automation_events(deal):
    return [e for e in deal["history"] if e["kind"] == "automation"]


def test_rules_are_declared_in_the_pipeline_file_and_listed_by_show(cli, repo):
    setup(cli, repo)
    stored = load(repo, "pipelines", "sales")
    assert [r["id"] for r in stored["automation"]] == ["call-after-demo", "left-new", "to-service"]
    assert stored["automation"][1]["when"] == "leave"
    shown = cli.ok("pipeline", "show", "sales")
    assert "automation:" in shown
    assert "call-after-demo: on enter executing: call 'Call after the demo' due in 2 working day(s)" in shown
    assert "to-service: on enter won: copy to service/new" in shown
    assert json.loads(cli.ok("pipeline", "show", "sales", "-f", "json"))["automation"][2]["copy_to"] == {
        "pipeline": "service", "stage": "new"}
    # a pipeline without rules keeps its shape: no automation key written
    assert "automation" not in load(repo, "pipelines", "service")
    assert cli.ok("check") == ""


def test_entering_a_stage_runs_its_rules_in_the_same_write_with_history(cli, repo):
    setup(cli, repo)
    deal_id = cli.ok("deal", "add", "Big deal", "--amount", "100", "--close-date", "2026-04-01").strip()
    cli.ok("deal", "move", deal_id, "executing")
    deal = load(repo, "deals", deal_id)
    assert deal["source"] == "demo" and deal["probability"] == 70
    assert deal.get("close_date") is None  # left `new`: its leaving rule cleared it
    events = automation_events(deal)
    assert [e["rule"] for e in events] == ["sales/left-new", "sales/call-after-demo"]
    fired = events[1]
    assert fired["when"] == "enter" and fired["stage"] == "executing"
    assert fired["notified"] == ["tester@example.com", "boris"]
    changed = [e for e in deal["history"] if e["kind"] == "changed"]
    assert {e["field"]: e["rule"] for e in changed} == {"close_date": "sales/left-new",
                                                        "source": "sales/call-after-demo",
                                                        "probability": "sales/call-after-demo"}
    call = load(repo, "activities", fired["activity"])
    assert (call["type"], call["subject"], call["description"]) == ("call", "Call after the demo",
                                                                     "Ask about the budget")
    assert call["due"] == "2026-03-12T12:00:00+00:00"  # Tuesday + 2 working days
    tasks = json.loads(cli.ok("activity", "list", "-f", "json"))
    told = sorted(a["responsible"] for a in tasks if a["type"] == "task")
    assert told == ["boris", "tester@example.com"]
    assert cli.ok("check") == ""


def test_rules_are_idempotent_and_fire_once_per_entry(cli, repo):
    setup(cli, repo)
    deal_id = cli.ok("deal", "add", "Deal", "--stage", "executing").strip()  # add enters a stage too
    first = load(repo, "deals", deal_id)
    assert [e["rule"] for e in automation_events(first)] == ["sales/call-after-demo"]
    cli.ok("deal", "edit", deal_id, "--title", "Renamed")  # no stage change: nothing fires
    cli.ok("deal", "move", deal_id, "executing")           # already there: nothing fires
    assert len(automation_events(load(repo, "deals", deal_id))) == 1
    assert len(json.loads(cli.ok("activity", "list", "-f", "json"))) == 3
    cli.ok("deal", "move", deal_id, "preparation")
    cli.ok("deal", "move", deal_id, "executing")  # a second entry: a second call, with its own id
    deal = load(repo, "deals", deal_id)
    ids = [e["activity"] for e in automation_events(deal) if e["rule"] == "sales/call-after-demo"]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert len(json.loads(cli.ok("activity", "list", "-f", "json"))) == 6


def test_dry_run_shows_what_the_rules_would_do_and_writes_nothing(cli, repo):
    setup(cli, repo)
    deal_id = cli.ok("deal", "add", "Deal").strip()
    before = files(repo)
    out = cli.ok("deal", "move", deal_id, "executing", "--dry-run", "-f", "json")
    rows = json.loads(out)
    assert [(r["rule"], r["action"]) for r in rows] == [
        ("sales/left-new", "set"), ("sales/call-after-demo", "set"), ("sales/call-after-demo", "set"),
        ("sales/call-after-demo", "activity"), ("sales/call-after-demo", "notify"),
        ("sales/call-after-demo", "notify")] or all(r["deal"] == deal_id for r in rows)
    assert {r["action"] for r in rows} >= {"activity", "notify", "set"}
    assert files(repo) == before
    table = cli.ok("deal", "move", deal_id, "executing", "--dry-run")
    assert "sales/call-after-demo" in table and "Call after the demo" in table
    assert files(repo) == before


def test_a_won_deal_is_copied_through_a_tunnel_and_check_accepts_it(cli, repo):
    setup(cli, repo)
    deal_id = cli.ok("deal", "add", "Deal", "--amount", "50", "--company", "Acme").strip()
    cli.ok("deal", "close", deal_id, "--won")
    won = load(repo, "deals", deal_id)
    copy_id = automation_events(won)[-1]["copied_to"]
    copy = load(repo, "deals", copy_id)
    assert (copy["pipeline"], copy["stage"], copy["status"]) == ("service", "new", "open")
    assert copy["copied_from"] == deal_id and copy["amount"] == won["amount"] and copy["company"] == won["company"]
    assert copy["history"][0]["kind"] == "created" and copy["history"][0]["via"] == "automation"
    assert cli.ok("check") == ""


def test_move_tunnel_carries_the_deal_on_and_its_new_stage_rules_run(cli, repo):
    cli.ok("pipeline", "add", "service", "--stages", "new:New,visit:Visit,won:Done:success,lost:Cancelled:failure")
    assert rules(cli, repo, "service", "- {id: plan-visit, stage: new, activity: {subject: Plan the visit}}\n"
                 ).returncode == 0
    assert rules(cli, repo, "sales", "- {id: hand-over, stage: final_invoice, move_to: {pipeline: service, "
                 "stage: new}}\n").returncode == 0
    deal_id = cli.ok("deal", "add", "Deal").strip()
    cli.ok("deal", "move", deal_id, "final_invoice")
    deal = load(repo, "deals", deal_id)
    assert (deal["pipeline"], deal["stage"]) == ("service", "new")
    kinds = [e["kind"] for e in deal["history"]]
    assert kinds[-3:] == ["pipeline_changed", "moved", "automation"]
    assert deal["history"][-1]["rule"] == "service/plan-visit"
    assert cli.ok("check") == ""


def test_a_refused_action_refuses_the_whole_change(cli, repo):
    cli.ok("pipeline", "add", "service", "--stages", "new:New,won:Done:success,lost:Cancelled:failure")
    cli.ok("pipeline", "edit", "service", "--require", "contract_no", "--from-stage", "new")
    assert rules(cli, repo, "sales", "- {id: hand-over, stage: executing, copy_to: {pipeline: service, stage: new}}\n"
                 "- {id: call, stage: executing, activity: {subject: Call}}\n").returncode == 0
    deal_id = cli.ok("deal", "add", "Deal").strip()
    before = files(repo)
    proc = cli("deal", "move", deal_id, "executing")
    assert proc.returncode == 1 and "rule sales/hand-over" in proc.stderr and "contract_no" in proc.stderr
    assert files(repo) == before  # neither the move, nor the copy, nor the activity


def test_tunnel_cycles_and_unknown_targets_are_refused_by_pipeline_edit(cli, repo):
    setup(cli, repo)
    proc = rules(cli, repo, "service", "- {id: back, stage: new, move_to: {pipeline: sales, stage: won}}\n")
    assert proc.returncode == 1 and "cycle" in proc.stderr and "sales/won -> service/new -> sales/won" in proc.stderr
    proc = rules(cli, repo, "service", "- {id: back, stage: new, copy_to: {pipeline: sales, stage: wom}}\n")
    assert proc.returncode == 1 and "did you mean 'won'" in proc.stderr
    proc = rules(cli, repo, "sales", "- {id: x, stage: won, move_to: {pipeline: service, stage: new}}\n")
    assert proc.returncode == 1 and "a closed deal is not moved" in proc.stderr
    proc = rules(cli, repo, "sales", "- {id: x, stage: new}\n")
    assert proc.returncode == 1 and "does nothing" in proc.stderr
    proc = rules(cli, repo, "sales", "- {id: x, stage: new, when: later, clear: [source]}\n")
    assert proc.returncode == 1 and "later" in proc.stderr
    # the target of a tunnel cannot go away underneath it
    proc = cli("pipeline", "delete", "service")
    assert proc.returncode == 1 and "service" in proc.stderr


def test_import_and_recurring_paths_run_the_rules(cli, repo):
    setup(cli, repo)
    (repo / "in.csv").write_text("title,stage\nImported,executing\n")
    cli.ok("import", repo / "in.csv")
    deal = next(d for d in (load(repo, "deals", p.stem) for p in (repo / "deals").glob("*.yaml"))
                if d["title"] == "Imported")
    assert [e["rule"] for e in automation_events(deal)] == ["sales/call-after-demo"]
    assert deal["source"] == "demo"


def test_a_command_runs_after_commit_only_when_defined_locally(cli, repo):
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    cli.ok("pipeline", "edit", "sales", "--require-lost-reason")  # any write
    assert rules(cli, repo, "sales", "- {id: hook, stage: executing, run: tell}\n").returncode == 0
    deal_id = cli.ok("deal", "add", "Deal").strip()
    proc = cli.proc("deal", "move", deal_id, "executing")
    assert proc.returncode == 0
    assert "command 'tell' is not defined in .dealcli/local.yaml; not run" in proc.stderr
    (repo / ".dealcli").mkdir(exist_ok=True)
    (repo / ".dealcli" / "local.yaml").write_text(
        'automation:\n  commands:\n    tell: sh -c \'echo "$DEALCLI_DEAL $DEALCLI_RULE $DEALCLI_EVENT" >> told.txt\'\n')
    cli.ok("deal", "move", deal_id, "preparation")
    proc = cli.proc("deal", "move", deal_id, "executing")
    assert proc.returncode == 0, proc.stderr
    assert (repo / "told.txt").read_text() == f"{deal_id} sales/hook enter\n"
    assert proc.stdout.strip() == deal_id  # the command's output never reaches stdout
    # a dry run runs nothing
    cli.ok("deal", "move", deal_id, "preparation")
    cli.proc("deal", "move", deal_id, "executing", "--dry-run", check=True)
    assert (repo / "told.txt").read_text().count("\n") == 1
