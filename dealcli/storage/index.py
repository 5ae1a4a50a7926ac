"""The index cache: every record file's parsed data, kept in `.dealcli/index.sqlite` so that
whole-repository scans (filter, board, agenda, calendar, export) and lookups (client by name,
repeat deals) do not parse every YAML file on every call.

Why sqlite3: it is in the standard library, its transactions are atomic and durable across
crashes, WAL mode lets readers run while another process writes, and its own locking lets two
dealcli processes update the cache at once without corrupting it. A per-record row means a
changed file costs one row, not a rewrite of the whole cache.

Correctness (the cache may be stale or missing at any time; it never decides what is true):
- Every scan stats every file (size, mtime_ns, ctime_ns, inode) and re-parses only files whose
  stat differs from the stored one, or that are new; rows of vanished files are dropped. This
  sees edits by dealcli, by hand, by `git checkout`/`git pull` and renames (a rename is a new
  name plus a vanished one). ctime catches `cp -p`/`touch -d` style edits that restore mtime.
- Racy entries (git's "racily clean" problem): a file changed twice within the timestamp
  granularity, keeping its size, has the same stat both times. An entry is trusted on its stat
  alone only if the file was read at least SETTLE_NS after its last mtime/ctime; otherwise it is
  "unsettled" and the next scan re-reads the bytes and compares a digest before reusing it.
- A missing, unreadable, corrupt or older-version cache file is deleted and rebuilt silently;
  if the cache cannot be written at all (read-only checkout), scans parse the files directly.
- Every row is a fact "a file with this stat has this data"; concurrent writers can only lose
  or reorder such facts, never make a wrong one, so interleaving processes cannot corrupt
  results (the worst case is a re-parse).

Records are stored with marshal (the fastest loader in CPython; ~50x faster than YAML), with
Decimal values written as text and restored exactly from a list of their paths; anything marshal
cannot hold falls back to pickle.

Cold path: when many files must be parsed, worker processes (one per core) parse chunks of
files with the C LibYAML loader and send back ready-made rows.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import struct
from stat import S_ISREG
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from dealcli import i18n

try:  # the hash alone: hashlib would also initialise OpenSSL (a few ms of start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover
    from hashlib import blake2b

from dealcli.errors import CorruptData
from dealcli.storage import atomic, layout, yamlcodec
from dealcli.storage.layout import INDEX_NAME, RECORD_MAX

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Iterator
    from collections.abc import Set as AbstractSet

    # parse_raw's (digest, blob or None, error (message, line) or None, lookup keys)
    Parsed = tuple[bytes, bytes | None, tuple[str, int | None] | None, list[tuple[str, str]]]

VERSION = 7  # bump when the row format or the key extraction changes: old caches are rebuilt
SUFFIX = ".yaml"
SETTLE_NS = 2_000_000_000  # 2 s: coarser than any local file system's timestamp granularity
PARALLEL_MIN = 2000  # parse in worker processes only when at least this many files changed (spawning them
# costs 0.3-1 s: below this one process is as fast; docs/performance.md, "Cold path")
CHUNK = 256  # files per worker task
BATCH = 500  # rows per write transaction (short, so other processes are not held up)

# Typed columns of deals, for filter conditions pushed down into SQL (query.py builds them as
# index.Cond). A column holds the field's value only when it is a plain value of its type (text:
# a non-empty string, casefolded; num: an int or Decimal as a float; date: an ISO day); otherwise
# NULL, which every pushed condition lets through: the row is then read and tested in Python.
# So a pushed condition only ever narrows the rows to a superset of the answer; the exact test
# is still the Python predicate on the decoded record.
DEAL_COLUMNS = {
    "pipeline": "text", "stage": "text", "status": "text", "responsible": "text", "company": "text",
    "currency": "text", "type": "text", "source": "text", "title": "text", "created_by": "text",
    "amount": "num", "probability": "num", "close_date": "date", "begin": "date",
}
COLUMN_NAMES = tuple(f"c_{f}" for f in DEAL_COLUMNS)

# Exact columns of deals, for aggregations answered in SQL (reports.py): the stored text of
# EXACT_TEXT fields, `repeat` as 0/1, the amount as exact Decimal text and as integer units with
# a scale (amount = units x 10^-scale), the probability as exact Decimal text. x_ok is 1 only when
# every one of them is plain (a text field a string or missing, amount and probability a whole
# number or Decimal, or missing, of the size `small` allows): only such rows are aggregated in
# SQL; any other deal is read and added up in Python, as before.
EXACT_TEXT = ("pipeline", "stage", "status", "currency", "lost_reason")
EXACT_NAMES = ("x_ok", *(f"x_{f}" for f in EXACT_TEXT), "x_repeat", "x_amount", "x_units", "x_scale", "x_prob")
COLUMN_KEYS = frozenset(DEAL_COLUMNS) | {*EXACT_TEXT, "repeat", "amount", "probability"}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL, name TEXT NOT NULL,
    stamp BLOB NOT NULL, settled INTEGER NOT NULL, digest BLOB,
    error TEXT, line INTEGER, {", ".join(COLUMN_NAMES)}, {", ".join(EXACT_NAMES)},
    PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
    kind TEXT NOT NULL, name TEXT NOT NULL, blob BLOB,
    PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (kind, key, value, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_name ON keys (kind, name);
PRAGMA user_version = {VERSION};
"""


# -- encoding of records --------------------------------------------------------------------------
def _strip(obj: Any, paths: list[tuple[Any, ...]], path: tuple[Any, ...]) -> Any:
    """A copy of `obj` with every Decimal replaced by its text; their paths go to `paths`.
    Raises TypeError for anything marshal cannot hold faithfully."""
    kind = type(obj)
    if kind is dict:
        out = {}
        for k, v in obj.items():
            if type(k) not in (str, int, bool) and k is not None:
                raise TypeError("key")
            out[k] = _strip(v, paths, path + (k,))
        return out
    if kind is list:
        return [_strip(v, paths, path + (i,)) for i, v in enumerate(obj)]
    if kind is Decimal:
        paths.append(path)
        return str(obj)
    if kind in (str, int, float, bool, bytes) or obj is None:
        return obj
    raise TypeError(kind.__name__)


def _encode(data: Any) -> bytes:
    paths: list[tuple[Any, ...]] = []
    try:
        return b"M" + marshal.dumps((_strip(data, paths, ()), tuple(paths)))
    except (TypeError, ValueError):
        import pickle

        return b"P" + pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


_HEAD = struct.Struct("<II")


def encode(data: Any, kind: str | None = None) -> bytes:
    """The blob of a record. A deal's blob also holds its head: the record without its mappings
    and lists of mappings (products, history, comments, custom fields), which is what most
    filters read and print; `decode(blob, keys)` decodes the head alone when it holds `keys`."""
    full = _encode(data)
    if kind != "deals" or type(data) is not dict:
        return full
    left_out = tuple(k for k, v in data.items()
                     if type(v) is dict or (type(v) is list and any(type(x) in (list, dict) for x in v)))
    if not left_out:
        return full
    head = _encode({k: v for k, v in data.items() if k not in left_out})
    meta = marshal.dumps(left_out)
    return b"H" + _HEAD.pack(len(meta), len(head)) + meta + head + full


def decode(blob: bytes, keys: AbstractSet[str] | None = None) -> Any:
    """The record of a blob; with `keys` (a set of top-level keys the caller reads) possibly
    only those of its head, when none of `keys` was left out of the head (any other key is
    then absent from the record too, so a reader of `keys` cannot tell the difference)."""
    if blob[:1] == b"H":
        n_meta, n_head = _HEAD.unpack_from(blob, 1)
        start = 1 + _HEAD.size
        if keys is not None and keys.isdisjoint(marshal.loads(blob[start:start + n_meta])):
            return decode(blob[start + n_meta:start + n_meta + n_head])
        return decode(blob[start + n_meta + n_head:])
    if blob[:1] == b"P":
        import pickle

        return pickle.loads(blob[1:])  # noqa: S301 - our own cache file, written by encode()
    data, paths = marshal.loads(blob[1:])
    for path in paths:
        obj = data
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = Decimal(obj[path[-1]])
    return data


# -- lookup keys ----------------------------------------------------------------------------------
def norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, Decimal)):
        return str(value)
    return None


def keys_of(kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """What lookups need to find a record without loading every one: for deals, the company
    and contacts of won deals (repeat-deal detection); for companies and contacts, the
    normalised name and emails; for activities, their deal (the nudge and the deal card ask
    for one deal's activities on every write and `deal show`)."""
    out: list[tuple[str, str]] = []
    if kind == "deals":
        from dealcli.stage_rules import repeat_keys  # the one repeat-deal rule

        out += repeat_keys(data)
    elif kind in ("companies", "contacts"):
        name = norm(data.get("name"))
        out.append(("name", name))
        emails = data.get("emails")
        if isinstance(emails, list):
            for e in emails:
                out.append(("email", norm(e)))
    elif kind == "activities":
        deal = data.get("deal")
        if isinstance(deal, (str, int)) and not isinstance(deal, bool) and str(deal):
            out.append(("deal", str(deal)))
    from dealcli import kinds

    return out + kinds.link_keys(kind, data)  # who links to a record (check --since)


# -- typed columns and pushed-down conditions -------------------------------------------------------
def _column(typ: str, v: Any) -> str | float | None:
    if typ == "text":
        return v.casefold() if type(v) is str and v else None
    if typ == "num":
        if type(v) in (int, Decimal):
            try:
                f = float(v)
            except (OverflowError, ValueError):  # beyond a float, a signalling NaN
                return None
            return f if f == f and f not in (float("inf"), float("-inf")) else None
        return None
    # date: what query.as_date makes of it, as ISO text (which sorts like the dates)
    import datetime as dt

    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if type(v) is str:
        try:
            return dt.date.fromisoformat(v[:10]).isoformat()
        except ValueError:
            return None
    return None


def columns_of(kind: str, data: object) -> tuple[str | float | None, ...]:
    """The typed column values of a record (all NULL for kinds other than deals)."""
    if kind != "deals" or not isinstance(data, dict):
        return (None,) * len(COLUMN_NAMES)
    get = data.get
    return tuple(_column(typ, get(name)) for name, typ in DEAL_COLUMNS.items())


def small(n: object, limit: int) -> bool:
    """Is `n` (what query.as_number makes of a value: None, an int or a finite Decimal) None or
    below `limit` in size with at most 6 decimal places? Sums of a million such values, and
    amounts x probabilities of them, stay within Decimal's 28 digits, so no addition rounds and
    the order in which they are added cannot change a total."""
    if n is None:
        return True
    if type(n) is int:
        return -limit < n < limit
    if type(n) is not Decimal or not n.is_finite():
        return False
    exp = n.as_tuple().exponent
    return isinstance(exp, int) and exp >= -6 and -limit < n < limit


AMOUNT_LIMIT = 10**12
PROBABILITY_LIMIT = 10**4


def exact_of(kind: str, data: object) -> tuple[object, ...]:
    """The exact column values of a record (x_ok 0 and the rest NULL when not plain)."""
    none = (0,) + (None,) * (len(EXACT_NAMES) - 1)
    if kind != "deals" or not isinstance(data, dict):
        return none
    get = data.get
    texts = tuple(get(f) for f in EXACT_TEXT)
    if any(v is not None and type(v) is not str for v in texts):
        return none
    amount, prob = get("amount"), get("probability")
    if not all(v is None or (type(v) in (int, Decimal) and small(v, limit))
               for v, limit in ((amount, AMOUNT_LIMIT), (prob, PROBABILITY_LIMIT))):
        return none
    units = scale = None
    if amount is not None:
        exp = amount.as_tuple().exponent if type(amount) is Decimal else 0
        scale = -exp if isinstance(exp, int) and exp < 0 else 0
        units = int(amount.scaleb(scale)) if type(amount) is Decimal else amount
    return (1, *texts, int(get("repeat") is True), None if amount is None else str(amount), units, scale,
            None if prob is None else str(prob))


class Unanswered:
    """A pushed condition that lets through only the rows aggregations cannot answer in SQL
    (x_ok not 1). Only meaningful with a scan's `answered` mapping, which receives the names
    (and stamps) of the settled rows it left out (see Index.records and Index.groups)."""

    def sql(self) -> tuple[str, list[object]]:
        return "(x_ok IS NOT 1)", []


class Cond:
    """A condition on one typed column, pushed down into SQL: the row may match when the column
    is NULL or any of `alternatives` holds; an alternative is a list of (op, value) ANDed, op one
    of = >= <= > < contains. Values are of the column's type (text casefolded, num float, date
    ISO text). The caller's exact test runs afterwards on every row let through."""

    OPS = {"=": "=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}

    def __init__(self, field: str, alternatives: list[list[tuple[str, object]]]):
        if field not in DEAL_COLUMNS:
            raise ValueError(field)
        self.field, self.alternatives = field, alternatives

    def sql(self) -> tuple[str, list[object]]:
        col = f"c_{self.field}"
        alts: list[str] = []
        params: list[object] = []
        for alt in self.alternatives:
            parts: list[str] = []
            for op, value in alt:
                if op == "contains":
                    parts.append(f"instr({col}, ?) > 0")
                else:
                    parts.append(f"{col} {self.OPS[op]} ?")
                params.append(value)
            alts.append("(" + " AND ".join(parts or ["1"]) + ")")
        return f"({col} IS NULL OR {' OR '.join(alts or ['0'])})", params


def where_sql(conds: Iterable[Cond | Unanswered]) -> tuple[str, list[object]]:
    parts: list[str] = []
    params: list[object] = []
    for c in conds:
        sql, p = c.sql()
        parts.append(sql)
        params += p
    return " AND ".join(parts) or "1", params


# -- parsing one file (in this process or in a worker) ----------------------------------------------
_STAMP = struct.Struct("<qqqQ")  # size, mtime_ns, ctime_ns, inode


def _stat_key(st: os.stat_result) -> bytes:
    """What identifies a version of a file without reading it (compared as one bytes value)."""
    return _STAMP.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _settled(stamp: bytes, since_ns: int) -> int:
    """1 when the file was last changed long enough before `since_ns` (when we began to read
    it) that a later change cannot carry the same timestamps."""
    _size, mtime, ctime, _ino = _STAMP.unpack_from(stamp)  # a sharded folder's has a digest after it
    return int(max(mtime, ctime) + SETTLE_NS <= since_ns)


def _read(path: str | os.PathLike[str]) -> bytes | atomic.TooLarge | None:
    """A record file's bytes; None when it vanished or is not a regular file (never opened:
    a FIFO would block the scan; the sweep skips such names, this covers a swap in between);
    TooLarge (returned, not raised) for a file beyond RECORD_MAX, which is never read."""
    try:
        return atomic.read_bytes(Path(path), RECORD_MAX)
    except atomic.TooLarge as exc:
        return exc  # reported as a corrupt file (parse_file), never read
    except (CorruptData, NotADirectoryError):
        return None


def _digest(raw: bytes) -> bytes:
    return blake2b(raw, digest_size=16).digest()


def parse_raw(raw: bytes, kind: str, rel: str) -> Parsed:
    """(digest, blob or None, error or None, keys) of one file's bytes; error is (message, line)."""
    from dealcli.validation.records import problem

    digest = _digest(raw)
    try:
        data = yamlcodec.loads(raw, rel)
        if not isinstance(data, dict):
            raise CorruptData(rel, i18n._("expected a mapping at the top level"), 1)
    except CorruptData as exc:
        return digest, None, (bare_message(exc), exc.line), []
    found = problem(kind, data)  # checked once per version of the file: cached rows are fit
    if found is not None:
        return digest, None, (found[1], yamlcodec.line_of(raw, found[0])), []
    return digest, encode(data, kind), None, keys_of(kind, data)


def prepared(kind: str, data: dict[str, Any], raw: bytes | None) -> tuple[bytes, bytes, list[tuple[str, str]]]:
    """(digest, blob, keys) of a record dealcli writes, as a scan would store it; `data` as a
    read of the file gives it (yamlcodec.plain)."""
    return _digest(raw or b""), encode(data, kind), keys_of(kind, data)


def parse_file(root: str, kind: str, name: str, rel: str) -> Parsed | None:
    """parse_raw of one record file (at `rel` in the repository `root`), or None when the file
    vanished."""
    raw = _read(os.path.join(root, rel))
    if isinstance(raw, atomic.TooLarge):
        return _digest(raw.message.encode()), None, (bare_message(raw), None), []
    return None if raw is None else parse_raw(raw, kind, rel)


def bare_message(exc: CorruptData) -> str:
    where = f"{exc.path}:{exc.line}" if exc.line else exc.path
    return exc.message[len(where) + 2:] if exc.message.startswith(where + ": ") else exc.message


def _parse_chunk(task: tuple[str, str, list[tuple[str, str]]]) -> list[tuple[str, Parsed | None]]:
    folder, kind, items = task
    out = []
    for name, rel in items:
        out.append((name, parse_file(folder, kind, name, rel)))
    return out


# -- the cache -------------------------------------------------------------------------------------
def disabled() -> bool:
    return os.environ.get("DEALCLI_NO_INDEX", "") not in ("", "0")


class Index:
    def __init__(self, root: Path, cache_dir: Path, rel: Callable[[Path], str] | None = None, width: int = 0):
        self.root = Path(root)
        self.width = width  # the shard width of the layout (storage/layout.py)
        # kind -> {name: shard folder ("": the kind's folder)} of the files the last sweep found
        # elsewhere than where the layout puts them (a migration not finished)
        self._subs: dict[str, dict[str, str]] = {}
        self.path = Path(cache_dir) / INDEX_NAME
        self.rel = rel or (lambda p: str(p))
        self._db: sqlite3.Connection | None = None
        self._broken = False

    # -- connection, creation, silent rebuild ------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        import sqlite3

        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, VERSION):
                raise sqlite3.DatabaseError(f"cache version {version}")
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if version == 0:  # new file (or another process is creating it): idempotent DDL
                db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
            # touch every table: a corrupt file usually fails here
            db.execute("SELECT count(*) FROM meta").fetchone()
            db.execute("SELECT kind FROM entries LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _discard_file(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.path) + suffix)

    @property
    def db(self) -> sqlite3.Connection | None:
        """The open cache, (re)built silently when missing, corrupt or of another version;
        None when it cannot be used at all (then callers read the files directly)."""
        if self._db is None and not self._broken:
            import sqlite3

            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._db = self._open()
                except sqlite3.DatabaseError:
                    self._discard_file()
                    self._db = self._open()
            except (sqlite3.Error, OSError):
                self._broken = True
                self._db = None
        return self._db

    @contextlib.contextmanager
    def _write(self, db: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        db = db or self.db
        assert db is not None  # callers pass the open connection
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _try_write(self, work: Callable[[sqlite3.Connection], object]) -> bool:
        """Run work(db) in a write transaction; a failure (disk full, lock not obtained in time,
        the file broken meanwhile) leaves the cache behind, never fails the command."""
        import sqlite3

        db = self.db
        if db is None:
            return False
        try:
            with self._write(db):
                work(db)
            return True
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
                self.drop()
            return False

    def drop(self) -> None:
        """Delete the cache (a disk filled up: its WAL must not keep the space); the files are the
        truth, and the next command with room to spare builds it again."""
        self.close()
        self._discard_file()
        self._broken = True

    def exists(self) -> bool:
        return self.path.exists()

    def _conn(self) -> sqlite3.Connection:
        """The open cache; sqlite3.OperationalError when it is gone: dropped by a write that found
        the disk full in the middle of a scan, or never opened. Every reader catches sqlite3.Error
        and reads the files instead, as when a query fails."""
        db = self.db
        if db is None:
            import sqlite3

            raise sqlite3.OperationalError("the index cache is not open")
        return db

    def close(self) -> None:
        if self._db is not None:
            import sqlite3

            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    # -- helpers -----------------------------------------------------------------------------------
    def _folder(self, kind: str) -> Path:
        return self.root / kind

    def _file(self, kind: str, name: str) -> Path:
        """The file of a record: where the last sweep found it, else where the layout has it."""
        swept = self._subs.get(kind)
        sub = swept.get(name) if swept is not None else None
        if sub is not None:
            return self._folder(kind) / sub / (name + SUFFIX)
        found = [self.root / rel for rel in layout.places(kind, name, self.width)]
        if len(found) == 1 or swept is not None:
            return found[0]
        return next((p for p in found if p.exists()), found[0])

    def _sweep(self, kind: str) -> tuple[dict[str, bytes], bytes | None]:
        """Stat every record file of a kind (layout.scan): {name: stat key}, and the folder's own
        stat (dir_stat, taken first)."""
        folder = self._folder(kind)
        dir_stat = self.dir_stat(kind)
        try:
            it = layout.scan(folder, kind, self.width)
            sharded = bool(self.width) and kind in layout.SHARDED
            found: dict[str, bytes] = {}
            subs: dict[str, str] = {}
            pack = _STAMP.pack
            for name, sub, entry in it:
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                placed = sub == (layout.shard_of(name, self.width) if sharded else "")
                if S_ISREG(st.st_mode) and (name not in found or placed):
                    found[name] = pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                    if placed:
                        subs.pop(name, None)
                    else:
                        subs[name] = sub
        except (FileNotFoundError, NotADirectoryError):
            return {}, None
        self._subs[kind] = subs
        return found, dir_stat

    def _store(self, db: sqlite3.Connection, kind: str, rows: list[tuple[Any, ...]]) -> None:
        """rows: (name, stat, settled, digest, blob, error, keys); under a write transaction."""
        marks = ",".join("?" * (len(COLUMN_NAMES) + len(EXACT_NAMES)))

        def columns(blob: bytes | None) -> tuple[object, ...]:
            data = decode(blob, COLUMN_KEYS) if blob is not None and kind == "deals" else None
            return columns_of(kind, data) + exact_of(kind, data)

        db.executemany(
            f"INSERT OR REPLACE INTO entries (kind, name, stamp, settled, digest, error, line, "
            f"{', '.join(COLUMN_NAMES)}, {', '.join(EXACT_NAMES)}) VALUES (?,?,?,?,?,?,?,{marks})",
            [(kind, n, st, settled, digest, err[0] if err else None, err[1] if err else None, *columns(blob))
             for n, st, settled, digest, blob, err, _ in rows])
        db.executemany("INSERT OR REPLACE INTO blobs (kind, name, blob) VALUES (?,?,?)",
                       [(kind, r[0], r[4]) for r in rows])
        db.executemany("DELETE FROM keys WHERE kind = ? AND name = ?", [(kind, r[0]) for r in rows])
        db.executemany("INSERT OR IGNORE INTO keys (kind, key, value, name) VALUES (?,?,?,?)",
                       [(kind, k, v, r[0]) for r in rows for k, v in r[6]])

    def _forget(self, db: sqlite3.Connection, kind: str, names: Iterable[str]) -> None:
        pairs = [(kind, n) for n in names]
        db.executemany("DELETE FROM entries WHERE kind = ? AND name = ?", pairs)
        db.executemany("DELETE FROM blobs WHERE kind = ? AND name = ?", pairs)
        db.executemany("DELETE FROM keys WHERE kind = ? AND name = ?", pairs)

    def _set_dir(self, db: sqlite3.Connection, kind: str, dir_stat: bytes | None, since_ns: int) -> None:
        """Record the folder's stat as of a complete sweep. Lookups trust the set of names in
        the cache while the folder's stat is unchanged and was settled when recorded."""
        value = None if dir_stat is None or not _settled(dir_stat, since_ns) else dir_stat
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"dir:{kind}", value))

    # -- the scan -----------------------------------------------------------------------------------
    def records(self, kind: str, errors: list[CorruptData] | None = None, decode_rows: bool = True,
                where: list[Cond | Unanswered] | None = None,
                keys: AbstractSet[str] | None = None,
                answered: dict[str, bytes] | None = None) -> Iterator[tuple[str, Any]]:
        """Every record of a kind as (name, data), sorted by name, from the cache where the file
        is unchanged. A corrupt file is appended to `errors` (CorruptData) and skipped; with
        errors=None it raises. Brings the cache up to date as a side effect. With
        decode_rows=False, data is None for unchanged files (a refresh that only syncs). `where`
        (a list of Cond) may leave out unchanged, settled records whose typed columns fail it:
        what is yielded is then a superset of the records meeting it, which the caller tests.
        `keys` (a set of top-level keys): the caller reads only these, so an unchanged deal may be
        decoded from its head alone (see decode): its other keys are then missing. `answered`
        (a dict, with an Unanswered condition in `where`): the settled, unchanged rows left out
        are put in it ({name: stamp}), for `groups` to aggregate; without it Unanswered is
        ignored, so no record is ever left out unaccounted for."""
        if answered is None and where:
            where = [c for c in where if not isinstance(c, Unanswered)]
        was_enabled = gc.isenabled()
        gc.disable()  # records are trees without cycles; collecting while building them is waste
        try:
            yield from self._records(kind, errors, decode_rows, where, keys, answered)
        finally:
            if was_enabled:
                gc.enable()

    def _records(self, kind: str, errors: list[CorruptData] | None, decode_rows: bool = True,
                 where: list[Cond | Unanswered] | None = None,
                 keys: AbstractSet[str] | None = None,
                 answered: dict[str, bytes] | None = None) -> Iterator[tuple[str, Any]]:
        db = self.db
        since = time.time_ns()
        disk, dir_stat = self._sweep(kind)
        skip: set[str] = set()
        known = self._known(kind, where, skip) if db is not None else None
        if known is None:
            yield from self._parse_all(kind, sorted(disk), disk, since, errors, store=False)
            return
        db = self.db
        gone = [n for n in known if n not in disk]
        get = known.get
        # usable rows (unsettled: after a digest check); `skip`: settled rows failing `where`
        cached = [n for n, st in disk.items() if get(n) == st and n not in skip]
        stale = [n for n, st in disk.items() if get(n) != st]
        if answered is not None:
            answered.update((n, disk[n]) for n in skip if n in disk and get(n) == disk[n])
        del known, get
        cached.sort()
        stale.sort()
        if gone:
            self._try_write(lambda db: self._forget(db, kind, gone))
        parsed = self._parse_all(kind, stale, disk, since, errors, store=True)
        cached_rows = self._cached_rows(kind, cached, disk, since, errors, decode_rows, sparse=bool(skip), reads=keys)
        if not stale:
            yield from cached_rows
        # merge the two sorted streams
        a = next(cached_rows, None)
        b = next(parsed, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):
                assert a is not None  # the loop runs while a or b is left
                yield a
                a = next(cached_rows, None)
            else:
                yield b
                b = next(parsed, None)
        if not stale and not gone:
            current = self._meta(f"dir:{kind}")
            if current is None or current[0] != dir_stat:
                self._try_write(lambda db: self._set_dir(db, kind, dir_stat, since))
        else:
            self._try_write(lambda db: self._set_dir(db, kind, dir_stat, since))

    def _known(self, kind: str, where: list[Cond | Unanswered] | None = None,
               skip: set[str] | None = None) -> dict[str, bytes] | None:
        """{name: stamp} of the cached rows; a cache broken beyond what opening it showed is
        rebuilt once; None when it cannot be read at all. With `where`, the names of settled
        rows whose columns fail it are added to `skip`."""
        import sqlite3

        for _ in range(2):
            db = self.db
            if db is None:
                return None
            try:
                if not where:
                    return dict(db.execute("SELECT name, stamp FROM entries WHERE kind = ?", (kind,)))
                cond, params = where_sql(where)
                assert skip is not None  # _records passes `skip` with `where`
                known: dict[str, bytes] = {}
                for name, stamp, out in db.execute(
                        f"SELECT name, stamp, settled = 1 AND NOT ({cond}) FROM entries WHERE kind = ?",
                        (*params, kind)):
                    known[name] = stamp
                    if out:
                        skip.add(name)
                return known
            except sqlite3.DatabaseError:
                self.close()
                self._discard_file()
        self._broken = True
        return None

    def _meta(self, key: str) -> Any:
        import sqlite3

        try:
            return self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None

    def _error(self, kind: str, name: str, message: str, line: int | None, errors: list[CorruptData] | None) -> None:
        exc = CorruptData(self.rel(self._file(kind, name)), message, line)
        if errors is None:
            raise exc
        errors.append(exc)

    def _cached_rows(self, kind: str, names: list[str], disk: dict[str, bytes], since: int,
                     errors: list[CorruptData] | None, decode_rows: bool = True, sparse: bool = False,
                     reads: AbstractSet[str] | None = None) -> Iterator[tuple[str, Any]]:
        """Rows of unchanged files, in name order, read in batches (short read transactions);
        `sparse`: the names are a selection (fetched by name, not by range)."""
        import sqlite3

        updates: list[tuple[Any, ...]] = []
        for start in range(0, len(names), BATCH):
            batch = names[start:start + BATCH]
            try:
                cols = ("SELECT e.name, e.stamp, e.settled, e.digest, b.blob, e.error, e.line FROM entries e "
                        "LEFT JOIN blobs b ON b.kind = e.kind AND b.name = e.name WHERE e.kind = ? ")
                db = self._conn()  # gone when a write found the disk full: the files are read
                if sparse:
                    rows = db.execute(cols + f"AND e.name IN ({','.join('?' * len(batch))}) ORDER BY e.name",
                                      (kind, *batch)).fetchall()
                else:
                    rows = db.execute(cols + "AND e.name BETWEEN ? AND ? ORDER BY e.name",
                                      (kind, batch[0], batch[-1])).fetchall()
            except sqlite3.Error:
                rows = []
            wanted = set(batch)
            missing = wanted.difference(r[0] for r in rows)
            if missing:  # rows gone meanwhile (another process, a broken cache): read the files
                rows = sorted(rows + [(n, None, -1, None, None, None, None) for n in missing])
            for name, stamp, settled, digest, blob, error, line in rows:
                if name not in wanted:
                    continue
                st = disk[name]
                if settled != 1 or stamp != st:
                    # unsettled (or changed since we planned): reuse the row only if the bytes
                    # are still the ones it was made from
                    path = self._file(kind, name)
                    raw = _read(path)
                    if raw is None:
                        continue
                    if isinstance(raw, atomic.TooLarge):
                        self._error(kind, name, bare_message(raw), None, errors)
                        continue
                    if _digest(raw) == digest:
                        updates.append((name, st, _settled(st, since), digest, None, None, None))
                    else:
                        digest, blob, err, keys = parse_raw(raw, kind, self.rel(path))
                        error, line = err if err else (None, None)
                        updates.append((name, st, _settled(st, since), digest, blob, err, keys))
                if error is not None:
                    self._error(kind, name, error, line, errors)
                    continue
                yield name, decode(blob, reads) if decode_rows else None
            if updates:
                self._flush(kind, updates)
                updates = []

    def _flush(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        self._try_write(lambda db: self._update(db, kind, rows))

    def _update(self, db: sqlite3.Connection, kind: str, rows: list[tuple[Any, ...]]) -> None:
        keyed = [r for r in rows if r[6] is not None]
        if keyed:
            self._store(db, kind, keyed)
        db.executemany(
            "UPDATE entries SET stamp = ?, settled = ? WHERE kind = ? AND name = ? AND digest = ?",
            [(st, settled, kind, name, digest) for name, st, settled, digest, _b, _e, keys in rows if keys is None])

    def _parse_all(self, kind: str, names: list[str], disk: dict[str, bytes], since: int,
                   errors: list[CorruptData] | None, store: bool) -> Iterator[tuple[str, Any]]:
        """Parse changed files (in worker processes when there are many), store their rows and
        yield (name, data) in name order."""
        if not names:
            return
        folder = str(self.root)
        items = [(n, self.rel(self._file(kind, n))) for n in names]
        pending: list[tuple[Any, ...]] = []
        for name, got in _parse_stream(folder, kind, items):
            if got is None:
                continue
            digest, blob, err, keys = got
            st = disk[name]
            if store:
                pending.append((name, st, _settled(st, since), digest, blob, err, keys))
                if len(pending) >= BATCH:
                    self._flush_new(kind, pending)
                    pending = []
            if err is not None:
                self._error(kind, name, err[0], err[1], errors)
                continue
            assert blob is not None  # parse_raw makes a blob whenever there is no error
            yield name, decode(blob)
        if pending:
            self._flush_new(kind, pending)

    def _flush_new(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        self._try_write(lambda db: self._store(db, kind, rows))

    # -- aggregations over the exact columns -------------------------------------------------------------
    def groups(self, kind: str, answered: dict[str, bytes], where: str, params: list[object],
               queries: list[str]) -> list[list[tuple[Any, ...]]] | None:
        """Run GROUP BY `queries` over the rows a scan left out as `answered` that meet `where`
        (SQL over entries' columns): each query selects FROM `rows` (those rows' columns). All in
        one read transaction, after checking that every answered row is still the settled row
        of the same stamp the scan saw (another process may have replaced it since); None when
        not (or on any cache error): the caller then reads every record instead."""
        import sqlite3

        db = self.db
        if db is None:
            return None
        try:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS answered (name TEXT PRIMARY KEY, stamp BLOB) WITHOUT ROWID")
            db.execute("DELETE FROM temp.answered")
            db.executemany("INSERT INTO temp.answered VALUES (?, ?)", answered.items())
            db.execute("BEGIN")
            try:
                same = db.execute("SELECT count(*) FROM temp.answered a JOIN entries e ON e.kind = ? "
                                  "AND e.name = a.name AND e.stamp = a.stamp AND e.settled = 1", (kind,)).fetchone()[0]
                if same != len(answered):
                    return None
                db.execute("DROP TABLE IF EXISTS temp.rows")
                db.execute(f"CREATE TEMP TABLE rows AS SELECT e.* FROM temp.answered a JOIN entries e "
                           f"ON e.kind = ? AND e.name = a.name WHERE e.x_ok = 1 AND ({where})", (kind, *params))
                return [db.execute(q).fetchall() for q in queries]
            finally:
                db.execute("COMMIT")
                db.execute("DROP TABLE IF EXISTS temp.rows")
                db.execute("DELETE FROM temp.answered")
        except sqlite3.Error:
            return None

    # -- writes by dealcli ---------------------------------------------------------------------------
    def note_write(self, kind: str, name: str, data: dict[str, Any] | None, raw: bytes | None,
                   dir_before: bytes | None) -> None:
        """Record a file dealcli just wrote (data/raw) or deleted (None): note_writes of one."""
        self.note_writes([(kind, name, None if data is None else prepared(kind, data, raw))], {kind: dir_before})

    def note_writes(self, writes: list[tuple[str, str, tuple[bytes, bytes, list[tuple[str, str]]] | None]],
                    dirs_before: dict[str, bytes | None]) -> None:
        """Record the files one dealcli transaction just wrote, under the repository lock, in
        one cache transaction: writes are (kind, name, prepared(...) or None for a delete).
        Rows are stored unsettled (the next scan checks their digests). A folder whose recorded
        stat was current before the writes (dirs_before[kind]) moves on to its new stat, so
        lookups keep trusting the cache after dealcli's own writes."""
        if not self.exists() or not writes:
            return  # nothing to keep current; the first scan builds the cache
        db = self.db
        if db is None:
            return
        rows: dict[str, list[tuple[Any, ...]]] = {}
        gone: dict[str, list[str]] = {}
        try:
            dirs_after = {kind: self.dir_stat(kind) for kind in {w[0] for w in writes}}
            if None in dirs_after.values():
                return
            for kind, name, row in writes:
                if row is None:
                    gone.setdefault(kind, []).append(name)
                else:
                    st = _stat_key(os.stat(self._file(kind, name)))
                    rows.setdefault(kind, []).append((name, st, 0, row[0], row[1], None, row[2]))
        except OSError:
            return
        with self._write(db):
            for kind, names in gone.items():
                self._forget(db, kind, names)
            for kind, batch in rows.items():
                self._store(db, kind, batch)
            for kind, dir_after in dirs_after.items():
                before = dirs_before.get(kind)
                row = db.execute("SELECT value FROM meta WHERE key = ?", (f"dir:{kind}",)).fetchone()
                if row is not None and row[0] is not None and before is not None and row[0] == before:
                    db.execute("UPDATE meta SET value = ? WHERE key = ?", (dir_after, f"dir:{kind}"))

    def moved(self, kind: str, renames: list[tuple[str, bytes, bytes]]) -> None:
        """Files dealcli renamed, content unchanged (`dealcli layout`): (name, stat before, stat
        after). A row made from the file as it was takes the new stat, unsettled, so the next scan
        checks the file's digest instead of parsing it."""
        self._subs.pop(kind, None)
        self._try_write(lambda db: db.executemany(
            "UPDATE entries SET stamp = ?, settled = 0 WHERE kind = ? AND name = ? AND stamp = ?",
            [(after, kind, name, before) for name, before, after in renames]))

    def dir_stat(self, kind: str) -> bytes | None:
        """The folder's stat; in a sharded layout with the stats of its shard folders (a file
        added to one changes that folder, not the kind's), so one value says the names changed."""
        try:
            top = os.stat(self._folder(kind))
        except OSError:
            return None
        if not self.width or kind not in layout.SHARDED:
            return _stat_key(top)
        # a stat key whose times are the latest of every folder (so _settled judges them all),
        # then a digest of each shard folder's own
        h = blake2b(_stat_key(top), digest_size=20)
        mtime, ctime = top.st_mtime_ns, top.st_ctime_ns
        for sub in layout.shard_folders(self._folder(kind)):
            try:
                st = os.stat(sub.path)
            except OSError:
                continue
            h.update(sub.name.encode() + b"/" + _stat_key(st))
            mtime, ctime = max(mtime, st.st_mtime_ns), max(ctime, st.st_ctime_ns)
        return _STAMP.pack(top.st_size, mtime, ctime, top.st_ino) + h.digest()

    # -- lookups ----------------------------------------------------------------------------------------
    def refresh(self, kind: str) -> None:
        """Bring the cache of a kind up to date (a scan whose records are thrown away)."""
        for _ in self.records(kind, errors=[], decode_rows=False):
            pass

    def _names_current(self, kind: str) -> bool:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (f"dir:{kind}",)).fetchone()
        if row is None or row[0] is None:
            return False
        return bool(row[0] == self.dir_stat(kind))  # a stored bytes value or NULL

    def lookup(self, kind: str, pairs: list[tuple[str, str]]) -> list[str] | None:
        """Names of records having any of the (key, value) pairs (see keys_of), every one
        checked against its file. Without a full sweep when the folder has not changed since
        the last one (files edited in place behind dealcli's back are seen by the next scan).
        None when the cache cannot be used."""
        import sqlite3

        if disabled() or self.db is None:
            return None
        try:
            return self._lookup(kind, pairs)
        except sqlite3.Error:
            return None  # the caller scans the files instead

    def all_keys(self, kind: str) -> list[tuple[str, str, str]] | None:
        """Every lookup key of a kind as (key, value, name), ordered by name; the folder is
        rescanned first if it changed since the cache last listed it."""
        import sqlite3

        if disabled() or self.db is None:
            return None
        try:
            if not self._names_current(kind):
                self.refresh(kind)
            return self._conn().execute("SELECT key, value, name FROM keys WHERE kind = ? ORDER BY name, key",
                                   (kind,)).fetchall()
        except sqlite3.Error:
            return None

    def names_with_prefix(self, kind: str, prefix: str) -> list[str] | None:
        """Ids starting with `prefix`, from the cache, when the folder is unchanged since the
        cache last listed it (else None: the caller lists the folder)."""
        import sqlite3

        if disabled() or not self.exists() or self.db is None:
            return None
        try:
            if not self._names_current(kind):
                return None
            return [n for (n,) in self.db.execute(
                "SELECT name FROM entries WHERE kind = ? AND name >= ? AND name < ? ORDER BY name",
                (kind, prefix, prefix + "\U0010ffff"))]
        except sqlite3.Error:
            return None

    def _lookup(self, kind: str, pairs: list[tuple[str, str]]) -> list[str]:
        if not self._names_current(kind):
            self.refresh(kind)
        db = self._conn()
        found: set[str] = set()
        for key, value in pairs:
            found.update(n for (n,) in db.execute(
                "SELECT name FROM keys WHERE kind = ? AND key = ? AND value = ?", (kind, key, value)))
        out = []
        for name in sorted(found):
            if self._verify(kind, name, pairs):
                out.append(name)
        return out

    def _verify(self, kind: str, name: str, pairs: list[tuple[str, str]]) -> bool:
        """Is the cached row of `name` still what its file says, with one of `pairs`?"""
        row = self._conn().execute("SELECT stamp, settled FROM entries WHERE kind = ? AND name = ?",
                         (kind, name)).fetchone()
        path = self._file(kind, name)
        try:
            st = _stat_key(os.stat(path))
        except OSError:
            return False
        if row is not None and row[0] == st and row[1] == 1:
            return True
        since = time.time_ns()
        got = parse_file(str(self.root), kind, name, self.rel(path))
        if got is None:
            return False
        digest, blob, err, keys = got
        self._try_write(lambda db: self._store(db, kind, [(name, st, _settled(st, since), digest, blob, err, keys)]))
        return bool(set(keys) & set(pairs))


def _parse_stream(folder: str, kind: str, items: list[tuple[str, str]]) -> Iterator[tuple[str, Parsed | None]]:
    """(name, parse_file result) for every item, in order; worker processes for big batches."""
    from dealcli import workers

    if not workers.wanted(len(items), PARALLEL_MIN):
        for name, rel in items:
            yield name, parse_file(folder, kind, name, rel)
        return
    tasks = [(folder, kind, items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
    for chunk in workers.ordered(_parse_chunk, tasks):
        yield from chunk
