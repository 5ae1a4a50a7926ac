"""`dealcli import`: deals, companies and contacts from another CRM's export or a spreadsheet."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands.options import session
from dealcli.i18n import _

HELP = """Import deals (and the companies and contacts they name) from FILE, or - for stdin.

Reads CSV/TSV (delimiter sniffed), JSON (an array), JSONL and YAML; UTF-8 with or without BOM, or
--encoding. Columns map to deal fields by --map, then by the --preset, then by their own name
(title, amount, currency, stage, pipeline, responsible, type, source, begin, close_date,
closed_at, created, probability, lost_reason, origin_id, comment, company, contact,
contact_email, contact_phone, product, product_price, product_quantity, status, won, closed).

Every row is checked first; if any row is bad nothing is written, every bad row is listed as
FILE:LINE: COLUMN: VALUE: PROBLEM (the same problem on many rows once) and the exit code is 1;
with --rejects FILE the valid rows are imported and the refused ones written to FILE. A row in a \
success or failure stage is
imported closed with its dates. Records exported by `dealcli export` (any format) are imported
as they are (their id is kept when free). Prints the ids of the deals created or updated; a summary
goes to stderr. --kind reads companies, contacts, products, users or activities instead of
deals; --all reads a whole repository written by `export --all`. See docs/import.md for each
CRM's migration walk-through."""


def register(app: typer.Typer) -> None:
    app.command("import", help=HELP)(import_command)


def import_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The file to import, or - for stdin.",
                                        show_default=False)],
    format: Annotated[Optional[str], typer.Option("--format", "-f", metavar="csv|tsv|json|jsonl|yaml",
                                                  help="Input format (default: from the file name, else "
                                                  "guessed from the content).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", metavar="bitrix24|pipedrive|hubspot|salesforce|"
                                                  "amocrm|zoho|odoo|suitecrm|vtiger",
                                                  help="Column names, stage names and quirks of another CRM's "
                                                  "export.")] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", metavar="COLUMN=FIELD", help="Read COLUMN "
                                                      "into FIELD (a deal field, company, contact, "
                                                      "contact_email, contact_phone, product, product_price, "
                                                      "product_quantity, status, won, closed; any other name "
                                                      "is a custom field; FIELD empty drops the column). "
                                                      "Repeatable; overrides the preset.")] = None,
    stage_map: Annotated[Optional[list[str]], typer.Option("--stage-map", metavar="VALUE=STAGE",
                                                           help="Source stage name VALUE goes to stage id "
                                                           "STAGE (repeatable; overrides the preset).")] = None,
    pipeline_map: Annotated[Optional[list[str]], typer.Option("--pipeline-map", metavar="VALUE=PIPELINE",
                                                              help="Source pipeline VALUE goes to pipeline "
                                                              "PIPELINE (repeatable). Bitrix24: the category "
                                                              "number of CATEGORY_ID and of C<n>: stages, "
                                                              "e.g. --pipeline-map 6=service.")] = None,
    pipeline: Annotated[Optional[str], typer.Option("--pipeline", "-p", help="Pipeline for rows that do not "
                                                    "name an existing one (default: the repository's).")] = None,
    key: Annotated[Optional[str], typer.Option("--key", metavar="FIELD", help="Upsert: a row whose FIELD "
                                               "(origin_id, title, id or a custom field) matches a deal "
                                               "updates it, with history events; re-running the same file "
                                               "changes nothing.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything and print what would be "
                                          "created, updated, unchanged or skipped; write nothing.")] = False,
    encoding: Annotated[Optional[str], typer.Option("--encoding", metavar="ENC", help="Text encoding "
                                                    "(utf-8 by default, a BOM is recognised; utf-16, "
                                                    "cp1251, latin-1 ...).")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", metavar="C", help="CSV delimiter "
                                                     "(default: sniffed among , ; TAB |; \\t for TAB).")] = None,
    dayfirst: Annotated[bool, typer.Option("--dayfirst", help="Numeric dates are D/M/Y.")] = False,
    monthfirst: Annotated[bool, typer.Option("--monthfirst", help="Numeric dates are M/D/Y (default: "
                                             "decided from the file's dates; an undecidable file is an "
                                             "error).")] = False,
    keep_unmapped: Annotated[bool, typer.Option("--keep-unmapped", help="Keep columns nothing maps as "
                                                "custom fields (default: ignore them, with a notice).")] = False,
    dialect: Annotated[Optional[str], typer.Option("--dialect", metavar="csv|tsv|mysql", help="How CSV/TSV "
                                                   "cells are quoted: csv (\"...\" with \"\" inside), tsv (no "
                                                   "quotes; \\t \\n \\\\ escapes), mysql (\\\" escapes, \\N "
                                                   "is null). Default: csv, or for a TAB-separated file what its "
                                                   "cells show.")] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="The file has no header row: name its "
                                            "columns with --columns.")] = False,
    columns: Annotated[Optional[str], typer.Option("--columns", metavar="A,B,...", help="Column names of a "
                                                   "file without a header row (with --no-header), in order; "
                                                   "they map like header names.")] = None,
    strict: Annotated[bool, typer.Option("--strict", hidden=True, help="Kept so scripts that pass it still work: "
                                         "rows linking companies or contacts this repository lacks are "
                                         "always refused now.")] = False,
    kind: Annotated[str, typer.Option("--kind", metavar="deal|company|contact|product|user|activity",
                                      help="What each row is: a deal (the default), or a company, contact, "
                                      "product, user (with its department and manager) or activity (a call, "
                                      "e-mail, meeting or task on its deal); fields by --map, the preset or the "
                                      "column's name (docs/import.md).")] = "deal",
    value_map: Annotated[Optional[list[str]], typer.Option("--value-map", metavar="COLUMN:VALUE=VALUE",
                                                           help="Read VALUE in COLUMN as the other VALUE before "
                                                           "anything else (any column, status too: "
                                                           "--value-map Status:Dead=lost). Repeatable.")] = None,
    rejects_file: Annotated[Optional[str], typer.Option("--rejects", metavar="FILE", help="Import the valid rows "
                                                   "(one transaction) and write the refused ones to FILE, in the "
                                                   "input's format with their problems in a last column "
                                                   "import_errors, to fix and import again. Default: any bad "
                                                   "row stops the whole import.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="FILE is a whole repository written by `export --all` "
                                       "(its folder, or its stream): every record and the settings go into "
                                       "this empty repository as they were, ids kept.")] = False,
    report_file: Annotated[Optional[str], typer.Option("--report", metavar="FILE", help="Write the migration "
                                                       "report (records created/updated/unchanged per kind, "
                                                       "unknown columns, values coerced, dangling links) to FILE "
                                                       "as JSON.")] = None,
) -> None:
    from dealcli import importing
    from dealcli.views import messages, render
    from dealcli.errors import UsageError

    if dayfirst and monthfirst:
        raise UsageError(_("--dayfirst and --monthfirst exclude each other"))
    if no_header != (columns is not None):
        raise UsageError(_("--no-header and --columns go together: --no-header --columns title,amount,..."))
    s = session(ctx)
    if all_:
        from dealcli.importing import bundle

        loaded = bundle.import_all(s, file, dry_run)
        for line in messages.bundle_notices(loaded, file):
            s.notice(line)
        return
    opts = importing.ImportOptions(
        source=file, format=format.lower() if format else None, preset=preset.lower() if preset else None,
        maps=map_ or [], stage_maps=stage_map or [], pipeline_maps=pipeline_map or [], pipeline=pipeline, key=key,
        dry_run=dry_run,
        encoding=encoding, delimiter=delimiter, dayfirst=True if dayfirst else (False if monthfirst else None),
        keep_unmapped=keep_unmapped, dialect=dialect.lower() if dialect else None,
        columns=columns.split(",") if columns is not None else None, report_file=report_file,
        value_maps=value_map or [], rejects_file=rejects_file, kind=kind.lower(),
    )
    if opts.kind != "deal":
        from dealcli.importing import records

        done = records.run(s, opts)
        render.write("".join(f"{i}\n" for i in done.ids))
        for line in messages.records_notices(done, file if file != "-" else "<stdin>"):
            s.notice(line)
        return
    out: list[str] = []

    def report(action: str, plan) -> None:
        line = messages.import_row(action, plan, dry_run)
        if line:
            out.append(line)
        if len(out) >= 200:
            render.write("".join(out))
            out.clear()

    bar = messages.Progress() if environment.current().stderr_isatty else None
    try:
        result = importing.run(s, opts, report=report, progress=bar)
    finally:
        if bar:
            bar.done()
    render.write("".join(out))
    name = opts.source if opts.source != "-" else "<stdin>"
    for line in messages.import_notices(result, name):
        s.notice(line)
    if report_file:
        importing.write_report(result, name, report_file, s.repo.root)
