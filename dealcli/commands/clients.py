"""`dealcli company ...` and `dealcli contact ...`."""

from __future__ import annotations

import typer

company_app = typer.Typer(help="Companies (clients).", no_args_is_help=True)
contact_app = typer.Typer(help="Contacts (people at clients).", no_args_is_help=True)
