"""Money is Decimal from parsing to output. Amounts are bounded so that a typo or an attack
cannot write a million-digit number into a deal file."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

MAX_AMOUNT = Decimal("1e15")  # one quadrillion
MAX_PLACES = 6
CENT = Decimal("0.01")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class MoneyError(ValueError):
    pass


def to_decimal(value, what: str = "amount", max_abs: Decimal = MAX_AMOUNT) -> Decimal:
    """Exact Decimal from a Decimal, int or plain decimal text ("1234.50", "-3", ".5").
    Floats are refused: they are already inexact."""
    if isinstance(value, bool):
        raise MoneyError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        if len(text) > 40 or not _PLAIN.match(text):
            raise MoneyError(f"{what}: {value[:40]!r} is not a decimal number")
        dec = Decimal(text)
    elif isinstance(value, float):
        raise MoneyError(f"{what}: {value!r} is not a finite decimal number")
    else:
        raise MoneyError(f"{what}: expected a number, got {type(value).__name__}")
    if not dec.is_finite():
        raise MoneyError(f"{what}: {value!r} is not a finite number")
    if abs(dec) >= max_abs:
        raise MoneyError(f"{what}: {format(dec, 'f')[:30]} is too large (limit {max_abs:,.0f})")
    exp = dec.as_tuple().exponent
    if isinstance(exp, int) and exp < -MAX_PLACES:
        raise MoneyError(f"{what}: {value} has more than {MAX_PLACES} decimal places")
    return dec


def percent(value, what: str) -> Decimal:
    dec = to_decimal(value, what, max_abs=Decimal(1001))
    if dec < 0 or dec > 100:
        raise MoneyError(f"{what}: {value} is not a percentage between 0 and 100")
    return dec


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def canonical(value: Decimal) -> Decimal:
    """Money as written to files: at least two decimal places (1000 -> 1000.00), so a file
    always holds it as a decimal number, never as a YAML integer."""
    exp = value.as_tuple().exponent
    return value.quantize(CENT) if isinstance(exp, int) and exp > -2 else value


def fmt(value: Decimal | None) -> str:
    """Plain text with at least two decimals, never exponent notation."""
    if value is None:
        return ""
    if value == value.to_integral_value() or value.as_tuple().exponent == -1:  # type: ignore[operator]
        value = value.quantize(CENT)
    return format(value, "f")


def row_total(price: Decimal, quantity: Decimal, discount: Decimal, tax_rate: Decimal,
              tax_included: bool) -> Decimal:
    """price x quantity, less the discount (percent), plus tax unless the price includes it;
    rounded half-up to cents (as invoices are)."""
    total = price * quantity * (100 - discount) / 100
    if tax_rate and not tax_included:
        total = total * (100 + tax_rate) / 100
    if abs(total) >= MAX_AMOUNT:
        raise MoneyError(f"the row total {format(total, 'f')[:30]} is too large (limit {MAX_AMOUNT:,.0f})")
    return cents(total)


def check_total(total: Decimal, what: str = "the sum of the product rows") -> Decimal:
    """A sum of row totals, refused (MoneyError) when it reaches the amount limit."""
    if abs(total) >= MAX_AMOUNT:
        raise MoneyError(f"{what} {format(total, 'f')[:30]} is too large (limit {MAX_AMOUNT:,.0f})")
    return total
