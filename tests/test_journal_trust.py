"""Recovery trusts nothing it reads (issue 28, storage/journal.py): a journal entry is bound to
its repository, names paths relative to it inside the gate's folders, carries a checksum over its
content and is checked whole before anything is done with it. An entry that fails is never acted
on: writers stop with exit 5 naming it and the fix, readers read the files as they are and say
so, `dealcli recover --status/--discard` shows and removes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Runner, plant_journal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcli.storage import journal

PLANTED = "a0a0a0a0a0a0"


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "x" / "victim.txt"
    victim.parent.mkdir(exist_ok=True)
    victim.write_text("precious\n")
    return victim


def _jdir(repo: Path) -> Path:
    folder = repo / ".dealcli" / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _refused_everywhere(cli, repo: Path, entry: str) -> None:
    """A reader reads on and says so (even with -q); a writer stops with exit 5 naming the entry
    and the fix; check reports it; --status lists it; --discard removes it and writers work."""
    read = cli("filter", "-f", "ids", "-q")
    assert read.returncode == 0, read.stderr
    assert "warning: reading the files as they are" in read.stderr and entry in read.stderr
    write = cli("deal", "add", "After")
    assert write.returncode == 5, write.stderr
    assert entry in write.stderr and "dealcli recover --discard" in write.stderr
    assert "internal error" not in write.stderr + read.stderr
    chk = cli("check")
    assert chk.returncode == 1 and entry in chk.stdout
    status = cli("recover", "--status", "-f", "json")
    assert status.returncode == 1
    assert [row["entry"] for row in json.loads(status.stdout) if row["problem"]] == [entry]
    assert cli("recover").returncode == 5
    assert json.loads(cli.ok("recover", "--discard", "-f", "json")) == [{"entry": entry}]
    assert cli("deal", "add", "After").returncode == 0
    assert cli.ok("recover", "--status") == ""


def test_a_planted_journal_never_deletes_or_writes_outside_the_repository(tmp_path, cli, repo):
    """The issue's attack: `{"state":"committed","ops":[{"path":"/x/victim.txt","tmp":null}]}`
    made even `filter` delete /x/victim.txt; a tmp -> path pair wrote anywhere."""
    victim = _victim(tmp_path)
    source = tmp_path / "x" / "evil.txt"
    source.write_text("evil\n")
    (_jdir(repo) / "a.json").write_text(json.dumps(
        {"state": "committed", "txid": "a", "ops": [{"path": str(victim), "tmp": None}]}))
    _refused_everywhere(cli, repo, ".dealcli/journal/a.json")
    assert victim.read_text() == "precious\n"
    (_jdir(repo) / f"{PLANTED}.json").write_text(json.dumps(
        {"state": "committed", "txid": PLANTED, "ops": [{"path": str(victim), "tmp": str(source)}]}))
    _refused_everywhere(cli, repo, f".dealcli/journal/{PLANTED}.json")
    assert victim.read_text() == "precious\n" and source.read_text() == "evil\n"


@pytest.mark.parametrize("path", ["/x/victim.txt", "../x/victim.txt", "deals/../../x/victim.txt",
                                  "deals/sub/x.yaml", "deals/.hidden.yaml", ".dealcli/lock", "notes.txt",
                                  "deals\\..\\x.yaml", "attachments/../../x/victim.txt"])
def test_an_entry_with_a_valid_checksum_still_names_only_files_of_the_gate(tmp_path, cli, repo, path):
    """Someone who can read .dealcli/id can forge the checksum: the paths are checked anyway."""
    victim = _victim(tmp_path)
    (repo / "notes.txt").write_text("mine\n")
    plant_journal(repo, PLANTED, "committed", ops=[{"path": path, "digest": None}])
    _refused_everywhere(cli, repo, f".dealcli/journal/{PLANTED}.json")
    assert victim.read_text() == "precious\n" and (repo / "notes.txt").read_text() == "mine\n"
    assert (repo / ".dealcli" / "lock").exists()


def test_symbolic_links_on_the_way_are_never_followed(tmp_path, cli, repo):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "d1.yaml").write_text("precious\n")
    shutil.rmtree(repo / "companies", ignore_errors=True)
    (repo / "companies").symlink_to(outside)  # a record folder that leads out of the repository
    plant_journal(repo, PLANTED, "committed", ops=[{"path": "companies/d1.yaml", "digest": None}])
    _refused_everywhere(cli, repo, f".dealcli/journal/{PLANTED}.json")
    assert (outside / "d1.yaml").read_text() == "precious\n"
    (repo / "companies").unlink()
    # a record that is a symbolic link: recovery touches only regular files
    deal_id = cli.ok("deal", "add", "Linked").strip()
    target = repo / "deals" / f"{deal_id}.yaml"
    target.unlink()
    target.symlink_to(outside / "d1.yaml")
    plant_journal(repo, PLANTED, "committed", ops=[{"path": f"deals/{deal_id}.yaml", "digest": None}])
    assert cli("deal", "add", "X").returncode == 5
    assert target.is_symlink() and (outside / "d1.yaml").read_text() == "precious\n"


def test_an_entry_of_another_repository_is_refused(tmp_path, cli, repo):
    other = tmp_path / "other"
    Runner(tmp_path)("init", other, "--timezone", "UTC", check=True)
    deal_id = cli.ok("deal", "add", "Mine").strip()
    entry = plant_journal(other, PLANTED, "committed", ops=[{"path": f"deals/{deal_id}.yaml", "digest": None}])
    shutil.move(entry, _jdir(repo) / entry.name)
    _refused_everywhere(cli, repo, f".dealcli/journal/{PLANTED}.json")
    assert (repo / "deals" / f"{deal_id}.yaml").exists()


@pytest.mark.parametrize("content", [
    b"[]", b'{"state": "committed"}', b"[" * 100000 + b"]" * 100000, b"\xff\xfe", b"",
    json.dumps({"state": "committed", "txid": PLANTED, "ops": [{"tmp": None}]}).encode(),
])
def test_a_damaged_entry_is_exit_5_for_writers_and_read_past_by_readers(cli, repo, content):
    """A JSON list, an operation with no path, deeply nested JSON: exit 70 on every command
    before, `check` included."""
    (_jdir(repo) / f"{PLANTED}.json").write_bytes(content)
    _refused_everywhere(cli, repo, f".dealcli/journal/{PLANTED}.json")


def test_a_truncated_committed_entry_is_not_dropped_silently(cli, repo):
    ids = [cli.ok("deal", "add", f"D{i}").strip() for i in range(3)]
    raw = (repo / "deals" / f"{ids[0]}.yaml").read_bytes().replace(b"stage: new", b"stage: preparation")
    (repo / "deals" / f".{ids[0]}.yaml.{PLANTED}.tmp").write_bytes(raw)
    entry = plant_journal(repo, PLANTED, "committed",
                          ops=[{"path": f"deals/{i}.yaml", "digest": journal._digest(raw)} for i in ids])
    entry.write_bytes(entry.read_bytes()[:-20])  # cut short
    chk = cli("check")
    assert chk.returncode == 1 and f"{PLANTED}.json" in chk.stdout and "half written" in chk.stdout
    assert (repo / "deals" / f".{ids[0]}.yaml.{PLANTED}.tmp").exists()  # kept: it may be all that is left
    r = cli("recover", "--status")
    assert r.returncode == 1 and "not whole JSON" in r.stdout


def _fifo_and_dev_zero(repo: Path, kind: str) -> Path:
    path = _jdir(repo) / f"{PLANTED}.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_non_regular_files_in_the_journal_are_never_opened(cli, repo, kind):
    """A FIFO hung every command; a symbolic link to /dev/zero read until memory ran out (real
    processes, with a timeout)."""
    _fifo_and_dev_zero(repo, kind)
    read = cli.proc("filter", "-f", "ids", timeout=30)
    assert read.returncode == 0 and "warning:" in read.stderr, read.stderr
    write = cli.proc("deal", "add", "X", timeout=30)
    assert write.returncode == 5 and f"{PLANTED}.json" in write.stderr, write.stderr
    assert cli.proc("recover", "--discard", timeout=30).returncode == 0
    assert cli.proc("deal", "add", "X", timeout=30).returncode == 0


def test_non_regular_files_elsewhere_in_dealcli_folder(cli, repo, tmp_path):
    (repo / ".dealcli" / "journal").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(repo / ".dealcli" / "journal")
    (tmp_path / "elsewhere").mkdir()
    (repo / ".dealcli" / "journal").symlink_to(tmp_path / "elsewhere")
    w = cli("deal", "add", "X")
    assert w.returncode == 5 and ".dealcli/journal" in w.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert cli("recover", "--discard").returncode == 0
    assert (tmp_path / "elsewhere").is_dir() and cli("deal", "add", "X").returncode == 0
    ident = repo / ".dealcli" / "id"
    ident.unlink()
    os.mkfifo(ident)
    w = cli.proc("deal", "add", "X", timeout=30)
    assert w.returncode == 5 and ".dealcli/id" in w.stderr


def test_the_repository_id_is_written_at_init_and_lazily_for_older_repositories(cli, repo):
    ident = (repo / ".dealcli" / "id").read_text().strip()
    assert len(ident) == 32
    (repo / ".dealcli" / "id").unlink()
    cli.ok("deal", "add", "X")
    assert (repo / ".dealcli" / "id").read_text().strip() not in ("", ident)


# -- where the next command runs: another working folder, after mv, in a cp -a copy -------------------
def _half_done_move(cli, repo: Path) -> tuple[list[str], bytes]:
    """A bulk move killed right after its commit point: journal committed, nothing applied yet."""
    ids = [cli.ok("deal", "add", f"D{i}").strip() for i in range(4)]
    txid = "c0ffee000001"
    ops = []
    for i in ids:
        raw = (repo / "deals" / f"{i}.yaml").read_bytes().replace(b"stage: new", b"stage: preparation")
        (repo / "deals" / f".{i}.yaml.{txid}.tmp").write_bytes(raw)
        ops.append({"path": f"deals/{i}.yaml", "digest": journal._digest(raw)})
    plant_journal(repo, txid, "committed", ops=ops)
    return ids, raw


def _stages(repo: Path, ids) -> set:
    return {b"stage: preparation" in (repo / "deals" / f"{i}.yaml").read_bytes() for i in ids}


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "index.sqlite" not in p.name}


def test_recovery_from_another_working_folder(cli, repo):
    ids, _ = _half_done_move(cli, repo)
    cli.ok("filter", "-f", "ids", cwd=repo / "deals")  # inside the repository, not at its top
    assert _stages(repo, ids) == {True}


def test_recovery_after_mv(cli, repo, tmp_path):
    ids, _ = _half_done_move(cli, repo)
    moved = tmp_path / "moved"
    repo.rename(moved)
    Runner(tmp_path).ok("--dir", "moved", "filter", "-f", "ids")  # a relative --dir, from the parent
    assert _stages(moved, ids) == {True}


def test_recovery_in_a_cp_a_copy_never_touches_the_original(cli, repo, tmp_path):
    ids, _ = _half_done_move(cli, repo)
    original = _tree(repo)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(repo), str(copy)], check=True)
    Runner(copy).ok("filter", "-f", "ids")
    assert _stages(copy, ids) == {True}
    assert _tree(repo) == original  # the original is still half done, and untouched
    cli.ok("filter", "-f", "ids")
    assert _stages(repo, ids) == {True}


# -- fuzz: random entries never write outside the repository, never exit 70, never hang -------------
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=20)
_paths = st.sampled_from(["/x/victim.txt", "../x/victim.txt", "deals/../../x/victim.txt", "deals/d1.yaml",
                          "dealcli.yaml", "deals/ghost.yaml", "companies/c.yaml", "attachments/a/b.txt", "",
                          "attachments/../../x/victim.txt", ".", "deals", "x/victim.txt"]) | st.text(max_size=30)
_ops = st.lists(st.fixed_dictionaries({"path": _paths, "digest": st.none() | st.sampled_from(["0" * 32, "zz"])}),
                max_size=4)


@st.composite
def _entries(draw):
    """Random bytes, random JSON, and well-formed entries (valid checksum and id) naming anything."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=300))
    if choice == 1:
        return json.dumps(draw(_json)).encode()
    state = draw(st.sampled_from(["committed", "prepared", "other"]))
    fields = {"ops": draw(_ops)} if state == "committed" else {"folders": draw(st.lists(_paths, max_size=3))}
    return (state, fields)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("template")
    Runner(base, subprocess=False)("init", base / "repo", "--timezone", "UTC", check=True)
    return base / "repo", Runner(base / "repo", subprocess=False).ok("deal", "add", "Kept").strip()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(entry=_entries(), name=st.sampled_from([PLANTED, "a", "..", "ZZZZZZZZZZZZ"]))
def test_fuzzed_journal_entries(tmp_path_factory, template, entry, name):
    base = tmp_path_factory.mktemp("fuzz")
    repo = base / "repo"
    shutil.copytree(template[0], repo, symlinks=True, ignore=shutil.ignore_patterns("index.sqlite*"))
    cli = Runner(repo, subprocess=False)
    victim = _victim(base)
    deal_id = template[1]
    (repo / "deals" / f".d1.yaml.{PLANTED}.tmp").write_text("id: d1\n")
    if isinstance(entry, tuple):
        state, fields = entry
        path = plant_journal(repo, PLANTED, state, **fields)
        if name != PLANTED:
            path.rename(path.with_name(f"{name}.json"))
    else:
        (_jdir(repo) / f"{name}.json").write_bytes(entry)
    outside_before = sorted(p for p in base.rglob("*") if repo not in p.parents and p != repo)
    for argv in (["filter", "-f", "ids"], ["deal", "add", "New"], ["check"], ["recover", "--status"],
                 ["recover", "--discard"], ["deal", "add", "Last"]):
        r = cli(*argv)
        assert r.returncode in (0, 1, 5), (argv, r.returncode, r.stderr)
        assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr  # after --discard, writers work again
    assert victim.read_text() == "precious\n"
    assert sorted(p for p in base.rglob("*") if repo not in p.parents and p != repo) == outside_before
    assert (repo / "deals" / f"{deal_id}.yaml").exists()
