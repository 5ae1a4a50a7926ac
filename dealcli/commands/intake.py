"""`dealcli intake ...`: deals that arrive by themselves (docs/intake.md)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands.options import Format, session
from dealcli.i18n import _

app = typer.Typer(help="Deals that arrive by themselves: e-mail, website forms, calls and chats. Every item "
                  "that cannot be processed is kept in inbox/failed/ (see `intake retry`).", no_args_is_help=True)
OutOpt = Annotated[Format, typer.Option("--format", "-f", help="Output: ids (default: the activity, deal or "
                                        "lead standing for each item), table, json, jsonl, csv, tsv or yaml "
                                        "(status, id, deal, contact, company, source, reason per item).",
                                        case_sensitive=False)]


def _finish(ctx: typer.Context, outcomes: list, fmt: Format) -> None:
    from dealcli.views import render
    from dealcli.intake import inbox, route

    rows = [o.row() for o in outcomes]
    if fmt.value == "ids":
        render.write("".join(f"{r['id']}\n" for r in rows if r["id"]))
    elif rows:
        render.emit(rows, fmt.value, route.COLUMNS if fmt.value == "table" else None)
    inbox.report(session(ctx), outcomes)


def _for_mta(ctx: typer.Context, work) -> None:
    """--mta: exit 0 when the message is safe (stored, or kept in inbox/failed/), 75 otherwise."""
    from dealcli.errors import DealcliError, TempFail
    from dealcli.intake import inbox

    try:
        work()
    except inbox.Kept as exc:  # safe: the mail server is told so (exit 0), the log line says it was kept
        words, safe = exc.words(), "not stored but kept, the mail server need not deliver it again: "
        session(ctx).notice(f"{safe}{words}" if isinstance(words, str) else words.prefixed(safe))
    except TempFail:
        raise
    except DealcliError as exc:
        raise TempFail(_("{exc_message} (exit 75: the mail server keeps the message and delivers it again)").format(
            exc_message=exc.message)) from None


@app.command("email")
def email(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|MAILDIR|MBOX|-", help="One message (.eml), an mbox file, "
                                          "a Maildir folder, or - for one message on stdin (a mail server's "
                                          "pipe).")] = "-",
    mailbox: Annotated[Optional[str], typer.Option("--mailbox", metavar="NAME", help="The rule of "
                                                   "intake.mailboxes.NAME in dealcli.yaml (pipeline, stage, "
                                                   "companies by domain, ...); default: the `default` "
                                                   "entry.")] = None,
    mta: Annotated[bool, typer.Option("--mta", help="Exit as a mail server's pipe expects: 0 when the message "
                                      "is safe (stored, a duplicate, or kept in inbox/failed/), 75 (EX_TEMPFAIL: "
                                      "deliver it again later) when it is not.")] = False,
    format: OutOpt = Format.ids,
) -> None:
    """Store e-mail as activities on the client's deals. The sender is found by address (else a
    contact and a company for the domain are created); a reply goes to its thread's deal
    (In-Reply-To/References), else to the client's open deal, else a new deal opens. Idempotent
    by Message-ID; Maildir and mbox are only read. Exit 0 when everything was stored (or had
    been before); otherwise the code of the first failure's cause: 65 malformed input, 1 refused
    by a rule, 3 not configured, 4 repository locked, 5 a broken file; the item is kept in
    inbox/failed/ either way (75: it could not even be kept; deliver it again)."""
    from dealcli.intake import mail

    def work():
        _finish(ctx, mail.run(session(ctx), source, mailbox, stdin=environment.current().stdin.buffer), format)

    _for_mta(ctx, work) if mta else work()


@app.command("form")
def form(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The form: forms/NAME.yaml.", show_default=False)],
    format: OutOpt = Format.ids,
) -> None:
    """Take one submission of a website form on stdin (JSON object or
    application/x-www-form-urlencoded) and open a deal as forms/NAME.yaml says; prints the deal
    id. The same submission twice opens one deal. A filled honeypot field is kept in
    inbox/spam/ (exit 1). Exit codes as for `intake email`."""
    from dealcli.intake import forms

    _finish(ctx, [forms.submit(session(ctx), name, environment.current().stdin.buffer.read())], format)


@app.command("calls")
def calls(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Call records: Asterisk Master.csv (no header), "
                                        "or a CSV with a header row; - for stdin.", show_default=False)],
    map_: Annotated[Optional[list[str]], typer.Option("--map", metavar="COL=FIELD", help="A column of a CSV "
                                                      "with a header and the call field it holds: id, from, "
                                                      "to, start, duration, talk, result, direction, name "
                                                      "(repeatable).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of the file.")] = "utf-8",
    format: OutOpt = Format.ids,
) -> None:
    """Add call activities (direction, duration, result) to the matched client's open deal (or
    a new deal); a call from an unknown number follows intake.calls in dealcli.yaml (by default
    a missed call opens a lead, an answered one a deal). Idempotent by the call's unique id.
    Exit codes as for `intake email` (each bad row is kept alone)."""
    from dealcli.intake import calls as core

    stream = environment.current().stdin.buffer if file == "-" else None
    _finish(ctx, core.run(session(ctx), file, map_ or [], encoding, stdin=stream), format)


@app.command("chat")
def chat(ctx: typer.Context, format: OutOpt = Format.ids) -> None:
    """Take one chat message as JSON on stdin: a Telegram Bot API webhook update, or the generic
    shape {channel, chat_id, message_id, date, text, from: {name, email, phone}}. Messages of one
    chat go to one deal. Exit codes as for `intake email`."""
    from dealcli.intake import chat as core

    _finish(ctx, [core.submit(session(ctx), environment.current().stdin.buffer.read())], format)


@app.command("retry")
def retry(
    ctx: typer.Context,
    ids: Annotated[Optional[list[str]], typer.Argument(metavar="ID", help="Only these kept items (ids or "
                                                       "prefixes); default: all.", show_default=False)] = None,
    format: OutOpt = Format.ids,
) -> None:
    """Process the items kept in inbox/failed/ again (after the cause is fixed). A success
    removes the item; a failure keeps it with the new reason and exits with its code."""
    from dealcli.intake import replay

    _finish(ctx, replay.retry(session(ctx), ids or None), format)


@app.command("failed")
def failed(ctx: typer.Context,
           format: Annotated[Format, typer.Option("--format", "-f", help="Output format: table, json, jsonl, "
                                                  "csv, tsv, yaml or ids.", case_sensitive=False)] = Format.table,
           ) -> None:
    """List the items kept in inbox/failed/ with their reasons, oldest first."""
    from dealcli.commands.records import emit_list
    from dealcli.intake import inbox

    emit_list(inbox.items(session(ctx)), format.value,
              ["id", "kind", "received", "attempts", "exit_code", "reason"])
