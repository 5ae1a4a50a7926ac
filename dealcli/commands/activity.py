"""`dealcli activity ...` and the top-level `dealcli agenda`."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands import complete
from dealcli.commands.options import Format, FormatOpt, session

app = typer.Typer(help="Calls, meetings, tasks and emails planned on deals.", no_args_is_help=True)
AgendaFormat = enum.Enum("AgendaFormat", {f.name: f.value for f in Format} | {"ics": "ics"}, type=str)
LIST_COLUMNS = ["id", "due", "type", "subject", "deal", "responsible", "done"]


@app.command("add")
def add(
    ctx: typer.Context,
    deal: Annotated[str, typer.Argument(metavar="DEAL", help="Deal id or unique prefix (an open deal).",
                                        show_default=False)],
    type_: Annotated[str, typer.Option("--type", metavar="call|meeting|task|email", help="Kind of activity.",
                                       show_default=False)],
    subject: Annotated[str, typer.Option("--subject", metavar="TEXT", help="What to do.", show_default=False)],
    due: Annotated[Optional[str], typer.Option("--due", metavar="DATETIME", help='When: "2026-03-20 15:00", '
                                               '"tomorrow 10:00", "+3d 09:30", "friday 14:00"; a day alone '
                                               "means its end (23:59). Default: three working days from now, "
                                               "rounded up to the hour.")] = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", metavar="U", help="Who does it "
                                                       "(default: the deal's responsible).")] = None,
) -> None:
    """Plan an activity on a deal and print its id. Refused on a closed deal (exit 1)."""
    from dealcli import activities
    from dealcli.commands.options import print_ids

    data = activities.add(session(ctx), deal, type_, subject, due, responsible)
    print_ids([data["id"]])


@app.command("done")
def done(ctx: typer.Context,
         ref: Annotated[str, typer.Argument(metavar="ID", help="Activity id, unique prefix, or - to read ids "
                                            "from stdin.", show_default=False,
                                            autocompletion=complete.activity_ids)]) -> None:
    """Mark activities done; prints their ids. When a deal is left with no pending activity, a
    hint on stderr gives the command to plan the next one."""
    from dealcli import activities
    from dealcli.commands.options import print_ids, read_ids

    ids = read_ids(ref)
    out = activities.done(session(ctx), ids) if ids else []
    print_ids(a["id"] for a in out)


@app.command("list")
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only pending activities already past due.")] = False,
    deal: Annotated[Optional[str], typer.Option("--deal", metavar="ID", help="Only the activities of this "
                                                "deal.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include activities already done.")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """List pending activities by due time (done ones too with --all)."""
    from dealcli import activities
    from dealcli.commands.records import emit_list

    emit_list(activities.records(session(ctx), overdue, deal, all_), format.value, LIST_COLUMNS)


def register(root: typer.Typer) -> None:
    @root.command("agenda")
    def agenda(
        ctx: typer.Context,
        expr: Annotated[Optional[list[str]], typer.Argument(metavar="EXPR", help="Filter expressions "
                                                            "(as in `dealcli filter`).", show_default=False)] = None,
        format: Annotated[AgendaFormat, typer.Option("--format", "-f", help="Output format: table, json, "
                                                     "jsonl, csv, tsv, yaml, ids, or ics (iCalendar: one event "
                                                     "per next activity).", case_sensitive=False)] = AgendaFormat.table,
    ) -> None:
        """Open deals grouped by their next activity: overdue, today, this week, next week, later,
        and without activities (weeks start on Monday; relative to --now). Every format; json/csv
        rows carry the group in a `group` field; `-f ics > agenda.ics` for a calendar."""
        from dealcli.views import agenda as core
        from dealcli.views import render
        from dealcli.commands.options import session as get_session

        view = core.build(get_session(ctx), expr)
        render.write(core.formatted(view, format.value))


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="ID", help="Activity id or unique prefix.", show_default=False,
                                      autocompletion=complete.activity_ids)],
    type_: Annotated[Optional[str], typer.Option("--type", metavar="call|meeting|task|email",
                                                 help="Kind of activity.")] = None,
    subject: Annotated[Optional[str], typer.Option("--subject", metavar="TEXT", help="What to do.")] = None,
    due: Annotated[Optional[str], typer.Option("--due", metavar="DATETIME", help="When (same forms as "
                                               "activity add).")] = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", metavar="U", help="Who does it.")] = None,
) -> None:
    """Change an activity; prints its id."""
    from dealcli import activities
    from dealcli.commands.options import print_ids

    print_ids([activities.edit(session(ctx), ref, type_, subject, due, responsible)["id"]])


@app.command("delete")
def delete(ctx: typer.Context,
           ref: Annotated[str, typer.Argument(metavar="ID", help="Activity id, unique prefix, or - to read ids "
                                              "from stdin.", show_default=False,
                                              autocompletion=complete.activity_ids)]) -> None:
    """Delete activities; prints their ids."""
    from dealcli import activities
    from dealcli.commands.options import print_ids, read_ids

    ids = read_ids(ref)
    print_ids(activities.delete(session(ctx), ids) if ids else [])
