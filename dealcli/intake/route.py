"""What every intake channel shares: the intake user, the `intake:` settings of dealcli.yaml,
clients found by e-mail address or phone number (or created with ids derived from them), the
client's open deal (or a new one in the configured pipeline and stage), and the finished
activity that records the message. Records are made only through the core use cases."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from dealcli import activities, clients, deals, ids
from dealcli.errors import CorruptData, MalformedInput, NotFound, UsageError
from dealcli.session import Session
from dealcli import i18n

COLUMNS = ["status", "id", "deal", "contact", "company", "source", "reason"]


@dataclass
class Outcome:
    """What became of one incoming item. status: created (a new deal, lead or client came with
    it), attached (recorded on an existing deal), duplicate (delivered before: nothing
    written), ignored (nothing to record, e.g. an internal call), spam (a form's honeypot was
    filled) or kept (could not be processed: kept in inbox/failed/, see `reason`)."""

    status: str
    id: str | None = None  # the record that stands for the item: activity, deal (forms) or lead
    deal: str | None = None
    contact: str | None = None
    company: str | None = None
    source: str | None = None
    reason: str | None = None
    kept: str | None = None
    exit_code: int = 0
    # the failure as data, when it was about fields (errors.DealcliError.about): the edge words
    # the fields of the one-item error line as options (`--map`); rows and files read `reason`
    about: tuple | None = field(default=None, repr=False)

    def row(self) -> dict:
        out = asdict(self)
        out.pop("exit_code")
        out.pop("about")
        return out


# -- settings ------------------------------------------------------------------------------------
def settings(s: Session) -> dict:
    value = s.repo.config.get("intake") or {}
    if not isinstance(value, dict):
        raise CorruptData("dealcli.yaml", i18n._("intake: expected a mapping (see docs/intake.md)"))
    return value


def section(s: Session, name: str, defaults: dict | None = None) -> dict:
    """`intake.<name>` of dealcli.yaml over `defaults`."""
    value = settings(s).get(name) or {}
    if not isinstance(value, dict):
        raise CorruptData("dealcli.yaml", i18n._("intake.{name}: expected a mapping (see docs/intake.md)").format(
            name=name))
    return {**(defaults or {}), **value}


def act_as_intake_user(s: Session) -> None:
    """Intake acts as `intake.user` of dealcli.yaml (unless --as names someone)."""
    user = settings(s).get("user")
    if user and not s.as_user:
        s.configured_user = str(user)
        vars(s).pop("user", None)


def readable_text(text) -> str:
    """Text read from bytes with surrogateescape (an e-mail header, a CDR line): UTF-8 read as
    UTF-8, any other byte as U+FFFD, as the standard library's email.policy words str(header)."""
    return str(text or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# -- clients ---------------------------------------------------------------------------------------
def phone_digits(text) -> str:
    return re.sub(r"\D", "", str(text or ""))


def phone_key(s: Session, number) -> str | None:
    """The key a number is matched by (clients.phone_key, in the repository's phone_region)."""
    return clients.phone_key(number, clients.phone_region(s))


def find_contact(s: Session, email: str | None = None) -> str | None:
    if not email:
        return None
    return clients.ClientIndex(s, "contact").find(email=email)


def find_by_phone(s: Session, number: str) -> tuple[str | None, str | None]:
    """(contact id, company id) of the client with this phone number (clients.find_by_phone)."""
    return clients.find_by_phone(s, number)


def company_of(s: Session, contact_id: str | None) -> str | None:
    if not contact_id:
        return None
    try:
        return s.repo.load("contacts", contact_id).data.get("company") or None
    except (NotFound, CorruptData):
        return None


def ensure_client(s: Session, which: str, key: str, name: str, **extra) -> str:
    """The company/contact whose id is derived from `key` (an address, a domain, a chat):
    created through the clients core the first time, found again afterwards."""
    record_id = ids.derived_id(which, key)
    if s.repo.exists(clients.KIND_OF[which], record_id):
        return record_id
    extra["responsible"] = extra.get("responsible") or s.user
    data = clients.new_record(s, which, clients.clean_text(name, which)[:300], **extra)
    data["id"] = record_id
    clients.create(s, which, data)
    clients.forget_phones(s)
    s.notice_written(f"created {which} {record_id} ({data['name']})")
    return record_id


# -- deals ------------------------------------------------------------------------------------------
def open_deal(s: Session, contact: str | None, company: str | None, pipeline: str | None = None) -> str | None:
    """The client's open deal: the contact's, else the company's; in `pipeline` first, then
    the most recently changed."""
    best: dict[tuple[int, int], tuple[str, str]] = {}
    for data in s.deal_records(errors=[]):
        if data.get("status", "open") != "open":
            continue
        if contact and contact in (data.get("contacts") or []):
            rank = 0
        elif company and data.get("company") == company:
            rank = 1
        else:
            continue
        key = (rank, 0 if pipeline and data.get("pipeline") == pipeline else 1)
        stamp = str(data.get("modified") or data.get("created") or "")
        if key not in best or stamp > best[key][0]:
            best[key] = (stamp, str(data.get("id")))
    return best[min(best)][1] if best else None


def deal_if_open(s: Session, deal_id) -> str | None:
    if not deal_id:
        return None
    try:
        data = s.repo.load("deals", str(deal_id)).data
    except (NotFound, CorruptData):
        return None
    return str(deal_id) if data.get("status", "open") == "open" else None


def deal_for(s: Session, rule: dict, *, title: str, source: str, deal_id: str, thread: str | None = None,
             contact: str | None = None, company: str | None = None, comment: str | None = None) -> tuple[str, bool]:
    """(deal id, created): the thread's open deal, else the client's open deal, else a new deal
    in the rule's pipeline and stage (its id derived from the message, so a retry after a
    crash finds it again)."""
    for found in (thread, deal_if_open(s, deal_id), open_deal(s, contact, company, rule.get("pipeline"))):
        if found:
            return found, False
    if s.repo.exists("deals", deal_id):  # this message's deal, closed meanwhile: a new one
        deal_id = ids.new_id()
    spec = deals.DealSpec(title=" ".join(title.split())[:500] or "(untitled)", pipeline=rule.get("pipeline"),
                          stage=rule.get("stage"), company=company, contacts=[contact] if contact else [],
                          source=source, responsible=rule.get("responsible"), comment=comment)
    return deals.add(s, spec, deal_id=deal_id, via="intake").id, True


def record(s: Session, deal_id: str, type_: str, subject: str, when: dt.datetime, activity_id: str,
           details: dict, responsible: str | None = None) -> dict:
    """The finished activity that keeps a message on the deal (done at the message's time).
    `details`: the intake fields of the activity model (model/activity.py) by field name
    (channel, direction, sender, ...), written in the order given."""
    subject = " ".join((subject or "").split())[:500] or "(no subject)"
    try:
        return activities.add(s, deal_id, type_, subject, when, responsible, activity_id=activity_id, done=True,
                              details=details)
    except UsageError as exc:  # a value of the item that an activity cannot hold: malformed input (65)
        if exc.template is None:
            raise MalformedInput(exc.message) from None
        raise MalformedInput.about(exc.fields, exc.template, **exc.values) from None


def existing(s: Session, kind: str, record_id: str, source: str) -> Outcome | None:
    """A duplicate Outcome when the record standing for an item already exists."""
    if not s.repo.exists(kind, record_id):
        return None
    try:
        data = s.repo.load(kind, record_id).data
    except CorruptData:
        data = {}
    deal = record_id if kind == "deals" else data.get("deal")
    return Outcome("duplicate", record_id, deal, source=source)


def thread_by(s: Session, key: str, value: str) -> str | None:
    """The open deal of the latest activity whose `key` is `value` (a chat thread)."""
    latest: tuple[str, str] | None = None
    for _, data in s.repo.records("activities", []):
        if str(data.get(key)) == value and data.get("deal"):
            stamp = str(data.get("due") or "")
            if latest is None or stamp > latest[0]:
                if deal_if_open(s, data["deal"]):
                    latest = (stamp, str(data["deal"]))
    return latest[1] if latest else None
