"""Options shared by many commands, declared once, and the small helpers every command uses
to reach the Session, read ids from stdin and render."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands import complete
from dealcli.i18n import _


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
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation. Without it: asked on "
                                      "a terminal; off one, deal, recurring and generator deletes refuse "
                                      "(exit 2), the others delete with a notice.")]


def session(ctx: typer.Context):
    from dealcli.session import Session

    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
    return root.obj


def confirm_delete(s, yes: bool, command: str, what: str, refs: list[str], kind: str | None = None, *,
                   legacy: bool = False, from_stdin: bool = False) -> None:
    """The one rule of every `delete` (docs/exit-codes.md): with --yes, no question. Without it,
    on a terminal, ask `Delete WHAT ID?` (no: exit 1; the ids resolved in folder `kind`, so an
    unknown one is exit 3 before the question). Off a terminal (stdin not a tty, or the ids read
    from stdin): a usage error (exit 2), except for the `legacy` deletes, which deleted without
    asking before they took --yes: they still do, with a notice, so scripts keep working."""
    from dealcli.errors import UsageError

    if yes or not refs:
        return
    env = environment.current()
    if from_stdin or not env.stdin_isatty:
        if not legacy:
            raise UsageError(_("{command}: pass --yes to delete without a prompt").format(command=command))
        s.notice_written(_("{command}: not asked, stdin is not a terminal; pass --yes to say so "
                           "(deal, recurring and generator deletes refuse without it)").format(command=command))
        return
    shown = [s.repo.resolve(kind, ref) if kind else ref for ref in refs]
    # asked here, not by typer.confirm: click's prompt on stderr still writes a space to stdout
    env.stderr.write(_("Delete {what} {ids}? [y/N]: ").format(what=_(what), ids=", ".join(shown)))
    env.stderr.flush()
    if env.stdin.readline().strip().lower() not in ("y", "yes", "д", "да"):
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
