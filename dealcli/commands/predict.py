"""`dealcli predict ...`: repeat-sales prediction and its backtest (see docs/automation.md).
scikit-learn is an optional extra, imported only by the core module dealcli.predict."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands.options import Format, FormatOpt, PipelineOpt, print_ids, session
from dealcli import i18n

app = typer.Typer(help="Repeat-sales prediction: who is likely to buy again soon, and why "
                  "(needs pip install 'dealcli[predict]').", no_args_is_help=True)


class By(str, enum.Enum):
    client = "client"
    product = "product"


HorizonOpt = Annotated[str, typer.Option("--horizon", metavar="DAYS", help="The window to predict: 90d, 12w, 3m "
                                         "(30 days each) or 1y.")]
ByOpt = Annotated[By, typer.Option("--by", help="Score clients, or client x product pairs.", case_sensitive=False)]


@app.command("repeat")
def repeat(
    ctx: typer.Context,
    horizon: HorizonOpt = "90d",
    top: Annotated[int, typer.Option("--top", metavar="K", help="How many to list (and create deals for).")] = 20,
    by: ByOpt = By.client,
    create: Annotated[bool, typer.Option("--create", help="Open a deal for each listed client, or client and "
                                         "product with --by product (once per horizon window; a client with "
                                         "an open predicted deal, of that product with --by product, is "
                                         "passed over); prints the new deal ids.")] = False,
    pipeline: PipelineOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Stage of the created deals.")] = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="Output format (default: a table; "
                                                    "ids of the created deals with --create).",
                                                    case_sensitive=False)] = None,
) -> None:
    """Score every client who bought before (won deals) for buying again within the horizon
    from recency, frequency, money spent, buying rate, buying cycle and season, and list the
    top K with the reasons: the features that raised the score, then those that lowered it,
    each with its contribution to the log-odds. Warns when the newest purchase is older than
    the horizon."""
    from dealcli import predict
    from dealcli.views import render
    from dealcli.errors import UsageError

    s = session(ctx)
    if top < 1:
        raise UsageError(i18n._("--top {top}: must be 1 or more").format(top=top))
    days = predict.parse_horizon(horizon)
    rows, model = predict.repeat(s, days, top, by.value)
    s.notice(i18n._("model: {model}").format(model=chosen_text(model.validation or {})))
    if create:
        rows = predict.create(s, rows, days, pipeline, stage)
    fmt = format.value if format else ("ids" if create else "table")
    if fmt == "ids":
        print_ids(r["deal"] if create else r["client"] for r in rows if not create or r["result"] == "created")
        return
    columns = ["rank", "client", "client_name", "top_product" if by is By.client else "product", "score",
               "purchases", "last_purchase", "reasons"]
    if create:
        columns += ["deal", "result"]
    if fmt in ("json", "jsonl", "yaml"):
        columns += ["raised_by", "lowered_by", "contributions"]
    render.emit(rows, fmt, columns)


@app.command("backtest")
def backtest(
    ctx: typer.Context,
    cutoff: Annotated[str, typer.Option("--cutoff", metavar="DATE", help="Train on what happened before this "
                                        "day; score against the horizon after it.", show_default=False)],
    horizon: HorizonOpt = "90d",
    k: Annotated[int, typer.Option("--k", metavar="K", help="Cut-off rank for precision@k and recall@k.")] = 20,
    by: ByOpt = By.client,
    format: FormatOpt = Format.table,
) -> None:
    """Measure the model against what happened after --cutoff: AUC, precision@k and recall@k,
    beside the best of the other model families (logistic regression, gradient boosting), the
    open-deals rule (deals open at the cutoff) and two naive baselines (most recent buyers, most
    frequent buyers), all in the same run; stderr says which family was chosen, on data before
    the cutoff. Units are the clients (or client x product pairs) that bought before the cutoff;
    a unit is a buyer when it has a won deal closed within the horizon after it."""
    from dealcli import predict, timeutil
    from dealcli.views import render
    from dealcli.errors import UsageError

    s = session(ctx)
    if k < 1:
        raise UsageError(i18n._("--k {k}: must be 1 or more").format(k=k))
    try:
        day = timeutil.parse_date(cutoff, s.now)
    except timeutil.DateError as exc:
        raise UsageError(i18n._("--cutoff: {exc}").format(exc=exc)) from None
    result = predict.backtest(s, day, predict.parse_horizon(horizon), k, by.value)
    s.notice(i18n._("cutoff {result_cutoff}, horizon {result_horizon_days} days, by {result_by}: "
             "{result_units} units, {result_buyers} bought; model trained on "
             "{result_training_examples} examples").format(
                 result_cutoff=result['cutoff'], result_horizon_days=result['horizon_days'], result_by=result['by'],
                 result_units=result['units'], result_buyers=result['buyers'],
                 result_training_examples=result['training_examples']))
    s.notice(i18n._("model settings: {settings}").format(settings=chosen_text(result['settings'])))
    render.emit(result["rows"], format.value, ["method", "model", "auc", "precision_at_k", "recall_at_k", "k"])


def chosen_text(how: dict) -> str:
    """`gradient boosting, optional features: open; chosen by inner backtest at 2017-07-03 (AUC
    0.81; logistic regression 0.79, deals open at the cutoff 0.78)`."""
    from dealcli import predict

    kind = how.get("model", predict.LOGISTIC)
    extra = [name for name in how.get("features", ()) if name not in predict.PAIR_FEATURES]
    if kind == predict.OPEN_RULE:
        what = kind
    else:
        what = (f"{kind}, C={how['C']:g}" if kind == predict.LOGISTIC else kind) + \
            i18n._(", optional features: {features}").format(features=", ".join(extra) or i18n._("none"))
    others = [f"{k} {a}" for k, a in how.get("candidates", {}).items() if k != kind]
    return (what + i18n._("; chosen by {chosen}").format(chosen=how['chosen'])
            + (i18n._(" at {origin}").format(origin=how["origin"]) if how.get("origin") else "")
            + (f" (AUC {how['auc']}" + (f"; {', '.join(others)}" if others else "") + ")"
               if how.get("auc") is not None else ""))
