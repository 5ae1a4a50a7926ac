"""`dealcli check` on big repositories: the fast schema pre-check must agree with jsonschema on
every instance, and the parallel run must report exactly what the one-process run reports."""

from __future__ import annotations

import copy
import random
from decimal import Decimal

import pytest

from dealcli.validation import check as checker
from dealcli.validation import fastschema, records
from dealcli.validation import schemas
from dealcli.session import Session
from dealcli.storage import yamlcodec

from conftest import NOW

GOOD_DEAL = {
    "format": 1, "id": "abc123", "title": "T", "pipeline": "sales", "stage": "new", "status": "open",
    "amount": Decimal("10.50"), "currency": "USD", "manual_amount": False, "company": None, "contacts": ["c1"],
    "products": [{"name": "P", "product": None, "price": Decimal("3.25"), "quantity": 2, "discount": 0,
                  "tax_rate": Decimal("20"), "tax_included": False}],
    "type": None, "source": "web", "responsible": "a@b.c", "created_by": "a@b.c", "created": NOW,
    "modified": NOW, "begin": "2026-03-10", "close_date": None, "closed_at": None, "probability": 10,
    "repeat": False, "lost_reason": None, "origin_id": None, "fields": {"x": 1},
    "comments": [{"at": NOW, "by": "a", "text": "hi"}], "history": [{"at": NOW, "by": "a", "kind": "created"}],
}
VALUES = [None, True, False, 0, 1, -1, 7, 101, 2.5, 3.0, float("nan"), Decimal("1.5"), Decimal("-2"), Decimal("100"),
          "", "x", "open", "won", "2026-03-10", "2026-03-10T12:00:00+00:00", "Abc", [], ["a"], [1], {}, {"kind": "x"},
          {"name": "n"}, {"text": 1}]


def paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


def mutate(base: dict, rng: random.Random) -> object:
    data = copy.deepcopy(base)
    for _ in range(rng.randint(1, 3)):
        all_paths = list(paths(data))
        path = rng.choice(all_paths)
        if not path:
            if rng.random() < 0.1:
                return rng.choice(VALUES)
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    return data


def test_schemas_the_fast_path_does_not_support_fall_back_to_jsonschema():
    # pipeline.schema.json refers to card.schema.json, the settings schema uses
    # additionalProperties: the fast path declines them (one file each) and jsonschema checks
    assert fastschema.compile_schema(schemas.load("pipeline")) is None
    assert fastschema.compile_schema(schemas.load("config")) is None


@pytest.mark.parametrize("name", ["deal"])
def test_fast_check_agrees_with_jsonschema_on_mutated_records(name, session):
    fast = fastschema.compile_schema(schemas.load(name))
    assert fast is not None
    validator = schemas.validator(name)
    if name == "deal":
        base = GOOD_DEAL
    elif name == "pipeline":
        base = yamlcodec.loads((session.repo.root / "pipelines" / "sales.yaml").read_bytes())
    else:
        base = dict(session.repo.config)
    assert fast(base) and validator.is_valid(base)
    rng = random.Random(f"fastschema-{name}")
    seen = {True: 0, False: 0}
    for _ in range(3000):
        data = mutate(base, rng)
        expected = validator.is_valid(data)
        assert fast(data) == expected, data
        seen[expected] += 1
    assert seen[True] > 100 and seen[False] > 100  # both answers were exercised


def test_unsupported_keywords_fall_back_to_jsonschema():
    assert fastschema.compile_schema({"type": "object", "oneOf": [{"type": "string"}]}) is None
    assert fastschema.compile_schema({"$ref": "https://example.com/x"}) is None
    assert fastschema.compile_schema({"enum": [1, True]}) is None
    assert fastschema.compile_schema({"type": "object", "description": "d"}) is not None


def write(repo, kind, name, text):
    (repo / kind).mkdir(exist_ok=True)
    (repo / kind / f"{name}.yaml").write_text(text)


def test_parallel_check_reports_exactly_what_the_plain_check_reports(repo, monkeypatch):
    for i in range(30):
        d = copy.deepcopy(GOOD_DEAL)
        d["id"] = f"deal{i:02d}"
        write(repo, "deals", d["id"], yamlcodec.dumps(d))
    bad = {
        "wrongid": yamlcodec.dumps({**GOOD_DEAL, "id": "other"}),
        "badyaml": "id: badyaml\ntitle: [oops\n",
        "badtype": yamlcodec.dumps({**GOOD_DEAL, "id": "badtype", "probability": "high", "amount": "lots"}),
        "badstage": yamlcodec.dumps({**GOOD_DEAL, "id": "badstage", "stage": "nowhere"}),
        "badstatus": yamlcodec.dumps({**GOOD_DEAL, "id": "badstatus", "stage": "won"}),
        "nopipe": yamlcodec.dumps({**GOOD_DEAL, "id": "nopipe", "pipeline": "ghost"}),
        "notmap": "- a list\n",
        "missing": "id: missing\ntitle: No pipeline\n",
    }
    for name, text in bad.items():
        write(repo, "deals", name, text)

    def problems():
        return [str(p) for p in checker.run(Session(repo_root=repo, quiet=True))]

    monkeypatch.setattr(records, "_fast", lambda name: None)  # jsonschema only, one process
    monkeypatch.setenv("DEALCLI_NO_PARALLEL", "1")
    plain = problems()
    monkeypatch.undo()
    records._fast.cache_clear()
    monkeypatch.setattr(checker, "PARALLEL_MIN", 2)
    monkeypatch.setattr(checker, "CHUNK", 4)
    fast = problems()
    assert fast == plain
    assert len(plain) >= len(bad)
    for name in bad:
        assert any(f"deals/{name}.yaml" in p for p in plain), name


def test_check_through_the_cli_still_lists_problems_with_lines(cli, repo):
    deal_id = cli.ok("deal", "add", "Fine").strip()
    assert cli("check").returncode == 0
    path = repo / "deals" / f"{deal_id}.yaml"
    path.write_text(path.read_text().replace("status: open", "status: maybe"))
    proc = cli("check")
    assert proc.returncode == 1
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("status:"))
    assert f"deals/{deal_id}.yaml:{line}: status" in proc.stdout
