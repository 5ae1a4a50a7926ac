"""`dealcli recurring ...`: templates that create a deal on a schedule, and the idempotent
`recurring run` for cron (see docs/recurring.md)."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands.deal import (
    AmountOpt,
    CompanyOpt,
    ContactOpt,
    CurrencyOpt,
    ProbabilityOpt,
    ProductOpt,
    ResponsibleOpt,
    SourceOpt,
    TypeOpt,
)
from dealcli.commands.options import (
    Format,
    FormatOpt,
    PipelineOpt,
    RecordFormatOpt,
    SetOpt,
    YesOpt,
    confirm_delete,
    print_ids,
    session,
)
from dealcli.i18n import _

app = typer.Typer(help="Recurring deals created on a schedule (run from cron).", no_args_is_help=True)


class Every(str, enum.Enum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


TemplateArg = Annotated[str, typer.Argument(metavar="ID", help="Template id or unique prefix.",
                                            show_default=False)]


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[Optional[str], typer.Argument(
        metavar="TITLE", help="Title of each created deal; may hold {date} (ISO), {date:STRFTIME} such as "
        "{date:%B %Y}, and {n} (occurrence number). Optional with --from (default: that deal's title).",
        show_default=False)] = None,
    from_: Annotated[Optional[str], typer.Option("--from", metavar="DEAL", help="Copy client, products, "
                                                 "amount, pipeline, type, source, responsible and custom "
                                                 "fields from this deal.")] = None,
    every: Annotated[Optional[Every], typer.Option("--every", help="Build the schedule: every day, week, "
                                                   "month or year. Monthly/yearly from the 29th-31st "
                                                   "falls back to the month's last day.",
                                                   case_sensitive=False)] = None,
    interval: Annotated[Optional[int], typer.Option("--interval", metavar="N", help="With --every: every N "
                                                    "days/weeks/months/years (default 1).")] = None,
    rrule: Annotated[Optional[str], typer.Option("--rrule", metavar="RULE", help='An RFC 5545 recurrence '
                                                 'rule taken as written, e.g. "FREQ=MONTHLY;BYDAY=MO,TU,WE,'
                                                 'TH,FR;BYSETPOS=-1" (last working day).')] = None,
    start: Annotated[Optional[str], typer.Option("--start", metavar="DATE", help="First day of the "
                                                 "schedule (default: today). A past start is caught up "
                                                 "by the next run.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="Last day an occurrence "
                                                 "may fall on.")] = None,
    count: Annotated[Optional[int], typer.Option("--count", metavar="N", help="Stop after N occurrences.")] = None,
    create_before: Annotated[int, typer.Option("--create-before", metavar="DAYS", help="Create each deal "
                                               "this many days before its occurrence date.")] = 0,
    begin_offset: Annotated[int, typer.Option("--begin-offset", metavar="DAYS", help="The deal's begin is "
                                              "the occurrence date plus DAYS.")] = 0,
    close_offset: Annotated[Optional[int], typer.Option("--close-offset", metavar="DAYS", help="The deal's "
                                                        "close_date is the occurrence date plus DAYS "
                                                        "(default: none, as for a new deal).")] = None,
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    company: CompanyOpt = None,
    contact: ContactOpt = None,
    product: ProductOpt = None,
    pipeline: PipelineOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Stage of each created deal (default: "
                                                 "the pipeline's first).")] = None,
    type_: TypeOpt = None,
    source: SourceOpt = None,
    responsible: ResponsibleOpt = None,
    probability: ProbabilityOpt = None,
    set_: SetOpt = None,
) -> None:
    """Save a recurring deal template and print its id. `dealcli recurring run` (from cron)
    creates the deals; each records its template and occurrence date."""
    from dealcli import deals, recurring

    s = session(ctx)
    dspec = deals.DealSpec(
        title=title or "", amount=amount, currency=currency, company=company, contacts=contact or [],
        products=product or [], pipeline=pipeline, stage=stage, type=type_, source=source,
        responsible=responsible, probability=probability, sets=set_ or [],
    )
    spec = recurring.TemplateSpec(
        deal=dspec, from_deal=from_, every=every.value if every else None, interval=interval, rrule=rrule,
        start=start, until=until, count=count, create_before=create_before, begin_offset=begin_offset,
        close_offset=close_offset,
    )
    print_ids([recurring.add(s, spec).id])


@app.command("list")
def list_(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List templates with their schedule, next occurrence, status (active, paused, finished)
    and the number of deals created so far."""
    from dealcli import recurring
    from dealcli.views import render

    render.emit(recurring.listing(session(ctx)), format.value,
                ["id", "title", "schedule", "start", "next", "status", "created"])


@app.command("show")
def show(ctx: typer.Context, template_id: TemplateArg, format: RecordFormatOpt = Format.table) -> None:
    """Show a template: the deal it creates, its schedule, state and next occurrences."""
    from dealcli import recurring
    from dealcli.views import render

    if format.value == "table":
        from dealcli.views import records

        render.write(records.recurring_text(*recurring.card(session(ctx), template_id)))
        return
    record = recurring.show(session(ctx), template_id)
    if format.value in ("json", "yaml"):
        render.emit_record(record, format.value)
    else:
        render.emit([record], format.value)


@app.command("pause")
def pause(ctx: typer.Context, template_id: TemplateArg) -> None:
    """Stop creating deals from a template. Prints its id."""
    from dealcli import recurring

    print_ids([recurring.pause(session(ctx), template_id).id])


@app.command("resume")
def resume(ctx: typer.Context, template_id: TemplateArg) -> None:
    """Create deals again from the next occurrence on; what fell due while paused is not
    created. Prints its id."""
    from dealcli import recurring

    print_ids([recurring.resume(session(ctx), template_id).id])


@app.command("delete")
def delete(
    ctx: typer.Context,
    template_id: TemplateArg,
    yes: YesOpt = False,
) -> None:
    """Delete a template (the deals it created stay). Prints its id."""
    from dealcli import recurring

    s = session(ctx)
    confirm_delete(s, yes, "recurring delete", "recurring template", [template_id], recurring.KIND)
    print_ids([recurring.delete(s, template_id)])


@app.command("run")
def run(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; list what would be created "
                                          "(template, occurrence, n, id, title).")] = False,
    no_catch_up: Annotated[bool, typer.Option("--no-catch-up", help="Of the occurrences missed (e.g. while "
                                              "the machine was off), create only the latest.")] = False,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="Output format (default: ids "
                                                     "of the created deals; a table with --dry-run).",
                                                     case_sensitive=False)] = None,
) -> None:
    """Create every deal due by now (--now is honoured), including occurrences missed while the
    machine was off, and print the new deal ids. Safe to run often and concurrently: an
    occurrence is never created twice, and a deal deleted later is not re-created. Exit 0 when
    nothing is due; exit 1 when a template cannot be run (its file is named on stderr; the
    others still run)."""
    from dealcli import recurring
    from dealcli.views import render

    s = session(ctx)
    result = recurring.run(s, dry_run=dry_run, catch_up=not no_catch_up)
    fmt = format.value if format else ("table" if dry_run else "ids")
    rows = [p.row() for p in result.created]
    if fmt == "ids":
        print_ids(r["id"] for r in rows)
    else:
        render.emit(rows, fmt, ["template", "occurrence", "n", "id", "title"])
    if dry_run and not rows:
        s.notice(_("nothing due"))
    if result.problems:
        raise recurring.RunProblems(result.problems)
