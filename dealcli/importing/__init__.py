"""`dealcli import`: deals (and the companies and contacts they name) from CSV, TSV, JSON, JSONL
or YAML exports of other systems, all-or-nothing.

Two passes over the input, both under the repository lock:
1. validate: every row is mapped, its values read, the deal built and checked by stage_rules
   (and against the deal it updates with --key). Only small state is kept: keys seen, the
   names and emails of clients planned, the evidence for the file's date order. If any row is
   bad, nothing is written and every bad row is listed (`file:line: column: value: problem`).
2. write (or, with --dry-run, report): the input is read again and each deal is built the same
   way and written atomically (create-only for new deals, checked against the bytes read for
   updates), with the companies and contacts it needs just before it.
Memory therefore stays flat however long the file is. Standard input is spooled to a
temporary file first.

Rows are mapped to targets (TARGETS) by --map, then by the --preset's labels, then by the
column's own name; other columns are kept as custom fields only with --keep-unmapped. A
record exported by dealcli itself (it has `format`, `id` and `history`) is taken as it is:
see docs/import.md.

This module holds the passes and the entry points (`run`, `check_options`, `write_report`); the
package is split by concern, and everything public is importable from here as before:
- `read.py` the file formats, `values.py` amounts, dates, booleans (the cells as text -> values);
- `mapping.py` the targets, the options, `Mapper` (which column feeds which target);
- `reading.py` `Reading` (the values of one group of rows) and the cell readers;
- `planning.py` the clients, the deal built and checked, its history, updates, native records;
- `problems.py` `Bad`, `Line`, `ImportFailed` (the problems as data and as lines);
- `presets.py` the other CRMs' exports, `rejects.py` `--rejects` and `--value-map`;
- `records.py`, `users.py`, `activities.py` the other kinds (`--kind`), `bundle.py` `--all`."""

from __future__ import annotations

import re

from dealcli import clients
from dealcli.errors import UsageError, Words, word
from dealcli.i18n import N_
from dealcli.importing import read as import_read
from dealcli.importing import rejects as import_rejects
from dealcli.importing import values as import_values
from dealcli.importing.mapping import (
    CLIENT_TARGETS,
    DATE_TARGETS,
    DEAL_TARGETS,
    DIALECTS,
    HISTORY_TARGETS,
    KEY_FIELDS,
    LOST_STAGES,
    PRODUCT_TARGETS,
    STATUS_TARGETS,
    STATUS_WORDS,
    TARGETS,
    UNMAPPED_TARGETS,
    WON_STAGES,
    ImportOptions,
    Mapper,
    is_native,
    key_value_of,
    normalise_target,
    parse_maps,
    parse_stage_maps,
)
from dealcli.importing.planning import (
    ATTRS,
    Context,
    Decimal1,
    People,
    Plan,
    Result,
    finish,
    plan_generic,
    plan_native,
    plan_update,
    same_moment,
    source_history,
    source_ref,
)
from dealcli.importing.presets import PRESETS, key
from dealcli.importing.problems import (
    SHOWN_LINES,
    Bad,
    ImportFailed,
    Line,
    Unknown,
    _cell,
    _problem,
    about_of,
    problem,
)
from dealcli.importing.reading import (
    Reading,
    _text,
    currency_code,
    read_emails,
    read_phones,
    split_contact,
    split_values,
)
from dealcli.importing.values import ValueProblem
from dealcli.session import Session
from dealcli.storage import files

# the public API, as it was before the package was split by concern (records.py, bundle.py, tests)
__all__ = [
    "ATTRS", "Bad", "CLIENT_TARGETS", "Context", "DATE_TARGETS", "DEAL_TARGETS", "DIALECTS",
    "Decimal1", "HISTORY_TARGETS", "ImportFailed", "ImportOptions", "KEY_FIELDS", "LOST_STAGES", "Line",
    "Mapper", "PRODUCT_TARGETS", "People", "Plan", "Reading", "Result", "SHOWN_LINES", "STATUS_TARGETS",
    "STATUS_WORDS", "TARGETS", "UNMAPPED_TARGETS", "Unknown", "WON_STAGES", "about_of", "currency_code",
    "finish", "is_native", "key_value_of", "normalise_target", "parse_maps", "parse_stage_maps",
    "plan_generic", "plan_native", "plan_update", "problem", "read_emails", "read_phones", "same_moment",
    "source_history", "source_ref", "split_contact", "split_values", "check_options", "run", "write_report",
]


# -- the passes ---------------------------------------------------------------------------------------
def _groups(ctx: Context, rows):
    """Consecutive rows of one deal (one row per product row) as one group."""
    current: list = []
    current_key = None
    for row in rows:
        k = None
        if not is_native(row.values):
            m = ctx.mapper(row.values)
            if m.has("product") and (ctx.preset.group_rows or m.has("origin_id")):
                target = "origin_id" if not ctx.key_field or ctx.key_field in ("id", "title") else (
                    ctx.key_field if ctx.key_field in TARGETS else "fields." + ctx.key_field.removeprefix("fields."))
                _, value = m.get(row.values, target)
                k = _text(value)
        if current and k is not None and k == current_key:
            current.append(row)
            continue
        if current:
            yield current
        current, current_key = [row], k
    if current:
        yield current
def _records(ctx: Context, errors: list):
    rows = import_read.records(ctx.source, ctx.fmt, ctx.opts.delimiter, errors, ctx.opts.dialect, ctx.opts.columns)
    header = ctx.source.name if ctx.fmt in ("csv", "tsv") else None
    return import_rejects.map_values(rows, ctx.value_map, header) if ctx.value_map else rows
def _pass(ctx: Context, on_plan, progress=None) -> list[str]:
    """Plan every group; problems as `file:line: column: value: problem` lines. The same
    problem on many rows (an unknown stage, a status nothing maps, one bad value repeated) is
    listed once, on its first line, with the number of rows and their first lines. The groups
    whose first line is in ctx.skip (refused by the checking pass, --rejects) are left out and
    kept in ctx.rejected with their reasons."""
    read_errors: list = []
    same: dict = {}  # one problem -> [first line, lines, Bad]
    name = ctx.source.name
    n = 0
    for group in _groups(ctx, _records(ctx, read_errors)):
        n += len(group)
        if progress and n % 500 < len(group):
            progress(ctx.source.bytes_read, ctx.source.size)
        if group[0].line in ctx.skip:
            ctx.rejected.append(group)
            continue
        try:
            plan = plan_native(ctx, group[0]) if is_native(group[0].values) else plan_generic(ctx, group)
        except Bad as exc:
            for one in exc.all():
                line = one.line or group[0].line
                k = one.once or (one.column, str(one.value), one.problem)
                entry = same.setdefault(k, [line, [], one])
                if not entry[1] or entry[1][-1] != line:
                    entry[1].append(line)
                ctx.reasons.setdefault(group[0].line, []).append(f"line {line}: {_cell(one)}{one.problem}")
            continue
        on_plan(ctx, plan)
    problems: list = [(err.line, _problem(name, err.line, err)) for err in read_errors]
    for line, lines, one in same.values():
        shown = ", ".join(str(x) for x in lines[:SHOWN_LINES]) + (
            f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")
        problems.append((line, _problem(name, line, one, f" ({len(lines)} rows from here on: lines {shown})"
                                        if len(lines) > 1 else "")))
    problems.sort(key=lambda p: p[0])  # stable: a row's problems stay in column order
    ctx.result.rows = n
    ctx.read_failed = bool(read_errors)
    ctx.bad_rows = len({line for line, _ in problems} | {x for _, lines, _ in same.values() for x in lines})
    return [text for _, text in problems]
def run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    """Import `opts.source`. `report(action, plan)` is called for each deal in the second pass
    (created / updated / unchanged / skipped); `progress(phase, done, total)` now and then."""
    from dealcli import access

    if opts.report_file:  # refused before anything is imported (storage/files.outside)
        files.outside(s.repo.root, opts.report_file, "report_file")
    with access.purpose(s, "import"):  # with users: new records need the import right
        return _run(s, opts, report, progress)
def check_options(opts: ImportOptions) -> None:
    """Refuse ImportOptions no import can run with (a usage error about the field, whoever the
    caller is: the CLI words it as the option, e.g. `--preset`); normalises delimiter and columns."""
    from dealcli.importing.records import KINDS

    if opts.kind not in KINDS:
        raise UsageError.about("kind", "{0} {value!r}: expected one of {known}", value=opts.kind,
                               known=", ".join(KINDS))
    if opts.key and opts.key not in KEY_FIELDS and not opts.key.strip():
        raise UsageError.about("key", "{0}: empty field name")
    if opts.format and opts.format not in import_read.FORMATS:
        raise UsageError.about("format", "{0} {value!r}: expected one of {known}", value=opts.format,
                               known=", ".join(import_read.FORMATS))
    if opts.preset and opts.preset not in PRESETS:
        raise UsageError.about("preset", "{0} {value!r}: expected one of {known}", value=opts.preset,
                               known=", ".join(PRESETS))
    if opts.delimiter is not None:
        opts.delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(opts.delimiter, opts.delimiter)
        if len(opts.delimiter) != 1:
            raise UsageError.about("delimiter", "{0} {value!r}: expected one character (or \\t)",
                                   value=opts.delimiter)
    if opts.dialect and opts.dialect not in DIALECTS:
        raise UsageError.about("dialect", "{0} {value!r}: expected one of {known}", value=opts.dialect,
                               known=", ".join(DIALECTS))
    if opts.columns is not None:
        opts.columns = [c.strip() for c in opts.columns]
        if not opts.columns or not all(opts.columns):
            raise UsageError.about("columns", "{0}: expected names separated by commas (title,amount,...)")
def _run(s: Session, opts: ImportOptions, report=None, progress=None) -> Result:
    check_options(opts)
    source = import_read.Source(opts.source, opts.encoding)
    try:
        if opts.rejects_file:
            files.refuse_inside(opts.rejects_file, s.repo.root, "rejects_file")
        fmt = opts.format or source.guess_format()
        with s.repo.transaction():
            result = _run_locked(s, opts, source, fmt, report, progress)
        if opts.rejects_file:
            import_rejects.write(opts.rejects_file, s.repo.root, fmt, source, opts, result.rejects)
            result.rejects_file = opts.rejects_file
        return result
    finally:
        source.close()
def _run_locked(s: Session, opts: ImportOptions, source, fmt: str, report, progress) -> Result:
    order = opts.dayfirst  # else the repository's date_order, else decided by the file
    if order is None and s.date_order:
        order = s.date_order == "dayfirst"
    dates = import_values.DateReader(s.tz, order)
    check = Context(s, opts, source, fmt, dates, writing=False)
    if fmt in ("csv", "tsv"):
        _check_explicit_columns(check)
        if not opts.keep_unmapped:  # --keep-unmapped: the user takes every column as a custom field
            _check_header(check)
    if order is None:
        try:
            order = _date_order(check)
        except import_values.AmbiguousDates as exc:
            raise exc.error(UsageError, source.name) from None
        except import_values.MixedDates as exc:
            raise ImportFailed([Line.of(f"{source.name}: ", str(exc), about_of(exc))]) from None
    check.dates = import_values.DateReader(s.tz, order)
    checking = progress and (lambda done, total: progress("checking", done, total))
    problems = _pass(check, lambda ctx, plan: ctx.pending.clear(), checking)
    unmapped, skip, reasons = check.result.unmapped, set(), {}
    # --rejects: check again without the refused rows until every row left is good (a row can be
    # refused only because of a refused one: a key it repeats). Unreadable input stops it all.
    while problems and opts.rejects_file and not check.read_failed:
        skip |= set(check.reasons)
        reasons.update(check.reasons)
        check = Context(s, opts, source, fmt, import_values.DateReader(s.tz, order), writing=False)
        check.skip = set(skip)
        problems = _pass(check, lambda ctx, plan: ctx.pending.clear(), checking)
    if problems:
        raise ImportFailed(problems + (_unmapped_lines(source.name, unmapped) if opts.dry_run else []),
                           check.bad_rows)

    ctx = Context(s, opts, source, fmt, import_values.DateReader(s.tz, order), writing=not opts.dry_run)
    ctx.final = True
    ctx.prior = check
    ctx.skip, ctx.reasons = skip, reasons

    def apply(ctx: Context, plan: Plan) -> None:
        res = ctx.result
        if not opts.dry_run:
            for which, data in ctx.pending:
                if which == "contact-update":
                    doc, final = data
                    s.repo.update(doc, final)
                else:
                    s.repo.create(clients.KIND_OF[which], data["id"], data)
        ctx.pending.clear()
        if plan.action == "create":
            res.created += 1
            if not opts.dry_run:
                assert plan.deal is not None  # a create or update plan carries its deal
                s.save_deal(plan.deal, None)  # through the stage automation
        elif plan.action == "update":
            res.updated += 1
            if not opts.dry_run:
                assert plan.deal is not None
                s.save_deal(plan.deal, plan.doc)
        elif plan.action == "unchanged":
            res.unchanged += 1
        else:
            res.skipped += 1
        if report:
            report(plan.action, plan)

    late = _pass(ctx, apply, progress and (lambda done, total: progress("writing", done, total)))
    if late:  # cannot happen unless the input changed between the passes
        raise ImportFailed(late)
    ctx.result.rows = check.result.rows
    ctx.result.unmapped = unmapped
    ctx.result.rejected = sum(len(group) for group in ctx.rejected)
    ctx.result.rejects = [(group, ctx.reasons.get(group[0].line, [])) for group in ctx.rejected]
    return ctx.result
def _unmapped_lines(name: str, unmapped: dict) -> list[str]:
    """The distinct values nothing maps, per column, with the parameter that maps them."""
    out: list[str] = []  # Lines, as _pass's
    for column, values in unmapped.items():
        shown = ", ".join(f"{v!r} ({n} row{'s' if n != 1 else ''})" for v, n in list(values.items())[:20])
        more = f" and {len(values) - 20} more" if len(values) > 20 else ""
        template = "values nothing maps: {shown}; map them with {0} '{column}:VALUE=VALUE'"
        values = {"shown": shown + more, "column": column}
        out.append(Line.of(f"{name}: {column}: ", word(template, ("value_map",), values),
                           (("value_map",), template, values)))
    return out
def _date_order(ctx: Context) -> bool | None:
    """Read only the date columns once to decide whether the file's numeric dates are
    day-first or month-first (before any deal is built, so that comparisons are right)."""
    errors: list = []
    for row in _records(ctx, errors):
        if is_native(row.values):
            continue
        m = ctx.mapper(row.values)
        for target in DATE_TARGETS:
            for column in m.by_target.get(target, ()):
                try:
                    ctx.dates.parse(row.values.get(column), f"line {row.line}")
                except ValueProblem:
                    pass  # reported by the checking pass
    return ctx.dates.decide()
def _check_explicit_columns(ctx: Context) -> None:
    """--map names a column the CSV header does not have: a usage error, not a silent no-op."""
    if not ctx.explicit:
        return
    errors: list = []
    for row in _records(ctx, errors):
        columns = {key(c) for c in row.values}
        missing = [c for c in ctx.explicit if c not in row.values and key(c) not in columns]
        if missing:
            raise UsageError.about("map", "{0} {column!r}: no such column in {source} (columns: {columns})",
                                   column=missing[0], source=ctx.source.name, columns=", ".join(row.values))
        return
def _check_header(ctx: Context) -> None:
    """A header whose columns map to nothing would import every row as an empty deal named
    "FILE line N": refuse it with the ways to name the columns."""
    errors: list = []
    for row in _records(ctx, errors):
        if is_native(row.values):
            return
        m = ctx.mapper(row.values)
        if any(not t.startswith("fields.") for t in m.by_target):
            return
        columns = list(row.values)
        shown = ", ".join(repr(c) for c in columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
        looks_like_data = any(re.search(r"\d", c) or "@" in c for c in columns)
        fields = ("map", "preset", "no_header", "columns")
        hint = Words(fields, N_("it looks like data, not a header: pass {2} {3} title,amount,...; or "), {}) \
            if looks_like_data else ""
        raise UsageError.about(fields, "{source}: no column matches a deal "
                               "field (columns: {shown}); {hint}name them with {0} COLUMN=FIELD or {1} NAME "
                               "(fields: title, amount, currency, stage, company, contact, ...)",
                               source=ctx.source.name, shown=shown, hint=hint)
def write_report(result: Result, name: str, path: str, root=None) -> None:
    """`--report FILE`: the migration report as JSON (a file the user names, written atomically,
    never inside the repository at `root`)."""
    import json

    data = json.dumps(result.report(name), ensure_ascii=False, indent=2) + "\n"
    files.write_output(path, data.encode("utf-8"), "report_file", root)
