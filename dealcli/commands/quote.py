"""`dealcli quote ...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import RecordRefArg, UnlinkOpt, YesOpt, Format, FormatOpt, RecordFormatOpt, session

app = typer.Typer(help="Quotes.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="The quote's title.", show_default=False)],
    product: Annotated[Optional[list[str]], typer.Option("--product", help='Product row "NAME:PRICE[:QTY'
                                                         '[:DISCOUNT%[:TAX%]]]" or a catalogue product '
                                                         "(repeatable).")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="Company id, id prefix or exact name "
                                                   "(an unknown name creates the company).")] = None,
    contact: Annotated[Optional[list[str]], typer.Option("--contact", help="Contact id, id prefix or name "
                                                         "(repeatable).")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="Currency code (default: the "
                                                    "repository's).")] = None,
    valid_until: Annotated[Optional[str], typer.Option("--valid-until", help="Last day the offer holds.")] = None,
    comment: Annotated[Optional[str], typer.Option("--comment", help="A note.")] = None,
) -> None:
    """Create a quote and print its id. `deal add --from quote:ID` turns it into a deal."""
    from dealcli import quotes
    from dealcli.commands.options import print_ids

    data = quotes.add(session(ctx), title, product or [], company, contact or [], currency, valid_until, comment)
    print_ids([data["id"]])


@app.command("list")
def list_(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List quotes, oldest first."""
    from dealcli import quotes
    from dealcli.commands.records import emit_list

    emit_list(quotes.records(session(ctx)), format.value,
              ["id", "title", "company", "amount", "currency", "valid_until", "created"])


@app.command("show")
def show(ctx: typer.Context,
         ref: Annotated[str, typer.Argument(metavar="ID", help="Quote id or unique prefix.", show_default=False)],
         format: RecordFormatOpt = Format.table) -> None:
    """Show one quote with its product rows."""
    from dealcli import quotes
    from dealcli.commands.records import emit_one

    if format.value == "table":
        from dealcli.views import records, render

        render.write(records.quote_text(*quotes.card(session(ctx), ref)))
        return
    emit_one(quotes.show(session(ctx), ref), format.value)

EditSetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="FIELD=VALUE", help="Set a field "
                                                         "(repeatable); fields: title, valid_until, comment, company.")]
EditUnsetOpt = Annotated[Optional[list[str]], typer.Option("--unset", metavar="FIELD", help="Clear a field "
                                                           "(repeatable).")]


@app.command("edit")
def edit(ctx: typer.Context, ref: RecordRefArg, set_: EditSetOpt = None, unset: EditUnsetOpt = None) -> None:
    """Change fields of a quote; prints its id."""
    from dealcli.commands.records import edit_one

    edit_one(ctx, "quote", ref, set_, unset)


@app.command("delete")
def delete(ctx: typer.Context, ref: RecordRefArg, unlink: UnlinkOpt = False, yes: YesOpt = False) -> None:
    """Delete a quote. Prints its id. Refused while a deal links it, unless --unlink."""
    from dealcli.commands.records import delete_one

    delete_one(ctx, "quote", ref, unlink, yes)
