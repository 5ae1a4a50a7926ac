"""`dealcli generator ...`: sales-generator scenarios (clients picked by a segment get a deal
and/or an activity) and the idempotent `generator run` for cron (see docs/automation.md)."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands.deal import ResponsibleOpt, SourceOpt, TypeOpt
from dealcli.commands.options import (
    Format,
    FormatOpt,
    PipelineOpt,
    RecordFormatOpt,
    YesOpt,
    confirm_delete,
    print_ids,
    session,
)
from dealcli.i18n import _

app = typer.Typer(help="Sales-generator scenarios: deals for the clients a segment picks (run from cron).",
                  no_args_is_help=True)


class Clients(str, enum.Enum):
    auto = "auto"
    companies = "companies"
    contacts = "contacts"


class Period(str, enum.Enum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"
    once = "once"


class ActivityType(str, enum.Enum):
    call = "call"
    meeting = "meeting"
    task = "task"
    email = "email"


ScenarioArg = Annotated[str, typer.Argument(metavar="ID", help="Scenario id or unique prefix.", show_default=False)]
SegmentOpt = Annotated[Optional[list[str]], typer.Option(
    "--segment", metavar="EXPR", help="Who the scenario is for (repeatable; one value may hold several "
    "expressions): deal filter expressions such as 'status=won product~licence' (some deal of the client "
    "matches them all), client.FIELD OP VALUE on the company/contact, and the built-ins "
    "birthday_within=N, last_won_days=N[..M], lost_days=N[..M], no_deal_days=N[..M].")]
BirthdayOpt = Annotated[Optional[int], typer.Option("--birthday-within", metavar="DAYS", help="Built-in: contacts "
                                                    "whose birthday is within DAYS days (birthday_within=DAYS).")]
WonOpt = Annotated[Optional[str], typer.Option("--won-days-ago", metavar="N[..M]", help="Built-in: the client's "
                                               "latest won deal closed N (to M) days ago (last_won_days=N..M).")]
LostOpt = Annotated[Optional[str], typer.Option("--lost-days-ago", metavar="N[..M]", help="Built-in, win back: "
                                                "the latest closed deal was lost N (to M) days ago and nothing "
                                                "is open (lost_days=N..M).")]
NoDealOpt = Annotated[Optional[str], typer.Option("--no-deal-days", metavar="N[..M]", help="Built-in: the "
                                                  "client's latest deal is N (to M) days old (no_deal_days=N..M).")]
ClientsOpt = Annotated[Optional[Clients], typer.Option("--clients", help="Who a client is: auto (a deal's company, "
                                                       "else its first contact), companies or contacts.",
                                                       case_sensitive=False)]
PeriodOpt = Annotated[Optional[Period], typer.Option("--period", help="At most one deal per client and period "
                                                     "(default month; birthday scenarios: the birthday's year).",
                                                     case_sensitive=False)]
StageOpt = Annotated[Optional[str], typer.Option("--stage", help="Stage of each created deal (default: the "
                                                 "pipeline's first).")]
TitleOpt = Annotated[Optional[str], typer.Option("--title", help="Title template: {client}, {scenario}, {date}, "
                                                 "{date:%B %Y}, {period}, {last_title} (default "
                                                 "\"{scenario}: {client}\").")]
ProductsOpt = Annotated[Optional[bool], typer.Option("--copy-products/--no-products", help="Copy the product rows "
                                                     "of the client's latest won deal (default: copy).")]
NoDealFlag = Annotated[bool, typer.Option("--no-deal", help="Create no deal: only plan the activity on the "
                                          "client's latest open deal.")]
ActTypeOpt = Annotated[Optional[ActivityType], typer.Option("--activity-type", help="Also plan an activity of "
                                                            "this type on the deal.", case_sensitive=False)]
ActSubjectOpt = Annotated[Optional[str], typer.Option("--activity-subject", metavar="TEXT",
                                                      help="The activity's subject.")]
ActDueOpt = Annotated[Optional[str], typer.Option("--activity-due", metavar="WHEN", help="When the activity is "
                                                  "due, relative to the run (e.g. +2d, \"tomorrow 10:00\"; "
                                                  "default three working days).")]


def _spec(segment, birthday_within, won_days_ago, lost_days_ago, no_deal_days, clients, period, pipeline, stage,
          title, responsible, type_, source, copy_products, no_deal, activity_type, activity_subject, activity_due,
          no_activity=False):
    from dealcli import generators

    builtins = [f"{name}={value}" for name, value in (
        ("birthday_within", birthday_within), ("last_won_days", won_days_ago), ("lost_days", lost_days_ago),
        ("no_deal_days", no_deal_days)) if value is not None]
    return generators.ScenarioSpec(
        segment=segment or None, builtins=builtins, clients=clients.value if clients else None,
        period=period.value if period else None,
        pipeline=pipeline, stage=stage, title=title, responsible=responsible, type=type_, source=source,
        copy_products=copy_products, no_deal=no_deal, activity_type=activity_type.value if activity_type else None,
        activity_subject=activity_subject, activity_due=activity_due, no_activity=no_activity,
    )


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The scenario's name; its slug is the id.", show_default=False)],
    segment: SegmentOpt = None,
    birthday_within: BirthdayOpt = None,
    won_days_ago: WonOpt = None,
    lost_days_ago: LostOpt = None,
    no_deal_days: NoDealOpt = None,
    clients: ClientsOpt = None,
    period: PeriodOpt = None,
    pipeline: PipelineOpt = None,
    stage: StageOpt = None,
    title: TitleOpt = None,
    responsible: ResponsibleOpt = None,
    type_: TypeOpt = None,
    source: SourceOpt = None,
    copy_products: ProductsOpt = None,
    no_deal: NoDealFlag = False,
    activity_type: ActTypeOpt = None,
    activity_subject: ActSubjectOpt = None,
    activity_due: ActDueOpt = None,
) -> None:
    """Save a scenario and print its id. `dealcli generator run` (from cron) creates the deals."""
    from dealcli import generators

    spec = _spec(segment, birthday_within, won_days_ago, lost_days_ago, no_deal_days, clients, period, pipeline,
                 stage, title, responsible, type_, source, copy_products, no_deal, activity_type, activity_subject,
                 activity_due)
    print_ids([generators.add(session(ctx), name, spec).id])


@app.command("edit")
def edit(
    ctx: typer.Context,
    scenario_id: ScenarioArg,
    name: Annotated[Optional[str], typer.Option("--name", help="New name (the id stays).")] = None,
    segment: Annotated[Optional[list[str]], typer.Option("--segment", metavar="EXPR", help="Replace the segment "
                                                         "(repeatable); a built-in option alone replaces only "
                                                         "that built-in.")] = None,
    birthday_within: BirthdayOpt = None,
    won_days_ago: WonOpt = None,
    lost_days_ago: LostOpt = None,
    no_deal_days: NoDealOpt = None,
    clients: ClientsOpt = None,
    period: PeriodOpt = None,
    pipeline: PipelineOpt = None,
    stage: StageOpt = None,
    title: TitleOpt = None,
    responsible: ResponsibleOpt = None,
    type_: TypeOpt = None,
    source: SourceOpt = None,
    copy_products: ProductsOpt = None,
    no_deal: NoDealFlag = False,
    activity_type: ActTypeOpt = None,
    activity_subject: ActSubjectOpt = None,
    activity_due: ActDueOpt = None,
    no_activity: Annotated[bool, typer.Option("--no-activity", help="Plan no activity any more.")] = False,
) -> None:
    """Change a scenario (only what is given). Prints its id."""
    from dealcli import generators

    spec = _spec(segment, birthday_within, won_days_ago, lost_days_ago, no_deal_days, clients, period, pipeline,
                 stage, title, responsible, type_, source, copy_products, no_deal, activity_type, activity_subject,
                 activity_due, no_activity)
    spec.name = name
    print_ids([generators.edit(session(ctx), scenario_id, spec).id])


@app.command("list")
def list_(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List scenarios: segment, clients, period, action and status (active or paused)."""
    from dealcli import generators
    from dealcli.views import render

    render.emit(generators.listing(session(ctx)), format.value,
                ["id", "name", "segment", "clients", "period", "action", "status"])


@app.command("show")
def show(ctx: typer.Context, scenario_id: ScenarioArg, format: RecordFormatOpt = Format.table) -> None:
    """Show a scenario as stored, with its status."""
    from dealcli import generators
    from dealcli.views import render

    record = generators.show(session(ctx), scenario_id)
    if format.value in ("table", "json", "yaml"):
        render.emit_record(record, format.value)
    else:
        render.emit([record], format.value)


@app.command("pause")
def pause(ctx: typer.Context, scenario_id: ScenarioArg) -> None:
    """Stop running a scenario. Prints its id."""
    from dealcli import generators

    print_ids([generators.pause(session(ctx), scenario_id).id])


@app.command("resume")
def resume(ctx: typer.Context, scenario_id: ScenarioArg) -> None:
    """Run a paused scenario again from the next run on. Prints its id."""
    from dealcli import generators

    print_ids([generators.resume(session(ctx), scenario_id).id])


@app.command("delete")
def delete(
    ctx: typer.Context,
    scenario_id: ScenarioArg,
    yes: YesOpt = False,
) -> None:
    """Delete a scenario (the deals it created stay). Prints its id."""
    from dealcli import generators

    s = session(ctx)
    confirm_delete(s, yes, "generator delete", "generator", [scenario_id], generators.KIND)
    print_ids([generators.delete(s, scenario_id)])


@app.command("run")
def run(
    ctx: typer.Context,
    scenario_ids: Annotated[Optional[list[str]], typer.Argument(metavar="ID", help="Run only these scenarios "
                                                                "(default: every active one).",
                                                                show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; list who would get a deal "
                                          "(generator, client, period, id, title).")] = False,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="Output format (default: ids of the "
                                                     "created deals; a table with --dry-run).",
                                                     case_sensitive=False)] = None,
) -> None:
    """Create a deal (and/or activity) for every client each active scenario picks now (--now is
    honoured) and print the new deal ids. Safe to run often and concurrently: one deal per
    client, scenario and period, even after a crash. Exit 1 when a scenario cannot be run (its
    file is named on stderr; the others still run)."""
    from dealcli import generators
    from dealcli.views import render

    s = session(ctx)
    result = generators.run(s, dry_run=dry_run, only=scenario_ids or None)
    fmt = format.value if format else ("table" if dry_run else "ids")
    rows = [p.row() for p in result.planned if dry_run or p.done in ("created", "planned")]
    if fmt == "ids":
        print_ids(r["id"] for r in rows)
    else:
        render.emit(rows, fmt, ["generator", "client", "client_name", "period", "id", "title", "result"])
    if dry_run and not rows:
        s.notice(_("nothing to create"))
    if result.problems:
        raise generators.RunProblems(result.problems)
