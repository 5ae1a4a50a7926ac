"""The output contract of issue 15: what scripts and third-party tools get from dealcli.

1. money is an exact decimal written as a JSON number, the same in every command and as the JSON
   Schemas say; 2. CSV ends lines in LF, TSV is real TSV (backslash escapes, read back by the
   importer), one formula guard; 3. data never drives the terminal; 4. a corrupt record is named
   and skipped (scans) or refused (exit 5); 5. values are bounded up front (exit 2); 6. a
   reference is never a path. Third-party readers (jq, Miller, sqlite-utils, csvkit) are run
   where installed (.ci/run installs jq and Miller; the test extra installs the Python ones)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import NOW, Runner
from dealcli.validation import schemas
from dealcli.views import render

EVIL = "Evil\x1b]0;pwned\x07 \x1b[2J\rX\u202eY\x9b\x00"
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def loads(text: str):
    return json.loads(text, parse_float=Decimal)


def env_of(cli: Runner) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_USER": "tester@example.com", "NO_COLOR": "1", "TZ": "UTC", "DEALCLI_NOW": NOW})
    return env


def raw(cli: Runner, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real script, bytes in and out (CR and CRLF untouched)."""
    return subprocess.run([cli.exe, *map(str, args)], capture_output=True, env=env_of(cli), cwd=cli.root,
                          timeout=timeout)


def validate(kind: str, record) -> None:
    errors = list(schemas.validator(schemas.SCHEMA_OF_KIND[kind]).iter_errors(record))
    assert not errors, (kind, [e.message for e in errors])


def money_values(data):
    """Every value under a money-like key in a JSON structure."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k in ("amount", "price", "sum", "weighted", "total"):
                if isinstance(v, dict):
                    yield from (x for x in v.values() if not isinstance(x, (dict, list)))
                elif not isinstance(v, (list, dict)):
                    yield v
            yield from money_values(v)
    elif isinstance(data, list):
        for v in data:
            yield from money_values(v)


@pytest.fixture
def crm(cli):
    co = cli.ok("company", "add", "Acme").strip()
    ct = cli.ok("contact", "add", "Ann Smith", "--email", "ann@acme.example", "--company", co).strip()
    prod = cli.ok("product", "add", "Seat", "--price", "120.50", "--tax", "20").strip()
    deal = cli.ok("deal", "add", "Seats", "--company", co, "--contact", ct, "--product", f"{prod}:3",
                  "--product", "Dime:0.1:3", "--close-date", "2026-03-20").strip()
    manual = cli.ok("deal", "add", "Manual", "--amount", "1000", "--currency", "EUR",
                    "--close-date", "2026-03-12").strip()
    cli.ok("quote", "add", "Offer", "--product", "Setup:800", "--company", co)
    cli.ok("lead", "add", "Lead", "--company-name", "Initech", "--amount", "70")
    cli.ok("activity", "add", deal, "--type", "call", "--subject", "Call", "--due", "2026-03-11 10:00")
    return {"company": co, "contact": ct, "product": prod, "deal": deal, "manual": manual}


# -- 1. money ------------------------------------------------------------------------------------------
def test_json_text_writes_decimals_as_exact_numbers():
    data = {"a": Decimal("360.00"), "b": Decimal("1E+3"), "c": Decimal("-0.5"), "d": Decimal("0.000001"),
            "e": [1, True, None, "x\u202e\""], "f": {}}
    text = render.json_text(data)
    assert text == '{"a":360.00,"b":1000,"c":-0.5,"d":0.000001,"e":[1,true,null,"x\u202e\\""],"f":{}}'
    assert loads(text)["a"] == Decimal("360.00") and str(loads(text)["a"]) == "360.00"
    assert json.loads(render.json_text(data, indent=2)) == json.loads(text)


def test_every_json_command_matches_its_schema_with_money_as_numbers(cli, crm):
    records = {
        "deals": [loads(cli.ok("deal", "show", crm["deal"], "-f", "json")),
                  *[loads(x) for x in cli.ok("export", "-f", "jsonl").splitlines()],
                  *loads(cli.ok("export", "-f", "json")),
                  *loads(cli.ok("filter", "-f", "json"))],
        "companies": loads(cli.ok("company", "list", "-f", "json")),
        "contacts": loads(cli.ok("contact", "list", "-f", "json")),
        "products": [loads(cli.ok("product", "show", crm["product"], "-f", "json"))],
        "quotes": loads(cli.ok("quote", "list", "-f", "json")),
        "leads": loads(cli.ok("lead", "list", "-f", "json")),
        "pipelines": [loads(cli.ok("pipeline", "show", "sales", "-f", "json"))],
    }
    for kind, items in records.items():
        assert items, kind
        for item in items:
            validate(kind, item)
    views = [loads(cli.ok("board", "-f", "json")), loads(cli.ok("calendar", "--month", "2026-03", "-f", "json")),
             loads(cli.ok("agenda", "-f", "json")), records]
    found = [v for view in views for v in money_values(view)]
    assert found and all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in found), found
    seats = next(d for d in records["deals"] if d["title"] == "Seats")
    assert seats["amount"] == Decimal("434.10")  # 3 x 120.50 + 20 %, + 3 x 0.10


def test_deal_show_and_export_agree_to_the_character(cli, repo, crm):
    path = repo / "deals" / f"{crm['manual']}.yaml"
    path.write_text(path.read_text().replace("amount: 1000.00", "amount: 1000"))  # a hand edit
    for deal in (crm["deal"], crm["manual"]):
        shown = cli.ok("deal", "show", deal, "-f", "json")
        exported = next(x for x in cli.ok("export", "-f", "jsonl").splitlines() if loads(x)["id"] == deal)
        assert loads(shown) == loads(exported)
        assert re.search(r'"amount": ?(\S+?),', shown).group(1) == re.search(r'"amount":(\S+?),', exported).group(1)
        assert json.loads(cli.ok("deal", "show", deal, "-f", "jsonl")) == json.loads(exported)
    assert '"amount":1000.00,' in cli.ok("export", f"id={crm['manual']}", "-f", "jsonl")


# -- 2. CSV and TSV ---------------------------------------------------------------------------------------
def test_csv_ends_lines_in_lf_and_guards_formulas_everywhere(cli, repo):
    cli.ok("deal", "add", '=HYPERLINK("http://evil.example","x")', "--amount", "-100")
    cli.ok("deal", "add", "@SUM(A1)", "--amount", "5")
    deal = cli.ok("deal", "add", "+1+2", "--amount", "7").strip()
    path = repo / "deals" / f"{deal}.yaml"
    path.write_text(path.read_text() + "'=cmd': '-2+3'\n")  # an unknown key: a header cell
    for args in (("filter", "--sort", "title", "-f", "csv"), ("export", "--sort", "title", "-f", "csv"),
                 ("filter", "--sort", "title", "-f", "tsv"), ("export", "--sort", "title", "-f", "tsv")):
        out = raw(cli, *args)
        assert out.returncode == 0 and b"\r" not in out.stdout, args
        text = out.stdout.decode()
        rows = list(csv.reader(io.StringIO(text), delimiter="\t" if "tsv" in args else ","))
        cells = [c for row in rows for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], args
        assert "-100.00" in cells  # a number is no formula: kept for awk, Miller, spreadsheets
        assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells and "'@SUM(A1)" in cells, args
        if args[0] == "export":
            assert "'=cmd" in rows[0] and "'-2+3" in cells  # header cells too


def test_tsv_is_real_tsv_and_the_importer_reads_it_back(cli, tmp_path):
    title = "Tab\there, new\nline, back\\slash\\n, CR\rend \"quoted\""
    deal = cli.ok("deal", "add", title, "--amount", "12.50").strip()
    out = raw(cli, "filter", f"id={deal}", "--columns", "title,amount", "-f", "tsv").stdout
    lines = out.split(b"\n")
    assert len(lines) == 3 and lines[2] == b""  # header, one record, nothing in between
    assert b"Tab\\there, new\\nline, back\\\\slash\\\\n, CR\\rend \"quoted\"" in lines[1]
    assert b"\r" not in out
    dump = tmp_path / "deals.tsv"
    dump.write_bytes(out)
    Runner(tmp_path).ok("init", tmp_path / "other", "--timezone", "UTC")
    other = Runner(tmp_path / "other")
    other.ok("import", dump)
    assert loads(other.ok("export", "-f", "json"))[0]["title"] == title
    # a TSV as older dealcli versions wrote it (CSV quoting with tabs) is still read as such
    old = tmp_path / "old.tsv"
    old.write_text('title\tamount\n"two\tcells ""in"" one"\t5\n"multi\nline"\t6\n')
    other.ok("import", old)
    titles = {d["title"] for d in loads(other.ok("export", "-f", "json"))}
    assert {'two\tcells "in" one', "multi\nline"} <= titles


# -- 3. the terminal --------------------------------------------------------------------------------------
def test_no_view_replays_control_characters_from_data(cli, repo):
    co = cli.ok("company", "add", EVIL).strip()
    deal = cli.ok("deal", "add", EVIL, "--company", co, "--close-date", "2026-03-12", "--comment", EVIL,
                  "--set", f"fields.note={EVIL}").strip()
    cli.ok("activity", "add", deal, "--type", "call", "--subject", EVIL, "--due", "2026-03-11 10:00")
    for args in (("filter",), ("deal", "show", deal), ("board",), ("agenda",), ("calendar", "--month", "2026-03"),
                 ("deal", "history", deal), ("company", "list"), ("company", "show", co), ("activity", "list"),
                 ("board", "--cards", "0")):
        out = raw(cli, *args).stdout.decode()
        assert out and not CONTROL.search(out), (args, out)
        assert "\\x1b]0;pwned\\x07" in out or "\\x1b]0;pwned\\…" in out or "\\x1b]0;pw" in out, (args, out)
    shown = raw(cli, "deal", "show", deal).stdout.decode()
    assert "\\u202eY\\x9b\\x00" in shown
    # data formats keep the data exact
    assert loads(cli.ok("deal", "show", deal, "-f", "json"))["title"] == EVIL
    assert loads(cli.ok("filter", "-f", "jsonl"))["title"] == EVIL


def test_printable_is_idempotent_and_keeps_colours_it_made():
    once = render.printable(EVIL)
    assert render.printable(once) == once and not CONTROL.search(once)
    styled = render.Styled("\x1b[38;2;1;2;3mok\x1b[0m")
    assert render.printable(styled) is styled


# -- 4. corrupt hand edits ---------------------------------------------------------------------------------
BROKEN = {
    "words": ("amount: 1000.00", "amount: nine hundred"),
    "huge": ("amount: 1000.00", "amount: 1.0e400"),
    "mapping": ("stage: new", "stage: {a: 1}"),
    "nullkey": ("title: ", "null: x\ntitle: "),
    "set": ("title: ", "tags: !!set {a, b}\ntitle: "),
}


def _bomb() -> str:
    lines, prev = ['lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'], "a0"
    for i in range(1, 9):
        lines.append(f"lol{i}: &a{i} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = f"a{i}"
    return "\n".join(lines) + "\n"


def test_corrupt_records_are_named_and_skipped_by_scans_and_refused_by_show(cli, repo):
    good = cli.ok("deal", "add", "Good", "--amount", "500").strip()
    bad = {}
    for name, (old, new) in BROKEN.items():
        deal = cli.ok("deal", "add", name, "--amount", "1000").strip()
        path = repo / "deals" / f"{deal}.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        bad[name] = deal
    bomb = cli.ok("deal", "add", "bomb", "--amount", "1000").strip()
    with open(repo / "deals" / f"{bomb}.yaml", "a") as fh:
        fh.write(_bomb())
    bad["bomb"] = bomb
    for args in (("filter", "-f", "jsonl"), ("filter", "amount>100", "-f", "ids"), ("board", "-f", "json"),
                 ("export", "-f", "jsonl"), ("calendar", "-f", "json"), ("agenda", "-f", "json")):
        proc = cli.proc(*args, timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)
        for deal in bad.values():
            assert deal not in proc.stdout, args
            assert re.search(rf"skipped a corrupt deal file: deals/{deal}\.yaml:\d+: ", proc.stderr), (args, deal)
    assert cli.ok("filter", "amount>100", "-f", "ids").split() == [good]
    for deal in bad.values():
        proc = cli.proc("deal", "show", deal, "-f", "json", timeout=60)
        assert proc.returncode == 5 and f"deals/{deal}.yaml:" in proc.stderr and proc.stdout == ""
    proc = cli.proc("check", timeout=60)
    assert proc.returncode == 1
    for deal in bad.values():
        assert f"deals/{deal}.yaml:" in proc.stdout, deal


def test_a_fifo_is_never_opened(cli, repo):
    good = cli.ok("deal", "add", "Good").strip()
    os.mkfifo(repo / "deals" / "fifo.yaml")
    proc = cli.proc("check", timeout=60)
    assert proc.returncode == 1 and "deals/fifo.yaml: not a regular file (a FIFO)" in proc.stdout
    proc = cli.proc("deal", "show", "fifo", timeout=60)
    assert proc.returncode == 5 and "deals/fifo.yaml: not a regular file" in proc.stderr
    assert cli.proc("filter", "-f", "ids", timeout=60).stdout.split() == [good]


def test_yaml_alias_expansion_is_limited():
    from dealcli.errors import CorruptData
    from dealcli.storage import yamlcodec

    with pytest.raises(CorruptData, match="alias"):
        yamlcodec.loads(_bomb(), "deals/x.yaml")
    assert yamlcodec.loads("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}  # a small reuse is fine
    shared = [1]
    assert "*" not in yamlcodec.dumps({"a": shared, "b": shared})  # dealcli never writes aliases


# -- 5. bounded values -------------------------------------------------------------------------------------
def test_out_of_range_values_are_refused_up_front(cli, repo, tmp_path):
    before = sorted(p.name for p in (repo / "deals").glob("*"))
    for args in (("deal", "add", "X", "--close-date", "+9999y"),
                 ("deal", "add", "X", "--product", "P:999999999999999:9"),
                 ("deal", "add", "X", "--product", "P:600000000000000", "--product", "P:600000000000000"),
                 ("recurring", "add", "Rent", "--every", "month", "--close-offset", "99999999"),
                 ("recurring", "add", "Rent {n:>999999999}", "--every", "month"),
                 ("filter", "close_date<+9999y")):
        proc = cli(*args)
        assert proc.returncode == 2 and proc.stderr.startswith("dealcli: error: ") and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (repo / "deals").glob("*")) == before
    assert not (repo / "recurring").exists() or not list((repo / "recurring").iterdir())
    deal = cli.ok("deal", "add", "Y", "--product", "P:1").strip()
    assert cli("deal", "edit", deal, "--product", "P:999999999999999:9").returncode == 2
    cli.ok("deal", "delete", deal, "--yes")
    for zone in ("../../etc/passwd", "Mars/Olympus", "/etc/localtime"):
        proc = Runner(tmp_path)("init", tmp_path / "z", "--timezone", zone)
        assert proc.returncode == 2 and not (tmp_path / "z" / "dealcli.yaml").exists()


def test_check_reports_out_of_range_values_edited_by_hand(cli, repo):
    deal = cli.ok("deal", "add", "X", "--amount", "5").strip()
    path = repo / "deals" / f"{deal}.yaml"
    path.write_text(path.read_text().replace("amount: 5.00", "amount: 9999999999999999.00"))
    template = cli.ok("recurring", "add", "Rent {n}", "--every", "month", "--amount", "5").strip()
    tpath = repo / "recurring" / f"{template}.yaml"
    tpath.write_text(tpath.read_text().replace("close_offset: null", "close_offset: 99999999"))
    config = repo / "dealcli.yaml"
    config.write_text(re.sub(r"timezone: .*", "timezone: ../../etc/passwd", config.read_text()))
    proc = cli("check")
    assert proc.returncode == 1
    assert re.search(rf"deals/{deal}\.yaml:\d+: amount: .*maximum", proc.stdout)
    assert re.search(rf"recurring/{template}\.yaml:\d+: close_offset: 99999999", proc.stdout)
    assert re.search(r"dealcli\.yaml:\d+: timezone: unknown time zone", proc.stdout)


# -- 6. references are never paths ---------------------------------------------------------------------------
def test_a_reference_is_never_a_path(cli, repo, tmp_path):
    (tmp_path / "secret.yaml").write_text("secret: 42\n")
    for args in (("company", "show", "../../secret"), ("company", "show", "../secret"),
                 ("deal", "add", "X", "--company", "../dealcli"), ("deal", "add", "X", "--pipeline", "../dealcli"),
                 ("board", "-p", "../dealcli"), ("deal", "show", "../dealcli"), ("contact", "show", "/etc/passwd")):
        proc = cli(*args)
        assert proc.returncode == 2 and "never a path" in proc.stderr and "secret" not in proc.stdout, args
    assert not list((repo / "deals").glob("*"))
    # a name with a slash is still a name
    deal = cli.ok("deal", "add", "Y", "--company", "A/S Maersk").strip()
    company = loads(cli.ok("deal", "show", deal, "-f", "json"))["company"]
    assert loads(cli.ok("company", "show", company, "-f", "json"))["name"] == "A/S Maersk"


def test_a_lock_symlink_is_not_followed(cli, repo, tmp_path):
    target = tmp_path / "elsewhere"
    lock = repo / ".dealcli" / "lock"
    lock.parent.mkdir(exist_ok=True)
    if lock.exists() or lock.is_symlink():
        lock.unlink()
    lock.symlink_to(target)
    proc = cli("deal", "add", "X")
    assert proc.returncode == 5 and ".dealcli/lock" in proc.stderr and "symbolic link" in proc.stderr
    assert not target.exists()


# -- third-party readers ---------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not path:
        pytest.skip(f"{name} is not installed (.ci/run installs jq and miller with apt-get; the test extra "
                    "installs sqlite-utils and csvkit)")
    return path


@pytest.fixture
def sample(cli):
    cli.ok("deal", "add", "A", "--amount", "0.10")
    cli.ok("deal", "add", "B", "--amount", "0.20")
    cli.ok("deal", "add", "C\tD \"q\"\nnext", "--amount", "1234567890123.45")
    return cli, Decimal("1234567890123.75")


def test_jq_reads_money_as_numbers(sample):
    cli, total = sample
    jq = _tool("jq")
    jsonl = raw(cli, "export", "-f", "jsonl").stdout
    out = subprocess.run([jq, "-s", "map(.amount) | add"], input=jsonl, capture_output=True, check=True).stdout
    assert Decimal(out.decode().strip()) == total  # jq adds as doubles: exact for these values
    types = subprocess.run([jq, "-r", ".amount | type"], input=jsonl, capture_output=True, check=True).stdout
    assert types.decode().split() == ["number"] * 3


def test_miller_reads_csv_tsv_and_jsonl_alike(sample):
    cli, total = sample
    mlr = _tool("mlr")
    sums = []
    for fmt, flag in (("csv", "--icsv"), ("tsv", "--itsv"), ("jsonl", "--ijsonl")):
        data = raw(cli, "export", "-f", fmt).stdout
        out = subprocess.run([mlr, flag, "--ojson", "stats1", "-a", "sum", "-f", "amount"], input=data,
                             capture_output=True, check=True).stdout
        sums.append(Decimal(str(json.loads(out)[0]["amount_sum"])))
        titles = subprocess.run([mlr, flag, "--ojson", "cut", "-f", "title"], input=data, capture_output=True,
                                check=True).stdout
        assert "C\tD \"q\"\nnext" in [r["title"] for r in json.loads(titles)], fmt
    assert sums == [total] * 3


def test_sqlite_utils_stores_money_as_numbers(sample, tmp_path):
    cli, total = sample
    tool = _tool("sqlite-utils")
    db = tmp_path / "deals.db"
    subprocess.run([tool, "insert", db, "deals", "-", "--nl"], input=raw(cli, "export", "-f", "jsonl").stdout,
                   check=True, capture_output=True)
    out = subprocess.run([tool, "query", db, "select typeof(amount) t, sum(amount) s from deals group by t"],
                         capture_output=True, check=True).stdout
    rows = json.loads(out)
    assert [r["t"] for r in rows] == ["real"] and Decimal(str(rows[0]["s"])) == total
    csv_db = tmp_path / "csv.db"
    subprocess.run([tool, "insert", csv_db, "deals", "-", "--csv"],  # sqlite-utils 4 detects types
                   input=raw(cli, "export", "-f", "csv").stdout, check=True, capture_output=True)
    out = subprocess.run([tool, "query", csv_db, "select typeof(amount) t from deals"], capture_output=True,
                         check=True).stdout
    assert {r["t"] for r in json.loads(out)} == {"real"}


def test_csvkit_and_python_read_the_same_rows(sample):
    cli, total = sample
    tool = _tool("csvjson")
    data = raw(cli, "export", "-f", "csv").stdout
    rows = json.loads(subprocess.run([tool, "--no-inference"], input=data, capture_output=True,
                                     check=True).stdout)
    assert sum(Decimal(r["amount"]) for r in rows) == total
    by_python = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert [(r["id"], r["title"], r["amount"]) for r in rows] == [(r["id"], r["title"], r["amount"]) for r in by_python]
    typed = json.loads(subprocess.run([tool], input=data, capture_output=True, check=True).stdout,
                       parse_float=Decimal)
    assert sum(r["amount"] for r in typed) == total
    tsv = raw(cli, "export", "-f", "tsv").stdout.decode()
    by_python = [{k: render_unescape(v) for k, v in zip(tsv.splitlines()[0].split("\t"), line.split("\t"), strict=True)}
                 for line in tsv.splitlines()[1:]]
    assert [r["title"] for r in by_python] == [r["title"] for r in rows]


def render_unescape(cell: str) -> str:
    from dealcli.importing.read import tsv_cells

    return next(tsv_cells([cell]))[0]


def test_pandas_reads_jsonl_csv_and_tsv_with_the_same_meaning(sample):
    cli, total = sample
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra; install dealcli[test]")
    frames = {
        "jsonl": pd.read_json(io.BytesIO(raw(cli, "export", "-f", "jsonl").stdout), lines=True,
                              dtype={"id": str}),
        "csv": pd.read_csv(io.BytesIO(raw(cli, "export", "-f", "csv").stdout), dtype={"id": str}),
        # real TSV: no quoting; the backslash escapes are undone on the text columns afterwards
        "tsv": pd.read_csv(io.BytesIO(raw(cli, "export", "-f", "tsv").stdout), sep="\t", quoting=3,
                           dtype={"id": str}, keep_default_na=False),
    }
    frames["tsv"]["title"] = frames["tsv"]["title"].map(render_unescape)
    for fmt, df in frames.items():
        assert str(df["amount"].dtype) == "float64", fmt  # money is numeric in every format
        assert Decimal(str(round(df["amount"].sum(), 2))) == total, fmt
        assert "C\tD \"q\"\nnext" in list(df["title"]), fmt
    ids = [sorted(df["id"]) for df in frames.values()]
    assert ids[0] == ids[1] == ids[2]
