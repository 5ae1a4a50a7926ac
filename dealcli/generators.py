"""Sales-generator scenarios (generators/<id>.yaml) and the idempotent `generator run`.

A scenario picks clients by a segment and, for each, creates a deal (and/or plans an activity).

Segment: a list of expressions, all of which must hold for a client:
  - deal expressions of the filter language (query.py), e.g. `status=won product~licence`:
    the client has at least one deal matching all of them together;
  - `client.FIELD OP VALUE`: a test on the company/contact record itself (`client.name~acme`,
    `client.fields.tier=gold`, `client.responsible=anna`);
  - built-ins, `NAME=N` or `NAME=N..M` (days, against the clock `--now`):
      birthday_within=N   a contact whose birthday is today or within the next N days
      last_won_days=N..M  the client's latest won deal closed N to M days ago (M: no limit)
      lost_days=N..M      the client's latest closed deal was lost N to M days ago and the client
                          has no open deal (win back)
      no_deal_days=N..M   the client's latest deal (closed, else begun) is N to M days old

Clients: `companies`, `contacts`, or `auto` (the default): a deal's client is its company, else
its first contact; the clients are every company and every contact without a company. A
segment with birthday_within makes `auto` mean contacts (birthdays are personal).

Idempotence: the created deal's id is `gen-<scenario>-<client>-<period>` (period: day
20260310, week 2026w11, month 202603, quarter 2026q1, year 2026, once; a birthday scenario
keys on the birthday's year), written create-only by deals.add under the repository lock that
the whole run holds. So a repeated run, a concurrent run or a run after a crash never creates
a client's deal twice in a period. A planned activity has the id `<deal id>-a`, written
create-only in the same transaction as its deal (both or neither, even when killed).
A client who still has an open deal from the scenario (made in an earlier period) is passed
over. Every created deal records `generator: {scenario, client, period}` and its `created`
history event says `via: generator:<scenario>`. See docs/automation.md."""

from __future__ import annotations

import copy
import datetime as dt
import shlex
import string
from dataclasses import dataclass, field

from dealcli import ids
from dealcli.errors import Conflict, DealcliError, FieldError, NotFound, UsageError
from dealcli.model import ProductRow
from dealcli.model.scenario import (  # noqa: F401 - the record's helpers, also used as generators.X
    ACTIVITY_KEYS,
    ACTIVITY_TYPES,
    BUILTINS,
    CLIENT_MODES,
    DEAL_KEYS,
    DEFAULT_TITLE,
    PERIODS,
    PLACEHOLDERS,
    Builtin,
    Scenario,
    check_title,
    parse_builtin,
    split_segment,
)
from dealcli.recurring import RunProblems, deal_part_problems, set_paused, update_ref  # noqa: F401 - RunProblems: the same exit-1 list
from dealcli.session import Session, to_model
from dealcli.storage.repository import Doc
from dealcli import i18n
from dealcli.i18n import Text

KIND = "generators"


# -- segments --------------------------------------------------------------------------------------
@dataclass
class Segment:
    """A compiled segment: deal predicates, client predicates, built-ins."""

    deal_preds: list
    client_preds: list
    builtins: list[Builtin]
    ctx: object

    def uses(self, name: str) -> bool:
        return any(b.name == name for b in self.builtins)


def compile_segment(s: Session, exprs: list[str]) -> Segment:
    from dealcli import query

    ctx = query.Context(s)
    client_ctx = query.Context(s)
    deal_preds, client_preds, builtins = [], [], []
    for expr in exprs:
        b = parse_builtin(expr)
        if b is not None:
            builtins.append(b)
        elif expr.strip().startswith("client."):
            client_preds.append(query.compile_expr(expr.strip()[len("client."):], client_ctx))
        else:
            deal_preds.append(query.compile_expr(expr, ctx))
    ctx.load()
    return Segment(deal_preds, client_preds, builtins, ctx)


# -- titles ----------------------------------------------------------------------------------------
def render_title(title: str, values: dict, today: dt.date) -> str:
    out = []
    for literal, name, spec, _ in string.Formatter().parse(title):
        out.append(literal)
        if name == "date":
            out.append(i18n.month_name(today, spec) if spec else today.isoformat())  # декабрь in Russian
        elif name:
            out.append(str(values.get(name) or ""))
    return " ".join("".join(out).split()) or "Deal"


def load(s: Session, scenario_id: str) -> tuple[Scenario, Doc]:
    """A scenario by exact id; CorruptData (naming file and line) when it cannot be used."""
    doc = s.repo.load(KIND, scenario_id)
    return to_model(doc, Scenario), doc


def resolve(s: Session, ref: str) -> tuple[Scenario, Doc]:
    return load(s, s.repo.resolve(KIND, ref))


def problems(s: Session, doc: Doc) -> list[tuple[str, int | None]]:
    """What `dealcli check` reports beyond the schema: (message, line) pairs."""
    try:
        sc = Scenario.from_dict(doc.data)
        compile_segment(s, sc.segment)
    except FieldError as exc:
        return [(str(exc), doc.line_of(exc.path))]
    except DealcliError as exc:
        return [(f"segment: {exc.message}", doc.line_of(("segment",)))]
    return deal_part_problems(s, doc, sc.deal or {})


# -- add / edit --------------------------------------------------------------------------------------
@dataclass
class ScenarioSpec:
    """What `generator add` and `generator edit` may say (None: not given)."""

    name: str | None = None
    segment: list[str] | None = None  # replaces the segment
    builtins: list[str] = field(default_factory=list)  # added, replacing a built-in of the same name
    clients: str | None = None
    period: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    title: str | None = None
    responsible: str | None = None
    type: str | None = None
    source: str | None = None
    copy_products: bool | None = None
    no_deal: bool = False
    activity_type: str | None = None
    activity_subject: str | None = None
    activity_due: str | None = None
    no_activity: bool = False


def _apply(s: Session, sc: Scenario, spec: ScenarioSpec) -> None:
    if spec.name is not None:
        sc.name = " ".join(spec.name.split()) or sc.name
    if spec.segment is not None:
        sc.segment = split_segment(spec.segment)
    if spec.builtins:
        names = {b.split("=", 1)[0].strip() for b in spec.builtins}
        sc.segment = [e for e in sc.segment if e.split("=", 1)[0].strip() not in names] + list(spec.builtins)
    if not sc.segment:
        raise UsageError.about(("segment", "won_days_ago"),
                               "generator: give a segment ({0} EXPR, or a built-in such as {1} N)")
    compile_segment(s, sc.segment)  # refuse a bad expression now, not at the first run
    for value, allowed, name in ((spec.clients, CLIENT_MODES, "clients"), (spec.period, PERIODS, "period")):
        if value is not None and value not in allowed:
            raise UsageError.about(name, "{0} {value!r}: expected one of {allowed}", value=value,
                                   allowed=", ".join(allowed))
    sc.clients = spec.clients or sc.clients
    sc.period = spec.period or sc.period
    deal_options = [getattr(spec, k) for k in ("pipeline", "stage", "title", "responsible", "type", "source",
                                               "copy_products")]
    if spec.no_deal:
        sc.deal = None
    elif sc.deal is not None or any(v is not None for v in deal_options):  # a deal option brings the deal back
        deal = dict(sc.deal or {})
        for key in ("pipeline", "stage", "title", "responsible", "type", "source"):
            value = getattr(spec, key)
            if value is not None:
                deal[key] = value or None
        if spec.copy_products is not None:
            deal["copy_products"] = spec.copy_products
        deal.setdefault("copy_products", True)
        if deal.get("title"):
            check_title(deal["title"])
        if deal.get("pipeline") or deal.get("stage"):
            pipeline = s.pipeline(deal.get("pipeline") or s.default_pipeline_id())
            if deal.get("stage") and pipeline.stage(deal["stage"]) is None:
                raise UsageError.about("stage", "{0} {stage!r}: not a stage of pipeline {pipeline!r}",
                                       stage=deal["stage"], pipeline=pipeline.id)
        sc.deal = {k: deal.get(k) for k in DEAL_KEYS}
    if spec.no_activity:
        sc.activity = None
    elif spec.activity_type or spec.activity_subject or spec.activity_due:
        act = dict(sc.activity or {})
        for key, value in (("type", spec.activity_type), ("subject", spec.activity_subject),
                           ("due", spec.activity_due)):
            if value is not None:
                act[key] = value
        kind = (act.get("type") or "").strip().lower()
        if kind not in ACTIVITY_TYPES:
            raise UsageError.about("activity_type", "{0} {kind!r}: expected one of {allowed}", kind=kind,
                                   allowed=", ".join(ACTIVITY_TYPES))
        if not (act.get("subject") or "").strip():
            raise UsageError.about("activity_subject", "{0}: an activity needs a subject")
        if act.get("due"):
            _due(s, act["due"])
        sc.activity = {"type": kind, "subject": act["subject"], "due": act.get("due")}
    if sc.deal is None and sc.activity is None:
        raise UsageError.about(("activity_type", "activity_subject"),
                               "generator: a scenario needs a deal, an activity ({0}, {1}) or both")


def add(s: Session, name: str, spec: ScenarioSpec) -> Scenario:
    """Save a new scenario; its id is the slug of NAME (exit 4 when one exists)."""
    clean = " ".join((name or "").split())
    if not clean:
        raise UsageError(i18n._("generator add: NAME must not be empty"))
    scenario_id = ids.slugify(clean).replace("_", "-")
    sc = Scenario(id=scenario_id, name=clean, segment=[], created=s.now, created_by=s.user)
    spec.name = None
    _apply(s, sc, spec)
    with s.repo.transaction():
        if s.repo.exists(KIND, sc.id):
            raise Conflict(i18n._("generator {sc_id!r} already exists (generators/{sc_id}.yaml); "
                           "use `generator edit` or another name").format(sc_id=sc.id))
        s.repo.create(KIND, sc.id, sc)
    return sc


def _update(s: Session, ref: str, change) -> Scenario:
    return update_ref(s, KIND, ref, load, change)


def edit(s: Session, ref: str, spec: ScenarioSpec) -> Scenario:
    def change(sc: Scenario) -> bool:
        _apply(s, sc, spec)
        return True

    return _update(s, ref, change)


def pause(s: Session, ref: str) -> Scenario:
    return _update(s, ref, lambda sc: set_paused(s, sc, "generator", True))


def resume(s: Session, ref: str) -> Scenario:
    return _update(s, ref, lambda sc: set_paused(s, sc, "generator", False))


def delete(s: Session, ref: str) -> str:
    """Delete a scenario; the deals it created stay. A scenario a stage automation rule starts
    is refused until the rule goes (as a stage a rule names is)."""
    from dealcli.errors import RuleViolation, Violation

    scenario_id = s.repo.resolve(KIND, ref)
    rules = started_by(s, scenario_id)
    if rules:
        raise RuleViolation(Violation("linked", Text("generator {scenario_id!r} is started by stage automation rule(s) "
                                           "{rules}; remove them from the pipeline first",
                                                     scenario_id=scenario_id, rules=', '.join(rules)), "generator",
                                      scenario_id))
    return s.repo.remove_ref(KIND, scenario_id)


def summary(sc: Scenario) -> dict:
    action = []
    if sc.deal is not None:
        action.append("deal" + (f" in {sc.deal.get('pipeline')}" if sc.deal.get("pipeline") else ""))
    if sc.activity is not None:
        action.append(sc.activity.get("type") or "activity")
    birthday = any(x.split("=", 1)[0].strip() == "birthday_within" for x in sc.segment)
    return {"id": sc.id, "name": sc.name, "segment": " ".join(shlex.quote(x) for x in sc.segment),
            "clients": sc.client_mode(), "period": "birthday" if birthday and sc.period != "once" else sc.period,
            "action": " + ".join(action),
            "status": "paused" if sc.paused else "active"}


def listing(s: Session) -> list[dict]:
    out = []
    for sid in s.repo.ids(KIND):
        try:
            out.append(summary(load(s, sid)[0]))
        except NotFound:
            continue
        except DealcliError as exc:
            s.notice(i18n._("skipped {exc_message}").format(exc_message=exc.message))
    return out


def show(s: Session, ref: str) -> dict:
    sc, _ = resolve(s, ref)
    out = sc.to_dict()
    out["status"] = "paused" if sc.paused else "active"
    return out


# -- clients and their deals ---------------------------------------------------------------------
@dataclass
class Client:
    kind: str  # "company" | "contact"
    id: str
    record: dict
    deals: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.record.get("name") or self.id)


def local_day(value, tz) -> dt.date | None:
    from dealcli.query import as_datetime

    when = as_datetime(value, tz)
    return when.astimezone(tz).date() if when else None


def deal_day(record: dict, tz) -> dt.date | None:
    """When a deal last happened: its close, else its begin, else its creation."""
    for key in ("closed_at", "begin", "created"):
        if record.get(key):
            day = local_day(record[key], tz)
            if day:
                return day
    return None


def clients_of(s: Session, mode: str, records: list[dict] | None = None) -> dict[str, Client]:
    """Every client of `mode` (auto, companies, contacts) with its deals (plain records)."""
    out: dict[str, Client] = {}
    companies = {r["id"]: r for r in _records(s, "companies")}
    contacts = {r["id"]: r for r in _records(s, "contacts")}
    if mode in ("auto", "companies"):
        out.update({i: Client("company", i, r) for i, r in companies.items()})
    if mode in ("auto", "contacts"):
        for i, r in contacts.items():
            if mode == "contacts" or not r.get("company") or r.get("company") not in companies:
                out[i] = Client("contact", i, r)
    if records is None:
        errors: list = []
        records = [r for r in s.deal_records(errors) if isinstance(r, dict)]
        for exc in errors:
            s.notice(i18n._("skipped a corrupt deal file: {exc_message} (run `dealcli check`)").format(
                exc_message=exc.message))
    for r in records:
        for key in client_keys(r, mode):
            if key in out:
                out[key].deals.append(r)
    return out


def client_keys(record: dict, mode: str) -> list[str]:
    company = record.get("company")
    contacts = [c for c in record.get("contacts") or [] if isinstance(c, str)]
    if mode == "companies":
        return [company] if company else []
    if mode == "contacts":
        return contacts
    return [company] if company else contacts[:1]


def _records(s: Session, kind: str) -> list[dict]:
    errors: list = []
    rows = [data for _, data in s.repo.records(kind, errors) if isinstance(data, dict) and data.get("id")]
    for exc in errors:
        s.notice(i18n._("skipped {exc_message}").format(exc_message=exc.message))
    return rows


def next_birthday(birthday, today: dt.date) -> dt.date | None:
    """The birthday's next occurrence on or after `today` (29 February: 28 February in other years)."""
    from dealcli.query import as_date

    day = as_date(birthday)
    if day is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            occ = day.replace(year=year)
        except ValueError:
            occ = dt.date(year, 2, 28)
        if occ >= today:
            return occ
    return None


def builtin_days(b: Builtin, client: Client, today: dt.date, tz) -> int | None:
    """The number of days the built-in tests for this client (None: it cannot hold)."""
    if b.name == "birthday_within":
        if client.kind != "contact":
            return None
        occ = next_birthday(client.record.get("birthday"), today)
        return None if occ is None else (occ - today).days
    deals = client.deals
    if b.name == "last_won_days":
        days = [local_day(r.get("closed_at"), tz) for r in deals if r.get("status") == "won"]
        won = [d for d in days if d]
        return (today - max(won)).days if won else None
    if b.name == "lost_days":
        if any(r.get("status") == "open" for r in deals):
            return None
        closed = [(local_day(r.get("closed_at"), tz), r.get("status")) for r in deals
                  if r.get("status") in ("won", "lost")]
        closed = [c for c in closed if c[0]]
        if not closed:
            return None
        day, status = max(closed, key=lambda c: (c[0], c[1] == "lost"))
        return (today - day).days if status == "lost" and day else None
    if b.name == "no_deal_days":
        seen = [d for d in (deal_day(r, tz) for r in deals) if d]
        return (today - max(seen)).days if seen else None
    return None


def matches(seg: Segment, client: Client, today: dt.date, tz) -> bool:
    for pred in seg.client_preds:
        if not pred(client.record):
            return False
    if seg.deal_preds and not any(all(p(r) for p in seg.deal_preds) for r in client.deals):
        return False
    return all(b.holds(builtin_days(b, client, today, tz)) for b in seg.builtins)


def _has_open_from(client: Client, scenario_id: str, this_period: str) -> bool:
    """The client still has an open deal this scenario made in an earlier period."""
    for r in client.deals:
        mark = r.get("generator")
        if r.get("status") == "open" and isinstance(mark, dict) and mark.get("scenario") == scenario_id \
                and r.get("id") != this_period:
            return True
    return False


def last_deal(client: Client, tz) -> dict | None:
    """The client's latest won deal, else its latest deal."""
    def key(r):
        return (deal_day(r, tz) or dt.date.min, str(r.get("created") or ""), str(r.get("id")))

    won = [r for r in client.deals if r.get("status") == "won"]
    pool = won or client.deals
    return max(pool, key=key) if pool else None


# -- periods and ids -------------------------------------------------------------------------------
def period_key(period: str, day: dt.date) -> str:
    if period == "day":
        return f"{day:%Y%m%d}"
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}w{week:02d}"
    if period == "month":
        return f"{day:%Y%m}"
    if period == "quarter":
        return f"{day.year}q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return f"{day.year}"
    return "once"


def deal_id_for(scenario_id: str, client_id: str, key: str) -> str:
    return f"gen-{scenario_id}-{client_id}-{key}"


# -- run -----------------------------------------------------------------------------------------------
@dataclass
class Planned:
    scenario: Scenario
    client: Client
    period: str
    deal_id: str
    title: str
    last: dict | None
    target: str | None = None  # the deal the activity goes on (activity-only scenarios)
    done: str = ""  # created | exists | completed (its activity added) | planned (activity only)

    def row(self) -> dict:
        return {"generator": self.scenario.id, "client": self.client.id, "client_name": self.client.name,
                "period": self.period, "id": self.deal_id if self.scenario.deal is not None else self.target,
                "title": self.title, "result": self.done}


@dataclass
class RunResult:
    planned: list[Planned] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plan(s: Session, sc: Scenario, records: list[dict]) -> list[Planned]:
    """Who the scenario is for today, with the deal id each gets (nothing written)."""
    tz = s.now.tzinfo
    today = s.now.astimezone(tz).date()
    seg = compile_segment(s, sc.segment)
    mode = sc.client_mode()
    out = []
    birthday = next((b for b in seg.builtins if b.name == "birthday_within"), None)
    for client in sorted(clients_of(s, mode, records).values(), key=lambda c: c.id):
        if not matches(seg, client, today, tz):
            continue
        anchor = today
        if birthday is not None:
            anchor = next_birthday(client.record.get("birthday"), today) or today
        key = period_key("year" if birthday is not None and sc.period != "once" else sc.period, anchor)
        last = last_deal(client, tz)
        title_text = (sc.deal or {}).get("title") or DEFAULT_TITLE
        title = render_title(title_text, {"client": client.name, "scenario": sc.name, "period": key,
                                          "last_title": (last or {}).get("title")}, today)
        p = Planned(sc, client, key, deal_id_for(sc.id, client.id, key), title, last)
        if _has_open_from(client, sc.id, p.deal_id):
            continue
        if sc.deal is None:
            open_deals = [r for r in client.deals if r.get("status") == "open"]
            if not open_deals:
                continue  # an activity needs an open deal to go on
            p.target = str(max(open_deals, key=lambda r: (deal_day(r, tz) or dt.date.min, str(r.get("id"))))["id"])
        out.append(p)
    return out


def spec_for(s: Session, p: Planned):
    from dealcli import deals

    part = p.scenario.deal or {}
    last = p.last or {}
    client = p.client
    company = client.id if client.kind == "company" else (client.record.get("company") or last.get("company"))
    contacts = [client.id] if client.kind == "contact" else [str(c) for c in last.get("contacts") or []]
    contacts = [c for c in contacts if s.repo.exists("contacts", c)]
    if company and not s.repo.exists("companies", str(company)):
        company = None
    rows = []
    if part.get("copy_products", True):
        rows = [ProductRow.from_dict(r, ("products", i)) for i, r in enumerate(last.get("products") or [])
                if isinstance(r, dict)]
    responsible = part.get("responsible") or client.record.get("responsible") or last.get("responsible")
    return deals.DealSpec(
        title=p.title, company=company, contacts=contacts, product_rows=copy.deepcopy(rows),
        currency=last.get("currency") if rows else None,
        pipeline=part.get("pipeline"), stage=part.get("stage"), type=part.get("type"), source=part.get("source"),
        responsible=responsible,
        extra={"generator": {"scenario": p.scenario.id, "client": client.id, "period": p.period}},
    )


def _due(s: Session, text: str | None):
    from dealcli import activities

    return activities.parse_due(s, text)


def run(s: Session, dry_run: bool = False, only: list[str] | None = None) -> RunResult:
    """Run every active scenario (or those named in `only`). Holds the repository lock for the
    whole run; each deal and activity id is deterministic and written create-only."""
    result = RunResult()
    wanted = [s.repo.resolve(KIND, ref) for ref in only] if only else s.repo.ids(KIND)
    if dry_run:
        records = _deal_records(s)
        for sid in wanted:
            _run_one(s, sid, True, records, result)
        return result
    with s.repo.lock():
        records = _deal_records(s)
        for sid in wanted:
            _run_one(s, sid, False, records, result)
    return result


def _deal_records(s: Session) -> list[dict]:
    errors: list = []
    out = [r for r in s.deal_records(errors) if isinstance(r, dict)]
    for exc in errors:
        s.notice(i18n._("skipped a corrupt deal file: {exc_message} (run `dealcli check`)").format(
            exc_message=exc.message))
    return out


def _run_one(s: Session, sid: str, dry_run: bool, records: list[dict], result: RunResult) -> None:
    import contextlib

    try:
        sc, _ = load(s, sid)
    except NotFound:
        return
    except DealcliError as exc:
        result.problems.append(exc.message)
        return
    if sc.paused:
        return
    rel = s.repo.rel(s.repo.path(KIND, sid))
    try:
        planned = plan(s, sc, records)
    except DealcliError as exc:
        result.problems.append(f"{rel}: {exc.message}")
        return
    for p in planned:
        try:
            # the deal and its activity in one transaction: after a crash both or neither
            with contextlib.nullcontext() if dry_run else s.repo.transaction():
                _act(s, sc, p, dry_run)
            if p.done:
                result.planned.append(p)
        except DealcliError as exc:
            result.problems.append(f"{rel}: client {p.client.id} ({p.client.name}): {exc.message}")


def _act(s: Session, sc: Scenario, p: Planned, dry_run: bool) -> None:
    """Create what the scenario makes for one client (or, dry, say what it would)."""
    from dealcli import activities, deals

    target = p.target
    if sc.deal is not None:
        target = p.deal_id
        if s.repo.exists("deals", p.deal_id):
            p.done = "exists"
        elif dry_run:
            p.done = "would create"
        else:
            deals.add(s, spec_for(s, p), deal_id=p.deal_id, via=f"generator:{sc.id}")
            p.done = "created"
    activity_id = f"{p.deal_id}-a"
    if sc.activity is None or s.repo.exists("activities", activity_id):
        return
    if dry_run:
        p.done = p.done if sc.deal is not None else "would plan"
    elif target is not None and s.repo.exists("deals", target):
        act = sc.activity
        activities.add(s, target, act["type"], act["subject"], act.get("due"), activity_id=activity_id)
        # a deal whose activity is missing (a hand-deleted activity, an older run): completed
        p.done = {"exists": "completed", "": "planned"}.get(p.done, p.done)


# -- started by a stage automation rule (dealcli/automation.py) ---------------------------------------
def entry(s: Session, sc: Scenario) -> tuple[str, str] | None:
    """The (pipeline, stage) a scenario's deal enters; None without a deal (or a pipeline gone)."""
    if sc.deal is None:
        return None
    try:
        pipeline = s.pipeline(sc.deal.get("pipeline") or s.default_pipeline_id())
    except DealcliError:
        return None
    return pipeline.id, sc.deal.get("stage") or pipeline.first.id


def entries(s: Session) -> dict[str, tuple[str, str] | None]:
    """Every scenario id with the stage its deal enters (stage_rules.tunnel_problems' `scenarios`)."""
    out: dict[str, tuple[str, str] | None] = {}
    for sid in s.repo.ids(KIND):
        try:
            out[sid] = entry(s, load(s, sid)[0])
        except DealcliError:
            out[sid] = None  # an unreadable scenario still exists: `check` reports its file
    return out


def started_by(s: Session, scenario_id: str) -> list[str]:
    """The pipeline rules (`PIPELINE/RULE`) that start a scenario."""
    return [f"{p.id}/{r.id}" for p in s.all_pipelines(errors=[]).values() for r in p.automation
            if r.generator == scenario_id]


def _client_of_deal(s: Session, deal, mode: str) -> Client | None:
    """The client a scenario of `mode` sees in a deal: its company, else its first contact."""
    picks = {"companies": [("companies", deal.company)], "contacts": [("contacts", c) for c in deal.contacts[:1]],
             "auto": [("companies", deal.company)] + [("contacts", c) for c in deal.contacts[:1]]}[mode]
    for folder, record_id in picks:
        if record_id and s.repo.exists(folder, str(record_id)):
            data = s.repo.load(folder, str(record_id)).data
            return Client("company" if folder == "companies" else "contact", str(record_id),
                          data if isinstance(data, dict) else {})
    return None


@dataclass
class Started:
    """What a rule's start of a scenario did: `result` is created, exists, planned (an activity
    on the deal itself), paused or no client; `deal`/`activity` the ids made (or found)."""

    scenario: str
    result: str
    client: str | None = None
    deal: str | None = None
    activity: str | None = None
    title: str = ""


def start(s: Session, scenario_id: str, deal, rule_key: str) -> Started:
    """Start a scenario for the client of `deal` (a stage automation rule `rule_key`), inside the
    caller's transaction. The segment is not asked (the rule is the trigger); the scenario gives
    the action: its deal (with this deal's products, contacts and responsible standing for the
    client's latest deal) and/or its activity (on the new deal, or on this deal when the scenario
    makes none). Ids derive from the deal, the rule and the scenario, written create-only: a
    deal re-entering the stage, or a re-run, starts nothing twice."""
    from dealcli import activities, automation, deals

    sc, _ = load(s, scenario_id)
    if sc.paused:
        return Started(sc.id, "paused")
    client = _client_of_deal(s, deal, sc.client_mode())
    if client is None:
        return Started(sc.id, "no client")
    today = s.now.astimezone(s.tz).date()
    key = period_key(sc.period, today)
    last = deal.to_dict()
    title = render_title((sc.deal or {}).get("title") or DEFAULT_TITLE,
                         {"client": client.name, "scenario": sc.name, "period": key, "last_title": deal.title}, today)
    new_id = ids.derived_id(deal.id, rule_key, "generator", sc.id)
    done = Started(sc.id, "exists", client.id, title=title)
    act = sc.activity
    if sc.deal is None:  # the scenario's activity goes on the deal that entered the stage
        done.activity = f"{new_id}-a"
        if act is not None and not s.repo.exists("activities", done.activity):
            done.result = "planned"
            automation.plan_activity(s, done.activity, deal, act["type"], act["subject"],
                                     activities.parse_due(s, act.get("due")), None, None)
        return done
    done.deal = new_id
    if not s.repo.exists("deals", new_id):
        p = Planned(sc, client, key, new_id, title, last)
        spec = spec_for(s, p)
        spec.extra["generator"].update({"deal": deal.id, "rule": rule_key})
        deals.add(s, spec, deal_id=new_id, via=f"generator:{sc.id}")
        done.result = "created"
    if act is not None:
        done.activity = f"{new_id}-a"
        if not s.repo.exists("activities", done.activity):
            activities.add(s, new_id, act["type"], act["subject"], act.get("due"), activity_id=done.activity)
    return done
