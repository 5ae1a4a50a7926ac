"""Deciding what a git merge left open: `deal edit ID --resolve FIELD` drops the `conflicts:`
entries of FIELD (or `all`) and records a `resolved` history event with the value the deal
keeps. Allowed on closed deals too (it changes no deal field). See docs/git.md."""

from __future__ import annotations

from dealcli import deals, stage_rules
from dealcli.errors import Violation
from dealcli.model import Deal, Pipeline
from dealcli.session import Session
from dealcli.i18n import Text


def resolve(s: Session, refs: list[str], fields: list[str]) -> list[Deal]:
    wanted = set(fields)

    def change(deal: Deal, pipeline: Pipeline) -> list[Violation]:
        entries = [c for c in deal.extra.get("conflicts") or [] if isinstance(c, dict)]
        gone = [c for c in entries if "all" in wanted or c.get("field") in wanted]
        if not gone:
            open_ = ", ".join(str(c.get("field")) for c in entries) or "none"
            return [Violation("conflict", Text("deal {deal_id} has no conflict on {wanted} "
                                   "(open conflicts: {open})", deal_id=deal.id,
                                               wanted=', '.join(sorted(wanted)), open=open_), "conflicts", None)]
        keep = [c for c in entries if c not in gone]
        if keep:
            deal.extra["conflicts"] = keep
        else:
            deal.extra.pop("conflicts", None)
        for name in dict.fromkeys(str(c.get("field")) for c in gone):
            value = stage_rules.field_value(deal, name) if "." not in name else None
            deal.history.append(deals.event(s, "resolved", field=name, value=value))
        return []

    return deals.transact(s, refs, change)


def edit(s: Session, refs: list[str], changes: dict, sets: list[str], unsets: list[str],
         fields: list[str]) -> list[Deal]:
    """`deal edit` with --resolve: the edit and the resolution in one transaction."""
    with s.repo.transaction():
        done = deals.edit(s, refs, changes, sets, unsets) if (changes or sets or unsets) else []
        solved = resolve(s, refs, fields)
    return done or solved
