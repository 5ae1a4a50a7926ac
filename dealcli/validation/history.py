"""History you can trust: `check` verifies that a deal's history agrees with its state, and
lists the conflicts a git merge left (docs/git.md), plus a warning about likely duplicate
companies and contacts."""

from __future__ import annotations

from dealcli import merge
from dealcli.errors import Violation, shown
from dealcli.model import Deal
from dealcli.i18n import Text

STAGE_EVENTS = ("created", "moved", "closed", "reopened")


def deal_problems(deal: Deal) -> list[Violation]:
    out: list[Violation] = []
    for n, c in enumerate(deal.extra.get("conflicts") or []):
        if not isinstance(c, dict):
            continue
        out.append(Violation(
            "conflict", Text("deal {deal_id}: {c_get_field} was changed on two clones: kept {shown_c_get_kept} "
                 "({c_get_kept_by_or}), the other value was {shown_c_get_other} "
                 "({c_get_other_by_or}); "
                 "once decided: `dealcli deal edit {deal_id} --resolve {c_get_field}`", deal_id=deal.id,
                             c_get_field=c.get('field'), shown_c_get_kept=shown(c.get('kept'), 200),
                             c_get_kept_by_or=c.get('kept_by') or '?', shown_c_get_other=shown(c.get('other'), 200),
                             c_get_other_by_or=c.get('other_by') or '?'),
            f"conflicts.{n}", c.get("field")))
    history = [e for e in deal.history if isinstance(e, dict)]
    times = [merge.when(e.get("at")) for e in history]
    for n in range(1, len(history)):
        now, before = times[n], times[n - 1]
        if now and before and now < before and history[n].get("backdated") is not True:
            out.append(Violation("history-order", Text("deal {deal_id}: history event {n} ({history_n_get_kind} "
                                      "at {history_n_get_at}) comes before the one above it; history is kept in "
                                      "time order", deal_id=deal.id, n=n + 1,
                                                       history_n_get_kind=history[n].get('kind'),
                                                       history_n_get_at=history[n].get('at')),
                                                  f"history.{n}", history[n].get("at")))
            break
    staged = [(n, e) for n, e in enumerate(history) if e.get("kind") in STAGE_EVENTS]
    if staged:
        n, last = staged[-1]
        named = last.get("to") if last.get("kind") in ("moved", "reopened") else last.get("stage")
        if named is not None and str(named) != deal.stage:
            out.append(Violation("history-state", Text("deal {deal_id} is in stage {deal_stage!r} but its last stage "
                                      "event ({last_get_kind} at {last_get_at}) names {shown_named}", deal_id=deal.id,
                                                       deal_stage=deal.stage, last_get_kind=last.get('kind'),
                                                       last_get_at=last.get('at'), shown_named=shown(named)),
                                 f"history.{n}", named))
    late = merge.edits_after_close(history)
    if late:
        e = late[0]
        out.append(Violation("history-closed", Text("deal {deal_id}: {kind} changed at "
                                  "{e_get_at} while the deal was closed (only comments and reopen are allowed "
                                  "after a close)", deal_id=deal.id,
                                                    kind=e.get('field') or e.get('kind'),
                                                    e_get_at=e.get('at')),
                                               f"history.{history.index(e)}", e.get("field")))
    return out


def duplicate_notices(s) -> list[str]:
    """Likely duplicate companies and contacts: the same normalised name or e-mail."""
    from dealcli import clients  # the whole check's notices only: not loaded to judge a deal

    out = []
    for kind, what in (("companies", "company"), ("contacts", "contact")):
        seen: dict[tuple[str, str, str], str] = {}
        for record_id, data in s.repo.records(kind, errors=[]):
            if not isinstance(data, dict):
                continue
            # a name alone never links two contacts of different companies (nor does the import)
            company = named if kind == "contacts" and isinstance(named := data.get("company"), str) else ""
            keys = [("name", _name_key(data.get("name")), company)]
            emails = given if isinstance(given := data.get("emails"), list) else []
            keys += [("e-mail", clients.norm(str(e)), "") for e in emails if e]
            for key in keys:
                if not key[1]:
                    continue
                other = seen.setdefault(key, record_id)
                if other != record_id:
                    out.append(f"likely duplicate {kind} {other} and {record_id} (same {key[0]} {key[1]!r}); "
                               f"`dealcli {what} merge {other} {record_id}` keeps the first")
                    break
    return out


def _name_key(name) -> str:
    """The name as the index cache normalises it, punctuation aside ("ACME Ltd." ~ "acme ltd")."""
    import re

    from dealcli import clients

    return re.sub(r"[\W_]+", " ", clients.norm(name)).strip() if isinstance(name, str) else ""
