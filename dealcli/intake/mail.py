"""E-mail intake: one RFC 5322 message (stdin or a .eml file), an mbox or a Maildir, read with
the standard library's `email` (policy.default) and `mailbox`.

Per message: the sender is the client (found by address, else created with a company for the
sender's domain, by the mailbox's rule in dealcli.yaml `intake.mailboxes`); the message goes on
the deal of the thread it answers (In-Reply-To / References), else the client's open deal, else
a new deal in the rule's pipeline and stage; it is stored as a finished e-mail activity
(subject, text body, sender, date), attachments under attachments/<activity id>/. Ids derive
from the Message-ID (a message without one: from its bytes), so a re-delivery creates nothing.
The Maildir and mbox are only read, never changed: a cron job may scan them again and again."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from dealcli import clients, ids
from dealcli.errors import MalformedInput, NotFound, RuleViolation, UsageError, Violation
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.session import Session

FREEMAIL = ["gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
            "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "ya.ru",
            "proton.me", "protonmail.com", "zoho.com"]
RULE_DEFAULTS = {"pipeline": None, "stage": None, "responsible": None, "create_company_from_domain": True,
                 "ignore_domains": FREEMAIL, "unknown_senders": "create", "own_domains": []}
BODY_LIMIT = 100_000  # characters kept in the activity; a longer body is saved whole as body.txt
MAX_MESSAGE = 50 * 1024 * 1024
_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass
class Mail:
    message_id: str
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    subject: str
    date: dt.datetime
    in_reply_to: list[str]
    references: list[str]
    body: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (name, type, bytes)


# -- reading a message ----------------------------------------------------------------------------
def _header(msg, name: str):
    try:
        return msg[name]
    except Exception:  # a header the parser cannot make sense of counts as absent
        return None


def _addresses(msg, name: str) -> list:
    value = _header(msg, name)
    try:
        return [a for a in (value.addresses if value is not None else ()) if a.addr_spec and "@" in a.addr_spec]
    except Exception:
        return []


def _text(part) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        raw = part.get_payload(decode=True) or b""
        text = raw.decode("utf-8", errors="replace")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _html_to_text(html: str) -> str:
    from html.parser import HTMLParser

    class Strip(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.out: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.skip += 1
            elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
                self.out.append("\n")

        def handle_endtag(self, tag):
            if tag in ("script", "style") and self.skip:
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                self.out.append(data)

    parser = Strip()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _attachments(msg, body_part) -> list[tuple[str, str, bytes]]:
    out = []

    def walk(part):
        ctype = part.get_content_type()
        if part is body_part:
            return
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            out.append((part.get_filename() or "forwarded.eml", ctype, data))
            return
        if part.is_multipart():
            for sub in part.iter_parts():
                walk(sub)
            return
        name = part.get_filename()
        if part.get_content_maintype() == "text" and not name and part.get_content_disposition() != "attachment":
            return  # the other alternative of the body (its HTML twin), not an attachment
        out.append((name or "", ctype, part.get_payload(decode=True) or b""))

    walk(msg)
    return out


def read(raw: bytes, now: dt.datetime) -> Mail:
    """A parsed message; MalformedInput (exit 65) when it is not an e-mail with a sender."""
    from email import policy
    from email.parser import BytesParser

    if len(raw) > MAX_MESSAGE:
        raise MalformedInput(f"message of {len(raw)} bytes is larger than the limit ({MAX_MESSAGE})")
    if not raw.strip():
        raise MalformedInput("empty input: not an e-mail message")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if not senders:
        what = "no From header" if _header(msg, "From") is None else "no address in its From header"
        raise MalformedInput(f"not an e-mail message: {what}")
    sender = senders[0]
    if not _usable(sender.addr_spec):
        raise MalformedInput(f"From {sender.addr_spec!r}: not a usable e-mail address")
    message_id = " ".join(str(_header(msg, "Message-ID") or "").split()).strip("<>")
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    date_header = _header(msg, "Date")
    when = getattr(date_header, "datetime", None) if date_header is not None else None
    if when is None:
        when = now
    elif when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    try:
        body_part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        body_part = None
    body = ""
    if body_part is not None:
        body = _text(body_part)
        if body_part.get_content_subtype() == "html":
            body = _html_to_text(body)
    return Mail(
        message_id=message_id, sender=sender.addr_spec, sender_name=str(sender.display_name or "").strip(),
        to=[a.addr_spec for a in _addresses(msg, "To")], cc=[a.addr_spec for a in _addresses(msg, "Cc")],
        subject=" ".join(str(_header(msg, "Subject") or "").split()), date=when.replace(microsecond=0),
        in_reply_to=_MSGID.findall(str(_header(msg, "In-Reply-To") or "")),
        references=_MSGID.findall(str(_header(msg, "References") or "")),
        body=body.strip(), attachments=_attachments(msg, body_part),
    )


# -- rules ----------------------------------------------------------------------------------------
def mailbox_rule(s: Session, name: str | None) -> dict:
    boxes = route.section(s, "mailboxes")
    if name and name not in boxes:
        raise NotFound.about("mailbox", "{0} {name!r}: not in intake.mailboxes of dealcli.yaml (configured: "
                             "{configured})", name=name, configured=", ".join(boxes) or "none")
    rule = boxes.get(name or "default") or {}
    if not isinstance(rule, dict):
        raise NotFound(f"intake.mailboxes.{name or 'default'} of dealcli.yaml is not a mapping")
    return {**RULE_DEFAULTS, **rule}


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def company_for_domain(s: Session, domain: str, responsible: str | None) -> str:
    """The company of a domain: the company of a colleague (a contact with an address there),
    else a company named after the domain or holding an address there, else a new one."""
    contacts = clients.ClientIndex(s, "contact")
    for email, contact_id in contacts.by_email.items():
        if email.endswith("@" + domain):
            company = route.company_of(s, contact_id)
            if company:
                return company
    for record_id, data in s.repo.records("companies", []):
        names = [clients.norm(data.get("name")), clients.norm((data.get("fields") or {}).get("domain"))]
        if domain in names or any(clients.norm(e).endswith("@" + domain) for e in data.get("emails") or []):
            return record_id
    return route.ensure_client(s, "company", f"domain:{domain}", domain, fields={"domain": domain},
                               responsible=responsible)


def _usable(address: str) -> bool:
    try:
        clients.check_email(address)
    except UsageError:
        return False
    return True


def _client_address(m: Mail, rule: dict) -> tuple[str, str, str]:
    """(direction, client address, client name): a message from one of `own_domains` is
    outgoing (a copy sent to the intake mailbox) and its client is the first outside recipient."""
    own = {d.lower() for d in rule.get("own_domains") or []}
    if _domain(m.sender) not in own:
        return "in", m.sender, m.sender_name
    for address in m.to + m.cc:
        if _domain(address) not in own and _usable(address):
            return "out", address, ""
    return "internal", "", ""


# -- one message ------------------------------------------------------------------------------------
def _safe_name(name: str, n: int, ctype: str, used: set) -> str:
    import mimetypes
    import unicodedata

    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f:*?"<>|]', "_", name).strip().strip(".").lstrip("-")
    if not name:
        name = f"part-{n}{mimetypes.guess_extension(ctype) or '.bin'}"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, dot, ext = name, "", ""
    while len(stem.encode()) > 150:
        stem = stem[:-1]
    candidate, k = f"{stem}{dot}{ext}", 2
    while candidate.lower() in used:
        candidate, k = f"{stem} ({k}){dot}{ext}", k + 1
    used.add(candidate.lower())
    return candidate


def save_attachments(s: Session, activity_id: str, parts: list[tuple[str, str, bytes]]) -> list[dict]:
    """Attachments beside the records: attachments/<activity id>/<safe name>, written through
    the write gate (in the message's transaction: with its records or not at all)."""
    out, used = [], set()
    folder = Path("attachments") / activity_id
    for n, (name, ctype, data) in enumerate(parts, 1):
        safe = _safe_name(name, n, ctype, used)
        s.repo.write_file(str(folder / safe), data)
        out.append({"name": safe, "path": str(folder / safe), "type": ctype, "size": len(data)})
    return out


def process(s: Session, raw: bytes, mailbox: str | None, source: str) -> Outcome:
    """One message (see the module doc). Raises on anything that keeps it from being stored."""
    route.act_as_intake_user(s)
    rule = mailbox_rule(s, mailbox)
    m = read(raw, s.now)
    activity_id = ids.derived_id("email", m.message_id)
    source = f"{source} <{m.message_id}>" if not m.message_id.startswith("sha256:") else source
    with s.repo.transaction():  # the write gate: every record of this item, or none
        dup = route.existing(s, "activities", activity_id, source)
        if dup:
            return dup
        direction, address, name = _client_address(m, rule)
        if direction == "internal":
            return Outcome("ignored", source=source, reason="a message between own addresses (own_domains)")
        thread = None
        for ref in [*m.in_reply_to, *reversed(m.references)]:
            try:
                thread = route.deal_if_open(s, s.repo.load("activities", ids.derived_id("email", ref)).data.get("deal"))
            except NotFound:
                continue
            if thread:
                break
        contact = route.find_contact(s, address)
        company = route.company_of(s, contact)
        created = False
        if contact is None:
            if rule.get("unknown_senders") == "refuse" and not thread:
                raise RuleViolation(Violation("intake-unknown-sender", f"{address} is not a known contact and "
                                              f"mailbox {mailbox or 'default'!r} refuses unknown senders",
                                              "from", address))
            domain = _domain(address)
            ignored = {d.lower() for d in rule.get("ignore_domains") or []}
            if rule.get("create_company_from_domain") and domain not in ignored:
                company = company_for_domain(s, domain, rule.get("responsible"))
            contact = route.ensure_client(s, "contact", f"email:{address.lower()}", name or address.split("@")[0],
                                          emails=[address], company=company, responsible=rule.get("responsible"))
            created = True
        deal, new_deal = route.deal_for(s, rule, title=m.subject or f"E-mail from {name or address}",
                                        source="email", deal_id=ids.derived_id("email-deal", m.message_id),
                                        thread=thread, contact=contact, company=company)
        parts = list(m.attachments)
        body = m.body
        if len(body) > BODY_LIMIT:
            parts.append(("body.txt", "text/plain", body.encode()))
            body = body[:BODY_LIMIT] + "\n[... cut here: the whole text is in the attachment body.txt]"
        details = dict(
            channel="email", direction=direction, sender=f"{m.sender_name} <{m.sender}>".strip(),
            to=m.to, cc=m.cc, message_id=m.message_id, in_reply_to=m.in_reply_to or None,
            references=m.references or None, mailbox=mailbox, body=body,
            attachments=save_attachments(s, activity_id, parts),
        )
        route.record(s, deal, "email", m.subject, m.date.astimezone(s.tz), activity_id, details,
                     rule.get("responsible"))
    status = "created" if created or new_deal else "attached"
    return Outcome(status, activity_id, deal, contact, company, source)


# -- sources ----------------------------------------------------------------------------------------
def messages(target: str, stdin=None):
    """(label, bytes) of every message in `target`: - (stdin), a .eml file, an mbox, a Maildir."""
    import mailbox

    if target == "-":
        yield "stdin", (stdin.read() if stdin is not None else b"")
        return
    path = Path(target)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise UsageError(f"{target}: a folder that is not a Maildir (no cur/ and new/)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(box.iterkeys()):
            yield f"{target}:{key}", box.get_bytes(key)
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
    except FileNotFoundError:
        raise NotFound(f"{target}: no such file or Maildir") from None
    if head == b"From ":
        box = mailbox.mbox(str(path), factory=None, create=False)
        for n, key in enumerate(box.iterkeys(), 1):
            yield f"{target}#{n}", box.get_bytes(key)
        return
    yield target, path.read_bytes()


def run(s: Session, target: str, mailbox: str | None = None, stdin=None) -> list[Outcome]:
    """Every message of `target`; one that fails is kept in inbox/failed/ (see inbox.py)."""
    out = []
    for label, raw in messages(target, stdin):
        options = {"mailbox": mailbox, "source": label}
        out.append(inbox.guard(s, "email", raw, options, label, lambda: process(s, raw, mailbox, label)))
    return out

