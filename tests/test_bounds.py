"""Bounded values and sizes end to end (issue 28): dates up to 9999-12-31 in every zone never end
in exit 70, a record has a size limit, a full disk leaves no index cache behind and names the
file, a record of a newer format is refused by every reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import Runner

ZONES = ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"]  # +14 and -12: the ends of the world's clocks
LATE = "9999-12-31T23:00:00+00:00"


@pytest.fixture(params=ZONES)
def zoned(request, tmp_path) -> Runner:
    root = tmp_path / "repo"
    Runner(tmp_path)("init", root, "--timezone", request.param, check=True)
    return Runner(root)


def test_year_9999_never_ends_in_an_internal_error(zoned, tmp_path):
    """Each of these was exit 70 (OverflowError, "year 10000 is out of range")."""
    runs = {
        "recurring add": zoned("recurring", "add", "s", "--every", "month", "--start", "9999-12-01"),
        "calendar --month": zoned("calendar", "--month", "9999-12"),
        "--now calendar": zoned("--now", LATE, "calendar", now=None),
        "--now recurring run": zoned("--now", LATE, "recurring", "run", now=None),
        "--now agenda": zoned("--now", LATE, "agenda", now=None),
    }
    src = tmp_path / "late.csv"
    src.write_text("title,created\nX,9999-12-31T23:59-12:00\n")
    runs["import created"] = zoned("import", src)
    for what, r in runs.items():
        assert r.returncode in (0, 1, 2), f"{what}: {r.returncode} {r.stderr}"
        assert "internal error" not in r.stderr, f"{what}: {r.stderr}"
    assert runs["recurring add"].returncode == 0 and runs["calendar --month"].returncode == 0
    # 9999-12-31T23:59-12:00 is 10000-01-01 in UTC: refused as a bad row, naming it
    assert runs["import created"].returncode == 1 and "late.csv:2: created" in runs["import created"].stderr
    assert "beyond 9999-12-31" in runs["import created"].stderr


def test_calendar_of_december_9999_lists_its_deals(cli):
    deal_id = cli.ok("deal", "add", "Last", "--close-date", "9999-12-31").strip()
    rows = json.loads(cli.ok("calendar", "--month", "9999-12", "--by", "close_date", "-f", "json"))
    assert [(r["id"], r["date"]) for r in rows] == [(deal_id, "9999-12-31")]
    assert deal_id in cli.ok("--now", LATE, "calendar", "--by", "close_date", now=None)


def test_a_newer_format_is_refused_by_filter_too(cli, repo):
    """docs/format.md: unknown formats are refused. `deal show` refused format 99; `filter`
    listed it."""
    keep, newer = (cli.ok("deal", "add", t).strip() for t in ("Keep", "Newer"))
    path = repo / "deals" / f"{newer}.yaml"
    path.write_text(path.read_text().replace("format: 1\n", "format: 99\n"))
    for env in ({}, {"DEALCLI_NO_INDEX": "1"}):
        r = cli("filter", "-f", "ids", env=env)
        assert r.returncode == 0 and r.stdout.split() == [keep]
        assert f"deals/{newer}.yaml:1: format: format 99 is newer than this dealcli" in r.stderr
    assert cli("deal", "show", newer).returncode == 5
    assert cli("check").returncode == 1


def test_a_record_has_a_size_limit(cli, repo):
    """A 100 MB record was accepted, and `deal comment` on it took 723 MB of memory."""
    from dealcli.storage.layout import RECORD_MAX

    big, small = (cli.ok("deal", "add", t).strip() for t in ("Big", "Small"))
    path = repo / "deals" / f"{big}.yaml"
    path.write_bytes(path.read_bytes() + b"#" * (RECORD_MAX + 1) + b"\n")  # a YAML comment: valid, too large
    show = cli("deal", "show", big)
    assert show.returncode == 5 and f"deals/{big}.yaml" in show.stderr and "more than the" in show.stderr
    assert cli("deal", "comment", big, "hi").returncode == 5
    listing = cli("filter", "-f", "ids")
    assert listing.returncode == 0 and listing.stdout.split() == [small] and f"deals/{big}.yaml" in listing.stderr
    # a write that would make a record larger than the limit: exit 2, nothing written
    path = repo / "deals" / f"{small}.yaml"
    raw = path.read_bytes()
    item = b"- {at: '2026-03-01T10:00:00+00:00', by: a@example.com, text: " + b"x" * 900 + b"}\n"
    many = (RECORD_MAX - len(raw) - 1000) // len(item)
    path.write_bytes(raw.replace(b"comments: []\n", b"comments:\n" + item * many))
    edited = path.read_bytes()
    assert cli("deal", "show", small).returncode == 0
    r = cli("deal", "comment", small, "y" * 50_000)
    assert r.returncode == 2 and f"deals/{small}.yaml: would be" in r.stderr and "nothing written" in r.stderr
    assert path.read_bytes() == edited


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs (needs the right to mount: skipped elsewhere)."""
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_leaves_no_index_cache_and_names_the_file(small_disk, tmp_path):
    """A failed import on a full disk left about 1.7 MB in .dealcli/index.sqlite-wal, after which
    every write failed with "No space left on device" naming no file."""
    root = small_disk / "repo"
    Runner(tmp_path)("init", root, "--timezone", "UTC", check=True)
    cli = Runner(root)
    for i in range(3):
        cli.ok("deal", "add", f"D{i}")
    cli.ok("filter", "-f", "ids")  # the cache exists
    src = tmp_path / "many.csv"
    src.write_text("title,amount,company,contact,contact_email\n" + "".join(
        f"Row {i},{i}.50,Company {i % 20},Person {i % 40},p{i % 40}@example.com\n" for i in range(150)))
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 300_000))  # about 300 kB left: not enough
    r = cli("import", src)
    assert r.returncode == 5, r.stderr
    assert "No space left on device" in r.stderr and f"{root}/" in r.stderr  # the file it was writing
    cache = [n for n in os.listdir(root / ".dealcli") if n.startswith("index.sqlite")]
    assert cache == []  # dropped: rebuilt from the files when there is room again
    assert len(cli.ok("filter", "-f", "ids").split()) == 3
    assert not [p for p in root.rglob(".*.tmp")], "temporary files left behind"
    (small_disk / "filler").unlink()
    assert cli("import", src).returncode == 0
    assert len(cli.ok("filter", "-f", "ids").split()) == 153
