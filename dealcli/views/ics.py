"""`agenda -f ics`: the pending activities of the agenda as an iCalendar file (RFC 5545): CRLF
line ends, lines folded at 75 octets (never inside a UTF-8 character), TEXT values escaped,
one VEVENT per activity with a stable UID and the run's clock as DTSTAMP."""

from __future__ import annotations

import datetime as dt

from dealcli import timeutil

DURATION = "PT30M"


def escape(text) -> str:
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    out = str(text if text is not None else "")
    out = out.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    out = out.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
    return "".join(c for c in out if c == "\t" or ord(c) >= 32 and ord(c) != 127)


def fold(line: str) -> str:
    """A content line folded into pieces of at most 75 octets (continuations start with a space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(len(data), start + limit)
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # the leading space takes one octet
    return "\r\n ".join(parts) + "\r\n"


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar(rows: list[dict], now: dt.datetime) -> str:
    """rows: agenda rows (views/agenda.rows); those without a next activity are left out."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//dealcli//agenda//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", "X-WR-CALNAME:dealcli agenda"]
    from dealcli.views.card import shown

    stamp = _utc(now)
    for r in rows:
        if not r.get("next_activity") or not r.get("activity"):
            continue
        due = timeutil.to_datetime(r["next_activity"])
        if due is None:
            continue  # not a date: no event
        summary = f"{r.get('activity_type')}: {r.get('activity_subject')} - {r.get('title')}"
        stage = shown(r, "stage", f" ({r.get('stage_name') or r.get('stage')})")
        description = (f"deal {r.get('id')}{stage}" + shown(r, "amount", f", {r.get('amount')} "
                                                            f"{r.get('currency') or ''}")).strip()
        lines += ["BEGIN:VEVENT", f"UID:{r['activity']}@dealcli", f"DTSTAMP:{stamp}", f"DTSTART:{_utc(due)}",
                  f"DURATION:{DURATION}", f"SUMMARY:{escape(summary)}", f"DESCRIPTION:{escape(description)}",
                  f"CATEGORIES:{escape(r.get('activity_type'))}"]
        if r.get("responsible") and shown(r, "responsible", True, False):
            lines.append(f"X-DEALCLI-RESPONSIBLE:{escape(r['responsible'])}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(x) for x in lines)
