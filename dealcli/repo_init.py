"""`dealcli init`: a new repository, optionally with example data."""

from __future__ import annotations

import os
from pathlib import Path

from dealcli import FORMAT_VERSION
from dealcli.errors import RuleViolation, Violation
from dealcli.model import default_pipeline
from dealcli.storage import atomic
from dealcli.storage.layout import CACHE_DIR, CONFIG_NAME
from dealcli.storage.repository import Repository
from dealcli.i18n import Text


# what git must not see: the local cache, and the hidden temporary files of a write that a
# crash interrupted (the next command removes them; see storage/journal.py)
GITIGNORE = (f"{CACHE_DIR}/", ".*.tmp", ".*.old")


def local_zone_name() -> str:
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz:
        return tz
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"


def init(path: Path, currency: str = "USD", timezone: str | None = None) -> Repository:
    path = Path(path)
    if timezone is not None:  # refused up front (exit 2), never stored
        from dealcli import timeutil
        from dealcli.errors import UsageError

        try:
            timeutil.zone(timezone)
        except timeutil.DateError as exc:
            raise UsageError.about("timezone", "{0}: {problem}", problem=str(exc)) from None
    if (path / CONFIG_NAME).exists():
        raise RuleViolation(Violation("repository-exists", Text("{path_config_name} already exists; "
                                           "refusing to overwrite a repository",
                                                                path_config_name=path / CONFIG_NAME),
                                                           "path", str(path)))
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT_VERSION,
        "currency": currency,
        "timezone": timezone or local_zone_name(),
        "default_pipeline": "sales",
        "default_user": None,
        "users": {},
        "roles": {},
        "filters": {},
    }
    repo = Repository(path)
    pipeline = default_pipeline()
    with repo.transaction():
        repo.create("pipelines", pipeline.id, pipeline)
        existing = repo.read_file(".gitignore")
        lines = (existing or b"").splitlines()
        missing = [line for line in GITIGNORE if line.encode() not in lines]
        if missing:
            sep = b"" if not existing or existing.endswith(b"\n") else b"\n"
            repo.write_file(".gitignore", (existing or b"") + sep + "".join(f"{m}\n" for m in missing).encode(),
                            expect=existing if existing is not None else atomic.MISSING)
        # the settings file last: until it exists, this is not a repository
        repo.save("config", "dealcli", config, expect=atomic.MISSING)
    return repo
