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


from dealcli import money, timeutil


from dealcli.errors import ValueProblem  # noqa: E402 - a value that cannot be read
from dealcli import i18n


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
            raise ValueProblem(i18n._("is not an amount"))
        return m["rest"].strip(), code
    return text.strip(), None


def parse_amount(value) -> tuple[Decimal | None, str | None]:
    """(amount, currency or None); (None, None) for an empty value."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueProblem(i18n._("expected an amount, got a boolean"))
    if isinstance(value, (int, Decimal)):
        return _bounded(value), None
    if isinstance(value, float):
        return _bounded(Decimal(repr(value))), None
    text = str(value).strip()
    if not text:
        return None, None
    if len(text) > 60:
        raise ValueProblem(i18n._("is not an amount (too long)"))
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
        raise ValueProblem(i18n._("is not an amount"))
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal_mark = "." if number.rfind(".") > number.rfind(",") else ","
        group = "," if decimal_mark == "." else "."
        if number.count(decimal_mark) > 1:
            raise ValueProblem(i18n._("is not an amount (two decimal marks)"))
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
        raise ValueProblem(i18n._("is not a percentage between 0 and 100"))
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
    raise ValueProblem(i18n._("is not a yes/no value (1/0, true/false, yes/no, y/n)"))


# -- dates --------------------------------------------------------------------------------------
# numeric and textual dates: one reader for the CLI and import (timeutil.DateReader)
DateReader = timeutil.DateReader  # one name a line: mypy takes each as a type alias
AmbiguousDates = timeutil.AmbiguousDates
MixedDates = timeutil.MixedDates
_NUMERIC = timeutil._NUMERIC


def to_date(value: dt.datetime, tzinfo) -> dt.date:
    return value.astimezone(tzinfo).date() if value.tzinfo else value.date()
