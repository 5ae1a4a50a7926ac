"""Issue 29 item 3: a YAML import is parsed once, item by item (worker processes for many
items), with exactly the rows and messages of the whole-document reader; a big import fills the
index cache in one transaction, so the next command parses no file."""

import json
import sqlite3

import pytest

from conftest import Runner
from dealcli.importing import read, yamlread
from dealcli.session import Session
from dealcli.storage import index
from dealcli.views import render

ITEM = """- title: Deal {i}
  amount: {i}000.50
  when: 2026-03-0{d}
  tags: [a, b]
  note: |
    two
    lines
  products:
  - name: x
    price: 1.10
"""

TRICKY = {
    "plain": "".join(ITEM.format(i=i, d=i % 9 + 1) for i in range(7)),
    "comments and a start marker": "# header\n---\n\n" + ITEM.format(i=1, d=1) + "# between\n" + ITEM.format(i=2, d=2),
    "crlf": ITEM.format(i=1, d=1).replace("\n", "\r\n") * 3,
    "lone cr": "- a: 1\r- b: 2\r",
    "item on the next line": "-\n  a: 1\n-\n  b: 2\n- c: 3\n",
    "anchor in another item": "- &x {a: 1}\n- b: *x\n- c: 3\n",
    "quoted value across an item line": '- a: "one\n- two"\n- b: 2\n',
    "flow value across an item line": "- a: [1,\n- 2]\n- b: 2\n",
    "not mappings": "- 1\n- [2]\n- a: 3\n- \n",
    "documents": "a: 1\n---\nb: 2\n",
    "list of documents": "- a: 1\n---\n- b: 2\n",
    "one mapping": "title: x\namount: 5\n",
    "deep": "- a: " + "[" * 80 + "]" * 80 + "\n- b: 1\n",
    "nested list at column 0 ends the item": "- a:\n- b\n",
    "binary and sets": "- a: !!binary aGVsbG8=\n  b: !!set {x, y}\n  c: 0x1F\n  d: 1_000\n  e: .inf\n",
}
BROKEN = {
    "duplicate key": "- a: 1\n  a: 2\n- b: 1\n",
    "malformed late": ITEM.format(i=1, d=1) * 3 + "- a: [1,\n",
    "malformed early": "- a: b: c\n" + ITEM.format(i=1, d=1) * 3,
    "undefined alias": "- a: *nope\n",
    "tab indentation": "- a: 1\n\t- b\n",
}


def _whole(tmp_path, text: str):
    """The whole-document reader (what every YAML import read before)."""
    src = _source(tmp_path, text)
    try:
        return [tuple(x) for x in read._yaml_whole(src, text.lstrip("\ufeff"), 0)]
    except read.InputError as exc:
        return str(exc)


def _source(tmp_path, text: str) -> read.Source:
    path = tmp_path / "in.yaml"
    path.write_bytes(text.encode())
    return read.Source(str(path))


def _items(tmp_path, text: str):
    src = _source(tmp_path, text)
    errors: list = []
    try:
        rows = [("row", r.line, r.values) for r in read.yaml_records(src, errors)]
    except read.InputError as exc:
        return str(exc)
    return sorted(rows + [("bad", e.line, e.problem) for e in errors], key=lambda x: x[1])


@pytest.fixture(params=["one process", "workers"])
def mode(request, monkeypatch):
    if request.param == "workers":
        monkeypatch.setattr(yamlread, "PARALLEL_MIN", 2)
        monkeypatch.setattr(yamlread, "BATCH", 2)
    else:
        monkeypatch.setenv("DEALCLI_NO_PARALLEL", "1")
    return request.param


@pytest.mark.parametrize("name", sorted(TRICKY) + sorted(BROKEN))
def test_items_read_one_by_one_are_those_of_the_whole_document(tmp_path, mode, name):
    text = {**TRICKY, **BROKEN}[name]
    expected = _whole(tmp_path, text)
    if name in BROKEN:
        assert isinstance(expected, str)
    got = _items(tmp_path, text)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert got == sorted(expected, key=lambda x: x[1])


def test_the_cut_is_made_only_at_items():
    text = TRICKY["plain"]
    cut = yamlread.cut(text)
    assert [line for line, _ in cut] == [i * 10 for i in range(7)]
    assert "".join(chunk for _, chunk in cut) == text
    assert yamlread.cut(TRICKY["documents"]) is None
    assert yamlread.cut(TRICKY["list of documents"]) is None
    assert yamlread.cut(TRICKY["lone cr"]) is None


def test_the_yaml_is_parsed_once_per_source(tmp_path, monkeypatch):
    src = _source(tmp_path, TRICKY["plain"])
    reads = []
    real = read.Source.lines

    def counting(self):
        reads.append(1)
        return real(self)

    monkeypatch.setattr(read.Source, "lines", counting)
    first = [(r.line, r.values) for r in read.yaml_records(src, [])]
    second = [(r.line, r.values) for r in read.yaml_records(src, [])]
    assert first == second and len(first) == 7
    assert len(reads) == 1


def _deals_jsonl(tmp_path, n: int) -> list[dict]:
    """n deals made in a scratch repository, as `export -f jsonl` gives them."""
    Runner(tmp_path)("init", tmp_path / "src", "--timezone", "UTC", check=True)
    rows = []
    for i in range(n):
        rows.append({"title": f"Deal {i}", "amount": f"{i}.25", "stage": "new" if i % 2 else "preparation",
                     "responsible": "tester@example.com", "fields": {"region": "emea"}})
    path = tmp_path / "seed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    Runner(tmp_path / "src").ok("import", path)
    s = Session(repo_root=tmp_path / "src", quiet=True)
    return [json.loads(render.json_text(r)) for r in s.deal_records()]


def test_yaml_import_writes_what_the_jsonl_import_writes(tmp_path, mode):
    import yaml

    deals = _deals_jsonl(tmp_path, 30)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(d) + "\n" for d in deals))
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(deals, sort_keys=False, allow_unicode=True))
    for fmt in ("jsonl", "yaml"):
        Runner(tmp_path)("init", tmp_path / fmt, "--timezone", "UTC", check=True)
        Runner(tmp_path / fmt).ok("import", tmp_path / f"d.{fmt}")
    by = {fmt: {p.name: p.read_bytes() for p in (tmp_path / fmt / "deals").iterdir()} for fmt in ("jsonl", "yaml")}
    assert len(by["yaml"]) == 30 and by["yaml"] == by["jsonl"]


def test_a_big_import_fills_the_index_in_one_transaction(tmp_path, cli, repo, monkeypatch):
    n = 260  # more than repository.NOTE_MAX: the transaction keeps no data, its rows are spooled
    cli.ok("deal", "add", "Before")
    cli.ok("filter", "-f", "ids")  # the index exists
    rows = [{"title": f"Deal {i}", "amount": f"{i}.5", "responsible": "tester@example.com"} for i in range(n)]
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli.ok("import", src)
    db = sqlite3.connect(repo / ".dealcli" / "index.sqlite")
    stored = {name for (name,) in db.execute("SELECT name FROM entries WHERE kind = 'deals' AND error IS NULL")}
    db.close()
    on_disk = {p.stem for p in (repo / "deals").iterdir()}
    assert stored == on_disk and len(on_disk) == n + 1

    parsed = []
    real = index.parse_raw
    monkeypatch.setattr(index, "parse_raw", lambda *a: parsed.append(a[2]) or real(*a))
    monkeypatch.setenv("DEALCLI_NO_PARALLEL", "1")
    warm = list(Session(repo_root=repo, quiet=True).deal_records())
    assert parsed == []  # every row was there, with the digest of its file
    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    cold = list(Session(repo_root=repo, quiet=True).deal_records())
    assert warm == cold and [type(v) for d in warm for v in d.values()] == [type(v) for d in cold for v in d.values()]


def test_a_record_staged_twice_in_a_big_transaction_is_indexed_as_written_last(tmp_path, cli, repo):
    cli.ok("filter", "-f", "ids")
    s = Session(repo_root=repo, quiet=True)
    base = {"format": 1, "title": "x", "pipeline": "sales", "stage": "new", "status": "open"}
    first = list(s.deal_records())
    assert first == []
    from dealcli.ids import new_id

    ids = [new_id() for _ in range(230)]
    with s.repo.transaction():
        for i in ids:
            s.repo.create("deals", i, {**base, "id": i, "title": f"first {i}"})
        for i in ids[-5:]:  # staged again after the transaction stopped keeping data
            s.repo.update(s.repo.load("deals", i), {**base, "id": i, "title": f"second {i}"})
    db = sqlite3.connect(repo / ".dealcli" / "index.sqlite")
    titles = dict(db.execute("SELECT name, c_title FROM entries WHERE kind = 'deals'"))
    db.close()
    assert titles[ids[-1]] == f"second {ids[-1]}".casefold()
    assert titles[ids[0]] == f"first {ids[0]}".casefold()
