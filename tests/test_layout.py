"""The sharded layout (docs/format.md, "Sharded folders"): `layout: {shard: N}` puts deals and
activities at `<folder>/<first N characters of the id>/<id>.yaml`; `dealcli layout shard|flat`
moves every file (under the lock, one rename each, staged in git, finished by running it again);
every command works the same on a sharded repository.

Existing CLI tests are imported below and run again here, where the `repo` fixture (and so `cli`,
`session`, and the fixtures built on them) is a sharded repository."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import Runner, dealcli_bin
from dealcli import sharding
from dealcli.storage import layout, yamlcodec

# -- existing tests, run again on a sharded repository ------------------------------------------
from test_deal_cli import (  # noqa: F401
    test_amount_from_products_is_exact, test_close_from_any_stage, test_delete_needs_yes_without_a_terminal,
    test_ids_from_stdin_are_one_transaction, test_lifecycle_and_history_events,
    test_move_into_success_closes_won_and_failure_closes_lost, test_repeat_deal_for_a_client_with_a_won_deal)
from test_views_query import (  # noqa: F401
    test_next_activity_and_overdue, test_presets_expand_to_expressions, test_status_is_checked_and_defaults_to_open)
from test_import_cli import (  # noqa: F401
    test_bitrix24_product_rows_are_grouped_into_one_deal, test_hubspot_deals, test_json_lines_and_empty_files,
    test_reimport_with_key_updates_only_what_changed_with_history)
from test_export_all import ADMIN, test_a_stream_export_imports_as_the_same_repository  # noqa: F401
from test_helps_cli import test_completion_of_ids_stages_pipelines_presets_and_users  # noqa: F401
from test_export_all import full as flat_full
from test_access_git import (  # noqa: F401
    shared, test_a_merge_resolution_is_judged_like_any_change, test_pre_receive_lets_an_allowed_push_land)
from test_git_team import (  # noqa: F401
    A_NOW, B_NOW, Clone, git, test_both_comment_on_one_deal, test_delete_against_comment,
    test_move_against_amount_edit)
from test_git_team import make_team


@pytest.fixture
def repo(repo):
    """conftest's repository, sharded."""
    Runner(repo).ok("layout", "shard")
    assert "layout:\n  shard: 2\n" in (repo / "dealcli.yaml").read_text()
    return repo


@pytest.fixture
def full(tmp_path):
    """test_export_all's repository of every kind, sharded."""
    root = flat_full.__wrapped__(tmp_path)  # the fixture's own function
    Runner(root).ok("layout", "shard", user=ADMIN)
    return root


class ShardedClone(Clone):
    def deal(self, deal_id: str) -> dict:
        return yamlcodec.loads((self.root / layout.place("deals", deal_id, 2)).read_text())


@pytest.fixture
def team(tmp_path):
    """test_git_team's two clones, of a repository sharded (and pushed so) before bob clones it."""
    return make_team(tmp_path, ShardedClone, "shard")


# -- the layout itself ---------------------------------------------------------------------------
def files(root: Path) -> dict[str, str]:
    """Every record file (path relative to root -> sha256 of its bytes), outside .dealcli/.git."""
    out = {}
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith((".dealcli/", ".git/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def by_id(found: dict[str, str]) -> dict[tuple[str, str], str]:
    """The same files keyed by (kind, id) (the settings file left out): a layout moves them only."""
    return {layout.record_of(rel): digest for rel, digest in found.items() if layout.record_of(rel)}


@pytest.fixture
def flat(tmp_path) -> Path:
    """A flat repository in git with deals, activities and companies, all committed."""
    root = tmp_path / "flat"
    Runner(tmp_path).ok("init", "--git", root, "--timezone", "UTC")
    cli = Runner(root)
    for i in range(3):
        cli.ok("company", "add", f"Firm {i}")
    ids = [cli.ok("deal", "add", f"Deal {i}", "--amount", str(100 + i), "--company", f"Firm {i % 3}").strip()
           for i in range(12)]
    for deal_id in ids[:5]:
        cli.ok("activity", "add", deal_id, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@x.io", "commit", "-qm", "start")
    return root


def test_place_is_the_id_prefix_and_flat_kinds_stay_flat():
    assert layout.place("deals", "ab3x9k0pqr", 2) == "deals/ab/ab3x9k0pqr.yaml"
    assert layout.place("activities", "Zz0", 1) == "activities/z/Zz0.yaml"
    assert layout.place("deals", "ab3x9k0pqr", 0) == "deals/ab3x9k0pqr.yaml"
    assert layout.place("companies", "ab3x9k0pqr", 2) == "companies/ab3x9k0pqr.yaml"
    assert layout.record_of("deals/ab/ab3x9k0pqr.yaml") == ("deals", "ab3x9k0pqr")
    assert layout.record_of("deals/zz/ab3x9k0pqr.yaml") is None  # no layout puts it there
    assert layout.record_of("companies/ab/ab3x9k0pqr.yaml") is None
    assert layout.record_at_end("crm/deals/a/ab3x.yaml") == ("deals", "ab3x")
    assert layout.shard_width({"layout": {"shard": 2}}) == 2 and layout.shard_width({"layout": {"shard": 7}}) == 0


def test_shard_and_back_keep_every_file_byte_identical_and_git_sees_renames(flat):
    cli = Runner(flat)
    before = files(flat)
    config = (flat / "dealcli.yaml").read_bytes()
    r = cli("layout", "shard")
    assert r.returncode == 0, r.stderr
    assert "deals/: 12 files moved" in r.stderr and "activities/: 5 files moved" in r.stderr
    sharded = files(flat)
    assert by_id(sharded) == by_id(before)
    for rel in sharded:
        kind, record_id = layout.record_of(rel) or (None, None)
        if kind in layout.SHARDED:
            assert rel == layout.place(kind, record_id, 2), rel
    assert not [p for p in (flat / "deals").iterdir() if p.is_file()]
    status = git(flat, "status", "--porcelain")
    assert status.count("R  deals/") == 12 and status.count("R  activities/") == 5, status
    assert "M  dealcli.yaml" in status
    git(flat, "-c", "user.name=t", "-c", "user.email=t@x.io", "commit", "-qm", "shard")
    one = next(rel for rel in sharded if rel.startswith("deals/"))
    log = git(flat, "log", "--follow", "--name-only", "--format=%s", "--", one)
    assert "start" in log and layout.place("deals", Path(one).stem, 0) in log  # followed across the rename
    assert json.loads(cli.ok("layout", "show", "-f", "json")) == [
        {"folder": "activities", "layout": "shard 2", "placed": 5, "elsewhere": 0},
        {"folder": "deals", "layout": "shard 2", "placed": 12, "elsewhere": 0}]
    assert cli("layout", "shard").stderr.count("0 files moved") == 2  # idempotent
    r = cli("layout", "flat")
    assert r.returncode == 0, r.stderr
    assert files(flat) == before and (flat / "dealcli.yaml").read_bytes() == config
    assert [p.name for p in (flat / "deals").iterdir() if p.is_dir()] == []  # the shard folders are gone
    assert cli("check").returncode == 0


def test_staging_the_renames_keeps_what_else_the_index_holds_and_waits_for_git(flat):
    """The renames are staged by writing git's index again (appending in git's order is linear;
    inserting a million renames into the live index was not): a change staged before, a change
    not staged, an untracked file and a file in a subfolder keep their state; a git process
    holding index.lock makes the command fail (exit 4, a git step not completed) and changes nothing in git's index."""
    cli = Runner(flat)
    company = next((flat / "companies").iterdir())
    company.write_text(company.read_text() + "# staged\n")
    git(flat, "add", str(company))
    company.write_text(company.read_text() + "# not staged\n")
    (flat / "notes.txt").write_text("untracked\n")
    (flat / "docs").mkdir()
    (flat / "docs" / "a.md").write_text("tracked\n")
    git(flat, "add", "docs/a.md")
    lock = flat / ".git" / "index.lock"
    lock.write_text("")
    index = (flat / ".git" / "index").read_bytes()
    r = cli("layout", "shard")
    assert r.returncode == 4 and "index.lock" in r.stderr, r.stderr
    assert (flat / ".git" / "index").read_bytes() == index and lock.exists()
    lock.unlink()
    assert cli("layout", "shard").returncode == 0
    status = git(flat, "status", "--porcelain", "-uall").splitlines()
    rel = company.relative_to(flat).as_posix()
    assert f"MM {rel}" in status and "?? notes.txt" in status and "A  docs/a.md" in status, status
    assert sum(line.startswith("R  deals/") for line in status) == 12, status
    assert not [p for p in (flat / ".git").iterdir() if p.name.startswith("index.")]  # no temporary left


def test_a_migration_stopped_midway_works_and_is_finished_by_running_it_again(flat, monkeypatch):
    cli = Runner(flat, subprocess=False)  # in-process: the rename below is this process's
    before = by_id(files(flat))
    real, calls = sharding._rename, []

    def stop_after_7(source, target):
        if len(calls) == 7:
            raise KeyboardInterrupt  # a stop (Ctrl-C, a kill) after 7 files
        calls.append(source)
        real(source, target)

    monkeypatch.setattr(sharding, "_rename", stop_after_7)
    r = cli("layout", "shard")
    assert r.returncode != 0
    monkeypatch.setattr(sharding, "_rename", real)
    assert by_id(files(flat)) == before  # nothing lost, nothing torn
    where = {layout.record_of(rel)[1]: rel for rel in files(flat) if layout.record_of(rel)}
    moved = [i for i, rel in where.items() if rel.count("/") == 2]
    left = [i for i, rel in where.items() if rel.startswith("deals/") and rel.count("/") == 1]
    assert len(moved) == 7 and left
    # the half-moved repository works: by prefix, listings, writes, check names what is out of place
    assert json.loads(cli.ok("deal", "show", left[0][:6], "-f", "json"))["id"] == left[0]
    deal_moved = next(i for i in moved if where[i].startswith("deals/"))
    cli.ok("deal", "move", deal_moved[:6], "preparation")
    cli.ok("deal", "close", left[0], "--won")
    assert len(cli.ok("filter", "status=open,won", "-f", "ids").split()) == 12
    new = cli.ok("deal", "add", "During the move").strip()
    assert (flat / layout.place("deals", new, 2)).is_file()
    r = cli("check", "-f", "json")
    assert r.returncode == 1
    problems = json.loads(r.stdout)
    assert {p["rule"] for p in problems} == {"layout"}
    assert {p["path"] for p in problems} == {rel for rel in where.values() if rel.count("/") == 1
                                             and rel.startswith(("deals/", "activities/"))}
    assert "`dealcli layout shard` moves it" in problems[0]["message"]
    # running it again finishes, and stages every rename (those of the stopped run too)
    r = cli("layout", "shard")
    assert r.returncode == 0, r.stderr
    assert cli("check").returncode == 0
    status = git(flat, "status", "--porcelain")
    assert status.count("R") >= 17, status  # every tracked record file staged as moved
    assert json.loads(cli.ok("layout", "show", "-f", "json"))[1]["elsewhere"] == 0


def test_going_flat_stopped_midway_keeps_the_sharded_setting_until_every_file_is_back(flat, monkeypatch):
    cli = Runner(flat, subprocess=False)
    cli.ok("layout", "shard")
    before = by_id(files(flat))
    real, calls = sharding._rename, []

    def stop_after_3(source, target):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(source)
        real(source, target)

    monkeypatch.setattr(sharding, "_rename", stop_after_3)
    assert cli("layout", "flat").returncode != 0
    monkeypatch.setattr(sharding, "_rename", real)
    assert "shard: 2" in (flat / "dealcli.yaml").read_text()  # flipped last: readers still look everywhere
    assert by_id(files(flat)) == before
    assert len(cli.ok("filter", "-f", "ids").split()) == 12
    cli.ok("layout", "flat")
    assert "layout" not in (flat / "dealcli.yaml").read_text()
    assert by_id(files(flat)) == before and cli("check").returncode == 0


def test_check_names_files_out_of_place(repo, cli):
    d = cli.ok("deal", "add", "Here").strip()
    placed = repo / layout.place("deals", d, 2)
    wrong = repo / "deals" / "zz" / f"{d}.yaml"
    wrong.parent.mkdir()
    placed.rename(wrong)
    found = json.loads(cli("check", "-f", "json").stdout)
    assert [(p["rule"], p["path"]) for p in found] == [("layout", f"deals/zz/{d}.yaml")]
    wrong.rename(repo / "deals" / f"{d}.yaml")  # flat, in a sharded repository: found, and named
    assert cli.ok("deal", "show", d[:4], "-f", "ids").strip() == d
    found = json.loads(cli("check", "-f", "json").stdout)
    assert [(p["rule"], p["path"]) for p in found] == [("layout", f"deals/{d}.yaml")]
    cli.ok("layout", "shard")
    assert placed.is_file() and cli("check").returncode == 0


def test_prefix_resolution_reads_the_shard_and_stays_unambiguous(repo, cli):
    d = cli.ok("deal", "add", "Prefix").strip()
    twin = d[:3] + ("0" if d[3] != "0" else "1") + d[4:]
    text = (repo / layout.place("deals", d, 2)).read_text().replace(d, twin)
    (repo / layout.place("deals", twin, 2)).write_text(text)
    proc = cli("deal", "show", d[:3])
    assert proc.returncode == 3 and d in proc.stderr and twin in proc.stderr
    assert json.loads(cli.ok("deal", "show", d[:5], "-f", "json"))["id"] == d
    assert cli("deal", "show", "zzzzzz").returncode == 3
    cli.ok("deal", "delete", twin, "--yes")
    assert not (repo / layout.place("deals", twin, 2)).exists()
    assert cli.ok("filter", "-f", "ids").split() == [d]


def test_board_report_and_export_on_a_sharded_repository(repo, cli):
    a = cli.ok("deal", "add", "A", "--amount", "100").strip()
    cli.ok("deal", "add", "B", "--amount", "50", "--stage", "preparation")
    cli.ok("activity", "add", a, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    board = json.loads(cli.ok("board", "-f", "json"))
    assert board and "100" in json.dumps(board)
    assert cli("report", "-f", "json").returncode == 0
    rows = [json.loads(line) for line in cli.ok("export", "-f", "jsonl").splitlines()]
    assert sorted(r["title"] for r in rows) == ["A", "B"]
    assert cli.ok("activity", "list", "-f", "ids").strip()


def test_check_since_and_the_pre_receive_hook_judge_changes_in_shard_folders(tmp_path, repo, cli):
    git(repo, "init", "-q")
    company_deal = cli.ok("deal", "add", "Linked", "--company", "Acme").strip()
    company = next((repo / "companies").glob("*.yaml")).stem
    cli.ok("activity", "add", company_deal, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x.io", "commit", "-qm", "start")
    # a deal broken by hand in its shard folder: --since judges it
    broken = cli.ok("deal", "add", "Broken").strip()
    path = repo / layout.place("deals", broken, 2)
    path.write_text(path.read_text().replace("stage: new", "stage: nowhere"))
    r = cli("check", "--since", "HEAD", "-f", "json")
    assert r.returncode == 1
    assert {p["path"] for p in json.loads(r.stdout)} == {layout.place("deals", broken, 2)}
    cli.ok("deal", "delete", broken, "--yes")
    # a deleted company: the deal linking it (in its shard folder) is named
    (repo / "companies" / f"{company}.yaml").unlink()
    found = json.loads(cli("check", "--since", "HEAD", "-f", "json").stdout)
    assert layout.place("deals", company_deal, 2) in {p["path"] for p in found}, found
    git(repo, "checkout", "-q", "--", ".")
    # the pre-receive hook: a push breaking a sharded deal is refused, naming its path
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {dealcli_bin()} git-hook pre-receive\n")
    hook.chmod(0o755)
    git(repo, "push", "-q", str(bare), "HEAD:refs/heads/main")
    deal_path = repo / layout.place("deals", company_deal, 2)
    deal_path.write_text(deal_path.read_text().replace("stage: new", "stage: nowhere"))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x.io", "commit", "-qam", "break it")
    r = subprocess.run(["git", "-C", str(repo), "push", str(bare), "HEAD:refs/heads/main"], capture_output=True,
                       text=True)
    assert r.returncode != 0 and layout.place("deals", company_deal, 2) in r.stderr, r.stderr


def test_a_flat_repository_names_a_sharded_file_and_layout_flat_moves_it(repo, cli):
    cli.ok("layout", "flat")
    d = cli.ok("deal", "add", "Flat").strip()
    flat_path = repo / "deals" / f"{d}.yaml"
    shard_path = repo / layout.place("deals", d, 2)
    shard_path.parent.mkdir()
    flat_path.rename(shard_path)  # by hand: a flat repository does not look in shard folders
    assert cli("deal", "show", d).returncode == 3
    found = json.loads(cli("check", "-f", "json").stdout)
    assert [(p["rule"], p["path"]) for p in found] == [("layout", layout.place("deals", d, 2))]
    assert "`dealcli layout flat` moves it" in found[0]["message"]
    cli.ok("layout", "flat")
    assert flat_path.is_file() and not shard_path.parent.exists() and cli("check").returncode == 0


def test_the_driver_line_for_shard_folders_is_added_where_the_driver_is_set_up(flat):
    attributes = flat / ".gitattributes"
    old = "".join(line + "\n" for line in attributes.read_text().splitlines() if "/*/" not in line)
    attributes.write_text(old)  # set up by a dealcli before shard folders
    git(flat, "-c", "user.name=t", "-c", "user.email=t@x.io", "commit", "-qam", "older .gitattributes")
    r = Runner(flat)("layout", "shard")
    assert r.returncode == 0 and ".gitattributes: 2 line(s) added" in r.stderr
    assert "/deals/*/*.yaml merge=dealcli" in attributes.read_text()
    assert {".gitattributes", "dealcli.yaml"} <= set(git(flat, "diff", "--cached", "--name-only").split())
    check = git(flat, "check-attr", "merge", "--", layout.place("deals", "ab3x9k0pqr", 2))
    assert check.strip().endswith("merge: dealcli")


def test_changing_the_layout_needs_the_settings_right(repo, cli):
    cli.ok("user", "add", "boss", "--email", "boss@x.io", "--role", "admin", user="boss@x.io")
    cli.ok("user", "add", "ann", "--email", "ann@x.io", user="boss@x.io")
    r = cli("layout", "flat", user="ann@x.io")
    assert r.returncode == 6 and "shard: 2" in (repo / "dealcli.yaml").read_text()
    cli.ok("layout", "flat", user="boss@x.io")


def test_a_pushed_layout_change_moves_records_without_writing_them(shared):  # noqa: F811  the fixture
    """The pre-receive hook judges a moved record as unchanged (the same bytes in another place):
    the push of `dealcli layout flat` by a user with the settings right only (no right to delete
    or add deals) lands; its check passes on the flat tree."""
    from test_access_git import BOSS, commit_all, remote_head
    from test_access_git import git as git_as

    bare, clones, ids = shared
    run = Runner(clones["alice"])
    run.ok("role", "add", "ops", "--grant", "settings:settings=all", user=BOSS)
    run.ok("user", "add", "olga", "--email", "olga@x.io", "--role", "ops", user=BOSS)
    commit_all(clones["alice"], "olga", BOSS)
    assert git_as(clones["alice"], "push", "origin", "HEAD:main", email=BOSS, check=False).returncode == 0
    run.ok("layout", "flat", user="olga@x.io")
    assert (clones["alice"] / "deals" / f"{ids['bob']}.yaml").is_file()
    sha = commit_all(clones["alice"], "flat again", "olga@x.io")
    r = git_as(clones["alice"], "push", "origin", "HEAD:main", email="olga@x.io", check=False)
    assert r.returncode == 0, r.stderr
    assert remote_head(bare) == sha
