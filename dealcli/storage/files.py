"""Files that are not records of the repository: inputs a user names (a card file, an import
source, stdin spooled to disk), outputs a user asks for (`--html FILE`) and scratch copies an
editor works on. They go through here so that every byte dealcli reads or writes passes the
storage layer."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from dealcli import env as environment
from dealcli.errors import NotFound, UsageError
from dealcli.storage import atomic
from dealcli.i18n import _

CHUNK = 1 << 16


def read_input(path: str | os.PathLike[str], field: str) -> bytes:
    """The bytes of a file named on the command line; an error is about `field`, the parameter
    that named it (errors.DealcliError.about)."""
    try:
        raw = atomic.read_bytes(Path(path))
    except IsADirectoryError:
        raise UsageError.about(field, "{0} {path}: is a folder, not a file", path=path) from None
    except OSError as exc:
        raise UsageError.about(field, "{0} {path}: {problem}", path=path, problem=exc.strerror) from None
    if raw is None:
        raise UsageError.about(field, "{0} {path}: no such file", path=path)
    return raw


class Spool:
    """stdin (`-`), a pipe or a <(process substitution) copied to a temporary file, for readers
    that read their input twice (the import checks everything, then writes). On Linux the file
    has no name from the start (it is reopened as /proc/self/fd/N), so a run that is killed
    leaves nothing behind; elsewhere it is a named temporary file removed by `close`."""

    def __init__(self, ref: str, prefix: str = "dealcli-"):
        if ref != "-" and not Path(ref).exists():
            raise NotFound(_("{ref}: no such file").format(ref=ref))
        self._named: Path | None = None
        self._fh = tempfile.TemporaryFile(prefix=prefix, suffix=".spool")  # noqa: SIM115 - unlinked at once on POSIX; kept open
        try:
            if ref == "-":
                shutil.copyfileobj(environment.current().stdin.buffer, self._fh, CHUNK)
            else:
                with open(ref, "rb") as src:
                    shutil.copyfileobj(src, self._fh, CHUNK)
            self._fh.flush()
            by_fd = Path(f"/proc/self/fd/{self._fh.fileno()}")
            if by_fd.exists():
                self.path = by_fd
            else:  # no /proc: a named copy (removed by close; a kill leaves it in the temp folder)
                fd, name = tempfile.mkstemp(prefix=prefix, suffix=".spool")
                self._named = self.path = Path(name)
                self._fh.seek(0)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(self._fh, out, CHUNK)
        except IsADirectoryError:
            self.close()
            raise UsageError(_("{ref}: is a folder, not a file").format(ref=ref)) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._fh.close()
        discard(self._named)
        self._named = None


def outside(root: str | os.PathLike[str], path: str | os.PathLike[str], field: str) -> Path:
    """`path` when it lies outside the repository at `root` (links followed); a usage error
    (exit 2) naming it otherwise: an output written there would bypass the write gate and the
    access guard (an HTML page over a deal file, JSON over dealcli.yaml)."""
    path = Path(path)
    where = path.parent.resolve() / path.name
    if where.is_symlink() or where.exists():
        where = where.resolve()
    home = Path(root).resolve()
    if where == home or home in where.parents:
        raise UsageError.about(field, "{0} {path}: inside the repository ({root}); write it outside, an output "
                               "file there would bypass the write gate", path=str(path), root=str(home))
    return path


def write_output(path: str | os.PathLike[str], data: bytes, field: str,
                 root: str | os.PathLike[str] | None = None) -> Path:
    """A file the user asked for (`--html FILE`), written atomically, never inside the repository
    at `root` (`outside`); `field` is the caller's parameter that named it (`html`,
    `report_file`), worded by the edge."""
    path = Path(path)
    if root is not None:
        outside(root, path, field)
    if not path.parent.is_dir():
        raise UsageError.about(field, "{0} {path}: the folder {folder!r} does not exist", path=str(path),
                               folder=str(path.parent))
    atomic.write_atomic(path, data)
    return path


def output_folder(path: str | os.PathLike[str], field: str) -> Path:
    """A folder the user names for output files (`export --all --out DIR`), made if missing
    (its parent must exist); a usage error about `field` when it cannot be."""
    folder = Path(path)
    try:
        folder.mkdir(exist_ok=True)
    except FileExistsError:
        raise UsageError.about(field, "{0} {path}: is a file, not a folder", path=str(path)) from None
    except OSError as exc:
        raise UsageError.about(field, "{0} {path}: {problem}", path=str(path), problem=exc.strerror) from None
    return folder


def refuse_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], field: str) -> None:
    """An output file the user names (a rejects file, an export) must not land inside the
    repository: it would be taken for records, committed and synced. `field` names the caller's
    parameter, worded by the edge."""
    target, base = Path(os.path.abspath(path)).resolve(), Path(os.path.abspath(root)).resolve()
    if target == base or base in target.parents:
        raise UsageError.about(field, "{0} {path}: inside the repository ({root}); write it somewhere else",
                               path=str(path), root=str(base))


def scratch_copy(text: str, prefix: str, suffix: str = ".yaml") -> Path:
    """A private temporary copy for an editor to work on."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(tmp)


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)
