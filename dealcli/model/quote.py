"""A quote (quotes/<id>.yaml, schemas/quote.schema.json): an offer with product rows of the same
form as a deal's (dealcli.model.ProductRow), turned into a deal by `deal add --from quote:ID`
(dealcli/quotes.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.model import ProductRow
from dealcli.storage.convert import Model, spec

QUOTE_KEYS = ("format", "id", "title", "company", "contacts", "products", "amount", "currency", "valid_until",
              "comment", "created", "created_by", "modified")


@dataclass
class Quote(Model):
    KEYS = QUOTE_KEYS
    id: str
    title: str
    company: str | None = None
    contacts: list[str] = field(default_factory=list)
    products: list[ProductRow] = spec(factory=list)
    amount: Decimal = Decimal(0)  # the sum of the rows
    currency: str | None = None
    valid_until: dt.date | None = None
    comment: str | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    modified: dt.datetime | None = spec(None, when_set=True)  # absent until the first edit
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def rows_total(self) -> Decimal:
        return sum((r.total_in(self.currency) for r in self.products), Decimal(0))
