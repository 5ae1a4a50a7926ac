"""`dealcli quote ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Quotes.", no_args_is_help=True)
