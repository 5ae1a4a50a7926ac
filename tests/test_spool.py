"""stdin spooled for the import's two passes leaves nothing behind, even when the run is killed
(the spool has no name on Linux)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import dealcli_bin
from dealcli import env as environment
from dealcli.storage import files


def test_a_spool_can_be_read_twice_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    src = tmp_path / "in.csv"
    src.write_bytes(b"title\nA\n")
    stdin = io.TextIOWrapper(open(src, "rb"))
    try:
        with environment.using(environment.Environment(stdin, io.StringIO(), io.StringIO(), {})):
            spool = files.Spool("-")
    finally:
        stdin.close()
    try:
        assert spool.path.read_bytes() == b"title\nA\n" == spool.path.read_bytes()
        if sys.platform.startswith("linux"):
            assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no named copy at any time
    finally:
        spool.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the unnamed spool is Linux's /proc/self/fd")
def test_a_killed_import_from_stdin_leaves_no_spool_file(repo, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(TMPDIR=str(scratch), DEALCLI_USER="t@example.com")
    proc = subprocess.Popen([dealcli_bin(), "import", "-"], cwd=repo, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.stdin.write(b"title,amount\n" + b"Deal,10\n" * 1000)
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the spool is open: the process holds a deleted temp file
        fds = os.listdir(f"/proc/{proc.pid}/fd") if os.path.exists(f"/proc/{proc.pid}/fd") else []
        targets = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in fds
                   if os.path.exists(f"/proc/{proc.pid}/fd/{fd}")]
        if any(str(scratch) in t for t in targets):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the import never opened its spool")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(scratch.iterdir()) == []
    assert not list(repo.glob("deals/*"))
