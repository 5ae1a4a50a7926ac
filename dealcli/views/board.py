"""`dealcli board`: the kanban view of one pipeline. One column per stage in pipeline order with
the count, the sum per currency, the weighted sum of the open deals (amount x probability / 100;
the deal's probability, else its stage's) and short cards. On a terminal the columns wrap into bands that
fit the width (80 columns shows three stages side by side); other formats give the structure.
build() reads the repository once into a Board; formatted()/text()/rows() (and views/html.py)
render only that Board."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dealcli import money, query, stage_rules

from dealcli.views import fit, render
from dealcli import i18n

MIN_COL, MAX_COL, GAP = 20, 34, 2
CARD_FIELDS = ("id", "title", "amount", "currency", "probability", "responsible", "close_date", "status")
ROT_MARK = "!"  # before the title of a rotting card on a terminal


def _num(v) -> Decimal:
    n = query.as_number(v)
    return Decimal(n) if n is not None else Decimal(0)


def _two_places(value: Decimal) -> Decimal:
    """At least two decimal places, never dropping digits (1000 -> 1000.00, 1.2345 stays)."""
    exp = value.as_tuple().exponent
    return value.quantize(money.CENT) if isinstance(exp, int) and exp > -2 else value


def weighted_amount(record: dict, stage_probability) -> Decimal:
    """amount x probability / 100 in the minor unit of its currency: the deal's probability, else
    its stage's."""
    prob = record.get("probability")
    if query.as_number(prob) is None:
        prob = stage_probability
    return money.cents(_num(record.get("amount")) * _num(prob) / 100, record.get("currency"))


@dataclass
class Column:
    """One stage of the board: its label (name, colour) and what its deals add up to."""

    id: str
    name: str
    color: str | None
    semantics: str | None
    probability: object
    rotting_days: int | None = None
    count: int = 0
    sum: dict = field(default_factory=dict)  # currency -> Decimal
    weighted: dict = field(default_factory=dict)
    deals: list[dict] = field(default_factory=list)  # the cards: CARD_FIELDS of each deal
    converted: dict | None = None  # {currency, sum, weighted} in one currency (--currency, rates:)

    def as_dict(self) -> dict:
        out = {"id": self.id, "name": self.name, "color": self.color, "semantics": self.semantics,
               "probability": self.probability, "count": self.count, "sum": self.sum,
               "weighted": self.weighted, "deals": self.deals}
        if self.rotting_days:
            out["rotting_days"] = self.rotting_days
        if self.converted is not None:
            out["converted"] = self.converted
        return out


@dataclass
class Total:
    count: int = 0
    sum: dict = field(default_factory=dict)
    weighted: dict = field(default_factory=dict)
    converted: dict | None = None

    def as_dict(self) -> dict:
        out = {"count": self.count, "sum": self.sum, "weighted": self.weighted}
        if self.converted is not None:
            out["converted"] = self.converted
        return out


@dataclass
class Board:
    """The view data of `board`: everything its renderers (text, rows, formatted, the HTML page)
    show, with every label resolved; they never read the repository."""

    pipeline: str
    name: str
    stages: list[Column]
    total: Total
    hidden: list[str] = field(default_factory=list)  # card fields left off for the acting user (json keeps them)

    def as_dict(self) -> dict:
        """The structure of `board -f json/yaml`."""
        out = {"pipeline": self.pipeline, "name": self.name, "stages": [c.as_dict() for c in self.stages],
               "total": self.total.as_dict()}
        if self.hidden:
            out["hidden"] = list(self.hidden)
        return out


def build(s, pipeline_id: str | None, exprs, presets, sort: str | None = None,
          currency: str | None = None) -> Board:
    """The board as data: pipeline, stages (with count, sum, weighted and cards) and totals.
    With `currency` (or a `rates:` table in dealcli.yaml, then the repository currency) every
    column and the total also carry `converted`: the sums in that one currency."""
    pipeline = s.pipeline(pipeline_id or s.default_pipeline_id())
    # the card's fields only: the index cache then decodes each deal's head, not its history
    # (rotting stages need the history too: when the deal entered its stage)
    rots = any(st.rotting_days for st in pipeline.stages)
    records, _ = query.select(s, list(exprs or []) + [f"pipeline={pipeline.id}"], presets, sort,
                              fields=list(CARD_FIELDS) + (["stage", "created", "history"] if rots else []))
    columns: dict[str, Column] = {}
    for st in pipeline.stages:
        columns[st.id] = Column(st.id, st.name, st.color, st.semantics, st.probability, st.rotting_days)
    total = Total()
    for r in records:
        sid = str(r.get("stage"))
        col = columns.get(sid)
        if col is None:  # a stage the pipeline no longer has: shown, not hidden
            col = columns[sid] = Column(sid, f"{sid} (not in pipeline)", None, None, None)
        amount = _num(r.get("amount"))
        # a forecast: open deals only (a won deal is revenue, not a weighted chance; a lost one, none)
        weighted = weighted_amount(r, col.probability) if r.get("status") in (None, "open") else Decimal("0.00")
        cur = str(r.get("currency") or s.currency)
        for target in (col, total):
            target.count += 1
            target.sum[cur] = _two_places(target.sum.get(cur, Decimal(0)) + amount)
            target.weighted[cur] = target.weighted.get(cur, Decimal(0)) + weighted
        card = {k: r.get(k) for k in CARD_FIELDS}
        card["currency"] = cur
        if col.rotting_days:
            card["rotting"] = stage_rules.is_rotting(pipeline, r, s.now)
        col.deals.append(card)
    from dealcli.deals import hidden_fields

    board = Board(pipeline.id, pipeline.name, list(columns.values()), total, sorted(hidden_fields(s, pipeline)))
    convert_sums(s, board, currency)
    return board


def by_responsible(s, pipeline_id: str | None, exprs, presets) -> list[dict]:
    """`board --by responsible`: who carries what. One row per responsible person of the open deals
    selected (every pipeline unless `pipeline_id`) and currency: deals, sum, weighted sum, and the
    person's overdue activities on those deals (on the first row of the person). Read under the
    acting user's access rights, like every listing."""
    from dealcli import activities

    if pipeline_id:
        s.pipeline(pipeline_id)  # an unknown pipeline is an error, not an empty table
    selection = list(exprs or []) + ["status=open"] + ([f"pipeline={pipeline_id}"] if pipeline_id else [])
    records, _ = query.select(s, selection, presets)
    people: dict[str, dict] = {}
    chances: dict[tuple[str, str], object] = {}
    for r in records:
        who = str(r.get("responsible") or "")
        cur = str(r.get("currency") or s.currency)
        person = people.setdefault(who, {"deals": {}, "sum": {}, "weighted": {}, "overdue": 0})
        person["deals"][cur] = person["deals"].get(cur, 0) + 1
        person["sum"][cur] = person["sum"].get(cur, Decimal(0)) + _num(r.get("amount"))
        key = (str(r.get("pipeline")), str(r.get("stage")))
        if key not in chances:
            try:
                stage = s.pipeline(key[0]).stage(key[1])
            except Exception:  # noqa: BLE001 - a deal of a broken pipeline: no stage probability
                stage = None
            chances[key] = stage.probability if stage is not None else None
        person["weighted"][cur] = person["weighted"].get(cur, Decimal(0)) + weighted_amount(r, chances[key])
    selected = {str(r.get("id")) for r in records}
    for a in activities.records(s, overdue=True):
        if str(a.get("deal")) in selected:
            who = str(a.get("responsible") or "")
            people.setdefault(who, {"deals": {}, "sum": {}, "weighted": {}, "overdue": 0})["overdue"] += 1
    out = []
    for who in sorted(people, key=lambda w: (w == "", w.casefold())):
        p = people[who]
        currencies = sorted(p["deals"]) or [None]
        for i, cur in enumerate(currencies):
            out.append({"responsible": who or None, "deals": p["deals"].get(cur, 0) if cur else 0, "currency": cur,
                        "sum": _two_places(p["sum"].get(cur, Decimal(0))) if cur else Decimal("0.00"),
                        "weighted": p["weighted"].get(cur, Decimal("0.00")) if cur else Decimal("0.00"),
                        "overdue": p["overdue"] if i == 0 else 0})
    return out


def convert_sums(s, board: Board, currency: str | None) -> None:
    """Set `converted` {currency, sum, weighted} on every column and the total (Decimal)."""
    from dealcli.errors import UsageError

    configured = s.repo.config.get("rates")
    if currency is None and not configured:
        return
    target = currency or s.currency
    try:
        rates = money.rates_table(configured, s.currency)
        for col in board.stages + [board.total]:
            col.converted = {"currency": target,
                             "sum": sum((money.convert(v, c, target, rates) for c, v in col.sum.items()),
                                        Decimal("0.00")),
                             "weighted": sum((money.convert(v, c, target, rates)
                                              for c, v in col.weighted.items()), Decimal("0.00"))}
    except money.MoneyError as exc:
        raise UsageError(i18n._("board: {exc}").format(exc=exc)) from None


# -- rendering: only the Board, never the Session or the disk ------------------------------------
def formatted(board: Board, fmt: str, cards: int | None = 8, width: int | None = None) -> str:
    """The board in one output format: the kanban text (table), the structure (json, yaml),
    one stage per line (jsonl), the cards' ids (ids), one row per stage and currency (csv, tsv)."""
    if fmt == "table":
        return text(board, width=width, cards=cards)
    if fmt in ("json", "yaml"):
        return render.format_record(board.as_dict(), fmt)
    if fmt == "ids":
        return render.format_rows([d for col in board.stages for d in col.deals], "ids")
    if fmt == "jsonl":
        return render.format_rows([c.as_dict() for c in board.stages], "jsonl")
    return render.format_rows(rows(board), fmt)


def rows(board: Board) -> list[dict]:
    """Flat rows for csv/tsv: one per stage and currency (a stage without deals: one row)."""
    out = []
    for col in board.stages:
        currencies = list(col.sum) or [None]
        for cur in currencies:
            out.append({"pipeline": board.pipeline, "stage": col.id, "name": col.name,
                        "count": sum(1 for d in col.deals if d["currency"] == cur) if cur else 0,
                        "currency": cur, "sum": col.sum.get(cur, Decimal(0)) if cur else Decimal(0),
                        "weighted": col.weighted.get(cur, Decimal(0)) if cur else Decimal(0)})
    return out


def _cut(text: str, width: int) -> str:
    return fit.cut(" ".join(str(text).split()), width)  # display cells: a CJK character is two


def _money_lines(sums: dict, prefix: str = "") -> list[str]:
    return [f"{prefix}{i18n.number(money.fmt(v, cur))} {cur}" for cur, v in sums.items()]


def column_lines(col: dict, width: int, cards: int | None, hidden=()) -> list[str]:
    head = _cut(col["name"], width)
    lines = [render.paint(fit.pad(head, width), col.get("color"))]
    rots = sum(1 for d in col["deals"] if d.get("rotting"))
    lines.append(_cut(i18n.ngettext("{n} deal", "{n} deals", col["count"]).format(n=col["count"])
                      + (i18n._(", {n} rotting (>{days}d)").format(n=rots, days=col["rotting_days"]) if rots else ""),
                      width))
    lines += [_cut(x, width) for x in _money_lines(col["sum"], i18n._("sum "))]
    lines += [_cut(x, width) for x in _money_lines(col["weighted"], i18n._("wtd "))]
    if col.get("converted") and len(col["sum"]) > 1:
        conv = col["converted"]
        lines.append(_cut(f"= {i18n.number(money.fmt(conv['sum'], conv['currency']))} {conv['currency']}", width))
    lines.append("-" * width)
    shown = col["deals"] if cards is None else col["deals"][:cards]
    for d in shown:
        mark = ROT_MARK if d.get("rotting") else ""
        lines.append(_cut(f"{mark}{str(d.get('id'))[:6]} {d.get('title') or ''}", width))
        if "amount" in hidden:
            continue
        amount = f"{i18n.number(money.fmt(_num(d.get('amount')), d.get('currency')))} {d.get('currency') or ''}".strip()
        lines.append(fit.pad(_cut(amount, width), width, right=True))
    if len(shown) < len(col["deals"]):
        lines.append(i18n._("+{n} more").format(n=len(col["deals"]) - len(shown)))
    return lines


def text(view: Board, width: int | None = None, cards: int | None = 8) -> str:
    """The kanban on a terminal: stage columns side by side, wrapped into bands."""
    width = width or fit.layout_width()  # the injected terminal's, else 80
    board = render.printable(view.as_dict())  # titles and names from data never drive the terminal
    stages = board["stages"]
    n = max(1, len(stages))
    per_band = max(1, min(n, (width + GAP) // (MIN_COL + GAP)))
    colw = max(MIN_COL, min(MAX_COL, (width + GAP) // per_band - GAP))
    out = []
    tot = board["total"]
    summary = ", ".join(_money_lines(tot["sum"])) or "0"
    weighted = ", ".join(_money_lines(tot["weighted"])) or "0"
    out.append(_cut(i18n.ngettext("{name} ({pipeline}): {n} deal", "{name} ({pipeline}): {n} deals",
                                  tot["count"]).format(name=board["name"], pipeline=board["pipeline"], n=tot["count"]),
                    width))
    out.append(_cut(i18n._("sum {amounts}").format(amounts=summary), width))
    out.append(_cut(i18n._("weighted {amounts}").format(amounts=weighted), width))
    conv = tot.get("converted")
    if conv:
        out.append(_cut(i18n._("in {currency}: sum {sum}, weighted {weighted}").format(
            currency=conv["currency"], sum=i18n.number(money.fmt(conv["sum"], conv["currency"])),
            weighted=i18n.number(money.fmt(conv["weighted"], conv["currency"]))), width))
    for i in range(0, len(stages), per_band):
        band = [column_lines(c, colw, cards, board.get("hidden", ())) for c in stages[i:i + per_band]]
        height = max(len(b) for b in band)
        out.append("")
        for row in range(height):
            cells = []
            for b in band:
                cell = b[row] if row < len(b) else ""
                pad = colw - fit.width_of(cell)
                cells.append(cell + " " * max(0, pad))
            out.append((" " * GAP).join(cells).rstrip())
    return "\n".join(out) + "\n"
