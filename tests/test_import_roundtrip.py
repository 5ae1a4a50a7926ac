"""Round trip: deal records as `dealcli export -f jsonl` writes them (render.json_text of the stored
record) imported into an empty repository reproduce the same deal files, byte for byte."""

import json
from decimal import Decimal

from conftest import Runner
from dealcli.views import render
from dealcli.session import Session


def _export_jsonl(repo) -> str:
    s = Session(repo_root=repo, quiet=True)
    return "".join(render.json_text(r) + "\n" for r in s.deal_records())


def test_export_jsonl_import_into_empty_repository_reproduces_the_deals(cli, repo, tmp_path):
    cli.ok("deal", "add", "Multi", "--amount", "1234.50", "--currency", "eur", "--product", "Widget:10.25:3",
           "--comment", "two\nlines", "--set", "colour=red", "--close-date", "2026-04-01")
    won = cli.ok("deal", "add", "Won one", "--product", "Gadget:99.99").strip()
    cli.ok("deal", "close", won, "--won")
    lost = cli.ok("deal", "add", "Lost one").strip()
    cli.ok("deal", "close", lost, "--lost", "--reason", "too expensive")
    cli.ok("deal", "move", cli.ok("deal", "add", "Moved").strip(), "executing")
    dump = tmp_path / "export.jsonl"
    dump.write_text(_export_jsonl(repo))

    Runner(tmp_path)("init", tmp_path / "empty", "--timezone", "UTC", check=True)
    other = Runner(tmp_path / "empty")
    out = other.ok("import", dump)
    assert len(out.split()) == 4
    original = {p.name: p.read_bytes() for p in (repo / "deals").iterdir()}
    copied = {p.name: p.read_bytes() for p in (tmp_path / "empty" / "deals").iterdir()}
    assert copied == original

    again = other("import", dump, "--key", "id")
    assert again.returncode == 0 and "4 unchanged" in again.stderr
    as_array = tmp_path / "export.json"
    records = [json.loads(line, parse_float=Decimal) for line in dump.read_text().splitlines()]
    as_array.write_text(render.json_text(records))
    twice = other("import", as_array)  # ids taken: new ids, same content
    assert twice.returncode == 0 and "4 deals got a new id" in twice.stderr
    assert len(list((tmp_path / "empty" / "deals").iterdir())) == 8


def test_a_broken_exported_record_is_a_bad_row(cli, repo, tmp_path):
    cli.ok("deal", "add", "X")
    lines = _export_jsonl(repo).splitlines()
    record = json.loads(lines[0], parse_float=Decimal)
    record["amount"] = "lots"
    record2 = dict(json.loads(lines[0], parse_float=Decimal), id="other", stage="nowhere")
    dump = tmp_path / "bad.jsonl"
    dump.write_text(render.json_text(record) + "\n" + render.json_text(record2) + "\n{not json\n")
    proc = cli("import", dump)
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert err[0].startswith(f"dealcli: error: {dump}:1: amount: 'lots': ")
    assert err[1].startswith(f"dealcli: error: {dump}:2: stage: 'nowhere': ")
    assert err[2].startswith(f"dealcli: error: {dump}:3: (line): not JSON")
    assert len(list((repo / "deals").iterdir())) == 1
