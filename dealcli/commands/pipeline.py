"""`dealcli pipeline ...`: list, show, add, delete, edit (see docs/pipelines.md)."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands.options import Format, FormatOpt, YesOpt, confirm_delete, print_ids, session
from dealcli import i18n

app = typer.Typer(help="Pipelines, stages and the deal card (docs/pipelines.md).", no_args_is_help=True)

PipelineArg = Annotated[str, typer.Argument(metavar="P", help="Pipeline id.", show_default=False)]


class NewSemantics(str, enum.Enum):
    process = "process"
    failure = "failure"


@app.command("list")
def list_(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List the pipelines: id, name, default, stages, card fields, number of deals and of open deals."""
    from dealcli import pipelines
    from dealcli.views import render

    rows = pipelines.listing(session(ctx))
    if format == Format.table:
        rows = [dict(r, default="yes" if r["default"] else "", stages=len(r["stages"]), fields=len(r["fields"]))
                for r in rows]
    render.emit(rows, format.value)


@app.command("show")
def show(ctx: typer.Context, pipeline_id: PipelineArg, format: FormatOpt = Format.table) -> None:
    """Show a pipeline: its stages with their deal counts, stage rules and deal card.

    json and yaml print the pipeline record as stored (pipelines/P.yaml); jsonl, csv and tsv
    print one row per stage (pipeline, position, id, name, color, semantics, probability, deals);
    ids prints the stage ids in order."""
    from dealcli import pipelines
    from dealcli.views import render
    from dealcli.views import card as views_card

    s = session(ctx)
    pipeline, counts = pipelines.show(s, pipeline_id)
    if format == Format.table:
        render.write(views_card.pipeline_text(pipeline, counts, s.repo.config.get("default_pipeline") == pipeline.id))
    elif format in (Format.json, Format.yaml):
        render.emit_record(pipeline.to_dict(), format.value)
    else:
        render.emit(pipelines.stage_rows(pipeline, counts), format.value)


@app.command("add")
def add(
    ctx: typer.Context,
    pipeline_id: PipelineArg,
    name: Annotated[Optional[str], typer.Option("--name", help="Display name (default: from the id).")] = None,
    stages: Annotated[Optional[str], typer.Option("--stages", metavar="SPEC", help="The stages, in order: comma-"
                                                  "separated ID[:NAME][:process|success|failure][:#RRGGBB][:N%]; "
                                                  "process is the default, exactly one stage is :success, failures "
                                                  "come after it. Example: \"new:New,demo:Demo given:40%,won:Won:"
                                                  "success,lost:Lost:failure\". Missing colours and probabilities "
                                                  "get defaults. Without --stages: new, preparation, "
                                                  "prepayment_invoice, executing, final_invoice, won (success), "
                                                  "lose and apology (failure).")] = None,
) -> None:
    """Create a pipeline and print its id."""
    from dealcli import pipelines

    pipeline = pipelines.add(session(ctx), pipeline_id, name, stages)
    print_ids([pipeline.id])


@app.command("delete")
def delete(ctx: typer.Context, pipeline_id: PipelineArg, yes: YesOpt = False) -> None:
    """Delete a pipeline that holds no deals (and is not the default one). Prints its id."""
    from dealcli import pipelines

    s = session(ctx)
    confirm_delete(s, yes, "pipeline delete", "pipeline", [pipeline_id], legacy=True)
    print_ids([pipelines.delete(s, pipeline_id)])


@app.command("edit")
def edit(
    ctx: typer.Context,
    pipeline_id: PipelineArg,
    add_stage: Annotated[Optional[str], typer.Option("--add-stage", metavar="ID", help="Add a stage (placed by "
                                                     "--after/--before; default: a process stage goes just before "
                                                     "the success stage, a failure stage at the end).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Name of the stage added by --add-stage; without "
                                                "--add-stage, the new name of the pipeline.")] = None,
    after: Annotated[Optional[str], typer.Option("--after", metavar="S", help="Place the added or moved stage "
                                                 "after stage S.")] = None,
    before: Annotated[Optional[str], typer.Option("--before", metavar="S", help="Place the added or moved stage "
                                                  "before stage S.")] = None,
    color: Annotated[Optional[str], typer.Option("--color", metavar="#RRGGBB", help="Colour of the added "
                                                 "stage.")] = None,
    semantics: Annotated[Optional[NewSemantics], typer.Option("--semantics", help="Semantics of the added stage "
                                                              "(default process; failure stages close deals "
                                                              "lost).")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", metavar="N", help="Probability 0-100 of "
                                                       "the added stage (deals entering it take it).")] = None,
    rename_stage: Annotated[Optional[tuple[str, str]], typer.Option("--rename-stage", metavar="S NAME",
                                                                   help="Rename stage S (its id stays, so deals "
                                                                   "keep pointing at it).")] = None,
    color_stage: Annotated[Optional[tuple[str, str]], typer.Option("--color-stage", metavar="S #RRGGBB",
                                                                  help="Recolour stage S.")] = None,
    move_stage: Annotated[Optional[str], typer.Option("--move-stage", metavar="S", help="Move stage S to "
                                                      "--after T or --before T.")] = None,
    delete_stage: Annotated[Optional[str], typer.Option("--delete-stage", metavar="S", help="Delete stage S; "
                                                        "refused while it holds deals unless "
                                                        "--move-deals-to. The success stage cannot be "
                                                        "deleted.")] = None,
    move_deals_to: Annotated[Optional[str], typer.Option("--move-deals-to", metavar="T", help="With "
                                                         "--delete-stage: move its deals to stage T (same "
                                                         "semantics), each with a history event.")] = None,
    require: Annotated[Optional[list[str]], typer.Option("--require", metavar="FIELD", help="Require FIELD (a "
                                                         "deal field or a custom field) from --from-stage on: "
                                                         "entering that stage or any later one, closing won "
                                                         "included (repeatable).")] = None,
    from_stage: Annotated[Optional[str], typer.Option("--from-stage", metavar="S", help="The stage from which "
                                                      "the --require fields are required.")] = None,
    unrequire: Annotated[Optional[list[str]], typer.Option("--unrequire", metavar="FIELD", help="Drop the "
                                                           "requirement of FIELD (repeatable).")] = None,
    lost_reason: Annotated[Optional[bool], typer.Option("--require-lost-reason/--no-require-lost-reason",
                                                        help="Whether closing a deal lost needs --reason.",
                                                        show_default=False)] = None,
    card: Annotated[Optional[str], typer.Option("--card", metavar="FILE", help="Replace the deal card with the "
                                                "one in a YAML file (- reads stdin): `fields:` (name, type, "
                                                "values, default, help, section, label) and optional "
                                                "`sections:`; see schemas/card.schema.json.")] = None,
    automation: Annotated[Optional[str], typer.Option("--automation", metavar="FILE", help="Replace the stage "
                                                      "automation rules with those of a YAML file (a list, or "
                                                      "`automation:` holding one; - reads stdin; an empty list "
                                                      "removes them). See docs/pipelines.md.")] = None,
    editor: Annotated[Optional[str], typer.Option("--editor", metavar="CMD", help="Editor for the no-operation "
                                                  "form (default: $VISUAL, $EDITOR, vi); given explicitly it "
                                                  "also works when stdin is not a terminal.")] = None,
) -> None:
    """Change a pipeline: add, rename, recolour, reorder or delete stages, set stage rules, replace
    the deal card. Several operations may be combined; they are checked together (stage rules:
    one success stage, process stages before it, failure stages after it) and either all are saved
    or none. Prints the pipeline id.

    With no operation, on a terminal (or with --editor): opens the pipeline file in an editor and
    validates it on save (schema, stage rules, card, deals left in a removed stage); on errors it
    offers to edit again, and giving up leaves the file untouched."""
    from dealcli import pipelines
    from dealcli.errors import UsageError

    s = session(ctx)
    ops = pipelines.EditOps(
        add_stage=add_stage, name=name, after=after, before=before, color=color,
        semantics=semantics.value if semantics else None, probability=probability,
        rename=[rename_stage] if rename_stage else [], recolor=[color_stage] if color_stage else [],
        move_stage=move_stage,
        delete_stage=delete_stage, move_deals_to=move_deals_to, require=list(require or []),
        from_stage=from_stage, unrequire=list(unrequire or []), lost_reason_required=lost_reason, card_file=card,
        automation_file=automation,
    )
    if ops.is_empty():
        env = environment.current()
        if editor is None and not (env.stdin_isatty and env.stdout_isatty):
            raise UsageError(i18n._("pipeline edit: give an operation (see --help), or run it on a terminal to "
                                    "open the file in $EDITOR (or pass --editor CMD)"))
        saved = _edit_in_editor(s, pipeline_id, editor)
        if saved is not None:
            print_ids([saved.id])
        return
    if editor is not None:
        raise UsageError(i18n._("--editor is for the no-operation form of pipeline edit"))
    if card == "-" and automation == "-":
        raise UsageError(i18n._("--card - and --automation - cannot both read stdin"))
    if card == "-":
        ops.card_text = environment.current().stdin.read()
    if automation == "-":
        ops.automation_text = environment.current().stdin.read()
    print_ids([pipelines.edit(s, pipeline_id, ops).id])


def _edit_in_editor(s, pipeline_id: str, editor: str | None):
    """The crontab -e loop: edit a temporary copy, validate, save or offer to edit again."""
    import os
    import shlex
    import subprocess

    from dealcli import pipelines
    from dealcli.errors import Conflict, UsageError, ValidationFailed
    from dealcli.storage import files

    doc, original = pipelines.editable(s, pipeline_id)
    command = editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(i18n._("editor {command!r}: {exc}").format(command=command, exc=exc)) from None
    if not argv:
        raise UsageError(i18n._("--editor: empty command"))
    tmp = files.scratch_copy(original, prefix=f"dealcli-pipeline-{doc.id}-")
    keep = False
    try:
        while True:
            try:
                code = subprocess.call([*argv, str(tmp)])
            except OSError as exc:
                raise UsageError(i18n._("editor {argv_0!r}: {exc_strerror}").format(
                    argv_0=argv[0], exc_strerror=exc.strerror)) from None
            if code != 0:
                raise ValidationFailed(i18n._("editor {command!r} exited with status {code}; nothing saved").format(
                    command=command, code=code))
            text = files.read_text(tmp)
            if text == original:
                s.notice(i18n._("pipeline {doc_id}: no changes, nothing saved").format(doc_id=doc.id))
                return None
            _, problems = pipelines.check_text(s, doc, text, str(tmp))
            if not problems:
                try:
                    return pipelines.save_text(s, doc, text, str(tmp))
                except Conflict as exc:
                    keep = True
                    raise Conflict(i18n._("{exc_message} (your edited copy is kept in {tmp})").format(
                        exc_message=exc.message, tmp=tmp)) from None
            for problem in problems:
                typer.echo(f"dealcli: {problem}", err=True)
            try:
                again = typer.confirm(i18n._("Edit again?"), default=True, err=True)
            except typer.Abort:
                again = False
            if not again:
                raise ValidationFailed(i18n._("pipeline {doc_id}: {len_problems} problem(s); nothing saved").format(
                    doc_id=doc.id, len_problems=len(problems)))
    finally:
        if not keep:
            files.discard(tmp)
