"""Leads: prospects not yet qualified into deals (leads/<id>.yaml).

On disk: format, id, title, status (new|converted), contact_name, company_name, email, phone,
source, amount, currency, responsible, deal (the deal it was converted into), converted_at,
converted_by, created, created_by.
`convert` creates the deal and the company/contact it needs, matching existing ones by email
first, then by exact name (clients.ClientIndex), marks the lead converted with a link to the
deal (and the deal carries `lead: <id>`). Converting twice is refused (exit 1)."""

from __future__ import annotations

from dealcli import FORMAT_VERSION, clients, ids, money, parse, timeutil
from dealcli.errors import UsageError
from dealcli.model import Deal
from dealcli.session import Session

STATUSES = ("new", "converted")


def add(s: Session, title: str, contact_name: str | None = None, company_name: str | None = None,
        email: str | None = None, phone: str | None = None, source: str | None = None,
        amount: str | None = None, currency: str | None = None, responsible: str | None = None,
        lead_id: str | None = None) -> dict:
    """`lead_id`: a given id (intake derives it from a call's unique id), written create-only."""
    title = clients.clean_text(title, "lead", "title", 500)
    data = {
        "format": FORMAT_VERSION, "id": lead_id or ids.new_id(), "title": title, "status": "new",
        "contact_name": " ".join((contact_name or "").split()) or None,
        "company_name": " ".join((company_name or "").split()) or None,
        "email": clients.check_email(email) if email else None,
        "phone": clients.check_phone(phone) if phone else None,
        "source": source or None,
        "amount": parse.parse_amount(amount) if amount is not None else None,
        "currency": parse.parse_currency(currency) if currency else s.currency,
        "responsible": responsible or s.user,
        "deal": None, "converted_at": None, "converted_by": None,
        "created": timeutil.iso(s.now), "created_by": s.user,
    }
    with s.repo.transaction():
        s.repo.create("leads", data["id"], data)
    return data


def load(s: Session, ref: str):
    return s.readable(s.repo.load("leads", s.repo.resolve("leads", ref)))


def show(s: Session, ref: str) -> dict:
    return clients.with_decimals(load(s, ref).data, ("amount",))


def records(s: Session, status: str | None = None) -> list[dict]:
    if status and status not in STATUSES:
        raise UsageError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    rows = [clients.with_decimals(r, ("amount",)) for r in clients.all_records(s, "leads")
            if not status or (r.get("status") or "new") == status]
    return sorted(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("id"))))


def match_clients(s: Session, lead: dict) -> tuple[str | None, list[str]]:
    """The company and contacts a lead's deal links: existing ones matched by email, then exact
    name; else created from the lead (and said so). A matched contact brings its company when
    the lead names none."""
    email = lead.get("email")
    contact_id = None
    if lead.get("contact_name") or email:
        contact_id = clients.ClientIndex(s, "contact").find(name=lead.get("contact_name"), email=email)
        if contact_id is None and lead.get("contact_name"):
            data = clients.new_record(s, "contact", lead["contact_name"], emails=[email] if email else [],
                                      phones=[lead["phone"]] if lead.get("phone") else [],
                                      responsible=lead.get("responsible"))
            contact_id = clients.create(s, "contact", data)
            s.notice(f"created contact {contact_id} ({lead['contact_name']})")
    company_id = None
    if lead.get("company_name"):
        company_id = clients.ClientIndex(s, "company").find(name=lead["company_name"], email=email)
        if company_id is None:
            data = clients.new_record(s, "company", lead["company_name"], responsible=lead.get("responsible"))
            company_id = clients.create(s, "company", data)
            s.notice(f"created company {company_id} ({lead['company_name']})")
    elif contact_id:
        company_id = s.repo.load("contacts", contact_id).data.get("company") or None
    return company_id, [contact_id] if contact_id else []


def copy_into(s: Session, ref: str, deal: Deal) -> None:
    """deal add --from lead:ID: client (matched or created), amount, currency, source, link."""
    doc = load(s, ref)
    lead = doc.data
    if lead.get("status") == "converted":
        s.notice(f"note: lead {doc.id} was already converted into deal {lead.get('deal')}")
    deal.company, deal.contacts = match_clients(s, lead)
    if lead.get("amount") is not None:
        deal.amount, deal.manual_amount = money.to_decimal(lead["amount"]), True
    deal.currency = str(lead.get("currency") or deal.currency)
    deal.source, deal.responsible = lead.get("source"), lead.get("responsible")
    deal.extra["lead"] = doc.id
