"""A way through bad rows (issue 24 item 3): --rejects, --value-map, one line per distinct
problem, and the values nothing maps listed by --dry-run."""

import json

from test_import_cli import by, records

ROWS = ("title,amount,Status,phone,contact\n"
        "A,10,Dead,+1 555 0100,Ann\n"
        "B,20,On Hold,12x,Bob\n"
        "C,30,Dead,+1 555 0101,Cy\n"
        "D,40,won,,Dee\n"
        "E,5,Dead,+1 555 0102,Eve\n")
PHONE = ("--map", "phone=contact_phone")


def test_default_stays_all_or_nothing_and_lists_each_problem_once(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("title,Status\n" + "".join(f"Deal {i},Dead\n" for i in range(127)))
    proc = cli("import", src)
    assert proc.returncode == 1 and records(repo) == []
    err = proc.stderr.splitlines()
    assert len(err) == 2  # not 127 identical lines
    assert err[0] == (f"dealcli: error: {src}:2: Status: 'Dead': is not a status (open, won, lost) "
                      "(127 rows from here on: lines 2, 3, 4, 5, 6 and 122 more)")
    assert err[1] == "dealcli: error: 127 bad rows; nothing imported"


def test_dry_run_prints_the_distinct_unmapped_values_per_column(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text(ROWS)
    proc = cli("import", src, *PHONE, "--dry-run")
    assert proc.returncode == 1
    assert (f"dealcli: error: {src}: Status: values nothing maps: 'Dead' (3 rows), 'On Hold' (1 row); "
            "map them with --value-map 'Status:VALUE=VALUE'") in proc.stderr.splitlines()


def test_value_map_maps_any_column_status_included(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text(ROWS.replace("12x", "+1 555 0199"))
    cli.ok("import", src, *PHONE, "--value-map", "Status:Dead=lost", "--value-map", "status:on hold=open",
           "--value-map", "contact:Dee=Dee Dee")
    deals = by(repo, "title")
    assert [deals[t]["status"] for t in "ABCDE"] == ["lost", "open", "lost", "won", "lost"]
    assert "Dee Dee" in {c["name"] for c in records(repo, "contacts")}
    assert cli("import", src, "--value-map", "Status").returncode == 2


def test_rejects_imports_the_valid_rows_and_writes_the_refused_ones_to_fix(cli, repo, tmp_path):
    src, rejects = tmp_path / "d.csv", tmp_path / "rejects.csv"
    src.write_text(ROWS)
    proc = cli("import", src, *PHONE, "--value-map", "Status:Dead=lost", "--rejects", rejects)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == 4
    assert sorted(by(repo, "title")) == ["A", "C", "D", "E"]  # B refused: a bad phone, a status unmapped
    assert f"1 rows refused, written with their problems to {rejects}" in proc.stderr
    text = rejects.read_text()
    lines = text.splitlines()
    assert lines[0] == "title,amount,Status,phone,contact,import_errors"
    assert lines[1].startswith("B,20,On Hold,12x,Bob,")  # as it came: the value map is not applied
    assert "line 3: Status: 'On Hold': is not a status" in lines[1] and "'12x': not a phone number" in lines[1]
    # fixed and imported again: the import_errors column is not data
    rejects.write_text(text.replace("12x", "+1 555 0199"))
    again = cli("import", rejects, *PHONE, "--value-map", "Status:On Hold=open")
    assert again.returncode == 0, again.stderr
    assert "ignored columns" not in again.stderr
    assert by(repo, "title")["B"]["status"] == "open"
    assert cli("check").returncode == 0


def test_rejects_keeps_a_rows_dependants_out_and_is_one_transaction(cli, repo, tmp_path):
    """A key repeated on a later line refuses that line only; the file format is kept (JSONL)."""
    src, rejects = tmp_path / "d.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"id": "1", "title": "One", "amount": "10"},
        {"id": "1", "title": "One again", "amount": "11"},
        {"id": "2", "title": "Two", "amount": "x"},
        {"id": "3", "title": "Three", "amount": "3"}]) + "\n")
    cli.ok("import", src, "--map", "id=origin_id", "--key", "origin_id", "--rejects", rejects)
    assert sorted(by(repo, "title")) == ["One", "Three"]
    refused = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [r["title"] for r in refused] == ["One again", "Two"]
    assert "the same key is already on line 1" in refused[0]["import_errors"]
    assert "is not an amount" in refused[1]["import_errors"]


def test_rejects_file_inside_the_repository_is_refused(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text(ROWS)
    proc = cli("import", src, "--rejects", repo / "rejects.csv")
    assert proc.returncode == 2
    assert "--rejects" in proc.stderr and "inside the repository" in proc.stderr
    assert records(repo) == [] and not (repo / "rejects.csv").exists()
