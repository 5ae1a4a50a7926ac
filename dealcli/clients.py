"""Companies and contacts: the records deals point at.

On disk (companies/<id>.yaml, contacts/<id>.yaml):
  format, id, name, emails: [..], phones: [..], responsible, fields: {..}, created, created_by
  (contacts also: company (a company id), birthday)
A reference on the command line is an id, a unique id prefix or an exact name
(case-insensitive); `ClientIndex` also matches by email, for lead conversion and import."""

from __future__ import annotations

from dealcli import FORMAT_VERSION, ids, timeutil
from dealcli.errors import NotFound, UsageError
from dealcli.session import Session
from dealcli.storage import atomic
from dealcli.storage.index import norm  # noqa: F401 - the one normaliser (the index cache's keys use it)

KIND_OF = {"company": "companies", "contact": "contacts"}


class ClientIndex:
    """Names and emails of every company or contact, loaded once; `add` keeps it current so a
    batch (an import) never creates the same client twice."""

    def __init__(self, s: Session, which: str):
        self.s, self.which, self.kind = s, which, KIND_OF[which]
        self.by_name: dict[str, list[str]] = {}
        self.by_email: dict[str, str] = {}
        keys = s.repo.lookup_keys(self.kind)  # names and emails from the index cache, no parsing
        if keys is not None:
            for key, value, record_id in keys:
                if key == "name":
                    self.by_name.setdefault(value, []).append(record_id)
                else:
                    self.by_email.setdefault(value, record_id)
            return
        for doc in s.repo.iter_docs(self.kind, errors=[]):
            self._index(doc.id, doc.data)

    def _index(self, record_id: str, data: dict) -> None:
        self.by_name.setdefault(norm(data.get("name")), []).append(record_id)
        for email in data.get("emails") or []:
            self.by_email.setdefault(norm(email), record_id)

    def find(self, name: str | None = None, email: str | None = None) -> str | None:
        """By email first, then by exact name; None when nothing matches. Several records with
        that name: NotFound listing them."""
        if email and norm(email) in self.by_email:
            return self.by_email[norm(email)]
        if name:
            found = self.by_name.get(norm(name), [])
            if len(found) > 1:
                raise NotFound(f"{self.which} {name!r}: ambiguous name, matches {', '.join(found)}; use an id")
            if found:
                return found[0]
        return None

    def add(self, data: dict) -> None:
        self._index(data["id"], data)


def new_record(s: Session, which: str, name: str, **extra) -> dict:
    data = {"format": FORMAT_VERSION, "id": ids.new_id(), "name": " ".join(name.split())}
    data["emails"] = list(extra.pop("emails", []) or [])
    data["phones"] = list(extra.pop("phones", []) or [])
    if which == "contact":
        data["company"] = extra.pop("company", None)
        data["birthday"] = extra.pop("birthday", None)
    data["responsible"] = extra.pop("responsible", None)
    data["fields"] = dict(extra.pop("fields", {}) or {})
    data.update(extra)
    data["created"] = timeutil.iso(s.now)
    data["created_by"] = s.user
    return data


def create(s: Session, which: str, data: dict) -> str:
    with s.repo.lock():
        s.repo.save(KIND_OF[which], data["id"], data, expect=atomic.MISSING)
    return data["id"]


def resolve(s: Session, which: str, ref: str, create_missing: bool = True) -> str:
    """The id of the company/contact that `ref` names: an id, a unique id prefix or an exact
    name. An unknown name creates the record (and says so); several matches are an error."""
    kind = KIND_OF[which]
    ref = " ".join((ref or "").split())
    if not ref:
        raise UsageError(f"--{which}: empty name")
    if s.repo.exists(kind, ref):
        return ref
    found = ClientIndex(s, which).find(name=ref)
    if found:
        return found
    try:
        return s.repo.resolve(kind, ref)
    except NotFound as exc:
        if "ambiguous" in exc.message or not create_missing:
            raise
    data = new_record(s, which, ref)
    create(s, which, data)
    s.notice(f"created {which} {data['id']} ({ref})")
    return data["id"]
