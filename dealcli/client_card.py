"""The client card (`company show`, `contact show`): the record, its deals (open, won and lost,
with sums per currency) and one timeline of what happened with the client: deals created and
closed, comments, activities planned or done, and the e-mails, chats and calls intake recorded.

A company's deals are those naming it as `company`; a contact's, those listing it in `contacts`.
Activities and messages are those of these deals. Everything is read through the acting user's
access rights (a hidden deal, and its activities, are not on the card). Pure data: the table is
drawn by views/card.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dealcli import clients, money, query, timeutil
from dealcli.i18n import N_
from dealcli.session import Session

STATUSES = ("open", "won", "lost")
MESSAGE_TYPES = ("email", "chat")  # a message when intake recorded it (it has a channel or a direction)


def card(s: Session, which: str, ref: str) -> dict:
    """{record, deals, totals, timeline} of the company or contact `ref` names."""
    record = clients.load(s, which, ref).data
    cid = str(record.get("id"))
    field = "company" if which == "company" else "contacts"
    deals = [r for r in s.deal_records([]) if isinstance(r, dict) and _links(r.get(field), cid)]
    deals.sort(key=lambda r: (str(r.get("created") or ""), str(r.get("id"))))
    by_id = {str(r.get("id")): r for r in deals}
    totals: dict[tuple[str, str], dict] = {}
    for r in deals:
        status = str(r.get("status") or "open")
        currency = str(r.get("currency") or s.currency)
        row = totals.setdefault((status, currency), {"status": status, "currency": currency, "deals": 0,
                                                     "amount": Decimal(0)})
        row["deals"] += 1
        row["amount"] += _amount(r)
    order = {st: i for i, st in enumerate(STATUSES)}
    total_rows = sorted(totals.values(), key=lambda t: (order.get(t["status"], 9), t["currency"]))
    from dealcli.deals import hidden_of

    hide = hidden_of(s)
    timeline: list[dict] = []
    for r in deals:
        timeline += _deal_events(r, hide(r))
    for a in clients.all_records(s, "activities"):
        deal = by_id.get(str(a.get("deal")))
        if deal is not None:
            timeline.append(_activity_entry(a, deal))
    for e in timeline:
        e["at"] = _iso(e["at"])
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    timeline.sort(key=lambda e: (query.as_datetime(e["at"], s.tz) or epoch, e["kind"]), reverse=True)
    words = [e.pop("words") for e in timeline]  # (message, values) of each text, for the view's language
    return {"record": record,
            "deals": [{"id": r.get("id"), "title": r.get("title"), "pipeline": r.get("pipeline"),
                       "stage": r.get("stage"), "status": r.get("status"), "amount": _amount(r),
                       "currency": r.get("currency"), "created": r.get("created"),
                       "closed_at": r.get("closed_at"),
                       **({"hidden": sorted(hide(r))} if hide(r) else {})} for r in deals],
            "totals": total_rows, "timeline": timeline, "words": words}


def _iso(value):
    return timeutil.iso(value) if hasattr(value, "isoformat") else value


def _links(value, cid: str) -> bool:
    return value == cid or (isinstance(value, list) and cid in value)


def _amount(r: dict) -> Decimal:
    try:
        return money.to_decimal(r.get("amount") or 0, "amount")
    except money.MoneyError:
        return Decimal(0)


def _deal_events(r: dict, hidden=frozenset()) -> list[dict]:
    """The deal's entries of the timeline; the fields its card hides (`hidden`) are kept in the
    data (`text`) and left out of the words the table shows."""
    deal_id, title = r.get("id"), r.get("title")
    base = {"deal": deal_id, "deal_title": title, "activity": None}
    out = [{"at": r.get("created"), "kind": "deal", "by": r.get("created_by"), **base,
            **_text(N_("deal created: {title}"), title=title)}]
    if r.get("status") in ("won", "lost") and r.get("closed_at"):
        amount = f"{money.fmt(_amount(r))} {r.get('currency') or ''}".strip()
        if r.get("status") == "won":
            text = _text(N_("deal won: {title}, {amount}"), title=title, amount=amount)
        elif r.get("lost_reason"):
            text = _text(N_("deal lost: {title}, {amount} ({reason})"), title=title, amount=amount,
                         reason=r.get("lost_reason"))
        else:
            text = _text(N_("deal lost: {title}, {amount}"), title=title, amount=amount)
        message, values = text["words"]
        if "lost_reason" in hidden and "reason" in values:
            message, values = N_("deal lost: {title}, {amount}"), {"title": title, "amount": amount}
        if "amount" in hidden:
            values = {**values, "amount": "\u2026"}
        text["words"] = (message, values)
        out.append({"at": _iso(r.get("closed_at")), "kind": str(r.get("status")), "by": None, **base, **text})
    for c in r.get("comments") or []:
        if isinstance(c, dict):
            out.append({"at": c.get("at"), "kind": "comment", "by": c.get("by"), **base, "text": c.get("text"),
                        "words": ("{text}", {"text": c.get("text")})})
    return out


def _text(message: str, **values) -> dict:
    """An entry's `text` in English (the data, as json shows it) and its `words`: the message and
    values views/card.py words in the language in use."""
    return {"text": " ".join(message.format(**values).split()), "words": (message, values)}


def _activity_entry(a: dict, deal: dict) -> dict:
    type_ = str(a.get("type") or "")
    message = a.get("channel") is not None or a.get("direction") is not None
    if message:
        kind = type_ if type_ in (*MESSAGE_TYPES, "call") else "message"
        who = a.get("from") if a.get("direction") == "in" else ", ".join(a.get("to") or []) or None
        said = {"in": N_("from {who}: {subject}"), "out": N_("to {who}: {subject}")}.get(
            str(a.get("direction")), " {who}: {subject}") if who else "{subject}"
        text = _text(said, who=who, subject=a.get("subject"))
        at = a.get("due")
    else:
        kind = type_
        text = _text(N_("done: {subject}") if a.get("done") else N_("planned: {subject}"), subject=a.get("subject"))
        at = a.get("done_at") if a.get("done") and a.get("done_at") else a.get("due")
    return {"at": _iso(at), "kind": kind, "by": a.get("responsible"), "deal": deal.get("id"),
            "deal_title": deal.get("title"), "activity": a.get("id"), **text}
