"""The only formatter: table, json, jsonl, csv, tsv, yaml, ids. Data goes to stdout; when the
reader closes the pipe early (`| head`) we stop quietly."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
from decimal import Decimal

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "yaml", "ids")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def color_enabled(stream=None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def paint(text: str, hex_color: str | None, bold: bool = False) -> str:
    """Colour for a terminal, readable on light and dark backgrounds (24-bit when $COLORTERM
    says so, else xterm-256; views/colors.py); plain text elsewhere."""
    if not hex_color or not color_enabled():
        return text
    from dealcli.views import colors

    start = colors.sgr(hex_color, bold)
    return f"{start}{text}\x1b[0m" if start else text


def jsonable(value):
    """Plain JSON types: Decimal as exact text ("1234.50"), dates as ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def cell(value) -> str:
    """One value as flat text for table/csv/tsv: lists joined with '; ', mappings as JSON."""
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return "; ".join(cell(v) for v in value)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def guard_formula(text: str) -> str:
    """OWASP CSV-injection guard: a cell a spreadsheet would run as a formula gets a leading
    apostrophe."""
    return "'" + text if text.startswith(FORMULA_START) else text


def write(text: str, stream=None) -> None:
    stream = stream or sys.stdout
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


def format_rows(rows: list[dict], fmt: str, columns: list[str] | None = None,
                formula_guard: bool = False, table_cells=None, right: tuple = ()) -> str:
    """Render records. `columns` picks and orders fields (table/csv/tsv; json too when given).
    `table_cells(column, value, row)` may decorate table cells (colours, aligned money);
    `right` names the table columns aligned right (money)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    if columns:
        rows = [{c: row.get(c) for c in columns} for row in rows]
    if fmt == "ids":
        return "".join(f"{row.get('id')}\n" for row in rows)
    if fmt == "json":
        return json.dumps(jsonable(rows), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(jsonable(r), ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    if fmt == "yaml":
        from dealcli.storage.yamlcodec import dumps

        return dumps(rows) if rows else "[]\n"
    cols = columns_of(rows, columns)
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        if fmt == "csv":
            w = csv.writer(buf, lineterminator="\r\n")
        else:
            w = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(cols)
        for row in rows:
            vals = [cell(row.get(c)) for c in cols]
            if formula_guard:
                vals = [guard_formula(v) for v in vals]
            w.writerow(vals)
        return buf.getvalue()
    from tabulate import tabulate

    if not rows:
        return ""
    body = []
    for row in rows:
        line = []
        for c in cols:
            text = cell(row.get(c))
            if table_cells:
                text = table_cells(c, row.get(c), row) or text
            line.append(text)
        body.append(line)
    align = [("right" if c in right else "left") for c in cols] if right else None
    return tabulate(body, headers=cols, tablefmt="simple", disable_numparse=True, colalign=align) + "\n"


def emit(rows: list[dict], fmt: str, columns: list[str] | None = None, **kw) -> None:
    write(format_rows(rows, fmt, columns, **kw))


def format_record(record: dict, fmt: str) -> str:
    """One record: json/yaml as the whole object, table as 'field: value' lines."""
    if fmt == "json":
        return json.dumps(jsonable(record), ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        from dealcli.storage.yamlcodec import dumps

        return dumps(jsonable(record))
    if fmt == "table":
        from tabulate import tabulate

        lines = [[k, cell(v)] for k, v in record.items()]
        return tabulate(lines, tablefmt="plain", disable_numparse=True) + "\n"
    return format_rows([record], fmt)


def emit_record(record: dict, fmt: str) -> None:
    write(format_record(record, fmt))
