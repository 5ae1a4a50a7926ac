"""Activities (calls, meetings, tasks, emails) planned on deals: activities/<id>.yaml.

On disk: format, id, deal (a deal id), type (call|meeting|task|email), subject, due (ISO date
and time with offset), responsible, done (bool), done_at, created, created_by.
A deal's next activity is the earliest `due` among its pending (not done) activities."""

from __future__ import annotations

import datetime as dt

from dealcli import timeutil
from dealcli.session import Session

TYPES = ("call", "meeting", "task", "email")


def next_activity_by_deal(s: Session, errors: list | None = None) -> dict[str, dt.datetime]:
    """deal id -> due time of its earliest pending activity (deals without one are absent)."""
    out: dict[str, dt.datetime] = {}
    for doc in s.repo.iter_docs("activities", errors if errors is not None else []):
        data = doc.data
        if data.get("done") or not data.get("deal") or not data.get("due"):
            continue
        try:
            due = timeutil.to_datetime(data["due"], "due")
        except timeutil.DateError:
            continue
        deal_id = str(data["deal"])
        if deal_id not in out or due < out[deal_id]:
            out[deal_id] = due
    return out
