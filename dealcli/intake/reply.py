"""Answering back: an e-mail sent from a deal through the SMTP server of dealcli.yaml `smtp:`,
kept on the deal as an outgoing e-mail activity (docs/intake.md, "Answering back").

  reply(s, ref, body)                 an answer to an e-mail activity (or to a deal's latest e-mail):
                                      to its sender, `Re:` its subject, In-Reply-To / References
  write(s, deal, to, subject, body)   a new message on a deal

The message gets a Message-ID of its own and the activity's id derives from it, as intake
derives the id of every message it stores: the client's answer names it in In-Reply-To, so
`intake email` puts the answer on the same deal. The message is sent inside the transaction
that stores its activity: a message the server refused stores nothing.

Settings (no password in the repository, ever):
  smtp: {host: mail.example.com, port: 587, from: "Sales <sales@example.com>",
         security: auto|starttls|ssl|none, user: LOGIN, password_file: PATH, cafile: PATH}
The password is $DEALCLI_SMTP_PASSWORD, else the first line of `password_file` (a file outside
the repository); the login is $DEALCLI_SMTP_USER, else `user`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dealcli import ids
from dealcli.errors import NotFound, TempFail, UsageError
from dealcli.intake import route
from dealcli.session import Session
from dealcli import i18n

SECURITY = ("auto", "starttls", "ssl", "none")
DEFAULT_PORT = {"auto": 587, "starttls": 587, "ssl": 465, "none": 25}
TIMEOUT = 30


@dataclass
class Sent:
    """What `reply`/`write` made: the activity (None with dry_run) and the message's bytes."""

    activity: dict | None
    message: bytes


# -- settings -------------------------------------------------------------------------------------
def settings(s: Session) -> dict:
    """`smtp:` of dealcli.yaml, checked; NotFound (3, not configured) without host or from."""
    value = s.repo.config.get("smtp") or {}
    if not isinstance(value, dict) or not value.get("host") or not value.get("from"):
        raise NotFound(i18n._("no SMTP server: set smtp.host and smtp.from in dealcli.yaml (see docs/intake.md, "
                       "Answering back)"))
    if "password" in value:
        raise NotFound(i18n._("smtp.password in dealcli.yaml: a password is never kept in the "
                              "repository; delete it and "
                       "set $DEALCLI_SMTP_PASSWORD or smtp.password_file (a file outside the repository)"))
    security = str(value.get("security") or "auto")
    if security not in SECURITY:
        raise NotFound(i18n._("smtp.security of dealcli.yaml is {security!r}: expected {join_security}").format(
            security=security, join_security=', '.join(SECURITY)))
    return {**value, "security": security, "port": int(value.get("port") or DEFAULT_PORT[security])}


def credentials(s: Session, conf: dict) -> tuple[str, str] | None:
    """(login, password), or None: the server needs no login."""
    user = os.environ.get("DEALCLI_SMTP_USER") or conf.get("user")
    password = os.environ.get("DEALCLI_SMTP_PASSWORD")
    if password is None and conf.get("password_file"):
        path = Path(str(conf["password_file"])).expanduser()
        root = s.repo.root.resolve()
        if path.resolve() == root or root in path.resolve().parents:
            raise NotFound(i18n._("smtp.password_file {path} is inside the repository: keep the password outside it "
                           "(a file of your own, or $DEALCLI_SMTP_PASSWORD)").format(path=path))
        try:
            password = path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
        except OSError as exc:
            raise NotFound(i18n._("smtp.password_file {path}: {exc_strerror}").format(
                path=path, exc_strerror=exc.strerror)) from None
    if not user:
        return None
    if not password:
        raise NotFound(i18n._("smtp.user is set but no password: set $DEALCLI_SMTP_PASSWORD or smtp.password_file"))
    return str(user), password


# -- the message ------------------------------------------------------------------------------------
def _addresses(values) -> list[str]:
    from email.utils import getaddresses

    return [addr for _, addr in getaddresses([str(v) for v in values or []]) if "@" in addr]


def _compose(conf: dict, to: list[str], subject: str, body: str, now, in_reply_to: str | None = None,
             references: list[str] | None = None):
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid, parseaddr

    sender = str(conf["from"])
    domain = parseaddr(sender)[1].rpartition("@")[2] or "dealcli.invalid"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg.set_content(body)
    return msg


def _send(conf: dict, creds, msg) -> None:
    """Hand the message to the server: STARTTLS when offered (auto) or always (starttls), TLS
    from the start (ssl), never (none); TempFail (75, nothing stored) when it is not taken."""
    import smtplib
    import ssl

    security, host, port = conf["security"], str(conf["host"]), int(conf["port"])
    context = ssl.create_default_context(cafile=conf.get("cafile") or None)
    try:
        server: smtplib.SMTP
        if security == "ssl":
            server = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with server:
            server.ehlo()
            if security in ("auto", "starttls") and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            elif security == "starttls":
                raise TempFail(i18n._("SMTP server {host}:{port} does not offer STARTTLS (smtp.security: starttls): "
                               "nothing was sent or stored").format(host=host, port=port))
            if creds:
                server.login(*creds)
            server.send_message(msg)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        why = getattr(exc, "smtp_error", None)
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(exc) or type(exc).__name__
        raise TempFail(i18n._("SMTP server {host}:{port}: {why}: nothing was sent or stored").format(
            host=host, port=port, why=why)) from None


def _body(text: str | None) -> str:
    if text is None or not text.strip():
        raise UsageError.about("body", "{0}: the message needs a text")
    return text.replace("\r\n", "\n")


def _quoted(original: dict) -> str:
    when = str(original.get("due") or "")[:16].replace("T", " ")
    lines = str(original.get("body") or "").splitlines()
    quote = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"\n\nOn {when}, {original.get('from') or 'you'} wrote:\n{quote}\n" if quote else ""


def _record(s: Session, deal: str, msg, to: list[str], body: str, in_reply_to: str | None,
            references: list[str] | None) -> dict:
    message_id = str(msg["Message-ID"]).strip().strip("<>")
    details = dict(channel="email", direction="out", sender=str(msg["From"]), to=to, cc=[],
                   message_id=message_id, in_reply_to=[in_reply_to] if in_reply_to else None,
                   references=references or None, mailbox=None, body=body, attachments=[])
    return route.record(s, deal, "email", str(msg["Subject"]), s.now, ids.derived_id("email", message_id),
                        details)


def _deliver(s: Session, deal: str, to: list[str], subject: str, body: str, dry_run: bool,
             in_reply_to: str | None = None, references: list[str] | None = None) -> Sent:
    conf = settings(s)
    if not to:
        raise UsageError.about("to", "{0}: no address to send to")
    msg = _compose(conf, to, subject, body, s.now, in_reply_to, references)
    if dry_run:
        return Sent(None, msg.as_bytes())
    creds = credentials(s, conf)
    with s.repo.transaction():  # the activity is staged, then the message sent: refused, nothing stored
        activity = _record(s, deal, msg, to, body, in_reply_to, references)
        _send(conf, creds, msg)
    return Sent(activity, msg.as_bytes())


# -- use cases ------------------------------------------------------------------------------------
def latest_email(s: Session, deal_id: str) -> dict | None:
    """The deal's latest e-mail activity (by its time)."""
    found = [d for _, d in s.repo.records("activities", []) if d.get("deal") == deal_id
             and d.get("type") == "email" and d.get("message_id")]
    return max(found, key=lambda d: (str(d.get("due") or ""), str(d.get("id")))) if found else None


def _target(s: Session, ref: str) -> dict:
    """The e-mail activity `ref` names: an activity (id or prefix), or a deal's latest e-mail."""
    try:
        return s.repo.load("activities", s.repo.resolve("activities", ref)).data
    except NotFound:
        pass
    deal = s.load_deal(ref)[0].id
    found = latest_email(s, deal)
    if found is None:
        raise NotFound(i18n._("deal {deal} has no e-mail to answer: write one with `dealcli deal "
                              "email {deal} --to ADDR "
                       "--subject S`").format(deal=deal))
    return found


def reply(s: Session, ref: str, body: str | None, dry_run: bool = False) -> Sent:
    """Answer an e-mail activity (or a deal's latest e-mail): to its sender (an outgoing one: to
    its recipients), `Re:` its subject, In-Reply-To its Message-ID, References its references
    and it; the original quoted below the text."""
    text = _body(body)
    original = _target(s, ref)
    if original.get("type") != "email" or not original.get("message_id"):
        raise UsageError.about("activity", "{0} {id}: not an e-mail (a reply answers an e-mail activity or a "
                               "deal)", id=original.get("id"))
    outgoing = original.get("direction") == "out"
    to = _addresses(original.get("to") if outgoing else [original.get("from")])
    subject = str(original.get("subject") or "")
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".strip()
    parent = str(original["message_id"])
    references = [*[str(r) for r in original.get("references") or []], parent]
    return _deliver(s, str(original["deal"]), to, subject, text + _quoted(original), dry_run, parent,
                    references[-20:])


def write(s: Session, deal_ref: str, to: list[str], subject: str, body: str | None, dry_run: bool = False) -> Sent:
    """A new e-mail from a deal to `to`."""
    from dealcli import clients

    text = _body(body)
    addresses = [clients.check_email(a, "to") for a in to]
    subject = " ".join((subject or "").split())
    if not subject:
        raise UsageError.about("subject", "{0}: the message needs a subject")
    deal = s.load_deal(deal_ref)[0].id
    return _deliver(s, deal, addresses, subject, text, dry_run)
