"""Answering back: an e-mail sent from a deal through the SMTP server of dealcli.yaml `smtp:`,
kept on the deal as an outgoing e-mail activity (docs/intake.md, "Answering back").

  reply(s, ref, body)                 an answer to an e-mail activity (or to a deal's latest e-mail):
                                      to its sender, `Re:` its subject, In-Reply-To / References
  write(s, deal, to, subject, body)   a new message on a deal

The message gets a Message-ID of its own and the activity's id derives from it, as intake
derives the id of every message it stores: the client's answer names it in In-Reply-To, so
`intake email` puts the answer on the same deal. The message is sent inside the transaction
that stores its activity: a message the server refused stores nothing.

Settings: smtp.py (the server `dealcli remind` sends through too)."""

from __future__ import annotations

from dataclasses import dataclass

from dealcli import ids, smtp
from dealcli.errors import NotFound, UsageError
from dealcli.intake import route
from dealcli.session import Session
from dealcli import i18n


@dataclass
class Sent:
    """What `reply`/`write` made: the activity (None with dry_run) and the message's bytes."""

    activity: dict | None
    message: bytes


# -- the message ------------------------------------------------------------------------------------
def _addresses(values) -> list[str]:
    from email.utils import getaddresses

    return [addr for _, addr in getaddresses([str(v) for v in values or []]) if "@" in addr]


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
    conf = smtp.settings(s)
    if not to:
        raise UsageError.about("to", "{0}: no address to send to")
    msg = smtp.compose(conf, to, subject, body, s.now, in_reply_to, references)
    if dry_run:
        return Sent(None, msg.as_bytes())
    creds = smtp.credentials(s, conf)
    with s.repo.transaction():  # the activity is staged, then the message sent: refused, nothing stored
        activity = _record(s, deal, msg, to, body, in_reply_to, references)
        smtp.send(conf, creds, msg)
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
