"""Access rights over git history, with the real git binary in temporary folders:
`dealcli check --audit` over a scripted history, and `dealcli git-hook pre-receive` installed
into a bare repository that two clones push to."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import Runner, dealcli_bin

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")

BOSS = "boss@x.io"


def git(cwd: Path, *args: str, email: str = BOSS, check: bool = True, extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DEALCLI_"))}
    env.update(extra or {})
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "GIT_AUTHOR_DATE": "2026-03-10T12:00:00Z",
                "GIT_COMMITTER_DATE": "2026-03-10T12:00:00Z"})
    out = subprocess.run(["git", "-c", f"user.email={email}", "-c", "user.name=x", "-c", "init.defaultBranch=main",
                          *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {out.stderr}")
    return out


def commit_all(cwd: Path, message: str, email: str) -> str:
    git(cwd, "add", "-A", email=email)
    git(cwd, "commit", "-q", "-m", message, email=email)
    return git(cwd, "rev-parse", "HEAD", email=email).stdout.strip()


def make_team(cli: Runner) -> dict:
    cli.ok("user", "add", "boss", "--email", BOSS, "--role", "admin", user=BOSS)
    cli.ok("dept", "add", "east", user=BOSS)
    cli.ok("dept", "add", "west", user=BOSS)
    cli.ok("user", "add", "alice", "--email", "alice@x.io", "--dept", "east", user=BOSS)
    cli.ok("user", "add", "bob", "--email", "bob@x.io", "--dept", "west", user=BOSS)
    return {who: cli.ok("deal", "add", f"{who} deal", user=f"{who}@x.io").strip() for who in ("alice", "bob")}


def edit_by_hand(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


def test_audit_lists_every_commit_its_author_was_not_allowed(cli, repo):
    git(repo, "init", "-q")
    history = {"setup": None}
    ids = make_team(cli)
    history["setup"] = commit_all(repo, "team and deals", BOSS)
    # 1. allowed: alice edits her own deal
    cli.ok("deal", "edit", ids["alice"], "--title", "alice deal 2", user="alice@x.io")
    history["ok"] = commit_all(repo, "alice edits hers", "alice@x.io")
    # 2. alice edits bob's deal by hand (the CLI would refuse it)
    edit_by_hand(repo / "deals" / f"{ids['bob']}.yaml", "title: bob deal", "title: mine now")
    history["other-dept"] = commit_all(repo, "alice edits bob's", "alice@x.io")
    # 3. an unknown author
    edit_by_hand(repo / "deals" / f"{ids['alice']}.yaml", "alice deal 2", "alice deal 3")
    history["unknown"] = commit_all(repo, "who is this", "mallory@evil.example")
    # 4. bob closes his deal lost (allowed), then reopens it by hand (a manager may not)
    cli.ok("deal", "close", ids["bob"], "--lost", "--reason", "price", user=BOSS)
    history["closed"] = commit_all(repo, "bob lost it", "bob@x.io")
    path = repo / "deals" / f"{ids['bob']}.yaml"
    edit_by_hand(path, "status: lost", "status: open")
    edit_by_hand(path, "stage: lose", "stage: new")
    history["reopen"] = commit_all(repo, "bob reopens", "bob@x.io")
    # 5. alice makes herself admin in dealcli.yaml: judged by the settings before the commit
    edit_by_hand(repo / "dealcli.yaml", "    - manager\n", "    - admin\n")
    history["self-admin"] = commit_all(repo, "promote me", "alice@x.io")

    r = cli("check", "--audit", user=BOSS)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    by_commit = {}
    for line in lines:
        by_commit.setdefault(line.split()[0], []).append(line)
    short = {k: v[:10] for k, v in history.items()}
    assert set(by_commit) == {short["other-dept"], short["unknown"], short["reopen"], short["self-admin"]}, r.stdout
    assert f"deals/{ids['bob']}.yaml: alice may not edit deal {ids['bob']}" in by_commit[short["other-dept"]][0]
    assert "author mallory@evil.example is not a user of the repository [unknown-author]" in by_commit[short["unknown"]][0]
    assert f"bob may not reopen deal {ids['bob']} (role manager: deal:reopen=none)" in by_commit[short["reopen"]][0]
    assert "dealcli.yaml: alice may not change the settings" in by_commit[short["self-admin"]][0]
    # a range: only the commits in it
    r = cli("check", "--audit", f"{history['setup']}..{history['closed']}", "-f", "json", user=BOSS)
    import json

    found = json.loads(r.stdout)
    assert r.returncode == 1 and {f["commit"] for f in found} == {history["other-dept"], history["unknown"]}
    assert cli("check", "--audit", f"{history['setup']}..{history['ok']}", user=BOSS).returncode == 0


@pytest.fixture
def shared(tmp_path, repo):
    """A bare repository with the pre-receive hook, seeded from `repo` (team + two deals), and two
    clones: alice's and bob's."""
    cli = Runner(repo)
    ids = make_team(cli)
    git(repo, "init", "-q")
    commit_all(repo, "team", BOSS)
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {dealcli_bin()} git-hook pre-receive\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    git(repo, "push", "-q", str(bare), "HEAD:refs/heads/main")
    clones = {}
    for who in ("alice", "bob"):
        clones[who] = tmp_path / who
        git(tmp_path, "clone", "-q", str(bare), str(clones[who]))
    return bare, clones, ids


def remote_head(bare: Path) -> str:
    return git(bare, "rev-parse", "refs/heads/main").stdout.strip()


def test_pre_receive_lets_an_allowed_push_land(shared):
    bare, clones, ids = shared
    alice = Runner(clones["alice"])
    alice.ok("deal", "edit", ids["alice"], "--title", "better title", user="alice@x.io")
    sha = commit_all(clones["alice"], "retitle", "alice@x.io")
    r = git(clones["alice"], "push", "origin", "HEAD:main", email="alice@x.io", check=False)
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == sha


def test_pre_receive_refuses_a_forbidden_push_and_says_why(shared):
    bare, clones, ids = shared
    before = remote_head(bare)
    edit_by_hand(clones["bob"] / "deals" / f"{ids['alice']}.yaml", "title: alice deal", "title: bob was here")
    commit_all(clones["bob"], "bob edits alice's deal", "bob@x.io")
    r = git(clones["bob"], "push", "origin", "HEAD:main", email="bob@x.io", check=False)
    assert r.returncode != 0
    assert "remote: dealcli: refused: refs/heads/main: " in r.stderr
    assert f"deals/{ids['alice']}.yaml: bob may not edit deal {ids['alice']}" in r.stderr
    assert "remote: dealcli: push refused" in r.stderr
    assert remote_head(bare) == before
    # an unknown author is refused too
    git(clones["bob"], "reset", "-q", "--hard", "origin/main", email="bob@x.io")
    edit_by_hand(clones["bob"] / "deals" / f"{ids['bob']}.yaml", "title: bob deal", "title: x")
    commit_all(clones["bob"], "anonymous", "someone@else.example")
    r = git(clones["bob"], "push", "origin", "HEAD:main", email="bob@x.io", check=False)
    assert r.returncode != 0 and "[unknown-author]" in r.stderr
    assert remote_head(bare) == before


def test_pre_receive_refuses_a_push_that_leaves_check_failing(shared):
    bare, clones, ids = shared
    before = remote_head(bare)
    edit_by_hand(clones["alice"] / "deals" / f"{ids['alice']}.yaml", "stage: new", "stage: nowhere")
    commit_all(clones["alice"], "broken stage", "alice@x.io")
    r = git(clones["alice"], "push", "origin", "HEAD:main", email="alice@x.io", check=False)
    assert r.returncode != 0 and "check:" in r.stderr and "nowhere" in r.stderr
    assert remote_head(bare) == before


def test_pre_receive_with_an_authenticated_pusher(shared):
    """With the server naming the pusher (here DEALCLI_PUSHER; Gitolite sets GL_USER), bob may
    not push a commit that claims to be alice's; the admin may push it for her."""
    bare, clones, ids = shared
    before = remote_head(bare)
    edit_by_hand(clones["bob"] / "deals" / f"{ids['alice']}.yaml", "title: alice deal", "title: signed alice")
    sha = commit_all(clones["bob"], "pretending to be alice", "alice@x.io")
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra={"DEALCLI_PUSHER": "bob@x.io"})
    assert r.returncode != 0 and "pushed by bob@x.io, authored by alice" in r.stderr and "[pusher]" in r.stderr
    assert remote_head(bare) == before
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra={"DEALCLI_PUSHER": "boss"})
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == sha
