"""`dealcli report`: funnel, win rate, lost reasons, time in stage and to close, won revenue,
forecast and activities per person; on a terminal with bar charts, as data with -f, or as one
HTML page with --html."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands.options import AsOfOpt, Format, HtmlOpt, PipelineOpt, session
from dealcli.commands.views import ExprArgs, PresetOpt


# every format of `filter` but ids (a report is not a list of deals)
ReportFormat = enum.Enum("ReportFormat", {f.name: f.value for f in Format if f is not Format.ids}, type=str)  # type: ignore[misc]  # members derived from Format


def report_cmd(
    ctx: typer.Context,
    exprs: ExprArgs = None,
    pipeline: PipelineOpt = None,
    preset: PresetOpt = None,
    section: Annotated[Optional[list[str]], typer.Option(
        "--section", "-s", metavar="NAME",
        help="Only these sections (repeatable or comma-separated): funnel, win-rate, lost-reasons, "
             "stage-time, time-to-close, won-revenue, forecast, activities. Default: all.")] = None,
    as_of: AsOfOpt = None,
    html: HtmlOpt = None,
    format: Annotated[ReportFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="table (bar charts fitting the terminal), json or yaml (one object, a key per section), "
             "jsonl, csv or tsv (one row per line of every section, `section` first).")] = ReportFormat["table"],
) -> None:
    """Reports over the selected deals (all without expressions): the funnel from each deal's
    history with the conversion between stages, win rate and lost reasons, average days in each
    stage and to close, won revenue by month, responsible, company and product, the forecast
    (weighted open amount by expected close month) and activities per person. See docs/reports.md.

    \b
      dealcli report --as-of 2025-12-31 --section funnel,forecast
      dealcli report --html report.html
    """
    from dealcli import asof, reports
    from dealcli.views import render

    s = session(ctx)
    past = asof.session(s, as_of)
    if html:
        reports.write_html(past, html, "report", section, exprs, preset, pipeline)
        return
    data = reports.build(past, section, exprs, preset, pipeline)
    fmt = format.value
    if fmt == "table":
        from dealcli.views import report as report_text

        render.write(report_text.text(data))
    elif fmt in ("json", "yaml"):
        render.emit_record(data, fmt)
    else:
        rows = reports.rows(data)
        render.emit(rows, fmt, render.columns_of(rows, None) if fmt != "jsonl" else None)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
