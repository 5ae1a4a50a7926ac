"""`dealcli report` on a terminal: each section as aligned columns with a Unicode bar chart
(eighth blocks) filling what is left of the width. Pure text; colour only through render.paint
(a terminal, never with NO_COLOR)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dealcli import i18n, money
from dealcli.i18n import N_
from dealcli.views import fit, render

BLOCKS = " ▏▎▍▌▋▊▉█"
GAP = "  "
MIN_BAR = 8


def bar(value, top, width: int) -> str:
    """A bar `width` cells at most, `value / top` of it, to an eighth of a cell."""
    if width <= 0 or not top or value is None or value <= 0:
        return ""
    eighths = int(Decimal(value) / Decimal(top) * width * 8 + Decimal("0.5"))
    eighths = max(1, min(width * 8, eighths))
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


def _cut(text: str, width: int) -> str:
    return fit.cut(" ".join(str(text).split()), width)  # display cells: a CJK character is two


def _txt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def chart(headers: list[str], rows: list[list], values: list, width: int, colors: list | None = None,
          tops: list | None = None, right_from: int = 1) -> list[str]:
    """Aligned columns (the first left, the others right from `right_from`) and a bar of
    `values[i]` against `tops[i]` (default: the largest value) in the rest of the width."""
    cells = [[_txt(c) for c in row] for row in rows]
    headers = [i18n.header(h) for h in headers]  # the headings in the language in use (i18n.COLUMNS)
    n = len(headers)
    widths = [max([fit.width_of(headers[i])] + [fit.width_of(r[i]) for r in cells]) for i in range(n)]
    while n > 2 and 8 + sum(widths[1:n]) + len(GAP) * n + 3 > width:
        n -= 1  # too narrow: the last columns go (the data formats have them all)
    headers, cells, widths = headers[:n], [r[:n] for r in cells], widths[:n]
    fixed = sum(widths[1:]) + len(GAP) * n
    widths[0] = min(widths[0], 28, max(8, width - fixed - MIN_BAR))
    barw = max(3, width - widths[0] - fixed)
    top = max([v for v in values if v is not None] or [0])

    def line(row: list[str]) -> str:
        out = []
        for i, c in enumerate(row):
            c = _cut(c, widths[i]) if i == 0 else c
            out.append(fit.pad(c, widths[i], right=i >= right_from))
        return GAP.join(out)

    lines = [line(headers).rstrip()]
    for i, row in enumerate(cells):
        text = line(row)
        if colors and colors[i]:
            head, rest = text[:widths[0]], text[widths[0]:]
            text = render.paint(head, colors[i]) + rest
        b = bar(values[i], (tops[i] if tops else None) or top, barw)
        if b and colors and colors[i]:
            b = render.paint(b, colors[i])
        lines.append((text + GAP + b).rstrip())
    return lines


def _title(text: str, width: int) -> list[str]:
    return ["", _cut(text, width), "─" * min(width, len(_cut(text, width)))]


def text(report: dict, width: int | None = None) -> str:
    width = width or fit.layout_width()  # the injected terminal's, else 80
    report = render.printable(report)  # names and reasons from data never drive the terminal
    width = max(40, width)
    head = i18n.ngettext("Report: {n} deal", "Report: {n} deals", report["deals"]).format(n=report["deals"])
    head += i18n._(", as of {date}").format(date=report["as_of"]) if report.get("as_of") else f", {report['now']}"
    if report.get("selection"):
        head += f" ({' '.join(report['selection'])})"
    out = [_cut(head, width)]
    for name, maker in SECTION_TEXT.items():
        if name in report:
            out += maker(report[name], width)
    return "\n".join(out) + "\n"


def _funnel(data: list[dict], width: int) -> list[str]:
    out = []
    for p in data:
        out += _title(i18n.ngettext("Funnel: {name} ({pipeline}), {n} deal", "Funnel: {name} ({pipeline}), {n} deals",
                                    p["deals"]).format(name=p["name"], pipeline=p["pipeline"], n=p["deals"]), width)
        rows = [[st["name"], st["reached"], st["entered"], st["in_stage"], st["lost"], _pc(st["conversion"])]
                for st in p["stages"]]
        out += chart(["stage", "reached", "entered", "now", "lost", "conv"], rows,
                     [st["reached"] for st in p["stages"]], width, [st["color"] for st in p["stages"]])
    if not data:
        out += _title(i18n._("Funnel"), width) + [i18n._("no deals")]
    return out


def _pc(v) -> str:
    return "-" if v is None else f"{v}%"


def _win_rate(data: list[dict], width: int) -> list[str]:
    rows = [[r["name"], r["open"], r["won"], r["lost"], _pc(r["win_rate"])] for r in data]
    return _title(i18n._("Win rate (won / closed)"), width) + (
        chart(["pipeline", "open", "won", "lost", "win"], rows, [r["win_rate"] for r in data], width,
              tops=[100] * len(rows)) if rows else [i18n._("no deals")])


def _lost_reasons(data: list[dict], width: int) -> list[str]:
    rows = [[r["reason"] or i18n._("(no reason)"), r["deals"], _pc(r["share"])] for r in data]
    return _title(i18n._("Lost reasons"), width) + (
        chart(["reason", "deals", "share"], rows, [r["deals"] for r in data], width) if rows
        else [i18n._("no lost deals")])


def _stage_time(data: list[dict], width: int) -> list[str]:
    out = []
    for p in data:
        out += _title(i18n._("Days in stage: {name} ({pipeline}), stays that ended").format(
            name=p["name"], pipeline=p["pipeline"]), width)
        rows = [[st["name"], st["stays"], st["avg_days"]] for st in p["stages"]]
        out += chart(["stage", "stays", "avg days"], rows, [st["avg_days"] for st in p["stages"]], width,
                     [st["color"] for st in p["stages"]])
    if not data:
        out += _title(i18n._("Days in stage"), width) + [i18n._("no deal has left a stage yet")]
    return out


def _time_to_close(data: list[dict], width: int) -> list[str]:
    rows = [[f"{r['pipeline']} {r['status']}", r["deals"], r["avg_days"]] for r in data]
    unknown = sum(r.get("unknown", 0) for r in data)
    tail = [i18n.ngettext("{n} closed deal not counted: close date unknown (or before creation)",
                          "{n} closed deals not counted: close date unknown (or before creation)",
                          unknown).format(n=unknown)] \
        if unknown else []
    return _title(i18n._("Days from creation to close"), width) + (
        chart(["pipeline", "deals", "avg days"], rows, [r["avg_days"] for r in data], width) if rows
        else [i18n._("no closed deals")]) + tail


def _money_chart(rows_in: list[dict], key: str, label: str, width: int, empty: str = "none") -> list[str]:
    if not rows_in:
        return [empty]
    tops: dict[str, Decimal] = {}
    for r in rows_in:
        tops[r["currency"]] = max(tops.get(r["currency"], Decimal(0)), r["amount"])
    rows = [[r[key] or f"({i18n._(empty)})", r["currency"], r["deals"],
             i18n.number(money.fmt(r["amount"], r["currency"]))] for r in rows_in]
    return chart([label, "cur", "deals", "amount"], rows, [r["amount"] for r in rows_in], width,
                 tops=[tops[r["currency"]] for r in rows_in])


def _won_revenue(data: dict, width: int) -> list[str]:
    out = []
    for group, label, empty in (("month", "month closed", N_("unknown")), ("responsible", "responsible", N_("nobody")),
                                ("company", "company", N_("no company")), ("product", "product", N_("no products"))):
        out += _title(i18n._("Won revenue by {group}").format(group=i18n.header(group)), width)
        out += _money_chart(data[f"by_{group}"], group, label, width, empty) if data[f"by_{group}"] \
            else [i18n._("no won deals")]
    return out


def _forecast(data: list[dict], width: int) -> list[str]:
    if not data:
        return _title(i18n._("Forecast (open deals by expected close month)"), width) + [i18n._("no open deals")]
    tops: dict[str, Decimal] = {}
    for r in data:
        tops[r["currency"]] = max(tops.get(r["currency"], Decimal(0)), r["weighted"])
    rows = [[(r["month"] or i18n._("no date")) + (i18n._(" past") if r["overdue"] else ""), r["currency"], r["deals"],
             i18n.number(money.fmt(r["amount"], r["currency"])),
             i18n.number(money.fmt(r["weighted"], r["currency"]))] for r in data]
    return _title(i18n._("Forecast (open deals by expected close month; bar: weighted)"), width) + chart(
        ["month", "cur", "deals", "amount", "weighted"], rows, [r["weighted"] for r in data], width,
        tops=[tops[r["currency"]] for r in data])


def _repeat_sales(data: list[dict], width: int) -> list[str]:
    title = _title(i18n._("First and repeat sales (bar: won amount)"), width)
    if not data:
        return title + [i18n._("no deals")]
    rows = [[r["sales"], r["currency"], r["open"], r["won"], r["lost"], i18n.number(money.fmt(r["won_amount"])),
             _pc(r["share"]),
             _pc(r["win_rate"])] for r in data]
    tops: dict = {}
    for r in data:
        tops[r["currency"]] = max(tops.get(r["currency"], Decimal(0)), r["won_amount"])
    return title + chart(["sales", "cur", "open", "won", "lost", "won amount", "share", "win"], rows,
                         [r["won_amount"] for r in data], width, tops=[tops[r["currency"]] for r in data])


def _activities(data: list[dict], width: int) -> list[str]:
    if not data:
        return _title(i18n._("Activities per person"), width) + [i18n._("no activities")]
    rows = [[r["person"] or i18n._("(nobody)"), r["activities"], r["done"], r["pending"], r["overdue"], r["call"],
             r["meeting"], r["task"], r["email"]] for r in data]
    return _title(i18n._("Activities per person"), width) + chart(
        ["person", "all", "done", "pending", "overdue", "call", "meet", "task", "email"], rows,
        [r["activities"] for r in data], width)


SECTION_TEXT: dict[str, Callable[[Any, int], list[str]]] = {
    "funnel": _funnel, "win_rate": _win_rate, "lost_reasons": _lost_reasons, "stage_time": _stage_time,
    "time_to_close": _time_to_close, "won_revenue": _won_revenue, "forecast": _forecast,
    "repeat_sales": _repeat_sales, "activities": _activities,
}
