"""The words of what a command says on stderr besides errors: the nudge, the import's summary
and notices, and the import's progress bar. The core leaves data (activities.Nudge,
importing.Result, progress calls); the words live here, with the other views. cli.main prints
the Session's notices through `text`."""

from __future__ import annotations

from dealcli import env as environment
from dealcli import i18n


def text(note, label=None) -> str:
    """One notice as a line: text as it is; errors.Words worded by `label` (the edge's options);
    a nudge in words."""
    if isinstance(note, str):
        return i18n.worded(note)
    worded = getattr(note, "worded", None)
    if worded is not None:
        return worded(label) if label else worded()
    from dealcli.activities import MoreNudges, Nudge

    from dealcli.i18n import _

    if isinstance(note, Nudge):
        return _("deal {id} has no next step: {command}").format(id=note.deal_id, command=note.command)
    if isinstance(note, MoreNudges):
        return _("... and {n} more open deal(s) without a next step (see `dealcli agenda`)").format(n=note.count)
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
    from dealcli.i18n import _, ngettext

    dry = result.dry_run
    head = f"{name}: " + ngettext("{n} row", "{n} rows", result.rows).format(n=result.rows)
    parts = [(ngettext("{n} deal would be created", "{n} deals would be created", result.created) if dry
              else ngettext("{n} deal created", "{n} deals created", result.created)).format(n=result.created),
             (_("{n} would be updated") if dry else _("{n} updated")).format(n=result.updated),
             _("{n} unchanged").format(n=result.unchanged)]
    if result.skipped:
        parts.append(_("{n} skipped").format(n=result.skipped))
    parts.append((_("{companies} and {contacts} would be created") if dry else _("{companies} and {contacts} created"))
                 .format(companies=ngettext("{n} company", "{n} companies",
                                            result.companies).format(n=result.companies),
                         contacts=ngettext("{n} contact", "{n} contacts", result.contacts).format(n=result.contacts)))
    if result.contacts_updated:
        n = result.contacts_updated
        parts.append((ngettext("{n} contact would be updated", "{n} contacts would be updated", n) if dry
                      else ngettext("{n} contact updated", "{n} contacts updated", n)).format(n=n))
    tail = _(" (dry run: nothing written)") if dry else ""
    return f"{head}: {', '.join(parts)}{tail}"


def _ignored_columns(result) -> list[str]:
    """The line about the columns an import left out (deals and records alike), or none."""
    from dealcli.i18n import _

    if not result.ignored_columns:
        return []
    shown = ", ".join(repr(c) for c in result.ignored_columns[:12])
    more = f" and {len(result.ignored_columns) - 12} more" if len(result.ignored_columns) > 12 else ""
    return [_("ignored columns {shown}{more} (map them with --map COLUMN=FIELD, or --keep-unmapped)").format(
        shown=shown, more=more)]


def import_notices(result, name: str) -> list[str]:
    """What an import says after its output: columns left out, renumbered ids, values read into
    another form, then the summary."""
    from dealcli.i18n import _, ngettext

    out = []
    out += _ignored_columns(result)
    if result.renumbered:
        out.append(ngettext("{n} deal got a new id (their id was taken)", "{n} deals got a new id (their id was taken)",
                            result.renumbered).format(n=result.renumbered))
    if result.coerced:
        items = list(result.coerced.items())
        pairs = [f"{column!r} -> {target} ({e['count']}, e.g. {e['example']['from']!r} -> {e['example']['to']!r})"
                 for (column, target), e in items[:6]]
        more = f" and {len(items) - 6} more columns" if len(items) > 6 else ""
        out.append(_("values read into another form: {shown}{more} (--report FILE lists them)").format(
            shown="; ".join(pairs), more=more))
    for column, values in (result.unmapped.items() if result.dry_run else ()):
        shown = ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:20])
        more = f" and {len(values) - 20} more" if len(values) > 20 else ""
        out.append(_("{column!r}: values nothing maps: {shown}{more} (map them with --value-map "
                     "'{column}:VALUE=VALUE')").format(column=column, shown=shown, more=more))
    if result.rejects_file:
        out.append(_("{n} rows refused, written with their problems to {file}").format(
            n=result.rejected, file=result.rejects_file))
    out.append(import_summary(result, name))
    return out


def records_notices(result, name: str) -> list[str]:
    """What `import --kind company|contact|product` says: columns left out, then the summary."""
    from dealcli.i18n import N_, _

    out = []
    out += _ignored_columns(result)
    plural = {"company": N_("companies"), "contact": N_("contacts"), "product": N_("products"), "user": N_("users"),
              "activity": N_("activities")}[result.kind]
    dry = result.dry_run
    made = N_("departments") if result.kind == "user" else N_("companies")  # a user's team, a contact's company
    extra = (_(", {n} {made} would be created") if dry else _(", {n} {made} created")).format(
        n=result.companies, made=_(made)) if result.companies else ""
    tail = _(" (dry run: nothing written)") if dry else ""
    out.append((_("{name}: {rows} rows: {created} {kinds} would be created, {updated} would be updated, "
                  "{unchanged} unchanged{extra}{tail}") if dry else
                _("{name}: {rows} rows: {created} {kinds} created, {updated} updated, {unchanged} "
                  "unchanged{extra}{tail}"))
               .format(name=name, rows=result.rows, created=result.created, kinds=_(plural), updated=result.updated,
                       unchanged=result.unchanged, extra=extra, tail=tail))
    return out


def bundle_notices(result, name: str) -> list[str]:
    """What `import --all` says: the records of each kind it wrote (or would write)."""
    counts = ", ".join(i18n.records(folder, n) for folder, n in result.counts.items()) or i18n._("no records")
    if result.dry_run:
        return [i18n._("{name}: {counts} would be imported (dry run: nothing written)").format(name=name,
                                                                                                counts=counts)]
    return [i18n._("{name}: {counts} imported, with the settings").format(name=name, counts=counts)]


class Progress:
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or environment.current().stderr
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            return
        from dealcli.i18n import _

        frac = min(done / total, 1.0)
        filled = int(frac * 30)
        word = {"checking": _("checking"), "writing": _("writing")}.get(phase, phase)  # the phases importing.run names
        self.stream.write(f"\r{word:8} [{'#' * filled}{'.' * (30 - filled)}] {frac:4.0%}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()
