"""`dealcli report`: the numbers a sales head asks for, computed from the deal records (and their
history) of a Session, today's or the past one of `--as-of` (asof.PastSession). Pure data: the
terminal charts are in views/report.py, the HTML page in views/html.py.

Sections (keys of the report mapping, also the --section names):

funnel         per pipeline, per process stage and the success stage: `reached` (deals that got
               at least this far: a deal counts for every process stage up to the furthest one
               its history shows it in, and a won deal for all of them, even when it skipped
               stages), `entered` (deals the history shows in the stage itself), `in_stage`
               (deals in it now: open ones, won ones for the success stage), `lost` (lost deals whose
               furthest stage it was), `conversion`
               (% of the previous stage's reached) and `of_first` (% of the first stage's).
win_rate       per pipeline and overall: open, won, lost and won / (won + lost) in %.
lost_reasons   lost deals by lost_reason: count and share of the lost deals.
stage_time     per pipeline and process stage: the stays that ended (the deal left the stage)
               and their average length in days; the current stays of open deals are not counted.
time_to_close  per pipeline, won and lost: deals and the average days from creation to close.
won_revenue    won amount per currency by close month, responsible, company and product
               (product: the won deals' product row totals; deals without rows under none).
forecast       open deals by expected close month (close_date) and currency: count, amount,
               weighted amount (amount x probability, the deal's else its stage's).
repeat_sales   first sales against repeat sales (`repeat: true`: the client had a won deal when the
               deal was made), per currency: open, won and lost deals, won amount, the share of the
               won amount and the win rate.
activities     per responsible person: activities planned, done, pending, overdue, and per type.

Percentages and days are Decimal with one decimal place; money is Decimal (exact text in JSON).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from dealcli import asof, query, timeutil
from dealcli.errors import UsageError
from dealcli import i18n

SECTIONS = ("funnel", "win_rate", "lost_reasons", "stage_time", "time_to_close", "won_revenue", "forecast",
            "repeat_sales", "activities")
REVENUE_GROUPS = ("month", "responsible", "company", "product")
ACTIVITY_TYPES = ("call", "meeting", "task", "email")
TENTH = Decimal("0.1")
DAY = Decimal(86400)


def sections_of(names: list[str] | None) -> list[str]:
    """--section values (dashes or underscores, comma lists) checked against SECTIONS."""
    if not names:
        return list(SECTIONS)
    out = []
    for part in ",".join(names).split(","):
        name = part.strip().replace("-", "_")
        if not name:
            continue
        if name not in SECTIONS:
            raise UsageError.about("section", "{0} {name!r}: not one of {known}", name=part.strip(),
                                   known=", ".join(s.replace("_", "-") for s in SECTIONS))
        if name not in out:
            out.append(name)
    return out


def pct(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def days(seconds: Decimal) -> Decimal:
    return (seconds / DAY).quantize(TENTH, rounding=ROUND_HALF_UP)


def _amount(r: dict) -> Decimal:
    n = query.as_number(r.get("amount"))
    return Decimal(n) if n is not None else Decimal(0)


def _status(r: dict) -> str:
    return str(r.get("status") or "open")


def _currency(s, r: dict) -> str:
    return str(r.get("currency") or s.currency)


def build(s, sections: list[str] | None = None, exprs=None, presets=None, pipeline: str | None = None) -> dict:
    """The report as data. `s` is a Session or an asof.PastSession; `exprs`, `presets` and
    `pipeline` select the deals (the filter language of `dealcli filter`)."""
    wanted = sections_of(sections)
    selection = list(exprs or []) + ([f"pipeline={pipeline}"] if pipeline else [])
    if pipeline:
        s.pipeline(pipeline)  # an unknown pipeline is an error (exit 3), not an empty report
    pipelines = s.all_pipelines([])
    records, bins = _deals(s, wanted, selection, presets, pipeline, pipelines)
    tz = s.now.tzinfo
    past = getattr(s, "as_of", None)
    counted = {r.get("pipeline") for r, _, _ in bins["deals"]}
    out: dict = {
        "as_of": timeutil.iso(past) if past else None,
        "now": timeutil.iso(s.now),
        "selection": query.expand(s, presets, selection),
        "deals": len(records) + sum(n for _, n, _ in bins["deals"]),
        "pipelines": [{"id": p.id, "name": p.name} for p in pipelines.values()
                      if p.id in counted or any(r.get("pipeline") == p.id for r in records)],
    }
    stays = _Stays(tz)  # funnel and stage_time read every deal's stays: worked out once
    makers = {
        "funnel": lambda: funnel(records, pipelines, tz, stays),
        "win_rate": lambda: win_rate(records, pipelines, bins["win_rate"]),
        "lost_reasons": lambda: lost_reasons(records, bins["lost_reasons"]),
        "stage_time": lambda: stage_time(records, pipelines, tz, stays),
        "time_to_close": lambda: time_to_close(records, pipelines, tz),
        "won_revenue": lambda: won_revenue(s, records, tz),
        "forecast": lambda: forecast(s, records, pipelines, bins["forecast"]),
        "repeat_sales": lambda: repeat_sales(s, records, bins["repeat_sales"]),
        "activities": lambda: activity_counts(s, records, bool(selection or presets)),
    }
    for name in wanted:
        out[name] = makers[name]()
    return out


# -- deals counted in SQL ------------------------------------------------------------------------
# Sections that are plain group-bys of fields the index cache holds exactly (index.EXACT_NAMES):
# when a report asks for nothing else, of today, over every deal or one pipeline, without access
# rights, the settled deals are counted by GROUP BY queries over the cache and only the other
# deals (changed, unsettled, or with a value that is not plain) are read and added up in Python.
# A query's rows become "bins": (a record of the grouped fields, how many deals, their amount),
# which the sections add up exactly as they add up records (a record is a bin of one).
SQL_SECTIONS = frozenset({"win_rate", "lost_reasons", "forecast", "repeat_sales", "activities"})
_BIN_QUERIES = {
    "deals": ("SELECT x_pipeline, count(*) FROM rows GROUP BY 1", ("pipeline",)),
    "win_rate": ("SELECT x_pipeline, x_status, count(*) FROM rows GROUP BY 1, 2", ("pipeline", "status")),
    "lost_reasons": ("SELECT x_status, x_lost_reason, count(*) FROM rows GROUP BY 1, 2", ("status", "lost_reason")),
    # weighted amounts are rounded deal by deal: deals of the same amount and probability alike
    "forecast": ("SELECT x_status, x_pipeline, x_stage, substr(c_close_date, 1, 7) || '-01', x_currency, x_amount, "
                 "x_prob, count(*) FROM rows WHERE coalesce(x_status, '') IN ('', 'open') GROUP BY 1, 2, 3, 4, 5, 6, 7",
                 ("status", "pipeline", "stage", "close_date", "currency", "amount", "probability")),
    "repeat_sales": ("SELECT x_repeat = 1, x_currency, x_status, x_scale, count(*), sum(x_units) FROM rows "
                     "GROUP BY 1, 2, 3, 4", ("repeat", "currency", "status")),
}


def _deals(s, wanted: list[str], selection: list[str], presets, pipeline: str | None, pipelines: dict):
    """(records read in Python, bins counted in SQL per _BIN_QUERIES name)."""
    from dealcli.storage import index

    none: dict = {name: [] for name in _BIN_QUERIES}
    idx = s.repo.index if getattr(s, "as_of", None) is None and s.repo.guard is None else None
    if (idx is None or not set(wanted) <= SQL_SECTIONS or query.expand(s, presets, selection) != selection
            or (selection and ("activities" in wanted or selection != [f"pipeline={pipeline}"]))
            or not all(index.small(query.as_number(st.probability), index.PROBABILITY_LIMIT)
                       for p in pipelines.values() for st in p.stages)):
        return query.select(s, selection, presets)[0], none
    answered: dict = {}
    errors: list = []  # named once, by whichever scan gives the answer
    records = query.run(s, query.compile_query(s, selection), errors, answered=answered)
    where, params = ("c_pipeline = ?", [pipeline.casefold()]) if pipeline else ("1", [])
    got = idx.groups("deals", answered, where, params, [q for q, _ in _BIN_QUERIES.values()]) if answered else None
    if (answered and got is None) or not all(
            index.small(query.as_number(r.get("amount")), index.AMOUNT_LIMIT)
            and index.small(query.as_number(r.get("probability")), index.PROBABILITY_LIMIT) for r in records):
        return query.select(s, selection, presets)[0], none  # read every deal, as without the cache
    query.skipped_notices(s, errors)
    bins = dict(none)
    for (name, (_, fields)), rows in zip(_BIN_QUERIES.items(), got, strict=True) if got else ():
        bins[name] = [_bin(name, fields, row) for row in rows]
    return records, bins


def _bin(name: str, fields: tuple[str, ...], row: tuple) -> tuple[dict, int, Decimal]:
    if name == "repeat_sales":
        *values, scale, n, units = row
        amount = Decimal(units).scaleb(-scale) if units is not None else Decimal(0)
        values[0] = bool(values[0])
        return dict(zip(fields, values, strict=True)), n, amount
    *values, n = row
    r = dict(zip(fields, values, strict=True))
    for key in ("amount", "probability"):
        if r.get(key) is not None:
            r[key] = Decimal(r[key])
    return r, n, n * _amount(r)


def _items(records: list[dict], bins) -> list[tuple[dict, int, Decimal]]:
    """(record, deals, amount) of every record (one deal each) and every bin."""
    return [(r, 1, _amount(r)) for r in records] + list(bins)


class _Stays:
    """asof.stays of each record, worked out on first use (by the record's identity)."""

    def __init__(self, tz):
        self.tz = tz
        self.known: dict[int, list[dict]] = {}

    def __call__(self, r: dict) -> list[dict]:
        got = self.known.get(id(r))
        if got is None:
            got = self.known[id(r)] = asof.stays(r, self.tz)
        return got


# -- funnel ---------------------------------------------------------------------------------------
def funnel(records: list[dict], pipelines: dict, tz, stays=None) -> list[dict]:
    stays = stays or _Stays(tz)
    out = []
    for p in pipelines.values():
        process = [st for st in p.stages if st.semantics == "process"]
        if not process:
            continue
        rows = [st for st in process] + ([p.success] if p.success else [])
        index = {st.id: i for i, st in enumerate(process)}
        won_index = len(process)  # the success stage comes after every process stage
        reached = [0] * len(rows)
        entered = [0] * len(rows)
        here = [0] * len(rows)
        lost = [0] * len(rows)
        total = 0
        for r in records:
            visited = [x["stage"] for x in stays(r) if x["pipeline"] == p.id]
            if not visited:
                continue
            total += 1
            won = p.success is not None and p.success.id in visited
            furthest = won_index if won else max([index[v] for v in visited if v in index], default=0)
            for i in range(min(furthest, len(rows) - 1) + 1):
                reached[i] += 1
            for i, st in enumerate(rows):
                if st.id in visited:
                    entered[i] += 1
            if r.get("pipeline") == p.id:
                status, stage = _status(r), str(r.get("stage"))
                if status == "open" and stage in index:
                    here[index[stage]] += 1
                elif status == "won" and p.success and stage == p.success.id:
                    here[won_index] += 1
                elif status == "lost":
                    lost[min(furthest, len(process) - 1)] += 1
        if not total:
            continue
        stages = []
        for i, st in enumerate(rows):
            stages.append({
                "stage": st.id, "name": st.name, "color": st.color, "semantics": st.semantics,
                "reached": reached[i], "entered": entered[i], "in_stage": here[i],
                "lost": lost[i] if st.semantics == "process" else 0,
                "conversion": pct(reached[i], reached[i - 1]) if i else None,
                "of_first": pct(reached[i], reached[0]),
            })
        out.append({"pipeline": p.id, "name": p.name, "deals": total, "stages": stages})
    return out


# -- win rate and lost reasons ------------------------------------------------------------------------
def win_rate(records: list[dict], pipelines: dict, bins=()) -> list[dict]:
    counts: dict[str, dict] = {}
    for r, n, _ in _items(records, bins):
        pid = str(r.get("pipeline"))
        row = counts.setdefault(pid, {"open": 0, "won": 0, "lost": 0})
        row[_status(r) if _status(r) in row else "open"] += n
    out = []
    total = {"open": 0, "won": 0, "lost": 0}
    for pid in [p for p in pipelines if p in counts] + sorted(p for p in counts if p not in pipelines):
        c = counts[pid]
        for k in total:
            total[k] += c[k]
        name = pipelines[pid].name if pid in pipelines else pid
        out.append({"pipeline": pid, "name": name, **c, "closed": c["won"] + c["lost"],
                    "win_rate": pct(c["won"], c["won"] + c["lost"])})
    if len(out) > 1:
        out.append({"pipeline": None, "name": "all pipelines", **total, "closed": total["won"] + total["lost"],
                    "win_rate": pct(total["won"], total["won"] + total["lost"])})
    return out


def lost_reasons(records: list[dict], bins=()) -> list[dict]:
    counts: dict = {}
    lost = 0
    for r, n, _ in _items(records, bins):
        if _status(r) != "lost":
            continue
        lost += n
        reason = str(r.get("lost_reason") or "").strip() or None
        counts[reason] = counts.get(reason, 0) + n
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, str(kv[0] or "").casefold(),
                                                     str(kv[0] or "")))
    return [{"reason": reason, "deals": n, "share": pct(n, lost)} for reason, n in ordered]


# -- durations ----------------------------------------------------------------------------------------
def stage_time(records: list[dict], pipelines: dict, tz, stays=None) -> list[dict]:
    stays = stays or _Stays(tz)
    spans: dict[tuple[str, str], list[Decimal]] = {}
    for r in records:
        for x in stays(r):
            if x["end"] is None or x["start"] is None:
                continue
            spans.setdefault((x["pipeline"], x["stage"]), []).append(
                Decimal(int((x["end"] - x["start"]).total_seconds())))
    out = []
    for p in pipelines.values():
        stages = []
        for st in p.stages:
            if st.semantics != "process":
                continue
            got = spans.get((p.id, st.id), [])
            stages.append({"stage": st.id, "name": st.name, "color": st.color, "stays": len(got),
                           "avg_days": days(sum(got, Decimal(0)) / len(got)) if got else None})
        if any(x["stays"] for x in stages):
            out.append({"pipeline": p.id, "name": p.name, "stages": stages})
    return out


def time_to_close(records: list[dict], pipelines: dict, tz) -> list[dict]:
    """Per pipeline and outcome: the closed deals whose time to close is known (`deals`,
    `avg_days`) and those whose close (or creation) time is unknown (`unknown`: an imported deal
    closed in its source without a date, or closed before dealcli first saw it)."""
    spans: dict[tuple[str, str], list[Decimal]] = {}
    unknown: dict[tuple[str, str], int] = {}
    for r in records:
        status = _status(r)
        if status == "open":
            continue
        start, end = asof._created_at(r, tz), asof.closed_at(r, tz)
        k = (str(r.get("pipeline")), status)
        if start is None or end is None or end < start:
            unknown[k] = unknown.get(k, 0) + 1
            continue
        spans.setdefault(k, []).append(Decimal(int((end - start).total_seconds())))
    out = []
    for pid in list(pipelines) + sorted({k[0] for k in (*spans, *unknown)} - set(pipelines)):
        for status in ("won", "lost"):
            got, n = spans.get((pid, status), []), unknown.get((pid, status), 0)
            if got or n:
                out.append({"pipeline": pid, "status": status, "deals": len(got),
                            "avg_days": days(sum(got, Decimal(0)) / len(got)) if got else None, "unknown": n})
    return out


# -- money --------------------------------------------------------------------------------------------
def _add(table: dict, key, currency: str, amount: Decimal, deal_id, extra: dict | None = None) -> None:
    row = table.setdefault((key, currency), {"deals": set(), "amount": Decimal(0), **(extra or {})})
    row["deals"].add(deal_id)
    row["amount"] += amount


def _money_rows(table: dict, name: str, order: str) -> list[dict]:
    rows = [{name: key, "currency": cur, "deals": len(v["deals"]), "amount": v["amount"]}
            for (key, cur), v in table.items()]
    if order == "key":
        rows.sort(key=lambda x: (x[name] is None, str(x[name] or ""), x["currency"]))
    else:
        rows.sort(key=lambda x: (x["currency"], -x["amount"], str(x[name] or "").casefold()))
    return rows


def won_revenue(s, records: list[dict], tz) -> dict:
    from dealcli.model import ProductRow

    ctx = query.Context(s, needs={"company_name"})
    ctx.load()
    tables: dict[str, dict] = {g: {} for g in REVENUE_GROUPS}
    for r in records:
        if _status(r) != "won":
            continue
        cur, amount, rid = _currency(s, r), _amount(r), r.get("id")
        closed = asof.closed_at(r, tz)
        _add(tables["month"], closed.astimezone(tz).strftime("%Y-%m") if closed else None, cur, amount, rid)
        _add(tables["responsible"], r.get("responsible") or None, cur, amount, rid)
        company = r.get("company")
        _add(tables["company"], (ctx.company_names.get(company) or company) if company else None, cur, amount, rid)
        rows = given if isinstance(given := r.get("products"), list) else []
        if not rows:
            _add(tables["product"], None, cur, amount, rid)
        for row in rows:
            try:
                pr = ProductRow.from_dict(row, ("products",))
            except Exception:  # a malformed row (check reports it): not revenue we can name
                continue
            _add(tables["product"], pr.name, cur, pr.total, rid)
    return {f"by_{g}": _money_rows(tables[g], g, "key" if g == "month" else "amount") for g in REVENUE_GROUPS}


def repeat_sales(s, records: list[dict], bins=()) -> list[dict]:
    """First vs repeat sales, one row per kind and currency: open, won, lost, won amount, its
    share of the currency's won amount, win rate (won / closed)."""
    table: dict = {}
    for r, n, amount in _items(records, bins):
        kind = "repeat" if r.get("repeat") is True else "first"
        row = table.setdefault((kind, _currency(s, r)), {"open": 0, "won": 0, "lost": 0, "won_amount": Decimal(0)})
        status = _status(r) if _status(r) in ("won", "lost") else "open"
        row[status] += n
        if status == "won":
            row["won_amount"] += amount
    won_by_currency: dict[str, Decimal] = {}
    for (_, cur), row in table.items():
        won_by_currency[cur] = won_by_currency.get(cur, Decimal(0)) + row["won_amount"]
    out = []
    for (kind, cur), row in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0] != "first")):
        out.append({"sales": kind, "currency": cur, **row,
                    "share": pct(row["won_amount"], won_by_currency[cur]),
                    "win_rate": pct(row["won"], row["won"] + row["lost"])})
    return out


def forecast(s, records: list[dict], pipelines: dict, bins=()) -> list[dict]:
    from dealcli.views.board import weighted_amount

    this_month = s.now.strftime("%Y-%m")
    table: dict = {}
    for r, n, amount in _items(records, bins):
        if _status(r) != "open":
            continue
        p = pipelines.get(str(r.get("pipeline")))
        st = p.stage(str(r.get("stage"))) if p else None
        close = query.as_date(r.get("close_date"))
        month = close.strftime("%Y-%m") if close else None
        row = table.setdefault((month, _currency(s, r)), {"deals": 0, "amount": Decimal(0), "weighted": Decimal(0)})
        row["deals"] += n
        row["amount"] += amount
        row["weighted"] += n * weighted_amount(r, st.probability if st else None)
    out = [{"month": m, "currency": cur, **v, "overdue": m is not None and m < this_month}
           for (m, cur), v in table.items()]
    out.sort(key=lambda x: (x["month"] is None, x["month"] or "", x["currency"]))
    return out


# -- activities ---------------------------------------------------------------------------------------
def activity_counts(s, records: list[dict], selected: bool) -> list[dict]:
    """Per responsible person. With a selection (expressions, presets, --pipeline) only the
    activities of the selected deals; in the past only those created by then, done if done by
    then."""
    from dealcli import activities

    deal_ids = {str(r.get("id")) for r in records}
    tz, now = s.now.tzinfo, s.now
    past = getattr(s, "as_of", None) is not None
    people: dict[str | None, dict] = {}
    for a in activities.records(s, include_done=True):
        if selected and str(a.get("deal")) not in deal_ids:
            continue
        created = query.as_datetime(a.get("created"), tz)
        if past and created is not None and created > now:
            continue
        done = bool(a.get("done"))
        if done and past:
            done_at = query.as_datetime(a.get("done_at"), tz)
            done = done_at is None or done_at <= now
        who = str(a.get("responsible") or "") or None
        row = people.setdefault(who, {"person": who, "activities": 0, "done": 0, "pending": 0, "overdue": 0,
                                      **{t: 0 for t in ACTIVITY_TYPES}})
        row["activities"] += 1
        row["done" if done else "pending"] += 1
        due = query.as_datetime(a.get("due"), tz)
        if not done and due is not None and due < now:
            row["overdue"] += 1
        kind = str(a.get("type") or "")
        if kind in ACTIVITY_TYPES:
            row[kind] += 1
    return sorted(people.values(), key=lambda x: (-x["activities"], x["person"] is None, str(x["person"] or "")))


# -- flat rows (csv, tsv, jsonl) ----------------------------------------------------------------------
def rows(report: dict) -> list[dict]:
    """One flat row per line of every section, `section` first (and `group` for the revenue
    tables): the layout of -f csv/tsv/jsonl."""
    out: list[dict] = []
    for name in SECTIONS:
        if name not in report:
            continue
        data = report[name]
        if name in ("funnel", "stage_time"):
            for p in data:
                for st in p["stages"]:
                    out.append({"section": name, "pipeline": p["pipeline"], **st})
        elif name == "won_revenue":
            for g in REVENUE_GROUPS:
                for row in data[f"by_{g}"]:
                    row = dict(row)
                    out.append({"section": name, "group": g, "key": row.pop(g), **row})
        else:
            out += [{"section": name, **row} for row in data]
    return out



# -- the HTML page ------------------------------------------------------------------------------------
def html_page(s, kind: str, sections=None, exprs=None, presets=None, pipeline: str | None = None) -> str:
    """The self-contained page of `report --html` (every section, a board per pipeline with
    deals) or of `board --html` (the board of one pipeline with its funnel and forecast)."""
    from dealcli.views import board
    from dealcli.views import html as html_report

    if kind == "board":
        pipeline = pipeline or s.default_pipeline_id()
        data = build(s, ["funnel", "forecast"], exprs, presets, pipeline)
        pids = [pipeline]
    else:
        data = build(s, sections, exprs, presets, pipeline)
        pids = [p["id"] for p in data["pipelines"]]
    boards = [board.build(s, pid, exprs, presets) for pid in pids]
    return html_report.page(data, boards, kind)


def write_html(s, target: str, kind: str, sections=None, exprs=None, presets=None,
               pipeline: str | None = None) -> None:
    """Write the page to `target` atomically (- for stdout) and leave a notice naming it."""

    from dealcli.views import render
    from dealcli.storage import files

    if target != "-":
        files.outside(s.repo.root, target, "html")  # before the page is built
    text = html_page(s, kind, sections, exprs, presets, pipeline)
    if target == "-":
        render.write(text)
        return
    s.notice(i18n._("wrote {files_write_output_targe}").format(
        files_write_output_targe=files.write_output(target, text.encode('utf-8'), 'html', s.repo.root)))
