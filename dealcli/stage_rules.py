"""THE stage-rule module: the only code that decides whether a change to a deal is allowed.

Every write path (add, edit, move, close, reopen, import, pipeline edit, check) asks these pure
functions, which return a list of Violations (rule, field, value, message) instead of raising;
the caller refuses the change when the list is not empty. Nothing here touches the disk.

Rules
- stage-exists: a deal's stage is a stage of its pipeline.
- closed-deal: a closed (won/lost) deal cannot be moved or edited until reopened; comments are
  always allowed.
- success-closes / failure-closes: entering the success stage means won, a failure stage lost;
  the status always agrees with the stage's semantics.
- required-field: a field the pipeline requires from stage S on must be filled when the deal
  enters S or any later process stage, or the success stage (closing won included). Failure
  stages are exempt: a lost deal need not carry the contract number.
- lost-reason: when the pipeline sets `lost_reason_required`, closing lost needs a reason.
- field-type: custom values fit the deal card of the pipeline (cards.py knows the types).
- pipeline edits: ids unique slugs, colours #RRGGBB, one success stage that cannot be deleted,
  process stages before it and failures after, requirements start at a process stage or the
  success stage, a well-formed card, and no deal left in a removed stage or in a stage whose
  semantics changed (check_stage_delete, check_pipeline_change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dealcli import cards
from dealcli.errors import Violation
from dealcli.i18n import N_, Text
from dealcli.ids import is_slug
from dealcli.model import Deal, Pipeline, Stage

STATUS_OF = {"process": "open", "success": "won", "failure": "lost"}  # stage semantics -> status
SEMANTICS_OF = {status: semantics for semantics, status in STATUS_OF.items()}
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

# The transition table: (verb, status before, status after) -> the event it records. A change of
# stage or status that is not in this table is refused. `create` has no status before;
# `relocate` is a deal carried along when its stage is deleted (same semantics only); `import`
# is an upsert by --key, which may move an open deal anywhere but never a closed one.
TRANSITIONS = {
    ("create", None, "open"): "created", ("create", None, "won"): "created",
    ("create", None, "lost"): "created",
    ("move", "open", "open"): "moved", ("move", "open", "won"): "closed", ("move", "open", "lost"): "closed",
    ("import", "open", "open"): "moved", ("import", "open", "won"): "closed",
    ("import", "open", "lost"): "closed",
    ("close", "open", "won"): "closed", ("close", "open", "lost"): "closed",
    ("reopen", "won", "open"): "reopened", ("reopen", "lost", "open"): "reopened",
    ("relocate", "open", "open"): "moved", ("relocate", "won", "won"): "moved",
    ("relocate", "lost", "lost"): "moved",
}


def status_for(stage: Stage) -> str:
    return STATUS_OF[stage.semantics]


@dataclass
class Transition:
    """What a stage change does, as data: refusals, the field values it sets and the history
    events (kind, data) it records. The core applies it (deals.apply_transition)."""

    violations: list[Violation] = field(default_factory=list)
    changes: dict = field(default_factory=dict)
    events: list[tuple[str, dict]] = field(default_factory=list)


def transition(deal: Deal, pipeline: Pipeline, stage_id: str | None, verb: str, *, now=None,
               reason: str | None = None, won: bool | None = None, target: Pipeline | None = None,
               closed_at=None, note: dict | None = None) -> Transition:
    """THE function deciding every stage or status change of a deal.

    verb: create (a new deal entering `stage_id`), move (to `stage_id`, in `target` pipeline if
    given), close (won=True/False; `stage_id` picks the failure stage), reopen (back to
    `stage_id`, default the last process stage it was in), import (an upsert moving an open
    deal), relocate (its stage was deleted: carried to `stage_id` of the same semantics).
    `note` adds data to the event (why a deal moved, what created it)."""
    t = Transition()
    into = target or pipeline
    stage_id = resolve_stage(into, stage_id)
    before = None if verb == "create" else deal.status
    if verb in ("move", "close", "import") and deal.is_closed:
        action = {"import": "import a new stage for", "close": "close"}.get(verb, "move")
        t.violations = check_open(deal, action)
        return t
    if verb == "close":
        stage_id, t.violations = close_stage(pipeline, bool(won), stage_id)
        if t.violations:
            return t
    if verb == "reopen":
        stage_id = stage_id or last_open_stage(deal, pipeline)
        t.violations = check_reopen(deal, pipeline, stage_id)
        if t.violations:
            return t
    t.violations = stage_exists(into, stage_id)
    if t.violations:
        return t
    stage = into.known(stage_id)
    after = status_for(stage)
    kind = TRANSITIONS.get((verb, before, after))
    if kind is None:
        t.violations = [Violation("transition", Text("deal {deal_id}: {verb} from {before_or_nothing} to {after} "
                                       "(stage {stage_id!r}) is not allowed", deal_id=deal.id,
                                                     verb=verb,
                                                     before_or_nothing=before or 'nothing',
                                                     after=after, stage_id=stage_id), "stage", stage_id)]
        return t
    if verb in ("create", "move", "close", "import") or (verb == "relocate" and after == "open"):
        t.violations = check_enter(deal, into, stage.id, reason if verb != "relocate" else "")
        if verb == "relocate":
            t.violations = [v for v in t.violations if v.rule != "lost-reason"]
        if t.violations:
            return t
    note = dict(note or {})
    if target is not None and target.id != deal.pipeline:
        t.changes["pipeline"] = target.id
        t.events.append(("pipeline_changed", {"from": deal.pipeline, "to": target.id}))
    t.changes["stage"] = stage_id
    t.changes["status"] = after
    if stage.probability is not None and (after == "open" or verb != "relocate") and verb != "create":
        t.changes["probability"] = stage.probability
    if verb == "create":
        if deal.probability is None and stage.probability is not None:
            t.changes["probability"] = stage.probability
        t.events.append(("created", {"stage": stage_id, "pipeline": into.id, **note}))
        if after != "open":
            t.changes["closed_at"] = closed_at or now
        return t
    if verb == "reopen":
        t.changes["closed_at"] = None
        t.events.append(("reopened", {"from": deal.stage, "to": stage_id}))
        return t
    if stage_id != deal.stage:
        t.events.append(("moved", {"from": deal.stage, "to": stage_id, **note}))
    if before == "open" and after != "open":
        t.changes["closed_at"] = closed_at or now
        data = {"status": after, "stage": stage_id}
        if reason:
            t.changes["lost_reason"] = reason
            data["reason"] = reason
        t.events.append(("closed", data))
    return t


def stage_for_status(pipeline: Pipeline, stage: Stage | None, status: str | None) -> tuple[Stage | None, str | None]:
    """The stage a record lands in when its source names a stage and/or a status (import):
    a status that the named stage contradicts picks the success stage (won) or the first
    failure stage (lost); no stage at all means the first stage. Returns (stage, problem)."""
    if status in ("won", "lost"):
        if stage is None or status_for(stage) != status:
            stage = pipeline.success if status == "won" else (pipeline.failures[0] if pipeline.failures else None)
            if stage is None:
                return None, f"pipeline {pipeline.id!r} has no {status} stage"
    elif status == "open" and stage is not None and status_for(stage) != "open":
        return None, "the status says open but this stage closes the deal"
    return stage or pipeline.first, None


def entry_stage(pipeline: Pipeline, requested: str | None) -> str:
    """The stage a new deal starts in: the one asked for, else the pipeline's first."""
    return resolve_stage(pipeline, requested) or pipeline.first.id


def last_open_stage(deal: Deal, pipeline: Pipeline) -> str:
    """The process stage a deal was in before it closed (from its history), else the first."""
    for ev in reversed(deal.history):
        if ev.get("kind") == "moved":
            stage = pipeline.stage(str(ev.get("from")))
            if stage is not None and stage.semantics == "process":
                return stage.id
    return pipeline.first.id


# -- repeat deals: one rule, used by add, edit, import, recurring and the index cache ----------------
def repeat_keys(record) -> list[tuple[str, str]]:
    """The client keys a stored deal (a mapping as read from its file) offers to repeat-deal
    detection: a won deal's company and contacts."""
    if not hasattr(record, "get") or record.get("status") != "won":
        return []
    out = []
    company = record.get("company")
    if isinstance(company, str) and company:
        out.append(("won_company", company))
    contacts = record.get("contacts")
    for c in contacts if isinstance(contacts, list) else ():
        if isinstance(c, str) and c:
            out.append(("won_contact", c))
    return out


def repeat_wanted(company: str | None, contacts: list[str]) -> list[tuple[str, str]]:
    """The keys that make a deal of this client a repeat deal (what repeat_keys of a won deal
    of the same company or contact gives)."""
    return ([("won_company", company)] if company else []) + [("won_contact", c) for c in contacts]


def is_repeat(company: str | None, contacts: list[str], won: set) -> bool:
    """A deal is a repeat deal when its company or one of its contacts already has a won deal
    (`won`: the repeat_keys of the won deals known)."""
    return any(k in won for k in repeat_wanted(company, contacts))


def resolve_stage(pipeline: Pipeline, ref: str | None) -> str | None:
    """The id of the stage `ref` names: its id or its name, case-insensitive. An unknown ref
    comes back unchanged (stage_exists then refuses it with a "did you mean")."""
    if ref is None or pipeline.stage(ref) is not None:
        return ref
    low = str(ref).strip().lower()
    for st in pipeline.stages:
        if st.id.lower() == low:
            return st.id
    for st in pipeline.stages:
        if (st.name or "").strip().lower() == low:
            return st.id
    return ref


def stage_hint(pipeline: Pipeline, ref: str) -> str:
    """' (did you mean ...?)' for a stage typed `ref`, in the form it was typed: a name for a
    name (`Preparing documnts` -> 'Preparing documents'), an id for an id."""
    return suggest_stage([pipeline], ref)


def suggest_stage(pipelines, ref: str) -> str:
    """stage_hint over the stages of several pipelines (the filter's stage=)."""
    from dealcli.suggest import close_matches

    forms: dict[str, str] = {}  # id or name -> the stage id it names
    for p in pipelines:
        for st in p.stages:
            forms.setdefault(st.id, st.id)
            if st.name:
                forms.setdefault(st.name, st.id)
    found, seen = [], set()
    for match in close_matches(ref, forms):
        if forms[match] not in seen:
            seen.add(forms[match])
            found.append(match)
    return f" (did you mean {' or '.join(repr(f) for f in found)}?)" if found else ""


def stage_label(pipeline: Pipeline | None, stage_id: str | None) -> str:
    """How every view shows a stage: its name (the id when the pipeline does not know it)."""
    st = pipeline.stage(str(stage_id)) if pipeline is not None and stage_id is not None else None
    return (st.name or st.id) if st is not None else str(stage_id or "")


def stage_exists(pipeline: Pipeline, stage_id: str | None) -> list[Violation]:
    if pipeline.stage(stage_id) is None:
        names = ", ".join(s.id for s in pipeline.stages)
        return [Violation("stage-exists", Text("stage {stage_id!r} is not in pipeline {pipeline_id!r}"
                               "{stage_id2} (stages: {names})", stage_id=stage_id,
                                               pipeline_id=pipeline.id,
                                               stage_id2=stage_hint(pipeline, str(stage_id)),
                                               names=names), "stage", stage_id)]
    return []


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def field_value(deal: Deal, name: str):
    """A deal field by name: a known field, `fields.X`, or a custom field X. The amount counts
    only when it was set (by hand or by product rows): a never-set amount is stored as 0.00."""
    if name == "amount" and not deal.manual_amount and not deal.products:
        return None
    if name.startswith("fields."):
        return deal.fields.get(name[7:])
    if name in deal.__dataclass_fields__ and name not in ("extra", "fields"):
        return getattr(deal, name)
    if name in deal.fields:
        return deal.fields[name]
    return deal.extra.get(name)


def requirements(pipeline: Pipeline) -> list[dict]:
    return [r for r in (pipeline.rules.get("require") or []) if isinstance(r, dict)]


def required_fields(pipeline: Pipeline, stage_id: str) -> list[str]:
    """Fields required in `stage_id`: those required from any stage at or before it. Failure
    stages require nothing; the success stage inherits every process-stage requirement."""
    target = pipeline.stage(stage_id)
    if target is None or target.semantics == "failure":
        return []
    at = pipeline.index(stage_id)
    out = []
    for rule in requirements(pipeline):
        start = pipeline.index(str(rule.get("from_stage")))
        if start != -1 and start <= at and rule.get("field") and rule["field"] not in out:
            out.append(str(rule["field"]))
    return out


def check_required(deal: Deal, pipeline: Pipeline, stage_id: str) -> list[Violation]:
    out = []
    for name in required_fields(pipeline, stage_id):
        if is_empty(field_value(deal, name)):
            out.append(Violation("required-field", Text("field {name!r} is required from stage "
                                      "{from_stage_pipeline_nam!r} on (deal {deal_id} entering "
                                      "{stage_id!r})", name=name,
                                                        from_stage_pipeline_nam=_from_stage(pipeline, name),
                                                        deal_id=deal.id, stage_id=stage_id), name, None))
    return out


def _from_stage(pipeline: Pipeline, name: str) -> str:
    for rule in requirements(pipeline):
        if rule.get("field") == name:
            return str(rule.get("from_stage"))
    return "?"


def check_open(deal: Deal, action: str) -> list[Violation]:
    if deal.is_closed:
        return [Violation("closed-deal", Text("deal {deal_id} is closed ({deal_status}); reopen it "
                               "before you {action} it (`dealcli deal reopen {deal_id}`)",
                                              deal_id=deal.id, deal_status=deal.status,
                                              action=action), "status", deal.status)]
    return []


def check_enter(deal: Deal, pipeline: Pipeline, stage_id: str | None, reason: str | None = None) -> list[Violation]:
    """May `deal` (already carrying its new field values) enter `stage_id` of `pipeline`?"""
    out = stage_exists(pipeline, stage_id)
    if out:
        return out
    stage = pipeline.known(stage_id)
    out += check_required(deal, pipeline, stage.id)
    if stage.semantics == "failure" and pipeline.rules.get("lost_reason_required") \
            and is_empty(reason if reason is not None else deal.lost_reason):
        out.append(Violation.of("lost-reason", "reason", N_("pipeline {pipeline!r} requires a reason to close a "
                                "deal lost ({0} TEXT)"), "lost_reason", None, pipeline=pipeline.id))
    return out


def check_move(deal: Deal, pipeline: Pipeline, stage_id: str) -> list[Violation]:
    return check_open(deal, "move") or check_enter(deal, pipeline, stage_id)


def check_edit(before: Deal, after: Deal, pipeline: Pipeline) -> list[Violation]:
    return check_open(before, "edit") or check_required(after, pipeline, after.stage)


def close_stage(pipeline: Pipeline, won: bool, stage_id: str | None) -> tuple[str | None, list[Violation]]:
    """Which stage a close lands in: the success stage when won, else the given failure stage
    (default: the first one)."""
    if won:
        if stage_id is not None:
            return None, [Violation.of("close-stage", "stage", N_("{0} is for closing lost (a failure stage); "
                                       "won always lands in the success stage"), "stage", stage_id)]
        success = pipeline.success
        if success is None:
            return None, [Violation("pipeline-invariant", Text("pipeline {pipeline_id!r} has no success stage",
                                                               pipeline_id=pipeline.id),
                                    "stages", None)]
        return success.id, []
    failures = pipeline.failures
    if stage_id is None:
        if not failures:
            return None, [Violation("pipeline-invariant", Text("pipeline {pipeline_id!r} has no failure stage",
                                                               pipeline_id=pipeline.id),
                                    "stages", None)]
        return failures[0].id, []
    bad = stage_exists(pipeline, stage_id)
    if bad:
        return None, bad
    if pipeline.known(stage_id).semantics != "failure":
        return None, [Violation("close-stage", Text("stage {stage_id!r} is not a failure stage of pipeline "
                                     "{pipeline_id!r} (failure stages: {failures})", stage_id=stage_id,
                                                    pipeline_id=pipeline.id,
                                                    failures=', '.join((s.id for s in failures))),
                                "stage", stage_id)]
    return stage_id, []


def check_close(deal: Deal, pipeline: Pipeline, won: bool, stage_id: str | None,
                reason: str | None) -> tuple[str | None, list[Violation]]:
    closed = check_open(deal, "close")
    if closed:
        return None, closed
    target, bad = close_stage(pipeline, won, stage_id)
    if bad:
        return None, bad
    return target, check_enter(deal, pipeline, target, reason)


def check_reopen(deal: Deal, pipeline: Pipeline, stage_id: str) -> list[Violation]:
    if not deal.is_closed:
        return [Violation("not-closed", Text("deal {deal_id} is open; only a closed deal can be reopened",
                                             deal_id=deal.id),
                          "status", deal.status)]
    out = stage_exists(pipeline, stage_id)
    if out:
        return out
    if pipeline.known(stage_id).semantics != "process":
        return [Violation("reopen-stage", Text("stage {stage_id!r} is not a process stage; a reopened deal "
                               "goes back to a process stage", stage_id=stage_id), "stage", stage_id)]
    return check_required(deal, pipeline, stage_id)


def validate_deal(deal: Deal, pipelines: dict[str, Pipeline]) -> list[Violation]:
    """Consistency of a stored deal (used by `check` and import)."""
    pipeline = pipelines.get(deal.pipeline)
    if pipeline is None:
        return [Violation("pipeline-exists", Text("pipeline {deal_pipeline!r} does not exist",
                                                  deal_pipeline=deal.pipeline), "pipeline",
                          deal.pipeline)]
    out = stage_exists(pipeline, deal.stage)
    if out:
        return out
    expected = status_for(pipeline.known(deal.stage))
    if deal.status != expected:
        out.append(Violation("status-stage", Text("status {deal_status!r} does not match stage {deal_stage!r} "
                                  "({semantics} stage means {expected!r})", deal_status=deal.status,
                                                  deal_stage=deal.stage,
                                                  semantics=pipeline.known(deal.stage).semantics, expected=expected),
                             "status", deal.status))
    out += check_required(deal, pipeline, deal.stage)
    if deal.status == "lost" and pipeline.rules.get("lost_reason_required") and is_empty(deal.lost_reason):
        out.append(Violation("lost-reason", Text("pipeline {pipeline_id!r} requires a lost reason",
                                                 pipeline_id=pipeline.id), "lost_reason",
                             None))
    out += check_fields(deal, pipeline)
    return out


def validate_pipeline(pipeline: Pipeline) -> list[Violation]:
    """Invariants of a pipeline, as the reference CRM orders stages: unique ids, at least one
    process stage, exactly one success stage, process stages before it, failure stages after."""
    out: list[Violation] = []
    seen: set[str] = set()
    for s in pipeline.stages:
        if s.id in seen:
            out.append(Violation("stage-unique", Text("stage id {s_id!r} appears twice", s_id=s.id), "stages", s.id))
        seen.add(s.id)
    kinds = [s.semantics for s in pipeline.stages]
    if "process" not in kinds:
        out.append(Violation("pipeline-invariant", Text("a pipeline needs at least one process stage"), "stages"))
    successes = kinds.count("success")
    if successes != 1:
        out.append(Violation("pipeline-invariant", Text("a pipeline needs exactly one success stage, found "
                                  "{successes}", successes=successes), "stages"))
    elif out == []:
        at = kinds.index("success")
        if any(k != "process" for k in kinds[:at]):
            bad = next(s.id for s in pipeline.stages[:at] if s.semantics != "process")
            out.append(Violation("pipeline-invariant", Text("process stages must come before the success stage "
                                      "(failure stage {bad!r} is before it)", bad=bad), "stages", bad))
        if any(k != "failure" for k in kinds[at + 1:]):
            bad = next(s.id for s in pipeline.stages[at + 1:] if s.semantics != "failure")
            out.append(Violation("pipeline-invariant", Text("failure stages must come after the success stage "
                                      "(process stage {bad!r} is after it)", bad=bad), "stages", bad))
    for rule in requirements(pipeline):
        if pipeline.stage(str(rule.get("from_stage"))) is None:
            out.append(Violation("require-stage", Text("requirement of {rule_get_field!r} names unknown stage "
                                      "{rule_get_from_stage!r}",
                                                       rule_get_field=rule.get('field'),
                                                       rule_get_from_stage=rule.get('from_stage')),
                                                  "rules", rule.get("from_stage")))
    out += validate_pipeline_more(pipeline)
    return out


# -- pipeline edits ----------------------------------------------------------------------------------
def validate_pipeline_more(pipeline: Pipeline) -> list[Violation]:
    """What a pipeline edit must also respect: stage ids are slugs, colours are #RRGGBB, a
    requirement starts at a process or the success stage, and the deal card is well-formed."""
    out: list[Violation] = []
    if not is_slug(pipeline.id):
        out.append(Violation("pipeline-id", Text("pipeline id {pipeline_id!r} must be lower-case letters, digits, "
                                  "_ or - (at most 64)", pipeline_id=pipeline.id), "id", pipeline.id))
    for i, s in enumerate(pipeline.stages):
        if not is_slug(s.id):
            out.append(Violation("stage-id", Text("stage id {s_id!r} must be lower-case letters, digits, _ or - "
                                      "(at most 64)", s_id=s.id), f"stages.{i}.id", s.id))
        if s.color is not None and not COLOR.match(s.color):
            out.append(Violation("stage-color", Text("stage {s_id!r}: colour {s_color!r} is not #RRGGBB", s_id=s.id,
                                                     s_color=s.color),
                                 f"stages.{i}.color", s.color))
    for rule in requirements(pipeline):
        stage = pipeline.stage(str(rule.get("from_stage")))
        if stage is not None and stage.semantics == "failure":
            out.append(Violation("require-stage", Text("requirement of {rule_get_field!r} starts at failure stage "
                                      "{stage_id!r}; failure stages require nothing (name a process stage)",
                                                       rule_get_field=rule.get('field'), stage_id=stage.id),
                                 "rules", stage.id))
    lost = pipeline.rules.get("lost_reason_required")
    if lost is not None and not isinstance(lost, bool):
        out.append(Violation("rules", Text("lost_reason_required must be true or false, got {lost!r}", lost=lost),
                             "rules.lost_reason_required", lost))
    out += cards.card_violations(pipeline)
    out += automation_violations(pipeline)
    return out


def check_stage_delete(pipeline: Pipeline, stage_id: str, target: str | None, holding: int,
                       after: Pipeline) -> list[Violation]:
    """May `stage_id` be deleted from `pipeline` (`after` = the pipeline once edited), with
    `holding` deals in it moved to `target`? The success stage never; a stage holding deals
    only with a target stage of the same semantics (so no deal changes status)."""
    out = stage_exists(pipeline, stage_id)
    if out:
        return out
    stage = pipeline.known(stage_id)
    if stage.semantics == "success":
        return [Violation("stage-delete", Text("stage {stage_id!r} is the success stage of pipeline {pipeline_id!r}; "
                               "it cannot be deleted", stage_id=stage_id, pipeline_id=pipeline.id), "stage", stage_id)]
    if target is None:
        if holding:
            return [Violation.of("stage-delete", "move_deals_to", N_("stage {stage!r} holds {n} deal(s); add {0} "
                                 "STAGE to move them first"), "stage", stage_id, stage=stage_id, n=holding)]
        return []
    if target == stage_id:
        return [Violation.of("stage-delete", "move_deals_to", N_("{0} {target!r} is the stage being deleted"), "stage",
                             target, target=target)]
    out = stage_exists(after, target)
    if out:
        return out
    if after.known(target).semantics != stage.semantics:
        return [Violation.of("stage-delete", "move_deals_to", N_("{0} {target!r} is a {kind} stage but {stage!r} is a "
                             "{was} stage; moved deals must keep their status"), "stage", target, target=target,
                             kind=after.known(target).semantics, stage=stage_id, was=stage.semantics)]
    return []


def check_pipeline_change(before: Pipeline, after: Pipeline, holding: dict[str, int]) -> list[Violation]:
    """Deals must not be left behind by an edit: a stage that still holds deals (`holding`:
    stage id -> number of deals, after any moves) may be neither removed nor change semantics."""
    out: list[Violation] = []
    for stage in before.stages:
        n = holding.get(stage.id, 0)
        if not n:
            continue
        now = after.stage(stage.id)
        if now is None:
            out.append(Violation("stage-delete", Text("stage {stage_id!r} would be removed but holds {n} deal(s); "
                                      "use `dealcli pipeline edit {before_id} --delete-stage {stage_id} "
                                      "--move-deals-to STAGE`", stage_id=stage.id, n=n,
                                                      before_id=before.id), "stages", stage.id))
        elif now.semantics != stage.semantics:
            out.append(Violation("stage-semantics", Text("stage {stage_id!r} holds {n} deal(s) and cannot change "
                                      "from {stage_semantics} to {now_semantics}",
                                                         stage_id=stage.id, n=n,
                                                         stage_semantics=stage.semantics,
                                                         now_semantics=now.semantics), "stages", stage.id))
    return out


def check_fields(deal: Deal, pipeline: Pipeline) -> list[Violation]:
    """Custom values of a stored deal that break the deal card of its pipeline."""
    return [Violation("field-type", Text("field {name!r}: {problem} (card of pipeline {pipeline_id!r})", name=name,
                                         problem=problem, pipeline_id=pipeline.id),
                      f"fields.{name}", deal.fields.get(name))
            for name, problem in cards.check_values(pipeline, deal.fields)]


# -- stage automation (dealcli/automation.py runs it; these rules decide what a pipeline may say) ----
def automation_violations(pipeline: Pipeline) -> list[Violation]:
    """The rules of one pipeline: unique ids, a stage of the pipeline, at least one action, no
    move out of a closed stage (a closed deal is not moved: copy it) nor on leaving (the deal is
    already going somewhere), one move per stage."""
    out: list[Violation] = []
    seen: set[str] = set()
    moves: set[str] = set()
    for i, rule in enumerate(pipeline.automation):
        where = f"automation.{i}"
        if not is_slug(rule.id) or len(rule.id) > 40:
            out.append(Violation("automation", Text("rule id {rule_id!r} must be lower-case letters, digits, _ or - "
                                      "(at most 40)", rule_id=rule.id), f"{where}.id", rule.id))
        if rule.id in seen:
            out.append(Violation("automation", Text("rule id {rule_id!r} appears twice",
                                                    rule_id=rule.id), f"{where}.id", rule.id))
        seen.add(rule.id)
        stage = pipeline.stage(rule.stage)
        if stage is None:
            out.append(Violation("automation", Text("rule {rule_id!r}: stage {rule_stage!r} is not in pipeline "
                                      "{pipeline_id!r}{stage}", rule_id=rule.id,
                                                    rule_stage=rule.stage,
                                                    pipeline_id=pipeline.id,
                                                    stage=stage_hint(pipeline, rule.stage)),
                                               f"{where}.stage", rule.stage))
            continue
        if not (rule.activity or rule.sets or rule.clear or rule.notify or rule.copy_to or rule.move_to
                or rule.generator or rule.run):
            out.append(Violation("automation", Text("rule {rule_id!r} does nothing (give activity, set, clear, notify, "
                                      "copy_to, move_to, generator or run)", rule_id=rule.id), where, rule.id))
        if rule.generator and rule.when != "enter":
            out.append(Violation("automation", Text("rule {rule_id!r}: generator on leaving a stage (a scenario starts "
                                      "when a deal enters one)",
                                                    rule_id=rule.id), f"{where}.generator", rule.generator))
        if rule.move_to is not None:
            if rule.copy_to is not None:
                out.append(Violation("automation", Text("rule {rule_id!r}: copy_to and move_to in one rule (make two "
                                          "rules)", rule_id=rule.id), f"{where}.move_to", None))
            if rule.when == "leave":
                out.append(Violation("automation", Text("rule {rule_id!r}: move_to on leaving a stage (the deal is "
                                          "already going elsewhere; use copy_to)",
                                                        rule_id=rule.id), f"{where}.move_to", None))
            elif stage.semantics != "process":
                out.append(Violation("automation", Text("rule {rule_id!r}: move_to from {stage_semantics} stage "
                                          "{stage_id!r} (a closed deal is not moved; use copy_to)",
                                                        rule_id=rule.id,
                                                        stage_semantics=stage.semantics,
                                                        stage_id=stage.id), f"{where}.move_to",
                                     None))
            elif stage.id in moves:
                out.append(Violation("automation", Text("rule {rule_id!r}: a second move_to on entering {stage_id!r}",
                                                        rule_id=rule.id, stage_id=stage.id),
                                     f"{where}.move_to", None))
            moves.add(stage.id)
    return out


def tunnel_violations(pipelines: dict[str, Pipeline],
                      scenarios: dict[str, tuple[str, str] | None] | None = None) -> list[Violation]:
    return [v for _, v in tunnel_problems(pipelines, scenarios)]


def tunnel_problems(pipelines: dict[str, Pipeline],
                    scenarios: dict[str, tuple[str, str] | None] | None = None) -> list[tuple[str, Violation]]:
    """Tunnels across pipelines, as (pipeline id, Violation): every copy_to/move_to names a stage
    that exists, and no chain of tunnels comes back to where it started (it would never stop).
    `scenarios` (generator id -> the (pipeline, stage) its deal enters, None without a deal), when
    given: every rule's `generator` names one of them, and the stage its deal enters is a step
    of the chain too (a scenario started there that starts itself again would never stop)."""
    from dealcli.suggest import hint

    out: list[tuple[str, Violation]] = []
    edges: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for p in pipelines.values():
        for i, rule in enumerate(p.automation):
            if rule.generator and scenarios is not None:
                entry = scenarios.get(rule.generator)
                if rule.generator not in scenarios:
                    out.append((p.id, Violation("automation", Text("rule {rule_id!r} of pipeline {p_id!r}: generator "
                                                     "{rule_generator!r} does not exist{scenarios}", rule_id=rule.id,
                                                                   p_id=p.id, rule_generator=rule.generator,
                                                                   scenarios=hint(rule.generator, scenarios)),
                                                f"automation.{i}.generator", rule.generator)))
                elif entry is not None:
                    edges.setdefault((p.id, rule.stage), []).append((entry[0], entry[1], rule.id))
            target = rule.target
            if target is None:
                continue
            where = f"automation.{i}.{'move_to' if rule.move_to else 'copy_to'}"
            into = pipelines.get(target.pipeline)
            if into is None:
                out.append((p.id, Violation("automation", Text("rule {rule_id!r} of pipeline {p_id!r}: pipeline "
                                                 "{target_pipeline!r} does not exist",
                                                               rule_id=rule.id, p_id=p.id,
                                                               target_pipeline=target.pipeline),
                                                          where, target.pipeline)))
                continue
            if into.stage(target.stage) is None:
                out.append((p.id, Violation("automation", Text("rule {rule_id!r} of pipeline {p_id!r}: stage "
                                                 "{target_stage!r} is not in pipeline {into_id!r}"
                                                 "{stage_hint_into_target_s}", rule_id=rule.id,
                                                               p_id=p.id,
                                                               target_stage=target.stage,
                                                               into_id=into.id,
                                                               stage_hint_into_target_s=stage_hint(into, target.stage)),
                                                          where, target.stage)))
                continue
            edges.setdefault((p.id, rule.stage), []).append((into.id, target.stage, rule.id))
    for start in edges:  # a depth-first walk from each node: small graphs (stages with tunnels)
        path = [start]
        stack = [iter(edges.get(start, []))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
                continue
            node = (nxt[0], nxt[1])
            if node == start:
                chain = " -> ".join(f"{a}/{b}" for a, b in path + [node])
                out.append((start[0], Violation("automation-cycle", Text("tunnels form a cycle: {chain} (rule "
                                                     "{nxt!r}); a deal would be passed on for ever",
                                                                         chain=chain, nxt=nxt[2]), "automation",
                                                nxt[2])))
                return out
            if node not in path and node in edges:
                path.append(node)
                stack.append(iter(edges[node]))
    return out


# -- rotting: an open deal that stayed in its stage longer than the stage's rotting_days ----------
ENTERING = ("created", "moved", "reopened", "pipeline_changed")


def entered_stage_at(record: dict):
    """When a stored deal (its mapping) entered the stage it is in: the time of its last
    stage event (created, moved, reopened, pipeline_changed), else its `created`."""
    history = given if isinstance(given := record.get("history"), list) else []
    for e in reversed(history):
        if isinstance(e, dict) and e.get("kind") in ENTERING and e.get("at"):
            return e.get("at")
    return record.get("created")


def is_rotting(pipeline: Pipeline | None, record: dict, now) -> bool:
    """Has the open deal `record` (its stored mapping) stayed in its stage longer than the
    stage's rotting_days? False for closed deals and stages without rotting_days."""
    from dealcli import timeutil

    if pipeline is None or (record.get("status") or "open") != "open":
        return False
    stage = pipeline.stage(str(record.get("stage")))
    if stage is None or not stage.rotting_days:
        return False
    try:
        since = timeutil.to_datetime(entered_stage_at(record), "at")
    except timeutil.DateError:
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return (now - since).total_seconds() > stage.rotting_days * 86400
