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


# ISO 4217 currency codes in circulation (2024), the only ones a deal, product, quote or lead takes.
CURRENCIES = frozenset("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
    BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
    USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())
# Words people type for a currency, for the hint of a refusal.
CURRENCY_WORDS = {"euro": "EUR", "euros": "EUR", "eur€": "EUR", "€": "EUR", "dollar": "USD", "dollars": "USD",
                  "$": "USD", "us$": "USD", "pound": "GBP", "pounds": "GBP", "£": "GBP", "sterling": "GBP",
                  "yen": "JPY", "¥": "JPY", "franc": "CHF", "francs": "CHF", "rouble": "RUB", "ruble": "RUB",
                  "₽": "RUB", "yuan": "CNY", "renminbi": "CNY", "rupee": "INR", "₹": "INR", "zloty": "PLN",
                  "krona": "SEK", "krone": "NOK", "real": "BRL", "hryvnia": "UAH", "lira": "TRY"}


def currency_problem(text) -> tuple[str | None, str]:
    """(the ISO 4217 code `text` names, "") or (None, a hint such as "did you mean EUR?")."""
    code = str(text or "").strip().upper()
    if code in CURRENCIES:
        return code, ""
    word = str(text or "").strip().lower()
    if word in CURRENCY_WORDS:
        return None, f"did you mean {CURRENCY_WORDS[word]}?"
    from dealcli.suggest import close_matches

    near = close_matches(code, sorted(CURRENCIES), n=3, cutoff=0.6)
    return None, (f"did you mean {' or '.join(near)}?" if near else "use a three-letter ISO 4217 code such as EUR")


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


def rates_table(config_rates, base: str) -> dict[str, Decimal]:
    """dealcli.yaml `rates:` (CODE -> units of the repository currency one unit is worth) as
    Decimals, with the repository currency itself at 1. Raises MoneyError naming a bad entry."""
    out = {base: Decimal(1)}
    if config_rates in (None, {}):
        return out
    if not isinstance(config_rates, dict):
        raise MoneyError("rates: expected a mapping CODE: RATE")
    for code, rate in config_rates.items():
        found, hint = currency_problem(code)
        if found is None:
            raise MoneyError(f"rates: {code!r} is not an ISO 4217 code ({hint})")
        if isinstance(rate, float):
            rate = repr(rate)  # YAML 1.08 arrives as a float: its shortest text is what was written
        value = to_decimal(rate, f"rates.{found}")
        if value <= 0:
            raise MoneyError(f"rates.{found}: a rate is more than 0")
        out[found] = value
    return out


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal]) -> Decimal:
    """`amount` in `source` expressed in `target` (exact Decimal arithmetic, rounded to cents at
    the end). Raises MoneyError when a rate is missing."""
    for code in (source, target):
        if code not in rates:
            raise MoneyError(f"no exchange rate for {code} (add it under rates: in dealcli.yaml)")
    if source == target:
        return amount
    return cents(amount * rates[source] / rates[target])


def check_total(total: Decimal, what: str = "the sum of the product rows") -> Decimal:
    """A sum of row totals, refused (MoneyError) when it reaches the amount limit."""
    if abs(total) >= MAX_AMOUNT:
        raise MoneyError(f"{what} {format(total, 'f')[:30]} is too large (limit {MAX_AMOUNT:,.0f})")
    return total
