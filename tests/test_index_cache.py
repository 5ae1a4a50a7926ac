"""The index cache (.dealcli/index.sqlite) must never change what a command sees: files added,
edited, renamed or deleted behind dealcli's back are seen by the next scan, a broken cache is
rebuilt silently, concurrent processes cannot corrupt it, and results are identical with and
without it."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dealcli.session import Session
from dealcli.storage import index as index_mod
from dealcli.storage import yamlcodec

from conftest import NOW


def deal_dict(deal_id: str, title: str = "T", amount: str = "10.50", status: str = "open", stage: str = "new",
              company: str | None = None, contacts: list | None = None) -> dict:
    return {"format": 1, "id": deal_id, "title": title, "pipeline": "sales", "stage": stage, "status": status,
            "amount": Decimal(amount), "currency": "USD", "manual_amount": True, "company": company,
            "contacts": contacts or [], "products": [{"name": "P", "product": None, "price": Decimal("3.25"),
                                                       "quantity": Decimal("2"), "discount": Decimal("0"),
                                                       "tax_rate": Decimal("0"), "tax_included": False}],
            "fields": {"segment": "smb"}, "comments": [], "history": [{"at": NOW, "by": "x", "kind": "created"}]}


def write(repo: Path, deal_id: str, data: dict | str, kind: str = "deals") -> Path:
    path = repo / kind / f"{deal_id}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(data if isinstance(data, str) else yamlcodec.dumps(data))
    return path


def scan(repo: Path, cache: bool = True, kind: str = "deals"):
    """(records, error lines) as a fresh process would see them."""
    old = os.environ.pop("DEALCLI_NO_INDEX", None)
    if not cache:
        os.environ["DEALCLI_NO_INDEX"] = "1"
    try:
        s = Session(repo_root=repo, quiet=True)
        errors: list = []
        records = list(s.repo.records(kind, errors))
        s.repo.index and s.repo.index.close()
        return records, [e.message for e in errors]
    finally:
        os.environ.pop("DEALCLI_NO_INDEX", None)
        if old is not None:
            os.environ["DEALCLI_NO_INDEX"] = old


def same_with_and_without(repo: Path, kind: str = "deals"):
    cached = scan(repo, kind=kind)
    direct = scan(repo, cache=False, kind=kind)
    assert cached == direct
    # exact types too: Decimal stays Decimal, str stays str
    assert [[type(v) for v in d.values()] for _, d in cached[0]] == [[type(v) for v in d.values()]
                                                                      for _, d in direct[0]]
    return cached


def db(repo: Path) -> sqlite3.Connection:
    return sqlite3.connect(repo / ".dealcli" / "index.sqlite")


def test_first_scan_builds_the_cache_and_results_match_the_files(repo):
    for i in range(5):
        write(repo, f"d{i}", deal_dict(f"d{i}", title=f"Deal {i}", amount=f"{i}.10"))
    records, errors = same_with_and_without(repo)
    assert [r[0] for r in records] == [f"d{i}" for i in range(5)]
    assert records[3][1]["amount"] == Decimal("3.10") and str(records[3][1]["amount"]) == "3.10"
    assert errors == []
    assert db(repo).execute("SELECT count(*) FROM entries WHERE kind='deals'").fetchone()[0] == 5


def test_types_marshal_cannot_hold_round_trip_exactly(repo):
    text = ("id: odd\ntitle: Odd\npipeline: sales\nstage: new\nweird:\n"
            "  big: 123456789012345678901234567890\n  tiny: 0.000001\n  date: 2026-03-10\n  none: null\n"
            "  nested: [{a: 1.50}, [2]]\n")
    write(repo, "odd", text)
    records, _ = same_with_and_without(repo)
    weird = records[0][1]["weird"]
    assert weird["big"] == 123456789012345678901234567890 and weird["date"] == "2026-03-10"
    assert weird["tiny"] == Decimal("0.000001") and str(weird["nested"][0]["a"]) == "1.50"
    scan(repo)  # warm: from the cache
    assert scan(repo)[0] == records


def test_values_that_are_not_plain_data_are_errors_cached_or_not(repo):
    for name, value in (("deckey", "{1.5: decimal key}"), ("intkey", "{7: int key}"), ("inf", ".inf"),
                        ("set", "!!set {a: null}"), ("bin", "!!binary aGVsbG8=")):
        write(repo, name, f"id: {name}\ntitle: Odd\npipeline: sales\nstage: new\nweird: {value}\n")
    cold = scan(repo)
    assert cold[0] == [] and len(cold[1]) == 5
    assert all(re.match(r"deals/\w+\.yaml:5: weird", e) for e in cold[1]), cold[1]
    assert scan(repo) == cold  # warm: the errors come from the cache
    assert scan(repo, cache=False) == cold


def test_added_edited_deleted_and_renamed_files_are_seen_by_the_next_scan(repo):
    for i in range(3):
        write(repo, f"d{i}", deal_dict(f"d{i}"))
    scan(repo)
    write(repo, "d3", deal_dict("d3", title="added by hand"))
    write(repo, "d1", deal_dict("d1", title="edited by hand, a longer title"))
    (repo / "deals" / "d0.yaml").unlink()
    os.rename(repo / "deals" / "d2.yaml", repo / "deals" / "d9.yaml")
    records, _ = same_with_and_without(repo)
    assert [r[0] for r in records] == ["d1", "d3", "d9"]
    assert records[0][1]["title"] == "edited by hand, a longer title"
    assert records[1][1]["title"] == "added by hand"
    names = [n for (n,) in db(repo).execute("SELECT name FROM entries WHERE kind='deals' ORDER BY name")]
    assert names == ["d1", "d3", "d9"]


def test_edit_keeping_size_and_restoring_mtime_is_seen(repo, monkeypatch):
    """`cp -p`, `touch -d`, rsync -t: same size, mtime put back. ctime still moves."""
    path = write(repo, "d1", deal_dict("d1", title="AAAA"))
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)  # so the row is trusted on its stat alone
    scan(repo)
    assert db(repo).execute("SELECT settled FROM entries WHERE name='d1'").fetchone()[0] == 1
    st = path.stat()
    path.write_text(path.read_text().replace("AAAA", "BBBB"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    records, _ = same_with_and_without(repo)
    assert records[0][1]["title"] == "BBBB"


def test_racy_edit_with_identical_stat_is_caught_by_the_digest(repo):
    """A file edited twice within the file system's timestamp granularity keeps size, mtime and
    ctime. Such a fresh file is never trusted on its stat alone: the next scan compares bytes."""
    path = write(repo, "d1", deal_dict("d1", title="AAAA"))
    scan(repo)
    assert db(repo).execute("SELECT settled FROM entries WHERE name='d1'").fetchone()[0] == 0
    path.write_text(path.read_text().replace("AAAA", "BBBB"))
    # simulate the coarse clock: the stored stamp equals the file's stat after the second edit
    con = db(repo)
    con.execute("UPDATE entries SET stamp = ? WHERE name = 'd1'", (index_mod._stat_key(path.stat()),))
    con.commit()
    con.close()
    records, _ = scan(repo)
    assert records[0][1]["title"] == "BBBB"


def test_settled_rows_are_trusted_and_reads_settle_old_files(repo, monkeypatch):
    path = write(repo, "d1", deal_dict("d1"))
    old = path.stat().st_mtime_ns - 10 * index_mod.SETTLE_NS
    os.utime(path, ns=(old, old))
    scan(repo)  # ctime is recent, so still unsettled
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    scan(repo)
    assert db(repo).execute("SELECT settled FROM entries WHERE name='d1'").fetchone()[0] == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "old-version", "empty"])
def test_broken_or_old_cache_is_rebuilt_silently(repo, damage):
    for i in range(3):
        write(repo, f"d{i}", deal_dict(f"d{i}"))
    expected = scan(repo)
    path = repo / ".dealcli" / "index.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1500])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        con = db(repo)
        con.execute("PRAGMA user_version = 1")
        con.commit()
        con.close()
    write(repo, "d7", deal_dict("d7"))
    records, errors = scan(repo)
    assert [r[0] for r in records] == ["d0", "d1", "d2", "d7"]
    assert records[:3] == expected[0]
    assert db(repo).execute("PRAGMA user_version").fetchone()[0] == index_mod.VERSION
    assert db(repo).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_broken_cache_through_the_cli_is_silent(cli, repo):
    deal_id = cli.ok("deal", "add", "One").strip()
    (repo / ".dealcli").mkdir(exist_ok=True)
    (repo / ".dealcli" / "index.sqlite").write_bytes(b"\x00garbage" * 50)
    proc = cli("deal", "add", "Two", "--company", "Acme")
    # only the usual notices (company created, next-step hint), no word about the cache
    assert proc.returncode == 0 and proc.stderr.count("\n") <= 2 and "error" not in proc.stderr
    assert "index" not in proc.stderr and "cache" not in proc.stderr
    assert cli.ok("deal", "show", deal_id[:5], "-f", "json")


def test_corrupt_files_report_the_same_error_cold_and_warm(repo):
    write(repo, "good", deal_dict("good"))
    write(repo, "bad", "id: bad\ntitle: [unclosed\n")
    write(repo, "list", "- not a mapping\n")
    direct = scan(repo, cache=False)
    assert scan(repo) == direct  # cold cache
    assert scan(repo) == direct  # warm cache
    assert len(direct[1]) == 2 and any("deals/bad.yaml:" in e for e in direct[1])
    s = Session(repo_root=repo, quiet=True)
    with pytest.raises(Exception) as exc:
        list(s.deal_records())  # errors=None raises, as before
    assert "bad.yaml" in str(exc.value)


def test_parallel_cold_parse_gives_the_same_records(repo, monkeypatch):
    for i in range(40):
        write(repo, f"d{i:02d}", deal_dict(f"d{i:02d}", title=f"Deal {i}", amount=f"{i}.01"))
    write(repo, "zz", "title: [broken\n")
    monkeypatch.setattr(index_mod, "PARALLEL_MIN", 2)
    monkeypatch.setattr(index_mod, "CHUNK", 7)
    monkeypatch.setattr(index_mod, "BATCH", 5)
    records = same_with_and_without(repo)
    assert len(records[0]) == 40 and len(records[1]) == 1
    assert scan(repo) == records


def test_a_cache_that_cannot_be_written_falls_back_to_the_files(repo):
    write(repo, "d1", deal_dict("d1"))
    (repo / ".dealcli").mkdir(exist_ok=True)
    (repo / ".dealcli" / "index.sqlite").mkdir()  # a folder where the file should be
    records, _ = scan(repo)
    assert [r[0] for r in records] == ["d1"]


WORKER = r"""
import sys, random
from dealcli.session import Session
repo, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
for _ in range(15):
    s = Session(repo_root=repo, quiet=True)
    got = [d["id"] for d in s.deal_records([])]
    assert got == sorted(got)
    if rng.random() < 0.3:
        s.repo.lookup("deals", [("won_company", "acme")])
"""

EDITOR = r"""
import sys, random
from pathlib import Path
repo, seed = Path(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
for n in range(60):
    i = rng.randrange(30)
    p = repo / "deals" / f"d{i:02d}.yaml"
    if p.exists() and rng.random() < 0.2:
        p.unlink()
    else:
        p.write_text(f"id: d{i:02d}\ntitle: v{n}\npipeline: sales\nstage: new\nstatus: won\ncompany: acme\n")
"""


def test_two_processes_updating_the_cache_at_once_never_corrupt_it(repo):
    for i in range(30):
        write(repo, f"d{i:02d}", deal_dict(f"d{i:02d}"))
    env = {**os.environ, "DEALCLI_LOCK_TIMEOUT": "60"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(repo), str(k)], env=env,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    procs.append(subprocess.Popen([sys.executable, "-c", EDITOR, str(repo), "9"], env=env, stderr=subprocess.PIPE,
                                  text=True))
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert db(repo).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # whatever interleaving happened, the next scan agrees with the files
    same_with_and_without(repo)
    same_with_and_without(repo)


def test_writes_through_dealcli_update_the_cache(cli, repo):
    first = cli.ok("deal", "add", "First", "--amount", "5").strip()
    scan(repo)  # a scan (filter, board, export ...) builds the cache
    second = cli.ok("deal", "add", "Second", "--amount", "7.25").strip()
    row = db(repo).execute("SELECT e.settled, b.blob FROM entries e JOIN blobs b USING (kind, name) WHERE name = ?",
                           (second,)).fetchone()
    assert row is not None and row[0] == 0  # written by dealcli, stored (unsettled)
    assert index_mod.decode(row[1])["amount"] == Decimal("7.25")
    cli.ok("deal", "edit", second, "--title", "Second, renamed")
    row = db(repo).execute("SELECT blob FROM blobs WHERE name = ?", (second,)).fetchone()
    assert index_mod.decode(row[0])["title"] == "Second, renamed"
    cli.ok("deal", "delete", first, "--yes")
    assert db(repo).execute("SELECT count(*) FROM entries WHERE name = ?", (first,)).fetchone()[0] == 0
    records, _ = same_with_and_without(repo)
    assert [r[0] for r in records] == [second]


def test_repeat_deal_detection_uses_the_cache_and_sees_files_added_behind_its_back(cli, repo):
    won = cli.ok("deal", "add", "Won deal", "--company", "Acme").strip()
    company = json.loads(cli.ok("deal", "show", won, "-f", "json"))["company"]
    cli.ok("deal", "close", won, "--won")
    again = cli.ok("deal", "add", "Again", "--company", "Acme").strip()
    assert json.loads(cli.ok("deal", "show", again, "-f", "json"))["repeat"] is True
    assert (repo / ".dealcli" / "index.sqlite").exists()
    # a company and its won deal arrive by `git pull` (new files)
    write(repo, "globex0001", {"format": 1, "id": "globex0001", "name": "Globex"}, kind="companies")
    write(repo, "pulled0001", deal_dict("pulled0001", status="won", stage="won", company="globex0001"))
    fresh = cli.ok("deal", "add", "Fresh", "--company", "Globex").strip()
    shown = json.loads(cli.ok("deal", "show", fresh, "-f", "json"))
    assert shown["company"] == "globex0001" and shown["repeat"] is True
    assert company != "globex0001"
    plain = cli.ok("deal", "add", "Plain", "--company", "Nobody Inc").strip()
    assert json.loads(cli.ok("deal", "show", plain, "-f", "json"))["repeat"] is False


def test_client_lookup_by_name_sees_a_company_file_added_by_hand(cli, repo):
    cli.ok("deal", "add", "Warm up", "--company", "Initech")  # builds the company keys
    write(repo, "hand000001", {"format": 1, "id": "hand000001", "name": "Hooli  Corp", "emails": [],
                               "phones": [], "responsible": None, "fields": {}}, kind="companies")
    deal_id = cli.ok("deal", "add", "Uses Hooli", "--company", "hooli corp").strip()
    assert json.loads(cli.ok("deal", "show", deal_id, "-f", "json"))["company"] == "hand000001"
    assert len(list((repo / "companies").glob("*.yaml"))) == 2  # nothing created twice


def test_lookups_trust_an_unchanged_folder_and_notice_a_changed_one(repo, monkeypatch):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)  # every stat counts as settled at once
    write(repo, "d1", deal_dict("d1", status="won", stage="won", company="c1"))
    s = Session(repo_root=repo, quiet=True)
    assert s.repo.lookup("deals", [("won_company", "c1")]) == ["d1"]
    meta = db(repo).execute("SELECT value FROM meta WHERE key = 'dir:deals'").fetchone()[0]
    assert meta == index_mod._stat_key((repo / "deals").stat())  # the folder is trusted now
    # a file added behind dealcli's back changes the folder: the next lookup rescans
    write(repo, "d2", deal_dict("d2", status="won", stage="won", company="c2", contacts=["p1"]))
    assert s.repo.lookup("deals", [("won_company", "c2")]) == ["d2"]
    assert s.repo.lookup("deals", [("won_contact", "p1"), ("won_company", "zz")]) == ["d2"]
    # dealcli's own writes keep the folder trusted (no rescan needed)
    s.repo.save("companies", "c3", {"format": 1, "id": "c3", "name": "C3"})  # no dangling link (issue 23)
    s.repo.save("deals", "d3", deal_dict("d3", status="won", stage="won", company="c3"))
    meta = db(repo).execute("SELECT value FROM meta WHERE key = 'dir:deals'").fetchone()[0]
    assert meta == index_mod._stat_key((repo / "deals").stat())
    assert s.repo.lookup("deals", [("won_company", "c3")]) == ["d3"]
    # a candidate edited in place is checked against its file before it is believed
    write(repo, "d1", deal_dict("d1", company="c1"))  # reopened by hand
    assert s.repo.lookup("deals", [("won_company", "c1")]) == []
    s.repo.delete("deals", "d3")
    assert s.repo.lookup("deals", [("won_company", "c3")]) == []


def test_rows_vanishing_during_a_scan_are_read_from_the_files(repo, monkeypatch):
    for i in range(6):
        write(repo, f"d{i}", deal_dict(f"d{i}", title=f"Deal {i}"))
    expected = scan(repo)
    monkeypatch.setattr(index_mod, "BATCH", 2)
    s = Session(repo_root=repo, quiet=True)
    it = s.repo.records("deals", [])
    first = next(it)
    con = db(repo)
    con.execute("DELETE FROM entries")  # another process wipes the cache meanwhile
    con.commit()
    con.close()
    assert [first, *it] == expected[0]


def test_id_prefixes_resolve_from_the_cache_and_see_new_files(repo, monkeypatch):
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)
    for name in ("abc111", "abd222", "xyz333"):
        write(repo, name, deal_dict(name))
    s = Session(repo_root=repo, quiet=True)
    scan(repo)  # the folder is now trusted
    monkeypatch.setattr(type(s.repo), "ids", lambda self, kind: pytest.fail("listed the folder"))
    assert s.repo.resolve("deals", "abd") == "abd222"
    with pytest.raises(Exception, match="ambiguous"):
        s.repo.resolve("deals", "ab")
    monkeypatch.undo()
    write(repo, "abe999", deal_dict("abe999"))  # behind dealcli's back: the folder changed
    assert s.repo.resolve("deals", "abe") == "abe999"
    (repo / "deals" / "abd222.yaml").unlink()
    with pytest.raises(Exception, match="no such deal"):
        s.repo.resolve("deals", "abd")


def test_a_vanished_row_is_not_hidden_by_a_stale_neighbour(repo, monkeypatch):
    for i in range(6):
        write(repo, f"d{i}", deal_dict(f"d{i}", title=f"Deal {i}"))
    scan(repo)
    write(repo, "d3", deal_dict("d3", title="changed by hand, longer"))  # d3 must be parsed again
    expected = scan(repo, cache=False)
    monkeypatch.setattr(index_mod, "BATCH", 2)  # batches d0-d1, d2-d4 (d3 between), d5
    s = Session(repo_root=repo, quiet=True)
    it = s.repo.records("deals", [])
    first = next(it)
    con = db(repo)
    con.execute("DELETE FROM entries WHERE name = 'd4'")
    con.commit()
    con.close()
    assert [first, *it] == expected[0]


def test_client_index_from_the_cache_matches_the_one_from_the_files(repo):
    from dealcli import clients

    companies = {"c1": ("Acme  Ltd", ["Sales@Acme.example"]), "c2": ("acme ltd", []),
                 "c3": ("Globex", ["a@g.example", "b@g.example"])}
    for cid, (name, emails) in companies.items():
        write(repo, cid, {"format": 1, "id": cid, "name": name, "emails": emails}, kind="companies")
    write(repo, "c4", "name: [broken\n", kind="companies")

    def build(cache: bool):
        if not cache:
            os.environ["DEALCLI_NO_INDEX"] = "1"
        try:
            idx = clients.ClientIndex(Session(repo_root=repo, quiet=True), "company")
            return idx.by_name, idx.by_email
        finally:
            os.environ.pop("DEALCLI_NO_INDEX", None)

    assert build(True) == build(False)
    assert build(True) == build(False)  # warm
    idx = clients.ClientIndex(Session(repo_root=repo, quiet=True), "company")
    assert idx.find(email="sales@acme.EXAMPLE") == "c1" and idx.find(name="GLOBEX") == "c3"
    with pytest.raises(Exception, match="ambiguous"):
        idx.find(name="ACME LTD")


def test_records_cached_by_dealcli_writes_equal_a_cold_read(cli, repo):
    # the cache is fed by dealcli's own writes; what it serves must be what parsing the file gives
    cli.ok("filter")  # builds the cache
    d = cli.ok("deal", "add", "Rows", "--product", "Seat:240:25:15:20", "--amount", "1000").strip()
    cli.ok("deal", "comment", d, "hello")
    warm = cli.ok("export", "-f", "jsonl")
    cold = cli.ok("export", "-f", "jsonl", env={"DEALCLI_NO_INDEX": "1"})
    assert warm == cold and d in warm
