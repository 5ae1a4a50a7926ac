"""The HTML page of `report --html` and `board --html`: one self-contained file (styles, inline SVG
charts drawn here, a few lines of script; no network, no CDN: a Content-Security-Policy forbids
every fetch). It opens with the summary (each pipeline's totals and every stage's count, sum and
weighted sum), then the funnel, the forecast and the other report sections, and ends with the
kanban board of each pipeline (stage colours, counts, sums, cards). A stage holds one page of
cards (CARDS_PER_STAGE) in the page; a larger stage's cards are data (<script id="card-pages">)
its pager shows a page at a time, and the search box looks through all of them. Printed: no
pager or search, dark on white, the board on a page of its own. Pure: data in, text out; never
reads disk.

Accessibility: text on a stage colour is black or white, whichever contrasts more; bars carry
their numbers as text and get an outline dark enough (3:1 against the page) whatever the stage
colour; the forecast's two series differ by fill (outlined vs solid), not by colour alone;
every chart has a text alternative and the table with the same numbers. Prints on A4 landscape.

Every number the page shows from the report carries `data-metric="report:PATH"` and
`data-value` (PATH: the JSON path in `report -f json`, e.g. funnel/0/stages/2/reached); board
numbers `data-metric="board:PIPELINE/PATH"` (the path in `board -p PIPELINE -f json`). The
report itself is embedded as JSON in <script id="report-data" type="application/json">."""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dealcli import money
from dealcli.i18n import N_, _, header, language, ngettext, number, pgettext
from dealcli.views import render

SERIES = "#0072B2"  # Okabe-Ito blue: 5.2:1 on white
INK, PAPER, MUTED = "#1a1a1a", "#ffffff", "#5a5a5a"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


# -- colours ----------------------------------------------------------------------------------------
def _rgb(color: str | None) -> tuple[int, int, int] | None:
    if not isinstance(color, str) or len(color) != 7 or not color.startswith("#"):
        return None
    try:
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        return None


def luminance(color: str) -> float:
    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(color) or (0, 0, 0)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(color: str) -> str:
    """Black or white text on `color`, whichever contrasts more."""
    return "#000000" if contrast("#000000", color) >= contrast("#ffffff", color) else "#ffffff"


def outline(color: str | None, against: str = PAPER, ratio: float = 3.0) -> str:
    """`color` darkened until it contrasts `ratio`:1 with the page (WCAG 1.4.11 for graphics)."""
    rgb = _rgb(color)
    if rgb is None:
        return SERIES
    r, g, b = rgb
    for _step in range(40):
        hexed = f"#{r:02x}{g:02x}{b:02x}"
        if contrast(hexed, against) >= ratio:
            return hexed
        r, g, b = int(r * 0.9), int(g * 0.9), int(b * 0.9)
    return "#000000"


def _fill(color: str | None) -> str:
    return color if color and _rgb(color) else SERIES


# -- text helpers -------------------------------------------------------------------------------------
def esc(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def grouped(value: Decimal, currency: str | None = None) -> str:
    """Money with thousands separators: 72323.2 -> 72,323.20 (digits never dropped; at the minor
    unit of `currency` when given: 6,000 JPY)."""
    text = money.fmt(value, currency)
    if language() != "en":  # the language's group and decimal symbols (1 000,50 in Russian)
        return number(text)
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    parts: list[str] = []
    while len(whole) > 3:
        parts.insert(0, whole[-3:])
        whole = whole[:-3]
    parts.insert(0, whole)
    return sign + ",".join(parts) + ("." + frac if frac else "")


def _value(v) -> str:
    return "" if v is None else render.cell(v) if isinstance(v, Decimal) else str(render.jsonable(v))


def num(path: str, v, shown: str | None = None, suffix: str = "", source: str = "report",
        cash: bool = False) -> str:
    """A number on the page, tagged with where it comes from (see the module doc); `cash`:
    money, shown with thousands separators."""
    if shown is None:
        shown = "–" if v is None else (grouped(v) if cash else _value(v))
    tail = suffix if v is not None else ""
    return (f'<span class="num" data-metric="{esc(source)}:{esc(path)}" data-value="{esc(_value(v))}">'
            f"{esc(shown)}{esc(tail)}</span>")


def _table(headers: list[str], rows: list[list[str]], caption: str, numeric_from: int = 1) -> str:
    head = "".join(f'<th scope="col"{" class=r" if i >= numeric_from else ""}>{esc(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = [f'<th scope="row">{row[0]}</th>'] + [
            f'<td{" class=r" if i >= numeric_from else ""}>{c}</td>' for i, c in enumerate(row[1:], 1)]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


# -- SVG charts ----------------------------------------------------------------------------------------
def _svg(width: int, height: int, label: str, body: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{esc(label)}"><title>{esc(label)}</title>{body}</svg>')


def hbars(items: list[tuple[str, object, str, str | None]], label: str, width: int = 640) -> str:
    """Horizontal bars: (label, value, value text, colour) each; scaled to the largest value."""
    if not items:
        return ""
    row, lab, right = 26, 190, 160
    top = max([Decimal(str(v)) for _, v, _, _ in items if v is not None] or [Decimal(0)])
    span = width - lab - right
    parts = []
    for i, (name, v, text, color) in enumerate(items):
        y = i * row
        w = 0 if not top or v is None else max(1.0, float(Decimal(str(v)) / top) * span)
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="{lab - 8}" y="{y + 17}" text-anchor="end" class="lbl">{esc(short)}</text>')
        if w:
            parts.append(f'<rect x="{lab}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{esc(_fill(color))}" '
                         f'stroke="{esc(outline(color))}" stroke-width="1"/>')
        parts.append(f'<text x="{lab + w + 6:.1f}" y="{y + 17}" class="val">{esc(text)}</text>')
    return _svg(width, row * len(items) + 4, label, "".join(parts))


def funnel_svg(p: dict, width: int = 640) -> str:
    """A funnel: centred bars as wide as each stage's `reached`, in the stage colour."""
    stages = p["stages"]
    row, lab, right = 34, 170, 130
    top = max([st["reached"] for st in stages] or [0])
    span = width - lab - right
    parts = []
    for i, st in enumerate(stages):
        y = i * row
        w = 0 if not top else max(2.0, st["reached"] / top * span)
        x = lab + (span - w) / 2
        conv = f" · {st['conversion']}%" if st["conversion"] is not None else ""
        parts.append(f'<text x="{lab - 8}" y="{y + 21}" text-anchor="end" class="lbl">{esc(st["name"])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="3" '
                     f'fill="{esc(_fill(st["color"]))}" stroke="{esc(outline(st["color"]))}"/>')
        parts.append(f'<text x="{lab + span + 8}" y="{y + 21}" class="val">{st["reached"]}{esc(conv)}</text>')
    label = _("Funnel of {name}: deals reaching each stage").format(name=p["name"])
    return _svg(width, row * len(stages) + 4, label, "".join(parts))


def forecast_svg(rows: list[dict], currency: str, width: int = 640) -> str:
    """Grouped columns per month: amount (outlined) and weighted amount (solid)."""
    rows = [r for r in rows if r["currency"] == currency]
    if not rows:
        return ""
    height, base, left = 240, 180, 10
    top = max([r["amount"] for r in rows] + [Decimal(1)])
    slot = (width - left * 2) / len(rows)
    bw = max(4.0, min(36.0, slot / 2 - 6))
    parts = [f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{MUTED}"/>']
    words = {"amount": _("amount"), "weighted": _("weighted")}
    for i, r in enumerate(rows):
        x = left + i * slot + slot / 2 - bw
        for j, (key, fill) in enumerate((("amount", PAPER), ("weighted", SERIES))):
            h = float(r[key] / top) * (base - 30) if top else 0
            parts.append(f'<rect x="{x + j * bw:.1f}" y="{base - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                         f'fill="{fill}" stroke="{SERIES}" stroke-width="1.5"><title>{esc(r["month"] or _("no date"))} '
                         f'{esc(words[key])}: {esc(grouped(r[key]))} {esc(currency)}</title></rect>')
        label = _("{month} (past)").format(month=r["month"] or _("no date")) if r["overdue"] else (
            r["month"] or _("no date"))
        parts.append(f'<text x="{x + bw:.1f}" y="{base + 16}" text-anchor="middle" class="lbl">{esc(label)}</text>')
        parts.append(f'<text x="{x + bw:.1f}" y="{base - float(r["amount"] / top) * (base - 30) - 6:.1f}" '
                     f'text-anchor="middle" class="val">{esc(grouped(r["weighted"]))}</text>')
    legend = (f'<rect x="{left}" y="216" width="12" height="12" fill="{PAPER}" stroke="{SERIES}" stroke-width="1.5"/>'
              f'<text x="{left + 18}" y="226" class="lbl">{esc(words["amount"])}</text>'
              f'<rect x="{left + 90}" y="216" width="12" height="12" fill="{SERIES}"/>'
              f'<text x="{left + 108}" y="226" class="lbl">'
              f'' + esc(_("weighted = amount × probability (the number above each month)")) + '</text>')
    return _svg(width, height, _("Forecast in {currency}: open amount and weighted amount by expected close month")
                .format(currency=currency),
                "".join(parts) + legend)


# -- sections -------------------------------------------------------------------------------------------
CARDS_PER_STAGE = 50  # one page of cards per stage column; counts and sums cover every deal


def card_data(d: dict) -> list[str]:
    """A card as the page holds it: [id, title, amount, currency, responsible · close date]."""
    amount = d.get("amount")
    amount_text = grouped(Decimal(str(amount)), d.get("currency")) if amount not in (None, "") else ""
    close = d.get("close_date") and _("close {date}").format(date=d["close_date"])
    meta = " · ".join(str(x) for x in (d.get("responsible"), close) if x)
    return [str(d.get("id") or ""), str(d.get("title") or ""), amount_text, str(d.get("currency") or ""), meta]


def card_li(c: list[str]) -> str:
    """One card; the page's script builds the same from card_data when it turns a page."""
    return (f'<li class="card" data-id="{esc(c[0])}"><div class="t">{esc(c[1])}</div>'
            f'<div class="a">{esc(c[2])} {esc(c[3])}</div><div class="m">{esc(c[4])}</div>'
            f'<div class="m id">{esc(c[0])}</div></li>')


def summary_html(boards: list[dict]) -> str:
    """The summary the page opens with: each pipeline's totals and its stages' count, sum and
    weighted sum (the cards come last)."""
    out = ['<section id="summary"><h2>' + esc(_("Summary")) + '</h2>']
    for b in boards:
        pid = b["pipeline"]

        def m(path: str, v, pid=pid) -> str:
            return num(f"{pid}/{path}", v, source="board", cash=isinstance(v, Decimal))

        def money_of(path: str, sums: dict) -> str:
            return ", ".join(f"{m(f'{path}/{c}', v)} {esc(c)}" for c, v in sums.items()) or "0"

        tot = b["total"]
        rows = [[esc(col["name"]), m(f"stages/{i}/count", col["count"]), money_of(f"stages/{i}/sum", col["sum"]),
                 money_of(f"stages/{i}/weighted", col["weighted"])] for i, col in enumerate(b["stages"])]
        rows.append(["<b>" + esc(_('total')) + "</b>", m("total/count", tot["count"]),
                     money_of("total/sum", tot["sum"]),
                     money_of("total/weighted", tot["weighted"])])
        out.append(_table([_("stage"), _("deals"), _("sum"), _("weighted")], rows, f"{b['name']} ({pid})"))
    return "".join(out) + "</section>"


def board_html(b: dict, pages: dict | None = None) -> str:
    """The kanban of one pipeline: one page of cards per stage in the page; the rest of a stage's
    cards go to `pages` (stage key -> card data) for the script to page through."""
    pid = b["pipeline"]
    src = "board"

    def m(path: str, v, **kw) -> str:
        return num(f"{pid}/{path}", v, source=src, cash=isinstance(v, Decimal), **kw)

    tot = b["total"]
    sums = ", ".join(f'{m(f"total/sum/{c}", v)} {esc(c)}' for c, v in tot["sum"].items()) or "0"
    wtd = ", ".join(f'{m(f"total/weighted/{c}", v)} {esc(c)}' for c, v in tot["weighted"].items()) or "0"
    hide = set(b.get("hidden", ()))  # the card's hidden fields (an amount goes with its currency)
    hide |= {"currency"} if "amount" in hide else set()
    cols = []
    for i, col in enumerate(b["stages"]):
        color = _fill(col.get("color"))
        ink = text_on(color)
        money_lines = "".join(
            '<div>' + esc(_("sum")) + f' {m(f"stages/{i}/sum/{c}", v)} {esc(c)}</div>'
            for c, v in col["sum"].items()) + "".join(
            '<div>' + esc(_("weighted")) + f' {m(f"stages/{i}/weighted/{c}", v)} {esc(c)}</div>'
            for c, v in col["weighted"].items())
        key = f"{pid}/{i}"
        data = [card_data({k: v for k, v in d.items() if k not in hide}) for d in col["deals"]]
        if pages is not None and len(data) > CARDS_PER_STAGE:
            pages[key] = data  # the other pages: data the script shows a page at a time
        cards = [card_li(c) for c in data[:CARDS_PER_STAGE]]
        more = len(col["deals"]) - CARDS_PER_STAGE
        if more > 0:  # the page stays small and quick to render; the count and sums above are of all
            cards.append('<li class="more">' + esc(_("{n} more:").format(n=more)) + f' '
                         f'<code>dealcli filter pipeline={esc(pid)} '
                         f'stage={esc(col.get("id"))}</code></li>')
        pager = (f'<div class="pager" data-stage="{esc(key)}" hidden><button type="button" data-step="-1">'
                 f'' + esc(_("‹ previous")) + '</button> <span class="at"></span> <button type="button" data-step="1">'
                 '' + esc(_("next ›")) + '</button></div>'
                 if pages is not None and more > 0 else "")
        cols.append(
            f'<div class="col" style="--stage:{esc(color)};--stage-edge:{esc(outline(color))}">'
            f'<h3 style="background:{esc(color)};color:{ink}">{esc(col["name"])}</h3>'
            f'<div class="sum"><div>{deals(m(f"stages/{i}/count", col["count"]), col["count"])}</div>'
            f'{money_lines}</div><ul class="cards" data-stage="{esc(key)}">{"".join(cards)}</ul>{pager}</div>')
    return (f'<section class="board" id="board-{esc(pid)}" data-board="{esc(pid)}"><h2>'
            f'' + esc(_("Board: {name}").format(name=b["name"])) + f' '
            f'<small>({esc(pid)})</small></h2><p class="totals">{deals(m("total/count", tot["count"]), tot["count"])}'
            f' · ' + esc(_("sum")) + f' {sums} · '
            f'' + esc(_("weighted")) + f' {wtd}</p><div class="kanban">{"".join(cols)}</div></section>')


def deals(shown: str, n: int) -> str:
    """`shown` (the count's HTML) with the word for `n` deals: `3 deals`, `3 сделки`."""
    return esc(ngettext("{n} deal", "{n} deals", n)).format(n=shown)


def funnel_html(data: list[dict]) -> str:
    out = ['<section id="funnel"><h2>' + esc(_("Funnel")) + '</h2><p class="note">'
           + esc(_("Reached: deals that got at least this far (a won deal passed every stage, even one it skipped); "
                   "entered: deals the history shows in the stage; conversion: % of the previous stage."))
           + "</p>"]
    for pi, p in enumerate(data):
        rows = []
        for si, st in enumerate(p["stages"]):
            base = f"funnel/{pi}/stages/{si}"
            rows.append([esc(st["name"]), num(f"{base}/reached", st["reached"]), num(f"{base}/entered", st["entered"]),
                         num(f"{base}/in_stage", st["in_stage"]), num(f"{base}/lost", st["lost"]),
                         num(f"{base}/conversion", st["conversion"], suffix="%"),
                         num(f"{base}/of_first", st["of_first"], suffix="%")])
        out.append(f'<div class="pair"><div>{funnel_svg(p)}</div><div>' + _table(
            [_("stage"), _("reached"), _("entered"), _("now"), _("lost"), _("conversion"), _("of first")], rows,
            f"{p['name']}: " + ngettext("{n} deal", "{n} deals", p["deals"]).format(n=p["deals"])) + "</div></div>")
    if not data:
        out.append("<p>" + esc(_('No deals.')) + "</p>")
    return "".join(out) + "</section>"


def forecast_html(rows: list[dict]) -> str:
    out = ['<section id="forecast"><h2>' + esc(_("Forecast")) + '</h2><p class="note">'
           + html.escape(_("Open deals by expected close month; weighted = amount × probability (the deal's, "
                           "else its stage's)."), quote=False)
           + "</p>"]
    for cur in dict.fromkeys(r["currency"] for r in rows):
        out.append(forecast_svg(rows, cur))
    table = []
    for i, r in enumerate(rows):
        past = ' <span class="past">' + esc(_("past")) + '</span>' if r["overdue"] else ""
        label = esc(r["month"] or _("no date")) + past
        table.append([label, esc(r["currency"]), num(f"forecast/{i}/deals", r["deals"]),
                      num(f"forecast/{i}/amount", r["amount"], cash=True),
                      num(f"forecast/{i}/weighted", r["weighted"], cash=True)])
    out.append(_table([_("month"), _("currency"), _("deals"), _("amount"), _("weighted")], table, _("Forecast"), 2)
               if rows else "<p>" + esc(_('No open deals.')) + "</p>")
    return "".join(out) + "</section>"


def win_rate_html(rows: list[dict]) -> str:
    table = [[esc(r["name"]), num(f"win_rate/{i}/open", r["open"]), num(f"win_rate/{i}/won", r["won"]),
              num(f"win_rate/{i}/lost", r["lost"]), num(f"win_rate/{i}/win_rate", r["win_rate"], suffix="%")]
             for i, r in enumerate(rows)]
    chart = hbars([(r["name"], r["win_rate"], f"{r['win_rate']}%" if r["win_rate"] is not None else "–", None)
                   for r in rows], _("Win rate per pipeline (won / closed)"))
    return ('<section id="win-rate"><h2>' + esc(_("Win rate")) + f'</h2><div class="pair"><div>{chart}</div><div>'
            + (_table([_("pipeline"), _("open"), _("won"), _("lost"), _("win rate")], table, _("Won / (won + lost)"))
               if rows else "<p>" + esc(_('No deals.')) + "</p>") + "</div></div></section>")


def lost_reasons_html(rows: list[dict]) -> str:
    table = [[esc(r["reason"] or _("(no reason)")), num(f"lost_reasons/{i}/deals", r["deals"]),
              num(f"lost_reasons/{i}/share", r["share"], suffix="%")] for i, r in enumerate(rows)]
    chart = hbars([(r["reason"] or _("(no reason)"), r["deals"], str(r["deals"]), None) for r in rows],
                  _("Lost deals by reason"))
    return ('<section id="lost-reasons"><h2>' + esc(_("Lost reasons"))
            + f'</h2><div class="pair"><div>{chart}</div><div>'
            + (_table([_("reason"), _("deals"), _("share")], table, _("Lost deals by reason")) if rows
               else "<p>" + esc(_('No lost deals.')) + "</p>")
            + "</div></div></section>")


def stage_time_html(data: list[dict]) -> str:
    out = ['<section id="stage-time"><h2>' + esc(_("Days in stage")) + '</h2><p class="note">'
           + esc(_("Average length of the stays that ended (the deal left the stage).")) + "</p>"]
    for pi, p in enumerate(data):
        table = [[esc(st["name"]), num(f"stage_time/{pi}/stages/{si}/stays", st["stays"]),
                  num(f"stage_time/{pi}/stages/{si}/avg_days", st["avg_days"])] for si, st in enumerate(p["stages"])]
        chart = hbars([(st["name"], st["avg_days"], _("{days} d").format(days=st["avg_days"])
                        if st["avg_days"] is not None else "–", st["color"]) for st in p["stages"]],
                      _("Average days in each stage of {name}").format(name=p["name"]))
        out.append(f'<div class="pair"><div>{chart}</div><div>'
                   + _table([_("stage"), _("stays"), _("avg days")], table, p["name"]) + "</div></div>")
    if not data:
        out.append("<p>" + esc(_('No deal has left a stage yet.')) + "</p>")
    return "".join(out) + "</section>"


def time_to_close_html(rows: list[dict]) -> str:
    table = [[esc(f"{r['pipeline']} {status(r['status'])}"), num(f"time_to_close/{i}/deals", r["deals"]),
              num(f"time_to_close/{i}/avg_days", r["avg_days"])] for i, r in enumerate(rows)]
    return ('<section id="time-to-close"><h2>' + esc(_("Days from creation to close")) + '</h2>'
            + (_table([_("pipeline"), _("deals"), _("avg days")], table, _("Average days to close")) if rows
               else "<p>" + esc(_('No closed deals.')) + "</p>") + "</section>")


def status(value) -> str:
    """A deal's status in words (`won`, `выиграна`); other values as they are."""
    return pgettext("event", value) if value in ("won", "lost") else value


def won_revenue_html(data: dict) -> str:
    out = ['<section id="won-revenue"><h2>' + esc(_("Won revenue")) + '</h2>']
    for group, empty, by, caption in (
            ("month", _("unknown"), _("By month"), _("Won revenue by month")),
            ("responsible", _("nobody"), _("By responsible"), _("Won revenue by responsible")),
            ("company", _("no company"), _("By company"), _("Won revenue by company")),
            ("product", _("no products"), _("By product"), _("Won revenue by product"))):
        rows = data[f"by_{group}"]
        table = [[esc(r[group] or f"({empty})"), esc(r["currency"]),
                  num(f"won_revenue/by_{group}/{i}/deals", r["deals"]),
                  num(f"won_revenue/by_{group}/{i}/amount", r["amount"], cash=True)] for i, r in enumerate(rows)]
        chart = hbars([(f"{r[group] or '(' + empty + ')'} {r['currency']}", r["amount"],
                        f"{grouped(r['amount'], r['currency'])} {r['currency']}", None) for r in rows],
                       caption)
        out.append(f'<h3>{esc(by)}</h3><div class="pair"><div>{chart}</div><div>'
                   + (_table([header(group), _("currency"), _("deals"), _("amount")], table, caption, 2) if rows
                      else "<p>" + esc(_('No won deals.')) + "</p>") + "</div></div>")
    return "".join(out) + "</section>"


def activities_html(rows: list[dict]) -> str:
    keys = ("activities", "done", "pending", "overdue", "call", "meeting", "task", "email")
    table = [[esc(r["person"] or _("(nobody)"))] + [num(f"activities/{i}/{k}", r[k]) for k in keys]
             for i, r in enumerate(rows)]
    heads = [_("person"), _("activities"), _("done"), _("pending"), _("overdue"), _("call"), _("meeting"), _("task"),
             _("email")]
    return ('<section id="activities"><h2>' + esc(_("Activities per person")) + '</h2>'
            + (_table(heads, table, _("Activities by responsible person")) if rows
               else "<p>" + esc(_('No activities.')) + "</p>") + "</section>")


SECTION_HTML: dict[str, Callable[[Any], str]] = {
    "funnel": funnel_html, "forecast": forecast_html, "win_rate": win_rate_html,
    "lost_reasons": lost_reasons_html, "stage_time": stage_time_html, "time_to_close": time_to_close_html,
    "won_revenue": won_revenue_html, "activities": activities_html,
}
TITLES = {"funnel": N_("Funnel"), "forecast": N_("Forecast"), "win_rate": N_("Win rate"),
          "lost_reasons": N_("Lost reasons"), "stage_time": N_("Days in stage"), "time_to_close": N_("Days to close"),
          "won_revenue": N_("Won revenue"), "activities": N_("Activities")}  # the links, worded with _() there

STYLE = """
:root{--ink:%(ink)s;--muted:%(muted)s;--paper:%(paper)s;--line:#c8c8c8;--accent:%(series)s}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--paper)}
header,main,nav{padding:0 24px}
header{border-bottom:3px solid var(--accent);padding-top:16px;padding-bottom:8px}
h1{margin:0 0 4px;font-size:26px} h2{margin:28px 0 8px;font-size:21px} h3{margin:16px 0 6px;font-size:16px}
.sub,.note,small{color:var(--muted)} .note{margin:0 0 10px;font-size:14px}
nav{padding-top:8px;font-size:14px} nav a{color:var(--accent);margin-right:14px}
a:focus,input:focus{outline:3px solid #000;outline-offset:2px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:14px;min-width:320px}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--ink)} .r{text-align:right;font-variant-numeric:tabular-nums}
.pair{display:flex;flex-wrap:wrap;gap:8px 32px;align-items:flex-start}
svg.chart{max-width:100%%;height:auto;font-size:13px}
svg .lbl{fill:var(--ink)} svg .val{fill:var(--ink);font-weight:600}
.past{font-size:12px;border:1px solid var(--ink);border-radius:3px;padding:0 4px}
.filter{margin:8px 0}.filter input{font:inherit;padding:4px 8px;border:2px solid var(--muted);border-radius:4px;width:18em}
.totals{margin:0 0 8px}
.kanban{display:flex;flex-wrap:wrap;gap:12px;padding-bottom:8px;align-items:flex-start}
.col{flex:1 1 0;min-width:170px;max-width:320px;border:1px solid var(--stage-edge);border-top:6px solid var(--stage);border-radius:6px;background:#fafafa}
.col h3{margin:0;padding:6px 10px;font-size:15px;border-radius:0}
.col .sum{padding:6px 10px;font-size:13px;border-bottom:1px solid var(--line)}
.cards{list-style:none;margin:0;padding:6px}
.card{background:var(--paper);border:1px solid var(--line);border-left:4px solid var(--stage-edge);border-radius:4px;padding:6px 8px;margin:0 0 6px;font-size:13px}
.card .t{font-weight:600} .card .a{font-variant-numeric:tabular-nums} .card .m{color:var(--muted);font-size:12px}
.card .id{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
footer{padding:16px 24px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);margin-top:24px}
.pager{padding:4px 8px 8px;font-size:13px}.pager button{font:inherit;padding:2px 8px}
@media print{
 @page{size:A4 landscape;margin:12mm}
 body{font-size:10pt;color:#000;background:#fff} nav,.filter,.pager{display:none}
 svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .col{min-width:44mm;background:#fff}
 .col h3{background:#fff!important;color:#000!important;border-bottom:2px solid #000}
 .card{border-left-color:#000} .sub,.note,small,.card .m{color:#333}
 .card,table,svg,.pair{break-inside:avoid} #summary+section,.board{break-before:page} h2,h3{break-after:avoid}
 a{color:#000;text-decoration:none}
}
""" % {"ink": INK, "muted": MUTED, "paper": PAPER, "series": SERIES}  # noqa: E501 - the stylesheet, one rule a line

SCRIPT = """
(function(){
  var pages=JSON.parse(document.getElementById('card-pages').textContent), per=pages.page, q='';
  var at={};
  function card(c){
    var li=document.createElement('li');li.className='card';li.setAttribute('data-id',c[0]);
    [['t',c[1]],['a',c[2]+' '+c[3]],['m',c[4]],['m id',c[0]]].forEach(function(p){
      var d=document.createElement('div');d.className=p[0];d.textContent=p[1];li.appendChild(d);});
    return li;
  }
  function matches(c){return !q||c.join(' ').toLowerCase().indexOf(q)>=0;}
  function show(key){
    var ul=document.querySelector('ul.cards[data-stage="'+key+'"]');
    var pager=document.querySelector('.pager[data-stage="'+key+'"]');
    var all=pages.stages[key].filter(matches), n=Math.max(1,Math.ceil(all.length/per));
    at[key]=Math.min(Math.max(at[key]||0,0),n-1);
    while(ul.firstChild){ul.removeChild(ul.firstChild);}
    all.slice(at[key]*per,(at[key]+1)*per).forEach(function(c){ul.appendChild(card(c));});
    pager.hidden=false;
    pager.querySelector('.at').textContent='page '+(at[key]+1)+' of '+n+' ('+all.length+' cards)';
    pager.querySelector('[data-step="-1"]').disabled=at[key]===0;
    pager.querySelector('[data-step="1"]').disabled=at[key]>=n-1;
  }
  Object.keys(pages.stages).forEach(function(key){
    var pager=document.querySelector('.pager[data-stage="'+key+'"]');
    pager.addEventListener('click',function(e){
      var step=e.target.getAttribute('data-step');
      if(step){at[key]=(at[key]||0)+Number(step);show(key);}
    });
    var more=document.querySelector('ul.cards[data-stage="'+key+'"] .more');
    if(more){more.parentNode.removeChild(more);}
    show(key);
  });
  var box=document.getElementById('card-filter');
  if(box){
    box.closest('.filter').hidden=false;
    box.addEventListener('input',function(){
      q=box.value.toLowerCase();
      var cards=document.querySelectorAll('ul.cards .card');
      for(var i=0;i<cards.length;i++){
        if(!pages.stages[cards[i].parentNode.getAttribute('data-stage')]){
          cards[i].hidden=!!q&&cards[i].textContent.toLowerCase().indexOf(q)<0;}
      }
      Object.keys(pages.stages).forEach(function(key){at[key]=0;show(key);});
    });
  }
  var data=JSON.parse(document.getElementById('report-data').textContent);
  document.documentElement.setAttribute('data-ready', String(data.deals));
})();
"""


def page(report: dict, boards: list, kind: str = "report") -> str:
    """The whole page. `report` is reports.build's mapping, `boards` board.build's Board per
    pipeline."""
    boards = [b.as_dict() for b in boards]
    title = _("Deals board") if kind == "board" else _("Deals report")
    when = (_("as of {date}").format(date=report["as_of"]) if report.get("as_of")
            else _("at {date}").format(date=report["now"]))
    selection = (" · " + _("selection: {filters}").format(filters=" ".join(report["selection"]))
                 if report.get("selection") else "")
    order = ["funnel", "forecast", "win_rate", "lost_reasons", "stage_time", "time_to_close", "won_revenue",
             "activities"]
    shown = [name for name in order if name in report]
    # the summary first (totals and every stage's aggregates), then the report's sections, the cards last:
    # the numbers are on the first screen and the first printed page, however many deals there are
    parts = [summary_html(boards)] if boards else []
    parts += [SECTION_HTML[name](report[name]) for name in shown]
    pages: dict[str, list] = {}
    filter_box = ('<div class="filter" hidden><label>' + esc(_("Find cards:"))
                  + ' <input id="card-filter" type="search" autocomplete="off"></label></div>' if boards else "")
    parts += [filter_box] + [board_html(b, pages) for b in boards]
    links = ['<a href="#summary">' + esc(_("Summary")) + '</a>'] if boards else []
    links += [f'<a href="#{name.replace("_", "-")}">{esc(_(TITLES[name]))}</a>' for name in shown]
    links += [f'<a href="#board-{esc(b["pipeline"])}">' + esc(_("Board {name}").format(name=b["name"])) + '</a>'
              for b in boards]
    data = render.json_text(report).replace("<", "\\u003c")
    cards = render.json_text({"page": CARDS_PER_STAGE, "stages": pages}).replace("<", "\\u003c")
    return (
        "<!doctype html>\n"
        f'<html lang="{language()}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="dealcli">'
        f"<title>{esc(title)} {esc(when)}</title><style>{STYLE}</style></head>\n"
        f'<body data-kind="{esc(kind)}"><header><h1>{esc(title)}</h1>'
        f'<div class="sub">{deals(num("deals", report["deals"]), report["deals"])} '
        f'{esc(when)}{esc(selection)}</div></header>'
        f'<nav aria-label="' + esc(_("Sections")) + f'">{"".join(links)}</nav><main>{"".join(parts)}</main>'
        f'<footer>' + esc(_("Made by dealcli. The numbers are also in the JSON block of this page")) + f' '
        f'(<code>report -f json</code>).</footer>'
        f'<script type="application/json" id="report-data">{data}</script>'
        f'<script type="application/json" id="card-pages">{cards}</script>'
        f"<script>{script()}</script></body></html>\n")


PAGER_JS = "pager.querySelector('.at').textContent='page '+(at[key]+1)+' of '+n+' ('+all.length+' cards)';"


def script() -> str:
    """The page's script, its pager's words ("page 2 of 5 (230 cards)") in the language in use."""
    if language() == "en":
        return SCRIPT
    words = render.json_text(_("page {at} of {n} ({count} cards)")).replace("<", "\\u003c")
    worded = (f"pager.querySelector('.at').textContent={words}.replace('{{at}}',at[key]+1).replace('{{n}}',n)"
              ".replace('{count}',all.length);")
    return SCRIPT.replace(PAGER_JS, worded)
