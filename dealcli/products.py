"""The product catalogue: products/<id>.yaml.

On disk: format, id, name, price (exact decimal), currency, tax_rate (percent), tax_included,
sku, unit, created, created_by (+ modified after an edit).
A deal's product row may come from the catalogue: `--product PRODUCT` (an id, a unique id
prefix, an exact SKU or an exact name) copies name, price and tax into the row and records
`product: <id>`; `--product ID:QTY[:DISCOUNT%]` (a full id or exact SKU) sets quantity and
discount too.
The row keeps its own copy afterwards: changing the catalogue never rewrites deals.
The record's model is dealcli/model/product.py: `add`, `load` (show), the rows copied from the
catalogue and FIELD=VALUE edits (lifecycle.edit) go through it; listings scan the plain records."""

from __future__ import annotations

from decimal import Decimal

from dealcli import clients, ids, money, parse
from dealcli.errors import Ambiguous, NotFound, UsageError
from dealcli.model import ProductRow
from dealcli.model.product import Product
from dealcli.session import Session, to_model
from dealcli.i18n import _


def _decimal(text, field: str, percent: bool = False) -> Decimal:
    try:
        return money.percent(text, field) if percent else money.to_decimal(text, field)
    except money.MoneyError as exc:
        raise UsageError.about(field, "{0}: {problem}", problem=problem(exc, field)) from None


def problem(exc: money.MoneyError, what: str) -> str:
    """What a MoneyError says about the value, without the name it was given (`what: ...`)."""
    return str(exc).removeprefix(f"{what}: ")


def add(s: Session, name: str, price: str, currency: str | None = None, tax: str | None = None,
        tax_included: bool = False, sku: str | None = None, unit: str | None = None) -> dict:
    """A new catalogue product; returns the record as written. Errors are about the fields
    `name`, `price`, `tax`, `sku` (and `currency`)."""
    name = clients.clean_text(name, "product")
    value = _decimal(price, "price")
    if value < 0:
        raise UsageError.about("price", "{0} {price}: a price cannot be negative", price=price)
    rate = _decimal(tax, "tax", percent=True) if tax is not None else Decimal(0)
    sku = (sku or "").strip() or None
    product = Product(
        id=ids.new_id(), name=name, price=value,
        currency=parse.parse_currency(currency) if currency else s.currency, tax_rate=rate,
        tax_included=tax_included, sku=sku, unit=(unit or "").strip() or None, created=s.now, created_by=s.user,
    )
    with s.repo.transaction():
        if sku:
            for other in clients.all_records(s, "products"):
                if str(other.get("sku") or "") == sku:
                    raise UsageError.about("sku", "{0} {sku!r}: product {other} already has this SKU",
                                           sku=sku, other=other.get("id"))
        return s.repo.create("products", product.id, product).data


def find_id(s: Session, ref: str) -> str:
    """A product by exact id, exact SKU, exact name (case-insensitive) or unique id prefix."""
    ref = (ref or "").strip()
    if not ref:
        raise UsageError.about("product", "{0}: empty")
    if s.repo.exists("products", ref):
        return ref
    wanted = clients.norm(ref)
    for key in ("sku", "name"):
        found = [str(r.get("id")) for r in clients.all_records(s, "products") if clients.norm(r.get(key)) == wanted]
        if len(found) > 1:
            raise Ambiguous(_("product {ref!r}: ambiguous {key}, matches {join_found}; use an id").format(
                ref=ref, key=key, join_found=', '.join(found)))
        if found:
            return found[0]
    try:
        return s.repo.resolve("products", ref)
    except NotFound as exc:
        if isinstance(exc, Ambiguous):
            raise
        raise NotFound(_("product {ref!r}: no such product in the catalogue (give a product id, SKU or "
                       "name, or NAME:PRICE[:QTY[:DISCOUNT%[:TAX%]]])").format(ref=ref)) from None


NUMBERS = ("price", "tax_rate")


def model(s: Session, product_id: str) -> Product:
    """The catalogue product `product_id` (a bad value is CorruptData naming file and line)."""
    return to_model(s.repo.load("products", product_id), Product)


def load(s: Session, ref: str) -> dict:
    """`product show`: the product as its model writes it (checked), numbers as Decimal."""
    return to_model(s.readable(s.repo.load("products", find_id(s, ref))), Product).to_dict()


def records(s: Session) -> list[dict]:
    """Every product as stored (a scan of plain records, schema-checked by `dealcli check`)."""
    rows = [clients.with_decimals(r, NUMBERS) for r in clients.all_records(s, "products")]
    return sorted(rows, key=lambda r: (clients.norm(r.get("name")), str(r.get("id"))))


def _from_catalogue(s: Session, product_id: str, quantity: str | None = None,
                    discount: str | None = None) -> ProductRow:
    """A product row copied from the catalogue; errors are about the field `product`."""
    product = model(s, product_id)
    row = ProductRow(name=product.name, price=product.price, tax_rate=product.tax_rate or Decimal(0),
                     tax_included=bool(product.tax_included), product=product_id)
    try:
        if quantity is not None:
            row.quantity = money.to_decimal(quantity, "quantity")
        if discount is not None:
            row.discount = money.percent(discount, "discount")
    except money.MoneyError as exc:
        raise UsageError.about("product", "{0} {id}: {problem}", id=product_id, problem=str(exc)) from None
    if row.quantity < 0:
        raise UsageError.about("product", "{0} {id}: quantity cannot be negative", id=product_id)
    return row


def row(s: Session, spec: str) -> ProductRow:
    """One --product value: a catalogue product (see the module doc) or NAME:PRICE[...]."""

    spec = (spec or "").strip()
    if ":" not in spec:
        return _from_catalogue(s, find_id(s, spec))
    head, *rest = spec.split(":")
    product_id = _by_id_or_sku(s, head.strip()) if 1 <= len(rest) <= 2 else None
    if product_id:
        nums = [r.strip().rstrip("%") for r in rest]
        return _from_catalogue(s, product_id, nums[0], nums[1] if len(nums) > 1 else None)
    return parse.parse_product(spec)


def _by_id_or_sku(s: Session, text: str) -> str | None:
    """The product whose full id or exact SKU is `text` (for ID:QTY / SKU:QTY), else None."""
    if s.repo.exists("products", text):
        return text
    found = [str(r.get("id")) for r in clients.all_records(s, "products") if text and str(r.get("sku") or "") == text]
    return found[0] if len(found) == 1 else None


def rows(s: Session, specs: list[str]) -> list[ProductRow]:
    """--product values: NAME:PRICE[...] rows or catalogue products (see row)."""
    return [row(s, spec) for spec in specs]
