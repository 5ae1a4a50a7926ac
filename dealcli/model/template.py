"""The recurring deal template (recurring/<id>.yaml, schemas/recurring.schema.json) and the pure
helpers loading it needs: the schedule rule, occurrence dates, the title's placeholders and the
`deal:` part. dealcli/recurring.py (the use cases: add, run, pause...) builds on these; this
module never imports it.

On disk (keys in this order, unknown keys kept):
  format, id, title (may hold {date}, {date:STRFTIME}, {n}), schedule: {every, rule, start},
  create_before, begin_offset, close_offset, deal: {pipeline, stage, amount, currency, company,
  contacts, products, type, source, responsible, probability, fields}, from_deal, paused,
  paused_at, paused_periods: [{from, to}], last_occurrence, occurrences_created, created,
  created_by"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from dealcli import FORMAT_VERSION, timeutil
from dealcli.errors import FieldError, UsageError
from dealcli.model import ProductRow
from dealcli.storage import convert
from dealcli.storage.convert import Model, spec
from dealcli import i18n
from dealcli.i18n import Text

if TYPE_CHECKING:
    from dateutil.rrule import rrule

EVERY = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
PLACEHOLDERS = "{date}, {date:STRFTIME} (e.g. {date:%B %Y}) and {n}"
MAX_TITLE_WIDTH = 100  # {n:>999999999} would make a gigabyte title in every run
MAX_OFFSET_DAYS = 36600  # 100 years: a close offset of 99999999 days would make every run overflow the calendar
TEMPLATE_KEYS = (
    "format", "id", "title", "schedule", "create_before", "begin_offset", "close_offset", "deal",
    "from_deal", "paused", "paused_at", "paused_periods", "last_occurrence", "occurrences_created",
    "created", "created_by",
)
DEAL_PART_KEYS = ("pipeline", "stage", "amount", "currency", "company", "contacts", "products", "type",
                  "source", "responsible", "probability", "fields")


class RuleError(ValueError):
    pass


# -- schedules -------------------------------------------------------------------------------------
def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _local_until(match: re.Match[str], tz: dt.tzinfo) -> str:
    utc = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timeutil.UTC)
    return "UNTIL=" + utc.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def parse_rule(rule: str, start: dt.date, tz: dt.tzinfo | None = None) -> rrule:
    """The dateutil rrule for `rule` from `start` (naive wall-clock times). A UTC UNTIL (…Z) is
    turned into the zone's wall clock. RuleError with the reason when it is not a usable rule."""
    from dateutil.rrule import rrule as rrule_cls
    from dateutil.rrule import rrulestr

    text = (rule or "").strip()
    if not text or "\n" in text or ":" in text:
        raise RuleError(i18n._("{rule!r} is not one RRULE (FREQ=...;...)").format(rule=rule))
    if not re.search(r"(^|;)\s*FREQ=", text, re.I):
        raise RuleError(i18n._("{rule!r} has no FREQ=").format(rule=rule))
    freq = re.search(r"FREQ=([A-Z]+)", text, re.I)
    if freq and freq.group(1).upper() in SUB_DAILY:
        raise RuleError(i18n._("{rule!r}: FREQ={freq_group_1_upper} is finer than a day; use FREQ=DAILY "
                        "(with BYHOUR for times)").format(rule=rule, freq_group_1_upper=freq.group(1).upper()))
    if re.search(r"UNTIL=", text, re.I) and re.search(r"COUNT=", text, re.I):
        raise RuleError(i18n._("{rule!r}: UNTIL and COUNT must not both be given (RFC 5545)").format(rule=rule))
    if re.search(r"BYSECOND=", text, re.I):
        raise RuleError(i18n._("{rule!r}: BYSECOND is not supported").format(rule=rule))
    text = re.sub(r"UNTIL=(\d{8}T\d{6})Z", lambda m: _local_until(m, tz or timeutil.UTC), text, flags=re.I)
    try:
        out = rrulestr(text, dtstart=midnight(start))
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise RuleError(f"{rule!r}: {exc}") from None
    if not isinstance(out, rrule_cls):
        raise RuleError(i18n._("{rule!r} is not a single recurrence rule").format(rule=rule))
    return out


def occurrence_text(occ: dt.datetime) -> str:
    """An occurrence as stored: the ISO date, with the time only when it is not midnight."""
    if occ.time() == dt.time():
        return occ.date().isoformat()
    return occ.isoformat(timespec="minutes" if occ.second == 0 else "seconds")


def parse_occurrence(value: Any, path: tuple[Any, ...] = ("last_occurrence",)) -> dt.datetime | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    try:
        out = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(path, Text("{value!r} is not an ISO date (YYYY-MM-DD) or local date-time",
                                    value=value)) from None
    if out.tzinfo is not None:
        raise FieldError(path, Text("{value!r}: write the wall-clock time without an offset", value=value))
    return out


# -- titles ------------------------------------------------------------------------------------------
def placeholders(title: str) -> list[tuple[str, str, str | None]]:
    """(name, format spec, conversion) of each placeholder of a title template (also of a
    generator scenario's); UsageError when the braces are malformed."""
    try:
        parts = list(string.Formatter().parse(title))
    except ValueError as exc:
        raise UsageError(i18n._("title {title!r}: {exc} (write {{{{ and }}}} for literal braces)").format(
            title=title, exc=exc)) from None
    # parse gives a format spec ("" when none) with every field name, never None: the cast only says so
    return [(name, cast(str, fmt), conversion) for _, name, fmt, conversion in parts if name is not None]


def check_title(title: str) -> None:
    """Refuse a title with an unknown or malformed placeholder (UsageError)."""
    for name, fmt, conversion in placeholders(title):
        if name not in ("date", "n") or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{fmt}" if fmt else "") + "}"
            raise UsageError(i18n._("title {title!r}: unknown placeholder {shown}; the placeholders are "
                             "{placeholders}").format(title=title, shown=shown, placeholders=PLACEHOLDERS))
        if fmt and any(int(w) > MAX_TITLE_WIDTH for w in re.findall(r"\d+", fmt)):
            raise UsageError(i18n._("title {title!r}: {{{name}:{fmt}}}: a width or precision above "
                             "{max_title_width} is refused").format(
                                 title=title, name=name, fmt=fmt, max_title_width=MAX_TITLE_WIDTH))
        if name == "n" and fmt:
            try:
                format(1, fmt)
            except ValueError as exc:
                raise UsageError(i18n._("title {title!r}: {{n:{fmt}}}: {exc}").format(
                    title=title, fmt=fmt, exc=exc)) from None


# -- the file forms of the fields that are not plain types -------------------------------------------
def _read_title(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> str:
    title = convert.read_text(data, key, path, required=True) or ""
    try:
        check_title(title)
    except UsageError as exc:
        raise FieldError(path + (key,), exc.message) from None
    return title


def _read_start(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> dt.date:
    start = parse_occurrence(data.get(key), path + (key,))
    if start is None:
        raise FieldError(path + (key,), Text("is required"))
    if start.time() != dt.time():
        raise FieldError(path + (key,), Text("expected a date (YYYY-MM-DD)"))
    return start.date()


def check_deal_part(deal: dict[str, Any], path: tuple[Any, ...] = ("deal",)) -> None:
    """The `deal:` part of a template: the types of what each created deal gets."""
    for key in ("pipeline", "stage", "currency", "company", "type", "source", "responsible"):
        convert.read_text(deal, key, path)
    convert.read_texts(deal, "contacts", path)
    convert.read_mapping(deal, "fields", path)
    products = deal.get("products")
    if products is not None:
        if not isinstance(products, list):
            raise FieldError(path + ("products",), Text("expected a list"))
        for i, row in enumerate(products):
            if not isinstance(row, dict):
                raise FieldError(path + ("products", i), Text("expected a mapping"))
            ProductRow.from_dict(row, path + ("products", i))
    if deal.get("amount") is not None:
        from dealcli import money

        try:
            money.to_decimal(deal["amount"], "amount")
        except money.MoneyError as exc:
            raise FieldError(path + ("amount",), str(exc)) from None
    prob = deal.get("probability")
    if prob is not None and (isinstance(prob, bool) or not isinstance(prob, int) or not 0 <= prob <= 100):
        raise FieldError(path + ("probability",), Text("{prob!r} is not a whole percentage 0-100", prob=prob))


def _read_deal(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> dict[str, Any]:
    deal = convert.read_mapping(data, key, path)
    check_deal_part(deal, path + (key,))
    return deal


def _read_periods(data: dict[str, Any], key: str, path: tuple[Any, ...],
                  default: Any) -> list[tuple[dt.datetime, dt.datetime]]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        raise FieldError(path + (key,), Text("expected a list"))
    periods = []
    for i, item in enumerate(raw):
        where = path + (key, i)
        if not isinstance(item, dict):
            raise FieldError(where, Text("expected a mapping with from and to"))
        a, b = convert.read_datetime(item, "from", where), convert.read_datetime(item, "to", where)
        if a is None or b is None:
            raise FieldError(where, Text("needs from and to"))
        periods.append((a, b))
    return periods


def _write_periods(periods: list[tuple[dt.datetime, dt.datetime]]) -> list[dict[str, Any]]:
    return [{"from": timeutil.iso(a), "to": timeutil.iso(b)} for a, b in periods]


def _read_last(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> dt.datetime | None:
    return parse_occurrence(data.get(key), path + (key,))


def _write_last(value: dt.datetime | None) -> str | None:
    return occurrence_text(value) if value else None


OFFSET: dict[str, Any] = {"min": -MAX_OFFSET_DAYS, "max": MAX_OFFSET_DAYS}


@dataclass(kw_only=True)
class Template(Model):
    """A deal to create on a schedule: an RFC 5545 rule from a start date, in the repository's
    time zone. `checked` refuses a rule that dateutil cannot evaluate from `start`."""

    KEYS = TEMPLATE_KEYS
    id: str
    title: str = spec(read=_read_title)
    every: str | None = spec(None, group="schedule", choices=tuple(EVERY))
    rule: str = spec(group="schedule")
    start: dt.date = spec(group="schedule", read=_read_start)
    create_before: int = spec(0, min=0, max=MAX_OFFSET_DAYS)
    begin_offset: int = spec(0, **OFFSET)
    close_offset: int | None = spec(None, **OFFSET)
    deal: dict[str, Any] = spec(factory=dict, read=_read_deal)
    from_deal: str | None = None
    paused: bool = False
    paused_at: dt.datetime | None = None
    paused_periods: list[tuple[dt.datetime, dt.datetime]] = spec(factory=list, read=_read_periods,
                                                                  write=_write_periods)
    last_occurrence: dt.datetime | None = spec(None, read=_read_last, write=_write_last)
    occurrences_created: int = spec(0, min=0)
    created: dt.datetime | None = None
    created_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def checked(self, path: tuple[Any, ...]) -> None:
        try:
            parse_rule(self.rule, self.start)
        except RuleError as exc:
            raise FieldError(path + ("schedule", "rule"), str(exc)) from None
