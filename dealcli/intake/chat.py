"""Chat messages, one JSON object each (docs/intake.md):

- a Telegram Bot API webhook Update: {"update_id": .., "message": {"message_id": .., "date":
  <unix time>, "chat": {"id": ..}, "from": {"id": .., "first_name": .., "last_name": ..,
  "username": ..}, "text": ..}}. Updates without a `message` (edited messages, callbacks, ...)
  are ignored; a message without text is stored by its caption, or described ("[invoice:
  Licences, 14.50 EUR]", "[game: ...]", "[payment received: ...]", else its kind: "[photo]").
  The contact is the Telegram user (from.id), the same in a private chat and in a group.
- the generic shape for any other messenger or a website chat: {"channel": "site-chat",
  "chat_id": .., "message_id": .., "date": ISO 8601 or unix time (default: now), "text": ..,
  "from": {"name": .., "email": .., "phone": ..}}; chat_id, message_id and text are required.

All messages of one chat go to one deal: the open deal of the chat's latest message, else the
client's open deal (client found by e-mail or phone, else the contact of that chat, created on
its first message), else a new deal in the pipeline and stage of intake.chat. Each message is
a finished `chat` activity whose id derives from channel, chat and message id (idempotent)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from dealcli import clients, ids, timeutil
from dealcli.errors import MalformedInput, UsageError
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.session import Session
from dealcli.i18n import _

TELEGRAM_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
                  "inline_query", "my_chat_member", "chat_member", "chat_join_request", "poll", "poll_answer")
MEDIA = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation", "story")
# digits after the point of a Telegram amount (`total_amount` is in the currency's smallest unit;
# Telegram's currencies.json follows ISO 4217); every other currency has 2. XTR: Telegram Stars.
EXPONENT = {**dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF XTR".split(), 0),
            **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3)}
DEFAULTS = {"pipeline": None, "stage": None, "responsible": None}


@dataclass
class Message:
    channel: str
    chat_id: str
    message_id: str
    date: dt.datetime
    text: str
    name: str
    username: str | None = None
    email: str | None = None
    phone: str | None = None
    sender_id: str | None = None  # a Telegram user's id: one contact wherever they write


def _when(value, now: dt.datetime) -> dt.datetime:
    if value in (None, ""):
        return now
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise MalformedInput(_("date {value!r}: not a unix time").format(value=value)) from None
    try:
        return timeutil.parse_datetime(str(value), now)[0]
    except timeutil.DateError:
        raise MalformedInput(_("date {value!r}: not a date and time").format(value=value)) from None


def _need(obj, key: str, where: str):
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        raise MalformedInput(_("{where}{key}: missing (see docs/intake.md for the shapes understood)").format(
            where=where, key=key))
    return value


def parse(payload: bytes, now: dt.datetime) -> Message | None:
    """The message of an update (None: an update without one); MalformedInput otherwise."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedInput(_("not a JSON chat message: {exc}").format(exc=exc)) from None
    if not isinstance(data, dict):
        raise MalformedInput(_("not a JSON object: expected a Telegram update or {chat_id, message_id, text}"))
    if "update_id" in data or any(k in data for k in TELEGRAM_KINDS):
        msg = data.get("message")
        if msg is None:
            return None
        chat = msg.get("chat") if isinstance(msg, dict) else None
        if not isinstance(chat, dict):
            raise MalformedInput(_("message.chat: missing (see docs/intake.md for the shapes understood)"))
        sender = msg.get("from") if isinstance(msg.get("from"), dict) else {}
        name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip() \
            or str(chat.get("title") or chat.get("first_name") or "")
        text = msg.get("text") or msg.get("caption") or described(msg)
        return Message("telegram", str(_need(chat, "id", "message.chat.")), str(_need(msg, "message_id", "message.")),
                       _when(_need(msg, "date", "message."), now), str(text),
                       name or str(sender.get("username") or chat.get("id")), sender.get("username"),
                       sender_id=str(sender["id"]) if sender.get("id") not in (None, "") else None)
    sender = given if isinstance(given := data.get("from"), dict) else {}
    channel = str(data.get("channel") or "chat").strip()
    if not ids.is_slug(channel):
        raise MalformedInput(_("channel {channel!r}: expected lower-case letters, digits, _ and -").format(
            channel=channel))
    return Message(channel, str(_need(data, "chat_id", "")), str(_need(data, "message_id", "")),
                   _when(data.get("date"), now), str(_need(data, "text", "")),
                   str(sender.get("name") or sender.get("username") or data.get("chat_id")),
                   sender.get("username"), sender.get("email"), sender.get("phone"))


def _money(amount, currency) -> str:
    """A Telegram amount (in the currency's smallest unit) as text: 1450 USD -> 14.50 USD."""
    from decimal import Decimal, InvalidOperation

    code = str(currency or "").upper()
    try:
        value = Decimal(int(amount)).scaleb(-EXPONENT.get(code, 2))
    except (TypeError, ValueError, InvalidOperation):
        return f"{amount} {code}".strip()
    return f"{value} {code}".strip()


def described(msg: dict) -> str:
    """A Telegram message without text, in words: a game, an invoice, a payment, a poll, a
    place, a shared contact, people joining or leaving; else its kind ([photo])."""
    def get(key, sub=None):
        value = msg.get(key)
        return value.get(sub) if isinstance(value, dict) and sub else value

    if isinstance(msg.get("game"), dict):
        return f"[game: {get('game', 'title') or 'untitled'}]"
    if isinstance(msg.get("invoice"), dict):
        inv = msg["invoice"]
        return f"[invoice: {inv.get('title') or 'untitled'}, {_money(inv.get('total_amount'), inv.get('currency'))}]"
    for key, words in (("successful_payment", "payment received"), ("refunded_payment", "payment refunded")):
        if isinstance(msg.get(key), dict):
            pay = msg[key]
            what = f" for {pay['invoice_payload']}" if pay.get("invoice_payload") else ""
            return f"[{words}: {_money(pay.get('total_amount'), pay.get('currency'))}{what}]"
    if isinstance(msg.get("poll"), dict):
        return f"[poll: {get('poll', 'question') or ''}]"
    if isinstance(msg.get("dice"), dict):
        return f"[dice: {get('dice', 'emoji') or ''} {get('dice', 'value')}]"
    if isinstance(msg.get("venue"), dict):
        return f"[place: {get('venue', 'title') or ''}, {get('venue', 'address') or ''}]"
    if isinstance(msg.get("location"), dict):
        return f"[location: {get('location', 'latitude')}, {get('location', 'longitude')}]"
    if isinstance(msg.get("contact"), dict):
        person = msg["contact"]
        who = " ".join(str(person.get(k) or "") for k in ("first_name", "last_name")).strip()
        return f"[contact: {who} {person.get('phone_number') or ''}]".replace("  ", " ").replace(" ]", "]")
    if isinstance(msg.get("new_chat_members"), list):
        names = [str(m.get("first_name") or m.get("username") or "") for m in msg["new_chat_members"]
                 if isinstance(m, dict)]
        return f"[joined: {', '.join(n for n in names if n)}]"
    if isinstance(msg.get("left_chat_member"), dict):
        return f"[left: {get('left_chat_member', 'first_name') or ''}]"
    return next((f"[{k}]" for k in MEDIA if k in msg), "[message]")


def _checked(value, check) -> str | None:
    try:
        return check(str(value)) if value else None
    except UsageError:
        return None


def process(s: Session, payload: bytes, source: str) -> Outcome:
    """One chat message (see the module doc). Raises on anything that keeps it from being stored."""
    route.act_as_intake_user(s)
    rule = route.section(s, "chat", DEFAULTS)
    m = parse(payload, s.now)
    if m is None:
        return Outcome("ignored", source=source, reason="a Telegram update without a new message")
    thread = f"{m.channel}:{m.chat_id}"
    source = f"{source} {thread}/{m.message_id}"
    activity_id = ids.derived_id("chat", thread, m.message_id)
    email, phone = _checked(m.email, clients.check_email), _checked(m.phone, clients.check_phone)
    with s.repo.transaction():  # the write gate: every record of this item, or none
        dup = route.existing(s, "activities", activity_id, source)
        if dup:
            return dup
        contact = route.find_contact(s, email)
        company = None
        if contact is None and phone:
            contact, company = route.find_by_phone(s, phone)
        created = False
        if contact is None and company is None:
            # the person, not the chat: one contact for a user in a private chat and in a group
            # (in a private chat both ids are the same, so a contact made before is found again)
            person = f"chat:{m.channel}:{m.sender_id}" if m.sender_id else f"chat:{thread}"
            created = not s.repo.exists("contacts", ids.derived_id("contact", person))
            fields = {"chat": thread, **({"username": m.username} if m.username else {})}
            contact = route.ensure_client(s, "contact", person, m.name, emails=[email] if email else [],
                                          phones=[phone] if phone else [], fields=fields,
                                          responsible=rule.get("responsible"))
        company = company or route.company_of(s, contact)
        first_line = next((line for line in m.text.splitlines() if line.strip()), m.text)
        deal, new_deal = route.deal_for(s, rule, title=f"Chat: {m.name}", source=m.channel,
                                        deal_id=ids.derived_id("chat-deal", thread, m.message_id),
                                        thread=route.thread_by(s, "chat", thread), contact=contact, company=company)
        details = dict(channel=m.channel, direction="in", chat=thread, message_id=m.message_id,
                       sender=m.name, username=m.username, body=m.text)
        route.record(s, deal, "chat", first_line[:80], m.date.astimezone(s.tz), activity_id, details,
                     rule.get("responsible"))
    return Outcome("created" if created or new_deal else "attached", activity_id, deal, contact, company, source)


def submit(s: Session, payload: bytes, source: str = "chat") -> Outcome:
    """process() with nothing lost: a failure is kept in inbox/failed/."""
    return inbox.guard(s, "chat", payload, {"source": source}, source, lambda: process(s, payload, source))
