"""THE registry of record kinds: each kind is declared once here — its folder, its singular name,
its model, its JSON Schema, the links it holds to other records (and what deleting their target
does to them), the access kind that guards it, and the identity of its list items for merges.

Everything else is derived from this table: `storage/layout` (folders and names),
`model.MODEL_OF_KIND`, `validation/schemas.SCHEMA_OF_KIND`, `validation/links` (dangling links),
`lifecycle` (what links a record, delete with `unlink`), `dedupe` (what a client merge
re-points), `access.KIND_OF_FOLDER` and the record-kind table of docs/format.md
(tests/test_kinds.py keeps them in step). Pure data: this module imports nothing of dealcli, so
storage, models and validation can all read it without import cycles.

A link is Django's foreign key with its `on_delete` settled where it is declared:
- `clear`: deleting the target (with the delete's unlink flag) empties the link, the record stays;
- `cascade`: deleting the target (with the flag) deletes the linking record too;
without the flag, a delete of a linked target is refused (rule `linked`), for every kind alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CLEAR, CASCADE = "clear", "cascade"


@dataclass(frozen=True)
class Link:
    """A reference from a record to another: `path` inside the record ("*" walks each item of a
    list), the folder of the kind it points at, and what deleting that target does."""

    path: tuple[str, ...]
    target: str
    on_delete: str = CLEAR

    @property
    def field(self) -> str:
        """The record's top-level field holding the link (`deal` for a template's deal part)."""
        return self.path[0]

    @property
    def key(self) -> str:
        """The key that names the target, wherever it sits (`company`, `contacts`, `products`)."""
        parts = [p for p in self.path if p != "*"]
        return parts[1] if parts[0] == "deal" and len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Kind:
    folder: str  # the folder of its files, also the kind's name in code (`deals`)
    singular: str  # how a message names one (`deal`, `recurring deal template`)
    model: str  # "module:Class" of its convert.Model (imported when first needed)
    schema: str  # schemas/<schema>.schema.json
    access: str  # the record kind of access grants (dealcli/access.py) that guards it
    links: tuple[Link, ...] = ()
    # list fields whose items a three-way merge unites by a key rather than by position/value
    identity: dict[str, str] = field(default_factory=dict)
    ref: str = ""  # the word a command takes for it (`company delete`), when it has one
    # split into shard folders (`deals/ab/<id>.yaml`) when the repository's layout says so
    # (`layout: {shard: N}` in dealcli.yaml, storage/layout.py): the kinds that grow by the million
    shard: bool = False


_DEAL_PARTS = (Link(("company",), "companies"), Link(("contacts", "*"), "contacts"),
               Link(("products", "*", "product"), "products"))

KINDS: tuple[Kind, ...] = (
    Kind("deals", "deal", "dealcli.model:Deal", "deal", "deal",
         _DEAL_PARTS + (Link(("quote",), "quotes"), Link(("lead",), "leads")),
         identity={"products": "product", "comments": "at"}, ref="deal", shard=True),
    Kind("pipelines", "pipeline", "dealcli.model:Pipeline", "pipeline", "settings",
         identity={"stages": "id"}, ref="pipeline"),
    Kind("companies", "company", "dealcli.model.client:Company", "company", "company", ref="company"),
    Kind("contacts", "contact", "dealcli.model.client:Contact", "contact", "contact",
         (Link(("company",), "companies"),), ref="contact"),
    Kind("leads", "lead", "dealcli.model.lead:Lead", "lead", "lead",
         (Link(("deal",), "deals"),), ref="lead"),
    Kind("quotes", "quote", "dealcli.model.quote:Quote", "quote", "quote", _DEAL_PARTS, ref="quote"),
    Kind("products", "product", "dealcli.model.product:Product", "product", "product", ref="product"),
    Kind("activities", "activity", "dealcli.model.activity:Activity", "activity", "activity",
         (Link(("deal",), "deals", CASCADE),), ref="activity", shard=True),
    Kind("recurring", "recurring deal template", "dealcli.model.template:Template", "recurring", "recurring",
         tuple(Link(("deal",) + link.path, link.target) for link in _DEAL_PARTS)),
    Kind("generators", "generator", "dealcli.model.scenario:Scenario", "generator", "settings"),
)

# Paths of dealcli.yaml that hold rights ("*": any user, role, department): changed on both
# sides of a merge, they are decided by a person (the merge driver leaves the file unmerged),
# never united (roles [viewer] and [admin] are not [admin, viewer]) nor decided by time.
RIGHTS: tuple[tuple[str, ...], ...] = (("users", "*"), ("users", "*", "roles"), ("users", "*", "dept"),
                                       ("users", "*", "emails"), ("roles", "*"), ("roles", "*", "grants"),
                                       ("departments", "*", "parent"))

BY_FOLDER: dict[str, Kind] = {k.folder: k for k in KINDS}
BY_REF: dict[str, Kind] = {k.ref: k for k in KINDS if k.ref}
FOLDERS: tuple[str, ...] = tuple(k.folder for k in KINDS)
SHARDED: frozenset[str] = frozenset(k.folder for k in KINDS if k.shard)
SINGULAR: dict[str, str] = {k.folder: k.singular for k in KINDS}
MODEL_OF_KIND: dict[str, str] = {k.folder: k.model for k in KINDS}
# the settings file is checked against a schema too, though it is no record kind
SCHEMA_OF_KIND: dict[str, str] = {**{k.folder: k.schema for k in KINDS}, "config": "config"}
# access kinds of the folders, of the settings file, and of a file written by a command
ACCESS_OF_FOLDER: dict[str, str] = {**{k.folder: k.access for k in KINDS}, "config": "settings", "file": "settings"}


def values_at(data: Any, path: tuple[str, ...],
              at: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(concrete path, value) for every value at a link's `path` in a record ('*' = each list
    item); empty values are skipped."""
    if not path:
        yield at, data
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from values_at(item, rest, at + (i,))
    elif isinstance(data, dict) and data.get(head) not in (None, ""):
        yield from values_at(data[head], rest, at + (head,))


def link_keys(folder: str, data: Any) -> list[tuple[str, str]]:
    """("link:<target folder>", id) for every link a record holds: the index's lookup keys that
    find the records linking to a target (check --since's link neighbours)."""
    out = []
    for link in BY_FOLDER[folder].links if folder in BY_FOLDER else ():
        for _, value in values_at(data, link.path):
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                out.append((f"link:{link.target}", str(value)))
    return out


def links_out(folder: str) -> tuple[Link, ...]:
    """The links records of this kind hold."""
    return BY_FOLDER[folder].links


def links_in(target: str) -> list[tuple[Kind, Link]]:
    """Every (kind, link) pointing at records of the `target` folder, in registry order."""
    return [(k, link) for k in KINDS for link in k.links if link.target == target]


def table() -> str:
    """The record-kind table of docs/format.md, made from this registry (tests/test_kinds.py
    fails when the page differs)."""
    rows = ["| folder | one is a | model | schema | access kind | sharded | links (path → kind, on delete) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for k in KINDS:
        links = "; ".join(f"`{'.'.join(link.path)}` → {link.target} ({link.on_delete})" for link in k.links)
        rows.append(f"| `{k.folder}/` | {k.singular} | `{k.model}` | `schemas/{k.schema}.schema.json` | "
                    f"{k.access} | {'yes' if k.shard else '—'} | {links or '—'} |")
    return "\n".join(rows) + "\n"
