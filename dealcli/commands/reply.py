"""`dealcli reply ACTIVITY|DEAL`: answer a client's e-mail from the deal (docs/intake.md,
"Answering back"); `dealcli deal email` (commands/deal.py) writes a new one."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands.options import print_ids, session

BodyOpt = Annotated[Optional[str], typer.Option("--body", metavar="TEXT|-", help="The text of the message; - "
                                                "reads it from stdin.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the message that would be sent; send and "
                                         "store nothing.")]


def body_text(body: str | None) -> str | None:
    return environment.current().stdin.read() if body == "-" else body


def finish(sent, dry_run: bool) -> None:
    """--dry-run: the message on stdout; else the id of the activity that keeps it."""
    from dealcli.views import render

    if dry_run:
        render.write(sent.message.decode("utf-8", "replace"))
    else:
        print_ids([sent.activity["id"]])


def register(app: typer.Typer) -> None:
    @app.command("reply")
    def reply(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(metavar="ACTIVITY|DEAL", help="The e-mail activity to answer (id or "
                                           "prefix), or a deal: its latest e-mail.", show_default=False)],
        body: BodyOpt = None,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Answer a client's e-mail through the SMTP server of dealcli.yaml (smtp: host, port, from;
        the password from $DEALCLI_SMTP_PASSWORD or smtp.password_file outside the repository).
        The answer goes to the sender, `Re:` the subject, with In-Reply-To/References, so the
        client's next answer lands on the same deal; it is kept on the deal as an outgoing e-mail
        activity, whose id is printed. Exit 3 without SMTP settings, 75 when the server did not
        take the message (nothing stored)."""
        from dealcli.intake import reply as core

        sent = core.reply(session(ctx), ref, body_text(body), dry_run)
        finish(sent, dry_run)
