"""auto_commit: each command that writes commits its own change (real git, a temporary
repository)."""

from __future__ import annotations

import subprocess

from conftest import Runner


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def test_init_git_and_auto_commit(tmp_path):
    root = tmp_path / "team"
    run = Runner(tmp_path)
    run.ok("init", "--git", root, "--timezone", "UTC")
    assert "merge=dealcli" in (root / ".gitattributes").read_text()
    assert git(root, "config", "merge.dealcli.driver").strip().endswith("merge-file %O %A %B %P")
    git(root, "config", "user.name", "CI")
    git(root, "config", "user.email", "ci@example.com")
    text = (root / "dealcli.yaml").read_text()
    (root / "dealcli.yaml").write_text(text + "auto_commit: true\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    cli = Runner(root)
    d = cli.ok("deal", "add", "Big one", user="ann@example.com").strip()
    cli.ok("deal", "move", d, "preparation", user="ann@example.com")
    cli.ok("deal", "show", d)  # reads only: no commit
    log = git(root, "log", "--format=%an <%ae>|%s").splitlines()
    assert log[0] == f"ann@example.com <ann@example.com>|deal {d} moved new → preparation"
    assert log[1] == f"ann@example.com <ann@example.com>|deal {d} created in new"
    assert len(log) == 3
    assert git(root, "status", "--porcelain") == ""
    # a refused command commits nothing
    assert cli("deal", "move", d, "nowhere").returncode == 1
    assert len(git(root, "log", "--format=%s").splitlines()) == 3


def test_git_setup_is_idempotent_and_needs_git(tmp_path, cli, repo):
    r = cli("git", "setup")
    assert r.returncode == 3 and "not in a git repository" in r.stderr
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    cli.ok("git", "setup")
    first = (repo / ".gitattributes").read_text()
    r = cli("git", "setup")
    assert r.returncode == 0 and "already set up" in r.stderr
    assert (repo / ".gitattributes").read_text() == first


def test_sync_without_remote_commits_locally(tmp_path, cli, repo):
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "config", "user.name", "CI")
    git(repo, "config", "user.email", "ci@example.com")
    cli.ok("deal", "add", "X")
    r = cli("sync")
    assert r.returncode == 0 and "no git remote" in r.stderr
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "--format=%an").strip() == "tester@example.com"
