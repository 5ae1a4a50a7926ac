"""Readable cards for `quote show` and `recurring show` on a terminal (other formats print the
record as it is stored). The core resolves names first; nothing here reads the disk."""

from __future__ import annotations

from decimal import Decimal

from dealcli import money
from dealcli.i18n import _, header, number

from dealcli.views import fit, render


def _lines(pairs: list[tuple[str, object]]) -> list[str]:
    pairs = [(header(k), v) for k, v in pairs]  # the labels in the language in use
    width = max(len(k) for k, _v in pairs)
    return [f"{k.ljust(width)}  {render.cell(v)}".rstrip() for k, v in pairs if v not in (None, "", [])]


def _num(value, currency: str | None = None) -> str:
    try:
        return number(money.fmt(Decimal(str(value)), currency))
    except (ArithmeticError, ValueError):
        return render.cell(value)


def product_lines(rows: list, currency: str | None) -> list[str]:
    """The product rows as a small table: #, name, price, qty, discount, tax, total."""
    if not rows:
        return []
    total = f"{header('total')} {currency or ''}".strip()
    body = []
    for i, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            continue
        body.append({"#": str(i), "name": render.cell(r.get("name")), "price": _num(r.get("price")),
                     "qty": render.cell(r.get("quantity")), "discount": f"{render.cell(r.get('discount') or 0)}%",
                     "tax": f"{render.cell(r.get('tax_rate') or 0)}%" + (_(" incl.") if r.get("tax_included") else ""),
                     total: _num(r.get("total"), currency) if r.get("total") is not None else ""})
    width = fit.table_width()  # the table is indented by two
    table = render.format_rows(body, "table", right=("#", "price", "qty", "discount", "tax", total),
                               width=None if width is None else width - 2).rstrip("\n")
    return ["", _("products:")] + ["  " + line for line in table.splitlines()]


def quote_text(record: dict, company: str | None, contacts: list[str]) -> str:
    cur = record.get("currency")
    head = f"{render.cell(record.get('title'))} ({record.get('id')})"
    lines = [head] + _lines([
        ("company", company), ("contacts", ", ".join(contacts)),
        ("amount", f"{_num(record.get('amount'), cur)} {cur}"), ("valid_until", record.get("valid_until")),
        ("created", _("{at} by {user}").format(at=render.cell(record.get("created")),
                                               user=render.cell(record.get("created_by")))),
        ("modified", record.get("modified")),
    ])
    lines += product_lines(record.get("products") or [], cur)
    if record.get("comment"):
        lines += ["", _("comment:"), "  " + render.cell(record.get("comment")).replace("\n", "\n  ")]
    return fit.lines("\n".join(lines)) + "\n"  # every line fits the terminal


def recurring_text(record: dict, company: str | None, contacts: list[str]) -> str:
    sched = given if isinstance(given := record.get("schedule"), dict) else {}
    deal = part if isinstance(part := record.get("deal"), dict) else {}
    every = sched.get("every") or sched.get("rule")
    schedule = _("every {every} from {start}").format(every=every, start=render.cell(sched.get("start")))
    if sched.get("until"):
        schedule += _(" until {until}").format(until=render.cell(sched.get("until")))
    if sched.get("rule") and sched.get("rule") != every:
        schedule += f" ({sched.get('rule')})"
    amount = deal.get("amount")
    creates = _("a deal in {pipeline}/{stage}").format(pipeline=render.cell(deal.get("pipeline")),
                                                        stage=render.cell(deal.get("stage")))
    if amount is not None:
        creates += f", {_num(amount, deal.get('currency'))} {render.cell(deal.get('currency'))}"
    offsets = [_("created {n} day(s) ahead").format(n=record.get("create_before") or 0),
               _("begin +{n} day(s)").format(n=record.get("begin_offset") or 0)]
    if record.get("close_offset") is not None:
        offsets.append(_("close date +{n} day(s)").format(n=record.get("close_offset")))
    status = _(record.get("status") or ("paused" if record.get("paused") else "active"))
    lines = [f"{render.cell(record.get('title'))} ({record.get('id')}) - {status}"] + _lines([
        ("schedule", schedule), ("creates", creates), ("company", company), ("contacts", ", ".join(contacts)),
        ("responsible", deal.get("responsible")), ("type", deal.get("type")), ("source", deal.get("source")),
        ("from_deal", record.get("from_deal")), ("offsets", "; ".join(offsets)),
        ("occurrences", _("{n} created").format(n=record.get("occurrences_created") or 0)
                        + (_(", last {date}").format(date=record.get("last_occurrence"))
                           if record.get("last_occurrence") else "")),
        ("paused_at", record.get("paused_at") if record.get("paused") else None),
        ("next", ", ".join(str(x) for x in record.get("next") or []) or "-"),
        ("created", _("{at} by {user}").format(at=render.cell(record.get("created")),
                                               user=render.cell(record.get("created_by")))),
    ])
    lines += product_lines(deal.get("products") or [], deal.get("currency"))
    fields = deal.get("fields") or {}
    if fields:
        lines += ["", _("fields:")] + ["  " + x for x in _lines(list(fields.items()))]
    return fit.lines("\n".join(lines)) + "\n"  # every line fits the terminal
