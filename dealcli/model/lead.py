"""A lead (leads/<id>.yaml, schemas/lead.schema.json): a prospect, converted into a deal by
`lead convert` (dealcli/leads.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.errors import FieldError
from dealcli.storage.convert import Model, spec
from dealcli.i18n import Text

STATUSES = ("new", "converted")
LEAD_KEYS = ("format", "id", "title", "status", "contact_name", "company_name", "email", "phone", "source",
             "amount", "currency", "responsible", "deal", "converted_at", "converted_by", "created",
             "created_by", "modified")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # the schema's pattern


@dataclass
class Lead(Model):
    KEYS = LEAD_KEYS
    id: str
    title: str
    status: str = spec("new", choices=STATUSES)
    contact_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str | None = None
    amount: Decimal | None = None  # kept as typed (8000 stays 8000)
    currency: str | None = None
    responsible: str | None = None
    deal: str | None = None  # the deal it was converted into
    converted_at: dt.datetime | None = None
    converted_by: str | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    modified: dt.datetime | None = spec(None, when_set=True)  # absent until the first edit
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def converted(self) -> bool:
        return self.status == "converted"

    def checked(self, path: tuple[str | int, ...]) -> None:
        if self.email and not _EMAIL.fullmatch(self.email):
            raise FieldError(path + ("email",), Text("{self_email!r} is not an email address", self_email=self.email))
