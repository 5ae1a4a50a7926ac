"""The past from history: a deal record as it was at a moment (`--as-of`), the stays of a deal
in its stages (for the funnel and the time in stage), and a read-only Session whose deal
records are those of the past.

A deal's history is append-only (see deals.py): `created {stage, pipeline}`, `moved {from, to}`,
`closed {status, stage, reason?}`, `reopened {from, to}`, `pipeline_changed {from, to}`,
`changed {field, old, new}` and `commented {text}`, each with `at` and `by`. The record as it
was at moment T is the record of today with every event after T undone, newest first:

- moved / reopened: the stage goes back to `from`; closed: the status back to open (reopened:
  back to the status of the close it undid) with closed_at and lost_reason of that time;
  pipeline_changed: the pipeline back to `from`; changed: the field back to `old`;
  commented: the comment is dropped; the history and `modified` end at T.
- A deal created after T did not exist yet and is left out.

What history cannot tell (documented in docs/reports.md): product rows (a `changed products`
event holds only the number of rows; the amount is exact, its own changes are recorded),
a probability given by hand at creation or carried over a move (after an undone stage change
the probability is the last recorded one: the stage's probability on entering it, or a later
`changed probability`), deleted deals (gone with their history), renamed or recoloured stages
(shown with today's pipeline definition), activities' own edits, and anything before the
first event of a deal written by hand without history. An imported deal's history starts at
its source's `created` (and closes at its source's close time), see importing.source_history.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from dealcli import query, stage_rules

STAGE_EVENTS = ("created", "moved", "reopened", "closed", "pipeline_changed")


def at(event: dict, tz) -> dt.datetime | None:
    return query.as_datetime(event.get("at"), tz) if isinstance(event, dict) else None


def history(record: dict) -> list[dict]:
    h = record.get("history")
    return [e for e in h if isinstance(e, dict)] if isinstance(h, list) else []


def _created_at(record: dict, tz) -> dt.datetime | None:
    for e in history(record):
        if e.get("kind") == "created":
            return at(e, tz)
    return query.as_datetime(record.get("created"), tz)


def _status_of(pipelines: dict, pipeline_id, stage_id) -> str | None:
    p = pipelines.get(str(pipeline_id))
    st = p.stage(str(stage_id)) if p else None
    return stage_rules.status_for(st) if st else None


def _stage_probability(pipelines: dict, pipeline_id, stage_id):
    p = pipelines.get(str(pipeline_id))
    st = p.stage(str(stage_id)) if p else None
    return st.probability if st else None


def rebuild(record: dict, when: dt.datetime, pipelines: dict, tz) -> dict | None:
    """The record as it was at `when`, or None when the deal did not exist yet."""
    created = _created_at(record, tz)
    if created is not None and created > when:
        return None
    events = history(record)
    later = [i for i, e in enumerate(events) if (at(e, tz) or when) > when]
    if not later:
        return record
    r = copy.deepcopy(record)
    stage_touched = False
    for i in reversed(later):
        e = events[i]
        kind = e.get("kind")
        if kind == "moved":
            r["stage"] = e.get("from")
            stage_touched = True
        elif kind == "reopened":
            r["stage"] = e.get("from")
            closing = _last(events[:i], "closed")
            r["status"] = (closing or {}).get("status") or _status_of(pipelines, r.get("pipeline"), e.get("from")) \
                or "lost"
            r["closed_at"] = (closing or {}).get("at")
            stage_touched = True
        elif kind == "closed":
            r["status"] = "open"
            r["closed_at"] = None
            if e.get("reason") is not None and r.get("lost_reason") == e.get("reason"):
                r["lost_reason"] = _reason_before(events[:i])
            stage_touched = True
        elif kind == "pipeline_changed":
            r["pipeline"] = e.get("from")
            stage_touched = True
        elif kind == "changed":
            _undo_change(r, str(e.get("field") or ""), e.get("old"))
    if isinstance(r.get("comments"), list):
        r["comments"] = [c for c in r["comments"]
                         if not isinstance(c, dict) or (query.as_datetime(c.get("at"), tz) or when) <= when]
    gone = set(later)
    kept = [e for i, e in enumerate(events) if i not in gone]
    r["history"] = kept
    r["modified"] = kept[-1].get("at") if kept else record.get("created")
    if stage_touched:
        r["probability"] = _probability_then(kept, r, pipelines)
    return r


def _last(events: list[dict], kind: str) -> dict | None:
    for e in reversed(events):
        if e.get("kind") == kind:
            return e
    return None


def _reason_before(events: list[dict]):
    """lost_reason before a close: the last recorded change of it, else none."""
    for e in reversed(events):
        if e.get("kind") == "changed" and e.get("field") == "lost_reason":
            return e.get("new")
        if e.get("kind") == "closed" and e.get("reason") is not None:
            return e.get("reason")
    return None


def _undo_change(r: dict, name: str, old) -> None:
    if name == "products":
        return  # only the number of rows is recorded; the rows stay as they are today
    if name.startswith("fields."):
        fields = dict(r.get("fields") or {})
        if old is None:
            fields.pop(name[7:], None)
        else:
            fields[name[7:]] = old
        r["fields"] = fields
        return
    if name == "amount":
        n = query.as_number(old)
        r["amount"] = Decimal(n) if n is not None else old
    elif name == "probability":
        n = query.as_number(old)
        r["probability"] = int(n) if n is not None else old
    else:
        r[name] = old


def _probability_then(kept: list[dict], r: dict, pipelines: dict):
    """The probability after an undone stage change: the later of the last recorded probability
    edit and the last stage entered (its stage probability); else the stage's."""
    for e in reversed(kept):
        kind = e.get("kind")
        if kind == "changed" and e.get("field") == "probability":
            n = query.as_number(e.get("new"))
            return int(n) if n is not None else None
        if kind in ("moved", "reopened", "created"):
            break
    prob = _stage_probability(pipelines, r.get("pipeline"), r.get("stage"))
    return prob if prob is not None else r.get("probability")


# -- stays: where a deal was, from when to when ----------------------------------------------------
def stays(record: dict, tz) -> list[dict]:
    """The deal's stays in its stages, in order: {pipeline, stage, start, end} (end None for the
    stage it is in now). Built forward from the history: `created` gives the first stage (else
    today's stage with every stage event undone), moved/reopened start a new stay,
    pipeline_changed changes the pipeline (at the move that comes with it)."""
    events = [e for e in history(record) if e.get("kind") in STAGE_EVENTS]
    start = _created_at(record, tz)
    first = events[0] if events and events[0].get("kind") == "created" else None
    if first is not None:
        pipeline, stage = first.get("pipeline") or record.get("pipeline"), first.get("stage")
        start = at(first, tz) or start
    else:
        pipeline, stage = record.get("pipeline"), record.get("stage")
        for e in reversed(events):
            if e.get("kind") in ("moved", "reopened"):
                stage = e.get("from")
            elif e.get("kind") == "pipeline_changed":
                pipeline = e.get("from")
    out: list[dict] = []
    pending = None
    for i, e in enumerate(events):
        kind, when = e.get("kind"), at(e, tz)
        if kind in ("moved", "reopened"):
            out.append({"pipeline": pipeline, "stage": stage, "start": start, "end": when})
            pipeline, stage, start, pending = (pending or pipeline), e.get("to"), when, None
        elif kind == "pipeline_changed":
            nxt = events[i + 1] if i + 1 < len(events) else None
            if nxt is not None and nxt.get("kind") == "moved" and nxt.get("at") == e.get("at"):
                pending = e.get("to")
            else:
                out.append({"pipeline": pipeline, "stage": stage, "start": start, "end": when})
                pipeline, start = e.get("to"), when
    out.append({"pipeline": pipeline, "stage": stage, "start": start, "end": None})
    return [{**x, "pipeline": str(x["pipeline"]), "stage": str(x["stage"])} for x in out]


def closed_at(record: dict, tz) -> dt.datetime | None:
    return query.as_datetime(record.get("closed_at"), tz) if record.get("status") not in (None, "open") else None


# -- the session of the past ------------------------------------------------------------------------
def parse_as_of(s, text: str) -> dt.datetime:
    """--as-of DATE: a day alone means the end of that day (23:59:59; today: now); relative
    forms (-30d, yesterday) are read against --now. A moment after now is a usage error."""
    from dealcli import timeutil
    from dealcli.errors import UsageError

    try:
        value, has_time = timeutil.parse_datetime(text, s.now, s.date_order)
    except timeutil.DateError as exc:
        raise UsageError.about("as_of", "{0}: {problem}", problem=str(exc)) from None
    if not has_time:
        value = value.replace(hour=23, minute=59, second=59, microsecond=0)
    if value > s.now:
        if has_time or value.date() > s.now.date():
            raise UsageError.about("as_of", "{0} {text!r}: {value} is after now ({now}); the past only", text=text,
                                   value=value.isoformat(), now=s.now.isoformat())
        value = s.now  # today: as of now
    return value


class PastSession:
    """A read-only view of a Session at moment `as_of`: `now` is that moment (so relative dates
    in filters are read against it) and the deal records are rebuilt from their history.
    Everything else (repository, pipelines, settings, notices) is the real session's."""

    def __init__(self, base, as_of: dt.datetime):
        self._base = base
        self.now = as_of
        self.as_of = as_of

    def __getattr__(self, name):
        return getattr(self._base, name)

    def deal_records(self, errors: list | None = None, where=None, keys=None):
        # `where` (conditions pushed down by query.py) describes the deals as they are NOW: it
        # must not narrow the past, so every deal is read and rebuilt (a valid answer to a hint);
        # `keys` likewise: rebuilding the past reads the history
        pipelines = self._base.all_pipelines([])
        tz = self.now.tzinfo
        for r in self._base.deal_records(errors):
            if isinstance(r, dict):
                past = rebuild(r, self.as_of, pipelines, tz)
                if past is not None:
                    yield past

    def iter_deals(self, errors: list | None = None):
        from dealcli.model import Deal

        for r in self.deal_records(errors):
            yield Deal.from_dict(r)

    def save_deal(self, *a, **kw):  # pragma: no cover - a guard, no command writes in the past
        raise RuntimeError("the past is read-only")


def session(s, as_of_text: str | None):
    """The session to read from: `s` itself, or the past at --as-of."""
    return PastSession(s, parse_as_of(s, as_of_text)) if as_of_text else s
