"""`dealcli activity ...` and the top-level `dealcli agenda`."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli.commands import complete
from dealcli.commands.options import Format, FormatOpt, YesOpt, session

app = typer.Typer(help="Calls, meetings, tasks and emails planned on deals.", no_args_is_help=True)
AgendaFormat = enum.Enum("AgendaFormat", {f.name: f.value for f in Format} | {"ics": "ics"}, type=str)  # type: ignore[misc]  # members derived from Format
LIST_COLUMNS = ["id", "due", "type", "subject", "deal", "responsible", "done"]
DescriptionOpt = Annotated[Optional[str], typer.Option("--description", metavar="TEXT", help="What to do, in more "
                                                       "words than the subject.")]
DurationOpt = Annotated[Optional[str], typer.Option("--duration", metavar="SPAN", help="How long it takes: 45, "
                                                    "45m, 1h30m (minutes unless h or d).")]
RemindOpt = Annotated[Optional[str], typer.Option("--remind", metavar="SPAN", help="How long before the due "
                                                  "time `dealcli remind` tells the responsible person: 15m, 1h, "
                                                  "1d (default: at the due time).")]


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
    description: DescriptionOpt = None,
    duration: DurationOpt = None,
    remind: RemindOpt = None,
) -> None:
    """Plan an activity on a deal and print its id. Refused on a closed deal (exit 1)."""
    from dealcli import activities
    from dealcli.commands.options import print_ids

    data = activities.add(session(ctx), deal, type_, subject, due, responsible, description=description,
                          duration=activities.parse_minutes(duration, "duration"),
                          remind_before=activities.parse_minutes(remind, "remind"))
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


class Via(str, enum.Enum):
    stdout = "stdout"
    notify = "notify"
    email = "email"


def register(root: typer.Typer) -> None:
    @root.command("remind")
    def remind(
        ctx: typer.Context,
        via: Annotated[Via, typer.Option("--via", help="stdout: print the reminders (for cron's mail or a "
                                         "script); notify: a desktop notification each (notify-send); email: one "
                                         "message per person through the smtp: server of dealcli.yaml (exit 75 "
                                         "when one is not sent).",
                                         case_sensitive=False)] = Via.stdout,
        for_: Annotated[Optional[list[str]], typer.Option("--for", metavar="USER", help="Only the activities of "
                                                          "this responsible person (repeatable).")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due without remembering it as "
                                              "told.")] = False,
        format: FormatOpt = Format.table,
    ) -> None:
        """Tell each responsible person of their due and overdue activities, once per activity and
        due time (remembered in .dealcli/reminders.sqlite; safe to run from cron, also several at
        once). An activity is told from its due time, or --remind before it. Prints the reminders
        told (responsible, id of the activity, deal, type, subject, due, state, remind_at;
        json adds description)."""
        from dealcli import remind as core
        from dealcli.views import render
        from dealcli.commands.options import session as get_session

        rows = core.run(get_session(ctx), via.value, for_, dry_run)
        if via == Via.stdout or dry_run:
            render.emit(rows, format.value, ["responsible", "id", "deal", "type", "subject", "due", "state",
                                             "remind_at"] if format.value in ("table", "csv", "tsv") else None)

    @root.command("agenda")
    def agenda(
        ctx: typer.Context,
        expr: Annotated[Optional[list[str]], typer.Argument(metavar="EXPR", help="Filter expressions "
                                                            "(as in `dealcli filter`).", show_default=False)] = None,
        format: Annotated[AgendaFormat, typer.Option("--format", "-f", help="Output format: table, json, "
                                                     "jsonl, csv, tsv, yaml, ids, or ics (iCalendar: one event "
                                                     "per next activity).", case_sensitive=False)
                          ] = AgendaFormat["table"],
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
    description: DescriptionOpt = None,
    duration: DurationOpt = None,
    remind: RemindOpt = None,
) -> None:
    """Change an activity; prints its id."""
    from dealcli import activities
    from dealcli.commands.options import print_ids

    print_ids([activities.edit(session(ctx), ref, type_, subject, due, responsible, description=description,
                               duration=activities.parse_minutes(duration, "duration"),
                               remind_before=activities.parse_minutes(remind, "remind"))["id"]])


@app.command("delete")
def delete(ctx: typer.Context,
           ref: Annotated[str, typer.Argument(metavar="ID", help="Activity id, unique prefix, or - to read ids "
                                              "from stdin.", show_default=False,
                                              autocompletion=complete.activity_ids)],
           yes: YesOpt = False) -> None:
    """Delete activities; prints their ids."""
    from dealcli import activities
    from dealcli.commands.options import confirm_delete, print_ids, read_ids

    s = session(ctx)
    ids = read_ids(ref)
    confirm_delete(s, yes, "activity delete", "activity", ids, "activities", legacy=True, from_stdin=ref == "-")
    print_ids(activities.delete(s, ids) if ids else [])
