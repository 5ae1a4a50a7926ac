"""The one converter between a record's plain data (what its YAML file holds) and its typed model.

Every record kind is a dataclass that inherits `Model` (dealcli/model.py has them all, and a
registry by folder name). Conversion is driven by the field types, so a model declares what it
holds and nothing converts by hand:

    text (str / str | None), Decimal, bool, int, dt.date, dt.datetime, list[str], dict,
    list[dict], list[<Model>], <Model> | None

`spec(...)` adds what a type cannot say: a default, a choice list, bounds, required keys of
list items, a field kept inside a mapping of the file (`group="schedule"`), or a reader/writer of
its own for the rare field whose file form is not one of those types.

Loading checks types and raises FieldError with the path of the bad value (the caller names
the file and line); keys the model does not know are kept in `extra` and written back after the
known ones, so hand edits survive. Dumping writes `format` first, then the known keys in the
order of `KEYS` (default: field order), then `extra`: files diff well and stay byte-stable.
A model may define `checked(self, path)` for rules between fields; it runs after loading."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from dealcli import FORMAT_VERSION, money, timeutil
from dealcli.errors import FieldError

_MISSING = dataclasses.MISSING


def spec(default=_MISSING, *, factory=_MISSING, key: str | None = None, group: str | None = None,
         choices: tuple | None = None, min=None, max=None, required: bool | None = None,
         item_keys: tuple = (), read=None, write=None, blank_is_default: bool | None = None):
    """A model field with conversion details (all optional):
    key: its name in the file (default: the field name); group: the mapping it sits in;
    choices / min / max: allowed values; required: must be present and not empty (default: the
    field has no default); item_keys: keys each mapping of a list[dict] must have;
    read(data, key, path, default) / write(value): a reader or writer of its own;
    blank_is_default: an empty text means the default (default: yes when the default is text)."""
    meta = {"key": key, "group": group, "choices": choices, "min": min, "max": max, "required": required,
            "item_keys": item_keys, "read": read, "write": write, "blank_is_default": blank_is_default}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Model:
    """Base of every record model: `from_dict` / `to_dict` are the converter."""

    KEYS: tuple = ()  # the order of known keys when written (default: field order)
    VERSIONED = True  # a record file (with `format`), not a part of one (a product row, a stage)

    @classmethod
    def from_dict(cls, data: dict, path: tuple = ()):
        return load(cls, data, path)

    def to_dict(self) -> dict:
        return dump(self)


# -- readers: each raises FieldError naming the path -------------------------------------------------
def read_text(data: dict, key: str, path: tuple, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise FieldError(path + (key,), "is required")
        return None if value is None else ""
    if isinstance(value, bool):
        raise FieldError(path + (key,), f"expected text, got {str(value).lower()} (quote it)")
    if isinstance(value, (int, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise FieldError(path + (key,), f"expected text, got {type(value).__name__}")
    return value


def read_money(data: dict, key: str, path: tuple, default=None) -> Decimal | None:
    value = data.get(key, default)
    if value is None:
        return None
    try:
        return money.to_decimal(value, key)
    except money.MoneyError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_bool(data: dict, key: str, path: tuple, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(path + (key,), f"expected true or false, got {value!r}")
    return value


def read_int(data: dict, key: str, path: tuple, default=None, minimum=None, maximum=None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(path + (key,), f"expected a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise FieldError(path + (key,), f"{value} is less than {minimum}")
    if maximum is not None and value > maximum:
        raise FieldError(path + (key,), f"{value} is more than {maximum}")
    return value


def read_texts(data: dict, key: str, path: tuple) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), "expected a list")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise FieldError(path + (key, i), "expected text")
        out.append(str(item))
    return out


def read_datetime(data: dict, key: str, path: tuple) -> dt.datetime | None:
    try:
        return timeutil.to_datetime(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_date(data: dict, key: str, path: tuple) -> dt.date | None:
    try:
        return timeutil.to_date(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_mapping(data: dict, key: str, path: tuple) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(path + (key,), "expected a mapping")
    return dict(value)


def read_records(data: dict, key: str, path: tuple, required: tuple = ()) -> list[dict]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), "expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise FieldError(path + (key, i), "expected a mapping")
        for r in required:
            if item.get(r) in (None, ""):
                raise FieldError(path + (key, i, r), "is required")
    return [dict(v) for v in value]


def check_format(data: dict, path: tuple) -> int:
    version = data.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise FieldError(path + ("format",), f"expected a format version number, got {version!r}")
    if version > FORMAT_VERSION:
        raise FieldError(path + ("format",), f"format {version} is newer than this dealcli "
                         f"understands ({FORMAT_VERSION}); upgrade dealcli")
    return version


# -- the plan of a model: computed once per class ----------------------------------------------------
class _Field:
    __slots__ = ("name", "key", "group", "kind", "inner", "default", "factory", "meta", "required")

    def __init__(self, f: dataclasses.Field, hint):
        self.name, self.meta = f.name, dict(f.metadata)
        self.key = self.meta.get("key") or f.name
        self.group = self.meta.get("group")
        self.default, self.factory = f.default, f.default_factory
        required = self.meta.get("required")
        self.required = (f.default is _MISSING and f.default_factory is _MISSING) if required is None else required
        self.kind, self.inner = _kind_of(hint)

    def fresh_default(self):
        if self.factory is not _MISSING:
            return self.factory()
        return None if self.default is _MISSING else self.default


def _kind_of(hint) -> tuple[str, object]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
        hint, origin = args[0], typing.get_origin(args[0])
    if origin is list:
        (item,) = typing.get_args(hint) or (object,)
        if item is str:
            return "texts", None
        if isinstance(item, type) and issubclass(item, Model):
            return "models", item
        return "records", None
    if origin is dict or hint is dict:
        return "mapping", None
    if isinstance(hint, type) and issubclass(hint, Model):
        return "model", hint
    for kind, t in (("bool", bool), ("int", int), ("decimal", Decimal), ("datetime", dt.datetime),
                    ("date", dt.date), ("text", str)):
        if hint is t:
            return kind, None
    return "any", None


_PLANS: dict[type, tuple] = {}


def plan(cls) -> tuple[list[_Field], tuple]:
    """The fields of a model (without `format` and `extra`) and every key of the file it knows."""
    found = _PLANS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        fields = [_Field(f, hints[f.name]) for f in dataclasses.fields(cls) if f.name not in ("format", "extra")]
        known = tuple(dict.fromkeys(["format", *(f.group or f.key for f in fields)]))
        found = _PLANS[cls] = (fields, known)
    return found


# -- load ------------------------------------------------------------------------------------------
def load(cls, data: dict, path: tuple = ()):
    """The model `cls` of the plain mapping `data`; FieldError(path, message) when a value is
    of the wrong type or out of bounds."""
    fields, known = plan(cls)
    values: dict = {}
    names = {f.name for f in dataclasses.fields(cls)}
    if cls.VERSIONED:
        version = check_format(data, path)
        if "format" in names:
            values["format"] = version
    groups: dict[str, dict] = {}
    for f in fields:
        source, where = data, path
        if f.group:
            if f.group not in groups:
                groups[f.group] = read_mapping(data, f.group, path)
                if not groups[f.group] and any(g.required for g in fields if g.group == f.group):
                    raise FieldError(path + (f.group,), "is required")
            source, where = groups[f.group], path + (f.group,)
        values[f.name] = _read(f, source, where)
    if "extra" in names:
        values["extra"] = {k: v for k, v in data.items() if k not in known}
    obj = cls(**values)
    checked = getattr(obj, "checked", None)
    if checked is not None:
        checked(path)
    return obj


def _read(f: _Field, data: dict, path: tuple):
    m, key = f.meta, f.key
    default = f.fresh_default()
    if m.get("read"):
        return m["read"](data, key, path, default)
    kind = f.kind
    if kind == "text":
        value = read_text(data, key, path, required=f.required)
        blank_default = m.get("blank_is_default")
        if blank_default is None:
            blank_default = isinstance(default, str)
        if not value and blank_default and default is not None:
            value = default
    elif kind == "decimal":
        value = read_money(data, key, path, default)
    elif kind == "bool":
        value = read_bool(data, key, path, bool(default))
    elif kind == "int":
        value = read_int(data, key, path, default, m.get("min"), m.get("max"))
    elif kind == "texts":
        value = read_texts(data, key, path)
    elif kind == "datetime":
        value = read_datetime(data, key, path)
    elif kind == "date":
        value = read_date(data, key, path)
    elif kind == "mapping":
        value = read_mapping(data, key, path)
    elif kind == "records":
        value = read_records(data, key, path, m.get("item_keys") or ())
    elif kind == "models":
        value = [load(f.inner, row, path + (key, i)) for i, row in enumerate(read_records(data, key, path))]
    elif kind == "model":
        raw = data.get(key)
        if raw is None:
            value = default
        elif not isinstance(raw, dict):
            raise FieldError(path + (key,), "expected a mapping")
        else:
            value = load(f.inner, raw, path + (key,))
    else:
        value = data.get(key, default)
    if value is None and f.required:
        raise FieldError(path + (key,), "is required")
    choices = m.get("choices")
    if choices and value is not None and value not in choices:
        raise FieldError(path + (key,), f"{value!r} is not one of {', '.join(choices)}")
    if kind == "decimal" and value is not None:
        for bound, bad, word in ((m.get("min"), lambda b: value < b, "less"), (m.get("max"), lambda b: value > b, "more")):
            if bound is not None and bad(bound):
                raise FieldError(path + (key,), f"{value} is {word} than {bound}")
    return value


# -- dump ------------------------------------------------------------------------------------------
def dump(obj) -> dict:
    """The plain mapping of a model, in a fixed key order, unknown keys last."""
    cls = type(obj)
    fields, _ = plan(cls)
    parts: dict[str, object] = {}
    for f in fields:
        value = _write(f, getattr(obj, f.name))
        if f.group:
            parts.setdefault(f.group, {})[f.key] = value
        else:
            parts[f.key] = value
    order = cls.KEYS or tuple(parts)
    out: dict = {"format": FORMAT_VERSION} if cls.VERSIONED else {}
    for key in order:
        if key in parts:
            out[key] = parts[key]
    for key, value in parts.items():
        out.setdefault(key, value)
    out.update(getattr(obj, "extra", None) or {})
    return out


def _write(f: _Field, value):
    if f.meta.get("write"):
        return f.meta["write"](value)
    kind = f.kind
    if kind in ("datetime", "date"):
        return timeutil.iso(value)
    if kind == "models":
        return [dump(v) for v in value]
    if kind == "model":
        return None if value is None else dump(value)
    if kind == "records":
        return [dict(v) for v in value]
    if kind == "mapping":
        return dict(value) if value is not None else value
    if kind == "texts":
        return list(value)
    return value
