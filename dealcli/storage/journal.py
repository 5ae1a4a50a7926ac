"""The write gate's storage half: every record a command creates, changes or deletes is staged
in one Transaction and committed all or nothing, even when the process is killed at any
instant or the disk fills up.

Protocol (under the repository lock; `.dealcli/journal/<txid>.json` is the intent journal):
1. prepare: the journal is written with state "prepared", naming every temporary file the
   transaction will create. Each new content goes to a hidden temporary file beside its
   target (`.<name>.<txid>.tmp`). Every target is checked against the bytes it was read with
   (the etag): a file changed by hand or by git since it was read refuses the whole
   transaction (Conflict, exit 4) and nothing is written.
2. barrier: the temporary files are made durable (fsync each, or one os.sync for many).
3. commit point: the journal is rewritten atomically with state "committed", listing every
   operation (temp -> target, or a delete), and fsynced. A single-file transaction needs no
   commit record: its rename is its commit point.
4. apply: each temporary file is moved over its target, each deleted file removed; then the
   journal is removed.

Recovery (`recover`, run by the first command that opens the repository after a crash, under
the lock, before anything is read): a "prepared" journal is rolled back (its temporary files
removed; no target was touched), a "committed" one is rolled forward (the remaining operations
done). So the next command always finds the old state or the new one, never a mixture, and no
temporary file is left behind for `git add -A` (the .gitignore that `init` writes ignores them
anyway).

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
import secrets
from dataclasses import dataclass
from pathlib import Path

from dealcli.errors import Conflict
from dealcli.storage import atomic

JOURNAL_DIR = "journal"
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


def _write_json(path: Path, obj, sync: bool) -> None:
    atomic.write_atomic(path, json.dumps(obj, ensure_ascii=False).encode(), sync=sync)


class Transaction:
    """Staged writes of one command. Each staged content goes straight to its temporary file
    (so a large import holds no file contents in memory); `ops` is keyed by target path: a
    record created and then updated within one transaction is one create."""

    def __init__(self, root: Path, journal_dir: Path, keep_data: int = 200):
        self.root = root
        self.journal_dir = journal_dir
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
        _write_json(self.journal, {"state": "prepared", "txid": self.txid,
                                   "folders": sorted(map(str, self.folders))}, sync=False)

    # -- staging -----------------------------------------------------------------------------
    def stage(self, kind: str, record_id: str, path: Path, raw: bytes | None, data, expect) -> None:
        op = self.ops.get(path)
        if op is not None and expect is not ANY and expect != self.raw_of(op) and not (
                expect is MISSING and op.tmp is None):
            raise Conflict(f"{path}: written twice in one command with different bases")
        if op is None:
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
                _write_json(self.journal, {"state": "committed", "txid": self.txid, "ops": [
                    {"path": str(op.path), "tmp": str(op.tmp) if op.tmp else None, "digest": op.digest} for op in ops]},
                            sync=True)
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
            raise Conflict(f"{clashes[0]}: changed on disk while this command wrote it; the change on "
                           f"disk was kept and this command's change to it was not applied"
                           + (f" (and {len(clashes) - 1} more file(s))" if len(clashes) > 1 else ""))
        return ops


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
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
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


_RENAMEAT2: list = []


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


# -- recovery -------------------------------------------------------------------------------
def pending(journal_dir: Path) -> list[Path]:
    try:
        names = os.listdir(journal_dir)
    except FileNotFoundError:
        return []
    return [journal_dir / n for n in names]


def recover(journal_dir: Path) -> int:
    """Finish or undo every transaction a crash interrupted (call under the repository lock).
    Returns how many journals were handled."""
    done = 0
    for path in pending(journal_dir):
        if path.name.startswith("."):  # the journal's own temporary file
            with contextlib.suppress(OSError):
                os.unlink(path)
            continue
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            record = {}
        txid = str(record.get("txid") or "")
        if record.get("state") != "committed":  # undo: remove the temporary files, restore set-asides
            for folder in record.get("folders") or []:
                _undo(Path(folder), txid)
        for item in record.get("ops") or []:  # committed: finish every operation
            target = Path(item["path"])
            tmp = Path(item["tmp"]) if item.get("tmp") else None
            aside = _tmp_name(target, txid, "old")
            if tmp is not None and tmp.exists() and _digest(atomic.read_bytes(tmp)) == item.get("digest"):
                os.replace(tmp, target)  # not applied yet (after a swap it holds the old content)
            elif tmp is None and not aside.exists():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            for leftover in (aside, tmp):  # a set-aside deleted file, a swapped-out old version
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(leftover)
            atomic.fsync_dir(target.parent)
        with contextlib.suppress(OSError):
            os.unlink(path)
        done += 1
    atomic.fsync_dir(journal_dir)
    return done


def _undo(folder: Path, txid: str) -> None:
    if not txid:
        return
    for n in _names(folder):
        if not n.startswith(".") or f".{txid}." not in n:
            continue
        if n.endswith(".old"):  # a target set aside by a one-file commit that was killed
            target = folder / n[1:-len(f".{txid}.old")]
            if target.exists():
                os.unlink(folder / n)
            else:
                os.replace(folder / n, target)
        elif n.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(folder / n)
    atomic.fsync_dir(folder)


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def sweep_temp_files(root: Path, folders) -> int:
    """Remove hidden temporary files of writes that no journal covers (left by versions before
    the journal, or by a kill during the journal's own write). Call under the lock."""
    removed = 0
    for name in folders:
        folder = root / name
        for n in _names(folder):
            if n.startswith(".") and (n.endswith(".tmp") or n.endswith(".old")):
                with contextlib.suppress(OSError):
                    os.unlink(folder / n)
                    removed += 1
    return removed
