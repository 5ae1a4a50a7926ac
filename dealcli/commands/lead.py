"""`dealcli lead ...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import (RecordRefArg, UnlinkOpt, YesOpt, Format, FormatOpt, PipelineOpt,
                                      RecordFormatOpt, session)

app = typer.Typer(help="Leads and their conversion into deals.", no_args_is_help=True)
LeadArg = Annotated[str, typer.Argument(metavar="ID", help="Lead id or unique prefix.", show_default=False)]


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What the prospect wants.", show_default=False)],
    contact_name: Annotated[Optional[str], typer.Option("--contact-name", metavar="N", help="Name of the "
                                                       "person.")] = None,
    company_name: Annotated[Optional[str], typer.Option("--company-name", metavar="N", help="Name of the "
                                                       "company.")] = None,
    email: Annotated[Optional[str], typer.Option("--email", metavar="E", help="Email address.")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", metavar="P", help="Phone number.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", metavar="S", help="Where the lead came from "
                                                  "(web, call, fair, ...).")] = None,
    amount: Annotated[Optional[str], typer.Option("--amount", metavar="N", help="Expected amount (exact "
                                                  "decimal).")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="Currency code (default: the "
                                                    "repository's).")] = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", help="Responsible user (default: the "
                                                       "acting user).")] = None,
) -> None:
    """Record a lead and print its id."""
    from dealcli import leads
    from dealcli.commands.options import print_ids

    data = leads.add(session(ctx), title, contact_name, company_name, email, phone, source, amount, currency,
                     responsible)
    print_ids([data["id"]])


@app.command("list")
def list_(ctx: typer.Context,
          status: Annotated[Optional[str], typer.Option("--status", help="Only new or converted leads.")] = None,
          format: FormatOpt = Format.table) -> None:
    """List leads, oldest first."""
    from dealcli import leads
    from dealcli.commands.records import emit_list

    emit_list(leads.records(session(ctx), status), format.value,
              ["id", "title", "status", "contact_name", "company_name", "email", "amount", "source", "deal"])


@app.command("show")
def show(ctx: typer.Context, ref: LeadArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one lead."""
    from dealcli import leads
    from dealcli.commands.records import emit_one

    emit_one(leads.show(session(ctx), ref), format.value)


@app.command("convert")
def convert(
    ctx: typer.Context,
    ref: LeadArg,
    pipeline: PipelineOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Stage of the new deal (default: the "
                                                 "pipeline's first).")] = None,
) -> None:
    """Turn a lead into a deal and print the deal's id. The company and contact are matched by
    email, then by exact name, else created; the lead is marked converted with a link to the
    deal. Converting a lead twice is refused (exit 1)."""
    from dealcli import deals
    from dealcli.commands.options import print_ids

    deal = deals.convert_lead(session(ctx), ref, pipeline, stage)
    print_ids([deal.id])

EditSetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="FIELD=VALUE", help="Set a field "
                                                         "(repeatable); fields: title, contact_name, company_name, "
                                                         "email, phone, source, amount, currency, responsible.")]
EditUnsetOpt = Annotated[Optional[list[str]], typer.Option("--unset", metavar="FIELD", help="Clear a field "
                                                           "(repeatable).")]


@app.command("edit")
def edit(ctx: typer.Context, ref: RecordRefArg, set_: EditSetOpt = None, unset: EditUnsetOpt = None) -> None:
    """Change fields of a lead; prints its id."""
    from dealcli.commands.records import edit_one

    edit_one(ctx, "lead", ref, set_, unset)


@app.command("delete")
def delete(ctx: typer.Context, ref: RecordRefArg, unlink: UnlinkOpt = False, yes: YesOpt = False) -> None:
    """Delete a lead. Prints its id. Refused while a deal links it, unless --unlink."""
    from dealcli.commands.records import delete_one

    delete_one(ctx, "lead", ref, unlink, yes)
