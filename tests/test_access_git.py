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
    assert ("author mallory@evil.example is not a user of the repository [unknown-author]"
            in by_commit[short["unknown"]][0])
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
    git(repo, "init", "-q")
    cli.ok("git", "setup", user=BOSS)
    commit_all(repo, "a new repository, no users yet", BOSS)
    ids = make_team(cli)
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
    """With the server naming the pusher (here DEALCLI_PUSHER), the pusher is judged, never the
    author e-mail: bob may not push a commit that claims to be alice's edit of her deal; the admin
    may push it for her."""
    bare, clones, ids = shared
    before = remote_head(bare)
    edit_by_hand(clones["bob"] / "deals" / f"{ids['alice']}.yaml", "title: alice deal", "title: signed alice")
    sha = commit_all(clones["bob"], "pretending to be alice", "alice@x.io")
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra={"DEALCLI_PUSHER": "bob@x.io"})
    assert r.returncode != 0 and f"bob may not edit deal {ids['alice']}" in r.stderr and "[access]" in r.stderr
    assert remote_head(bare) == before
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra={"DEALCLI_PUSHER": "nobody@x.io"})
    assert r.returncode != 0 and "pusher nobody@x.io is not a user of the repository [unknown-pusher]" in r.stderr
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra={"DEALCLI_PUSHER": "boss"})
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == sha


@pytest.mark.parametrize("variables", [{"GL_USERNAME": "{who}"}, {"GITEA_PUSHER_NAME": "{who}"},
                                       {"GITEA_PUSHER_EMAIL": "{who}@x.io", "GITEA_PUSHER_NAME": "not-a-login"},
                                       {"GL_USER": "{who}"}, {"REMOTE_USER": "{who}"}],
                         ids=["gitlab", "gitea", "gitea-email", "gitolite", "http"])
def test_each_servers_pusher_variable_names_the_one_judged(shared, variables):
    """GitLab, Gitea/Forgejo, Gitolite and an authenticating web server name the pusher their own
    way: a commit authored as the admin (self-declared) but pushed by bob is judged as bob's."""
    bare, clones, ids = shared
    before = remote_head(bare)
    edit_by_hand(clones["bob"] / "deals" / f"{ids['alice']}.yaml", "title: alice deal", "title: taken")
    sha = commit_all(clones["bob"], "signed as the boss", BOSS)
    as_bob = {k: v.format(who="bob") for k, v in variables.items()}
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra=as_bob)
    assert r.returncode != 0 and f"bob may not edit deal {ids['alice']}" in r.stderr, r.stderr
    assert remote_head(bare) == before
    as_boss = {k: v.format(who="boss") for k, v in variables.items()}
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, extra=as_boss)
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == sha


def first_commit(root: Path) -> str:
    return git(root, "rev-list", "--max-parents=0", "HEAD").stdout.split()[0]


def forged_tree(clone: Path, ids: dict) -> str:
    """bob (a manager) makes himself admin and takes alice's deal, as a tree (nothing committed)."""
    config = clone / "dealcli.yaml"
    text = config.read_text()
    start = text.index("  bob:")
    config.write_text(text[:start] + text[start:].replace("- manager", "- admin", 1))
    edit_by_hand(clone / "deals" / f"{ids['alice']}.yaml", "title: alice deal", "title: bob took it")
    git(clone, "add", "-A")
    return git(clone, "write-tree").stdout.strip()


def commit_tree(clone: Path, tree: str, *parents: str, email: str = "bob@x.io") -> str:
    args = [a for p in parents for a in ("-p", p)]
    return git(clone, "commit-tree", tree, *args, "-m", "forged", email=email,
               extra={"GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_EMAIL": email}).stdout.strip()


def assert_forgery_refused(r, ids) -> None:
    assert r.returncode != 0
    assert "bob may not change the settings in dealcli.yaml" in r.stderr, r.stderr
    assert f"bob may not edit deal {ids['alice']}" in r.stderr


@pytest.mark.parametrize("side", ["parent-before-users", "orphan"])
def test_a_side_parent_cannot_smuggle_a_change_in(shared, cli, side):
    """Issue 23: `git commit-tree $TREE -p <first commit>` (or no parent at all), then
    `git commit-tree $TREE -p HEAD -p $SIDE`, pushed as a fast-forward: the merge's files equal
    its side parent's, and the side parent predates users. The update is judged from the old tip
    to the new tip, so it is refused, with or without a pusher; `check --audit` finds it too."""
    bare, clones, ids = shared
    bob = clones["bob"]
    before = remote_head(bare)
    tree = forged_tree(bob, ids)
    side_commit = commit_tree(bob, tree, first_commit(bob)) if side == "parent-before-users" \
        else commit_tree(bob, tree)
    merge = commit_tree(bob, tree, before, side_commit)
    r = git(bob, "push", "origin", f"{merge}:refs/heads/main", check=False, email="bob@x.io")
    assert_forgery_refused(r, ids)
    r = git(bob, "push", "origin", f"{merge}:refs/heads/main", check=False, extra={"DEALCLI_PUSHER": "bob"})
    assert_forgery_refused(r, ids)
    assert remote_head(bare) == before
    # the orphan alone, pushed as a new branch, is judged against the default branch's state
    r = git(bob, "push", "origin", f"{side_commit}:refs/heads/mine", check=False, email="bob@x.io")
    assert_forgery_refused(r, ids)
    # the same history in a clone: the audit finds it
    git(bob, "reset", "-q", "--hard", merge)
    r = Runner(bob)("check", "--audit", user=BOSS)
    assert r.returncode == 1
    assert "bob may not change the settings in dealcli.yaml" in r.stdout, r.stdout
    assert f"bob may not edit deal {ids['alice']}" in r.stdout


def test_a_force_push_back_before_users_needs_the_settings_right(shared):
    """Issue 23: a force-push back to the commit before `users:` existed would remove every right
    from the remote. A rewrite needs an authenticated pusher holding the settings right."""
    bare, clones, ids = shared
    bob = clones["bob"]
    before = remote_head(bare)
    first = first_commit(bob)
    r = git(bob, "push", "--force", "origin", f"{first}:refs/heads/main", check=False, email="bob@x.io")
    assert r.returncode != 0 and "may not rewrite refs/heads/main" in r.stderr, r.stderr
    r = git(bob, "push", "--force", "origin", f"{first}:refs/heads/main", check=False,
            extra={"DEALCLI_PUSHER": "bob"})
    assert r.returncode != 0 and "bob may not rewrite (force-push) refs/heads/main" in r.stderr, r.stderr
    assert "bob may not change the settings in dealcli.yaml" in r.stderr
    assert remote_head(bare) == before
    r = git(bob, "push", "--force", "origin", f"{first}:refs/heads/main", check=False,
            extra={"DEALCLI_PUSHER": "boss"})
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == first


def test_a_branch_delete_needs_the_settings_right(shared):
    bare, clones, ids = shared
    bob = clones["bob"]
    git(bob, "push", "-q", "origin", "HEAD:refs/heads/bob-work", email="bob@x.io")
    r = git(bob, "push", "origin", "--delete", "bob-work", check=False, email="bob@x.io")
    assert r.returncode != 0 and "may not delete refs/heads/bob-work" in r.stderr, r.stderr
    r = git(bob, "push", "origin", "--delete", "bob-work", check=False, extra={"DEALCLI_PUSHER": "bob"})
    assert r.returncode != 0 and "bob may not delete refs/heads/bob-work" in r.stderr
    assert git(bare, "rev-parse", "--verify", "-q", "refs/heads/bob-work", check=False).returncode == 0
    r = git(bob, "push", "origin", "--delete", "bob-work", check=False, extra={"DEALCLI_PUSHER": "boss"})
    assert r.returncode == 0, r.stderr


def test_a_merge_resolution_is_judged_like_any_change(shared):
    """Issue 23: the admin wins alice's deal; alice (a manager: may not reopen or win) closes it
    lost later on her clone and syncs by merge. The merge driver lets her later close win, which
    reopens the won deal: the push is refused and the remote keeps it won."""
    bare, clones, ids = shared
    deal = ids["alice"]
    boss = Runner(clones["bob"])  # any clone will do for the admin
    boss.ok("deal", "close", deal, "--won", user=BOSS, now="2026-03-10T12:00:00+00:00")
    git(clones["bob"], "commit", "-qam", "won", email=BOSS)
    git(clones["bob"], "push", "-q", "origin", "HEAD:main", email=BOSS)
    won = remote_head(bare)
    alice = Runner(clones["alice"])
    alice.ok("deal", "close", deal, "--lost", "--reason", "price", user="alice@x.io",
             now="2026-03-10T13:00:00+00:00")
    r = alice("sync", "--pull", "merge", user="alice@x.io", now="2026-03-10T13:00:00+00:00",
              env={"DEALCLI_PUSHER": "alice"})
    assert r.returncode == 4, r.stderr
    # sync says the remote's reason (not "the remote kept moving")
    assert "remote: refused: refs/heads/main: " in r.stderr and f"alice may not reopen deal {deal}" in r.stderr
    assert "the remote refused the push" in r.stderr and "kept moving" not in r.stderr, r.stderr
    assert remote_head(bare) == won


@pytest.mark.parametrize("mode", ["merge", "rebase"])
def test_sync_pushes_a_conflict_record_through_the_hook(shared, mode):
    """Both move alice's deal (alice at 12:00, the admin at 13:00): the merge driver records the
    conflict, `check` lists it (rule conflict), and the hook lets that documented record through,
    so `sync` works with the hook installed."""
    bare, clones, ids = shared
    deal = ids["alice"]
    alice, boss = Runner(clones["alice"]), Runner(clones["bob"])
    alice.ok("deal", "move", deal, "preparation", user="alice@x.io", now="2026-03-10T12:00:00+00:00")
    r = alice("sync", "--pull", mode, user="alice@x.io", now="2026-03-10T12:00:00+00:00")
    assert r.returncode == 0, r.stderr
    boss.ok("deal", "move", deal, "executing", user=BOSS, now="2026-03-10T13:00:00+00:00")
    r = boss("sync", "--pull", mode, user=BOSS, now="2026-03-10T13:00:00+00:00", env={"DEALCLI_PUSHER": "boss"})
    assert r.returncode == 0, r.stderr
    assert "unresolved merge conflict" in r.stderr and "[conflict]" in r.stderr
    assert remote_head(bare) == git(clones["bob"], "rev-parse", "HEAD").stdout.strip()
    shown = git(bare, "show", f"main:deals/{deal}.yaml").stdout
    assert "conflicts:" in shown and "stage: executing" in shown


def test_the_hook_checks_what_the_push_changed_and_its_link_neighbours(shared):
    """The hook's `check` follows the push, not the repository: a problem already on the remote
    does not block an unrelated push; deleting a company checks the (unchanged) deal linking to
    it, which would dangle."""
    bare, clones, ids = shared
    boss = Runner(clones["bob"])
    path = clones["bob"] / "deals" / f"{ids['bob']}.yaml"
    edit_by_hand(path, "stage: new", "stage: nowhere")
    commit_all(clones["bob"], "broken before the hook", BOSS)
    hook = bare / "hooks" / "pre-receive"
    hook.rename(hook.with_name("off"))
    git(clones["bob"], "push", "-q", "origin", "HEAD:main", email=BOSS)
    hook.with_name("off").rename(hook)
    boss.ok("deal", "edit", ids["alice"], "--company", "Acme", user=BOSS)
    commit_all(clones["bob"], "a company for alice's deal", BOSS)
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, email=BOSS)
    assert r.returncode == 0, r.stderr
    company = next((clones["bob"] / "companies").glob("*.yaml"))
    company.unlink()
    commit_all(clones["bob"], "company gone", BOSS)
    r = git(clones["bob"], "push", "origin", "HEAD:main", check=False, email=BOSS)
    assert r.returncode != 0 and f"deals/{ids['alice']}.yaml" in r.stderr and "[dangling-link]" in r.stderr
    assert "nowhere" not in r.stderr, r.stderr


def test_a_new_ref_with_nothing_before_it_is_judged_by_no_rules(cli, repo):
    """Judge.update with a new ref and no base (the first push, a ref made at the default tip):
    no rules stood, so nothing is refused; with a base, the base's rules judge the pusher. A
    real branch, not an assert (which `python -O` drops)."""
    from dealcli import audit

    git(repo, "init", "-q")
    make_team(cli)
    tip = commit_all(repo, "team and deals", BOSS)
    judge = audit.Judge(audit.Git(repo))
    try:
        assert judge.update(None, tip, "refs/heads/new", pusher="mallory@evil.example") == []
        assert judge.update(None, tip, "refs/heads/new") == []
        found = judge.update(None, tip, "refs/heads/new", pusher="mallory@evil.example", base=tip)
        assert [f.rule for f in found] == ["unknown-pusher"]
    finally:
        judge.git.close()
