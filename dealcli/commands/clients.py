"""`dealcli company ...` and `dealcli contact ...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import Format, FormatOpt, RecordFormatOpt, UnlinkOpt, YesOpt, session
from dealcli.i18n import _

company_app = typer.Typer(help="Companies (clients).", no_args_is_help=True)
contact_app = typer.Typer(help="Contacts (people at clients).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The name.", show_default=False)]
EmailOpt = Annotated[Optional[list[str]], typer.Option("--email", help="Email address (repeatable; "
                                                       "malformed ones are refused).")]
PhoneOpt = Annotated[Optional[list[str]], typer.Option("--phone", help="Phone number (repeatable; digits, "
                                                       "spaces, + ( ) . -).")]
ResponsibleOpt = Annotated[Optional[str], typer.Option("--responsible", help="Responsible user (default: the "
                                                       "acting user).")]
FieldSetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="FIELD=VALUE: a custom field "
                                                          "(repeatable).")]
CompanyOpt = Annotated[Optional[str], typer.Option("--company", help="Company id, id prefix or exact name "
                                                   "(an unknown name creates the company).")]
BirthdayOpt = Annotated[Optional[str], typer.Option("--birthday", help="Date of birth (2026-03-10, "
                                                    "10 March 1980, ...).")]
RefArg = Annotated[str, typer.Argument(metavar="ID", help="Id, unique id prefix or exact name.",
                                       show_default=False)]
NewNameOpt = Annotated[Optional[str], typer.Option("--name", help="New name.")]
EditEmailOpt = Annotated[Optional[list[str]], typer.Option("--email", help="Replace the emails "
                                                           "(repeatable).")]
EditPhoneOpt = Annotated[Optional[list[str]], typer.Option("--phone", help="Replace the phones "
                                                           "(repeatable).")]
UnsetOpt = Annotated[Optional[list[str]], typer.Option("--unset", help="Clear a field: emails, phones, "
                                                       "responsible, a custom field (repeatable).")]
COLUMNS = {"company": ["id", "name", "emails", "phones", "responsible"],
           "contact": ["id", "name", "company", "emails", "phones", "responsible"]}


def _add(ctx, which: str, name: str, **kw) -> None:
    from dealcli import clients
    from dealcli.commands.options import print_ids

    data = clients.add(session(ctx), which, name, **kw)
    print_ids([data["id"]])


def _list(ctx, which: str, fmt: Format) -> None:
    from dealcli import clients
    from dealcli.commands.records import emit_list

    emit_list(clients.records(session(ctx), which), fmt.value, COLUMNS[which])


def _show(ctx, which: str, ref: str, fmt: Format) -> None:
    """The client card: table and json/yaml with deals and timeline; the other formats print
    the record as one row, as they always did."""
    from dealcli import client_card, clients
    from dealcli.commands.records import emit_one
    from dealcli.views import render

    s = session(ctx)
    if fmt not in (Format.table, Format.json, Format.yaml):
        emit_one(clients.load(s, which, ref).data, fmt.value)
        return
    card = client_card.card(s, which, ref)
    if fmt == Format.table:
        from dealcli.views.card import client_text

        render.write(client_text(card))
    else:
        render.emit_record({**card["record"], "deals": card["deals"], "deal_totals": card["totals"],
                            "timeline": card["timeline"]}, fmt.value)


def _edit(ctx, which: str, ref: str, **kw) -> None:
    from dealcli import clients
    from dealcli.commands.options import print_ids

    data = clients.edit(session(ctx), which, ref, **kw)
    print_ids([data["id"]])


@company_app.command("add")
def company_add(ctx: typer.Context, name: NameArg, email: EmailOpt = None, phone: PhoneOpt = None,
                responsible: ResponsibleOpt = None, set_: FieldSetOpt = None) -> None:
    """Create a company and print its id."""
    _add(ctx, "company", name, emails=email, phones=phone, responsible=responsible, sets=set_)


@company_app.command("list")
def company_list(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List companies by name."""
    _list(ctx, "company", format)


@company_app.command("show")
def company_show(ctx: typer.Context, ref: RefArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one company: its fields, its deals (open, won, lost with sums) and one timeline of
    deals, comments, activities and messages (newest first). json/yaml add `deals`,
    `deal_totals` and `timeline` to the record; csv/tsv/jsonl print the record alone."""
    _show(ctx, "company", ref, format)


@company_app.command("edit")
def company_edit(ctx: typer.Context, ref: RefArg, name: NewNameOpt = None, email: EditEmailOpt = None,
                 phone: EditPhoneOpt = None, responsible: ResponsibleOpt = None, set_: FieldSetOpt = None,
                 unset: UnsetOpt = None) -> None:
    """Change a company; prints its id."""
    _edit(ctx, "company", ref, name=name, emails=email, phones=phone, responsible=responsible, sets=set_ or [],
          unsets=unset or [])


@contact_app.command("add")
def contact_add(ctx: typer.Context, name: NameArg, company: CompanyOpt = None, email: EmailOpt = None,
                phone: PhoneOpt = None, birthday: BirthdayOpt = None, responsible: ResponsibleOpt = None,
                set_: FieldSetOpt = None) -> None:
    """Create a contact and print its id."""
    _add(ctx, "contact", name, emails=email, phones=phone, responsible=responsible, sets=set_, company=company,
         birthday=birthday)


@contact_app.command("list")
def contact_list(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List contacts by name."""
    _list(ctx, "contact", format)


@contact_app.command("show")
def contact_show(ctx: typer.Context, ref: RefArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one contact: its fields, its deals (open, won, lost with sums) and one timeline of
    deals, comments, activities and messages (newest first). json/yaml add `deals`,
    `deal_totals` and `timeline` to the record; csv/tsv/jsonl print the record alone."""
    _show(ctx, "contact", ref, format)


@contact_app.command("edit")
def contact_edit(ctx: typer.Context, ref: RefArg, name: NewNameOpt = None, company: CompanyOpt = None,
                 email: EditEmailOpt = None, phone: EditPhoneOpt = None, birthday: BirthdayOpt = None,
                 responsible: ResponsibleOpt = None, set_: FieldSetOpt = None, unset: UnsetOpt = None) -> None:
    """Change a contact; prints its id."""
    _edit(ctx, "contact", ref, name=name, emails=email, phones=phone, responsible=responsible, company=company,
          birthday=birthday, sets=set_ or [], unsets=unset or [])


@company_app.command("delete")
def company_delete(ctx: typer.Context, ref: RefArg, unlink: UnlinkOpt = False, yes: YesOpt = False) -> None:
    """Delete a company; refused (exit 1) while deals, contacts, quotes or recurring templates link
    it, unless --unlink clears those links in the same transaction. Prints its id."""
    from dealcli.commands.records import delete_one

    delete_one(ctx, "company", ref, unlink, yes)


@contact_app.command("delete")
def contact_delete(ctx: typer.Context, ref: RefArg, unlink: UnlinkOpt = False, yes: YesOpt = False) -> None:
    """Delete a contact; refused (exit 1) while deals, quotes or recurring templates link it,
    unless --unlink removes it from them in the same transaction. Prints its id."""
    from dealcli.commands.records import delete_one

    delete_one(ctx, "contact", ref, unlink, yes)


def _merge(ctx, which: str, keep: str, drop: str) -> None:
    from dealcli import dedupe
    from dealcli.commands.options import print_ids

    s = session(ctx)
    done = dedupe.merge(s, which, keep, drop)
    moved = ", ".join(f"{n} {kind}" for kind, n in done["relinked"].items()) or "no links"
    s.notice(_("merged {which} {done_removed} into {done_kept} (re-pointed {moved})").format(
        which=which, done_removed=done['removed'], done_kept=done['kept'], moved=moved))
    print_ids([done["kept"]])


KeepArg = Annotated[str, typer.Argument(metavar="A", help="The record to keep (id, unique prefix or exact name).",
                                        show_default=False)]
DropArg = Annotated[str, typer.Argument(metavar="B", help="The duplicate, merged into A and deleted.",
                                        show_default=False)]


@company_app.command("merge")
def company_merge(ctx: typer.Context, keep: KeepArg, drop: DropArg) -> None:
    """Merge duplicate company B into A: every deal, contact and quote of B points to A afterwards, B's
    e-mails, phones and fields are added to A, the merge is recorded in A's history; one
    transaction. Prints A's id."""
    _merge(ctx, "company", keep, drop)


@contact_app.command("merge")
def contact_merge(ctx: typer.Context, keep: KeepArg, drop: DropArg) -> None:
    """Merge duplicate contact B into A: every deal, quote, lead and activity of B points to A
    afterwards, B's e-mails, phones and fields are added to A, the merge is recorded in A's history;
    one transaction. Prints A's id."""
    _merge(ctx, "contact", keep, drop)
