"""`dealcli check`."""

from __future__ import annotations

from typing import Any, Optional

import typer

from dealcli.commands.options import CheckFormat
from dealcli.i18n import _


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        ctx: typer.Context,
        format: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f",
                                           help="text: one `path:line: message` per problem; json: a list "
                                           "of {path, line, rule, field, message}."),
        audit: bool = typer.Option(False, "--audit", help="Instead: walk git history and list every commit "
                                   "whose author was not allowed a change in it (see docs/access.md)."),
        since: Optional[str] = typer.Option(None, "--since", metavar="REV", help="Check only what changed "
                                            "since the git revision REV (changed records and the records "
                                            "linking to them; everything when settings or pipelines changed)."),
        rev_range: Optional[str] = typer.Argument(None, metavar="[REV-RANGE]", help="With --audit: the commits "
                                                  "to audit (git revision range; default HEAD, the whole "
                                                  "history).", show_default=False),
    ) -> None:
        """Validate every file of the repository (schemas, types, stage rules). Exit 1 listing every
        problem as path:line: message; exit 0 and print nothing when all is well. For CI and git
        pre-commit hooks (see docs/check.md)."""
        from dealcli.validation import check as checker
        from dealcli.views import render
        from dealcli.commands.options import session

        s = session(ctx)
        if rev_range and not audit:
            from dealcli.errors import UsageError

            raise UsageError(_("REV-RANGE is for --audit"))
        if audit:
            from dealcli import audit as auditing

            problems: list[Any] = auditing.audit(s.repo.root, rev_range)  # findings or violations: str() and as_dict()
        else:
            from dealcli import access

            with access.unguarded(s.repo):  # check validates every file, whoever runs it
                problems = checker.run_changed(s, since) if since else checker.run(s)
        if format == CheckFormat.json:
            render.write(render.json_text([p.as_dict() for p in problems], indent=2) + "\n")
        else:
            render.write("".join(f"{render.printable(str(p))}\n" for p in problems))
        if problems:
            s.notice(_("{len_problems} problem(s) found").format(len_problems=len(problems)))
            raise typer.Exit(1)
