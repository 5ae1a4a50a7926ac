"""The two halves of migration meet: `dealcli export -f jsonl` piped into `dealcli import` in an
empty repository reproduces the same deals."""

import json
import shutil
from decimal import Decimal

from conftest import Runner


def test_export_jsonl_then_import_reproduces_the_same_deals(cli, repo, tmp_path):
    a = cli.ok("deal", "add", "Alpha", "--company", "Acme", "--product", "Seat:240:25:15:20",
               "--product", "Setup:1500", "--set", "fields.po=PO-1", "--close-date", "2026-04-01").strip()
    b = cli.ok("deal", "add", "Beta", "--amount", "1000", "--currency", "EUR").strip()
    c = cli.ok("deal", "add", "Gamma =1+1", "--amount", "0.1").strip()
    cli.ok("deal", "move", a, "executing")
    cli.ok("deal", "comment", a, "line one\nline two")
    cli.ok("deal", "close", b, "--won")
    cli.ok("deal", "close", c, "--lost", "--reason", "price")
    exported = cli.ok("export", "-f", "jsonl")
    assert len(exported.splitlines()) == 3

    other = tmp_path / "other"
    Runner(tmp_path).ok("init", other, "--timezone", "UTC")
    run_b = Runner(other)
    # the deals link their company: without it the write gate refuses them (issue 23, [dangling-link])
    proc = run_b("import", "-", "--format", "jsonl", input=exported)
    assert proc.returncode == 1 and "[dangling-link]" in proc.stderr, proc.stderr
    shutil.copytree(repo / "companies", other / "companies")
    proc = run_b("import", "-", "--format", "jsonl", input=exported)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted([a, b, c])
    assert run_b.ok("export", "-f", "jsonl") == exported
    for deal_id in (a, b, c):
        assert (other / "deals" / f"{deal_id}.yaml").read_bytes() == (repo / "deals" / f"{deal_id}.yaml").read_bytes()
    # and a second import of the same export with a key changes nothing
    again = run_b("import", "-", "--format", "jsonl", "--key", "id", input=exported)
    assert again.returncode == 0, again.stderr
    assert run_b.ok("export", "-f", "jsonl") == exported
    row = json.loads(exported.splitlines()[0], parse_float=Decimal)
    assert isinstance(row["amount"], Decimal)  # money is an exact JSON number
