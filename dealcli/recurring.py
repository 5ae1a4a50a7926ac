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

The record and what loading it needs (rule parsing, occurrence dates, the title's
placeholders, the `deal:` part) are in dealcli/model/template.py.
A created deal records `recurring: {template, occurrence, n}` and its `created` history event
says `via: recurring`."""

from __future__ import annotations

import copy
import datetime as dt
import re
import string
from dataclasses import dataclass, field

from dealcli import deals, parse, stage_rules, timeutil
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
from dealcli.model import ProductRow
from dealcli.model.template import (  # noqa: F401 - the record's helpers, also used as recurring.X
    DEAL_PART_KEYS,
    EVERY,
    MAX_OFFSET_DAYS,
    PLACEHOLDERS,
    RuleError,
    Template,
    check_deal_part,
    check_title,
    midnight,
    occurrence_text,
    parse_occurrence,
    parse_rule,
)
from dealcli.session import Session
from dealcli.storage.repository import Doc
from dealcli import i18n

KIND = "recurring"
FIRST_SEARCH_YEARS = 20


# -- schedules -------------------------------------------------------------------------------------
def build_rule(every: str | None, interval: int | None, rrule_text: str | None, start: dt.date,
               until: dt.date | None = None, count: int | None = None) -> str:
    """The RFC 5545 rule text (without DTSTART) for the options of `recurring add`."""
    if (every is None) == (rrule_text is None):
        raise UsageError.about(("every", "rrule"), "recurring add: give exactly one of {0} or {1}")
    if until is not None and count is not None:
        raise UsageError.about(("until", "count"), "recurring add: give {0} or {1}, not both")
    if count is not None and count < 1:
        raise UsageError.about("count", "{0}: {count} is not a positive number", count=count)
    if until is not None and until < start:
        raise UsageError.about(("until", "start"), "{0} {until} is before {1} {start}", until=until.isoformat(),
                               start=start.isoformat())
    if every is not None:
        if every not in EVERY:
            raise UsageError.about("every", "{0} {every!r}: expected day, week, month or year", every=every)
        if interval is not None and interval < 1:
            raise UsageError.about("interval", "{0}: {interval} is not a positive number", interval=interval)
        parts = [f"FREQ={EVERY[every]}", f"INTERVAL={interval or 1}"]
        if every == "month" and start.day >= 29:
            # the last existing day of 28..start.day: the day itself, or the month's last day
            parts += ["BYMONTHDAY=" + ",".join(str(d) for d in range(28, start.day + 1)), "BYSETPOS=-1"]
        elif every == "year" and (start.month, start.day) == (2, 29):
            parts += ["BYMONTH=2", "BYMONTHDAY=28,29", "BYSETPOS=-1"]
    else:
        if interval is not None:
            raise UsageError.about(("interval", "every", "rrule"), "{0} goes with {1}; write INTERVAL=N inside {2}")
        text = (rrule_text or "").strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        if not text or "\n" in text or ":" in text:
            raise UsageError.about(("rrule", "start"), '{0} {rule!r}: give one rule, e.g. "FREQ=MONTHLY;BYDAY=MO;'
                                   'BYSETPOS=1" (the start date is {1}, not DTSTART)', rule=rrule_text)
        parts = [p.strip() for p in text.split(";") if p.strip()]
        names = {p.partition("=")[0].upper() for p in parts}
        if (until is not None or count is not None) and names & {"UNTIL", "COUNT"}:
            raise UsageError.about(("rrule", "until", "count"),
                                   "{0} already has UNTIL or COUNT; do not also give {1} or {2}")
    if until is not None:
        parts.append(f"UNTIL={until:%Y%m%d}T235959")
    if count is not None:
        parts.append(f"COUNT={count}")
    rule = ";".join(parts)
    try:
        r = parse_rule(rule, start)
    except RuleError as exc:
        if rrule_text is None:
            raise UsageError(str(exc)) from None
        raise UsageError.about("rrule", "{0}: {problem}", problem=str(exc)) from None
    try:
        horizon = midnight(start) + dt.timedelta(days=366 * FIRST_SEARCH_YEARS)
    except OverflowError:  # the search ends where dates end
        horizon = dt.datetime.max.replace(tzinfo=midnight(start).tzinfo)
    if next(iter(r), horizon) >= horizon:
        raise UsageError(i18n._("schedule {rule!r} from {start_isoformat}: no occurrence in the next "
                         "{first_search_years} years").format(
                             rule=rule, start_isoformat=start.isoformat(), first_search_years=FIRST_SEARCH_YEARS))
    return rule


def occurrence_key(template_id: str, occ: dt.datetime) -> str:
    """The per-occurrence key, which is also the created deal's id: <template>-<YYYYMMDD>
    (plus tHHMM[SS] for rules with times of day)."""
    key = f"{template_id}-{occ:%Y%m%d}"
    if occ.time() != dt.time():
        key += f"t{occ:%H%M}" + (f"{occ:%S}" if occ.second else "")
    return key


# -- titles ------------------------------------------------------------------------------------------
def render_title(title: str, occ: dt.datetime, n: int) -> str:
    out = []
    for literal, name, spec, _ in string.Formatter().parse(title):
        out.append(literal)
        if name == "date":
            out.append(i18n.month_name(occ, spec) if spec else occurrence_text(occ))  # декабрь in Russian
        elif name == "n":
            out.append(format(n, spec or ""))
    return "".join(out)


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
        raise CorruptData(rel, i18n._("id {t_id!r} does not match the file name {doc_id!r}").format(
            t_id=t.id, doc_id=doc.id), doc.line_of(("id",)))
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
            return [(i18n.Text("deal.stage: {stage!r} is not a stage of pipeline {pipeline!r}", stage=stage,
                               pipeline=pipeline.id),
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


def _day(s: Session, text: str, field: str) -> dt.date:
    """A date the caller gave as `field` (start, until), read as the repository reads dates."""
    try:
        return timeutil.parse_date(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError.about(field, "{0}: {problem}", problem=str(exc)) from None


def today(s: Session) -> dt.date:
    return s.now.astimezone(s.tz).date()


def add(s: Session, spec: TemplateSpec) -> Template:
    """Validate and save a new template; the deal part is built as `deal add` would build it
    (clients resolved, products parsed, pipeline and stage checked)."""
    if spec.create_before < 0:
        raise UsageError.about("create_before", "{0}: {days} is negative", days=spec.create_before)
    for name in ("create_before", "begin_offset", "close_offset"):
        value = getattr(spec, name)
        if value is not None and abs(value) > MAX_OFFSET_DAYS:  # refused up front, never stored
            raise UsageError.about(name, "{0}: {days} days is beyond the limit of {limit} days", days=value,
                                   limit=MAX_OFFSET_DAYS)
    start = _day(s, spec.start, "start") if spec.start else today(s)
    until = _day(s, spec.until, "until") if spec.until else None
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
        raise UsageError.about(("title", "from"), "recurring add: give a {0} or {1} DEAL")
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
        s.repo.create(KIND, t.id, t)
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
                raise NotFound(i18n._("deal.{which}: {ref!r} no longer exists ({kind}/{ref}.yaml)").format(
                    which=which, ref=ref, kind=kind))
    amount = part.get("amount")
    prob = part.get("probability")
    return deals.DealSpec(
        title=render_title(t.title, p.occurrence, p.n),
        amount=None if amount is None else str(amount),
        currency=part.get("currency"),
        company=part.get("company"),
        contacts=[str(c) for c in part.get("contacts") or []],
        product_rows=[ProductRow.from_dict(r, ("deal", "products", i))
                      for i, r in enumerate(part.get("products") or [])],
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
                doc = s.repo.update(doc, t)
            (result.created if create else result.skipped if p.skip else []).append(p)
    except RuleError as exc:
        result.problems.append(f"{_rel(s, tid)}: schedule.rule: {exc}")
    except (DealcliError, FieldError) as exc:
        if isinstance(exc, FieldError):
            exc = CorruptData(_rel(s, tid), str(exc), doc.line_of(exc.path))
        result.problems.append(_problem(s, tid, exc))


# -- pause, resume, delete, list ---------------------------------------------------------------------------
def update_ref(s: Session, kind: str, ref: str, load, change):
    """Load the record `ref` names with `load(s, id)`, let `change(record)` change it, and write
    it back when that returns true (templates here; generator scenarios use it too)."""
    record_id = s.repo.resolve(kind, ref)
    with s.repo.transaction():
        record, doc = load(s, record_id)
        if change(record):
            s.repo.update(doc, record)
    return record


def _update(s: Session, ref: str, change) -> Template:
    return update_ref(s, KIND, ref, load, change)


def set_paused(s: Session, rec, what: str, paused: bool) -> bool:
    """Pause or resume a schedule (a template, a generator scenario); False with a notice when
    it already is. A template records the paused period, so `run` passes over it."""
    if rec.paused == paused:
        s.notice(i18n._("{what} {rec_id} is {already_paused_if_paused}").format(
            what=what, rec_id=rec.id, already_paused_if_paused='already paused' if paused else 'not paused'))
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
            s.notice(i18n._("skipped {problem_s_tid_exc}").format(problem_s_tid_exc=_problem(s, tid, exc)))
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
    part = given if isinstance(given := out.get("deal"), dict) else {}
    return (out, clients.label(s, "company", part.get("company")),
            [clients.label(s, "contact", str(c)) or str(c) for c in part.get("contacts") or []])


def show(s: Session, ref: str) -> dict:
    t, _ = resolve(s, ref)
    out = t.to_dict()
    info = summary(s, t)
    out["status"] = info["status"]
    out["next"] = upcoming(s, t)
    return out
