"""`dealcli activity ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Calls, meetings, tasks and emails planned on deals.", no_args_is_help=True)
