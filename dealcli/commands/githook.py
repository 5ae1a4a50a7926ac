"""`dealcli git-hook pre-receive`: the shared remote's guard (see docs/access.md)."""

from __future__ import annotations

import typer
from dealcli.i18n import _

from dealcli import env as environment

app = typer.Typer(help="Hooks for a shared bare git repository.", no_args_is_help=True)


@app.command("pre-receive")
def pre_receive(ctx: typer.Context) -> None:
    """Run as the pre-receive hook of a shared bare repository (hooks/pre-receive: `exec dealcli
    git-hook pre-receive`). Reads `old new ref` lines on stdin and refuses the push (exit 1, the
    reasons on stderr, which git shows the pusher as `remote:` lines) when a ref update changes a
    record its pusher (or, when the server names no pusher, its authors) may not change under the
    rules of the old tip, rewrites or deletes a branch without the settings right, or leaves
    `dealcli check` failing (a merge conflict record excepted). The pusher is what the server
    names in $DEALCLI_PUSHER, $GL_USERNAME (GitLab), $GITEA_PUSHER_EMAIL / $GITEA_PUSHER_NAME
    (Gitea, Forgejo), $GL_USER (Gitolite) or $REMOTE_USER (see docs/access.md)."""
    import os
    from pathlib import Path

    from dealcli import audit
    from dealcli.commands.options import session

    s = session(ctx)
    pushed = environment.current().stdin.read().splitlines()
    problems = audit.pre_receive(Path(os.environ.get("GIT_DIR") or "."), pushed,
                                 audit.pusher_of(os.environ))
    for line in problems:
        s.notice(_("refused: {line}").format(line=line))
    if problems:
        s.notice(_("push refused: {len_problems} problem(s); fix the commits (git rebase) and push again").format(
            len_problems=len(problems)))
        raise typer.Exit(1)


@app.command("index")
def index(ctx: typer.Context) -> None:
    """Build (or bring up to date) the pre-receive hook's link index for the default branch, in the
    bare repository (`dealcli-links.sqlite` in $GIT_DIR, else the current folder): the hook finds
    the records linking to a deleted one there. The first push that deletes a record builds it
    otherwise, reading every record file once (minutes at 100,000 deals); run this once after
    installing the hook on a big repository (see docs/git.md)."""
    import os
    from pathlib import Path

    from dealcli import audit
    from dealcli.commands.options import session

    s = session(ctx)
    s.notice(audit.build_link_index(Path(os.environ.get("GIT_DIR") or ".")))
