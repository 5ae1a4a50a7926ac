"""Leads: prospects not yet qualified into deals (leads/<id>.yaml).

On disk: format, id, title, status (new|converted), contact_name, company_name, email, phone,
source, amount, currency, responsible, deal (the deal it was converted into), converted_at,
converted_by, created, created_by.
`convert` creates the deal and the company/contact it needs, matching existing ones by email
first, then by exact name (clients.ClientIndex), marks the lead converted with a link to the
deal (and the deal carries `lead: <id>`). Converting twice is refused (exit 1).
The record's model is dealcli/model/lead.py: `add`, `mark_converted`, `show` and FIELD=VALUE
edits (lifecycle.edit) go through it; listings scan the plain records."""

from __future__ import annotations

from dealcli import clients, ids, money, parse
from dealcli.errors import UsageError
from dealcli.model import Deal
from dealcli.model.lead import STATUSES, Lead
from dealcli.session import Session, to_model
from dealcli.storage.repository import Doc
from dealcli.i18n import Text, _


def add(s: Session, title: str, contact_name: str | None = None, company_name: str | None = None,
        email: str | None = None, phone: str | None = None, source: str | None = None,
        amount: str | None = None, currency: str | None = None, responsible: str | None = None,
        lead_id: str | None = None, extra: dict | None = None) -> dict:
    """A new lead; returns the record as written. `lead_id`: a given id (intake derives it from
    the missed caller's number and day), written create-only; `extra`: keys the model keeps as
    they are (intake's `calls`)."""
    title = clients.clean_text(title, "lead", "title", 500)
    currency = parse.parse_currency(currency) if currency else s.currency
    lead = Lead(
        id=lead_id or ids.new_id(), title=title, status="new",
        contact_name=" ".join((contact_name or "").split()) or None,
        company_name=" ".join((company_name or "").split()) or None,
        email=clients.check_email(email) if email else None,
        phone=clients.check_phone(phone) if phone else None,
        source=source or None,
        amount=parse.parse_amount(amount, currency=currency) if amount is not None else None,
        currency=currency,
        responsible=responsible or s.user,
        created=s.now, created_by=s.user, extra=dict(extra or {}),
    )
    with s.repo.transaction():
        return s.repo.create("leads", lead.id, lead).data


def load(s: Session, ref: str):
    return s.readable(s.repo.load("leads", s.repo.resolve("leads", ref)))


def model(s: Session, ref: str) -> tuple[Lead, Doc]:
    """The lead `ref` names as its model, and the Doc it was read from (for an update)."""
    doc = load(s, ref)
    return to_model(doc, Lead), doc


def show(s: Session, ref: str) -> dict:
    return model(s, ref)[0].to_dict()


def mark_converted(s: Session, lead: Lead, doc, deal_id: str) -> dict:
    """Record that `lead` (read as `doc`) became deal `deal_id`; returns the record as written."""
    lead.status, lead.deal, lead.converted_at, lead.converted_by = "converted", deal_id, s.now, s.user
    return s.repo.update(doc, lead).data


def records(s: Session, status: str | None = None) -> list[dict]:
    if status and status not in STATUSES:
        raise UsageError.about("status", "{0} {status!r}: expected one of {choices}", status=status,
                               choices=", ".join(STATUSES))
    """Every lead (of a status) as stored: a scan of plain records, schema-checked by `check`."""
    rows = [clients.with_decimals(r, ("amount",)) for r in clients.all_records(s, "leads")
            if not status or (r.get("status") or "new") == status]
    return sorted(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("id"))))


def match_clients(s: Session, lead: Lead) -> tuple[str | None, list[str]]:
    """The company and contacts a lead's deal links: existing ones matched by email, then exact
    name; else created from the lead (and said so). A matched contact brings its company when
    the lead names none."""
    email = lead.email
    contact_id = None
    if lead.contact_name or email:
        contact_id = clients.ClientIndex(s, "contact").find(name=lead.contact_name, email=email)
        if contact_id is None and lead.contact_name:
            data = clients.new_record(s, "contact", lead.contact_name, emails=[email] if email else [],
                                      phones=[lead.phone] if lead.phone else [], responsible=lead.responsible)
            contact_id = clients.create(s, "contact", data)
            s.notice_written(Text("created contact {contact_id} ({lead_contact_name})", contact_id=contact_id,
                                  lead_contact_name=lead.contact_name))
    company_id = None
    if lead.company_name:
        company_id = clients.ClientIndex(s, "company").find(name=lead.company_name, email=email)
        if company_id is None:
            data = clients.new_record(s, "company", lead.company_name, responsible=lead.responsible)
            company_id = clients.create(s, "company", data)
            s.notice_written(Text("created company {company_id} ({lead_company_name})", company_id=company_id,
                                  lead_company_name=lead.company_name))
    elif contact_id:
        company_id = s.repo.load("contacts", contact_id).data.get("company") or None
    return company_id, [contact_id] if contact_id else []


def copy_into(s: Session, ref: str, deal: Deal) -> None:
    """deal add --from lead:ID: client (matched or created), amount, currency, source, link."""
    lead, doc = model(s, ref)
    if lead.converted:
        s.notice(_("note: lead {doc_id} was already converted into deal {lead_deal}").format(
            doc_id=doc.id, lead_deal=lead.deal))
    deal.company, deal.contacts = match_clients(s, lead)
    if lead.amount is not None:
        deal.amount, deal.manual_amount = money.to_decimal(lead.amount), True
    deal.currency = str(lead.currency or deal.currency)
    deal.source, deal.responsible = lead.source, lead.responsible
    deal.extra["lead"] = doc.id
