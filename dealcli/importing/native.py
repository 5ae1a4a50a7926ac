"""Deal records exported by dealcli itself, read back.

`export -f json|jsonl|yaml` writes each record nested, as its file holds it: those rows are
taken as they are. `export -f csv|tsv` writes them flat (dealcli/views/listing.py export_flat):
every value is text, `fields` is spread into `fields.NAME` columns, `products`, `comments` and
`history` are JSON arrays, `contacts` are joined with "; ", booleans are true/false, a missing
value is an empty cell and a cell a spreadsheet would run as a formula starts with an
apostrophe. `unflatten` undoes exactly that, so that the record read back is the record
exported (the round trip is tested in tests/test_import_roundtrip.py), with two limits of the
flat shape: custom fields come back sorted by name, and a custom field holding an empty text
is not told apart from a missing one."""

from __future__ import annotations

import json
import re
from decimal import Decimal

NESTED = ("products", "comments", "history")
BOOLS = ("manual_amount", "repeat")
INTS = ("format", "probability")


def is_native(values: dict) -> bool:
    """A deal record exported by dealcli (nested or flat): it has `format`, `id` and `history`."""
    return "format" in values and "id" in values and "history" in values


def is_flat(values: dict) -> bool:
    return isinstance(values.get("history"), str)


def unguard(text: str) -> str:
    from dealcli.views.render import unguard_formula  # the inverse of the export's formula guard

    return unguard_formula(text)


def unflatten(values: dict, coerce=None) -> dict:
    """The nested record of one flat CSV/TSV row of `dealcli export`. A cell that cannot be what
    its column holds is left as text, so the record's own check names it. `coerce(pipeline,
    name, text)` types a custom field by the pipeline's card (None: custom fields stay text)."""
    out: dict = {}
    custom: dict = {}
    for column, raw in values.items():
        value = unguard(raw) if isinstance(raw, str) else raw
        if column.startswith("fields."):
            if value not in (None, ""):
                custom[column[7:]] = value
            continue
        if not isinstance(value, str):
            out[column] = value
        elif value == "":
            out[column] = [] if column in NESTED or column == "contacts" else None
        elif column in NESTED or column == "fields":
            try:
                out[column] = json.loads(value, parse_float=Decimal)
            except ValueError:
                out[column] = value
        elif column == "contacts":
            out[column] = [c for c in value.split("; ") if c]
        elif column in BOOLS:
            out[column] = {"true": True, "false": False}.get(value, value)
        elif column in INTS:
            out[column] = int(value) if re.fullmatch(r"-?\d{1,9}", value) else value
        else:
            out[column] = value
    if custom or "fields" not in out:
        fields = given if isinstance(given := out.get("fields"), dict) else {}
        if coerce is not None:
            custom = {name: coerce(out.get("pipeline"), name, text) for name, text in custom.items()}
        # a flat file cannot carry each record's own order of custom fields (the columns are in
        # first-seen order over all records): they come back sorted by name
        out["fields"] = {**fields, **dict(sorted(custom.items()))}
    return out
