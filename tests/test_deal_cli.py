"""The deal lifecycle through the installed `dealcli` script."""

import csv
import io
from decimal import Decimal

import yaml

from conftest import json_decimal as loads


def add(cli, *args):
    return cli.ok("deal", "add", *args).strip()


def show(cli, deal_id):
    return loads(cli.ok("deal", "show", deal_id, "-f", "json"))


def test_amount_from_products_is_exact(cli):
    d = add(cli, "Three dimes", "--product", "Dime:0.1", "--product", "Dime:0.1", "--product", "Dime:0.1")
    data = show(cli, d)
    assert data["amount"] == Decimal("0.30") and data["manual_amount"] is False
    d2 = add(cli, "Rows", "--product", "Seat:240:25:15:20", "--product", r"Setup\: phase 1:1500")  # an escaped colon
    data = show(cli, d2)
    # 240*25 = 6000, -15% = 5100, +20% tax = 6120; plus 1500
    assert data["amount"] == Decimal("7620.00")
    assert data["products"][1]["name"] == "Setup: phase 1"
    d3 = add(cli, "Manual", "--amount", "99.99", "--product", "X:10")
    assert show(cli, d3)["amount"] == Decimal("99.99") and show(cli, d3)["manual_amount"] is True


def test_lifecycle_and_history_events(cli):
    d = add(cli, "Lifecycle", "--amount", "100")
    assert cli.ok("deal", "move", d, "preparation").strip() == d
    cli.ok("deal", "edit", d, "--title", "Renamed", "--amount", "250", "--set", "fields.po=PO-7")
    cli.ok("deal", "comment", d, "Called the client")
    cli.ok("deal", "close", d, "--lost", "--stage", "apology", "--reason", "budget")
    data = show(cli, d)
    assert (data["status"], data["stage"], data["lost_reason"]) == ("lost", "apology", "budget")
    assert data["closed_at"] and data["fields"] == {"po": "PO-7"}
    # closed: moves and edits refused (exit 1), comments still allowed
    proc = cli("deal", "move", d, "new")
    assert proc.returncode == 1 and "closed" in proc.stderr
    proc = cli("deal", "edit", d, "--title", "x")
    assert proc.returncode == 1
    cli.ok("deal", "comment", d, "Post-mortem done")
    cli.ok("deal", "reopen", d)
    data = show(cli, d)
    assert (data["status"], data["stage"], data["closed_at"]) == ("open", "preparation", None)
    kinds = [e["kind"] for e in data["history"]]
    assert kinds == ["created", "moved", "changed", "changed", "changed", "commented", "moved", "closed",
                     "commented", "reopened"]
    changed = {e["field"]: (e["old"], e["new"]) for e in data["history"] if e["kind"] == "changed"}
    assert changed["title"] == ("Lifecycle", "Renamed")
    assert changed["amount"] == ("100.00", "250.00")
    assert changed["fields.po"] == (None, "PO-7")
    assert all(e["by"] == "tester@example.com" and e["at"] for e in data["history"])


def test_move_into_success_closes_won_and_failure_closes_lost(cli):
    a, b = add(cli, "A"), add(cli, "B")
    cli.ok("deal", "move", a, "won")
    cli.ok("deal", "move", b, "lose")
    assert show(cli, a)["status"] == "won" and show(cli, b)["status"] == "lost"
    assert show(cli, a)["probability"] == 100


def test_close_from_any_stage(cli):
    d = add(cli, "Early win")
    cli.ok("deal", "close", d, "--won")
    assert show(cli, d)["stage"] == "won"
    proc = cli("deal", "close", d, "--won", "--lost")
    assert proc.returncode == 2


def test_history_in_every_format(cli):
    d = add(cli, "H")
    cli.ok("deal", "move", d, "executing")
    assert loads(cli.ok("deal", "history", d, "-f", "json"))[1]["to"] == "executing"
    lines = cli.ok("deal", "history", d, "-f", "jsonl").splitlines()
    assert [loads(x)["kind"] for x in lines] == ["created", "moved"]
    rows = list(csv.DictReader(io.StringIO(cli.ok("deal", "history", d, "-f", "csv"))))
    assert rows[1]["kind"] == "moved" and rows[1]["from"] == "new"
    assert "moved" in cli.ok("deal", "history", d, "-f", "tsv")
    assert yaml.safe_load(cli.ok("deal", "history", d, "-f", "yaml"))[0]["kind"] == "created"
    assert cli.ok("deal", "history", d, "-f", "ids").strip() == d
    assert "New -> In progress" in cli.ok("deal", "history", d)


def test_ids_from_stdin_are_one_transaction(cli):
    ids = [add(cli, f"D{i}") for i in range(3)]
    out = cli.ok("deal", "move", "-", "preparation", input="\n".join(ids) + "\n")
    assert out.split() == ids
    assert all(show(cli, i)["stage"] == "preparation" for i in ids)
    cli.ok("deal", "close", ids[0], "--won")
    # one closed deal in the batch: the whole batch is refused and nothing changes
    proc = cli("deal", "move", "-", "executing", input="\n".join(ids))
    assert proc.returncode == 1
    assert [show(cli, i)["stage"] for i in ids] == ["won", "preparation", "preparation"]


def test_prefix_and_ambiguity(cli, repo):
    d = add(cli, "Prefix")
    assert show(cli, d[:5])["id"] == d
    # make an ambiguous prefix by copying the file under a sibling id
    twin = d[:3] + ("0" if d[3] != "0" else "1") + d[4:]
    text = (repo / "deals" / f"{d}.yaml").read_text().replace(d, twin)
    (repo / "deals" / f"{twin}.yaml").write_text(text)
    proc = cli("deal", "show", d[:3])
    assert proc.returncode == 3 and d in proc.stderr and twin in proc.stderr
    assert cli("deal", "show", "zzzzzz").returncode == 3


def test_unknown_keys_written_by_hand_survive_an_edit(cli, repo):
    d = add(cli, "Hand edited", "--product", "A:5")
    path = repo / "deals" / f"{d}.yaml"
    data = yaml.safe_load(path.read_text())
    data["x_note"] = "keep me"
    data["products"][0]["x_sku"] = "SKU-1"
    data["history"][0]["x_flag"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cli.ok("deal", "edit", d, "--title", "Edited")
    cli.ok("deal", "move", d, "preparation")
    after = yaml.safe_load(path.read_text())
    assert after["x_note"] == "keep me"
    assert after["products"][0]["x_sku"] == "SKU-1"
    assert after["history"][0]["x_flag"] is True
    assert after["title"] == "Edited"


def test_key_order_is_stable_and_format_versioned(cli, repo):
    d = add(cli, "Order")
    keys = list(yaml.safe_load((repo / "deals" / f"{d}.yaml").read_text()))
    assert keys[:5] == ["format", "id", "title", "pipeline", "stage"]
    assert keys[-2:] == ["comments", "history"]


def test_corrupt_file_gives_exit_5_and_check_names_the_line(cli, repo):
    good = add(cli, "Good")
    bad = add(cli, "Bad")
    path = repo / "deals" / f"{bad}.yaml"
    lines = path.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if line.startswith("amount:"))
    lines[idx] = "amount: [1, 2"
    path.write_text("\n".join(lines) + "\n")
    proc = cli("deal", "show", bad)
    assert proc.returncode == 5 and f"deals/{bad}.yaml:" in proc.stderr and "Traceback" not in proc.stderr
    assert cli("deal", "show", good).returncode == 0  # other deals are unaffected
    cli.ok("deal", "move", good, "preparation")
    proc = cli("check")
    assert proc.returncode == 1
    assert f"deals/{bad}.yaml:{idx + 1}:" in proc.stdout or f"deals/{bad}.yaml:{idx + 2}:" in proc.stdout
    problems = loads(cli("check", "-f", "json").stdout)
    assert problems and problems[0]["path"] == f"deals/{bad}.yaml"


def test_wrong_type_in_file_names_field_and_line(cli, repo):
    d = add(cli, "Typed")
    path = repo / "deals" / f"{d}.yaml"
    text = path.read_text().replace("probability: 10", "probability: lots")
    path.write_text(text)
    line = text.splitlines().index("probability: lots") + 1
    proc = cli("deal", "show", d)
    assert proc.returncode == 5 and f":{line}:" in proc.stderr and "probability" in proc.stderr
    out = cli("check").stdout
    assert f"deals/{d}.yaml:{line}:" in out


def test_check_passes_on_example_repo_and_catches_rule_breaks(tmp_path):
    from conftest import Runner

    run = Runner(tmp_path)
    run.ok("init", "ex", "--example", "--timezone", "UTC")
    assert run("check", cwd=tmp_path / "ex").returncode == 0
    deal_file = sorted((tmp_path / "ex" / "deals").iterdir())[0]
    deal_file.write_text(deal_file.read_text().replace("stage: ", "stage: nowhere_", 1))
    proc = run("check", cwd=tmp_path / "ex")
    assert proc.returncode == 1 and "stage-exists" in proc.stdout and deal_file.name in proc.stdout


def test_odd_encoding_in_a_file_is_exit_5(cli, repo):
    d = add(cli, "Latin")
    path = repo / "deals" / f"{d}.yaml"
    path.write_bytes(path.read_bytes().replace(b"title: Latin", "title: Caf\xe9".encode("latin-1")))
    proc = cli("deal", "show", d)
    assert proc.returncode == 5 and "Traceback" not in proc.stderr


def test_bad_values_on_the_command_line(cli, repo):
    cases = [
        (["deal", "add", "X", "--amount", "1e400"], 2),
        (["deal", "add", "X", "--amount", "9" * 30], 2),
        (["deal", "add", "X", "--amount", "abc"], 2),
        (["deal", "add", "X", "--amount", "NaN"], 2),
        (["deal", "add", "X", "--probability", "140"], 2),
        (["deal", "add", "X", "--close-date", "not a date"], 2),
        (["deal", "add", "X", "--product", "Thing"], 3),  # not in the catalogue
        (["deal", "add", "X", "--product", "Thing:5:1:150"], 2),
        (["deal", "add", "X", "--pipeline", "nope"], 3),
        (["deal", "add", ""], 2),
        (["deal", "add", "X", "--set", "novalue"], 2),
        (["deal", "frobnicate"], 2),
    ]
    for args, code in cases:
        proc = cli(*args)
        assert proc.returncode == code, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.strip(), args
    assert not (repo / "deals").exists() or not list((repo / "deals").glob("*.yaml"))


def test_repeat_deal_for_a_client_with_a_won_deal(cli):
    first = add(cli, "First", "--company", "Acme Corp")
    assert show(cli, first)["repeat"] is False
    cli.ok("deal", "close", first, "--won")
    second = add(cli, "Second", "--company", "acme corp")  # same company, by name, any case
    data = show(cli, second)
    assert data["repeat"] is True and data["company"] == show(cli, first)["company"]
    other = add(cli, "Other", "--company", "Globex")
    assert show(cli, other)["repeat"] is False


def test_acting_user_and_clock(cli):
    d = cli.ok("--as", "boss@example.com", "--now", "2026-01-02 09:30", "deal", "add", "Clocked").strip()
    data = show(cli, d)
    assert data["created_by"] == "boss@example.com" and data["responsible"] == "boss@example.com"
    assert data["created"] == "2026-01-02T09:30:00+00:00" and data["begin"] == "2026-01-02"
    assert cli("--now", "garbage", "deal", "add", "x").returncode == 2


def test_init_refuses_to_overwrite(cli, repo):
    before = (repo / "dealcli.yaml").read_bytes()
    proc = cli("init", str(repo))
    assert proc.returncode == 1 and "already" in proc.stderr
    assert (repo / "dealcli.yaml").read_bytes() == before
    assert (repo / ".gitignore").read_text().splitlines().count(".dealcli/") == 1


def test_init_layout_and_default_stages(repo):
    pipe = yaml.safe_load((repo / "pipelines" / "sales.yaml").read_text())
    assert [s["id"] for s in pipe["stages"]] == ["new", "preparation", "prepayment_invoice", "executing",
                                                 "final_invoice", "won", "lose", "apology"]
    assert [s["semantics"] for s in pipe["stages"]][-3:] == ["success", "failure", "failure"]
    assert all(s["color"].startswith("#") and s["probability"] is not None for s in pipe["stages"])
    assert ".dealcli/" in (repo / ".gitignore").read_text()


def test_delete_needs_yes_without_a_terminal(cli, repo):
    d = add(cli, "Doomed")
    assert cli("deal", "delete", d).returncode == 2
    assert cli.ok("deal", "delete", d, "--yes").strip() == d
    assert not (repo / "deals" / f"{d}.yaml").exists()
    assert cli("deal", "show", d).returncode == 3


def test_version_and_help(cli):
    assert cli.proc("--version", check=True).stdout.startswith("dealcli ")  # start-up of a real process
    assert "deal" in cli.ok("--help")


def test_shell_completion(cli):
    # Typer detects the user's shell from the parent processes (here: make's sh); its testing
    # switch lets the shell be named instead
    # (a real process: completion is driven by environment variables a shell sets for the script)
    script = cli.proc("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
                      check=True).stdout
    assert "complete" in script and "_DEALCLI_COMPLETE" in script
    proc = cli.proc(env={"_DEALCLI_COMPLETE": "complete_bash", "COMP_WORDS": "dealcli deal mo", "COMP_CWORD": "2"})
    assert proc.returncode == 0 and proc.stdout.split() == ["move"]
