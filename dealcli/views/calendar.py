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

from dealcli import i18n, money, query, timeutil
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
    from dealcli.deals import hidden_of

    hide = hidden_of(s)
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
        row["hidden"] = sorted(hide(r))  # left off the day lists, kept in the data
        rows.append(row)
    rows.sort(key=lambda x: x["date"])  # stable: deals of a day keep the query order
    from dealcli.views.listing import stage_labels

    names = [label[0] if label else "" for label in stage_labels(s, rows, [r.get("pipeline") for r in rows])]
    return Calendar(f"{year:04d}-{mon:02d}", by, rows, s.now.date(), names)


# -- rendering: only the Calendar, never the Session or the disk ---------------------------------
def formatted(view: Calendar, fmt: str, width: int | None = None) -> str:
    """The month grid with the deals of each day (table, in `width` columns: by default the
    terminal's); one row per deal otherwise."""
    from dealcli.views import render

    if fmt == "table":
        from dealcli.views import fit

        return text(view, width or fit.layout_width())
    return render.format_rows(view.rows, fmt, ["date", *ROW_FIELDS])


def text(view: Calendar, width: int = 80) -> str:
    """The grid's cells narrow and the day lists' titles and stages are cut (…) to fit `width`;
    ids, amounts and dates are never cut."""
    from dealcli.views import fit, render

    today = view.today
    cal = render.printable({"month": view.month, "by": view.by, "rows": view.rows,  # data never drives the terminal
                            "names": view.stage_names or [r.get("stage") or "" for r in view.rows]})
    year, mon = (int(x) for x in cal["month"].split("-"))
    counts: dict[int, int] = {}
    for r in cal["rows"]:
        d = int(r["date"][8:10])
        counts[d] = counts.get(d, 0) + 1
    first = dt.date(year, mon, 1)
    out = [i18n.ngettext("{month}  by {by}: {n} deal", "{month}  by {by}: {n} deals", len(cal["rows"])).format(
        month=i18n.month_name(first, "%B %Y"), by=cal["by"], n=len(cal["rows"])), ""]
    cell = max(3, min(CELL, (width - 6) // 7))
    out.append(" ".join(i18n.month_name(first + dt.timedelta(days=(i - first.weekday()) % 7), "%a")[:3].ljust(cell)
                        for i in range(7)).rstrip())
    for week in _cal.Calendar(firstweekday=0).monthdayscalendar(year, mon):
        days, nums = [], []
        for d in week:
            if d == 0:
                days.append(" " * cell)
                nums.append(" " * cell)
                continue
            mark = "*" if today and (today.year, today.month, today.day) == (year, mon, d) else ""
            days.append(f"{d:>2}{mark}".ljust(cell))
            n = counts.get(d, 0)
            count = i18n.ngettext("{n} deal", "{n} deals", n).format(n=n) if n else ""
            nums.append((count if len(count) <= cell else str(n)).ljust(cell))
        out.append(" ".join(days).rstrip())
        out.append(" ".join(nums).rstrip())
    from dealcli.views.card import shown

    amounts = []
    for r in cal["rows"]:
        amount = query.as_number(shown(r, "amount", r.get("amount"), None))
        amounts.append(f"{i18n.number(money.fmt(Decimal(amount), r.get('currency'))) if amount is not None else ''} "
                       f"{shown(r, 'amount', r.get('currency'), None) or ''}".strip())
    money_w = max([len(a) for a in amounts] + [0])
    room = width - (2 + 10 + 2 + 2 + money_w + 2)  # title and stage share what id and amount leave
    stage_w = min(max([fit.width_of(s) for s in cal["names"]] + [0]), max(6, room // 3))
    title_w = max(fit.HARD_MIN, min(40, room - stage_w))
    last = None
    for r, stage, amount_text in zip(cal["rows"], cal["names"], amounts, strict=True):
        if r["date"] != last:
            last = r["date"]
            day = dt.date.fromisoformat(last)
            out.append("")
            out.append(f"{i18n.month_name(day, '%a')} {last}")
        title = fit.cut(" ".join(str(r.get("title") or "").split()), title_w)
        title += " " * (title_w - fit.width_of(title))
        stage = shown(r, "stage", stage)
        out.append(f"  {str(r.get('id'))[:10]:<10}  {title}  {amount_text:>{money_w}}  {fit.cut(stage, stage_w)}")
    return "\n".join(x.rstrip() for x in out) + "\n"
