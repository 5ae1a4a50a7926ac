"""`dealcli check`: every file against its JSON Schema, the model's types and the stage rules.
Validators return Violations carrying file and line; one run collects them all (beancount's
way), so CI sees every problem at once."""

from __future__ import annotations

from dealcli import linkcheck, schemas, stage_rules
from dealcli.errors import CorruptData, FieldError, Violation
from dealcli.model import Deal, Pipeline
from dealcli.session import Session
from dealcli.storage.repository import KINDS, Doc

MODELS = {"deals": Deal, "pipelines": Pipeline}


def _schema_problems(doc: Doc, rel: str, schema_name: str) -> list[Violation]:
    out = []
    validator = schemas.validator(schema_name)
    for err in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        field = ".".join(str(p) for p in path) or "(top level)"
        out.append(Violation("schema", f"{field}: {err.message}", field, None, rel, doc.line_of(path)))
    return out


def line_for(doc: Doc, field: str | None, default: tuple) -> int | None:
    """The line of a Violation's field (a dotted path such as `stages.2.color`) in a file."""
    if not field:
        return doc.line_of(default)
    return doc.line_of(tuple(int(p) if p.isdigit() else p for p in field.split(".")))


def check_doc(s: Session, doc: Doc, kind: str) -> tuple[list[Violation], object | None]:
    rel = s.repo.rel(doc.path)
    name = schemas.SCHEMA_OF_KIND.get(kind)
    problems = _schema_problems(doc, rel, name) if name else []
    model = MODELS.get(kind)
    obj = None
    if model is not None:
        try:
            obj = model.from_dict(doc.data)
        except FieldError as exc:
            if not problems:
                problems.append(Violation("type", str(exc), None, None, rel, doc.line_of(exc.path)))
            return problems, None
    if kind == "recurring" and not problems:
        from dealcli import recurring

        problems += [Violation("recurring", msg, None, None, rel, line) for msg, line in recurring.problems(s, doc)]
    record_id = doc.data.get("id")
    if record_id is not None and str(record_id) != doc.id:
        problems.append(Violation("id-filename", f"id {record_id!r} does not match the file name {doc.id!r}",
                                  "id", record_id, rel, doc.line_of(("id",))))
    return problems, obj


def run(s: Session) -> list[Violation]:
    problems: list[Violation] = []
    repo = s.repo
    try:
        config = repo.config_doc
        problems += _schema_problems(config, "dealcli.yaml", "config")
    except CorruptData as exc:
        problems.append(Violation("yaml", exc.message.split(": ", 1)[-1], None, None, "dealcli.yaml", exc.line))
    loaded: dict[str, list] = {}
    for kind in KINDS:
        errors: list[CorruptData] = []
        for doc in repo.iter_docs(kind, errors):
            found, obj = check_doc(s, doc, kind)
            problems += found
            if obj is not None:
                loaded.setdefault(kind, []).append((doc, obj))
        for exc in errors:
            problems.append(Violation("yaml", exc.message.split(": ", 1)[-1], None, None,
                                      s.repo.rel(exc.path), exc.line))
    pipelines = {p.id: p for _, p in loaded.get("pipelines", [])}
    for doc, pipeline in loaded.get("pipelines", []):
        for v in stage_rules.validate_pipeline(pipeline):
            v.path, v.line = repo.rel(doc.path), line_for(doc, v.field, ("stages",))
            problems.append(v)
    for doc, deal in loaded.get("deals", []):
        for v in stage_rules.validate_deal(deal, pipelines):
            v.path, v.line = repo.rel(doc.path), line_for(doc, v.field, ())
            problems.append(v)
    problems += linkcheck.run(s)
    problems = drop_shadowed(problems)
    problems.sort(key=lambda v: (v.path or "", v.line or 0))
    return problems


def drop_shadowed(problems: list[Violation]) -> list[Violation]:
    """A schema message on the same file and line as a stage-rule or card message says the same
    thing less clearly (a bad colour, an unknown field type): keep the clearer one."""
    ruled = {(v.path, v.line) for v in problems if v.rule != "schema" and v.line}
    return [v for v in problems if v.rule != "schema" or (v.path, v.line) not in ruled]
