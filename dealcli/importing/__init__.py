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
import re
from dataclasses import dataclass, field

from dealcli import clients, deals, ids, stage_rules, timeutil

from dealcli.importing import read as import_read

from dealcli.importing import values as import_values
from dealcli.errors import FieldError, NotFound, UsageError, ValidationFailed, dotted
from dealcli.importing.presets import PRESETS, Preset, key
from dealcli.importing.values import ValueProblem
from dealcli.model import Deal, Pipeline, ProductRow
from dealcli.session import Session

DEAL_TARGETS = ("title", "amount", "currency", "stage", "pipeline", "responsible", "type", "source", "begin",
                "close_date", "closed_at", "created", "probability", "lost_reason", "origin_id")
CLIENT_TARGETS = ("company", "contact", "contact_email", "contact_phone")
PRODUCT_TARGETS = ("product", "product_price", "product_quantity")
STATUS_TARGETS = ("status", "won", "closed", "lost", "deleted")
TARGETS = DEAL_TARGETS + ("comment",) + CLIENT_TARGETS + PRODUCT_TARGETS + STATUS_TARGETS
KEY_FIELDS = ("origin_id", "title", "id")
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
    pipeline: str | None = None
    key: str | None = None
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    dayfirst: bool | None = None
    keep_unmapped: bool = False


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

    def summary(self, name: str) -> str:
        head = f"{name}: {self.rows} rows"
        verb = "would be " if self.dry_run else ""
        parts = [f"{self.created} deals {verb}created", f"{self.updated} {verb}updated",
                 f"{self.unchanged} unchanged"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts.append(f"{self.companies} companies and {self.contacts} contacts {verb}created")
        tail = " (dry run: nothing written)" if self.dry_run else ""
        return f"{head}: {', '.join(parts)}{tail}"


class ImportFailed(ValidationFailed):
    """Bad rows: one line each, then a count; nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n} bad row{'s' if n != 1 else ''}; nothing imported")

    def lines(self) -> list[str]:
        return self.problems + [self.message]


class Bad(Exception):
    """A problem with one value of one row."""

    def __init__(self, column: str | None, value, problem: str, line: int | None = None):
        super().__init__(problem)
        self.column, self.value, self.problem, self.line = column, value, problem, line


@dataclass
class Plan:
    action: str  # create | update | unchanged | skip
    deal: Deal | None = None
    doc: object = None
    line: int = 0
    note: str = ""


# -- options ----------------------------------------------------------------------------------------
def parse_maps(items: list[str], option: str = "--map") -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise UsageError(f"{option} {item!r}: expected COLUMN=FIELD")
        target = target.strip()
        out[" ".join(column.split())] = normalise_target(target, item) if target not in ("", "-") else None
    return out


def normalise_target(target: str, item: str) -> str:
    if target.startswith("fields."):
        name = target[7:].strip()
    else:
        if target in TARGETS:
            return target
        name = target
    if not name or len(name) > 64 or name in ("id", "format", "history", "comments", "products", "fields"):
        raise UsageError(f"--map {item!r}: {target!r} is not a usable field name")
    return "fields." + name


def parse_stage_maps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        value, sep, stage = item.rpartition("=")
        if not sep or not value.strip() or not stage.strip():
            raise UsageError(f"--stage-map {item!r}: expected VALUE=STAGE")
        out[key(value)] = stage.strip()
    return out


# -- mapping columns to targets -----------------------------------------------------------------------
class Mapper:
    """Which column feeds which target, for one set of column names."""

    def __init__(self, columns: list[str], explicit: dict, preset: Preset | None, keep_unmapped: bool):
        self.by_target: dict[str, list[str]] = {}
        self.unmapped: list[str] = []
        explicit_keys = {key(c): t for c, t in explicit.items()}
        ranked = []
        for i, column in enumerate(columns):
            if column in explicit or key(column) in explicit_keys:
                target = explicit.get(column, explicit_keys.get(key(column)))
                if target is None:
                    continue
                rank = -1
            elif preset and preset.target(column):
                target, rank = preset.target(column), list(preset.columns).index(key(column))
            elif key(column).replace(" ", "_") in TARGETS:
                target, rank = key(column).replace(" ", "_"), 10_000 + i
            elif keep_unmapped:
                target, rank = "fields." + column, 10_000 + i
            else:
                self.unmapped.append(column)
                continue
            ranked.append((rank, i, target, column))
        for _, _, target, column in sorted(ranked):
            self.by_target.setdefault(target, []).append(column)

    def get(self, values: dict, target: str) -> tuple[str | None, object]:
        """(column, value) of the first non-empty column feeding `target`."""
        for column in self.by_target.get(target, ()):
            value = values.get(column)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return column, value
        columns = self.by_target.get(target)
        return (columns[0] if columns else None), None

    def has(self, target: str) -> bool:
        return target in self.by_target

    def custom(self) -> list[str]:
        return [t for t in self.by_target if t.startswith("fields.")]


def is_native(values: dict) -> bool:
    return "format" in values and "id" in values and "history" in values


# -- the import context -----------------------------------------------------------------------------
class Context:
    """Everything one pass needs. Built fresh for each pass (under the lock nothing else changes)."""

    def __init__(self, s: Session, opts: ImportOptions, source: import_read.Source, fmt: str,
                 dates: import_values.DateReader, writing: bool):
        self.s, self.opts, self.source, self.fmt, self.dates, self.writing = s, opts, source, fmt, dates, writing
        self.preset = PRESETS[opts.preset] if opts.preset else None
        self.explicit = parse_maps(opts.maps)
        self.stage_map = parse_stage_maps(opts.stage_maps)
        self.pipelines = s.all_pipelines()
        self.default_pipeline = opts.pipeline or s.default_pipeline_id()
        if self.default_pipeline not in self.pipelines:
            raise NotFound(f"pipeline {self.default_pipeline!r}: no such pipeline "
                           f"(pipelines: {', '.join(self.pipelines) or 'none'})")
        self.mappers: dict[tuple, Mapper] = {}
        self.companies = clients.ClientIndex(s, "company")
        self.contacts = clients.ClientIndex(s, "contact")
        self.pending: list[tuple[str, dict]] = []  # clients to write before the next deal
        self.key_field = opts.key
        self.key_index: dict[str, list[str]] = {}
        self.keys_seen: dict[str, int] = {}
        self.ids_seen: set[str] = set()
        self.won: set = set()  # stage_rules.repeat_keys of the won deals, known and imported
        self.result = Result(dry_run=opts.dry_run)
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
        for p in self.pipelines.values():
            if text == p.id or key(text) in (key(p.id), key(p.name)):
                return p
        if self.preset and key(text) in {key(n) for n in self.preset.default_pipelines}:
            return self.pipelines[self.default_pipeline]
        raise ValueProblem(f"no such pipeline (pipelines: {', '.join(self.pipelines)}); create it, or keep "
                           "the value as a custom field with --map COLUMN=source_pipeline")

    def stage_for(self, pipeline: Pipeline, value) -> str:
        text = str(value).strip()
        k = key(text)
        target = self.stage_map.get(k) or (self.preset.stage(text) if self.preset else None)
        if target:
            return target
        for st in pipeline.stages:
            if text == st.id or k in (key(st.id), key(st.name)):
                return st.id
        if k in WON_STAGES and pipeline.success:
            return pipeline.success.id
        if k in LOST_STAGES and pipeline.failures:
            return pipeline.failures[0].id
        raise ValueProblem(f"stage is not in pipeline {pipeline.id!r} (stages: "
                           f"{', '.join(st.id for st in pipeline.stages)}); map it with --stage-map "
                           f"{text!r}=STAGE")

    def company_id(self, name: str) -> str:
        try:
            found = self.companies.find(name=name)
        except NotFound as exc:
            raise ValueProblem(exc.message) from None
        if found:
            return found
        data = clients.new_record(self.s, "company", name)
        self.companies.add(data)
        self.pending.append(("company", data))
        self.result.companies += 1
        return data["id"]

    def contact_id(self, name: str | None, email: str | None, phone: str | None, company: str | None) -> str:
        try:
            found = self.contacts.find(name=name, email=email)
        except NotFound as exc:
            raise ValueProblem(exc.message) from None
        if found:
            return found
        data = clients.new_record(self.s, "contact", name or email or phone or "", emails=[email] if email else [],
                                  phones=[phone] if phone else [], company=company)
        self.contacts.add(data)
        self.pending.append(("contact", data))
        self.result.contacts += 1
        return data["id"]


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
            return parse(value)
        except ValueProblem as exc:
            raise Bad(column, value, str(exc), (row or self.first).line) from None

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
    s, r = ctx.s, Reading(ctx, rows)
    line = rows[0].line
    if r.read("deleted", _bool) or r.read("status", _status_word) == "deleted":
        return Plan("skip", line=line, note="deleted in the source")
    pipeline = r.read("pipeline", ctx.pipeline_for) or ctx.pipelines[ctx.default_pipeline]
    stage_col, stage_raw = r.raw("stage")
    stage_id = r.read("stage", lambda v: ctx.stage_for(pipeline, v))
    declared = r.read("status", _status_word)
    won, lost, closed = r.read("won", _bool), r.read("lost", _bool), r.read("closed", _bool)
    if declared is None:
        if won:
            declared = "won"
        elif lost or (closed and won is not None) or (closed and not won and stage_id is None):
            declared = "lost"
        elif closed and stage_id is not None:
            known = pipeline.stage(stage_id)
            declared = "won" if known is not None and stage_rules.status_for(known) == "won" else "lost"
    stage = pipeline.stage(stage_id) if stage_id else None
    if stage_id and stage is None:
        raise Bad(stage_col, stage_raw, f"maps to stage {stage_id!r}, which is not in pipeline {pipeline.id!r}",
                  line)
    stage, problem = stage_rules.stage_for_status(pipeline, stage, declared)
    if problem:
        raise Bad(stage_col, stage_raw, problem, line)

    amount, amount_currency = r.read("amount", import_values.parse_amount) or (None, None)
    currency = r.read("currency", currency_code) or amount_currency or s.currency
    created = r.when("created")
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
    email, phone = r.text("contact_email"), r.text("contact_phone")
    try:
        company = ctx.company_id(company_name) if company_name else None
        contacts = []
        names = [n.strip() for n in contact_raw.split(ctx.preset.multi_sep)] if contact_raw and ctx.preset \
            and ctx.preset.multi_sep else ([contact_raw] if contact_raw else [])
        names = [n for n in names if n]
        if names or email or phone:
            for i, n in enumerate(names or [None]):
                n, own_email = split_contact(n)
                cid = ctx.contact_id(n, own_email or (email if i == 0 else None), phone if i == 0 else None,
                                     company)
                if cid not in contacts:
                    contacts.append(cid)
    except ValueProblem as exc:
        column, value = r.raw("company") if company_name else r.raw("contact")
        raise Bad(column, value, str(exc), line) from None

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
    closed_when = closed_at[0] if closed_at else close_date[0] if close_date else None
    deal.probability = probability  # None: the stage's (stage_rules.transition)
    for target in r.m.custom():
        column, value = r.m.get(rows[0].values, target)
        if value is not None:
            r.given.add(target)
            deal.fields[target[7:]] = value.strip() if isinstance(value, str) else value
    comment = r.text("comment", 100_000)
    return finish(ctx, deal, r.given, comment, line, pipeline, stage_col or "stage", closed_when)


Decimal0 = import_values.Decimal(0)
Decimal1 = import_values.Decimal(1)

# which deal attributes each target sets, for updates (--key)
ATTRS = {"title": "title", "amount": "amount", "currency": "currency", "pipeline": "pipeline",
         "responsible": "responsible", "type": "type", "source": "source", "begin": "begin",
         "close_date": "close_date", "closed_at": "closed_at", "probability": "probability",
         "lost_reason": "lost_reason", "origin_id": "origin_id", "company": "company"}


def finish(ctx: Context, deal: Deal, given: set[str], comment: str | None, line: int, pipeline: Pipeline,
           stage_column: str, closed_when=None) -> Plan:
    """`closed_when`: when the source says the deal closed (used if it is closed)."""
    s = ctx.s
    if ctx.key_field:
        value = key_value_of(deal.to_dict(), ctx.key_field)
        if value in (None, ""):
            raise Bad(ctx.key_field, None, f"the --key field {ctx.key_field!r} is empty", line)
        value = str(value)
        if value in ctx.keys_seen:
            raise Bad(ctx.key_field, value, f"the same key is already on line {ctx.keys_seen[value]}", line)
        ctx.keys_seen[value] = line
        matches = ctx.key_index.get(value, [])
        if len(matches) > 1:
            raise Bad(ctx.key_field, value, f"several deals have this key: {', '.join(matches)}", line)
        if matches:
            return plan_update(ctx, matches[0], deal, given, comment, line, closed_when)
    t = stage_rules.transition(deal, pipeline, deal.stage, "create", now=s.now, closed_at=closed_when,
                               note={"imported": f"{ctx.source.name}:{line}"})
    if t.violations:
        v = t.violations[0]
        raise Bad(stage_column if v.field in ("stage", "status") else v.field, v.value, v.message, line)
    deals.apply_transition(s, deal, t)
    bad = stage_rules.validate_deal(deal, ctx.pipelines)
    if bad:
        v = bad[0]
        raise Bad(stage_column if v.field in ("stage", "status") else v.field, v.value, v.message, line)
    deal.repeat = stage_rules.is_repeat(deal.company, deal.contacts, ctx.won)
    _remember_won(ctx, deal)
    if comment:
        deal.comments.append({"at": timeutil.iso(s.now), "by": s.user, "text": comment})
        deal.history.append(deals.event(s, "commented", text=comment))
    return Plan("create", deal, None, line)


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
        t = stage_rules.transition(after, pipeline, new.stage, "import", now=s.now, closed_at=closed_when)
        if t.violations:
            raise Bad("stage", new.stage, t.violations[0].message, line)
        deals.apply_transition(s, after, t)
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
        raise Bad(bad[0].field, bad[0].value, bad[0].message, line)
    after.history.extend(deals.diff_events(s, before, after))
    after.history.extend(events)
    after.modified = s.now
    _remember_won(ctx, after)
    return Plan("update", after, doc, line)


def plan_native(ctx: Context, row: import_read.Row) -> Plan:
    """A deal record exported by dealcli: taken as it is (type-checked and validated)."""
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
        raise Bad(bad[0].field, bad[0].value, bad[0].message, row.line)
    if ctx.key_field:
        value = key_value_of(deal.to_dict(), ctx.key_field)
        if value in (None, ""):
            raise Bad(ctx.key_field, None, f"the --key field {ctx.key_field!r} is empty", row.line)
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
    if not ids.is_slug(deal.id) or deal.id in ctx.ids_seen or ctx.s.repo.exists("deals", deal.id):
        deal.id = ids.new_id()
        ctx.result.renumbered += 1
    ctx.ids_seen.add(deal.id)
    return Plan("create", deal, None, row.line)


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


def _pass(ctx: Context, on_plan, progress=None) -> list[str]:
    """Plan every group; problems as `file:line: column: value: problem` lines."""
    problems: list[str] = []
    read_errors: list = []
    name = ctx.source.name
    n = 0
    for group in _groups(ctx, import_read.records(ctx.source, ctx.fmt, ctx.opts.delimiter, read_errors)):
        n += len(group)
        if progress and n % 500 < len(group):
            progress(ctx.source.bytes_read, ctx.source.size)
        try:
            plan = plan_native(ctx, group[0]) if is_native(group[0].values) else plan_generic(ctx, group)
        except Bad as exc:
            line = exc.line or group[0].line
            problems.append((line, _problem(name, line, exc.column, exc.value, exc.problem)))
            continue
        on_plan(ctx, plan)
    for err in read_errors:
        problems.append((err.line, _problem(name, err.line, err.column, err.value, err.problem)))
    problems.sort(key=lambda p: p[0])
    ctx.result.rows = n
    return [text for _, text in problems]


def _problem(name: str, line: int, column, value, problem: str) -> str:
    where = f"{name}:{line}: {column or '(row)'}: "
    if value is None:
        return where + problem
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    if len(text) > 60:
        text = text[:57] + "..."
    return where + f"{text!r}: {problem}"


def run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    """Import `opts.source`. `report(action, plan)` is called for each deal in the second pass
    (created / updated / unchanged / skipped); `progress(phase, done, total)` now and then."""
    from dealcli import access

    with access.purpose(s, "import"):  # with users: new records need the import right
        return _run(s, opts, report, progress)


def _run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    if opts.key and opts.key not in KEY_FIELDS and not opts.key.strip():
        raise UsageError("--key: empty field name")
    if opts.format and opts.format not in import_read.FORMATS:
        raise UsageError(f"--format {opts.format!r}: expected one of {', '.join(import_read.FORMATS)}")
    if opts.preset and opts.preset not in PRESETS:
        raise UsageError(f"--preset {opts.preset!r}: expected one of {', '.join(PRESETS)}")
    if opts.delimiter is not None:
        opts.delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(opts.delimiter, opts.delimiter)
        if len(opts.delimiter) != 1:
            raise UsageError(f"--delimiter {opts.delimiter!r}: expected one character (or \\t)")
    source = import_read.Source(opts.source, opts.encoding)
    try:
        fmt = opts.format or source.guess_format()
        with s.repo.transaction():
            return _run_locked(s, opts, source, fmt, report, progress)
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
    if order is None:
        try:
            order = _date_order(check)
        except import_values.AmbiguousDates as exc:
            raise UsageError(f"{source.name}: {exc}") from None
        except import_values.MixedDates as exc:
            raise ImportFailed([f"{source.name}: {exc}"]) from None
    check.dates = import_values.DateReader(s.tz, order)
    problems = _pass(check, lambda ctx, plan: ctx.pending.clear(),
                     progress and (lambda done, total: progress("checking", done, total)))
    if problems:
        raise ImportFailed(problems)

    ctx = Context(s, opts, source, fmt, import_values.DateReader(s.tz, order), writing=not opts.dry_run)

    def apply(ctx: Context, plan: Plan) -> None:
        res = ctx.result
        if not opts.dry_run:
            for which, data in ctx.pending:
                s.repo.create(clients.KIND_OF[which], data["id"], data)
        ctx.pending.clear()
        if plan.action == "create":
            res.created += 1
            if not opts.dry_run:
                s.repo.create("deals", plan.deal.id, plan.deal.to_dict())
        elif plan.action == "update":
            res.updated += 1
            if not opts.dry_run:
                s.repo.update(plan.doc, plan.deal.to_dict())
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
    return ctx.result


DATE_TARGETS = ("created", "closed_at", "begin", "close_date")


def _date_order(ctx: Context) -> bool | None:
    """Read only the date columns once to decide whether the file's numeric dates are
    day-first or month-first (before any deal is built, so that comparisons are right)."""
    errors: list = []
    for row in import_read.records(ctx.source, ctx.fmt, ctx.opts.delimiter, errors):
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
    for row in import_read.records(ctx.source, ctx.fmt, ctx.opts.delimiter, errors):
        columns = {key(c) for c in row.values}
        missing = [c for c in ctx.explicit if c not in row.values and key(c) not in columns]
        if missing:
            raise UsageError(f"--map {missing[0]!r}: no such column in {ctx.source.name} (columns: "
                             f"{', '.join(row.values)})")
        return
