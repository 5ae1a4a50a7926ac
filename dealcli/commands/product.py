"""`dealcli product ...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import RecordRefArg, UnlinkOpt, YesOpt, Format, FormatOpt, RecordFormatOpt, session

app = typer.Typer(help="The product catalogue.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Product name.", show_default=False)],
    price: Annotated[str, typer.Option("--price", help="Unit price (exact decimal).", show_default=False)],
    currency: Annotated[Optional[str], typer.Option("--currency", help="Currency code (default: the "
                                                    "repository's).")] = None,
    tax: Annotated[Optional[str], typer.Option("--tax", metavar="RATE", help="Tax rate in percent (0-100).")] = None,
    tax_included: Annotated[bool, typer.Option("--tax-included", help="The price already includes the tax.")] = False,
    sku: Annotated[Optional[str], typer.Option("--sku", help="Stock keeping unit (unique; usable as a "
                                               "reference).")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Unit of measure (piece, hour, month, ...).")] = None,
) -> None:
    """Add a product to the catalogue and print its id. `deal add --product ID` then copies its
    name, price and tax into a product row."""
    from dealcli import products
    from dealcli.commands.options import print_ids

    data = products.add(session(ctx), name, price, currency, tax, tax_included, sku, unit)
    print_ids([data["id"]])


@app.command("list")
def list_(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List the catalogue by name."""
    from dealcli import products
    from dealcli.commands.records import emit_list

    emit_list(products.records(session(ctx)), format.value,
              ["id", "name", "price", "currency", "tax_rate", "tax_included", "sku", "unit"])


@app.command("show")
def show(ctx: typer.Context,
         ref: Annotated[str, typer.Argument(metavar="ID", help="Product id, unique id prefix, SKU or exact name.",
                                            show_default=False)],
         format: RecordFormatOpt = Format.table) -> None:
    """Show one product."""
    from dealcli import products
    from dealcli.commands.records import emit_one

    emit_one(products.load(session(ctx), ref), format.value)

EditSetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="FIELD=VALUE", help="Set a field "
                                                         "(repeatable); fields: name, price, currency, tax_rate, "
                                                         "tax_included, sku, unit.")]
EditUnsetOpt = Annotated[Optional[list[str]], typer.Option("--unset", metavar="FIELD", help="Clear a field "
                                                           "(repeatable).")]


@app.command("edit")
def edit(ctx: typer.Context, ref: RecordRefArg, set_: EditSetOpt = None, unset: EditUnsetOpt = None) -> None:
    """Change fields of a product; prints its id."""
    from dealcli.commands.records import edit_one

    edit_one(ctx, "product", ref, set_, unset)


@app.command("delete")
def delete(ctx: typer.Context, ref: RecordRefArg, unlink: UnlinkOpt = False, yes: YesOpt = False) -> None:
    # The help (the catalogue's msgid) is one line; the backslash keeps it so while the source wraps.
    """Delete a product from the catalogue; refused (exit 1) while deal rows or quotes refer to it, \
unless --unlink (the rows keep their name and price, without the catalogue id). Prints its id."""
    from dealcli.commands.records import delete_one

    delete_one(ctx, "product", ref, unlink, yes)
