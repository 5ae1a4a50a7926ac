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
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dealcli import FORMAT_VERSION, money, timeutil
from dealcli.errors import FieldError
from dealcli.i18n import Text

_MISSING: Any = dataclasses.MISSING
_Path = tuple[str | int, ...]  # where a value sits in a record: keys and list indexes


def spec(default: Any = _MISSING, *, factory: Any = _MISSING, key: str | None = None, group: str | None = None,
         choices: tuple[str, ...] | None = None, min: Any = None, max: Any = None, required: bool | None = None,
         item_keys: tuple[str, ...] = (), read: Callable[..., Any] | None = None,
         write: Callable[[Any], Any] | None = None, blank_is_default: bool | None = None,
         when_set: bool = False) -> Any:
    """A model field with conversion details (all optional):
    key: its name in the file (default: the field name); group: the mapping it sits in;
    choices / min / max: allowed values; required: must be present and not empty (default: the
    field has no default); item_keys: keys each mapping of a list[dict] must have;
    read(data, key, path, default) / write(value): a reader or writer of its own;
    blank_is_default: an empty text means the default (default: yes when the default is text);
    when_set: the key is written only when the value is not None (a key files hold only
    sometimes, such as `modified`, absent until a record's first edit)."""
    meta = {"key": key, "group": group, "choices": choices, "min": min, "max": max, "required": required,
            "item_keys": item_keys, "read": read, "write": write, "blank_is_default": blank_is_default,
            "when_set": when_set}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Model:
    """Base of every record model: `from_dict` / `to_dict` are the converter."""

    KEYS: tuple[str, ...] = ()  # the order of known keys when written (default: field order)
    VERSIONED = True  # a record file (with `format`), not a part of one (a product row, a stage)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: _Path = ()) -> Any:
        return load(cls, data, path)

    def to_dict(self) -> dict[str, Any]:
        return dump(self)


# -- readers: each raises FieldError naming the path -------------------------------------------------
def read_text(data: dict[str, Any], key: str, path: _Path, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise FieldError(path + (key,), Text("is required"))
        return None if value is None else ""
    if isinstance(value, bool):
        raise FieldError(path + (key,), Text("expected text, got {value_lower} (quote it)",
                                             value_lower=str(value).lower()))
    if isinstance(value, (int, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise FieldError(path + (key,), Text("expected text, got {type_value___name}",
                                             type_value___name=type(value).__name__))
    return value


def read_money(data: dict[str, Any], key: str, path: _Path, default: object = None) -> Decimal | None:
    value = data.get(key, default)
    if value is None:
        return None
    try:
        return money.to_decimal(value, key)
    except money.MoneyError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_bool(data: dict[str, Any], key: str, path: _Path, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(path + (key,), Text("expected true or false, got {value!r}", value=value))
    return value


def read_int(data: dict[str, Any], key: str, path: _Path, default: int | None = None, minimum: int | None = None,
             maximum: int | None = None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(path + (key,), Text("expected a whole number, got {value!r}", value=value))
    if minimum is not None and value < minimum:
        raise FieldError(path + (key,), Text("{value} is less than {minimum}", value=value, minimum=minimum))
    if maximum is not None and value > maximum:
        raise FieldError(path + (key,), Text("{value} is more than {maximum}", value=value, maximum=maximum))
    return value


def read_texts(data: dict[str, Any], key: str, path: _Path) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), Text("expected a list"))
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise FieldError(path + (key, i), Text("expected text"))
        out.append(str(item))
    return out


def read_datetime(data: dict[str, Any], key: str, path: _Path) -> dt.datetime | None:
    try:
        return timeutil.to_datetime(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_date(data: dict[str, Any], key: str, path: _Path) -> dt.date | None:
    try:
        return timeutil.to_date(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def read_mapping(data: dict[str, Any], key: str, path: _Path) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(path + (key,), Text("expected a mapping"))
    return dict(value)


def read_records(data: dict[str, Any], key: str, path: _Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), Text("expected a list"))
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise FieldError(path + (key, i), Text("expected a mapping"))
        for r in required:
            if item.get(r) in (None, ""):
                raise FieldError(path + (key, i, r), Text("is required"))
    return [dict(v) for v in value]


def check_format(data: dict[str, Any], path: _Path) -> int:
    version = data.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise FieldError(path + ("format",), Text("expected a format version number, got {version!r}", version=version))
    if version > FORMAT_VERSION:
        raise FieldError(path + ("format",), Text("format {version} is newer than this dealcli "
                              "understands ({format_version}); upgrade dealcli", version=version,
                                                  format_version=FORMAT_VERSION))
    return version


# -- the plan of a model: a reader and a writer per field, made once per class ------------------------
class _Field:
    __slots__ = ("name", "key", "group", "kind", "inner", "default", "factory", "meta", "required", "read", "write")
    factory: Any  # the field's default_factory, or _MISSING

    def __init__(self, f: dataclasses.Field[Any], hint: Any) -> None:
        self.name, self.meta = f.name, dict(f.metadata)
        self.key = self.meta.get("key") or f.name
        self.group = self.meta.get("group")
        self.default, self.factory = f.default, f.default_factory
        required = self.meta.get("required")
        self.required = (f.default is _MISSING and f.default_factory is _MISSING) if required is None else required
        self.kind, self.inner = _kind_of(hint)
        self.read = _reader(self)
        self.write = self.meta.get("write") or _WRITERS.get(self.kind) or _same
        if self.kind == "models":
            inner, after = self.inner, self.meta.get("write") or _same
            self.write = lambda value: after([dump(v) for v in value] if inner else value)
        elif self.kind == "model":
            self.write = lambda value: None if value is None else dump(value)

    def fresh_default(self) -> Any:
        if self.factory is not _MISSING:
            return self.factory()
        return None if self.default is _MISSING else self.default


def _kind_of(hint: Any) -> tuple[str, Any]:
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


def _reader(f: _Field) -> Callable[[dict[str, Any], _Path], Any]:
    """read(data, path) -> the field's value, checked."""
    m, key, kind, required = f.meta, f.key, f.kind, f.required
    raw: Callable[[dict[str, Any], _Path], Any]
    if m.get("read"):
        custom = m["read"]
        raw = lambda data, path: custom(data, key, path, f.fresh_default())  # noqa: E731
    elif kind == "text":
        blank_default = m.get("blank_is_default")
        default = f.fresh_default()
        if blank_default is None:
            blank_default = isinstance(default, str)
        if blank_default and default is not None:
            raw = lambda data, path: read_text(data, key, path, required) or default  # noqa: E731
        else:
            raw = lambda data, path: read_text(data, key, path, required)  # noqa: E731
    elif kind == "decimal":
        number = f.fresh_default()  # a Decimal or None: immutable, shared
        raw = lambda data, path: read_money(data, key, path, number)  # noqa: E731
    elif kind == "bool":
        flag = bool(f.fresh_default())
        raw = lambda data, path: read_bool(data, key, path, flag)  # noqa: E731
    elif kind == "int":
        low, high, whole = m.get("min"), m.get("max"), f.fresh_default()
        raw = lambda data, path: read_int(data, key, path, whole, low, high)  # noqa: E731
    elif kind == "texts":
        raw = lambda data, path: read_texts(data, key, path)  # noqa: E731
    elif kind == "datetime":
        raw = lambda data, path: read_datetime(data, key, path)  # noqa: E731
    elif kind == "date":
        raw = lambda data, path: read_date(data, key, path)  # noqa: E731
    elif kind == "mapping":
        raw = lambda data, path: read_mapping(data, key, path)  # noqa: E731
    elif kind == "records":
        item_keys = m.get("item_keys") or ()
        raw = lambda data, path: read_records(data, key, path, item_keys)  # noqa: E731
    elif kind == "models":
        inner = f.inner
        raw = lambda data, path: [load(inner, row, path + (key, i))  # noqa: E731
                                  for i, row in enumerate(read_records(data, key, path))]
    elif kind == "model":
        inner = f.inner

        def raw(data: dict[str, Any], path: _Path) -> Any:
            value = data.get(key)
            if value is None:
                return f.fresh_default()
            if not isinstance(value, dict):
                raise FieldError(path + (key,), Text("expected a mapping"))
            return load(inner, value, path + (key,))
    else:
        raw = lambda data, path: data.get(key, f.fresh_default())  # noqa: E731
    choices, low, high = m.get("choices"), m.get("min"), m.get("max")
    bounded = kind == "decimal" and (low is not None or high is not None)
    if not (required or choices or bounded):
        return raw

    def read(data: dict[str, Any], path: _Path) -> Any:
        value = raw(data, path)
        if value is None and required:
            raise FieldError(path + (key,), Text("is required"))
        if choices and value is not None and value not in choices:
            raise FieldError(path + (key,), Text("{value!r} is not one of {choices}", value=value,
                                                 choices=', '.join(choices)))
        if bounded and value is not None:
            if low is not None and value < low:
                raise FieldError(path + (key,), Text("{value} is less than {low}", value=value, low=low))
            if high is not None and value > high:
                raise FieldError(path + (key,), Text("{value} is more than {high}", value=value, high=high))
        return value

    return read


def _same(value: Any) -> Any:
    return value


_WRITERS: dict[str, Callable[[Any], Any]] = {
    "datetime": timeutil.iso, "date": timeutil.iso, "texts": list,
    "records": lambda value: [dict(v) for v in value],
    "mapping": lambda value: dict(value) if value is not None else value,
}


class _Plan:
    __slots__ = ("fields", "plain", "grouped", "known", "has_format", "has_extra", "order", "checked", "when_set")

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        self.fields = [_Field(f, hints[f.name]) for f in dataclasses.fields(cls) if f.name not in ("format", "extra")]
        self.plain = [f for f in self.fields if not f.group]
        self.grouped: dict[str, list[_Field]] = {}
        for f in self.fields:
            if f.group:
                self.grouped.setdefault(f.group, []).append(f)
        self.known = frozenset(["format", *(f.group or f.key for f in self.fields)])
        self.has_format, self.has_extra = "format" in names, "extra" in names
        keys = [f.group or f.key for f in self.fields]
        self.order = tuple(dict.fromkeys([*(k for k in cls.KEYS if k in keys), *keys]))
        self.checked = getattr(cls, "checked", None)
        self.when_set = tuple(f.key for f in self.plain if f.meta.get("when_set"))


_PLANS: dict[type, _Plan] = {}


def plan(cls: type[Any]) -> _Plan:
    found = _PLANS.get(cls)
    if found is None:
        found = _PLANS[cls] = _Plan(cls)
    return found


# -- load ------------------------------------------------------------------------------------------
def load(cls: type[Any], data: dict[str, Any], path: _Path = ()) -> Any:
    """The model `cls` of the plain mapping `data`; FieldError(path, message) when a value is
    of the wrong type or out of bounds."""
    p = _PLANS.get(cls) or plan(cls)
    values: dict[str, Any] = {}
    if cls.VERSIONED:
        version = check_format(data, path)
        if p.has_format:
            values["format"] = version
    for f in p.plain:
        values[f.name] = f.read(data, path)
    for group, members in p.grouped.items():
        part = read_mapping(data, group, path)
        if not part and any(g.required for g in members):
            raise FieldError(path + (group,), Text("is required"))
        for f in members:
            values[f.name] = f.read(part, path + (group,))
    if p.has_extra:
        values["extra"] = {k: v for k, v in data.items() if k not in p.known} if data.keys() - p.known else {}
    obj = cls(**values)
    if p.checked is not None:
        obj.checked(path)
    return obj


# -- dump ------------------------------------------------------------------------------------------
def dump(obj: Any) -> dict[str, Any]:
    """The plain mapping of a model, in a fixed key order, unknown keys last."""
    cls = type(obj)
    p = _PLANS.get(cls) or plan(cls)
    parts: dict[str, object] = {}
    for f in p.plain:
        parts[f.key] = f.write(getattr(obj, f.name))
    for group, members in p.grouped.items():
        parts[group] = {f.key: f.write(getattr(obj, f.name)) for f in members}
    out: dict[str, Any] = {"format": FORMAT_VERSION} if cls.VERSIONED else {}
    for key in p.order:
        out[key] = parts[key]
    for key in p.when_set:
        if out[key] is None:
            del out[key]
    extra = getattr(obj, "extra", None)
    if extra:
        out.update(extra)
    return out
