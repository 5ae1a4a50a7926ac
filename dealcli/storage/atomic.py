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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from dealcli.errors import Conflict, CorruptData
from dealcli.i18n import _

MISSING = object()  # expect=MISSING: the file must not exist yet (create)
ANY = None  # expect=ANY: overwrite whatever is there


class TooLarge(CorruptData):
    """A file larger than a reader accepts (read_bytes' `limit`): never read into memory."""


def read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file; None when it does not exist. A FIFO, a device, a socket or
    a folder where a file is expected is never read (a FIFO would block for ever): CorruptData
    (exit 5) naming it. A file of more than `limit` bytes is TooLarge (exit 5), unread."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptData(str(path), _("not a regular file (a folder); dealcli reads only regular files")) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CorruptData(str(path), _("not a regular file ({file_type_st_st_mode}); dealcli reads only "
                              "regular files").format(file_type_st_st_mode=_file_type(st.st_mode)))
        if limit is not None and st.st_size > limit:
            raise TooLarge(str(path), _("{st_st_size} bytes, more than the {limit} a record may hold (docs/format.md); "
                           "not read").format(st_st_size=st.st_size, limit=limit))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
        if limit is not None and len(data) > limit:  # grew while being read
            raise TooLarge(str(path), _("more than the {limit} bytes a record may hold "
                                        "(docs/format.md); not read").format(
                limit=limit))
        return data
    finally:
        os.close(fd)


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def check_expect(path: Path, expect: object) -> None:  # bytes, MISSING or ANY
    if expect is ANY:
        return
    current = read_bytes(path)
    if expect is MISSING:
        if current is not None:
            raise Conflict(_("{path}: already exists").format(path=path))
        return
    if current != expect:
        what = "was deleted" if current is None else "changed on disk since it was read"
        raise Conflict(_("{path}: {what}; nothing written, run the command again").format(path=path, what=what))


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def named(exc: BaseException, path: Path) -> BaseException:
    """An OSError of a write (ENOSPC from write(2) names no file) with the file it was writing."""
    if isinstance(exc, OSError) and not exc.filename:
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


def _write_temp(path: Path, data: bytes, expect: object, sync: bool) -> str:
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
    except BaseException as exc:  # noqa: BLE001 - re-raised, with the file named
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise named(exc, path) from None
    return tmp


def write_atomic(path: Path, data: bytes, expect: object = ANY, sync: bool = True) -> None:
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
    """How long a command waits for the repository lock: $DEALCLI_LOCK_TIMEOUT seconds (default
    30), set per command (`DEALCLI_LOCK_TIMEOUT=2 dealcli deal add ...`) or per process (the web
    endpoint's server); 0 means do not wait."""
    try:
        value = float(os.environ.get("DEALCLI_LOCK_TIMEOUT", "30"))
    except ValueError:
        return 30.0
    return value if 0 <= value < float("inf") else 30.0  # NaN, negative, inf: the default


def _open_lock_file(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted as the lock file is refused, never followed (it could make
        # us create or lock a file elsewhere)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorruptData(str(path), _("the lock file is a symbolic link; refusing to follow it "
                              "(delete it: dealcli creates it again)")) from None
        raise CorruptData(str(path), _("cannot open lock file: {exc_strerror}").format(
            exc_strerror=exc.strerror)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CorruptData(str(path), _("the lock file is not a regular file"))
    return fd


class _TimedOut(Exception):
    pass


def _try(take: Callable[[bool], object]) -> bool:
    """`take(False)` (a non-blocking lock attempt): False when the lock is held elsewhere."""
    try:
        take(False)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False


def _wait(take: Callable[[bool], object], deadline: float) -> bool:
    """Run `take(block)` until it succeeds; False when `deadline` passes first. In the main thread
    it blocks in the kernel (interrupted by a timer at the deadline); elsewhere (no signals
    there) it polls."""
    import signal
    import threading

    left = deadline - time.monotonic()
    if _try(take):
        return True
    if left <= 0:
        return False
    if (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0):  # a timer of the host program is left alone
        def ring(signum: int, frame: object) -> NoReturn:
            raise _TimedOut

        previous = signal.signal(signal.SIGALRM, ring)
        try:
            signal.setitimer(signal.ITIMER_REAL, left)
            take(True)
            return True
        except _TimedOut:
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    delay = 0.002
    while time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        if _try(take):
            return True
    return False


def _take_turn(queue_path: Path, deadline: float) -> int | None:
    """First come, first served: draw a ticket (a counter in `queue_path`, read and bumped under a
    brief flock), hold the byte at the ticket's offset (a POSIX record lock) until the repository
    lock is released, and wait until the holder of the ticket before lets go of its byte (it is
    done, gave up waiting, or died: the kernel releases a dead process's locks). The flock on
    the lock file itself still decides who holds the lock; the queue only orders the waiters.
    Returns the queue's descriptor (closing it leaves the queue), None on a timeout."""
    qfd = _open_lock_file(queue_path)
    try:
        if not _wait(lambda block: fcntl.flock(qfd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB)), deadline):
            os.close(qfd)
            return None
        try:
            ticket = int(os.pread(qfd, 32, 0).decode("ascii", "replace").strip() or 0)
        except ValueError:
            ticket = 0
        ticket = ticket if 0 <= ticket < 1 << 60 else 0
        os.pwrite(qfd, f"{ticket + 1:020d}\n".encode(), 0)
        fcntl.lockf(qfd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, ticket)  # my place in the line
        fcntl.flock(qfd, fcntl.LOCK_UN)
        if ticket and not _wait(lambda block: fcntl.lockf(qfd, fcntl.LOCK_SH | (0 if block else fcntl.LOCK_NB),
                                                          1, ticket - 1), deadline):
            os.close(qfd)
            return None
        return qfd
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(qfd)
        raise


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float | None = None) -> Iterator[None]:
    """An exclusive advisory lock (flock) on `lock_path`, granted first come, first served (see
    _take_turn); Conflict after `timeout` seconds (default: lock_timeout())."""
    timeout = lock_timeout() if timeout is None else timeout
    fd = _open_lock_file(lock_path)
    queue = None
    try:
        deadline = time.monotonic() + timeout
        queue = _take_turn(lock_path.with_name(lock_path.name + ".queue"), deadline)
        if queue is None or not _wait(lambda block: fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB)),
                                      deadline):
            raise Conflict(_("{lock_path}: another dealcli process holds the lock "
                           "(waited {timeout:g}s; DEALCLI_LOCK_TIMEOUT sets the wait)").format(
                               lock_path=lock_path, timeout=timeout))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
        if queue is not None:
            os.close(queue)  # then the next in line goes
