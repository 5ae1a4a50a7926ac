"""Dangling links, for `dealcli check`: a deal pointing at a missing company, contact,
catalogue product, quote or lead; an activity of a missing deal; a contact of a missing
company; a quote's or a recurring template's missing client or product; a converted lead whose
deal is gone. The links are those declared in dealcli/kinds.py; the rule is `rules.links_out`
(dealcli/rules.py), run by `check` on every record and by the gate on what a transaction touches.
Each problem names the file and the line of the link."""

from __future__ import annotations

from dealcli import kinds
from dealcli.session import Session

# kind -> [(path inside the record, kind it points at)]; "*" walks a list (dealcli/kinds.py)
LINKS = {k.folder: [(link.path, link.target) for link in k.links] for k in kinds.KINDS if k.links}
TARGETS = sorted({target for links in LINKS.values() for _, target in links})


_values = kinds.values_at


def known_ids(s: Session) -> dict[str, set[str]]:
    return {kind: set(s.repo.ids(kind)) for kind in TARGETS}
