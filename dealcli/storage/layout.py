"""Where things are in a repository folder: the settings file, the record folders, the local
cache, and where each record's file is (flat or sharded). Shared by the repository and the index
cache (and nothing else decides it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from dealcli import kinds as _kinds

CONFIG_NAME = "dealcli.yaml"
CACHE_DIR = ".dealcli"
INDEX_NAME = "index.sqlite"  # the index cache inside CACHE_DIR (storage/index.py)
# the record folders and how a message names one record of each: declared in dealcli/kinds.py
KINDS, SINGULAR = _kinds.FOLDERS, _kinds.SINGULAR
SUFFIX = ".yaml"
RECORD_MAX = 16 << 20  # bytes: a larger record file is refused (readers exit 5, writers exit 2), see docs/format.md
# what the write gate may write (and so what recovery may touch): files in the record folders and
# the attachment folder, and these files at the top of the repository
GATE_FOLDERS = KINDS + ("attachments",)
GATE_FILES = (CONFIG_NAME, ".gitignore", ".gitattributes")
REPOSITORY_ID = "id"  # inside CACHE_DIR: binds the intent journal to this repository (storage/journal.py)
MAX_ID = 200


def is_id(text: str) -> bool:
    """Could `text` be a record id (a file name in its folder)? Never a path: no `/`, `\\`, NUL,
    no leading `.` (so no `..`), no surrounding blanks."""
    return (bool(text) and len(text) <= MAX_ID and text == text.strip() and not text.startswith(".")
            and not any(c in text for c in "/\\\x00"))


def path_like(text: str) -> bool:
    """A reference that reads as a file path (`../x`, `/etc/passwd`, `./x`, `~/x`, `a/../b`):
    refused as a reference to any record, whether by id or by name."""
    t = text.strip()
    return (t.startswith(("/", "./", "../", "~/", ".\\", "..\\")) or t in (".", "..") or "\x00" in t
            or ".." in t.replace("\\", "/").split("/") and ("/" in t or "\\" in t))


# -- sharded layout: where a record's file is (docs/format.md, "Sharded folders") ------------------
# `layout: {shard: N}` in dealcli.yaml puts each record of a sharded kind (kinds.SHARDED: deals,
# activities) at `<folder>/<first N characters of its id>/<id>.yaml`. Ids are random from their
# first character (dealcli/ids.py), so the leading characters spread records evenly over the
# shard folders (32 of them for N=1, 1024 for N=2) and an id prefix names its shard folder, so
# `deal show 3fa` still reads one folder. Without the setting the layout is flat, as ever.
SHARDED = _kinds.SHARDED
WIDTHS = (1, 2)  # the shard widths a repository may name


def shard_width(config: object) -> int:
    """The shard width dealcli.yaml names (`layout: {shard: N}`); 0 (flat) without it or for a
    value that is no width (`check` reports such a value)."""
    layout = config.get("layout") if isinstance(config, dict) else None
    width = layout.get("shard") if isinstance(layout, dict) else None
    return width if type(width) is int and width in WIDTHS else 0


def shard_of(record_id: str, width: int) -> str:
    """The shard folder of an id: its first `width` characters, in lower case (one folder on a
    file system that ignores case)."""
    return record_id[:width].lower()


def place(kind: str, record_id: str, width: int) -> str:
    """THE layout function: the repository-relative path of a record's file (`deals/ab/ab3x.yaml`
    with width 2, `deals/ab3x.yaml` flat; kinds that do not shard are always flat)."""
    if width and kind in SHARDED:
        return f"{kind}/{shard_of(record_id, width)}/{record_id}{SUFFIX}"
    return f"{kind}/{record_id}{SUFFIX}"


def places(kind: str, record_id: str, width: int) -> list[str]:
    """Where a record's file may be: the layout's place first, then, in a sharded layout, where
    another layout puts it (a file a migration has not moved yet: `dealcli layout` killed midway,
    or a file added by hand), so readers find it either way."""
    first = place(kind, record_id, width)
    if not width or kind not in SHARDED:
        return [first]
    return list(dict.fromkeys([first, *(place(kind, record_id, w) for w in (0, *WIDTHS))]))


def _in_shard(record_id: str, shard: str) -> bool:
    return shard_of(record_id, len(shard)) == shard


def record_of(rel: str) -> tuple[str, str] | None:
    """(kind, id) of a repository-relative path that is a record file where some layout puts it
    (`deals/ab3x.yaml`, `deals/ab/ab3x.yaml`, `deals/a/ab3x.yaml`); None for any other path."""
    parts = rel.split("/")
    name = parts[-1]
    if not name.endswith(SUFFIX) or name.startswith("."):
        return None
    record_id = name[: -len(SUFFIX)]
    if len(parts) == 2 and parts[0] in KINDS:
        return parts[0], record_id
    if len(parts) == 3 and parts[0] in SHARDED and 0 < len(parts[1]) <= max(WIDTHS) and _in_shard(record_id, parts[1]):
        return parts[0], record_id
    return None


def record_at_end(path: str) -> tuple[str, str] | None:
    """record_of of the end of a path that may start above the repository (`crm/deals/ab/x.yaml`,
    as git names a file of a repository in a subfolder of its work tree)."""
    parts = path.replace("\\", "/").split("/")
    for n in (2, 3):
        found = record_of("/".join(parts[-n:])) if len(parts) >= n else None
        if found is not None:
            return found
    return None


def _is_shard(entry: os.DirEntry[str], prefix: str) -> bool:
    """A shard folder (a name of at most max(WIDTHS) characters, a real folder) that may hold ids
    starting with `prefix`."""
    name, low = entry.name, prefix.lower()
    return (0 < len(name) <= max(WIDTHS) and not name.startswith(".") and name.startswith(low[:len(name)])
            and low.startswith(name[:len(low)]) and entry.is_dir(follow_symlinks=False))


def shard_folders(folder: str | os.PathLike[str]) -> list[os.DirEntry[str]]:
    """The shard folders in a kind's folder, sorted by name."""
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if _is_shard(e, "")), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def scan(folder: str | os.PathLike[str], kind: str, width: int,
         prefix: str = "", strays: list[str] | None = None) -> Iterator[tuple[str, str, os.DirEntry[str]]]:
    """THE listing of a kind's record files: (id, shard folder or "", DirEntry) of every
    `*.yaml` name in the folder and, in a sharded layout, in its shard folders (only the files at
    a place `places` names). Ids starting with `prefix` only, when given. `strays` (a list):
    collects the `<shard>/<name>` of the files in shard folders that are at no such place; with a
    flat layout the shard folders are then read too, so `check` can name every file out of place.
    FileNotFoundError when the folder is missing."""
    shard = kind in SHARDED and (width or strays is not None)
    subs: list[os.DirEntry[str]] = []
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            if name.endswith(SUFFIX) and not name.startswith("."):
                if name.startswith(prefix):
                    yield name[: -len(SUFFIX)], "", entry
            elif shard and _is_shard(entry, prefix):
                subs.append(entry)
    for sub in sorted(subs, key=lambda e: e.name):
        try:
            inner = os.scandir(sub.path)
        except OSError:
            continue
        with inner:
            for entry in inner:
                name = entry.name
                if not name.endswith(SUFFIX) or name.startswith(".") or not name.startswith(prefix):
                    continue
                record_id = name[: -len(SUFFIX)]
                if width and _in_shard(record_id, sub.name):
                    yield record_id, sub.name, entry
                elif strays is not None:
                    strays.append(f"{sub.name}/{name}")
