"""`dealcli agenda`: open deals grouped by their next activity, in the reference CRM's columns:
overdue, today, this week, next week, later, and without activities. Weeks start on Monday;
everything is relative to the Session clock (--now). build() reads the repository into an Agenda;
formatted()/table() render only that."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dealcli import activities, timeutil
from dealcli.session import Session
from dealcli import i18n
from dealcli.i18n import N_

GROUPS = (
    ("overdue", N_("Overdue")),
    ("today", N_("Today")),
    ("this-week", N_("This week")),
    ("next-week", N_("Next week")),
    ("later", N_("Later")),
    ("no-activity", N_("Without activities")),
)
COLUMNS = ("group", "id", "title", "stage", "amount", "currency", "responsible", "next_activity",
           "activity", "activity_type", "activity_subject", "rotting")


def _decimal(value):
    from dealcli import money

    try:
        return money.to_decimal(value if value is not None else 0)
    except money.MoneyError:
        return value


def group_of(due: dt.datetime | None, now: dt.datetime) -> str:
    if due is None:
        return "no-activity"
    if due < now:
        return "overdue"
    tomorrow = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    if due < tomorrow:
        return "today"
    _, week_end = timeutil.period("this-week", now) or (now, now)  # a known period: never None
    if due < week_end:
        return "this-week"
    if due < week_end + dt.timedelta(weeks=1):
        return "next-week"
    return "later"


@dataclass
class Agenda:
    """The view data of `agenda`: one row per open deal (COLUMNS plus `stage_name`, the stage's
    label; times in the repository's time zone), sorted by group, due time and title, and the
    clock it was made at (the DTSTAMP of -f ics)."""

    rows: list[dict]
    now: dt.datetime


def build(s: Session, exprs: list[str] | None) -> Agenda:
    """The open deals matching the filter expressions (all without), each with its next activity."""
    from dealcli import query

    return Agenda(rows(s, query.select(s, list(exprs or []))[0]), s.now)


def rows(s: Session, records) -> list[dict]:
    """One row per open deal among `records` (deal files as dicts), in column order and sorted
    by group, then due time, then title."""
    from dealcli.views.listing import stage_names

    from dealcli.stage_rules import is_rotting
    from dealcli.deals import hidden_of

    nexts = activities.next_activities(s)
    hide = hidden_of(s)
    names = stage_names(s)
    pipelines = s.all_pipelines([])
    order = {key: i for i, (key, _) in enumerate(GROUPS)}
    out = []
    for deal in records:
        if (deal.get("status") or "open") != "open":
            continue
        act = nexts.get(str(deal.get("id")))
        due = timeutil.to_datetime(act["due"]) if act else None
        if due is not None:
            due = due.astimezone(s.tz)
        out.append((order[group_of(due, s.now)], due or s.now, str(deal.get("title") or "").casefold(), {
            "group": group_of(due, s.now), "id": deal.get("id"), "title": deal.get("title"),
            "stage": deal.get("stage"), "amount": _decimal(deal.get("amount")), "currency": deal.get("currency"),
            "responsible": deal.get("responsible"), "next_activity": timeutil.iso(due),
            "activity": act.get("id") if act else None, "activity_type": act.get("type") if act else None,
            "activity_subject": act.get("subject") if act else None,
            "stage_name": names.get((deal.get("pipeline"), deal.get("stage")), (deal.get("stage"), None))[0],
            "rotting": is_rotting(pipelines.get(str(deal.get("pipeline"))), deal, s.now),
            "hidden": sorted(hide(deal)),  # left off the table and the calendar file, kept in the data
        }))
    out.sort(key=lambda r: r[:3])
    return [r[3] for r in out]


# -- rendering: only the Agenda, never the Session or the disk -----------------------------------
def formatted(view: Agenda, fmt: str) -> str:
    """The grouped tables (table), an iCalendar file (ics: CRLF line ends as RFC 5545 wants), or
    one row per deal with its `group` (the other formats)."""
    from dealcli.views import render

    if fmt == "ics":
        from dealcli.views import ics

        return ics.calendar(view.rows, view.now)
    if fmt == "table":
        return table(view.rows)
    return render.format_rows(view.rows, fmt, list(COLUMNS))


def _money(amount, currency) -> str:
    from decimal import Decimal

    from dealcli import money
    from dealcli.views import render

    if not isinstance(amount, Decimal):
        return render.cell(amount)
    return f"{i18n.number(money.fmt(amount, currency))} {currency or ''}".strip()


def table(rows: list[dict]) -> str:
    """The human view: one section per non-empty group, headed by its name and count. The groups
    are fitted to the terminal together, so each shows the same columns."""
    from dealcli.views import fit, render
    from dealcli.views.card import shown

    groups = [(key, heading, [r for r in rows if r["group"] == key]) for key, heading in GROUPS]
    body = [{"id": r["id"], "title": ("! " if r.get("rotting") else "") + str(r["title"] or ""),
             "stage": shown(r, "stage", r.get("stage_name") or r["stage"]),
             "amount": shown(r, "amount", _money(r["amount"], r["currency"])),
             "responsible": shown(r, "responsible", r["responsible"]),
             "next": shown(r, "next_activity", r["next_activity"][:16].replace("T", " ") if r["next_activity"] else ""),
             "activity": shown(r, "next_activity", f"{r['activity_type']}: {r['activity_subject']}"
                               if r["next_activity"] else "")}
            for _, _, part in groups for r in part]
    body, cols, _ = fit.fit(body, list(body[0]) if body else [], fit.table_width())
    out = []
    for key, heading, part in groups:
        if not part:
            continue
        if key == "overdue":
            from dealcli.views import colors

            out.append(render.paint(f"{i18n._(heading).upper()} ({len(part)})", colors.OVERDUE, bold=True))
        else:
            out.append(f"{i18n._(heading)} ({len(part)})")
        out.append(render.format_rows(body[:len(part)], "table", cols, width=None).rstrip("\n"))
        body = body[len(part):]
        out.append("")
    return "\n".join(out)
