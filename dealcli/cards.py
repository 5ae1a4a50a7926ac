"""The deal card of a pipeline: typed custom fields grouped in sections.

A card is stored in the pipeline file under `card:` and is also the format of `pipeline edit
--card FILE` (schemas/card.schema.json):

    sections:                      # optional: order and titles
      - {id: about, title: About the deal}
      - more                       # a bare word is both id and title
    fields:
      - {name: contract_no, type: string, section: about, help: Our contract number}
      - {name: segment, type: enum, values: [smb, enterprise], default: smb}

`coerce` turns text from the command line (`deal add/edit --set NAME=VALUE`) into the stored
value of a field, refusing a value that does not fit its type; `value_problem` checks a value
already stored (for `check`). Fields without a card definition are free text fields. Nothing
here touches the disk or prints."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from dealcli import money, timeutil
from dealcli.errors import FieldError, RuleViolation, Violation, Words, word
from dealcli.model import DEAL_KEYS, Pipeline
from dealcli import i18n
from dealcli.i18n import N_, Text

TYPES = ("string", "text", "number", "money", "date", "datetime", "boolean", "enum", "user", "url", "email",
         "phone", "list")
FIELD_KEYS = ("name", "type", "label", "values", "default", "help", "section")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]+(\s*(x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)
TRUE = ("true", "yes", "y", "1", "on")
FALSE = ("false", "no", "n", "0", "off")
OTHER_SECTION = "Other fields"
MAX_STRING = 1000
MAX_TEXT = 100_000


class CardValueError(ValueError):
    """A value that does not fit its field type (message without the field name). A hint that
    names a parameter (`unset`) carries it in `fields`, as {0} in `template`, for the edge to
    word (errors.DealcliError.about); str() reads plain names."""

    def __init__(self, message: str, fields: tuple = ()):
        super().__init__(word(message, fields, {}) if fields else message)
        self.fields = fields
        self.template = message if fields else message.replace("{", "{{").replace("}", "}}")


@dataclass
class CardField:
    name: str
    type: str = "string"
    label: str | None = None
    values: list[str] = field(default_factory=list)
    default: object = None
    help: str | None = None
    section: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "type": self.type}
        if self.label:
            out["label"] = self.label
        if self.values:
            out["values"] = list(self.values)
        if self.default is not None:
            out["default"] = self.default
        if self.help:
            out["help"] = self.help
        if self.section:
            out["section"] = self.section
        return out


# The standard fields of a deal's card, in the order `deal show` prints them: a card may place
# them in its sections and hide them (`client` stands for company and contacts). Products and
# comments are blocks of their own: they may be hidden, not placed.
STANDARD = ("id", "title", "pipeline", "stage", "status", "amount", "client", "company", "contacts",
            "next_activity", "type", "source", "responsible", "begin", "close_date", "closed_at", "probability",
            "repeat", "lost_reason", "origin_id", "created", "modified", "products", "comments")
ALIASES = {"client": ("company", "contacts")}
ALWAYS_SHOWN = ("id", "title")  # a card names its deal
BLOCKS = ("products", "comments")


def _expand(names) -> list[str]:
    return [n for name in names for n in ALIASES.get(name, (name,))]


@dataclass
class Section:
    id: str
    title: str
    fields: list[str] = field(default_factory=list)  # placed here, in order: standard and custom fields


@dataclass
class Card:
    fields: list[CardField] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # left off every card of the pipeline
    hidden_by_role: dict[str, list[str]] = field(default_factory=dict)  # role -> left off its users' cards

    def field(self, name: str) -> CardField | None:
        return next((f for f in self.fields if f.name == name), None)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def to_dict(self) -> dict:
        out: dict = {}
        if self.sections:
            out["sections"] = [{"id": s.id, "title": s.title, **({"fields": list(s.fields)} if s.fields else {})}
                               for s in self.sections]
        out["fields"] = [f.to_dict() for f in self.fields]
        if self.hidden:
            out["hidden"] = list(self.hidden)
        if self.hidden_by_role:
            out["hidden_by_role"] = {k: list(v) for k, v in self.hidden_by_role.items()}
        return out

    def hidden_for(self, roles) -> set[str]:
        """The fields (standard and custom; `client` expanded) left off the card of a user with
        `roles`. Only the card: what a user may read is access.py's, and machine formats keep it."""
        names = list(self.hidden)
        for role in roles:
            names += self.hidden_by_role.get(role, [])
        return set(_expand(names))

    def placed(self) -> dict[str, str]:
        """Standard field -> the id of the section that shows it (`client` expanded)."""
        return {n: s.id for s in self.sections for n in _expand(s.fields) if n in STANDARD}

    def layout(self) -> list[tuple[str, list[str]]]:
        """(section title, field names) in section order: each section's listed fields, then the
        custom fields naming it; custom fields of no known section last under OTHER_SECTION.
        Sections showing nothing are left out."""
        out = []
        known = {s.id for s in self.sections}
        listed = {n for s in self.sections for n in s.fields}
        for sec in self.sections:
            names = _expand(sec.fields) + [f.name for f in self.fields if f.section == sec.id and f.name not in listed]
            if names:
                out.append((sec.title, names))
        rest = [f.name for f in self.fields if f.section not in known and f.name not in listed]
        if rest:
            out.append((OTHER_SECTION, rest))
        return out

    def grouped(self) -> list[tuple[str, list[CardField]]]:
        """(section title, fields) in section order; fields naming no known section come last
        under OTHER_SECTION. Sections without fields are left out."""
        out = []
        known = {s.id for s in self.sections}
        for sec in self.sections:
            members = [f for f in self.fields if f.section == sec.id]
            if members:
                out.append((sec.title, members))
        rest = [f for f in self.fields if f.section not in known]
        if rest:
            out.append((OTHER_SECTION, rest))
        return out


# -- reading a card ------------------------------------------------------------------------------------
def parse(data, path: tuple = ()) -> tuple[Card, list[tuple[tuple, str]]]:
    """A card from its stored (or --card file) form, and every problem found as (path, message).
    Bad fields are left out of the card; the caller refuses when problems is not empty."""
    problems: list[tuple[tuple, str]] = []
    card = Card()
    if data is None or data == {}:
        return card, problems
    if not isinstance(data, dict):
        return card, [(path, "a card is a mapping with `fields:` and optional `sections:`")]
    for key in data:
        if key not in ("fields", "sections", "hidden", "hidden_by_role"):
            problems.append((path + (key,), Text("unknown key {key!r} (a card holds fields, sections, hidden and "
                                  "hidden_by_role)", key=key)))
    raw_sections = data.get("sections") or []
    if not isinstance(raw_sections, list):
        problems.append((path + ("sections",), Text("expected a list of sections")))
        raw_sections = []
    for i, item in enumerate(raw_sections):
        where = path + ("sections", i)
        if isinstance(item, str) and item.strip():
            sec = Section(item.strip(), item.strip())
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
            title = item.get("title")
            sec = Section(item["id"].strip(), str(title) if title not in (None, "") else item["id"].strip())
            for key in item:
                if key not in ("id", "title", "fields"):
                    problems.append((where + (key,), Text("unknown key {key!r} (a section has id, title and fields)",
                                                          key=key)))
            sec.fields = _names(item.get("fields"), where + ("fields",), problems)
        else:
            problems.append((where, Text("a section is a word or a mapping {{id, title}}")))
            continue
        if any(s.id == sec.id for s in card.sections):
            problems.append((where, Text("section {sec_id!r} appears twice", sec_id=sec.id)))
            continue
        card.sections.append(sec)
    raw_fields = data.get("fields") or []
    if not isinstance(raw_fields, list):
        problems.append((path + ("fields",), Text("expected a list of fields")))
        raw_fields = []
    section_ids = {s.id for s in card.sections}
    for i, item in enumerate(raw_fields):
        where = path + ("fields", i)
        try:
            f = parse_field(item, where)
        except FieldError as exc:
            problems.append((exc.path, exc.message))
            continue
        if card.field(f.name):
            problems.append((where + ("name",), Text("field {f_name!r} appears twice", f_name=f.name)))
            continue
        if f.section is not None and card.sections and f.section not in section_ids:
            problems.append((where + ("section",), Text("field {f_name!r}: section {f_section!r} is not one of "
                                  "the card's sections ({section_ids})", f_name=f.name, f_section=f.section,
                                                        section_ids=', '.join(sorted(section_ids)))))
        card.fields.append(f)
    card.hidden = _names(data.get("hidden"), path + ("hidden",), problems)
    by_role = data.get("hidden_by_role") or {}
    if not isinstance(by_role, dict):
        problems.append((path + ("hidden_by_role",), Text("expected a mapping ROLE: [FIELD, ...]")))
        by_role = {}
    card.hidden_by_role = {str(role): _names(names, path + ("hidden_by_role", str(role)), problems)
                           for role, names in by_role.items()}
    _check_layout(card, path, problems)
    return card, problems


def _names(raw, where: tuple, problems: list) -> list[str]:
    """A list of field names (`hidden`, a section's `fields`)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        problems.append((where, Text("expected a list of field names")))
        return []
    return [n.strip() for n in raw]


def _check_layout(card: Card, path: tuple, problems: list) -> None:
    """Names in `hidden`, `hidden_by_role` and the sections' `fields` are standard or card fields
    (with a "did you mean"); id and title are never hidden; a field sits in one section only;
    products and comments are blocks of their own, not placed."""
    from dealcli.suggest import hint

    known = list(STANDARD) + card.names()
    lists: list[tuple[tuple, list[str], Section | None]] = [(("hidden",), card.hidden, None)]
    lists += [(("hidden_by_role", r), n, None) for r, n in card.hidden_by_role.items()]
    lists += [(("sections", i, "fields"), s.fields, s) for i, s in enumerate(card.sections)]
    seen: dict[str, str] = {}
    for where, names, sec in lists:
        for j, name in enumerate(names):
            at = path + where + (j,)
            if name not in known:
                near = hint(name, known) or f" (standard fields: {', '.join(STANDARD)}; or a field of the card)"
                problems.append((at, Text("unknown field {name!r}{near}", name=name, near=near)))
            elif sec is None and name in ALWAYS_SHOWN:
                problems.append((at, Text("field {name!r} cannot be hidden (a card names its deal)", name=name)))
            elif sec is not None:
                f = card.field(name)
                if name in BLOCKS:
                    problems.append((at, Text("{name} are a block of their own; they may be hidden, not placed",
                                              name=name)))
                for n in _expand([name]):
                    if n in seen and seen[n] != sec.id:
                        problems.append((at, Text("field {n!r} is placed in sections {seen_n!r} and {sec_id!r}", n=n,
                                                  seen_n=seen[n], sec_id=sec.id)))
                    seen[n] = sec.id
                if f is not None and f.section and f.section != sec.id:
                    problems.append((at, Text("field {name!r} names section {f_section!r} but is listed in {sec_id!r}",
                                              name=name, f_section=f.section, sec_id=sec.id)))


def parse_field(item, where: tuple) -> CardField:
    if not isinstance(item, dict):
        raise FieldError(where, Text("a field is a mapping {{name, type, ...}}"))
    for key in item:
        if key not in FIELD_KEYS:
            raise FieldError(where + (key,), Text("unknown key {key!r} (known: {field_keys})", key=key,
                                                  field_keys=', '.join(FIELD_KEYS)))
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise FieldError(where + ("name",), Text("field name {name!r} must be a word of letters, digits, _ "
                              "or - (at most 64, not starting with a digit)", name=name))
    if name in DEAL_KEYS:
        raise FieldError(where + ("name",), Text("field {name!r} is a standard deal field; choose another name",
                                                 name=name))
    ftype = item.get("type", "string")
    if ftype not in TYPES:
        raise FieldError(where + ("type",), Text("field {name!r}: unknown type {ftype!r} "
                              "(types: {types})", name=name, ftype=ftype, types=', '.join(TYPES)))
    values = item.get("values")
    if values is None:
        values = []
    if not isinstance(values, list) or any(isinstance(v, (dict, list, bool)) or v is None for v in values):
        raise FieldError(where + ("values",), Text("field {name!r}: values is a list of words", name=name))
    values = [str(v) for v in values]
    if len(set(values)) != len(values):
        raise FieldError(where + ("values",), Text("field {name!r}: a value appears twice", name=name))
    if ftype == "enum" and not values:
        raise FieldError(where + ("values",), Text("field {name!r}: an enum needs its values", name=name))
    if values and ftype not in ("enum", "list"):
        raise FieldError(where + ("values",), Text("field {name!r}: values are for enum and list fields", name=name))
    for key in ("label", "help", "section"):
        if item.get(key) is not None and not isinstance(item.get(key), str):
            raise FieldError(where + (key,), Text("field {name!r}: {key} is text", name=name, key=key))
    f = CardField(name=name, type=ftype, label=item.get("label") or None, values=values,
                  default=item.get("default"), help=item.get("help") or None, section=item.get("section") or None)
    if f.default is not None:
        try:
            default_value(f, dt.datetime(2000, 1, 1, tzinfo=timeutil.UTC), None, None)
        except CardValueError as exc:
            raise FieldError(where + ("default",), Text("field {name!r}: default {f_default!r}: {exc}",
                                                        name=name, f_default=f.default, exc=exc)) from None
    return f


def card_of(pipeline: Pipeline) -> Card:
    """The pipeline's card, leaving out any field a hand edit broke (`check` reports those)."""
    card, _ = parse(pipeline.card)
    return card


def card_violations(pipeline: Pipeline) -> list[Violation]:
    """Problems of a pipeline's card as Violations whose field is the dotted path in the file."""
    _, problems = parse(pipeline.card, ("card",))
    return [Violation("card", msg, ".".join(map(str, where)), None) for where, msg in problems]


def load_card_file(data, source: str) -> Card:
    """The card of a `--card FILE` (already parsed YAML); every problem refuses it."""
    if data is None:
        data = {}
    if isinstance(data, dict) and "card" in data and "fields" not in data:
        data = data["card"]  # a whole pipeline file, or {card: ...}, is fine too
    card, problems = parse(data)
    if problems:
        raise RuleViolation([Violation("card", f"{_dotted(where)}: {msg}" if where else msg,
                                       _dotted(where) or None, None, source) for where, msg in problems])
    return card


def _dotted(where: tuple) -> str:
    return ".".join(map(str, where))


# -- values --------------------------------------------------------------------------------------------
def coerce(pipeline: Pipeline, name: str, raw: str, s=None):
    """The stored value of custom field `name` given as text on the command line, typed by the
    pipeline's card; free fields (not on the card) stay text. A bad value raises RuleViolation
    naming field and value (exit 1). `s` (the Session) gives the clock for relative dates, the
    acting user for `me` and the repository's users."""
    f = card_of(pipeline).field(name)
    if f is None:
        return raw
    now, user, users = _context(s)
    try:
        return from_text(f, raw, now, user, users, order=s.date_order if s is not None else None)
    except CardValueError as exc:
        raise RuleViolation(Violation.of("field-type", (), N_("field {name!r}: {raw!r} {problem} (card of pipeline "
                                         "{pipeline!r}{hint})"), name, raw, name=name, raw=raw, pipeline=pipeline.id,
                                         problem=Words(exc.fields, exc.template, {}), hint=_hint(f))) from None


def _hint(f: CardField) -> str:
    if f.type == "enum" or (f.type == "list" and f.values):
        return Text("; values: {values}", values=", ".join(f.values))
    return Text("; type {type}", type=f.type)


def _context(s):
    if s is None:
        return dt.datetime.now(timeutil.UTC).replace(microsecond=0), None, None
    users = None
    try:
        configured = s.repo.config.get("users")
        if isinstance(configured, dict) and configured:
            users = [str(u) for u in configured]
    except Exception:  # noqa: BLE001 - no repository: no user list to check against
        users = None
    return s.now, s.user, users


def from_text(f: CardField, raw: str, now: dt.datetime, user: str | None, users: list[str] | None,
              order: str | None = None):
    text = raw.strip()
    if f.type in ("string", "text"):
        limit = MAX_STRING if f.type == "string" else MAX_TEXT
        if f.type == "string" and "\n" in raw:
            raise CardValueError(i18n._("is more than one line (use a text field)"))
        if len(raw) > limit:
            raise CardValueError(i18n._("is too long ({len_raw} characters, limit {limit})").format(
                len_raw=len(raw), limit=limit))
        return raw if f.type == "text" else text
    if not text:
        raise CardValueError(i18n._("is empty (use {0} to clear a field)"), ("unset",))
    if f.type in ("number", "money"):
        try:
            return money.to_decimal(text, f.name)
        except money.MoneyError:
            raise CardValueError(i18n._("is not a number") if f.type == "number"
                                 else i18n._("is not an amount")) from None
    if f.type == "date":
        try:
            return timeutil.iso(timeutil.parse_date(text, now, order))
        except timeutil.DateError:
            raise CardValueError(i18n._("is not a date")) from None
    if f.type == "datetime":
        try:
            return timeutil.iso(timeutil.parse_datetime(text, now, order)[0])
        except timeutil.DateError:
            raise CardValueError(i18n._("is not a date and time")) from None
    if f.type == "boolean":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise CardValueError(i18n._("is not yes/no (true, false, yes, no, 1, 0)"))
    if f.type == "enum":
        return _pick(f, text)
    if f.type == "list":
        items = [part.strip() for part in text.split(",") if part.strip()]
        return [_pick(f, item) for item in items] if f.values else items
    if f.type == "user":
        value = user if text == "me" and user else text
        if users and value not in users:
            raise CardValueError(i18n._("is not a user of this repository (users: {join_users})").format(
                join_users=', '.join(users)))
        return value
    problem = _format_problem(f.type, text)
    if problem:
        raise CardValueError(problem)
    return text


def _pick(f: CardField, text: str) -> str:
    if text in f.values:
        return text
    folded = [v for v in f.values if v.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    raise CardValueError(i18n._("is not one of the values"))


def _format_problem(ftype: str, text: str) -> str | None:
    if ftype == "url":
        parts = urlsplit(text)
        if len(text) > 2000 or parts.scheme not in ("http", "https", "ftp") or not parts.netloc \
                or " " in text:
            return Text("is not a web address (http:// or https://...)")
    elif ftype == "email":
        if len(text) > 320 or not EMAIL.match(text):
            return Text("is not an e-mail address")
    elif ftype == "phone":
        digits = sum(c.isdigit() for c in text)
        if not PHONE.match(text) or not 3 <= digits <= 20:
            return Text("is not a phone number (digits, spaces, + - ( ) .)")
    return None


def value_problem(f: CardField, value) -> str | None:
    """What is wrong with a stored value of field `f`, or None."""
    if value is None:
        return None
    t = f.type
    if t in ("string", "text"):
        if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
            return Text("expected text, got {shown_value}", shown_value=_shown(value))
        return Text("is more than one line") if t == "string" and "\n" in str(value) else None
    if t in ("number", "money"):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return Text("expected a number, got {shown_value}", shown_value=_shown(value))
        return None
    if t == "boolean":
        return None if isinstance(value, bool) else Text("expected true or false, got {value}", value=_shown(value))
    if t == "date":
        try:
            if not isinstance(value, str) or timeutil.to_date(value) is None or len(value) != 10:
                return Text("expected a date YYYY-MM-DD, got {shown_value}", shown_value=_shown(value))
        except timeutil.DateError:
            return Text("expected a date YYYY-MM-DD, got {shown_value}", shown_value=_shown(value))
        return None
    if t == "datetime":
        try:
            if not isinstance(value, str):
                return Text("expected an ISO date and time, got {shown_value}", shown_value=_shown(value))
            timeutil.to_datetime(value)
        except timeutil.DateError as exc:
            return str(exc).split(": ", 1)[-1]
        return None
    if t == "enum":
        return None if str(value) in f.values else Text("{value} is not one of {values}", value=_shown(value),
                                                        values=", ".join(f.values))
    if t == "list":
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
            return Text("expected a list, got {shown_value}", shown_value=_shown(value))
        bad = [str(v) for v in value if f.values and str(v) not in f.values]
        return Text("{bad} not among {values}", bad=", ".join(bad), values=", ".join(f.values)) if bad else None
    if not isinstance(value, str):
        return Text("expected text, got {shown_value}", shown_value=_shown(value))
    problem = _format_problem(t, value) if t != "user" else None
    return Text("{value} {problem}", value=_shown(value), problem=problem) if problem else None


def _shown(value) -> str:
    from dealcli.errors import shown

    return shown(value)


def default_value(f: CardField, now: dt.datetime, user: str | None, users: list[str] | None):
    """The default of a field as stored on a new deal: text defaults go through the same
    coercion as --set (so `today`, `+14d` or `me` work); other YAML values must fit the type."""
    if f.default is None:
        return None
    if isinstance(f.default, str):
        return from_text(f, f.default, now, user, users)
    value = f.default
    if f.type == "list" and isinstance(value, list):
        value = [str(v) for v in value]
    problem = value_problem(f, value)
    if problem:
        raise CardValueError(problem)
    return value


def apply_defaults(s, pipeline: Pipeline, fields: dict) -> None:
    """Give a new deal's custom fields the card's defaults, where not set already."""
    card = card_of(pipeline)
    if not card.fields:
        return
    now, user, users = _context(s)
    for f in card.fields:
        if f.default is not None and f.name not in fields:
            try:
                fields[f.name] = default_value(f, now, user, users)
            except CardValueError as exc:
                raise RuleViolation(Violation("field-type", Text("field {f_name!r}: default {f_default!r} {exc} "
                                                   "(card of pipeline {pipeline_id!r})",
                                                                 f_name=f.name,
                                                                 f_default=f.default,
                                                                 exc=exc,
                                                                 pipeline_id=pipeline.id), f.name, f.default)) from None


def check_values(pipeline: Pipeline, fields: dict) -> list[tuple[str, str]]:
    """(field name, problem) for every stored custom value that breaks the card."""
    card = card_of(pipeline)
    out = []
    for name, value in fields.items():
        f = card.field(name)
        if f is not None:
            problem = value_problem(f, value)
            if problem:
                out.append((name, problem))
    return out


def unknown_fields(pipeline: Pipeline, fields: dict) -> list[str]:
    """Custom fields a deal carries that the pipeline's card does not define."""
    known = set(card_of(pipeline).names())
    return [name for name in fields if name not in known]
