"""Options shared by many commands, declared once, and the small helpers every command uses
to reach the Session, read ids from stdin and render."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands import complete


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    yaml = "yaml"
    ids = "ids"


class CheckFormat(str, enum.Enum):
    text = "text"
    json = "json"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format: table, json, jsonl, csv, tsv, yaml or ids.",
                 case_sensitive=False),
]
RecordFormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format: table (field: value lines), json, jsonl, csv, "
                 "tsv, yaml or ids.", case_sensitive=False),
]
IdArg = Annotated[str, typer.Argument(help="A deal id, a unique prefix of one, or - to read ids "
                                          "from stdin (one per line).", show_default=False,
                                     autocompletion=complete.deal_ids)]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="FIELD=VALUE: a deal field by its "
                                                     "name, or a custom field (repeatable).")]
UnlinkOpt = Annotated[bool, typer.Option("--unlink", help="Also clear every link to it (deals, contacts, "
                                        "quotes, recurring templates) instead of refusing (what each link "
                                        "does: docs/format.md).")]
RecordRefArg = Annotated[str, typer.Argument(metavar="ID", help="Id or unique id prefix.", show_default=False)]
PipelineOpt = Annotated[Optional[str], typer.Option("--pipeline", "-p", help="Pipeline id.",
                                                    autocompletion=complete.pipelines)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed when stdin "
                                      "is not a terminal).")]


def session(ctx: typer.Context):
    from dealcli.session import Session

    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
    return root.obj


def confirm_delete(s, kind: str, ref: str, command: str, what: str) -> None:
    """Without --yes: ask on a terminal (no: exit 1); off a terminal, a usage error."""
    from dealcli.errors import UsageError

    if not environment.current().stdin_isatty:
        raise UsageError(f"{command}: pass --yes to delete without a prompt")
    resolved = s.repo.resolve(kind, ref)
    if not typer.confirm(f"Delete {what} {resolved}?", err=True):
        raise typer.Exit(1)


def read_ids(ref: str) -> list[str]:
    """`-` means ids from stdin, one per line (blank lines and #comments ignored); the first
    whitespace-separated word of a line is the id, so table output can be piped too."""
    if ref != "-":
        return [ref]
    out = []
    for line in environment.current().stdin:
        word = line.strip().split()[0] if line.strip() else ""
        if word and not word.startswith("#"):
            out.append(word)
    return out


def print_ids(ids) -> None:
    from dealcli.views import render

    render.write("".join(f"{i}\n" for i in ids))


AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", metavar="DATE", help="The repository as it was at that moment, rebuilt from each deal's "
    "history (a day alone means its end; relative dates like -30d too). See docs/reports.md for what "
    "history cannot tell.")]
HtmlOpt = Annotated[Optional[str], typer.Option(
    "--html", metavar="FILE", help="Write one self-contained HTML page (inline SVG charts, no network, "
    "prints well) to FILE (- for stdout) instead of the terminal output.")]
