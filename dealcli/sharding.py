"""`dealcli layout`: move every record file of the sharded kinds (kinds.SHARDED) to where a
layout puts it, flat (`deals/<id>.yaml`) or sharded (`deals/ab/<id>.yaml`), and say so in
dealcli.yaml (`layout: {shard: N}`); see docs/format.md, "Sharded folders".

A stop at any moment leaves a repository that works, and running the command again finishes:
- it runs under the repository lock (no dealcli command writes meanwhile);
- each file moves by one rename, so it is always in exactly one place, whole;
- while files may be in both places the setting names a sharded layout, whose readers look in
  every place (layout.places, layout.scan): going to shards the setting is written first, going
  back to flat it is written last, after every file moved (and the moves were synced);
- in a git work tree the renames are staged (git's index written again, in one `git update-index`
  call, from what the index and the folders hold, so a second run stages what a stopped first run
  moved), so
  `git status` and, once committed, `git log --follow` see renames."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealcli.i18n import _
from dealcli.session import Session
from dealcli.storage import layout

_rename = os.rename  # one file moved (tests stop a migration midway through it)
BATCH = 5000  # files moved per update of the index cache
DEFAULT_WIDTH = 2  # 1024 shard folders: about 1000 files each at a million records


@dataclass
class Moved:
    width: int  # the layout now: 0 flat, else the shard width
    before: int  # the layout the settings named before
    moved: dict[str, int] = field(default_factory=dict)  # kind folder -> files moved
    kept: list[str] = field(default_factory=list)  # files not moved: their place holds another file
    staged: int = 0  # renames staged in git
    git: list[str] = field(default_factory=list)  # what changed in git's files (.gitattributes)


def current(s: Session) -> dict[str, Any]:
    """The layout the settings name, and how many record files of each sharded kind are where it
    puts them and elsewhere (`dealcli layout show`)."""
    repo = s.repo
    width = repo.shard_width
    out: dict[str, Any] = {"layout": f"shard {width}" if width else "flat", "kinds": {}}
    for kind in sorted(layout.SHARDED):
        placed = elsewhere = 0
        for _record_id, sub, _entry in _files(repo.folder(kind), kind):
            if len(sub) == width:  # scan yields a shard folder only where that width puts the id
                placed += 1
            else:
                elsewhere += 1
        out["kinds"][kind] = {"placed": placed, "elsewhere": elsewhere}
    return out


def _files(folder: Path, kind: str):
    """Every record file of a kind at a place of any layout (flat or any shard width)."""
    try:
        yield from layout.scan(folder, kind, max(layout.WIDTHS))
    except (FileNotFoundError, NotADirectoryError):
        return


def migrate(s: Session, width: int | None) -> Moved:
    """Move every record file of the sharded kinds to where the layout of `width` (0: flat; None:
    the sharded layout dealcli.yaml names, else DEFAULT_WIDTH) puts it and name that layout in
    dealcli.yaml; idempotent, and finishes what a stopped run left."""
    repo = s.repo
    with repo.lock():
        before = repo.shard_width
        width = (before or DEFAULT_WIDTH) if width is None else width
        config = _with_width(repo.config, width)
        if repo.guard is not None:  # the settings right, before anything moves
            repo.guard.check_write("config", "dealcli", repo.config, config)
        done = Moved(width, before)
        if width:  # first: readers look in the shard folders from now on
            _save_config(repo, config)
        repo._index = None  # the index cache of the old layout (its width) is not used again
        if sum(_move_kind(repo, kind, width, done) for kind in sorted(layout.SHARDED)):
            os.sync()  # every rename on disk before the settings say flat (and before git is told)
        _prune(repo)
        if not width:  # last: every file is in the flat folder now
            _save_config(repo, config)
            repo._index = None
        _in_git(s, done)
    return done


def _with_width(config: dict[str, Any], width: int) -> dict[str, Any]:
    out = dict(config)
    shape = dict(out.get("layout") or {}) if isinstance(out.get("layout"), dict) else {}
    if width:
        shape["shard"] = width
    else:
        shape.pop("shard", None)
    if shape:
        out["layout"] = shape
    else:
        out.pop("layout", None)
    return out


def _save_config(repo, config: dict[str, Any]) -> None:
    if config != repo.config:
        with _one_commit(repo), repo.transaction():
            repo.save_config(config)


@contextlib.contextmanager
def _one_commit(repo) -> Iterator[None]:
    """auto_commit makes one commit of the whole change at the end (_in_git), not one per write."""
    hook, repo.on_commit = repo.on_commit, None
    try:
        yield
    finally:
        repo.on_commit = hook


def _move_kind(repo, kind: str, width: int, done: Moved) -> int:
    """Rename each file of a kind to its place (the index cache told of each batch moved);
    returns how many moved."""
    from dealcli.storage.index import _stat_key

    folder = repo.folder(kind)
    found = [(record_id, sub) for record_id, sub, _entry in _files(folder, kind)]  # names only: a million fit
    count = 0
    made: set[Path] = set()
    batch: list[tuple[str, bytes, bytes]] = []
    for record_id, sub in found:
        if len(sub) == width:  # already where the layout puts it
            continue
        want, here = layout.place(kind, record_id, width), layout.place(kind, record_id, len(sub))
        source, target = repo.root / here, repo.root / want
        if os.path.lexists(target):
            if _same(source, target):
                os.unlink(source)  # a copy of the file in its place (a hand copy, not a move)
            else:
                done.kept.append(here)
            continue
        if target.parent not in made:
            target.parent.mkdir(exist_ok=True)
            made.add(target.parent)
        try:
            old = _stat_key(os.lstat(source))
        except OSError:
            continue  # gone meanwhile (a hand delete)
        _rename(source, target)
        count += 1
        batch.append((record_id, old, _stat_key(os.lstat(target))))
        if len(batch) >= BATCH:
            _note_in_index(repo, kind, batch)
            batch = []
    _note_in_index(repo, kind, batch)
    done.moved[kind] = count
    return count


def _same(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _prune(repo) -> None:
    """Remove the shard folders left empty (all of them when going flat)."""
    for kind in sorted(layout.SHARDED):
        for sub in layout.shard_folders(repo.folder(kind)):
            try:
                os.rmdir(sub.path)
            except OSError:
                pass  # not empty: still in use


def _note_in_index(repo, kind: str, moved: list[tuple[str, bytes, bytes]]) -> None:
    """The index cache keeps its rows of the files moved (a rename changes only the ctime), so
    the next scan compares their digests instead of parsing every file again."""
    if moved and (repo.cache_dir / layout.INDEX_NAME).exists() and repo.index is not None:
        repo.index.moved(kind, moved)


def _write_index(root: Path, entries: list[tuple[bytes, int, str]]) -> None:
    """Replace git's index with `entries` (path, stage, "mode blob stage"), written from empty in
    git's order, under git's own index.lock. `git update-index --index-info` on the live index
    inserts each renamed path into a sorted array (a memmove of the entries after it): quadratic,
    about 8 of the 10 minutes `layout shard` took at a million deals; appended in order it is
    linear. The entries lose
    their stat data (a rename changes the ctime anyway), so git hashes the files once, at the
    next `git status`."""
    import subprocess

    from dealcli import gitops

    git_dir = gitops._git_dir(root)
    lock = git_dir / "index.lock"
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise gitops.GitFailed(_("git {command} failed: {error}").format(
            command="update-index", error=f"{lock} exists: another git process is running")) from None
    os.close(fd)
    fresh = git_dir / f"index.dealcli-{os.getpid()}"
    try:
        entries.sort(key=lambda e: (e[0], e[1]))
        data = b"".join(meta.encode() + b"\t" + path + b"\0" for path, _stage, meta in entries)
        proc = subprocess.run(["git", "-C", str(root), "update-index", "-z", "--index-info"], input=data,
                              capture_output=True, env={**os.environ, "GIT_INDEX_FILE": str(fresh)})
        if proc.returncode != 0:
            raise gitops.GitFailed(_("git {command} failed: {error}").format(
                command="update-index", error=proc.stderr.decode(errors="replace").strip()))
        os.replace(fresh, git_dir / "index")
    finally:
        fresh.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)


def _in_git(s: Session, done: Moved) -> None:
    """In a git work tree: the driver's lines for shard folders in .gitattributes (when it has the
    driver's lines), the renames staged (each file tracked at a place it is no longer at, and now
    at its place, moves there in git's index), the settings staged; with `auto_commit`, one commit."""
    from dealcli import gitops

    repo = s.repo
    if gitops.git(repo.root, "rev-parse", "--is-inside-work-tree", check=False).returncode != 0:
        return
    with _one_commit(repo):
        done.git = gitops.attributes(s, only_if_set_up=True)
    top = Path(gitops.git(repo.root, "rev-parse", "--show-toplevel").stdout.strip())
    prefix = gitops.git(repo.root, "rev-parse", "--show-prefix").stdout.strip()
    listed = gitops.git(repo.root, "ls-files", "-s", "-z", "--full-name", ":/").stdout.split("\0")
    entries: list[tuple[bytes, int, str]] = []  # (path as git sorts it, stage, "mode blob stage")
    for item in listed:
        meta, _tab, path = item.partition("\t")
        parts = meta.split()
        if len(parts) != 3:
            continue
        record = layout.record_of(path[len(prefix):]) if path.startswith(prefix) and parts[2] == "0" else None
        if record is not None:
            want = prefix + layout.place(*record, done.width)
            if want != path and not os.path.lexists(top / path) and os.path.lexists(top / want):
                path = want
                done.staged += 1
        entries.append((path.encode("utf-8", "surrogateescape"), int(parts[2]), meta))
    if done.staged:
        _write_index(repo.root, entries)
    gitops.git(repo.root, "add", "--", layout.CONFIG_NAME, *([".gitattributes"] if done.git else []), check=False)
    if repo.config.get("auto_commit") and (done.staged or done.before != done.width):
        what = f"shard folders of {done.width} character(s)" if done.width else "flat folders"
        paths = [p for p in (layout.CONFIG_NAME, ".gitattributes", *sorted(layout.SHARDED)) if (repo.root / p).exists()]
        gitops.commit(s, paths, f"dealcli layout: {done.staged} record file(s) moved to {what}")
