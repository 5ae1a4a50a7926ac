"""Domain objects and their on-disk form. `from_dict` checks types (raising FieldError with the
path of the bad value) and keeps keys it does not know; `to_dict` writes known keys in a fixed
order followed by the unknown ones, so files diff well and hand edits survive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from dealcli import FORMAT_VERSION, money, timeutil
from dealcli.errors import FieldError, UsageError

SEMANTICS = ("process", "success", "failure")
STATUSES = ("open", "won", "lost")


# -- field readers: each raises FieldError naming the path -------------------------------------
def _text(data: dict, key: str, path: tuple, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise FieldError(path + (key,), "is required")
        return None if value is None else ""
    if isinstance(value, bool):
        raise FieldError(path + (key,), f"expected text, got {str(value).lower()} (quote it)")
    if isinstance(value, (int, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise FieldError(path + (key,), f"expected text, got {type(value).__name__}")
    return value


def _money(data: dict, key: str, path: tuple, default=None) -> Decimal | None:
    value = data.get(key, default)
    if value is None:
        return None
    try:
        return money.to_decimal(value, key)
    except money.MoneyError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def _bool(data: dict, key: str, path: tuple, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(path + (key,), f"expected true or false, got {value!r}")
    return value


def _list_of_text(data: dict, key: str, path: tuple) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), "expected a list")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise FieldError(path + (key, i), "expected text")
        out.append(str(item))
    return out


def _datetime(data: dict, key: str, path: tuple) -> dt.datetime | None:
    try:
        return timeutil.to_datetime(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def _date(data: dict, key: str, path: tuple) -> dt.date | None:
    try:
        return timeutil.to_date(data.get(key), key)
    except timeutil.DateError as exc:
        raise FieldError(path + (key,), str(exc).split(": ", 1)[-1]) from None


def _mapping(data: dict, key: str, path: tuple) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(path + (key,), "expected a mapping")
    return dict(value)


def _records(data: dict, key: str, path: tuple, required: tuple = ()) -> list[dict]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path + (key,), "expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise FieldError(path + (key, i), "expected a mapping")
        for r in required:
            if item.get(r) in (None, ""):
                raise FieldError(path + (key, i, r), "is required")
    return [dict(v) for v in value]


def _check_format(data: dict, path: tuple) -> int:
    version = data.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise FieldError(path + ("format",), f"expected a format version number, got {version!r}")
    if version > FORMAT_VERSION:
        raise FieldError(path + ("format",), f"format {version} is newer than this dealcli "
                         f"understands ({FORMAT_VERSION}); upgrade dealcli")
    return version


def _extra(data: dict, known: tuple) -> dict:
    return {k: v for k, v in data.items() if k not in known}


# -- products -------------------------------------------------------------------------------------
PRODUCT_KEYS = ("name", "product", "price", "quantity", "discount", "tax_rate", "tax_included")


@dataclass
class ProductRow:
    name: str
    price: Decimal
    quantity: Decimal = Decimal(1)
    discount: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    tax_included: bool = False
    product: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return money.row_total(self.price, self.quantity, self.discount, self.tax_rate, self.tax_included)

    @classmethod
    def from_dict(cls, data: dict, path: tuple) -> ProductRow:
        row = cls(
            name=_text(data, "name", path, required=True) or "",
            price=_money(data, "price", path, 0),
            quantity=_money(data, "quantity", path, 1),
            discount=_money(data, "discount", path, 0),
            tax_rate=_money(data, "tax_rate", path, 0),
            tax_included=_bool(data, "tax_included", path),
            product=_text(data, "product", path),
            extra=_extra(data, PRODUCT_KEYS),
        )
        for key in ("discount", "tax_rate"):
            value = getattr(row, key)
            if value < 0 or value > 100:
                raise FieldError(path + (key,), f"{value} is not a percentage between 0 and 100")
        if row.quantity < 0:
            raise FieldError(path + ("quantity",), "cannot be negative")
        try:
            row.total  # noqa: B018 - bounded: price x quantity must stay below the amount limit
        except money.MoneyError as exc:
            raise FieldError(path, str(exc)) from None
        return row

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "product": self.product,
            "price": money.canonical(self.price),
            "quantity": self.quantity,
            "discount": self.discount,
            "tax_rate": self.tax_rate,
            "tax_included": self.tax_included,
        }
        out.update(self.extra)
        return out


# -- deals ----------------------------------------------------------------------------------------
DEAL_KEYS = (
    "format", "id", "title", "pipeline", "stage", "status", "amount", "currency", "manual_amount",
    "company", "contacts", "products", "type", "source", "responsible", "created_by", "created",
    "modified", "begin", "close_date", "closed_at", "probability", "repeat", "lost_reason",
    "origin_id", "fields", "comments", "history",
)
# Simple fields a user may set with --set or deal edit, and how to read them.
TEXT_FIELDS = ("title", "currency", "company", "type", "source", "responsible", "lost_reason",
               "origin_id")
DATE_FIELDS = ("begin", "close_date")


@dataclass
class Deal:
    id: str
    title: str
    pipeline: str
    stage: str
    status: str = "open"
    amount: Decimal = Decimal(0)
    currency: str = "USD"
    manual_amount: bool = False
    company: str | None = None
    contacts: list[str] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    type: str | None = None
    source: str | None = None
    responsible: str | None = None
    created_by: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    begin: dt.date | None = None
    close_date: dt.date | None = None
    closed_at: dt.datetime | None = None
    probability: int | None = None
    repeat: bool = False
    lost_reason: str | None = None
    origin_id: str | None = None
    fields: dict = field(default_factory=dict)
    comments: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def is_closed(self) -> bool:
        return self.status != "open"

    def products_total(self) -> Decimal:
        return money.check_total(sum((p.total for p in self.products), Decimal(0)))

    def recompute_amount(self) -> None:
        """amount = the sum of the rows (unless set by hand); a row or sum at or beyond the
        amount limit is refused up front (UsageError, exit 2): never stored."""
        try:
            total = self.products_total()
        except money.MoneyError as exc:
            raise UsageError(f"--product: {exc}") from None
        if not self.manual_amount:
            self.amount = total

    @classmethod
    def from_dict(cls, data: dict) -> Deal:
        p: tuple = ()
        version = _check_format(data, p)
        status = _text(data, "status", p) or "open"
        if status not in STATUSES:
            raise FieldError(("status",), f"{status!r} is not one of {', '.join(STATUSES)}")
        probability = data.get("probability")
        if probability is not None:
            if isinstance(probability, bool) or not isinstance(probability, (int, Decimal)) \
                    or not 0 <= probability <= 100:
                raise FieldError(("probability",), f"{probability!r} is not a whole percentage 0-100")
            probability = int(probability)
        products = [
            ProductRow.from_dict(row, ("products", i))
            for i, row in enumerate(_records(data, "products", p))
        ]
        deal = cls(
            id=_text(data, "id", p, required=True) or "",
            title=_text(data, "title", p, required=True) or "",
            pipeline=_text(data, "pipeline", p, required=True) or "",
            stage=_text(data, "stage", p, required=True) or "",
            status=status,
            amount=_money(data, "amount", p, 0),
            currency=_text(data, "currency", p) or "USD",
            manual_amount=_bool(data, "manual_amount", p),
            company=_text(data, "company", p),
            contacts=_list_of_text(data, "contacts", p),
            products=products,
            type=_text(data, "type", p),
            source=_text(data, "source", p),
            responsible=_text(data, "responsible", p),
            created_by=_text(data, "created_by", p),
            created=_datetime(data, "created", p),
            modified=_datetime(data, "modified", p),
            begin=_date(data, "begin", p),
            close_date=_date(data, "close_date", p),
            closed_at=_datetime(data, "closed_at", p),
            probability=probability,
            repeat=_bool(data, "repeat", p),
            lost_reason=_text(data, "lost_reason", p),
            origin_id=_text(data, "origin_id", p),
            fields=_mapping(data, "fields", p),
            comments=_records(data, "comments", p, required=("text",)),
            history=_records(data, "history", p, required=("kind",)),
            extra=_extra(data, DEAL_KEYS),
            format=version,
        )
        try:
            deal.products_total()
        except money.MoneyError as exc:
            raise FieldError(("products",), str(exc)) from None
        return deal

    def to_dict(self) -> dict:
        out = {
            "format": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "status": self.status,
            "amount": money.canonical(self.amount),
            "currency": self.currency,
            "manual_amount": self.manual_amount,
            "company": self.company,
            "contacts": list(self.contacts),
            "products": [p.to_dict() for p in self.products],
            "type": self.type,
            "source": self.source,
            "responsible": self.responsible,
            "created_by": self.created_by,
            "created": timeutil.iso(self.created),
            "modified": timeutil.iso(self.modified),
            "begin": timeutil.iso(self.begin),
            "close_date": timeutil.iso(self.close_date),
            "closed_at": timeutil.iso(self.closed_at),
            "probability": self.probability,
            "repeat": self.repeat,
            "lost_reason": self.lost_reason,
            "origin_id": self.origin_id,
            "fields": dict(self.fields),
            "comments": [dict(c) for c in self.comments],
            "history": [dict(h) for h in self.history],
        }
        out.update(self.extra)
        return out


# -- pipelines ------------------------------------------------------------------------------------
STAGE_KEYS = ("id", "name", "color", "semantics", "probability")
PIPELINE_KEYS = ("format", "id", "name", "stages", "rules", "card")


@dataclass
class Stage:
    id: str
    name: str
    semantics: str = "process"
    color: str | None = None
    probability: int | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict, path: tuple) -> Stage:
        semantics = _text(data, "semantics", path) or "process"
        if semantics not in SEMANTICS:
            raise FieldError(path + ("semantics",), f"{semantics!r} is not one of {', '.join(SEMANTICS)}")
        prob = data.get("probability")
        if prob is not None and (isinstance(prob, bool) or not isinstance(prob, int) or not 0 <= prob <= 100):
            raise FieldError(path + ("probability",), f"{prob!r} is not a whole percentage 0-100")
        sid = _text(data, "id", path, required=True) or ""
        return cls(
            id=sid,
            name=_text(data, "name", path) or sid,
            semantics=semantics,
            color=_text(data, "color", path),
            probability=prob,
            extra=_extra(data, STAGE_KEYS),
        )

    def to_dict(self) -> dict:
        out = {"id": self.id, "name": self.name, "color": self.color, "semantics": self.semantics,
               "probability": self.probability}
        out.update(self.extra)
        return out


@dataclass
class Pipeline:
    id: str
    name: str
    stages: list[Stage]
    rules: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def stage(self, stage_id: str) -> Stage | None:
        for s in self.stages:
            if s.id == stage_id:
                return s
        return None

    def index(self, stage_id: str) -> int:
        for i, s in enumerate(self.stages):
            if s.id == stage_id:
                return i
        return -1

    @property
    def success(self) -> Stage | None:
        return next((s for s in self.stages if s.semantics == "success"), None)

    @property
    def failures(self) -> list[Stage]:
        return [s for s in self.stages if s.semantics == "failure"]

    @property
    def first(self) -> Stage:
        return next((s for s in self.stages if s.semantics == "process"), self.stages[0])

    @classmethod
    def from_dict(cls, data: dict) -> Pipeline:
        p: tuple = ()
        _check_format(data, p)
        raw_stages = _records(data, "stages", p)
        if not raw_stages:
            raise FieldError(("stages",), "a pipeline needs at least one stage")
        return cls(
            id=_text(data, "id", p, required=True) or "",
            name=_text(data, "name", p) or str(data.get("id")),
            stages=[Stage.from_dict(s, ("stages", i)) for i, s in enumerate(raw_stages)],
            rules=_mapping(data, "rules", p),
            card=_mapping(data, "card", p),
            extra=_extra(data, PIPELINE_KEYS),
        )

    def to_dict(self) -> dict:
        out = {
            "format": FORMAT_VERSION,
            "id": self.id,
            "name": self.name,
            "stages": [s.to_dict() for s in self.stages],
            "rules": dict(self.rules),
            "card": dict(self.card),
        }
        out.update(self.extra)
        return out


DEFAULT_STAGES = [
    # id, name, semantics, colour, probability: the reference CRM's default deal pipeline
    ("new", "New", "process", "#39A8EF", 10),
    ("preparation", "Preparing documents", "process", "#2FC6F6", 20),
    ("prepayment_invoice", "Prepayment invoice", "process", "#55D0E0", 40),
    ("executing", "In progress", "process", "#47E4C2", 60),
    ("final_invoice", "Final invoice", "process", "#FFA900", 80),
    ("won", "Deal won", "success", "#7BD500", 100),
    ("lose", "Deal lost", "failure", "#FF5752", 0),
    ("apology", "Analyze failure", "failure", "#FF5752", 0),
]


def default_pipeline(pipeline_id: str = "sales", name: str = "Sales") -> Pipeline:
    stages = [Stage(id=i, name=n, semantics=s, color=c, probability=pr) for i, n, s, c, pr in DEFAULT_STAGES]
    return Pipeline(id=pipeline_id, name=name, stages=stages,
                    rules={"require": [], "lost_reason_required": False}, card={})
