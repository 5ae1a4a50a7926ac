"""Edit and delete for the records around deals (companies, contacts, products, leads, quotes,
activities): what links a record, deleting it (refused while linked unless `unlink`), and a
field edit by FIELD=VALUE for products, leads and quotes. Deals linking a record are changed
only through deals.unlink (the gate); other records through s.repo."""

from __future__ import annotations

from dataclasses import dataclass, field

from dealcli import clients, deals, kinds, money, parse, timeutil
from dealcli.errors import RuleViolation, UsageError, Violation
from dealcli.session import Session

# which record kind -> (the deal field that links it, other kinds whose records link it by key),
# derived from the links declared in dealcli/kinds.py
LINKS = {ref: (next(link.key for k, link in kinds.links_in(kinds.BY_REF[ref].folder) if k.folder == "deals"),
               {k.folder: link.key for k, link in kinds.links_in(kinds.BY_REF[ref].folder) if k.folder != "deals"})
         for ref in ("company", "contact", "product")}
KIND = {ref: kind.folder for ref, kind in kinds.BY_REF.items() if ref not in ("deal", "pipeline")}


@dataclass
class Links:
    deals: list[str] = field(default_factory=list)
    others: dict[str, list] = field(default_factory=dict)  # kind -> [Doc]

    def count(self) -> int:
        return len(self.deals) + sum(len(v) for v in self.others.values())

    def describe(self) -> str:
        parts = [f"{len(self.deals)} deal(s)"] if self.deals else []
        parts += [f"{len(docs)} {kind}" for kind, docs in self.others.items() if docs]
        return ", ".join(parts)


def _holds(data, key: str, record_id: str) -> bool:
    """Does the mapping `data` (or its `deal` part, for recurring templates) link record_id?"""
    for part in (data, data.get("deal") if isinstance(data, dict) else None):
        if not isinstance(part, dict):
            continue
        value = part.get(key)
        if key == "products" and isinstance(value, list):
            value = [row.get("product") for row in value if isinstance(row, dict)]
        if value == record_id or (isinstance(value, list) and record_id in value):
            return True
    return False


def links(s: Session, which: str, record_id: str) -> Links:
    out = Links()
    if which not in LINKS:
        return out
    deal_field, others = LINKS[which]
    out.deals = deals.linked_to(s, deal_field, record_id)
    for kind, key in others.items():
        out.others[kind] = [d for d in s.repo.iter_docs(kind, []) if _holds(d.data, key, record_id)]
    return out


def _cleared(data: dict, key: str, record_id: str) -> dict:
    out = dict(data)
    for holder in (out, out.get("deal") if isinstance(out.get("deal"), dict) else None):
        if holder is None:
            continue
        if holder is not out:
            holder = out["deal"] = dict(holder)
        value = holder.get(key)
        if key == "products" and isinstance(value, list):
            holder[key] = [dict(r, product=None) if isinstance(r, dict) and r.get("product") == record_id else r
                           for r in value]
        elif isinstance(value, list):
            holder[key] = [v for v in value if v != record_id]
        elif value == record_id:
            holder[key] = None
    return out


def resolve(s: Session, which: str, ref: str) -> str:
    """The id `ref` names: clients by id, exact name or prefix; products by id, SKU, exact name
    or prefix; the others by id or unique prefix."""
    if which in ("company", "contact"):
        return clients.find_id(s, which, ref)
    if which == "product":
        from dealcli import products

        return products.find_id(s, ref)
    return s.repo.resolve(KIND[which], ref)


def delete(s: Session, which: str, ref: str, unlink: bool = False) -> str:
    """Delete one record. A company, contact or product still linked by deals, contacts, quotes
    or recurring templates is refused (exit 1) unless `unlink`: then the links are cleared
    first (deal product rows keep their name and price), all in one transaction."""
    kind = KIND[which]
    with s.repo.transaction():
        record_id = resolve(s, which, ref)
        doc = s.repo.load(kind, record_id)
        found = links(s, which, record_id)
        if found.count() and not unlink:
            raise RuleViolation(Violation("linked", f"{which} {record_id} is linked to {found.describe()}; "
                                          f"`{which} delete {record_id} --unlink` clears those links and deletes it",
                                          which, record_id))
        if found.count():
            deals.unlink(s, LINKS[which][0], record_id)
            for other_kind, docs in found.others.items():
                key = LINKS[which][1][other_kind]
                for other in docs:
                    s.repo.update(other, _cleared(other.data, key, record_id))
            s.notice(f"unlinked {which} {record_id} from {found.describe()}")
        s.repo.remove(doc)
    return record_id


# -- FIELD=VALUE edits of products, leads and quotes ---------------------------------------------------
# Each reader takes (session, text, field) and returns the value of the record's model field;
# errors are about the field `set` (the edge words it --set).
def _text(limit: int = 500):
    return lambda s, v, name: " ".join(v.split())[:limit] or None


def _money(s, v, name):
    try:
        return money.to_decimal(v, name)
    except money.MoneyError as exc:
        raise UsageError.about("set", "{0} {problem}", problem=str(exc)) from None


def _percent(s, v, name):
    try:
        return money.percent(v, name)
    except money.MoneyError as exc:
        raise UsageError.about("set", "{0} {problem}", problem=str(exc)) from None


def _flag(s, v, name):
    low = v.strip().lower()
    if low not in ("true", "false", "yes", "no", "1", "0"):
        raise UsageError.about("set", "{0} {name}={value!r}: expected true or false", name=name, value=v)
    return low in ("true", "yes", "1")


def _date(s, v, name):
    try:
        return timeutil.parse_date(v, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError.about("set", "{0} {name}: {problem}", name=name, problem=str(exc)) from None


EDITABLE = {
    "product": {"name": _text(300), "price": _money, "currency": lambda s, v, n: parse.parse_currency(v, n),
                "tax_rate": _percent, "tax_included": _flag, "sku": _text(100), "unit": _text(50)},
    "lead": {"title": _text(500), "contact_name": _text(300), "company_name": _text(300),
             "email": lambda s, v, n: clients.check_email(v, n), "phone": lambda s, v, n: clients.check_phone(v, n),
             "source": _text(300), "amount": _money, "currency": lambda s, v, n: parse.parse_currency(v, n),
             "responsible": _text(300)},
    "quote": {"title": _text(500), "valid_until": _date, "comment": _text(5000),
              "company": lambda s, v, n: clients.resolve(s, "company", v, refuse_near=True)},
}
REQUIRED = {"product": ("name", "price", "currency"), "lead": ("title", "currency"), "quote": ("title",)}


def edit(s: Session, which: str, ref: str, sets: list[str], unsets: list[str]) -> dict:
    """Change fields of a product, lead or quote through its model (dealcli/model/): `sets` are
    FIELD=VALUE texts, `unsets` field names; returns the record as written. Errors are about the
    fields `set` and `unset`; a record whose file does not match its model is CorruptData."""
    from dealcli.session import to_model
    from dealcli.suggest import hint

    fields = EDITABLE[which]
    if not sets and not unsets:
        raise UsageError.about(("set", "unset"), "{which} edit: nothing to change (give {0} FIELD=VALUE or {1} FIELD)",
                               which=which)
    kind = KIND[which]
    with s.repo.transaction():
        doc = s.repo.load(kind, resolve(s, which, ref))
        record = to_model(doc)
        for text in sets:
            name, value = parse.split_assignment(text)
            if name not in fields:
                raise UsageError.about("set", "{0} {name}: not a field of a {which}{hint} (fields: {known})",
                                       name=name, which=which, hint=hint(name, fields), known=", ".join(fields))
            setattr(record, name, fields[name](s, value, name))
        for name in unsets:
            if name not in fields or name in REQUIRED[which]:
                raise UsageError.about("unset", "{0} {name}: not a field a {which} can be without{hint}",
                                       name=name, which=which, hint=hint(name, fields))
            setattr(record, name, None)
        record.modified = s.now
        return s.repo.update(doc, record).data
