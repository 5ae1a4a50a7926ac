"""Pipeline use cases: list, show, add, delete and edit (stage operations, stage rules, the deal
card, and the whole file through an editor). stage_rules decides what is allowed; this module
applies the change and writes it atomically under the lock, refusing if the file changed since
it was read. A refused edit writes nothing.

When a stage is deleted with its deals moved to another stage (move_deals_to), the deals are
written first (each with a `moved` history event), then the pipeline: a crash in between leaves
deals in a stage that still exists."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from dealcli import cards, deals, parse, stage_rules
from dealcli.errors import CorruptData, NotFound, RuleViolation, UsageError, Violation
from dealcli.i18n import N_, Text
from dealcli.ids import is_slug
from dealcli.model import SEMANTICS, DEAL_KEYS, Pipeline, Rule, Stage, default_pipeline
from dealcli.session import Session, to_model
from dealcli.storage import files, yamlcodec
from dealcli.storage.repository import Doc
from dealcli import i18n

PROCESS_COLORS = ("#39A8EF", "#2FC6F6", "#55D0E0", "#47E4C2", "#FFA900", "#FFD500", "#A77BDE", "#2066B0")
SUCCESS_COLOR = "#7BD500"
FAILURE_COLOR = "#FF5752"
STAGES_HELP = ("comma-separated ID[:NAME][:process|success|failure][:#RRGGBB][:N%], e.g. "
               '"new:New,demo:Demo given:40%,won:Won:success,lost:Lost:failure"')


# -- reading -------------------------------------------------------------------------------------------
def load(s: Session, pipeline_id: str) -> tuple[Pipeline, Doc]:
    """A pipeline and its file as read now (the bytes are the etag of the write back)."""
    if not is_slug(pipeline_id):
        raise NotFound(i18n._("pipeline {pipeline_id!r}: not a valid pipeline id").format(pipeline_id=pipeline_id))
    if not s.repo.exists("pipelines", pipeline_id):
        s.pipeline(pipeline_id)  # raises the NotFound that lists the pipelines
    doc = s.repo.load("pipelines", pipeline_id)
    return to_model(doc, Pipeline), doc


def deals_by_stage(s: Session, pipeline_id: str, errors: list | None = None) -> dict[str, list[dict]]:
    """The deal records of a pipeline, by stage (one scan through Session.deal_records), every
    one of them also with access rights: a stage is checked against the deals it holds."""
    out: dict[str, list[dict]] = {}
    for rec in s.deal_records(errors if errors is not None else [], everyone=True):
        if isinstance(rec, dict) and str(rec.get("pipeline")) == pipeline_id:
            out.setdefault(str(rec.get("stage")), []).append(rec)
    return out


def deal_counts(s: Session) -> dict[str, dict[str, int]]:
    """pipeline id -> stage id -> number of deals."""
    out: dict[str, dict[str, int]] = {}
    for rec in s.deal_records([]):
        if isinstance(rec, dict):
            per = out.setdefault(str(rec.get("pipeline")), {})
            per[str(rec.get("stage"))] = per.get(str(rec.get("stage")), 0) + 1
    return out


def listing(s: Session) -> list[dict]:
    """One row per pipeline: id, name, default, stages (ids), fields (card), deals, open."""
    counts = deal_counts(s)
    default = s.repo.config.get("default_pipeline")
    rows = []
    errors: list = []
    pipelines = s.all_pipelines(errors)
    for exc in errors:
        s.notice(i18n._("skipped {exc_message} (dealcli check)").format(exc_message=exc.message))
    for p in pipelines.values():
        per = counts.get(p.id, {})
        open_ids = {st.id for st in p.stages if st.semantics == "process"}
        rows.append({"id": p.id, "name": p.name, "default": p.id == default,
                     "stages": [st.id for st in p.stages], "fields": cards.card_of(p).names(),
                     "deals": sum(per.values()), "open": sum(n for sid, n in per.items() if sid in open_ids)})
    return rows


def show(s: Session, pipeline_id: str) -> tuple[Pipeline, dict[str, int]]:
    pipeline, _ = load(s, pipeline_id)
    return pipeline, deal_counts(s).get(pipeline.id, {})


def stage_rows(pipeline: Pipeline, counts: dict[str, int]) -> list[dict]:
    return [{"pipeline": pipeline.id, "position": i + 1, **st.to_dict(),
             "deals": counts.get(st.id, 0)} for i, st in enumerate(pipeline.stages)]


# -- add / delete ----------------------------------------------------------------------------------------
def parse_stages(spec: str, field: str = "stages") -> list[Stage]:
    """Stages from text: comma-separated ID[:NAME][:process|success|failure][:#RRGGBB][:N%].
    Missing colours and probabilities get sensible defaults (process stages rise from 10% to
    80%). An error is about `field` (the parameter the text came from)."""
    stages: list[Stage] = []
    for item in (i.strip() for i in spec.split(",")):
        if not item:
            continue
        parts = [p.strip() for p in item.split(":")]
        stage = Stage(id=parts[0], name="")
        for part in parts[1:]:
            if part.lower() in SEMANTICS:
                stage.semantics = part.lower()
            elif part.startswith("#"):
                stage.color = part.upper()
            elif re.fullmatch(r"\d{1,3}%", part):
                stage.probability = parse.parse_probability(part[:-1], field)
            elif part and not stage.name:
                stage.name = part
            else:
                raise UsageError.about(field, "{0} {item!r}: cannot read {part!r} ({help})", item=item, part=part,
                                       help=STAGES_HELP)
        if not is_slug(stage.id):
            raise UsageError.about(field, "{0} {item!r}: stage id {id!r} must be lower-case letters, digits, _ "
                                   "or - ({help})", item=item, id=stage.id, help=STAGES_HELP)
        stage.name = stage.name or stage.id.replace("_", " ").capitalize()
        stages.append(stage)
    if not stages:
        raise UsageError.about(field, "{0}: no stages given ({help})", help=STAGES_HELP)
    if not any(st.semantics == "success" for st in stages):
        raise UsageError.about(field, "{0}: mark one stage :success ({help})", help=STAGES_HELP)
    process = [st for st in stages if st.semantics == "process"]
    for i, st in enumerate(process):
        st.color = st.color or PROCESS_COLORS[i % len(PROCESS_COLORS)]
        if st.probability is None:
            st.probability = 10 + (70 * i // (len(process) - 1) if len(process) > 1 else 0)
    for st in stages:
        if st.semantics != "process":
            st.color = st.color or (SUCCESS_COLOR if st.semantics == "success" else FAILURE_COLOR)
            if st.probability is None:
                st.probability = 100 if st.semantics == "success" else 0
    return stages


def add(s: Session, pipeline_id: str, name: str | None, stages: str | None) -> Pipeline:
    if not is_slug(pipeline_id):
        raise UsageError(i18n._("pipeline id {pipeline_id!r} must be lower-case letters, digits, _ or - "
                         "(at most 64, e.g. service or partners)").format(pipeline_id=pipeline_id))
    pipeline = default_pipeline(pipeline_id, (name or "").strip() or pipeline_id.replace("_", " ").capitalize())
    if stages is not None:
        pipeline.stages = parse_stages(stages, "stages")
    _refuse(stage_rules.validate_pipeline(pipeline))
    with s.repo.transaction():
        if s.repo.exists("pipelines", pipeline_id):
            raise RuleViolation(Violation("pipeline-exists", Text("pipeline {pipeline_id!r} already exists",
                                                                  pipeline_id=pipeline_id), "id",
                                          pipeline_id))
        s.repo.create("pipelines", pipeline_id, pipeline)
    return pipeline


def delete(s: Session, pipeline_id: str) -> str:
    with s.repo.transaction():
        pipeline, doc = load(s, pipeline_id)
        errors: list = []
        held = sum(len(v) for v in deals_by_stage(s, pipeline.id, errors).values())
        if errors:
            raise errors[0]  # a deal we cannot read might be in this pipeline
        if held:
            raise RuleViolation(Violation("pipeline-delete", Text("pipeline {pipeline_id!r} holds {held} deal(s); move "
                                  "them first (`dealcli filter pipeline={pipeline_id} -f ids | dealcli deal "
                                  "move - STAGE --pipeline OTHER`)",
                                                                  pipeline_id=pipeline.id,
                                                                  held=held), "pipeline", pipeline.id))
        others = {k: v for k, v in s.all_pipelines(errors=[]).items() if k != pipeline.id}
        _refuse([v for v in stage_rules.tunnel_violations(others) if v.value == pipeline.id])
        if s.repo.config.get("default_pipeline") == pipeline.id:
            raise RuleViolation(Violation("pipeline-delete", Text("pipeline {pipeline_id!r} is the default pipeline; "
                                               "set default_pipeline in dealcli.yaml to another one first",
                                                                  pipeline_id=pipeline.id),
                                          "pipeline", pipeline.id))
        s.repo.remove(doc)
        s._pipelines.pop(pipeline.id, None)
    return pipeline.id


# -- edit: stage operations --------------------------------------------------------------------------------
@dataclass
class EditOps:
    """Everything `pipeline edit P` may say; applied in this order, checked as a whole."""

    title: str | None = None                   # `name` without `add_stage`: the pipeline's name
    add_stage: str | None = None
    name: str | None = None
    after: str | None = None
    before: str | None = None
    color: str | None = None
    semantics: str | None = None
    probability: str | None = None
    rename: list[tuple[str, str]] = field(default_factory=list)
    recolor: list[tuple[str, str]] = field(default_factory=list)
    move_stage: str | None = None
    delete_stage: str | None = None
    move_deals_to: str | None = None
    require: list[str] = field(default_factory=list)
    from_stage: str | None = None
    unrequire: list[str] = field(default_factory=list)
    lost_reason_required: bool | None = None
    card_file: str | None = None
    card_text: str | None = None                # card_file `-`: the card read from stdin
    automation_file: str | None = None          # the stage automation rules (a YAML list)
    automation_text: str | None = None          # automation_file `-`: read from stdin

    def is_empty(self) -> bool:
        return not any((self.title is not None, self.add_stage, self.name is not None, self.after, self.before,
                        self.color, self.semantics, self.probability is not None, self.rename, self.recolor,
                        self.move_stage, self.delete_stage, self.move_deals_to, self.require, self.from_stage,
                        self.unrequire, self.lost_reason_required is not None, self.card_file,
                        self.automation_file))


# What an error about an EditOps part names: the parameter of `pipeline edit` that sets it.
FIELD_OF = {"rename": "rename_stage", "recolor": "color_stage", "card_file": "card", "title": "name",
            "automation_file": "automation"}


def check_ops(ops: EditOps) -> None:
    """Operations that only make sense together (usage errors, exit 2). Checked here, in the
    core, rather than at the edge: any caller may build EditOps, and apply_ops relies on a
    consistent set (a moved stage has one place; a placement has a stage to place). Errors are
    about the EditOps fields, named as the options of `pipeline edit` (FIELD_OF)."""
    if not ops.add_stage:
        for name, value in (("color", ops.color), ("semantics", ops.semantics), ("probability", ops.probability)):
            if value is not None:
                raise UsageError.about((name, "add_stage", "color_stage"), "{0} describes a new stage: use it with "
                                       "{1} ID ({2} S #RRGGBB recolours a stage)")
        if ops.name is not None:
            ops.title, ops.name = ops.name, None
    place = ("after", "before", "add_stage", "move_stage")
    if ops.semantics == "success":
        raise UsageError.about("semantics", "{0}: a new stage is process or failure (a pipeline has one success stage)")
    if (ops.after or ops.before) and not (ops.add_stage or ops.move_stage):
        raise UsageError.about(place, "{0}/{1} place a stage: use them with {2} or {3}")
    if ops.after and ops.before:
        raise UsageError.about(("after", "before"), "give {0} or {1}, not both")
    if ops.add_stage and ops.move_stage and (ops.after or ops.before):
        raise UsageError.about(place, "{0}/{1} would apply to both {2} and {3}; run two edits")
    if ops.move_stage and not (ops.after or ops.before):
        raise UsageError.about(("move_stage", "after", "before"), "{0} S needs {1} T or {2} T")
    if ops.move_deals_to and not ops.delete_stage:
        raise UsageError.about(("move_deals_to", "delete_stage"), "{0} T goes with {1} S")
    if bool(ops.require) != bool(ops.from_stage):
        raise UsageError.about(("require", "from_stage"), "{0} FIELD and {1} S go together")
    for name in ops.require + ops.unrequire:
        if not name.strip() or len(name) > 64:
            raise UsageError.about("require" if name in ops.require else "unrequire",
                                   "{0} {name!r}: not a usable field name", name=name)


def _position(p: Pipeline, after: str | None, before: str | None, default: int) -> tuple[int, list[Violation]]:
    ref = after or before
    if ref is None:
        return default, []
    bad = stage_rules.stage_exists(p, ref)
    if bad:
        return -1, bad
    return p.index(ref) + (1 if after else 0), []


def _resolve_refs(p: Pipeline, ops: EditOps) -> None:
    """Stages named in the options by id or name (case-insensitive) become their ids."""
    r = lambda ref: stage_rules.resolve_stage(p, ref)  # noqa: E731
    ops.after, ops.before, ops.move_stage = r(ops.after), r(ops.before), r(ops.move_stage)
    ops.delete_stage, ops.move_deals_to, ops.from_stage = r(ops.delete_stage), r(ops.move_deals_to), r(ops.from_stage)
    ops.rename = [(r(sid) or sid, name) for sid, name in ops.rename]
    ops.recolor = [(r(sid) or sid, color) for sid, color in ops.recolor]


def apply_ops(s: Session, p: Pipeline, ops: EditOps, card: cards.Card | None) -> list[Violation]:
    """Apply the operations to `p` (a copy); unknown stages come back as Violations."""
    out: list[Violation] = []
    _resolve_refs(p, ops)
    if ops.title is not None:
        if not ops.title.strip():
            raise UsageError.about(FIELD_OF["title"], "{0}: a pipeline needs a name")
        p.name = ops.title.strip()
    if ops.add_stage:
        semantics = ops.semantics or "process"
        success = p.index(p.success.id) if p.success else len(p.stages)
        at, bad = _position(p, ops.after, ops.before, success if semantics == "process" else len(p.stages))
        out += bad
        if not bad:
            prob = parse.parse_probability(ops.probability) if ops.probability is not None else (
                0 if semantics == "failure" else None)
            color = _color(ops.color) if ops.color else (
                FAILURE_COLOR if semantics == "failure" else PROCESS_COLORS[at % len(PROCESS_COLORS)])
            name = (ops.name or "").strip() or ops.add_stage.replace("_", " ").capitalize()
            p.stages.insert(at, Stage(id=ops.add_stage, name=name, semantics=semantics, color=color,
                                      probability=prob))
    for sid, name in ops.rename:
        bad = stage_rules.stage_exists(p, sid)
        if bad or not name.strip():
            out += bad or [Violation.of("stage-name", FIELD_OF["rename"], N_("{0} {sid}: a stage needs a name"), "name",
                                        name, sid=sid)]
            continue
        p.known(sid).name = name.strip()
    for sid, color in ops.recolor:
        bad = stage_rules.stage_exists(p, sid)
        out += bad
        if not bad:
            p.known(sid).color = _color(color)
    if ops.move_stage:
        bad = stage_rules.stage_exists(p, ops.move_stage)
        if not bad and ops.move_stage in (ops.after, ops.before):
            bad = [Violation.of("stage-move", "move_stage", N_("{0} {stage}: cannot place a stage next to itself"),
                                "stage", ops.move_stage, stage=ops.move_stage)]
        if not bad:
            stage = p.stages.pop(p.index(ops.move_stage))
            at, bad = _position(p, ops.after, ops.before, 0)
            p.stages.insert(at if not bad else 0, stage)
        out += bad
    if ops.delete_stage and p.stage(ops.delete_stage) is not None \
            and p.known(ops.delete_stage).semantics != "success":
        at = p.index(ops.delete_stage)
        p.stages.pop(at)
        for rule in stage_rules.requirements(p):  # "required from S on" now starts where S was
            if rule.get("from_stage") == ops.delete_stage and at < len(p.stages):
                rule["from_stage"] = p.stages[at].id
    if ops.require or ops.unrequire:
        rules = [dict(r) for r in stage_rules.requirements(p)
                 if r.get("field") not in ops.require and r.get("field") not in ops.unrequire]
        missing = [f for f in ops.unrequire if f not in {str(r.get("field")) for r in stage_rules.requirements(p)}]
        if missing:
            out.append(Violation.of("require", "unrequire", N_("{0} {name}: the pipeline does not require it"), "rules",
                                    missing[0], name=missing[0]))
        bad = stage_rules.stage_exists(p, ops.from_stage) if ops.require else []
        out += bad
        rules += [{"field": f.strip(), "from_stage": ops.from_stage} for f in ops.require]
        p.rules["require"] = rules
    if ops.lost_reason_required is not None:
        p.rules["lost_reason_required"] = ops.lost_reason_required
    if card is not None:
        p.card = card.to_dict()
    automation = read_automation(ops)
    if automation is not None:
        p.automation = automation
    return out


def _color(text: str) -> str:
    return text.upper() if stage_rules.COLOR.match(text) else text


def read_card(ops: EditOps) -> cards.Card | None:
    """The card of the file `card_file` (or `-`: text read from stdin by the command)."""
    if not ops.card_file:
        return None
    source = "<stdin>" if ops.card_file == "-" else ops.card_file
    if ops.card_file == "-":
        raw = (ops.card_text or "").encode()
    else:
        raw = files.read_input(ops.card_file, FIELD_OF["card_file"])
    try:
        data = yamlcodec.loads(raw, source)
    except CorruptData as exc:
        raise RuleViolation(Violation("card", exc.message.split(": ", 1)[-1], None, None, source, exc.line)) from None
    try:
        return cards.load_card_file(data, source)
    except RuleViolation as exc:
        for v in exc.violations:
            if v.field:
                v.line = yamlcodec.line_of(raw, tuple(int(x) if x.isdigit() else x for x in v.field.split(".")))
        raise RuleViolation(exc.violations) from None


def read_automation(ops: EditOps) -> list[Rule] | None:
    """The rules of the file `automation_file` (a YAML list, or a mapping with `automation:`)."""
    from dealcli.errors import FieldError

    if not ops.automation_file:
        return None
    source = "<stdin>" if ops.automation_file == "-" else ops.automation_file
    raw = (ops.automation_text or "").encode() if ops.automation_file == "-" else \
        files.read_input(ops.automation_file, FIELD_OF["automation_file"])
    try:
        data = yamlcodec.loads(raw, source) if raw.strip() else []
    except CorruptData as exc:
        raise RuleViolation(Violation("automation", exc.message.split(": ", 1)[-1], None, None, source,
                                      exc.line)) from None
    at: tuple = ()
    if isinstance(data, dict) and "automation" in data:
        data, at = data["automation"] or [], ("automation",)
    if not isinstance(data, list):
        raise RuleViolation(Violation("automation", Text("expected a list of rules"), None, None, source, 1))
    rules = []
    for i, item in enumerate(data):
        try:
            if not isinstance(item, dict):
                raise FieldError((i,), Text("expected a mapping (a rule)"))
            rules.append(Rule.from_dict(item, (i,)))
        except FieldError as exc:
            raise RuleViolation(Violation("automation", str(exc), None, None, source,
                                          yamlcodec.line_of(raw, at + tuple(exc.path)))) from None
    return rules


def edit(s: Session, pipeline_id: str, ops: EditOps) -> Pipeline:
    """Apply stage/rule/card operations to a pipeline, all or nothing."""
    check_ops(ops)
    card = read_card(ops)
    with s.repo.transaction():
        before, doc = load(s, pipeline_id)
        after = copy.deepcopy(before)
        _refuse(apply_ops(s, after, ops, card))
        errors: list = []
        by_stage = deals_by_stage(s, before.id, errors)
        violations = stage_rules.validate_pipeline(after) + tunnels(s, after)
        moving: list[dict] = []
        if ops.delete_stage:
            if errors:
                raise errors[0]
            moving = by_stage.get(ops.delete_stage, [])
            violations += stage_rules.check_stage_delete(before, ops.delete_stage, ops.move_deals_to, len(moving),
                                                         after)
        holding = {sid: len(recs) for sid, recs in by_stage.items() if not (moving and sid == ops.delete_stage)}
        violations += stage_rules.check_pipeline_change(before, after, holding)
        _refuse(violations)
        moved = _move_deals(s, after, moving, ops.delete_stage, ops.move_deals_to) if moving else []
        _refuse([v for v, _ in moved if isinstance(v, Violation)])
        for deal, deal_doc in moved:
            s.save_deal(deal, deal_doc)
        if ops.delete_stage:
            _retire(before, after, ops.delete_stage, ops.move_deals_to)
        s.repo.update(doc, after)
        s._pipelines[after.id] = after
    if moved:
        s.notice(i18n._("moved {len_moved} deal(s) from {ops_delete_stage!r} to {ops_move_deals_to!r}").format(
            len_moved=len(moved), ops_delete_stage=ops.delete_stage, ops_move_deals_to=ops.move_deals_to))
    starts = {str(r.get("field")): r.get("from_stage") for r in stage_rules.requirements(before)}
    for rule in stage_rules.requirements(after):
        if rule.get("field") in starts and rule.get("field") not in ops.require \
                and starts[str(rule.get("field"))] != rule.get("from_stage"):
            s.notice(i18n._("the requirement of {rule_get_field!r} now starts at stage {rule_get_from_stage!r}").format(
                rule_get_field=rule.get('field'), rule_get_from_stage=rule.get('from_stage')))
    for name in ops.require:
        if name not in DEAL_KEYS and not name.startswith("fields.") and cards.card_of(after).field(name) is None:
            s.notice(i18n._("{name!r} is neither a deal field nor on the card of {after_id!r}: it "
                            "is required as a free "
                     "custom field").format(name=name, after_id=after.id))
    return after


def _retire(before: Pipeline, after: Pipeline, stage_id: str, target: str | None) -> None:
    """Remember where a deleted stage's deals go (`retired_stages`), for deals that another clone
    moves into it before it learns of the deletion (`dealcli sync` relocates them, docs/git.md)."""
    if target is None:
        semantics = before.known(stage_id).semantics
        at = before.index(stage_id)
        same = [st for st in before.stages if st.semantics == semantics and st.id != stage_id and after.stage(st.id)]
        earlier = [st for st in same if before.index(st.id) < at]
        target = (earlier[-1] if earlier else same[0]).id if same else None
    if target is not None:
        retired = after.extra.get("retired_stages")
        retired = dict(retired) if isinstance(retired, dict) else {}
        retired[stage_id] = target
        after.extra["retired_stages"] = retired


def relocate_retired(s: Session, only: set[str] | None = None) -> list[str]:
    """Deals left in a stage that was deleted (they arrived by a merge): move them where the
    pipeline's `retired_stages` says, through stage_rules (relocate). Returns their ids. `only`:
    the ids of the deals that may be there (those a merge changed), instead of every deal."""
    done: list[str] = []
    with s.repo.transaction():
        for pipeline in s.all_pipelines(errors=[]).values():
            retired = pipeline.extra.get("retired_stages")
            if not isinstance(retired, dict):
                continue
            for source, target in retired.items():
                if pipeline.stage(str(source)) is not None or pipeline.stage(str(target)) is None:
                    continue
                found = s.deal_records(errors=[]) if only is None else _deal_data(s, only)
                records = [r for r in found if r.get("pipeline") == pipeline.id and r.get("stage") == source]
                moved = _move_deals(s, pipeline, records, str(source), str(target))
                for deal, deal_doc in moved:
                    if deal_doc is not None:
                        s.save_deal(deal, deal_doc)
                        done.append(deal.id)
    return done


def _deal_data(s: Session, ids: set[str]) -> list[dict]:
    out: list[dict] = []
    for deal_id in sorted(ids):
        try:
            data = s.repo.load("deals", deal_id).data
        except (NotFound, CorruptData):
            continue  # deleted by the merge, or unreadable (check reports it)
        if isinstance(data, dict):
            out.append(data)
    return out


def _move_deals(s: Session, pipeline: Pipeline, records: list[dict], source: str | None, target: str | None) -> list:
    """Load and move the deals of a deleted stage; returns [(deal, doc)] or [(Violation, None)]."""
    out: list = []
    note = {"reason": f"stage {source} deleted from pipeline {pipeline.id}"}
    for rec in records:
        deal, deal_doc = s.load_deal(str(rec.get("id")))
        t = stage_rules.transition(deal, pipeline, target, "relocate", now=s.now, note=note)
        if t.violations:
            out += [(v, None) for v in t.violations]
            continue
        deals.apply_transition(s, deal, t)
        deal.modified = s.now
        out.append((deal, deal_doc))
    return out


def tunnels(s: Session, after: Pipeline) -> list[Violation]:
    """The tunnels of every pipeline with `after` in place of its old version: targets that exist,
    generator scenarios that exist, no cycle (stage_rules.tunnel_violations)."""
    from dealcli import generators

    every = dict(s.all_pipelines(errors=[]))
    every[after.id] = after
    return stage_rules.tunnel_violations(every, generators.entries(s))


def _refuse(violations: list[Violation]) -> None:
    if violations:
        raise RuleViolation(violations)


# -- edit: the whole file in an editor -------------------------------------------------------------------
def editable(s: Session, pipeline_id: str) -> tuple[Doc, str]:
    """The pipeline file as read (its bytes are the etag of the later save) and its text. A file
    whose values break the model may be opened too: the editor is how one repairs it."""
    if not is_slug(pipeline_id):
        raise NotFound(i18n._("pipeline {pipeline_id!r}: not a valid pipeline id").format(pipeline_id=pipeline_id))
    if not s.repo.exists("pipelines", pipeline_id):
        s.pipeline(pipeline_id)  # raises the NotFound that lists the pipelines
    doc = s.repo.load("pipelines", pipeline_id)
    return doc, (doc.raw or b"").decode("utf-8")


def _before(doc: Doc, by_stage: dict[str, list[dict]]) -> Pipeline:
    """The pipeline as it was; if its file is broken, the stages its deals show (a stage's
    semantics from their status), so that no deal is left behind by the repair."""
    try:
        return to_model(doc, Pipeline)
    except CorruptData:
        return Pipeline(id=doc.id, name=doc.id, stages=[
            Stage(sid, sid, stage_rules.SEMANTICS_OF.get(str(recs[0].get("status")), "process"))
            for sid, recs in by_stage.items()])


def check_text(s: Session, doc: Doc, text: str, source: str) -> tuple[Pipeline | None, list[Violation]]:
    """Validate an edited copy of a pipeline file: YAML, schema, model types, invariants, the
    card, and deals that would be left in a removed stage. Violations carry `source` and lines."""
    from dealcli.validation import check

    raw = text.encode("utf-8")
    try:
        data = yamlcodec.loads(raw, source)
    except CorruptData as exc:
        return None, [Violation("yaml", exc.message.split(": ", 1)[-1], None, None, source, exc.line)]
    if not isinstance(data, dict):
        return None, [Violation("yaml", Text("expected a mapping at the top level"), None, None, source, 1)]
    edited = Doc("pipelines", doc.id, Path(source), data, raw)
    problems, after = check.check_doc(s, edited, "pipelines")
    for v in problems:
        v.path = source
    if not isinstance(after, Pipeline):  # None: unreadable
        return None, problems
    by_stage = deals_by_stage(s, doc.id)
    before = _before(doc, by_stage)
    holding = {sid: len(recs) for sid, recs in by_stage.items()}
    found = stage_rules.check_pipeline_change(before, after, holding) + tunnels(s, after)  # its own: check_doc
    for v in found:
        v.path, v.line = source, check.line_for(edited, v.field, ("stages",))
        problems.append(v)
    return after, check.drop_shadowed(problems)


def save_text(s: Session, doc: Doc, text: str, source: str) -> Pipeline:
    """Save an edited copy after checking it again under the lock (deals may have moved while
    the editor was open); refuses if the pipeline file changed meanwhile (exit 4)."""
    with s.repo.transaction():
        pipeline, problems = check_text(s, doc, text, source)
        _refuse(problems)
        assert pipeline is not None  # else there were problems
        s.repo.update(doc, pipeline)
        s._pipelines[pipeline.id] = pipeline
    return pipeline
