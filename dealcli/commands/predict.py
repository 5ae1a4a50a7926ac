"""`dealcli predict ...`: repeat-sales prediction and its backtest (see docs/automation.md)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Repeat-sales prediction: who is likely to buy again soon, and why.", no_args_is_help=True)
