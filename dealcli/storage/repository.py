"""The deal repository on disk: a folder holding dealcli.yaml, one YAML file per record.

Records are plain dicts here; the model turns them into objects. Every read keeps the bytes it
read so that the write that follows can refuse to clobber a file changed in between."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from dealcli.errors import Ambiguous, Conflict, CorruptData, FieldError, NotFound, UsageError
from dealcli.storage import atomic, journal, layout, yamlcodec
from dealcli.storage.layout import (  # noqa: F401
    CACHE_DIR, CONFIG_NAME, INDEX_NAME, KINDS, RECORD_MAX, SHARDED, SINGULAR, SUFFIX, is_id, path_like)
from dealcli.i18n import _

if TYPE_CHECKING:
    from dealcli.access import Guard
    from dealcli.rules import Gate
    from dealcli.storage.index import Cond, Index, Unanswered

NOTE_MAX = 200  # transactions up to this size update the index cache row by row; larger ones
# (imports) leave it to the next scan, which sees the new files by their stat


@dataclass
class Doc:
    """One record file as read: its data and the exact bytes (the etag for the write back)."""

    kind: str
    id: str
    path: Path
    data: Any  # the parsed YAML: a mapping in every readable record file (check names the others)
    raw: bytes | None

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        return yamlcodec.line_of(self.raw or b"", path)


class _RowSpool:
    """The index cache rows of a big transaction's records, computed while staging (when the
    data is at hand) and kept in an unnamed temporary file, so memory stays flat."""

    def __init__(self, active: bool) -> None:
        self.active = active  # only when the index cache exists (else the first scan builds it)
        self._fh: IO[bytes] | None = None

    def add(self, kind: str, record_id: str, path: Path, data: Any, raw: bytes | None) -> None:
        import pickle
        import tempfile

        from dealcli.storage import index

        try:
            if self._fh is None:
                self._fh = tempfile.TemporaryFile(prefix="dealcli-rows-")  # noqa: SIM115 - closed by close()
            row = index.prepared(kind, yamlcodec.plain(data), raw)
            pickle.dump((str(path), row), self._fh, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - the cache never fails a write: the next scan parses the files
            self.close()
            self.active = False

    def rows(self, applied: list[journal.Op]) -> dict[Path, Any]:
        """path -> row of the spooled versions the transaction wrote last."""
        if self._fh is None:
            return {}
        import pickle

        final = {str(op.path): op for op in applied if op.tmp is not None and op.data is None}
        out: dict[Path, Any] = {}
        self._fh.seek(0)
        while True:
            try:
                path, row = pickle.load(self._fh)
            except EOFError:
                return out
            op = final.get(path)
            if op is not None and op.digest == row[0].hex():  # the version written last
                out[op.path] = row

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def find_root(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """--dir, else $DEALCLI_DIR, else the nearest ancestor holding dealcli.yaml."""
    given = explicit or os.environ.get("DEALCLI_DIR")
    if given:
        root = Path(given).expanduser()
        if not (root / CONFIG_NAME).is_file():
            raise NotFound(_("{root}: not a dealcli repository (no {config_name}; run `dealcli init`)").format(
                root=root, config_name=CONFIG_NAME))
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NotFound.about("dir", "no dealcli repository in {here} or above (run `dealcli init`, or pass {0})",
                         here=here)


class Repository:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._config: Doc | None = None
        self._lock_depth = 0
        self._lock_cm = None
        self._tx: journal.Transaction | None = None
        self._dir_before: dict[str, bytes | None] = {}
        self._rows: _RowSpool | None = None
        self._index: Index | None = None
        self.committed: list[journal.Op] = []  # ops of the transactions committed by this command
        # called under the lock after each transaction: (ops, recovered paths) (auto_commit)
        self.on_commit: Callable[[list[Any] | None, Any], None] | None = None
        # journal entries recovery would not trust (a reader goes on; a writer stops)
        self.refused: list[journal.JournalDamaged] = []
        self._id: str | None = None
        self.guard: Guard | None = None  # access.Guard when the repository has users (installed by the Session)
        self.lock_wait: float | None = None  # seconds to wait for the lock (None: DEALCLI_LOCK_TIMEOUT)
        self.rulebook: Gate | None = None  # rules.Gate: the rules judged on what a transaction leaves (the Session)

    # -- paths -----------------------------------------------------------------------------
    def folder(self, kind: str) -> Path:
        return self.root / kind

    def path(self, kind: str, record_id: str) -> Path:
        """THE place where an id becomes a file path: anything but an id (a path, `..`) is
        refused here (exit 2), so no reference can reach a file outside its folder. In a sharded
        layout, where the file is (layout.places: a migration may not have moved it yet), else
        where the layout puts a new one."""
        if not is_id(record_id):
            what = _(SINGULAR.get(kind, kind))  # the kind in the language in use (i18n.RECORDS)
            raise UsageError(_("{what} {record_id!r}: not a valid id (a reference is a name or an id, "
                             "never a path)").format(what=what, record_id=record_id))
        width = self.shard_width if kind in SHARDED else 0
        if not width:
            return self.root / kind / f"{record_id}{SUFFIX}"
        found = [self.root / rel for rel in layout.places(kind, record_id, width)]
        for path in found:
            if (self._tx is not None and self._tx.staged(path) is not None) or os.path.lexists(path):
                return path
        return found[0]

    @property
    def shard_width(self) -> int:
        """The shard width of the layout (`layout: {shard: N}` in dealcli.yaml, 0: flat); an
        unreadable settings file reads as flat (the command that needs the settings says why)."""
        try:
            return layout.shard_width(self.config)
        except (CorruptData, NotFound):
            return 0

    def rel(self, path: Path) -> str:
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    # -- configuration -----------------------------------------------------------------------
    @property
    def config_doc(self) -> Doc:
        if self._config is None:
            path = self.root / CONFIG_NAME
            raw = atomic.read_bytes(path)
            if raw is None:
                raise NotFound(_("{path}: missing").format(path=path))
            data = yamlcodec.loads(raw, self.rel(path))
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise CorruptData(self.rel(path), _("expected a mapping at the top level"), 1)
            self._config = Doc("config", "dealcli", path, data, raw)
        return self._config

    @property
    def config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.config_doc.data)  # config_doc refuses anything but a mapping

    def save_config(self, data: dict[str, Any]) -> None:
        self._config = self._stage("config", "dealcli", data, self.config_doc.raw)

    # -- ids ---------------------------------------------------------------------------------
    def ids(self, kind: str, prefix: str = "") -> list[str]:
        """The ids of a kind's record files (those starting with `prefix`), sorted (layout.scan)."""
        width = self.shard_width if kind in SHARDED else 0
        if width:
            try:
                return sorted({record_id for record_id, _sub, _entry in layout.scan(self.folder(kind), kind, width,
                                                                                   prefix)})
            except (FileNotFoundError, NotADirectoryError):
                return []
        try:
            names = os.listdir(self.folder(kind))
        except FileNotFoundError:
            return []
        return sorted(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith(".")
                      and n.startswith(prefix))

    def exists(self, kind: str, record_id: str) -> bool:
        if not is_id(record_id):
            return False  # a name with a slash (`A/S`) is no id; a path never is
        path = self.path(kind, record_id)
        op = self._tx.staged(path) if self._tx is not None else None
        if op is not None:
            return op.tmp is not None
        return path.is_file()

    def resolve(self, kind: str, ref: str) -> str:
        """An exact id or a unique prefix of one; NotFound (exit 3) otherwise."""
        ref = ref.strip()
        what = _(SINGULAR.get(kind, kind))
        if path_like(ref):
            raise UsageError(_("{what} {ref!r}: a reference is a name or an id, never a path").format(
                what=what, ref=ref))
        if not is_id(ref):
            raise NotFound(_("{what} {ref!r}: not a valid id").format(what=what, ref=ref))
        if self.exists(kind, ref):
            return ref
        matches = self._cached_prefix(kind, ref)
        if matches is None:
            matches = self.ids(kind, ref)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(_("{what} {ref!r}: no such {what}").format(what=what, ref=ref))
        shown = ", ".join(matches[:10]) + (f" and {len(matches) - 10} more" if len(matches) > 10 else "")
        raise Ambiguous(_("{what} {ref!r}: ambiguous prefix, matches {shown}").format(what=what, ref=ref, shown=shown))

    # -- records -----------------------------------------------------------------------------
    def load(self, kind: str, record_id: str) -> Doc:
        path = self.path(kind, record_id)
        op = self._tx.staged(path) if self._tx is not None else None
        if op is not None:  # staged by this command: read what it will write
            if op.tmp is None:
                raise NotFound(_("{singular_get_kind_kind} {record_id!r}: no such {singular_get_kind_kind}").format(
                    singular_get_kind_kind=_(SINGULAR.get(kind, kind)), record_id=record_id))
            raw = journal.Transaction.raw_of(op)
            assert raw is not None  # op.tmp is set: raw_of gives its bytes
            return Doc(kind, record_id, path, yamlcodec.loads(raw, self.rel(path)), raw)
        try:
            raw = atomic.read_bytes(path, RECORD_MAX)
        except CorruptData as exc:  # a FIFO, a device, a folder, too large: named relative to the repository
            raise CorruptData(self.rel(path), exc.message.split(": ", 1)[1]) from None
        if raw is None:
            raise NotFound(_("{singular_get_kind_kind} {record_id!r}: no such {singular_get_kind_kind}").format(
                singular_get_kind_kind=_(SINGULAR.get(kind, kind)), record_id=record_id))
        data = yamlcodec.loads(raw, self.rel(path))
        if not isinstance(data, dict):
            raise CorruptData(self.rel(path), _("expected a mapping at the top level"), 1)
        return Doc(kind, record_id, path, data, raw)

    def iter_docs(self, kind: str, errors: list[CorruptData] | None = None, guarded: bool = True) -> Iterator[Doc]:
        """Every record of a kind. A corrupt file is appended to `errors` (if given) and
        skipped, so one bad file does not stop commands that do not need it; with
        errors=None it raises CorruptData. With a guard (access rights), records the acting
        user may not read are left out."""
        guard = self.guard if guarded else None
        for record_id in self.ids(kind):
            try:
                doc = self.load(kind, record_id)
            except NotFound:
                continue  # deleted while we were listing
            except CorruptData as exc:
                if errors is None:
                    raise
                errors.append(exc)
                continue
            if guard is None or guard.visible(kind, doc.data):
                yield doc

    # -- writes: everything goes through one Transaction (storage/journal.py) -------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[journal.Transaction]:
        """The write gate's unit of work: inside this block every create/update/delete (also
        those of nested use cases) is staged; leaving the block commits them all or none, under
        the repository lock. An error inside the block writes nothing."""
        if self._tx is not None:
            yield self._tx
            return
        with self.lock():
            assert self._id is not None  # lock() has read it
            tx = journal.Transaction(self.root, self.journal_dir, self._id, NOTE_MAX)
            self._tx, self._dir_before = tx, {}
            self._rows = spool = _RowSpool(active=(self.cache_dir / INDEX_NAME).exists())
            try:
                yield tx
                if self.rulebook is not None:  # the rulebook on the state it would leave (dealcli/rules.py)
                    from dealcli.rules import refuse

                    refuse(self.rulebook.verdict())
            except BaseException as exc:
                tx.discard()
                if self.rulebook is not None:
                    self.rulebook.reset()
                self._after_failure(exc)
                raise
            finally:
                self._tx = None
                self._rows = None
            try:
                applied = tx.commit()
            except OSError as exc:
                self._after_failure(exc)
                raise
            self.committed.extend(applied)
            self._note_writes(applied, spool)
            if applied and self.on_commit is not None:  # still under the lock: git sees exactly these files
                self.on_commit(applied, None)

    def _after_failure(self, exc: BaseException) -> None:
        """A disk that filled up during a write: the index cache is dropped (so its WAL keeps no
        space; it is rebuilt from the files later)."""
        import errno

        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            from dealcli.storage import index

            (self._index or index.Index(self.root, self.cache_dir, self.rel)).drop()

    def _stage(self, kind: str, record_id: str, data: Any, expect: object, raw: bytes | None = None,
               path: Path | None = None, model: Any = None) -> Doc:
        if path is None:
            path = self.root / CONFIG_NAME if kind == "config" else self.path(kind, record_id)
        if raw is None and data is not None:
            raw = yamlcodec.dumps(data).encode()
        if raw is not None and len(raw) > RECORD_MAX and kind != "file":
            raise UsageError(_("{self_rel_path}: would be {len_raw} bytes, more than the {record_max} a record may "
                             "hold (docs/format.md); nothing written").format(
                                 self_rel_path=self.rel(path), len_raw=len(raw), record_max=RECORD_MAX))
        if self._tx is not None:
            if self.guard is not None:  # access rights: refused before anything is staged
                self.guard.check_write(kind, record_id, self._before(kind, record_id, path, expect), data)
            if self.rulebook is not None and (kind in KINDS or kind == "config"):
                before = expect if isinstance(expect, bytes) else None
                if expect is atomic.ANY:
                    op = self._tx.staged(path)
                    before = self._tx.raw_of(op) if op is not None else atomic.read_bytes(path)
                self.rulebook.staged(Doc(kind, record_id, path, data, raw), before, model)
            if kind not in self._dir_before:  # the folder as the index cache knew it
                self._dir_before[kind] = self._folder_stat_if_indexed(kind) if kind in KINDS else None
            self._tx.stage(kind, record_id, path, raw, data, expect)
            if kind in KINDS and data is not None and self._rows is not None and self._rows.active \
                    and len(self._tx.ops) > NOTE_MAX:  # a big transaction keeps no data: its index rows now
                self._rows.add(kind, record_id, path, data, raw)
        else:
            with self.transaction():
                return self._stage(kind, record_id, data, expect, raw, path, model)
        return Doc(kind, record_id, path, data, raw)

    def _before(self, kind: str, record_id: str, path: Path, expect: object) -> Any:
        """What a write replaces, as data (for the access check): None for a new file."""
        if expect is atomic.MISSING:
            return None
        raw = expect if isinstance(expect, bytes) else None
        if raw is None:
            op = self._tx.staged(path) if self._tx is not None else None
            raw = journal.Transaction.raw_of(op) if op is not None else atomic.read_bytes(path)
        if raw is None:
            return None
        try:
            return yamlcodec.loads(raw, self.rel(path))
        except CorruptData:
            return {}

    def _plain(self, kind: str, record_id: str, data: Any, doc: Doc | None = None) -> tuple[Any, Any]:
        """What a record is written as, and its model: a model (storage.convert.Model) is dumped
        by its one converter; plain data is first read through its kind's model, so no record is
        written that its model cannot read back (CorruptData naming the file and the value, exit 5)."""
        from dealcli.storage.convert import Model

        if isinstance(data, Model):
            return data.to_dict(), data
        if kind in KINDS and isinstance(data, dict):
            from dealcli.model import model_of

            try:
                return data, model_of(kind).from_dict(data)
            except FieldError as exc:
                line = doc.line_of(exc.path) if doc is not None else None  # where the file read has it
                raise CorruptData(self.rel(self.path(kind, record_id)), _("{exc} (not written)").format(
                    exc=exc), line) from None
        return data, None

    def create(self, kind: str, record_id: str, data: Any) -> Doc:
        """A new record (a model, or plain data its model reads); Conflict (exit 4) if a file with
        that id exists by the commit."""
        if self.exists(kind, record_id):
            raise Conflict(_("{self_rel_self_path_kind}: already exists").format(
                self_rel_self_path_kind=self.rel(self.path(kind, record_id))))
        data, model = self._plain(kind, record_id, data)
        return self._stage(kind, record_id, data, atomic.MISSING, model=model)

    def update(self, doc: Doc, data: Any) -> Doc:
        """Write a record read as `doc` (a model, or plain data its model reads); refused
        (Conflict) if the file changed since."""
        data, model = self._plain(doc.kind, doc.id, data, doc)
        return self._stage(doc.kind, doc.id, data, doc.raw if doc.raw is not None else atomic.MISSING, model=model)

    def remove(self, doc: Doc) -> None:
        """Delete a record read as `doc`; refused (Conflict) if the file changed since."""
        self._stage(doc.kind, doc.id, None, doc.raw)

    def write_file(self, name: str, raw: bytes, expect: object = atomic.ANY) -> None:
        """A file of the repository that is not a record (.gitignore, .gitattributes), written
        through the same gate."""
        self._stage("file", name, None, expect, raw=raw, path=self.root / name)

    def read_file(self, name: str) -> bytes | None:
        return atomic.read_bytes(self.root / name)

    def remove_ref(self, kind: str, ref: str) -> str:
        """Delete the record an id or unique prefix names, as read now; returns its id."""
        record_id = self.resolve(kind, ref)
        with self.transaction():
            self.remove(self.load(kind, record_id))
        return record_id

    def save(self, kind: str, record_id: str, data: dict[str, Any], expect: object = atomic.ANY) -> Doc:
        """Write a record whatever is there (expect=ANY) or against an etag; prefer
        create/update/remove, which take the etag from what was read."""
        data, model = self._plain(kind, record_id, data)
        return self._stage(kind, record_id, data, expect, model=model)

    def delete(self, kind: str, record_id: str, expect: object = atomic.ANY) -> None:
        self._stage(kind, record_id, None, expect)

    def recover(self) -> None:
        """Finish or undo what a killed command left half done (see storage/journal.py). A journal
        entry recovery does not trust is left alone and kept in `refused`: a reader goes on with
        the files as they are (the Session says so), a writer is stopped by `lock`."""
        try:
            if journal.pending(self.journal_dir):
                with self.lock():
                    pass  # taking the lock recovers
        except journal.JournalDamaged:
            pass  # kept in self.refused

    def journal_status(self) -> list[dict[str, Any]]:
        """The journal entries left by killed commands, and why recovery refuses any (no recovery
        is attempted: this is what `recover --status` shows)."""
        with atomic.file_lock(self.cache_dir / "lock"):
            return journal.status(self.root, self.journal_dir, journal.repository_id(self.cache_dir))

    def discard_journal(self) -> list[str]:
        """Remove the journal entries recovery refuses (their files stay as they are); then
        recover what remains. Returns the entries removed."""
        with atomic.file_lock(self.cache_dir / "lock"):
            removed = journal.discard(self.root, self.journal_dir, journal.repository_id(self.cache_dir))
        self.refused = []
        self.recover()
        return removed

    @property
    def journal_dir(self) -> Path:
        return self.cache_dir / journal.JOURNAL_DIR

    # -- the index cache (storage/index.py) ----------------------------------------------------
    @property
    def index(self) -> Index | None:
        """The index cache of this repository, or None when disabled ($DEALCLI_NO_INDEX)."""
        if self._index is None:
            from dealcli.storage import index

            if index.disabled():
                return None
            self._index = index.Index(self.root, self.cache_dir, self.rel, self.shard_width)
        return self._index

    def records(self, kind: str, errors: list[CorruptData] | None = None, guarded: bool = True,
                where: list[Cond | Unanswered] | None = None, keys: AbstractSet[str] | None = None,
                answered: dict[str, bytes] | None = None) -> Iterator[tuple[str, Any]]:
        """Every record of a kind as (id, data), sorted by id: iter_docs without the bytes,
        served from the index cache (only changed files are parsed). THE scan path of every
        whole-repository view: a record that is not plain data or fails its JSON Schema
        (validation/records.py) is corrupt like a malformed file: appended to `errors` as
        CorruptData naming file and line, and skipped (raised with errors=None). With a guard
        (access rights), records the acting user may not read are left out. `where` (index.Cond
        list) lets the cache leave out records that cannot meet it: a superset of those meeting
        it is yielded, and the caller applies its exact test. `keys` (a set of top-level keys):
        the caller reads only these, so a record may come without its other keys. `answered`:
        see Index.records (never with a guard: every record the user reads is judged by it)."""
        idx = self.index
        guard = self.guard if guarded else None
        keys = None if guard is not None else keys  # the guard may read any key
        answered = None if guard is not None else answered
        # the cache checks each file when it parses it (index.parse_raw); without it, here
        pairs = (idx.records(kind, errors, where=where, keys=keys, answered=answered) if idx is not None
                 else self._checked_records(kind, errors))
        if guard is None:
            yield from pairs
            return
        for record_id, data in pairs:
            if guard.visible(kind, data):
                yield record_id, data

    def _checked_records(self, kind: str, errors: list[CorruptData] | None) -> Iterator[tuple[str, Any]]:
        from dealcli.validation.records import problem

        for doc in self.iter_docs(kind, errors, guarded=False):
            found = problem(kind, doc.data)
            if found is None:
                yield doc.id, doc.data
                continue
            exc = CorruptData(self.rel(doc.path), found[1], doc.line_of(found[0]))
            if errors is None:
                raise exc
            errors.append(exc)

    def lookup(self, kind: str, pairs: list[tuple[str, str]]) -> list[str] | None:
        """Ids of records with any of the (key, value) pairs of index.keys_of, without reading
        every file; None when the cache is disabled or unusable (then scan instead)."""
        idx = self.index
        return None if idx is None else idx.lookup(kind, pairs)

    def lookup_keys(self, kind: str) -> list[tuple[str, str, str]] | None:
        """Every (key, value, id) of index.keys_of for a kind, by id, from the index cache
        (companies/contacts: ("name"|"email", normalised text, id)); None when disabled."""
        idx = self.index
        return None if idx is None else idx.all_keys(kind)

    def _cached_prefix(self, kind: str, prefix: str) -> list[str] | None:
        if not (self.cache_dir / INDEX_NAME).exists() or self.index is None:
            return None
        if kind in SHARDED and 0 < self.shard_width <= len(prefix):
            return None  # the prefix names its shard: listing that folder is cheaper than the cache's check
        return self.index.names_with_prefix(kind, prefix)

    def _folder_stat_if_indexed(self, kind: str) -> bytes | None:
        if not (self.cache_dir / INDEX_NAME).exists() or self.index is None:
            return None
        return self.index.dir_stat(kind)

    def _note_writes(self, applied: list[journal.Op], spool: _RowSpool) -> None:
        """The index cache rows of the files a transaction wrote, in one cache transaction: from
        the data kept by a small transaction, and from the rows spooled while staging a big
        one (an import), so the next command finds them without parsing a file."""
        befores = {kind: before for kind, before in self._dir_before.items() if kind in KINDS}
        if not any(v is not None for v in befores.values()) and not (self.cache_dir / INDEX_NAME).exists():
            spool.close()
            return
        idx = self.index
        if idx is None:
            spool.close()
            return
        import sqlite3

        try:
            from dealcli.storage import index

            spooled = spool.rows(applied)
            writes: list[tuple[Any, ...]] = []
            for op in applied:
                if op.kind not in KINDS:
                    continue
                if op.tmp is None:
                    writes.append((op.kind, op.id, None))
                elif op.data is not None:
                    # cache what a later read of the file gives (1000 int, not Decimal('1000')), so a
                    # warm scan returns exactly what a cold one would
                    writes.append((op.kind, op.id, index.prepared(op.kind, yamlcodec.plain(op.data), op.raw)))
                elif op.path in spooled:
                    writes.append((op.kind, op.id, spooled[op.path]))
            idx.note_writes(writes, befores)
        except (sqlite3.Error, OSError, ValueError, TypeError):
            pass  # the files are written; the next scan sees their new stats and re-reads them
        finally:
            spool.close()

    # -- locking -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The repository write lock (re-entrant within one process)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with atomic.file_lock(self.cache_dir / "lock", self.lock_wait):
            self._lock_depth = 1
            try:
                self._config = None  # re-read the settings under the lock
                self._id = journal.repository_id(self.cache_dir)
                self._recover_locked()
                yield
            finally:
                self._lock_depth = 0

    def _recover_locked(self) -> None:
        try:
            names = journal.pending(self.journal_dir)
        except journal.JournalDamaged as exc:
            self.refused = [exc]
            raise
        if not names:
            return
        assert self._id is not None  # lock() has read it
        finished, self.refused = journal.recover(self.root, self.journal_dir, self._id)
        if not self.refused:  # else its temporary files are kept: they may be all that is left of its change
            journal.sweep_temp_files(self.root, KINDS)
        if finished and self.on_commit is not None:
            self.on_commit(None, finished)
        if self.refused:
            raise self.refused[0]
