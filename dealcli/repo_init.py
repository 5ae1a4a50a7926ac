"""`dealcli init`: a new repository, optionally with example data."""

from __future__ import annotations

import os
from pathlib import Path

from dealcli import FORMAT_VERSION
from dealcli.errors import RuleViolation, Violation
from dealcli.model import default_pipeline
from dealcli.storage import atomic, yamlcodec
from dealcli.storage.repository import CACHE_DIR, CONFIG_NAME, Repository


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
    if (path / CONFIG_NAME).exists():
        raise RuleViolation(Violation("repository-exists", f"{path / CONFIG_NAME} already exists; "
                                      "refusing to overwrite a repository", "path", str(path)))
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
    repo.save("pipelines", pipeline.id, pipeline.to_dict(), expect=atomic.MISSING)
    gitignore = path / ".gitignore"
    existing = atomic.read_bytes(gitignore) or b""
    if f"{CACHE_DIR}/".encode() not in existing.splitlines():
        sep = b"" if not existing or existing.endswith(b"\n") else b"\n"
        atomic.write_atomic(gitignore, existing + sep + f"{CACHE_DIR}/\n".encode())
    # the settings file last: until it exists, this is not a repository
    atomic.write_atomic(path / CONFIG_NAME, yamlcodec.dumps(config).encode(), expect=atomic.MISSING)
    return repo
