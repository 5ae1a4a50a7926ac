"""Companies and contacts: the records deals point at.

On disk (companies/<id>.yaml, contacts/<id>.yaml):
  format, id, name, emails: [..], phones: [..], responsible, fields: {..}, created, created_by
  (contacts also: company (a company id), birthday)
A reference on the command line is an id, a unique id prefix or an exact name
(case-insensitive); `ClientIndex` also matches by email, for lead conversion and import.
Emails and phones are checked when they are given (a malformed one is a usage error, exit 2);
a birthday is a date in the past (timeutil.parse_date).

What is created and changed goes through the models (dealcli/model/client.py: Company,
Contact): new_client builds one, edit loads the stored one (a bad value is CorruptData naming the
file and line), changes it and writes it back through the gate. Lookups over every record
(ClientIndex, records, label) read the plain, schema-checked mappings: they only look at names and
e-mails, and the index cache serves them without parsing files.

Errors about what a caller gave carry the field they are about (errors.DealcliError.about):
the command line shows it as its option (`--email`), any other caller reads the plain name."""

from __future__ import annotations

import datetime as dt
import re

from dealcli import ids, kinds, parse, timeutil
from dealcli.errors import Ambiguous, CorruptData, FieldError, NotFound, UsageError
from dealcli.model.client import MODEL_OF, Client
from dealcli.session import Session, to_model
from dealcli.storage.index import norm  # noqa: F401 - the one normaliser (the index cache's keys use it)
from dealcli.i18n import _

KIND_OF = {ref: kinds.BY_REF[ref].folder for ref in ("company", "contact")}


class ClientIndex:
    """Names and emails of every company or contact, loaded once; `add` keeps it current so a
    batch (an import) never creates the same client twice."""

    def __init__(self, s: Session, which: str):
        self.s, self.which, self.kind = s, which, KIND_OF[which]
        self.by_name: dict[str, list[str]] = {}
        self.by_email: dict[str, str] = {}
        keys = s.repo.lookup_keys(self.kind)  # names and emails from the index cache, no parsing
        if keys is not None:
            for key, value, record_id in keys:
                if key == "name":
                    self.by_name.setdefault(value, []).append(record_id)
                elif key == "email":
                    self.by_email.setdefault(value, record_id)
            return
        for doc in s.repo.iter_docs(self.kind, errors=[], guarded=False):  # every client: no duplicates
            self._index(doc.id, doc.data)

    def _index(self, record_id: str, data: dict) -> None:
        self.by_name.setdefault(norm(data.get("name")), []).append(record_id)
        for email in data.get("emails") or []:
            self.by_email.setdefault(norm(email), record_id)

    def find(self, name: str | None = None, email: str | None = None) -> str | None:
        """By email first, then by exact name; None when nothing matches. Several records with
        that name: NotFound listing them."""
        if email and norm(email) in self.by_email:
            return self.by_email[norm(email)]
        if name:
            found = self.by_name.get(norm(name), [])
            if len(found) > 1:
                raise Ambiguous(_("{self_which} {name!r}: ambiguous name, matches {join_found}; use an id").format(
                    self_which=self.which, name=name, join_found=', '.join(found)))
            if found:
                return found[0]
        return None

    def add(self, data: dict) -> None:
        self._index(data["id"], data)


def new_client(s: Session, which: str, name: str, *, emails=(), phones=(), responsible: str | None = None,
               fields: dict | None = None, company: str | None = None, birthday=None, **extra) -> Client:
    """A new company or contact (not written yet), created now by the acting user. Values are
    checked by the model's converter (a wrong type is a UsageError about that field); keys the
    model does not know are kept as they are."""
    data: dict = {"id": ids.new_id(), "name": " ".join(name.split()), "emails": list(emails or []),
                  "phones": list(phones or []), "responsible": responsible, "fields": dict(fields or {}),
                  "created": timeutil.iso(s.now), "created_by": s.user}
    if which == "contact":
        data.update(company=company, birthday=birthday)
    else:
        extra.update({k: v for k, v in (("company", company), ("birthday", birthday)) if v is not None})
    return _model(which, {**data, **extra})


def new_record(s: Session, which: str, name: str, **extra) -> dict:
    """new_client as the plain mapping its file holds (for callers that fill in more before
    `create`: an import, intake)."""
    return new_client(s, which, name, **extra).to_dict()


def _model(which: str, data: dict) -> Client:
    try:
        return MODEL_OF[which].from_dict(data)
    except FieldError as exc:
        raise UsageError.about(str(exc.path[0]), "{0}: {problem}", problem=exc.message) from None


def create(s: Session, which: str, record: Client | dict) -> str:
    """Write a new company/contact (a model, or the mapping of new_record): create-only, in the
    caller's transaction or one of its own."""
    if not isinstance(record, Client):
        record = _model(which, record)
    with s.repo.transaction():
        s.repo.create(KIND_OF[which], record.id, record)
    return record.id


def find_id(s: Session, which: str, ref: str) -> str:
    """The id of the existing company/contact that `ref` names (an id, an exact name, case-
    insensitive, or a unique id prefix); NotFound (exit 3) when none or several match."""
    kind = KIND_OF[which]
    ref = " ".join((ref or "").split())
    if not ref:
        raise UsageError.about(which, "{0}: empty name")
    if s.repo.exists(kind, ref):
        return ref
    found = ClientIndex(s, which).find(name=ref)
    if found:
        return found
    return s.repo.resolve(kind, ref)


def resolve(s: Session, which: str, ref: str, create_missing: bool = True, refuse_near: bool = False) -> str:
    """The id of the company/contact that `ref` names: an id, a unique id prefix or an exact
    name. An unknown name creates the record (and says so); several matches are an error.
    `refuse_near` (a name typed by a person): an unknown name close to an existing one is
    refused instead of creating a near-duplicate (--new-company / --new-contact create it)."""
    ref = " ".join((ref or "").split())
    try:
        return find_id(s, which, ref)
    except NotFound as exc:
        if isinstance(exc, Ambiguous) or not create_missing:
            raise
    if refuse_near:
        near = near_names(s, which, ref)
        if near:
            shown = ", ".join(f"{name!r} ({rid})" for name, rid in near)
            raise UsageError.about((which, f"new_{which}"), "{0} {ref!r}: no {which} has that exact name; near: "
                                   "{shown}. Use the exact name or id, or {1} to create {ref!r} (deal add; else "
                                   "`dealcli {which} add` first)", ref=ref, which=which, shown=shown)
    record = new_client(s, which, ref)
    create(s, which, record)
    s.notice_written(f"created {which} {record.id} ({ref})")
    return record.id


def near_names(s: Session, which: str, ref: str) -> list[tuple[str, str]]:
    """(name, id) of the existing companies/contacts whose name is close to `ref`."""
    from dealcli.suggest import close_matches

    index = ClientIndex(s, which)
    found = close_matches(norm(ref), index.by_name, n=3, cutoff=0.75)
    out = []
    for key in found:
        for rid in index.by_name.get(key, [])[:3]:
            try:
                out.append((str(s.repo.load(KIND_OF[which], rid).data.get("name")), rid))
            except (NotFound, CorruptData):
                continue
    return out


# -- checking what users type ----------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\"]+@[^@\s,;:<>()\[\]\"]+\.[^@\s,;:<>()\[\]\".]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]+(\s*(ext\.?|x)\s*[0-9]{1,6})?$", re.IGNORECASE)


def check_email(text: str, field: str = "email") -> str:
    """A plausible email address (local@domain.tld), trimmed; UsageError about `field` otherwise."""
    value = (text or "").strip()
    if len(value) > 254 or not _EMAIL.match(value) or ".." in value:
        raise UsageError.about(field, "{0} {text!r}: not an email address (expected name@example.com)", text=text)
    return value


def check_phone(text: str, field: str = "phone") -> str:
    """A phone number: digits with optional +, spaces, ( ) . - and an extension; 3 to 20 digits."""
    value = " ".join((text or "").split())
    digits = sum(c.isdigit() for c in value.split("x")[0].split("ext")[0])
    if len(value) > 40 or not _PHONE.match(value) or not 3 <= digits <= 20:
        raise UsageError.about(field, "{0} {text!r}: not a phone number (digits, spaces, + ( ) . -)", text=text)
    return value


# -- phone numbers: one key per number ------------------------------------------------------------------
def phone_region(s: Session) -> str | None:
    """`phone_region` of dealcli.yaml: the country (ISO 3166 code, e.g. DE) of numbers written
    without a country code; None: such numbers match only by their exact digits."""
    region = s.repo.config.get("phone_region")
    return str(region).upper() if region else None


def parse_phone(text, region: str | None = None) -> tuple[str, str | None] | None:
    """(key, extension) of a phone number as written: the key is its E.164 form (+12125550142),
    parsed with Google's libphonenumber (the `phonenumbers` package) in `region` for a number
    without a country code; the extension is kept apart (`ext. 7` does not change the key). A
    number without a country code that is not valid in `region` but is with a leading + (a PBX
    writes 12125550142 for +1 212 555 0142, or 0049... for +49...) counts as international. A number that is not a
    possible phone number anywhere (an extension like 100, a short code) keys by its digits.
    None: no digits at all."""
    import phonenumbers

    value = str(text or "").strip()
    digits = re.sub(r"\D", "", re.split(r"(?i)\s*(?:ext\.?|x|#)\s*\d+\s*$", value)[0])
    if not digits:
        return None
    candidates = [(value, region)]
    if not value.startswith("+"):  # 0049 30 ...: 00 is the international prefix of most countries
        candidates.append(("+" + (digits[2:] if digits.startswith("00") else digits), None))
    possible = None
    for n, (number_text, number_region) in enumerate(candidates):
        try:
            number = phonenumbers.parse(number_text, number_region)
        except phonenumbers.NumberParseException:
            continue
        key = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number):
            return key, number.extension or None
        if n == 0 and phonenumbers.is_possible_number(number):
            possible = key, number.extension or None
    return possible or (digits, None)


def phone_key(text, region: str | None = None) -> str | None:
    """The key two numbers are the same number by (parse_phone); None: no digits."""
    parsed = parse_phone(text, region)
    return parsed[0] if parsed else None


def phone_owners(s: Session) -> dict[str, tuple[str | None, str | None]]:
    """Phone key -> (contact id, company id) of every contact and company with that number
    (contacts win over companies), read once per Session (a CDR file of thousands of calls
    reads the clients once); `forget_phones` after creating a client."""
    index = vars(s).get("_phone_owners")
    if index is None:
        region = phone_region(s)
        index = vars(s)["_phone_owners"] = {}
        for kind in ("contacts", "companies"):
            for record_id, data in s.repo.records(kind, []):
                entry = (record_id, data.get("company") or None) if kind == "contacts" else (None, record_id)
                for phone in data.get("phones") or []:
                    key = phone_key(phone, region)
                    if key and len(key.lstrip("+")) >= 3:
                        index.setdefault(key, entry)
    return index


def forget_phones(s: Session) -> None:
    vars(s).pop("_phone_owners", None)


def find_by_phone(s: Session, number) -> tuple[str | None, str | None]:
    """(contact id, company id) of the client with this number, compared as E.164 (phone_key);
    (None, None) when nobody has it."""
    key = phone_key(number, phone_region(s))
    if not key or len(key.lstrip("+")) < 3:
        return None, None
    return phone_owners(s).get(key) or (None, None)


def birthday_of(s: Session, text: str) -> dt.date:
    """A date of birth as typed (timeutil.parse_date), in the past; UsageError about `birthday`."""
    try:
        day = timeutil.parse_date(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError.about("birthday", "{0}: {problem}", problem=str(exc)) from None
    if day > s.now.date():
        raise UsageError.about("birthday", "{0} {text!r}: {day} is in the future", text=text, day=day.isoformat())
    return day


def parse_fields(sets: list[str]) -> dict:
    """FIELD=VALUE pairs (custom fields of a company/contact, kept as text); errors are about
    `set` (the command line's --set)."""

    out = {}
    for text in sets or []:
        name, value = parse.split_assignment(text)
        if len(name) > 64:
            raise UsageError.about("set", "{0}: {name!r} is not a usable field name", name=name)
        out[name] = value
    return out


def clean_text(text: str, which: str, what: str = "name", limit: int = 300) -> str:
    """A record's name or title with whitespace collapsed; UsageError when empty or too long."""
    value = " ".join((text or "").split())
    if not value:
        raise UsageError(_("a {which} needs a {what}").format(which=which, what=what))
    if len(value) > limit:
        raise UsageError(_("{which} {what}: {len_value} characters is too long (limit {limit})").format(
            which=which, what=what, len_value=len(value), limit=limit))
    return value


def _name(text: str, which: str) -> str:
    return clean_text(text, which)


# -- use cases -------------------------------------------------------------------------------------
def add(s: Session, which: str, name: str, *, emails=(), phones=(), responsible: str | None = None,
        sets=(), company: str | None = None, birthday: str | None = None) -> dict:
    """Create a company or contact; returns the record as written. Everything is checked before
    anything is written (the company of a contact is resolved like `deal add --company`)."""
    name = _name(name, which)
    values: dict = {
        "emails": [check_email(e) for e in emails or []],
        "phones": [check_phone(p) for p in phones or []],
        "responsible": responsible or s.user,
        "fields": parse_fields(list(sets or [])),
    }
    if which == "contact":
        values["birthday"] = birthday_of(s, birthday) if birthday else None
    elif company or birthday:
        raise UsageError.about(("company", "birthday"), "{0} and {1} are for contacts")
    with s.repo.transaction():
        index = ClientIndex(s, which)
        same = index.by_name.get(norm(name), [])
        if same:
            s.notice(_("note: {which} {join_same} has the same name; refer to them by id").format(
                which=which, join_same=', '.join(same)))
        if which == "contact" and company:
            values["company"] = resolve(s, "company", company)
        record = new_client(s, which, name, **values)
        create(s, which, record)
    return record.to_dict()


def load(s: Session, which: str, ref: str):
    """The Doc of the company/contact that `ref` names (id, exact name or unique prefix)."""
    return s.readable(s.repo.load(KIND_OF[which], find_id(s, which, ref)))


def all_records(s: Session, kind: str) -> list[dict]:
    """Every record of a kind as stored, through the index cache (only changed files are
    parsed); an unreadable file, or one failing its schema, is skipped with a notice naming it
    (`dealcli check` reports it in full)."""
    errors: list[CorruptData] = []
    rows = [data for _, data in s.repo.records(kind, errors)]
    for exc in errors:
        s.notice(_("skipped {exc_message}").format(exc_message=exc.message))
    return rows


def with_decimals(data: dict, keys: tuple) -> dict:
    """A record for output with its numbers as Decimal (YAML reads 20 as an int), so JSON
    shows money as exact text, the same way for every record."""
    from decimal import Decimal

    out = dict(data)
    for key in keys:
        if isinstance(out.get(key), int) and not isinstance(out.get(key), bool):
            out[key] = Decimal(out[key])
    return out


def records(s: Session, which: str) -> list[dict]:
    rows = all_records(s, KIND_OF[which])
    return sorted(rows, key=lambda r: (norm(r.get("name")), str(r.get("id"))))


def edit(s: Session, which: str, ref: str, *, name: str | None = None, emails=None, phones=None,
         responsible: str | None = None, company: str | None = None, birthday: str | None = None,
         sets=(), unsets=()) -> dict:
    """Change a company/contact; returns the record as written. Lists given (emails, phones)
    replace the stored ones; `unsets` clears emails, phones, responsible, company, birthday or
    a custom field. The stored record is loaded as its model (a bad value in the file is
    CorruptData naming its line) and changed through it."""
    if which != "contact" and (company is not None or birthday is not None):
        raise UsageError.about(("company", "birthday"), "{0} and {1} are for contacts")
    fields = parse_fields(list(sets or []))
    with s.repo.transaction():
        doc = load(s, which, ref)
        record = to_model(doc)
        change = _Change(record)
        if name is not None:
            change.set("name", _name(name, which))
        if emails is not None:
            change.set("emails", [check_email(e) for e in emails])
        if phones is not None:
            change.set("phones", [check_phone(p) for p in phones])
        if responsible is not None:
            change.set("responsible", responsible)
        if birthday is not None:
            change.set("birthday", birthday_of(s, birthday))
        if company is not None:
            change.set("company", resolve(s, "company", company))
        custom = dict(record.fields)
        custom.update(fields)
        for field_name in unsets or []:
            if field_name in ("emails", "phones"):
                change.set(field_name, [])
            elif field_name in ("responsible", "company", "birthday") and field_name in doc.data:
                change.set(field_name, None)
            elif field_name.removeprefix("fields.") in custom:
                del custom[field_name.removeprefix("fields.")]
            else:
                raise UsageError.about("unset", "{0} {name}: the {which} has no such field", name=field_name,
                                       which=which)
        change.set("fields", custom)
        change.set("modified", s.now)
        data = change.written(doc.data)
        s.repo.update(doc, data)
    return data


class _Change:
    """Changes to a stored client's model, written the way dealcli always wrote them: the keys
    the change sets take their new value (dumped by the model), the file's other keys stay as
    they are, in their order; a key the file did not have is added after them."""

    def __init__(self, record: Client):
        self.record = record
        self.keys: list[str] = []  # in the order they were set

    def set(self, key: str, value) -> None:
        if hasattr(self.record, key) and key != "extra":
            setattr(self.record, key, value)
        else:  # a key the model does not know (a company's stray `company:`)
            self.record.extra[key] = value
        if key not in self.keys:
            self.keys.append(key)

    def written(self, stored: dict) -> dict:
        new = self.record.to_dict()
        out = {key: new.get(key) if key in self.keys else value for key, value in stored.items()}
        for key in self.keys:
            out.setdefault(key, new.get(key))
        return out


def label(s: Session, which: str, record_id: str | None) -> str | None:
    """'Name (id)' for a linked company/contact; the bare id (marked missing) if it is gone."""
    if not record_id:
        return None
    try:
        data = s.repo.load(KIND_OF[which], record_id).data
    except (NotFound, CorruptData):
        return f"{record_id} (missing)"
    return f"{data.get('name')} ({record_id})"


def link_to_company(s: Session, contact_ids: list[str], company_id: str | None) -> list[str]:
    """Contacts of a new deal that belong to no company join the deal's company. Returns the
    ids of the contacts changed."""
    changed: list[str] = []
    if not company_id:
        return changed
    with s.repo.transaction():
        for contact_id in dict.fromkeys(contact_ids):
            try:
                doc = s.repo.load("contacts", contact_id)
                contact = to_model(doc)
            except (NotFound, CorruptData):
                continue
            if contact.company:
                continue
            change = _Change(contact)
            change.set("company", company_id)
            s.repo.update(doc, change.written(doc.data))
            changed.append(contact_id)
    return changed


def copy_into(s: Session, which: str, ref: str, deal) -> None:
    """deal add --from contact:ID|company:ID: the client (and a contact's company)."""
    doc = load(s, which, ref)
    if which == "company":
        deal.company = doc.id
    else:
        deal.contacts = [doc.id]
        deal.company = doc.data.get("company") or deal.company
    deal.responsible = deal.responsible or doc.data.get("responsible")
