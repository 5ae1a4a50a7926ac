"""The write gate's storage half: every record a command creates, changes or deletes is staged
in one Transaction and committed all or nothing, even when the process is killed at any
instant or the disk fills up.

Protocol (under the repository lock; `.dealcli/journal/<txid>.json` is the intent journal):
1. prepare: the journal is written with state "prepared", naming every folder that will hold
   a temporary file of the transaction. Each new content goes to a hidden temporary file beside
   its target (`.<name>.<txid>.tmp`). Every target is checked against the bytes it was read
   with (the etag): a file changed by hand or by git since it was read refuses the whole
   transaction (Conflict, exit 4) and nothing is written.
2. barrier: the temporary files are made durable (fsync each, or one os.sync for many).
3. commit point: the journal is rewritten atomically with state "committed", listing every
   target and the digest of its new content (none: a delete), and fsynced. A single-file
   transaction needs no commit record: its rename is its commit point.
4. apply: each temporary file is moved over its target, each deleted file removed; then the
   journal is removed.

Recovery (`recover`, run by the first command that opens the repository after a crash, under
the lock, before anything is read): a "prepared" journal is rolled back (its temporary files
removed; no target was touched), a "committed" one is rolled forward (the remaining operations
done). So the next command always finds the old state or the new one, never a mixture.

Recovery trusts nothing it reads (docs/architecture.md, "The journal"): an entry is one JSON
object with a format number, the id of the repository it belongs to (`.dealcli/id`), its txid
(= its file name), its state, paths RELATIVE to the repository root and a checksum over all of
it; the temporary file of a target is never read from the entry but derived from the target
and the txid. Before anything is done the whole entry is checked: a regular file (opened
without following a symbolic link, never a FIFO or a device) of at most ENTRY_MAX bytes, whole
JSON of that exact shape, the checksum, the repository id, every path inside a folder the gate
writes (GATE_FOLDERS, GATE_FILES) with no symbolic link on the way, and every file it would
touch a regular file. An entry failing any of this is never acted on: JournalDamaged (exit 5)
names it and the fix (`dealcli recover --status` / `--discard`).

The apply step never overwrites a hand edit that lands between the etag check and the rename:
an existing target is first renamed aside (an atomic capture of whatever is there), compared
with the expected bytes, and the new file is put in place with link(2), which refuses to
replace a file that appeared meanwhile. A hand edit caught this way is kept, and the command
reports a Conflict for that file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from dealcli.errors import Conflict, CorruptData
from dealcli.storage import atomic
from dealcli.storage.layout import (
    CACHE_DIR,
    GATE_FILES,
    GATE_FOLDERS,
    KINDS,
    REPOSITORY_ID,
    SHARDED,
    is_id,
    record_of,
    shard_folders,
)
from dealcli import i18n

JOURNAL_DIR = "journal"
FORMAT = 2  # of a journal entry (an entry of another format is refused, never guessed at)
ENTRY_MAX = 64 << 20  # bytes: an entry of a 500,000-file transaction fits; anything larger is refused
_TXID = re.compile(r"[0-9a-f]{12}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
SYNC_ALL_FROM = 64  # from this many files on, one os.sync() instead of an fsync per file
MISSING = atomic.MISSING
ANY = atomic.ANY


@dataclass
class Op:
    kind: str
    id: str
    path: Path
    expect: object  # MISSING, ANY or the bytes the record was read with
    tmp: Path | None = None  # the new content; None: delete
    data: object = None  # what was written (kept for the index cache in small transactions)
    raw: bytes | None = None
    digest: str | None = None  # of the new content: recovery tells a pending temp file from a swapped-out one


def _tmp_name(path: Path, txid: str, what: str) -> Path:
    return path.parent / f".{path.name}.{txid}.{what}"


def _checksum(body: dict[str, Any]) -> str:
    return _digest(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def encode(body: dict[str, Any]) -> bytes:
    """A journal entry as written: `body` and the checksum over it."""
    return json.dumps({**body, "check": _checksum(body)}, ensure_ascii=False).encode()


class Transaction:
    """Staged writes of one command. Each staged content goes straight to its temporary file
    (so a large import holds no file contents in memory); `ops` is keyed by target path: a
    record created and then updated within one transaction is one create."""

    def __init__(self, root: Path, journal_dir: Path, repo_id: str, keep_data: int = 200):
        self.root = root
        self.journal_dir = journal_dir
        self.repo_id = repo_id
        self.txid = secrets.token_hex(6)
        self.journal = journal_dir / f"{self.txid}.json"
        self.ops: dict[Path, Op] = {}
        self.folders: set[Path] = set()
        self.keep_data = keep_data

    def _prepare(self, folder: Path) -> None:
        """The "prepared" record names the folders holding this transaction's temporary files,
        so that a crash before the commit point is undone by removing them."""
        if folder in self.folders:
            return
        self.folders.add(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        self._write("prepared", sync=False, folders=sorted(self._rel(f) for f in self.folders))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _write(self, state: str, sync: bool, **fields: Any) -> None:
        body = {"format": FORMAT, "repository": self.repo_id, "txid": self.txid, "state": state, **fields}
        atomic.write_atomic(self.journal, encode(body), sync=sync)

    # -- staging -----------------------------------------------------------------------------
    def stage(self, kind: str, record_id: str, path: Path, raw: bytes | None, data: object, expect: object) -> None:
        op = self.ops.get(path)
        if op is not None and expect is not ANY and expect != self.raw_of(op) and not (
                expect is MISSING and op.tmp is None):
            raise Conflict(i18n._("{path}: written twice in one command with different bases").format(path=path))
        if op is None:
            if not _trusted_file(self._rel(path)):  # a bug: recovery would refuse the journal
                raise ValueError(f"{path}: not a file the write gate writes (layout.GATE_FOLDERS/GATE_FILES)")
            op = self.ops[path] = Op(kind, record_id, path, expect)
        self._prepare(path.parent)
        if raw is None:
            if op.tmp is not None:
                os.unlink(op.tmp)
                op.tmp = None
            if op.expect is MISSING:
                del self.ops[path]  # created and deleted again: nothing to do
            return
        op.tmp = _tmp_name(path, self.txid, "tmp")
        _write_file(op.tmp, raw)
        op.digest = _digest(raw)
        keep = len(self.ops) <= self.keep_data
        op.data, op.raw = (data, raw) if keep else (None, None)

    def staged(self, path: Path) -> Op | None:
        return self.ops.get(path)

    @staticmethod
    def raw_of(op: Op) -> bytes | None:
        if op.tmp is None:
            return None
        return op.raw if op.raw is not None else op.tmp.read_bytes()

    def discard(self) -> None:
        _rollback(list(self.ops.values()))
        with contextlib.suppress(OSError):
            os.unlink(self.journal)

    # -- commit -----------------------------------------------------------------------------
    def commit(self) -> list[Op]:
        """Write everything or nothing; returns the operations applied."""
        ops = list(self.ops.values())
        if not ops:
            self.discard()
            return []
        try:
            for op in ops:
                atomic.check_expect(op.path, op.expect)
            if len(ops) >= SYNC_ALL_FROM:
                os.sync()
            else:
                for op in ops:
                    if op.tmp is not None:
                        _fsync_file(op.tmp)
            if len(ops) > 1:
                self._write("committed", sync=True, ops=[
                    {"path": self._rel(op.path), "digest": op.digest if op.tmp is not None else None} for op in ops])
        except BaseException:
            self.discard()
            raise
        # committed: from here on a crash is rolled forward by the next command
        clashes: list[str] = []
        for op in ops:
            clash = _apply(op, self.txid)
            if clash:
                clashes.append(clash)
        for folder in {op.path.parent for op in ops}:
            atomic.fsync_dir(folder)
        with contextlib.suppress(OSError):
            os.unlink(self.journal)
        if clashes:
            raise Conflict(i18n._("{path}: changed on disk while this command wrote it; the change on "
                                  "disk was kept and this command's change to it was not applied").format(
                                      path=clashes[0])
                           + (i18n._(" (and {n} more file(s))").format(n=len(clashes) - 1) if len(clashes) > 1 else ""))
        return ops


@overload
def _digest(raw: bytes) -> str: ...
@overload
def _digest(raw: bytes | None) -> str | None: ...
def _digest(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:  # the hash alone: hashlib would also initialise OpenSSL
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover
        from hashlib import blake2b
    return blake2b(raw, digest_size=16).hexdigest()


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise atomic.named(exc, path) from None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        raise atomic.named(exc, path) from None
    finally:
        os.close(fd)


def _rollback(ops: list[Op]) -> None:
    for op in ops:
        if op.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(op.tmp)


def _link(src: Path, dst: Path) -> bool:
    """Put `src` at `dst` without replacing a file that exists there; False if one does."""
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError as exc:  # a file system without hard links: check, then rename
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if dst.exists():
            return False
        os.replace(src, dst)
        return True
    os.unlink(src)
    return True


_RENAMEAT2: list[Any] = []  # [(renameat2, ctypes)] or [None] once looked up


def _exchange(a: Path, b: Path) -> bool:
    """Swap two files atomically (renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if not _RENAMEAT2:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            _RENAMEAT2.append((fn, ctypes))
        except (OSError, AttributeError):
            _RENAMEAT2.append(None)
    if _RENAMEAT2[0] is None:
        return False
    fn, ctypes = _RENAMEAT2[0]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _apply(op: Op, txid: str) -> str | None:
    """Apply one committed operation; the path of a file a hand edit got to first, else None.
    The target never goes missing: a create links (refusing a file that appeared meanwhile),
    an update swaps the new file in atomically and looks at what it swapped out — if that is
    not what the command read, a hand edit landed in between and is swapped back."""
    if op.expect is MISSING:
        if op.tmp is None:
            return None
        return None if _link(op.tmp, op.path) else _keep_theirs(op)
    if op.tmp is None:  # delete: set the file aside, and put it back if it is not what was read
        aside = _tmp_name(op.path, txid, "old")
        try:
            os.rename(op.path, aside)
        except FileNotFoundError:
            return None
        if op.expect is not ANY and atomic.read_bytes(aside) != op.expect:
            if not _link(aside, op.path):
                os.unlink(aside)
            return str(op.path)
        os.unlink(aside)
        return None
    if not op.path.exists():
        if op.expect is ANY:
            os.replace(op.tmp, op.path)
            return None
        return _keep_theirs(op)  # deleted by hand meanwhile: not re-created behind its back
    if _exchange(op.tmp, op.path):
        swapped_out = atomic.read_bytes(op.tmp)
        if op.expect is not ANY and swapped_out != op.expect:
            _exchange(op.tmp, op.path)  # a hand edit landed in between: it goes back
            return _keep_theirs(op)
        os.unlink(op.tmp)
        return None
    atomic.check_expect(op.path, op.expect)  # no atomic swap here: check, then rename
    os.replace(op.tmp, op.path)
    return None


def _keep_theirs(op: Op) -> str:
    if op.tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(op.tmp)
    return str(op.path)


# -- recovery: trusts nothing it reads ------------------------------------------------------------
FIX = ("; nothing was done with it (`dealcli recover --status` shows it, `dealcli recover --discard` removes "
       "it and leaves the files as they are)")


class JournalDamaged(CorruptData):
    """A journal entry that cannot be trusted (damaged, cut short, of another repository, naming a
    file outside the gate's folders): never acted on (exit 5)."""

    def __init__(self, path: str, problem: str):
        self.problem = problem
        super().__init__(path, f"journal entry not trusted: {problem}{FIX}")


class _Untrusted(Exception):
    pass


@dataclass
class Entry:
    name: str
    txid: str
    state: str
    folders: list[str] = field(default_factory=list)  # prepared: where its temporary files are
    ops: list[tuple[str, str | None]] = field(default_factory=list)  # committed: (target, digest or None)


def _shown(name: str) -> str:
    return f"{CACHE_DIR}/{JOURNAL_DIR}/{name}"


def _open_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes, opened without following a symbolic
    link and without blocking on a FIFO; None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Untrusted("a symbolic link (never followed)") from None
        raise _Untrusted(f"cannot be opened: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Untrusted(f"{atomic._file_type(st.st_mode)}, not a regular file (never read)")
        if st.st_size > limit:
            raise _Untrusted(f"{st.st_size} bytes, more than the {limit} an entry may hold")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise _Untrusted(f"more than the {limit} bytes an entry may hold")
        return data
    finally:
        os.close(fd)


def repository_id(cache_dir: Path) -> str:
    """This repository's id (`.dealcli/id`), written the first time one is needed (`init`, or the
    first write of a repository made before ids): every journal entry names it. Call under the
    lock. A copy (`cp -a`) keeps the id, and its journal names paths relative to the copy."""
    path = cache_dir / REPOSITORY_ID
    shown = f"{CACHE_DIR}/{REPOSITORY_ID}"
    try:
        raw = _open_regular(path, 100)
    except _Untrusted as exc:
        raise CorruptData(shown, i18n._("{exc}; delete it (dealcli writes a new one)").format(exc=exc)) from None
    if raw is None:
        new = secrets.token_hex(16)
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic.write_atomic(path, f"{new}\n".encode())
        return new
    text = raw.decode("ascii", "replace").strip()
    if not _HEX32.fullmatch(text):
        raise CorruptData(shown, i18n._("not a repository id (32 hex digits); delete it (dealcli writes a new one)"))
    return text


def pending(journal_dir: Path) -> list[str]:
    """The names in the journal folder (entries, and temporary files of an entry being written).
    A journal folder that is a symbolic link or not a folder is JournalDamaged."""
    try:
        st = os.lstat(journal_dir)
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else atomic._file_type(st.st_mode)
        raise JournalDamaged(f"{CACHE_DIR}/{JOURNAL_DIR}", i18n._("{what}, not a folder (never followed)").format(
            what=what))
    return sorted(os.listdir(journal_dir))


def _parts(rel: object) -> list[str] | None:
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\x00" in rel or "\\" in rel or rel.startswith("/"):
        return None
    parts = rel.split("/")
    return None if any(p in ("", ".", "..") for p in parts) else parts


def _trusted_file(rel: object) -> bool:
    """A target the gate writes: a record (`deals/<id>.yaml`), an attachment
    (`attachments/<activity>/<name>`) or a file of GATE_FILES at the top."""
    parts = _parts(rel)
    if parts is None:
        return False
    if len(parts) == 1:
        return parts[0] in GATE_FILES
    if parts[0] in KINDS:  # at a place of a layout, flat or sharded (layout.record_of)
        found = record_of("/".join(parts))
        return found is not None and is_id(found[1])
    return parts[0] in GATE_FOLDERS and len(parts) == 3 and not parts[-1].startswith(".")


def _trusted_folder(rel: object) -> bool:
    if rel == ".":
        return True
    parts = _parts(rel)
    return parts is not None and parts[0] in GATE_FOLDERS and len(parts) <= 2


def _real_folder(root: Path, rel: str) -> None:
    """No symbolic link (and nothing but folders) on the way from the root to `rel`."""
    here = root
    for part in ([] if rel == "." else rel.split("/")):
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise _Untrusted(f"{here.relative_to(root).as_posix()} is a symbolic link (recovery never follows one)")
        if not stat.S_ISDIR(st.st_mode):
            raise _Untrusted(f"{here.relative_to(root).as_posix()} is not a folder")


def _regular_or_missing(root: Path, path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else atomic._file_type(st.st_mode)
        raise _Untrusted(f"{path.relative_to(root).as_posix()} is {what} (recovery touches only regular files)")


def read_entry(root: Path, journal_dir: Path, name: str, repo_id: str) -> Entry | None:
    """One journal entry, checked whole before anything is done with it (see the module doc);
    None when it vanished. JournalDamaged when any check fails."""
    try:
        if not (name.endswith(".json") and _TXID.fullmatch(name[:-5])):
            raise _Untrusted("not a journal entry's name (12 hex digits, .json)")
        raw = _open_regular(journal_dir / name, ENTRY_MAX)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            raise _Untrusted("not whole JSON (damaged or cut short)") from None
        if not isinstance(record, dict) or not isinstance(record.get("check"), str):
            raise _Untrusted("not a journal entry (no checksum)")
        body = {k: v for k, v in record.items() if k != "check"}
        try:
            matches = _checksum(body) == record["check"]
        except (ValueError, TypeError, RecursionError):
            matches = False
        if not matches:
            raise _Untrusted("its checksum does not match its content (damaged or edited)")
        if body.get("format") != FORMAT:
            raise _Untrusted(f"format {body.get('format')!r}, this dealcli reads format {FORMAT}")
        if body.get("repository") != repo_id:
            raise _Untrusted(f"written for another repository (not the id in {CACHE_DIR}/{REPOSITORY_ID})")
        if body.get("txid") != name[:-5]:
            raise _Untrusted("its txid is not its file name")
        entry = Entry(name, name[:-5], body.get("state"))  # type: ignore[arg-type]  # any other state: refused below
        if entry.state == "prepared":
            folders = body.get("folders")
            if set(body) != {"format", "repository", "txid", "state", "folders"} or not isinstance(folders, list):
                raise _Untrusted("not the shape of a prepared entry")
            for rel in folders:
                if not _trusted_folder(rel):
                    raise _Untrusted(f"{rel!r} is not a folder the write gate writes")
            entry.folders = folders
        elif entry.state == "committed":
            ops = body.get("ops")
            if set(body) != {"format", "repository", "txid", "state", "ops"} or not isinstance(ops, list) or not ops:
                raise _Untrusted("not the shape of a committed entry")
            for op in ops:
                if not isinstance(op, dict) or set(op) != {"path", "digest"}:
                    raise _Untrusted("an operation that is not {path, digest}")
                if not _trusted_file(op["path"]) or (op["digest"] is None and "/" not in op["path"]):
                    # the gate writes dealcli.yaml, .gitignore, .gitattributes but never deletes them
                    raise _Untrusted(f"{op['path']!r} is not a file the write gate "
                                     f"{'deletes' if op['digest'] is None else 'writes'}")
                if op["digest"] is not None and not (isinstance(op["digest"], str) and _HEX32.fullmatch(op["digest"])):
                    raise _Untrusted(f"{op['path']}: a digest that is not 32 hex digits")
                entry.ops.append((op["path"], op["digest"]))
        else:
            raise _Untrusted(f"state {entry.state!r} is neither prepared nor committed")
        # on disk: nothing recovery would touch is reached through a symbolic link or is not a regular file
        for rel in entry.folders:
            _real_folder(root, rel)
        for rel, _ in entry.ops:
            _real_folder(root, rel.rpartition("/")[0] or ".")
            target = root / rel
            for path in (target, _tmp_name(target, entry.txid, "tmp"), _tmp_name(target, entry.txid, "old")):
                _regular_or_missing(root, path)
        return entry
    except _Untrusted as exc:
        raise JournalDamaged(_shown(name), str(exc)) from None


def recover(root: Path, journal_dir: Path, repo_id: str) -> tuple[list[str], list[JournalDamaged]]:
    """Finish or undo every transaction a crash interrupted (call under the repository lock).
    Returns the files rolled forward (relative to the root) and the entries refused (left as
    they are, with every file they name)."""
    finished: list[str] = []
    refused: list[JournalDamaged] = []
    for name in pending(journal_dir):
        if name.startswith("."):  # an entry's own temporary file (a kill while writing it); unlink follows nothing
            with contextlib.suppress(OSError):
                os.unlink(journal_dir / name)
            continue
        try:
            entry = read_entry(root, journal_dir, name, repo_id)
        except JournalDamaged as exc:
            refused.append(exc)
            continue
        if entry is not None:
            finished += _finish(root, entry)
            with contextlib.suppress(OSError):
                os.unlink(journal_dir / name)
    atomic.fsync_dir(journal_dir)
    return finished, refused


def _finish(root: Path, entry: Entry) -> list[str]:
    if entry.state == "prepared":  # undo: remove the temporary files, restore set-asides
        for rel in entry.folders:
            _undo(root / rel, entry.txid)
        return []
    for rel, digest in entry.ops:  # committed: finish every operation
        target = root / rel
        tmp, aside = _tmp_name(target, entry.txid, "tmp"), _tmp_name(target, entry.txid, "old")
        if digest is not None:
            raw = atomic.read_bytes(tmp)  # checked a regular file (or missing) with the entry
            if raw is not None and _digest(raw) == digest:
                os.replace(tmp, target)  # not applied yet (after a swap it holds the old content)
        elif not os.path.lexists(aside):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        for leftover in (aside, tmp):  # a set-aside deleted file, a swapped-out old version
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        atomic.fsync_dir(target.parent)
    return [rel for rel, _ in entry.ops]


def status(root: Path, journal_dir: Path, repo_id: str) -> list[dict[str, Any]]:
    """What `recover --status` shows: each entry, its state, what it names and why it is refused."""
    out: list[dict[str, Any]] = []
    for name in pending(journal_dir):
        if name.startswith("."):
            continue
        row: dict[str, Any] = {"entry": _shown(name), "state": None, "files": [], "problem": None}
        try:
            entry = read_entry(root, journal_dir, name, repo_id)
        except JournalDamaged as exc:
            row["problem"] = exc.problem
        else:
            if entry is None:
                continue
            row["state"] = entry.state
            row["files"] = [rel for rel, _ in entry.ops] or entry.folders
        out.append(row)
    return out


def discard(root: Path, journal_dir: Path, repo_id: str) -> list[str]:
    """Remove every entry recovery refuses (the files stay as they are now; the temporary files
    beside the records are swept, a set-aside file put back where its target is missing).
    Returns the entries removed."""
    removed = []
    try:
        rows = status(root, journal_dir, repo_id)
    except JournalDamaged as exc:  # the journal folder is a symbolic link or a file: removed, never followed
        os.unlink(journal_dir)
        return [exc.path]
    for row in rows:
        if row["problem"] is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(root / row["entry"])
            removed.append(row["entry"])
    if removed:
        sweep_temp_files(root, KINDS)
    return removed


def _restore_or_remove(folder: Path, name: str, suffix: str) -> None:
    """A hidden `.<target>.<txid>.old` (a target set aside, its delete not done): put back when
    the target is missing, else removed; a `.tmp` is removed. Only regular files are touched."""
    path = folder / name
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return
        if name.endswith(".old"):
            target = folder / name[1:-len(suffix)]
            if not os.path.lexists(target):
                os.replace(path, target)
                return
        os.unlink(path)
    except OSError:
        pass


def _undo(folder: Path, txid: str) -> None:
    for n in _names(folder):
        if n.startswith(".") and (n.endswith(f".{txid}.old") or n.endswith(f".{txid}.tmp")):
            _restore_or_remove(folder, n, f".{txid}.old")
    atomic.fsync_dir(folder)


def _names(folder: Path) -> list[str]:
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []  # a symbolic link where a folder should be: never followed
        return os.listdir(folder)
    except OSError:
        return []


_TEMP = re.compile(r"\.(.+)\.([0-9a-f]{12})\.(tmp|old)")


def sweep_temp_files(root: Path, folders: Iterable[str]) -> int:
    """Remove hidden temporary files of writes that no journal covers (left by versions before
    the journal, or by a kill during the journal's own write). Call under the lock."""
    removed = 0
    folders = [sub for name in folders for sub in (name, *(  # and the shard folders (storage/layout.py)
        f"{name}/{e.name}" for e in (shard_folders(root / name) if name in SHARDED else ())))]
    for name in folders:
        folder = root / name
        for n in _names(folder):
            m = _TEMP.fullmatch(n)
            if m:
                _restore_or_remove(folder, n, f".{m.group(2)}.old")
                removed += 1
            elif n.startswith(".") and n.endswith(".tmp"):  # atomic.write_atomic's own temporary file
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.lstat(folder / n).st_mode):
                        os.unlink(folder / n)
                        removed += 1
    return removed
