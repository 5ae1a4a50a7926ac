"""`dealcli calendar`: the deals of one month by a date field (close_date, begin or created).
On a terminal: a Monday-first month grid with the number of deals per day, then the deals of
each day; in the other formats: one row per deal, ordered by day (`date` first). build() reads
the repository into a Calendar; formatted()/text() render only that."""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from dealcli import money, query, timeutil
from dealcli.errors import UsageError

BY = ("close_date", "begin", "created")
ROW_FIELDS = ("id", "title", "pipeline", "stage", "status", "amount", "currency", "responsible")
CELL = 10


def month_of(text: str | None, now: dt.datetime) -> tuple[int, int]:
    if not text:
        return now.year, now.month
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
    if m and 1 <= int(m[2]) <= 12 and 1 <= int(m[1]) <= 9999:
        return int(m[1]), int(m[2])
    per = timeutil.period(text.strip(), now) if text.strip().endswith("-month") else None
    if per:
        return per[0].year, per[0].month
    raise UsageError.about("month", "{0} {text!r}: expected YYYY-MM (or this-month, last-month, next-month)",
                           text=text)


@dataclass
class Calendar:
    """The view data of `calendar`: the month, the date field, one row per deal (`date` first,
    the day in the repository's time zone) and today's date (marked in the grid)."""

    month: str  # YYYY-MM
    by: str
    rows: list[dict]
    today: dt.date
    stage_names: list[str] | None = None  # the name of each row's stage, for the day lists


def build(s, month: str | None, by: str, exprs, presets) -> Calendar:
    """The deals whose `by` date falls in `month` (default: the current one)."""
    if by not in BY:
        raise UsageError.about("by", "{0} {by!r}: one of {choices}", by=by, choices=", ".join(BY))
    year, mon = month_of(month, s.now)
    first = dt.date(year, mon, 1)
    # the first day after the month; December 9999 has none (dates end there): no upper bound
    bounds = [f"{by}>={first.isoformat()}"]
    if (year, mon) != (9999, 12):
        bounds.append(f"{by}<{dt.date(year + (mon == 12), mon % 12 + 1, 1).isoformat()}")
    records, _ = query.select(s, list(exprs or []) + bounds, presets)
    tz = s.now.tzinfo
    rows = []
    for r in records:
        if by == "created":
            when = query.as_datetime(r.get(by), tz)
            day = when.astimezone(tz).date() if when else None
        else:
            day = query.as_date(r.get(by))
        if day is None or (day.year, day.month) != (year, mon):
            continue
        row = {"date": day.isoformat()}
        row.update({k: r.get(k) for k in ROW_FIELDS})
        rows.append(row)
    rows.sort(key=lambda x: x["date"])  # stable: deals of a day keep the query order
    from dealcli.views.listing import stage_labels

    names = [label[0] if label else "" for label in stage_labels(s, rows, [r.get("pipeline") for r in rows])]
    return Calendar(f"{year:04d}-{mon:02d}", by, rows, s.now.date(), names)


# -- rendering: only the Calendar, never the Session or the disk ---------------------------------
def formatted(view: Calendar, fmt: str) -> str:
    """The month grid with the deals of each day (table); one row per deal otherwise."""
    from dealcli.views import render

    if fmt == "table":
        return text(view)
    return render.format_rows(view.rows, fmt, ["date", *ROW_FIELDS])


def text(view: Calendar) -> str:
    from dealcli.views import render

    today = view.today
    cal = render.printable({"month": view.month, "by": view.by, "rows": view.rows,  # data never drives the terminal
                            "names": view.stage_names or [r.get("stage") or "" for r in view.rows]})
    year, mon = (int(x) for x in cal["month"].split("-"))
    counts: dict[int, int] = {}
    for r in cal["rows"]:
        d = int(r["date"][8:10])
        counts[d] = counts.get(d, 0) + 1
    out = [f"{_cal.month_name[mon]} {year}  by {cal['by']}: {len(cal['rows'])} deal"
           f"{'' if len(cal['rows']) == 1 else 's'}", ""]
    out.append(" ".join(name[:3].ljust(CELL) for name in _cal.day_name).rstrip())
    for week in _cal.Calendar(firstweekday=0).monthdayscalendar(year, mon):
        days, nums = [], []
        for d in week:
            if d == 0:
                days.append(" " * CELL)
                nums.append(" " * CELL)
                continue
            mark = "*" if today and (today.year, today.month, today.day) == (year, mon, d) else ""
            days.append(f"{d:>2}{mark}".ljust(CELL))
            n = counts.get(d, 0)
            nums.append((f"{n} deal{'' if n == 1 else 's'}" if n else "").ljust(CELL))
        out.append(" ".join(days).rstrip())
        out.append(" ".join(nums).rstrip())
    last = None
    for r, stage in zip(cal["rows"], cal["names"], strict=True):
        if r["date"] != last:
            last = r["date"]
            day = dt.date.fromisoformat(last)
            out.append("")
            out.append(f"{day.strftime('%a')} {last}")
        amount = query.as_number(r.get("amount"))
        amount_text = (f"{money.fmt(Decimal(amount), r.get('currency')) if amount is not None else ''} "
                       f"{r.get('currency') or ''}").strip()
        title = " ".join(str(r.get("title") or "").split())
        if len(title) > 40:
            title = title[:39] + "…"
        out.append(f"  {str(r.get('id'))[:10]:<10}  {title:<40}  {amount_text:>16}  {stage}")
    return "\n".join(x.rstrip() for x in out) + "\n"
