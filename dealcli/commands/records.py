"""Output of the non-deal records (companies, contacts, products, leads, quotes, activities):
a listing shows chosen columns in a table and whole records in every other format (field
names = the YAML keys); `show` prints one record."""

from __future__ import annotations


def emit_list(rows: list[dict], fmt: str, table_columns: list[str]) -> None:
    from dealcli.views import render

    if fmt == "table":
        if not rows:
            return
        render.emit(rows, "table", table_columns)
    else:
        render.emit(rows, fmt)


def emit_one(record: dict, fmt: str) -> None:
    from dealcli.views import render

    if fmt in ("table", "json", "yaml"):
        render.emit_record(record, fmt)
    else:
        render.emit([record], fmt)
