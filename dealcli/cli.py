"""The root command. main() is the ONLY place that turns an error into a line on stderr and an
exit code (see docs/exit-codes.md)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from dealcli import __version__
from dealcli.commands import options

HELP = """A scriptable command-line CRM for deals, kept as one YAML file per record.

The repository is --dir, else $DEALCLI_DIR, else the nearest folder upwards holding
dealcli.yaml. Exit codes: 0 ok, 1 refused by a rule or validation failed, 2 usage error,
3 not found, 4 conflict, 5 unreadable or corrupt data."""

app = typer.Typer(
    name="dealcli",
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

_current: list = []  # the Session of this run, for the notices printed at exit


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dealcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    dir: Annotated[Optional[str], typer.Option("--dir", metavar="PATH", help="The repository folder (else $DEALCLI_DIR, "
                                               "else the nearest folder upwards holding dealcli.yaml).",
                                               show_default=False)] = None,
    as_user: Annotated[Optional[str], typer.Option("--as", metavar="USER", help="Acting user (else $DEALCLI_USER, the "
                                                   "repository default, git user.email, $USER).")] = None,
    now: Annotated[Optional[str], typer.Option("--now", metavar="DATETIME", help="The clock every command uses (else "
                                               "$DEALCLI_NOW, else the real time): makes runs "
                                               "reproducible.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notices or hints on stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    from dealcli.session import Session

    ctx.obj = Session(dir=dir, as_user=as_user, now_text=now, quiet=quiet)
    _current[:] = [ctx.obj]


def _register() -> None:
    from dealcli.commands import (
        activity,
        check,
        clients,
        deal,
        import_,
        init,
        lead,
        pipeline,
        product,
        quote,
        recurring,
        views,
    )

    init.register(app)
    check.register(app)
    app.add_typer(deal.app, name="deal")
    app.add_typer(pipeline.app, name="pipeline")
    views.register(app)
    import_.register(app)
    app.add_typer(clients.company_app, name="company")
    app.add_typer(clients.contact_app, name="contact")
    app.add_typer(product.app, name="product")
    app.add_typer(lead.app, name="lead")
    app.add_typer(quote.app, name="quote")
    app.add_typer(activity.app, name="activity")
    activity.register(app)
    app.add_typer(recurring.app, name="recurring")


_register()


def _err(line: str) -> None:
    try:
        sys.stderr.write(f"dealcli: {line}\n")
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass


def _flush_notices() -> None:
    if not _current:
        return
    s = _current[0]
    if not s.quiet:
        for note in s.notices:
            _err(note)
    s.notices.clear()


def main(argv: list[str] | None = None) -> None:
    from dealcli.errors import DealcliError, PipeClosed

    code = 0
    try:
        app(args=argv, prog_name="dealcli")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == 0 or code == 1:
            _flush_notices()
    except PipeClosed:
        code = 0
    except DealcliError as exc:
        _flush_notices()
        for line in exc.lines():
            _err(f"error: {line}")
        code = exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = 130
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _err(f"error: {where}{exc.strerror or exc}")
        code = 5
    except Exception as exc:  # a bug, not something the user caused
        if os.environ.get("DEALCLI_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {exc} (set DEALCLI_DEBUG=1 for a traceback)")
        code = 70
    sys.exit(code)


if __name__ == "__main__":
    main()
