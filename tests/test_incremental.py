"""The incremental path (issue 23 item 5): `check --since REV` and the pre-receive hook judge only
what changed and its link neighbours (the work tree's index cache; the hook's link index in the
git directory), and say exactly what a whole `check` says about the change. Real git in
temporary folders; no timing is asserted (benchmarks/sync.py prints the figures)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Runner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DEALCLI_"))}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)})
    out = subprocess.run(["git", "-c", "user.email=t@x.io", "-c", "user.name=t", "-c", "init.defaultBranch=main",
                          *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A clean committed repository: deals linking companies and contacts, activities on deals,
    a converted lead (which links its deal, and the deal it), a deal without links."""
    base = tmp_path_factory.mktemp("incremental")
    root = base / "repo"
    Runner(base)("init", root, "--timezone", "UTC", check=True)
    cli = Runner(root)
    first = cli.ok("deal", "add", "First", "--company", "Acme", "--amount", "100").strip()
    second = cli.ok("deal", "add", "Second", "--company", "Globex").strip()
    cli.ok("deal", "add", "Loose")
    cli.ok("contact", "add", "Ann Lee", "--company", "Acme")
    cli.ok("activity", "add", first, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    cli.ok("activity", "add", second, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    lead = cli.ok("lead", "add", "Inbound", "--email", "in@x.io").strip()
    cli.ok("lead", "convert", lead)
    git(root, "init", "-q")
    commit(root, "start")
    assert cli("check").returncode == 0, cli("check").stdout
    return root


def records(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).glob("*.yaml"))


def apply(root: Path, op: tuple[str, str, int]) -> None:
    """One change made by hand, as a pull or an editor makes it."""
    verb, folder, n = op
    files = records(root, folder)
    if not files:
        return
    path = files[n % len(files)]
    if verb == "delete":
        path.unlink()
    elif verb == "break":  # a deal in a stage its pipeline lacks
        path.write_text(path.read_text().replace("stage: new", "stage: nowhere"))
    elif verb == "retitle":
        text = path.read_text()
        path.write_text(re.sub(r"(?m)^(title|name): .*$", r"\1: Renamed", text, count=1))
    elif verb == "dangle":  # a new deal linking a company that does not exist
        text = re.sub(r"(?m)^company: .*$", "company: zzmissing0", path.read_text(), count=1)
        new = "zz" + path.stem[2:]
        (root / folder / f"{new}.yaml").write_text(text.replace(f"id: {path.stem}", f"id: {new}"))


OPS = st.tuples(st.sampled_from(["delete"]), st.sampled_from(["companies", "contacts", "deals", "activities",
                                                              "leads"]), st.integers(0, 3)) | \
    st.tuples(st.sampled_from(["break", "retitle", "dangle"]), st.just("deals"), st.integers(0, 3)) | \
    st.tuples(st.just("retitle"), st.sampled_from(["companies", "contacts"]), st.integers(0, 3))


def whole(cli: Runner) -> set[tuple[str, str]]:
    return {(p["rule"], p["path"]) for p in json.loads(cli("check", "-f", "json").stdout or "[]")}


def hook_verdict(bare: Path, root: Path, old: str, new: str) -> set[tuple[str, str]]:
    """What the pre-receive hook says of moving main from `old` to `new` (the objects fetched into
    the bare repository unjudged, as git's quarantine holds a push's objects)."""
    from dealcli import audit

    git(bare, "fetch", "-q", str(root), f"{new}:refs/incoming")
    lines = audit.pre_receive(bare, [f"{old} {new} refs/heads/main"])
    git(bare, "update-ref", "-d", "refs/incoming")
    found = set()
    for line in lines:
        m = re.match(r"refs/heads/main: check: ([^:]+)(?::\d+)?: .*\[([\w-]+)\]$", line)
        assert m, line
        found.add((m.group(2), m.group(1)))
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=3))
def test_since_and_the_hook_say_what_the_whole_check_says(template, tmp_path_factory, ops):
    """From a clean repository, any change: `check --since` the commit before it and the hook
    judging the push of it report exactly the whole check's problems (a record whose link
    neighbour was deleted included)."""
    base = tmp_path_factory.mktemp("example")
    root = base / "repo"
    shutil.copytree(template, root, symlinks=True)
    bare = base / "bare.git"
    git(base, "clone", "-q", "--bare", str(root), str(bare))
    old = git(root, "rev-parse", "HEAD").strip()
    for op in ops:
        apply(root, op)
    new = commit(root, "change")
    cli = Runner(root)
    expected = whole(cli)
    r = cli("check", "--since", old, "-f", "json")
    assert {(p["rule"], p["path"]) for p in json.loads(r.stdout or "[]")} == expected, (ops, r.stdout)
    assert r.returncode == (1 if expected else 0)
    assert hook_verdict(bare, root, old, new) == expected, ops


def test_the_hooks_link_index_follows_the_commits_since_it_was_built(template, tmp_path):
    """The hook's link index is built at one old tip and brought forward by what differs: a link
    added after it was built is found when its target is deleted later."""
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
    cli = Runner(root)
    start = git(root, "rev-parse", "HEAD").strip()
    loose = next(p for p in records(root, "deals") if "title: Loose" in p.read_text())
    (root / "deals" / loose.name).unlink()
    assert hook_verdict(bare, root, start, commit(root, "delete the loose deal")) == set()  # builds the index
    assert (bare / "dealcli-links.sqlite").is_file()
    git(root, "reset", "-q", "--hard", start)
    cli.ok("deal", "add", "Late", "--company", "Initech")
    late = commit(root, "a deal of a new company")
    git(bare, "fetch", "-q", str(root), "main:main")  # landed (its own push judged it)
    company = next(p for p in records(root, "companies") if "Initech" in p.read_text())
    company.unlink()
    verdict = hook_verdict(bare, root, late, commit(root, "the company deleted"))
    assert {rule for rule, _ in verdict} == {"dangling-link"} and len(verdict) == 1, verdict


def test_git_hook_index_builds_the_link_index_ahead(template, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
    r = Runner(bare)("git-hook", "index", env={"GIT_DIR": str(bare)})
    assert r.returncode == 0 and "link index at" in r.stderr, r.stderr
    from dealcli import audit

    found = audit.LinkIndex(audit.Git(bare)).linking(
        "companies", {p.stem for p in records(root, "companies") if "Acme" in p.read_text()})
    assert {folder for folder, _ in found} == {"deals", "contacts"}, found


def test_without_a_writable_link_index_the_hook_still_finds_the_neighbours(template, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
    (bare / "dealcli-links.sqlite").mkdir()  # not a database: sqlite cannot open it
    start = git(root, "rev-parse", "HEAD").strip()
    company = next(p for p in records(root, "companies") if "Acme" in p.read_text())
    company.unlink()
    verdict = hook_verdict(bare, root, start, commit(root, "acme gone"))
    assert {rule for rule, _ in verdict} == {"dangling-link"}
    assert {path.split("/")[0] for _, path in verdict} == {"deals", "contacts"}, verdict


def test_since_sees_a_link_added_in_place_behind_the_index(template, tmp_path):
    """A deal edited in place (its folder's stat unchanged, so the index cache still trusts its
    list of names) to link a company, then the company deleted: `check --since` still finds the
    deal, because the linking folder is stat'ed before the neighbours are looked up."""
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    cli = Runner(root)
    time.sleep(2.1)  # the files and folders settled: the cache then trusts a folder by its stat
    cli.ok("filter", "-f", "ids")  # the index cache warm, as a working clone has it
    loose = next(p for p in records(root, "deals") if "title: Loose" in p.read_text())
    company = next(p for p in records(root, "companies") if "Globex" in p.read_text())
    text = loose.read_text().replace("company: null\n", f"company: {company.stem}\n")
    with open(loose, "r+") as f:  # in place: same inode, the folder untouched
        f.write(text)
        f.truncate()
    start = commit(root, "linked by hand")
    company.unlink()
    r = cli("check", "--since", start, "-f", "json")
    found = {(p["rule"], p["path"]) for p in json.loads(r.stdout or "[]")}
    assert ("dangling-link", f"deals/{loose.name}") in found, r.stdout
    assert found == whole(cli)


def test_found_delete_then_dangle(template, tmp_path_factory):
    test_since_and_the_hook_say_what_the_whole_check_says.hypothesis.inner_test(
        template, tmp_path_factory, [("delete", "deals", 0), ("dangle", "deals", 0)])


def test_a_deleted_record_git_would_call_renamed_still_has_its_neighbours_judged(template, tmp_path):
    """A deal deleted and a near copy of it added under a new id (what `dealcli check` sees as a
    delete and an addition, git's `diff` as a rename, naming only the new path): the converted
    lead linking the deleted deal dangles, and `check --since`, the paths `sync` judges and the
    hook all say so, as the whole check does."""
    from dealcli import gitops

    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
    old = git(root, "rev-parse", "HEAD").strip()
    lead = records(root, "leads")[0]
    gone = re.search(r"(?m)^deal: (\w+)$", lead.read_text()).group(1)
    path = root / "deals" / f"{gone}.yaml"
    text = re.sub(r"(?m)^company: .*$", "company: zzmissing0", path.read_text(), count=1)
    path.unlink()
    (root / "deals" / f"zz{gone[2:]}.yaml").write_text(text.replace(f"id: {gone}", f"id: zz{gone[2:]}"))
    assert f"deals/{gone}.yaml" in gitops.changed_since(root, old)  # before the commit: the work tree
    new = commit(root, "renamed, as git sees it")
    assert "R" in git(root, "diff", "--name-status", "-M", old, new)  # git would pair them as a rename
    assert f"deals/{gone}.yaml" in gitops.changed_since(root, old, tree=True)  # what sync judges
    cli = Runner(root)
    expected = whole(cli)
    assert ("dangling-link", f"leads/{lead.name}") in expected and len(expected) == 2, expected
    r = cli("check", "--since", old, "-f", "json")
    assert {(p["rule"], p["path"]) for p in json.loads(r.stdout or "[]")} == expected, r.stdout
    assert hook_verdict(bare, root, old, new) == expected
