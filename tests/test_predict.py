"""`dealcli predict`: the metrics by hand, the backtest's numbers on a small fixture computed by
hand, a generated history with known purchase cycles the model must recover, explanations,
idempotent --create, and the clear error when scikit-learn is missing."""

import datetime as dt
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys

import pytest

from dealcli import deals, predict
from dealcli.session import Session
from conftest import json_exact_text as loads


NOW = "2026-03-10T12:00:00+00:00"


# -- metrics -----------------------------------------------------------------------------------------
def test_auc_is_the_mann_whitney_statistic_with_ties_counted_half():
    assert predict.auc([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 0]) == pytest.approx(5 / 6)
    assert predict.auc([1, 1, 0], [1, 0, 0]) == pytest.approx(0.75)
    assert predict.auc([3, 2, 1], [1, 1, 1]) is None


def test_precision_and_recall_at_k_share_a_tie_at_the_cut():
    assert predict.at_k([5, 4, 3, 2, 1], [1, 0, 1, 0, 0], 2) == (0.5, 0.5)
    assert predict.at_k([5, 4, 3, 2, 1], [1, 0, 1, 0, 0], 3) == (2 / 3, 1.0)
    # 3 first (a buyer), then 2 and 2 tied for the one place left, one of them a buyer: 1.5 hits
    assert predict.at_k([3, 2, 2, 1], [1, 1, 0, 0], 2) == (0.75, 0.75)
    assert predict.at_k([1, 1, 1], [1, 0, 0], 9) == (1 / 3, 1.0)  # k beyond the units: all of them


def test_horizon_text():
    assert [predict.parse_horizon(x) for x in ("90d", "12w", "3m", "1y", "45")] == [90, 84, 90, 365, 45]
    with pytest.raises(predict.UsageError):
        predict.parse_horizon("soon")


def test_features_of_a_regular_buyer():
    day = dt.date(2026, 1, 1)
    buys = [predict.Purchase("c", day + dt.timedelta(days=30 * i), 100.0, ("x",)) for i in range(4)]
    ctx = predict.Context(day)
    f = predict.features(buys, dt.date(2026, 4, 10), 30, ctx)
    assert f["_facts"]["purchases"] == 4 and f["_facts"]["days_since_last"] == 9
    assert f["_facts"]["interval"] == 30 and f["_facts"]["due_in"] == 21 and f["cycle"] == 1.0
    late = predict.features(buys, dt.date(2026, 7, 1), 30, ctx)
    assert 0 < late["cycle"] < 0.2  # overdue by about two cycles
    assert predict.features(buys, day, 30, ctx) is None  # nothing bought before


# -- the backtest on a small fixture, by hand -----------------------------------------------------------
def bought(cli, company_id, day):
    deal_id = cli.ok("--quiet", "deal", "add", "Order", "--company", company_id, "--product", "Widget:10",
                     now=f"{day}T10:00:00+00:00").strip()
    cli.ok("deal", "close", deal_id, "--won", now=f"{day}T10:00:00+00:00")


HAND = {  # company -> days of its won deals; cutoff 2026-03-01, horizon 30 days
    "A": ["2025-09-15", "2025-10-15", "2025-11-15", "2025-12-15", "2026-01-15", "2026-02-15", "2026-03-15"],
    "B": ["2025-09-10", "2025-11-10", "2026-01-10", "2026-03-10"],
    "C": ["2025-09-20"],
    "D": ["2025-10-05", "2026-02-25"],
    "E": ["2026-02-27", "2026-03-20"],
}


@pytest.fixture
def hand(cli):
    """HAND's purchases, plus a deal of A's begun 2026-02-20 and still open, and one of C's begun
    2026-02-01 and lost 2026-02-10: at the 2026-03-01 cutoff only A has an open deal."""
    ids = {}
    for name, days in HAND.items():
        ids[name] = company_id = cli.ok("company", "add", name).strip()
        for day in days:
            bought(cli, company_id, day)
    cli.ok("--quiet", "deal", "add", "Talks", "--company", ids["A"], now="2026-02-20T10:00:00+00:00")
    lost = cli.ok("--quiet", "deal", "add", "Talks", "--company", ids["C"], now="2026-02-01T10:00:00+00:00").strip()
    cli.ok("deal", "close", lost, "--lost", "--reason", "budget", now="2026-02-10T10:00:00+00:00")
    return ids


def test_backtest_numbers_on_a_small_fixture_computed_by_hand(cli, hand):
    proc = cli("predict", "backtest", "--cutoff", "2026-03-01", "--horizon", "30d", "--k", "2", "-f", "json",
               now="2026-06-01T00:00:00+00:00")
    assert proc.returncode == 0, proc.stderr
    rows = {r["method"]: r for r in loads(proc.stdout)}
    # buyers after the cutoff: A, B, E; not: C, D.
    # most recent (days since last: E 2, D 4, A 14, B 50, C 162): pos>neg pairs E>D,E>C,A>C,B>C = 4/6;
    # top 2 = E, D: precision 1/2, recall 1/3
    assert rows["most recent buyers"] == {"method": "most recent buyers", "model": "", "auc": "0.667",
                                          "precision_at_k": "0.5", "recall_at_k": "0.333", "k": 2}
    # most frequent (A 6, B 3, D 2, C 1, E 1): A>D,A>C,B>D,B>C and E=C half = 4.5/6; top 2 = A, B
    assert rows["most frequent buyers"] == {"method": "most frequent buyers", "model": "", "auc": "0.75",
                                            "precision_at_k": "1.0", "recall_at_k": "0.667", "k": 2}
    # deals open at the cutoff (A 1, the others 0): A>C, A>D, and B, E tied with C, D = (2 + 4/2)/6;
    # top 2 = A and one of the four tied at 0 (two of them buyers): 1.5 hits
    assert rows["deals open at the cutoff"] == {"method": "deals open at the cutoff", "model": "", "auc": "0.667",
                                                "precision_at_k": "0.75", "recall_at_k": "0.5", "k": 2}
    assert 0 <= float(rows["model"]["auc"]) <= 1
    assert "5 units, 3 bought" in proc.stderr
    # the model row names the family chosen before the cutoff; the other families stand beside it
    chosen = rows["model"]["model"]
    assert chosen in (predict.LOGISTIC, predict.OPEN_RULE, predict.BOOSTING)
    assert f"model settings: {chosen}" in proc.stderr and "chosen by" in proc.stderr
    assert set(rows) == {"model", "deals open at the cutoff", "most recent buyers", "most frequent buyers"} | (
        {predict.LOGISTIC, predict.BOOSTING} - {chosen})
    table = cli.ok("predict", "backtest", "--cutoff", "2026-03-01", "--horizon", "30d", "--k", "2",
                   now="2026-06-01T00:00:00+00:00")
    assert "gradient boosting" in table and "deals open at the cutoff" in table


# -- a generated history with known purchase cycles ------------------------------------------------------
PERIODS = (14, 30, 45, 60, 90, 120)


def make_cycles(repo, clients=36, seed=7):
    """Companies that buy every P days (P from PERIODS, random phase, +-1 day jitter) from
    2025-01-01 until NOW. Returns {company id: (period, next purchase day)}."""
    rnd = random.Random(seed)
    start, now = dt.date(2025, 1, 1), dt.date(2026, 3, 10)
    truth = {}
    for i in range(clients):
        period = PERIODS[i % len(PERIODS)]
        day = start + dt.timedelta(days=rnd.randrange(period))
        company_id = None
        while day < now:
            s = Session(repo_root=repo, as_user="gen", now_text=f"{day}T10:00:00+00:00", quiet=True)
            spec = deals.DealSpec(title=f"Order {i}", company=company_id or f"Cycle {i:02d}", stage="won",
                                  products=[f"Part {i % 3}:100"])
            company_id = deals.add(s, spec, via="test").company
            day += dt.timedelta(days=period + rnd.choice((-1, 0, 1)))
        truth[company_id] = (period, day)
    return truth


@pytest.fixture(scope="module")
def cycles_template(tmp_path_factory):
    from dealcli import repo_init

    root = tmp_path_factory.mktemp("cycles") / "repo"
    repo_init.init(root, timezone="UTC")
    return root, make_cycles(root)


@pytest.fixture
def cycles(repo, cycles_template):
    """The generated history (built once per module), copied into this test's repository."""
    root, truth = cycles_template
    shutil.copytree(root, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".dealcli"))
    return truth


def test_the_model_recovers_who_is_due(cli, cycles):
    horizon = 30
    due = {c for c, (_, nxt) in cycles.items() if (nxt - dt.date(2026, 3, 10)).days < horizon}
    rows = json.loads(cli.ok("predict", "repeat", "--horizon", "30d", "--top", str(len(due)), "-f", "json"))
    picked = {r["client"] for r in rows}
    assert len(picked & due) >= 0.9 * len(due), (len(picked & due), len(due))
    # the reasons say why: a slow buyer who is due scores by the time since its last purchase,
    # a fast buyer by its buying rate
    slow_due = [r for r in rows if r["client"] in due and cycles[r["client"]][0] >= 60]
    assert slow_due and all(r["contributions"]["recency"] > 1 for r in slow_due)
    assert all(re.search(r"last bought \d+ days ago \(\+", r["reasons"]) for r in slow_due)
    fast = [r for r in rows if cycles[r["client"]][0] == 14]
    assert fast and all(r["reasons"].startswith("raised by: about 2.")
                        and max(r["contributions"], key=r["contributions"].get) == "rate" for r in fast)
    pairs = loads(cli.ok("predict", "repeat", "--by", "product", "--top", "3", "-f", "json"))
    assert [r["product"] for r in pairs] == [f"Part {int(r['client_name'][-2:]) % 3}" for r in pairs]
    assert set(pairs[0]["contributions"]) == set(predict.PAIR_FEATURES)
    for r in rows:
        assert set(r["contributions"]) == set(predict.FEATURES)
        top = max(r["contributions"].items(), key=lambda kv: kv[1])
        assert r["reasons"].endswith(")") and f"({top[1]:+.2f})" in r["reasons"].split(";")[0]


def test_backtest_on_cycles_beats_both_baselines(cli, cycles):
    proc = cli("predict", "backtest", "--cutoff", "2026-01-15", "--horizon", "30d", "--k", "12", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["method"]: r for r in loads(proc.stdout)}
    for baseline in ("most recent buyers", "most frequent buyers"):
        assert float(rows["model"]["auc"]) > float(rows[baseline]["auc"])
        assert float(rows["model"]["precision_at_k"]) >= float(rows[baseline]["precision_at_k"])


def test_create_opens_deals_once_per_horizon_window(cli, repo, cycles):
    made = cli.ok("predict", "repeat", "--horizon", "30d", "--top", "3", "--create").split()
    assert len(made) == 3 and all(m.startswith("pred-") and m.endswith("-30d-20260308") for m in made)
    deal = loads(cli.ok("deal", "show", made[0], "-f", "json"))
    assert deal["prediction"]["horizon"] == "30d" and deal["prediction"]["client"] == deal["company"]
    assert deal["products"] and deal["status"] == "open"
    history = loads(cli.ok("deal", "history", made[0], "-f", "json"))
    assert history[0]["via"] == "predict"
    assert cli.ok("predict", "repeat", "--horizon", "30d", "--top", "3", "--create") == ""
    later = cli("predict", "repeat", "--horizon", "30d", "--top", "40", "--create", "-f", "json",
                now="2026-04-08T12:00:00+00:00")  # the next 30-day window, every client listed
    assert later.returncode == 0, later.stderr
    results = {r["client"]: r["result"] for r in loads(later.stdout)}
    assert "skipped" in results.values()
    for m in made:  # their predicted deals are still open: passed over in the next window
        client = loads(cli.ok("deal", "show", m, "-f", "json"))["company"]
        if client in results:
            assert results[client] == "skipped"
    assert len([p for p in (repo / "deals").glob("pred-*.yaml")]) == 3 + list(results.values()).count("created")


def test_without_scikit_learn_predict_says_how_to_install_it(repo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_DIR": str(repo), "DEALCLI_NOW": NOW})
    code = "import sys; sys.modules['sklearn'] = None; from dealcli import cli; cli.main(sys.argv[1:])"
    proc = subprocess.run([sys.executable, "-c", code, "predict", "repeat"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "pip install 'dealcli[predict]'" in proc.stderr
    code = ("import sys; from dealcli import cli\ntry: cli.main(['--version'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('sklearn', 'numpy', 'dealcli.predict') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().endswith("[]")  # start-up of other commands does not load the model


def test_predict_without_won_deals_or_with_a_bad_horizon_is_a_usage_error(cli):
    cli.ok("--quiet", "deal", "add", "Open only", "--company", "Acme")
    proc = cli("predict", "repeat")
    assert proc.returncode == 2 and "no won deals" in proc.stderr
    proc = cli("predict", "backtest", "--cutoff", "2026-01-01", "--horizon", "soon")
    assert proc.returncode == 2 and "--horizon 'soon'" in proc.stderr


# -- the pipeline feature and the settings chosen before the cutoff -----------------------------------------
def test_open_counts_the_deals_open_at_t_only():
    day = dt.date(2026, 1, 1)
    buys = [predict.Purchase("c", day, 100.0, ("x",))]
    ctx = predict.Context(day, spans={("c",): [(day, day + dt.timedelta(days=10)),  # closed before t
                                               (day + dt.timedelta(days=5), None),  # still open
                                               # closes after t
                                               (day + dt.timedelta(days=8), day + dt.timedelta(days=20)),
                                               (day + dt.timedelta(days=30), None)]})  # begins after t
    f = predict.features(buys, day + dt.timedelta(days=15), 30, ctx, ("c",))
    assert f["_facts"]["open"] == 2 and f["open"] == pytest.approx(math.log1p(2))
    assert predict.REASON["open"](f["_facts"]) == "2 open deals in the pipeline"


def pipeline_history(end=None, seed=3):
    """40 clients whose deals stay open 5 to 25 days and are won two times in three: an open
    deal says a purchase is coming. With `end`, the history as it stood on that day."""
    rnd = random.Random(seed)
    purchases, spans = [], {}
    for i in range(40):
        client = f"c{i:02d}"
        began = dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randrange(60))
        while began < dt.date(2026, 4, 1):
            closed = began + dt.timedelta(days=rnd.randrange(5, 26))
            won = rnd.random() < 2 / 3
            if end is None or began < end:
                still_open = end is not None and closed >= end
                spans.setdefault(client, []).append((began, None if still_open else closed, ("x",)))
                if won and not still_open:
                    purchases.append(predict.Purchase(client, closed, 100.0, ("x",)))
            began = closed + dt.timedelta(days=rnd.randrange(20, 120))
    purchases.sort(key=lambda p: (p.day, p.client))
    return predict.History(purchases, spans=spans)


def test_the_settings_are_chosen_before_the_cutoff_and_nothing_after_it_is_seen():
    cutoff, horizon = dt.date(2026, 1, 1), 30
    full = pipeline_history()
    model = predict.train(predict.units(full, "client"), predict.context(full, "client"), cutoff, horizon)
    assert {k: model.validation[k] for k in ("origin", "chosen", "model")} == {
        "origin": "2025-12-02", "chosen": "inner backtest", "model": predict.LOGISTIC}
    assert set(model.validation["candidates"]) == {predict.LOGISTIC, predict.OPEN_RULE, predict.BOOSTING}
    assert "open" in model.names  # the pipeline is what predicts here, and the inner backtest sees it
    ctx = predict.context(full, "client")
    f = predict.features(predict.units(full, "client")[("c00",)], cutoff, horizon, ctx, ("c00",))
    assert set(model.contributions(f)) == set(model.names)  # the reasons cover the chosen features
    moved = {name for name, c in model.contributions(f).items() if round(c, 3) != 0}
    assert {r["feature"] for r in predict.reasons(model, f, len(model.names), len(model.names))} == moved
    seen = pipeline_history(end=cutoff)  # the same history, as it stood at the cutoff
    again = predict.train(predict.units(seen, "client"), predict.context(seen, "client"), cutoff, horizon)
    assert (again.names, again.C, again.validation) == (model.names, model.C, model.validation)
    assert again.coef == pytest.approx(model.coef)


# -- issue 26: reasons up and down, stale data, --create --by product ---------------------------------------
def test_reasons_list_what_raised_the_score_apart_from_what_lowered_it():
    day = dt.date(2026, 1, 1)
    buys = [predict.Purchase("c", day + dt.timedelta(days=30 * i), 100.0, ("x",)) for i in range(4)]
    f = predict.features(buys, dt.date(2026, 4, 10), 30, predict.Context(day))
    n = len(predict.FEATURES)
    # recency pulls hardest, downwards; frequency and rate push up: a high score held back
    coef = {"recency": -3.0, "frequency": 0.5, "rate": 0.2}
    model = predict.Model(30, predict.FEATURES, [coef.get(name, 0.0) for name in predict.FEATURES], 5.0,
                          [0.0] * n, [1.0] * n, 0, 0)
    why = predict.reasons(model, f)
    assert [(r["feature"], r["direction"]) for r in why] == [("frequency", "up"), ("rate", "up"), ("recency", "down")]
    text = predict.reason_text(why)
    assert text == ("raised by: 4 purchases (+0.81); about 1.2 purchases per 30 days (+0.24) | "
                    "lowered by: last bought 9 days ago (-6.91)")
    assert predict.reason_text([]) == "no feature moves it from an average unit's"


def test_repeat_lists_raised_and_lowered_reasons_apart(cli, cycles):
    rows = loads(cli.ok("predict", "repeat", "--horizon", "30d", "--top", "12", "-f", "json"))
    for r in rows:
        assert r["raised_by"] or r["lowered_by"]
        up = [float(x["contribution"]) for x in r["raised_by"]]
        down = [float(x["contribution"]) for x in r["lowered_by"]]
        assert all(c > 0 for c in up) and up == sorted(up, reverse=True)
        assert all(c < 0 for c in down) and down == sorted(down)
        if up:
            assert r["reasons"].startswith(f"raised by: {r['raised_by'][0]['text']}")
        if down:
            assert f"lowered by: {r['lowered_by'][0]['text']}" in r["reasons"]
    proc = cli("predict", "repeat", "--horizon", "30d", "--top", "1")
    assert re.search(r"^dealcli: model: (logistic regression|deals open|gradient boosting).*chosen by", proc.stderr,
                     re.M)


def test_stale_data_warns_even_with_quiet(cli, hand):
    fresh = cli("predict", "repeat", "--horizon", "30d", now="2026-04-01T00:00:00+00:00")
    assert fresh.returncode == 0 and "warning" not in fresh.stderr
    stale = cli("-q", "predict", "repeat", "--horizon", "30d", now="2027-01-15T00:00:00+00:00")
    assert stale.returncode == 0, stale.stderr
    assert "dealcli: warning: the newest purchase is from 2026-03-20, 301 days before 2027-01-15, longer ago " \
           "than the 30-day horizon" in stale.stderr


def test_create_works_by_product(cli, repo, cycles):
    rows = loads(cli.ok("predict", "repeat", "--horizon", "30d", "--top", "3", "--by", "product", "-f", "json"))
    made = cli.ok("predict", "repeat", "--horizon", "30d", "--top", "3", "--by", "product", "--create").split()
    assert len(made) == 3 and all(re.fullmatch(r"pred-\w+-[0-9a-f]{8}-30d-20260308", m) for m in made)
    for row, deal_id in zip(rows, made, strict=True):
        deal = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
        assert deal["company"] == row["client"] and deal["status"] == "open"
        assert deal["prediction"]["product"] == row["product"] and deal["title"].endswith(f", {row['product']}")
        assert [p["name"] for p in deal["products"]] == [row["product"]]
    assert cli.ok("predict", "repeat", "--horizon", "30d", "--top", "3", "--by", "product", "--create") == ""
    # the client-level --create passes over a client with an open predicted deal, of any product
    again = loads(cli.ok("predict", "repeat", "--horizon", "30d", "--top", "40", "--create", "-f", "json"))
    predicted = {loads(cli.ok("deal", "show", m, "-f", "json"))["company"] for m in made}
    assert {r["result"] for r in again if r["client"] in predicted} == {"skipped"}
