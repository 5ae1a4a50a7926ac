"""The sales-generator scenario (generators/<id>.yaml, schemas/generator.schema.json) and the pure
helpers loading it needs: the segment's built-ins, the title's placeholders, the `deal:` and
`activity:` parts. dealcli/generators.py (add, edit, run...) builds on these; this module never
imports it.

On disk (keys in this order, unknown keys kept):
  format, id, name, clients, segment, period, deal: {pipeline, stage, title, responsible,
  copy_products, type, source} (or null), activity: {type, subject, due} (or null), paused,
  paused_at, created, created_by"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.errors import FieldError, UsageError
from dealcli.model.template import placeholders
from dealcli.storage import convert
from dealcli.storage.convert import Model, spec
from dealcli.i18n import Text, _

PERIODS = ("day", "week", "month", "quarter", "year", "once")
CLIENT_MODES = ("auto", "companies", "contacts")
BUILTINS = ("birthday_within", "last_won_days", "lost_days", "no_deal_days")
_BUILTIN = re.compile(r"^\s*(?P<name>[a-z_]+)\s*=\s*(?P<lo>\d{1,5})\s*(?:\.\.\s*(?P<hi>\d{1,5})?)?\s*$")
PLACEHOLDERS = ("client", "scenario", "date", "period", "last_title")
DEFAULT_TITLE = "{scenario}: {client}"
ACTIVITY_TYPES = ("call", "meeting", "task", "email")
SCENARIO_KEYS = ("format", "id", "name", "clients", "segment", "period", "deal", "activity", "paused",
                 "paused_at", "created", "created_by")
DEAL_KEYS = ("pipeline", "stage", "title", "responsible", "copy_products", "type", "source")
ACTIVITY_KEYS = ("type", "subject", "due")


# -- segments --------------------------------------------------------------------------------------
@dataclass
class Builtin:
    name: str
    lo: int
    hi: int | None

    def holds(self, days: int | None) -> bool:
        return days is not None and days >= self.lo and (self.hi is None or days <= self.hi)


def split_segment(values: list[str]) -> list[str]:
    """Segment values as expressions: each value may hold several, shell-quoted."""
    out: list[str] = []
    for value in values:
        try:
            out += shlex.split(value)
        except ValueError as exc:
            raise UsageError.about("segment", "{0} {value!r}: {problem}", value=value, problem=str(exc)) from None
    return out


def parse_builtin(expr: str) -> Builtin | None:
    """A built-in expression, None for anything else; UsageError for a malformed built-in."""
    name = expr.split("=", 1)[0].strip()
    if name not in BUILTINS:
        return None
    m = _BUILTIN.match(expr)
    if not m or m.group("name") != name:
        raise UsageError(_("segment {expr!r}: expected {name}=N or {name}=N..M (days)").format(expr=expr, name=name))
    lo = int(m.group("lo"))
    hi = int(m.group("hi")) if m.group("hi") else None
    if name == "birthday_within":
        if ".." in expr:
            raise UsageError(_("segment {expr!r}: birthday_within takes one number of days").format(expr=expr))
        lo, hi = 0, lo
    elif hi is not None and hi < lo:
        raise UsageError(_("segment {expr!r}: {hi} is less than {lo}").format(expr=expr, hi=hi, lo=lo))
    return Builtin(name, lo, hi)


# -- titles ------------------------------------------------------------------------------------------
def check_title(title: str) -> None:
    """Refuse a title with an unknown or malformed placeholder (UsageError)."""
    for name, fmt, conversion in placeholders(title):
        if name not in PLACEHOLDERS or conversion or (fmt and name != "date"):
            raise UsageError(_("title {title!r}: unknown placeholder {name}; the placeholders are {placeholders} "
                               "and {{date:STRFTIME}}").format(
                title=title, name="{" + name + "}", placeholders=", ".join("{" + p + "}" for p in PLACEHOLDERS)))


# -- the file forms of the fields that are not plain types -------------------------------------------
def _read_segment(data: dict[str, Any], key: str, path: tuple[str | int, ...], default: object) -> list[str]:
    segment = data.get(key)
    if not isinstance(segment, list) or not all(isinstance(x, str) for x in segment) or not segment:
        raise FieldError(path + (key,), Text("expected a non-empty list of expressions"))
    for i, expr in enumerate(segment):
        try:
            parse_builtin(expr)
        except UsageError as exc:
            raise FieldError(path + (key, i), exc.message) from None
    return list(segment)


def _read_deal(data: dict[str, Any], key: str, path: tuple[str | int, ...], default: object) -> dict[str, Any] | None:
    """The deal to create; None (null, or no key): no deal."""
    if data.get(key) is None:
        return None
    deal, where = convert.read_mapping(data, key, path), path + (key,)
    for k in ("pipeline", "stage", "title", "responsible", "type", "source"):
        convert.read_text(deal, k, where)
    convert.read_bool(deal, "copy_products", where, True)
    if deal.get("title"):
        try:
            check_title(deal["title"])
        except UsageError as exc:
            raise FieldError(where + ("title",), exc.message) from None
    return deal


def _read_activity(data: dict[str, Any], key: str, path: tuple[str | int, ...],
                   default: object) -> dict[str, Any] | None:
    """The activity to plan; None (null, or no key): none."""
    if data.get(key) is None:
        return None
    activity, where = convert.read_mapping(data, key, path), path + (key,)
    kind = convert.read_text(activity, "type", where, required=True)
    if kind not in ACTIVITY_TYPES:
        raise FieldError(where + ("type",), Text("{kind!r} is not one of {activity_types}", kind=kind,
                                                 activity_types=', '.join(ACTIVITY_TYPES)))
    convert.read_text(activity, "subject", where, required=True)
    convert.read_text(activity, "due", where)
    return activity


@dataclass(kw_only=True)
class Scenario(Model):
    """Clients picked by a segment get a deal and/or an activity, once per period. `checked`
    refuses a scenario with neither, and names an unnamed one by its id."""

    KEYS = SCENARIO_KEYS
    id: str
    name: str = spec(required=False)
    clients: str = spec("auto", choices=CLIENT_MODES)
    segment: list[str] = spec(read=_read_segment)
    period: str = spec("month", choices=PERIODS)
    deal: dict[str, Any] | None = spec(factory=dict, read=_read_deal)
    activity: dict[str, Any] | None = spec(None, read=_read_activity)
    paused: bool = False
    paused_at: dt.datetime | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def checked(self, path: tuple[str | int, ...]) -> None:
        if self.deal is None and self.activity is None:
            raise FieldError(path + ("deal",), Text("a scenario needs a deal, an activity or both"))
        self.name = self.name or self.id

    def client_mode(self) -> str:
        if self.clients == "auto" and any((parse_builtin(x) or Builtin("", 0, 0)).name == "birthday_within"
                                          for x in self.segment):
            return "contacts"
        return self.clients
