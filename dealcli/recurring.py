"""Recurring deal templates (recurring/<id>.yaml) and the idempotent `recurring run`.

A template holds the deal to create and a schedule: an RFC 5545 recurrence rule evaluated by
dateutil.rrule from a start date, in the repository's time zone. `--every month` (and `year`)
from the 29th-31st is written as a rule that falls back to the month's last day
(BYMONTHDAY=28,...,31;BYSETPOS=-1), so a deal starting 31 January recurs 28 February, 31 March,
30 April; a rule given with `--rrule` keeps strict RFC semantics (months without the day are
skipped).

Occurrences are wall-clock times in the repository's zone (midnight for date-only rules). An
occurrence is due when that time minus `create_before` days has passed. `run` creates every
due occurrence after the template's `last_occurrence` marker, under the repository lock, each
as a normal deal (deals.add) whose id is the per-occurrence key `<template>-<YYYYMMDD>` written
create-only; the marker then moves on. So a second run, a concurrent run, a crash between the
two writes, or a deal deleted later never make an occurrence twice.

On disk (keys in this order, unknown keys kept):
  format, id, title (may hold {date}, {date:STRFTIME}, {n}), schedule: {every, rule, start},
  create_before, begin_offset, close_offset, deal: {pipeline, stage, amount, currency, company,
  contacts, products, type, source, responsible, probability, fields}, from_deal, paused,
  paused_at, paused_periods: [{from, to}], last_occurrence, occurrences_created, created,
  created_by
A created deal records `recurring: {template, occurrence, n}` and its `created` history event
says `via: recurring`."""

from __future__ import annotations

import copy
import datetime as dt
import re
import string
from dataclasses import dataclass, field

from dealcli import FORMAT_VERSION, deals, parse, stage_rules, timeutil
from dealcli.errors import (
    CorruptData,
    DealcliError,
    FieldError,
    NotAllowed,
    NotFound,
    RuleViolation,
    UsageError,
    ValidationFailed,
)
from dealcli.ids import new_id
from dealcli.model import ProductRow, _bool, _check_format, _datetime, _extra, _list_of_text, _mapping, _text
from dealcli.session import Session
from dealcli.storage.repository import Doc

KIND = "recurring"
EVERY = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
PLACEHOLDERS = "{date}, {date:STRFTIME} (e.g. {date:%B %Y}) and {n}"
FIRST_SEARCH_YEARS = 20
TEMPLATE_KEYS = (
    "format", "id", "title", "schedule", "create_before", "begin_offset", "close_offset", "deal",
    "from_deal", "paused", "paused_at", "paused_periods", "last_occurrence", "occurrences_created",
    "created", "created_by",
)
DEAL_PART_KEYS = ("pipeline", "stage", "amount", "currency", "company", "contacts", "products", "type",
                  "source", "responsible", "probability", "fields")


class RuleError(ValueError):
    pass


# -- schedules -------------------------------------------------------------------------------------
def build_rule(every: str | None, interval: int | None, rrule_text: str | None, start: dt.date,
               until: dt.date | None = None, count: int | None = None) -> str:
    """The RFC 5545 rule text (without DTSTART) for the options of `recurring add`."""
    if (every is None) == (rrule_text is None):
        raise UsageError("recurring add: give exactly one of --every or --rrule")
    if until is not None and count is not None:
        raise UsageError("recurring add: give --until or --count, not both")
    if count is not None and count < 1:
        raise UsageError.about("count", "{0}: {count} is not a positive number", count=count)
    if until is not None and until < start:
        raise UsageError.about(("until", "start"), "{0} {until} is before {1} {start}", until=until.isoformat(),
                               start=start.isoformat())
    if every is not None:
        if every not in EVERY:
            raise UsageError(f"--every {every!r}: expected day, week, month or year")
        if interval is not None and interval < 1:
            raise UsageError(f"--interval: {interval} is not a positive number")
        parts = [f"FREQ={EVERY[every]}", f"INTERVAL={interval or 1}"]
        if every == "month" and start.day >= 29:
            # the last existing day of 28..start.day: the day itself, or the month's last day
            parts += ["BYMONTHDAY=" + ",".join(str(d) for d in range(28, start.day + 1)), "BYSETPOS=-1"]
        elif every == "year" and (start.month, start.day) == (2, 29):
            parts += ["BYMONTH=2", "BYMONTHDAY=28,29", "BYSETPOS=-1"]
    else:
        if interval is not None:
            raise UsageError("--interval goes with --every; write INTERVAL=N inside --rrule")
        text = (rrule_text or "").strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        if not text or "\n" in text or ":" in text:
            raise UsageError(f"--rrule {rrule_text!r}: give one rule, e.g. \"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1\" "
                             "(the start date is --start, not DTSTART)")
        parts = [p.strip() for p in text.split(";") if p.strip()]
        names = {p.partition("=")[0].upper() for p in parts}
        if (until is not None or count is not None) and names & {"UNTIL", "COUNT"}:
            raise UsageError("--rrule already has UNTIL or COUNT; do not also give --until or --count")
    if until is not None:
        parts.append(f"UNTIL={until:%Y%m%d}T235959")
    if count is not None:
        parts.append(f"COUNT={count}")
    rule = ";".join(parts)
    try:
        r = parse_rule(rule, start)
    except RuleError as exc:
        raise UsageError(f"--rrule: {exc}" if rrule_text is not None else str(exc)) from None
    horizon = _midnight(start) + dt.timedelta(days=366 * FIRST_SEARCH_YEARS)
    if next(iter(r), horizon) >= horizon:
        raise UsageError(f"schedule {rule!r} from {start.isoformat()}: no occurrence in the next "
                         f"{FIRST_SEARCH_YEARS} years")
    return rule


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _local_until(match: re.Match, tz) -> str:
    utc = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timeutil.UTC)
    return "UNTIL=" + utc.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def parse_rule(rule: str, start: dt.date, tz=None):
    """The dateutil rrule for `rule` from `start` (naive wall-clock times). A UTC UNTIL (…Z) is
    turned into the zone's wall clock. RuleError with the reason when it is not a usable rule."""
    from dateutil.rrule import rrule as rrule_cls
    from dateutil.rrule import rrulestr

    text = (rule or "").strip()
    if not text or "\n" in text or ":" in text:
        raise RuleError(f"{rule!r} is not one RRULE (FREQ=...;...)")
    if not re.search(r"(^|;)\s*FREQ=", text, re.I):
        raise RuleError(f"{rule!r} has no FREQ=")
    freq = re.search(r"FREQ=([A-Z]+)", text, re.I)
    if freq and freq.group(1).upper() in SUB_DAILY:
        raise RuleError(f"{rule!r}: FREQ={freq.group(1).upper()} is finer than a day; use FREQ=DAILY "
                        "(with BYHOUR for times)")
    if re.search(r"UNTIL=", text, re.I) and re.search(r"COUNT=", text, re.I):
        raise RuleError(f"{rule!r}: UNTIL and COUNT must not both be given (RFC 5545)")
    if re.search(r"BYSECOND=", text, re.I):
        raise RuleError(f"{rule!r}: BYSECOND is not supported")
    text = re.sub(r"UNTIL=(\d{8}T\d{6})Z", lambda m: _local_until(m, tz or timeutil.UTC), text, flags=re.I)
    try:
        out = rrulestr(text, dtstart=_midnight(start))
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise RuleError(f"{rule!r}: {exc}") from None
    if not isinstance(out, rrule_cls):
        raise RuleError(f"{rule!r} is not a single recurrence rule")
    return out


def occurrence_text(occ: dt.datetime) -> str:
    """An occurrence as stored: the ISO date, with the time only when it is not midnight."""
    if occ.time() == dt.time():
        return occ.date().isoformat()
    return occ.isoformat(timespec="minutes" if occ.second == 0 else "seconds")


def occurrence_key(template_id: str, occ: dt.datetime) -> str:
    """The per-occurrence key, which is also the created deal's id: <template>-<YYYYMMDD>
    (plus tHHMM[SS] for rules with times of day)."""
    key = f"{template_id}-{occ:%Y%m%d}"
    if occ.time() != dt.time():
        key += f"t{occ:%H%M}" + (f"{occ:%S}" if occ.second else "")
    return key


def parse_occurrence(value, path: tuple = ("last_occurrence",)) -> dt.datetime | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    try:
        out = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(path, f"{value!r} is not an ISO date (YYYY-MM-DD) or local date-time") from None
    if out.tzinfo is not None:
        raise FieldError(path, f"{value!r}: write the wall-clock time without an offset")
    return out


# -- titles ------------------------------------------------------------------------------------------
MAX_TITLE_WIDTH = 100  # {n:>999999999} would make a gigabyte title in every run
MAX_OFFSET_DAYS = 36600  # 100 years: --close-offset 99999999 would make every run overflow the calendar

def check_title(title: str) -> None:
    """Refuse a title with an unknown or malformed placeholder (UsageError)."""
    try:
        parts = list(string.Formatter().parse(title))
    except ValueError as exc:
        raise UsageError(f"title {title!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in ("date", "n") or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise UsageError(f"title {title!r}: unknown placeholder {shown}; the placeholders are "
                             f"{PLACEHOLDERS}")
        if spec and any(int(w) > MAX_TITLE_WIDTH for w in re.findall(r"\d+", spec)):
            raise UsageError(f"title {title!r}: {{{name}:{spec}}}: a width or precision above "
                             f"{MAX_TITLE_WIDTH} is refused")
        if name == "n" and spec:
            try:
                format(1, spec)
            except ValueError as exc:
                raise UsageError(f"title {title!r}: {{n:{spec}}}: {exc}") from None


def render_title(title: str, occ: dt.datetime, n: int) -> str:
    out = []
    for literal, name, spec, _ in string.Formatter().parse(title):
        out.append(literal)
        if name == "date":
            out.append(occ.strftime(spec) if spec else occurrence_text(occ))
        elif name == "n":
            out.append(format(n, spec or ""))
    return "".join(out)


# -- the template record -------------------------------------------------------------------------------
def _int(data: dict, key: str, path: tuple, default: int | None, minimum: int | None = None,
         maximum: int | None = None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(path + (key,), f"expected a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise FieldError(path + (key,), f"{value} is less than {minimum}")
    if maximum is not None and value > maximum:
        raise FieldError(path + (key,), f"{value} is more than {maximum}")
    return value


@dataclass
class Template:
    id: str
    title: str
    rule: str
    start: dt.date
    every: str | None = None
    create_before: int = 0
    begin_offset: int = 0
    close_offset: int | None = None
    deal: dict = field(default_factory=dict)
    from_deal: str | None = None
    paused: bool = False
    paused_at: dt.datetime | None = None
    paused_periods: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    last_occurrence: dt.datetime | None = None
    occurrences_created: int = 0
    created: dt.datetime | None = None
    created_by: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> Template:
        p: tuple = ()
        _check_format(data, p)
        schedule = _mapping(data, "schedule", p)
        if not schedule:
            raise FieldError(("schedule",), "is required (rule and start)")
        sp = ("schedule",)
        rule = _text(schedule, "rule", sp, required=True) or ""
        start = parse_occurrence(schedule.get("start"), sp + ("start",))
        if start is None:
            raise FieldError(sp + ("start",), "is required")
        if start.time() != dt.time():
            raise FieldError(sp + ("start",), "expected a date (YYYY-MM-DD)")
        every = _text(schedule, "every", sp)
        if every is not None and every not in EVERY:
            raise FieldError(sp + ("every",), f"{every!r} is not one of {', '.join(EVERY)}")
        try:
            parse_rule(rule, start.date())
        except RuleError as exc:
            raise FieldError(sp + ("rule",), str(exc)) from None
        title = _text(data, "title", p, required=True) or ""
        try:
            check_title(title)
        except UsageError as exc:
            raise FieldError(("title",), exc.message) from None
        deal = _mapping(data, "deal", p)
        _check_deal_part(deal)
        periods = []
        raw_periods = data.get("paused_periods") or []
        if not isinstance(raw_periods, list):
            raise FieldError(("paused_periods",), "expected a list")
        for i, item in enumerate(raw_periods):
            if not isinstance(item, dict):
                raise FieldError(("paused_periods", i), "expected a mapping with from and to")
            a = _datetime(item, "from", ("paused_periods", i))
            b = _datetime(item, "to", ("paused_periods", i))
            if a is None or b is None:
                raise FieldError(("paused_periods", i), "needs from and to")
            periods.append((a, b))
        return cls(
            id=_text(data, "id", p, required=True) or "",
            title=title,
            rule=rule,
            start=start.date(),
            every=every,
            create_before=_int(data, "create_before", p, 0, 0, MAX_OFFSET_DAYS) or 0,
            begin_offset=_int(data, "begin_offset", p, 0, -MAX_OFFSET_DAYS, MAX_OFFSET_DAYS) or 0,
            close_offset=_int(data, "close_offset", p, None, -MAX_OFFSET_DAYS, MAX_OFFSET_DAYS),
            deal=deal,
            from_deal=_text(data, "from_deal", p),
            paused=_bool(data, "paused", p),
            paused_at=_datetime(data, "paused_at", p),
            paused_periods=periods,
            last_occurrence=parse_occurrence(data.get("last_occurrence")),
            occurrences_created=_int(data, "occurrences_created", p, 0, 0) or 0,
            created=_datetime(data, "created", p),
            created_by=_text(data, "created_by", p),
            extra=_extra(data, TEMPLATE_KEYS),
        )

    def to_dict(self) -> dict:
        out = {
            "format": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "schedule": {"every": self.every, "rule": self.rule, "start": self.start.isoformat()},
            "create_before": self.create_before,
            "begin_offset": self.begin_offset,
            "close_offset": self.close_offset,
            "deal": self.deal,
            "from_deal": self.from_deal,
            "paused": self.paused,
            "paused_at": timeutil.iso(self.paused_at),
            "paused_periods": [{"from": timeutil.iso(a), "to": timeutil.iso(b)} for a, b in self.paused_periods],
            "last_occurrence": occurrence_text(self.last_occurrence) if self.last_occurrence else None,
            "occurrences_created": self.occurrences_created,
            "created": timeutil.iso(self.created),
            "created_by": self.created_by,
        }
        out.update(self.extra)
        return out


def _check_deal_part(deal: dict) -> None:
    p = ("deal",)
    for key in ("pipeline", "stage", "currency", "company", "type", "source", "responsible"):
        _text(deal, key, p)
    _list_of_text(deal, "contacts", p)
    _mapping(deal, "fields", p)
    products = deal.get("products")
    if products is not None:
        if not isinstance(products, list):
            raise FieldError(p + ("products",), "expected a list")
        for i, row in enumerate(products):
            if not isinstance(row, dict):
                raise FieldError(p + ("products", i), "expected a mapping")
            ProductRow.from_dict(row, p + ("products", i))
    if deal.get("amount") is not None:
        from dealcli import money

        try:
            money.to_decimal(deal["amount"], "amount")
        except money.MoneyError as exc:
            raise FieldError(p + ("amount",), str(exc)) from None
    prob = deal.get("probability")
    if prob is not None and (isinstance(prob, bool) or not isinstance(prob, int) or not 0 <= prob <= 100):
        raise FieldError(p + ("probability",), f"{prob!r} is not a whole percentage 0-100")


def _rel(s: Session, doc_or_id) -> str:
    if isinstance(doc_or_id, Doc):
        return s.repo.rel(doc_or_id.path)
    return s.repo.rel(s.repo.path(KIND, doc_or_id))


def load(s: Session, template_id: str) -> tuple[Template, Doc]:
    """A template by exact id; CorruptData (naming file and line) when it cannot be used."""
    doc = s.readable(s.repo.load(KIND, template_id))
    rel = _rel(s, doc)
    try:
        t = Template.from_dict(doc.data)
    except FieldError as exc:
        raise CorruptData(rel, str(exc), doc.line_of(exc.path)) from None
    if t.id != doc.id:
        raise CorruptData(rel, f"id {t.id!r} does not match the file name {doc.id!r}", doc.line_of(("id",)))
    return t, doc


def resolve(s: Session, ref: str) -> tuple[Template, Doc]:
    return load(s, s.repo.resolve(KIND, ref))


def problems(s: Session, doc: Doc) -> list[tuple[str, int | None]]:
    """What `dealcli check` reports beyond the schema: (message, line) pairs."""
    try:
        t = Template.from_dict(doc.data)
    except FieldError as exc:
        return [(str(exc), doc.line_of(exc.path))]
    return deal_part_problems(s, doc, t.deal)


def deal_part_problems(s: Session, doc: Doc, part: dict) -> list[tuple[str, int | None]]:
    """A record's `deal:` part naming a pipeline that is not there, or a stage not in it (also
    used for generator scenarios)."""
    if part.get("pipeline"):
        try:
            pipeline = s.pipeline(part["pipeline"])
        except DealcliError as exc:
            return [(f"deal.pipeline: {exc.message}", doc.line_of(("deal", "pipeline")))]
        stage = part.get("stage")
        if stage and pipeline.stage(stage) is None:
            return [(f"deal.stage: {stage!r} is not a stage of pipeline {pipeline.id!r}",
                     doc.line_of(("deal", "stage")))]
    return []


# -- add ------------------------------------------------------------------------------------------------
@dataclass
class TemplateSpec:
    """Everything `recurring add` may say: the deal (as for `deal add`) and the schedule."""

    deal: deals.DealSpec
    from_deal: str | None = None
    every: str | None = None
    interval: int | None = None
    rrule: str | None = None
    start: str | None = None
    until: str | None = None
    count: int | None = None
    create_before: int = 0
    begin_offset: int = 0
    close_offset: int | None = None


def _day(s: Session, text: str, option: str) -> dt.date:
    try:
        return timeutil.parse_date(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError(f"{option}: {exc}") from None


def today(s: Session) -> dt.date:
    return s.now.astimezone(s.tz).date()


def add(s: Session, spec: TemplateSpec) -> Template:
    """Validate and save a new template; the deal part is built as `deal add` would build it
    (clients resolved, products parsed, pipeline and stage checked)."""
    if spec.create_before < 0:
        raise UsageError(f"--create-before: {spec.create_before} is negative")
    for option, value in (("--create-before", spec.create_before), ("--begin-offset", spec.begin_offset),
                          ("--close-offset", spec.close_offset)):
        if value is not None and abs(value) > MAX_OFFSET_DAYS:  # refused up front, never stored
            raise UsageError(f"{option}: {value} days is beyond the limit of {MAX_OFFSET_DAYS} days")
    start = _day(s, spec.start, "--start") if spec.start else today(s)
    until = _day(s, spec.until, "--until") if spec.until else None
    rule = build_rule(spec.every, spec.interval, spec.rrule, start, until, spec.count)
    dspec = copy.copy(spec.deal)
    from_deal = None
    if spec.from_deal:
        ref = spec.from_deal.split(":", 1)[1] if spec.from_deal.startswith("deal:") else spec.from_deal
        source, _ = s.load_deal(ref)
        from_deal = source.id
        dspec.from_ref = f"deal:{source.id}"
        if not (dspec.title or "").strip():
            dspec.title = source.title
    if not (dspec.title or "").strip():
        raise UsageError("recurring add: give a TITLE or --from DEAL")
    check_title(dspec.title)
    with s.repo.transaction():  # a refused template leaves no new company or contact behind
        proto, pipeline = deals.build(s, dspec)
        violations = stage_rules.transition(proto, pipeline, proto.stage, "create", now=s.now).violations
        if violations:
            raise RuleViolation(violations)
        part = {
            "pipeline": proto.pipeline, "stage": proto.stage,
            "amount": proto.amount if proto.manual_amount else None,
            "currency": proto.currency, "company": proto.company, "contacts": list(proto.contacts),
            "products": [row.to_dict() for row in proto.products], "type": proto.type,
            "source": proto.source, "responsible": proto.responsible,
            "probability": parse.parse_probability(dspec.probability) if dspec.probability is not None else None,
            "fields": dict(proto.fields),
        }
        t = Template(id=new_id(), title=proto.title, rule=rule, start=start, every=spec.every,
                     create_before=spec.create_before, begin_offset=spec.begin_offset,
                     close_offset=spec.close_offset, deal=part, from_deal=from_deal,
                     created=s.now, created_by=s.user)
        s.repo.create(KIND, t.id, t.to_dict())
    return t


# -- planning ----------------------------------------------------------------------------------------------
def _naive_local(s: Session, when: dt.datetime) -> dt.datetime:
    return when.astimezone(s.tz).replace(tzinfo=None)


@dataclass
class Planned:
    template: Template
    occurrence: dt.datetime
    n: int
    deal_id: str
    skip: str | None = None  # why it is passed over: "paused", "no-catch-up"; None: create it

    def row(self) -> dict:
        return {"template": self.template.id, "occurrence": occurrence_text(self.occurrence), "n": self.n,
                "id": self.deal_id, "title": render_title(self.template.title, self.occurrence, self.n)}


def _number(rule, occ: dt.datetime) -> int:
    """The occurrence's 1-based position in its schedule."""
    n = 0
    for d in rule:
        if d > occ:
            break
        n += 1
    return n


def plan(s: Session, t: Template, catch_up: bool = True) -> list[Planned]:
    """The occurrences of `t` due by now and not yet handled, oldest first; those passed over
    (paused periods, --no-catch-up) are marked `skip`."""
    rule = parse_rule(t.rule, t.start, s.tz)
    horizon = _naive_local(s, s.now) + dt.timedelta(days=t.create_before)
    lead = dt.timedelta(days=t.create_before)
    periods = [(_naive_local(s, a), _naive_local(s, b)) for a, b in t.paused_periods]
    it = rule.xafter(t.last_occurrence, inc=False) if t.last_occurrence else iter(rule)
    out: list[Planned] = []
    n = None
    for occ in it:
        if occ > horizon:
            break
        if n is None:
            n = _number(rule, occ)
        else:
            n += 1
        due = occ - lead
        skip = "paused" if any(a < due <= b for a, b in periods) else None
        out.append(Planned(t, occ, n, occurrence_key(t.id, occ), skip))
    if not catch_up:
        live = [p for p in out if not p.skip]
        for p in live[:-1]:
            p.skip = "no-catch-up"
    return out


def next_occurrence(s: Session, t: Template) -> dt.datetime | None:
    """The next occurrence that a run will create (None when the schedule is over)."""
    rule = parse_rule(t.rule, t.start, s.tz)
    lead = dt.timedelta(days=t.create_before)
    periods = [(_naive_local(s, a), _naive_local(s, b)) for a, b in t.paused_periods]
    if t.paused:
        periods.append((_naive_local(s, t.paused_at or s.now), _naive_local(s, s.now)))
    it = rule.xafter(t.last_occurrence, inc=False) if t.last_occurrence else iter(rule)
    for i, occ in enumerate(it):
        if not any(a < occ - lead <= b for a, b in periods):
            return occ
        if i > 100_000:
            break
    return None


def spec_for(s: Session, p: Planned) -> deals.DealSpec:
    t, part = p.template, p.template.deal
    day = p.occurrence.date()
    for which, kind in (("company", "companies"), ("contacts", "contacts")):
        values = part.get(which) or []
        for ref in values if isinstance(values, list) else [values]:
            if not s.repo.exists(kind, str(ref)):
                raise NotFound(f"deal.{which}: {ref!r} no longer exists ({kind}/{ref}.yaml)")
    amount = part.get("amount")
    prob = part.get("probability")
    return deals.DealSpec(
        title=render_title(t.title, p.occurrence, p.n),
        amount=None if amount is None else str(amount),
        currency=part.get("currency"),
        company=part.get("company"),
        contacts=[str(c) for c in part.get("contacts") or []],
        product_rows=[ProductRow.from_dict(r, ("deal", "products", i)) for i, r in enumerate(part.get("products") or [])],
        pipeline=part.get("pipeline"),
        stage=part.get("stage"),
        type=part.get("type"),
        source=part.get("source"),
        responsible=part.get("responsible"),
        begin=(day + dt.timedelta(days=t.begin_offset)).isoformat(),
        close_date=None if t.close_offset is None else (day + dt.timedelta(days=t.close_offset)).isoformat(),
        probability=None if prob is None else str(prob),
        fields=copy.deepcopy(part.get("fields") or {}),
        extra={"recurring": {"template": t.id, "occurrence": occurrence_text(p.occurrence), "n": p.n}},
    )


# -- run -------------------------------------------------------------------------------------------------
class RunProblems(ValidationFailed):
    """Some templates could not be run (exit 1); each line names the template's file."""

    def __init__(self, lines: list[str]):
        self._lines = lines
        super().__init__("; ".join(lines))

    def lines(self, label=None) -> list[str]:
        return list(self._lines)


@dataclass
class RunResult:
    created: list[Planned] = field(default_factory=list)  # with --dry-run: what would be created
    skipped: list[Planned] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _problem(s: Session, template_id: str, exc: DealcliError) -> str:
    rel = _rel(s, template_id)
    text = "; ".join(exc.lines()) if not isinstance(exc, CorruptData) else exc.message
    return text if text.startswith(rel) else f"{rel}: {text}"


def run(s: Session, dry_run: bool = False, catch_up: bool = True) -> RunResult:
    """Create every occurrence due by now, for every active template. Idempotent: runs hold the
    repository lock, each occurrence has a create-only deal id, and the template's marker
    records the latest occurrence handled. A template that cannot be run goes to
    `result.problems` (its file named) and the others still run."""
    result = RunResult()
    if dry_run:
        for tid in s.repo.ids(KIND):
            _run_one(s, tid, True, catch_up, result)
        return result
    with s.repo.lock():
        for tid in s.repo.ids(KIND):
            _run_one(s, tid, False, catch_up, result)
    return result


def _run_one(s: Session, tid: str, dry_run: bool, catch_up: bool, result: RunResult) -> None:
    try:
        t, doc = load(s, tid)
    except NotFound:
        return  # deleted meanwhile
    except DealcliError as exc:
        result.problems.append(_problem(s, tid, exc))
        return
    if t.paused:
        return
    try:
        for p in plan(s, t, catch_up):
            create = not p.skip and not s.repo.exists("deals", p.deal_id)  # else made by an earlier run
            if dry_run:
                (result.created if create else result.skipped if p.skip else []).append(p)
                continue
            # the deal and the template's marker in one transaction: after a crash either both
            # are written or neither, so a deal deleted later is never created again
            with s.repo.transaction():
                if create:
                    deals.add(s, spec_for(s, p), deal_id=p.deal_id, via="recurring")
                    t.occurrences_created += 1
                t.last_occurrence = p.occurrence
                # prune paused periods wholly before the marker: they can no longer matter
                t.paused_periods = [(a, b) for a, b in t.paused_periods
                                    if _naive_local(s, b) >= t.last_occurrence - dt.timedelta(days=t.create_before)]
                doc = s.repo.update(doc, t.to_dict())
            (result.created if create else result.skipped if p.skip else []).append(p)
    except RuleError as exc:
        result.problems.append(f"{_rel(s, tid)}: schedule.rule: {exc}")
    except (DealcliError, FieldError) as exc:
        if isinstance(exc, FieldError):
            exc = CorruptData(_rel(s, tid), str(exc), doc.line_of(exc.path))
        result.problems.append(_problem(s, tid, exc))


# -- pause, resume, delete, list ---------------------------------------------------------------------------
def _update(s: Session, ref: str, change) -> Template:
    template_id = s.repo.resolve(KIND, ref)
    with s.repo.transaction():
        t, doc = load(s, template_id)
        if change(t):
            s.repo.update(doc, t.to_dict())
    return t


def set_paused(s: Session, rec, what: str, paused: bool) -> bool:
    """Pause or resume a schedule (a template, a generator scenario); False with a notice when
    it already is. A template records the paused period, so `run` passes over it."""
    if rec.paused == paused:
        s.notice(f"{what} {rec.id} is {'already paused' if paused else 'not paused'}")
        return False
    if not paused and hasattr(rec, "paused_periods"):
        rec.paused_periods.append((rec.paused_at or s.now, s.now))
    rec.paused, rec.paused_at = paused, (s.now if paused else None)
    return True


def pause(s: Session, ref: str) -> Template:
    return _update(s, ref, lambda t: set_paused(s, t, "recurring", True))


def resume(s: Session, ref: str) -> Template:
    """Occurrences that fell due while paused are not created later (the paused period is
    recorded and passed over by `run`)."""
    return _update(s, ref, lambda t: set_paused(s, t, "recurring", False))


def delete(s: Session, ref: str) -> str:
    """Delete a template; the deals it created stay."""
    return s.repo.remove_ref(KIND, ref)


def status(s: Session, t: Template, nxt: dt.datetime | None) -> str:
    if t.paused:
        return "paused"
    return "active" if nxt is not None else "finished"


def schedule_text(t: Template) -> str:
    if t.every:
        m = re.search(r"INTERVAL=(\d+)", t.rule)
        n = int(m.group(1)) if m else 1
        text = f"every {t.every}" if n == 1 else f"every {n} {t.every}s"
        for word, pattern in (("until", r"UNTIL=(\d{4})(\d{2})(\d{2})"), ("count", r"COUNT=(\d+)")):
            m = re.search(pattern, t.rule)
            if m:
                text += f", {word} " + ("-".join(m.groups()) if word == "until" else m.group(1))
        return text
    return t.rule


def summary(s: Session, t: Template) -> dict:
    nxt = next_occurrence(s, t)
    return {
        "id": t.id, "title": t.title, "schedule": schedule_text(t), "start": t.start,
        "next": occurrence_text(nxt) if nxt else None, "status": status(s, t, nxt),
        "created": t.occurrences_created,
    }


def listing(s: Session) -> list[dict]:
    """One row per template with its next occurrence; unreadable templates become notices."""
    out = []
    for tid in s.repo.ids(KIND):
        try:
            t, _ = load(s, tid)
            out.append(summary(s, t))
        except (NotFound, NotAllowed):  # NotAllowed: hidden by the access rights
            continue
        except DealcliError as exc:
            s.notice(f"skipped {_problem(s, tid, exc)}")
    return out


def upcoming(s: Session, t: Template, limit: int = 5) -> list[str]:
    rule = parse_rule(t.rule, t.start, s.tz)
    nxt = next_occurrence(s, t)
    if nxt is None:
        return []
    out = [nxt]
    for occ in rule.xafter(nxt, inc=False):
        if len(out) >= limit:
            break
        out.append(occ)
    return [occurrence_text(o) for o in out]


def card(s: Session, ref: str) -> tuple[dict, str | None, list[str]]:
    """`recurring show` on a terminal: show() plus the names of the company and contacts."""
    from dealcli import clients

    out = show(s, ref)
    part = out.get("deal") if isinstance(out.get("deal"), dict) else {}
    return (out, clients.label(s, "company", part.get("company")),
            [clients.label(s, "contact", str(c)) for c in part.get("contacts") or []])


def show(s: Session, ref: str) -> dict:
    t, _ = resolve(s, ref)
    out = t.to_dict()
    info = summary(s, t)
    out["status"] = info["status"]
    out["next"] = upcoming(s, t)
    return out
