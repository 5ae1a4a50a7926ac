"""Top-level views: filter, board, calendar, export (agenda lives with the activities)."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands import complete

from dealcli.commands.options import AsOfOpt, Format, FormatOpt, HtmlOpt, PipelineOpt, session
from dealcli.i18n import _

ExprArgs = Annotated[Optional[list[str]], typer.Argument(
    metavar="EXPR", show_default=False,
    help="Filter expressions FIELD OP VALUE, all of which must hold. OP: = != > >= < <= ~ (contains) "
         "!~. Quote them in the shell: 'amount>=1000' stage=new,preparation close_date=this-month. "
         "See docs/filter.md.")]
PresetOpt = Annotated[Optional[list[str]], typer.Option(
    "--preset", metavar="NAME",
    help="A shipped preset (open, won, lost, mine, no-activity, overdue, closing-this-month, stale) or "
         "a saved filter; repeatable, combined with the expressions.", autocompletion=complete.presets)]
SortOpt = Annotated[Optional[str], typer.Option(
    "--sort", metavar="FIELD,-FIELD", help="Sort keys, - for descending (stable; deals without the "
    "field last).")]


class ByField(str, enum.Enum):
    close_date = "close_date"
    begin = "begin"
    created = "created"


# export: every format of `filter` but the table (a table cannot hold every field)
class ByWhat(str, enum.Enum):
    responsible = "responsible"


ExportFormat = enum.Enum("ExportFormat", {f.name: f.value for f in Format if f is not Format.table},  # type: ignore[misc]
                         type=str)  # members derived from Format


def filter_cmd(
    ctx: typer.Context,
    exprs: ExprArgs = None,
    preset: PresetOpt = None,
    sort: SortOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", help="At most N deals (after "
                                                 "sorting).")] = None,
    columns: Annotated[Optional[str], typer.Option("--columns", metavar="a,b,c", help="Fields to show: "
                                                   "any field, dotted path, custom or computed field "
                                                   "(status, product, next_activity, overdue, "
                                                   "company_name).")] = None,
    save: Annotated[Optional[str], typer.Option("--save", metavar="NAME", help="Also save the presets and "
                                                "expressions as a filter NAME in dealcli.yaml (use it "
                                                "with --preset NAME).")] = None,
    as_of: AsOfOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """List the deals matching every expression.

    Dates are relative to --now: ISO dates, today, yesterday, tomorrow, -7d, +2w, -3m, and
    periods this-week, last-week, this-month, last-month, this-quarter, this-year (= means
    within). `-f ids` feeds any command taking `-`:

      dealcli filter --preset stale -f ids | dealcli deal move - preparation

    With --as-of the deals are as they were then (relative dates read against that moment).
    """
    from dealcli import asof, query
    from dealcli.views import fit, render
    from dealcli.views import listing as views

    s = session(ctx)
    if save:
        query.save_filter(s, save, query.expand(s, preset, exprs))
    listing = views.filter_listing(asof.session(s, as_of), exprs, preset, sort, limit, columns, format.value)
    text, hidden = views.formatted(listing, format.value)
    if hidden:
        s.notice(_("hid {join_hidden} to fit {width} columns (--wide shows every column)").format(
            join_hidden=', '.join(hidden), width=fit.table_width()))
    render.write(text)


def board_cmd(
    ctx: typer.Context,
    exprs: ExprArgs = None,
    pipeline: PipelineOpt = None,
    preset: PresetOpt = None,
    sort: SortOpt = None,
    cards: Annotated[int, typer.Option("--cards", metavar="N", help="Cards shown per stage on a terminal "
                                       "(0: all).")] = 8,
    as_of: AsOfOpt = None,
    html: HtmlOpt = None,
    currency: Annotated[Optional[str], typer.Option("--currency", metavar="CODE", help="Also sum every "
                                                    "column in this currency, converted with the rates: "
                                                    "table of dealcli.yaml (default with rates: the "
                                                    "repository currency).")] = None,
    by: Annotated[Optional[ByWhat], typer.Option("--by", help="responsible: one row per person (and "
                                                 "currency) with their open deals, sum, weighted sum and "
                                                 "overdue activities, over every pipeline unless --pipeline.",
                                                 case_sensitive=False)] = None,
    format: FormatOpt = Format.table,
) -> None:
    """The kanban: one column per stage in pipeline order with count, sum per currency, weighted sum
    of the open deals (amount x probability) and short cards. -f json/yaml give the same structure;
    csv/tsv one row per stage and currency. --as-of: the board as it was then; --html FILE: a page
    with the board (every card), the funnel and the forecast of the pipeline. --by responsible:
    the load of each person instead."""
    from dealcli import asof
    from dealcli.views import board, render

    s = asof.session(session(ctx), as_of)
    if by is not None:
        if html:
            from dealcli.errors import UsageError

            raise UsageError(_("--by responsible and --html do not go together"))
        rows = board.by_responsible(s, pipeline, exprs, preset)
        render.emit(rows, format.value, ["responsible", "deals", "currency", "sum", "weighted", "overdue"],
                    right=("deals", "sum", "weighted", "overdue"))
        return
    if html:
        from dealcli import reports

        reports.write_html(s, html, "board", None, exprs, preset, pipeline)
        return
    from dealcli.parse import parse_currency

    view = board.build(s, pipeline, exprs, preset, sort, parse_currency(currency) if currency else None)
    render.write(board.formatted(view, format.value, cards=cards or None))


def calendar_cmd(
    ctx: typer.Context,
    exprs: ExprArgs = None,
    month: Annotated[Optional[str], typer.Option("--month", metavar="YYYY-MM", help="The month (default: "
                                                 "the current one; also this-month, next-month, "
                                                 "last-month).")] = None,
    by: Annotated[ByField, typer.Option("--by", help="The date that places a deal on a day.")] =
    ByField.close_date,
    preset: PresetOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """A month of deals by close date, begin or creation: a grid with the count per day and the
    deals of each day on a terminal; one row per deal (date first) in the other formats."""
    from dealcli.views import calendar as calendar_view
    from dealcli.views import render

    s = session(ctx)
    view = calendar_view.build(s, month, by.value, exprs, preset)
    render.write(calendar_view.formatted(view, format.value))


def export_cmd(
    ctx: typer.Context,
    exprs: ExprArgs = None,
    preset: PresetOpt = None,
    sort: SortOpt = None,
    format: Annotated[ExportFormat, typer.Option("--format", "-f", case_sensitive=False,
                                                 help="csv (flat, one row per deal, formulas "
                                                 "neutralised), tsv, json, jsonl, yaml (nested) or "
                                                 "ids.")] = ExportFormat["csv"],
    all_: Annotated[bool, typer.Option("--all", help="The whole repository: every record of every kind "
                                       "(links as ids) and the settings, as jsonl or yaml; `import --all` "
                                       "reads it back into an empty repository as an identical one.")] = False,
    out: Annotated[Optional[str], typer.Option("--out", metavar="DIR", help="With --all: write one file "
                                               "per kind into DIR (made if missing) instead of one stream "
                                               "on stdout.")] = None,
) -> None:
    """Every field of every selected deal (all deals without expressions), product rows,
    comments and history included. The csv layout is documented in docs/filter.md; the jsonl
    line of a deal is its file as JSON, so `dealcli import` reads it back. With --all, the whole
    repository (docs/import.md)."""
    from dealcli.views import render
    from dealcli.views import listing as views

    if all_ or out is not None:
        from dealcli import i18n  # `_` is a local name below
        from dealcli.errors import UsageError
        from dealcli.importing import bundle

        if not all_ or exprs or preset or sort:
            raise UsageError(i18n._("--all exports every record: it takes no expressions, --preset or --sort, "
                                    "and --out goes with --all"))
        source = ctx.get_parameter_source("format")
        given = getattr(source, "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")
        fmt = format.value if given else "jsonl"  # a whole repository is jsonl unless -f yaml
        text, _ = bundle.export_all(session(ctx), fmt, out)
        render.write(text)
        return
    export = views.export_build(session(ctx), exprs, preset, sort)
    render.write(views.export_formatted(export, format.value))


def register(app: typer.Typer) -> None:
    app.command("filter")(filter_cmd)
    app.command("board")(board_cmd)
    app.command("calendar")(calendar_cmd)
    app.command("export")(export_cmd)
