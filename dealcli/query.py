"""The filter language: `FIELD OP VALUE` expressions compiled once into fast predicates over the
plain deal records of `Session.deal_records` (the mapping exactly as stored: amounts Decimal or
int, dates ISO text), plus sorting, columns, presets and saved filters.

    amount>=1000   stage=new,preparation   title~cloud   close_date=this-month
    created>=-7d   fields.region=EMEA      product~licence   next_activity<now
    responsible=@me   close_date=          (empty: the field is not set)

Operators: = != > >= < <= ~ (contains, case-insensitive) !~ (does not contain). With =, != and ~
a comma-separated value is a list: `stage=new,won` means new or won (`\\,` is a literal comma).
`!=` and `!~` are the exact negations of `=` and `~` (so they also match deals without the field).
Comparisons are typed by the field: Decimal for money, whole numbers for probability, dates for
dates (a day or a period is a range: `=` means within it, `>` after it, `<` before it), true/false
for flags and case-insensitive text for everything else. Custom fields are typed by their
stored value. See docs/filter.md."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable

from dealcli import timeutil
from dealcli.errors import CorruptData, UsageError, Words
from dealcli.model import DEAL_KEYS, STATUSES
from dealcli import i18n
from dealcli.i18n import Text

if TYPE_CHECKING:
    from dealcli.session import Session

OPERATORS = ("!~", "!=", ">=", "<=", "=", ">", "<", "~")
_HAS = re.compile(r"^\s*has:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
_EXPR = re.compile(r"^\s*(?P<field>[^=!<>~]*?)\s*(?P<op>!~|!=|>=|<=|=|>|<|~)(?P<value>.*)$", re.S)
FIELD_NAME = re.compile(r"^[^\s=!<>~,][^=!<>~,]*$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SAVE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

MONEY_FIELDS = {"amount", "products.price", "products.quantity", "products.discount", "products.tax_rate"}
INT_FIELDS = {"probability", "format"}
DATE_FIELDS = {"begin", "close_date"}
DATETIME_FIELDS = {"created", "modified", "closed_at", "next_activity", "comments.at", "history.at"}
BOOL_FIELDS = {"manual_amount", "repeat", "products.tax_included", "overdue", "rotting"}
COMPUTED = ("product", "next_activity", "overdue", "company_name", "rotting")
NEEDS_ACTIVITIES = {"next_activity", "overdue"}
NEEDS_COMPANIES = {"company_name"}

STALE_DAYS = 30
PRESETS: dict[str, tuple[str, ...]] = {
    "open": ("status=open",),
    "won": ("status=won",),
    "lost": ("status=lost",),
    "mine": ("responsible=@me",),
    "no-activity": ("status=open", "next_activity="),
    "overdue": ("status=open", "overdue=true"),
    "closing-this-month": ("status=open", "close_date=this-month"),
    "stale": ("status=open", "modified<-{stale_days}d"),
    "rotting": ("status=open", "rotting=true"),
}
PRESET_HELP = {
    "open": "open deals",
    "won": "deals won",
    "lost": "deals lost",
    "mine": "deals whose responsible is the acting user (`dealcli --as USER ...`)",
    "no-activity": "open deals without a pending activity",
    "overdue": "open deals whose next activity is past due or whose close date has passed",
    "closing-this-month": "open deals whose close date is in this calendar month",
    "stale": "open deals not modified for stale_days days (dealcli.yaml, default 30)",
    "rotting": "open deals in their stage for longer than its rotting_days (pipeline file)",
}


# -- the evaluation context: what computed fields need, loaded only when asked --------------------
@dataclass
class Context:
    s: Session
    needs: set = field(default_factory=set)
    next_activity: dict = field(default_factory=dict)
    company_names: dict = field(default_factory=dict)
    pushed: list = field(default_factory=list)  # index.Cond: conditions the index cache can apply
    reads: set = field(default_factory=set)  # top-level keys of a record the expressions read

    @property
    def now(self) -> dt.datetime:
        return self.s.now

    def load(self) -> None:
        """Load the side tables the compiled expressions, sort keys and columns need."""
        if self.needs & NEEDS_ACTIVITIES and not self.next_activity:
            from dealcli.activities import next_activity_by_deal

            self.next_activity = next_activity_by_deal(self.s)
        if self.needs & NEEDS_COMPANIES and not self.company_names:
            for doc in self.s.repo.iter_docs("companies", []):
                if isinstance(doc.data, dict):
                    self.company_names[doc.id] = doc.data.get("name")


# -- field access ---------------------------------------------------------------------------------
def _walk(value, parts: list[str]):
    for part in parts:
        if isinstance(value, list):
            out = []
            for item in value:
                got = _walk(item, [part])
                if isinstance(got, list):
                    out.extend(got)
                elif got is not None:
                    out.append(got)
            value = out
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def getter(name: str, ctx: Context) -> Callable[[dict], object]:
    """A function record -> value of field `name` (a list for list fields and paths through
    lists). Computed fields register what they need in ctx.needs."""
    if name in NEEDS_ACTIVITIES:
        ctx.needs.add("next_activity")
    if name in NEEDS_COMPANIES:
        ctx.needs.add("company_name")
    if name == "product":
        def get(r):
            rows = r.get("products")
            if not isinstance(rows, list):
                return []
            out = []
            for row in rows:
                if isinstance(row, dict):
                    out += [row[k] for k in ("name", "product") if row.get(k) not in (None, "")]
            return out
        return get
    if name == "next_activity":
        return lambda r: ctx.next_activity.get(r.get("id"))
    if name == "overdue":
        def get(r):
            if (r.get("status") or "open") != "open":
                return False
            due = ctx.next_activity.get(r.get("id"))
            if due is not None and due < ctx.now:
                return True
            close = as_date(r.get("close_date"))
            return close is not None and close < ctx.now.date()
        return get
    if name == "company_name":
        return lambda r: ctx.company_names.get(r.get("company")) if isinstance(r.get("company"), str) else None
    if name == "rotting":
        from dealcli.stage_rules import is_rotting

        pipelines = ctx.s.all_pipelines([])
        return lambda r: is_rotting(pipelines.get(str(r.get("pipeline"))), r, ctx.now)
    if name == "status":
        return lambda r: r.get("status") or "open"
    if "." in name:
        parts = name.split(".")
        if parts[0] in DEAL_KEYS:
            return lambda r: _walk(r, parts)

        def get(r):
            if parts[0] in r:
                return _walk(r, parts)
            return _walk(r.get("fields"), parts)
        return get
    if name in DEAL_KEYS:
        return lambda r: r.get(name)

    def custom(r):  # a custom field by name, else an unknown top-level key
        fields = r.get("fields")
        if isinstance(fields, dict) and name in fields:
            return fields[name]
        return r.get(name)
    return custom


def kind_of(name: str) -> str:
    if name in MONEY_FIELDS:
        return "money"
    if name in INT_FIELDS:
        return "int"
    if name in DATE_FIELDS:
        return "date"
    if name in DATETIME_FIELDS:
        return "datetime"
    if name in BOOL_FIELDS:
        return "bool"
    if name in DEAL_KEYS or name in COMPUTED:
        return "text"
    return "any"  # custom fields and other paths: typed by the stored value


# -- conversions of stored values (never raise: a bad value simply does not match) ---------------
def as_number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, Decimal)):
        return v
    if isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def as_date(v):
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def as_datetime(v, tz):
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=tz)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=tz)
    if isinstance(v, str):
        try:
            out = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        return out if out.tzinfo else out.replace(tzinfo=tz)
    return None


def _as_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[v.strip().lower()]
    return None


def _as_text(v) -> str:
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return str(v)


_BOOL_WORDS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False,
               "off": False}


def _empty(v) -> bool:
    return v is None or v == "" or v == [] or v == {}


def _items(v):
    return v if isinstance(v, list) else (v,)


# -- literals -------------------------------------------------------------------------------------
@dataclass
class Span:
    """A date literal: a range [lo, hi) (a day, a period) or a point in time (hi is None)."""

    lo: dt.date  # a date, or a datetime for a moment
    hi: dt.date | None = None

    def cmp(self, op: str) -> Callable[[object], bool]:
        lo, hi = self.lo, self.hi
        if hi is None:
            return {"=": lambda v: v == lo, ">": lambda v: v > lo, ">=": lambda v: v >= lo,
                    "<": lambda v: v < lo, "<=": lambda v: v <= lo}[op]
        return {"=": lambda v: lo <= v < hi, ">": lambda v: v >= hi, ">=": lambda v: v >= lo,
                "<": lambda v: v < lo, "<=": lambda v: v < hi}[op]


def date_span(text: str, now: dt.datetime, as_dates: bool, order: str | None = None) -> Span:
    """A date literal relative to `now`: a period, a day, or a moment. Raises DateError."""
    per = timeutil.period(text.strip(), now)
    if per is not None:
        lo, hi = per
    else:
        value, has_time = timeutil.parse_datetime(text, now, order)
        if has_time and not as_dates:
            return Span(value)
        lo = value.replace(hour=0, minute=0, second=0, microsecond=0)
        hi = lo + dt.timedelta(days=1)
        if as_dates:
            return Span(lo.date(), hi.date())
        # a day in the repository's zone: midnight to midnight (DST-safe via the date)
        hi = dt.datetime.combine(hi.date(), dt.time(), tzinfo=now.tzinfo)
    if as_dates:
        return Span(lo.date(), hi.date())
    return Span(lo, hi)


def _looks_like_date(text: str) -> bool:
    t = text.strip().lower()
    return bool(_ISO_DAY.match(t)) or t in timeutil.PERIODS or t.split(" ")[0] in (
        "today", "tomorrow", "yesterday", "now", "next", "in", "eod", "eow", "eom", "eoq", "eoy") \
        or bool(re.match(r"^[+-]?\d{1,5}[dwmyh]$", t))


def split_values(text: str) -> list[str]:
    parts = re.split(r"(?<!\\),", text)
    return [p.replace("\\,", ",").strip() for p in parts]


# -- compiling one expression ---------------------------------------------------------------------
@dataclass
class Expr:
    text: str
    field: str
    op: str
    value: str


def parse(text: str) -> Expr:
    m = _EXPR.match(text or "")
    if not m:
        raise UsageError(i18n._("filter {text!r}: expected FIELD OP VALUE with OP one of {join_operators} "
                         "(quote it in the shell: 'amount>1000')").format(
                             text=text, join_operators=' '.join(OPERATORS)))
    name = m["field"].strip()
    if not name or not FIELD_NAME.match(name):
        raise UsageError(i18n._("filter {text!r}: {name!r} is not a field name").format(text=text, name=name) if name
                         else i18n._("filter {text!r}: no field name before {op!r}").format(text=text, op=m['op']))
    value = m["value"].strip()
    if value[:1] in "=<>~" and value:
        raise UsageError(i18n._("filter {text!r}: {m_op_value_0!r} is not an operator "
                         "(operators: {join_operators})").format(
                             text=text, m_op_value_0=m['op'] + value[0], join_operators=' '.join(OPERATORS)))
    return Expr(text, name, m["op"], value)


def compile_expr(text: str, ctx: Context) -> Callable[[dict], bool]:
    """One expression -> predicate(record). Malformed: UsageError quoting the expression."""
    has = _HAS.match(text or "")
    if has:  # has:conflict (a `conflicts:` list left by a git merge), has:FIELD (not empty)
        name = "conflicts" if has["name"] == "conflict" else has["name"]
        ctx.reads.add(name)
        return lambda r: not _empty(r.get(name))
    e = parse(text)
    get = getter(e.field, ctx)
    ctx.reads.update(base_keys(e.field))
    kind = kind_of(e.field)
    op, raw = e.op, e.value
    negate = op in ("!=", "!~")
    base_op = {"!=": "=", "!~": "~"}.get(op, op)

    def bad(why: str) -> UsageError:
        return UsageError(i18n._("filter {text!r}: {why}").format(text=text, why=why))

    if raw == "":
        if base_op != "=":
            raise bad("a value is needed after the operator (use FIELD= for 'not set')")
        return (lambda r: not _empty(get(r))) if negate else (lambda r: _empty(get(r)))

    values = split_values(raw) if base_op in ("=", "~") else [raw]
    if any(v == "" for v in values):
        raise bad("an empty item in the value list")
    values = [ctx.s.user if v.lower() == "@me" else v for v in values]
    if e.field == "status" and base_op == "=":
        for v in values:
            if v.lower() not in STATUSES:
                raise bad(f"status is one of {', '.join(STATUSES)}, not {v!r}")
    if e.field == "stage" and base_op == "=":
        values = stage_values(ctx.s, values, bad)
    if e.field in ("company", "contacts") and base_op == "=":
        values = client_values(ctx.s, "company" if e.field == "company" else "contact", values, bad)

    if base_op == "~":
        needles = [v.casefold() for v in values]

        def test(r):
            for item in _items(get(r)):
                if item is not None:
                    hay = _as_text(item).casefold()
                    if any(n in hay for n in needles):
                        return True
            return False
    else:
        test = _typed_test(kind, base_op, values, get, ctx, bad)
    if negate:
        return lambda r: not test(r)
    cond = _pushdown(e.field, kind, base_op, values, ctx)
    if cond is not None:
        ctx.pushed.append(cond)
    return test


def _pushdown(name: str, kind: str, op: str, values: list[str], ctx: Context):
    """The expression as a condition on a typed column of the index cache (index.Cond), or None.
    Only ever a NECESSARY condition of the exact test above: the index lets through every row
    whose column is NULL or meets it, and the exact test still runs on each. Money and whole
    numbers are compared as floats, which keeps order (a > b implies float(a) >= float(b)), so
    strict comparisons are widened to their non-strict forms."""
    from dealcli.storage import index

    typ = index.DEAL_COLUMNS.get(name)
    if typ is None:
        return None
    if op == "~":
        if typ != "text":
            return None
        return index.Cond(name, [[("contains", v.casefold())] for v in values])
    try:
        if typ == "text" and kind == "text":
            if op != "=":
                return None
            return index.Cond(name, [[("=", v.casefold())] for v in values])
        if typ == "num" and kind in ("money", "int"):
            nums = [float(as_number(v.replace("_", ""))) for v in values]
            if op == "=":
                return index.Cond(name, [[("=", n)] for n in nums])
            return index.Cond(name, [[(">=" if op in (">", ">=") else "<=", nums[0])]])
        if typ == "date" and kind == "date":
            alts: list[Any] = []  # lists of (op, ISO text)
            for v in values:
                sp = date_span(v, ctx.now, True)
                if sp.hi is None:
                    return None
                lo, hi = sp.lo.isoformat(), sp.hi.isoformat()
                alts.append({"=": [(">=", lo), ("<", hi)], ">": [(">=", hi)], ">=": [(">=", lo)],
                             "<": [("<", lo)], "<=": [("<", hi)]}[op])
            return index.Cond(name, alts)
    except (TypeError, ValueError, OverflowError, timeutil.DateError):
        return None
    return None


def stage_values(s, values: list[str], bad) -> list[str]:
    """stage=...: each value a stage id or name (case-insensitive) of any pipeline, as the ids it
    names; an unknown stage is a RuleViolation (exit 1, as `deal move`) with a "did you mean" in
    the form typed (a name for a name)."""

    ids: dict[str, set[str]] = {}
    for p in s.all_pipelines([]).values():
        for st in p.stages:
            for key in {st.id.lower(), (st.name or st.id).strip().lower()}:
                ids.setdefault(key, set()).add(st.id)
    if not ids:
        return values
    out: list[str] = []
    for v in values:
        found = ids.get(v.strip().lower())
        if not found:  # as in every command, an unknown stage breaks a rule (exit 1), not a usage error
            from dealcli.errors import RuleViolation, Violation
            from dealcli.stage_rules import suggest_stage

            raise RuleViolation(Violation("stage-exists", Text("{bad_message}: no pipeline has a stage "
                                               "{v!r}{v2}", bad_message=bad('').message[:-2], v=v,
                                                               v2=suggest_stage(s.all_pipelines([]).values(),
                                                          v)), "stage", v))
        out += sorted(found)
    return out


def client_values(s, which: str, values: list[str], bad) -> list[str]:
    """company=... / contacts=...: each value an id or an exact name (case-insensitive), as
    `--company` takes it everywhere else, as the id it names; a value that names no record is
    kept as it is (the id of a deleted company still matches its deals)."""
    from dealcli import clients
    from dealcli.errors import NotFound

    kind = clients.KIND_OF[which]
    out = []
    for v in values:
        if not s.repo.exists(kind, v):
            try:
                v = clients.ClientIndex(s, which).find(name=v) or v
            except NotFound as exc:
                raise bad(exc.message) from None
        out.append(v)
    return out


def known_field(s, name: str) -> bool:
    """A deal field, a computed one, a field on a pipeline's card, or a custom field some deal
    carries (looked for only when nothing else knows the name)."""
    from dealcli import cards

    base = name.split(".")[0]
    if base in DEAL_KEYS or name in COMPUTED:
        return True
    pipelines = s.all_pipelines([]).values()
    if any(base in cards.card_of(p).names() for p in pipelines):
        return True
    for r in s.deal_records([]):
        if isinstance(r, dict) and (base in r or (isinstance(r.get("fields"), dict) and base in r["fields"])):
            return True
    return False


def check_field(s, name: str, field: str | tuple, what: str = "{0}", **values) -> None:
    """Refuse (exit 2, with a "did you mean") a field no deal, card or computed field knows.
    `field` is the parameter the name came from (`sort`, `columns`); `what` words where it was
    found, {0} standing for that parameter (errors.DealcliError.about)."""
    if known_field(s, name):
        return
    from dealcli import cards
    from dealcli.suggest import hint

    names = list(DEAL_KEYS) + list(COMPUTED)
    for p in s.all_pipelines([]).values():
        names += cards.card_of(p).names()
    raise UsageError.about(field, "{what}: unknown field {name!r}{hint}", name=name, hint=hint(name, names),
                           what=Words((field,) if isinstance(field, str) else field, what, values), **values)


def _typed_test(kind: str, op: str, values: list[str], get, ctx: Context, bad):
    now, tz = ctx.now, ctx.now.tzinfo
    if kind in ("money", "int"):
        lits = []
        for v in values:
            num = as_number(v.replace("_", ""))
            if num is None or (kind == "int" and num != num.to_integral_value()):
                raise bad(f"{v!r} is not a {'whole ' if kind == 'int' else ''}number")
            lits.append(num)
        return _any_test(get, as_number, _ordered(op, lits))
    if kind in ("date", "datetime"):
        as_dates = kind == "date"
        try:
            spans = [date_span(v, now, as_dates, ctx.s.date_order) for v in values]
        except timeutil.DateError as exc:
            raise bad(str(exc)) from None
        except (ValueError, OverflowError):  # e.g. +99999y: beyond the calendar
            raise bad("the date is out of range") from None
        conv = as_date if as_dates else (lambda v: as_datetime(v, tz))
        tests = [sp.cmp(op) for sp in spans]
        if len(tests) == 1:
            return _any_test(get, conv, tests[0])
        return _any_test(get, conv, lambda x: any(t(x) for t in tests))
    if kind == "bool":
        lits = []
        for v in values:
            b = _as_bool(v)
            if b is None:
                raise bad(f"{v!r} is not true or false")
            lits.append(b)
        if op != "=":
            raise bad("true/false fields compare with = or != only")
        return _any_test(get, _as_bool, lambda x: x in lits)
    if kind == "text":
        lits = [v.casefold() for v in values]
        return _any_test(get, lambda v: _as_text(v).casefold(), _ordered(op, lits))
    return _dynamic_test(op, values, get, ctx)


def _ordered(op: str, lits: list):
    if op == "=":
        if len(lits) == 1:
            one = lits[0]
            return lambda x: x == one
        return lambda x: x in lits
    lit = lits[0]
    return {">": lambda x: x > lit, ">=": lambda x: x >= lit, "<": lambda x: x < lit,
            "<=": lambda x: x <= lit}[op]


def _any_test(get, conv, cmp):
    def test(r):
        v = get(r)
        if isinstance(v, list):
            for item in v:
                x = conv(item) if item is not None else None
                if x is not None and cmp(x):
                    return True
            return False
        if v is None:
            return False
        x = conv(v)
        return x is not None and cmp(x)
    return test


def _dynamic_test(op: str, values: list[str], get, ctx: Context):
    """A custom field: compare as a number, a date, a flag or text depending on the stored value."""
    nums = [as_number(v) for v in values]
    nums_ok = all(n is not None for n in nums)
    dates = None
    if all(_looks_like_date(v) for v in values):
        try:
            dates = [date_span(v, ctx.now, True, ctx.s.date_order).cmp(op) for v in values]
        except (ValueError, OverflowError):
            dates = None
    bools = [_as_bool(v) for v in values]
    texts = [v.casefold() for v in values]
    num_cmp = _ordered(op, nums) if nums_ok else None
    text_cmp = _ordered(op, texts)

    def one(x) -> bool:
        if isinstance(x, bool):
            if op == "=" and all(b is not None for b in bools):
                return x in bools
            return text_cmp(_as_text(x).casefold())
        if isinstance(x, (int, Decimal)):
            if num_cmp:
                return num_cmp(x)
            return text_cmp(_as_text(x).casefold())
        if dates is not None and isinstance(x, (str, dt.date)) and _ISO_DAY.match(_as_text(x)):
            d = as_date(x)
            if d is not None:
                return any(t(d) for t in dates)
        if num_cmp and isinstance(x, str):
            n = as_number(x)
            if n is not None:
                return num_cmp(n)
        if isinstance(x, (dict, list)):
            return False
        return text_cmp(_as_text(x).casefold())

    def test(r):
        v = get(r)
        for item in _items(v):
            if item is not None and one(item):
                return True
        return False
    return test


# -- presets and saved filters --------------------------------------------------------------------
def stale_days(s) -> int:
    value = s.repo.config.get("stale_days", STALE_DAYS)
    if value is None:
        return STALE_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CorruptData("dealcli.yaml", i18n._("stale_days: {value!r} is not a whole number of "
                                                 "days (1 or more)").format(
            value=value))
    return value


def saved_filters(s) -> dict[str, list[str]]:
    data = s.repo.config.get("filters") or {}
    if not isinstance(data, dict):
        raise CorruptData("dealcli.yaml", i18n._("filters: expected a mapping of name -> list of expressions"))
    out = {}
    for name, exprs in data.items():
        if isinstance(exprs, str):
            exprs = [exprs]
        if not isinstance(exprs, list) or not all(isinstance(x, str) for x in exprs):
            raise CorruptData("dealcli.yaml", i18n._("filters.{name}: expected a list of expressions").format(
                name=name))
        out[str(name)] = list(exprs)
    return out


def preset_exprs(s, name: str) -> list[str]:
    """The expressions of a shipped preset or a saved filter."""
    if name in PRESETS:
        days = stale_days(s) if name == "stale" else STALE_DAYS
        return [x.format(stale_days=days) for x in PRESETS[name]]
    saved = saved_filters(s)
    if name in saved:
        return saved[name]
    known = list(PRESETS) + sorted(saved)
    raise UsageError.about("preset", "{0} {name!r}: no such preset or saved filter (known: {known})", name=name,
                           known=", ".join(known))


def expand(s, presets: list[str] | None, exprs: list[str] | None) -> list[str]:
    out: list[str] = []
    for name in presets or []:
        out += preset_exprs(s, name)
    return out + list(exprs or [])


def save_filter(s, name: str, exprs: list[str]) -> None:
    """Write `filters: {name: exprs}` to dealcli.yaml under the repository lock."""
    if not _SAVE_NAME.match(name or ""):
        raise UsageError.about("save", "{0} {name!r}: a filter name is lower-case letters, digits, - and _", name=name)
    if name in PRESETS:
        raise UsageError.about("save", "{0} {name!r}: that is the name of a shipped preset", name=name)
    if not exprs:
        raise UsageError.about(("save", "preset"), "{0} {name!r}: nothing to save (give expressions or {1})",
                               name=name)
    compile_query(s, exprs)  # a malformed expression is refused before anything is written
    with s.repo.transaction():
        config = dict(s.repo.config)
        filters = config.get("filters") or {}
        if not isinstance(filters, dict):
            raise CorruptData("dealcli.yaml", i18n._("filters: expected a mapping of name -> list of expressions"))
        filters = dict(filters)
        filters[name] = list(exprs)
        config["filters"] = filters
        s.repo.save_config(config)


# -- the query: predicate + sort + limit + columns ------------------------------------------------
@dataclass
class Query:
    ctx: Context
    exprs: list[str]
    preds: list
    sort: list[tuple[str, bool, Callable]] = field(default_factory=list)  # (field, descending, getter)
    limit: int | None = None
    keep: frozenset | None = None  # top-level keys the output needs (None: the whole record)

    @property
    def reads(self) -> frozenset | None:
        """Every top-level key the expressions and the output read (None: the whole record)."""
        return None if self.keep is None else self.keep | self.ctx.reads

    def match(self, record: dict) -> bool:
        for p in self.preds:
            if not p(record):
                return False
        return True


def compile_query(s, exprs: list[str], sort: str | None = None, limit: int | None = None,
                  extra_fields: list[str] | None = None) -> Query:
    """Compile expressions (ANDed), sort keys and the fields the output will show."""
    ctx = Context(s)
    preds = [compile_expr(x, ctx) for x in exprs]
    keys = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if not name or not FIELD_NAME.match(name):
            raise UsageError.about("sort", "{0} {sort!r}: {part!r} is not a field (use FIELD or -FIELD)", sort=sort,
                                   part=part)
        keys.append((name, desc, getter(name, ctx)))
    if limit is not None and limit < 0:
        raise UsageError.about("limit", "{0} {limit}: must be 0 or more", limit=limit)
    for name in extra_fields or []:
        getter(name, ctx)
    keep = None
    if extra_fields is not None:  # the caller shows these fields only: matches keep just their keys
        keep = frozenset(k for name in [*extra_fields, *(n for n, _, _ in keys), "id", "pipeline", "stage"]
                         for k in base_keys(name))
    return Query(ctx, list(exprs), preds, keys, limit, keep)


def base_keys(name: str) -> tuple[str, ...]:
    """The top-level keys of a record that getter(name) reads."""
    if name == "product":
        return ("products",)
    if name == "next_activity":
        return ("id",)
    if name == "overdue":
        return ("id", "status", "close_date")
    if name == "company_name":
        return ("company",)
    if name == "rotting":
        return ("pipeline", "stage", "status", "history", "created")
    first = name.split(".")[0]
    if first in DEAL_KEYS:
        return (first,)
    return (first, "fields")  # a custom field, else an unknown top-level key


def sort_key(name: str, get, tz):
    kind = kind_of(name)

    def conv(v):
        if isinstance(v, list):
            v = v[0] if v else None
        if v is None or v == "":
            return None
        if kind in ("money", "int"):
            n = as_number(v)
            return None if n is None else (1, n)
        if kind == "date":
            d = as_date(v)
            return None if d is None else (1, d)
        if kind == "datetime":
            d = as_datetime(v, tz)
            return None if d is None else (1, d)
        if isinstance(v, bool):
            return (0, int(v))
        if kind == "any" and isinstance(v, (int, Decimal)):
            return (1, v)
        return (2, _as_text(v).casefold())

    return lambda r: conv(get(r))


def run(s, query: Query, errors: list | None = None, answered: dict | None = None) -> list[dict]:
    """Scan every deal record once; return the matching ones, sorted and limited. Corrupt files
    are skipped, each named in one notice on stderr. `answered` (a dict): the index cache may
    leave out the deals an aggregation can answer in SQL, naming them in it (index.Unanswered);
    the caller must then count those through index.groups."""
    errs: list = [] if errors is None else errors
    query.ctx.load()
    keep = query.keep  # the output needs only these keys: the rest of each match is let go at once
    where = query.ctx.pushed
    extra: dict = {}
    if answered is not None:
        from dealcli.storage import index

        where, extra = [*where, index.Unanswered()], {"answered": answered}
    rows = [r if keep is None else {k: v for k, v in r.items() if k in keep}
            for r in s.deal_records(errs, where=where or None, keys=query.reads, **extra)
            if isinstance(r, dict) and query.match(r)]
    if errors is None:
        skipped_notices(s, errs)
    rows.sort(key=lambda r: str(r.get("id")))
    tz = s.now.tzinfo
    for name, desc, get in reversed(query.sort):
        key = sort_key(name, get, tz)
        present = [r for r in rows if key(r) is not None]
        missing = [r for r in rows if key(r) is None]
        present.sort(key=key, reverse=desc)  # stable in both directions
        rows = present + missing  # deals without the field go last either way
    if query.limit is not None:
        rows = rows[: query.limit]
    return rows


def skipped_notices(s, errors: list) -> None:
    """One notice per corrupt deal file, by file name (the index cache may meet them out of order)."""
    for exc in sorted(errors, key=lambda e: str(e.path)):
        s.notice(i18n._("skipped a corrupt deal file: {exc_message} (run `dealcli check`)").format(
            exc_message=exc.message))


def select(s, exprs: list[str] | None = None, presets: list[str] | None = None, sort: str | None = None,
           limit: int | None = None, fields: list[str] | None = None,
           answered: dict | None = None) -> tuple[list[dict], Query]:
    query = compile_query(s, expand(s, presets, exprs), sort, limit, fields)
    check_fields(s, query, fields)
    return run(s, query, answered=answered), query


def check_fields(s, query: Query, columns: list[str] | None = None) -> None:
    """Every field the expressions, sort keys and columns name must be known (exit 2 with a
    "did you mean" otherwise): run on what a person typed, before the scan."""
    for x in query.exprs:
        if not _HAS.match(x or ""):  # has:NAME asks whether a field is there: any name is fine
            check_field(s, parse(x).field, (), "filter {expr!r}", expr=x)  # worded by the expression alone
    for name, _, _ in query.sort:
        check_field(s, name, "sort")
    for name in columns or []:
        check_field(s, name, "columns")
