"""Website forms: forms/<name>.yaml maps the fields of a submission to the deal, contact and
company it opens (schemas/form.schema.json; docs/intake.md):

  title: "Website: {name}"        deal title; {field} is a submitted value
  pipeline: sales                 target pipeline and stage (default: the default pipeline,
  stage: new                      its first stage)
  source: website                 the deal's source (default: form:<name>)
  fields: {name: contact.name, email: contact.email, phone: contact.phone, company: company.name,
           message: deal.comment, budget: deal.amount, topic: deal.fields.topic}
  required: [name, email]
  honeypot: website               a field people never see: filled means a bot (kept as spam)
  limits: {max_bytes: 65536, requests: 10, seconds: 60}   for the web endpoint (wsgi.py)

One submission opens one deal whose id is derived from the form and the submission (or its
Idempotency-Key), so the same submission posted twice opens one deal. Every submitted field is
kept in the deal's first comment."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

from dealcli import clients, deals, ids
from dealcli.errors import CorruptData, MalformedInput, NotFound, RuleViolation, UsageError, Violation
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.parse import parse_amount
from dealcli.session import Session
from dealcli import i18n
from dealcli.i18n import Text

TARGETS = {"contact": ("name", "email", "phone"), "company": ("name", "email", "phone"),
           "deal": ("title", "amount", "currency", "comment", "close_date", "type", "source")}
LIMITS = {"max_bytes": 65536, "requests": 10, "seconds": 60}
MAX_FIELDS = 200
MAX_VALUE = 20_000


class Spam(RuleViolation):
    """The honeypot field was filled."""


def load(s: Session, name: str) -> dict:
    """forms/<name>.yaml, checked against schemas/form.schema.json (exit 5 naming the line)."""
    from dealcli.validation import schemas

    if not ids.is_slug(name):
        raise NotFound(i18n._("form {name!r}: not a form name (lower-case letters, digits, _ and -)").format(
            name=name))
    try:
        doc = s.repo.load("forms", name)
    except NotFound:
        known = ", ".join(s.repo.ids("forms")) or "none"
        raise NotFound(i18n._("form {name!r}: no forms/{name}.yaml (forms: {known})").format(
            name=name, known=known)) from None
    errors = sorted(schemas.validator("form").iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        path = tuple(errors[0].absolute_path)
        where = ".".join(map(str, path)) or "(top level)"
        message = errors[0].message
        if path[:1] == ("fields",) and errors[0].validator in ("pattern", "anyOf") and \
                isinstance(errors[0].instance, str):
            message = (f"{errors[0].instance!r} is not a target (contact.name|email|phone, company.name|email|phone, "
                       f"deal.{'|'.join(TARGETS['deal'])}, deal.fields.NAME)")
        raise CorruptData(s.repo.rel(doc.path), f"{where}: {message}", doc.line_of(path))
    return doc.data


def limits(s: Session, form: dict) -> dict:
    """Size and rate limits of the web endpoint: the form's, over intake.web, over LIMITS."""
    return {**route.section(s, "web", LIMITS), **(form.get("limits") or {})}


def _multipart(payload: bytes, content_type: str) -> list[tuple[str, str]]:
    """(name, value) of a multipart/form-data body (an HTML form with enctype multipart/form-
    data, RFC 7578), read with the standard library's email parser; a file field gives its file
    name (the file itself is not kept)."""
    from email import policy
    from email.parser import BytesParser

    if "boundary=" not in content_type.lower():
        raise MalformedInput(i18n._("multipart/form-data without a boundary"))
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + payload)
    if not msg.is_multipart():
        raise MalformedInput(i18n._("the submission is not multipart/form-data"))
    pairs = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        if filename is not None:
            pairs.append((str(name), str(filename)))
            continue
        raw = part.get_payload(decode=True) or b""
        assert isinstance(raw, bytes)  # a non-multipart part decodes to bytes
        try:
            pairs.append((str(name), raw.decode(part.get_content_charset() or "utf-8")))
        except (UnicodeDecodeError, LookupError):
            raise MalformedInput(i18n._("field {name!r} is not UTF-8 text").format(name=name)) from None
    return pairs


def parse(payload: bytes, content_type: str | None = None) -> dict[str, str]:
    """A submission as field -> text: a JSON object, application/x-www-form-urlencoded or
    multipart/form-data."""
    from urllib.parse import parse_qs

    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return _collected(_multipart(payload, content_type or ""))
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput(i18n._("the submission is not UTF-8 text")) from None
    is_json = ctype == "application/json" or (not ctype and text.lstrip().startswith(("{", "[")))
    if is_json:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MalformedInput(i18n._("the submission is not valid JSON: {exc}").format(exc=exc)) from None
        if not isinstance(data, dict):
            raise MalformedInput(i18n._("the submission must be a JSON object of field: value"))
        pairs = []
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, (dict, list)):
                    raise MalformedInput(i18n._("field {key!r}: a nested value; expected text or a number").format(
                        key=key))
                pairs.append((str(key), "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)))
    elif ctype in ("", "application/x-www-form-urlencoded"):
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise MalformedInput(i18n._("the submission is not form data: {exc}").format(exc=exc)) from None
        pairs = [(k, v) for k, vs in parsed.items() for v in vs]
        if text.strip() and not pairs:
            raise MalformedInput(i18n._("the submission holds no field=value pairs"))
    else:
        raise MalformedInput(i18n._("content type {ctype!r}: expected application/json, "
                             "application/x-www-form-urlencoded or multipart/form-data").format(ctype=ctype))
    return _collected(pairs)


def _collected(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Field -> text; a field given several times is joined with ", "."""
    if len(pairs) > MAX_FIELDS:
        raise MalformedInput(i18n._("{len_pairs} fields: more than {max_fields}").format(
            len_pairs=len(pairs), max_fields=MAX_FIELDS))
    out: dict[str, str] = {}
    for key, value in pairs:
        if len(value) > MAX_VALUE:
            raise MalformedInput(i18n._("field {key!r}: {len_value} characters is more than {max_value}").format(
                key=key, len_value=len(value), max_value=MAX_VALUE))
        out[key] = f"{out[key]}, {value}" if out.get(key) else value.strip()
    return out


_PLACEHOLDER = re.compile(r"\{(\w[\w-]*)\}")


def _fill(template: str, values: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def required_fields(form: dict) -> list[str]:
    """The fields a submission must fill: `required`, and every {field} of the title (a title
    "Request: {topic}" without a topic would say nothing)."""
    return list(dict.fromkeys([*(form.get("required") or []), *_PLACEHOLDER.findall(str(form.get("title") or ""))]))


def target_of(spec) -> str:
    """A field's target: `contact.email`, or the `to` of {to: deal.amount, min: 0, ...}."""
    return str(spec.get("to") if isinstance(spec, dict) else spec)


def _bounds(name: str, spec, value: str, number) -> None:
    """The form's bounds of one field: min/max of a number (an amount: never below 0 unless
    `min` says so), max_length of a text; UsageError about the field otherwise."""
    rules = spec if isinstance(spec, dict) else {}
    if number is not None:
        low = rules.get("min", 0 if target_of(spec).endswith(".amount") else None)
        high = rules.get("max")
        if low is not None and number < Decimal(str(low)):
            raise UsageError.about(name, "{0} {value!r}: less than {low}", value=value, low=low)
        if high is not None and number > Decimal(str(high)):
            raise UsageError.about(name, "{0} {value!r}: more than {high}", value=value, high=high)
    if rules.get("max_length") is not None and len(value) > int(rules["max_length"]):
        raise UsageError.about(name, "{0}: {n} characters, more than {most}", n=len(value), most=rules["max_length"])


def _mapped(form: dict, values: dict) -> dict:
    out: dict = {"contact": {}, "company": {}, "deal": {}, "fields": {}}
    bad = []
    for name, spec in (form.get("fields") or {}).items():
        value = values.get(name, "").strip()
        if not value:
            continue
        group, _, attr = target_of(spec).partition(".")
        try:
            number = parse_amount(value) if attr == "amount" else _number(value, spec)
            _bounds(name, spec, value, number)
            if group == "deal" and attr.startswith("fields."):
                out["fields"][attr[7:]] = value
            elif attr == "email":
                out[group][attr] = clients.check_email(value)
            elif attr == "phone":
                out[group][attr] = clients.check_phone(value)
            elif attr == "amount":
                out[group][attr] = str(number)
            else:
                out[group][attr] = value
        except UsageError as exc:  # about the form's field, named as the form names it
            bad.append(Violation("form-field", exc.lines(lambda _field: f"field {name!r}")[0], name, value))  # noqa: B023 - called at once
    if bad:
        raise RuleViolation(bad)
    return out


def _number(value: str, spec) -> Decimal | None:
    """The value as a number when the form bounds it by min/max; None otherwise."""
    if not isinstance(spec, dict) or ("min" not in spec and "max" not in spec):
        return None
    try:
        return parse_amount(value)
    except UsageError:
        raise UsageError.about("value", "{0} {value!r}: not a number", value=value) from None


def process(s: Session, name: str, payload: bytes, content_type: str | None = None, key: str | None = None,
            source: str = "form") -> Outcome:
    """One submission (see the module doc). Raises on anything that keeps it from being stored."""
    route.act_as_intake_user(s)
    form = load(s, name)
    values = parse(payload, content_type)
    honeypot = form.get("honeypot")
    if honeypot and values.get(honeypot, "").strip():
        raise Spam(Violation("form-honeypot", Text("the hidden field {honeypot!r} is filled: spam",
                                                   honeypot=honeypot), honeypot))
    values.pop(honeypot, None) if honeypot else None
    missing = [f for f in required_fields(form) if not values.get(f, "").strip()]
    if missing:
        raise RuleViolation([Violation("form-required", Text("field {f!r} is required by form {name!r}", f=f,
                                                             name=name), f)
                             for f in missing])
    m = _mapped(form, values)
    identity = key or hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    deal_id = ids.derived_id("form", name, identity)
    with s.repo.transaction():  # the write gate: every record of this item, or none
        dup = route.existing(s, "deals", deal_id, source)
        if dup:
            return dup
        contact, company = None, None
        person, firm = m["contact"], m["company"]
        if person:
            contact = route.find_contact(s, person.get("email"))
            if contact is None and person.get("phone"):
                contact, company = route.find_by_phone(s, person["phone"])
            company = company or route.company_of(s, contact)
        if firm.get("name") and not company:
            company = clients.ClientIndex(s, "company").find(name=firm["name"], email=firm.get("email"))
            company = company or route.ensure_client(
                s, "company", f"name:{clients.norm(firm['name'])}", firm["name"],
                emails=[firm["email"]] if firm.get("email") else [],
                phones=[firm["phone"]] if firm.get("phone") else [])
        if person and contact is None:
            label = person.get("name") or person.get("email") or person.get("phone")
            contact = route.ensure_client(s, "contact", f"form:{person.get('email') or identity}", label,
                                          emails=[person["email"]] if person.get("email") else [],
                                          phones=[person["phone"]] if person.get("phone") else [],
                                          company=company)
        deal_fields = m["deal"]
        who = person.get("name") or person.get("email") or firm.get("name") or "website visitor"
        if deal_fields.get("title"):
            title = deal_fields["title"]
        elif form.get("title"):
            title = _fill(str(form["title"]), values)
        else:
            title = f"{form.get('name') or name}: {who}"
        lines = "\n".join(f"{k}: {v}" for k, v in values.items())
        comment = "\n\n".join(x for x in (deal_fields.get("comment"), f"Form {name!r} submitted:\n{lines}") if x)
        spec = deals.DealSpec(
            title=" ".join(title.split())[:500] or name, pipeline=form.get("pipeline"), stage=form.get("stage"),
            company=company, contacts=[contact] if contact else [], amount=deal_fields.get("amount"),
            currency=deal_fields.get("currency"), close_date=deal_fields.get("close_date"),
            type=deal_fields.get("type"), source=deal_fields.get("source") or form.get("source") or f"form:{name}",
            responsible=form.get("responsible"), comment=comment,
            sets=[f"fields.{k}={v}" for k, v in m["fields"].items()])
        deal = deals.add(s, spec, deal_id=deal_id, via="intake")
    return Outcome("created", deal.id, deal.id, contact, company, source)


def submit(s: Session, name: str, payload: bytes, content_type: str | None = None, key: str | None = None,
           source: str | None = None) -> Outcome:
    """process() with nothing lost: a failure is kept in inbox/failed/, spam in inbox/spam/."""
    source = source or f"form {name}"
    options = {"form": name, "content_type": content_type, "key": key, "source": source}

    def attempt() -> Outcome:
        try:
            return process(s, name, payload, content_type, key, source)
        except Spam as exc:
            reason = "; ".join(exc.lines())
            kept = inbox.keep(s, "form", payload, options, reason, exc.exit_code, where=inbox.SPAM)
            return Outcome("spam", source=source, reason=reason, kept=kept, exit_code=exc.exit_code)

    return inbox.guard(s, "form", payload, options, source, attempt)
