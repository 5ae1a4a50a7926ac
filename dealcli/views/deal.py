"""How one deal and its history look in each output format."""

from __future__ import annotations

from dealcli import cards, money
from dealcli.i18n import _, header, number, pgettext
from dealcli.model import Deal
from dealcli.views import card as views_card
from dealcli.views import fit, render

HISTORY_FIELDS = ("at", "by", "kind")
MONEY_FIELDS = ("amount", "price", "total")  # their values are written as the language writes numbers in views


def _cell(field, value) -> str:
    """A value in a history text: an amount as the language writes numbers (i18n.number), else as stored."""
    return number(render.cell(value)) if field in MONEY_FIELDS else render.cell(value)


def event_word(kind) -> str:
    """A history or timeline event's kind as a person reads it (the data keeps `kind` as it is)."""
    words = {
        "created": pgettext("event", "created"), "moved": pgettext("event", "moved"),
        "closed": pgettext("event", "closed"), "reopened": pgettext("event", "reopened"),
        "changed": pgettext("event", "changed"), "pipeline_changed": pgettext("event", "pipeline_changed"),
        "corrected": pgettext("event", "corrected"), "commented": pgettext("event", "commented"),
        "relinked": pgettext("event", "relinked"), "resolved": pgettext("event", "resolved"),
        "automation": pgettext("event", "automation"), "merged": pgettext("event", "merged"),
        "conflict": pgettext("event", "conflict"), "activity_added": pgettext("event", "activity_added"),
        "activity_done": pgettext("event", "activity_done"), "deal": pgettext("event", "deal"),
        "won": pgettext("event", "won"), "lost": pgettext("event", "lost"), "comment": pgettext("event", "comment"),
        "call": pgettext("event", "call"), "meet": pgettext("event", "meet"), "task": pgettext("event", "task"),
        "email": pgettext("event", "email"), "chat": pgettext("event", "chat"), "message": pgettext("event", "message"),
    }
    return words.get(kind, kind) if isinstance(kind, str) else kind


def history_detail(ev: dict, name=lambda kind, value, ev: value) -> str:
    """One history event in words; `name(kind, id, event)` gives the name a person reads for a
    stage or pipeline id (the id itself by default). Field names are worded as table headings."""
    kind = ev.get("kind")
    if kind in ("moved", "pipeline_changed", "reopened"):
        what = "pipeline" if kind == "pipeline_changed" else "stage"
        note = {k: v for k, v in ev.items() if k not in HISTORY_FIELDS and k not in ("from", "to")}
        extra = ", ".join(f"{header(k)}: {render.cell(name(k, v, ev) if k in ('stage', 'pipeline') else v)}"
                          for k, v in note.items())
        return f"{name(what, ev.get('from'), ev)} -> {name(what, ev.get('to'), ev)}" + (f" ({extra})" if extra else "")
    if kind == "changed" and ev.get("field") == "products" and isinstance(ev.get("rows"), list):
        return f"{header('products')}: " + "; ".join(_row_change(c) for c in ev["rows"] if isinstance(c, dict))
    if kind == "changed":
        field = ev.get("field")
        return f"{header(str(field))}: {_cell(field, ev.get('old'))} -> {_cell(field, ev.get('new'))}"
    if kind in ("activity_added", "activity_done"):
        return f"{event_word(ev.get('type'))}: {ev.get('subject')} ({ev.get('activity')})"
    if kind == "closed":
        stage = name("stage", ev.get("stage"), ev)
        out = _("{status} in {stage}").format(status=event_word(ev.get("status")), stage=stage)
        return out + (f" ({ev['reason']})" if ev.get("reason") else "")
    if kind == "commented":
        return str(ev.get("text", "")).replace("\n", " ")[:120]
    rest = {k: v for k, v in ev.items() if k not in HISTORY_FIELDS}
    return ", ".join(f"{header(k)}={render.cell(name(k, v, ev)) if k in ('stage', 'pipeline') else _cell(k, v)}"
                     for k, v in rest.items())


def _row_change(c: dict) -> str:
    if "added" in c:
        return _("row {row} added ({added})").format(row=c.get("row"), added=c.get("added"))
    if "removed" in c:
        return _("row {row} removed ({removed})").format(row=c.get("row"), removed=c.get("removed"))
    return _("row {row} {name} {field}: {old} -> {new}").format(
        row=c.get("row"), name=c.get("name"), field=header(str(c.get("field"))),
        old=_cell(c.get("field"), c.get("old")), new=_cell(c.get("field"), c.get("new")))


def render_history(deal: Deal, fmt: str, extra: list[dict] | None = None,
                   stage_names: dict | None = None, pipeline_names: dict | None = None) -> None:
    """The deal's history events plus `extra` ones (its activities), by time. The table words
    stages and pipelines by name (`stage_names`: (pipeline, stage) -> name, `pipeline_names`:
    id -> name; an id they do not know stays as it is); the data formats keep the ids."""
    from dealcli.merge import ordered

    history = ordered(list(deal.history) + list(extra or []))  # by time, even after a hand merge
    events = [dict(e, deal=deal.id) for e in history]
    if fmt == "table":
        stages, pipes = stage_names or {}, pipeline_names or {}
        anywhere = {st: n for (_, st), n in reversed(list(stages.items()))}  # a stage of a former pipeline

        def name(kind, value, ev):
            if kind == "pipeline":
                return pipes.get(value, value)
            return stages.get((ev.get("pipeline") or deal.pipeline, value)) or anywhere.get(value, value)

        rows = [{"at": e.get("at"), "by": e.get("by"), "kind": event_word(e.get("kind")),
                 "detail": history_detail(e, name)}
                for e in history]
        render.emit(rows, "table")
    elif fmt == "ids":
        render.emit([{"id": deal.id}], "ids")
    else:
        render.emit(events, fmt)


def render_deal(view, fmt: str) -> None:
    """`view`: a deals.DealView."""
    deal = view.deal
    if fmt != "table":
        render.emit_record(deal.to_dict(), fmt) if fmt in ("json", "yaml") else render.emit([deal.to_dict()], fmt)
        return
    render.write(deal_card_text(view))


def deal_card_text(view) -> str:
    """The human view: the main fields, products, custom fields, comments and next step."""
    deal, pipeline = view.deal, view.pipeline
    stage = pipeline.stage(deal.stage) if pipeline else None
    stage_text = (render.Styled(render.paint(stage.name, stage.color) + render.printable(f" ({deal.stage})"))
                  if stage else deal.stage)
    lines = [
        ("id", deal.id), ("title", deal.title),
        ("pipeline", f"{pipeline.name} ({deal.pipeline})" if pipeline else deal.pipeline),
        ("stage", stage_text), ("status", deal.status),
        ("amount", f"{number(money.fmt(deal.amount, deal.currency))} {deal.currency}"
         + ("" if deal.manual_amount or not deal.products else _(" (from products)"))),
        ("company", view.company), ("contacts", ", ".join(view.contacts)),
        ("next_activity", view.next_activity),
        ("type", deal.type), ("source", deal.source), ("responsible", deal.responsible),
        ("begin", deal.begin), ("close_date", deal.close_date), ("closed_at", deal.closed_at),
        ("probability", f"{deal.probability}%" if deal.probability is not None else None),
        ("repeat", _("yes") if deal.repeat else None), ("lost_reason", deal.lost_reason),
        ("origin_id", deal.origin_id), ("created", _("{at} by {user}").format(at=render.cell(deal.created),
                                                                             user=deal.created_by)),
        ("modified", deal.modified),
    ]
    hidden = view.hidden
    placed = cards.card_of(pipeline).placed() if pipeline else {}
    texts = {key: render.shown(value) for key, value in lines if key not in hidden}
    out = []
    width = max(len(header(k)) for k, _v in lines)
    for key, text in texts.items():
        if text and key not in placed:
            key = header(key)  # the label in the language in use
            out.append(f"{key:<{width}}  {text}")
    for key, value in deal.extra.items():
        out.append(f"{render.printable(str(key)):<{width}}  {render.shown(value)}")
    # the card's sections in order: standard fields it places, custom fields
    out += views_card.card_lines(pipeline, deal.fields, deal.currency, texts, hidden)
    if deal.products and "products" not in hidden:
        out.append("")
        out.append(_("products:"))
        rows = [{"name": p.name, "price": number(money.fmt(p.price)), "qty": render.cell(p.quantity),
                 "discount%": render.cell(p.discount), "tax%": render.cell(p.tax_rate)
                 + (_(" incl.") if p.tax_included else ""),
                 "total": number(money.fmt(p.total_in(deal.currency), deal.currency))} for p in deal.products]
        out.append(render.format_rows(rows, "table").rstrip("\n"))
    if deal.comments and "comments" not in hidden:
        out.append("")
        out.append(_("comments:"))
        for c in deal.comments:
            out.append(render.printable(f"  {c.get('at')} {c.get('by')}: {str(c.get('text', '')).strip()}",
                                        keep_newlines=True))
    return fit.lines("\n".join(out)) + "\n"  # every line fits the terminal
