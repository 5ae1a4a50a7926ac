"""How the deal card looks on a terminal: a deal's custom fields by section (for `deal show`)
and a pipeline with its stages, rules and card (for `pipeline show`)."""

from __future__ import annotations

from decimal import Decimal

from dealcli import cards, money, stage_rules

from dealcli.views import render
from dealcli.model import Pipeline


def value_text(f: cards.CardField | None, value, currency: str | None = None) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if f is not None and f.type == "money" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return f"{money.fmt(Decimal(value), currency)} {currency}" if currency else money.fmt(Decimal(value))
    if f is not None and f.type == "boolean" and isinstance(value, bool):
        return "yes" if value else "no"
    return render.shown(render.cell(value).replace("\n", " / "))


def card_lines(pipeline: Pipeline | None, fields: dict, currency: str | None = None) -> list[str]:
    """The custom fields of a deal grouped by the sections of its pipeline's card: every card
    field (unset ones as -), then the free fields the card does not define."""
    card = cards.card_of(pipeline) if pipeline is not None else cards.Card()
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for title, members in card.grouped():
        groups.append((render.printable(title), [(_label(f), value_text(f, fields.get(f.name), currency))
                                                  for f in members]))
    free = [(render.printable(str(name)), value_text(None, value)) for name, value in fields.items()
            if card.field(name) is None]
    if free:
        if groups and groups[-1][0] == cards.OTHER_SECTION:
            groups[-1][1].extend(free)
        else:
            groups.append((cards.OTHER_SECTION if card.fields else "fields", free))
    out: list[str] = []
    for title, rows in groups:
        width = max(len(label) for label, _ in rows)
        out.append("")
        out.append(f"{title}:")
        out.extend(f"  {label:<{width}}  {text}" for label, text in rows)
    return out


def _label(f: cards.CardField) -> str:
    return render.printable(f"{f.label} ({f.name})" if f.label and f.label != f.name else f.name)


def pipeline_text(pipeline: Pipeline, counts: dict[str, int], is_default: bool) -> str:
    out = [render.printable(f"{pipeline.name} ({pipeline.id})") + (" - the default pipeline" if is_default
                                                                    else ""), ""]
    rows = [{"#": i + 1, "id": st.id, "name": st.name, "semantics": st.semantics,
             "probability": f"{st.probability}%" if st.probability is not None else "",
             "color": st.color or "", "deals": counts.get(st.id, 0)} for i, st in enumerate(pipeline.stages)]
    if any(st.rotting_days for st in pipeline.stages):  # only when a stage sets it: tables keep their shape
        for row, st in zip(rows, pipeline.stages, strict=True):
            row["rots after"] = f"{st.rotting_days}d" if st.rotting_days else ""
    colors = {st.id: st.color for st in pipeline.stages}

    def paint(column, value, row):
        return render.paint(str(value), colors.get(row["id"])) if column == "name" else None

    out.append(render.format_rows(rows, "table", table_cells=paint).rstrip("\n"))
    out += ["", "rules:"]
    for rule in stage_rules.requirements(pipeline):
        out.append(render.printable(f"  {rule.get('field')} required from stage {rule.get('from_stage')} on"))
    out.append(f"  lost reason required: {'yes' if pipeline.rules.get('lost_reason_required') else 'no'}")
    if pipeline.automation:
        from dealcli import automation

        out += ["", "automation:"]
        for auto in pipeline.automation:
            out.append(render.printable(f"  {auto.id}: on {auto.when} {auto.stage}: {automation.describe(auto)}"))
    card = cards.card_of(pipeline)
    out += ["", "card:" if card.fields else
            render.printable(f"card: no custom fields (`dealcli pipeline edit {pipeline.id} --card FILE` adds some)")]
    for title, members in card.grouped():
        out.append(f"  {render.printable(title)}:")
        width = max(len(_label(f)) for f in members)
        for f in members:
            kind = f"enum({', '.join(f.values)})" if f.type == "enum" else (
                f"list({', '.join(f.values)})" if f.type == "list" and f.values else f.type)
            extra = f"  default {render.cell(f.default)}" if f.default is not None else ""
            extra += f"  - {f.help}" if f.help else ""
            out.append(f"    {_label(f):<{width}}  {render.printable(kind + extra)}")
    return "\n".join(out) + "\n"


def client_text(card: dict) -> str:
    """`company show` / `contact show` on a terminal: the record's fields, its deals with sums
    by status, and the timeline (newest first)."""
    out = [render.format_record(card["record"], "table").rstrip("\n"), ""]
    if not card["deals"]:
        out.append("deals: none")
        return "\n".join(out) + "\n"
    sums = "; ".join(f"{t['status']} {t['deals']} ({money.fmt(t['amount'])} {t['currency']})" for t in card["totals"])
    missing = [st for st in ("open", "won", "lost") if st not in {t["status"] for t in card["totals"]}]
    sums = "; ".join([sums, *(f"{st} 0" for st in missing)])
    out += [render.printable(f"deals: {sums}"), ""]
    out.append(render.format_rows(card["deals"], "table", ["id", "title", "stage", "status", "amount", "currency",
                                                             "closed_at"]).rstrip("\n"))
    out += ["", "timeline:"]
    out.append(render.format_rows(card["timeline"], "table", ["at", "kind", "deal", "text", "by"]).rstrip("\n"))
    return "\n".join(out) + "\n"
