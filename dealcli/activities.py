"""Activities (calls, meetings, tasks, emails) planned on deals: activities/<id>.yaml.

On disk: format, id, deal (a deal id), type (call|meeting|task|email|chat), subject, due (ISO
date and time with offset), responsible, done (bool), done_at, created, created_by (and done_by,
the user who marked it done; modified, once edited; the intake fields of a recorded message).
What the use cases create and change is built as the typed model (model/activity.py) and
written as its `to_dict()`; the scans (next activities, lists, history) read the plain
records, which `dealcli check` holds to the schema.
A deal's next activity is the earliest `due` among its pending (not done) activities.

The nudge: every operation that leaves an open deal without a pending activity (deal add,
move, reopen, activity done, lead convert) calls `nudge(s, deals)`, which leaves one hint per
deal on the Session (printed on stderr by the CLI unless --quiet) with the exact command that
plans the next step."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass

from dealcli import ids, stage_rules, timeutil
from dealcli.errors import CorruptData, FieldError, NotFound, RuleViolation, UsageError
from dealcli.model.activity import TYPES, Activity
from dealcli.session import Session, to_model
from dealcli import i18n
from dealcli.storage.repository import Doc

DEFAULT_WORKING_DAYS = 3
NUDGE_LINES = 3  # per-deal hints before they are summed up in one line


def _pending_item(data):
    """(data, due) of a pending activity with a readable due time and a deal, else None."""
    if not isinstance(data, dict) or data.get("done") or not data.get("deal") or not data.get("due"):
        return None
    try:
        return data, timeutil.to_datetime(data["due"], "due")
    except timeutil.DateError:
        return None


def _pending(s: Session, errors: list | None = None):
    """(activity record, due) for every pending activity with a readable due time (read
    through the index cache: only activity files changed since the last scan are parsed)."""
    for _, data in s.repo.records("activities", errors if errors is not None else []):
        got = _pending_item(data)
        if got is not None:
            yield got


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


def of_deal(s: Session, deal_id: str) -> list[dict]:
    """Every activity record of one deal (done or not), by id. O(its activities), not O(all
    activities): the index cache keeps activities by deal (index.keys_of), and every candidate
    is read from its file. Without a usable cache, every activity file is read."""
    names = s.repo.lookup("activities", [("deal", deal_id)])
    if names is None:
        return [data for _, data in s.repo.records("activities", [])
                if isinstance(data, dict) and str(data.get("deal")) == deal_id]
    from dealcli.validation.records import problem

    out = []
    guard = s.repo.guard  # access rights: the same activities a scan would show this user
    for name in names:
        try:
            data = s.repo.load("activities", name).data
        except (NotFound, CorruptData):  # gone or broken since the lookup: not a pending step
            continue
        if problem("activities", data) is not None:  # failing its schema: corrupt, as in a scan
            continue
        if str(data.get("deal")) == deal_id and (guard is None or guard.visible("activities", data)):
            out.append(data)
    return out


def earliest_of(s: Session, deal_id: str) -> tuple[dt.datetime, dict] | None:
    """(due, record) of the next pending activity of one deal, or None."""
    best = None
    for data in of_deal(s, deal_id):
        got = _pending_item(data)
        if got is not None and (best is None or got[1] < best[0]):
            best = (got[1], got[0])
    return best


# -- due times -----------------------------------------------------------------------------------
WORKING_HOURS = "09:00-18:00"


def working_hours(s: Session) -> tuple[dt.time, dt.time]:
    """dealcli.yaml `working_hours` ("HH:MM-HH:MM", the repository's time zone; default
    09:00-18:00): when a proposed next step may be due."""
    text = s.repo.config.get("working_hours") or WORKING_HOURS
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in str(text).split("-"))
    except ValueError:
        start = end = None  # type: ignore[assignment]  # refused just below
    if start is None or end is None or start >= end:
        from dealcli.errors import CorruptData

        raise CorruptData("dealcli.yaml", i18n._("working_hours: {text!r} is not HH:MM-HH:MM (start "
                                                 "before end)").format(
            text=text))
    return start, end


def default_due(s: Session) -> dt.datetime:
    """Three working days from now, rounded up to the next full hour (the reference CRM's
    default deadline), moved into the repository's working hours: before they begin, to their
    start that day; at or after their end, to their start on the next working day."""
    due = timeutil.add_working_days(s.now, DEFAULT_WORKING_DAYS)
    if due.minute or due.second or due.microsecond:
        due = due.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    start, end = working_hours(s)
    if due.time() < start:
        due = due.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    elif due.time() >= end:
        due = timeutil.add_working_days(due, 1).replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    return due


def parse_due(s: Session, text: str | None) -> dt.datetime:
    """--due: dates, times and phrases ("tomorrow 10:00", "+3d 09:30", "2026-03-20 15:00").
    A day without a time means the end of that day (23:59)."""
    if text is None:
        return default_due(s)
    try:
        value, has_time = timeutil.parse_datetime(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError.about("due", "{0}: {problem}", problem=str(exc)) from None
    if not has_time:
        value = value.replace(hour=23, minute=59, second=0, microsecond=0)
    return value.replace(microsecond=0)


def due_text(value: dt.datetime) -> str:
    """A due time the way a user types it back (`--due "2026-03-13 15:00"`)."""
    return value.strftime("%Y-%m-%d %H:%M")


# -- use cases -----------------------------------------------------------------------------------
def _type(type_: str | None, shown: str | None = None) -> str:
    """A known activity type (any case, spaces around); the error shows `shown` (default: the
    type as read)."""
    value = (type_ or "").strip().lower()
    if value not in TYPES:
        raise UsageError.about("type", "{0} {value!r}: expected one of {types}",
                               value=value if shown is None else shown, types=", ".join(TYPES))
    return value


def _checked(act: Activity) -> Activity:
    """The activity as its file will read back; a value out of its choices or bounds (an
    intake field) is a UsageError about that field."""
    try:
        return act.validated()
    except FieldError as exc:
        raise UsageError.about(Activity.field_name(str(exc.path[0])), "{0}: {problem}", problem=exc.message) from None


_SPAN = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m?)?$")


def parse_minutes(text: str | None, field: str) -> int | None:
    """A span in minutes: `45`, `45m`, `1h30m`, `2h`, `1d` (24 hours); empty text means none."""
    if text is None:
        return None
    value = text.strip().lower().replace(" ", "")
    found = _SPAN.match(value) if value else None
    if not found or not any(found.groups()):
        raise UsageError.about(field, "{0} {text!r}: expected minutes, e.g. 45, 45m, 1h30m or 1d", text=text)
    days, hours, minutes = (int(g or 0) for g in found.groups())
    total = days * 1440 + hours * 60 + minutes
    if total > 366 * 1440:
        raise UsageError.about(field, "{0} {text!r}: at most a year", text=text)
    return total


def _description(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > 100_000:
        raise UsageError.about("description", "{0}: {n} characters is too long (limit 100000)", n=len(text))
    return text or None


def add(s: Session, deal_ref: str, type_: str, subject: str, due: str | dt.datetime | None = None,
        responsible: str | None = None, *, activity_id: str | None = None, done: bool = False,
        details: dict | None = None, description: str | None = None, duration: int | None = None,
        remind_before: int | None = None) -> dict:
    """Plan an activity on an open deal; returns the record. Intake records what already
    happened: `done` (done at `due`), a given `activity_id` (written create-only: an existing
    one is a Conflict) and `details`, the intake fields by field name (channel, direction,
    sender, body, ...; see model/activity.py), written after the standard keys in that order.
    `description` says more than the subject; `duration` (minutes) is kept in seconds, as a
    recorded call's; `remind_before` (minutes) is when `dealcli remind` tells, before `due`."""
    type_ = _type(type_)
    subject = " ".join((subject or "").split())
    if not subject:
        raise UsageError.about("subject", "{0}: an activity needs a subject")
    if len(subject) > 500:
        raise UsageError.about("subject", "{0}: {n} characters is too long (limit 500)", n=len(subject))
    when = due if isinstance(due, dt.datetime) else parse_due(s, due)
    with s.repo.transaction():
        deal, _ = s.load_deal(deal_ref)
        closed = stage_rules.check_open(deal, "plan an activity on")
        if closed:
            raise RuleViolation(closed)
        act = _checked(Activity.new(
            id=activity_id or ids.new_id(), deal=deal.id, type=type_, subject=subject, due=when,
            responsible=responsible or deal.responsible or s.user, done=done, done_at=when if done else None,
            created=s.now, created_by=s.user, done_by=s.user if done else None, details=details,
            **_extras(description, duration, remind_before)))
        data = s.repo.create("activities", act.id, act).data
    if done:
        return data
    _pending_known(s)[deal.id] = True
    if when < s.now:
        s.notice(i18n._("note: activity {act_id} is due {due_text_when}, which is already past (overdue)").format(
            act_id=act.id, due_text_when=due_text(when)))
    return data


def _extras(description: str | None, duration: int | None, remind_before: int | None) -> dict:
    """The planning fields given (others keep their defaults, so the file gets no empty keys)."""
    out: dict = {}
    if _description(description):
        out["description"] = _description(description)
    if duration is not None:
        out["duration"] = duration * 60
    if remind_before is not None:
        out["remind_before"] = remind_before
    return out


def _load(s: Session, activity_id: str) -> tuple[Activity, Doc]:
    doc = s.repo.load("activities", activity_id)
    return to_model(doc, Activity), doc


def done(s: Session, refs: list[str]) -> list[dict]:
    """Mark activities done (all or nothing); then nudge their deals if nothing is left."""
    wanted = list(dict.fromkeys(s.repo.resolve("activities", r) for r in refs))
    with s.repo.transaction():
        loaded = [_load(s, i) for i in wanted]
        for act, _ in loaded:
            if act.done:  # done twice: nothing to change
                s.notice(i18n._("activity {act_id} is already done (at {timeutil_iso_act_done_at}); "
                                "nothing changed").format(
                    act_id=act.id, timeutil_iso_act_done_at=timeutil.iso(act.done_at)))
        out = []
        for act, doc in loaded:
            if act.done:
                continue
            act.done, act.done_at, act.done_by = True, s.now, s.user
            out.append(s.repo.update(doc, act).data)
    vars(s).pop("_pending_known", None)
    deals = []
    for deal_id in dict.fromkeys(str(d.get("deal")) for d in out):
        try:
            deals.append(s.load_deal(deal_id)[0])
        except (NotFound, CorruptData):  # a gone or broken deal needs no nudge
            continue
    nudge(s, deals)
    return out


def edit(s: Session, ref: str, type_: str | None = None, subject: str | None = None, due: str | None = None,
         responsible: str | None = None, *, description: str | None = None, duration: int | None = None,
         remind_before: int | None = None) -> dict:
    """Change an activity's type, subject, due time, responsible, description, duration (minutes)
    or reminder offset (minutes; an empty description clears it)."""
    if all(v is None for v in (type_, subject, due, responsible, description, duration, remind_before)):
        raise UsageError.about(("type", "subject", "due", "responsible", "description", "duration", "remind"),
                               "activity edit: nothing to change ({0}, {1}, {2}, {3}, {4}, {5}, {6})")
    with s.repo.transaction():
        act, doc = _load(s, s.repo.resolve("activities", ref))
        if type_ is not None:
            act.type = _type(type_, shown=type_)
        if subject is not None:
            act.subject = " ".join(subject.split())
            if not act.subject or len(act.subject) > 500:
                raise UsageError.about("subject", "{0}: an activity needs a subject of at most 500 characters")
        if due is not None:
            act.due = parse_due(s, due)
        if responsible is not None:
            act.responsible = responsible
        if description is not None:
            act.description = _description(description)
        if duration is not None:
            act.duration = duration * 60
        if remind_before is not None:
            act.remind_before = remind_before
        act.modified = s.now
        data = s.repo.update(doc, _checked(act)).data
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
BULK = 64  # above this many deals, one nudge reads all pending activities at once (cached scan)


def _pending_known(s: Session) -> dict:
    """deal id -> has a pending activity, as learnt by this Session and kept current by it."""
    return vars(s).setdefault("_pending_known", {})


def has_pending(s: Session, deal_ids: list[str]) -> set[str]:
    """Which of `deal_ids` have a pending activity. A few deals cost a lookup each in the
    index cache (O(1) in the number of activities); many cost one cached scan."""
    known = _pending_known(s)
    todo = [d for d in dict.fromkeys(deal_ids) if d not in known]
    if len(todo) > BULK:
        every = set(next_activity_by_deal(s))
        for d in todo:
            known[d] = d in every
    else:
        for d in todo:
            known[d] = earliest_of(s, d) is not None
    return {d for d in deal_ids if known[d]}


def nudge_command(s: Session, deal_id: str) -> str:
    """The command that plans the next step, quoted for a shell."""
    return shlex.join(["dealcli", "activity", "add", deal_id, "--type", "call", "--subject", "Follow up",
                       "--due", due_text(default_due(s))])


@dataclass
class Nudge:
    """A notice: an open deal has no next step; `command` plans one (views/messages.py words it)."""

    deal_id: str
    command: str


@dataclass
class MoreNudges:
    """A notice: this many more open deals have no next step."""

    count: int


def nudge(s: Session, deals: list) -> list:
    """One hint per open deal without a pending activity (the first few; then one line that
    counts the rest). Returns `deals` unchanged, so callers can `return nudge(s, ...)`."""
    pending = has_pending(s, [deal.id for deal in deals if deal.status == "open"])
    state = vars(s).setdefault("_nudged", {"count": 0, "summary": None})
    for deal in deals:
        if deal.status != "open" or deal.id in pending:
            continue
        state["count"] += 1
        if state["count"] <= NUDGE_LINES:
            s.notice(Nudge(deal.id, nudge_command(s, deal.id)))
            continue
        line = MoreNudges(state["count"] - NUDGE_LINES)
        if state["summary"] is not None and state["summary"] < len(s.notices):
            s.notices[state["summary"]] = line
        else:
            state["summary"] = len(s.notices)
            s.notice(line)
    return deals


def label(s: Session, deal_id: str) -> str | None:
    """The next activity of a deal for the deal card: 'due type: subject (id)', marked overdue."""
    best = earliest_of(s, deal_id)
    if best is None:
        return None
    due, data = best
    late = " OVERDUE" if due < s.now else ""
    return f"{due_text(due.astimezone(s.tz))} {data.get('type')}: {data.get('subject')} ({data.get('id')}){late}"
