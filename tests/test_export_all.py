"""`export --all` and `import --all` (issue 24 item 4): a repository holding every kind of the
registry (deals, pipelines, companies, contacts, leads, quotes, products, activities, recurring
templates, generators) and users, departments and roles goes out as one stream or a folder and
comes back into an empty repository as the same files, byte for byte, that pass `check`."""

import json

import pytest

from conftest import Runner
from dealcli import kinds

ADMIN = "anna"


def files_of(root):
    """Every file of a repository (its private .dealcli/ aside) -> its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".dealcli" not in p.relative_to(root).parts}


@pytest.fixture
def full(tmp_path):
    """A repository with records of every kind, users, a department and a role."""
    root = tmp_path / "full"
    run = Runner(tmp_path)
    run("init", root, "--example", "--timezone", "UTC", check=True)
    cli = Runner(root)
    cli.ok("user", "add", ADMIN, "--email", "anna@example.com", "--role", "admin", user=ADMIN)
    cli.ok("dept", "add", "Sales", "--head", ADMIN, user=ADMIN)
    cli.ok("role", "add", "closer", "--grant", "deal:edit=own", user=ADMIN)
    cli.ok("user", "add", "boris", "--email", "boris@example.com", "--dept", "Sales", "--role", "closer", user=ADMIN)
    cli.ok("user", "add", "chen", "--email", "chen@example.com", user=ADMIN)
    cli.ok("recurring", "add", "Monthly support", "--every", "month", "--start", "2027-01-01",
           "--company", "Contoso Ltd", user=ADMIN)
    cli.ok("generator", "add", "Win back", "--segment", "status=lost", user=ADMIN)
    for k in kinds.KINDS:  # the fixture really holds every kind
        assert list((root / k.folder).glob("*.yaml")), k.folder
    assert cli("check", user=ADMIN).returncode == 0
    return root


def fresh(tmp_path, name):
    root = tmp_path / name
    Runner(tmp_path)("init", root, "--timezone", "UTC", check=True)
    return root


@pytest.mark.parametrize("fmt", ["jsonl", "yaml"])
def test_a_folder_export_imports_as_the_same_repository(full, tmp_path, fmt):
    out = tmp_path / f"out-{fmt}"
    Runner(full).ok("export", "--all", "-f", fmt, "--out", out, user=ADMIN)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"settings.{fmt}"] + [f"{k.folder}.{fmt}" for k in kinds.KINDS])
    if fmt == "jsonl":  # links as ids: a deal names its company by id, one record a line
        deal = json.loads((out / "deals.jsonl").read_text().splitlines()[0])
        assert (full / "companies" / f"{deal['company']}.yaml").is_file()
    target = fresh(tmp_path, f"copy-{fmt}")
    proc = Runner(target)("import", out, "--all", user=ADMIN)
    assert proc.returncode == 0, proc.stderr
    n = len(list((full / "deals").glob("*.yaml")))  # the example repository's deals, as many as it has
    assert f"{n} deals" in proc.stderr and "1 generator imported" in proc.stderr  # ngettext: one generator
    assert files_of(target) == files_of(full)
    assert Runner(target)("check", user=ADMIN).returncode == 0


@pytest.mark.parametrize("fmt", ["jsonl", "yaml"])
def test_a_stream_export_imports_as_the_same_repository(full, tmp_path, fmt):
    stream = Runner(full).ok("export", "--all", "-f", fmt, user=ADMIN)
    if fmt == "jsonl":
        lines = [json.loads(line) for line in stream.splitlines()]
        assert lines[0]["kind"] == "settings" and {x["kind"] for x in lines} == {"settings", *kinds.FOLDERS}
    src = tmp_path / f"all.{fmt}"
    src.write_text(stream)
    target = fresh(tmp_path, "copy")
    Runner(target).ok("import", src, "--all", user=ADMIN)
    assert files_of(target) == files_of(full)
    assert Runner(target)("check", user=ADMIN).returncode == 0


def test_export_all_is_jsonl_by_default_and_refuses_what_does_not_fit(full, tmp_path):
    cli = Runner(full)
    assert cli.ok("export", "--all", user=ADMIN).startswith('{"kind":"settings"')
    assert cli("export", "--all", "-f", "csv", user=ADMIN).returncode == 2
    assert cli("export", "--all", "stage=new", user=ADMIN).returncode == 2
    assert cli("export", "--out", tmp_path / "x", user=ADMIN).returncode == 2
    inside = cli("export", "--all", "--out", full / "dump", user=ADMIN)
    assert inside.returncode == 2 and "inside the repository" in inside.stderr
    # a user who may not export every record gets no partial repository
    assert cli("export", "--all", user="chen").returncode == 6


def test_import_all_needs_an_empty_repository_and_good_records(full, tmp_path):
    out = tmp_path / "out"
    Runner(full).ok("export", "--all", "--out", out, user=ADMIN)
    again = Runner(full)("import", out, "--all", user=ADMIN)
    assert again.returncode == 1 and "a whole-repository import fills an empty repository" in again.stderr
    deals = len(Runner(full).ok("filter", "-f", "ids", user=ADMIN).split())
    assert f" {deals} deals" in again.stderr.split("holds", 1)[1]  # what it holds, counted
    lines = (out / "products.jsonl").read_text().splitlines()
    bad = json.loads(lines[0])
    bad["price"] = "a lot"
    (out / "products.jsonl").write_text("\n".join([json.dumps(bad), *lines[1:]]) + "\n")
    target = fresh(tmp_path, "copy")
    before = files_of(target)
    proc = Runner(target)("import", out, "--all", user=ADMIN)
    assert proc.returncode == 1 and f"{out / 'products.jsonl'}:1: product {bad['id']}: price" in proc.stderr
    assert files_of(target) == before  # nothing written
    dry = Runner(target)("import", out, "--all", "--dry-run", user=ADMIN)
    assert dry.returncode == 1
