"""Quotes: offers with product rows, sent to a client before (or instead of) a deal.

On disk (quotes/<id>.yaml): format, id, title, company (id), contacts (ids), products (rows as
in a deal: name, product, price, quantity, discount, tax_rate, tax_included), amount (the sum
of the rows), currency, valid_until (date), comment, created, created_by.
`deal add --from quote:ID` copies client, products and currency; the deal records `quote: <id>`.
The record's model is dealcli/model/quote.py: `add`, `show`, `card`, `copy_into` and FIELD=VALUE
edits (lifecycle.edit) go through it; listings scan the plain records."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from dealcli import clients, ids, parse, timeutil
from dealcli import products as catalogue
from dealcli.errors import UsageError
from dealcli.model import Deal
from dealcli.model.quote import Quote
from dealcli.session import Session, to_model
from dealcli.storage.repository import Doc


def add(s: Session, title: str, products: list[str], company: str | None = None, contacts: Sequence[str] = (),
        currency: str | None = None, valid_until: str | None = None, comment: str | None = None) -> dict:
    """A new quote; returns the record as written. Errors are about the fields `title`,
    `product`, `company`, `contact`, `currency` and `valid_until`."""
    title = clients.clean_text(title, "quote", "title", 500)
    rows = catalogue.rows(s, list(products or []))
    until = None
    if valid_until:
        try:
            until = timeutil.parse_date(valid_until, s.now, s.date_order)
        except timeutil.DateError as exc:
            raise UsageError.about("valid_until", "{0}: {problem}", problem=str(exc)) from None
    with s.repo.transaction():
        company_id = clients.resolve(s, "company", company) if company else None
        contact_ids = [clients.resolve(s, "contact", c) for c in contacts or []]
        quote = Quote(
            id=ids.new_id(), title=title, company=company_id, contacts=contact_ids, products=rows,
            currency=parse.parse_currency(currency) if currency else s.currency, valid_until=until,
            comment=(comment or "").strip() or None, created=s.now, created_by=s.user,
        )
        quote.amount = quote.rows_total()
        data = s.repo.create("quotes", quote.id, quote).data
        clients.link_to_company(s, contact_ids, company_id)
    return data


def load(s: Session, ref: str):
    return s.readable(s.repo.load("quotes", s.repo.resolve("quotes", ref)))


def model(s: Session, ref: str) -> tuple[Quote, Doc]:
    """The quote `ref` names as its model (a bad value, also in a product row, is CorruptData
    naming file and line), and the Doc it was read from."""
    doc = load(s, ref)
    return to_model(doc, Quote), doc


def for_output(data: dict) -> dict:
    out = clients.with_decimals(data, ("amount",))
    if isinstance(out.get("products"), list):
        out["products"] = [clients.with_decimals(r, ("price", "quantity", "discount", "tax_rate"))
                           if isinstance(r, dict) else r for r in out["products"]]
    return out


def show(s: Session, ref: str) -> dict:
    return for_output(model(s, ref)[0].to_dict())


def card(s: Session, ref: str) -> tuple[dict, str | None, list[str]]:
    """`quote show` on a terminal: the record with each row's total, and the names of its
    company and contacts ('Name (id)')."""
    quote, _ = model(s, ref)
    out = for_output(quote.to_dict())
    for row, product in zip(out.get("products") or [], quote.products, strict=True):
        row["total"] = product.total
    return (out, clients.label(s, "company", quote.company), [clients.label(s, "contact", c) or c
                                                               for c in quote.contacts])


def records(s: Session) -> list[dict]:
    """Every quote as stored (a scan of plain records, schema-checked by `dealcli check`)."""
    rows = [for_output(r) for r in clients.all_records(s, "quotes")]
    return sorted(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("id"))))


def copy_into(s: Session, ref: str, deal: Deal) -> None:
    """deal add --from quote:ID: company, contacts, product rows, currency, link."""
    quote, doc = model(s, ref)
    deal.company = quote.company or deal.company
    deal.contacts = list(quote.contacts) or deal.contacts
    deal.products = copy.deepcopy(quote.products)
    deal.currency = str(quote.currency or deal.currency)
    deal.extra["quote"] = doc.id
