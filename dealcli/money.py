"""Money is Decimal from parsing to output. Amounts are bounded so that a typo or an attack
cannot write a million-digit number into a deal file."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from dealcli.i18n import Text, _

MAX_AMOUNT = Decimal("1e15")  # one quadrillion
MAX_PLACES = 6
CENT = Decimal("0.01")
# a number as money is typed: ASCII digits only (no full-width or Arabic-Indic digits, no
# thousands separators, no exponent), one optional sign, one optional '.', '_' between digits
_PLAIN = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


class MoneyError(ValueError):
    """`at`: the index of the first character of the text that is not part of a number (or None);
    `why`: the problem without the name of the value (for a caller that words its own)."""

    def __init__(self, message: str, at: int | None = None, why: str | None = None):
        super().__init__(message)
        self.at, self.why = at, why or message.split(": ", 1)[-1]


# THE currency table: every ISO 4217 code a deal, product, quote or lead takes (list one, with the
# funds, metals and units; not XTS/XXX, which are no money) -> its minor unit, the number of
# decimal places an amount has in it. None is ISO's "N.A.": gold, silver, platinum, palladium,
# the SDR and the bond-market units have no minor unit, so an amount keeps up to MAX_PLACES
# places as typed. Every currency not listed with a number below has 2.
_MINOR = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
          BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
          FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
          KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
          NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
          SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
          VES WST XCD XCG YER ZAR ZMW ZWG ZWL""",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
    None: "XAG XAU XPD XPT XDR XSU XUA XBA XBB XBC XBD",
}
MINOR_UNITS: dict[str, int | None] = {code: n for n, codes in _MINOR.items() for code in codes.split()}
CURRENCIES = frozenset(MINOR_UNITS)
# Words people type for a currency, for the hint of a refusal.
CURRENCY_WORDS = {"euro": "EUR", "euros": "EUR", "eur€": "EUR", "€": "EUR", "dollar": "USD", "dollars": "USD",
                  "$": "USD", "us$": "USD", "pound": "GBP", "pounds": "GBP", "£": "GBP", "sterling": "GBP",
                  "yen": "JPY", "¥": "JPY", "franc": "CHF", "francs": "CHF", "rouble": "RUB", "ruble": "RUB",
                  "₽": "RUB", "yuan": "CNY", "renminbi": "CNY", "rupee": "INR", "₹": "INR", "zloty": "PLN",
                  "krona": "SEK", "krone": "NOK", "real": "BRL", "hryvnia": "UAH", "lira": "TRY"}


def currency_problem(text: object) -> tuple[str | None, str]:
    """(the ISO 4217 code `text` names, "") or (None, a hint such as "did you mean EUR?")."""
    code = str(text or "").strip().upper()
    if code in CURRENCIES:
        return code, ""
    word = str(text or "").strip().lower()
    if word in CURRENCY_WORDS:
        return None, Text("did you mean {currency_words_word}?", currency_words_word=CURRENCY_WORDS[word])
    from dealcli.suggest import close_matches

    near = close_matches(code, sorted(CURRENCIES), n=3, cutoff=0.6)
    return None, (Text("did you mean {near}?", near=" or ".join(near)) if near
                  else Text("use a three-letter ISO 4217 code such as EUR"))


def not_a_number(text: str) -> tuple[int, str]:
    """(index, why) of the first character of `text` that keeps it from reading as a plain
    decimal number, with a hint when the character tells what was meant (a decimal comma, a
    currency symbol, a letter O for a zero, a digit of another script)."""
    seen_digit = seen_dot = False
    start = len(text) - len(text.lstrip())
    body = text.strip()
    if not body:
        return start, Text("empty")
    for i, c in enumerate(body):
        at = start + i
        if c in "0123456789":
            seen_digit = True
        elif c in "+-" and i == 0:
            continue
        elif c == "." and not seen_dot:
            seen_dot = True
        elif c == "_" and seen_digit and i + 1 < len(body) and body[i + 1] in "0123456789":
            continue
        elif c == ".":
            return at, Text("a second '.'")
        elif c == ",":
            return at, Text("',': the decimal mark is '.', with no thousands separators (1234.50)")
        elif unicodedata.category(c) == "Sc":
            return at, Text("{c!r} is a currency sign: give the currency apart, as its ISO 4217 code", c=c)
        elif c.isdigit() or unicodedata.category(c) == "Nd":
            return at, Text("{c!r} is not an ASCII digit (only 0-9 are read)", c=c)
        elif c in "eE" and seen_digit:
            return at, Text("{c!r}: exponent notation is not money; write the digits", c=c)
        elif c in "OoIl":
            return at, Text("{c!r} is a letter, not a digit", c=c)
        else:
            return at, Text("{c!r} is not part of a number", c=c)
    return start + len(body) - 1, Text("no digit") if not seen_digit else Text("not a number")


def to_decimal(value: object, what: str = "amount", max_abs: Decimal = MAX_AMOUNT) -> Decimal:
    """Exact Decimal from a Decimal, int or plain decimal text ("1234.50", "-3", ".5", ASCII digits
    only). Floats are refused: they are already inexact. A refused text names the character
    where it stops reading as a number (MoneyError.at, 0-based; the message counts from 1)."""
    if isinstance(value, bool):
        raise MoneyError(_("{what}: expected a number, got {value!r}").format(what=what, value=value))
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        if len(text) > 40:
            raise MoneyError(_("{what}: {value_40!r}... is not a decimal number (too long)").format(
                what=what, value_40=value[:40]), 40)
        if not _PLAIN.match(text):
            at, why = not_a_number(value)
            raise MoneyError(_("{what}: {value!r} is not a decimal number (character {at_1}: {why})").format(
                what=what, value=value, at_1=at + 1, why=why), at,
                             Text("{value_strip!r} is not a decimal number: {why}", value_strip=value.strip(), why=why))
        dec = Decimal(text)
    elif isinstance(value, float):
        raise MoneyError(_("{what}: {value!r} is not a finite decimal number").format(what=what, value=value))
    else:
        raise MoneyError(_("{what}: expected a number, got {type_value_name}").format(
            what=what, type_value_name=type(value).__name__))
    if not dec.is_finite():
        raise MoneyError(_("{what}: {value!r} is not a finite number").format(what=what, value=value))
    if abs(dec) >= max_abs:
        raise MoneyError(_("{what}: {format_dec_f_30} is too large (limit {max_abs:,.0f})").format(
            what=what, format_dec_f_30=format(dec, 'f')[:30], max_abs=max_abs))
    exp = dec.as_tuple().exponent
    if isinstance(exp, int) and exp < -MAX_PLACES:
        # "420.00000000" (a database export's fixed scale) is exact: only non-zero digits
        # beyond the limit are refused; the zeros go, keeping at least two places
        trimmed = dec.quantize(Decimal(1).scaleb(-MAX_PLACES))
        if trimmed != dec:
            raise MoneyError(_("{what}: {value} has more than {max_places} decimal places").format(
                what=what, value=value, max_places=MAX_PLACES))
        dec = trimmed.normalize()
        if isinstance(exponent := dec.as_tuple().exponent, int) and exponent > -2:  # finite: an int
            dec = dec.quantize(CENT)
    return dec


def percent(value: object, what: str) -> Decimal:
    dec = to_decimal(value, what, max_abs=Decimal(1001))
    if dec < 0 or dec > 100:
        raise MoneyError(_("{what}: {value} is not a percentage between 0 and 100").format(what=what, value=value))
    return dec


def minor_unit(currency: str | None) -> int | None:
    """The decimal places of an amount in `currency` (ISO 4217's minor unit; None: no minor
    unit, up to MAX_PLACES as typed). An unknown or missing code counts as 2."""
    return MINOR_UNITS.get(str(currency or "").upper(), 2)


def cents(value: Decimal, currency: str | None = None) -> Decimal:
    """`value` rounded half-up to the minor unit of `currency` (cents when none is given; a
    currency without a minor unit keeps up to MAX_PLACES places)."""
    places = minor_unit(currency) if currency else 2
    return value.quantize(Decimal(1).scaleb(-(MAX_PLACES if places is None else places)), rounding=ROUND_HALF_UP)


def check_places(value: Decimal, currency: str, what: str = "amount") -> Decimal:
    """`value` when it has no more decimal places than `currency` has (trailing zeros do not
    count: 6.00 JPY is 6); MoneyError otherwise. Trailing zeros beyond the currency's places go."""
    places = minor_unit(currency)
    exp = value.as_tuple().exponent
    if places is None or not isinstance(exp, int) or -exp <= places:
        return value
    exact = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if exact != value:
        unit = "no decimal places" if places == 0 else f"{places} decimal place{'s' if places > 1 else ''}"
        raise MoneyError(_("{what}: {format_value_f} has more decimals than {currency} has ({unit})").format(
            what=what, format_value_f=format(value, 'f'), currency=currency, unit=unit))
    return exact


def canonical(value: Decimal) -> Decimal:
    """Money as written to files: at least two decimal places (1000 -> 1000.00), so a file
    always holds it as a decimal number, never as a YAML integer."""
    exp = value.as_tuple().exponent
    return value.quantize(CENT) if isinstance(exp, int) and exp > -2 else value


def fmt(value: Decimal | None, currency: str | None = None) -> str:
    """Plain text for a person, never exponent notation. With a currency: at its minor unit,
    rounded half-up (6 JPY, 1.250 BHD, 12.50 EUR; a metal as stored, without trailing zeros).
    Without one: at least two decimals."""
    if value is None:
        return ""
    if currency:
        places = minor_unit(currency)
        if places is None:
            text = format(value.normalize(), "f") if value else "0"
            return text
        return format(cents(value, currency), "f")
    if value == value.to_integral_value() or value.as_tuple().exponent == -1:
        value = value.quantize(CENT)
    return format(value, "f")


def row_total(price: Decimal, quantity: Decimal, discount: Decimal, tax_rate: Decimal,
              tax_included: bool, currency: str | None = None) -> Decimal:
    """price x quantity, less the discount (percent), plus tax unless the price includes it;
    rounded half-up to the currency's minor unit (cents without one), as invoices are."""
    total = price * quantity * (100 - discount) / 100
    if tax_rate and not tax_included:
        total = total * (100 + tax_rate) / 100
    if abs(total) >= MAX_AMOUNT:
        raise MoneyError(_("the row total {format_total_f_30} is too large (limit {max_amount:,.0f})").format(
            format_total_f_30=format(total, 'f')[:30], max_amount=MAX_AMOUNT))
    return cents(total, currency)


def rates_table(config_rates: object, base: str) -> dict[str, Decimal]:
    """dealcli.yaml `rates:` (CODE -> units of the repository currency one unit is worth) as
    Decimals, with the repository currency itself at 1. Raises MoneyError naming a bad entry."""
    out = {base: Decimal(1)}
    if config_rates in (None, {}):
        return out
    if not isinstance(config_rates, dict):
        raise MoneyError(_("rates: expected a mapping CODE: RATE"))
    for code, rate in config_rates.items():
        found, hint = currency_problem(code)
        if found is None:
            raise MoneyError(_("rates: {code!r} is not an ISO 4217 code ({hint})").format(code=code, hint=hint))
        if isinstance(rate, float):
            rate = repr(rate)  # YAML 1.08 arrives as a float: its shortest text is what was written
        value = to_decimal(rate, f"rates.{found}")
        if value <= 0:
            raise MoneyError(_("rates.{found}: a rate is more than 0").format(found=found))
        out[found] = value
    return out


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal]) -> Decimal:
    """`amount` in `source` expressed in `target` (exact Decimal arithmetic, rounded to the minor
    unit of `target` at the end). Raises MoneyError when a rate is missing."""
    for code in (source, target):
        if code not in rates:
            raise MoneyError(_("no exchange rate for {code} (add it under rates: in dealcli.yaml)").format(code=code))
    if source == target:
        return amount
    return cents(amount * rates[source] / rates[target], target)


def check_total(total: Decimal, what: str = "the sum of the product rows") -> Decimal:
    """A sum of row totals, refused (MoneyError) when it reaches the amount limit."""
    if abs(total) >= MAX_AMOUNT:
        raise MoneyError(_("{what} {format_total_f_30} is too large (limit {max_amount:,.0f})").format(
            what=what, format_total_f_30=format(total, 'f')[:30], max_amount=MAX_AMOUNT))
    return total
