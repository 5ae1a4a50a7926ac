"""Two clones of one repository with real git (a bare `origin`, clones `alice` and `bob`),
changing the same records and meeting through `dealcli sync` (by merge and by rebase) or plain
`git pull`. Every scenario ends with no textual conflict, complete history ordered by time and
`check` passing or naming only the deliberate conflict."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from dealcli.storage import yamlcodec

from conftest import Runner

A_NOW = "2026-03-10T12:00:00+00:00"
B_NOW = "2026-03-10T13:00:00+00:00"


def git(root: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def _identity(root: Path, name: str) -> None:
    git(root, "config", "user.name", name)
    git(root, "config", "user.email", f"{name}@example.com")


class Clone:
    def __init__(self, root: Path, user: str, now: str):
        self.root, self.user, self.now = root, user, now
        self.run = Runner(root)

    def __call__(self, *args, now: str | None = None):
        return self.run(*args, now=now or self.now, user=self.user)

    def ok(self, *args, now: str | None = None) -> str:
        return self.run.ok(*args, now=now or self.now, user=self.user)

    def deal(self, deal_id: str) -> dict:
        return yamlcodec.loads((self.root / "deals" / f"{deal_id}.yaml").read_text())

    def sync(self, mode: str = "merge"):
        return self("sync", "--pull", mode)


def make_team(tmp_path, clone=None, *layout_args):
    """Alice's repository pushed to a bare remote and cloned by bob; `layout_args` (say "shard")
    are run as `dealcli layout ...` before the first commit; `clone` is the Clone class."""
    clone = clone or Clone
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    git(bare, "symbolic-ref", "HEAD", "refs/heads/main")
    alice_root = tmp_path / "alice"
    Runner(tmp_path).ok("init", "--git", alice_root, "--timezone", "UTC")
    git(alice_root, "symbolic-ref", "HEAD", "refs/heads/main")
    _identity(alice_root, "alice")
    if layout_args:
        Runner(alice_root).ok("layout", *layout_args)
    git(alice_root, "add", "-A")
    git(alice_root, "commit", "--quiet", "-m", "new deal repository")
    git(alice_root, "remote", "add", "origin", str(bare))
    git(alice_root, "push", "--quiet", "-u", "origin", "main")
    bob_root = tmp_path / "bob"
    subprocess.run(["git", "clone", "--quiet", str(bare), str(bob_root)], check=True)
    _identity(bob_root, "bob")
    alice, bob = clone(alice_root, "alice", A_NOW), clone(bob_root, "bob", B_NOW)
    bob.ok("git", "setup")
    return alice, bob


@pytest.fixture
def team(tmp_path):
    return make_team(tmp_path)


def settled(clone: Clone, allowed=("conflict",)) -> list[dict]:
    """No conflict markers, a clean work tree, history ordered by time; returns check's problems
    (which must all be of the `allowed` rules)."""
    assert not git(clone.root, "status", "--porcelain"), git(clone.root, "status")
    assert git(clone.root, "diff", "--name-only", "--diff-filter=U") == ""
    for path in clone.root.rglob("*.yaml"):
        if ".git" in path.parts:
            continue
        text = path.read_text()
        assert "<<<<<<<" not in text and ">>>>>>>" not in text, path
        if path.parent.name == "deals":
            times = [dt.datetime.fromisoformat(e["at"]) for e in yamlcodec.loads(text)["history"]]
            assert times == sorted(times), path
    out = clone("check", "-f", "json")
    problems = json.loads(out.stdout or "[]")
    assert all(p["rule"] in allowed for p in problems), problems
    return problems


def kinds(deal: dict) -> list[str]:
    return [e["kind"] for e in deal["history"]]


def shared_deal(alice: Clone, bob: Clone, *args: str) -> str:
    deal_id = alice.ok("deal", "add", "Shared", *args).strip()
    assert alice.sync().returncode == 0
    assert bob.sync().returncode == 0
    return deal_id


MODES = ["merge", "rebase"]


@pytest.mark.parametrize("mode", MODES)
def test_both_add_deals(team, mode):
    alice, bob = team
    a = alice.ok("deal", "add", "From Alice").strip()
    b = bob.ok("deal", "add", "From Bob").strip()
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    assert alice.sync(mode).returncode == 0
    for clone in (alice, bob):
        settled(clone, allowed=())
        assert {p.stem for p in (clone.root / "deals").glob("*.yaml")} == {a, b}


@pytest.mark.parametrize("mode", MODES)
def test_both_comment_on_one_deal(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "comment", d, "Alice called")
    bob.ok("deal", "comment", d, "Bob e-mailed")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    settled(bob, allowed=())
    deal = bob.deal(d)
    assert [c["text"] for c in deal["comments"]] == ["Alice called", "Bob e-mailed"]
    assert kinds(deal) == ["created", "commented", "commented"]
    assert deal["modified"] == B_NOW


@pytest.mark.parametrize("mode", MODES)
def test_move_against_amount_edit(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "move", d, "preparation")
    bob.ok("deal", "edit", d, "--amount", "500")
    assert alice.sync(mode).returncode == 0
    assert bob.sync(mode).returncode == 0
    settled(bob, allowed=())
    deal = bob.deal(d)
    assert deal["stage"] == "preparation" and str(deal["amount"]) == "500.00"
    assert kinds(deal) == ["created", "moved", "changed", "changed"]  # amount, manual_amount
    assert "conflicts" not in deal


@pytest.mark.parametrize("mode", MODES)
def test_both_move_one_deal_to_different_stages(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "move", d, "preparation")
    bob.ok("deal", "move", d, "executing")  # later (13:00): wins
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    problems = settled(bob)
    assert [p["rule"] for p in problems] == ["conflict"]
    deal = bob.deal(d)
    assert deal["stage"] == "executing" and deal["status"] == "open"
    assert deal["conflicts"][0]["field"] == "stage"
    assert deal["conflicts"][0]["kept"] == "executing" and deal["conflicts"][0]["other"] == "preparation"
    stage_events = [e for e in deal["history"] if e["kind"] in ("created", "moved")]
    assert stage_events[-1]["to"] == "executing" and stage_events[-1]["from"] == "preparation"
    assert "conflict" in kinds(deal)
    listed = bob.ok("filter", "has:conflict", "-f", "ids").split()
    assert listed == [d]
    # resolving (docs/git.md)
    assert bob("deal", "edit", d, "--resolve", "amount").returncode == 1
    bob.ok("deal", "edit", d, "--resolve", "stage")
    assert kinds(bob.deal(d))[-1] == "resolved" and bob.deal(d)["history"][-1]["value"] == "executing"
    assert bob.sync(mode).returncode == 0
    settled(bob, allowed=())
    assert bob.ok("filter", "has:conflict", "-f", "ids").split() == []


@pytest.mark.parametrize("mode", MODES)
def test_close_against_later_edit(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "close", d, "--won")
    bob.ok("deal", "edit", d, "--amount", "900")  # after the close, by time
    assert alice.sync(mode).returncode == 0
    assert bob.sync(mode).returncode == 0
    settled(bob, allowed=())
    deal = bob.deal(d)
    assert deal["status"] == "won" and str(deal["amount"]) == "900.00"
    assert kinds(deal)[-1] == "merged"


@pytest.mark.parametrize("mode", MODES)
def test_both_close_differently_then_resolve_the_closed_deal(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "close", d, "--won")
    bob.ok("deal", "close", d, "--lost", "--reason", "price")
    assert alice.sync(mode).returncode == 0
    assert bob.sync(mode).returncode == 0
    assert [p["rule"] for p in settled(bob)] == ["conflict"]
    deal = bob.deal(d)
    assert (deal["stage"], deal["status"]) == ("lose", "lost")  # bob's later close
    assert [e["kind"] for e in deal["history"] if e["kind"] in ("closed", "reopened")] == \
        ["closed", "reopened", "closed"]
    bob.ok("deal", "edit", d, "--resolve", "all")
    assert bob.sync(mode).returncode == 0
    settled(bob, allowed=())


@pytest.mark.parametrize("mode", MODES)
def test_stage_added_against_deals_added(team, mode):
    alice, bob = team
    alice.ok("pipeline", "edit", "sales", "--add-stage", "review", "--name", "Review", "--after", "new")
    alice.ok("deal", "add", "In review", "--stage", "review")
    bob.ok("deal", "add", "Bob's deal")
    bob.ok("pipeline", "edit", "sales", "--rename-stage", "won", "Signed")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    settled(bob, allowed=())
    stages = yamlcodec.loads((bob.root / "pipelines" / "sales.yaml").read_text())["stages"]
    assert [s["id"] for s in stages][:3] == ["new", "review", "preparation"]
    assert next(s for s in stages if s["id"] == "won")["name"] == "Signed"


@pytest.mark.parametrize("mode", MODES)
def test_stage_deleted_against_deals_moved_into_it(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("pipeline", "edit", "sales", "--delete-stage", "executing")
    bob.ok("deal", "move", d, "executing")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    settled(bob, allowed=())
    deal = bob.deal(d)
    assert deal["stage"] == "prepayment_invoice"  # the process stage before the deleted one
    assert [e.get("to") for e in deal["history"] if e["kind"] == "moved"] == ["executing", "prepayment_invoice"]
    assert alice.sync(mode).returncode == 0
    settled(alice, allowed=())


@pytest.mark.parametrize("mode", MODES)
def test_both_add_activities(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("activity", "add", d, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    bob.ok("activity", "add", d, "--type", "meeting", "--subject", "Meet", "--due", "tomorrow")
    assert alice.sync(mode).returncode == 0
    assert bob.sync(mode).returncode == 0
    settled(bob, allowed=())
    assert len(list((bob.root / "activities").glob("*.yaml"))) == 2


@pytest.mark.parametrize("mode", MODES)
def test_both_run_recurring(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("recurring", "add", "--from", d, "--every", "week", "--start", "2026-03-01")
    assert alice.sync(mode).returncode == 0
    assert bob.sync(mode).returncode == 0
    alice.ok("recurring", "run", now="2026-03-20T09:00:00+00:00")
    bob.ok("recurring", "run", now="2026-03-20T10:00:00+00:00")
    made = {p.stem for p in (alice.root / "deals").glob("*.yaml")}
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    settled(bob, allowed=())
    assert {p.stem for p in (bob.root / "deals").glob("*.yaml")} == made
    for deal_id in made - {d}:
        deal = bob.deal(deal_id)
        assert kinds(deal).count("created") == 1 and "conflicts" not in deal
        assert deal["created_by"] == "alice" and deal["created"] == "2026-03-20T09:00:00+00:00"


@pytest.mark.parametrize("mode", MODES)
def test_delete_against_comment(team, mode):
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "delete", d, "--yes")
    bob.ok("deal", "comment", d, "Still alive")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    assert "kept the change" in r.stderr
    settled(bob, allowed=())
    assert [c["text"] for c in bob.deal(d)["comments"]] == ["Still alive"]


def both_comment_then_plain_pull(alice: Clone, bob: Clone, env: dict | None = None) -> None:
    """alice and bob comment one deal; alice pushes, bob pulls with plain git: both comments."""
    d = shared_deal(alice, bob)
    alice.ok("deal", "comment", d, "one")
    git(alice.root, "commit", "--quiet", "-am", "comment")
    git(alice.root, "push", "--quiet")
    bob.ok("deal", "comment", d, "two")
    git(bob.root, "commit", "--quiet", "-am", "comment")
    proc = subprocess.run(["git", "-C", str(bob.root), "pull", "--quiet", "--no-rebase", "--no-edit"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    settled(bob, allowed=())
    assert [c["text"] for c in bob.deal(d)["comments"]] == ["one", "two"]


def test_plain_git_pull_uses_the_driver(team):
    both_comment_then_plain_pull(*team)


def test_sync_pulls_again_when_the_remote_moved_while_pushing(team):
    alice, bob = team
    hook = bob.root / ".git" / "hooks" / "pre-push"
    hook.write_text(f"""#!/bin/sh
marker="$(git rev-parse --git-dir)/moved-once"
if [ ! -f "$marker" ]; then
  touch "$marker"
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
  git -C "{alice.root}" commit --quiet --allow-empty -m "meanwhile" && git -C "{alice.root}" push --quiet origin main
fi
""")
    hook.chmod(0o755)
    bob.ok("deal", "add", "Bob's")
    r = bob.sync("rebase")
    assert r.returncode == 0, r.stderr
    assert "the remote moved while pushing" in r.stderr
    log = git(bob.root, "log", "--format=%s", "origin/main").splitlines()
    assert log[:2] == ["dealcli sync by bob", "meanwhile"]


@pytest.mark.parametrize("mode", MODES)
def test_sync_exit_codes_for_what_a_person_must_merge_or_fix(team, mode):
    alice, bob = team
    (alice.root / "notes.txt").write_text("alice\n")
    (bob.root / "notes.txt").write_text("bob\n")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 4 and "notes.txt could not be merged" in r.stderr
    assert git(bob.root, "status", "--porcelain") == ""  # the pull is undone, bob's commit kept
    assert git(bob.root, "log", "-1", "--format=%s").strip() == "dealcli sync by bob"
    # check failing after the pull: exit 1, nothing pushed
    git(bob.root, "reset", "--quiet", "--hard", "origin/main")
    d = alice.ok("deal", "add", "Broken later").strip()
    assert alice.sync(mode).returncode == 0
    path = alice.root / "deals" / f"{d}.yaml"
    path.write_text(path.read_text().replace("stage: new", "stage: nowhere"))
    git(alice.root, "commit", "--quiet", "-am", "hand edit")
    git(alice.root, "push", "--quiet")
    bob.ok("deal", "add", "Bob's")
    r = bob.sync(mode)
    assert r.returncode == 1 and "nothing pushed" in r.stderr and "stage-exists" in r.stderr
    assert git(bob.root, "rev-list", "--count", "origin/main..HEAD").strip() != "0"


@pytest.mark.parametrize("mode", MODES)
def test_both_add_a_product_row_to_one_deal(team, mode):
    """Issue 23: two clones each adding a product row to one deal lost one row into `conflicts:`.
    Rows merge by their identity (kinds.py), and the amount is the sum of the merged rows."""
    alice, bob = team
    d = shared_deal(alice, bob, "--product", "Base:10")
    alice.ok("deal", "edit", d, "--product", "Base:10", "--product", "Alice:5")
    bob.ok("deal", "edit", d, "--product", "Base:10", "--product", "Bob:7")
    assert alice.sync(mode).returncode == 0
    r = bob.sync(mode)
    assert r.returncode == 0, r.stderr
    settled(bob, allowed=())
    deal = bob.deal(d)
    assert sorted(p["name"] for p in deal["products"]) == ["Alice", "Base", "Bob"]
    assert str(deal["amount"]) == "22.00" and "conflicts" not in deal


def test_the_driver_is_registered_by_an_absolute_path(team):
    """Issue 23: registered as the bare name `dealcli`, a `git pull` whose PATH lacks it recorded
    a conflict, left no markers and lost the edit. An absolute path works with any PATH."""
    alice, bob = team
    command = git(bob.root, "config", "--get", "merge.dealcli.driver").strip()
    program = command.split(" merge-file")[0].split()[0]
    assert Path(program).is_absolute() and Path(program).exists(), command
    import os

    both_comment_then_plain_pull(alice, bob, env=dict(os.environ, PATH="/usr/bin:/bin"))


def test_check_reports_what_git_left_unmerged(team):
    """A driver that cannot run (here: a name that is no program) makes git record a conflict
    and leave our version without markers: `check` names the file (rule unmerged)."""
    alice, bob = team
    d = shared_deal(alice, bob)
    alice.ok("deal", "edit", d, "--title", "Alice's title")
    git(alice.root, "commit", "--quiet", "-am", "title")
    git(alice.root, "push", "--quiet")
    bob.ok("deal", "edit", d, "--title", "Bob's title")
    git(bob.root, "commit", "--quiet", "-am", "title")
    git(bob.root, "config", "merge.dealcli.driver", "no-such-dealcli merge-file %O %A %B %P")
    proc = subprocess.run(["git", "-C", str(bob.root), "pull", "--quiet", "--no-rebase", "--no-edit"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    r = bob("check", "-f", "json")
    assert r.returncode == 1
    found = json.loads(r.stdout)
    assert [(p["rule"], p["path"]) for p in found] == [("unmerged", f"deals/{d}.yaml")], found
    assert json.loads(bob("check", "--since", "HEAD", "-f", "json").stdout) == found  # the same sweep finds it


def test_concurrent_changes_of_a_users_roles_are_a_conflict_not_a_union(team):
    """Issue 23: roles [viewer] on one clone and [admin] on the other merged as [admin, viewer]."""
    alice, bob = team
    alice.ok("user", "add", "alice", "--email", "alice@example.com", "--role", "admin")
    alice.ok("user", "add", "bob", "--email", "bob@example.com", "--role", "admin")
    alice.ok("user", "add", "carol", "--email", "carol@example.com")
    assert alice.sync().returncode == 0
    assert bob.sync().returncode == 0
    alice.ok("user", "edit", "carol", "--role", "viewer")
    bob.ok("user", "edit", "carol", "--role", "admin")
    assert alice.sync().returncode == 0
    r = bob.sync()
    assert r.returncode == 4, r.stderr
    assert "users.carol.roles changed on both sides: rights are decided by a person" in r.stderr
    assert "dealcli.yaml could not be merged" in r.stderr
    roles = yamlcodec.loads((bob.root / "dealcli.yaml").read_text())["users"]["carol"]["roles"]
    assert roles == ["admin"]  # the pull was undone: bob's own change, nothing united
    # by plain git: the pull stops on the file and `check` says so
    proc = subprocess.run(["git", "-C", str(bob.root), "pull", "--quiet", "--no-rebase", "--no-edit"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    r = bob("check", "-f", "json")  # the settings file holds git's markers: every command says so
    assert r.returncode == 5 and "dealcli.yaml" in r.stderr and "conflict marker" in r.stderr, r.stderr
