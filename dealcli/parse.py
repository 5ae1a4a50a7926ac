"""Parsing of option values at the edge: the text a user typed into typed values (Decimal,
ProductRow, int). Commands and importers call these; core functions take the typed results.
Errors name the option the text came from."""

from __future__ import annotations

from decimal import Decimal

from dealcli import money, timeutil
from dealcli.errors import UsageError
from dealcli.model import ProductRow


def parse_amount(text: str, what: str = "--amount") -> Decimal:
    try:
        return money.to_decimal(text, what)
    except money.MoneyError as exc:
        raise UsageError(str(exc)) from None


def parse_currency(text: str, what: str = "--currency") -> str:
    """An ISO 4217 code (any case) -> upper case; anything else is a usage error with a hint."""
    code, hint = money.currency_problem(text)
    if code is None:
        raise UsageError(f"{what} {text!r}: not an ISO 4217 currency code ({hint})")
    return code


def parse_product(spec: str) -> ProductRow:
    """NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]] (a name may itself hold colons, but no empty part:
    `Name::25` is refused, as it is mostly meant as a catalogue product with a quantity)."""
    if "::" in spec or spec.rstrip().endswith(":"):
        raise UsageError(f"--product {spec!r}: an empty part between colons. A product row is "
                         "NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]]; a catalogue product with a quantity is "
                         "ID:QTY or SKU:QTY (the full id or exact SKU, e.g. --product p7k2m9x4qa:25)")
    parts = spec.split(":")
    numeric = 0
    for part in reversed(parts[1:]):
        if numeric == 4 or not _is_number(part.rstrip("%")):
            break
        numeric += 1
    if numeric == 0 or not ":".join(parts[: len(parts) - numeric]).strip():
        raise UsageError(f"--product {spec!r}: expected NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]] or a product id")
    name = ":".join(parts[: len(parts) - numeric]).strip()
    nums = [p.rstrip("%") for p in parts[len(parts) - numeric:]]
    try:
        price = money.to_decimal(nums[0], "price")
        qty = money.to_decimal(nums[1], "quantity") if len(nums) > 1 else Decimal(1)
        discount = money.percent(nums[2], "discount") if len(nums) > 2 else Decimal(0)
        tax = money.percent(nums[3], "tax") if len(nums) > 3 else Decimal(0)
    except money.MoneyError as exc:
        raise UsageError(f"--product {spec!r}: {exc}") from None
    if qty < 0:
        raise UsageError(f"--product {spec!r}: quantity cannot be negative")
    return ProductRow(name=name, price=price, quantity=qty, discount=discount, tax_rate=tax)


def _is_number(text: str) -> bool:
    try:
        money.to_decimal(text)
        return True
    except money.MoneyError:
        return False


def parse_probability(value) -> int:
    try:
        n = int(str(value))
    except ValueError:
        raise UsageError(f"--probability: {value!r} is not a whole number") from None
    if not 0 <= n <= 100:
        raise UsageError(f"--probability: {n} is not between 0 and 100")
    return n


def split_assignment(text: str, option: str = "--set") -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"{option} {text!r}: expected FIELD=VALUE")
    return name, value


def parse_date(text: str, now, option: str, order: str | None = None):
    """A date as typed (ISO, `tomorrow`, `+30d`, `next friday`, ...) relative to the session clock
    `now`; `order` is the repository's date_order for numeric dates (Session.date_order)."""
    try:
        return timeutil.parse_date(text, now, order)
    except timeutil.DateError as exc:
        raise UsageError(f"{option}: {exc}") from None
