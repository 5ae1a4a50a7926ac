"""The catalogue product (products/<id>.yaml, schemas/product.schema.json): a deal's or quote's
product row copies its name, price and tax (dealcli/products.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealcli import FORMAT_VERSION
from dealcli.storage import convert
from dealcli.storage.convert import Model, spec

PRODUCT_KEYS = ("format", "id", "name", "price", "currency", "tax_rate", "tax_included", "sku", "unit",
                "created", "created_by", "modified")


def flag_or_null(data: dict[str, Any], key: str, path: tuple[str | int, ...], default: bool) -> bool | None:
    """true/false; a null written by `--unset` stays null (so the file keeps its bytes)."""
    if key in data and data[key] is None:
        return None
    return convert.read_bool(data, key, path, default)


@dataclass
class Product(Model):
    KEYS = PRODUCT_KEYS
    id: str
    name: str
    price: Decimal = spec(min=Decimal(0))  # kept as typed: 1000 stays 1000 (a row writes 1000.00)
    currency: str | None = None
    tax_rate: Decimal | None = spec(Decimal(0), min=Decimal(0), max=Decimal(100))
    tax_included: bool | None = spec(False, read=flag_or_null)
    sku: str | None = None
    unit: str | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    modified: dt.datetime | None = spec(None, when_set=True)  # absent until the first edit
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION
