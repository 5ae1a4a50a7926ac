"""`dealcli recurring ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Recurring deals created on a schedule (run from cron).", no_args_is_help=True)
