"""Stage automation: the rules of a pipeline (`automation:` in pipelines/<id>.yaml, model.Rule)
run when a deal enters or leaves a stage, inside the transaction of that change.

Every write path that changes a deal's stage saves it through Session.save_deal (add, move,
close, reopen, import, recurring and generator runs, the relocation of a deleted stage's deals),
which calls `fire` before the deal is staged. `fire` compares the stage as read with the stage
being written: leaving rules of the old stage run first, then entering rules of the new one, in
the order of the file. A rule may plan an activity (due N working days later), set or clear
fields, notify people (a task each, told by `dealcli remind`), copy the deal into a stage of
another pipeline or move it there (a tunnel: the new stage's rules run in turn), start a
sales-generator scenario for the deal's client (generators.start), and name a command to run
after commit. What a rule did is one `automation` history event naming the rule
(`pipeline/rule`); fields it changed get `changed` events carrying the rule too. A refused
action (a required field a tunnel's stage wants, an access right) refuses the whole change.

Idempotent: what a rule creates has an id derived from the deal, the rule and how many times the
rule fired on that deal before (ids.derived_id), written create-only; one already there is left
as it is. Saving a deal whose stage did not change fires nothing, so a re-run import or a
retried recurring run does nothing twice.

Commands: a rule's `run: NAME` is only a name. The command itself is read from the local,
uncommitted `.dealcli/local.yaml` (`automation: {commands: {NAME: "..."}}`) after the
transaction committed, never from the repository (as git never runs committed hooks). The
command line is split like a shell's and run without one, in the repository folder, with
DEALCLI_DEAL, DEALCLI_RULE, DEALCLI_EVENT (enter/leave), DEALCLI_STAGE and DEALCLI_PIPELINE set."""

from __future__ import annotations

import copy

from dealcli import ids, stage_rules, timeutil
from dealcli.errors import DealcliError, NotFound, RuleViolation, UsageError, Violation
from dealcli.model import Deal, Pipeline, Rule
from dealcli.i18n import Text, _

MAX_DEPTH = 8  # tunnels passing a deal on (cycles are refused by `pipeline edit`; this is the backstop)
LOCAL_CONFIG = "local.yaml"  # inside the repository's .dealcli/ (ignored by git)
RESPONSIBLE = "responsible"  # in `notify` and `activity.responsible`: the deal's responsible user


def fire(s, deal: Deal, doc) -> None:
    """Run the rules a save of `deal` triggers (`doc`: the deal as read, None for a new one)."""
    old = None
    if doc is not None and isinstance(doc.data, dict):
        old = (str(doc.data.get("pipeline")), str(doc.data.get("stage")))
    if old == (deal.pipeline, deal.stage):
        return
    _changed(s, deal, old, vars(s).get("_automation_depth", 0))


def log(s) -> list[dict]:
    """What the rules did in this Session, one row per action (for `deal move --dry-run`)."""
    return vars(s).setdefault("_automation_log", [])


def _pipeline(s, pipeline_id: str) -> Pipeline | None:
    try:
        return s.pipeline(pipeline_id)
    except DealcliError:  # a deal from a pipeline that is gone has nothing to leave
        return None


def _changed(s, deal: Deal, old: tuple[str, str] | None, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise RuleViolation([Violation("automation-cycle", Text("deal {deal_id}: tunnels passed it on more than "
                                            "{max_depth} times (a cycle? `dealcli check` lists it)",
                                                                deal_id=deal.id, max_depth=MAX_DEPTH), "automation",
                                       deal.stage)])
    rules: list[tuple[Pipeline, Rule]] = []
    if old is not None:
        before = _pipeline(s, old[0])
        if before is not None:
            rules += [(before, r) for r in before.automation if r.when == "leave" and r.stage == old[1]]
    now = _pipeline(s, deal.pipeline)
    if now is not None:
        rules += [(now, r) for r in now.automation if r.when == "enter" and r.stage == deal.stage]
    move = None
    for pipeline, rule in rules:
        move = _run(s, deal, pipeline, rule, depth) or move
    if move is not None:
        rule_key, target = move
        came = (deal.pipeline, deal.stage)
        into = s.pipeline(target.pipeline)
        t = stage_rules.transition(deal, s.pipeline(deal.pipeline), target.stage, "move",
                                   target=into if into.id != deal.pipeline else None, now=s.now,
                                   note={"rule": rule_key})
        _refuse(rule_key, t.violations)
        from dealcli import deals

        deals.apply_transition(s, deal, t)
        _changed(s, deal, came, depth + 1)


def _refuse(rule_key: str, violations: list[Violation]) -> None:
    if violations:
        for v in violations:
            v.message = f"rule {rule_key}: {v.message}"
        raise RuleViolation(violations)


def _fired(deal: Deal, key: str) -> int:
    return sum(1 for e in deal.history if isinstance(e, dict) and e.get("kind") == "automation"
               and e.get("rule") == key)


def _run(s, deal: Deal, pipeline: Pipeline, rule: Rule, depth: int):
    """Run one rule on `deal`; returns (rule key, target) when the rule moves the deal."""
    from dealcli import deals

    key = f"{pipeline.id}/{rule.id}"
    n = _fired(deal, key) + 1
    done: dict = {}
    rows = log(s)

    def note(action: str, detail) -> None:
        rows.append({"deal": deal.id, "rule": key, "when": rule.when, "stage": rule.stage, "action": action,
                     "detail": detail})

    if rule.sets or rule.clear:
        before = copy.deepcopy(deal)
        home = s.pipeline(deal.pipeline)
        for name, value in rule.sets.items():
            try:
                deals.apply_set(s, deal, home, str(name), _text(value))
            except DealcliError as exc:
                _refuse(key, [Violation("automation", f"set {name}: {exc.message}", str(name), value)])
        for name in rule.clear:
            try:
                deals.unset(deal, str(name))
            except DealcliError as exc:
                _refuse(key, [Violation("automation", f"clear {name}: {exc.message}", str(name), None)])
        deal.recompute_amount()
        _refuse(key, stage_rules.check_required(deal, home, deal.stage))
        changed = deals.diff_events(s, before, deal)
        for ev in changed:
            ev["rule"] = key
            note("set", f"{ev['field']}={_shown(ev.get('new'))}")
        if changed:
            done["changed"] = [ev["field"] for ev in changed]
    else:
        changed = []
    if rule.activity is not None:
        a = rule.activity
        who = deal.responsible if a.responsible in (None, "", RESPONSIBLE) else a.responsible
        due = timeutil.add_working_days(s.now, a.due_days).replace(microsecond=0)
        act_id = ids.derived_id(deal.id, key, str(n), "activity")
        plan_activity(s, act_id, deal, a.type, a.subject, due, who, a.description)
        done["activity"] = act_id
        note("activity", f"{act_id} {a.type} {a.subject!r} due {due.astimezone(s.tz):%Y-%m-%d %H:%M} for {who}")
    if rule.notify:
        stage = _pipeline(s, pipeline.id)
        verb = "entered" if rule.when == "enter" else "left"
        subject = f"Deal {deal.title!r} {verb} stage {stage_rules.stage_label(stage, rule.stage)!r}"
        made = []
        for k, user in enumerate(dict.fromkeys(rule.notify)):
            who = deal.responsible if user == RESPONSIBLE else user
            if not who:
                continue
            act_id = ids.derived_id(deal.id, key, str(n), "notify", str(k))
            plan_activity(s, act_id, deal, "task", subject, s.now.replace(microsecond=0), who,
                          f"Stage automation rule {key}.")
            made.append(who)
            note("notify", f"{who} ({act_id})")
        done["notified"] = made
    if rule.copy_to is not None:
        copy_id = ids.derived_id(deal.id, key, str(n), "copy")
        _copy(s, deal, rule.copy_to, copy_id, key, depth)
        done["copied_to"] = copy_id
        note("copy", f"{copy_id} -> {rule.copy_to.pipeline}/{rule.copy_to.stage}")
    if rule.generator:
        started = _start(s, deal, rule.generator, key, depth)
        done["generator"] = {k: v for k, v in vars(started).items() if v and k != "title"}
        started_ids = " ".join(f"{k} {v}" for k, v in (("deal", started.deal), ("activity", started.activity)) if v)
        note("generator", f"{started.scenario} for {started.client or 'nobody'}: {started.result}"
             + (f" {started_ids}" if started_ids else "") + (f" {started.title!r}" if started.deal else ""))
    if rule.run:
        vars(s).setdefault("_after_commit", []).append(
            {"name": rule.run, "rule": key, "deal": deal.id, "event": rule.when, "stage": rule.stage,
             "pipeline": pipeline.id})
        done["command"] = rule.run
        note("run", f"{rule.run} (after commit, if .dealcli/{LOCAL_CONFIG} defines it)")
    if rule.move_to is not None:
        done["moved_to"] = f"{rule.move_to.pipeline}/{rule.move_to.stage}"
        note("move", done["moved_to"])
    from dealcli.deals import event

    deal.history.append(event(s, "automation", rule=key, when=rule.when, stage=rule.stage, **done))
    deal.history.extend(changed)
    return (key, rule.move_to) if rule.move_to is not None else None


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _shown(value) -> str:
    return "" if value is None else str(value)


def plan_activity(s, act_id: str, deal: Deal, type_: str, subject: str, due, who, description) -> None:
    """Create an activity unless it is there already (a rule that fired before)."""
    from dealcli.model.activity import Activity

    if s.repo.exists("activities", act_id):
        return
    details = {"description": description} if description else None
    act = Activity.new(id=act_id, deal=deal.id, type=type_, subject=" ".join(subject.split())[:500], due=due,
                       responsible=who or s.user, created=s.now, created_by=s.user, details=details)
    s.repo.create("activities", act.id, act.validated())
    vars(s).get("_pending_known", {}).pop(deal.id, None)


def _start(s, deal: Deal, scenario_id: str, key: str, depth: int):
    """Start a generator scenario for the deal's client (generators.start), once per deal and
    rule: a rule that started it on an earlier entry starts nothing; the new deal's own stage
    rules run in turn."""
    from dealcli import generators

    before: list[dict] = [e["generator"] for e in deal.history if isinstance(e, dict) and e.get("kind") == "automation"
                          and e.get("rule") == key and isinstance(e.get("generator"), dict)]
    if any(b.get("result") in ("created", "planned", "exists") for b in before):
        return generators.Started(scenario_id, "started before", before[-1].get("client"), before[-1].get("deal"),
                                  before[-1].get("activity"))
    outer = vars(s).get("_automation_depth", 0)
    vars(s)["_automation_depth"] = depth + 1
    try:
        return generators.start(s, scenario_id, deal, key)
    except (NotFound, UsageError) as exc:  # the scenario is gone, or its deal does not fit: a refused action
        _refuse(key, [Violation("automation", f"generator {scenario_id}: {exc.message}", "generator", scenario_id)])
        raise
    finally:
        vars(s)["_automation_depth"] = outer


def _copy(s, deal: Deal, target, copy_id: str, key: str, depth: int) -> None:
    """A copy of `deal` entering `target` (its own rules run in turn); nothing if made before."""
    if s.repo.exists("deals", copy_id):
        return
    into = s.pipeline(target.pipeline)
    new = copy.deepcopy(deal)
    new.id, new.pipeline, new.stage, new.status = copy_id, into.id, "", "open"
    new.history, new.comments = [], []
    new.closed_at, new.lost_reason, new.probability = None, None, None
    new.created, new.modified, new.created_by = s.now, s.now, s.user
    new.begin, new.close_date = s.now.date(), None
    new.extra = {k: v for k, v in new.extra.items() if k not in ("conflicts",)}
    new.extra["copied_from"] = deal.id
    t = stage_rules.transition(new, into, target.stage, "create", now=s.now,
                               note={"via": "automation", "rule": key, "from_deal": deal.id})
    _refuse(key, t.violations)
    from dealcli import deals

    deals.apply_transition(s, new, t)
    outer = vars(s).get("_automation_depth", 0)
    vars(s)["_automation_depth"] = depth + 1
    try:
        s.save_deal(new, None)
    finally:
        vars(s)["_automation_depth"] = outer


# -- after commit: commands named by rules, defined only locally ------------------------------------
def local_commands(s) -> dict[str, str]:
    """NAME -> command line from .dealcli/local.yaml (`automation: {commands: {...}}`); nothing
    when the file is tracked by git (then it is the repository's, not this machine's)."""
    from dealcli.storage import yamlcodec

    path = s.repo.cache_dir / LOCAL_CONFIG
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    if _tracked(s.repo.root, path):
        s.notice(_(".dealcli/{local_config} is tracked by git: its commands are not run (keep it local)").format(
            local_config=LOCAL_CONFIG))
        return {}
    data = yamlcodec.loads(raw, f".dealcli/{LOCAL_CONFIG}")
    part = data.get("automation") if isinstance(data, dict) else None
    found = part.get("commands") if isinstance(part, dict) else None
    return {str(k): str(v) for k, v in found.items() if v} if isinstance(found, dict) else {}


def _tracked(root, path) -> bool:
    import subprocess

    try:
        out = subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=root, capture_output=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


def run_after_commit(s) -> None:
    """Run the commands the committed rules named (each once per rule and deal), if defined
    locally; a missing definition or a failing command is a notice, never an error: the
    change is committed already."""
    queued = vars(s).pop("_after_commit", [])
    if not queued:
        return
    import os
    import shlex
    import subprocess

    commands = local_commands(s)
    for job in {(j["name"], j["rule"], j["deal"]): j for j in queued}.values():
        line = commands.get(job["name"])
        if not line:
            s.notice(_("rule {job_rule}: command {job_name!r} is not defined in .dealcli/{local_config}; "
                     "not run").format(job_rule=job['rule'], job_name=job['name'], local_config=LOCAL_CONFIG))
            continue
        env = dict(os.environ, DEALCLI_DEAL=job["deal"], DEALCLI_RULE=job["rule"], DEALCLI_EVENT=job["event"],
                   DEALCLI_STAGE=job["stage"], DEALCLI_PIPELINE=job["pipeline"])
        try:
            done = subprocess.run(shlex.split(line), cwd=s.repo.root, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=300)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            s.notice(_("rule {job_rule}: command {job_name!r} did not run: {exc}").format(
                job_rule=job['rule'], job_name=job['name'], exc=exc))
            continue
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            s.notice(f"rule {job['rule']}: command {job['name']!r} exited {done.returncode} {tail[0]}".rstrip())


# -- pipeline show --------------------------------------------------------------------------------
def describe(rule: Rule) -> str:
    """One line saying what a rule does (pipeline show)."""
    parts = []
    if rule.activity is not None:
        a = rule.activity
        parts.append(f"{a.type} {a.subject!r} due in {a.due_days} working day(s)"
                     + (f" for {a.responsible}" if a.responsible else ""))
    if rule.sets:
        parts.append("set " + ", ".join(f"{k}={_text(v)}" for k, v in rule.sets.items()))
    if rule.clear:
        parts.append("clear " + ", ".join(rule.clear))
    if rule.notify:
        parts.append("notify " + ", ".join(rule.notify))
    if rule.copy_to is not None:
        parts.append(f"copy to {rule.copy_to.pipeline}/{rule.copy_to.stage}")
    if rule.move_to is not None:
        parts.append(f"move to {rule.move_to.pipeline}/{rule.move_to.stage}")
    if rule.generator:
        parts.append(f"start generator {rule.generator}")
    if rule.run:
        parts.append(f"run {rule.run} (local)")
    return "; ".join(parts)


def rows(pipeline: Pipeline) -> list[dict]:
    return [{"pipeline": pipeline.id, "rule": r.id, "when": r.when, "stage": r.stage, "does": describe(r)}
            for r in pipeline.automation]
