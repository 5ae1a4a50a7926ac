"""Readable cards for `quote show` and `recurring show` on a terminal (other formats print the
record as it is stored). The core resolves names first; nothing here reads the disk."""

from __future__ import annotations

from decimal import Decimal

from dealcli import money

from dealcli.views import render


def _lines(pairs: list[tuple[str, object]]) -> list[str]:
    width = max(len(k) for k, _ in pairs)
    return [f"{k.ljust(width)}  {render.cell(v)}".rstrip() for k, v in pairs if v not in (None, "", [])]


def _num(value, currency: str | None = None) -> str:
    try:
        return money.fmt(Decimal(str(value)), currency)
    except (ArithmeticError, ValueError):
        return render.cell(value)


def product_lines(rows: list, currency: str | None) -> list[str]:
    """The product rows as a small table: #, name, price, qty, discount, tax, total."""
    if not rows:
        return []
    from tabulate import tabulate

    body = []
    for i, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            continue
        body.append([str(i), render.cell(r.get("name")), _num(r.get("price")), render.cell(r.get("quantity")),
                     f"{render.cell(r.get('discount') or 0)}%",
                     f"{render.cell(r.get('tax_rate') or 0)}%" + (" incl." if r.get("tax_included") else ""),
                     _num(r.get("total"), currency) if r.get("total") is not None else ""])
    table = tabulate(body, headers=["#", "name", "price", "qty", "discount", "tax", f"total {currency or ''}".strip()],
                     tablefmt="simple", disable_numparse=True, colalign=("right", "left", "right", "right", "right",
                                                                          "right", "right"))
    return ["", "products:"] + ["  " + line for line in table.splitlines()]


def quote_text(record: dict, company: str | None, contacts: list[str]) -> str:
    cur = record.get("currency")
    head = f"{render.cell(record.get('title'))} ({record.get('id')})"
    lines = [head] + _lines([
        ("company", company), ("contacts", ", ".join(contacts)),
        ("amount", f"{_num(record.get('amount'), cur)} {cur}"), ("valid_until", record.get("valid_until")),
        ("created", f"{render.cell(record.get('created'))} by {render.cell(record.get('created_by'))}"),
        ("modified", record.get("modified")),
    ])
    lines += product_lines(record.get("products") or [], cur)
    if record.get("comment"):
        lines += ["", "comment:", "  " + render.cell(record.get("comment")).replace("\n", "\n  ")]
    return "\n".join(lines) + "\n"


def recurring_text(record: dict, company: str | None, contacts: list[str]) -> str:
    sched = given if isinstance(given := record.get("schedule"), dict) else {}
    deal = part if isinstance(part := record.get("deal"), dict) else {}
    every = sched.get("every") or sched.get("rule")
    schedule = f"every {every} from {render.cell(sched.get('start'))}"
    if sched.get("until"):
        schedule += f" until {render.cell(sched.get('until'))}"
    if sched.get("rule") and sched.get("rule") != every:
        schedule += f" ({sched.get('rule')})"
    amount = deal.get("amount")
    creates = f"a deal in {render.cell(deal.get('pipeline'))}/{render.cell(deal.get('stage'))}"
    if amount is not None:
        creates += f", {_num(amount, deal.get('currency'))} {render.cell(deal.get('currency'))}"
    offsets = [f"created {record.get('create_before') or 0} day(s) ahead",
               f"begin +{record.get('begin_offset') or 0} day(s)"]
    if record.get("close_offset") is not None:
        offsets.append(f"close date +{record.get('close_offset')} day(s)")
    status = record.get("status") or ("paused" if record.get("paused") else "active")
    lines = [f"{render.cell(record.get('title'))} ({record.get('id')}) - {status}"] + _lines([
        ("schedule", schedule), ("creates", creates), ("company", company), ("contacts", ", ".join(contacts)),
        ("responsible", deal.get("responsible")), ("type", deal.get("type")), ("source", deal.get("source")),
        ("from_deal", record.get("from_deal")), ("offsets", "; ".join(offsets)),
        ("occurrences", f"{record.get('occurrences_created') or 0} created"
                        + (f", last {record.get('last_occurrence')}" if record.get("last_occurrence") else "")),
        ("paused_at", record.get("paused_at") if record.get("paused") else None),
        ("next", ", ".join(str(x) for x in record.get("next") or []) or "-"),
        ("created", f"{render.cell(record.get('created'))} by {render.cell(record.get('created_by'))}"),
    ])
    lines += product_lines(deal.get("products") or [], deal.get("currency"))
    fields = deal.get("fields") or {}
    if fields:
        lines += ["", "fields:"] + ["  " + x for x in _lines(list(fields.items()))]
    return "\n".join(lines) + "\n"
