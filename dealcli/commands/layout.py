"""`dealcli layout show | shard [--width N] | flat`: where record files are, and moving them
(dealcli/sharding.py; docs/format.md, "Sharded folders")."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import Format, FormatOpt, session
from dealcli.i18n import _, ngettext

app = typer.Typer(help="Where record files are: one flat folder per kind, or deals and activities in "
                  "shard folders by id prefix (deals/ab/<id>.yaml), for repositories of a million records.",
                  no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """The layout dealcli.yaml names, and how many record files of each sharded kind are where it
    puts them (`placed`) and elsewhere (`elsewhere`: a `layout` run that was stopped; run it again)."""
    from dealcli import sharding
    from dealcli.commands.records import emit_list

    found = sharding.current(session(ctx))
    rows = [{"folder": kind, "layout": found["layout"], **counts} for kind, counts in found["kinds"].items()]
    emit_list(rows, format.value, ["folder", "layout", "placed", "elsewhere"])


@app.command("shard")
def shard(
    ctx: typer.Context,
    width: Annotated[Optional[int], typer.Option("--width", min=1, max=2, help="How many leading characters "
                                                 "of an id name its shard folder: 1 (32 folders) or 2 (1024 "
                                                 "folders, for a million records). Default: the width "
                                                 "dealcli.yaml names, else 2.")] = None,
) -> None:
    """Move every deal and activity file into its shard folder (deals/ab/<id>.yaml, by the first
    characters of its id) and write `layout: {shard: N}` into dealcli.yaml; every command works the
    same afterwards. Under the repository lock; each file moves by one rename, so a run stopped
    midway leaves a repository that works, and running the command again finishes it. In a git work
    tree the renames and dealcli.yaml are staged (commit them; with auto_commit they are committed).
    Exit 1 when a file was left because its place holds another file (`dealcli check` names it)."""
    _migrate(ctx, width)


@app.command("flat")
def flat(ctx: typer.Context) -> None:
    """Move every deal and activity file back into its kind's folder (deals/<id>.yaml) and remove
    `layout:` from dealcli.yaml. Stopped midway, run it again; staged in git like `layout shard`."""
    _migrate(ctx, 0)


def _migrate(ctx: typer.Context, width: int | None) -> None:
    from dealcli import sharding

    s = session(ctx)
    done = sharding.migrate(s, width)
    width = done.width
    shape = (ngettext("shard folders of {width} character", "shard folders of {width} characters", width)
             .format(width=width) if width else _("flat folders"))
    for kind, count in done.moved.items():
        s.notice(ngettext("{folder}/: {count} file moved into {shape}", "{folder}/: {count} files moved into {shape}",
                          count).format(folder=kind, count=count, shape=shape))
    for line in done.git:
        s.notice(line)
    if done.staged:
        s.notice(ngettext("{count} rename staged in git with dealcli.yaml: commit it",
                          "{count} renames staged in git with dealcli.yaml: commit them", done.staged)
                 .format(count=done.staged))
    for rel in done.kept:
        s.alert(_("{path}: not moved: its place holds another file (keep one of the two)").format(path=rel))
    if done.kept:
        raise typer.Exit(1)
