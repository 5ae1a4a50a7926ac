"""`check`'s per-file verdicts, kept by content (issue 29): `.dealcli/check.sqlite`.

A deal's own problems (schema, types, stage rules, history: rules.record) depend on its bytes
and on what `check` judges it by: the settings, the pipelines, the pipelines that cannot be read,
the rules' code and schemas, and the language of the messages. Each verdict is stored under the
blake2b digest of the file's bytes and of all of those (the context), so a file edited in any
way (by dealcli, by hand, by git) or any change to the settings, a pipeline, the code or the
language is a miss, and the file is parsed and judged again. What a verdict cannot hold is the
links: whether the companies and contacts a deal names exist is asked again on every run, from
the link values stored with the verdict; a link that dangles sends the file through the full
check, so its message and line are exactly those of a fresh parse.

Like the index cache it never decides what is true: a cache that cannot be opened, read or
written is deleted or left alone and every file is judged afresh; `DEALCLI_NO_INDEX=1` switches
it off; deleting it is always safe. Verdicts of files that no longer exist are dropped when
the whole repository is checked.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
from hashlib import blake2b
from pathlib import Path

NAME = "check.sqlite"


def _code_stamp() -> list:
    """The rules' code and schemas, by name, size and mtime (an upgrade or an edit is a change)."""
    import dealcli
    from dealcli.validation import schemas

    out = []
    for folder in (Path(dealcli.__file__).parent, schemas.folder()):
        for base, _dirs, names in os.walk(folder):
            for name in sorted(names):
                if name.endswith((".py", ".json")):
                    st = os.stat(os.path.join(base, name))
                    out.append((os.path.join(base, name), st.st_size, st.st_mtime_ns))
    return sorted(out)


def context(s, broken: set) -> bytes:
    """The digest of everything besides a file's bytes that its verdict depends on."""
    repo = s.repo
    parts: list = [_code_stamp(), sorted(broken), sorted((k, v) for k, v in os.environ.items()
                                                         if k.startswith(("LANG", "LC_", "DEALCLI_LANG")))]
    with contextlib.suppress(OSError):
        parts.append((repo.root / "dealcli.yaml").read_bytes())
    folder = repo.root / "pipelines"
    if folder.is_dir():
        for name in sorted(os.listdir(folder)):
            with contextlib.suppress(OSError):
                parts.append((name, (folder / name).read_bytes()))
    return blake2b(pickle.dumps(parts, 4), digest_size=16).digest()


def key(ctx: bytes, raw: bytes) -> bytes:
    return blake2b(raw, digest_size=16, key=ctx).digest()


class Verdicts:
    """name -> (key, stored verdict) of one kind, loaded at once; new verdicts written by save()."""

    def __init__(self, cache_dir: Path, kind: str, ctx: bytes):
        self.path = Path(cache_dir) / NAME
        self.kind, self.ctx = kind, ctx
        self.known: dict[str, tuple[bytes, bytes]] = {}
        self.ok = False
        from dealcli.storage import index

        if index.disabled():
            return
        try:
            db = self._open()
            try:
                self.known = {n: (k, b) for n, k, b in db.execute(
                    "SELECT name, key, verdict FROM verdicts WHERE kind = ?", (kind,))}
            finally:
                db.close()
            self.ok = True
        except Exception:  # noqa: BLE001 - a broken cache is deleted, never fails a command
            self._discard()

    def _open(self):
        import sqlite3

        self.path.parent.mkdir(exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("CREATE TABLE IF NOT EXISTS verdicts (kind TEXT NOT NULL, name TEXT NOT NULL, key BLOB NOT NULL, "
                   "verdict BLOB NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID")
        return db

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.path) + suffix)

    def get(self, name: str, raw: bytes):
        """(problems, link data) stored for exactly these bytes in this context, or None."""
        got = self.known.get(name)
        if got is None or got[0] != key(self.ctx, raw):
            return None
        return pickle.loads(got[1])  # noqa: S301 - our own cache file

    def part(self, names: list[str]) -> Verdicts:
        """A copy holding only the verdicts of `names` (all a worker judging them needs)."""
        out = copy.copy(self)
        out.known = {n: self.known[n] for n in names if n in self.known}
        return out

    def entry(self, name: str, raw: bytes, problems: list, links: dict) -> tuple:
        return name, key(self.ctx, raw), pickle.dumps((problems, links), 4)

    def save(self, entries: list, present: set | None = None) -> None:
        """Store new verdicts; with `present` (every name of the kind) drop those of gone files."""
        if not self.ok or (not entries and present is None):
            return
        try:
            db = self._open()
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO verdicts (kind, name, key, verdict) VALUES (?,?,?,?)",
                               [(self.kind, *e) for e in entries])
                if present is not None:
                    db.executemany("DELETE FROM verdicts WHERE kind = ? AND name = ?",
                                   [(self.kind, n) for n in self.known if n not in present])
                db.execute("COMMIT")
            finally:
                db.close()
        except Exception:  # noqa: BLE001
            self._discard()
