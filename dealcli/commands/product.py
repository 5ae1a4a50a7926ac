"""`dealcli product ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="The product catalogue.", no_args_is_help=True)
