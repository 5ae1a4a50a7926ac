"""auto_commit: each command that writes commits its own change (real git, a temporary
repository)."""

from __future__ import annotations

import subprocess
import sys

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


def _auto_commit_repo(tmp_path):
    root = tmp_path / "team"
    Runner(tmp_path).ok("init", "--git", root, "--timezone", "UTC")
    git(root, "config", "user.name", "CI")
    git(root, "config", "user.email", "ci@example.com")
    (root / "dealcli.yaml").write_text((root / "dealcli.yaml").read_text() + "auto_commit: true\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return root


def test_concurrent_writers_each_get_their_own_commit(tmp_path):
    """auto_commit runs git under the repository lock, with exactly the files of its transaction:
    with 8 writers at once, 59 of 240 commands once got no commit of their own (their change in
    another's commit under the wrong message, or git's index.lock error, hidden by -q)."""
    from concurrent.futures import ThreadPoolExecutor

    root = _auto_commit_repo(tmp_path)
    cli = Runner(root)
    # a pre-commit hook that tells whether the dealcli lock is held while git commits (it must be)
    seen = tmp_path / "seen"
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!{sys.executable}\nimport fcntl, os\nfd = os.open('.dealcli/lock', os.O_RDWR)\n"
                    "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    word = 'unlocked'\n"
                    "except OSError:\n    word = 'locked'\n"
                    f"open({str(seen)!r}, 'a').write(word + '\\n')\n")
    hook.chmod(0o755)
    titles = [f"Writer {i}" for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda t: cli.proc("deal", "add", t, "-q", env={"DEALCLI_LOCK_TIMEOUT": "300"},
                                                 timeout=600), titles))
    assert all(r.returncode == 0 and r.stderr == "" for r in runs), [r.stderr for r in runs]
    ids = {r.stdout.strip(): t for r, t in zip(runs, titles, strict=True)}
    log = git(root, "log", "--format=%H %s").splitlines()[:-1]  # newest first; without "start"
    assert len(log) == len(titles)
    for line in log:
        sha, subject = line.split(" ", 1)
        files = git(root, "show", "--name-only", "--format=", sha).split()
        assert len(files) == 1, (subject, files)
        deal_id = files[0].removeprefix("deals/").removesuffix(".yaml")
        assert subject == f"deal {deal_id} created in new" and deal_id in ids
    assert sorted(line.split()[2] for line in log) == sorted(ids)
    assert git(root, "status", "--porcelain") == ""
    assert seen.read_text().split() == ["locked"] * len(titles)


def test_a_git_failure_names_the_file_and_the_command_even_with_quiet(tmp_path):
    root = _auto_commit_repo(tmp_path)
    (root / ".git" / "index.lock").write_text("")  # another git process, as git sees it
    r = Runner(root)("deal", "add", "Blocked", "-q")
    assert r.returncode == 0  # the change is written; git could not commit it
    deal_id = r.stdout.strip()
    assert f"warning: auto_commit: deals/{deal_id}.yaml not committed: " \
           f"`git -C {root} add -A -- deals/{deal_id}.yaml` failed:" in r.stderr and "index.lock" in r.stderr
    assert (root / "deals" / f"{deal_id}.yaml").exists()


def test_the_change_recovery_finishes_is_committed_with_a_message_that_says_so(tmp_path):
    from conftest import plant_journal

    from dealcli.storage import journal

    root = _auto_commit_repo(tmp_path)
    cli = Runner(root)
    ids = [cli.ok("deal", "add", f"D{i}").strip() for i in range(3)]
    txid = "c0ffee000002"
    ops = []
    for i in ids:  # a bulk move killed after its commit point
        raw = (root / "deals" / f"{i}.yaml").read_bytes().replace(b"stage: new", b"stage: preparation")
        (root / "deals" / f".{i}.yaml.{txid}.tmp").write_bytes(raw)
        ops.append({"path": f"deals/{i}.yaml", "digest": journal._digest(raw)})
    plant_journal(root, txid, "committed", ops=ops)
    cli.ok("filter", "-f", "ids")  # a reader: recovery finishes the move, and commits it
    subject = git(root, "log", "-1", "--format=%s").strip()
    assert subject.startswith("dealcli recover: finished the change of a command that was killed (3 file(s)")
    assert sorted(git(root, "show", "--name-only", "--format=", "HEAD").split()) == sorted(f"deals/{i}.yaml"
                                                                                         for i in ids)
    assert git(root, "status", "--porcelain") == ""
