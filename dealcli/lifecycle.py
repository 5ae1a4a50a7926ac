"""Edit and delete for every record kind: what links a record, deleting it, and a field edit by
FIELD=VALUE for products, leads and quotes. A delete is settled by the links declared in
dealcli/kinds.py, the same way for every kind: a record still linked is refused (rule `linked`,
exit 1) unless `unlink`; then each linking record is changed as its link's `on_delete` says
(`clear`: the link is emptied, `cascade`: the linking record is deleted too), all in the
delete's transaction. Deals linking a record are changed only through deals.unlink (the gate,
with a `relinked` event); other records through s.repo."""

from __future__ import annotations

from dataclasses import dataclass, field

from dealcli import clients, deals, kinds, money, parse, timeutil
from dealcli.errors import CorruptData, NotFound, RuleViolation, UsageError, Violation
from dealcli.session import Session
from dealcli.i18n import _, N_

# which record kind -> (the deal field that links it, or None; other kinds whose records link it
# by key), derived from the links declared in dealcli/kinds.py
LINKS = {ref: (next((link.key for k, link in kinds.links_in(kind.folder) if k.folder == "deals"), None),
               {k.folder: link.key for k, link in kinds.links_in(kind.folder) if k.folder != "deals"})
         for ref, kind in kinds.BY_REF.items()}
INDEXED = {("activities", "deal")}  # links the index cache can look up (storage/index.keys_of)
KIND = {ref: kind.folder for ref, kind in kinds.BY_REF.items() if ref != "pipeline"}


@dataclass
class Links:
    deals: list[str] = field(default_factory=list)
    others: dict[str, list] = field(default_factory=dict)  # kind -> [Doc]

    def count(self) -> int:
        return len(self.deals) + sum(len(v) for v in self.others.values())

    def describe(self) -> str:
        parts = [f"{len(self.deals)} deal(s)"] if self.deals else []
        parts += [f"{len(docs)} {kind if len(docs) > 1 else kinds.SINGULAR[kind]}"
                  for kind, docs in self.others.items() if docs]
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
    """The records (the acting user may see) linking `record_id`."""
    out = Links()
    deal_field, others = LINKS.get(which, (None, {}))
    if deal_field:
        out.deals = deals.linked_to(s, deal_field, record_id)
    guard = s.repo.guard
    for kind, key in others.items():
        ids = s.repo.lookup(kind, [(key, record_id)]) if (kind, key) in INDEXED else None
        if ids is None:  # every file, a broken one too (its link is cleared through its model, or refused)
            ids = s.repo.ids(kind)
        out.others[kind] = []
        for i in ids:
            try:
                doc = s.repo.load(kind, i)  # as this transaction leaves it
            except (NotFound, CorruptData):
                continue
            if _holds(doc.data, key, record_id) and (guard is None or guard.visible(kind, doc.data)):
                out.others[kind].append(doc)
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
    """Delete one record (see `remove`)."""
    return remove(s, which, [ref], unlink)[0]


def remove(s: Session, which: str, refs: list[str], unlink: bool = False) -> list[str]:
    """Delete records of one kind, all or nothing. One still linked (kinds.links_in) is refused
    (rule `linked`, exit 1, about the field `unlink`) unless `unlink`: then each link is settled
    by its `on_delete` (cleared, or the linking record deleted too; deal product rows keep their
    name and price), in the same transaction."""
    kind = KIND[which]
    done: list[str] = []
    with s.repo.transaction():
        ids = list(dict.fromkeys(resolve(s, which, ref) for ref in refs))
        docs = [s.readable(s.repo.load(kind, record_id)) for record_id in ids]
        for record_id in ids:
            found = links(s, which, record_id)
            if found.count() and not unlink:
                raise RuleViolation(Violation.of(
                    "linked", "unlink", N_("{which} {id} is linked to {found}; {0} {what} and deletes it"),
                    which, record_id, which=which, id=record_id,
                    found=found.describe(), what=_settles(kind)))
            if found.count():
                _settle(s, which, record_id, found)
        for doc in docs:
            s.repo.remove(doc)
            done.append(doc.id)
    return done


def _settles(kind: str) -> str:
    """What the unlink flag does to the records linking a record of `kind`, in words."""
    cascade = sorted({k.folder for k, link in kinds.links_in(kind) if link.on_delete == kinds.CASCADE})
    clear = sorted({k.folder for k, link in kinds.links_in(kind) if link.on_delete == kinds.CLEAR})
    parts = ([f"deletes its {', '.join(cascade)}"] if cascade else []) + \
        ([f"clears the links of its {', '.join(clear)}"] if clear else [])
    return " and ".join(parts) or "clears those links"


def _settle(s: Session, which: str, record_id: str, found: Links) -> None:
    """Each link to `record_id` as its on_delete says (kinds.py), in the caller's transaction."""
    deal_field, keys = LINKS[which]
    if found.deals:
        assert deal_field is not None  # deals were found by this link
        deals.unlink(s, deal_field, record_id)
    on_delete = {k.folder: link.on_delete for k, link in kinds.links_in(KIND[which])}
    for other_kind, docs in found.others.items():
        for other in docs:
            if on_delete[other_kind] == kinds.CASCADE:
                s.repo.remove(other)
            else:
                s.repo.update(other, _cleared(other.data, keys[other_kind], record_id))
    s.notice(_("unlinked {which} {record_id} from {found_describe}").format(
        which=which, record_id=record_id, found_describe=found.describe()))


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
