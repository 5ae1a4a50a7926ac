"""`dealcli remind`, for cron: tell each responsible person of their activities that are due (or
overdue), once per activity and due time.

An activity is due for a reminder when it is pending and now >= due - remind_before (minutes,
default 0). Each (activity, due time) is told once: moving the due time makes a new reminder;
marking it done stops them. What was told is kept per clone in `.dealcli/reminders.sqlite`
(ignored by git, like the index cache): a table whose primary key is (activity, due). A run
claims a reminder by inserting its key; only the run whose insert succeeded tells it, so runs
at the same time (two cron jobs, a slow one overlapping the next) never tell one twice. A
reminder that could not be delivered is released again, so the next run retries it.

Delivery (the caller's choice): `stdout` (rows for the cron mail or a script), `notify` (one
desktop notification per activity through `notify-send`, where it exists), or `email`: one
message per responsible person listing their reminders, through the repository's SMTP settings
(`smtp:` of dealcli.yaml, the server `dealcli reply` uses: smtp.py). A person's
reminders are claimed together in one SQLite write transaction, so of two runs at once one
claims them all and sends the one message, the other finds them taken. A message the server
does not take (or a person without an address) releases its reminders, for the next run to
retry, and is reported (a notice each, then exit 75 once the others are sent)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess

from dealcli import timeutil
from dealcli.errors import DealcliError, TempFail, UsageError
from dealcli.session import Session
from dealcli.i18n import _

STATE = "reminders.sqlite"  # inside .dealcli/
WAYS = ("stdout", "notify", "email")


def pending(s: Session, users: list[str] | None = None) -> list[dict]:
    """Pending activities whose reminder time has come, as rows: responsible, id (the activity's), deal,
    type, subject, due, state (due / overdue), remind_at. By responsible, then due time."""
    from dealcli.clients import all_records

    wanted = set(users or [])
    out = []
    for a in all_records(s, "activities"):
        if a.get("done") or not a.get("due") or (wanted and str(a.get("responsible")) not in wanted):
            continue
        try:
            due = timeutil.to_datetime(a.get("due"), "due")
        except timeutil.DateError:
            continue
        if due is None:
            continue
        before = given if isinstance(given := a.get("remind_before"), int) else 0
        at = due - dt.timedelta(minutes=before)
        if at > s.now:
            continue
        out.append({"responsible": a.get("responsible"), "id": a.get("id"), "deal": a.get("deal"),
                    "type": a.get("type"), "subject": a.get("subject"), "due": timeutil.iso(due.astimezone(s.tz)),
                    "state": "overdue" if due < s.now else "due", "remind_at": timeutil.iso(at.astimezone(s.tz)),
                    "description": a.get("description")})
    out.sort(key=lambda r: (str(r["responsible"]), r["due"], str(r["id"])))
    return out


def _db(s: Session) -> sqlite3.Connection:
    s.repo.cache_dir.mkdir(exist_ok=True)
    con = sqlite3.connect(s.repo.cache_dir / STATE, timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS told (activity TEXT NOT NULL, due TEXT NOT NULL, at TEXT NOT NULL, "
                "via TEXT NOT NULL, PRIMARY KEY (activity, due))")
    return con


def _claim(con: sqlite3.Connection, row: dict, now: dt.datetime, via: str) -> bool:
    """Take the reminder of `row` for this run; False when another run (or an earlier one) has it."""
    cur = con.execute("INSERT OR IGNORE INTO told (activity, due, at, via) VALUES (?, ?, ?, ?)",
                      (row["id"], _key(row["due"]), timeutil.iso(now), via))
    return cur.rowcount == 1


def _release(con: sqlite3.Connection, row: dict) -> None:
    con.execute("DELETE FROM told WHERE activity = ? AND due = ?", (row["id"], _key(row["due"])))


def _key(due_text: str) -> str:
    """The due time in UTC: the same instant is one key whatever the zone it was shown in."""
    due = timeutil.to_datetime(due_text, "due")
    assert due is not None  # a due time that was read from the record
    return timeutil.iso(due.astimezone(dt.timezone.utc)) or ""


def run(s: Session, via: str = "stdout", users: list[str] | None = None, dry_run: bool = False) -> list[dict]:
    """Tell what is due and not told yet; returns the rows told (with `via: stdout` the caller
    prints them). `dry_run`: what would be told now, remembering nothing."""
    if via not in WAYS:
        raise UsageError.about("via", "{0} {via!r}: expected one of {ways}", via=via, ways=", ".join(WAYS))
    notify = shutil.which("notify-send") if via == "notify" else None
    if via == "notify" and notify is None:
        raise UsageError.about("via", "{0} notify: notify-send is not installed here (use stdout, e.g. from cron)")
    if via == "email":
        from dealcli import smtp

        smtp.settings(s)  # no SMTP server configured: exit 3 before anything is claimed
    rows = pending(s, users)
    if not rows:
        return rows
    told = []
    con = _db(s)
    try:
        if dry_run:
            return [row for row in rows if not con.execute("SELECT 1 FROM told WHERE activity = ? AND due = ?",
                                                           (row["id"], _key(row["due"]))).fetchone()]
        if via == "email":
            return _by_email(s, con, rows)
        for row in rows:
            if not _claim(con, row, s.now, via):
                continue
            if notify is not None and not _notify(notify, row, s):
                _release(con, row)
                continue
            told.append(row)
    finally:
        con.close()
    return told


def _by_email(s: Session, con: sqlite3.Connection, rows: list[dict]) -> list[dict]:
    """One message per responsible person with the reminders this run claimed for them. A
    message not sent releases its reminders and is a notice; then, after the others were sent,
    TempFail (exit 75)."""
    from dealcli import smtp

    conf = smtp.settings(s)
    creds = smtp.credentials(s, conf)
    told: list[dict] = []
    failed: list[str] = []
    people: dict[str, list[dict]] = {}
    for row in rows:
        people.setdefault(str(row["responsible"]), []).append(row)
    for who, theirs in people.items():
        mine = _claim_all(con, theirs, s.now)
        if not mine:
            continue
        to = address(s, who)
        try:
            if to is None:
                raise UsageError(_("{who}: no e-mail address (give the user `emails:` in dealcli.yaml)").format(
                    who=who))
            titles = _deal_titles(s, mine)
            msg = smtp.compose(conf, [to], _subject(mine), _mail_body(s, mine, titles), s.now)
            smtp.send(conf, creds, msg)
        except DealcliError as exc:
            for row in mine:
                _release(con, row)
            failed.append(_("to {who}: {message}").format(who=who, message=exc.message))
            if len(failed) > 1:
                s.notice(_("reminders not sent {failure}").format(failure=failed[-1]))
            continue
        told += mine
    if failed:
        raise TempFail(_("{failed} reminder message(s) not sent, {told} reminder(s) sent; the next run retries "
                         "them. First {first}").format(failed=len(failed), told=len(told), first=failed[0]))
    return told


def _claim_all(con: sqlite3.Connection, rows: list[dict], now: dt.datetime) -> list[dict]:
    """Claim a person's reminders in one write transaction: of runs at once, one takes them all."""
    con.execute("BEGIN IMMEDIATE")
    try:
        mine = [row for row in rows if _claim(con, row, now, "email")]
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return mine


def address(s: Session, who: str) -> str | None:
    """Where a responsible person's mail goes: the first of their `emails:` in dealcli.yaml, else
    the name itself when it is an address."""
    users = s.repo.config.get("users") or {}
    user = users.get(who) if isinstance(users, dict) else None
    emails = user.get("emails") if isinstance(user, dict) else None
    if isinstance(emails, list) and emails:
        return str(emails[0])
    return who if "@" in who else None


def _deal_titles(s: Session, rows: list[dict]) -> dict[str, str]:
    out = {}
    for deal_id in {str(r["deal"]) for r in rows if r.get("deal")}:
        try:
            data = s.repo.load("deals", deal_id).data
        except DealcliError:
            continue
        if isinstance(data, dict) and data.get("title"):
            out[deal_id] = str(data["title"])
    return out


def _subject(rows: list[dict]) -> str:
    late = sum(1 for r in rows if r["state"] == "overdue")
    what = f"{len(rows)} activit{'y' if len(rows) == 1 else 'ies'} due"
    return f"Reminder: {what}" + (f", {late} overdue" if late else "")


def _mail_body(s: Session, rows: list[dict], titles: dict[str, str]) -> str:
    lines = ["Your activities that are due now or overdue:", ""]
    for r in rows:
        when = dt.datetime.fromisoformat(r["due"])  # as pending() wrote it, in the repository's zone
        deal = str(r.get("deal") or "")
        lines.append(f"- {'OVERDUE' if r['state'] == 'overdue' else 'due'} {when:%Y-%m-%d %H:%M}  {r['type']}: "
                     f"{r['subject']}")
        lines.append(f"  deal {deal}" + (f" ({titles[deal]})" if deal in titles else "") + f", activity {r['id']}")
        if r.get("description"):
            lines.append(f"  {r['description']}")
    lines += ["", "Mark one done: dealcli activity done ID", "-- dealcli remind"]
    return "\n".join(lines) + "\n"


def _notify(exe: str, row: dict, s: Session) -> bool:
    due = timeutil.to_datetime(row["due"], "due")
    assert due is not None  # a reminder row always has its due time
    when = due.astimezone(s.tz)
    title = f"{'Overdue' if row['state'] == 'overdue' else 'Due'} {when:%Y-%m-%d %H:%M}: {row['type']}"
    body = f"{row['subject']} (deal {row['deal']}, activity {row['id']})"
    try:
        done = subprocess.run([exe, "--app-name=dealcli", title, body], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        s.notice(_("activity {row_id}: notify-send failed ({exc}); it will be retried").format(
            row_id=row['id'], exc=exc))
        return False
    if done.returncode != 0:
        s.notice(_("activity {row_id}: notify-send exited {done_returncode}; it will be retried").format(
            row_id=row['id'], done_returncode=done.returncode))
        return False
    return True
