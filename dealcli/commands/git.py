"""`dealcli git setup`, `dealcli merge-file` (git's merge driver) and `dealcli sync` (see
docs/git.md)."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer
from dealcli.i18n import _

git_app = typer.Typer(help="Git teamwork: register the record-aware merge driver.", no_args_is_help=True)


class PullMode(str, enum.Enum):
    rebase = "rebase"
    merge = "merge"


@git_app.command("setup")
def setup(ctx: typer.Context) -> None:
    """Register dealcli's merge driver: `.gitattributes` in the repository (commit it) and the
    driver in .git/config (each clone runs this once; `dealcli sync` does it too). Idempotent."""
    from dealcli import gitops
    from dealcli.commands.options import session

    s = session(ctx)
    done = gitops.setup(s)
    s.notice("; ".join(done) if done else _("already set up"))


def register(app: typer.Typer) -> None:
    app.add_typer(git_app, name="git")

    @app.command("merge-file")
    def merge_file(
        ctx: typer.Context,
        base: Annotated[str, typer.Argument(metavar="BASE", help="The common ancestor's version (git's %O).")],
        ours: Annotated[str, typer.Argument(metavar="OURS", help="Our version (%A); the result is written here.")],
        theirs: Annotated[str, typer.Argument(metavar="THEIRS", help="Their version (%B).")],
        path: Annotated[str, typer.Argument(metavar="PATH", help="The file's path in the repository (%P).")],
    ) -> None:
        """git's merge driver for dealcli records: a 3-way merge of BASE, OURS and THEIRS of the record
        at PATH, written into OURS. Exit 0 when merged (values both sides changed are decided by the
        later change and recorded as a conflict in the record); 1 only when a file is not a readable
        record and git's textual merge left conflict markers. Registered by `dealcli git setup`."""
        from dealcli import gitops
        from dealcli.commands.options import session

        code = gitops.merge_file(session(ctx), base, ours, theirs, path)
        if code:
            raise typer.Exit(code)

    @app.command("sync")
    def sync(
        ctx: typer.Context,
        mode: Annotated[Optional[PullMode], typer.Option("--pull", help="How to bring in the remote's commits "
                                                         "(else `git.pull` in dealcli.yaml, else rebase).",
                                                         case_sensitive=False)] = None,
        remote: Annotated[Optional[str], typer.Option("--remote", help="The git remote (else `git.remote` in "
                                                      "dealcli.yaml, else origin).")] = None,
        no_push: Annotated[bool, typer.Option("--no-push", help="Commit, pull and check only.")] = False,
        retries: Annotated[int, typer.Option("--retries", min=0, max=20, help="Pulls again when the remote "
                                             "moved while pushing, this many times.")] = 3,
    ) -> None:
        """Commit pending changes as the acting user, pull with the merge driver (rebase or merge), run
        `check`, push. Exit 0 synced; 1 check found problems after the pull (nothing pushed); 3 not a
        git repository; 4 a merge only a person can finish (the pull is undone) or the remote kept
        moving (see docs/git.md)."""
        from dealcli import gitops
        from dealcli.commands.options import session

        s = session(ctx)
        report = gitops.sync(s, mode.value if mode else None, remote, push=not no_push, retries=retries)
        for p in report["problems"]:
            s.notice(_("unresolved merge conflict: {p}").format(p=p))
        done = [w for w, flag in (("committed", report["committed"]), ("pulled", report["pulled"]),
                                  ("pushed", report["pushed"])) if flag]
        s.notice(_("sync: {join_done_if_done_else_n}").format(
            join_done_if_done_else_n=', '.join(done) if done else 'nothing to do'))
