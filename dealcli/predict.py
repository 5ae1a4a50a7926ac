"""Repeat-sales prediction: which clients (and client x product pairs) will buy within a horizon,
with the reasons, and a backtest against naive baselines. See docs/automation.md.

Purchases are the won deals: the client (a deal's company, else its first contact, as
generators.client_keys says), the day it was won (closed_at in the repository's zone), the
amount and the product rows' names. A *unit* is a client, or a client and a product.

Features of a unit at a day t, from purchases strictly before t (FEATURES; pairs add
client_rate and product_rate, PAIR_FEATURES):
  recency    log(1 + days since the last purchase)
  frequency  log(1 + number of purchases)
  monetary   log(1 + mean amount per purchase)
  rate       purchases per horizon-length over the observed time (since the history's first
             purchase)
  cycle      1 when the mean inter-purchase interval puts the next purchase inside
             [t, t + horizon), decaying by e per interval outside; 0 with fewer than two
  season     share of the purchases that fell in the same calendar window a year or more before
and the optional ones (OPTIONAL, a list of sets to choose from):
  open       log(1 + the unit's deals that were open at t: begun before t (`begin`, else the day
             the deal was created) and not closed before t) -- the pipeline as it stood at t;
             deals made by `predict --create` or a generator do not count (offers, not interest)
  recent     log(1 + purchases in the last horizon-length before t)
  share      (pairs) the share of the client's purchases that included the product, shrunk
             towards the product's share of all purchases (SHRINK pseudo-purchases)
The model is a logistic regression (scikit-learn) on the standardised features, trained on
the repository's own past: rolling origins t = cutoff - horizon, then every horizon/3 days
back, each example labelled by whether the unit bought in [t, t + horizon) (so every label
lies before the cutoff). Its settings (the regularisation C and whether the optional features
are used, and which) are chosen on an inner backtest that lies wholly before the cutoff: trained on the
origins up to cutoff - 2 x horizon, scored at cutoff - horizon against [cutoff - horizon,
cutoff); the best AUC wins. When that split does not fit, cross-validation over the units on
the training origins; DEFAULT_SETTINGS when neither can be measured. The same inner backtest
chooses the model family among the logistic regression, the open-deals rule (a logistic
regression on `open` alone) and gradient boosting (HistGradientBoostingClassifier) on every
feature (choose_model). A score's reasons are the per-feature contributions to the log-odds
(coefficient x standardised value; for gradient boosting the change when the feature alone is
put back to its training mean): how far this unit's feature moves its odds from those of an
average unit, the ones that raised it listed apart from the ones that lowered it.

scikit-learn is an optional extra (`pip install 'dealcli[predict]'`), imported only here."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealcli.errors import UsageError
from dealcli.session import Session
from dealcli import i18n

FEATURES = ("recency", "frequency", "monetary", "rate", "cycle", "season")
PAIR_FEATURES = FEATURES + ("client_rate", "product_rate")
# the optional feature sets the inner backtest chooses from, by unit (earlier = preferred on a tie)
OPTIONAL = {"client": ((), ("open",), ("open", "recent")),
            "product": ((), ("open",), ("open", "recent", "share"))}
SHRINK = 5.0
C_GRID = (0.01, 0.1, 1.0, 10.0)
FOLDS = 3
DEFAULT_SETTINGS = (1.0, ())  # (C, optional features)
# the model families the inner backtest chooses among (earlier = preferred on a tie)
LOGISTIC, OPEN_RULE, BOOSTING = "logistic regression", "deals open at the cutoff", "gradient boosting"
MIN_TRAIN_HISTORY_DAYS = 30
INSTALL_HINT = "pip install 'dealcli[predict]'"
_HORIZON = re.compile(r"^\s*(\d{1,4})\s*([dwmy]?)\s*$", re.I)
UNIT_DAYS = {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}


class MissingLibrary(UsageError):
    """scikit-learn is not installed (exit 2 with the install command)."""


def parse_horizon(text: str) -> int:
    """90d, 12w, 3m (30 days each), 1y (365 days) or a number of days."""
    m = _HORIZON.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise UsageError.about("horizon", "{0} {text!r}: expected a number of days such as 90d, 12w, 3m or 1y",
                               text=text)
    return int(m.group(1)) * UNIT_DAYS[m.group(2).lower()]


def sklearn():
    """The scikit-learn pieces predict uses; MissingLibrary (exit 2) when it is not installed."""
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise MissingLibrary(i18n._("predict needs scikit-learn, which is not installed: {install_hint}").format(
            install_hint=INSTALL_HINT)) from None
    return LogisticRegression, StandardScaler, HistGradientBoostingClassifier


# -- purchases --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Purchase:
    client: str
    day: dt.date
    amount: float
    products: tuple[str, ...]


@dataclass
class History:
    """Every purchase, with the names of the clients and the deals by client."""

    purchases: list[Purchase]
    names: dict[str, str] = field(default_factory=dict)
    product_names: dict[str, str] = field(default_factory=dict)  # casefolded -> as first written
    records: dict[str, list[dict]] = field(default_factory=dict)
    # client -> (began, closed or None, casefolded product names) of every deal
    spans: dict[str, list[tuple[dt.date, dt.date | None, tuple[str, ...]]]] = field(default_factory=dict)

    @property
    def first_day(self) -> dt.date | None:
        return min((p.day for p in self.purchases), default=None)


def history(s: Session) -> History:
    from dealcli import generators
    from dealcli.query import as_number

    tz = s.now.tzinfo
    errors: list = []
    purchases: list[Purchase]
    by_client: dict[str, list[dict]]
    product_names: dict[str, str]
    spans: dict[str, list[tuple[dt.date, dt.date | None, tuple[str, ...]]]]
    purchases, by_client, product_names, spans = [], {}, {}, {}
    for r in s.deal_records(errors):
        if not isinstance(r, dict):
            continue
        keys = generators.client_keys(r, "auto")
        if not keys:
            continue
        by_client.setdefault(keys[0], []).append(r)
        written = [str(p.get("name")).strip() for p in r.get("products") or [] if isinstance(p, dict) and p.get("name")]
        names = tuple(sorted({name.casefold() for name in written}))
        day = generators.local_day(r.get("closed_at"), tz)
        began = generators.local_day(r.get("begin"), tz) or generators.local_day(r.get("created"), tz)
        # the pipeline: deals someone opened, not offers made by predict --create or a generator
        automatic = isinstance(r.get("prediction"), dict) or isinstance(r.get("generator"), dict)
        if began is not None and not automatic and (day is not None or r.get("status") == "open"):
            spans.setdefault(keys[0], []).append((began, day, names or ("",)))
        if r.get("status") != "won" or day is None:
            continue
        amount = as_number(r.get("amount"))
        for name in written:
            product_names.setdefault(name.casefold(), name)
        purchases.append(Purchase(keys[0], day, float(amount or 0), names))
    for exc in errors:
        s.notice(i18n._("skipped a corrupt deal file: {exc_message} (run `dealcli check`)").format(
            exc_message=exc.message))
    client_names: dict[str, str] = {}
    for kind in ("companies", "contacts"):
        for record_id, data in s.repo.records(kind, []):
            if isinstance(data, dict):
                client_names[record_id] = str(data.get("name") or record_id)
    purchases.sort(key=lambda p: (p.day, p.client))
    return History(purchases, client_names, product_names, by_client, spans)


def units(h: History, by: str) -> dict[tuple, list[Purchase]]:
    """Purchases per unit: (client,) or (client, product)."""
    out: dict[tuple, list[Purchase]] = {}
    for p in h.purchases:
        if by == "client":
            out.setdefault((p.client,), []).append(p)
        else:
            for name in p.products or ("",):
                out.setdefault((p.client, name), []).append(p)
    return out


# -- features ---------------------------------------------------------------------------------------
@dataclass
class Context:
    """What a unit's features are measured against: the first day of the whole history (the
    start of observation) and, for client x product units, every purchase day of each client
    and of each product (sorted)."""

    start: dt.date
    client_days: dict[str, list[dt.date]] = field(default_factory=dict)
    product_days: dict[str, list[dt.date]] = field(default_factory=dict)
    all_days: list[dt.date] = field(default_factory=list)
    # unit -> (the day each of its deals began, the day it closed or None)
    spans: dict[tuple, list[tuple[dt.date, dt.date | None]]] = field(default_factory=dict)


def context(h: History, by: str) -> Context:
    ctx = Context(h.first_day or dt.date.min)
    for client, deal_spans in h.spans.items():
        for began, closed, names in deal_spans:
            for key in ([(client,)] if by == "client" else [(client, name) for name in names]):
                ctx.spans.setdefault(key, []).append((began, closed))
    if by == "product":
        ctx.all_days = sorted(p.day for p in h.purchases)
        for p in h.purchases:
            ctx.client_days.setdefault(p.client, []).append(p.day)
            for name in p.products or ("",):
                ctx.product_days.setdefault(name, []).append(p.day)
    return ctx


def _rate(n: int, t: dt.date, start: dt.date, horizon: int) -> float:
    """Purchases per horizon-length over the observed time before t."""
    return n * horizon / max((t - start).days, horizon)


def features(buys: list[Purchase], t: dt.date, horizon: int, ctx: Context, key: tuple = ()) -> dict | None:
    """The features of a unit at day t (purchases on or after t are not seen); None when it has
    not bought before t. Also the raw facts the reasons quote."""
    from bisect import bisect_left

    past = [p for p in buys if p.day < t]
    if not past:
        return None
    days = sorted(p.day for p in past)
    n = len(days)
    recency = (t - days[-1]).days
    spent = sum(p.amount for p in past)
    interval = (days[-1] - days[0]).days / (n - 1) if n > 1 else None
    cycle = 0.0
    due_in = None
    if interval:
        due_in = (days[-1] + dt.timedelta(days=interval) - t).days
        if due_in < 0:
            cycle = math.exp(due_in / interval)
        elif due_in > horizon:
            cycle = math.exp(-(due_in - horizon) / interval)
        else:
            cycle = 1.0
    season = sum(1 for d in days if _same_window(d, t, horizon)) / n
    recent = sum(1 for d in days if (t - d).days <= horizon)
    open_ = sum(1 for began, closed in ctx.spans.get(key, ()) if began < t and (closed is None or closed >= t))
    out: dict[str, Any] = {
        "recency": math.log1p(recency), "frequency": math.log1p(n), "monetary": math.log1p(max(spent, 0) / n),
        "rate": _rate(n, t, ctx.start, horizon), "cycle": cycle, "season": season, "recent": math.log1p(recent),
        "open": math.log1p(open_),
    }
    facts = {"days_since_last": recency, "purchases": n, "spent": round(spent, 2),
             "interval": None if interval is None else round(interval), "due_in": due_in,
             "last": days[-1].isoformat(), "season_hits": season > 0, "rate": out["rate"], "horizon": horizon,
             "recent": recent, "open": open_}
    if len(key) == 2:
        client_n = bisect_left(ctx.client_days.get(key[0], []), t)
        product_n = bisect_left(ctx.product_days.get(key[1], []), t)
        total_n = bisect_left(ctx.all_days, t)
        out["client_rate"] = _rate(client_n, t, ctx.start, horizon)
        out["product_rate"] = _rate(product_n, t, ctx.start, horizon)
        prior = product_n / total_n if total_n else 0.0
        out["share"] = (n + SHRINK * prior) / (client_n + SHRINK)
        facts.update(client_purchases=client_n, product_purchases=product_n,
                     share=round(100 * n / client_n) if client_n else 0)
    out["_facts"] = facts
    return out


def _same_window(day: dt.date, t: dt.date, horizon: int) -> bool:
    """`day` lies at least a year before t, in the calendar window t..t+horizon of its year."""
    if (t - day).days < 365 - horizon:
        return False
    try:
        start = t.replace(year=day.year)
    except ValueError:
        start = dt.date(day.year, 2, 28)
    for s0 in (start, _shift_year(start, -1)):
        if s0 <= day < s0 + dt.timedelta(days=horizon):
            return True
    return False


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 2, 28)


def bought_within(buys: list[Purchase], t: dt.date, horizon: int) -> bool:
    end = t + dt.timedelta(days=horizon)
    return any(t <= p.day < end for p in buys)


def names_of(by: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (PAIR_FEATURES if by == "product" else FEATURES) + tuple(extra)


# -- the model ------------------------------------------------------------------------------------------
@dataclass
class Model:
    """A fitted model of one family (`kind`): a logistic regression on the standardised
    features (coef, intercept, mean, scale), the open-deals rule (a logistic regression on
    `open` alone, which ranks as the rule does and gives it a probability), or gradient
    boosting (`estimator`, scikit-learn's HistGradientBoostingClassifier; mean = the training
    means)."""

    horizon: int
    names: tuple[str, ...]
    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    examples: int
    positives: int
    C: float = DEFAULT_SETTINGS[0]
    validation: dict | None = None  # how the model was chosen (see choose_model)
    kind: str = LOGISTIC
    estimator: Any = None
    others: dict[str, Model] = field(default_factory=dict)  # the best of each other family (backtest)

    def logits(self, feats: list[dict]) -> list[float]:
        if self.estimator is not None:
            X = [[f[name] for name in self.names] for f in feats]
            if not X:
                return []
            with one_thread():
                return [float(v) for v in self.estimator.decision_function(X)]
        return [self.intercept + sum(c * z for c, z in zip(self.coef, self.standard(f), strict=True)) for f in feats]

    def logit(self, f: dict) -> float:
        return self.logits([f])[0]

    def standard(self, f: dict) -> list[float]:
        return [(f[name] - m) / s for name, m, s in zip(self.names, self.mean, self.scale, strict=True)]

    def score(self, f: dict) -> float:
        return _sigmoid(self.logit(f))

    def scores(self, feats: list[dict]) -> list[float]:
        return [_sigmoid(z) for z in self.logits(feats)]

    def contributions(self, f: dict) -> dict[str, float]:
        """How far each feature moves this unit's log-odds from those of an average unit: for the
        linear models coefficient x standardised value (exactly); for gradient boosting the
        change when the feature alone is put back to its training mean."""
        if self.estimator is None:
            return {name: c * z for name, c, z in zip(self.names, self.coef, self.standard(f), strict=True)}
        base, *others = self.logits([f] + [{**f, name: m} for name, m in zip(self.names, self.mean, strict=True)])
        return {name: base - z for name, z in zip(self.names, others, strict=True)}


def one_thread():
    """Gradient boosting on one OpenMP thread: the data here is small, and on a busy machine
    its thread pool is far slower (50 times, measured) than one thread."""
    # a dependency of scikit-learn, without type information (no py.typed, no stubs)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="openmp")


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


def origins(first: dt.date, cutoff: dt.date, horizon: int) -> list[dt.date]:
    """Training moments: cutoff - horizon, then every `step` days back while at least
    MIN_TRAIN_HISTORY_DAYS of history lie before them."""
    step = max(7, horizon // 3)
    out, t = [], cutoff - dt.timedelta(days=horizon)
    while (t - first).days >= MIN_TRAIN_HISTORY_DAYS:
        out.append(t)
        t -= dt.timedelta(days=step)
    return out


def _examples(groups: dict[tuple, list[Purchase]], ctx: Context, t: dt.date,
              horizon: int) -> tuple[list[dict], list[int]]:
    """Every unit that had bought before t: its features and whether it bought in [t, t + horizon)."""
    feats, labels = [], []
    for key, buys in sorted(groups.items()):
        f = features(buys, t, horizon, ctx, key)
        if f is not None:
            f["_fold"] = fold_of(key, buys)
            feats.append(f)
            labels.append(int(bought_within(buys, t, horizon)))
    return feats, labels


def fold_of(key: tuple, buys: list[Purchase]) -> int:
    """The cross-validation fold of a unit, from what it is rather than from its id (ids are
    random, so two imports of one file would otherwise fold differently): its first purchase
    (day, amount, products) and, for a pair, the product."""
    import zlib

    first = min(buys, key=lambda p: (p.day, p.amount, p.products))
    return zlib.crc32(repr((first.day.isoformat(), first.amount, first.products, key[1:])).encode()) % FOLDS


def _fit(examples: list[tuple[list[dict], list[int]]], names: tuple[str, ...], C: float, horizon: int,
         kind: str = LOGISTIC) -> Model | None:
    """A Model of family `kind` fitted on the examples of several origins; None when they hold
    one class only."""
    LogisticRegression, StandardScaler, Boosting = sklearn()
    X = [[f[name] for name in names] for feats, _ in examples for f in feats]
    y = [label for _, labels in examples for label in labels]
    if len(set(y)) < 2:
        return None
    if kind == BOOSTING:  # fixed, small settings: no random validation split, so a run repeats exactly
        with one_thread():
            estimator = Boosting(max_iter=100, learning_rate=0.1, early_stopping=False, random_state=0).fit(X, y)
        mean = [sum(column) / len(X) for column in zip(*X, strict=True)]
        return Model(horizon, names, [0.0] * len(names), 0.0, mean, [1.0] * len(names), len(y), sum(y), C,
                     kind=kind, estimator=estimator)
    scaler = StandardScaler().fit(X)
    model = LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(X), y)
    scale = [float(v) if v > 0 else 1.0 for v in scaler.scale_]
    return Model(horizon, names, [float(c) for c in model.coef_[0]], float(model.intercept_[0]),
                 [float(m) for m in scaler.mean_], scale, len(y), sum(y), C, kind=kind)


def candidates(by: str) -> list[tuple[str, float, tuple[str, ...]]]:
    """(family, C, feature names) of every model the inner backtest weighs, in the order of
    preference on a tie: the logistic regression with fewer optional features first and C = 1
    before the others, then the open-deals rule, then gradient boosting on every feature."""
    order = sorted(C_GRID, key=lambda c: (c != 1.0, c))
    out = [(LOGISTIC, C, names_of(by, extra)) for extra in OPTIONAL[by] for C in order]
    return out + [(OPEN_RULE, 1.0, ("open",)), (BOOSTING, 1.0, names_of(by, OPTIONAL[by][-1]))]


def choose_model(by: str, by_origin: dict[dt.date, tuple[list[dict], list[int]]], cutoff: dt.date,
                 horizon: int) -> tuple[str, dict[str, tuple[float, tuple[str, ...]]], dict]:
    """The model family (logistic regression, the open-deals rule, gradient boosting) and its
    settings (for the logistic regression the regularisation C of C_GRID and the optional
    features of OPTIONAL[by]), chosen on data that lies wholly before the cutoff. First choice,
    an inner backtest: fitted on the origins up to cutoff - 2 x horizon (their labels end by
    cutoff - horizon), scored at the origin cutoff - horizon against what happened in
    [cutoff - horizon, cutoff). When that split has no training windows, or its window no buyers
    or no non-buyers: FOLDS-fold cross-validation over the units (each unit's examples in one
    fold) on the training origins themselves. The best (mean) AUC wins; a tie keeps the earlier
    candidate (`candidates`). A logistic regression with DEFAULT_SETTINGS when nothing can be
    measured. Returns the chosen family, the best settings of each family (C, feature names) and
    how the choice was made (with each family's best AUC)."""
    val_t = cutoff - dt.timedelta(days=horizon)
    inner = [ex for t, ex in by_origin.items() if t <= val_t - dt.timedelta(days=horizon)]
    val_feats, val_labels = by_origin.get(val_t, ([], []))
    splits: list[tuple[list[tuple[list[dict], list[int]]], list[dict], list[int]]]
    how: dict[str, str | None]
    if inner and len(set(val_labels)) > 1:
        splits = [(inner, val_feats, val_labels)]
        how = {"origin": val_t.isoformat(), "chosen": "inner backtest"}
    else:
        pairs = [(f, y) for feats, labels in by_origin.values() for f, y in zip(feats, labels, strict=True)]
        fold = [f["_fold"] for f, _ in pairs]
        splits = []
        for k in range(FOLDS):
            rest = [(f, y) for (f, y), i in zip(pairs, fold, strict=True) if i != k]
            held = [(f, y) for (f, y), i in zip(pairs, fold, strict=True) if i == k]
            splits.append(([([f for f, _ in rest], [y for _, y in rest])], [f for f, _ in held],
                           [y for _, y in held]))
        how = {"origin": None, "chosen": f"{FOLDS}-fold cross-validation over the units"}
    best: dict[str, tuple[float, float, tuple[str, ...]]] = {}  # family -> (AUC, C, names)
    for kind, C, names in candidates(by):
        aucs = []
        for train_, feats, labels in splits:
            model = _fit(train_, names, C, horizon, kind)
            a = auc(model.logits(feats), labels) if model else None
            if a is not None:
                aucs.append(a)
        if len(aucs) == len(splits):
            mean = sum(aucs) / len(aucs)
            if kind not in best or mean > best[kind][0] + 1e-9:
                best[kind] = (mean, C, names)
    if not best:
        C, extra = DEFAULT_SETTINGS
        return LOGISTIC, {LOGISTIC: (C, names_of(by, extra))}, {
            "origin": None, "auc": None, "chosen": "default (too little history to choose on)", "model": LOGISTIC,
            "candidates": {}}
    chosen = None
    for kind in (LOGISTIC, OPEN_RULE, BOOSTING):  # the order of preference on a tie
        if kind in best and (chosen is None or best[kind][0] > best[chosen][0] + 1e-9):
            chosen = kind
    assert chosen is not None
    return chosen, {kind: (C, names) for kind, (_, C, names) in best.items()}, {
        **how, "auc": round(best[chosen][0], 3), "model": chosen,
        "candidates": {kind: round(a, 3) for kind, (a, _, _) in best.items()}}


def train(groups: dict[tuple, list[Purchase]], ctx: Context, cutoff: dt.date, horizon: int,
          others: bool = False) -> Model:
    """Fit the model family and settings the inner backtest chose (choose_model) on the rolling
    origins before the cutoff; with `others`, also the best of each other family (Model.others)."""
    sklearn()
    by = "product" if groups and len(next(iter(groups))) == 2 else "client"
    by_origin = {t: _examples(groups, ctx, t, horizon) for t in origins(ctx.start, cutoff, horizon)}
    kind, settings, how = choose_model(by, by_origin, cutoff, horizon)
    examples = list(by_origin.values())
    model = _fit(examples, settings[kind][1], settings[kind][0], horizon, kind)
    if model is None:
        raise UsageError.about(("horizon", "cutoff"), "not enough history to learn from before {cutoff}: the "
                               "training windows need purchases before them and both buyers and non-buyers within "
                               "{horizon} days after them (a shorter {0} or a later {1} may help)",
                               cutoff=cutoff.isoformat(), horizon=horizon)
    model.validation = {**how, "C": model.C, "features": list(model.names)}
    if others:
        for other in (LOGISTIC, BOOSTING):
            C, names = settings.get(other, (DEFAULT_SETTINGS[0], names_of(by, OPTIONAL[by][-1] if other == BOOSTING
                                                                          else DEFAULT_SETTINGS[1])))
            fitted = _fit(examples, names, C, horizon, other) if other != kind else None
            if fitted is not None:
                model.others[other] = fitted
    return model


def _days(n: int, pattern: str) -> str:
    return pattern.format(f"{n} day" if n == 1 else f"{n} days")


REASON = {
    "recency": lambda f: "last bought " + _days(f["days_since_last"], "{} ago"),
    "frequency": lambda f: f"{f['purchases']} purchase{'s' if f['purchases'] != 1 else ''}",
    "monetary": lambda f: f"spent {f['spent']:,.0f}",
    "rate": lambda f: f"about {f['rate']:.1f} purchases per {f['horizon']} days",
    "cycle": lambda f: ("no buying cycle yet" if f["interval"] is None else
                        f"buys every ~{f['interval']} days, next due "
                        + (_days(f["due_in"], "in {}") if f["due_in"] >= 0 else _days(-f["due_in"], "{} ago"))),
    "season": lambda f: "bought in this season before" if f["season_hits"] else "never bought in this season",
    "open": lambda f: ("no open deal" if not f["open"] else
                       f"{f['open']} open deal{'s' if f['open'] != 1 else ''} in the pipeline"),
    "recent": lambda f: f"{f['recent']} purchase{'s' if f['recent'] != 1 else ''} in the last {f['horizon']} days",
    "client_rate": lambda f: f"the client made {f['client_purchases']} purchases in all",
    "share": lambda f: f"in {f['share']}% of the client's purchases",
    "product_rate": lambda f: f"the product was bought {f['product_purchases']} times by all clients",
}


def reasons(model: Model, f: dict, top: int = 3, top_down: int = 2) -> list[dict]:
    """The features that raised the score most (up to `top`, largest first), then those that
    lowered it most (up to `top_down`), each with its contribution and its text; `direction` up
    or down. A score is never explained by what held it back alone."""
    facts = f["_facts"]
    contrib = [(k, round(v, 3)) for k, v in model.contributions(f).items()]
    up = sorted((kv for kv in contrib if kv[1] > 0), key=lambda kv: -kv[1])[:top]
    down = sorted((kv for kv in contrib if kv[1] < 0), key=lambda kv: kv[1])[:top_down]
    return [{"feature": k, "contribution": v, "text": REASON[k](facts), "direction": direction}
            for direction, ranked in (("up", up), ("down", down)) for k, v in ranked]


def reason_text(items: list[dict]) -> str:
    """`raised by: A (+0.74); B (+0.44) | lowered by: C (-0.34)`."""
    parts = []
    for direction, label in (("up", "raised by"), ("down", "lowered by")):
        said = [f"{r['text']} ({r['contribution']:+.2f})" for r in items if r["direction"] == direction]
        if said:
            parts.append(f"{label}: " + "; ".join(said))
    return " | ".join(parts) or "no feature moves it from an average unit's"


# -- scoring now ------------------------------------------------------------------------------------------
def score_units(model: Model, groups: dict[tuple, list[Purchase]], ctx: Context,
                t: dt.date) -> list[tuple[tuple, float, dict]]:
    out = []
    for key, buys in groups.items():
        f = features(buys, t, model.horizon, ctx, key)
        if f is not None:
            out.append((key, model.score(f), f))
    out.sort(key=lambda row: (-row[1], row[0]))
    return out


def repeat(s: Session, horizon: int, top: int, by: str = "client") -> tuple[list[dict], Model]:
    """The top units by probability of buying within the horizon from today, with reasons."""
    sklearn()  # fail fast, before reading the repository
    h = history(s)
    today = s.now.astimezone(s.now.tzinfo).date()
    if h.first_day is None:
        raise UsageError(i18n._("predict: no won deals to learn from"))
    newest = max(p.day for p in h.purchases)
    if (today - newest).days > horizon:
        s.alert(i18n._("the newest purchase is from {newest}, {days} days before {today}, longer ago than the "
                       "{horizon}-day horizon: every client looks lapsed and the scores say little (import newer "
                       "won deals, or score as of an earlier day)").format(
            newest=newest.isoformat(), days=(today - newest).days, today=today.isoformat(), horizon=horizon))
    groups, ctx = units(h, by), context(h, by)
    model = train(groups, ctx, today, horizon)
    client_best: dict[str, str] = {}
    if by == "client":
        pairs, pctx = units(h, "product"), context(h, "product")
        for key, _, _ in score_units(model_for_products(pairs, pctx, today, horizon), pairs, pctx, today):
            client_best.setdefault(key[0], key[1])
    rows = []
    for rank, (key, p, f) in enumerate(score_units(model, groups, ctx, today)[:top], 1):
        why = reasons(model, f)
        rows.append({
            "rank": rank, "client": key[0], "client_name": h.names.get(key[0], key[0]),
            **({"product": h.product_names.get(key[1], key[1])} if by == "product" else
               {"top_product": h.product_names.get(client_best.get(key[0], ""), client_best.get(key[0]))}),
            "score": Decimal(str(round(p, 3))), "purchases": f["_facts"]["purchases"],
            "last_purchase": f["_facts"]["last"], "reasons": reason_text(why),
            **{label: [{k: r[k] for k in ("feature", "contribution", "text")} for r in why if r["direction"] == d]
               for label, d in (("raised_by", "up"), ("lowered_by", "down"))},
            "contributions": {k: round(v, 3) for k, v in model.contributions(f).items()},
        })
    return rows, model


def model_for_products(pairs: dict, ctx: Context, today: dt.date, horizon: int) -> Model:
    """The client x product model (for a client's most likely product); when there is too
    little to learn from, a model that ranks the products by how often they were bought."""
    try:
        return train(pairs, ctx, today, horizon)
    except UsageError:
        n = len(PAIR_FEATURES)
        coef = [1.0 if name == "frequency" else 0.0 for name in PAIR_FEATURES]
        return Model(horizon, PAIR_FEATURES, coef, 0.0, [0.0] * n, [1.0] * n, 0, 0)


# -- --create -----------------------------------------------------------------------------------------------
def period_key(today: dt.date, horizon: int) -> str:
    """The horizon-long window (counted from 1970-01-01) that today falls in: one deal per client
    and window, however often --create runs."""
    epoch = dt.date(1970, 1, 1)
    start = epoch + dt.timedelta(days=((today - epoch).days // horizon) * horizon)
    return f"{start:%Y%m%d}"


def _product_tag(name: str) -> str:
    """A product in a deal id: 8 hex digits of its casefolded name (names may hold anything)."""
    import hashlib

    return hashlib.sha1(name.casefold().encode("utf-8")).hexdigest()[:8]


def create(s: Session, rows: list[dict], horizon: int, pipeline: str | None = None,
           stage: str | None = None) -> list[dict]:
    """Open a deal for each scored row (deals.add, create-only id pred-<client>-<h>d-<window>, or
    pred-<client>-<product tag>-<h>d-<window> for a client x product row, with that product's row
    of the client's latest won deal holding it) unless the client still has an open deal from an
    earlier prediction (of that product, for a product row). Returns the rows with `deal` and
    `result` (created | exists | skipped)."""
    from dealcli import deals, generators
    from dealcli.model import ProductRow

    today = s.now.astimezone(s.now.tzinfo).date()
    key = period_key(today, horizon)
    tz = s.now.tzinfo
    with s.repo.lock():
        h = history(s)
        for row in rows:
            client = row["client"]
            product = row.get("product")  # a client x product row
            wanted = None if product is None else product.casefold()
            tag = "" if product is None else f"{_product_tag(product)}-"
            deal_id = f"pred-{client}-{tag}{horizon}d-{key}"
            row["deal"] = deal_id
            records = h.records.get(client, [])
            if s.repo.exists("deals", deal_id):
                row["result"] = "exists"
                continue
            if any(r.get("status") == "open" and isinstance(r.get("prediction"), dict)
                   and (wanted is None or str(r["prediction"].get("product", "")).casefold() == wanted)
                   for r in records):
                row["result"] = "skipped"
                continue

            def holds(p, wanted: str | None = wanted) -> bool:
                return isinstance(p, dict) and (wanted is None or str(p.get("name", "")).strip().casefold() == wanted)

            kind = "companies" if s.repo.exists("companies", client) else "contacts"
            bought = [r for r in records if any(holds(p) for p in r.get("products") or [])] or records
            last = generators.last_deal(generators.Client(kind, client, {}, bought), tz) or {}
            rows_ = [ProductRow.from_dict(p, ("products", i)) for i, p in enumerate(last.get("products") or [])
                     if holds(p)]
            spec = deals.DealSpec(
                title=f"Repeat sale: {row['client_name']}" + (f", {product}" if product else ""),
                pipeline=pipeline, stage=stage,
                company=client if kind == "companies" else last.get("company"),
                contacts=[client] if kind == "contacts" else list(last.get("contacts") or []),
                product_rows=rows_, currency=last.get("currency") if rows_ else None,
                responsible=last.get("responsible"),
                extra={"prediction": {"client": client, **({"product": product} if product is not None else {}),
                                      "horizon": f"{horizon}d", "period": key,
                                      "score": row["score"],  # exact decimals: a float is no value a record holds
                                      "reasons": row["reasons"]}},
            )
            deals.add(s, spec, deal_id=deal_id, via="predict")
            row["result"] = "created"
    return rows


# -- backtest -----------------------------------------------------------------------------------------------
def auc(scores: list[float], labels: list[int]) -> float | None:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half); None when
    every label is the same."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def at_k(scores: list[float], labels: list[int], k: int) -> tuple[float, float]:
    """precision@k and recall@k of the k best scores. Units tied at the k-th place share the
    remaining places: they count with the share of buyers among them (the expected value
    under a random order of the tie), so no id order decides a baseline's figure."""
    total = sum(labels)
    pairs = sorted(zip(scores, labels, strict=True), key=lambda sl: -sl[0])
    k = min(k, len(pairs))
    hits, taken, i = 0.0, 0, 0
    while taken < k:
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        group = pairs[i:j]
        room = min(k - taken, len(group))
        hits += room * sum(y for _, y in group) / len(group)
        taken += room
        i = j
    return (hits / k if k else 0.0), (hits / total if total else 0.0)


def backtest(s: Session, cutoff: dt.date, horizon: int, k: int, by: str = "client") -> dict:
    """Train before `cutoff`, score the units that had bought before it, and measure against
    who bought in [cutoff, cutoff + horizon), in one run: the model (the family chosen before
    the cutoff, named in the row's `model`), the best of each other family, the open-deals rule
    (most deals open at the cutoff) and the two naive baselines."""
    sklearn()
    h = history(s)
    if h.first_day is None:
        raise UsageError(i18n._("predict: no won deals to learn from"))
    groups, ctx = units(h, by), context(h, by)
    if max(p.day for p in h.purchases) < cutoff:
        s.notice(i18n._("no purchase on or after {cutoff_isoformat}: every unit counts as not buying").format(
            cutoff_isoformat=cutoff.isoformat()))
    model = train(groups, ctx, cutoff, horizon, others=True)
    keys, feats, labels = [], [], []
    for key, buys in sorted(groups.items()):
        f = features(buys, cutoff, horizon, ctx, key)
        if f is None:
            continue
        keys.append(key)
        feats.append(f)
        labels.append(int(bought_within(buys, cutoff, horizon)))
    methods: dict[str, tuple[str, list[float]]] = {"model": (model.kind, model.scores(feats))}
    for kind, other in model.others.items():
        methods[kind] = ("", other.scores(feats))
    methods.update({
        OPEN_RULE: ("", [f["_facts"]["open"] for f in feats]),
        "most recent buyers": ("", [-f["_facts"]["days_since_last"] for f in feats]),
        "most frequent buyers": ("", [f["_facts"]["purchases"] for f in feats]),
    })
    rows = []
    for name, (kind, scores) in methods.items():
        p, r = at_k(scores, labels, k)
        a = auc(scores, labels)
        rows.append({"method": name, "model": kind, "auc": None if a is None else Decimal(str(round(a, 3))),
                     "precision_at_k": Decimal(str(round(p, 3))), "recall_at_k": Decimal(str(round(r, 3))),
                     "k": k})
    return {"cutoff": cutoff.isoformat(), "horizon_days": horizon, "by": by, "units": len(keys),
            "buyers": sum(labels), "training_examples": model.examples, "rows": rows,
            "coefficients": {} if model.estimator is not None else dict(zip(
                model.names, (round(c, 3) for c in model.coef), strict=True)),
            "settings": model.validation or {}}
