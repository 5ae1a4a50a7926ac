"""The words of what a command says on stderr besides errors: the nudge, the import's summary
and notices, and the import's progress bar. The core leaves data (activities.Nudge,
importing.Result, progress calls); the words live here, with the other views. cli.main prints
the Session's notices through `text`."""

from __future__ import annotations

from dealcli import env as environment


def text(note, label=None) -> str:
    """One notice as a line: text as it is; errors.Words worded by `label` (the edge's options);
    a nudge in words."""
    if isinstance(note, str):
        return note
    worded = getattr(note, "worded", None)
    if worded is not None:
        return worded(label) if label else worded()
    from dealcli.activities import MoreNudges, Nudge

    if isinstance(note, Nudge):
        return f"deal {note.deal_id} has no next step: {note.command}"
    if isinstance(note, MoreNudges):
        return f"... and {note.count} more open deal(s) without a next step (see `dealcli agenda`)"
    return str(note)


# -- import ----------------------------------------------------------------------------------------
def import_row(action: str, plan, dry_run: bool) -> str | None:
    """The stdout line of one imported row: the deal id; with --dry-run what would happen."""
    if dry_run:
        deal_id = plan.deal.id if plan.deal is not None and action != "create" else ""
        title = plan.deal.title if plan.deal is not None else plan.note
        return f"{action}\t{plan.line}\t{deal_id}\t{title}\n"
    if action in ("create", "update"):
        return f"{plan.deal.id}\n"
    return None


def counted(n: int, one: str, many: str | None = None) -> str:
    """`1 contact`, `2 contacts`, `0 companies`: a number with its noun in the right number."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def import_summary(result, name: str) -> str:
    head = f"{name}: {counted(result.rows, 'row')}"
    verb = "would be " if result.dry_run else ""
    parts = [f"{counted(result.created, 'deal')} {verb}created", f"{result.updated} {verb}updated",
             f"{result.unchanged} unchanged"]
    if result.skipped:
        parts.append(f"{result.skipped} skipped")
    parts.append(f"{counted(result.companies, 'company', 'companies')} and {counted(result.contacts, 'contact')} "
                 f"{verb}created")
    if result.contacts_updated:
        parts.append(f"{counted(result.contacts_updated, 'contact')} {verb}updated")
    tail = " (dry run: nothing written)" if result.dry_run else ""
    return f"{head}: {', '.join(parts)}{tail}"


def import_notices(result, name: str) -> list[str]:
    """What an import says after its output: columns left out, renumbered ids, values read into
    another form, then the summary."""
    out = []
    if result.ignored_columns:
        shown = ", ".join(repr(c) for c in result.ignored_columns[:12])
        more = f" and {len(result.ignored_columns) - 12} more" if len(result.ignored_columns) > 12 else ""
        out.append(f"ignored columns {shown}{more} (map them with --map COLUMN=FIELD, or --keep-unmapped)")
    if result.renumbered:
        out.append(f"{counted(result.renumbered, 'deal')} got a new id (their id was taken)")
    if result.coerced:
        items = list(result.coerced.items())
        pairs = [f"{column!r} -> {target} ({e['count']}, e.g. {e['example']['from']!r} -> {e['example']['to']!r})"
                 for (column, target), e in items[:6]]
        more = f" and {len(items) - 6} more columns" if len(items) > 6 else ""
        out.append(f"values read into another form: {'; '.join(pairs)}{more} (--report FILE lists them)")
    for column, values in (result.unmapped.items() if result.dry_run else ()):
        shown = ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:20])
        more = f" and {len(values) - 20} more" if len(values) > 20 else ""
        out.append(f"{column!r}: values nothing maps: {shown}{more} (map them with --value-map "
                   f"'{column}:VALUE=VALUE')")
    if result.rejects_file:
        out.append(f"{result.rejected} rows refused, written with their problems to {result.rejects_file}")
    out.append(import_summary(result, name))
    return out


def records_notices(result, name: str) -> list[str]:
    """What `import --kind company|contact|product` says: columns left out, then the summary."""
    out = []
    if result.ignored_columns:
        shown = ", ".join(repr(c) for c in result.ignored_columns[:12])
        more = f" and {len(result.ignored_columns) - 12} more" if len(result.ignored_columns) > 12 else ""
        out.append(f"ignored columns {shown}{more} (map them with --map COLUMN=FIELD, or --keep-unmapped)")
    plural = {"company": "companies", "contact": "contacts", "product": "products"}[result.kind]
    verb = "would be " if result.dry_run else ""
    extra = f", {result.companies} companies {verb}created" if result.companies else ""
    tail = " (dry run: nothing written)" if result.dry_run else ""
    out.append(f"{name}: {result.rows} rows: {result.created} {plural} {verb}created, {result.updated} "
               f"{verb}updated, {result.unchanged} unchanged{extra}{tail}")
    return out


class Progress:
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or environment.current().stderr
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            return
        frac = min(done / total, 1.0)
        filled = int(frac * 30)
        self.stream.write(f"\r{phase:8} [{'#' * filled}{'.' * (30 - filled)}] {frac:4.0%}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()
