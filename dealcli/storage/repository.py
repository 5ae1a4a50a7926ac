"""The deal repository on disk: a folder holding dealcli.yaml, one YAML file per record.

Records are plain dicts here; the model turns them into objects. Every read keeps the bytes it
read so that the write that follows can refuse to clobber a file changed in between."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from dealcli.errors import CorruptData, NotFound, UsageError
from dealcli.storage import atomic, yamlcodec

CONFIG_NAME = "dealcli.yaml"
CACHE_DIR = ".dealcli"
INDEX_NAME = "index.sqlite"  # the index cache inside CACHE_DIR (storage/index.py)
KINDS = (
    "deals",
    "pipelines",
    "companies",
    "contacts",
    "leads",
    "quotes",
    "products",
    "activities",
    "recurring",
    "generators",
)
SINGULAR = {
    "deals": "deal",
    "pipelines": "pipeline",
    "companies": "company",
    "contacts": "contact",
    "leads": "lead",
    "quotes": "quote",
    "products": "product",
    "activities": "activity",
    "recurring": "recurring deal template",
    "generators": "generator",
}
SUFFIX = ".yaml"


@dataclass
class Doc:
    """One record file as read: its data and the exact bytes (the etag for the write back)."""

    kind: str
    id: str
    path: Path
    data: object
    raw: bytes | None

    def line_of(self, path: tuple) -> int | None:
        return yamlcodec.line_of(self.raw or b"", path)


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """--dir, else $DEALCLI_DIR, else the nearest ancestor holding dealcli.yaml."""
    given = explicit or os.environ.get("DEALCLI_DIR")
    if given:
        root = Path(given).expanduser()
        if not (root / CONFIG_NAME).is_file():
            raise NotFound(f"{root}: not a dealcli repository (no {CONFIG_NAME}; run `dealcli init`)")
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NotFound(f"no dealcli repository in {here} or above (run `dealcli init`, or pass --dir)")


class Repository:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._config: Doc | None = None
        self._lock_depth = 0
        self._lock_cm = None
        self._batch: atomic.Batch | None = None
        self._index = None

    # -- paths -----------------------------------------------------------------------------
    def folder(self, kind: str) -> Path:
        return self.root / kind

    def path(self, kind: str, record_id: str) -> Path:
        return self.root / kind / f"{record_id}{SUFFIX}"

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
                raise NotFound(f"{path}: missing")
            data = yamlcodec.loads(raw, self.rel(path))
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise CorruptData(self.rel(path), "expected a mapping at the top level", 1)
            self._config = Doc("config", "dealcli", path, data, raw)
        return self._config

    @property
    def config(self) -> dict:
        return self.config_doc.data  # type: ignore[return-value]

    def save_config(self, data: dict) -> None:
        doc = self.config_doc
        raw = yamlcodec.dumps(data).encode()
        atomic.write_atomic(doc.path, raw, expect=doc.raw)
        self._config = Doc("config", "dealcli", doc.path, data, raw)

    # -- ids ---------------------------------------------------------------------------------
    def ids(self, kind: str) -> list[str]:
        try:
            names = os.listdir(self.folder(kind))
        except FileNotFoundError:
            return []
        return sorted(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith("."))

    def exists(self, kind: str, record_id: str) -> bool:
        return self.path(kind, record_id).is_file()

    def resolve(self, kind: str, ref: str) -> str:
        """An exact id or a unique prefix of one; NotFound (exit 3) otherwise."""
        ref = ref.strip()
        what = SINGULAR.get(kind, kind)
        if not ref or "/" in ref or ref.startswith("."):
            raise NotFound(f"{what} {ref!r}: not a valid id")
        if self.exists(kind, ref):
            return ref
        matches = self._cached_prefix(kind, ref)
        if matches is None:
            matches = [i for i in self.ids(kind) if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(f"{what} {ref!r}: no such {what}")
        shown = ", ".join(matches[:10]) + (f" and {len(matches) - 10} more" if len(matches) > 10 else "")
        raise NotFound(f"{what} {ref!r}: ambiguous prefix, matches {shown}")

    # -- records -----------------------------------------------------------------------------
    def load(self, kind: str, record_id: str) -> Doc:
        path = self.path(kind, record_id)
        raw = atomic.read_bytes(path)
        if raw is None:
            raise NotFound(f"{SINGULAR.get(kind, kind)} {record_id!r}: no such {SINGULAR.get(kind, kind)}")
        data = yamlcodec.loads(raw, self.rel(path))
        if not isinstance(data, dict):
            raise CorruptData(self.rel(path), "expected a mapping at the top level", 1)
        return Doc(kind, record_id, path, data, raw)

    def iter_docs(self, kind: str, errors: list | None = None):
        """Every record of a kind. A corrupt file is appended to `errors` (if given) and
        skipped, so one bad file does not stop commands that do not need it; with
        errors=None it raises CorruptData."""
        for record_id in self.ids(kind):
            try:
                yield self.load(kind, record_id)
            except NotFound:
                continue  # deleted while we were listing
            except CorruptData as exc:
                if errors is None:
                    raise
                errors.append(exc)

    def save(self, kind: str, record_id: str, data: dict, expect=atomic.ANY, sync: bool = True) -> Doc:
        if not record_id or "/" in record_id or record_id.startswith("."):
            raise UsageError(f"{record_id!r}: not a valid id")
        path = self.path(kind, record_id)
        raw = yamlcodec.dumps(data).encode()
        before = self._folder_stat_if_indexed(kind)
        if self._batch is not None:
            self._batch.write(path, raw, expect=expect)  # the cache sees it on the next scan
        else:
            atomic.write_atomic(path, raw, expect=expect, sync=sync)
            self._note_write(kind, record_id, data, raw, before)
        return Doc(kind, record_id, path, data, raw)

    @contextlib.contextmanager
    def batch(self, size: int = 1000):
        """Inside this block `save` goes through one atomic.Batch: files appear in groups of
        `size` with one sync per group (each file still old or new after a crash). Leaving the
        block writes the rest; an error discards the writes not yet flushed."""
        if self._batch is not None:
            yield
            return
        self._batch = atomic.Batch(size)
        try:
            yield
            self._batch.flush()
        except BaseException:
            self._batch.discard()
            raise
        finally:
            self._batch = None

    def delete(self, kind: str, record_id: str, expect=atomic.ANY) -> None:
        before = self._folder_stat_if_indexed(kind)
        atomic.remove(self.path(kind, record_id), expect=expect)
        self._note_write(kind, record_id, None, None, before)

    # -- the index cache (storage/index.py) ----------------------------------------------------
    @property
    def index(self):
        """The index cache of this repository, or None when disabled ($DEALCLI_NO_INDEX)."""
        if self._index is None:
            from dealcli.storage import index

            if index.disabled():
                return None
            self._index = index.Index(self.root, self.cache_dir, self.rel)
        return self._index

    def records(self, kind: str, errors: list | None = None):
        """Every record of a kind as (id, data), sorted by id: iter_docs without the bytes,
        served from the index cache (only changed files are parsed)."""
        idx = self.index
        if idx is None:
            for doc in self.iter_docs(kind, errors):
                yield doc.id, doc.data
            return
        yield from idx.records(kind, errors)

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
        return self.index.names_with_prefix(kind, prefix)

    def _folder_stat_if_indexed(self, kind: str):
        if not (self.cache_dir / INDEX_NAME).exists() or self.index is None:
            return None
        return self.index.dir_stat(kind)

    def _note_write(self, kind: str, record_id: str, data, raw, before) -> None:
        if before is None and not (self.cache_dir / INDEX_NAME).exists():
            return
        idx = self.index
        if idx is None:
            return
        import sqlite3

        if data is not None:
            # cache what a later read of the file gives (1000 int, not Decimal('1000')), so a
            # warm scan returns exactly what a cold one would
            data = yamlcodec.loads(raw, self.rel(self.path(kind, record_id)))
        try:
            idx.note_write(kind, record_id, data, raw, before)
        except (sqlite3.Error, OSError):
            pass  # the file is written; the next scan sees its new stat and re-reads it

    # -- locking -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        """The repository write lock (re-entrant within one process)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with atomic.file_lock(self.cache_dir / "lock"):
            self._lock_depth = 1
            self._config = None  # re-read the settings under the lock
            try:
                yield
            finally:
                self._lock_depth = 0
