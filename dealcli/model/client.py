"""Companies and contacts (companies/<id>.yaml, contacts/<id>.yaml): the typed models of
schemas/company.schema.json and schemas/contact.schema.json, converted by the one converter
(storage/convert.py). The key order is the one dealcli has always written (clients.new_record);
`modified` is only in files that were edited, so it is left out while it is None; keys the
schema does not list (a merge's `history`, hand-added ones) stay in `extra` and are written last."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.errors import FieldError
from dealcli.storage.convert import Model, spec
from dealcli.i18n import Text

COMPANY_KEYS = ("format", "id", "name", "emails", "phones", "responsible", "fields", "created",
                "created_by", "modified")
CONTACT_KEYS = ("format", "id", "name", "emails", "phones", "company", "birthday", "responsible", "fields",
                "created", "created_by", "modified")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # the schemas' pattern (commands check e-mails more strictly)


@dataclass
class Client(Model):
    """What a company and a contact both hold."""

    id: str
    name: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    responsible: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # custom fields, kept as written
    created: dt.datetime | None = None
    created_by: str | None = None
    modified: dt.datetime | None = spec(None, when_set=True)  # absent until the first edit
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def checked(self, path: tuple[str | int, ...]) -> None:
        for i, email in enumerate(self.emails):
            if not _EMAIL.fullmatch(email):
                raise FieldError(path + ("emails", i), Text("{email!r} is not an email address", email=email))


@dataclass
class Company(Client):
    KEYS = COMPANY_KEYS


@dataclass
class Contact(Client):
    KEYS = CONTACT_KEYS
    company: str | None = None  # a company id
    birthday: dt.date | None = None


MODEL_OF: dict[str, type[Client]] = {"company": Company, "contact": Contact}
