"""`dealcli git-hook pre-receive`: the shared remote's guard (see docs/access.md)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Hooks for a shared bare git repository.", no_args_is_help=True)


@app.command("pre-receive")
def pre_receive(ctx: typer.Context) -> None:
    """Run as the pre-receive hook of a shared bare repository (hooks/pre-receive: `exec dealcli
    git-hook pre-receive`). Reads `old new ref` lines on stdin and refuses the push (exit 1, the
    reasons on stderr, which git shows the pusher as `remote:` lines) when a new commit changes a
    record its author was not allowed to change, or leaves `dealcli check` failing. When the git
    server authenticates the pusher ($DEALCLI_PUSHER, $GL_USER or $REMOTE_USER), a commit authored
    by someone else needs the pusher's right to act as that user."""
    import os
    import sys
    from pathlib import Path

    from dealcli import audit
    from dealcli.commands.options import session

    s = session(ctx)
    pusher = next((os.environ[v] for v in audit.PUSHER_VARIABLES if os.environ.get(v)), None)
    problems = audit.pre_receive(Path(os.environ.get("GIT_DIR") or "."), sys.stdin.read().splitlines(), pusher)
    for line in problems:
        s.notice(f"refused: {line}")
    if problems:
        s.notice(f"push refused: {len(problems)} problem(s); fix the commits (git rebase) and push again")
        raise typer.Exit(1)
