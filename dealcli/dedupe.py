"""`company merge A B` / `contact merge A B`: fold duplicate B into A. Every link to B is re-pointed
to A, B's e-mails, phones and custom fields are added to A, the merge is recorded in A's history
(and in each re-pointed deal's), and B is deleted: ONE transaction, all or nothing. What links a
client is what dealcli/kinds.py declares (deals, contacts' company, quotes, recurring templates' deal part)."""

from __future__ import annotations

from dealcli import clients, deals, kinds, timeutil
from dealcli.errors import UsageError
from dealcli.session import Session
from dealcli import i18n

def _repoint_path(data: dict, path: tuple, old: str, new: str) -> bool:
    """Change the link to `old` at `path` (dealcli/kinds.py's form: "*" = each list item) in the
    mapping `data`, in place; True when something changed."""
    head, rest = path[0], path[1:]
    value = data.get(head)
    if not rest:
        if value == old:
            data[head] = new
            return True
    elif rest == ("*",):
        if isinstance(value, list) and old in value:
            data[head] = list(dict.fromkeys(new if v == old else v for v in value))
            return True
    elif isinstance(value, dict):
        inner = dict(value)
        if _repoint_path(inner, rest, old, new):
            data[head] = inner
            return True
    return False


def _repoint(data: dict, kind: str, which: str, old: str, new: str) -> list[str]:
    """Change the links to `old` in one record of `kind` (a plain mapping), by the links its kind
    declares to `which`'s folder; returns the top-level fields changed."""
    target = clients.KIND_OF[which]
    return [link.field for link in kinds.links_out(kind)
            if link.target == target and _repoint_path(data, link.path, old, new)]


def merge(s: Session, which: str, keep_ref: str, drop_ref: str) -> dict:
    kind = clients.KIND_OF[which]
    with s.repo.transaction():
        keep_doc = clients.load(s, which, keep_ref)
        drop_doc = clients.load(s, which, drop_ref)
        if keep_doc.id == drop_doc.id:
            raise UsageError(i18n._("{which} merge: A and B are the same {which} ({keep_doc_id})").format(
                which=which, keep_doc_id=keep_doc.id))
        keep, drop = dict(keep_doc.data), dict(drop_doc.data)
        a, b = keep_doc.id, drop_doc.id
        for key in ("emails", "phones"):
            keep[key] = list(dict.fromkeys(list(keep.get(key) or []) + list(drop.get(key) or [])))
        fields = dict(drop.get("fields") or {})
        fields.update(keep.get("fields") or {})
        keep["fields"] = fields
        for key, value in drop.items():
            if keep.get(key) in (None, "", [], {}) and value not in (None, "", [], {}) and key not in ("id",):
                keep[key] = value
        counts: dict[str, int] = {}
        others = dict.fromkeys(k.folder for k, _ in kinds.links_in(kind) if k.folder != "deals")
        for other in others:
            for doc in s.repo.iter_docs(other):
                if other == kind and doc.id in (a, b):
                    continue
                data = dict(doc.data)
                if _repoint(data, other, which, b, a):
                    s.repo.update(doc, data)
                    counts[other] = counts.get(other, 0) + 1
        deal_ids = [d["id"] for d in s.deal_records() if _repoint(dict(d), "deals", which, b, a)]
        if deal_ids:
            def change(deal, pipeline):
                data = {"company": deal.company, "contacts": list(deal.contacts)}
                for name in _repoint(data, "deals", which, b, a):
                    old = getattr(deal, name)
                    setattr(deal, name, data[name])
                    deal.history.append(deals.event(s, "relinked", field=name, old=old, new=data[name],
                                                    note=f"{which} {b} merged into {a}"))
                return []

            deals.transact(s, deal_ids, change)
            counts["deals"] = len(deal_ids)
        history = list(keep.get("history") or [])
        history.append({"at": timeutil.iso(s.now), "by": s.user, "kind": "merged", "from": b,
                        "name": drop.get("name"), "relinked": dict(counts)})
        keep["history"] = history
        s.repo.update(keep_doc, keep)
        s.repo.remove(drop_doc)
    return {"kept": a, "removed": b, "relinked": counts}
