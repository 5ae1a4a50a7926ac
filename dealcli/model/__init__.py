"""The record models. `from_dict` / `to_dict` are the one converter (storage/convert.py): it
checks types (raising FieldError with the path of the bad value) and keeps keys it does not know;
it writes known keys in a fixed order followed by the unknown ones, so files diff well and hand
edits survive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealcli import FORMAT_VERSION, kinds, money
from dealcli.errors import FieldError, UsageError
from dealcli.storage import convert
from dealcli.storage.convert import Model, spec
from dealcli.i18n import Text

SEMANTICS = ("process", "success", "failure")
STATUSES = ("open", "won", "lost")


def _whole_percentage(data: dict[str, Any], key: str, path: tuple[Any, ...], decimals: bool) -> int | None:
    """0 to 100; a deal's probability may also be written as a decimal (kept whole)."""
    value = data.get(key)
    if value is None:
        return None
    kinds = (int, Decimal) if decimals else int
    if isinstance(value, bool) or not isinstance(value, kinds) or not 0 <= value <= 100:
        raise FieldError(path + (key,), Text("{value!r} is not a whole percentage 0-100", value=value))
    return int(value)


# -- products -------------------------------------------------------------------------------------
PRODUCT_KEYS = ("name", "product", "price", "quantity", "discount", "tax_rate", "tax_included")


def _not_null(value: Decimal | None, path: tuple[Any, ...]) -> Decimal:
    """A number a product row needs: an explicit `null` in the file is refused like a wrong type
    (exit 5 naming the field), never compared as a number."""
    if value is None:
        raise FieldError(path, Text("must be a number, not null"))
    return value


def _number(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> Decimal:
    return _not_null(convert.read_money(data, key, path, default), path + (key,))


def _not_negative(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> Decimal | None:
    value = _not_null(convert.read_money(data, key, path, default), path + (key,))
    if value < 0:
        raise FieldError(path + (key,), Text("cannot be negative"))
    return value


def _percentage(data: dict[str, Any], key: str, path: tuple[Any, ...], default: Any) -> Decimal | None:
    value = _not_null(convert.read_money(data, key, path, default), path + (key,))
    if value < 0 or value > 100:
        raise FieldError(path + (key,), Text("{value} is not a percentage between 0 and 100", value=value))
    return value


@dataclass
class ProductRow(Model):
    KEYS, VERSIONED = PRODUCT_KEYS, False
    name: str
    price: Decimal = spec(Decimal(0), read=_number, write=money.canonical, required=False)
    quantity: Decimal = spec(Decimal(1), read=_not_negative)
    discount: Decimal = spec(Decimal(0), read=_percentage)
    tax_rate: Decimal = spec(Decimal(0), read=_percentage)
    tax_included: bool = False
    product: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.total_in(None)

    def total_in(self, currency: str | None) -> Decimal:
        """The row's total rounded to the minor unit of `currency` (cents when None)."""
        return money.row_total(self.price, self.quantity, self.discount, self.tax_rate, self.tax_included, currency)

    def checked(self, path: tuple[Any, ...]) -> None:
        try:
            self.total  # noqa: B018 - bounded: price x quantity must stay below the amount limit
        except money.MoneyError as exc:
            raise FieldError(path, str(exc)) from None


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
class Deal(Model):
    KEYS = DEAL_KEYS
    id: str
    title: str
    pipeline: str
    stage: str
    status: str = spec("open", choices=STATUSES)
    amount: Decimal = spec(Decimal(0), write=money.canonical)
    currency: str = "USD"
    manual_amount: bool = False
    company: str | None = None
    contacts: list[str] = field(default_factory=list)
    products: list[ProductRow] = spec(factory=list)
    type: str | None = None
    source: str | None = None
    responsible: str | None = None
    created_by: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    begin: dt.date | None = None
    close_date: dt.date | None = None
    closed_at: dt.datetime | None = None
    probability: int | None = spec(None, read=lambda d, k, p, default: _whole_percentage(d, k, p, True))
    repeat: bool = False
    lost_reason: str | None = None
    origin_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = spec(factory=list, item_keys=("text",))
    history: list[dict[str, Any]] = spec(factory=list, item_keys=("kind",))
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def is_closed(self) -> bool:
        return self.status != "open"

    def products_total(self) -> Decimal:
        return money.check_total(sum((p.total_in(self.currency) for p in self.products), Decimal(0)))

    def recompute_amount(self) -> None:
        """amount = the sum of the rows (unless set by hand); a row or sum at or beyond the
        amount limit is refused up front (UsageError, exit 2): never stored. An amount set by
        hand with more decimals than the deal's currency has (5.50 JPY) is refused too."""
        try:
            total = self.products_total()
        except money.MoneyError as exc:
            raise UsageError.about("product", "{0}: {problem}", problem=str(exc)) from None
        if not self.manual_amount:
            self.amount = total
            return
        try:
            self.amount = money.check_places(self.amount, self.currency)
        except money.MoneyError as exc:
            raise UsageError.about("amount", "{0}{problem}", problem=str(exc).removeprefix("amount")) from None

    def checked(self, path: tuple[Any, ...]) -> None:
        try:
            self.products_total()
        except money.MoneyError as exc:
            raise FieldError(path + ("products",), str(exc)) from None


# -- pipelines ------------------------------------------------------------------------------------
STAGE_KEYS = ("id", "name", "color", "semantics", "probability", "rotting_days")
PIPELINE_KEYS = ("format", "id", "name", "stages", "rules", "automation", "card")
RULE_KEYS = ("id", "when", "stage", "activity", "set", "clear", "notify", "copy_to", "move_to", "generator", "run")
TRIGGERS = ("enter", "leave")


def _none_if_empty(value: Any) -> Any:
    """Optional parts of a file are left out while empty (with when_set), so files keep their shape."""
    if isinstance(value, (list, dict)):
        return (list(value) if isinstance(value, list) else dict(value)) or None
    return value


@dataclass
class RuleActivity(Model):
    """What a stage automation rule plans: an activity due `due_days` working days after the change."""

    KEYS, VERSIONED = ("type", "subject", "due_days", "responsible", "description"), False
    subject: str = spec(required=True)
    type: str = spec("task", choices=("call", "meeting", "task", "email", "chat"))
    due_days: int = spec(0, min=0, max=365)
    responsible: str | None = spec(None, when_set=True)
    description: str | None = spec(None, when_set=True)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuleTarget(Model):
    """Where a tunnel sends a deal: a stage of a pipeline."""

    KEYS, VERSIONED = ("pipeline", "stage"), False
    pipeline: str = spec(required=True)
    stage: str = spec(required=True)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rule(Model):
    """A stage automation rule (docs/pipelines.md, "Stage automation"): when a deal enters (or
    leaves) `stage`, plan an activity, set or clear fields, notify people, copy or move the deal
    into a stage of another pipeline (a tunnel), start a generator scenario for the deal's client
    and name a local command to run after commit."""

    KEYS, VERSIONED = RULE_KEYS, False
    id: str
    stage: str = spec(required=True)
    when: str = spec("enter", choices=TRIGGERS)
    activity: RuleActivity | None = spec(None, when_set=True)
    sets: dict[str, Any] = spec(factory=dict, key="set", write=_none_if_empty, when_set=True)
    clear: list[str] = spec(factory=list, write=_none_if_empty, when_set=True)
    notify: list[str] = spec(factory=list, write=_none_if_empty, when_set=True)
    copy_to: RuleTarget | None = spec(None, when_set=True)
    move_to: RuleTarget | None = spec(None, when_set=True)
    generator: str | None = spec(None, when_set=True)  # a scenario (generators/<id>.yaml) started for the client
    run: str | None = spec(None, when_set=True)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> RuleTarget | None:
        return self.move_to or self.copy_to


@dataclass
class Stage(Model):
    KEYS, VERSIONED = STAGE_KEYS, False
    id: str
    name: str = spec(required=False)
    semantics: str = spec("process", choices=SEMANTICS)
    color: str | None = None
    probability: int | None = spec(None, read=lambda d, k, p, default: _whole_percentage(d, k, p, False))
    rotting_days: int | None = spec(None, min=1, max=3660, when_set=True)  # an open deal idle here longer rots
    extra: dict[str, Any] = field(default_factory=dict)

    def checked(self, path: tuple[Any, ...]) -> None:
        self.name = self.name or self.id


@dataclass
class Pipeline(Model):
    KEYS = PIPELINE_KEYS
    id: str
    name: str = spec(required=False)
    stages: list[Stage] = spec(required=False)
    rules: dict[str, Any] = field(default_factory=dict)
    automation: list[Rule] = spec(factory=list, write=_none_if_empty, when_set=True)
    card: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def checked(self, path: tuple[Any, ...]) -> None:
        if not self.stages:
            raise FieldError(path + ("stages",), Text("a pipeline needs at least one stage"))
        self.name = self.name or self.id

    def stage(self, stage_id: str | None) -> Stage | None:
        for s in self.stages:
            if s.id == stage_id:
                return s
        return None

    def known(self, stage_id: str | None) -> Stage:
        """The stage the caller checked exists (stage_rules.stage_exists); KeyError if not."""
        found = self.stage(stage_id)
        if found is None:
            raise KeyError(stage_id)
        return found

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


# -- every record kind's model, by folder name ------------------------------------------------------
MODEL_OF_KIND = kinds.MODEL_OF_KIND  # declared in dealcli/kinds.py


def model_of(kind: str) -> type[Model]:
    """The model class of a record kind (imported when first needed)."""
    import importlib

    module, name = MODEL_OF_KIND[kind].split(":")
    cls: type[Model] = getattr(importlib.import_module(module), name)
    return cls
