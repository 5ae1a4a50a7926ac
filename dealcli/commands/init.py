"""`dealcli init`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from dealcli.i18n import _


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        ctx: typer.Context,
        path: Annotated[str, typer.Argument(help="Folder of the new repository.")] = ".",
        example: Annotated[bool, typer.Option("--example", help="Add sample companies, contacts, about "
                                              "20 deals across the stages and two years of earlier "
                                              "purchases.")] = False,
        currency: Annotated[str, typer.Option("--currency", help="Default currency of new deals.")] = "USD",
        timezone: Annotated[Optional[str], typer.Option("--timezone", help="IANA time zone of the repository "
                                                        "(default: this machine's).")] = None,
        git: Annotated[bool, typer.Option("--git", help="Also `git init` the folder (unless it is in a git "
                                          "repository already) and register the merge driver "
                                          "(`dealcli git setup`).")] = False,
    ) -> None:
        """Create a repository: dealcli.yaml, .gitignore and the default sales pipeline. Refuses to
        overwrite an existing repository (exit 1)."""
        from pathlib import Path

        from dealcli import example as sample
        from dealcli import repo_init
        from dealcli.commands.options import session
        from dealcli.parse import parse_currency

        s = session(ctx)
        root = Path(path)
        repo_init.init(root, currency=parse_currency(currency), timezone=timezone)
        s.repo_root = root
        count = sample.populate(root, s.now) if example else 0
        extra = f" with {count} example deals" if example else ""
        s.notice(_("initialised a deal repository in {root}{extra}").format(root=root, extra=extra))
        if git:
            from dealcli import gitops

            for line in gitops.init_git(s):
                s.notice(line)
