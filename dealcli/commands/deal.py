"""`dealcli deal ...`: add, show, edit, move, close, reopen, comment, history, delete."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli import env as environment
from dealcli.commands import complete
from dealcli.commands.options import (
    Format,
    IdArg,
    PipelineOpt,
    RecordFormatOpt,
    SetOpt,
    FormatOpt,
    YesOpt,
    confirm_delete,
    print_ids,
    read_ids,
    session,
)
from dealcli import i18n

app = typer.Typer(help="Create, change, close and inspect deals.", no_args_is_help=True)

AmountOpt = Annotated[Optional[str], typer.Option("--amount", help="Amount set by hand (exact decimal); "
                                                  "otherwise the sum of the product rows.")]
CurrencyOpt = Annotated[Optional[str], typer.Option("--currency", help="Currency code (default: the "
                                                    "repository's).")]
CompanyOpt = Annotated[Optional[str], typer.Option("--company", help="Company id, id prefix or exact name "
                                                   "(an unknown name creates the company; one close to an "
                                                   "existing name is refused unless --new-company).")]
ContactOpt = Annotated[Optional[list[str]], typer.Option("--contact", help="Contact id, id prefix or name "
                                                         "(repeatable).")]
ProductOpt = Annotated[Optional[list[str]], typer.Option("--product", help='Product row "NAME:PRICE[:QTY'
                                                         '[:DISCOUNT%[:TAX%]]]", a catalogue product (id, '
                                                         'SKU or exact name), or "ID:QTY[:DISCOUNT%]" for a '
                                                         "catalogue product with a quantity (repeatable). A colon "
                                                         'in a NAME is written \\: or the name is quoted: '
                                                         '\'"Licence:Pro":240\' (docs/money.md).')]
TypeOpt = Annotated[Optional[str], typer.Option("--type", help="Deal type (sale, service, ...).")]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Where the deal came from.")]
ResponsibleOpt = Annotated[Optional[str], typer.Option("--responsible", help="Responsible user (default: "
                                                       "the acting user).", autocompletion=complete.users)]
BeginOpt = Annotated[Optional[str], typer.Option("--begin", help="Start date (default: today).")]
CloseDateOpt = Annotated[Optional[str], typer.Option("--close-date", help="Expected close date.")]
ProbabilityOpt = Annotated[Optional[str], typer.Option("--probability", help="Probability 0-100 (default: "
                                                       "the stage's).")]


def _amount(text):  # option text -> typed values at the edge (dealcli/parse.py)
    from dealcli import parse

    return None if text is None else parse.parse_amount(text)


def _probability(text):
    from dealcli import parse

    return None if text is None else parse.parse_probability(text)


def _date(s, text, field: str):
    from dealcli import parse

    return parse.parse_date(text, s.now, field, s.date_order) if text else None


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="The deal's title.", show_default=False)],
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    company: CompanyOpt = None,
    contact: ContactOpt = None,
    product: ProductOpt = None,
    pipeline: PipelineOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Stage id or name, any case (default: "
                                                 "the pipeline's first). A success or failure stage closes the "
                                                 "deal.", autocompletion=complete.stages)] = None,
    type_: TypeOpt = None,
    source: SourceOpt = None,
    responsible: ResponsibleOpt = None,
    begin: BeginOpt = None,
    close_date: CloseDateOpt = None,
    probability: ProbabilityOpt = None,
    comment: Annotated[Optional[str], typer.Option("--comment", help="A first comment.")] = None,
    set_: SetOpt = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Copy client, products and more from "
                                                 "lead:ID, contact:ID, company:ID, quote:ID or deal:ID; "
                                                 "KIND:- reads ids from stdin and creates one deal per id.")] = None,
    new_company: Annotated[bool, typer.Option("--new-company", help="The --company name is a new company: "
                                              "create it even when a similar name exists.")] = False,
    new_contact: Annotated[bool, typer.Option("--new-contact", help="The --contact names are new contacts: "
                                              "create them even when similar names exist.")] = False,
) -> None:
    """Create a deal and print its id alone on stdout (id=$(dealcli deal add ...)). With
    --from KIND:- one deal per id read from stdin, every id checked before any deal is made."""
    import dataclasses

    from dealcli import deals

    s = session(ctx)
    spec = deals.DealSpec(
        title=title, amount=_amount(amount), currency=currency, company=company, contacts=contact or [],
        products=product or [], pipeline=pipeline, stage=stage, type=type_, source=source,
        responsible=responsible, begin=_date(s, begin, "begin"), close_date=_date(s, close_date, "close_date"),
        probability=_probability(probability), comment=comment, sets=set_ or [], from_ref=from_,
        typed=True, new_company=new_company, new_contact=new_contact,
    )
    kind, _, ref = (from_ or "").partition(":")
    if ref != "-":
        print_ids([deals.add(s, spec).id])
        return
    refs = [f"{kind}:{i}" for i in read_ids("-")]
    from dealcli.model import Deal

    for one in refs:  # a bad id is reported before anything is written
        deals.copy_from(s, one, Deal(id="-", title="-", pipeline="", stage=""))
    for one in refs:
        print_ids([deals.add(s, dataclasses.replace(spec, from_ref=one)).id])


@app.command("show")
def show(ctx: typer.Context, deal_id: Annotated[str, typer.Argument(metavar="ID", help="Deal id or "
                                                                   "unique prefix.",
                                                                   autocompletion=complete.deal_ids)],
         format: RecordFormatOpt = Format.table) -> None:
    """Show one deal: every field, product rows, comments."""
    from dealcli import deals
    from dealcli.views import deal as views_deal

    view = deals.view(session(ctx), deal_id, labels=format == Format.table)
    views_deal.render_deal(view, format.value)


@app.command("history")
def history(ctx: typer.Context, deal_id: Annotated[str, typer.Argument(metavar="ID", help="Deal id or "
                                                                       "unique prefix.",
                                                                   autocompletion=complete.deal_ids)],
            format: FormatOpt = Format.table) -> None:
    """Print a deal's history: one event per change, oldest first."""
    from dealcli import deals
    from dealcli.views import deal as views_deal

    from dealcli import activities

    from dealcli.views.listing import stage_names

    s = session(ctx)
    deal = deals.show(s, deal_id)
    stages = {key: label[0] for key, label in stage_names(s).items()}
    views_deal.render_history(deal, format.value, activities.history_events(s, deal.id), stages,
                              {p.id: p.name for p in s.all_pipelines([]).values()})


@app.command("edit")
def edit(
    ctx: typer.Context,
    deal_id: IdArg,
    title: Annotated[Optional[str], typer.Option("--title", help="New title.")] = None,
    amount: AmountOpt = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="New currency code (ISO 4217).")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="New company: id, id prefix or exact "
                                                   "name.")] = None,
    contact: Annotated[Optional[list[str]], typer.Option("--contact", help="Replace the contacts "
                                                         "(repeatable).")] = None,
    product: Annotated[Optional[list[str]], typer.Option("--product", help="Replace the product rows "
                                                         "(repeatable, same syntax as deal add).")] = None,
    type_: TypeOpt = None,
    source: SourceOpt = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", help="New responsible user.")] = None,
    begin: Annotated[Optional[str], typer.Option("--begin", help="New start date.")] = None,
    close_date: CloseDateOpt = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Probability 0-100.")] = None,
    set_: SetOpt = None,
    unset: Annotated[Optional[list[str]], typer.Option("--unset", help="Clear a field; `--unset amount` "
                                                       "goes back to the sum of the products "
                                                       "(repeatable).")] = None,
    resolve: Annotated[Optional[list[str]], typer.Option("--resolve", metavar="FIELD", help="Mark a conflict a "
                                                         "git merge left on FIELD (or all) as decided; allowed "
                                                         "on closed deals (docs/git.md; repeatable).")] = None,
) -> None:
    """Change fields of one deal or of every deal read from stdin (-). Prints the changed ids."""
    from dealcli import deals

    s = session(ctx)
    changes: dict = {}
    for name, value in (("title", title), ("amount", _amount(amount)), ("currency", currency),
                        ("company", company), ("type", type_), ("source", source), ("responsible", responsible),
                        ("begin", _date(s, begin, "begin")), ("close_date", _date(s, close_date, "close_date")),
                        ("probability", _probability(probability))):
        if value is not None:
            changes[name] = value
    if contact is not None:
        changes["contacts"] = contact
    if product is not None:
        changes["products"] = product
    ids = read_ids(deal_id)
    if resolve and ids:
        from dealcli import resolve as resolver

        done = resolver.edit(s, ids, changes, set_ or [], unset or [], resolve)
    else:
        done = deals.edit(s, ids, changes, set_ or [], unset or []) if ids else []
    print_ids(d.id for d in done)


@app.command("correct")
def correct(
    ctx: typer.Context,
    deal_id: IdArg,
    amount: AmountOpt = None,
    product: Annotated[Optional[list[str]], typer.Option("--product", help="Replace the product rows "
                                                         "(repeatable, same syntax as deal add).")] = None,
    close_date: CloseDateOpt = None,
    closed_at: Annotated[Optional[str], typer.Option("--closed-at", help="When the deal really closed (date and "
                                                     "time; moves its revenue to that month).")] = None,
    set_: SetOpt = None,
    unset: Annotated[Optional[list[str]], typer.Option("--unset", help="Clear a custom field; `--unset amount` "
                                                       "goes back to the sum of the products (repeatable).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept in each corrected event).")] = None,
) -> None:
    """Correct closed (won or lost) deals without reopening them: amount, products, custom fields,
    close date, closing time. Needs the edit_closed right; each change is a `corrected` history
    event and the revenue stays in the month the deal closed. Prints the corrected ids."""
    from dealcli import deals, timeutil
    from dealcli.errors import UsageError

    s = session(ctx)
    changes: dict = {}
    if amount is not None:
        changes["amount"] = _amount(amount)
    if product is not None:
        changes["products"] = product
    if close_date is not None:
        changes["close_date"] = _date(s, close_date, "close_date")
    if closed_at is not None:
        try:
            changes["closed_at"] = timeutil.parse_datetime(closed_at, s.now, s.date_order)[0]
        except timeutil.DateError as exc:
            raise UsageError(i18n._("--closed-at: {exc}").format(exc=exc)) from None
    ids = read_ids(deal_id)
    done = deals.correct(s, ids, changes, set_ or [], unset or [], reason) if ids else []
    print_ids(d.id for d in done)


@app.command("move")
def move(
    ctx: typer.Context,
    deal_id: IdArg,
    stage: Annotated[str, typer.Argument(help="Target stage id or name (any case). The success stage closes "
                                         "the deal won, a failure stage closes it lost.", show_default=False,
                                         autocompletion=complete.stages)],
    pipeline: Annotated[Optional[str], typer.Option("--pipeline", "-p", help="Move into a stage of another "
                                                    "pipeline.")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept in the moved event; a "
                                                  "failure stage also takes it as the lost reason).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the move and print what the stage "
                                          "automation rules would do (deal, rule, when, stage, action, detail); "
                                          "write nothing.")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Move deals to a stage. Prints the moved ids (with --dry-run: what the stage automation would do)."""
    from dealcli import deals

    s = session(ctx)
    ids = read_ids(deal_id)
    done = deals.move(s, ids, stage, pipeline, reason, dry_run) if ids else []
    if dry_run:
        from dealcli import automation
        from dealcli.views import render

        render.emit(automation.log(s), format.value,
                    columns=["deal", "rule", "when", "stage", "action", "detail"])
        return
    print_ids(d.id for d in done)


@app.command("close")
def close(
    ctx: typer.Context,
    deal_id: IdArg,
    won: Annotated[bool, typer.Option("--won", help="Close as won (the success stage).")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Close as lost (a failure stage).")] = False,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Failure stage id or name for --lost (default: the "
                                                 "first failure stage).", autocompletion=complete.stages)] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the deal was lost.")] = None,
) -> None:
    """Close deals won or lost, from any stage. Prints the closed ids."""
    from dealcli import deals
    from dealcli.errors import UsageError

    if won == lost:
        raise UsageError(i18n._("deal close: give exactly one of --won or --lost"))
    ids = read_ids(deal_id)
    done = deals.close(session(ctx), ids, won, stage, reason) if ids else []
    print_ids(d.id for d in done)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    deal_id: IdArg,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Process stage id or name to reopen into (default: "
                                                 "the stage it was in before closing).",
                                                 autocompletion=complete.stages)] = None,
) -> None:
    """Reopen closed deals. Prints the reopened ids."""
    from dealcli import deals

    ids = read_ids(deal_id)
    done = deals.reopen(session(ctx), ids, stage) if ids else []
    print_ids(d.id for d in done)


@app.command("comment")
def comment(
    ctx: typer.Context,
    deal_id: IdArg,
    text: Annotated[str, typer.Argument(help="The comment (- reads it from stdin when the id is not -).",
                                        show_default=False)],
) -> None:
    """Add a comment to deals (allowed on closed deals too). Prints the ids."""
    from dealcli import deals

    if text == "-" and deal_id != "-":
        text = environment.current().stdin.read()
    ids = read_ids(deal_id)
    done = deals.comment(session(ctx), ids, text) if ids else []
    print_ids(d.id for d in done)


@app.command("email")
def email(
    ctx: typer.Context,
    deal_id: Annotated[str, typer.Argument(metavar="DEAL", help="The deal (id or prefix).", show_default=False)],
    to: Annotated[list[str], typer.Option("--to", metavar="ADDR", help="Recipient (repeatable).",
                                          show_default=False)],
    subject: Annotated[str, typer.Option("--subject", help="The subject.", show_default=False)],
    body: Annotated[Optional[str], typer.Option("--body", metavar="TEXT|-", help="The text; - reads it from "
                                                "stdin.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the message; send and store nothing.")] = False,
) -> None:
    """Send an e-mail from the deal through the SMTP server of dealcli.yaml (see `dealcli reply`);
    it is kept on the deal as an outgoing e-mail activity (id printed), and the client's answer
    lands on the deal."""
    from dealcli.commands.reply import body_text, finish
    from dealcli.intake import reply as core

    finish(core.write(session(ctx), deal_id, to, subject, body_text(body), dry_run), dry_run)


@app.command("delete")
def delete(
    ctx: typer.Context,
    deal_id: IdArg,
    yes: YesOpt = False,
    unlink: Annotated[bool, typer.Option("--unlink", "--with-activities",
                                         help="Delete the deals' activities and clear the link of leads "
                                         "converted into them, instead of refusing (in the same "
                                         "transaction).")] = False,
) -> None:
    """Delete deals (their files; git keeps the past). Prints the deleted ids."""
    from dealcli import deals

    s = session(ctx)
    ids = read_ids(deal_id)
    if not ids:
        return
    confirm_delete(s, yes, "deal delete", "deal", ids, "deals", from_stdin=deal_id == "-")
    print_ids(deals.delete(s, ids, unlink))
