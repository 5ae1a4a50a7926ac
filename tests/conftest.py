"""Shared fixtures. CLI tests run the installed `dealcli` console script in a subprocess, the
way a user, a cron job or a CI script calls it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-03-10T12:00:00+00:00"  # a Tuesday
FIXTURES = Path(__file__).parent / "fixtures"


def dealcli_bin() -> str:
    here = Path(sys.executable).parent / "dealcli"
    if here.exists():
        return str(here)
    found = shutil.which("dealcli")
    if not found:
        raise RuntimeError("the dealcli console script is not installed (run `make test`)")
    return found


class Runner:
    def __init__(self, root: Path):
        self.root = root
        self.exe = dealcli_bin()

    def __call__(self, *args, input: str | None = None, now: str | None = NOW, user: str = "tester@example.com",
                 env: dict | None = None, cwd: Path | None = None, check: bool = False, timeout: float = 60):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
        full_env.update({"DEALCLI_USER": user, "NO_COLOR": "1", "TZ": "UTC"})
        if now:
            full_env["DEALCLI_NOW"] = now
        full_env.update(env or {})
        proc = subprocess.run([self.exe, *map(str, args)], input=input, capture_output=True, text=True,
                              env=full_env, cwd=cwd or self.root, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"dealcli {' '.join(map(str, args))} -> {proc.returncode}\n{proc.stderr}")
        return proc

    def ok(self, *args, **kw) -> str:
        """Run, require exit 0, return stdout."""
        return self(*args, check=True, **kw).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """An empty repository with the default pipeline (made by the real `dealcli init`)."""
    root = tmp_path / "repo"
    Runner(tmp_path)("init", root, "--timezone", "UTC", check=True)
    return root


@pytest.fixture
def cli(repo) -> Runner:
    return Runner(repo)


@pytest.fixture
def session(repo):
    """An in-process Session on `repo` for core-layer tests."""
    from dealcli.session import Session

    return Session(repo_root=repo, as_user="tester@example.com", now_text=NOW, quiet=True)
