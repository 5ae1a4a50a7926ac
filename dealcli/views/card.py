"""How the deal card looks on a terminal: a deal's custom fields by section (for `deal show`)
and a pipeline with its stages, rules and card (for `pipeline show`)."""

from __future__ import annotations

from decimal import Decimal

from dealcli import cards, i18n, money, stage_rules

from dealcli.views import fit, render
from dealcli.model import Pipeline


def value_text(f: cards.CardField | None, value, currency: str | None = None) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if f is not None and f.type == "money" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        text = i18n.number(money.fmt(Decimal(value), currency) if currency else money.fmt(Decimal(value)))
        return f"{text} {currency}" if currency else text
    if f is not None and f.type == "boolean" and isinstance(value, bool):
        return i18n._("yes") if value else i18n._("no")
    return render.shown(render.cell(value).replace("\n", " / "))


def card_lines(pipeline: Pipeline | None, fields: dict, currency: str | None = None,
               standard: dict[str, str] | None = None, hidden: set[str] | frozenset = frozenset()) -> list[str]:
    """The sections of a deal's card in the card's order: in each, the standard fields it places
    (their text in `standard`; empty ones left out) and its custom fields (unset ones as -); then
    the free fields the card does not define. Fields in `hidden` are left out."""
    card = cards.card_of(pipeline) if pipeline is not None else cards.Card()
    standard = standard or {}
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for title, names in card.layout():
        rows = []
        for name in names:
            f = card.field(name)
            if name in hidden:
                continue
            if f is not None:
                rows.append((_label(f), value_text(f, fields.get(name), currency)))
            elif standard.get(name):
                rows.append((name, standard[name]))
        if rows:
            groups.append((render.printable(title), rows))
    free = [(render.printable(str(name)), value_text(None, value)) for name, value in fields.items()
            if card.field(name) is None and name not in hidden]
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
    out = [render.printable(f"{pipeline.name} ({pipeline.id})") + (i18n._(" - the default pipeline") if is_default
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
    out += ["", i18n._("rules:")]
    for rule in stage_rules.requirements(pipeline):
        out.append(render.printable("  " + i18n._("{field} required from stage {stage} on").format(
            field=rule.get("field"), stage=rule.get("from_stage"))))
    out.append("  " + i18n._("lost reason required: {answer}").format(
        answer=i18n._("yes") if pipeline.rules.get("lost_reason_required") else i18n._("no")))
    if pipeline.automation:
        from dealcli import automation

        out += ["", i18n._("automation:")]
        for auto in pipeline.automation:
            out.append(render.printable(f"  {auto.id}: on {auto.when} {auto.stage}: {automation.describe(auto)}"))
    card = cards.card_of(pipeline)
    out += ["", i18n._("card:") if card.fields or card.sections or card.hidden or card.hidden_by_role else
            render.printable(i18n._("card: no custom fields (`dealcli pipeline edit {id} --card FILE` adds "
                                    "some)").format(id=pipeline.id))]
    for title, names in card.layout():
        out.append(f"  {render.printable(title)}:")
        members = [(name, card.field(name)) for name in names]
        width = max(len(_label(f) if f else name) for name, f in members)
        for name, f in members:
            if f is None:
                out.append(f"    {name:<{width}}  " + i18n._("standard"))
                continue
            kind = f"enum({', '.join(f.values)})" if f.type == "enum" else (
                f"list({', '.join(f.values)})" if f.type == "list" and f.values else f.type)
            extra = f"  default {render.cell(f.default)}" if f.default is not None else ""
            extra += f"  - {f.help}" if f.help else ""
            out.append(f"    {_label(f):<{width}}  {render.printable(kind + extra)}")
    if card.hidden:
        out.append(render.printable(i18n._("  hidden: {names}").format(names=", ".join(card.hidden))))
    for role, names in card.hidden_by_role.items():
        out.append(render.printable(i18n._("  hidden for {role}: {names}").format(role=role, names=", ".join(names))))
    return fit.lines("\n".join(out)) + "\n"  # every line fits the terminal


def shown(row: dict, name: str, value, blank=""):
    """`value`, or `blank` when the card of the row's deal hides the field `name` from the acting
    user (`row["hidden"]`, made by deals.hidden_of): how every view of several deals hides one."""
    return blank if name in row.get("hidden", ()) else value


def client_text(card: dict) -> str:
    """`company show` / `contact show` on a terminal: the record's fields, its deals with sums
    by status, and the timeline (newest first)."""
    out = [render.format_record(card["record"], "table").rstrip("\n"), ""]
    if not card["deals"]:
        out.append(i18n._("deals: none"))
        return fit.lines("\n".join(out)) + "\n"  # every line fits the terminal
    sums = "; ".join(f"{t['status']} {t['deals']} ({i18n.number(money.fmt(t['amount']))} {t['currency']})"
                     for t in card["totals"])
    missing = [st for st in ("open", "won", "lost") if st not in {t["status"] for t in card["totals"]}]
    sums = "; ".join([sums, *(f"{st} 0" for st in missing)])
    out += [render.printable(i18n._("deals: {sums}").format(sums=sums)), ""]
    shows = ["id", "title", "stage", "status", "amount", "currency", "closed_at"]
    hides = {"currency": "amount"}  # an amount goes with its currency
    deals = [{k: shown(d, hides.get(k, k), d.get(k)) for k in shows} for d in card["deals"]]
    out.append(render.format_rows(deals, "table", shows).rstrip("\n"))
    out += ["", i18n._("timeline:")]
    from dealcli.views.deal import event_word

    deal_of = {d.get("id"): d for d in card["deals"]}
    timeline = [dict(e, kind=event_word(e.get("kind")), text=_worded(*words))
                for e, words in zip(card["timeline"], card["words"], strict=True)
                if e.get("kind") != "comment" or shown(deal_of.get(e.get("deal"), {}), "comments", True, False)]
    out.append(render.format_rows(timeline, "table", ["at", "kind", "deal", "text", "by"]).rstrip("\n"))
    return fit.lines("\n".join(out)) + "\n"  # every line fits the terminal


def _worded(message: str, values: dict) -> str:
    """A timeline text (client_card._text) in the language in use, its amount written as the language
    writes numbers in views (`50,00 USD`)."""
    if "amount" in values:
        figure, _space, currency = str(values["amount"]).partition(" ")
        values = {**values, "amount": f"{i18n.number(figure)} {currency}".strip()}
    return " ".join(i18n._(message).format(**values).split()) if message != "{text}" else values["text"]
