"""Issue 27, item 1: every amount, price, discount and tax reads exactly or is refused (exit 2,
naming the text and the character); currencies follow ISO 4217 with their minor units."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dealcli import money, parse
from dealcli.errors import UsageError


def _deal(cli, *args):
    return json.loads(cli.ok("deal", "show", cli.ok("deal", "add", "T", "-q", *args).strip(), "-f", "json"),
                      parse_float=Decimal)


@pytest.mark.parametrize("spec, where", [
    ("Licence:24O:40", "character 11: the price: '24O' is not a decimal number: 'O' is a letter"),
    ("Licence:240,50:40", "character 12: the price: '240,50' is not a decimal number: ',': the decimal mark is '.'"),
    ("Licence:€240:40", "character 9: the price: '€240' is not a decimal number: '€' is a currency sign"),
    ("Licence:240.123456789:1", "character 9: the price: 240.123456789 has more than 6 decimal places"),
    ("Licence:240:40:10:20:30", "character 21: 5 numbers after the name, at most 4"),
    ("Licence:２４０:1", "character 9: the price: '２４０' is not a decimal number: '２' is not an ASCII digit"),
    ("Licence:240:1:10%x", "character 17: the discount: '10%x' is not a decimal number"),
    ("Licence:240:1:200", "character 15: the discount: 200 is not a percentage between 0 and 100"),
    ("Setup: phase 1:1500", "character 8: the price: 'phase 1' is not a decimal number"),
    ('"Licence:240', "character 1: a quote that is not closed"),
])
def test_a_product_spec_that_does_not_read_exactly_is_refused(cli, spec, where):
    out = cli("deal", "add", "T", "--product", spec)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"dealcli: error: --product {spec!r}: {where}")
    assert "a colon in a name is written \\:" in out.stderr
    assert cli.ok("filter", "-f", "ids", "title=T") == ""  # nothing was written


@pytest.mark.parametrize("spec, name, amount", [
    ("Licence:240:40:10", "Licence", "8640.00"),
    ("Licence:240:40:10%:20%", "Licence", "10368.00"),
    (r"Licence\:Pro:240:2", "Licence:Pro", "480.00"),
    ('"Licence: Pro":240:2', "Licence: Pro", "480.00"),
    ('"Say ""hi""":1', 'Say "hi"', "1.00"),
    (r"Back\\slash:1", "Back\\slash", "1.00"),
])
def test_a_name_with_a_colon_is_escaped_or_quoted(cli, spec, name, amount):
    deal = _deal(cli, "--product", spec)
    assert deal["products"][0]["name"] == name and str(deal["amount"]) == amount


@pytest.mark.parametrize("text", ["１２３", "١٢٣", "12,5", "1e3", "€5", "5 EUR", "1.2.3", ""])
def test_amount_takes_ascii_digits_only(cli, text):
    out = cli("deal", "add", "T", "--amount", text)
    assert out.returncode == 2 and out.stderr.startswith(f"dealcli: error: --amount: {text!r} is not a decimal number")
    assert "(character " in out.stderr


def test_the_position_is_that_of_the_first_bad_character():
    with pytest.raises(UsageError) as err:
        parse.parse_amount("  12x4")
    assert "(character 5: 'x' is not part of a number)" in err.value.message


def test_currencies_are_iso_4217_with_their_minor_units(cli):
    assert money.minor_unit("JPY") == 0 and money.minor_unit("BHD") == 3 and money.minor_unit("EUR") == 2
    assert money.minor_unit("CLF") == 4 and money.minor_unit("XAU") is None
    assert "XTS" not in money.CURRENCIES and "XXX" not in money.CURRENCIES
    # gold is a currency (ISO 4217 XAU) without a minor unit: an amount keeps its places
    assert _deal(cli, "--currency", "XAU", "--amount", "1.234567")["amount"] == Decimal("1.234567")
    # too many decimals for the currency: refused, naming the currency's places
    out = cli("deal", "add", "T", "--currency", "JPY", "--amount", "5.5")
    assert out.returncode == 2 and "--amount: 5.5 has more decimals than JPY has (no decimal places)" in out.stderr
    out = cli("deal", "add", "T", "--currency", "BHD", "--amount", "1.2345")
    assert out.returncode == 2 and "1.2345 has more decimals than BHD has (3 decimal places)" in out.stderr
    out = cli("lead", "add", "L", "--currency", "JPY", "--amount", "2.5")
    assert out.returncode == 2 and "--amount: 2.5 has more decimals than JPY" in out.stderr
    assert _deal(cli, "--currency", "BHD", "--amount", "1.234")["amount"] == Decimal("1.234")
    assert _deal(cli, "--currency", "JPY", "--amount", "6.00")["amount"] == Decimal("6.00")  # zeros do not count


def test_row_totals_round_to_the_currency_and_views_show_its_places(cli):
    deal = _deal(cli, "--currency", "JPY", "--product", "SMS:0.5:3")  # 1.5 yen -> 2 (half up, as invoices)
    assert deal["amount"] == 2
    did = deal["id"]
    card = cli.ok("deal", "show", did)
    assert "amount         2 JPY (from products)" in card
    table = cli.ok("filter", f"id={did}", "--columns", "id,amount,currency")
    assert "2  JPY" in table and "2.00" not in table
    bhd = _deal(cli, "--currency", "BHD", "--amount", "1.5")["id"]
    assert "1.500 BHD" in cli.ok("deal", "show", bhd)
    # a stored 5.50 JPY (written before this rule, or by hand) shows as the yen it is: 6 JPY
    assert money.fmt(Decimal("5.50"), "JPY") == "6" and money.fmt(Decimal("5.50")) == "5.50"
    assert money.fmt(Decimal("1.2500"), "XAU") == "1.25" and money.fmt(Decimal("0"), "XAU") == "0"


def test_a_currency_change_that_leaves_too_many_decimals_is_refused(cli):
    did = cli.ok("deal", "add", "T", "--amount", "10.50", "-q").strip()
    out = cli("deal", "edit", did, "--set", "currency=JPY")
    assert out.returncode == 2 and "10.50 has more decimals than JPY has" in out.stderr


@pytest.mark.parametrize("args", [("--probability", "５０"), ("--set", "amount=１２"), ("--set", "amount=1,5")])
def test_every_number_of_a_deal_is_read_in_ascii_digits(cli, args):
    out = cli("deal", "add", "T", *args)
    assert out.returncode == 2 and "not a " in out.stderr


def test_catalogue_prices_and_quantities_are_strict(cli):
    out = cli("product", "add", "Seat", "--price", "24O")
    assert out.returncode == 2 and "'O' is a letter" in out.stderr
    cli.ok("product", "add", "Seat", "--price", "240", "--sku", "S1")
    out = cli("deal", "add", "T", "--product", "S1:２")
    assert out.returncode == 2 and "not an ASCII digit" in out.stderr
