"""Quotes: offers with product rows, sent to a client before (or instead of) a deal.

On disk (quotes/<id>.yaml): format, id, title, company (id), contacts (ids), products (rows as
in a deal: name, product, price, quantity, discount, tax_rate, tax_included), amount (the sum
of the rows), currency, valid_until (date), comment, created, created_by.
`deal add --from quote:ID` copies client, products and currency; the deal records `quote: <id>`."""

from __future__ import annotations

import copy
from decimal import Decimal

from dealcli import FORMAT_VERSION, clients, ids, parse, timeutil
from dealcli import products as catalogue
from dealcli.errors import CorruptData, FieldError, UsageError
from dealcli.model import Deal, ProductRow
from dealcli.session import Session


def add(s: Session, title: str, products: list[str], company: str | None = None, contacts: list[str] = (),
        currency: str | None = None, valid_until: str | None = None, comment: str | None = None) -> dict:
    title = clients.clean_text(title, "quote", "title", 500)
    rows = catalogue.rows(s, list(products or []))
    until = None
    if valid_until:
        try:
            until = timeutil.parse_date(valid_until, s.now, s.date_order).isoformat()
        except timeutil.DateError as exc:
            raise UsageError(f"--valid-until: {exc}") from None
    with s.repo.transaction():
        company_id = clients.resolve(s, "company", company) if company else None
        contact_ids = [clients.resolve(s, "contact", c) for c in contacts or []]
        data = {
            "format": FORMAT_VERSION, "id": ids.new_id(), "title": title, "company": company_id,
            "contacts": contact_ids, "products": [r.to_dict() for r in rows],
            "amount": sum((r.total for r in rows), Decimal(0)),
            "currency": parse.parse_currency(currency) if currency else s.currency, "valid_until": until,
            "comment": (comment or "").strip() or None,
            "created": timeutil.iso(s.now), "created_by": s.user,
        }
        s.repo.create("quotes", data["id"], data)
        clients.link_to_company(s, contact_ids, company_id)
    return data


def load(s: Session, ref: str):
    return s.readable(s.repo.load("quotes", s.repo.resolve("quotes", ref)))


def for_output(data: dict) -> dict:
    out = clients.with_decimals(data, ("amount",))
    if isinstance(out.get("products"), list):
        out["products"] = [clients.with_decimals(r, ("price", "quantity", "discount", "tax_rate"))
                           if isinstance(r, dict) else r for r in out["products"]]
    return out


def show(s: Session, ref: str) -> dict:
    return for_output(load(s, ref).data)


def card(s: Session, ref: str) -> tuple[dict, str | None, list[str]]:
    """`quote show` on a terminal: the record with each row's total, and the names of its
    company and contacts ('Name (id)')."""
    doc = load(s, ref)
    out = for_output(doc.data)
    for row, model in zip(out.get("products") or [], rows(doc)):
        if isinstance(row, dict):
            row["total"] = model.total
    return (out, clients.label(s, "company", doc.data.get("company")),
            [clients.label(s, "contact", c) for c in doc.data.get("contacts") or []])


def records(s: Session) -> list[dict]:
    rows = [for_output(r) for r in clients.all_records(s, "quotes")]
    return sorted(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("id"))))


def rows(doc) -> list[ProductRow]:
    """A quote's product rows as model objects (a bad row is CorruptData naming file and line)."""
    try:
        return [ProductRow.from_dict(r, ("products", i)) if isinstance(r, dict) else
                ProductRow.from_dict({}, ("products", i)) for i, r in enumerate(doc.data.get("products") or [])]
    except FieldError as exc:
        raise CorruptData(doc.path, str(exc), doc.line_of(exc.path)) from None


def copy_into(s: Session, ref: str, deal: Deal) -> None:
    """deal add --from quote:ID: company, contacts, product rows, currency, link."""
    doc = load(s, ref)
    deal.company = doc.data.get("company") or deal.company
    deal.contacts = [str(c) for c in doc.data.get("contacts") or []] or deal.contacts
    deal.products = copy.deepcopy(rows(doc))
    deal.currency = str(doc.data.get("currency") or deal.currency)
    deal.extra["quote"] = doc.id
