"""What `filter` and `export` show: the rows and columns of a selection, the table decoration
(stage names in their colour, aligned money) and the flat CSV layout of a full export."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dealcli import money, query

from dealcli.views import render
from dealcli.model import DEAL_KEYS

TABLE_COLUMNS = ("id", "title", "stage", "status", "amount", "currency", "responsible", "close_date")
LIST_COLUMNS = ("id", "title", "pipeline", "stage", "status", "amount", "currency", "company", "contacts",
                "type", "source", "responsible", "created_by", "created", "modified", "begin", "close_date",
                "closed_at", "probability", "repeat", "lost_reason", "origin_id")
NESTED = ("products", "comments", "history")
MONEY_COLUMNS = ("amount", "products.price")


@dataclass
class Listing:
    """Rows ready for render.format_rows, with the columns and the table decoration."""

    rows: list[dict]
    columns: list[str]
    records: list[dict] = field(default_factory=list)


def parse_columns(text: str | None) -> list[str] | None:
    if not text:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    for c in cols:
        if not query.FIELD_NAME.match(c):
            from dealcli.errors import UsageError

            raise UsageError(f"--columns {text!r}: {c!r} is not a field name")
    return cols or None


def stage_names(s) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(pipeline, stage) -> (stage name, colour), for display."""
    out = {}
    for p in s.all_pipelines([]).values():
        for st in p.stages:
            out[(p.id, st.id)] = (st.name, st.color)
    return out


def decorate_table(s, rows: list[dict], pipelines: list) -> None:
    """For the table only: the stage's name in its colour, money with 2+ places (the columns in
    MONEY_COLUMNS are aligned right by render)."""
    names = stage_names(s)
    for row, pipeline in zip(rows, pipelines):
        if row.get("stage") is not None:
            name, color = names.get((pipeline, row["stage"]), (str(row["stage"]), None))
            row["stage"] = render.paint(name, color)
        for c in MONEY_COLUMNS:
            if _is_num(row.get(c)):
                row[c] = money.fmt(row[c])


def _is_num(v) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def filter_listing(s, exprs, presets, sort, limit, columns_text, fmt: str, wide: bool = True) -> Listing:
    """`dealcli filter`: the matching deals as rows of the chosen (or default) columns."""
    cols = parse_columns(columns_text) or list(TABLE_COLUMNS if fmt == "table" else LIST_COLUMNS)
    records, q = query.select(s, exprs, presets, sort, limit, fields=cols)
    getters = {c: query.getter(c, q.ctx) for c in cols}
    rows = []
    for r in records:
        row = {c: _plain(get(r), c) for c, get in getters.items()}
        rows.append(row)
    if not records and fmt == "table":
        s.notice("no deal matches")
    listing = Listing(rows, cols, records=records)
    if fmt == "table":
        decorate_table(s, rows, [r.get("pipeline") for r in records])
        if not wide:
            from dealcli.views import fit

            width = fit.terminal_width()
            listing.rows, listing.columns, dropped = fit.fit(rows, cols, width)
            if dropped:
                s.notice(f"hid {', '.join(dropped)} to fit {width} columns (--wide shows every column)")
    if fmt == "ids":
        listing.rows = [{"id": r.get("id")} for r in records]
    return listing


def _plain(value, column: str):
    """Money columns as Decimal (an exact JSON number, as `deal show` gives it) even when the
    file holds a whole number or quoted text."""
    if column in query.MONEY_FIELDS:
        if isinstance(value, list):
            return [_plain(v, column) for v in value]
        n = query.as_number(value)
        return money.canonical(Decimal(n)) if n is not None else value
    return value


# -- export ---------------------------------------------------------------------------------------
def export_columns(records: list[dict]) -> list[str]:
    """The flat CSV layout: the deal keys in file order, `fields` spread into one `fields.NAME`
    column per custom field, then any unknown top-level keys."""
    custom: list[str] = []
    extra: list[str] = []
    for r in records:
        f = r.get("fields")
        if isinstance(f, dict):
            for k in f:
                if f"fields.{k}" not in custom:
                    custom.append(f"fields.{k}")
        for k in r:
            if k not in DEAL_KEYS and k not in extra:
                extra.append(k)
    cols = []
    for k in DEAL_KEYS:
        if k == "fields":
            cols += custom
        else:
            cols.append(k)
    return cols + extra


def export_flat(records: list[dict]) -> tuple[list[dict], list[str]]:
    cols = export_columns(records)
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k != "fields"}
        f = r.get("fields")
        if isinstance(f, dict):
            for k, v in f.items():
                row[f"fields.{k}"] = v
        elif f is not None:
            row["fields"] = f
        for k in NESTED:  # always JSON arrays, even when a list holds plain values
            if isinstance(row.get(k), list):
                row[k] = render.json_text(row[k])
        rows.append(row)
    return rows, cols


def export_text(s, exprs, presets, sort, fmt: str) -> str:
    """`dealcli export`: every field of every selected deal. json/jsonl/yaml nested (the JSONL
    line is render.json_text of the stored record, money canonical), csv/tsv flat with the formula guard."""
    from dealcli import access

    with access.purpose(s, "export"):  # with users: the deals the export level lets out
        records, _ = query.select(s, exprs, presets, sort)
    if fmt in ("csv", "tsv"):
        rows, cols = export_flat(records)
        return render.format_rows(rows, fmt, cols)
    if fmt == "ids":
        return render.format_rows(records, "ids")
    return render.format_rows([exact_money(r) for r in records], fmt)


def exact_money(record: dict) -> dict:
    """The record with its money (amount, product prices) as Decimal, so JSON carries money as
    the same exact number as `deal show`, even where a hand-edited file holds a whole number."""
    out = dict(record)
    if "amount" in out:
        out["amount"] = _plain(out["amount"], "amount")
    if isinstance(out.get("products"), list):
        out["products"] = [dict(p, price=_plain(p.get("price"), "amount")) if isinstance(p, dict) and "price" in p
                           else p for p in out["products"]]
    return out
