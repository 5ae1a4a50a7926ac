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


def delete_one(ctx, which: str, ref: str, unlink: bool = False, yes: bool = False) -> None:
    """`<kind> delete ID [--unlink] [--yes]`: prints the deleted id."""
    from dealcli import lifecycle
    from dealcli.commands.options import confirm_delete, print_ids, session

    s = session(ctx)
    confirm_delete(s, yes, f"{which} delete", which, [ref], lifecycle.KIND[which], legacy=True)
    print_ids([lifecycle.delete(s, which, ref, unlink)])


def edit_one(ctx, which: str, ref: str, sets: list[str] | None, unsets: list[str] | None) -> None:
    """`product|lead|quote edit ID --set FIELD=VALUE --unset FIELD`: prints the id."""
    from dealcli import lifecycle
    from dealcli.commands.options import print_ids, session

    print_ids([lifecycle.edit(session(ctx), which, ref, list(sets or []), list(unsets or []))["id"]])
