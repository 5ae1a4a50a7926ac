"""Deal use cases: add, edit, move, close, reopen, comment, delete. Each takes the Session (the
acting user and the clock), asks stage_rules whether the change is allowed, appends history
events, and writes atomically under the repository lock. Several ids are one transaction:
every deal is checked before any is written."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from dealcli import (activities, cards, choices, clients, leads, money, parse, products, quotes, stage_rules,
                     timeutil)
from dealcli.errors import DealcliError, RuleViolation, UsageError, Violation
from dealcli.ids import new_id
from dealcli.model import DATE_FIELDS, DEAL_KEYS, TEXT_FIELDS, Deal, Pipeline, ProductRow
from dealcli.session import Session
from dealcli import i18n
from dealcli.i18n import Text

DEAL_FIELD_NAMES = frozenset(DEAL_KEYS)
TRACKED = ("title", "pipeline", "stage", "status", "amount", "currency", "manual_amount", "company",
           "contacts", "type", "source", "responsible", "begin", "close_date", "probability", "repeat",
           "lost_reason", "origin_id")


# -- events --------------------------------------------------------------------------------------
def event(s: Session, kind: str, **data) -> dict:
    out = {"at": timeutil.iso(s.now), "by": s.user, "kind": kind}
    out.update({k: _plain(v) for k, v in data.items()})
    return out


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return timeutil.iso(value)
    if isinstance(value, Decimal):
        return money.fmt(value)  # text: YAML would turn a whole Decimal into an int
    return value


def mark_backdated(history: list, start: int) -> None:
    """Events from `start` on (those this write adds) that are older than the event before them
    (a clock given with --now or DEALCLI_NOW in the past, or a clock behind) say so with
    `backdated: true`: history stays in the order it was written, and `check` accepts them."""
    from dealcli import merge

    for n in range(max(start, 1), len(history)):
        e, prev = history[n], history[n - 1]
        if not isinstance(e, dict) or not isinstance(prev, dict):
            continue
        at, before = merge.when(e.get("at")), merge.when(prev.get("at"))
        if at and before and at < before:
            e["backdated"] = True


def diff_events(s: Session, before: Deal, after: Deal) -> list[dict]:
    out = []
    for name in TRACKED:
        if name in ("stage", "status", "pipeline"):
            continue  # recorded by moved/closed/pipeline_changed events
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            out.append(event(s, "changed", field=name, old=old, new=new))
    if [p.to_dict() for p in before.products] != [p.to_dict() for p in after.products]:
        out.append(event(s, "changed", field="products", old=len(before.products), new=len(after.products),
                         rows=row_changes(before.products, after.products)))
    for key in sorted(set(before.fields) | set(after.fields)):
        if before.fields.get(key) != after.fields.get(key):
            out.append(event(s, "changed", field=f"fields.{key}", old=before.fields.get(key),
                             new=after.fields.get(key)))
    return out


def row_changes(before: list, after: list) -> list[dict]:
    """What changed inside the product rows, row by row (1-based): {row, name, field, old, new}
    for a changed value, {row, added: name} / {row, removed: name} for a row more or less."""
    out: list[dict] = []
    for i in range(max(len(before), len(after))):
        old = before[i].to_dict() if i < len(before) else None
        new = after[i].to_dict() if i < len(after) else None
        if old is None:
            out.append({"row": i + 1, "added": after[i].name})
        elif new is None:
            out.append({"row": i + 1, "removed": old.get("name")})
        else:
            for key in dict.fromkeys(list(old) + list(new)):
                if old.get(key) != new.get(key):
                    out.append({"row": i + 1, "name": new.get("name"), "field": key,
                                "old": _plain(old.get(key)), "new": _plain(new.get(key))})
    return out


# deal fields a FIELD=VALUE assignment never sets, and what does
CORE_FIELDS = {"stage": "`dealcli deal move`", "status": "`dealcli deal close` or `dealcli deal reopen`",
               "pipeline": "`dealcli deal move` with a pipeline", "id": "an id never changes",
               "closed_at": "`dealcli deal close`", "history": "it records every change",
               "created": "it is the creation time", "created_by": "it is the creator",
               "modified": "every change sets it", "repeat": "it follows the client's won deals",
               "manual_amount": "set amount, or unset it to sum the products", "format": "the file format",
               "products": "a product option", "comments": "`dealcli deal comment`",
               "fields": "fields.NAME=VALUE"}


def apply_set(s: Session, deal: Deal, pipeline: Pipeline, name: str, value: str) -> None:
    """One assignment of `sets` (FIELD=VALUE): a known deal field by its name, else a custom field.
    Errors are about `set` (the edge words it as --set)."""
    explicit_free = name.startswith("fields.")
    if explicit_free:
        name = name[7:]
        known = False
    else:
        known = name in TEXT_FIELDS or name in DATE_FIELDS or name in ("amount", "probability", "contacts")
    if not known:
        if not name or len(name) > 64:
            raise UsageError.about("set", "{0}: {name!r} is not a usable field name", name=name)
        card_names = cards.card_of(pipeline).names()
        if not explicit_free and name in CORE_FIELDS:
            raise UsageError.about("set", "{0} {name}: not set by hand ({how}); {0} fields.{name}=... is a "
                                   "custom field of that name", name=name, how=CORE_FIELDS[name])
        if not explicit_free and name not in card_names:
            from dealcli.suggest import hint

            settable = list(TEXT_FIELDS) + list(DATE_FIELDS) + ["amount", "probability", "contacts"]
            where = f"not a field of pipeline {pipeline.id!r} (card fields: {', '.join(card_names)})" \
                if card_names else f"not a deal field and pipeline {pipeline.id!r} has no card"
            raise UsageError.about("set", "{0} {name}: {where}{hint}; a custom field is written {0} "
                                   "fields.{name}=VALUE", name=name, where=where,
                                   hint=hint(name, card_names + settable))
        deal.fields[name] = cards.coerce(pipeline, name, value, s)
        return
    if name == "amount":
        deal.amount, deal.manual_amount = _amount(value), True
    elif name == "probability":
        deal.probability = _probability(value)
    elif name in DATE_FIELDS:
        setattr(deal, name, _date(s, value, name))
    elif name == "contacts":
        deal.contacts = [clients.resolve(s, "contact", v, refuse_near=True) for v in value.split(",") if v.strip()]
    elif name == "company":
        deal.company = clients.resolve(s, "company", value, refuse_near=True) if value else None
    elif name == "currency":
        deal.currency = parse.parse_currency(value)
    elif name in choices.LISTS:
        setattr(deal, name, choices.check(s, name, value))
    else:
        setattr(deal, name, value)


def unset(deal: Deal, name: str) -> None:
    if name == "amount":
        deal.manual_amount = False
        deal.recompute_amount()
    elif name in ("contacts", "products"):
        setattr(deal, name, [])
    elif name in ("title", "pipeline", "stage", "status", "currency", "id"):
        raise UsageError.about("unset", "{0} {name}: this field cannot be empty", name=name)
    elif name in TEXT_FIELDS or name in DATE_FIELDS or name == "probability":
        setattr(deal, name, None)
    else:
        key = name[7:] if name.startswith("fields.") else name
        if key in deal.fields:
            del deal.fields[key]
        elif key in deal.extra:
            del deal.extra[key]
        else:
            raise UsageError.about("unset", "{0} {name}: the deal has no such field", name=name)


def _date(s: Session, value, field: str):
    """A typed date (parsed at the edge), or text from a caller that has no edge (a template);
    an error is about `field` (begin, close_date)."""
    return parse.parse_date(value, s.now, field, s.date_order) if isinstance(value, str) else value


def _amount(value) -> Decimal:
    return parse.parse_amount(value) if isinstance(value, str) else value


def _probability(value) -> int:
    return parse.parse_probability(value) if isinstance(value, str) else value


# -- add -----------------------------------------------------------------------------------------------
@dataclass
class DealSpec:
    """Everything `deal add` (and import, leads, recurring) may say about a new deal."""

    title: str
    amount: Decimal | str | None = None  # typed values from the edge; text from callers without one
    currency: str | None = None
    company: str | None = None
    contacts: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    product_rows: list[ProductRow] = field(default_factory=list)
    pipeline: str | None = None
    stage: str | None = None
    type: str | None = None
    source: str | None = None
    responsible: str | None = None
    begin: dt.date | str | None = None
    close_date: dt.date | str | None = None
    probability: int | str | None = None
    comment: str | None = None
    sets: list[str] = field(default_factory=list)
    typed: bool = False        # names typed by a person (deal add): a near-miss client name is refused
    new_company: bool = False  # ... unless the name is meant as a new company / new contacts
    new_contact: bool = False
    from_ref: str | None = None
    extra: dict = field(default_factory=dict)  # extra top-level keys (e.g. links to a template)
    fields: dict = field(default_factory=dict)  # custom fields as typed values (recurring templates)


FROM = "from"  # what an error about DealSpec.from_ref names: the option of `deal add` that sets it


def copy_from(s: Session, ref: str, deal: Deal) -> None:
    """`from` deal:ID copies client, products, pipeline and the rest of what fits; lead:ID,
    quote:ID, contact:ID and company:ID copy what they hold (see docs/clients.md)."""
    kind, sep, rid = ref.partition(":")
    if not sep or not rid:
        raise UsageError.about(FROM, "{0} {ref!r}: expected KIND:ID (lead, contact, company, quote or deal)", ref=ref)
    if kind in ("lead", "quote", "contact", "company"):
        copier = {"lead": leads.copy_into, "quote": quotes.copy_into}.get(kind)
        copier(s, rid, deal) if copier else clients.copy_into(s, kind, rid, deal)
        return
    if kind != "deal":
        raise UsageError.about(FROM, "{0} {ref!r}: {kind!r} is not one of lead, contact, company, quote, deal",
                               ref=ref, kind=kind)
    src, _ = s.load_deal(rid)
    deal.pipeline, deal.currency, deal.company = src.pipeline, src.currency, src.company
    deal.contacts = list(src.contacts)
    deal.products = copy.deepcopy(src.products)
    deal.type, deal.source, deal.responsible = src.type, src.source, src.responsible
    deal.fields = copy.deepcopy(src.fields)
    deal.manual_amount, deal.amount = src.manual_amount, src.amount


def is_repeat(s: Session, company: str | None, contacts: list[str], exclude: str | None = None) -> bool:
    """stage_rules.is_repeat against the won deals of the repository (from the index cache's
    keys when it is usable, else a scan). `exclude`: the deal itself."""
    wanted = stage_rules.repeat_wanted(company, contacts)
    if not wanted:
        return False
    found = s.repo.lookup("deals", wanted)  # the index cache: no scan of every deal
    if found is not None:
        return any(i != exclude for i in found)
    won = set()
    for data in s.deal_records(errors=[], everyone=True):
        if data.get("id") != exclude:
            won.update(stage_rules.repeat_keys(data))
    return stage_rules.is_repeat(company, contacts, won)


def build(s: Session, spec: DealSpec) -> tuple[Deal, Pipeline]:
    """A new deal from a spec, not yet validated or saved."""
    title = (spec.title or "").strip()
    if not title:
        raise UsageError(i18n._("a deal needs a title"))
    if len(title) > 500:
        raise UsageError(i18n._("title: {len_title} characters is too long (limit 500)").format(len_title=len(title)))
    deal = Deal(id=new_id(), title=title, pipeline="", stage="", currency=s.currency)
    if spec.from_ref:
        copy_from(s, spec.from_ref, deal)
    deal.pipeline = spec.pipeline or deal.pipeline or s.default_pipeline_id()
    pipeline = s.pipeline(deal.pipeline)
    deal.stage = stage_rules.entry_stage(pipeline, spec.stage)  # checked by transition(create)
    if spec.currency:
        deal.currency = parse.parse_currency(spec.currency)
    if spec.company:
        deal.company = clients.resolve(s, "company", spec.company,
                                       refuse_near=spec.typed and not spec.new_company)
    if spec.contacts:
        deal.contacts = [clients.resolve(s, "contact", c, refuse_near=spec.typed and not spec.new_contact)
                         for c in spec.contacts]
    rows = list(spec.product_rows) + products.rows(s, spec.products)
    if rows:
        deal.products = rows
    if spec.amount is not None:
        deal.amount, deal.manual_amount = _amount(spec.amount), True
    deal.recompute_amount()
    deal.type = choices.check(s, "type", spec.type) if spec.type else deal.type
    deal.source = choices.check(s, "source", spec.source) if spec.source else deal.source
    deal.responsible = spec.responsible or deal.responsible or s.user
    deal.created_by, deal.created, deal.modified = s.user, s.now, s.now
    deal.begin = _date(s, spec.begin, "begin") if spec.begin else s.now.date()
    deal.close_date = _date(s, spec.close_date, "close_date") if spec.close_date else None
    deal.fields.update(copy.deepcopy(spec.fields))
    for assignment in spec.sets:
        apply_set(s, deal, pipeline, *parse.split_assignment(assignment))
    cards.apply_defaults(s, pipeline, deal.fields)
    if spec.probability is not None:  # else the stage's probability (stage_rules.transition)
        deal.probability = _probability(spec.probability)
    deal.extra.update(spec.extra)
    return deal, pipeline


def add(s: Session, spec: DealSpec, deal_id: str | None = None, via: str | None = None) -> Deal:
    """`deal_id`: a given id instead of a new one (written create-only: an existing deal with
    that id is a Conflict); `via`: what created it (e.g. "recurring"), noted in the created event.
    New companies and contacts named by the spec are created in the same transaction: a
    refused deal leaves none of them behind."""
    with s.repo.transaction():
        deal, pipeline = build(s, spec)
        if deal_id:
            deal.id = deal_id
        t = stage_rules.transition(deal, pipeline, deal.stage, "create", now=s.now,
                                   note={"via": via} if via else None)
        if t.violations:
            raise RuleViolation(t.violations)
        apply_transition(s, deal, t)
        deal.repeat = is_repeat(s, deal.company, deal.contacts)
        if spec.comment:
            deal.comments.append({"at": timeutil.iso(s.now), "by": s.user, "text": spec.comment})
            deal.history.append(event(s, "commented", text=spec.comment))
        s.save_deal(deal, None)
        clients.link_to_company(s, deal.contacts, deal.company)
    if via is None:  # deals made by a schedule (cron) get no hint: cron mails every stderr line
        activities.nudge(s, [deal])
    return deal


def apply_transition(s: Session, deal: Deal, t: stage_rules.Transition) -> None:
    """Set what a stage_rules.Transition decided and record its events."""
    for name, value in t.changes.items():
        setattr(deal, name, value)
    for kind, data in t.events:
        deal.history.append(event(s, kind, **data))


# -- changes to existing deals -----------------------------------------------------------------------
Change = Callable[[Deal, Pipeline], list[Violation]]


class _DryRun(Exception):
    """Leaves a transaction that was only tried: nothing it staged is written."""


def transact(s: Session, refs: list[str], change: Change, dry_run: bool = False) -> list[Deal]:
    """Apply `change` to every deal named by `refs` in one transaction; if any change is
    refused, raise with every refusal and write nothing. `dry_run`: do it all (stage
    automation included, automation.log says what it did), then write nothing."""
    if dry_run:
        try:
            vars(s)["_dry_run"] = True
            transact(s, refs, change)
        except _DryRun:
            pass
        vars(s).pop("_after_commit", None)
        return []
    seen: list[str] = []
    for ref in refs:
        deal_id = s.repo.resolve("deals", ref)
        if deal_id not in seen:
            seen.append(deal_id)
    with s.repo.transaction():
        loaded = [s.load_deal(deal_id) for deal_id in seen]
        violations: list[Violation] = []
        for deal, _ in loaded:
            violations += change(deal, s.pipeline(deal.pipeline))
        if violations:
            raise RuleViolation(violations)
        for deal, doc in loaded:
            deal.modified = s.now
            s.save_deal(deal, doc)
        if vars(s).pop("_dry_run", False):
            raise _DryRun
    return [deal for deal, _ in loaded]


def _transition(s: Session, deal: Deal, pipeline: Pipeline, stage_id: str | None, verb: str,
                **kw) -> list[Violation]:
    t = stage_rules.transition(deal, pipeline, stage_id, verb, now=s.now, **kw)
    if t.changes.get("lost_reason"):  # a lost reason from the repository's list, as it spells it
        reason = choices.check(s, "lost_reason", t.changes["lost_reason"], about="reason")
        t.changes["lost_reason"] = reason
        for _, data in t.events:
            if "reason" in data and data.get("status") == "lost":
                data["reason"] = reason
    if not t.violations:
        apply_transition(s, deal, t)
    return t.violations


def _apply_changes(s: Session, deal: Deal, pipeline: Pipeline, changes: dict, sets: list[str],
                   unsets: list[str]) -> None:
    """Field changes (by field name, typed values), FIELD=VALUE assignments and fields cleared."""
    for name, value in changes.items():
        if name == "products":
            deal.products = products.rows(s, value)
            deal.recompute_amount()
        elif name == "contacts":
            deal.contacts = [clients.resolve(s, "contact", c, refuse_near=True) for c in value]
        elif name == "closed_at":
            deal.closed_at = value
        else:
            apply_set(s, deal, pipeline, name, value)
    for assignment in sets:
        apply_set(s, deal, pipeline, *parse.split_assignment(assignment))
    for name in unsets:
        unset(deal, name)
    deal.recompute_amount()


def edit(s: Session, refs: list[str], changes: dict, sets: list[str], unsets: list[str]) -> list[Deal]:
    """Field changes (title, amount, company, contacts, products, dates ...), --set, --unset."""
    def change(deal: Deal, pipeline: Pipeline) -> list[Violation]:
        closed = stage_rules.check_open(deal, "edit")
        if closed:
            return closed
        before = copy.deepcopy(deal)
        _apply_changes(s, deal, pipeline, changes, sets, unsets)
        if (deal.company, deal.contacts) != (before.company, before.contacts):
            deal.repeat = is_repeat(s, deal.company, deal.contacts, exclude=deal.id)
        bad = stage_rules.check_edit(before, deal, pipeline)
        deal.history.extend(diff_events(s, before, deal))
        return bad

    return transact(s, refs, change)


CORRECTABLE = ("amount", "products", "close_date", "closed_at")  # and custom fields (sets, unsets)


def correct(s: Session, refs: list[str], changes: dict, sets: list[str], unsets: list[str],
            reason: str | None = None) -> list[Deal]:
    """Correct closed deals without reopening them: amount, product rows, custom fields, the
    expected close date and when the deal closed (`closed_at`). The deal keeps its stage,
    status and `closed_at` (so its revenue stays in its month) unless `closed_at` is corrected.
    Each change is a `corrected` event (not `changed`: `check` allows it on a closed deal). The
    access right is `edit_closed` (access.py: it falls back to reopen, then edit)."""
    unknown = [n for n in changes if n not in CORRECTABLE]
    if unknown:
        raise UsageError.about(unknown[0], "{0}: a closed deal's correction changes the amount, products, custom "
                               "fields, close date and closing time only (reopen it for the rest)")
    for name in [*(parse.split_assignment(a)[0] for a in sets), *unsets]:
        key = name[7:] if name.startswith("fields.") else name
        if key in DEAL_FIELD_NAMES and key not in CORRECTABLE:
            raise UsageError.about("set" if name not in unsets else "unset", "{0} {name}: a correction changes "
                                   "custom fields (and amount, products, dates); reopen the deal for the rest",
                                   name=name)
    if not (changes or sets or unsets):
        raise UsageError.about(("amount", "product", "set", "close_date", "closed_at"),
                               "nothing to correct ({0}, {1}, {2}, {3}, {4})")
    note = " ".join((reason or "").split()) or None

    def change(deal: Deal, pipeline: Pipeline) -> list[Violation]:
        if not deal.is_closed:
            return [Violation("not-closed", Text("deal {deal_id} is open; `dealcli deal edit` changes an open deal",
                                                 deal_id=deal.id),
                              "status", deal.status)]
        before = copy.deepcopy(deal)
        _apply_changes(s, deal, pipeline, changes, sets, unsets)
        found = diff_events(s, before, deal)
        if before.closed_at != deal.closed_at:
            found.append(event(s, "changed", field="closed_at", old=before.closed_at, new=deal.closed_at))
        for ev in found:
            ev["kind"] = "corrected"
            if note:
                ev["reason"] = note
        deal.history.extend(found)
        return stage_rules.check_fields(deal, pipeline)

    return transact(s, refs, change)


def move(s: Session, refs: list[str], stage_id: str, pipeline_id: str | None = None,
         reason: str | None = None, dry_run: bool = False) -> list[Deal]:
    """Move deals to a stage (of another pipeline with `pipeline_id`). `dry_run`: check it all
    and run the stage automation, then write nothing (automation.log(s) lists what the rules
    would do)."""
    rehomed: list[tuple[Deal, Pipeline]] = []

    def change(deal: Deal, pipeline: Pipeline) -> list[Violation]:
        target = s.pipeline(pipeline_id) if pipeline_id and pipeline_id != deal.pipeline else None
        bad = _transition(s, deal, pipeline, stage_id, "move", target=target, reason=reason,
                          note={"reason": " ".join(reason.split())} if reason and reason.strip() else None)
        if not bad and target is not None:
            rehomed.append((deal, target))
        return bad

    done = transact(s, refs, change, dry_run)
    if dry_run:
        return done
    for deal, target in rehomed:
        report_card_change(s, deal, target)
    return activities.nudge(s, done)


def report_card_change(s: Session, deal: Deal, target: Pipeline) -> None:
    """Custom fields are kept when a deal changes pipeline; say which the new card does not know
    and which no longer fit their type there."""
    unknown = cards.unknown_fields(target, deal.fields)
    if unknown:
        s.notice(i18n._("deal {deal_id}: kept custom field(s) {join_unknown} that the card of pipeline "
                 "{target_id!r} does not define").format(
                     deal_id=deal.id, join_unknown=', '.join(unknown), target_id=target.id))
    for name, problem in cards.check_values(target, deal.fields):
        s.notice(i18n._("deal {deal_id}: kept field {name!r} although it does not fit the card of pipeline "
                 "{target_id!r}: {problem}").format(deal_id=deal.id, name=name, target_id=target.id, problem=problem))


def close(s: Session, refs: list[str], won: bool, stage_id: str | None, reason: str | None) -> list[Deal]:
    return transact(s, refs, lambda deal, pipeline: _transition(s, deal, pipeline, stage_id, "close", won=won,
                                                                 reason=reason))


def reopen(s: Session, refs: list[str], stage_id: str | None) -> list[Deal]:
    return activities.nudge(s, transact(s, refs, lambda deal, pipeline: _transition(s, deal, pipeline, stage_id,
                                                                                    "reopen")))


def comment(s: Session, refs: list[str], text: str) -> list[Deal]:
    text = (text or "").strip()
    if not text:
        raise UsageError(i18n._("a comment needs text"))
    if len(text) > 100_000:
        raise UsageError(i18n._("comment: {len_text} characters is too long (limit 100000)").format(
            len_text=len(text)))

    def change(deal: Deal, pipeline: Pipeline) -> list[Violation]:
        deal.comments.append({"at": timeutil.iso(s.now), "by": s.user, "text": text})
        deal.history.append(event(s, "commented", text=text))
        return []

    return transact(s, refs, change)


def delete(s: Session, refs: list[str], unlink: bool = False) -> list[str]:
    """Delete deals, all or nothing. A deal with activities or a converted lead is refused
    unless `unlink`: then its activities are deleted and the lead's link cleared (the links of
    dealcli/kinds.py, settled by lifecycle.remove the same way for every kind)."""
    from dealcli import lifecycle

    return lifecycle.remove(s, "deal", refs, unlink)


def linked_to(s: Session, field_name: str, record_id: str) -> list[str]:
    """Ids of the deals whose `company` is, or whose `contacts` or product rows hold, `record_id`
    (field_name: company, contacts or products)."""
    out = []
    for r in s.deal_records([]):
        value = r.get(field_name) if isinstance(r, dict) else None
        if field_name == "products":
            value = [row.get("product") for row in value or [] if isinstance(row, dict)]
        if value == record_id or (isinstance(value, list) and record_id in value):
            out.append(str(r.get("id")))
    return out


def unlink(s: Session, field_name: str, record_id: str) -> list[str]:
    """Remove `record_id` from the deals linking it (company cleared, contact dropped, product
    rows kept without their catalogue id), open or closed, each with a `relinked` event (the
    kind a merge of duplicates records; allowed on a closed deal). Joins the caller's
    transaction."""
    done = []
    with s.repo.transaction():
        for deal_id in linked_to(s, field_name, record_id):
            deal, doc = s.load_deal(deal_id)
            note = f"{field_name.rstrip('s') if field_name != 'company' else 'company'} {record_id} deleted"
            old: object
            new: object
            if field_name == "company":
                old, deal.company = deal.company, None
                new = None
            elif field_name == "contacts":
                old = list(deal.contacts)
                deal.contacts = [c for c in deal.contacts if c != record_id]
                new = list(deal.contacts)
            elif field_name == "products":
                old = [r.product for r in deal.products]
                for row in deal.products:
                    if row.product == record_id:
                        row.product = None
                new = [r.product for r in deal.products]
            else:  # a quote or lead it was made from
                old, new = deal.extra.pop(field_name, None), None
            deal.history.append(event(s, "relinked", field=field_name, old=old, new=new, note=note))
            deal.modified = s.now
            s.save_deal(deal, doc)
            done.append(deal.id)
    return done


def show(s: Session, ref: str) -> Deal:
    return s.load_deal(ref)[0]


@dataclass
class DealView:
    """A deal with what its card shows resolved (names instead of ids), so that rendering
    never reads the disk."""

    deal: Deal
    pipeline: Pipeline | None
    company: str | None
    contacts: list[str]
    next_activity: str | None
    hidden: set[str] | frozenset = frozenset()  # fields the card leaves off for the acting user


def view(s: Session, ref: str, labels: bool = True) -> DealView:
    """`labels`: resolve names (the card); without, just the record (json, csv, ...: every field
    the user may read, the card's hidden fields too, as the reference CRM's API does)."""
    deal = show(s, ref)
    if not labels:
        return DealView(deal, None, deal.company, list(deal.contacts), None)
    try:
        pipeline = s.pipeline(deal.pipeline)
    except DealcliError:  # a broken pipeline must not hide the deal
        pipeline = None
    return DealView(deal, pipeline, clients.label(s, "company", deal.company),
                    [clients.label(s, "contact", c) or c for c in deal.contacts],
                    activities.label(s, deal.id) if deal.status == "open" else None,
                    hidden_fields(s, pipeline))


def hidden_fields(s: Session, pipeline: Pipeline | None) -> set[str]:
    """The fields the pipeline's card hides from the acting user (`hidden`, and `hidden_by_role`
    for the user's roles of dealcli.yaml)."""
    if pipeline is None:
        return set()
    guard = s.repo.guard
    roles: list[str] = guard.policy.roles_of(s.user) if guard is not None else []
    return cards.card_of(pipeline).hidden_for(roles)


def hidden_of(s: Session) -> Callable[[dict], frozenset[str]]:
    """hidden_fields of a deal's own pipeline, for the views that show deals of several pipelines
    (agenda, calendar, the client card): `hidden_of(s)(record)` with a deal record as a dict."""
    known: dict[str, frozenset[str]] = {}

    def of(record: dict) -> frozenset[str]:
        pipeline_id = str(record.get("pipeline"))
        if pipeline_id not in known:
            try:  # the session's pipelines, each read once whichever view asked first
                pipeline: Pipeline | None = s.pipeline(pipeline_id)
            except DealcliError:  # a pipeline missing or unreadable: check says so; nothing to hide
                pipeline = None
            known[pipeline_id] = frozenset(hidden_fields(s, pipeline))
        return known[pipeline_id]

    return of


def convert_lead(s: Session, ref: str, pipeline: str | None = None, stage: str | None = None) -> Deal:
    """`lead convert`: turn a lead into a deal (see leads.py). All or nothing: a refused deal leaves no
    new company or contact behind and the lead untouched."""
    with s.repo.transaction():
        lead, doc = leads.model(s, ref)
        if lead.converted:
            raise RuleViolation(Violation("lead-converted", Text("lead {doc_id} is already converted (deal "
                                               "{lead_deal})", doc_id=doc.id,
                                                                 lead_deal=lead.deal), "status", "converted"))
        target = s.pipeline(pipeline or s.default_pipeline_id())
        stage = stage_rules.resolve_stage(target, stage)
        bad = stage_rules.stage_exists(target, stage or target.first.id)
        if bad:
            raise RuleViolation(bad)
        spec = DealSpec(title=lead.title, pipeline=target.id, stage=stage, from_ref=f"lead:{doc.id}")
        deal = add(s, spec)  # in this transaction: a refused deal leaves no new client behind
        leads.mark_converted(s, lead, doc, deal.id)
    return deal
