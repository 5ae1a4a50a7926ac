"""`dealcli import`: deals (and the companies and contacts they name) from CSV, TSV, JSON, JSONL
or YAML exports of other systems, all-or-nothing.

Two passes over the input, both under the repository lock:
1. validate: every row is mapped, its values read, the deal built and checked by stage_rules
   (and against the deal it updates with --key). Only small state is kept: keys seen, the
   names and emails of clients planned, the evidence for the file's date order. If any row is
   bad, nothing is written and every bad row is listed (`file:line: column: value: problem`).
2. write (or, with --dry-run, report): the input is read again and each deal is built the same
   way and written atomically (create-only for new deals, checked against the bytes read for
   updates), with the companies and contacts it needs just before it.
Memory therefore stays flat however long the file is. Standard input is spooled to a
temporary file first.

Rows are mapped to targets (TARGETS) by --map, then by the --preset's labels, then by the
column's own name; other columns are kept as custom fields only with --keep-unmapped. A
record exported by dealcli itself (it has `format`, `id` and `history`) is taken as it is:
see docs/import.md."""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field

from dealcli import clients, deals, ids, stage_rules, timeutil

from dealcli.importing import read as import_read

from dealcli.importing import native as import_native
from dealcli.importing import rejects as import_rejects
from dealcli.importing import values as import_values
from dealcli.errors import FieldError, NotFound, UsageError, ValidationFailed, dotted, word
from dealcli.importing.presets import PRESETS, Preset, key
from dealcli.importing.values import ValueProblem
from dealcli.model import Deal, Pipeline, ProductRow
from dealcli.session import Session
from dealcli.storage import files

DEAL_TARGETS = ("title", "amount", "currency", "stage", "pipeline", "responsible", "type", "source", "begin",
                "close_date", "closed_at", "created", "probability", "lost_reason", "origin_id")
CLIENT_TARGETS = ("company", "contact", "contact_email", "contact_phone")
PRODUCT_TARGETS = ("product", "product_price", "product_quantity")
STATUS_TARGETS = ("status", "won", "closed", "lost", "deleted")
HISTORY_TARGETS = ("stage_entered",)  # when the deal entered the stage it is in (history only)
TARGETS = DEAL_TARGETS + ("comment",) + CLIENT_TARGETS + PRODUCT_TARGETS + STATUS_TARGETS + HISTORY_TARGETS
KEY_FIELDS = ("origin_id", "title", "id")
DIALECTS = ("csv", "tsv", "mysql")
STATUS_WORDS = {
    "open": "open", "opened": "open", "active": "open", "in progress": "open", "открыта": "open",
    "won": "won", "win": "won", "closed won": "won", "success": "won", "successful": "won", "успешно": "won",
    "lost": "lost", "lose": "lost", "closed lost": "lost", "failed": "lost", "провалена": "lost",
    "deleted": "deleted",
}
WON_STAGES = {"won", "closed won", "win", "success", "сделка успешна", "успешно реализовано"}
LOST_STAGES = {"lost", "lose", "closed lost", "failed", "сделка провалена", "закрыто и не реализовано"}


@dataclass
class ImportOptions:
    source: str
    format: str | None = None
    preset: str | None = None
    maps: list = field(default_factory=list)
    stage_maps: list = field(default_factory=list)
    pipeline_maps: list = field(default_factory=list)  # VALUE=PIPELINE (Bitrix24: CATEGORY_ID or C<n>)
    pipeline: str | None = None
    key: str | None = None
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    dayfirst: bool | None = None
    keep_unmapped: bool = False
    dialect: str | None = None  # csv | tsv | mysql (CSV/TSV only; None: csv, or sniffed for TAB)
    columns: list | None = None  # --no-header --columns a,b,c
    report_file: str | None = None
    value_maps: list = field(default_factory=list)  # COLUMN:VALUE=VALUE
    rejects_file: str | None = None  # import the valid rows; write the refused ones here
    kind: str = "deal"  # deal, or company | contact | product: importing/records.py


@dataclass
class Result:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    companies: int = 0
    contacts: int = 0
    renumbered: int = 0
    dry_run: bool = False
    ignored_columns: list = field(default_factory=list)
    contacts_updated: int = 0
    coerced: dict = field(default_factory=dict)  # (column, target) -> {"count", "example"}
    rejected: int = 0  # rows refused and written to the rejects file (--rejects)
    rejects: list = field(default_factory=list)  # [(rows of a refused group, its problems)]
    rejects_file: str | None = None
    unmapped: dict = field(default_factory=dict)  # column -> {value: rows} nothing maps (stage, status ...)

    def note_coerced(self, column: str | None, target: str, raw, value) -> None:
        shown = _shown(value)
        if shown is None or not isinstance(raw, str) or shown == raw.strip():
            return
        entry = self.coerced.setdefault((column, target), {"count": 0, "example": {"from": raw, "to": shown}})
        entry["count"] += 1

    def report(self, name: str) -> dict:
        """The migration report (`--report FILE`): what each record kind got, what was left out."""
        return {
            "source": name, "rows": self.rows, "dry_run": self.dry_run,
            "records": {
                "deals": {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                          "skipped": self.skipped, "renumbered": self.renumbered},
                "companies": {"created": self.companies},
                "contacts": {"created": self.contacts, "updated": self.contacts_updated},
            },
            "unknown_columns": list(self.ignored_columns),
            "coerced": [{"column": c, "field": t, "count": e["count"], "example": e["example"]}
                        for (c, t), e in self.coerced.items()],
            "rejected_rows": self.rejected,
            "unmapped_values": [{"column": c, "value": v, "rows": n} for c, vs in self.unmapped.items()
                                for v, n in vs.items()],
        }


def about_of(exc) -> tuple | None:
    """(fields, template, values) of a problem about fields (errors.DealcliError.about,
    errors.Violation.of, problem()), or None: what the edge needs to word the fields as options."""
    about = getattr(exc, "about", None)
    if isinstance(about, tuple):
        return about
    if getattr(exc, "template", None) is not None:
        return exc.fields, exc.template, exc.values
    return None


def problem(fields: str | tuple, template: str, **values) -> ValueProblem:
    """A ValueProblem about the import's own parameters (`stage_map`, `key`): its text reads the
    plain field names; the edge words them as the options typed (ImportFailed.lines)."""
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    exc = ValueProblem(word(template, fields, values))
    exc.about = (fields, template, values)
    return exc


class Unknown(ValueProblem):
    """A source value nothing maps (a stage, a pipeline): listed once for the whole file with the
    parameter that maps it (`fields`, worded as problem() does), not once per row."""

    def __init__(self, fields: str | tuple, template: str, once: str, **values):
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        super().__init__(word(template, fields, values))
        self.about = (fields, template, values)
        self.once = once


def _shown(value) -> str | None:
    """A parsed value as text, to compare with the cell it came from."""
    if isinstance(value, tuple):
        value = value[0]
    if isinstance(value, Pipeline):
        value = value.id
    if value is None:
        return None
    if isinstance(value, import_values.Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class Line(str):
    """One line of a failed import. As text it reads plain field names (`stage-map`); when its
    problem is about fields, worded(label) words them as the edge does (`--stage-map`)."""

    head: str = ""
    about: tuple | None = None
    tail: str = ""

    @classmethod
    def of(cls, head: str, text: str, about: tuple | None, tail: str = "") -> Line:
        line = cls(head + text + tail)
        line.head, line.about, line.tail = head, about, tail
        return line

    def worded(self, label=None) -> str:
        if label is None or self.about is None:
            return str(self)
        fields, template, values = self.about
        return self.head + word(template, fields, values, label) + self.tail


class ImportFailed(ValidationFailed):
    """Bad rows: one line each, then a count; nothing was written."""

    def __init__(self, problems: list[str], rows: int | None = None):
        self.problems = problems
        n = len(problems) if rows is None else rows
        super().__init__(f"{n} bad row{'s' if n != 1 else ''}; nothing imported")

    def lines(self, label=None) -> list[str]:
        return [p.worded(label) if isinstance(p, Line) else p for p in self.problems] + [self.message]


class Bad(Exception):
    """A problem with one value of one row; `more` holds the row's other problems."""

    def __init__(self, column: str | None, value, problem: str, line: int | None = None, about: tuple | None = None):
        super().__init__(problem)
        self.column, self.value, self.problem, self.line = column, value, problem, line
        self.about = about  # (fields, template, values) when `problem` is about the import's parameters
        self.more: list[Bad] = []
        self.once: str | None = None  # the same problem on many rows: listed once (unknown stages)

    @classmethod
    def of(cls, column: str | None, value, line: int | None, found) -> Bad:
        """A Bad from a problem found elsewhere (a Violation, a ValueProblem, an error)."""
        text = found.message if hasattr(found, "message") else str(found)
        return cls(column, value, text, line, about_of(found))

    def all(self) -> list[Bad]:
        return [self, *self.more]


def _combined(problems: list[Bad]) -> Bad:
    """One Bad carrying every problem of a row (each column once, in order)."""
    seen, unique = set(), []
    for b in problems:
        for one in b.all():
            k = (one.column, one.problem)
            if k not in seen:
                seen.add(k)
                unique.append(one)
    first = unique[0]
    first.more = unique[1:]
    return first


@dataclass
class Plan:
    action: str  # create | update | unchanged | skip
    deal: Deal | None = None
    doc: object = None
    line: int = 0
    note: str = ""


# -- options ----------------------------------------------------------------------------------------
# Problems about the import's own parameters name them as fields (`map`, `stage_map`, `key` ...:
# the names of `dealcli import`'s options), worded as options only at the edge (issue 11).
def parse_maps(items: list[str], field: str = "map") -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise UsageError.about(field, "{0} {item!r}: expected COLUMN=FIELD", item=item)
        target = target.strip()
        out[" ".join(column.split())] = normalise_target(target, item, field) if target not in ("", "-") else None
    return out


def normalise_target(target: str, item: str, field: str = "map") -> str:
    if target.startswith("fields."):
        name = target[7:].strip()
    else:
        if target in TARGETS:
            return target
        name = target
    if not name or len(name) > 64 or name in ("id", "format", "history", "comments", "products", "fields"):
        raise UsageError.about(field, "{0} {item!r}: {target!r} is not a usable field name", item=item, target=target)
    return "fields." + name


def parse_stage_maps(items: list[str], field: str = "stage_map", shape: str = "VALUE=STAGE") -> dict[str, str]:
    out = {}
    for item in items:
        value, sep, stage = item.rpartition("=")
        if not sep or not value.strip() or not stage.strip():
            raise UsageError.about(field, "{0} {item!r}: expected {shape}", item=item, shape=shape)
        out[key(value)] = stage.strip()
    return out


# -- mapping columns to targets -----------------------------------------------------------------------
class Mapper:
    """Which column feeds which target, for one set of column names."""

    def __init__(self, columns: list[str], explicit: dict, preset: Preset | None, keep_unmapped: bool):
        self.by_target: dict[str, list[str]] = {}
        self.unmapped: list[str] = []
        self.none_values = preset.none_values if preset else {}
        self.names_in_ids = preset.names_in_id_columns if preset else {}
        self.by_name_too: dict[str, str] = {}  # column -> target of its values that are no number
        explicit_keys = {key(c): t for c, t in explicit.items()}
        ranked = []
        for i, column in enumerate(columns):
            if column == import_rejects.REASONS:
                continue  # a rejects file imported again: the reasons are not data
            if column in explicit or key(column) in explicit_keys:
                target = explicit.get(column, explicit_keys.get(key(column)))
                if target is None:
                    continue
                rank = -1
            elif preset and preset.target(column):
                target, rank = preset.target(column), list(preset.columns).index(key(column))
            elif key(column).replace(" ", "_") in TARGETS:
                target, rank = key(column).replace(" ", "_"), 10_000 + i
            elif column.startswith("fields.") and column[7:].strip():  # as `export` names custom fields
                target, rank = "fields." + column[7:].strip(), 10_000 + i
            elif keep_unmapped:
                target, rank = "fields." + column, 10_000 + i
            else:
                self.unmapped.append(column)
                continue
            ranked.append((rank, i, target, column))
            name_target = self.names_in_ids.get(key(column))
            if name_target and rank >= 0:
                self.by_name_too[column] = name_target
                ranked.append((20_000 + i, i, name_target, column))
        for _, _, target, column in sorted(ranked):
            self.by_target.setdefault(target, []).append(column)

    def get(self, values: dict, target: str) -> tuple[str | None, object]:
        """(column, value) of the first non-empty column feeding `target`."""
        for column in self.by_target.get(target, ()):
            value = values.get(column)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                text = str(value).strip()
                if self.none_values and text.removeprefix("'") in self.none_values.get(key(column), ()):
                    continue  # ("'-99": SuiteCRM's formula guard before its base-currency id)
                if column in self.by_name_too and (target == self.by_name_too[column]) == text.isdigit():
                    continue  # an id column holding a name (Bitrix24 ASSIGNED_BY_ID = "Petrov")
                return column, value
        columns = self.by_target.get(target)
        return (columns[0] if columns else None), None

    def has(self, target: str) -> bool:
        return target in self.by_target

    def custom(self) -> list[str]:
        return [t for t in self.by_target if t.startswith("fields.")]


is_native = import_native.is_native


# -- contacts: who is who -----------------------------------------------------------------------------
class People:
    """The contacts of the repository and of this import, found by e-mail, then phone, then by
    name within the same company; never by a bare name across companies. `records` holds each
    contact's data as this import leaves it (every e-mail and phone seen is kept)."""

    def __init__(self, s: Session):
        self.records: dict[str, dict] = {}
        self.docs: dict[str, object] = {}  # existing contacts: the doc to update
        self.by_email: dict[str, str] = {}
        self.by_phone: dict[str, str] = {}
        self.by_name: dict[tuple, list[str]] = {}
        self.region = clients.phone_region(s)  # phones are compared as E.164 (clients.phone_key)
        for doc in s.repo.iter_docs("contacts", errors=[], guarded=False):  # every contact: no duplicates
            data = copy.deepcopy(doc.data)
            self.docs[doc.id] = doc
            self.add(data)

    def add(self, data: dict) -> None:
        cid = data["id"]
        self.records[cid] = data
        for email in data.get("emails") or []:
            self.by_email.setdefault(clients.norm(email), cid)
        for phone in data.get("phones") or []:
            if self._phone_key(phone):
                self.by_phone.setdefault(self._phone_key(phone), cid)
        self.by_name.setdefault((clients.norm(data.get("name")), data.get("company") or ""), []).append(cid)

    def _phone_key(self, phone) -> str | None:
        return clients.phone_key(phone, self.region)

    def find(self, name: str | None, emails: list, phones: list, company: str | None) -> str | None:
        for email in emails:
            if clients.norm(email) in self.by_email:
                return self.by_email[clients.norm(email)]
        for phone in phones:
            if self._phone_key(phone) in self.by_phone:
                return self.by_phone[self._phone_key(phone)]
        if name:
            found = self.by_name.get((clients.norm(name), company or ""), [])
            if len(found) > 1:
                raise ValueProblem(f"several contacts are named {name!r} at this company ({', '.join(found)}); "
                                   "give an e-mail or phone to tell them apart")
            if found:
                return found[0]
        return None

    def merge(self, cid: str, emails: list, phones: list) -> bool:
        """Keep every e-mail and phone seen; True when something was added."""
        data = self.records[cid]
        known_e = {clients.norm(e) for e in data.get("emails") or []}
        known_p = {self._phone_key(p) for p in data.get("phones") or []}
        added = False
        for email in emails:
            if clients.norm(email) not in known_e:
                data.setdefault("emails", []).append(email)
                known_e.add(clients.norm(email))
                self.by_email.setdefault(clients.norm(email), cid)
                added = True
        for phone in phones:
            if self._phone_key(phone) not in known_p:
                data.setdefault("phones", []).append(phone)
                known_p.add(self._phone_key(phone))
                self.by_phone.setdefault(self._phone_key(phone), cid)
                added = True
        return added


# -- the import context -----------------------------------------------------------------------------
class Context:
    """Everything one pass needs. Built fresh for each pass (under the lock nothing else changes)."""

    def __init__(self, s: Session, opts: ImportOptions, source: import_read.Source, fmt: str,
                 dates: import_values.DateReader, writing: bool):
        self.s, self.opts, self.source, self.fmt, self.dates, self.writing = s, opts, source, fmt, dates, writing
        self.source_ref = source_ref(s, opts.source)
        self.preset = PRESETS[opts.preset] if opts.preset else None
        self.explicit = parse_maps(opts.maps)
        self.stage_map = parse_stage_maps(opts.stage_maps)
        self.pipeline_map = parse_stage_maps(opts.pipeline_maps, "pipeline_map", "VALUE=PIPELINE")
        self.pipelines = s.all_pipelines()
        self.default_pipeline = opts.pipeline or s.default_pipeline_id()
        if self.default_pipeline not in self.pipelines:
            raise NotFound(f"pipeline {self.default_pipeline!r}: no such pipeline "
                           f"(pipelines: {', '.join(self.pipelines) or 'none'})")
        self.mappers: dict[tuple, Mapper] = {}
        self.companies = clients.ClientIndex(s, "company")
        self.people = People(s)
        self.new_contacts: list[dict] = []  # in the order this pass creates them
        self.written_contacts: set[str] = set()
        self.prior: Context | None = None  # the checking pass, seen by the writing pass
        self.pending: list[tuple[str, dict]] = []  # clients to write before the next deal
        self.key_field = opts.key
        self.key_index: dict[str, list[str]] = {}
        self.keys_seen: dict[str, int] = {}
        self.ids_seen: set[str] = set()
        self.won: set = set()  # stage_rules.repeat_keys of the won deals, known and imported
        self.result = Result(dry_run=opts.dry_run)
        self.bad_rows = 0
        self.final = False  # the second pass (the one that writes, or reports a dry run)
        self.value_map = import_rejects.parse_value_maps(opts.value_maps)
        self.skip: set[int] = set()  # first lines of the groups refused (--rejects)
        self.rejected: list = []  # the groups left out, in order
        self.reasons: dict[int, list[str]] = {}  # first line of a refused group -> its problems
        self.read_failed = False
        self._scan_repository()

    def _scan_repository(self) -> None:
        if not self.s.repo.ids("deals"):
            return
        for data in self.s.deal_records(errors=[], everyone=True):
            self.won.update(stage_rules.repeat_keys(data))
            if self.key_field:
                value = key_value_of(data, self.key_field)
                if value not in (None, ""):
                    self.key_index.setdefault(str(value), []).append(str(data.get("id")))

    def mapper(self, values: dict) -> Mapper:
        cols = tuple(values)
        found = self.mappers.get(cols)
        if found is None:
            found = self.mappers[cols] = Mapper(list(cols), self.explicit, self.preset, self.opts.keep_unmapped)
            for column in found.unmapped:
                if column not in self.result.ignored_columns:
                    self.result.ignored_columns.append(column)
        return found

    # -- resolution of names --------------------------------------------------------------------------
    def pipeline_for(self, value) -> Pipeline:
        if value is None:
            return self.pipelines[self.default_pipeline]
        text = str(value).strip()
        mapped = self.pipeline_map.get(key(text))
        if mapped is not None:
            if mapped not in self.pipelines:
                raise UsageError.about("pipeline_map", "{0} {text}={mapped}: no such pipeline (pipelines: {known})",
                                       text=text, mapped=mapped, known=", ".join(self.pipelines))
            return self.pipelines[mapped]
        for p in self.pipelines.values():
            if text == p.id or key(text) in (key(p.id), key(p.name)):
                return p
        if self.preset and key(text) in {key(n) for n in self.preset.default_pipelines}:
            return self.pipelines[self.default_pipeline]
        raise Unknown(("pipeline_map", "map"), "no such pipeline (pipelines: {known}); map it with {0} "
                      "{text!r}=PIPELINE, create it, or keep the value as a custom field with {1} "
                      "COLUMN=source_pipeline", f"pipeline {text}", known=", ".join(self.pipelines), text=text)

    def stage_for(self, pipeline: Pipeline, value) -> tuple[str | None, str | None, bool]:
        """(stage id or None, status the value names or None, explicit): what a source stage value
        means in `pipeline`. An explicit --stage-map wins; then the pipeline's own stage ids and
        names, the preset's names, and the words for won and lost (whose stage
        stage_rules.stage_for_status picks)."""
        text = str(value).strip()
        k = key(text)
        code = text
        if self.preset and self.preset.category_stages:
            m = re.fullmatch(r"C(\d+):(.+)", text)
            code = m[2] if m else text
        for candidate in dict.fromkeys((k, key(code))):
            if candidate in self.stage_map:
                return self.stage_map[candidate], None, True
        for st in pipeline.stages:
            if code == st.id or key(code) in (key(st.id), key(st.name)):
                return st.id, None, False
        target = self.preset.stage(code) if self.preset else None
        if target and pipeline.stage(target) is not None:
            return target, None, False
        word = key(code)
        if word in WON_STAGES or (self.preset and word in self.preset.won_stages):
            return None, "won", False
        if word in LOST_STAGES or (self.preset and word in self.preset.lost_stages):
            return None, "lost", False
        stages = ", ".join(st.id for st in pipeline.stages)
        if target:
            raise Unknown("stage_map", "is the preset's stage {target!r}, which is not in pipeline {pipeline!r} "
                          "(stages: {stages}); map it with {0} {text!r}=STAGE", f"stage {pipeline.id} {text}",
                          target=target, pipeline=pipeline.id, stages=stages, text=text)
        raise Unknown("stage_map", "stage is not in pipeline {pipeline!r} (stages: {stages}); map it with {0} "
                      "{text!r}=STAGE", f"stage {pipeline.id} {text}", pipeline=pipeline.id, stages=stages, text=text)

    def pipeline_of_stage(self, value, probe=None) -> Pipeline | None:
        """Bitrix24 stages of extra pipelines carry the pipeline: "C6:NEW" is stage NEW of
        category 6 (--pipeline-map 6=PIPELINE, or a pipeline whose id is 6 or c6). With `probe`
        (and value None): only whether the stage value `probe` names a pipeline (True/False)."""
        text = str(value if probe is None else probe).strip()
        m = re.fullmatch(r"C(\d+):(.+)", text)
        if not (self.preset and self.preset.category_stages) or not m:
            return None if probe is None else False
        if probe is not None:
            return True
        n = m[1]
        for candidate in (n, f"c{n}"):
            if candidate in self.pipeline_map:
                return self.pipeline_for(candidate)
        for p in self.pipelines.values():
            if key(p.id) in (n, f"c{n}") or key(p.name) in (n, f"c{n}"):
                return p
        if key(text) in self.stage_map:  # the whole value mapped, its category not: the default pipeline
            return None
        raise Unknown("pipeline_map", "is a stage of Bitrix24 pipeline (category) {n}, which has no pipeline here; "
                      "map it with {0} {n}=PIPELINE (pipelines: {known})", f"category {n}", n=n,
                      known=", ".join(self.pipelines))

    def company_id(self, name: str) -> str:
        try:
            found = self.companies.find(name=name)
        except NotFound as exc:
            carried = ValueProblem(exc.message)
            carried.about = about_of(exc)
            raise carried from None
        if found:
            return found
        data = clients.new_record(self.s, "company", name)
        self.companies.add(data)
        self.pending.append(("company", data))
        self.result.companies += 1
        return data["id"]

    def contact_id(self, name: str | None, emails: list, phones: list, company: str | None) -> str:
        """The contact a row names (created if new; every e-mail and phone seen is kept). The
        writing pass takes each contact's final e-mails and phones from the checking pass, so a
        contact is written once, complete."""
        people = self.people
        cid = people.find(name, emails, phones, company)
        if cid is None:
            data = clients.new_record(self.s, "contact", name or (emails or phones or [""])[0],
                                      emails=list(emails), phones=list(phones), company=company)
            if self.prior is not None and len(self.new_contacts) < len(self.prior.new_contacts):
                final = self.prior.new_contacts[len(self.new_contacts)]
                data["emails"], data["phones"] = list(final["emails"]), list(final["phones"])
            self.new_contacts.append(data)
            people.add(data)
            self.pending.append(("contact", data))
            self.result.contacts += 1
            return data["id"]
        people.merge(cid, emails, phones)
        if cid in people.docs and cid not in self.written_contacts:
            final = (self.prior.people if self.prior is not None else people).records[cid]
            original = people.docs[cid].data
            if (final.get("emails"), final.get("phones")) != (original.get("emails"), original.get("phones")):
                self.written_contacts.add(cid)
                self.pending.append(("contact-update", (people.docs[cid], final)))
                self.result.contacts_updated += 1
        return cid


def key_value_of(data: dict, key_field: str):
    if key_field in KEY_FIELDS:
        return data.get(key_field)
    name = key_field[7:] if key_field.startswith("fields.") else key_field
    return (data.get("fields") or {}).get(name)


# -- one group of rows -> one planned deal -----------------------------------------------------------
def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Reading:
    """Read the values of one group of rows, raising Bad naming the column and value."""

    def __init__(self, ctx: Context, rows: list[import_read.Row]):
        self.ctx, self.rows, self.first = ctx, rows, rows[0]
        self.m = ctx.mapper(rows[0].values)
        self.given: set[str] = set()
        self.problems: list[Bad] = []
        self.counted: set = set()  # (column, value) noted as unmapped
        self.noted: set = set()  # (column, target, line) noted as coerced

    def raw(self, target: str, row: import_read.Row | None = None):
        column, value = self.m.get((row or self.first).values, target)
        if value is not None:
            self.given.add(target)
        return column, value

    def read(self, target: str, parse, row: import_read.Row | None = None):
        column, value = self.raw(target, row)
        if value is None:
            return None
        try:
            out = parse(value)
        except ValueProblem as exc:
            # noted, and the row goes on being read: every problem of a row is listed
            if target in UNMAPPED_TARGETS and not self.ctx.final and isinstance(value, str) \
                    and (column, value) not in self.counted:
                self.counted.add((column, value))  # a row reads its status twice
                seen = self.ctx.result.unmapped.setdefault(column, {})
                seen[value.strip()] = seen.get(value.strip(), 0) + 1
            bad = Bad.of(column, value, (row or self.first).line, exc)
            bad.once = getattr(exc, "once", None)
            self.problems.append(bad)
            return None
        cell = (column, target, (row or self.first).line)
        if self.ctx.final and cell not in self.noted and not (target != "pipeline" and isinstance(out, Pipeline)):
            # each cell once (a row reads its status twice), and as stored (C6:NEW's pipeline is no stage)
            self.noted.add(cell)
            self.ctx.result.note_coerced(column, target, value, out)
        return out

    def text(self, target: str, limit: int = 500):
        def parse(v):
            if isinstance(v, (dict, list)):
                raise ValueProblem("expected text")
            t = _text(v)
            if t and len(t) > limit:
                raise ValueProblem(f"is too long ({len(t)} characters, limit {limit})")
            return t
        return self.read(target, parse)

    def when(self, target: str):
        where = f"line {self.first.line}"
        return self.read(target, lambda v: self.ctx.dates.parse(v, where))


def currency_code(value) -> str:
    text = str(value).strip()
    m = re.search(r"\(([A-Za-z]{3})\)\s*$", text)  # "US Dollar (USD)"
    if m:
        return m[1].upper()
    if re.fullmatch(r"[A-Za-z]{3}", text):
        return text.upper()
    code = import_values.SYMBOLS.get(text.casefold())
    if code:
        return code
    raise ValueProblem("is not a currency code (3 letters like EUR)")


_NAME_EMAIL = re.compile(r"^(?P<name>.*?)\s*[(<](?P<email>[^()<>\s]+@[^()<>\s]+)[)>]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def split_contact(text: str | None) -> tuple[str | None, str | None]:
    """"Ann Lee (ann@x.example)" or "Ann Lee <ann@x.example>" -> name and email; an email alone
    is an email."""
    if not text:
        return None, None
    m = _NAME_EMAIL.match(text)
    if m:
        return m["name"] or None, m["email"]
    if _EMAIL.match(text):
        return None, text
    return text, None


def _status_word(value) -> str:
    word = STATUS_WORDS.get(key(value))
    if word is None:
        raise ValueProblem("is not a status (open, won, lost)")
    return word


def _bool(value):
    return import_values.parse_bool(value)


def _quantity(value):
    amount, _ = import_values.parse_amount(value)
    if amount is not None and amount < 0:
        raise ValueProblem("cannot be negative")
    return amount


def plan_generic(ctx: Context, rows: list[import_read.Row]) -> Plan:
    r = Reading(ctx, rows)
    try:
        plan = _plan_generic(ctx, rows, r)
    except Bad as exc:
        raise _combined(r.problems + [exc]) from None
    if r.problems:
        raise _combined(r.problems)
    return plan


_SPLIT_EMAILS = re.compile(r"\s*[,;/]\s*|\s+")
_SPLIT_PHONES = re.compile(r"\s*[,;]\s*|\s+/\s+")


def split_values(text, pattern=_SPLIT_EMAILS) -> list[str]:
    """A multi-value cell: "a@x.example / b@x.example", "a@x, b@x", "a@x; b@x"."""
    return [v for v in pattern.split(str(text).strip()) if v]


def _read_many(value, pattern, check, problem: str) -> list[str]:
    """Every value of a multi-value cell, each checked as the CLI checks it; all bad ones named."""
    out, bad = [], []
    for part in split_values(value, pattern):
        try:
            out.append(check(part))
        except UsageError:
            bad.append(part)
    if bad:
        raise ValueProblem(problem.format(", ".join(repr(b) for b in bad)))
    return out


def read_emails(value) -> list[str]:
    return _read_many(value, _SPLIT_EMAILS, clients.check_email,
                      "not an e-mail address: {} (expected name@example.com)")


def read_phones(value) -> list[str]:
    return _read_many(value, _SPLIT_PHONES, clients.check_phone, "not a phone number: {} (digits, spaces, + ( ) . -)")


def _plan_generic(ctx: Context, rows: list[import_read.Row], r: Reading) -> Plan:
    s = ctx.s
    line = rows[0].line
    if r.read("deleted", _bool) or r.read("status", _status_word) == "deleted":
        return Plan("skip", line=line, note="deleted in the source")
    stage_col, stage_raw = r.raw("stage")
    before = len(r.problems)
    pipeline = r.read("stage", ctx.pipeline_of_stage) if ctx.pipeline_of_stage(None, stage_raw) \
        else r.read("pipeline", ctx.pipeline_for)
    if len(r.problems) > before:
        raise _combined(r.problems)  # no pipeline: its stages cannot be read
    pipeline = pipeline or ctx.pipelines[ctx.default_pipeline]
    stage_id, stage_status, explicit = r.read("stage", lambda v: ctx.stage_for(pipeline, v)) or (None, None, False)
    declared = r.read("status", _status_word)
    won, lost, closed = r.read("won", _bool), r.read("lost", _bool), r.read("closed", _bool)
    if explicit and declared is None and not won and not lost:
        closed = None  # an explicit --stage-map wins over a closed flag (CLOSED=Y): the stage says
    if declared is None:
        if won:
            declared = "won"
        elif lost or (closed and won is not None) or (closed and not won and stage_id is None
                                                       and stage_status is None):
            declared = "lost"
        elif closed and stage_id is not None:
            known = pipeline.stage(stage_id)
            declared = "won" if known is not None and stage_rules.status_for(known) == "won" else "lost"
        else:
            declared = stage_status
    elif stage_status and declared != stage_status:
        raise Bad(stage_col, stage_raw, f"says {stage_status} but the status column says {declared}", line)
    stage = pipeline.stage(stage_id) if stage_id else None
    if stage_id and stage is None:
        raise Bad.of(stage_col, stage_raw, line, problem(
            "stage_map", "maps to stage {stage!r}, which is not in pipeline {pipeline!r}; map it with {0} "
            "{text!r}=STAGE", stage=stage_id, pipeline=pipeline.id, text=str(stage_raw).strip()))
    stage, refused = stage_rules.stage_for_status(pipeline, stage, declared)
    if refused:
        raise Bad.of(stage_col, stage_raw, line, refused)

    amount, amount_currency = r.read("amount", import_values.parse_amount) or (None, None)
    currency = r.read("currency", currency_code) or amount_currency or s.currency
    created = r.when("created")
    entered = r.when("stage_entered")
    closed_at = r.when("closed_at")
    begin, close_date = r.when("begin"), r.when("close_date")
    probability = r.read("probability", lambda v: import_values.parse_percent(
        v, bool(ctx.preset and ctx.preset.probability_fraction)))

    products = []
    for row in rows:
        name = r.read("product", lambda v: _text(v), row)
        if not name:
            continue
        price = r.read("product_price", lambda v: import_values.parse_amount(v)[0], row)
        qty = r.read("product_quantity", _quantity, row)
        qty = Decimal1 if qty is None else qty
        if price is None:
            row_amount = r.read("amount", lambda v: import_values.parse_amount(v)[0], row)
            if ctx.preset and ctx.preset.amount_is_row_total and row_amount is not None and qty:
                price = row_amount / qty
                price = price.quantize(Decimal1 / 100) if price.as_tuple().exponent < -6 else price
            elif len(rows) == 1 and row_amount is not None and qty == 1:
                price = row_amount
            else:
                price = Decimal0
        products.append(ProductRow(name=name[:500], price=price, quantity=qty))

    company_name = r.text("company")
    contact_raw = r.text("contact", 2000)
    emails = r.read("contact_email", read_emails) or []
    phones = r.read("contact_phone", read_phones) or []
    contact_col, _ = r.raw("contact")
    names = [n.strip() for n in contact_raw.split(ctx.preset.multi_sep)] if contact_raw and ctx.preset \
        and ctx.preset.multi_sep else ([contact_raw] if contact_raw else [])
    people = []  # (name, emails) of each contact the row names
    for n in [n for n in names if n]:
        name, own = split_contact(n)
        own_emails = []
        if own:
            try:
                own_emails = read_emails(own)
            except ValueProblem as exc:
                r.problems.append(Bad.of(contact_col, n, line, exc))
        people.append((name, own_emails))
    if r.problems:
        raise _combined(r.problems)
    try:
        company = ctx.company_id(company_name) if company_name else None
        contacts = []
        if people or emails or phones:
            for i, (n, own_emails) in enumerate(people or [(None, [])]):
                cid = ctx.contact_id(n, own_emails + (emails if i == 0 else []), phones if i == 0 else [], company)
                if cid not in contacts:
                    contacts.append(cid)
    except ValueProblem as exc:
        column, value = r.raw("company") if company_name else r.raw("contact")
        raise Bad.of(column, value, line, exc) from None
    names = [p[0] or (p[1][0] if p[1] else None) for p in people]
    email = emails[0] if emails else None

    title = r.text("title")
    if not title:
        parts = [p for p in (company_name, names[0] if names else email, products[0].name if products else None)
                 if p]
        origin = r.text("origin_id")
        title = " - ".join(parts[:2]) if parts else (f"Deal {origin}" if origin else
                                                      f"{ctx.source.name} line {line}")

    deal = Deal(id=ids.new_id(), title=title, pipeline=pipeline.id, stage=stage.id, currency=currency)
    deal.products = products
    if amount is not None and not (products and ctx.preset and ctx.preset.amount_is_row_total):
        deal.amount = amount
        deal.manual_amount = not products or amount != deal.products_total()
    else:
        deal.recompute_amount()
    deal.company, deal.contacts = company, contacts
    deal.type, deal.source = r.text("type"), r.text("source")
    deal.responsible = r.text("responsible") or s.user
    deal.lost_reason, deal.origin_id = r.text("lost_reason", 2000), r.text("origin_id")
    deal.created_by = s.user
    deal.created = created[0] if created else s.now
    deal.modified = s.now
    deal.begin = import_values.to_date(begin[0], s.tz) if begin else deal.created.astimezone(s.tz).date()
    deal.close_date = import_values.to_date(close_date[0], s.tz) if close_date else None
    closed_when = closed_at or close_date  # (when, has_time): a date alone denotes its whole day
    deal.probability = probability  # None: the stage's (stage_rules.transition)
    for target in r.m.custom():
        column, value = r.m.get(rows[0].values, target)
        if value is not None:
            r.given.add(target)
            deal.fields[target[7:]] = value.strip() if isinstance(value, str) else value
    comment = r.text("comment", 100_000)
    return finish(ctx, deal, r.given, comment, line, pipeline, stage_col or "stage", closed_when,
                  entered[0] if entered else None)


Decimal0 = import_values.Decimal(0)
Decimal1 = import_values.Decimal(1)

# which deal attributes each target sets, for updates (--key)
ATTRS = {"title": "title", "amount": "amount", "currency": "currency", "pipeline": "pipeline",
         "responsible": "responsible", "type": "type", "source": "source", "begin": "begin",
         "close_date": "close_date", "probability": "probability",
         "lost_reason": "lost_reason", "origin_id": "origin_id", "company": "company"}


def finish(ctx: Context, deal: Deal, given: set[str], comment: str | None, line: int, pipeline: Pipeline,
           stage_column: str, closed_when: tuple | None = None, entered: dt.datetime | None = None) -> Plan:
    """`closed_when`: (when, has_time) the source says the deal closed (used if it is closed);
    `entered`: when it entered its stage. See source_history."""
    s = ctx.s
    if ctx.key_field:
        value = key_value_of(deal.to_dict(), ctx.key_field)
        if value in (None, ""):
            raise Bad.of(ctx.key_field, None, line, _key_empty(ctx))
        value = str(value)
        if value in ctx.keys_seen:
            raise Bad(ctx.key_field, value, f"the same key is already on line {ctx.keys_seen[value]}", line)
        ctx.keys_seen[value] = line
        matches = ctx.key_index.get(value, [])
        if len(matches) > 1:
            raise Bad(ctx.key_field, value, f"several deals have this key: {', '.join(matches)}", line)
        if matches:
            return plan_update(ctx, matches[0], deal, given, comment, line, closed_when)
    violations = source_history(ctx, deal, pipeline, line, closed_when[0] if closed_when else None, entered)
    if violations:
        raise _violations(violations, stage_column, line)
    bad = stage_rules.validate_deal(deal, ctx.pipelines)
    if bad:
        raise _violations(bad, stage_column, line)
    deal.repeat = stage_rules.is_repeat(deal.company, deal.contacts, ctx.won)
    _remember_won(ctx, deal)
    if comment:
        deal.comments.append({"at": timeutil.iso(s.now), "by": s.user, "text": comment})
        deal.history.append(deals.event(s, "commented", text=comment))
    return Plan("create", deal, None, line)


def source_history(ctx: Context, deal: Deal, pipeline: Pipeline, line: int, closed: dt.datetime | None,
                   entered: dt.datetime | None) -> list:
    """The history of a new deal as the source tells it, so that durations, time in stage,
    `--as-of` and revenue by month see the deal's past and not the import's moment:
    - `created` at the deal's `created` (the source's, else now), noting the file (relative to
      the repository), the line and, when that is not now, when it was imported;
    - a closed deal created before its close: created in the pipeline's first stage (the source
      does not say which stage it closed from), then moved and closed at its close time;
    - an open deal that entered its stage after it was created (`stage_entered`): created in the
      first stage, then moved at that time;
    - a closed deal without a close time keeps closed_at empty: unknown, never the import's moment.
    Returns the rules the deal breaks (empty when all is well)."""
    s = ctx.s
    final = deal.stage
    note = {"imported": f"{ctx.source_ref}:{line}"}
    if deal.created != s.now:
        note["imported_at"] = timeutil.iso(s.now)
    status = stage_rules.status_for(pipeline.stage(final))
    later = closed if status != "open" else entered
    first, probability = pipeline.first.id, deal.probability
    steps = [(final, deal.created, "create")]
    if later is not None and later > deal.created and final != first:
        steps = [(first, deal.created, "create"), (final, later, "import")]
    for stage_id, when, verb in steps:
        start = len(deal.history)
        t = stage_rules.transition(deal, pipeline, stage_id, verb, now=when, closed_at=closed or when,
                                   note=note if verb == "create" else None,
                                   reason=deal.lost_reason if status == "lost" else None)
        if t.violations:
            return t.violations
        deals.apply_transition(s, deal, t)
        for event in deal.history[start:]:
            event["at"] = timeutil.iso(when)
    if status != "open" and closed is None:
        deal.closed_at = None
    if probability is not None:  # the source's, not the stage's
        deal.probability = probability
    return []


def source_ref(s: Session, ref: str) -> str:
    """The input file as history names it: relative to the repository (records are tracked by
    git and shared: an absolute path says nothing on another machine and leaks a home folder)."""
    import os

    if ref == "-":
        return "<stdin>"
    return os.path.relpath(os.path.abspath(ref), os.path.abspath(s.repo.root))


def _key_empty(ctx: Context) -> ValueProblem:
    return problem("key", "the {0} field {field!r} is empty", field=ctx.key_field)


def _violations(found: list, stage_column: str, line: int) -> Bad:
    """Every rule a row breaks, as one Bad."""
    return _combined([Bad.of(stage_column if v.field in ("stage", "status") else v.field, v.value, line, v)
                      for v in found])


def _remember_won(ctx: Context, deal: Deal) -> None:
    ctx.won.update(stage_rules.repeat_keys({"status": deal.status, "company": deal.company,
                                            "contacts": deal.contacts}))


def _comparable(deal: Deal) -> dict:
    out = deal.to_dict()
    out.pop("modified", None)
    out.pop("history", None)
    return out


def plan_update(ctx: Context, deal_id: str, new: Deal, given: set[str], comment: str | None,
                line: int, closed_when=None) -> Plan:
    s = ctx.s
    try:
        existing, doc = s.load_deal(deal_id)
    except NotFound:
        raise Bad(ctx.key_field, deal_id, "the deal with this key was deleted meanwhile", line) from None
    before = copy.deepcopy(existing)
    after = existing
    events: list[dict] = []
    for target, attr in ATTRS.items():
        if target in given or (target == "amount" and new.products and "product" in given):
            setattr(after, attr, getattr(new, attr))
    if "amount" in given or "product" in given:
        after.manual_amount = new.manual_amount
    if "product" in given:
        after.products = new.products
    for cid in new.contacts:
        if cid not in after.contacts:
            after.contacts.append(cid)
    for name, value in new.fields.items():
        after.fields[name] = value
    stage_given = bool(given & {"stage", "status", "won", "lost", "closed"})
    pipeline = ctx.pipelines[after.pipeline]
    if before.pipeline != after.pipeline:
        events.append(deals.event(s, "pipeline_changed", **{"from": before.pipeline, "to": after.pipeline}))
    if stage_given and (new.stage != before.stage or before.pipeline != after.pipeline):
        t = stage_rules.transition(after, pipeline, new.stage, "import", now=s.now,
                                   closed_at=closed_when[0] if closed_when else None)
        if t.violations:
            raise Bad("stage", new.stage, t.violations[0].message, line)
        deals.apply_transition(s, after, t)
    elif after.is_closed and "closed_at" in given and not same_moment(after.closed_at, closed_when, s.tz):
        after.closed_at = closed_when[0]
    if comment and comment not in [c.get("text") for c in after.comments]:
        after.comments.append({"at": timeutil.iso(s.now), "by": s.user, "text": comment})
        events.append(deals.event(s, "commented", text=comment))
    if _comparable(before) == _comparable(after):
        return Plan("unchanged", before, doc, line)
    if before.is_closed:
        changed = [k for k, v in _comparable(after).items() if _comparable(before).get(k) != v]
        raise Bad(ctx.key_field, key_value_of(before.to_dict(), ctx.key_field), f"deal {deal_id} is closed "
                  f"({before.status}) and the row changes {', '.join(changed)}; reopen it first", line)
    bad = stage_rules.check_required(after, pipeline, after.stage) + stage_rules.validate_deal(after, ctx.pipelines)
    if bad:
        raise Bad.of(bad[0].field, bad[0].value, line, bad[0])
    after.history.extend(deals.diff_events(s, before, after))
    after.history.extend(events)
    after.modified = s.now
    _remember_won(ctx, after)
    return Plan("update", after, doc, line)


def same_moment(stored: dt.datetime | None, given: tuple | None, tz) -> bool:
    """Whether a stored time is what the source's value denotes: the same instant, or, for a
    date without a time (Maven's `close_date`), any time on that day in the repository's zone."""
    if given is None or stored is None:
        return given is None and stored is None
    when, has_time = given
    if has_time:
        return stored == when
    return stored.astimezone(tz).date() == when.astimezone(tz).date()


def plan_native(ctx: Context, row: import_read.Row) -> Plan:
    """A deal record exported by dealcli: taken as it is (type-checked and validated); a flat
    CSV/TSV row of `export` is first unflattened (importing/native.py)."""
    if import_native.is_flat(row.values):
        row = import_read.Row(row.line, import_native.unflatten(row.values, lambda p, n, v: _card_value(ctx, p, n, v,
                                                                                                        row.line)))
    try:
        deal = Deal.from_dict(row.values)
    except FieldError as exc:
        value = row.values
        for part in exc.path:
            value = value.get(part) if isinstance(value, dict) else (
                value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else None)
        raise Bad(dotted(exc.path), value, exc.message, row.line) from None
    bad = stage_rules.validate_deal(deal, ctx.pipelines)
    if bad:
        raise Bad.of(bad[0].field, bad[0].value, row.line, bad[0])
    if ctx.key_field:
        value = key_value_of(deal.to_dict(), ctx.key_field)
        if value in (None, ""):
            raise Bad.of(ctx.key_field, None, row.line, _key_empty(ctx))
        value = str(value)
        if value in ctx.keys_seen:
            raise Bad(ctx.key_field, value, f"the same key is already on line {ctx.keys_seen[value]}", row.line)
        ctx.keys_seen[value] = row.line
        matches = ctx.key_index.get(value, [])
        if len(matches) > 1:
            raise Bad(ctx.key_field, value, f"several deals have this key: {', '.join(matches)}", row.line)
        if matches:
            existing, doc = ctx.s.load_deal(matches[0])
            deal.id = existing.id
            if _comparable(existing) == _comparable(deal):
                return Plan("unchanged", existing, doc, row.line)
            deal.history.extend(deals.diff_events(ctx.s, existing, deal))
            deal.modified = ctx.s.now
            return Plan("update", deal, doc, row.line)
    _check_links(ctx, deal, row.line)
    if not ids.is_slug(deal.id) or deal.id in ctx.ids_seen or ctx.s.repo.exists("deals", deal.id):
        deal.id = ids.new_id()
        ctx.result.renumbered += 1
    ctx.ids_seen.add(deal.id)
    return Plan("create", deal, None, row.line)


def _check_links(ctx: Context, deal: Deal, line: int) -> None:
    """An exported record names its company and contacts by id: ids this repository lacks would
    be dangling links, which the write gate refuses (issue 23), so such a row is a bad row named
    by its line (set aside by `rejects`, like any other)."""
    missing = []
    if deal.company and not ctx.s.repo.exists("companies", deal.company):
        missing.append(f"company {deal.company}")
    missing += [f"contact {c}" for c in deal.contacts if not ctx.s.repo.exists("contacts", c)]
    if missing:
        text = f"links to {', '.join(missing)}, which this repository does not have"
        raise Bad.of("company" if missing[0].startswith("company") else "contacts", None, line, ValueProblem(
            f"{text} (import the companies and contacts first) [dangling-link]"))


def _card_value(ctx: Context, pipeline_id, name: str, text: str, line: int):
    """A flat export's custom field typed by the pipeline's card (free fields stay text)."""
    from dealcli import cards
    from dealcli.errors import RuleViolation

    pipeline = ctx.pipelines.get(pipeline_id) if isinstance(pipeline_id, str) else None
    if pipeline is None:
        return text
    try:
        return cards.coerce(pipeline, name, text, ctx.s)
    except RuleViolation as exc:
        raise Bad.of(f"fields.{name}", text, line, exc.violations[0]) from None


# -- the passes ---------------------------------------------------------------------------------------
def _groups(ctx: Context, rows):
    """Consecutive rows of one deal (one row per product row) as one group."""
    current: list = []
    current_key = None
    for row in rows:
        k = None
        if not is_native(row.values):
            m = ctx.mapper(row.values)
            if m.has("product") and (ctx.preset and ctx.preset.group_rows or m.has("origin_id")):
                target = "origin_id" if not ctx.key_field or ctx.key_field in ("id", "title") else (
                    ctx.key_field if ctx.key_field in TARGETS else "fields." + ctx.key_field.removeprefix("fields."))
                _, value = m.get(row.values, target)
                k = _text(value)
        if current and k is not None and k == current_key:
            current.append(row)
            continue
        if current:
            yield current
        current, current_key = [row], k
    if current:
        yield current


def _records(ctx: Context, errors: list):
    rows = import_read.records(ctx.source, ctx.fmt, ctx.opts.delimiter, errors, ctx.opts.dialect, ctx.opts.columns)
    return import_rejects.map_values(rows, ctx.value_map) if ctx.value_map else rows


SHOWN_LINES = 5  # the first lines a problem of many rows names


def _pass(ctx: Context, on_plan, progress=None) -> list[str]:
    """Plan every group; problems as `file:line: column: value: problem` lines. The same
    problem on many rows (an unknown stage, a status nothing maps, one bad value repeated) is
    listed once, on its first line, with the number of rows and their first lines. The groups
    whose first line is in ctx.skip (refused by the checking pass, --rejects) are left out and
    kept in ctx.rejected with their reasons."""
    read_errors: list = []
    same: dict = {}  # one problem -> [first line, lines, Bad]
    name = ctx.source.name
    n = 0
    for group in _groups(ctx, _records(ctx, read_errors)):
        n += len(group)
        if progress and n % 500 < len(group):
            progress(ctx.source.bytes_read, ctx.source.size)
        if group[0].line in ctx.skip:
            ctx.rejected.append(group)
            continue
        try:
            plan = plan_native(ctx, group[0]) if is_native(group[0].values) else plan_generic(ctx, group)
        except Bad as exc:
            for one in exc.all():
                line = one.line or group[0].line
                k = one.once or (one.column, str(one.value), one.problem)
                entry = same.setdefault(k, [line, [], one])
                if not entry[1] or entry[1][-1] != line:
                    entry[1].append(line)
                ctx.reasons.setdefault(group[0].line, []).append(f"line {line}: {_cell(one)}{one.problem}")
            continue
        on_plan(ctx, plan)
    problems: list = [(err.line, _problem(name, err.line, err)) for err in read_errors]
    for line, lines, one in same.values():
        shown = ", ".join(str(x) for x in lines[:SHOWN_LINES]) + (
            f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")
        problems.append((line, _problem(name, line, one, f" ({len(lines)} rows from here on: lines {shown})"
                                        if len(lines) > 1 else "")))
    problems.sort(key=lambda p: p[0])  # stable: a row's problems stay in column order
    ctx.result.rows = n
    ctx.read_failed = bool(read_errors)
    ctx.bad_rows = len({line for line, _ in problems} | {x for _, lines, _ in same.values() for x in lines})
    return [text for _, text in problems]


def _problem(name: str, line: int, bad, tail: str = "") -> Line:
    """`file:line: column: value: problem` of a Bad (or a reading error with the same parts)."""
    return Line.of(f"{name}:{line}: {_cell(bad)}", bad.problem, getattr(bad, "about", None), tail)


def _cell(bad) -> str:
    """`column: 'value': ` of a problem (the value shortened to one line)."""
    where = f"{bad.column or '(row)'}: "
    if bad.value is not None:
        text = bad.value if isinstance(bad.value, str) else repr(bad.value)
        text = " ".join(text.split())
        if len(text) > 60:
            text = text[:57] + "..."
        where += f"{text!r}: "
    return where


def run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    """Import `opts.source`. `report(action, plan)` is called for each deal in the second pass
    (created / updated / unchanged / skipped); `progress(phase, done, total)` now and then."""
    from dealcli import access

    if opts.report_file:  # refused before anything is imported (storage/files.outside)
        files.outside(s.repo.root, opts.report_file, "report_file")
    with access.purpose(s, "import"):  # with users: new records need the import right
        return _run(s, opts, report, progress)


def check_options(opts: ImportOptions) -> None:
    """Refuse ImportOptions no import can run with (a usage error about the field, whoever the
    caller is: the CLI words it as the option, e.g. `--preset`); normalises delimiter and columns."""
    from dealcli.importing.records import KINDS

    if opts.kind not in KINDS:
        raise UsageError.about("kind", "{0} {value!r}: expected one of {known}", value=opts.kind,
                               known=", ".join(KINDS))
    if opts.key and opts.key not in KEY_FIELDS and not opts.key.strip():
        raise UsageError.about("key", "{0}: empty field name")
    if opts.format and opts.format not in import_read.FORMATS:
        raise UsageError.about("format", "{0} {value!r}: expected one of {known}", value=opts.format,
                               known=", ".join(import_read.FORMATS))
    if opts.preset and opts.preset not in PRESETS:
        raise UsageError.about("preset", "{0} {value!r}: expected one of {known}", value=opts.preset,
                               known=", ".join(PRESETS))
    if opts.delimiter is not None:
        opts.delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(opts.delimiter, opts.delimiter)
        if len(opts.delimiter) != 1:
            raise UsageError.about("delimiter", "{0} {value!r}: expected one character (or \\t)",
                                   value=opts.delimiter)
    if opts.dialect and opts.dialect not in DIALECTS:
        raise UsageError.about("dialect", "{0} {value!r}: expected one of {known}", value=opts.dialect,
                               known=", ".join(DIALECTS))
    if opts.columns is not None:
        opts.columns = [c.strip() for c in opts.columns]
        if not opts.columns or not all(opts.columns):
            raise UsageError.about("columns", "{0}: expected names separated by commas (title,amount,...)")


def _run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    check_options(opts)
    source = import_read.Source(opts.source, opts.encoding)
    try:
        if opts.rejects_file:
            files.refuse_inside(opts.rejects_file, s.repo.root, "rejects_file")
        fmt = opts.format or source.guess_format()
        with s.repo.transaction():
            result = _run_locked(s, opts, source, fmt, report, progress)
        if opts.rejects_file:
            import_rejects.write(opts.rejects_file, s.repo.root, fmt, source, opts, result.rejects)
            result.rejects_file = opts.rejects_file
        return result
    finally:
        source.close()


def _run_locked(s: Session, opts: ImportOptions, source, fmt: str, report, progress) -> Result:
    order = opts.dayfirst  # else the repository's date_order, else decided by the file
    if order is None and s.date_order:
        order = s.date_order == "dayfirst"
    dates = import_values.DateReader(s.tz, order)
    check = Context(s, opts, source, fmt, dates, writing=False)
    if fmt in ("csv", "tsv"):
        _check_explicit_columns(check)
        if not opts.keep_unmapped:  # --keep-unmapped: the user takes every column as a custom field
            _check_header(check)
    if order is None:
        try:
            order = _date_order(check)
        except import_values.AmbiguousDates as exc:
            raise exc.error(UsageError, source.name) from None
        except import_values.MixedDates as exc:
            raise ImportFailed([Line.of(f"{source.name}: ", str(exc), about_of(exc))]) from None
    check.dates = import_values.DateReader(s.tz, order)
    checking = progress and (lambda done, total: progress("checking", done, total))
    problems = _pass(check, lambda ctx, plan: ctx.pending.clear(), checking)
    unmapped, skip, reasons = check.result.unmapped, set(), {}
    # --rejects: check again without the refused rows until every row left is good (a row can be
    # refused only because of a refused one: a key it repeats). Unreadable input stops it all.
    while problems and opts.rejects_file and not check.read_failed:
        skip |= set(check.reasons)
        reasons.update(check.reasons)
        check = Context(s, opts, source, fmt, import_values.DateReader(s.tz, order), writing=False)
        check.skip = set(skip)
        problems = _pass(check, lambda ctx, plan: ctx.pending.clear(), checking)
    if problems:
        raise ImportFailed(problems + (_unmapped_lines(source.name, unmapped) if opts.dry_run else []),
                           check.bad_rows)

    ctx = Context(s, opts, source, fmt, import_values.DateReader(s.tz, order), writing=not opts.dry_run)
    ctx.final = True
    ctx.prior = check
    ctx.skip, ctx.reasons = skip, reasons

    def apply(ctx: Context, plan: Plan) -> None:
        res = ctx.result
        if not opts.dry_run:
            for which, data in ctx.pending:
                if which == "contact-update":
                    doc, final = data
                    s.repo.update(doc, final)
                else:
                    s.repo.create(clients.KIND_OF[which], data["id"], data)
        ctx.pending.clear()
        if plan.action == "create":
            res.created += 1
            if not opts.dry_run:
                s.save_deal(plan.deal, None)  # through the stage automation
        elif plan.action == "update":
            res.updated += 1
            if not opts.dry_run:
                s.save_deal(plan.deal, plan.doc)
        elif plan.action == "unchanged":
            res.unchanged += 1
        else:
            res.skipped += 1
        if report:
            report(plan.action, plan)

    late = _pass(ctx, apply, progress and (lambda done, total: progress("writing", done, total)))
    if late:  # cannot happen unless the input changed between the passes
        raise ImportFailed(late)
    ctx.result.rows = check.result.rows
    ctx.result.unmapped = unmapped
    ctx.result.rejected = sum(len(group) for group in ctx.rejected)
    ctx.result.rejects = [(group, ctx.reasons.get(group[0].line, [])) for group in ctx.rejected]
    return ctx.result


def _unmapped_lines(name: str, unmapped: dict) -> list[Line]:
    """The distinct values nothing maps, per column, with the parameter that maps them."""
    out = []
    for column, values in unmapped.items():
        shown = ", ".join(f"{v!r} ({n} row{'s' if n != 1 else ''})" for v, n in list(values.items())[:20])
        more = f" and {len(values) - 20} more" if len(values) > 20 else ""
        template = "values nothing maps: {shown}; map them with {0} '{column}:VALUE=VALUE'"
        values = {"shown": shown + more, "column": column}
        out.append(Line.of(f"{name}: {column}: ", word(template, ("value_map",), values),
                           (("value_map",), template, values)))
    return out


DATE_TARGETS = ("created", "closed_at", "begin", "close_date", "stage_entered")
UNMAPPED_TARGETS = ("stage", "pipeline", "status", "currency")  # a value nothing maps: listed by --dry-run


def _date_order(ctx: Context) -> bool | None:
    """Read only the date columns once to decide whether the file's numeric dates are
    day-first or month-first (before any deal is built, so that comparisons are right)."""
    errors: list = []
    for row in _records(ctx, errors):
        if is_native(row.values):
            continue
        m = ctx.mapper(row.values)
        for target in DATE_TARGETS:
            for column in m.by_target.get(target, ()):
                try:
                    ctx.dates.parse(row.values.get(column), f"line {row.line}")
                except ValueProblem:
                    pass  # reported by the checking pass
    return ctx.dates.decide()


def _check_explicit_columns(ctx: Context) -> None:
    """--map names a column the CSV header does not have: a usage error, not a silent no-op."""
    if not ctx.explicit:
        return
    errors: list = []
    for row in _records(ctx, errors):
        columns = {key(c) for c in row.values}
        missing = [c for c in ctx.explicit if c not in row.values and key(c) not in columns]
        if missing:
            raise UsageError.about("map", "{0} {column!r}: no such column in {source} (columns: {columns})",
                                   column=missing[0], source=ctx.source.name, columns=", ".join(row.values))
        return


def _check_header(ctx: Context) -> None:
    """A header whose columns map to nothing would import every row as an empty deal named
    "FILE line N": refuse it with the ways to name the columns."""
    errors: list = []
    for row in _records(ctx, errors):
        if is_native(row.values):
            return
        m = ctx.mapper(row.values)
        if any(not t.startswith("fields.") for t in m.by_target):
            return
        columns = list(row.values)
        shown = ", ".join(repr(c) for c in columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
        looks_like_data = any(re.search(r"\d", c) or "@" in c for c in columns)
        hint = "it looks like data, not a header: pass {2} {3} title,amount,...; or " if looks_like_data else ""
        raise UsageError.about(("map", "preset", "no_header", "columns"), "{source}: no column matches a deal "
                               "field (columns: {shown}); " + hint + "name them with {0} COLUMN=FIELD or {1} NAME "
                               "(fields: title, amount, currency, stage, company, contact, ...)",
                               source=ctx.source.name, shown=shown)


def write_report(result: Result, name: str, path: str, root=None) -> None:
    """`--report FILE`: the migration report as JSON (a file the user names, written atomically,
    never inside the repository at `root`)."""
    import json

    data = json.dumps(result.report(name), ensure_ascii=False, indent=2) + "\n"
    files.write_output(path, data.encode("utf-8"), "report_file", root)
