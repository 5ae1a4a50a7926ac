"""Activities (calls, meetings, tasks, emails) planned on deals: activities/<id>.yaml.

On disk: format, id, deal (a deal id), type (call|meeting|task|email), subject, due (ISO date
and time with offset), responsible, done (bool), done_at, created, created_by (and done_by,
the user who marked it done).
A deal's next activity is the earliest `due` among its pending (not done) activities.

The nudge: every operation that leaves an open deal without a pending activity (deal add,
move, reopen, activity done, lead convert) calls `nudge(s, deals)`, which leaves one hint per
deal on the Session (printed on stderr by the CLI unless --quiet) with the exact command that
plans the next step."""

from __future__ import annotations

import datetime as dt
import shlex

from dealcli import FORMAT_VERSION, ids, stage_rules, timeutil
from dealcli.errors import CorruptData, NotFound, RuleViolation, UsageError
from dealcli.session import Session

TYPES = ("call", "meeting", "task", "email", "chat")
DEFAULT_WORKING_DAYS = 3
NUDGE_LINES = 3  # per-deal hints before they are summed up in one line


def _pending(s: Session, errors: list | None = None):
    """(activity record, due) for every pending activity with a readable due time."""
    for doc in s.repo.iter_docs("activities", errors if errors is not None else []):
        data = doc.data
        if data.get("done") or not data.get("deal") or not data.get("due"):
            continue
        try:
            due = timeutil.to_datetime(data["due"], "due")
        except timeutil.DateError:
            continue
        yield data, due


def _earliest(s: Session, errors: list | None = None) -> dict[str, tuple[dt.datetime, dict]]:
    out: dict[str, tuple[dt.datetime, dict]] = {}
    for data, due in _pending(s, errors):
        deal_id = str(data["deal"])
        if deal_id not in out or due < out[deal_id][0]:
            out[deal_id] = (due, data)
    return out


def next_activities(s: Session, errors: list | None = None) -> dict[str, dict]:
    """deal id -> its next pending activity record (the earliest due)."""
    return {k: v[1] for k, v in _earliest(s, errors).items()}


def next_activity_by_deal(s: Session, errors: list | None = None) -> dict[str, dt.datetime]:
    """deal id -> due time of its earliest pending activity (deals without one are absent)."""
    return {k: v[0] for k, v in _earliest(s, errors).items()}


# -- due times -----------------------------------------------------------------------------------
def default_due(s: Session) -> dt.datetime:
    """Three working days from now, rounded up to the next full hour (the reference CRM's
    default deadline)."""
    due = timeutil.add_working_days(s.now, DEFAULT_WORKING_DAYS)
    if due.minute or due.second or due.microsecond:
        due = due.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    return due


def parse_due(s: Session, text: str | None) -> dt.datetime:
    """--due: dates, times and phrases ("tomorrow 10:00", "+3d 09:30", "2026-03-20 15:00").
    A day without a time means the end of that day (23:59)."""
    if text is None:
        return default_due(s)
    try:
        value, has_time = timeutil.parse_datetime(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError(f"--due: {exc}") from None
    if not has_time:
        value = value.replace(hour=23, minute=59, second=0, microsecond=0)
    return value.replace(microsecond=0)


def due_text(value: dt.datetime) -> str:
    """A due time the way a user types it back (`--due "2026-03-13 15:00"`)."""
    return value.strftime("%Y-%m-%d %H:%M")


# -- use cases -----------------------------------------------------------------------------------
def add(s: Session, deal_ref: str, type_: str, subject: str, due: str | dt.datetime | None = None,
        responsible: str | None = None, *, activity_id: str | None = None, done: bool = False,
        extra: dict | None = None) -> dict:
    """Plan an activity on an open deal; returns the record. Intake records what already
    happened: `done` (done at `due`), a given `activity_id` (written create-only: an existing
    one is a Conflict) and `extra` keys after the standard ones (body, direction, ...)."""
    type_ = (type_ or "").strip().lower()
    if type_ not in TYPES:
        raise UsageError(f"--type {type_!r}: expected one of {', '.join(TYPES)}")
    subject = " ".join((subject or "").split())
    if not subject:
        raise UsageError("--subject: an activity needs a subject")
    if len(subject) > 500:
        raise UsageError(f"--subject: {len(subject)} characters is too long (limit 500)")
    when = due if isinstance(due, dt.datetime) else parse_due(s, due)
    with s.repo.transaction():
        deal, _ = s.load_deal(deal_ref)
        closed = stage_rules.check_open(deal, "plan an activity on")
        if closed:
            raise RuleViolation(closed)
        data = {
            "format": FORMAT_VERSION, "id": activity_id or ids.new_id(), "deal": deal.id, "type": type_,
            "subject": subject, "due": timeutil.iso(when),
            "responsible": responsible or deal.responsible or s.user,
            "done": done, "done_at": timeutil.iso(when) if done else None, "created": timeutil.iso(s.now),
            "created_by": s.user,
        }
        if done:
            data["done_by"] = s.user
        for key, value in (extra or {}).items():
            data.setdefault(key, value)
        s.repo.create("activities", data["id"], data)
    if done:
        return data
    _pending_deals(s).add(deal.id)
    if when < s.now:
        s.notice(f"note: activity {data['id']} is due {due_text(when)}, which is already past (overdue)")
    return data


def done(s: Session, refs: list[str]) -> list[dict]:
    """Mark activities done (all or nothing); then nudge their deals if nothing is left."""
    wanted = list(dict.fromkeys(s.repo.resolve("activities", r) for r in refs))
    with s.repo.transaction():
        docs = [s.repo.load("activities", i) for i in wanted]
        for d in docs:
            if d.data.get("done"):  # done twice: nothing to change
                s.notice(f"activity {d.id} is already done (at {d.data.get('done_at')}); nothing changed")
        docs = [d for d in docs if not d.data.get("done")]
        out = []
        for doc in docs:
            data = dict(doc.data, done=True, done_at=timeutil.iso(s.now), done_by=s.user)
            s.repo.update(doc, data)
            out.append(data)
    vars(s).pop("_pending_deals", None)
    deals = []
    for deal_id in dict.fromkeys(str(d.get("deal")) for d in out):
        try:
            deals.append(s.load_deal(deal_id)[0])
        except (NotFound, CorruptData):  # a gone or broken deal needs no nudge
            continue
    nudge(s, deals)
    return out


def edit(s: Session, ref: str, type_: str | None = None, subject: str | None = None, due: str | None = None,
         responsible: str | None = None) -> dict:
    """Change an activity's type, subject, due time or responsible."""
    if type_ is None and subject is None and due is None and responsible is None:
        raise UsageError("activity edit: nothing to change (--type, --subject, --due, --responsible)")
    with s.repo.transaction():
        doc = s.repo.load("activities", s.repo.resolve("activities", ref))
        data = dict(doc.data)
        if type_ is not None:
            data["type"] = type_.strip().lower()
            if data["type"] not in TYPES:
                raise UsageError(f"--type {type_!r}: expected one of {', '.join(TYPES)}")
        if subject is not None:
            data["subject"] = " ".join(subject.split())
            if not data["subject"] or len(data["subject"]) > 500:
                raise UsageError("--subject: an activity needs a subject of at most 500 characters")
        if due is not None:
            data["due"] = timeutil.iso(parse_due(s, due))
        if responsible is not None:
            data["responsible"] = responsible
        data["modified"] = timeutil.iso(s.now)
        s.repo.update(doc, data)
    vars(s).pop("_pending_deals", None)
    return data


def delete(s: Session, refs: list[str]) -> list[str]:
    """Delete activities (all or nothing)."""
    wanted = list(dict.fromkeys(s.repo.resolve("activities", r) for r in refs))
    with s.repo.transaction():
        for i in wanted:
            s.repo.remove(s.repo.load("activities", i))
    vars(s).pop("_pending_deals", None)
    return wanted


def history_events(s: Session, deal_id: str) -> list[dict]:
    """The activities of a deal as history events: activity_added (when planned) and
    activity_done (when done), for `deal history`."""
    from dealcli.clients import all_records

    out = []
    for a in all_records(s, "activities"):
        if str(a.get("deal")) != deal_id:
            continue
        base = {"activity": a.get("id"), "type": a.get("type"), "subject": a.get("subject")}
        out.append({"at": a.get("created"), "by": a.get("created_by"), "kind": "activity_added",
                    **base, "due": a.get("due")})
        if a.get("done") and a.get("done_at"):
            out.append({"at": a.get("done_at"), "by": a.get("done_by"), "kind": "activity_done", **base})
    return out


def records(s: Session, overdue: bool = False, deal_ref: str | None = None, include_done: bool = False) -> list[dict]:
    """Activities sorted by due time: pending ones (all with include_done), only those past due
    with `overdue`, only one deal's with `deal_ref`."""
    from dealcli.clients import all_records

    deal_id = s.repo.resolve("deals", deal_ref) if deal_ref else None
    out = []
    for data in all_records(s, "activities"):
        if deal_id and str(data.get("deal")) != deal_id:
            continue
        if data.get("done") and (not include_done or overdue):
            continue
        if overdue:
            try:
                due = timeutil.to_datetime(data.get("due"), "due")
            except timeutil.DateError:
                continue
            if due is None or due >= s.now:
                continue
        out.append(data)
    return sorted(out, key=lambda r: (str(r.get("due") or ""), str(r.get("id"))))


# -- the nudge -------------------------------------------------------------------------------------
def _pending_deals(s: Session) -> set:
    """Ids of deals with a pending activity, read once per Session and kept current."""
    cache = vars(s).get("_pending_deals")
    if cache is None:
        cache = vars(s)["_pending_deals"] = set(next_activity_by_deal(s))
    return cache


def nudge_command(s: Session, deal_id: str) -> str:
    return (f"dealcli activity add {deal_id} --type call --subject {shlex.quote('Follow up')} "
            f"--due {shlex.quote(due_text(default_due(s)))}")


def nudge(s: Session, deals: list) -> list:
    """One hint per open deal without a pending activity (the first few; then one line that
    counts the rest). Returns `deals` unchanged, so callers can `return nudge(s, ...)`."""
    pending = _pending_deals(s)
    state = vars(s).setdefault("_nudged", {"count": 0, "summary": None})
    for deal in deals:
        if deal.status != "open" or deal.id in pending:
            continue
        state["count"] += 1
        if state["count"] <= NUDGE_LINES:
            s.notice(f"deal {deal.id} has no next step: {nudge_command(s, deal.id)}")
            continue
        line = (f"... and {state['count'] - NUDGE_LINES} more open deal(s) without a next step "
                "(see `dealcli agenda`)")
        if state["summary"] is not None and state["summary"] < len(s.notices):
            s.notices[state["summary"]] = line
        else:
            state["summary"] = len(s.notices)
            s.notice(line)
    return deals


def label(s: Session, deal_id: str) -> str | None:
    """The next activity of a deal for the deal card: 'due type: subject (id)', marked overdue."""
    best = _earliest(s).get(deal_id)
    if best is None:
        return None
    due, data = best
    late = " OVERDUE" if due < s.now else ""
    return f"{due_text(due.astimezone(s.tz))} {data.get('type')}: {data.get('subject')} ({data.get('id')}){late}"
