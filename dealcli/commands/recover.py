"""`dealcli recover [--status | --discard]` (docs/architecture.md, "The journal")."""

from __future__ import annotations

import typer

from dealcli.commands.options import Format, FormatOpt, session
from dealcli.i18n import _, ngettext


def register(app: typer.Typer) -> None:
    @app.command("recover")
    def recover(
        ctx: typer.Context,
        status: bool = typer.Option(False, "--status", help="List the journal entries killed commands left: "
                                    "state, files, and why recovery does not trust one (exit 1 if any)."),
        discard: bool = typer.Option(False, "--discard", help="Remove the journal entries recovery does not "
                                     "trust; the files they name stay as they are now (check them with "
                                     "`dealcli check` and git)."),
        format: FormatOpt = Format.table,
    ) -> None:
        """Finish or undo what a killed command left half done. Every command does this first; a
        journal entry that cannot be trusted (damaged, cut short, from another repository, naming a
        file outside the repository's folders) is never acted on: writers stop with exit 5 and
        readers read the files as they are, until it is looked at with --status and removed with
        --discard."""
        from dealcli import recovery
        from dealcli.commands.records import emit_list
        from dealcli.errors import UsageError

        s = session(ctx)
        if status and discard:
            raise UsageError(_("--status and --discard: choose one"))
        if discard:
            removed = recovery.discard(s)
            emit_list([{"entry": e} for e in removed], format.value, ["entry"])
            s.notice(_("{len_removed} journal entr{y_if_len_removed_1_else} removed").format(
                len_removed=len(removed), y_if_len_removed_1_else='y' if len(removed) == 1 else 'ies'))
            return
        if status:
            rows = recovery.status(s)
            for row in rows:
                row["files"] = ", ".join(row["files"]) if format == Format.table else row["files"]
            emit_list(rows, format.value, ["entry", "state", "problem", "files"])
            refused = sum(1 for r in rows if r["problem"])
            if refused:
                s.notice(_("{refused} journal entr{y_if_refused_1_else_ies} not trusted "
                         "(`dealcli recover --discard` removes them)").format(
                             refused=refused, y_if_refused_1_else_ies='y' if refused == 1 else 'ies'))
                raise typer.Exit(1)
            return
        found = recovery.run(s)
        s.notice(ngettext("{n} journal entry recovered", "{n} journal entries recovered", found).format(n=found)
                 if found else _("nothing to recover"))
