"""`dealcli lead ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Leads and their conversion into deals.", no_args_is_help=True)
