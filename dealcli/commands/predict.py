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
    create: Annotated[bool, typer.Option("--create", help="Open a deal for each listed client (once per client "
                                         "and horizon window; a client with an open predicted deal is "
                                         "passed over); prints the new deal ids.")] = False,
    pipeline: PipelineOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Stage of the created deals.")] = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="Output format (default: a table; "
                                                    "ids of the created deals with --create).",
                                                    case_sensitive=False)] = None,
) -> None:
    """Score every client who bought before (won deals) for buying again within the horizon
    from recency, frequency, money spent, buying rate, buying cycle and season, and list the
    top K with the reasons: each feature's contribution to the log-odds."""
    from dealcli import predict
    from dealcli.views import render
    from dealcli.errors import UsageError

    s = session(ctx)
    if top < 1:
        raise UsageError(i18n._("--top {top}: must be 1 or more").format(top=top))
    if create and by is not By.client:
        raise UsageError(i18n._("--create goes with --by client"))
    days = predict.parse_horizon(horizon)
    rows, _ = predict.repeat(s, days, top, by.value)
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
        columns.append("contributions")
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
    beside two naive baselines measured in the same run (most recent buyers, most frequent
    buyers). Units are the clients (or client x product pairs) that bought before the cutoff;
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
    how = result["settings"]
    extra = [name for name in how["features"] if name not in predict.PAIR_FEATURES]
    s.notice(i18n._("model settings: C={c:g}, optional features: {features}; chosen by {chosen}").format(
        c=how["C"], features=", ".join(extra) or i18n._("none"), chosen=how["chosen"])
             + (i18n._(" at {origin}").format(origin=how["origin"]) if how["origin"] else "")
             + (f" (AUC {how['auc']})" if how["auc"] is not None else ""))
    render.emit(result["rows"], format.value, ["method", "auc", "precision_at_k", "recall_at_k", "k"])
