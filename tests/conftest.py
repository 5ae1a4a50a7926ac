"""Shared fixtures.

CLI tests call `dealcli.cli.main(argv)` IN-PROCESS by default (the `cli` fixture, the Runner of
`repo`): the same argv, environment, working folder, stdin and exit code as a run of the
console script, without paying a Python start-up per call. Tests that need a real process
(kills, several processes at once, a pseudo-terminal, shell completion, pipes between
processes, `--version` start-up) call `cli.proc(...)` (or `Runner(..., subprocess=True)`),
which runs the installed `dealcli` script like a user, a cron job or a CI script does; so does
tests/test_smoke_cli.py for the main commands. `DEALCLI_TEST_SUBPROCESS=1 make test` runs every
CLI call as a subprocess (to check that both ways agree)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

NOW = "2026-03-10T12:00:00+00:00"  # a Tuesday
FIXTURES = Path(__file__).parent / "fixtures"
ALL_SUBPROCESS = os.environ.get("DEALCLI_TEST_SUBPROCESS", "") not in ("", "0")
# $COLUMNS fits every table (views/fit.py), and pytest-xdist's workers export COLUMNS=80: a test's
# width is the one it asks for, never the test runner's
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def dealcli_bin() -> str:
    here = Path(sys.executable).parent / "dealcli"
    if here.exists():
        return str(here)
    found = shutil.which("dealcli")
    if not found:
        raise RuntimeError("the dealcli console script is not installed (run `make test`)")
    return found


def _pipe(data: bytes = b"", errors: str = "strict") -> io.TextIOWrapper:
    """A text stream over bytes, shaped like a pipe: `.buffer` works, isatty() is False and
    fileno() raises (io.UnsupportedOperation)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors, newline=None)


def _text(stream: io.TextIOWrapper) -> str:
    """What `subprocess.run(..., text=True)` makes of the bytes: UTF-8, universal newlines."""
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


class _InProcess:
    """Everything process-global that one in-process run of dealcli.cli.main changes, saved
    and put back: environment (+ time.tzset for TZ), working folder, sys.argv, the standard
    streams (dealcli itself is handed them as its env.Environment; Click's own help, usage
    errors and prompts still use sys.std*), and the lazily registered commands of the root app
    (emptied for the run, as in a fresh process, so that each run registers only its own command
    module, in the same order)."""

    @staticmethod
    def run(argv: list[str], env: dict, cwd: Path, input: str | None) -> subprocess.CompletedProcess:
        from dealcli import cli as cli_mod
        from dealcli.env import Environment

        app = cli_mod._app
        saved_app = (list(app.registered_commands), list(app.registered_groups), set(cli_mod._registered))
        saved_env = dict(os.environ)
        saved_cwd = os.getcwd()
        saved_std = (sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.argv)
        stdin = _pipe((input or "").encode("utf-8"))
        stdout, stderr = _pipe(), _pipe(errors="backslashreplace")  # as Python sets them up
        code = 0
        try:
            os.environ.clear()
            os.environ.update(env)
            time.tzset()
            os.chdir(cwd)
            app.registered_commands[:], app.registered_groups[:] = [], []
            cli_mod._registered.clear()
            cli_mod._current.clear()
            # sys.__stdout__ too: shutil.get_terminal_size() asks it, and a pipe has no size
            sys.stdin, sys.stdout, sys.stderr, sys.__stdout__ = stdin, stdout, stderr, stdout
            sys.argv = ["dealcli", *argv]
            try:
                cli_mod.main(argv, env=Environment(stdin, stdout, stderr, os.environ))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.argv = saved_std
            cli_mod._current.clear()
            app.registered_commands[:], app.registered_groups[:] = saved_app[0], saved_app[1]
            cli_mod._registered.clear()
            cli_mod._registered.update(saved_app[2])
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            time.tzset()
        return subprocess.CompletedProcess(["dealcli", *argv], code, _text(stdout), _text(stderr))


def json_decimal(text: str):
    """dealcli's JSON as scripts should read it: money and other decimals (JSON numbers written
    with their exact decimal text) as exact Decimals (docs/format.md)."""
    import json
    from decimal import Decimal

    return json.loads(text, parse_float=Decimal)


def json_exact_text(text: str):
    """dealcli's JSON with each decimal number as its exact text ("1500.00", "4.1"), for tests
    that compare against the decimal text itself."""
    import json

    return json.loads(text, parse_float=str)


class Runner:
    """`Runner(root)(*args)` runs dealcli with `args` in folder `root` and returns a
    subprocess.CompletedProcess (returncode, stdout, stderr, args). In-process unless
    `subprocess=True` (for the Runner) or `.proc(...)` (for one call); `subprocess=False`
    keeps it in-process even under DEALCLI_TEST_SUBPROCESS=1."""

    def __init__(self, root: Path, subprocess: bool | None = None):
        self.root = root
        self.exe = dealcli_bin()
        self.subprocess = ALL_SUBPROCESS if subprocess is None else subprocess

    def __call__(self, *args, input: str | None = None, now: str | None = NOW, user: str = "tester@example.com",
                 env: dict | None = None, cwd: Path | None = None, check: bool = False, timeout: float = 60,
                 subprocess: bool | None = None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
        full_env.update({"DEALCLI_USER": user, "NO_COLOR": "1", "TZ": "UTC"})
        if now:
            full_env["DEALCLI_NOW"] = now
        full_env.update(env or {})
        argv = [str(a) for a in args]
        if self.subprocess if subprocess is None else subprocess:
            proc = _run_process([self.exe, *argv], input=input, env=full_env, cwd=cwd or self.root, timeout=timeout)
        else:  # `timeout` does not apply in-process
            proc = _InProcess.run(argv, full_env, Path(cwd or self.root), input)
        if check and proc.returncode != 0:
            raise AssertionError(f"dealcli {' '.join(argv)} -> {proc.returncode}\n{proc.stderr}")
        return proc

    def ok(self, *args, **kw) -> str:
        """Run, require exit 0, return stdout."""
        return self(*args, check=True, **kw).stdout

    def proc(self, *args, **kw):
        """Run as a real `dealcli` process (for what only a process shows)."""
        return self(*args, subprocess=True, **kw)


def _run_process(argv, input, env, cwd, timeout):
    return subprocess.run(argv, input=input, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def plant_journal(root: Path, txid: str, state: str, **fields) -> Path:
    """A journal entry in the format storage/journal.py writes (bound to the repository at `root`,
    with its checksum), as a command killed at that point leaves it."""
    from dealcli.storage import journal

    body = {"format": journal.FORMAT, "repository": journal.repository_id(root / ".dealcli"), "txid": txid,
            "state": state, **fields}
    folder = root / ".dealcli" / journal.JOURNAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{txid}.json"
    path.write_bytes(journal.encode(body))
    return path


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/*.txt from the current output (also: UPDATE_GOLDEN=1).")


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
