"""`dealcli pipeline ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Pipelines, stages and the deal card.", no_args_is_help=True)
