"""The catalogue records' models (issue 11): products, leads and quotes are typed models
(dealcli/model/product.py, lead.py, quote.py) that read and write their files byte for byte; the
core creates and changes them through the models, writes what it wrote before, and never names an
--option (an error carries its field; the edge words it)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import Runner
from dealcli import leads, lifecycle, products, quotes
from dealcli.errors import CorruptData, FieldError, UsageError
from dealcli.model import ProductRow, model_of
from dealcli.model.lead import Lead
from dealcli.model.product import Product
from dealcli.model.quote import Quote
from dealcli.storage import convert, yamlcodec

DEMO = Path(__file__).resolve().parent.parent / "demo-repo"
KINDS = ("products", "leads", "quotes")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The sample repository `make demo` builds (`dealcli init --example`)."""
    root = tmp_path_factory.mktemp("sample") / "repo"
    Runner(root.parent)("init", root, "--example", "--timezone", "UTC", check=True)
    return root


def _sample_files(root: Path) -> list[Path]:
    return sorted(p for kind in KINDS for p in root.glob(f"{kind}/*.yaml"))


def _round_trip(path: Path) -> None:
    raw = path.read_bytes()
    obj = model_of(path.parent.name).from_dict(yamlcodec.loads(raw, str(path)))
    assert yamlcodec.dumps(obj.to_dict()).encode("utf-8") == raw, path
    assert yamlcodec.dumps(convert.dump(obj)).encode("utf-8") == raw, path


def test_the_registry_names_these_models():
    assert (model_of("products"), model_of("leads"), model_of("quotes")) == (Product, Lead, Quote)


def test_every_sample_record_converts_back_to_the_same_bytes(sample):
    files = _sample_files(sample)
    assert {p.parent.name for p in files} == set(KINDS)
    for path in files:
        _round_trip(path)


@pytest.mark.parametrize("path", [p for p in DEMO.glob("*/*.yaml") if p.parent.name in KINDS] or [None],
                         ids=lambda p: f"{p.parent.name}/{p.name}" if p else "no-demo-repo")
def test_every_record_of_demo_repo_converts_back_to_the_same_bytes(path, sample):
    """./demo-repo when `make demo` made it; else the same sample built here."""
    for one in [path] if path else _sample_files(sample):
        _round_trip(one)


def test_edited_records_convert_back_to_the_same_bytes(repo, cli):
    """What edits leave (a `modified` key, nulls from --unset, a converted lead) reads back as is."""
    pid = cli.ok("product", "add", "Seat", "--price", "120.50", "--tax", "20", "--sku", "SEAT").strip()
    cli.ok("product", "edit", pid, "--unset", "tax_included", "--unset", "tax_rate", "--unset", "sku")
    lid = cli.ok("lead", "add", "L", "--contact-name", "Ann", "--amount", "12.5").strip()
    cli.ok("lead", "convert", lid)
    qid = cli.ok("quote", "add", "Q", "--product", "Seat:2", "--product", "Other:9.99:3:5:7").strip()
    cli.ok("quote", "edit", qid, "--set", "valid_until=2026-04-01", "--unset", "comment")
    files = _sample_files(repo)
    assert len(files) == 3
    text = (repo / "products" / f"{pid}.yaml").read_text()
    assert "tax_included: null\n" in text and text.endswith("modified: 2026-03-10T12:00:00+00:00\n")
    for path in files:
        _round_trip(path)


# -- a bad value is named by its path ------------------------------------------------------------
GOOD = {
    Product: {"id": "p1", "name": "Seat", "price": 10},
    Lead: {"id": "l1", "title": "T"},
    Quote: {"id": "q1", "title": "T", "products": [{"name": "a", "price": 1}, {"name": "b", "price": 2}]},
}


@pytest.mark.parametrize("cls, change, path", [
    (Product, {"price": "cheap"}, ("price",)),
    (Product, {"price": -1}, ("price",)),
    (Product, {"name": ""}, ("name",)),
    (Product, {"tax_rate": 150}, ("tax_rate",)),
    (Product, {"tax_included": "yes"}, ("tax_included",)),
    (Product, {"created": "yesterday"}, ("created",)),
    (Product, {"modified": "later"}, ("modified",)),
    (Lead, {"status": "lost"}, ("status",)),
    (Lead, {"email": "nobody"}, ("email",)),
    (Lead, {"amount": True}, ("amount",)),
    (Lead, {"converted_at": "2026-01-01T10:00"}, ("converted_at",)),
    (Quote, {"valid_until": "someday"}, ("valid_until",)),
    (Quote, {"contacts": "c1"}, ("contacts",)),
    (Quote, {"products": [{"name": "a"}, {"name": "b", "quantity": -1}]}, ("products", 1, "quantity")),
    (Quote, {"products": [{"name": "a"}, {"price": 1}]}, ("products", 1, "name")),
    (Quote, {"products": [{"name": "a", "discount": 101}]}, ("products", 0, "discount")),
])
def test_a_bad_value_is_named_by_its_path(cls, change, path):
    cls.from_dict(GOOD[cls])  # the base record is fine
    with pytest.raises(FieldError) as caught:
        cls.from_dict({**GOOD[cls], **change})
    assert caught.value.path == path


def test_a_bad_file_is_corrupt_data_naming_file_and_line(repo, cli):
    qid = cli.ok("quote", "add", "Q", "--product", "A:1", "--product", "B:2:3").strip()
    path = repo / "quotes" / f"{qid}.yaml"
    path.write_text(path.read_text().replace("quantity: 3", "quantity: lots"))
    for args in (("quote", "show", qid), ("quote", "edit", qid, "--set", "title=X"),
                 ("deal", "add", "D", "--from", f"quote:{qid}")):
        out = cli(*args)
        assert out.returncode == 5, args
        line = path.read_text().splitlines().index("  quantity: lots") + 1
        assert f"{path}:{line}: products[1].quantity" in out.stderr, out.stderr


def test_when_set_leaves_out_a_key_without_a_value():
    data = {"format": 1, "id": "p1", "name": "Seat", "price": Decimal("1.5"), "currency": "EUR", "tax_rate": 0,
            "tax_included": False, "sku": None, "unit": None, "created": None, "created_by": None}
    product = Product.from_dict(data)
    assert product.modified is None and "modified" not in product.to_dict()
    product.modified = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)
    out = product.to_dict()
    assert list(out)[-1] == "modified" and out["modified"] == "2026-03-10T12:00:00+00:00"


def test_quote_rows_are_deal_product_rows():
    quote = Quote.from_dict({"id": "q", "title": "T", "products": [{"name": "a", "price": 10, "quantity": 3,
                                                                     "discount": 10}]})
    assert isinstance(quote.products[0], ProductRow)
    assert quote.rows_total() == Decimal("27.00")


# -- what the commands write is unchanged -------------------------------------------------------------
def _file(repo: Path, kind: str, record_id: str, names: dict) -> str:
    text = (repo / kind / f"{record_id}.yaml").read_text()
    for name, rid in names.items():
        text = text.replace(rid, name)
    return text


PRODUCT_ADDED = """\
format: 1
id: SEAT
name: Seat
price: 120.50
currency: USD
tax_rate: 20
tax_included: false
sku: SEAT-1
unit: month
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
"""
PRODUCT_EDITED = """\
format: 1
id: SEAT
name: Seat
price: 99.90
currency: EUR
tax_rate: null
tax_included: true
sku: null
unit: piece
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
modified: 2026-03-10T12:00:00+00:00
"""


def test_product_add_and_edit_write_what_they_wrote_before(repo, cli):
    pid = cli.ok("product", "add", "Seat", "--price", "120.50", "--tax", "20", "--sku", "SEAT-1", "--unit",
                 "month").strip()
    big = cli.ok("product", "add", "Big", "--price", "1000", "--tax-included", "--currency", "eur").strip()
    assert _file(repo, "products", pid, {"SEAT": pid}) == PRODUCT_ADDED
    assert "price: 1000\n" in _file(repo, "products", big, {}) and "tax_included: true\n" in _file(
        repo, "products", big, {})
    cli.ok("product", "edit", pid, "--set", "price=99.90", "--set", "tax_included=yes", "--set", "unit=  piece ",
           "--set", "currency=eur", "--unset", "tax_rate", "--unset", "sku")
    assert _file(repo, "products", pid, {"SEAT": pid}) == PRODUCT_EDITED


LEAD_CONVERTED = """\
format: 1
id: LEAD
title: Intranet
status: converted
contact_name: Laura C
company_name: Northwind
email: l@n.example
phone: +1 425 555 0199
source: fair
amount: 8000
currency: EUR
responsible: tester@example.com
deal: DEAL
converted_at: 2026-03-10T12:00:00+00:00
converted_by: tester@example.com
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
modified: 2026-03-10T12:00:00+00:00
"""
LEAD_EDITED = """\
format: 1
id: LEAD
title: Plain
status: new
contact_name: null
company_name: null
email: null
phone: 555 0199
source: null
amount: null
currency: GBP
responsible: x@y
deal: null
converted_at: null
converted_by: null
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
modified: 2026-03-10T12:00:00+00:00
"""


def test_lead_add_edit_and_convert_write_what_they_wrote_before(repo, cli):
    lid = cli.ok("lead", "add", "Intranet", "--contact-name", " Laura  C ", "--company-name", "Northwind",
                 "--email", "l@n.example", "--phone", "+1 425 555 0199", "--source", "web", "--amount", "8000",
                 "--currency", "eur").strip()
    added = _file(repo, "leads", lid, {"LEAD": lid})
    assert added.startswith("format: 1\nid: LEAD\ntitle: Intranet\nstatus: new\n") and "modified" not in added
    deal = cli.ok("lead", "convert", lid).strip()
    cli.ok("lead", "edit", lid, "--set", "source=fair")
    assert _file(repo, "leads", lid, {"LEAD": lid, "DEAL": deal}) == LEAD_CONVERTED
    deal_text = (repo / "deals" / f"{deal}.yaml").read_text()
    assert "amount: 8000.00\ncurrency: EUR\nmanual_amount: true\n" in deal_text and deal_text.endswith(f"lead: {lid}\n")
    assert cli("lead", "convert", lid).returncode == 1
    plain = cli.ok("lead", "add", "Plain", "--email", "p@x.example", "--amount", "3").strip()
    cli.ok("lead", "edit", plain, "--set", "amount=12.5", "--set", "phone=555 0199", "--set", "currency=gbp",
           "--set", "responsible=x@y")
    cli.ok("lead", "edit", plain, "--unset", "email", "--unset", "amount")
    assert _file(repo, "leads", plain, {"LEAD": plain}) == LEAD_EDITED


QUOTE_ADDED = """\
format: 1
id: QUOTE
title: Offer
company: COMPANY
contacts:
- CONTACT
products:
- name: Consulting
  product: CONS
  price: 120.00
  quantity: 10
  discount: 5
  tax_rate: 19
  tax_included: false
- name: Printer lease
  product: null
  price: 75.00
  quantity: 24
  discount: 0
  tax_rate: 0
  tax_included: false
amount: 3156.60
currency: USD
valid_until: 2026-04-30
comment: Net 30
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
"""
QUOTE_EDITED = """\
format: 1
id: QUOTE
title: New
company: null
contacts:
- CONTACT
products:
- name: Consulting
  product: CONS
  price: 120.00
  quantity: 10
  discount: 5
  tax_rate: 19
  tax_included: false
- name: Printer lease
  product: null
  price: 75.00
  quantity: 24
  discount: 0
  tax_rate: 0
  tax_included: false
amount: 3156.60
currency: USD
valid_until: 2026-03-24
comment: hello there
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
modified: 2026-03-10T12:00:00+00:00
"""


def test_quote_add_and_edit_write_what_they_wrote_before(repo, cli):
    cons = cli.ok("product", "add", "Consulting", "--price", "120", "--sku", "CONS-1", "--tax", "19").strip()
    qid = cli.ok("quote", "add", "Offer", "--product", "CONS-1:10:5", "--product", "Printer lease:75:24",
                 "--company", "Wide World", "--contact", "Robert King", "--valid-until", "2026-04-30",
                 "--comment", "Net 30").strip()
    company = cli.ok("company", "list", "-f", "ids").strip()
    contact = cli.ok("contact", "list", "-f", "ids").strip()
    names = {"QUOTE": qid, "CONS": cons, "COMPANY": company, "CONTACT": contact}
    assert _file(repo, "quotes", qid, names) == QUOTE_ADDED
    cli.ok("quote", "edit", qid, "--set", "valid_until=+2w", "--set", "comment=  hello   there ", "--set", "title=New",
           "--unset", "company")
    assert _file(repo, "quotes", qid, names) == QUOTE_EDITED
    deal = cli.ok("deal", "add", "From quote", "--from", f"quote:{qid}").strip()
    deal_text = (repo / "deals" / f"{deal}.yaml").read_text()
    assert f"product: {cons}\n  price: 120.00\n  quantity: 10\n  discount: 5\n" in deal_text
    assert deal_text.endswith(f"quote: {qid}\n")


# -- the core names fields, the edge words them as options ------------------------------------------
@pytest.mark.parametrize("args, message", [
    (("product", "add", "X", "--price", "cheap"), "--price: 'cheap' is not a decimal number"),
    (("product", "add", "X", "--price", "-5"), "--price -5: a price cannot be negative"),
    (("product", "add", "X", "--price", "1", "--tax", "150"), "--tax: 150 is not a percentage between 0 and 100"),
    (("product", "add", "X", "--price", "1", "--sku", "S1"), "--sku 'S1': product PID already has this SKU"),
    (("product", "edit", "PID", "--set", "price=abc"), "--set price: 'abc' is not a decimal number"),
    (("product", "edit", "PID", "--set", "tax_rate=101"), "--set tax_rate: 101 is not a percentage between 0 and 100"),
    (("product", "edit", "PID", "--set", "tax_included=maybe"), "--set tax_included='maybe': expected true or false"),
    (("product", "edit", "PID", "--set", "pric=1"), "--set pric: not a field of a product (did you mean 'price'?) "
                                                    "(fields: name, price, currency, tax_rate, tax_included, "
                                                    "sku, unit)"),
    (("product", "edit", "PID", "--unset", "price"), "--unset price: not a field a product can be without"),
    (("product", "edit", "PID"), "product edit: nothing to change (give --set FIELD=VALUE or --unset FIELD)"),
    (("deal", "add", "D", "--product", "S1:-3"), "--product PID: quantity cannot be negative"),
    (("deal", "add", "D", "--product", "S1:x"), "--product PID: quantity: 'x' is not a decimal number"),
    (("deal", "add", "D", "--product", ""), "--product: empty"),
    (("lead", "list", "--status", "odd"), "--status 'odd': expected one of new, converted"),
    (("quote", "add", "Q", "--valid-until", "someday"), "--valid-until: cannot read 'someday' as a date"),
    (("quote", "edit", "QID", "--set", "valid_until=someday"), "--set valid_until: cannot read 'someday' as a date"),
    (("quote", "edit", "QID", "--unset", "title"), "--unset title: not a field a quote can be without"),
])
def test_the_cli_words_each_field_as_the_option_typed(repo, cli, args, message):
    pid = cli.ok("product", "add", "P", "--price", "5", "--sku", "S1").strip()
    qid = cli.ok("quote", "add", "Q").strip()
    argv = [{"PID": pid, "QID": qid}.get(a, a) for a in args]
    out = cli(*argv)
    assert out.returncode == 2, out.stderr
    assert f"error: {message.replace('PID', pid)}" in out.stderr


def test_a_core_call_without_the_cli_reads_plain_field_names(session):
    def refused(call, *args) -> UsageError:
        with pytest.raises(UsageError) as caught:
            call(session, *args)
        assert not re.search(r"(?<![\w-])--[a-z]", caught.value.message), caught.value.message
        return caught.value

    err = refused(products.add, "X", "-5")
    assert err.fields == ("price",) and err.message == "price -5: a price cannot be negative"
    assert refused(products.add, "X", "1", None, "150").message == "tax: 150 is not a percentage between 0 and 100"
    pid = products.add(session, "P", "5", sku="S1")["id"]
    assert refused(products.add, "X", "1", None, None, False, "S1").message == \
        f"sku 'S1': product {pid} already has this SKU"
    assert refused(products.rows, [f"{pid}:-1"]).message == f"product {pid}: quantity cannot be negative"
    assert refused(leads.records, "odd").message == "status 'odd': expected one of new, converted"
    assert refused(quotes.add, "Q", [], None, (), None, "someday").message == \
        "valid-until: cannot read 'someday' as a date"
    err = refused(lifecycle.edit, "product", pid, ["colour=red"], [])
    assert err.fields == ("set",) and err.message.startswith("set colour: not a field of a product")
    assert refused(lifecycle.edit, "lead", "nothing", [], []).message == \
        "lead edit: nothing to change (give set FIELD=VALUE or unset FIELD)"
    assert refused(lifecycle.edit, "product", pid, [], ["name"]).message.startswith(
        "unset name: not a field a product can be without")


def test_the_core_returns_and_reads_models(session):
    pid = products.add(session, "Seat", "10.5", tax="7")["id"]
    assert products.model(session, pid) == Product.from_dict(products.load(session, pid))
    qid = quotes.add(session, "Q", [f"{pid}:2"])["id"]
    quote, doc = quotes.model(session, qid)
    assert doc.id == qid and quote.products[0].product == pid and quote.amount == Decimal("22.47")
    lid = leads.add(session, "L", email="a@b.example", amount="5")["id"]
    lead, _ = leads.model(session, lid)
    assert (lead.status, lead.amount, lead.email) == ("new", Decimal(5), "a@b.example")
    data = lifecycle.edit(session, "quote", qid, ["valid_until=2026-04-01"], [])
    assert data["valid_until"] == "2026-04-01" and quotes.model(session, qid)[0].valid_until == dt.date(2026, 4, 1)
    with pytest.raises(CorruptData):
        path = session.repo.root / "leads" / f"{lid}.yaml"
        path.write_text(path.read_text().replace("status: new", "status: lost"))
        leads.show(session, lid)
