"""Tables that fit the terminal: long cells are cut with …, low-priority columns are dropped
when cutting is not enough (`--wide` shows everything). The width is the terminal's
(env.Environment.width: $COLUMNS first); output that is not a terminal is never fitted."""

from __future__ import annotations

import re

from dealcli import env as environment
from dealcli.views import render

GAP = 2  # tabulate "simple" puts two spaces between columns
HEAD_PAD = 2  # ... and makes a column at least its header + 2 wide
FLEX_MIN = {"title": 16, "company_name": 12, "responsible": 12, "stage": 10, "contacts": 12, "company": 10,
            "subject": 16, "name": 12}
DROP_ORDER = ("created_by", "modified", "created", "origin_id", "lost_reason", "source", "type", "contacts",
              "responsible", "status", "probability", "close_date", "currency", "company", "company_name")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terminal_width() -> int | None:
    """The width to fit ($COLUMNS, else the terminal's), or None when stdout is not a terminal
    (a pipe or a file gets every column in full, as scripts expect)."""
    env = environment.current()
    if not env.stdout_isatty:
        return None
    return max(20, env.width())


def _visible(text: str) -> str:
    return _ANSI.sub("", text)


def cut(text: str, width: int) -> str:
    plain = _visible(text)
    if len(plain) <= width:
        return text
    return plain[: max(1, width - 1)] + "…"


def fit(rows: list[dict], columns: list[str], width: int | None) -> tuple[list[dict], list[str], list[str]]:
    """(rows with cells cut to fit, the columns kept, the columns dropped). Cells become text."""
    if width is None or not rows:
        return rows, columns, []
    # a Styled cell (a stage name in its colour) stays as it is: made safe already, and its colour
    # codes are not text to escape (only its visible part is measured)
    text_rows = [{c: v if isinstance(v := r.get(c), render.Styled) else render.cell(v) for c in columns}
                 for r in rows]
    natural = {c: max([len(c) + HEAD_PAD] + [len(_visible(r[c])) for r in text_rows]) for c in columns}
    widths = dict(natural)

    def total(cols):
        return sum(widths[c] for c in cols) + GAP * (len(cols) - 1)

    cols = list(columns)
    for c in cols:  # 1. flexible columns shrink to their minimum
        if total(cols) <= width:
            break
        if c in FLEX_MIN:
            widths[c] = max(len(c) + HEAD_PAD, min(widths[c], FLEX_MIN[c]))
    dropped = []
    for c in DROP_ORDER:  # 2. low-priority columns go
        if total(cols) <= width:
            break
        if c in cols and len(cols) > 2:
            cols.remove(c)
            dropped.append(c)
    spare = width - total(cols)  # 3. the room left goes back to the flexible columns, title last
    for c in sorted((c for c in cols if c in FLEX_MIN), key=lambda c: c == "title"):
        grow = min(spare, natural[c] - widths[c])
        if grow > 0:
            widths[c] += grow
            spare -= grow
    while total(cols) > width:  # 4. still too wide (few, wide columns): cut the widest
        widest = max(cols, key=lambda c: widths[c])
        if widths[widest] <= max(4, len(widest) + HEAD_PAD):
            break
        widths[widest] -= 1
    out = [{c: cut(r[c], widths[c]) for c in cols} for r in text_rows]
    return out, cols, dropped
