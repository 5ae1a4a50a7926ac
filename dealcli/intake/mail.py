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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dealcli import clients, ids
from dealcli.errors import MalformedInput, NotFound, RuleViolation, UsageError, Violation
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.session import Session
from dealcli import i18n
from dealcli.i18n import Text

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
    automatic: str | None = None  # machine-made (a bounce, an auto-reply, a receipt): what says so
    about: list[str] = field(default_factory=list)  # a report's original Message-ID(s)


# -- reading a message ----------------------------------------------------------------------------
# raw 8-bit header bytes (RFC 6532 UTF-8, or a broken mailer's Latin-1) reach us as the parser's
# surrogates: read as the standard library's email.policy allows (UTF-8, else U+FFFD)
_clean = route.readable_text


def _header(msg, name: str):
    try:
        return msg[name]
    except Exception:  # a header the parser cannot make sense of counts as absent
        return None


@dataclass
class _Address:
    display_name: str
    addr_spec: str


def _addresses(msg, name: str) -> list[_Address]:
    value = _header(msg, name)
    try:
        found = [_Address(_clean(a.display_name), _clean(a.addr_spec))
                 for a in (value.addresses if value is not None else ())]
    except Exception:
        return []
    return [a for a in found if a.addr_spec and "@" in a.addr_spec]


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
            out.append((_clean(part.get_filename()) or "forwarded.eml", ctype, data))
            return
        if part.is_multipart():
            for sub in part.iter_parts():
                walk(sub)
            return
        name = _clean(part.get_filename())
        if part.get_content_maintype() == "text" and not name and part.get_content_disposition() != "attachment":
            return  # the other alternative of the body (its HTML twin), not an attachment
        out.append((name or "", ctype, part.get_payload(decode=True) or b""))

    walk(msg)
    return out


AUTO_PRECEDENCE = ("bulk", "auto_reply", "junk")
AUTO_SENDERS = ("mailer-daemon", "postmaster")


def automatic(msg, sender: str) -> str | None:
    """What makes a message machine-made (RFC 3834 Auto-Submitted other than `no`, a report
    (RFC 6522: delivery status, read receipt, complaint), an empty Return-Path (a bounce),
    Precedence bulk/auto_reply/junk, an auto-reply header, a MAILER-DAEMON or postmaster
    sender); None for a message a person wrote."""
    auto = _clean(_header(msg, "Auto-Submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if msg.get_content_type() == "multipart/report":
        return f"report: {msg.get_param('report-type') or 'unknown'}"
    if _clean(_header(msg, "Return-Path")).strip() == "<>":
        return "bounce: empty Return-Path"
    precedence = _clean(_header(msg, "Precedence")).strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if any(_header(msg, h) is not None for h in ("X-Autoreply", "X-Autorespond")):
        return "auto-reply header"
    if sender.split("@")[0].lower() in AUTO_SENDERS:
        return f"sender {sender.split('@')[0]}"
    return None


def _reported_ids(msg) -> list[str]:
    """The Message-ID(s) of the original message a report or bounce returns (its message/rfc822
    or text/rfc822-headers part, a read receipt's Original-Message-ID)."""
    found = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            found += _MSGID.findall(_clean(_header(inner, "Message-ID"))) if hasattr(inner, "get") else []
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            found += re.findall(r"(?im)^message-id:\s*<([^<>\s]+)>", _text(part))
        elif ctype == "message/disposition-notification":  # a read receipt (RFC 8098)
            found += re.findall(r"(?im)^original-message-id:\s*<([^<>\s]+)>", _text(part))
    return found


def _message_id(msg) -> str:
    return " ".join(_clean(_header(msg, "Message-ID")).split()).strip("<>")


def _date(msg) -> dt.datetime | None:
    date_header = _header(msg, "Date")
    when = getattr(date_header, "datetime", None) if date_header is not None else None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when


def read(raw: bytes, now: dt.datetime) -> Mail:
    """A parsed message; MalformedInput (exit 65) when it is not an e-mail with a sender (a
    machine-made one may have none: a bare MAILER-DAEMON)."""
    from email import policy
    from email.parser import BytesParser

    if len(raw) > MAX_MESSAGE:
        raise MalformedInput(i18n._("message of {len_raw} bytes is larger than the limit ({max_message})").format(
            len_raw=len(raw), max_message=MAX_MESSAGE))
    if not raw.strip():
        raise MalformedInput(i18n._("empty input: not an e-mail message"))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    sender = senders[0] if senders else _Address("", "")
    machine = automatic(msg, sender.addr_spec or _clean(_header(msg, "From")).strip().strip("<>"))
    if not senders and not machine:
        what = "no From header" if _header(msg, "From") is None else "no address in its From header"
        raise MalformedInput(i18n._("not an e-mail message: {what}").format(what=what))
    if senders and not machine and not _usable(sender.addr_spec):
        raise MalformedInput(i18n._("From {sender_addr_spec!r}: not a usable e-mail address").format(
            sender_addr_spec=sender.addr_spec))
    message_id = _message_id(msg)
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    when = _date(msg) or now
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
        message_id=message_id, sender=sender.addr_spec, sender_name=sender.display_name.strip(),
        to=[a.addr_spec for a in _addresses(msg, "To")], cc=[a.addr_spec for a in _addresses(msg, "Cc")],
        subject=" ".join(_clean(_header(msg, "Subject")).split()), date=when.replace(microsecond=0),
        in_reply_to=_MSGID.findall(_clean(_header(msg, "In-Reply-To"))),
        references=_MSGID.findall(_clean(_header(msg, "References"))),
        body=_clean(body).strip(), attachments=[] if machine else _attachments(msg, body_part),
        automatic=machine, about=_reported_ids(msg) if machine else [],
    )


# -- rules ----------------------------------------------------------------------------------------
def mailbox_rule(s: Session, name: str | None) -> dict:
    boxes = route.section(s, "mailboxes")
    if name and name not in boxes:
        raise NotFound.about("mailbox", "{0} {name!r}: not in intake.mailboxes of dealcli.yaml (configured: "
                             "{configured})", name=name, configured=", ".join(boxes) or "none")
    rule = boxes.get(name or "default") or {}
    if not isinstance(rule, dict):
        raise NotFound(i18n._("intake.mailboxes.{name_or_default} of dealcli.yaml is not a mapping").format(
            name_or_default=name or 'default'))
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
    out, used = [], set[str]()
    folder = Path("attachments") / activity_id
    for n, (name, ctype, data) in enumerate(parts, 1):
        safe = _safe_name(name, n, ctype, used)
        s.repo.write_file(str(folder / safe), data)
        out.append({"name": safe, "path": str(folder / safe), "type": ctype, "size": len(data)})
    return out


def _replies(s: Session) -> dict[str, str]:
    """Message-ID -> deal of the stored e-mails that answer it (their In-Reply-To/References),
    read once per Session: a message read after its reply joins the reply's deal."""
    index = vars(s).get("_mail_replies")
    if index is None:
        index = vars(s)["_mail_replies"] = {}
        for _, data in s.repo.records("activities", []):
            if data.get("type") == "email" and data.get("deal"):
                for ref in [*(data.get("in_reply_to") or []), *(data.get("references") or [])]:
                    index.setdefault(str(ref), str(data["deal"]))
    return index


def thread_of(s: Session, m: Mail) -> str | None:
    """The open deal of the conversation: the deal of a stored message this one answers
    (In-Reply-To, References newest first, a report's original), else of a stored message that
    answers this one (read before it)."""
    for ref in [*m.in_reply_to, *reversed(m.references), *m.about]:
        try:
            deal = route.deal_if_open(s, s.repo.load("activities", ids.derived_id("email", ref)).data.get("deal"))
        except NotFound:
            continue
        if deal:
            return deal
    return route.deal_if_open(s, _replies(s).get(m.message_id))


def _remember(s: Session, m: Mail, deal: str) -> None:
    index = vars(s).get("_mail_replies")
    if index is not None:
        for ref in [*m.in_reply_to, *m.references]:
            index.setdefault(ref, deal)


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
        if m.automatic:
            return _notice(s, m, rule, mailbox, activity_id, source)
        direction, address, name = _client_address(m, rule)
        if direction == "internal":
            return Outcome("ignored", source=source, reason="a message between own addresses (own_domains)")
        thread = thread_of(s, m)
        contact = route.find_contact(s, address)
        company = route.company_of(s, contact)
        created = False
        if contact is None:
            if rule.get("unknown_senders") == "refuse" and not thread:
                raise RuleViolation(Violation("intake-unknown-sender", Text("{address} is not a known contact and "
                                                   "mailbox {mailbox_or_default!r} refuses unknown senders",
                                                                            address=address,
                                                                            mailbox_or_default=mailbox or 'default'),
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
        _store(s, m, rule, mailbox, activity_id, deal, direction)
    status = "created" if created or new_deal else "attached"
    return Outcome(status, activity_id, deal, contact, company, source)


def _notice(s: Session, m: Mail, rule: dict, mailbox: str | None, activity_id: str, source: str) -> Outcome:
    """A machine-made message (a bounce, an out-of-office reply, a read receipt, a complaint):
    recorded on the deal it is about (its thread, else its known sender's open deal) with what
    made it automatic, or dropped; it never makes a client or a deal."""
    deal = thread_of(s, m)
    contact = route.find_contact(s, m.sender) if m.sender else None
    company = route.company_of(s, contact)
    deal = deal or (route.open_deal(s, contact, company, rule.get("pipeline")) if contact else None)
    if not deal:
        return Outcome("ignored", source=source, reason=f"an automatic message ({m.automatic}) about no known "
                       "deal: dropped")
    _store(s, m, rule, mailbox, activity_id, deal, "in")
    return Outcome("attached", activity_id, deal, contact, company, source, reason=f"automatic: {m.automatic}")


def _store(s: Session, m: Mail, rule: dict, mailbox: str | None, activity_id: str, deal: str,
           direction: str) -> None:
    """The e-mail activity on `deal`, its attachments beside it."""
    parts = list(m.attachments)
    body = m.body
    if len(body) > BODY_LIMIT:
        parts.append(("body.txt", "text/plain", body.encode()))
        body = body[:BODY_LIMIT] + "\n[... cut here: the whole text is in the attachment body.txt]"
    details = dict(
        channel="email", direction=direction, sender=f"{m.sender_name} <{m.sender}>".strip() if m.sender else None,
        to=m.to, cc=m.cc, message_id=m.message_id, in_reply_to=m.in_reply_to or None,
        references=m.references or None, mailbox=mailbox, body=body,
        attachments=save_attachments(s, activity_id, parts),
    )
    if m.automatic:
        details["automatic"] = m.automatic
    route.record(s, deal, "email", m.subject, m.date.astimezone(s.tz), activity_id, details,
                 rule.get("responsible"))
    _remember(s, m, deal)


# -- sources ----------------------------------------------------------------------------------------
def messages(target: str, stdin=None, scratch: Path | None = None):
    """(label, read) of every message in `target`: - (stdin: one message, or an mbox), a .eml
    file, an mbox, a Maildir; read() gives its bytes (a batch is read twice: headers to order
    it, then each message). `scratch`: a folder for an mbox that arrives on stdin."""
    import mailbox

    if target == "-":
        raw = stdin.read() if stdin is not None else b""
        if not raw.startswith(b"From ") or scratch is None:
            yield "stdin", lambda: raw
            return
        path = scratch / "stdin.mbox"  # an mbox on stdin (one From_ line or many): read as the file would be
        path.write_bytes(raw)
        del raw
        box = mailbox.mbox(str(path), factory=None, create=False)
        keys = list(box.iterkeys())
        for n, key in enumerate(keys, 1):
            yield ("stdin" if len(keys) == 1 else f"stdin#{n}"), (lambda key=key: box.get_bytes(key))
        return
    path = Path(target)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise UsageError(i18n._("{target}: a folder that is not a Maildir (no cur/ and new/)").format(
                target=target))
        maildir = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(maildir.iterkeys()):
            yield f"{target}:{key}", (lambda key=key: maildir.get_bytes(key))
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
    except FileNotFoundError:
        raise NotFound(i18n._("{target}: no such file or Maildir").format(target=target)) from None
    if head == b"From ":
        box = mailbox.mbox(str(path), factory=None, create=False)
        for n, key in enumerate(box.iterkeys(), 1):
            yield f"{target}#{n}", (lambda key=key: box.get_bytes(key))
        return
    yield target, path.read_bytes


def in_order(found: list[tuple[str, Callable[[], bytes]]]) -> list[tuple[str, Callable[[], bytes]]]:
    """A batch in the order its messages were written (Date; a message without one where it
    stands), each after the messages it answers that are in the batch (In-Reply-To/References,
    whatever their dates say), so a thread opens one deal whatever the order of the files."""
    from email import policy
    from email.parser import BytesHeaderParser

    if len(found) < 2:
        return found
    heads = []
    for n, (_label, get) in enumerate(found):
        try:
            msg = BytesHeaderParser(policy=policy.default).parsebytes(get())
            when, mid = _date(msg), _message_id(msg)
            refs = _MSGID.findall(_clean(_header(msg, "In-Reply-To"))) + \
                _MSGID.findall(_clean(_header(msg, "References")))
        except Exception:  # unreadable here: process() says why, in its turn
            when, mid, refs = None, "", []
        stamp = when.timestamp() if when is not None else None
        heads.append((stamp, n, mid, refs))
    last = None
    keyed = []
    for stamp, n, mid, refs in heads:  # no Date: just after the message before it
        last = stamp if stamp is not None else last
        keyed.append(((last if last is not None else float("-inf")), n, mid, refs))
    keyed.sort(key=lambda h: (h[0], h[1]))
    by_id = {mid: h for h in keyed for mid in [h[2]] if mid}
    out, done = [], set()

    def emit(h, depth=0):
        if h[1] in done:
            return
        done.add(h[1])
        for ref in h[3]:
            parent = by_id.get(ref)
            if parent is not None and depth < 100:
                emit(parent, depth + 1)
        out.append(found[h[1]])

    for h in keyed:
        emit(h)
    return out


def run(s: Session, target: str, mailbox: str | None = None, stdin=None) -> list[Outcome]:
    """Every message of `target`, in the order they were written; one that fails is kept in
    inbox/failed/ (see inbox.py)."""
    import tempfile

    out = []
    with tempfile.TemporaryDirectory(prefix="dealcli-mbox-") as scratch:
        for label, get in in_order(list(messages(target, stdin, Path(scratch)))):
            raw = get()
            options = {"mailbox": mailbox, "source": label}
            out.append(inbox.guard(s, "email", raw, options, label,
                                   lambda raw=raw, label=label: process(s, raw, mailbox, label)))
    return out
