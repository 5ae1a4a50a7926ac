"""Dangling links, for `dealcli check`: a deal pointing at a missing company, contact,
catalogue product, quote or lead; an activity of a missing deal; a contact of a missing
company; a quote's or a recurring template's missing client or product; a converted lead whose
deal is gone. The links are those declared in dealcli/kinds.py. Each problem names the file and
the line of the link."""

from __future__ import annotations

from dealcli import kinds
from dealcli.errors import Violation
from dealcli.session import Session

# kind -> [(path inside the record, kind it points at)]; "*" walks a list (dealcli/kinds.py)
LINKS = {k.folder: [(link.path, link.target) for link in k.links] for k in kinds.KINDS if k.links}
TARGETS = sorted({target for links in LINKS.values() for _, target in links})


_values = kinds.values_at


def known_ids(s: Session) -> dict[str, set[str]]:
    return {kind: set(s.repo.ids(kind)) for kind in TARGETS}


def doc_problems(s: Session, doc, kind: str, known: dict[str, set[str]]) -> list[Violation]:
    """The dangling links of one record already read (`check` calls it on each deal it parses)."""
    out = []
    for path, target in LINKS.get(kind, []):
        for where, value in _values(doc.data, path):
            if isinstance(value, (dict, list)) or str(value) in known[target]:
                continue
            field = ".".join(str(p) for p in where)
            out.append(Violation("dangling-link", f"{field}: {kinds.SINGULAR[target]} {value!r} does not exist "
                                 f"({target}/{value}.yaml is missing)", field, value, s.repo.rel(doc.path),
                                 doc.line_of(where)))
    return out


def run(s: Session, kinds=None, known: dict[str, set[str]] | None = None) -> list[Violation]:
    known = known if known is not None else known_ids(s)
    out = []
    for kind in kinds if kinds is not None else LINKS:
        for doc in s.repo.iter_docs(kind, errors=[]):  # unreadable files are reported by check itself
            out += doc_problems(s, doc, kind, known)
    return out
