"""Helpers of the intake tests: bytes on stdin, intake settings, reading records."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from pathlib import Path

import yaml

from conftest import NOW

FIXTURES = Path(__file__).parent / "fixtures" / "intake"


def run_bytes(cli, *args, data: bytes = b"", env: dict | None = None, user: str = "tester@example.com"):
    """`dealcli ARGS` with raw bytes on stdin (a mail server's pipe); text output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    full_env.update({"DEALCLI_USER": user, "NO_COLOR": "1", "TZ": "UTC", "DEALCLI_NOW": NOW, **(env or {})})
    proc = subprocess.run([cli.exe, *map(str, args)], input=data, capture_output=True, env=full_env,
                          cwd=cli.root, timeout=60)
    proc.stdout, proc.stderr = proc.stdout.decode(), proc.stderr.decode()
    return proc


def configure(repo: Path, settings: dict | None = None, **intake) -> None:
    """intake: settings of dealcli.yaml (and other top-level `settings`)."""
    path = repo / "dealcli.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intake"] = intake
    data.update(settings or {})
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def records(repo: Path, kind: str) -> dict[str, dict]:
    folder = repo / kind
    if not folder.is_dir():
        return {}
    from dealcli.storage import yamlcodec  # as dealcli reads them: times stay text

    return {p.stem: yamlcodec.loads(p.read_bytes()) for p in sorted(folder.glob("*.yaml"))}


def failed(repo: Path) -> dict[str, dict]:
    return records(repo / "inbox", "failed")


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("dealcli: error")]


@contextlib.contextmanager
def lock_held(repo: Path):
    """The repository's write lock, held by "another process" (this test) meanwhile."""
    lock = repo / ".dealcli" / "lock"
    lock.parent.mkdir(exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
