"""`dealcli import --kind activity`: the calls, e-mails, meetings and tasks of the old CRM, each
on its deal, all-or-nothing, in one transaction.

A row gives: `deal` (a deal id, origin_id or title) or a client (`company` or `contact`: the
activity goes on that client's latest open deal, else its latest deal), `type` (call, email,
meeting, task; the words other CRMs use too: `Phone call`, `E-mail`, `Event`, `To-do`;
default task), `subject` (default the type), `due` (a date or date and time), `done` (yes/no) or
`status` (Completed, Done, Held ... are done; Not Started, In Progress, Open ... are not),
`done_at`, `responsible` (a login, e-mail or a user's name; default the deal's),
`description` and `created`. History is history: an activity may sit on a closed deal.

An activity that exists (the same deal, type, subject and due time) is unchanged, or gets the
row's done state: re-running the file changes nothing."""

from __future__ import annotations

from typing import Any

from dealcli import clients, i18n, ids
from dealcli.importing import records
from dealcli.importing import values as import_values
from dealcli.importing.presets import key
from dealcli.importing.values import ValueProblem

TYPE_WORDS = {
    "call": "call", "phone call": "call", "phone": "call", "log a call": "call", "звонок": "call",
    "email": "email", "e-mail": "email", "mail": "email", "send email": "email", "письмо": "email",
    "meeting": "meeting", "event": "meeting", "appointment": "meeting", "demo": "meeting", "встреча": "meeting",
    "task": "task", "to-do": "task", "todo": "task", "to do": "task", "deadline": "task", "задача": "task",
}
DONE_WORDS = {"completed", "complete", "done", "closed", "held", "finished", "выполнена", "завершена"}
OPEN_WORDS = {"not started", "in progress", "open", "planned", "waiting", "waiting on someone else", "deferred",
              "not held", "pending", "scheduled", "to do", "не начата", "в работе"}


class Deals:
    """The deals an activity row can name: by id, origin_id, title; and by client."""

    def __init__(self, s):
        self.by_ref: dict[str, list[str]] = {}
        self.by_client: dict[str, list[tuple[bool, str, str]]] = {}  # client id -> (open, created, id)
        self.data: dict[str, dict] = {}
        for d in s.deal_records(errors=[], everyone=True):
            did = str(d.get("id"))
            self.data[did] = d
            for ref in {did, str(d.get("origin_id") or ""), key(str(d.get("title") or ""))} - {""}:
                self.by_ref.setdefault(ref, []).append(did)
            entry = (d.get("status") == "open", str(d.get("created") or ""), did)
            for client in [d.get("company"), *(d.get("contacts") or [])]:
                if client:
                    self.by_client.setdefault(str(client), []).append(entry)

    def find(self, ref: str) -> str:
        found = self.by_ref.get(ref) or self.by_ref.get(key(ref)) or []
        if len(set(found)) > 1:
            raise ValueProblem(i18n._("names several deals ({ids}); give its id or origin_id").format(
                ids=", ".join(sorted(set(found)))))
        if not found:
            raise ValueProblem(i18n._("no deal has this id, origin_id or title"))
        return found[0]

    def of_client(self, client_id: str, what: str) -> str:
        found = self.by_client.get(client_id)
        if not found:
            raise ValueProblem(i18n._("the {what} has no deal to put the activity on").format(what=i18n._(what)))
        return max(found)[2]  # open deals first, then the latest created


def _type(text: str) -> str:
    found = TYPE_WORDS.get(key(text))
    if found is None:
        raise ValueProblem(i18n._("is not an activity type (call, email, meeting, task)"))
    return found


def _done(text: str) -> bool:
    word = key(text)
    if word in DONE_WORDS:
        return True
    if word in OPEN_WORDS:
        return False
    raise ValueProblem(i18n._("is not a status (Completed, Done ... or Not Started, In Progress ...)"))


def plan_and_write(s, opts, source, fmt: str) -> records.RecordResult:
    """The rows of `source`, checked, then written in the transaction records.run holds."""
    from dealcli import access
    from dealcli.importing import ImportFailed, People
    from dealcli.model.activity import Activity

    result = records.RecordResult("activity", dry_run=opts.dry_run)
    deals = Deals(s)
    companies = clients.ClientIndex(s, "company")
    people = People(s)
    policy = access.Policy.from_config(s.repo.config)
    existing = {}
    for doc in s.repo.iter_docs("activities", errors=[], guarded=False):
        d = doc.data
        existing[(d.get("deal"), d.get("type"), d.get("subject"), str(d.get("due")))] = doc
    order = opts.dayfirst if opts.dayfirst is not None else (s.date_order == "dayfirst" if s.date_order else False)
    dates = import_values.DateReader(s.tz, order)
    errors: list = []
    problems: list[str] = []
    planned: list = []
    for row, mapped in records.mapped_rows("activity", source, fmt, opts, errors, result):
        got: dict[str, Any] = {}
        bad: list[str] = []
        for column, target in mapped.items():
            value = row.values.get(column)
            text = "" if value is None else str(value).strip()
            if not text:
                continue
            try:
                if target == "type":
                    got[target] = _type(text)
                elif target in ("done", "status"):
                    got["done"] = import_values.parse_bool(text) if target == "done" else _done(text)
                elif target in ("due", "done_at", "created"):
                    parsed = dates.parse(text, f"line {row.line}")
                    got[target] = parsed[0] if parsed else None
                elif target == "deal":
                    got[target] = deals.find(text)
                elif target == "company":
                    found = companies.find(name=text)
                    if found is None:
                        raise ValueProblem(i18n._("no such company"))
                    got.setdefault("client", deals.of_client(found, "company"))
                elif target == "contact":
                    email = text if "@" in text else None
                    found = people.find(None if email else text, [email] if email else [], [], None)
                    if found is None:
                        raise ValueProblem(i18n._("no such contact"))
                    got.setdefault("client", deals.of_client(found, "contact"))
                elif target == "responsible":
                    got[target] = policy.login_of(text) or _login_by_name(policy, text) or text
                else:
                    got[target] = text[:100_000] if target == "description" else text[:500]
            except ValueProblem as exc:
                bad.append(f"{source.name}:{row.line}: {column}: {text!r}: {exc}")
        deal: str = got.get("deal") or got.get("client") or ""
        if not deal and not bad:
            bad.append(f"{source.name}:{row.line}: (row): an activity needs its deal (deal, or a company or contact "
                       "that has one)")
        if "due" not in got and not bad:
            got["due"] = got.get("done_at") or got.get("created")
            if got["due"] is None:
                bad.append(f"{source.name}:{row.line}: (row): an activity needs a due date")
        if bad:
            problems += bad
            continue
        kind = got.get("type", "task")
        subject = " ".join(got.get("subject", kind.capitalize()).split())
        done = bool(got.get("done"))
        same = existing.get((deal, kind, subject, _iso(got["due"])))
        if same is not None:
            if bool(same.data.get("done")) == done:
                result.unchanged += 1
                continue
            data = dict(same.data, done=done, done_at=_iso(got.get("done_at") or got["due"]) if done else None,
                        modified=_iso(s.now))
            planned.append(("update", (same, data)))
            continue
        act = Activity.new(id=ids.new_id(), deal=deal, type=kind, subject=subject, due=got["due"],
                           responsible=got.get("responsible") or deals.data[deal].get("responsible") or s.user,
                           done=done, done_at=(got.get("done_at") or got["due"]) if done else None,
                           created=got.get("created") or s.now, created_by=s.user,
                           description=got.get("description"))
        existing[(deal, kind, subject, _iso(got["due"]))] = act  # a repeated row is the same activity
        planned.append(("create", act))
    problems += [f"{source.name}:{e.line}: {e.column}: {e.problem}" for e in errors]
    if problems:
        raise ImportFailed(problems)
    for action, item in planned:
        if action == "create":
            result.created += 1
            result.ids.append(item.id)
            if not opts.dry_run:
                s.repo.create("activities", item.id, item)
        else:
            doc, data = item
            result.updated += 1
            result.ids.append(doc.id)
            if not opts.dry_run:
                s.repo.update(doc, data)
    return result


def _iso(when) -> str:
    from dealcli import timeutil

    return (timeutil.iso(when) or "") if hasattr(when, "isoformat") else str(when)


def _login_by_name(policy, name: str) -> str | None:
    low = name.lower()
    found: str | None = next((login for login, u in policy.users.items()
                              if str((u or {}).get("name") or "").lower() == low), None)
    return found
