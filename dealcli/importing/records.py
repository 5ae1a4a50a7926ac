"""`dealcli import --kind company|contact|product`: one record per row, from the same files a
deal import reads (CSV/TSV/JSON/JSONL/YAML), all-or-nothing, in one transaction.

Columns map to the kind's fields by --map, then by the preset's labels for that kind, then by
their own name (or a common alias: `account`, `company name` -> name; `email` -> emails ...);
other columns are ignored, or kept as custom fields with --keep-unmapped (companies and
contacts). A row whose record already exists (a company or product of that name, ignoring case;
a contact found as the deal import finds one: e-mail, phone, then name within the company) adds
what it brings (e-mails, phones, custom fields not set yet) and is otherwise unchanged: re-running
the same file changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from dealcli import clients, ids
from dealcli.errors import UsageError
from dealcli.importing import read as import_read
from dealcli.importing import values as import_values
from dealcli.importing.presets import PRESETS, key
from dealcli.importing.values import ValueProblem

KINDS = ("deal", "company", "contact", "product", "user", "activity")
FIELDS = {
    "user": ("login", "name", "emails", "dept", "roles", "manager"),
    "activity": ("deal", "company", "contact", "type", "subject", "due", "done", "status", "done_at", "responsible",
                 "description", "created"),
    "company": ("name", "emails", "phones", "responsible", "created"),
    "contact": ("name", "first_name", "last_name", "emails", "phones", "responsible", "company", "created"),
    "product": ("name", "price", "currency", "tax_rate", "sku", "unit", "created"),
}
ALIASES = {  # key(column) -> field, when the column is not a field's own name
    "company": {"account": "name", "company name": "name", "account name": "name", "organization": "name",
                "email": "emails", "e-mail": "emails", "phone": "phones", "phone number": "phones",
                "owner": "responsible", "create date": "created", "created date": "created"},
    "contact": {"full name": "name", "contact name": "name", "first name": "first_name", "firstname": "first_name",
                "last name": "last_name", "lastname": "last_name", "email": "emails", "e-mail": "emails",
                "phone": "phones", "phone number": "phones", "mobile": "phones", "mobile phone": "phones",
                "account": "company", "company name": "company", "organization": "company",
                "owner": "responsible", "create date": "created", "created date": "created"},
    "user": {"sales_agent": "name", "sales agent": "name", "agent": "name", "full name": "name", "user": "login",
             "username": "login", "user name": "login", "email": "emails", "e-mail": "emails",
             "regional_office": "dept", "regional office": "dept", "office": "dept", "department": "dept",
             "team": "dept", "role": "roles", "profile": "roles", "manager name": "manager", "reports to": "manager"},
    "activity": {"title": "subject", "task title": "subject", "activity type": "type", "task type": "type",
                 "due date": "due", "date": "due", "activity date": "due", "completed": "done", "is done": "done",
                 "task status": "status", "opportunity": "deal", "related to": "deal", "associated deal": "deal",
                 "deal id": "deal", "account": "company", "associated company": "company", "organization": "company",
                 "associated contact": "contact", "contact name": "contact", "owner": "responsible",
                 "assigned to": "responsible", "notes": "description", "body": "description",
                 "create date": "created", "created date": "created", "completed date": "done_at"},
    "product": {"product": "name", "product name": "name", "sales_price": "price", "sales price": "price",
                "unit price": "price", "list price": "price", "tax": "tax_rate", "code": "sku", "product code": "sku"},
}
STORE = {"company": "companies", "contact": "contacts", "product": "products", "activity": "activities"}
NAMED_BY = {"user": {"login", "name", "emails"}, "activity": {"subject", "type"}}  # else name (or first/last)


@dataclass
class RecordResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    companies: int = 0  # created for contacts that name one
    ignored_columns: list = field(default_factory=list)
    dry_run: bool = False
    ids: list = field(default_factory=list)  # created or updated, in order


def run(s, opts) -> RecordResult:
    """Import `opts.source` as records of `opts.kind`. Problems: importing.ImportFailed."""
    from dealcli import importing

    importing.check_options(opts)
    if opts.kind == "user":
        from dealcli.importing import users

        body = users.plan_and_write
    elif opts.kind == "activity":
        from dealcli.importing import activities

        body = activities.plan_and_write
    else:
        def body(s, opts, source, fmt):
            return _run(s, opts, source, fmt, importing)
    source = import_read.Source(opts.source, opts.encoding)
    try:
        fmt = opts.format or source.guess_format()
        with s.repo.transaction():
            return body(s, opts, source, fmt)
    finally:
        source.close()


def rows(source, fmt: str, opts, errors: list):
    """The rows of a record import, with --value-map applied (as a deal import applies it)."""
    from dealcli.importing import rejects

    found = import_read.records(source, fmt, opts.delimiter, errors, opts.dialect, opts.columns)
    value_map = rejects.parse_value_maps(opts.value_maps)
    return rejects.map_values(found, value_map, source.name if fmt in ("csv", "tsv") else None) if value_map \
        else found


def mapped_rows(kind: str, source, fmt: str, opts, errors: list, result: RecordResult):
    """(row, its column -> field map) for each row, counted in `result` (with the columns ignored)."""
    targets_of: dict = {}
    for row in rows(source, fmt, opts, errors):
        result.rows += 1
        cols = tuple(row.values)
        if cols not in targets_of:
            targets_of[cols], ignored = targets(kind, list(cols), opts)
            result.ignored_columns += [c for c in ignored if c not in result.ignored_columns]
        yield row, targets_of[cols]


def targets(kind: str, columns: list[str], opts) -> tuple[dict, list[str]]:
    """column -> field (or fields.NAME), and the columns ignored."""
    explicit = {key(c): (t.strip() or None) for c, _, t in (m.rpartition("=") for m in opts.maps)}
    preset = PRESETS[opts.preset].records.get(kind, {}) if opts.preset else {}
    own = {key(f.replace("_", " ")): f for f in FIELDS[kind]} | {key(f): f for f in FIELDS[kind]}
    out, ignored = {}, []
    for column in columns:
        k = key(column)
        if column == "import_errors":
            continue
        if k in explicit:
            target = explicit[k]
            if target is None:
                continue
            if target not in FIELDS[kind] and not target.startswith("fields."):
                if kind not in ("company", "contact"):
                    raise UsageError.about("map", "{0} {column}={target}: a {kind} has the fields {known}", kind=kind,
                                           column=column, target=target, known=", ".join(FIELDS[kind]))
                target = "fields." + target
            out[column] = target
        elif k in preset:
            out[column] = preset[k]
        elif k in own or k in ALIASES[kind]:
            out[column] = own.get(k) or ALIASES[kind][k]
        elif opts.keep_unmapped and kind in ("company", "contact"):
            out[column] = "fields." + column
        else:
            ignored.append(column)
    if kind in NAMED_BY:
        if not NAMED_BY[kind] & set(out.values()):
            raise UsageError.about("map", "{source}: no column gives the {kind}'s {what} (columns: {columns}); name "
                                   "one with {0} COLUMN=FIELD", source=opts.source, kind=kind,
                                   what=" or ".join(sorted(NAMED_BY[kind])), columns=", ".join(columns))
    elif "name" not in out.values() and not ({"first_name", "last_name"} & set(out.values())):
        raise UsageError.about("map", "{source}: no column gives the {kind}'s name (columns: {columns}); name it with "
                               "{0} COLUMN=name", source=opts.source, kind=kind, columns=", ".join(columns))
    return out, ignored


def _run(s, opts, source, fmt: str, importing) -> RecordResult:
    kind = opts.kind
    result = RecordResult(kind, dry_run=opts.dry_run)
    errors: list = []
    problems: list = []
    planned: list = []  # (action, data or (doc, data))
    made: dict = {}  # id -> data of the records this file creates (a later row of one adds to it)
    companies = clients.ClientIndex(s, "company")
    people = importing.People(s) if kind == "contact" else None
    products = {clients.norm(p.get("name")): p for p in clients.all_records(s, "products")} if kind == "product" \
        else {}
    existing = clients.ClientIndex(s, kind) if kind == "company" else None
    docs = {}
    if kind != "contact":
        docs = {d.id: d for d in s.repo.iter_docs(STORE[kind], errors=[], guarded=False)}
    order = opts.dayfirst if opts.dayfirst is not None else (s.date_order == "dayfirst" if s.date_order else False)
    dates = import_values.DateReader(s.tz, order)  # month first unless told: US exports
    for row, mapped in mapped_rows(kind, source, fmt, opts, errors, result):
        got, bad = _read(s, kind, row, mapped, dates)
        if bad:
            problems += [f"{source.name}:{row.line}: {c}: {v!r}: {p}" for c, v, p in bad]
            continue
        try:
            planned += _plan(s, kind, got, companies, people, products, existing, docs, result, made)
        except ValueProblem as exc:
            problems.append(f"{source.name}:{row.line}: {kind}: {got.get('name')!r}: {exc}")
    problems += [f"{source.name}:{e.line}: {e.column}: {e.problem}" for e in errors]
    if problems:
        raise importing.ImportFailed(problems)
    for action, data in planned:
        if action == "unchanged":
            result.unchanged += 1
            continue
        if action == "company":  # a contact's company, new
            if not opts.dry_run:
                s.repo.create("companies", data["id"], data)
            continue
        if action == "create":
            result.created += 1
            if not opts.dry_run:
                s.repo.create(STORE[kind], data["id"], data)
        else:
            result.updated += 1
            doc, data = data
            if not opts.dry_run:
                s.repo.update(doc, data)
            data = doc.data | {"id": doc.id}
        result.ids.append(data["id"])
    return result


def _read(s, kind: str, row, targets: dict, dates) -> tuple[dict, list]:
    """The row's values by field, read; and its problems (column, value, problem)."""
    from dealcli import importing

    got: dict = {}
    bad: list = []
    for column, target in targets.items():
        value = row.values.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        text = str(value).strip()
        try:
            if target == "emails":
                got.setdefault("emails", []).extend(importing.read_emails(text))
            elif target == "phones":
                got.setdefault("phones", []).extend(importing.read_phones(text))
            elif target == "price":
                got["price"] = import_values.parse_amount(text)[0]
            elif target == "tax_rate":
                got["tax_rate"] = import_values.parse_amount(text.rstrip("%"))[0]
            elif target == "currency":
                got["currency"] = importing.currency_code(text)
            elif target == "created":
                got["created"] = dates.parse(text)[0]
            elif target.startswith("fields."):
                got.setdefault("fields", {})[target[7:]] = text
            else:
                got[target] = text[:500]
        except ValueProblem as exc:
            bad.append((column, text, str(exc)))
    if not got.get("name"):
        got["name"] = " ".join(p for p in (got.pop("first_name", None), got.pop("last_name", None)) if p) or None
    got.pop("first_name", None), got.pop("last_name", None)
    if not got.get("name") and not bad:
        if kind == "contact" and (got.get("emails") or got.get("phones")):
            got["name"] = (got.get("emails") or got["phones"])[0]
        else:
            bad.append(("name", None, f"a {kind} needs a name"))
    if kind == "product" and "price" not in got and not bad:
        got["price"] = import_values.Decimal(0)
    return got, bad


def _plan(s, kind, got, companies, people, products, existing, docs, result, made) -> list[tuple[str, object]]:
    """[("create", data)] | [("update", (doc, data))] | [("unchanged", None)] for one row, after
    ("company", data) when a contact names a company that is new."""
    if kind == "product":
        found = products.get(clients.norm(got["name"]))
        if found is None:
            data = {"id": ids.new_id(), "name": got["name"], "price": got["price"],
                    "currency": got.get("currency") or s.currency, "tax_rate": got.get("tax_rate") or 0,
                    "tax_included": False, "sku": got.get("sku"), "unit": got.get("unit"),
                    "created": got.get("created") or s.now, "created_by": s.user}
            products[clients.norm(got["name"])] = data
            return [("create", data)]
        return [("unchanged", None)]  # a catalogue product is edited with `product edit`, not overwritten
    company_id, out = None, []
    if kind == "contact" and got.get("company"):
        company_id = companies.find(name=got["company"])
        if company_id is None:
            data = clients.new_record(s, "company", got["company"])
            companies.add(data)
            result.companies += 1
            company_id = data["id"]
            out.append(("company", data))
    emails, phones = got.get("emails") or [], got.get("phones") or []
    if kind == "contact":
        found = people.find(got["name"], emails, phones, company_id)
    else:
        found = existing.find(email=emails[0] if emails else None, name=got["name"])
    if found is None:
        extra = {"emails": emails, "phones": phones}
        if kind == "contact":
            extra["company"] = company_id
        data = clients.new_record(s, kind, got["name"], **extra)
        if got.get("responsible"):
            data["responsible"] = got["responsible"]
        if got.get("created"):
            data["created"] = got["created"]
        data["fields"] = dict(got.get("fields") or {})
        (people.add if kind == "contact" else existing.add)(data)
        made[data["id"]] = data
        return out + [("create", data)]
    if kind == "contact":
        people.merge(found, emails, phones)
        doc = people.docs.get(found)
        record = people.records[found]
    else:
        doc = docs.get(found)
        record = dict(doc.data) if doc is not None else None
        if record is not None:
            known = {clients.norm(e) for e in record.get("emails") or []}
            record["emails"] = list(record.get("emails") or []) + [e for e in emails if clients.norm(e) not in known]
            record["phones"] = list(record.get("phones") or []) + [p for p in phones
                                                                   if p not in (record.get("phones") or [])]
    if doc is None or record is None:  # created earlier in this file: the later row's values join it
        data = made.get(found)
        if data is not None:
            if kind != "contact":
                known = {clients.norm(e) for e in data["emails"]}
                data["emails"] += [e for e in emails if clients.norm(e) not in known]
                data["phones"] += [p for p in phones if p not in data["phones"]]
            for name, value in (got.get("fields") or {}).items():
                data["fields"].setdefault(name, value)
        return out + [("unchanged", None)]
    fields = dict(record.get("fields") or {})
    for name, value in (got.get("fields") or {}).items():
        fields.setdefault(name, value)
    record = {**record, "fields": fields}
    same = all(record.get(k) == doc.data.get(k) for k in ("emails", "phones")) and \
        fields == (doc.data.get("fields") or {})
    if same:
        return out + [("unchanged", None)]
    record["modified"] = s.now
    return out + [("update", (doc, record))]
