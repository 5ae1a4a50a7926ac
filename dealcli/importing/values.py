"""Reading the values of other systems' exports: amounts, dates, booleans, percentages.

Amounts (exact Decimal, bounded by dealcli.money):
  "1234.5", "1 234,56", "1.234,56 €", "$1,234.56", "EUR 99", "(12.00)", "1'234.50", "200.000.000".
  Spaces, no-break spaces and apostrophes group digits. With both '.' and ',' the later one is
  the decimal mark. A lone ',' is a decimal mark ("1,7") unless exactly three digits follow and
  the integer part is not 0 ("1,234" = 1234); several ',' or several '.' are grouping. A lone
  '.' is always the decimal mark. A currency symbol or code before or after the number is
  returned with it.

Dates: ISO 8601 (with or without time and offset), D.M.Y (dots are always day first),
  D/M/Y or M/D/Y (and with '-'), decided per file (see DateReader), Y/M/D, YYYYMMDD, epoch
  seconds (9-10 digits, optional fraction; 13 digits = milliseconds), then whatever
  python-dateutil reads ("March 3, 2024"). Two-digit years: 00-68 -> 20xx, 69-99 -> 19xx.
  A time may follow ("10:30", "10:30:15", "8:55 PM"). Naive times are in the repository's zone.

Booleans: 1/0, true/false, t/f, yes/no, y/n, on/off, x, да/нет; empty is "not set".
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from dateutil.parser import ParserError
from dateutil.parser import parse as du_parse

from dealcli import money, timeutil


class ValueProblem(ValueError):
    """A value that cannot be read; the message names what was expected."""


# -- amounts ------------------------------------------------------------------------------------
SYMBOLS = {
    "€": "EUR", "$": "USD", "us$": "USD", "£": "GBP", "₽": "RUB", "руб": "RUB", "руб.": "RUB",
    "р.": "RUB", "₹": "INR", "¥": "JPY", "₴": "UAH", "грн": "UAH", "₸": "KZT", "zł": "PLN",
    "kč": "CZK", "fr.": "CHF", "chf": "CHF", "r$": "BRL", "₩": "KRW", "₺": "TRY", "c$": "CAD",
    "a$": "AUD", "ca$": "CAD", "au$": "AUD",
}
_CODE = re.compile(r"^[A-Za-z]{3}$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_NUMBERISH = re.compile(r"[0-9.,()+\-]")


def _split_currency(text: str) -> tuple[str, str | None]:
    """("1 234,56 €") -> ("1 234,56", "EUR"): a symbol or 3-letter code before or after."""
    head = re.match(r"^\s*(?P<cur>[^\d\s.,()+\-]+)\s*(?P<rest>.*)$", text, re.S)
    tail = re.match(r"^(?P<rest>.*?[\d)])\s*(?P<cur>[^\d\s.,()+\-]+\.?)\s*$", text, re.S)
    for m in (head, tail):
        if not m:
            continue
        cur = m["cur"].strip()
        code = SYMBOLS.get(cur.casefold())
        if code is None and _CODE.match(cur):
            code = cur.upper()
        if code is None:
            raise ValueProblem("is not an amount")
        return m["rest"].strip(), code
    return text.strip(), None


def parse_amount(value) -> tuple[Decimal | None, str | None]:
    """(amount, currency or None); (None, None) for an empty value."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueProblem("expected an amount, got a boolean")
    if isinstance(value, (int, Decimal)):
        return _bounded(value), None
    if isinstance(value, float):
        return _bounded(Decimal(repr(value))), None
    text = str(value).strip()
    if not text:
        return None, None
    if len(text) > 60:
        raise ValueProblem("is not an amount (too long)")
    number, currency = _split_currency(text)
    negative = False
    if number.startswith("(") and number.endswith(")"):
        negative, number = True, number[1:-1].strip()
    if number.startswith("-"):
        negative, number = not negative, number[1:].strip()
    elif number.startswith("+"):
        number = number[1:].strip()
    number = _SPACES.sub("", number)
    if not number or not re.fullmatch(r"[\d.,]+", number) or not re.search(r"\d", number):
        raise ValueProblem("is not an amount")
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal_mark = "." if number.rfind(".") > number.rfind(",") else ","
        group = "," if decimal_mark == "." else "."
        if number.count(decimal_mark) > 1:
            raise ValueProblem("is not an amount (two decimal marks)")
        number = number.replace(group, "").replace(decimal_mark, ".")
    elif commas > 1:
        number = number.replace(",", "")
    elif commas == 1:
        whole, frac = number.split(",")
        if len(frac) == 3 and whole and whole.lstrip("0"):
            number = whole + frac
        else:
            number = whole + "." + frac
    elif dots > 1:
        number = number.replace(".", "")
    if negative:
        number = "-" + number
    return _bounded(number), currency


def _bounded(value) -> Decimal:
    try:
        return money.to_decimal(value)
    except money.MoneyError as exc:
        raise ValueProblem(str(exc).split(": ", 1)[-1]) from None


def parse_percent(value, fraction: bool = False) -> int | None:
    """A whole percentage 0-100 from "20", "20%", "20.0", or (fraction=True) "0.2"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().rstrip("%").strip()
    amount, _ = parse_amount(text)
    if amount is None:
        return None
    if fraction and amount <= 1:
        amount = amount * 100
    if amount != amount.to_integral_value():
        amount = amount.quantize(Decimal(1))
    if not 0 <= amount <= 100:
        raise ValueProblem("is not a percentage between 0 and 100")
    return int(amount)


# -- booleans -----------------------------------------------------------------------------------
TRUE = {"1", "true", "t", "yes", "y", "on", "x", "да", "д", "checked", "won", "closed"}
FALSE = {"0", "false", "f", "no", "n", "off", "нет", "н", "unchecked", "-"}


def parse_bool(value) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if not text:
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueProblem("is not a yes/no value (1/0, true/false, yes/no, y/n)")


# -- dates --------------------------------------------------------------------------------------
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


def _time(text: str | None, tzinfo) -> tuple[dt.time, object]:
    if not text:
        return dt.time(0, 0), None
    m = _TIME.match(text.strip())
    if not m:
        raise ValueProblem("has a time that cannot be read")
    h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if m["ampm"]:
        pm = m["ampm"][0].lower() == "p"
        if not 1 <= h <= 12:
            raise ValueProblem("has an hour that is not 1-12 with AM/PM")
        h = (h % 12) + (12 if pm else 0)
    zone = None
    if m["tz"]:
        zone = timeutil.UTC if m["tz"] in ("Z", "UTC") else _offset(m["tz"])
    try:
        return dt.time(h, mi, sec), zone
    except ValueError:
        raise ValueProblem("has a time that does not exist") from None


def _offset(text: str):
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _make(y: int, m: int, d: int, time_text: str | None, tzinfo) -> tuple[dt.datetime, bool]:
    try:
        day = dt.date(y, m, d)
    except ValueError:
        raise ValueProblem("is not a date that exists") from None
    t, zone = _time(time_text, tzinfo)
    return dt.datetime.combine(day, t, tzinfo=zone or tzinfo), bool(time_text)


class DateReader:
    """Dates of one file. Numeric dates like 02/03/2024 are read day-first or month-first for
    the WHOLE file: given by the user (dayfirst True/False), or decided from the data: a value
    whose first number is over 12 proves day-first, whose second is over 12 proves month-first.
    While deciding (order None) every value is checked under both orders and the evidence is
    kept; `decide()` then returns the order or raises AmbiguousDates/MixedDates."""

    def __init__(self, tzinfo, dayfirst: bool | None = None):
        self.tz = tzinfo
        self.dayfirst = dayfirst
        self.evidence: dict[bool, str] = {}  # order -> first example "value (where)"
        self.undecided: str | None = None  # an example that needs the order

    def parse(self, value, where: str = "") -> tuple[dt.datetime, bool] | None:
        """(aware datetime, has_time) or None for an empty value."""
        if value is None:
            return None
        if isinstance(value, (dt.datetime, dt.date)):
            if not isinstance(value, dt.datetime):
                return dt.datetime.combine(value, dt.time(0, 0), tzinfo=self.tz), False
            return timeutil.aware(value, self.tz), True
        if isinstance(value, bool):
            raise ValueProblem("is not a date")
        if isinstance(value, (int, Decimal)):
            value = str(value)
        text = " ".join(str(value).split())
        if not text:
            return None
        if len(text) > 64:
            raise ValueProblem("is not a date (too long)")
        if _ISO.match(text):
            try:
                out = dt.datetime.fromisoformat(text.replace(" Z", "Z"))
            except ValueError:
                raise ValueProblem("is not a date that exists") from None
            return timeutil.aware(out, self.tz), len(text) > 10
        if _EPOCH.match(text):
            seconds = Decimal(text) / (1000 if len(text) == 13 else 1)
            return dt.datetime.fromtimestamp(float(seconds), timeutil.UTC).astimezone(self.tz), True
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
            raise ValueProblem("is not a date")
        try:  # month names: "March 3, 2024", "3 Mar 2024 10:00"
            out = du_parse(text, default=dt.datetime(2000, 1, 1), dayfirst=bool(self.dayfirst))
        except (ParserError, ValueError, OverflowError):
            raise ValueProblem("is not a date") from None
        return timeutil.aware(out, self.tz), bool(re.search(r"\d:\d", text))

    def _numeric(self, m, text: str, where: str) -> tuple[dt.datetime, bool]:
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
            raise ValueProblem("is not a date (neither day-first nor month-first)")
        if a != b and self.undecided is None:
            self.undecided = example
        return _make(y, b, a, m["time"], self.tz)  # tentative; the order is decided after the pass

    def decide(self) -> bool | None:
        """The order for the file (True day-first, False month-first, None: no numeric dates)."""
        if self.dayfirst is not None:
            return self.dayfirst
        if True in self.evidence and False in self.evidence:
            raise MixedDates(f"dates: the file has day-first dates ({self.evidence[True]}) and month-first "
                             f"dates ({self.evidence[False]}); fix the file or pass --dayfirst/--monthfirst "
                             "to read all of them one way")
        if self.evidence:
            return next(iter(self.evidence))
        if self.undecided:
            raise AmbiguousDates(f"dates: {self.undecided} could be day-first or month-first and no date in "
                                 "the file decides it; pass --dayfirst or --monthfirst (or set date_order in "
                                 "dealcli.yaml)")
        return None


class AmbiguousDates(ValueError):
    pass


class MixedDates(ValueError):
    pass


def to_date(value: dt.datetime, tzinfo) -> dt.date:
    return value.astimezone(tzinfo).date() if value.tzinfo else value.date()
