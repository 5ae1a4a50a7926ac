"""Is a record fit to be shown? The one check every whole-repository scan applies to each record
it reads (Repository.records), so a hand edit that breaks a record (`amount: nine hundred`,
`amount: 1e400`, `stage: {a: 1}`, a null key, a `!!set`) is named on stderr (file:line) and
skipped, instead of being printed as is, silently not matching, or crashing the view.

Two checks: plain data (text keys; values that JSON and the model know: text, whole numbers,
finite decimals, true/false, null, lists, mappings), then the kind's JSON Schema (the fast
compiled check first; jsonschema only for the message of a record that fails it)."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from dealcli.validation import schemas

_PLAIN = (str, bool, int, Decimal, type(None), dt.date)


def plain_problem(value) -> tuple[tuple, str] | None:
    """(path, "field: message") of the first value that is not plain data, or None."""
    found = _plain(value, ())
    if found and found[0]:
        return found[0], ".".join(str(p) for p in found[0]) + ": " + found[1]
    return found


def _plain(value, path: tuple) -> tuple[tuple, str] | None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return path, f"a key must be text, not {_what(k)}"
            found = _plain(v, path + (k,))
            if found:
                return found
        return None
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _plain(v, path + (i,))
            if found:
                return found
        return None
    if isinstance(value, Decimal):
        return None if value.is_finite() else (path, f"{value} is not a finite number")
    if isinstance(value, _PLAIN):
        return None
    return path, f"{_what(value)} is not a value dealcli stores (text, number, true/false, list or mapping)"


def _what(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value) if value == value else "nan"
    if isinstance(value, (set, frozenset)):
        return "a set (!!set)"
    if isinstance(value, bytes):
        return "binary data (!!binary)"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return f"a {type(value).__name__}"


@functools.lru_cache(maxsize=None)
def _fast(schema_name: str):
    from dealcli.validation.fastschema import compile_schema

    return compile_schema(schemas.load(schema_name))


def problem(kind: str, data) -> tuple[tuple, str] | None:
    """(path inside the record, message) of the first reason the record is unfit, or None."""
    found = plain_problem(data)
    if found:
        return found
    if isinstance(data, dict) and "format" in data:  # a newer format is refused, never guessed at
        from dealcli.errors import FieldError
        from dealcli.storage.convert import check_format

        try:
            check_format(data, ())
        except FieldError as exc:
            return exc.path, str(exc)
    name = schemas.SCHEMA_OF_KIND.get(kind)
    if name is None:
        return None
    fast = _fast(name)
    if fast is not None and fast(data):
        return None
    errors = sorted(schemas.validator(name).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    err = errors[0]
    path = tuple(err.absolute_path)
    field = ".".join(str(p) for p in path) or "(top level)"
    from dealcli.rules import worded

    return path, f"{field}: {worded(err)}"
