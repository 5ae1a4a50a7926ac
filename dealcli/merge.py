"""Three-way merge of dealcli records: what `dealcli merge-file` (git's merge driver) does.

Every record is a mapping, so the merge is structural, key by key (see docs/git.md):
- event lists (`comments`, `history`, `conflicts`, any list of mappings carrying `at`) are
  united by identity (the whole event) and ordered by time, stable for equal times;
- lists of mappings are merged item by item by their identity: the key kinds.py declares for
  the list (a deal's product rows by `product`, pipeline stages by `id`), else `id`;
- rights in dealcli.yaml (kinds.RIGHTS: a user's roles, department, e-mails; a role's grants)
  changed on both sides are left to a person (`Context.person`), never united;
- lists of plain values (contacts, e-mails) are merged as sets: additions of both sides kept,
  removals of either side applied;
- nested mappings (custom fields, settings) are merged key by key;
- a value changed on one side takes that side; changed on both sides to different values, the
  later change wins (by the time of the side's history event for that field, else the side's
  `modified`), ties broken by author and then by value so every clone decides the same; the
  losing value is kept in a `conflict` history event and, for deals, in the `conflicts:` list
  until someone resolves it;
- deleted on one side and changed on the other: the change is kept (and said so);
- a deal's stage, status, pipeline and closed_at move together: when both sides changed them,
  the loser's state is taken and the winner's stage reached through stage_rules.transition,
  so status, closed_at and history agree; `modified` is the later one.

Nothing here touches the disk; `merge_texts` works on the bytes git hands over."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from dealcli import i18n

if TYPE_CHECKING:
    from dealcli.model import Pipeline

MISSING = object()
EVENT_KEYS = ("comments", "history", "conflicts")
STATE = ("pipeline", "stage", "status", "closed_at")
STAGE_EVENTS = ("created", "moved", "closed", "reopened", "pipeline_changed")
MERGER = "dealcli merge"


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _eq(a, b) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return _key(a) == _key(b)


def when(text) -> dt.datetime | None:
    """An event's or record's time (ISO text) as an aware datetime, None when it has none."""
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, str) and text:
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


def _sort_time(item) -> dt.datetime:
    return (when(item.get("at")) if isinstance(item, dict) else None) or _EPOCH


def ordered(events: list) -> list:
    """Events by time, stable for equal times (the order they were recorded in)."""
    return sorted((e for e in events if isinstance(e, dict)), key=_sort_time)


@dataclass
class Conflict:
    """A value both sides changed differently: `kept` won, `other` lost."""

    path: str
    kept: object
    other: object
    kept_by: str | None
    other_by: str | None
    kept_at: str | None
    other_at: str | None

    def as_record(self) -> dict:
        return {"field": self.path, "kept": self.kept, "kept_by": self.kept_by, "kept_at": self.kept_at,
                "other": self.other, "other_by": self.other_by, "other_at": self.other_at}


@dataclass
class Context:
    """What one merge needs to decide: the three versions (for the time of each side's changes)
    and what it found (conflicts, notes for stderr)."""

    base: dict
    ours: dict
    theirs: dict
    kind: str = ""
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    person: list[str] = field(default_factory=list)  # paths only a person may decide (rights)

    def new_events(self, side: dict) -> list[dict]:
        seen = {_key(e) for e in _as_list(self.base.get("history"))}
        return [e for e in _as_list(side.get("history")) if isinstance(e, dict) and _key(e) not in seen]

    def change_of(self, side: dict, path: str) -> tuple[str | None, str | None]:
        """(time, author) of `side`'s last change of `path`: its history event for that field
        (stage events for the state), else its newest event, else its `modified`."""
        events = self.new_events(side)
        top = path.split(".")[0]
        if top in STATE:
            mine = [e for e in events if e.get("kind") in STAGE_EVENTS]
        else:
            mine = [e for e in events if e.get("kind") == "changed" and e.get("field") == path]
        mine = mine or events
        if mine:
            last = max(mine, key=_sort_time)
            return _text(last.get("at")), _text(last.get("by"))
        return _text(side.get("modified") or side.get("updated")), None

    def decide(self, path: str, ours, theirs) -> tuple[bool, Conflict]:
        """Who wins a value both sides changed: the later change, then author, then value (the
        same answer whichever side is `ours`). Returns (ours won, the conflict)."""
        o_at, o_by = self.change_of(self.ours, path)
        t_at, t_by = self.change_of(self.theirs, path)
        o_rank = (when(o_at) or _EPOCH, o_by or "", _key(ours))
        t_rank = (when(t_at) or _EPOCH, t_by or "", _key(theirs))
        if o_rank >= t_rank:
            return True, Conflict(path, ours, theirs, o_by, t_by, o_at, t_at)
        return False, Conflict(path, theirs, ours, t_by, o_by, t_at, o_at)

    def conflict(self, path: str, ours, theirs):
        _, c = self.decide(path, ours, theirs)
        self.conflicts.append(c)
        return c.kept


def _text(value) -> str | None:
    return None if value is None else str(value)


def _as_list(value) -> list:
    return value if isinstance(value, list) else []


# -- the generic merge ------------------------------------------------------------------------------
def merge_value(base, ours, theirs, path: str, ctx: Context, key: str = ""):
    if _eq(ours, theirs):
        return ours
    if isinstance(ours, list) and isinstance(theirs, list) and _is_event_list(key, base, ours, theirs):
        return merge_events(_as_list(base), ours, theirs)
    if _eq(ours, base):
        return theirs
    if _eq(theirs, base):
        return ours
    if _is_right(ctx.kind, path) and not (isinstance(ours, dict) and isinstance(theirs, dict)):
        ctx.person.append(path)  # (a user or role changed on both sides: merged key by key, below)
        return ours
    if ours is MISSING or theirs is MISSING:
        kept = theirs if ours is MISSING else ours
        ctx.notes.append(f"{path}: removed on one side and changed on the other; kept the change")
        return kept
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return merge_dict(base if isinstance(base, dict) else {}, ours, theirs, path, ctx)
    if isinstance(ours, list) and isinstance(theirs, list):
        b = _as_list(base)
        ident = _identity(ctx.kind, path)
        if _keyed(b, ident) and _keyed(ours, ident) and _keyed(theirs, ident) and (b or ours or theirs):
            return _merge_keyed(b, ours, theirs, path, ctx, ident)
        if all(_scalar(v) for v in b + ours + theirs):
            return _merge_set(b, ours, theirs)
    return ctx.conflict(path, ours, theirs)


def merge_dict(base: dict, ours: dict, theirs: dict, path: str, ctx: Context) -> dict:
    out = {}
    for k in list(ours) + [k for k in theirs if k not in ours]:
        value = merge_value(base.get(k, MISSING), ours.get(k, MISSING), theirs.get(k, MISSING),
                            f"{path}.{k}" if path else str(k), ctx, str(k))
        if value is not MISSING:
            out[k] = value
    return out


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) or type(value).__name__ == "Decimal"


def _identity(kind: str, path: str) -> str:
    """The key that identifies the items of the list at `path` (kinds.py), else `id`."""
    from dealcli.kinds import BY_FOLDER

    k = BY_FOLDER.get(kind)
    return (k.identity.get(path) if k else None) or "id"


def _is_right(kind: str, path: str) -> bool:
    from dealcli.kinds import RIGHTS

    parts = path.split(".")
    return kind == "config" and any(len(r) == len(parts) and all(a in ("*", b) for a, b in zip(r, parts, strict=True))
                                    for r in RIGHTS)


def _item_key(item: dict, ident: str) -> str:
    """An item's identity: its `ident` value; an item without one (a product row typed as
    NAME:PRICE) is identified by its whole content."""
    value = item.get(ident)
    return f"{ident}={value}" if value not in (None, "") else _key(item)


def _keyed(items: list, ident: str = "id") -> bool:
    """Items that a keyed merge can take: mappings whose identities are unique in the list (for
    `id`, every item must have one)."""
    if not all(isinstance(i, dict) for i in items):
        return False
    if ident == "id" and any(i.get("id") in (None, "") for i in items):
        return False
    keys = [_item_key(i, ident) for i in items]
    return len(set(keys)) == len(keys)


def _is_event_list(key: str, base, ours: list, theirs: list) -> bool:
    items = _as_list(base) + ours + theirs
    if key in EVENT_KEYS:
        return all(isinstance(i, dict) for i in items)
    return bool(items) and all(isinstance(i, dict) and "at" in i and "id" not in i for i in items)


def merge_events(base: list, ours: list, theirs: list) -> list:
    """Union by identity, ordered by time (stable: base order, then ours, then theirs). An
    event one side removed (a resolved conflict entry) stays removed."""
    base_keys = {_key(e) for e in base}
    removed = {k for k in base_keys if k not in {_key(e) for e in ours}} | \
              {k for k in base_keys if k not in {_key(e) for e in theirs}}
    out, seen = [], set()
    for e in list(base) + list(ours) + list(theirs):
        k = _key(e)
        if k in seen or k in removed:
            continue
        seen.add(k)
        out.append(e)
    return sorted(out, key=_sort_time)


def _merge_set(base: list, ours: list, theirs: list) -> list:
    gone = {_key(v) for v in base} - {_key(v) for v in ours} | ({_key(v) for v in base} - {_key(v) for v in theirs})
    out, seen = [], set()
    for v in ours + theirs:
        k = _key(v)
        if k not in seen and k not in gone:
            seen.add(k)
            out.append(v)
    return out


def _merge_keyed(base: list, ours: list, theirs: list, path: str, ctx: Context, ident: str = "id") -> list:
    """Items by identity (pipeline stages by id, product rows by product): each merged on its own;
    an item removed on one side and unchanged on the other is removed; order: ours, with theirs'
    new items after the item that precedes them on their side."""
    key = lambda i: _item_key(i, ident)  # noqa: E731
    b = {key(i): i for i in base}
    o = {key(i): i for i in ours}
    t = {key(i): i for i in theirs}
    order = [key(i) for i in ours]
    for n, item in enumerate(theirs):
        if key(item) in order or key(item) in b:
            continue
        prev = key(theirs[n - 1]) if n else None
        order.insert(order.index(prev) + 1 if prev in order else 0, key(item))
    for item_id in [i for i in b if i not in o and i in t]:
        if item_id not in order:
            order.append(item_id)
    out: list[Any] = []
    for item_id in order:
        label = item_id.split("=", 1)[1] if item_id.startswith(f"{ident}=") else str(len(out))
        value = merge_value(b.get(item_id, MISSING), o.get(item_id, MISSING), t.get(item_id, MISSING),
                            f"{path}.{label}", ctx)
        if value is not MISSING:
            out.append(value)
    return out


# -- deals -------------------------------------------------------------------------------------------
PipelineLoader = Callable[[str], "Pipeline | None"]  # pipeline id -> model.Pipeline or None


def merge_deal(base: dict, ours: dict, theirs: dict, ctx: Context, pipelines: PipelineLoader,
               user: str = MERGER) -> dict:
    state = _merge_state(base, ours, theirs, ctx)
    strip = STATE + ("modified",) + (("probability",) if state["winner"] is not None else ())
    derived = not ours.get("manual_amount") and not theirs.get("manual_amount") and \
        any(_as_list(d.get("products")) for d in (base, ours, theirs))
    if derived:  # the sum of the merged rows, not a value of either side
        strip += ("amount",)
    merged = merge_dict({k: v for k, v in base.items() if k not in strip},
                        {k: v for k, v in ours.items() if k not in strip},
                        {k: v for k, v in theirs.items() if k not in strip}, "", ctx)
    merged.update(state["values"])
    if derived and "amount" in ours:
        merged["amount"] = _rows_total(merged, ours)
    times = [when(ours.get("modified")), when(theirs.get("modified"))]
    later = max((t for t in times if t), default=None)
    merged["modified"] = ours.get("modified") if later is None or later == times[0] else theirs.get("modified")
    out = {k: merged[k] for k in ours if k in merged}  # ours' key order, then new keys
    out.update({k: v for k, v in merged.items() if k not in out})
    if state["winner"] is not None:
        out = _reach_stage(out, state, ctx, pipelines)
    out = _note_edits_after_close(out)
    if ctx.conflicts:
        out = _record_conflicts(out, ctx, user)
    return out


def _rows_total(merged: dict, ours: dict):
    """The amount of a deal whose amount is the sum of its rows, from the merged rows (ours'
    amount when the rows cannot be read)."""
    from dealcli.errors import DealcliError
    from dealcli.model import Deal

    try:
        deal = Deal.from_dict({**merged, "amount": ours.get("amount")})
        deal.recompute_amount()
        return deal.to_dict().get("amount", ours.get("amount"))
    except (DealcliError, ValueError, TypeError):
        return ours.get("amount")


def _merge_state(base: dict, ours: dict, theirs: dict, ctx: Context) -> dict:
    pick = lambda d: {k: d.get(k) for k in STATE if k in d}  # noqa: E731
    o_changed = not _eq(pick(ours), pick(base))
    t_changed = not _eq(pick(theirs), pick(base))
    if not t_changed or _eq(pick(ours), pick(theirs)):
        return {"values": pick(ours), "winner": None}
    if not o_changed:
        return {"values": pick(theirs), "winner": None}
    ours_won, c = ctx.decide("stage", ours.get("stage"), theirs.get("stage"))
    win_side, lose_side = (ours, theirs) if ours_won else (theirs, ours)
    values = pick(lose_side)
    if "probability" in lose_side:
        values["probability"] = lose_side["probability"]
    return {"values": values, "winner": win_side, "conflict": c}


def _reach_stage(out: dict, state: dict, ctx: Context, pipelines: PipelineLoader) -> dict:
    """Both sides changed the stage: from the loser's state, make the winner's stage change
    through stage_rules.transition; if the rules refuse it (or the pipeline is unreadable),
    take the winner's state as it is. Either way the conflict is recorded."""
    from dealcli import stage_rules, timeutil
    from dealcli.errors import FieldError
    from dealcli.model import Deal

    win = state["winner"]
    c: Conflict = state["conflict"]
    ctx.conflicts.append(c)
    target_pipeline = win.get("pipeline")
    pipeline = target = None
    try:
        deal = Deal.from_dict(out)
        pipeline = pipelines(str(deal.pipeline))
        target = pipelines(str(target_pipeline)) if target_pipeline != deal.pipeline else None
    except FieldError:
        pipeline = None
    if pipeline is not None and (target_pipeline == deal.pipeline or target is not None):
        at, by = c.kept_at, c.kept_by or MERGER
        goal = str(win.get("stage"))
        goal_stage = (target or pipeline).stage(goal)
        steps: list = []
        if goal_stage is not None:
            if deal.is_closed:
                back = goal if goal_stage.semantics == "process" and target is None else None
                steps.append(("reopen", back, {}))
            steps.append(("move", goal, {"target": target, "reason": win.get("lost_reason")}))
        ok = bool(steps)
        # the winner's own events of that change are made again from the loser's state below
        redo = {_key(e) for e in ctx.new_events(win) if e.get("kind") in STAGE_EVENTS and e.get("at") == at}
        deal.history = [e for e in deal.history if _key(e) not in redo]
        for verb, stage_id, kw in steps:
            if verb == "move" and deal.stage == goal and target is None:
                continue
            t = stage_rules.transition(deal, pipeline, stage_id, verb, now=when(at) or _EPOCH,
                                       closed_at=when(win.get("closed_at")), **kw)
            if t.violations:
                ok = False
                break
            for name, value in t.changes.items():
                setattr(deal, name, value)
            for kind, data in t.events:
                ev = {"at": at, "by": by, "kind": kind}
                ev.update({k: (timeutil.iso(v) if hasattr(v, "isoformat") else v) for k, v in data.items()})
                deal.history.append(ev)
        if ok and deal.stage == goal:
            done = deal.to_dict()
            result = dict(out)
            for k in STATE + ("history", "probability", "lost_reason"):
                result[k] = done.get(k)
            return result
    ctx.notes.append(f"stage: the rules refused reaching {win.get('stage')!r} from {out.get('stage')!r}; "
                     "took that side's stage as it was")
    for k in STATE + ("probability",):
        if k in win:
            out[k] = win[k]
    return out


def _note_edits_after_close(out: dict) -> dict:
    """Field changes one side made while the other had closed the deal (by time): keep them and
    say so with a `merged` event, which `check` accepts as their explanation."""
    late = edits_after_close(out.get("history"))
    if not late:
        return out
    history = list(_as_list(out.get("history")))
    last = max((_sort_time(e) for e in history), default=_EPOCH)
    history.append({"at": last.isoformat() if last is not _EPOCH else None, "by": MERGER, "kind": "merged",
                    "fields": sorted({e.get("field") for e in late if e.get("field")}),
                    "note": "changed on one clone while another had closed the deal; kept"})
    out = dict(out)
    out["history"] = history
    return out


ALLOWED_WHILE_CLOSED = ("commented", "reopened", "closed", "moved", "pipeline_changed", "conflict", "merged",
                        "resolved", "created", "relinked", "automation", "corrected")


def edits_after_close(history) -> list[dict]:
    """The `changed` events made while the deal was closed (history by time), minus those a
    later `merged` event explains."""
    closed = False
    pending: list[dict] = []
    for e in sorted((e for e in _as_list(history) if isinstance(e, dict)), key=_sort_time):
        kind = e.get("kind")
        if kind == "closed":
            closed = True
        elif kind == "reopened":
            closed = False
        elif kind == "merged":
            fields = set(_as_list(e.get("fields")))
            pending = [p for p in pending if p.get("field") not in fields]
        elif closed and kind not in ALLOWED_WHILE_CLOSED and not e.get("rule"):  # a rule: part of the close
            pending.append(e)
    return pending


def _record_conflicts(out: dict, ctx: Context, user: str) -> dict:
    out = dict(out)
    history = list(_as_list(out.get("history")))
    conflicts = list(_as_list(out.get("conflicts")))
    for c in ctx.conflicts:
        at = max((t for t in (c.kept_at, c.other_at) if when(t)), key=lambda t: when(t) or _EPOCH, default=None)
        history.append({"at": at, "by": user, "kind": "conflict", "field": c.path, "kept": c.kept,
                        "kept_by": c.kept_by, "other": c.other, "other_by": c.other_by})
        record = c.as_record()
        record["at"] = at
        if _key(record) not in {_key(x) for x in conflicts}:
            conflicts.append(record)
    out["history"] = sorted(history, key=_sort_time)
    out["conflicts"] = conflicts
    return out


# -- whole files ---------------------------------------------------------------------------------------
def merge_records(kind: str, base, ours, theirs, pipelines: PipelineLoader | None = None,
                  user: str = MERGER) -> tuple[dict, Context]:
    """Merge three versions of a record (`base` None or {} for an add/add)."""
    base = base if isinstance(base, dict) else {}
    if not base:
        ours, theirs = _one_creation(ours, theirs)
    ctx = Context(base, ours, theirs, kind)
    if kind == "deals":
        out = merge_deal(base, ours, theirs, ctx, pipelines or (lambda _id: None), user)
    else:
        out = merge_dict(base, ours, theirs, "", ctx)
        out = _stamp_later(out, ours, theirs)
        if ctx.conflicts and kind not in ("config", "pipelines"):
            out = dict(out)
            conflicts = list(_as_list(out.get("conflicts")))
            for c in ctx.conflicts:
                record = c.as_record()
                record["at"] = max((t for t in (c.kept_at, c.other_at) if when(t)), key=lambda t: when(t) or _EPOCH,
                                   default=None)
                conflicts.append(record)
            out["conflicts"] = conflicts
    return out, ctx


def _one_creation(ours: dict, theirs: dict) -> tuple[dict, dict]:
    """Both sides created the same record (an add/add: a recurring occurrence made on two
    clones has the same id): the earlier creation is the record's creation. Its `created`,
    `created_by` and `created` event are taken; the later side's are dropped, its other
    changes merge as usual."""
    o, t = when(ours.get("created")), when(theirs.get("created"))
    if o is None or t is None or (o, _key(ours.get("created_by"))) == (t, _key(theirs.get("created_by"))):
        return ours, theirs
    first, later = (ours, theirs) if (o, _key(ours.get("created_by"))) <= (t, _key(theirs.get("created_by"))) \
        else (theirs, ours)
    fixed = dict(later)
    for key in ("created", "created_by"):
        if key in first:
            fixed[key] = first[key]
    if isinstance(later.get("history"), list):
        firsts = [e for e in _as_list(first.get("history")) if isinstance(e, dict) and e.get("kind") == "created"]
        if firsts:
            fixed["history"] = [e for e in later["history"] if not (isinstance(e, dict) and e.get("kind") == "created")]
            fixed["history"] = firsts[:1] + [e for e in fixed["history"] if _key(e) != _key(firsts[0])]
    return (ours, fixed) if first is ours else (fixed, theirs)


def _stamp_later(out: dict, ours: dict, theirs: dict) -> dict:
    for key in ("modified", "updated"):
        if key in ours and key in theirs and ours[key] != theirs[key]:
            o, t = when(ours[key]), when(theirs[key])
            out[key] = ours[key] if (o or _EPOCH) >= (t or _EPOCH) else theirs[key]
    return out


def kind_of(path: str) -> str | None:
    """The record kind of a repository path (None: not a record file)."""
    from pathlib import PurePath

    from dealcli.storage.layout import CONFIG_NAME, record_at_end

    p = PurePath(path)
    if p.name == CONFIG_NAME:
        return "config"
    found = record_at_end(p.as_posix())  # flat or sharded (deals/ab/<id>.yaml)
    return found[0] if found is not None else None


def merge_texts(path: str, base: bytes, ours: bytes, theirs: bytes,
                pipelines: PipelineLoader | None = None) -> tuple[bytes, Context]:
    """Merge three versions of the record file at `path` (raises CorruptData when one of them
    is not a readable record: the caller falls back to a textual merge)."""
    from dealcli.errors import CorruptData
    from dealcli.storage import yamlcodec

    kind = kind_of(path)
    if kind is None:
        raise CorruptData(path, i18n._("not a dealcli record file"))
    docs = []
    for name, raw in (("base", base), ("ours", ours), ("theirs", theirs)):
        data = yamlcodec.loads(raw, f"{path} ({name})") if raw.strip() else {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise CorruptData(f"{path} ({name})", i18n._("expected a mapping at the top level"), 1)
        docs.append(data)
    if not docs[1] or not docs[2]:
        raise CorruptData(path, i18n._("one side is empty"))
    out, ctx = merge_records(kind, docs[0], docs[1], docs[2], pipelines)
    return yamlcodec.dumps(out).encode(), ctx
