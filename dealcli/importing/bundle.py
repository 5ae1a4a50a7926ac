"""A whole repository out and back in: `dealcli export --all` and `dealcli import --all`.

The export holds every record of every kind of the registry (dealcli/kinds.py: deals,
pipelines, companies, contacts, leads, quotes, products, activities, recurring templates,
generators) as its file holds it, links as ids, and the settings (dealcli.yaml: users,
departments, roles, saved filters, currency, time zone) as one more record, `settings`.

Two shapes, the same records (docs/import.md, "A whole repository"):
- a folder (`--out DIR`): `DIR/<kind>.jsonl` (one record a line) or `DIR/<kind>.yaml` (a list
  of records) for each kind of the registry, in registry order, also when it has none, and
  `DIR/settings.jsonl|yaml` (one record);
- one stream (stdout): JSONL lines `{"kind": "<kind>", "record": {...}}` (settings first,
  then each kind in registry order), or a YAML mapping `settings: {...}` then `<kind>: [...]`.

`import --all` reads either back into an **empty** repository (one that `dealcli init` made,
holding no records but its pipelines): every record is checked by its kind's model (the same
converter the files are read with), then all are written in one transaction through the write
gate (the rulebook judges the links), ids kept, with the settings, and the pipelines replaced
by the exported ones. The repository files come out byte for byte as the exported one's
(tests/test_export_all.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dealcli import i18n, kinds
from dealcli.errors import FieldError, NotAllowed, UsageError, ValidationFailed
from dealcli.storage import files, layout, yamlcodec
from dealcli.i18n import Text

SETTINGS = "settings"  # the pseudo-kind of dealcli.yaml in an export
FORMATS = ("jsonl", "yaml")


@dataclass
class Bundle:
    """Every record of a repository by kind, and its settings."""

    settings: dict
    records: dict[str, list[dict]] = field(default_factory=dict)  # folder -> records, in id order


@dataclass
class Loaded:
    """What `import --all` wrote (or, with a dry run, would write): records by kind."""

    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


# -- out -------------------------------------------------------------------------------------------
def collect(s) -> Bundle:
    """Every record as its file holds it. With users, the acting user must be allowed to export
    every record (a part of a repository would not import as an identical one): NotAllowed."""
    from dealcli import access

    bundle = Bundle(settings=dict(s.repo.config))
    hidden = 0
    with access.purpose(s, "export"):
        for kind in kinds.KINDS:
            docs = list(s.repo.iter_docs(kind.folder, errors=None))  # a corrupt file stops it: CorruptData
            hidden += len(s.repo.ids(kind.folder)) - len(docs)
            bundle.records[kind.folder] = [doc.data for doc in docs]
    if hidden:
        raise NotAllowed(i18n._("not allowed: a whole-repository export needs every record; {hidden} are not "
                                "yours to export [access]").format(hidden=hidden))
    return bundle


def _jsonl(record) -> str:
    from dealcli.views.render import json_text

    return json_text(record) + "\n"


def stream_text(bundle: Bundle, fmt: str) -> str:
    """The bundle as one stream (stdout)."""
    if fmt == "yaml":
        return yamlcodec.dumps({SETTINGS: bundle.settings, **bundle.records})
    out = [_jsonl({"kind": SETTINGS, "record": bundle.settings})]
    for folder, records in bundle.records.items():
        out += [_jsonl({"kind": folder, "record": r}) for r in records]
    return "".join(out)


def file_texts(bundle: Bundle, fmt: str) -> dict[str, str]:
    """File name -> text of the folder shape."""
    if fmt == "yaml":
        out = {f"{SETTINGS}.yaml": yamlcodec.dumps(bundle.settings)}
        out.update({f"{folder}.yaml": yamlcodec.dumps(records) if records else "[]\n"
                    for folder, records in bundle.records.items()})
        return out
    out = {f"{SETTINGS}.jsonl": _jsonl(bundle.settings)}
    out.update({f"{folder}.jsonl": "".join(_jsonl(r) for r in records) for folder, records in bundle.records.items()})
    return out


def export_all(s, fmt: str, out: str | None) -> tuple[str, list[str]]:
    """(text for stdout, files written): the stream when `out` is None, else the folder `out`
    (created if missing, never inside the repository; its files of other kinds are left)."""
    if fmt not in FORMATS:
        raise UsageError.about("format", "{0} {value!r}: a whole repository is exported as {known}", value=fmt,
                               known=" or ".join(FORMATS))
    if out is not None:
        files.refuse_inside(out, s.repo.root, "out")
    bundle = collect(s)
    if out is None:
        return stream_text(bundle, fmt), []
    folder = files.output_folder(out, "out")
    written = []
    for name, text in file_texts(bundle, fmt).items():
        written.append(str(files.write_output(folder / name, text.encode("utf-8"), "out")))
    return "", written


# -- in --------------------------------------------------------------------------------------------
class Refused(ValidationFailed):
    """The export cannot be imported: one line per problem, nothing written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        n = len(problems)
        super().__init__(i18n.ngettext("{n} problem; nothing imported", "{n} problems; nothing imported",
                                       n).format(n=n))

    def lines(self, label=None) -> list[str]:
        return [*self.problems, self.message]


def _load_text(text: str, fmt: str, where: str, problems: list) -> list:
    if fmt == "yaml":
        try:
            data = yamlcodec.loads(text.encode("utf-8"), where)
        except Exception as exc:  # noqa: BLE001 - CorruptData or the parser's own: one line naming the file
            problems.append(f"{where}: {getattr(exc, 'message', exc)}")
            return []
        return [(1, data)]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line, parse_float=Decimal)))
        except ValueError as exc:
            problems.append(Text("{where}:{n}: not JSON: {exc}", where=where, n=n, exc=exc))
    return out


def read(source: str) -> tuple[dict | None, list[tuple[str, str, int, object]], list[str]]:
    """(settings, [(folder, where, line, record)], problems) of an export --all folder or stream."""
    path = Path(source)
    problems: list[str] = []
    entries: list[tuple[str, str, int, object]] = []
    settings = None
    if path.is_dir():
        fmt = "yaml" if (path / f"{SETTINGS}.yaml").is_file() else "jsonl"
        names = [SETTINGS, *kinds.FOLDERS]
        if not (path / f"{SETTINGS}.{fmt}").is_file():
            raise UsageError.about("source", "{0} {path}: no {name} in this folder: not written by a whole-"
                                   "repository export", path=source, name=SETTINGS + ".jsonl")
        for name in names:
            file = path / f"{name}.{fmt}"
            if not file.is_file():
                continue
            where = str(file)
            loaded = _load_text(files.read_input(file, "source").decode("utf-8-sig"), fmt, where, problems)
            if fmt == "yaml":
                items = loaded[0][1] if loaded else None
                loaded = [(1, items)] if name == SETTINGS else [(i, r) for i, r in enumerate(items or [], 1)]
            if name == SETTINGS:
                settings = loaded[0][1] if loaded else None
            else:
                entries += [(name, where, n, r) for n, r in loaded]
        return settings, entries, problems
    text = files.read_input(source, "source").decode("utf-8-sig")
    fmt = "jsonl" if text.lstrip().startswith("{") else "yaml"
    for n, item in _load_text(text, fmt, source, problems):
        if fmt == "yaml":
            if not isinstance(item, dict):
                problems.append(Text("{source}: expected a mapping of kinds (settings, deals, ...)", source=source))
                break
            settings = item.get(SETTINGS)
            for name, records in item.items():
                if name != SETTINGS:
                    entries += [(name, source, i, r) for i, r in enumerate(records or [], 1)]
            continue
        if not isinstance(item, dict) or set(item) != {"kind", "record"}:
            problems.append(Text('{source}:{n}: expected {{"kind": ..., "record": {{...}}}}', source=source, n=n))
        elif item["kind"] == SETTINGS:
            settings = item["record"]
        else:
            entries.append((item["kind"], source, n, item["record"]))
    return settings, entries, problems


def _filled(s) -> list[str]:
    """The kinds this repository holds records of (pipelines aside): not empty."""
    counts = {k.folder: len(s.repo.ids(k.folder)) for k in kinds.KINDS if k.folder != "pipelines"}
    return [i18n.records(folder, n) for folder, n in counts.items() if n]


def import_all(s, source: str, dry_run: bool = False) -> Loaded:
    """Read an `export --all` folder or stream into this empty repository (see the module doc)."""
    from dealcli.model import model_of

    settings, entries, problems = read(source)
    if not isinstance(settings, dict):
        problems.insert(0, Text("{source}: no settings record (dealcli.yaml): not a whole-repository export",
                                source=source))
    seen: dict[tuple[str, str], str] = {}
    checked: list[tuple[str, dict]] = []
    for folder, where, line, record in entries:
        at = f"{where}:{line}"
        if folder not in kinds.BY_FOLDER:
            problems.append(Text("{at}: {folder!r}: not a kind of record (kinds: {kinds_folders})", at=at,
                                 folder=folder, kinds_folders=', '.join(kinds.FOLDERS)))
            continue
        rid = record.get("id") if isinstance(record, dict) else None
        if not isinstance(rid, str) or not layout.is_id(rid):
            problems.append(Text("{at}: id: {rid!r}: not a record id", at=at, rid=rid))
            continue
        if (folder, rid) in seen:
            problems.append(Text("{at}: id: {rid!r}: the same {kinds_singular_folder} is already at {seen_folder_rid}",
                                 at=at, rid=rid, kinds_singular_folder=kinds.SINGULAR[folder],
                                 seen_folder_rid=seen[folder, rid]))
            continue
        seen[folder, rid] = at
        assert isinstance(record, dict)
        model: Any = model_of(folder)
        try:
            model.from_dict(record)
        except FieldError as exc:
            problems.append(f"{at}: {kinds.SINGULAR[folder]} {rid}: {exc}")
            continue
        checked.append((folder, record))
    if problems:
        raise Refused(problems)
    filled = _filled(s)
    if filled:
        raise Refused([Text("{s_repo_root}: holds {filled}: a whole-repository import fills an empty "
                            "repository (dealcli init); import single kinds into this one", s_repo_root=s.repo.root,
                            filled=', '.join(filled))])
    result = Loaded(dry_run=dry_run)
    for folder, _ in checked:
        result.counts[folder] = result.counts.get(folder, 0) + 1
    if dry_run:
        return result
    with s.repo.transaction():
        s.repo.save_config(settings)
        keep = {rid for folder, rid in seen if folder == "pipelines"}
        for doc in list(s.repo.iter_docs("pipelines", errors=[], guarded=False)):
            if doc.id not in keep:
                s.repo.remove(doc)
        for folder, record in checked:
            if folder == "pipelines" and s.repo.exists("pipelines", record["id"]):
                s.repo.update(s.repo.load("pipelines", record["id"]), record)
            else:
                s.repo.create(folder, record["id"], record)
    return result
