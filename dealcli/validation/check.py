"""`dealcli check`: every file against its JSON Schema, the model's types and the stage rules.
Validators return Violations carrying file and line; one run collects them all (beancount's
way), so CI sees every problem at once."""

from __future__ import annotations

import os
from pathlib import Path

from dealcli import kinds, rules, stage_rules
from dealcli.validation import history
from dealcli.validation import links as linkcheck
from dealcli.errors import CorruptData, FieldError, NotFound, Violation
from dealcli.model import model_of
from dealcli.session import Session
from dealcli.storage.layout import KINDS
from dealcli.storage.repository import Doc

PARALLEL_MIN = 400  # deal files from which worker processes share the work
CHUNK = 500
_JOB: tuple = ()  # (session, pipelines) for the deal checks, inherited by forked workers


line_for = rules.line_for


class Files:
    """The rulebook's Lookup (dealcli/rules.py) over the files on disk, as `check` reads them."""

    def __init__(self, s: Session, known: dict[str, set[str]], pipelines: dict, broken: set):
        self.session, self.known, self.pipelines, self.broken = s, known, pipelines, broken

    def exists(self, kind: str, record_id: str) -> bool:
        return record_id in self.known[kind]

    def pipeline(self, pipeline_id: str):
        return self.pipelines.get(pipeline_id)

    def linking(self, target: str, ids: set[str]):
        return iter(())  # check judges every file, so it needs no neighbours


def check_doc(s: Session, doc: Doc, kind: str, lookup: Files | None = None) -> tuple[list[Violation], object | None]:
    """A record's own rules (schema, types, id, kind rules): rules.record."""
    return rules.record(doc, lookup or Files(s, {}, {}, {doc.id} if kind == "pipelines" else set()),
                        s.repo.rel(doc.path))


def run(s: Session) -> list[Violation]:
    problems: list[Violation] = []
    repo = s.repo
    try:
        problems += rules.settings(repo.config_doc)
    except CorruptData as exc:
        problems.append(Violation("yaml", exc.message.split(": ", 1)[-1], None, None, "dealcli.yaml", exc.line))
    for refused in repo.refused:  # a killed command's change that recovery would not finish
        problems.append(Violation("journal", f"{refused.problem}; the files it names may be half written "
                                  "(`dealcli recover --status`)", None, None, refused.path))
    form_errors: list[CorruptData] = []
    for doc in repo.iter_docs("forms", form_errors):  # website forms of intake (docs/intake.md)
        problems += rules.schema_problems(doc, repo.rel(doc.path), "form")
    problems += _yaml_problems(s, form_errors)
    loaded: dict[str, list] = {}
    broken: set[str] = set()
    for kind in KINDS:
        if kind == "deals":
            continue  # after the pipelines, file by file (in parallel when there are many)
        errors: list[CorruptData] = []
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
    for pipeline_id, v in stage_rules.tunnel_problems(pipelines):  # across pipelines: tunnels
        v.path, v.line = repo.rel(docs[pipeline_id].path), line_for(docs[pipeline_id], v.field, ("automation",))
        problems.append(v)
    known = linkcheck.known_ids(s)
    files = Files(s, known, pipelines, broken)
    problems += check_deals(s, files)
    for kind in KINDS:  # the links every record holds (the deals': in check_deals)
        if kind != "deals" and kinds.links_out(kind):
            for doc in repo.iter_docs(kind, errors=[]):  # unreadable files are reported above
                problems += rules.links_out(doc, files, repo.rel(doc.path))
    for note in history.duplicate_notices(s):
        s.notice(note)
    from dealcli import gitops

    problems += _unmerged_problems(gitops.unmerged(repo.root))
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
    from dealcli.storage.layout import SUFFIX

    found = set()
    for rel in paths:
        if rel.startswith(WHOLE) or rel == "dealcli.yaml":
            return None
        folder, sep, name = rel.partition("/")
        if sep and folder in KINDS and "/" not in name and name.endswith(SUFFIX) and not name.startswith("."):
            found.add((folder, name[: -len(SUFFIX)]))
    return found


def neighbours(s: Session, records: set[tuple[str, str]]) -> set[tuple[str, str]] | None:
    """The records linking to any of `records` (kinds.links_in), found through the index cache's
    link keys; None when the cache cannot answer (then check everything)."""
    from dealcli import kinds

    out: set[tuple[str, str]] = set()
    wanted: dict[str, set[tuple[str, str]]] = {}
    for folder, record_id in records:
        for kind, _link in kinds.links_in(folder):
            wanted.setdefault(kind.folder, set()).add((f"link:{folder}", record_id))
    for linking, pairs in wanted.items():
        found = s.repo.lookup(linking, sorted(pairs))
        if found is None:
            return None
        out |= {(linking, i) for i in found}
    return out


def run_changed(s: Session, rev: str) -> list[Violation]:
    """`dealcli check --since REV`: what changed in the work tree since the git revision REV and
    its link neighbours; the whole repository when the change needs it (see run_since)."""
    from dealcli import gitops

    found = run_since(s, gitops.changed_since(s.repo.root, rev))
    return found if found is not None else run(s)


def run_since(s: Session, paths, exists=None) -> list[Violation] | None:
    """`dealcli check` of what changed: the records among `paths` (repository-relative, deleted
    ones included) and the records linking to them, with the same validators as `run`. None when
    the change needs the whole repository checked (settings or pipelines changed, or the index
    cannot find link neighbours). `exists(folder, id)`: whether a link target exists, when the
    folder on disk does not hold every record (the pre-receive hook)."""
    global _JOB
    records = records_of(paths)
    if records is None:
        return None
    extra = neighbours(s, records)
    if extra is None:
        return None
    todo = sorted(r for r in records | extra if s.repo.path(r[0], r[1]).exists())
    errors: list[CorruptData] = []
    pipelines = {}
    for doc in s.repo.iter_docs("pipelines", errors):
        try:
            pipelines[doc.id] = model_of("pipelines").from_dict(doc.data)
        except FieldError:
            pass
    broken = {Path(exc.path).stem for exc in errors}
    files = Files(s, _Exists(s, exists), pipelines, broken)  # type: ignore[arg-type]
    problems: list[Violation] = []
    _JOB = (s, files)
    try:
        problems += _check_deal_files([i for kind, i in todo if kind == "deals"])
    finally:
        _JOB = ()
    for kind, record_id in todo:
        if kind == "deals":
            continue
        try:
            doc = s.repo.load(kind, record_id)
        except NotFound:
            continue
        except CorruptData as exc:
            problems += _yaml_problems(s, [exc])
            continue
        problems += check_doc(s, doc, kind, files)[0] + rules.links_out(doc, files, s.repo.rel(doc.path))
    from dealcli import gitops

    problems += _unmerged_problems(gitops.unmerged(s.repo.root))
    problems = drop_shadowed(problems)
    problems.sort(key=lambda v: (v.path or "", v.line or 0))
    return problems


def _unmerged_problems(paths) -> list[Violation]:
    return [Violation("unmerged", "git left this file unmerged (a merge stopped on it): merge it (with the "
                      f"driver set up: `git checkout --merge -- {path}`, or by hand), then `git add` it",
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
    s, files = _JOB
    repo = s.repo
    out: list[Violation] = []
    errors: list[CorruptData] = []
    for deal_id in ids:
        try:
            doc = repo.load("deals", deal_id)
        except NotFound:
            continue  # deleted while we were checking
        except CorruptData as exc:
            errors.append(exc)
            continue
        rel = repo.rel(doc.path)
        out += rules.record(doc, files, rel)[0] + rules.links_out(doc, files, rel)
    return out + _yaml_problems(s, errors)


def check_deals(s: Session, files: Files) -> list[Violation]:
    """Every deal file, parsed and checked by worker processes (one per core, forked, so they
    share the pipelines) when there are many; only the problems come back."""
    global _JOB
    ids = s.repo.ids("deals")
    _JOB = (s, files)
    try:
        workers = min(os.cpu_count() or 1, 8)
        import multiprocessing

        if len(ids) < PARALLEL_MIN or workers < 2 or "fork" not in multiprocessing.get_all_start_methods() \
                or os.environ.get("DEALCLI_NO_PARALLEL"):
            return _check_deal_files(ids)
        chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
        out: list[Violation] = []
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for found in pool.imap(_check_deal_files, chunks):
                out += found
        return out
    finally:
        _JOB = ()
