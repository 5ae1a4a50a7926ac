"""THE rulebook: every rule that keeps a repository sound, as pure functions over records that
return Violations (beancount's validators, git-bug's `Validate`). Three callers, one code:

- `dealcli check` (validation/check.py) runs `record` + `links_out` on every file;
- the write gate (`Gate`, installed on the Repository by the Session) runs them on the state
  a transaction would leave: each record it writes, and, for each record it deletes, the
  records linking to it (`kinds.links_in`); a violation refuses the whole transaction (exit 1,
  naming the rule), so no command leaves a repository that `check` fails;
- the pre-receive hook and `check --since` call `judge(changed, lookup)` on the records a
  push or a range of commits changed.

A rule reads the rest of the repository only through a `Lookup` (below): whether a record
exists, a pipeline, the session (for the rules of recurring templates and generators), and the
records linking to some ids. So each caller decides what "the repository" is: the files on disk
(check), the files plus what a transaction staged (the gate), a git tree (the hook).

The one rule a write may break is `conflict`: `check` lists the conflicts a git merge left by
design, and resolving them is a write like any other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from dealcli import kinds
from dealcli.errors import CorruptData, FieldError, NotFound, RuleViolation, UsageError, Violation, shown
from dealcli.i18n import Text

if TYPE_CHECKING:
    from dealcli.model import Pipeline
    from dealcli.session import Session
    from dealcli.storage.convert import Model
    from dealcli.storage.repository import Doc, Repository

GATE_EXEMPT = frozenset({"conflict"})  # reported by check, never refused by the gate
OWN_CHECK = ("recurring", "generators")  # their problems() read the model and say more


class Lookup(Protocol):
    """What a rule may ask about the repository it judges (the state after the change)."""

    @property
    def session(self) -> Session: ...  # a Session, for the rules of recurring templates and generators
    broken: set[str]  # ids of pipelines whose file cannot be read: their deals are not judged

    def exists(self, kind: str, record_id: str) -> bool: ...

    def pipeline(self, pipeline_id: str) -> Pipeline | None: ...  # the Pipeline, or None when there is none

    def linking(self, target: str, ids: set[str]) -> Iterable[Doc]: ...  # Docs linking to target/ids


# -- the rules of one record ----------------------------------------------------------------------
def schema_problems(doc: Doc, rel: str, schema_name: str) -> list[Violation]:
    """The record is plain data and meets its kind's JSON Schema."""
    from dealcli.validation import records, schemas

    found = records.plain_problem(doc.data)
    if found:  # a null key, a !!set, .inf: not data any view can show
        field = ".".join(str(p) for p in found[0]) or None
        return [Violation("type", found[1], field, None, rel, doc.line_of(found[0]))]
    fast = records._fast(schema_name)  # the one compiled check (validation/records.py)
    if fast is not None and fast(doc.data):
        return []  # valid: jsonschema would find nothing (see fastschema.py)
    out = []
    for err in sorted(schemas.validator(schema_name).iter_errors(doc.data),
                      key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        field = ".".join(str(p) for p in path) or "(top level)"
        out.append(Violation("schema", f"{field}: {worded(err)}", field, None, rel, doc.line_of(path)))
    return out


def worded(err: Any) -> str:  # a jsonschema ValidationError (jsonschema has no types)
    """A jsonschema message with its value worded as the CLI words values (errors.shown), not as
    a Python repr (`Decimal('18500.00')`, lists of dicts)."""
    message: str = err.message
    if not isinstance(err.instance, str):
        message = message.replace(repr(err.instance), shown(err.instance))
    return message


def line_for(doc: Doc, field: str | None, default: tuple[str, ...]) -> int | None:
    """The line of a Violation's field (a dotted path such as `stages.2.color`) in a file."""
    if not field:
        return doc.line_of(default)
    return doc.line_of(tuple(int(p) if p.isdigit() else p for p in field.split(".")))


def record(doc: Doc, lookup: Lookup, rel: str, model: Model | None = None) -> tuple[list[Violation], Model | None]:
    """Schema, the model's types, the record's id, and the rules of its kind (the stage rules
    and history of a deal, the invariants of a pipeline, a template's or scenario's deal part).
    Returns the problems and the model read (None when it could not be read). `model`: the
    record's model when the caller has it already (the gate), so it is not read twice."""
    from dealcli.model import model_of
    from dealcli.validation import schemas

    kind = doc.kind
    name = schemas.SCHEMA_OF_KIND.get(kind)
    problems = schema_problems(doc, rel, name) if name else []
    obj = model
    if obj is None and kind not in OWN_CHECK:
        try:
            obj = model_of(kind).from_dict(doc.data)
        except FieldError as exc:
            if not problems:
                problems.append(Violation("type", str(exc), None, None, rel, doc.line_of(exc.path)))
            return problems, None
    if kind in OWN_CHECK and not problems:
        from dealcli import generators, recurring

        rule, own = ("recurring", recurring.problems) if kind == "recurring" else ("generator", generators.problems)
        problems += [Violation(rule, msg, None, None, rel, line) for msg, line in own(lookup.session, doc)]
    record_id = doc.data.get("id")
    if record_id is not None and str(record_id) != doc.id:
        problems.append(Violation("id-filename", Text("id {record_id!r} does not match the file name {doc_id!r}",
                                                      record_id=record_id, doc_id=doc.id),
                                  "id", record_id, rel, doc.line_of(("id",))))
    if obj is not None:
        problems += kind_rules(doc, obj, lookup, rel)
    return problems, obj


def settings(doc: Doc) -> list[Violation]:
    """The rules of dealcli.yaml: its schema, `timezone:` an IANA zone name the tz database
    knows (never a path), and users, departments and roles that hang together."""
    from dealcli import access, timeutil

    problems = schema_problems(doc, "dealcli.yaml", "config")
    name = doc.data.get("timezone") if isinstance(doc.data, dict) else None
    if name is not None:
        try:
            timeutil.zone(name)
        except timeutil.DateError as exc:
            problems.append(Violation("timezone", f"timezone: {exc}", "timezone", name, "dealcli.yaml",
                                      doc.line_of(("timezone",))))
    if isinstance(doc.data, dict) and doc.data.get("users"):
        problems += access.config_problems(doc.data)
    return problems


def own(doc: Doc, lookup: Lookup, rel: str, model: Model | None = None) -> list[Violation]:
    """What a record (or dealcli.yaml) breaks by itself and with its links."""
    if doc.kind == "config":
        return settings(doc)
    return record(doc, lookup, rel, model)[0] + links_out(doc, lookup, rel)


def kind_rules(doc: Doc, obj: Any, lookup: Lookup, rel: str) -> list[Violation]:  # obj: a Deal or a Pipeline
    """The rules of a deal (stage rules: validation by its pipeline; history in time order and
    agreeing with the state) and of a pipeline (its invariants)."""
    from dealcli import stage_rules

    found: list[Violation] = []
    default: tuple[str, ...] = ()
    if doc.kind == "deals" and obj.pipeline not in lookup.broken:
        from dealcli.validation import history

        pipeline = lookup.pipeline(obj.pipeline)
        found = stage_rules.validate_deal(obj, {obj.pipeline: pipeline} if pipeline is not None else {})
        found += history.deal_problems(obj)
    elif doc.kind == "pipelines":
        found, default = stage_rules.validate_pipeline(obj), ("stages",)
    for v in found:
        v.path, v.line = rel, line_for(doc, v.field, default)
    return found


def links_out(doc: Doc, lookup: Lookup, rel: str) -> list[Violation]:
    """Every link the record holds (kinds.py) names a record that exists."""
    out = []
    for link in kinds.links_out(doc.kind):
        for where, value in values_at(doc.data, link.path):
            if isinstance(value, (dict, list)) or lookup.exists(link.target, str(value)):
                continue
            field = ".".join(str(p) for p in where)
            out.append(Violation("dangling-link", Text("{field}: {kind} {shown_value} "
                                      "does not exist ({link_target}/{value}.yaml is missing)",
                                                       field=field,
                                                       kind=Text(kinds.SINGULAR[link.target]),
                                                       shown_value=shown(value),
                                                       link_target=link.target, value=value), field, value, rel,
                                 doc.line_of(where)))
    return out


values_at = kinds.values_at


# records whose rules read another record without linking it: a deal is judged by its pipeline
READS: dict[str, list[tuple[str, kinds.Link]]] = {"pipelines": [("deals", kinds.Link(("pipeline",), "pipelines"))]}


def neighbours(target: str) -> list[tuple[str, kinds.Link]]:
    """(folder, link) of every record kind whose rules a change of a `target` record can break:
    the links pointing at it (kinds.links_in: a delete leaves them dangling) and the records
    judged by it (READS: a pipeline edit can break its deals' stage rules)."""
    return [(k.folder, link) for k, link in kinds.links_in(target)] + READS.get(target, [])


def links_to(data: Any, link: kinds.Link, ids: set[str]) -> bool:
    """Does `data` hold `link` to any of `ids`?"""
    return any(not isinstance(v, (dict, list)) and str(v) in ids for _, v in values_at(data, link.path))


def judge(changed: Iterable[Doc], lookup: Lookup,
          rel: Callable[[Doc], str] = lambda doc: f"{doc.kind}/{doc.id}.yaml") -> list[Violation]:
    """THE entry point for a set of changed records (Docs; `data` None = deleted), judged in the
    state `lookup` describes: each record that is still there by `record` and `links_out`, and
    for each deleted one, the records linking to it (`lookup.linking`, the link neighbours of
    kinds.links_in) by `links_out`. The hook and `check --since` call this."""
    out: list[Violation] = []
    deleted: dict[str, set[str]] = {}
    edited: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()
    for doc in changed:
        seen.add((doc.kind, doc.id))
        if doc.data is None:
            deleted.setdefault(doc.kind, set()).add(doc.id)
            continue
        if doc.kind in READS:
            edited.setdefault(doc.kind, set()).add(doc.id)
        out += record(doc, lookup, rel(doc))[0] + links_out(doc, lookup, rel(doc))
    for target, ids in deleted.items():
        for other in lookup.linking(target, ids):
            if (other.kind, other.id) not in seen:
                out += links_out(other, lookup, rel(other))
    for target, ids in edited.items():
        for other in lookup.linking(target, ids):
            if (other.kind, other.id) not in seen and other.kind in {f for f, _ in READS[target]}:
                out += record(other, lookup, rel(other))[0]
    return out


# -- the gate: the rules on the state a transaction leaves ----------------------------------------
class _State:
    """A Lookup over the repository as a transaction would leave it (`staged`) or as it is on
    disk (the state before, to tell what a write broke from what it found broken)."""

    def __init__(self, session: Session, staged: bool) -> None:
        self.session, self.staged, self.broken = session, staged, set[str]()
        self._pipelines: dict[str, Pipeline | None] = {}

    @property
    def repo(self) -> Repository:
        return self.session.repo

    def exists(self, kind: str, record_id: str) -> bool:
        if self.staged:
            return self.repo.exists(kind, record_id)
        return kinds.BY_FOLDER.get(kind) is not None and self.repo.path(kind, record_id).is_file()

    def pipeline(self, pipeline_id: str) -> Pipeline | None:
        if pipeline_id not in self._pipelines:
            self._pipelines[pipeline_id] = self._read_pipeline(pipeline_id)
        return self._pipelines[pipeline_id]

    def _read_pipeline(self, pipeline_id: str) -> Pipeline | None:
        from dealcli.model import Pipeline
        from dealcli.storage import atomic, yamlcodec

        try:
            if self.staged:
                data = self.repo.load("pipelines", pipeline_id).data
            else:
                raw = atomic.read_bytes(self.repo.path("pipelines", pipeline_id))
                if raw is None:
                    return None
                data = yamlcodec.loads(raw, f"pipelines/{pipeline_id}.yaml")
            pipeline: Pipeline = Pipeline.from_dict(data)  # from_dict builds its class
            return pipeline
        except NotFound:
            return None
        except (CorruptData, FieldError, UsageError, TypeError, AttributeError):
            self.broken.add(pipeline_id)
            return None

    def linking(self, target: str, ids: set[str]) -> Iterator[Doc]:
        """The records (any user's: the guard is not asked) that `neighbours(target)` says a
        change of `ids` can break, as the transaction leaves them."""
        repo = self.repo
        for folder, link in neighbours(target):
            errors: list[CorruptData] = []
            if folder == "activities" and link.path == ("deal",):
                found = repo.lookup("activities", [("deal", i) for i in ids])  # the index knows them
                pairs = ((i, None) for i in found) if found is not None else repo.records(folder, errors, guarded=False)
            else:
                pairs = repo.records(folder, errors, guarded=False)
            for record_id, data in itertools.chain(pairs, ((Path(e.path).stem, None) for e in errors)):
                if data is not None and not links_to(data, link, ids):
                    continue
                try:
                    doc = repo.load(folder, record_id)  # what the transaction staged, if it did
                except (NotFound, CorruptData):
                    continue
                if links_to(doc.data, link, ids):
                    yield doc


class Gate:
    """Installed on the Repository by the Session (`repo.rulebook`). The Repository tells it of
    every record a transaction stages (`staged`) and asks for the verdict before the commit
    (`verdict`). A record's own rules are judged when it is staged (an import holds no records
    in memory), its links and the neighbours of deleted records when the transaction commits.
    Only what the transaction broke is refused: a problem the record already had on disk
    (same rule, same field) is `check`'s to report, so a write may still repair a broken file."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: dict[Path, list[Any]] = {}  # path -> [doc (None: deleted), problems, before raw, staged doc]
        self._state: _State | None = None  # pipelines as read while staging (re-read by verdict)

    def reset(self) -> None:
        self.pending, self._state = {}, None

    def staged(self, doc: Doc, before: bytes | None, model: Model | None = None) -> None:
        """`doc` as staged (data None: deleted); `before`: the bytes it replaces (the first
        staging's, when a transaction writes a record twice), None for a new one."""
        if doc.kind not in kinds.BY_FOLDER and doc.kind != "config":
            return
        entry = self.pending.get(doc.path)
        before = entry[2] if entry is not None else before
        if doc.data is None:
            if before is None:
                self.pending.pop(doc.path, None)  # created and deleted again
            else:
                self.pending[doc.path] = [None, [], before, doc]
            return
        from dealcli.storage import yamlcodec

        rel = self.session.repo.rel(doc.path)
        # yamlcodec is not annotated yet: the ignore goes when it is
        data = yamlcodec.plain(doc.data)  # type: ignore[no-untyped-call, unused-ignore]
        plain = type(doc)(doc.kind, doc.id, doc.path, data, doc.raw)
        if self._state is None or doc.kind in READS:
            self._state = _State(self.session, True)  # a pipeline staged: read it again
        problems = [v for v in (settings(plain) if doc.kind == "config" else record(plain, self._state, rel, model)[0])
                    if v.rule not in GATE_EXEMPT]
        self.pending[doc.path] = [plain, problems, before, doc]

    def verdict(self) -> list[Violation]:
        """The violations the staged transaction would leave that were not there before."""
        after = _State(self.session, True)
        out: list[Violation] = []
        deleted: dict[str, set[str]] = {}
        edited = {doc.id for doc, *_ in self.pending.values() if doc is not None and doc.kind in READS}
        for path, (doc, problems, before, staged) in self.pending.items():
            if doc is None:
                deleted.setdefault(staged.kind, set()).add(staged.id)
                continue
            rel = self.session.repo.rel(path)
            if doc.kind == "deals" and str(doc.data.get("pipeline")) in edited:  # judged by the pipeline as left
                problems = [v for v in record(doc, after, rel)[0] if v.rule not in GATE_EXEMPT]
            found = problems + (links_out(doc, after, rel) if doc.kind != "config" else [])
            if found:
                out += _new(found, self._before(staged, before))
        guard = self.session.repo.guard
        for target, ids in deleted.items():
            for other in after.linking(target, ids):
                if other.path in self.pending:
                    continue  # judged above, as it is staged
                found = links_out(other, after, self.session.repo.rel(other.path))
                if found and guard is not None and not guard.visible(other.kind, other.data):
                    found = [Violation("dangling-link", Text("{kind} {ids} is still "
                                            "linked by a {other} you may not see; whoever may see "
                                            "it has to change it first",
                                                             kind=Text(kinds.SINGULAR[target]),
                                                             ids=', '.join(sorted(ids)),
                                                             other=Text(kinds.SINGULAR[other.kind])),
                                                        None, None)]  # nothing of the hidden record
                out += found
        for other in after.linking("pipelines", edited) if edited else ():
            if other.path in self.pending:
                continue
            rel = self.session.repo.rel(other.path)
            found = [v for v in record(other, after, rel)[0] if v.rule not in GATE_EXEMPT]
            if found:
                out += _new(found, record(other, _State(self.session, False), rel)[0])
        self.reset()
        return out

    def _before(self, staged: Doc, before: bytes | None) -> list[Violation]:
        if not isinstance(before, bytes):
            return []
        from dealcli.storage import yamlcodec

        try:
            data = yamlcodec.loads(before, "")
        except CorruptData:
            return []
        if not isinstance(data, dict):
            return []
        doc = type(staged)(staged.kind, staged.id, staged.path, data, before)
        return own(doc, _State(self.session, False), self.session.repo.rel(staged.path))


def _new(after: list[Violation], before: list[Violation]) -> list[Violation]:
    had = {(v.rule, v.field) for v in before}
    return [v for v in after if (v.rule, v.field) not in had]


def refuse(violations: list[Violation]) -> None:
    """Exit 1 naming each rule, when there is anything to refuse."""
    if violations:
        raise RuleViolation(violations)


def install(session: Session, repo: Repository) -> None:
    # Repository (not annotated yet) declares `rulebook = None`: the ignore goes when it says Gate | None
    repo.rulebook = Gate(session)  # type: ignore[assignment, unused-ignore]
