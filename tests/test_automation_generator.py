"""Stage automation starting a sales-generator scenario (issue 26 item 1): a rule on entering a
stage starts a scenario for the deal's client, in the same transaction, recorded in history with
its rule, once per deal and rule; listed by `pipeline show`, shown by `deal move --dry-run`,
validated by `pipeline edit` and `check`. Through the CLI."""

from __future__ import annotations

import json

from dealcli.storage import yamlcodec


def load(repo, kind, record_id):
    return yamlcodec.loads((repo / kind / f"{record_id}.yaml").read_bytes(), "x")


def files(repo):
    return {p.relative_to(repo): p.read_bytes() for p in repo.rglob("*.yaml") if ".dealcli" not in p.parts}


def rules(cli, repo, text, pipeline="sales"):
    (repo / "rules.yaml").write_text(text)
    return cli("pipeline", "edit", pipeline, "--automation", repo / "rules.yaml")


def setup(cli, repo):
    cli.ok("pipeline", "add", "service", "--stages", "new:New,visit:Visit,won:Done:success,lost:Cancelled:failure")
    cli.ok("generator", "add", "Repurchase", "--won-days-ago", "30..60", "--pipeline", "service", "--stage", "new",
           "--title", "Follow-up: {client} ({last_title})", "--activity-type", "call",
           "--activity-subject", "Offer a repurchase", "--activity-due", "+2d")
    assert rules(cli, repo, "- {id: follow-up, stage: won, generator: repurchase}\n").returncode == 0
    company = cli.ok("company", "add", "Acme").strip()
    deal_id = cli.ok("deal", "add", "Big order", "--company", company, "--product", "Widget:100:2").strip()
    return company, deal_id


def automation_events(deal):
    return [e for e in deal["history"] if e["kind"] == "automation"]


def test_entering_a_stage_starts_the_scenario_for_the_client_in_the_same_write(cli, repo):
    company, deal_id = setup(cli, repo)
    cli.ok("deal", "close", deal_id, "--won")
    won = load(repo, "deals", deal_id)
    event = automation_events(won)[-1]
    assert event["rule"] == "sales/follow-up"
    started = event["generator"]
    assert started["scenario"] == "repurchase" and started["result"] == "created" and started["client"] == company
    made = load(repo, "deals", started["deal"])
    assert (made["pipeline"], made["stage"], made["status"]) == ("service", "new", "open")
    assert made["title"] == "Follow-up: Acme (Big order)"  # the scenario's title, this deal as the last one
    assert made["company"] == company and made["products"][0]["name"] == "Widget"  # products of the won deal
    assert made["generator"]["scenario"] == "repurchase" and made["generator"]["deal"] == deal_id
    assert made["generator"]["rule"] == "sales/follow-up"
    assert made["history"][0]["via"] == "generator:repurchase"
    act = load(repo, "activities", started["activity"])
    assert act["deal"] == made["id"] and act["subject"] == "Offer a repurchase" and act["type"] == "call"
    assert cli.ok("check") == ""


def test_re_entering_or_re_running_does_not_start_it_twice(cli, repo):
    _, deal_id = setup(cli, repo)
    cli.ok("deal", "close", deal_id, "--won")
    first = automation_events(load(repo, "deals", deal_id))[-1]["generator"]["deal"]
    cli.ok("deal", "reopen", deal_id)
    cli.ok("deal", "close", deal_id, "--won")  # the rule fires again: the scenario is not started again
    events = [e for e in automation_events(load(repo, "deals", deal_id)) if e["rule"] == "sales/follow-up"]
    assert len(events) == 2 and events[1]["generator"]["result"] == "started before"
    assert events[1]["generator"]["deal"] == first
    assert cli.ok("filter", "pipeline=service", "-f", "ids").split() == [first]
    assert len(json.loads(cli.ok("activity", "list", "-f", "json"))) == 1
    # the cron run of the same scenario passes the client over while the started deal is open
    rows = json.loads(cli.ok("generator", "run", "--dry-run", "-f", "json", now="2026-04-20T12:00:00+00:00"))
    assert rows == []  # Acme's latest won deal is 40 days old, but the started deal is still open
    cli.ok("generator", "run", now="2026-04-20T12:00:00+00:00")
    assert cli.ok("filter", "pipeline=service", "-f", "ids").split() == [first]


def test_a_refused_start_refuses_the_whole_change(cli, repo):
    _, deal_id = setup(cli, repo)
    cli.ok("pipeline", "edit", "service", "--require", "contract_no", "--from-stage", "new")
    before = files(repo)
    proc = cli("deal", "close", deal_id, "--won")
    assert proc.returncode == 1 and "contract_no" in proc.stderr
    assert files(repo) == before  # neither the close nor the started deal nor its activity


def test_pipeline_show_and_dry_run_show_the_start(cli, repo):
    _, deal_id = setup(cli, repo)
    assert "follow-up: on enter won: start generator repurchase" in cli.ok("pipeline", "show", "sales")
    assert json.loads(cli.ok("pipeline", "show", "sales", "-f", "json"))["automation"][0]["generator"] == "repurchase"
    before = files(repo)
    rows = json.loads(cli.ok("deal", "move", deal_id, "won", "--dry-run", "-f", "json"))
    row = next(r for r in rows if r["action"] == "generator")
    assert row["rule"] == "sales/follow-up" and row["detail"].startswith("repurchase for ")
    assert "created deal" in row["detail"] and "Follow-up: Acme" in row["detail"]
    assert files(repo) == before


def test_unknown_scenarios_cycles_and_deletes_are_refused(cli, repo):
    setup(cli, repo)
    proc = rules(cli, repo, "- {id: x, stage: won, generator: repurchse}\n")
    assert proc.returncode == 1 and "generator 'repurchse' does not exist" in proc.stderr
    assert "did you mean 'repurchase'" in proc.stderr
    proc = rules(cli, repo, "- {id: x, stage: new, when: leave, generator: repurchase}\n")
    assert proc.returncode == 1 and "on leaving" in proc.stderr
    # a scenario whose deal enters the very stage that starts it would never stop
    proc = rules(cli, repo, "- {id: again, stage: new, generator: repurchase}\n", pipeline="service")
    assert proc.returncode == 1 and "cycle" in proc.stderr
    proc = cli("generator", "delete", "repurchase", "--yes")
    assert proc.returncode == 1 and "sales/follow-up" in proc.stderr
    # check reports a rule whose scenario went away by hand
    (repo / "generators" / "repurchase.yaml").unlink()
    proc = cli("check")
    assert proc.returncode == 1 and "generator 'repurchase' does not exist" in proc.stdout + proc.stderr


def test_a_scenario_without_a_deal_plans_its_activity_on_the_deal_itself(cli, repo):
    cli.ok("generator", "add", "Thank you", "--won-days-ago", "0..1", "--no-deal", "--activity-type", "task",
           "--activity-subject", "Send a thank-you card")
    assert rules(cli, repo, "- {id: thanks, stage: executing, generator: thank-you}\n").returncode == 0
    company = cli.ok("company", "add", "Acme").strip()
    deal_id = cli.ok("deal", "add", "Order", "--company", company).strip()
    cli.ok("deal", "move", deal_id, "executing")
    started = automation_events(load(repo, "deals", deal_id))[-1]["generator"]
    assert started["result"] == "planned" and "deal" not in started
    act = load(repo, "activities", started["activity"])
    assert act["deal"] == deal_id and act["subject"] == "Send a thank-you card"
    # a deal without a client starts nothing, and says so
    lone = cli.ok("deal", "add", "Lone").strip()
    cli.ok("deal", "move", lone, "executing")
    assert automation_events(load(repo, "deals", lone))[-1]["generator"]["result"] == "no client"
    assert cli.ok("check") == ""
