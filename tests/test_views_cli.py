"""filter, presets, saved filters, formats, board, calendar and export through the installed
script, the way scripts and pipes use them. NOW is Tuesday 2026-03-10 12:00 UTC."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from decimal import Decimal

import pytest
import yaml

from conftest import NOW, Runner, json_decimal as loads


ME = "tester@example.com"


def _add(root, when: str, user: str = ME, **spec) -> str:
    from dealcli import deals
    from dealcli.session import Session

    s = Session(repo_root=root, as_user=user, now_text=when, quiet=True)
    return deals.add(s, deals.DealSpec(**spec)).id


def _activity(root, act_id: str, deal: str, due: str, done: bool = False) -> None:
    from dealcli.storage.repository import Repository

    Repository(root).save("activities", act_id, {
        "format": 1, "id": act_id, "deal": deal, "type": "call", "subject": "call them", "due": due,
        "responsible": ME, "done": done, "done_at": None, "created": NOW, "created_by": ME})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A repository with deals whose presets are known, shared by the read-only tests."""
    base = tmp_path_factory.mktemp("views")
    root = base / "repo"
    Runner(base)("init", root, "--timezone", "UTC", check=True)
    ids = {
        "alpha": _add(root, NOW, title="Alpha", amount="1000", close_date="2026-03-20", source="web"),
        "beta": _add(root, NOW, user="boris@example.com", title="Beta", amount="1000", currency="EUR",
                     close_date="2026-03-05", stage="preparation", responsible="boris@example.com",
                     products=["Licence seat:100:10"]),
        "gamma": _add(root, "2026-01-01T10:00:00+00:00", title="Gamma", amount="250.50", close_date="2026-04-15"),
        "delta": _add(root, NOW, title="Delta", amount="5000", stage="won", responsible="boris@example.com"),
        "eps": _add(root, NOW, title="Epsilon", amount="300", stage="lose", responsible="boris@example.com"),
        "formula": _add(root, NOW, title='=HYPERLINK("http://evil.example","x")', amount="1000",
                        close_date="2026-03-09", sets=["fields.note=+1+2", "fields.cmd=@SUM(A1)"]),
    }
    _activity(root, "act1", ids["alpha"], "2026-03-11T10:00:00+00:00")
    _activity(root, "act2", ids["beta"], "2026-03-09T10:00:00+00:00")
    _activity(root, "act3", ids["gamma"], "2026-03-01T10:00:00+00:00", done=True)
    return Runner(root), ids


def idset(out: str) -> set[str]:
    return set(out.split())


def names(ids: dict, *keys) -> set[str]:
    return {ids[k] for k in keys}


# -- presets ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset,expected", [
    ("open", ("alpha", "beta", "gamma", "formula")),
    ("won", ("delta",)),
    ("lost", ("eps",)),
    ("mine", ("alpha", "gamma", "formula")),
    ("no-activity", ("gamma", "formula")),            # gamma's only activity is done
    ("overdue", ("beta", "formula")),                 # beta: activity past due; formula: close date passed
    ("closing-this-month", ("alpha", "beta", "formula")),
    ("stale", ("gamma",)),                            # not modified since 2026-01-01
])
def test_presets(sample, preset, expected):
    cli, ids = sample
    assert idset(cli.ok("filter", "--preset", preset, "-f", "ids")) == names(ids, *expected)


def test_presets_combine_with_each_other_and_with_expressions(sample):
    cli, ids = sample
    assert idset(cli.ok("filter", "--preset", "open", "--preset", "mine", "amount>=1000", "-f", "ids")) == \
        names(ids, "alpha", "formula")


def test_stale_days_comes_from_the_settings(sample, tmp_path):
    cli, ids = sample
    root = tmp_path / "copy"
    shutil.copytree(cli.root, root)
    with open(root / "dealcli.yaml", "a") as f:
        f.write("stale_days: 100\n")
    assert Runner(root).ok("filter", "--preset", "stale", "-f", "ids") == ""
    with open(root / "dealcli.yaml", "a") as f:
        f.write("stale_days: 0\n")
    proc = Runner(root)("filter", "--preset", "stale")
    assert proc.returncode == 5 and "stale_days" in proc.stderr


def test_next_activity_column_and_sort(sample):
    cli, ids = sample
    rows = loads(cli.ok("filter", "--preset", "open", "--sort", "next_activity",
                        "--columns", "id,next_activity,overdue,company_name", "-f", "json"))
    assert [r["id"] for r in rows[:2]] == [ids["beta"], ids["alpha"]]
    assert rows[0]["next_activity"] == "2026-03-09T10:00:00+00:00" and rows[0]["overdue"] is True
    assert rows[2]["next_activity"] is None and rows[3]["next_activity"] is None  # without: last


# -- formats parsed back by the standard library -----------------------------------------------------
def test_json_jsonl_csv_tsv_yaml_ids_parse_back(sample):
    cli, ids = sample
    args = ("filter", "--preset", "open", "--sort", "title")
    as_json = loads(cli.ok(*args, "-f", "json"))
    assert [r["title"] for r in as_json][:3] == ['=HYPERLINK("http://evil.example","x")', "Alpha", "Beta"]
    assert as_json[1]["amount"] == Decimal("1000.00") and as_json[1]["contacts"] == []  # money: an exact JSON number
    jsonl = [loads(line) for line in cli.ok(*args, "-f", "jsonl").splitlines()]
    assert jsonl == as_json

    raw = subprocess.run([cli.exe, *args, "-f", "csv"], capture_output=True, env=_env(cli), cwd=cli.root).stdout
    assert raw.count(b"\n") == len(as_json) + 1 and b"\r" not in raw  # LF line ends (awk, cut, Miller)
    rows = list(csv.DictReader(io.StringIO(raw.decode(), newline="")))
    assert [r["id"] for r in rows] == [r["id"] for r in as_json]
    assert rows[0]["title"] == "'" + as_json[0]["title"]  # filter csv guards formulas as export does
    assert rows[1]["amount"] == "1000.00"

    tsv = list(csv.DictReader(io.StringIO(cli.ok(*args, "-f", "tsv")), delimiter="\t"))
    assert [r["id"] for r in tsv] == [r["id"] for r in as_json]
    assert [r["id"] for r in yaml.safe_load(cli.ok(*args, "-f", "yaml"))] == [r["id"] for r in as_json]
    assert cli.ok(*args, "-f", "ids").splitlines() == [r["id"] for r in as_json]


def test_columns_pick_fields_in_order(sample):
    cli, ids = sample
    out = cli.ok("filter", "title=beta", "--columns", "title,product,products.price,amount", "-f", "csv")
    assert out.splitlines() == ["title,product,products.price,amount", "Beta,Licence seat,100.00,1000.00"]


def test_table_is_plain_when_piped_and_names_the_stage(sample):
    cli, ids = sample
    out = cli.ok("filter", "title=beta")
    assert "\x1b[" not in out
    assert "Preparing documents" in out and ids["beta"] in out


def test_no_match_prints_nothing_on_stdout(sample):
    cli, _ = sample
    proc = cli("filter", "amount>1000000")
    assert proc.returncode == 0 and proc.stdout == "" and "no deal matches" in proc.stderr
    assert cli.ok("filter", "amount>1000000", "-f", "json") == "[]\n"


# -- sorting and paging --------------------------------------------------------------------------------
def test_sort_is_stable_and_typed(sample):
    cli, ids = sample
    ties = sorted(names(ids, "alpha", "beta", "formula"))  # all three have amount 1000
    asc = cli.ok("filter", "--sort", "amount", "-f", "ids").split()
    assert asc[0] == ids["gamma"] and asc[1] == ids["eps"]  # 250.50 < 300 (numbers, not text)
    assert asc[2:5] == ties and asc[5] == ids["delta"]
    desc = cli.ok("filter", "--sort=-amount", "-f", "ids").split()
    assert desc[0] == ids["delta"] and desc[1:4] == ties  # ties keep their order when descending too
    multi = cli.ok("filter", "--sort", "currency,amount", "--limit", "2", "-f", "ids").split()
    assert multi == [ids["beta"], ids["gamma"]]  # EUR before USD, then by amount
    multi = cli.ok("filter", "--sort", "-currency,-amount", "-f", "ids").split()
    assert multi[:3] == [ids["delta"]] + sorted(names(ids, "alpha", "formula")) and multi[-1] == ids["beta"]


def test_limit(sample):
    cli, _ = sample
    assert len(cli.ok("filter", "--limit", "2", "-f", "ids").split()) == 2
    assert cli.ok("filter", "--limit", "0", "-f", "ids") == ""


# -- errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("amount>>1",), ("close_date=someday",), ("status=opne",), ("nofield",),
                                  ("--preset", "nope"), ("--sort", "-"), ("--columns", "a,b c=")])
def test_bad_input_is_one_line_exit_2(sample, args):
    cli, _ = sample
    proc = cli("filter", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_corrupt_deal_file_is_skipped_with_one_notice(sample, tmp_path):
    cli, ids = sample
    root = tmp_path / "copy"
    shutil.copytree(cli.root, root)
    (root / "deals" / "broken0000.yaml").write_text("id: [unclosed\n")
    proc = Runner(root)("filter", "-f", "ids")
    assert proc.returncode == 0
    assert idset(proc.stdout) == set(ids.values())
    assert proc.stderr.count("\n") == 1 and "broken0000.yaml" in proc.stderr


# -- saved filters -------------------------------------------------------------------------------------
def test_save_and_reuse_a_filter(cli, repo):
    a = cli.ok("deal", "add", "Big", "--amount", "5000").strip()
    cli.ok("deal", "add", "Small", "--amount", "5")
    assert cli.ok("filter", "--preset", "open", "amount>100", "--save", "big-open", "-f", "ids").split() == [a]
    config = yaml.safe_load((repo / "dealcli.yaml").read_text())
    assert config["filters"] == {"big-open": ["status=open", "amount>100"]}
    assert config["currency"] == "USD"  # the rest of the settings is kept
    assert cli.ok("filter", "--preset", "big-open", "-f", "ids").split() == [a]
    assert cli.ok("filter", "--preset", "big-open", "title=small", "-f", "ids") == ""
    assert cli.ok("export", "--preset", "big-open", "-f", "ids").split() == [a]
    for bad in (["--save", "open", "amount>1"], ["--save", "Bad Name", "amount>1"], ["--save", "x"],
                ["--save", "y", "amount>>1"]):
        proc = cli("filter", *bad)
        assert proc.returncode == 2, (bad, proc.stderr)
    assert yaml.safe_load((repo / "dealcli.yaml").read_text())["filters"] == {"big-open": ["status=open",
                                                                                           "amount>100"]}


# -- pipes ---------------------------------------------------------------------------------------------
def _env(cli) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_USER": ME, "DEALCLI_NOW": NOW, "NO_COLOR": "1", "TZ": "UTC",
                "DEALCLI_DIR": str(cli.root)})
    return env


def test_bulk_move_through_a_real_shell_pipe(cli):
    a = cli.ok("deal", "add", "One", "--amount", "10").strip()
    b = cli.ok("deal", "add", "Two", "--amount", "20").strip()
    c = cli.ok("deal", "add", "Three", "--amount", "30", "--stage", "executing").strip()
    proc = subprocess.run(f'"{cli.exe}" filter stage=new -f ids | "{cli.exe}" deal move - preparation',
                          shell=True, capture_output=True, text=True, env=_env(cli), cwd=cli.root)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == {a, b}
    assert set(cli.ok("filter", "stage=preparation", "-f", "ids").split()) == {a, b}
    assert cli.ok("filter", "stage=executing", "-f", "ids").split() == [c]


def test_a_closed_pipe_exits_quietly(cli, repo):
    from dealcli.storage import yamlcodec

    (repo / "deals").mkdir(exist_ok=True)
    for i in range(400):  # well over a pipe buffer of output
        rid = f"p{i:09d}"
        (repo / "deals" / f"{rid}.yaml").write_text(yamlcodec.dumps({
            "format": 1, "id": rid, "title": f"Deal number {i} " + "x" * 200, "pipeline": "sales",
            "stage": "new", "status": "open", "amount": 100 + i, "currency": "USD"}))
    for args in ("filter -f csv", "filter", "export -f csv", "export -f jsonl", "board -f json"):
        script = f'"{cli.exe}" {args} 2>err.txt | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}; cat err.txt'
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=_env(cli), cwd=cli.root)
        code, _, err = proc.stdout.partition("\n")
        assert code == "0", (args, proc.stdout)
        assert err == "", (args, err)  # no "Exception ignored ... BrokenPipeError"


# -- export ----------------------------------------------------------------------------------------------
def test_export_jsonl_is_each_stored_record(sample):
    from dealcli.views import render
    from dealcli.storage.repository import Repository

    cli, ids = sample
    repo = Repository(cli.root)
    lines = cli.ok("export", "-f", "jsonl", "--sort", "id").splitlines()
    assert len(lines) == len(ids)
    for line in lines:
        got = loads(line)
        assert got == loads(render.json_text(repo.load("deals", got["id"]).data))
    beta = next(loads(x) for x in lines if loads(x)["id"] == ids["beta"])
    assert beta["products"][0]["name"] == "Licence seat" and beta["history"][0]["kind"] == "created"


def test_export_json_and_yaml_are_nested(sample):
    cli, ids = sample
    data = loads(cli.ok("export", "title=beta", "-f", "json"))
    assert data[0]["products"][0]["price"] == Decimal("100.00") and data[0]["fields"] == {}
    back = yaml.safe_load(cli.ok("export", "title=beta", "-f", "yaml"))
    assert back[0]["products"][0]["name"] == "Licence seat"


def test_export_csv_layout_and_formula_guard(sample):
    cli, ids = sample
    raw = subprocess.run([cli.exe, "export", "-f", "csv", "--sort", "title"], capture_output=True,
                         env=_env(cli), cwd=cli.root).stdout.decode()
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == len(ids)
    header = raw.split("\n")[0].split(",")
    assert header[:4] == ["format", "id", "title", "pipeline"]
    assert "fields.note" in header and "fields.cmd" in header and "fields" not in header
    guarded = rows[0]
    assert guarded["title"] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert guarded["fields.note"] == "'+1+2" and guarded["fields.cmd"] == "'@SUM(A1)"
    beta = next(r for r in rows if r["id"] == ids["beta"])
    assert loads(beta["products"])[0]["price"] == Decimal("100.00")
    assert loads(beta["history"])[0]["kind"] == "created"
    assert beta["amount"] == "1000.00" and beta["currency"] == "EUR"  # as in the file
    for row in rows:  # nothing a spreadsheet would run
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r")


# -- board -----------------------------------------------------------------------------------------------
def test_board_json_structure(sample):
    cli, ids = sample
    board = loads(cli.ok("board", "-f", "json"))
    assert [c["id"] for c in board["stages"]] == ["new", "preparation", "prepayment_invoice", "executing",
                                                  "final_invoice", "won", "lose", "apology"]
    new = board["stages"][0]
    assert new["count"] == 3 and new["sum"] == {"USD": Decimal("2250.50")}
    assert new["weighted"] == {"USD": Decimal("225.05")}  # probability 10% of the stage
    prep = board["stages"][1]
    assert prep["sum"] == {"EUR": Decimal("1000.00")} and prep["weighted"] == {"EUR": Decimal("200.00")}
    assert [d["id"] for d in prep["deals"]] == [ids["beta"]]
    assert board["total"]["count"] == 6
    assert board["total"]["sum"] == {"USD": Decimal("7550.50"), "EUR": Decimal("1000.00")}
    assert loads(cli.ok("board", "--preset", "won", "-f", "json"))["total"]["count"] == 1


def test_board_fits_80_columns_and_csv_parses(sample):
    cli, ids = sample
    out = cli.ok("board", env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "Preparing documents" in out and "Deal won" in out and "Beta" in out
    assert sum(line.startswith("New") for line in out.splitlines()) == 1
    rows = list(csv.DictReader(io.StringIO(cli.ok("board", "-f", "csv"), newline="")))
    assert {(r["stage"], r["currency"], r["count"]) for r in rows if r["count"] != "0"} == {
        ("new", "USD", "3"), ("preparation", "EUR", "1"), ("won", "USD", "1"), ("lose", "USD", "1")}
    proc = cli("board", "--pipeline", "nope")
    assert proc.returncode == 3 and "nope" in proc.stderr


# -- calendar ----------------------------------------------------------------------------------------------
def test_calendar_grid_and_listing(sample):
    cli, ids = sample
    out = cli.ok("calendar")
    assert out.startswith("March 2026")
    assert "Mon" in out.splitlines()[2] and "10*" in out  # today is marked
    assert "Fri 2026-03-20" in out and "Alpha" in out
    rows = list(csv.DictReader(io.StringIO(cli.ok("calendar", "--month", "2026-03", "-f", "csv"), newline="")))
    assert [(r["date"], r["id"]) for r in rows] == [("2026-03-05", ids["beta"]), ("2026-03-09", ids["formula"]),
                                                    ("2026-03-20", ids["alpha"])]
    april = loads(cli.ok("calendar", "--month", "2026-04", "-f", "json"))
    assert [r["id"] for r in april] == [ids["gamma"]]
    jan = loads(cli.ok("calendar", "--month", "2026-01", "--by", "created", "-f", "json"))
    assert [(r["date"], r["id"]) for r in jan] == [("2026-01-01", ids["gamma"])]
    assert cli.ok("calendar", "--month", "2026-03", "--preset", "mine", "-f", "ids").split() == \
        [ids["formula"], ids["alpha"]]
    for bad in (["--month", "2026-13"], ["--month", "March"], ["--by", "modified"]):
        assert cli("calendar", *bad).returncode == 2


def test_ids_are_ids_whatever_columns_are_asked_for(cli):
    a = cli.ok("deal", "add", "A").strip()
    b = cli.ok("deal", "add", "B").strip()
    assert sorted(cli.ok("filter", "--columns", "title", "-f", "ids").split()) == sorted([a, b])
    assert sorted(cli.ok("export", "-f", "ids").split()) == sorted([a, b])
