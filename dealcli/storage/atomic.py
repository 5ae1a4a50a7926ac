"""Crash-safe writes and the repository write lock.

A write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
the target (and the folder fsynced), so a crash at any instant leaves the old file or the new
one, never a torn one. A read-modify-write passes the bytes it read (`expect`); if the file on
disk differs by then (a hand edit, a `git pull`), the write is refused with Conflict (exit 4)
instead of silently overwriting it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

from dealcli.errors import Conflict, CorruptData

MISSING = object()  # expect=MISSING: the file must not exist yet (create)
ANY = None  # expect=ANY: overwrite whatever is there


def read_bytes(path: Path) -> bytes | None:
    """The bytes of a regular file; None when it does not exist. A FIFO, a device, a socket or
    a folder where a file is expected is never read (a FIFO would block for ever): CorruptData
    (exit 5) naming it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptData(str(path), "not a regular file (a folder); dealcli reads only regular files") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CorruptData(str(path), f"not a regular file ({_file_type(st.st_mode)}); dealcli reads only "
                              "regular files")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def check_expect(path: Path, expect) -> None:
    if expect is ANY:
        return
    current = read_bytes(path)
    if expect is MISSING:
        if current is not None:
            raise Conflict(f"{path}: already exists")
        return
    if current != expect:
        what = "was deleted" if current is None else "changed on disk since it was read"
        raise Conflict(f"{path}: {what}; nothing written, run the command again")


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(path: Path, data: bytes, expect, sync: bool) -> str:
    """The new bytes in a hidden temporary file beside `path` (checked against `expect`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    check_expect(path, expect)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, expect=ANY, sync: bool = True) -> None:
    tmp = _write_temp(path, data, expect, sync)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(path.parent)


def lock_timeout() -> float:
    try:
        return float(os.environ.get("DEALCLI_LOCK_TIMEOUT", "30"))
    except ValueError:
        return 30.0


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float | None = None):
    """An exclusive advisory lock (flock) on `lock_path`; Conflict after `timeout` seconds."""
    timeout = lock_timeout() if timeout is None else timeout
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted as the lock file is refused, never followed (it could make
        # us create or lock a file elsewhere)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorruptData(str(lock_path), "the lock file is a symbolic link; refusing to follow it "
                              "(delete it: dealcli creates it again)") from None
        raise CorruptData(str(lock_path), f"cannot open lock file: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CorruptData(str(lock_path), "the lock file is not a regular file")
    try:
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise Conflict(
                        f"{lock_path}: another dealcli process holds the lock "
                        f"(waited {timeout:g}s; DEALCLI_LOCK_TIMEOUT sets the wait)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
