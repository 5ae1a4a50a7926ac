"""`dealcli check`: every file against its JSON Schema, the model's types and the stage rules.
Validators return Violations carrying file and line; one run collects them all (beancount's
way), so CI sees every problem at once."""

from __future__ import annotations

import contextlib
from pathlib import Path

from dealcli import kinds, rules, stage_rules
from dealcli.errors import CorruptData, FieldError, NotFound, Violation
from dealcli.model import model_of
from dealcli.session import Session
from dealcli.storage import atomic
from dealcli.storage.layout import KINDS, RECORD_MAX
from dealcli.storage.repository import Doc
from dealcli.i18n import Text

PARALLEL_MIN = 2000  # deal files from which worker processes share the work (spawning them costs 0.3-1 s)
CHUNK = 500
_JOB: tuple = ()  # (session, Files[, verdicts]) for the deal checks, in this process or a worker


line_for = rules.line_for


class Files:
    """The rulebook's Lookup (dealcli/rules.py) over the files on disk, as `check` reads them."""

    def __init__(self, s: Session, known: dict[str, set[str]], pipelines: dict, broken: set, linking=None):
        self.session, self.known, self.pipelines, self.broken = s, known, pipelines, broken
        self._linking = linking

    def exists(self, kind: str, record_id: str) -> bool:
        return record_id in self.known[kind]

    def pipeline(self, pipeline_id: str):
        return self.pipelines.get(pipeline_id)

    def linking(self, target: str, ids: set[str]):
        if self._linking is None:
            return iter(())  # the whole check judges every file, so it needs no neighbours
        return self._linking(target, ids)


def check_doc(s: Session, doc: Doc, kind: str, lookup: Files | None = None) -> tuple[list[Violation], object | None]:
    """A record's own rules (schema, types, id, kind rules): rules.record."""
    return rules.record(doc, lookup or Files(s, {}, {}, {doc.id} if kind == "pipelines" else set()),
                        s.repo.rel(doc.path))


def run(s: Session) -> list[Violation]:
    from dealcli.validation import history, links as linkcheck  # not needed by check --since

    problems: list[Violation] = []
    repo = s.repo
    try:
        problems += rules.settings(repo.config_doc)
    except CorruptData as exc:
        problems.append(Violation("yaml", exc.message.split(": ", 1)[-1], None, None, "dealcli.yaml", exc.line))
    for refused in repo.refused:  # a killed command's change that recovery would not finish
        problems.append(Violation("journal", Text("{refused_problem}; the files it names may be half written "
                                       "(`dealcli recover --status`)",
                                                  refused_problem=refused.problem), None, None, refused.path))
    form_errors: list[CorruptData] = []
    for doc in repo.iter_docs("forms", form_errors):  # website forms of intake (docs/intake.md)
        problems += rules.schema_problems(doc, repo.rel(doc.path), "form")
    problems += _yaml_problems(s, form_errors)
    loaded: dict[str, list] = {}
    broken: set[str] = set()
    linked: dict[str, list] = {}  # kind -> (id, path, link data) of the records judged through the cache
    for kind in KINDS:
        if kind == "deals":
            continue  # after the pipelines, file by file (in parallel when there are many)
        errors: list[CorruptData] = []
        if kind not in ("pipelines", *rules.OWN_CHECK) and repo.guard is None:
            found, linked[kind] = _judge_records(s, kind)
            problems += found
            continue
        for doc in repo.iter_docs(kind, errors):
            found, obj = check_doc(s, doc, kind, Files(s, {}, {}, set()))
            problems += found
            if obj is not None:
                loaded.setdefault(kind, []).append((doc, obj))
        problems += _yaml_problems(s, errors)
        if kind == "pipelines":  # an unreadable pipeline file: its deals are not "without pipeline"
            broken = {Path(exc.path).stem for exc in errors}
    pipelines = {p.id: p for _, p in loaded.get("pipelines", [])}
    docs = {p.id: doc for doc, p in loaded.get("pipelines", [])}
    from dealcli import generators

    for pipeline_id, v in stage_rules.tunnel_problems(pipelines, generators.entries(s)):  # across pipelines
        v.path, v.line = repo.rel(docs[pipeline_id].path), line_for(docs[pipeline_id], v.field, ("automation",))
        problems.append(v)
    known = linkcheck.known_ids(s)
    files = Files(s, known, pipelines, broken)
    problems += check_deals(s, files)
    for kind in KINDS:  # the links every record holds (the deals': in check_deals)
        if kind != "deals" and kinds.links_out(kind):
            if kind in linked:
                for record_id, path, data in linked[kind]:
                    if rules.links_out(Doc(kind, record_id, path, data, None), files, repo.rel(path)):
                        with contextlib.suppress(NotFound, CorruptData):  # dangling: with its line
                            doc = repo.load(kind, record_id)
                            problems += rules.links_out(doc, files, repo.rel(doc.path))
                continue
            for doc in repo.iter_docs(kind, errors=[]):  # unreadable files are reported above
                problems += rules.links_out(doc, files, repo.rel(doc.path))
    for note in history.duplicate_notices(s):
        s.notice(note)
    from dealcli import gitops

    problems += _unmerged_problems(gitops.unmerged(repo.root))
    problems += layout_problems(repo)
    problems = drop_shadowed(problems)
    problems.sort(key=lambda v: (v.path or "", v.line or 0))
    return problems


# files whose change can change what any record means: a change to one of them is checked whole
WHOLE = ("dealcli.yaml", "pipelines/", "generators/", "forms/")


class _Exists:
    """`known[target]` for the link checks of a few records: asks the folder (or `exists`) per id
    instead of listing every id."""

    def __init__(self, s: Session, exists=None):
        self.s, self.exists = s, exists

    def __getitem__(self, target: str):
        outer = self

        class _Ids:
            def __contains__(self, record_id) -> bool:
                if outer.exists is not None:
                    return outer.exists(target, str(record_id))
                return outer.s.repo.exists(target, str(record_id))

        return _Ids()


def records_of(paths) -> set[tuple[str, str]] | None:
    """(folder, id) of the record files among repository-relative `paths`; None when one of them
    is a file whose change needs the whole repository checked (settings, pipelines, generators)."""
    from dealcli.storage.layout import record_of

    found = set()
    for rel in paths:
        if rel.startswith(WHOLE) or rel == "dealcli.yaml":
            return None
        record = record_of(rel)  # flat or sharded (deals/ab/<id>.yaml)
        if record is not None:
            found.add(record)
    return found


class Unanswerable(Exception):
    """The link neighbours cannot be found without reading every file: check everything."""


def neighbours(s: Session, target: str, ids: set[str]) -> set[tuple[str, str]]:
    """(folder, id) of the records linking to `ids` of the `target` folder (kinds.links_in),
    through the index cache's link keys; Unanswerable when the cache cannot answer. Each linking
    folder is brought up to date first (every file stat'ed, a changed one parsed again), so a
    record edited in place since the last scan is not missed."""
    import sqlite3

    out: set[tuple[str, str]] = set()
    index = s.repo.index
    for folder in sorted({k.folder for k, _link in kinds.links_in(target)}):
        try:
            if index is None:
                raise Unanswerable(folder)
            index.refresh(folder)
        except (sqlite3.Error, OSError):
            raise Unanswerable(folder) from None
        found = s.repo.lookup(folder, sorted((f"link:{target}", i) for i in ids))
        if found is None:
            raise Unanswerable(folder)
        out |= {(folder, i) for i in found}
    return out


def run_changed(s: Session, rev: str) -> list[Violation]:
    """`dealcli check --since REV`: what changed in the work tree since the git revision REV and
    its link neighbours; the whole repository when the change needs it (see run_since)."""
    from dealcli import gitops

    paths, unmerged = gitops.since(s.repo.root, rev)
    found = run_since(s, paths, unmerged=unmerged)
    return found if found is not None else run(s)


def run_since(s: Session, paths, exists=None, linked=None,
              unmerged: bool | list[str] = True) -> list[Violation] | None:
    """`dealcli check` of what changed: `rules.judge` on the records among `paths`
    (repository-relative, deleted ones included), so each record still there is judged by its own
    rules and links, and for each deleted one the records linking to it (its link neighbours) by
    their links. Nothing else is read: not the folders, not the records an edited one links to
    (their existence is one stat each). None when the change needs the whole repository checked
    (settings or pipelines changed, or the neighbours of a deleted record cannot be found
    through the index). `exists(folder, id)`: whether a link target exists, when the folder on
    disk does not hold every record (the pre-receive hook); `linked(target, ids)`: the (folder,
    id) of the records linking to them, when not through the index cache (the hook). `unmerged`:
    the paths git left unmerged when the caller knows them, True to ask git, False for none."""
    records = records_of(paths)
    if records is None:
        return None
    repo = s.repo
    changed: list[Doc] = []
    problems: list[Violation] = []
    for kind, record_id in sorted(records):
        path = repo.path(kind, record_id)
        try:
            changed.append(repo.load(kind, record_id))
        except NotFound:
            changed.append(Doc(kind, record_id, path, None, None))  # deleted
        except CorruptData as exc:
            problems += _yaml_problems(s, [exc])
    errors: list[CorruptData] = []
    pipelines = {}
    for doc in repo.iter_docs("pipelines", errors):
        try:
            pipelines[doc.id] = model_of("pipelines").from_dict(doc.data)
        except FieldError:
            pass
    broken = {Path(exc.path).stem for exc in errors}
    find = linked or (lambda target, ids: neighbours(s, target, ids))

    def linking(target: str, ids: set[str]):
        for folder, record_id in sorted(find(target, ids)):
            try:
                yield repo.load(folder, record_id)
            except (NotFound, CorruptData):
                continue  # gone meanwhile, or unreadable (reported when its own change is checked)

    files = Files(s, _Exists(s, exists), pipelines, broken, linking)  # type: ignore[arg-type]
    try:
        problems += rules.judge(changed, files, rel=lambda doc: repo.rel(doc.path))
    except Unanswerable:
        return None
    if unmerged is True:
        from dealcli import gitops

        unmerged = gitops.unmerged(repo.root)
    problems += _unmerged_problems(unmerged or [])
    problems += layout_problems(repo, paths)
    problems = drop_shadowed(problems)
    problems.sort(key=lambda v: (v.path or "", v.line or 0))
    return problems


def layout_problems(repo, paths=None) -> list[Violation]:
    """Record files of a sharded kind that are not where the layout puts them (storage/layout.py,
    `layout: {shard: N}`): left by a `dealcli layout` run that was stopped, moved by hand, or in a
    shard folder no id of their name belongs to. All of them, or those among `paths`
    (repository-relative: `check --since`)."""
    import os

    from dealcli.i18n import N_
    from dealcli.storage import layout

    width = repo.shard_width
    found: list[str] = []
    for kind in sorted(layout.SHARDED):
        if paths is None:
            strays: list[str] = []
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                found += [layout.place(kind, i, len(sub))  # scan yields a shard only where its width puts i
                          for i, sub, _entry in layout.scan(repo.folder(kind), kind, width, strays=strays)
                          if len(sub) != width]
            found += [f"{kind}/{rel}" for rel in strays]
        else:
            found += [rel for rel in paths if rel.startswith(f"{kind}/") and rel.endswith(layout.SUFFIX)
                      and not rel.rpartition("/")[2].startswith(".") and os.path.lexists(repo.root / rel)]
    out = []
    command = "dealcli layout shard" if width else "dealcli layout flat"  # the width in dealcli.yaml
    for rel in found:
        record = layout.record_of(rel)
        want = layout.place(*record, width) if record is not None else None
        if rel == want:
            continue
        if want is None:
            v = Violation.of("layout", (), N_("a record file in a folder no id of its name belongs in: move it "
                                              "to its kind's folder, then run `{command}`"), command=command)
        elif os.path.lexists(repo.root / want):
            v = Violation.of("layout", (), N_("not where the layout puts it ({want}), and that file exists too: "
                                              "keep one of the two"), want=want)
        else:
            v = Violation.of("layout", (), N_("not where the layout puts it ({want}): `{command}` moves it"),
                             want=want, command=command)
        v.path = rel
        out.append(v)
    return out


def _unmerged_problems(paths) -> list[Violation]:
    return [Violation("unmerged", Text("git left this file unmerged (a merge stopped on it): merge it (with the "
                           "driver set up: `git checkout --merge -- {path}`, or by hand), then `git add` it",
                                       path=path),
                      None, None, path) for path in paths]


def drop_shadowed(problems: list[Violation]) -> list[Violation]:
    """A schema message on the same file and line as a stage-rule or card message says the same
    thing less clearly (a bad colour, an unknown field type): keep the clearer one."""
    ruled = {(v.path, v.line) for v in problems if v.rule != "schema" and v.line}
    return [v for v in problems if v.rule != "schema" or (v.path, v.line) not in ruled]


def _yaml_problems(s: Session, errors: list[CorruptData]) -> list[Violation]:
    return [Violation("yaml", exc.message.split(": ", 1)[-1], None, None, s.repo.rel(Path(exc.path)), exc.line)
            for exc in errors]


def _check_deal_files(ids: list[str]) -> list[Violation]:
    """The rulebook on some deal files (in this process or a worker): each file is parsed once."""
    return _judge_deal_files(ids)[0]


def _judge_deal_files(ids: list[str]) -> tuple[list[Violation], list]:
    """_check_deal_files, without parsing the files whose verdict is cached (checkcache.py, when
    _JOB holds the verdicts); also returns the new verdicts to store."""
    s, files, verdicts = (*_JOB, None)[:3]
    repo = s.repo
    out: list[Violation] = []
    errors: list[CorruptData] = []
    new: list = []
    for deal_id in ids:
        path = repo.path("deals", deal_id)
        hit = None
        if verdicts is not None:
            raw = _raw(path)
            hit = verdicts.get(deal_id, raw) if raw is not None else None
        if hit is not None:
            found, links = hit
            if not rules.links_out(Doc("deals", deal_id, path, links, None), files, repo.rel(path)):
                out += found
                continue  # a dangling link: judged afresh, for its exact message and line
        try:
            doc = repo.load("deals", deal_id)
        except NotFound:
            continue  # deleted while we were checking
        except CorruptData as exc:
            errors.append(exc)
            continue
        rel = repo.rel(doc.path)
        found = rules.record(doc, files, rel)[0]
        out += found + rules.links_out(doc, files, rel)
        if verdicts is not None and doc.raw is not None and isinstance(doc.data, dict):
            new.append(verdicts.entry(deal_id, doc.raw, found, _link_data("deals", doc.data)))
    return out + _yaml_problems(s, errors), new


def _raw(path: Path) -> bytes | None:
    try:
        return atomic.read_bytes(path, RECORD_MAX)
    except Exception:  # noqa: BLE001 - anything unusual: the full check says what
        return None


def _judge_records(s: Session, kind: str) -> tuple[list[Violation], list]:
    """check_doc of every record of a kind (not deals, pipelines, or the kinds with their own
    check), parsing only the files whose verdict is not cached (checkcache.py); also the link
    data of each record read, for the link check."""
    from dealcli.validation import checkcache

    repo = s.repo
    verdicts = checkcache.Verdicts(repo.cache_dir, kind, checkcache.context(s, set()))
    out: list[Violation] = []
    errors: list[CorruptData] = []
    new: list = []
    linked: list = []
    names = repo.ids(kind)
    for name in names:
        path = repo.path(kind, name)
        raw = _raw(path) if verdicts.ok else None
        hit = verdicts.get(name, raw) if raw is not None else None
        if hit is not None:
            found, data = hit
        else:
            try:
                doc = repo.load(kind, name)
            except NotFound:
                continue
            except CorruptData as exc:
                errors.append(exc)
                continue
            found = check_doc(s, doc, kind, Files(s, {}, {}, set()))[0]
            data = _link_data(kind, doc.data) if isinstance(doc.data, dict) else None
            if verdicts.ok and doc.raw is not None and data is not None:
                new.append(verdicts.entry(name, doc.raw, found, data))
            if data is None:
                data = doc.data
        out += found
        linked.append((name, path, data))
    verdicts.save(new, set(names))
    return out + _yaml_problems(s, errors), linked


def _link_data(kind: str, data: dict) -> dict:
    """The part of a record its links are read from (rules.links_out reads nothing else)."""
    tops = {link.path[0] for link in kinds.links_out(kind)}
    return {k: data[k] for k in tops if k in data}


def check_deals(s: Session, files: Files) -> list[Violation]:
    """Every deal file, parsed and checked by worker processes (one per core, spawned: each
    opens the repository itself and is handed the pipelines and link targets once, and each
    chunk its cached verdicts) when there are many; only the problems and the new verdicts come
    back."""
    global _JOB
    from dealcli import i18n, workers
    from dealcli.validation import checkcache

    ids = s.repo.ids("deals")
    verdicts = checkcache.Verdicts(s.repo.cache_dir, "deals", checkcache.context(s, files.broken))
    _JOB = (s, files, verdicts if verdicts.ok else None)
    out: list[Violation] = []
    try:
        if not workers.wanted(len(ids), PARALLEL_MIN):
            found, new = _judge_deal_files(ids)
            verdicts.save(new, set(ids))
            return found
        chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
        tasks = [(chunk, verdicts.part(chunk) if verdicts.ok else None) for chunk in chunks]
        job = (str(s.repo.root), s.as_user, s.configured_user, s.now_text, i18n.language(),
               files.known, files.pipelines, files.broken)
        for found, new in workers.ordered(_judge_chunk, tasks, local=lambda task: _judge_deal_files(task[0]),
                                          initializer=_start_worker, initargs=job):
            out += found
            verdicts.save(new)
        verdicts.save([], set(ids))
        return out
    finally:
        _JOB = ()


def _start_worker(root: str, as_user, configured_user, now_text, language: str, known, pipelines, broken) -> None:
    """A worker's _JOB: the session of the command that started it, the Lookup over the files."""
    global _JOB
    from dealcli import i18n

    s = Session(repo_root=Path(root), as_user=as_user, configured_user=configured_user, now_text=now_text,
                quiet=True)
    s.repo  # noqa: B018 - opened before the language is set, as it sets the repository's own
    i18n.use(language)
    _JOB = (s, Files(s, known, pipelines, broken))


def _judge_chunk(task: tuple[list[str], object]) -> tuple[list[Violation], list]:
    """_judge_deal_files in a worker, with the verdicts of its chunk."""
    global _JOB
    ids, verdicts = task
    _JOB = (*_JOB[:2], verdicts)
    return _judge_deal_files(ids)
