"""Parsing of option values at the edge: the text a user typed into typed values (Decimal,
ProductRow, int). Commands and importers call these; core functions take the typed results.
An error is about the field the text came from (`amount`, `close_date`; errors.DealcliError.about):
the edge words it as the option typed (`--close-date`), any other caller reads the plain name."""

from __future__ import annotations

from decimal import Decimal

from dealcli import money, timeutil
from dealcli.errors import UsageError
from dealcli.model import ProductRow

ROW = "NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]]"


def parse_amount(text: str, field: str = "amount") -> Decimal:
    try:
        return money.to_decimal(text, "")
    except money.MoneyError as exc:  # its message starts with the (empty) name: ": 'x' is not ..."
        raise UsageError.about(field, "{0}{problem}", problem=str(exc)) from None


def parse_currency(text: str, field: str = "currency") -> str:
    """An ISO 4217 code (any case) -> upper case; anything else is a usage error with a hint."""
    code, hint = money.currency_problem(text)
    if code is None:
        raise UsageError.about(field, "{0} {text!r}: not an ISO 4217 currency code ({hint})", text=text, hint=hint)
    return code


def parse_product(spec: str, field: str = "product") -> ProductRow:
    """NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]] (a name may itself hold colons, but no empty part:
    `Name::25` is refused, as it is mostly meant as a catalogue product with a quantity)."""
    if "::" in spec or spec.rstrip().endswith(":"):
        raise UsageError.about(field, "{0} {spec!r}: an empty part between colons. A product row is {row}; a "
                               "catalogue product with a quantity is ID:QTY or SKU:QTY (the full id or exact SKU, "
                               "e.g. {0} p7k2m9x4qa:25)", spec=spec, row=ROW)
    parts = spec.split(":")
    numeric = 0
    for part in reversed(parts[1:]):
        if numeric == 4 or not _is_number(part.rstrip("%")):
            break
        numeric += 1
    if numeric == 0 or not ":".join(parts[: len(parts) - numeric]).strip():
        raise UsageError.about(field, "{0} {spec!r}: expected {row} or a product id", spec=spec, row=ROW)
    name = ":".join(parts[: len(parts) - numeric]).strip()
    nums = [p.rstrip("%") for p in parts[len(parts) - numeric:]]
    try:
        price = money.to_decimal(nums[0], "price")
        qty = money.to_decimal(nums[1], "quantity") if len(nums) > 1 else Decimal(1)
        discount = money.percent(nums[2], "discount") if len(nums) > 2 else Decimal(0)
        tax = money.percent(nums[3], "tax") if len(nums) > 3 else Decimal(0)
    except money.MoneyError as exc:
        raise UsageError.about(field, "{0} {spec!r}: {problem}", spec=spec, problem=str(exc)) from None
    if qty < 0:
        raise UsageError.about(field, "{0} {spec!r}: quantity cannot be negative", spec=spec)
    return ProductRow(name=name, price=price, quantity=qty, discount=discount, tax_rate=tax)


def _is_number(text: str) -> bool:
    try:
        money.to_decimal(text)
        return True
    except money.MoneyError:
        return False


def parse_probability(value, field: str = "probability") -> int:
    try:
        n = int(str(value))
    except ValueError:
        raise UsageError.about(field, "{0}: {value!r} is not a whole number", value=value) from None
    if not 0 <= n <= 100:
        raise UsageError.about(field, "{0}: {n} is not between 0 and 100", n=n)
    return n


def split_assignment(text: str, field: str = "set") -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError.about(field, "{0} {text!r}: expected FIELD=VALUE", text=text)
    return name, value


def parse_date(text: str, now, field: str, order: str | None = None):
    """A date as typed (ISO, `tomorrow`, `+30d`, `next friday`, ...) relative to the session clock
    `now`; `order` is the repository's date_order for numeric dates (Session.date_order). An
    error is about `field` (`close_date`)."""
    try:
        return timeutil.parse_date(text, now, order)
    except timeutil.DateError as exc:
        raise UsageError.about(field, "{0}: {problem}", problem=str(exc)) from None
