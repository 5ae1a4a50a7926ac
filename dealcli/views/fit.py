"""Tables that fit the terminal. Every table view renders through `fit` (render.format_rows does
it for the tables; the calendar, the board and the report lay out to `layout_width`): low-
priority columns are dropped first, then the widest text cells are cut with …; ids, money,
dates and counts are never cut. `--wide` (a global option) shows every column in full, and so
does output that is not a terminal unless $COLUMNS asks for a width. Widths are display widths
(a CJK character takes two cells, a combining mark none). Machine formats never pass here.

The rules of each column are one table, COLUMNS below; docs/views.md lists them."""

from __future__ import annotations

import re
import unicodedata

from dealcli import env as environment

GAP = 2  # tabulate "simple" puts two spaces between columns
HEAD_PAD = 2  # ... and makes a column at least its header + 2 wide
HARD_MIN = 4  # a text column is never cut below this (3 characters and …)
TEXT_MIN = 8  # the least a text column this table does not know is cut to before columns drop
FIXED = 0  # "min width" of a column that is never cut
LONG = 12  # text columns whose least width is this or more (titles, subjects) are cut before the rest

# One fact per column name: (drop rank, least width). The lowest rank is dropped first; rank 9
# columns are what a view is about and go only when nothing else is left to drop. A least width
# of FIXED means the column is never cut (ids, money, dates, counts); a text column is cut to its
# least width before any column is dropped, and further only when dropping is not enough.
COLUMNS: dict[str, tuple[int, int]] = {
    # identity, money, dates, counts: never cut
    "id": (9, FIXED), "#": (9, FIXED), "amount": (8, FIXED), "sum": (8, FIXED), "weighted": (6, FIXED),
    "total": (8, FIXED), "price": (7, FIXED), "due": (8, FIXED), "at": (8, FIXED), "date": (9, FIXED),
    "close_date": (3, FIXED), "created": (1, FIXED), "modified": (0, FIXED), "valid_until": (5, FIXED),
    "occurrence": (7, FIXED), "next": (8, FIXED), "deals": (8, FIXED), "count": (8, FIXED),
    "overdue": (6, FIXED), "n": (5, FIXED), "qty": (4, FIXED), "discount": (3, FIXED), "tax": (3, FIXED),
    "discount%": (3, FIXED), "tax%": (3, FIXED), "currency": (7, FIXED), "probability": (2, FIXED),
    "deal": (6, FIXED), "template": (5, FIXED), "generator": (5, FIXED), "client": (2, FIXED),
    "company_id": (1, FIXED), "contact_id": (1, FIXED), "auc": (8, FIXED), "precision_at_k": (7, FIXED),
    "recall_at_k": (7, FIXED), "k": (6, FIXED), "won": (7, FIXED), "lost": (7, FIXED), "open": (7, FIXED),
    "win_rate": (7, FIXED), "score": (8, FIXED), "unit": (3, FIXED), "state": (6, FIXED),
    "status": (3, FIXED), "kind": (6, FIXED),
    # text: cut to the least width first, dropped by rank
    "title": (9, 16), "name": (9, 12), "subject": (9, 16), "detail": (9, 16), "activity": (8, 14),
    "text": (8, 16), "stage": (7, 10), "company_name": (5, 12), "company": (5, 10), "contacts": (2, 12),
    "contact_name": (3, 10),
    "responsible": (2, 10), "by": (2, 8), "email": (4, 12), "phone": (3, 10), "type": (1, 6),
    "source": (0, 6), "lost_reason": (0, 8), "origin_id": (0, 8), "created_by": (0, 8),
    "pipeline": (4, 8), "stages": (2, 12), "result": (6, 10), "client_name": (6, 10), "period": (5, 8),
    "method": (9, 8), "every": (4, 8), "role": (4, 6), "dept": (3, 6), "user": (9, 10),
    "tags": (1, 8), "comment": (1, 10), "website": (1, 10), "address": (0, 10), "color": (0, 7),
    "semantics": (2, 7), "rotting_days": (0, FIXED), "from": (4, 10), "to": (4, 10),
    "field": (9, 10), "value": (9, 16), "emails": (4, 12), "phones": (3, 10), "sku": (2, 8),
    "schedule": (5, 10), "start": (4, FIXED), "done": (4, FIXED), "tax_rate": (3, FIXED),
    "tax_included": (1, FIXED), "default": (3, FIXED), "fields": (2, FIXED), "remind_at": (3, FIXED),
}
UNKNOWN = (4, TEXT_MIN)  # a column not in the table (a custom field, a report's own column)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_wide = False


def configure(wide: bool) -> None:
    """The global `--wide`: every table at full width for this run."""
    global _wide
    _wide = wide


def terminal_width() -> int | None:
    """THE width source of every view: $COLUMNS when set (also for a pipe: `COLUMNS=60 dealcli
    agenda | less` fits 60), else the terminal's, else None (a pipe or a file without $COLUMNS
    gets every column in full, as scripts expect). Asks the injected environment (env.current())
    for the variables, the stream and its size."""
    env = environment.current()
    columns = env.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(20, int(columns))
    if not env.stdout_isatty:
        return None
    return max(20, env.width())


def table_width() -> int | None:
    """The width tables are fitted to: None with --wide or when not fitting."""
    return None if _wide else terminal_width()


def layout_width(default: int = 80) -> int:
    """The width of a laid-out view (board grid, calendar, report bars): the terminal's, else 80."""
    return terminal_width() or default


def width_of(text: str) -> int:
    """Display width on a terminal: colour codes take none, East Asian wide and full-width
    characters two cells, combining marks none."""
    total = 0
    for ch in _ANSI.sub("", text):
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def _cut_plain(text: str, width: int) -> str:
    if width_of(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut with … when longer; a coloured cell keeps its colour."""
    from dealcli.views import render

    if width_of(text) <= width:
        return text
    m = re.fullmatch(r"(\x1b\[[0-9;]*m)(.*)(\x1b\[0m)", text, flags=re.S)
    if m and not _ANSI.search(m.group(2)):
        return render.Styled(m.group(1) + _cut_plain(m.group(2), width) + m.group(3))
    plain = _cut_plain(_ANSI.sub("", text), width)
    return render.Styled(plain) if isinstance(text, render.Styled) else plain


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` filled with spaces to `width` display cells (str.ljust/rjust count characters)."""
    fill = " " * max(0, width - width_of(text))
    return fill + text if right else text + fill


def rule(column: str) -> tuple[int, int]:
    """A column's (drop rank, least width); `total EUR` is a `total`."""
    return COLUMNS.get(column) or COLUMNS.get(column.split(" ", 1)[0], UNKNOWN)


def fit(rows: list[dict], columns: list[str], width: int | None) -> tuple[list[dict], list[str], list[str]]:
    """(rows with cells cut to fit, the columns kept, the columns dropped). Cells become text
    (printable; a Styled cell keeps its colour). Every line of the table tabulate makes of them is
    at most `width` cells, unless the first column alone is wider."""
    from dealcli.i18n import header  # a column is as wide as its heading in the language in use
    from dealcli.views import render

    if width is None or not rows:
        return rows, columns, []
    text_rows = [{c: render.shown(r.get(c)) for c in columns} for r in rows]
    head = {c: width_of(header(c)) + HEAD_PAD for c in columns}  # headings in the language in use
    natural = {c: max([head[c]] + [width_of(r[c]) for r in text_rows]) for c in columns}
    widths = dict(natural)

    def floor(c: str, least: int) -> int:
        return max(head[c], min(natural[c], least))

    def total(cols: list[str]) -> int:
        return sum(widths[c] for c in cols) + GAP * (len(cols) - 1)

    cols = list(columns)
    flexible = [c for c in cols if rule(c)[1] != FIXED]
    long_text = [c for c in flexible if rule(c)[1] >= LONG]

    def level(among: list[str], least: int | None) -> None:
        """Cut the widest of `among` (none below its floor: its least width, or `least`) evenly,
        to the highest level at which the kept columns fit."""
        floors = {c: floor(c, rule(c)[1] if least is None else least) for c in among if c in cols}
        lo, hi = 0, max([natural[c] for c in floors] or [0])
        while lo < hi:
            mid = (lo + hi + 1) // 2
            for c in floors:
                widths[c] = max(floors[c], min(natural[c], mid))
            lo, hi = (mid, hi) if total(cols) <= width else (lo, mid - 1)
        for c in floors:
            widths[c] = max(floors[c], min(natural[c], lo))

    def allot() -> None:
        """The widths of the kept columns: the long texts (titles, subjects) are cut first, to
        their least width, then every text column to its least, then below it."""
        widths.update(natural)
        for among, least in ((long_text, None), (flexible, None), (flexible, HARD_MIN)):
            if total(cols) <= width:
                return
            level(among, least)

    allot()
    dropped: list[str] = []

    def at_least() -> int:  # the kept columns with every text at its least width
        return sum(floor(k, rule(k)[1]) if k in flexible else natural[k] for k in cols) + GAP * (len(cols) - 1)

    for c in sorted(cols[1:], key=lambda c: (rule(c)[0], -cols.index(c))):  # low ranks go, lowest first
        if rule(c)[0] >= 9 or at_least() <= width:
            break
        cols.remove(c)
        dropped.append(c)
    allot()
    while total(cols) > width and len(cols) > 1:  # still too wide: the last columns go
        dropped.append(cols.pop())
        allot()
    dropped = [c for c in columns if c in dropped]  # in the table's order
    out = [{c: cut(r[c], widths[c]) if c in flexible else r[c] for c in cols} for r in text_rows]
    return out, cols, dropped


def lines(text: str, width: int | None = None) -> str:
    """A text view (a card: field lines, rules, comments) with every line longer than the table
    width cut with …; as it is with --wide or off a terminal."""
    width = width or table_width()
    if width is None:
        return text
    return "\n".join(cut(line, width) for line in text.split("\n"))
