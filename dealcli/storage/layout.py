"""Where things are in a repository folder: the settings file, the record folders, the local
cache. Shared by the repository and the index cache (and nothing else decides it)."""

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
