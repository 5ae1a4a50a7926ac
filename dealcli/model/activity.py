"""The activity model (activities/<id>.yaml, schemas/activity.schema.json): a call, meeting,
task, e-mail or chat message on a deal, planned (`activity add`) or recorded by intake as it
happened (the intake fields: channel, direction, from, to, ...).

Files keep their shape: a record read from a file is written back with its keys in the file's
order (a key a change sets for the first time, such as `modified` or `done_by`, comes last),
and only with the keys it had, so a planned activity never gains empty intake keys. A new
activity is written with the standard keys (`Activity.STANDARD`, also when empty), then the
intake fields its maker gave (`Activity.new(..., details=...)`), in the order given, even
when empty."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.errors import FieldError
from dealcli.storage import convert
from dealcli.storage.convert import Model, spec
from dealcli.i18n import Text

TYPES = ("call", "meeting", "task", "email", "chat")
DIRECTIONS = ("in", "out")
RESULTS = ("answered", "missed", "busy", "failed")

# what every activity the core makes holds, in this order (done_by: once done)
STANDARD = ("format", "id", "deal", "type", "subject", "due", "responsible", "done", "done_at", "created",
            "created_by")
BASE_KEYS = STANDARD + ("done_by", "modified", "description", "remind_before")
INTAKE_KEYS = ("channel", "direction", "from", "to", "cc", "message_id", "in_reply_to", "references", "mailbox",
               "body", "attachments", "phone", "extension", "duration", "total_duration", "result", "call_id",
               "caller_name", "chat", "username", "automatic")
ACTIVITY_KEYS = BASE_KEYS + INTAKE_KEYS
ATTACHMENT_KEYS = ("name", "path")


def _texts_or_none(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> list[str] | None:
    """A list of texts that may also be null (kept null: `in_reply_to: null` stays so)."""
    return None if data.get(key) is None else convert.read_texts(data, key, path)


def _attachments(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> list[dict[str, Any]] | None:
    """Files saved beside the activity: name and path (text), type (text), size (bytes, >= 0)."""
    if data.get(key) is None:
        return None
    rows = convert.read_records(data, key, path, ATTACHMENT_KEYS)
    for i, row in enumerate(rows):
        where = path + (key, i)
        for name in ("name", "path", "type"):
            if name in row and not isinstance(row[name], str):
                raise FieldError(where + (name,), Text("expected text, got {row_name!r}", row_name=row[name]))
        convert.read_int(row, "size", where, minimum=0)
    return rows


_BY_KEY: dict[type, dict[str, Any]] = {}


def _fields_by_key(cls: type) -> dict[str, Any]:
    """key of the file -> the converter's field (made once per class)."""
    found = _BY_KEY.get(cls)
    if found is None:
        found = _BY_KEY[cls] = {f.key: f for f in convert.plan(cls).fields}
    return found


def _list_or_none(value: Any) -> list[Any] | None:
    return None if value is None else [dict(v) if isinstance(v, dict) else v for v in value]


@dataclass
class Activity(Model):
    KEYS = ACTIVITY_KEYS
    id: str
    deal: str
    type: str = spec(choices=TYPES)
    subject: str = spec()
    due: dt.datetime = spec()
    responsible: str | None = None
    done: bool = False
    done_at: dt.datetime | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    done_by: str | None = None
    modified: dt.datetime | None = None
    description: str | None = None      # what to do, in more words than the subject
    remind_before: int | None = spec(None, min=0)  # minutes before `due` that `dealcli remind` tells
    # -- intake: what a message or call was (docs/intake.md)
    channel: str | None = None
    direction: str | None = spec(None, choices=DIRECTIONS)
    sender: str | None = spec(None, key="from")  # `from` in the file (a Python keyword)
    to: list[str] | None = spec(None, read=_texts_or_none, write=_list_or_none)
    cc: list[str] | None = spec(None, read=_texts_or_none, write=_list_or_none)
    message_id: str | None = None
    in_reply_to: list[str] | None = spec(None, read=_texts_or_none, write=_list_or_none)
    references: list[str] | None = spec(None, read=_texts_or_none, write=_list_or_none)
    mailbox: str | None = None
    body: str | None = None
    attachments: list[dict[str, Any]] | None = spec(None, read=_attachments, write=_list_or_none)
    phone: str | None = None
    extension: str | None = None
    duration: int | None = spec(None, min=0)
    total_duration: int | None = spec(None, min=0)
    result: str | None = spec(None, choices=RESULTS)
    call_id: str | None = None
    caller_name: str | None = None
    chat: str | None = None
    username: str | None = None
    automatic: str | None = None  # a machine-made e-mail: what made it so (intake/mail.py)
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    # -- the shape of the file: which keys, in which order -------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], path: tuple[Any, ...] = ()) -> Activity:
        obj: Activity = convert.load(cls, data, path)
        obj.__dict__["_keys"] = tuple(data)  # written back in this order (see the module doc)
        return obj

    @classmethod
    def new(cls, *, details: dict[str, Any] | None = None, **values: Any) -> Activity:
        """A new activity from field values; `details` are intake fields by field name (`sender`
        for the file's `from`), written after the standard keys in the order given, also when
        empty (None)."""
        details = dict(details or {})
        obj = cls(**values, **details)
        key_of = {f.name: f.key for f in convert.plan(cls).fields}
        obj.__dict__["_given"] = tuple(key_of[name] for name in details)
        return obj

    def to_dict(self) -> dict[str, Any]:
        out = convert.dump(self)
        keys = self.__dict__.get("_keys")
        if keys is None:  # a new activity: the standard keys, those set, then the given details
            given = self.__dict__.get("_given", ())
            keys = [k for k in BASE_KEYS if k in STANDARD or self._is_set(k)] + list(given)
        order = [k for k in keys if k in out]
        rest = [k for k in out if k not in order and (k in self.extra or self._is_set(k))]
        return {k: out[k] for k in [*order, *rest]}

    @classmethod
    def field_name(cls, key: str) -> str:
        """The field of a key of the file (`from` -> `sender`); an unknown key as it is."""
        f = _fields_by_key(cls).get(key)
        return f.name if f is not None else str(key)

    def _is_set(self, key: str) -> bool:
        """A field differs from its default (a key new to the file is written only then)."""
        f = _fields_by_key(type(self)).get(key)
        return f is not None and getattr(self, f.name) != f.fresh_default()

    def validated(self) -> Activity:
        """This activity, after reading it back as its file would be read: FieldError with the
        path of a value out of its choices or bounds (a direction, a result, a duration)."""
        type(self).from_dict(self.to_dict())
        return self
