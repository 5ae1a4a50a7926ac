"""What `filter` and `export` show: the rows and columns of a selection, the table decoration
(stage names in their colour, aligned money) and the flat CSV layout of a full export.
filter_listing() and export_build() read the repository into a Listing / an Export;
formatted() and export_formatted() render only those, never the Session or the disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dealcli import money, query

from dealcli.views import render
from dealcli.model import DEAL_KEYS
from dealcli import i18n

TABLE_COLUMNS = ("id", "title", "stage", "status", "amount", "currency", "responsible", "close_date")
LIST_COLUMNS = ("id", "title", "pipeline", "stage", "status", "amount", "currency", "company", "contacts",
                "type", "source", "responsible", "created_by", "created", "modified", "begin", "close_date",
                "closed_at", "probability", "repeat", "lost_reason", "origin_id")
NESTED = ("products", "comments", "history")
MONEY_COLUMNS = ("amount", "products.price")


@dataclass
class Listing:
    """The view data of `filter`: the rows (plain values of the columns; with ids only the id),
    the columns, the matching records (as the query kept them) and, for the table, the label of
    each row's stage (its name and colour; None for a row without a stage)."""

    rows: list[dict]
    columns: list[str]
    records: list[dict] = field(default_factory=list)
    stages: list[tuple[str, str | None] | None] = field(default_factory=list)


def parse_columns(text: str | None) -> list[str] | None:
    if not text:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    for c in cols:
        if not query.FIELD_NAME.match(c):
            from dealcli.errors import UsageError

            raise UsageError.about("columns", "{0} {text!r}: {c!r} is not a field name", text=text, c=c)
    return cols or None


def stage_names(s) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(pipeline, stage) -> (stage name, colour), for display."""
    out = {}
    for p in s.all_pipelines([]).values():
        for st in p.stages:
            out[(p.id, st.id)] = (st.name, st.color)
    return out


def stage_labels(s, rows: list[dict], pipelines: list) -> list[tuple[str, str | None] | None]:
    """The (name, colour) of each row's stage in its pipeline (the id itself, uncoloured, for a
    stage the pipeline does not have); None where the row has no stage."""
    names = stage_names(s)
    return [None if row.get("stage") is None else names.get((pipeline, row["stage"]), (str(row["stage"]), None))
            for row, pipeline in zip(rows, pipelines, strict=True)]


def _is_num(v) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def filter_listing(s, exprs, presets, sort, limit, columns_text, fmt: str) -> Listing:
    """`dealcli filter`: the matching deals as rows of the chosen (or default) columns."""
    cols = parse_columns(columns_text) or list(TABLE_COLUMNS if fmt == "table" else LIST_COLUMNS)
    records, q = query.select(s, exprs, presets, sort, limit, fields=cols)
    getters = {c: query.getter(c, q.ctx) for c in cols}
    rows = []
    for r in records if fmt != "ids" else ():  # ids: only the id of each record is printed
        row = {c: _plain(get(r), c) for c, get in getters.items()}
        rows.append(row)
    if not records and fmt == "table":
        s.notice(i18n._("no deal matches"))
    listing = Listing(rows, cols, records=records)
    if fmt == "table":
        listing.stages = stage_labels(s, rows, [r.get("pipeline") for r in records])
    if fmt == "ids":
        listing.rows = [{"id": r.get("id")} for r in records]
    return listing


# -- rendering: only the Listing ------------------------------------------------------------------
def formatted(listing: Listing, fmt: str, width: int | None = render.FIT) -> tuple[str, list[str]]:
    """(the text of `listing` in `fmt`, the columns left out). The table shows each stage's name
    in its colour and money with 2+ places (aligned right); its long cells are cut and
    low-priority columns left out to fit `width` (by default the terminal's; views/fit.py)."""
    rows, cols, hidden = listing.rows, listing.columns, list[str]()
    if fmt == "table":
        from dealcli.views import fit

        rows = decorated(listing)
        rows, cols, hidden = fit.fit(rows, cols, fit.table_width() if width == render.FIT else width)
    return render.format_rows(rows, fmt, cols, right=MONEY_COLUMNS, width=None), hidden  # fitted already


def decorated(listing: Listing) -> list[dict]:
    """The table's rows: the stage's name in its colour, money with 2+ places (the columns in
    MONEY_COLUMNS are aligned right by render)."""
    out = []
    for row, label in zip(listing.rows, listing.stages or [None] * len(listing.rows), strict=True):
        row = dict(row)
        if label is not None:
            row["stage"] = render.paint(*label)
        for c in MONEY_COLUMNS:
            if _is_num(row.get(c)):
                row[c] = i18n.number(money.fmt(row[c], row.get("currency")))
        out.append(row)
    return out


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


@dataclass
class Export:
    """The view data of `export`: the selected deals as stored (with users: those the export
    level lets out)."""

    records: list[dict]


def export_build(s, exprs, presets, sort) -> Export:
    from dealcli import access

    with access.purpose(s, "export"):  # with users: the deals the export level lets out
        records, _ = query.select(s, exprs, presets, sort)
    return Export(records)


def export_formatted(export: Export, fmt: str) -> str:
    """`dealcli export`: every field of every selected deal. json/jsonl/yaml nested (the JSONL
    line is render.json_text of the stored record, money canonical), csv/tsv flat with the formula guard."""
    records = export.records
    if fmt in ("csv", "tsv"):
        rows, cols = export_flat(records)
        return render.format_rows(rows, fmt, cols)
    if fmt == "ids":
        return render.format_rows(records, "ids")
    return render.format_rows([exact_money(r) for r in records], fmt)


def export_text(s, exprs, presets, sort, fmt: str) -> str:
    """export_build, then export_formatted."""
    return export_formatted(export_build(s, exprs, presets, sort), fmt)


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
