"""Parsing of option values at the edge: the text a user typed into typed values (Decimal,
ProductRow, int). Commands and importers call these; core functions take the typed results.
An error is about the field the text came from (`amount`, `close_date`; errors.DealcliError.about):
the edge words it as the option typed (`--close-date`), any other caller reads the plain name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NoReturn

from dealcli import money, timeutil
from dealcli.errors import UsageError
from dealcli.model import ProductRow

ROW = "NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]]"
NAME_COLON = 'a colon in a name is written \\: or the name is quoted (Licence\\:Pro:240, "Licence:Pro":240)'


def parse_amount(text: str, field: str = "amount", currency: str | None = None) -> Decimal:
    """Plain decimal text (ASCII digits, '.' for decimals) -> Decimal; with `currency`, no more
    decimals than the currency has (money.check_places)."""
    try:
        value = money.to_decimal(text, "")
        return money.check_places(value, currency, "") if currency else value
    except money.MoneyError as exc:  # its message starts with the (empty) name: ": 'x' is not ..."
        raise UsageError.about(field, "{0}{problem}", problem=str(exc)) from None


def parse_currency(text: str, field: str = "currency") -> str:
    """An ISO 4217 code (any case) -> upper case; anything else is a usage error with a hint."""
    code, hint = money.currency_problem(text)
    if code is None:
        raise UsageError.about(field, "{0} {text!r}: not an ISO 4217 currency code ({hint})", text=text, hint=hint)
    return code


def split_spec(spec: str) -> list[tuple[int, str]]:
    """A product spec's parts between unescaped colons, each with the index where it starts. A
    backslash makes the next ':', '"' or '\\' literal; a part in double quotes keeps its colons (a
    doubled "" inside is one quote). Raises ValueError(index, why) for an unclosed quote."""
    parts: list[tuple[int, str]] = []
    buf: list[str] = []
    start, i, n = 0, 0, len(spec)
    while i < n:
        c = spec[i]
        if c == "\\" and i + 1 < n and spec[i + 1] in ':\\"':
            buf.append(spec[i + 1])
            i += 2
            continue
        if c == '"' and not "".join(buf).strip():
            close = i + 1
            while True:
                close = spec.find('"', close)
                if close < 0:
                    raise ValueError(i, "a quote that is not closed")
                if spec[close + 1:close + 2] == '"':
                    close += 2
                    continue
                break
            buf = [spec[i + 1:close].replace('""', '"')]
            i = close + 1
            rest = spec[i:spec.find(":", i) if ":" in spec[i:] else n]
            if rest.strip():
                raise ValueError(i, "text after the closing quote")
            i += len(rest)
            continue
        if c == ":":
            parts.append((start, "".join(buf)))
            buf, start = [], i + 1
        else:
            buf.append(c)
        i += 1
    parts.append((start, "".join(buf)))
    return parts


def parse_product(spec: str, field: str = "product") -> ProductRow:
    """NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]], read exactly: every number is plain decimal text (a
    '%' after the discount and tax), at most four numbers; anything else is refused naming the
    part and the character where it stops reading. A name holding a colon escapes it (\\:) or is
    quoted ("Licence:Pro":240). `Name::25` is refused: it is mostly meant as a catalogue product
    with a quantity."""
    def refuse(at: int, why: str) -> NoReturn:
        raise UsageError.about(field, "{0} {spec!r}: character {at}: {why}. A product row is {row}; {colon}",
                               spec=spec, why=why, at=at + 1, row=ROW, colon=NAME_COLON)

    try:
        parts = split_spec(spec)
    except ValueError as exc:
        refuse(*exc.args)
    if len(parts) < 2:
        raise UsageError.about(field, "{0} {spec!r}: expected {row} or a product id", spec=spec, row=ROW)
    if any(not text.strip() for _, text in parts[1:]):
        raise UsageError.about(field, "{0} {spec!r}: an empty part between colons. A product row is {row}; a "
                               "catalogue product with a quantity is ID:QTY or SKU:QTY (the full id or exact SKU, "
                               "e.g. {0} p7k2m9x4qa:25)", spec=spec, row=ROW)
    name = parts[0][1].strip()
    if not name:
        refuse(0, "the name is empty")
    if len(parts) > 5:
        refuse(parts[5][0] - 1, f"{len(parts) - 1} numbers after the name, at most 4")
    what = ("price", "quantity", "discount", "tax")
    values = []
    for (at, text), label in zip(parts[1:], what, strict=False):
        number = text.rstrip()
        if label in ("discount", "tax") and number.endswith("%"):
            number = number[:-1]
        try:
            values.append(money.percent(number, label) if label in ("discount", "tax")
                          else money.to_decimal(number, label))
        except money.MoneyError as exc:
            refuse(at + (exc.at or 0), f"the {label}: {exc.why}")
    price = values[0]
    qty = values[1] if len(values) > 1 else Decimal(1)
    if qty < 0:
        raise UsageError.about(field, "{0} {spec!r}: quantity cannot be negative", spec=spec)
    return ProductRow(name=name, price=price, quantity=qty, discount=values[2] if len(values) > 2 else Decimal(0),
                      tax_rate=values[3] if len(values) > 3 else Decimal(0))


def parse_probability(value: object, field: str = "probability") -> int:
    text = str(value).strip()
    if not text.lstrip("+-").isascii() or not text.lstrip("+-").isdigit():  # int() reads "１２" too
        raise UsageError.about(field, "{0}: {value!r} is not a whole number (ASCII digits 0-9)", value=value)
    n = int(text)
    if not 0 <= n <= 100:
        raise UsageError.about(field, "{0}: {n} is not between 0 and 100", n=n)
    return n


def split_assignment(text: str, field: str = "set") -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError.about(field, "{0} {text!r}: expected FIELD=VALUE", text=text)
    return name, value


def parse_date(text: str, now: dt.datetime, field: str, order: str | None = None) -> dt.date:
    """A date as typed (ISO, `tomorrow`, `+30d`, `next friday`, ...) relative to the session clock
    `now`; `order` is the repository's date_order for numeric dates (Session.date_order). An
    error is about `field` (`close_date`)."""
    try:
        return timeutil.parse_date(text, now, order)
    except timeutil.DateError as exc:
        raise UsageError.about(field, "{0}: {problem}", problem=str(exc)) from None
