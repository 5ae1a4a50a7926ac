"""From a group of rows to a planned deal: the clients it names (`People`, `Context.company_id`,
`Context.contact_id`), the deal built and checked by stage_rules (`plan_generic`), its history
from the source (`source_history`), an update by `--key` (`plan_update`), a record exported by
dealcli itself (`plan_native`); the tally of what was planned (`Result`)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dealcli import clients, deals, i18n, ids, stage_rules, timeutil
from dealcli.errors import FieldError, NotFound, UsageError, dotted
from dealcli.importing import native as import_native
from dealcli.importing import read as import_read
from dealcli.importing import rejects as import_rejects
from dealcli.importing import values as import_values
from dealcli.importing.mapping import (
    ImportOptions,
    Mapper,
    key_value_of,
    parse_maps,
    parse_stage_maps,
)
from dealcli.importing.presets import GENERIC, PRESETS, key
from dealcli.importing.problems import Bad, Unknown, _combined, about_of, problem
from dealcli.importing.reading import (
    Reading,
    _bool,
    _quantity,
    _status_word,
    _text,
    currency_code,
    read_emails,
    read_phones,
    split_contact,
)
from dealcli.importing.values import ValueProblem
from dealcli.model import Deal, Pipeline, ProductRow
from dealcli.session import Session

if TYPE_CHECKING:
    from dealcli.storage.repository import Doc


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
@dataclass
class Plan:
    action: str  # create | update | unchanged | skip
    deal: Deal | None = None
    doc: Doc | None = None
    line: int = 0
    note: str = ""
# -- contacts: who is who -----------------------------------------------------------------------------
class People:
    """The contacts of the repository and of this import, found by e-mail, then phone, then by
    name within the same company; never by a bare name across companies. `records` holds each
    contact's data as this import leaves it (every e-mail and phone seen is kept)."""

    def __init__(self, s: Session):
        self.records: dict[str, dict] = {}
        self.docs: dict[str, Doc] = {}  # existing contacts: the doc to update
        self.by_email: dict[str, str] = {}
        self.by_phone: dict[str | None, str] = {}  # a phone with no key is kept under None
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
                raise ValueProblem(i18n._("several contacts are named {name!r} at this company ({join_found}); "
                                   "give an e-mail or phone to tell them apart").format(
                                       name=name, join_found=', '.join(found)))
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
        self.preset = PRESETS[opts.preset] if opts.preset else GENERIC
        self.explicit = parse_maps(opts.maps)
        self.stage_map = parse_stage_maps(opts.stage_maps)
        self.pipeline_map = parse_stage_maps(opts.pipeline_maps, "pipeline_map", "VALUE=PIPELINE")
        self.pipelines = s.all_pipelines()
        self.default_pipeline = opts.pipeline or s.default_pipeline_id()
        if self.default_pipeline not in self.pipelines:
            raise NotFound(i18n._("pipeline {self_default_pipeline!r}: no such pipeline "
                           "(pipelines: {join_self_pipelines_or_n})").format(
                               self_default_pipeline=self.default_pipeline,
                               join_self_pipelines_or_n=', '.join(self.pipelines) or 'none'))
        self.mappers: dict[tuple, Mapper] = {}
        self.companies = clients.ClientIndex(s, "company")
        self.people = People(s)
        self.new_contacts: list[dict] = []  # in the order this pass creates them
        self.written_contacts: set[str] = set()
        self.prior: Context | None = None  # the checking pass, seen by the writing pass
        self.pending: list[tuple[str, Any]] = []  # clients to write before the next deal
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
        self._logins: dict[str, str] | None = None
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

    def login(self, text: str | None) -> str | None:
        """A responsible as the source names it: the login of the user with that login, e-mail or
        name (`Anna Snelling` -> anna.snelling, once users are imported), else the text."""
        if not text:
            return text
        if self._logins is None:
            users = self.s.repo.config.get("users") or {}
            self._logins = {}
            for login, u in users.items():
                u = u if isinstance(u, dict) else {}
                for alias in [str(u.get("name") or ""), *map(str, u.get("emails") or []), login]:
                    if alias:
                        self._logins.setdefault(alias.casefold(), login)
        return self._logins.get(text.casefold(), text)

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
        if self.preset.means_default_pipeline(text):
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
        _, code = self.preset.category_of(text)
        for candidate in dict.fromkeys((k, key(code))):
            if candidate in self.stage_map:
                return self.stage_map[candidate], None, True
        for st in pipeline.stages:
            if code == st.id or key(code) in (key(st.id), key(st.name)):
                return st.id, None, False
        target = self.preset.stage(code)
        if target and pipeline.stage(target) is not None:
            return target, None, False
        outcome = self.preset.outcome(code)
        if outcome:
            return None, outcome, False
        stages = ", ".join(st.id for st in pipeline.stages)
        if target:
            raise Unknown("stage_map", "is the preset's stage {target!r}, which is not in pipeline {pipeline!r} "
                          "(stages: {stages}); map it with {0} {text!r}=STAGE", f"stage {pipeline.id} {text}",
                          target=target, pipeline=pipeline.id, stages=stages, text=text)
        raise Unknown("stage_map", "stage is not in pipeline {pipeline!r} (stages: {stages}); map it with {0} "
                      "{text!r}=STAGE", f"stage {pipeline.id} {text}", pipeline=pipeline.id, stages=stages, text=text)

    def pipeline_of_stage(self, value, probe=None) -> Pipeline | bool | None:
        """Bitrix24 stages of extra pipelines carry the pipeline: "C6:NEW" is stage NEW of
        category 6 (--pipeline-map 6=PIPELINE, or a pipeline whose id is 6 or c6). With `probe`
        (and value None): only whether the stage value `probe` names a pipeline (True/False)."""
        text = str(value if probe is None else probe).strip()
        n, _ = self.preset.category_of(text)
        if n is None:
            return None if probe is None else False
        if probe is not None:
            return True
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
            carried.about = about_of(exc)  # type: ignore[attr-defined]  # read back by about_of (getattr)
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
def plan_generic(ctx: Context, rows: list[import_read.Row]) -> Plan:
    r = Reading(ctx, rows)
    try:
        plan = _plan_generic(ctx, rows, r)
    except Bad as exc:
        raise _combined(r.problems + [exc]) from None
    if r.problems:
        raise _combined(r.problems)
    return plan
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
    assert stage is not None  # stage_for_status gives a stage whenever it refuses nothing

    amount, amount_currency = r.read("amount", import_values.parse_amount) or (None, None)
    currency = r.read("currency", currency_code) or amount_currency or s.currency
    created = r.when("created")
    entered = r.when("stage_entered")
    closed_at = r.when("closed_at")
    begin, close_date = r.when("begin"), r.when("close_date")
    probability = r.read("probability", ctx.preset.percent)

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
            price = ctx.preset.product_price(row_amount, qty, len(rows))
        products.append(ProductRow(name=name[:500], price=price, quantity=qty))

    company_name = r.text("company")
    contact_raw = r.text("contact", 2000)
    emails = r.read("contact_email", read_emails) or []
    phones = r.read("contact_phone", read_phones) or []
    contact_col, _ = r.raw("contact")
    names = ctx.preset.contact_names(contact_raw) if contact_raw else []
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
            for i, (person, own_emails) in enumerate(people or [(None, [])]):
                cid = ctx.contact_id(person, own_emails + (emails if i == 0 else []), phones if i == 0 else [], company)
                if cid not in contacts:
                    contacts.append(cid)
    except ValueProblem as exc:
        column, value = r.raw("company") if company_name else r.raw("contact")
        raise Bad.of(column, value, line, exc) from None
    shown = [p[0] or (p[1][0] if p[1] else None) for p in people]
    email = emails[0] if emails else None

    title = r.text("title")
    if not title:
        parts = [p for p in (company_name, shown[0] if shown else email, products[0].name if products else None)
                 if p]
        origin = r.text("origin_id")
        title = " - ".join(parts[:2]) if parts else (f"Deal {origin}" if origin else
                                                      f"{ctx.source.name} line {line}")

    deal = Deal(id=ids.new_id(), title=title, pipeline=pipeline.id, stage=stage.id, currency=currency)
    deal.products = products
    if amount is not None and ctx.preset.amount_is_deal_amount(bool(products)):
        deal.amount = amount
        deal.manual_amount = not products or amount != deal.products_total()
    else:
        deal.recompute_amount()
    deal.company, deal.contacts = company, contacts
    deal.type, deal.source = r.text("type"), r.text("source")
    deal.responsible = ctx.login(r.text("responsible")) or s.user
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
    note: dict[str, Any] = {"imported": f"{ctx.source_ref}:{line}"}
    if deal.created != s.now:
        note["imported_at"] = timeutil.iso(s.now)
    status = stage_rules.status_for(pipeline.known(final))  # finish built the deal in a stage of `pipeline`
    later = closed if status != "open" else entered
    first, probability = pipeline.first.id, deal.probability
    assert deal.created is not None  # finish, the only caller, sets it (the source's, else now)
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
        assert ctx.key_field is not None  # plan_update runs for a --key import only (finish)
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
        value: Any = row.values
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
            i18n._("{text} (import the companies and contacts first) [dangling-link]").format(text=text)))
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
