"""The only formatter: table, json, jsonl, csv, tsv, yaml, ids. Data goes to stdout; when the
reader closes the pipe early (`| head`) we stop quietly."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
from decimal import Decimal

from dealcli import env as environment

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "yaml", "ids")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_json_str = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept as is


def color_enabled(stream=None) -> bool:
    env = environment.current()
    stream = stream or env.stdout
    # no-color.org: NO_COLOR present *and not empty* turns colour off; NO_COLOR= leaves it on
    return env.is_tty(stream) and not env.environ.get("NO_COLOR") and env.environ.get("TERM") != "dumb"


def paint(text: str, hex_color: str | None, bold: bool = False) -> str:
    """Colour for a terminal, readable on light and dark backgrounds (the terminal's base colours;
    256 or 24-bit when DEALCLI_COLOR asks; views/colors.py); plain text elsewhere. The text is made printable
    first, so the result (a Styled) is safe to show and printable() leaves it alone."""
    text = printable(str(text))
    if not hex_color or not color_enabled():
        return Styled(text)
    from dealcli.views import colors

    start = colors.sgr(hex_color, bold)
    return Styled(f"{start}{text}\x1b[0m") if start else Styled(text)


def jsonable(value):
    """Plain data for a JSON or YAML writer: Decimal stays Decimal (json_text writes it as an
    exact JSON number), dates become ISO 8601 text, tuples lists, keys text."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def decimal_json(value: Decimal) -> str:
    """A Decimal as a JSON number with its exact text (`360.00`, `-0.5`, `1000`): never through
    a binary float, never exponent notation."""
    if not value.is_finite():
        return _json_str(str(value))  # cannot happen for checked money; JSON has no NaN
    text = format(value, "f")
    if text.startswith("."):
        text = "0" + text
    elif text.startswith("-."):
        text = "-0" + text[1:]
    return text


def json_text(value, indent: int | None = None) -> str:
    """THE JSON writer of every command: like json.dumps(ensure_ascii=False), but money and other
    Decimals are written as JSON numbers with their exact decimal text (`"amount": 360.00`).
    Read them back exactly with `json.loads(text, parse_float=decimal.Decimal)`."""
    out: list[str] = []
    _encode(value, out, indent, 0)
    return "".join(out)


def _encode(v, out: list, indent, level: int) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        out.append(_json_str(v))
    elif isinstance(v, Decimal):
        out.append(decimal_json(v))
    elif isinstance(v, int):
        out.append(int.__repr__(v))
    elif isinstance(v, float):
        out.append(float.__repr__(v) if math.isfinite(v) else _json_str(str(v)))
    elif isinstance(v, (dt.datetime, dt.date)):
        out.append(_json_str(v.isoformat()))
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        sep, pad, end = _layout(indent, level)
        out.append("{")
        first = True
        for k, item in v.items():
            out.append(pad if first else sep)
            first = False
            out.append(_json_str(k if isinstance(k, str) else str(jsonable(k)) if k is not None else "null"))
            out.append(": " if indent is not None else ":")
            _encode(item, out, indent, level + 1)
        out.append(end + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        sep, pad, end = _layout(indent, level)
        out.append("[")
        for i, item in enumerate(v):
            out.append(pad if i == 0 else sep)
            _encode(item, out, indent, level + 1)
        out.append(end + "]")
    else:
        out.append(_json_str(str(v)))


def _layout(indent, level: int) -> tuple[str, str, str]:
    if indent is None:
        return ",", "", ""
    inner = "\n" + " " * (indent * (level + 1))
    return "," + inner, inner, "\n" + " " * (indent * level)


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# every C0 and C1 control (but not \n in multi-line text views), DEL, and the Unicode format
# characters that reorder or hide text on a terminal: bidi embeddings/overrides/isolates,
# zero-width joiners, the line/paragraph separators, BOM
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_UNSAFE_NO_NL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


class Styled(str):
    """Text made safe and decorated by this module (a colour): printable() leaves it as is."""


def _escape_char(m) -> str:
    c = m.group()
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(value, keep_newlines: bool = False):
    """THE terminal guard of every table and text view: control characters that came from data
    (ESC sequences, lone CR, BEL, bidi overrides such as U+202E, other C0/C1 controls) are shown
    escaped (`\\x1b`, `\\u202e`) instead of being replayed by the terminal. Strings inside lists
    and mappings too. json/jsonl/csv/tsv/yaml never go through it: they keep data exact."""
    if isinstance(value, Styled):
        return value
    if isinstance(value, str):
        rx = _UNSAFE_NO_NL if keep_newlines else _UNSAFE
        return rx.sub(_escape_char, value) if rx.search(value) else value
    if isinstance(value, dict):
        return {k: printable(v, keep_newlines) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v, keep_newlines) for v in value]
    return value


def cell(value) -> str:
    """One value as flat text for table/csv/tsv: lists joined with '; ', mappings as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_json(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "; ".join(cell(v) for v in value)
        return json_text(value)
    if isinstance(value, dict):
        return json_text(value)
    return str(value)


_GUARD = re.compile(r"^'*[=+\-@\t\r]")  # a formula start, after any apostrophes of the text itself
_GUARDED = re.compile(r"^'(?='*[=+\-@\t\r])")  # the one apostrophe guard_formula added


def guard_formula(text: str) -> str:
    """OWASP CSV-injection guard: a cell a spreadsheet would run as a formula (beginning with =,
    +, -, @, a tab or a carriage return) gets a leading apostrophe. A plain decimal number
    (`-100.00`) is a value, not a formula, and stays as it is. The guard escapes its own escape:
    a text that already starts with apostrophes before a formula character (`'=x`) gets one
    more (`''=x`, which a spreadsheet shows as `'=x`), so unguard_formula gives back every text
    exactly."""
    if _GUARD.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def unguard_formula(text: str) -> str:
    """The text guard_formula was given: one leading apostrophe before apostrophes and a formula
    character is removed (`'=x` -> `=x`, `''=x` -> `'=x`); every other text is as it was."""
    return _GUARDED.sub("", text, count=1)


def tsv_escape(text: str) -> str:
    """A TSV cell (IANA text/tab-separated-values, as Miller and PostgreSQL write it): no
    quoting; backslash, tab, line feed and carriage return as `\\\\`, `\\t`, `\\n`, `\\r`."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write(text: str, stream=None) -> None:
    stream = stream or environment.current().stdout
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        from dealcli.errors import PipeClosed

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        raise PipeClosed("") from None


def columns_of(rows: list[dict], columns: list[str] | None) -> list[str]:
    if columns:
        return columns
    out: list[str] = []
    for row in rows:
        for key in row:
            if key not in out:
                out.append(key)
    return out


FIT = -1  # format_rows(width=FIT): the table fits the terminal (views/fit.py)


def format_rows(rows: list[dict], fmt: str, columns: list[str] | None = None,
                table_cells=None, right: tuple = (), width: int | None = FIT) -> str:
    """Render records. `columns` picks and orders fields (table/csv/tsv; json too when given).
    `table_cells(column, value, row)` may decorate table cells (colours, aligned money);
    `right` names the table columns aligned right (money). The table fits `width` (by default
    the terminal's, None: every column in full) by views/fit.py's rules."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    if fmt == "ids":  # the id of each row, whichever columns were asked for
        return "".join(f"{row.get('id')}\n" for row in rows)
    if columns:
        rows = [{c: row.get(c) for c in columns} for row in rows]
    if fmt == "json":
        return json_text(rows, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json_text(r) + "\n" for r in rows)
    if fmt == "yaml":
        from dealcli.storage.yamlcodec import dumps

        return dumps(jsonable(rows)) if rows else "[]\n"
    cols = columns_of(rows, columns)
    if fmt in ("csv", "tsv"):
        return delimited(rows, cols, fmt)
    from tabulate import tabulate

    from dealcli.views import fit

    if not rows:
        return ""
    if table_cells:
        rows = [{c: table_cells(c, row.get(c), row) or shown(row.get(c)) for c in cols} for row in rows]
    rows, cols, _ = fit.fit(rows, cols, fit.table_width() if width == FIT else width)
    body = [[printable(shown(row.get(c))) for c in cols] for row in rows]
    align = [("right" if c in right else "left") for c in cols] if right else None
    from dealcli.i18n import header  # the heading in the language in use; csv/tsv keep the field names

    return tabulate(body, headers=[printable(header(c)) for c in cols], tablefmt="simple", disable_numparse=True,
                    colalign=align) + "\n"


def shown(value) -> str:
    """A value as a table or text view shows it: cell() made printable()."""
    return value if isinstance(value, Styled) else printable(cell(value))


def delimited(rows: list[dict], cols: list[str], fmt: str) -> str:
    """CSV (RFC 4180 quoting, LF line ends) or TSV (no quoting, backslash escapes), with a
    header row. Every cell, header included, gets the formula guard, so no command writes a
    spreadsheet formula from data."""
    if fmt == "tsv":
        lines = ["\t".join(tsv_escape(guard_formula(c)) for c in cols)]
        for row in rows:
            lines.append("\t".join(tsv_escape(guard_formula(cell(row.get(c)))) for c in cols))
        return "\n".join(lines) + "\n"
    # The writer quotes a cell holding a character of its line terminator: with "\r\n" a cell
    # holding a lone CR is quoted too (with "\n" alone it was written raw, and a reader splits
    # the record there); each record's own "\r\n" then becomes the LF of the contract.
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    out = []
    for vals in [[guard_formula(c) for c in cols]] + [[guard_formula(cell(row.get(c))) for c in cols] for row in rows]:
        buf.seek(0)
        buf.truncate()
        w.writerow(vals)
        out.append(buf.getvalue()[:-2] + "\n")
    return "".join(out)


def emit(rows: list[dict], fmt: str, columns: list[str] | None = None, **kw) -> None:
    write(format_rows(rows, fmt, columns, **kw))


def format_record(record: dict, fmt: str) -> str:
    """One record: json/yaml as the whole object, table as 'field: value' lines."""
    if fmt == "json":
        return json_text(record, indent=2) + "\n"
    if fmt == "yaml":
        from dealcli.storage.yamlcodec import dumps

        return dumps(jsonable(record))
    if fmt == "table":
        from tabulate import tabulate

        from dealcli.i18n import header  # the field's label in the language in use
        from dealcli.views import fit

        lines = [[printable(header(str(k))), shown(v)] for k, v in record.items()]
        width = fit.table_width()
        if width is not None and lines:  # the values are cut to the room the keys leave
            room = max(fit.HARD_MIN, width - max(fit.width_of(k) for k, _ in lines) - fit.GAP)
            lines = [[k, fit.cut(v, room)] for k, v in lines]
        return tabulate(lines, tablefmt="plain", disable_numparse=True) + "\n"
    return format_rows([record], fmt)


def emit_record(record: dict, fmt: str) -> None:
    write(format_record(record, fmt))
