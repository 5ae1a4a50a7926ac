"""The clock and every date/time parse. Times are timezone-aware, in the repository's zone;
text is parsed by python-dateutil plus the relative forms of the filter language:
today, yesterday, tomorrow, now, +3d, 3d, -2w, -3m, +1y, in 3 days, next friday, next week,
eod, eow, eom, eoq, eoy, optionally followed by a time ("tomorrow 10:00", "+3d 09:30",
"next friday 14:00"), and periods (this-week ... this-year). Numeric dates like 03/04/2026
follow the repository's date_order (dayfirst|monthfirst); without it an ambiguous one is refused."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from dealcli.errors import DealcliError, ValueProblem, Words, word
from dealcli import i18n

if TYPE_CHECKING:
    from dateutil.relativedelta import relativedelta as RelativeDelta

UTC = dt.timezone.utc
_REL = re.compile(r"^(?P<sign>[+-]?)(?P<n>\d{1,5})(?P<unit>[dwmyh])$")
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years", "h": "hours"}
PERIODS = ("this-week", "last-week", "next-week", "this-month", "last-month", "next-month",
           "this-quarter", "last-quarter", "next-quarter", "this-year", "last-year", "next-year")


class DateError(ValueError):
    pass


# python-dateutil is imported when a date is parsed or counted, not by every command that
# imports this module (start-up, docs/performance.md); its ParserError is a ValueError.
def du_parse(text: str, **kw: Any) -> dt.datetime:
    from dateutil.parser import parse

    # the tuple-returning form needs fuzzy_with_tokens=True, which no caller passes: a datetime
    return cast("dt.datetime", parse(text, **kw))


def relativedelta(**kw: Any) -> RelativeDelta:
    from dateutil.relativedelta import relativedelta

    return relativedelta(**kw)


_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$")


def zone(name: str | None) -> dt.tzinfo:
    """The tz of an IANA zone name (Europe/Berlin, UTC). A name is never a path: `../x`, `/etc/..`
    and names the tz database does not know (Mars/Olympus) are DateError."""
    from dateutil import tz as dtz

    if not name:
        return dtz.tzlocal()
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.match(name):
        raise DateError(i18n._("unknown time zone {name!r} (an IANA name such as Europe/Berlin or UTC)").format(
            name=name))
    z = dtz.gettz(name)
    if z is None:
        raise DateError(i18n._("unknown time zone {name!r} (an IANA name such as Europe/Berlin or UTC)").format(
            name=name))
    return z


def aware(value: dt.datetime, tzinfo: dt.tzinfo | None) -> dt.datetime:
    return value.replace(tzinfo=tzinfo) if value.tzinfo is None else value


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def parse_now(text: str | None, tzinfo: dt.tzinfo | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(tzinfo).replace(microsecond=0)
    try:
        value = aware(du_parse(text), tzinfo)
    except (ValueError, OverflowError):
        raise DateError(i18n._("cannot read {text!r} as a date and time").format(text=text)) from None
    try:
        return in_years(value, tzinfo).astimezone(tzinfo)  # like the real clock: in the repository zone
    except ValueProblem as exc:
        raise DateError(f"{text!r} {exc}") from None


def in_years(value: dt.datetime, tzinfo: dt.tzinfo | None) -> dt.datetime:
    """`value` if it is a time of the years 1 to 9999 in `tzinfo` (the repository's zone) and in
    UTC too: a time written with another offset can fall beyond 9999-12-31 there
    (9999-12-31T23:59-12:00 is 10000-01-01 in UTC); ValueProblem otherwise."""
    try:
        value.astimezone(tzinfo)
        value.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        raise ValueProblem(i18n._("is beyond 9999-12-31 (or before 0001-01-01) in the repository's "
                                  "time zone")) from None
    return value


def _relative_base(word: str, now: dt.datetime) -> dt.datetime | None:
    word = word.lower()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "now":
        return now
    if word == "today":
        return day
    if word == "tomorrow":
        return day + dt.timedelta(days=1)
    if word == "yesterday":
        return day - dt.timedelta(days=1)
    m = _REL.match(word)
    if m:
        n = int(m["n"]) * (-1 if m["sign"] == "-" else 1)
        try:
            if m["unit"] == "h":
                return now + dt.timedelta(hours=n)
            return day + relativedelta(**{_UNITS[m["unit"]]: n})
        except (ValueError, OverflowError):  # beyond year 9999 (or before year 1)
            raise DateError(i18n._("{word!r} is outside the years 1 to 9999").format(word=word)) from None
    return None


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PHRASE = re.compile(r"^(?:in\s+(?P<n>\d{1,5})\s*(?P<unit>days?|weeks?|months?|years?|hours?|[dwmyh])"
                     r"|next\s+(?P<next>[a-z]+)|(?P<end>eod|eow|eom|eoq|eoy))(?:\s+(?P<rest>.*))?$", re.IGNORECASE)
ORDERS = ("dayfirst", "monthfirst")


def _phrase(raw: str, now: dt.datetime) -> tuple[dt.datetime, str] | None:
    """`in 3 days`, `next friday`, `next week|month|year` (its first day), `eod`, `eow` (this
    week's Friday), `eom`, `eoq`, `eoy` (last day of the month, quarter, year). Returns (day or
    time, the rest of the text: a time of day) or None."""
    m = _PHRASE.match(raw)
    if not m:
        return None
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rest = m["rest"] or ""
    if m["n"]:
        unit = m["unit"].lower()[0]
        n = int(m["n"])
        if unit == "h":
            return now + dt.timedelta(hours=n), rest
        return day + relativedelta(**{_UNITS[unit]: n}), rest
    if m["next"]:
        word = m["next"].lower()
        names = [w for w in _WEEKDAYS if w.startswith(word) and len(word) >= 3]
        if len(names) == 1:
            ahead = (_WEEKDAYS.index(names[0]) - day.weekday()) % 7 or 7
            return day + dt.timedelta(days=ahead), rest
        if word in ("week", "month", "quarter", "year"):
            span = period(f"next-{word}", now)
            assert span is not None  # next-week, -month, -quarter and -year are PERIODS
            return span[0], rest
        return None
    end = m["end"].lower()
    if end == "eod":
        return day, rest
    if end == "eow":
        return day + dt.timedelta(days=(4 - day.weekday()) % 7), rest
    unit = {"eom": "month", "eoq": "quarter", "eoy": "year"}[end]
    span = period(f"this-{unit}", now)
    assert span is not None  # this-month, this-quarter and this-year are PERIODS
    return span[1] - dt.timedelta(days=1), rest


def _numeric(raw: str, now: dt.datetime, order: str | None) -> tuple[dt.datetime, bool] | None:
    """D/M/Y or M/D/Y dates: read by the same rules as import (importing.values.DateReader):
    dots are day-first; otherwise `order` (the repository's date_order) decides, and a date
    that could be read both ways is refused when no order is set."""
    if not _NUMERIC.match(raw):
        return None
    reader = DateReader(now.tzinfo, {"dayfirst": True, "monthfirst": False}.get(order or ""))
    try:
        out = reader.parse(raw)
        reader.decide()
    except ValueProblem as exc:
        raise DateError(f"{raw!r} {exc}") from None
    except AmbiguousDates:
        raise DateError(i18n._("{raw!r} could be day-first or month-first: write YYYY-MM-DD, or set "
                        "`date_order: dayfirst` (or monthfirst) in dealcli.yaml").format(raw=raw)) from None
    return out


def parse_datetime(text: str, now: dt.datetime, order: str | None = None) -> tuple[dt.datetime, bool]:
    """A point in time from text. Returns (value, has_time): has_time is False when the text
    named only a day (the value is then that day's midnight). `order`: the repository's
    date_order (dayfirst, monthfirst or None) for numeric dates like 03/04/2026."""
    raw = " ".join((text or "").split())
    if not raw or len(raw) > 64:
        raise DateError(i18n._("cannot read {text!r} as a date").format(text=text))
    try:
        phrase = _phrase(raw, now)
    except (ValueError, OverflowError):  # `in 99999 years`: beyond year 9999
        raise DateError(i18n._("{text!r} is outside the years 1 to 9999").format(text=text)) from None
    base: dt.datetime | None
    if phrase is not None:
        base, rest = phrase
        if not rest:
            return base, base != base.replace(hour=0, minute=0, second=0, microsecond=0)
        return _with_time(base, rest, text, now), True
    numeric = _numeric(raw, now, order)
    if numeric is not None:
        return numeric
    head, _, rest = raw.partition(" ")
    base = _relative_base(head, now)
    if base is not None:
        if not rest:
            return base, head.lower() == "now" or head.lower().endswith("h")
        return _with_time(base, rest, text, now), True
    try:
        default = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        value = du_parse(raw, default=default)  # numeric D/M/Y forms went through _numeric
    except (ValueError, OverflowError):
        raise DateError(i18n._("cannot read {text!r} as a date").format(text=text)) from None
    has_time = bool(re.search(r"\d:\d", raw)) or "T" in raw
    return aware(value, now.tzinfo), has_time


def _with_time(base: dt.datetime, rest: str, text: str, now: dt.datetime) -> dt.datetime:
    try:
        t = du_parse(rest, default=base.replace(tzinfo=None))
    except (ValueError, OverflowError):
        raise DateError(i18n._("cannot read the time {rest!r} in {text!r}").format(rest=rest, text=text)) from None
    return aware(t, now.tzinfo)


def parse_date(text: str, now: dt.datetime, order: str | None = None) -> dt.date:
    value, _ = parse_datetime(text, now, order)
    return value.date()


def to_datetime(value: object, what: str = "time") -> dt.datetime | None:
    """A stored timestamp (ISO text) as an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            out = dt.datetime.fromisoformat(value)
        except ValueError:
            try:
                out = du_parse(value)
            except (ValueError, OverflowError):
                raise DateError(i18n._("{what}: {value!r} is not a date and time").format(
                    what=what, value=value)) from None
        if out.tzinfo is None:
            raise DateError(i18n._("{what}: {value!r} has no time zone offset").format(what=what, value=value))
        return out
    raise DateError(i18n._("{what}: expected an ISO date and time, got {value!r}").format(what=what, value=value))


def to_date(value: object, what: str = "date") -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            try:
                return dt.datetime.fromisoformat(value).date()
            except ValueError:
                raise DateError(i18n._("{what}: {value!r} is not an ISO date (YYYY-MM-DD)").format(
                    what=what, value=value)) from None
    raise DateError(i18n._("{what}: expected an ISO date, got {value!r}").format(what=what, value=value))


def period(name: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) of a named period around `now`; weeks start on Monday."""
    name = name.lower()
    if name not in PERIODS:
        return None
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    which, _, unit = name.partition("-")
    step = {"this": 0, "last": -1, "next": 1}[which]
    if unit == "week":
        start = day - dt.timedelta(days=day.weekday()) + dt.timedelta(weeks=step)
        return start, start + dt.timedelta(weeks=1)
    if unit == "month":
        start = day.replace(day=1) + relativedelta(months=step)
        return start, start + relativedelta(months=1)
    if unit == "quarter":
        q0 = day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1) + relativedelta(months=3 * step)
        return q0, q0 + relativedelta(months=3)
    start = day.replace(month=1, day=1) + relativedelta(years=step)
    return start, start + relativedelta(years=1)


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    out = start
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


# -- numeric and textual dates of files and options (import and the CLI share this reader) ----------
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_NUMERIC = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
                      r"(?:[ T,]+(?P<time>.+))?$")
_YMD = re.compile(r"^(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})(?:[ T,]+(?P<time>.+))?$")
_COMPACT = re.compile(r"^(?P<y>(19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$")
_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$|^\d{13}$")
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
                   r"\s*(?P<tz>Z|UTC|[+-]\d{2}:?\d{2})?$")


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        y += 2000 if y < 69 else 1900
    return y


def _time(text: str | None, tzinfo: dt.tzinfo | None) -> tuple[dt.time, dt.tzinfo | None]:
    if not text:
        return dt.time(0, 0), None
    m = _TIME.match(text.strip())
    if not m:
        raise ValueProblem(i18n._("has a time that cannot be read"))
    h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if m["ampm"]:
        pm = m["ampm"][0].lower() == "p"
        if not 1 <= h <= 12:
            raise ValueProblem(i18n._("has an hour that is not 1-12 with AM/PM"))
        h = (h % 12) + (12 if pm else 0)
    zone: dt.tzinfo | None = None
    if m["tz"]:
        zone = UTC if m["tz"] in ("Z", "UTC") else _offset(m["tz"])
    try:
        return dt.time(h, mi, sec), zone
    except ValueError:
        raise ValueProblem(i18n._("has a time that does not exist")) from None


def _offset(text: str) -> dt.timezone:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _make(y: int, m: int, d: int, time_text: str | None, tzinfo: dt.tzinfo | None) -> tuple[dt.datetime, bool]:
    try:
        day = dt.date(y, m, d)
    except ValueError:
        raise ValueProblem(i18n._("is not a date that exists")) from None
    t, zone = _time(time_text, tzinfo)
    return in_years(dt.datetime.combine(day, t, tzinfo=zone or tzinfo), tzinfo), bool(time_text)


class DateReader:
    """Dates of one file. Numeric dates like 02/03/2024 are read day-first or month-first for
    the WHOLE file: given by the user (dayfirst True/False), or decided from the data: a value
    whose first number is over 12 proves day-first, whose second is over 12 proves month-first.
    While deciding (order None) every value is checked under both orders and the evidence is
    kept; `decide()` then returns the order or raises AmbiguousDates/MixedDates."""

    def __init__(self, tzinfo: dt.tzinfo | None, dayfirst: bool | None = None) -> None:
        self.tz = tzinfo
        self.dayfirst = dayfirst
        self.evidence: dict[bool, str] = {}  # order -> first example "value (where)"
        self.undecided: str | None = None  # an example that needs the order

    def parse(self, value: object, where: str = "") -> tuple[dt.datetime, bool] | None:
        """(aware datetime, has_time) or None for an empty value; a time that falls beyond the
        years 1-9999 in the repository's zone is a ValueProblem (in_years)."""
        out = self._read(value, where)
        return None if out is None else (in_years(out[0], self.tz), out[1])

    def _read(self, value: object, where: str) -> tuple[dt.datetime, bool] | None:
        if value is None:
            return None
        if isinstance(value, (dt.datetime, dt.date)):
            if not isinstance(value, dt.datetime):
                return dt.datetime.combine(value, dt.time(0, 0), tzinfo=self.tz), False
            return aware(value, self.tz), True
        if isinstance(value, bool):
            raise ValueProblem(i18n._("is not a date"))
        if isinstance(value, (int, Decimal)):
            value = str(value)
        text = " ".join(str(value).split())
        if not text:
            return None
        if len(text) > 64:
            raise ValueProblem(i18n._("is not a date (too long)"))
        if _ISO.match(text):
            try:
                out = dt.datetime.fromisoformat(text.replace(" Z", "Z"))
            except ValueError:
                raise ValueProblem(i18n._("is not a date that exists")) from None
            return aware(out, self.tz), len(text) > 10
        if _EPOCH.match(text):
            seconds = Decimal(text) / (1000 if len(text) == 13 else 1)
            return dt.datetime.fromtimestamp(float(seconds), UTC).astimezone(self.tz), True
        m = _COMPACT.match(text)
        if m:
            return _make(int(m["y"]), int(m["m"]), int(m["d"]), None, self.tz)
        m = _YMD.match(text)
        if m:
            return _make(int(m["y"]), int(m["m"]), int(m["d"]), m["time"], self.tz)
        m = _NUMERIC.match(text)
        if m:
            return self._numeric(m, text, where)
        if not re.search(r"\d", text) or not re.search(r"[A-Za-zА-Яа-я]{3}", text):
            raise ValueProblem(i18n._("is not a date"))
        try:  # month names: "March 3, 2024", "3 Mar 2024 10:00"
            out = du_parse(text, default=dt.datetime(2000, 1, 1), dayfirst=bool(self.dayfirst))
        except (ValueError, OverflowError):
            raise ValueProblem(i18n._("is not a date")) from None
        return aware(out, self.tz), bool(re.search(r"\d:\d", text))

    def _numeric(self, m: re.Match[str], text: str, where: str) -> tuple[dt.datetime, bool]:
        a, b, y = int(m["a"]), int(m["b"]), _year(m["y"])
        if m["sep"] == ".":
            return _make(y, b, a, m["time"], self.tz)  # D.M.Y: dots are day first
        if self.dayfirst is not None:
            d, mo = (a, b) if self.dayfirst else (b, a)
            return _make(y, mo, d, m["time"], self.tz)
        example = f"{text!r}" + (f" ({where})" if where else "")
        if a > 12 and b <= 12:
            self.evidence.setdefault(True, example)
            return _make(y, b, a, m["time"], self.tz)
        if b > 12 and a <= 12:
            self.evidence.setdefault(False, example)
            return _make(y, a, b, m["time"], self.tz)
        if a > 12 and b > 12:
            raise ValueProblem(i18n._("is not a date (neither day-first nor month-first)"))
        if a != b and self.undecided is None:
            self.undecided = example
        return _make(y, b, a, m["time"], self.tz)  # tentative; the order is decided after the pass

    def decide(self) -> bool | None:
        """The order for the file (True day-first, False month-first, None: no numeric dates)."""
        if self.dayfirst is not None:
            return self.dayfirst
        if True in self.evidence and False in self.evidence:
            raise MixedDates(i18n._("dates: the file has day-first dates ({day}) and month-first dates ({month}); "
                             "fix the file or pass {0}/{1} to read all of them one way"),
                             day=self.evidence[True], month=self.evidence[False])
        if self.evidence:
            return next(iter(self.evidence))
        if self.undecided:
            raise AmbiguousDates(i18n._("dates: {date} could be day-first or month-first and no date in the file "
                                 "decides it; pass {0} or {1} (or set date_order in dealcli.yaml)"),
                                 date=self.undecided)
        return None


class DateOrderError(ValueError):
    """Numeric dates whose order a file does not decide. The message names the parameters that
    would decide it (`dayfirst`, `monthfirst`) as {0} and {1} of `template`: str() reads the
    plain names; `error()` makes the typed error the edge words as options."""

    fields = ("dayfirst", "monthfirst")

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(word(template, self.fields, values))
        self.template, self.values = template, values

    def error(self, cls: type[DealcliError], where: str) -> DealcliError:
        """This problem as a `cls` error (UsageError, ...) about its fields, after `where: `."""
        return cls.about(self.fields, "{where}: {problem}", where=where, problem=Words(self.fields, self.template,
                                                                                         self.values), **self.values)


class AmbiguousDates(DateOrderError):
    pass


class MixedDates(DateOrderError):
    pass
