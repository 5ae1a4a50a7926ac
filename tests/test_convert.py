"""The one converter (dealcli/storage/convert.py): a record's plain data <-> its typed model,
driven by the model's field types (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from dealcli.errors import FieldError
from dealcli.model import MODEL_OF_KIND, Deal, Pipeline, model_of
from dealcli.storage import yamlcodec
from dealcli.storage.convert import Model, spec
from dealcli.storage.layout import KINDS



@dataclass
class Row(Model):
    VERSIONED = False
    name: str
    qty: Decimal = Decimal(1)
    extra: dict = field(default_factory=dict)


@dataclass
class Thing(Model):
    KEYS = ("id", "title", "schedule", "rows", "tags", "kind", "size")
    id: str
    title: str
    rule: str = spec(group="schedule")
    start: dt.date | None = spec(None, group="schedule")
    rows: list[Row] = spec(factory=list)
    tags: list[str] = field(default_factory=list)
    kind: str = spec("plain", choices=("plain", "fancy"))
    size: int | None = spec(None, min=0, max=10)
    when: dt.datetime | None = None
    extra: dict = field(default_factory=dict)


def test_plain_data_round_trips_in_a_fixed_key_order_with_unknown_keys_last():
    data = {"zzz": 1, "title": "T", "id": "a", "schedule": {"rule": "R", "start": "2026-01-02"},
            "rows": [{"name": "x", "qty": 2, "note": "kept"}], "tags": ["a", 3], "size": 4,
            "when": "2026-01-02T03:04:05+00:00"}
    thing = Thing.from_dict(data)
    assert thing.start == dt.date(2026, 1, 2) and thing.rows[0].qty == Decimal(2) and thing.tags == ["a", "3"]
    assert thing.when == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    out = thing.to_dict()
    assert list(out) == ["format", "id", "title", "schedule", "rows", "tags", "kind", "size", "when", "zzz"]
    assert out["schedule"] == {"rule": "R", "start": "2026-01-02"}
    assert out["rows"] == [{"name": "x", "qty": Decimal(2), "note": "kept"}]
    assert Thing.from_dict(out) == thing


@pytest.mark.parametrize("data, path, message", [
    ({"id": "a", "title": "T"}, ("schedule",), "is required"),
    ({"id": "a", "title": True, "schedule": {"rule": "R"}}, ("title",), "expected text, got true (quote it)"),
    ({"id": "a", "title": "T", "schedule": {"rule": "R"}, "kind": "odd"}, ("kind",),
     "'odd' is not one of plain, fancy"),
    ({"id": "a", "title": "T", "schedule": {"rule": "R"}, "size": 11}, ("size",), "11 is more than 10"),
    ({"id": "a", "title": "T", "schedule": {"rule": "R"}, "rows": [{"qty": 1}]}, ("rows", 0, "name"), "is required"),
    ({"id": "a", "title": "T", "schedule": {"rule": "R"}, "rows": [{"name": "x", "qty": "lots"}]},
     ("rows", 0, "qty"), None),
    ({"id": "a", "title": "T", "schedule": {"rule": "R", "start": "someday"}}, ("schedule", "start"), None),
    ({"id": "a", "title": "T", "schedule": {"rule": "R"}, "format": 99}, ("format",), None),
])
def test_a_bad_value_is_named_by_its_path(data, path, message):
    with pytest.raises(FieldError) as caught:
        Thing.from_dict(data)
    assert caught.value.path == path
    if message:
        assert caught.value.message == message




@pytest.mark.parametrize("kind", KINDS)
def test_every_record_kind_has_a_model(kind):
    cls = model_of(kind)
    assert issubclass(cls, Model)
    assert set(MODEL_OF_KIND) == set(KINDS)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """`init --example` (deals, pipelines, clients, products, leads, quotes, activities) plus a
    recurring template and a generator scenario, all written by the real commands."""
    from conftest import Runner

    root = tmp_path_factory.mktemp("sample") / "repo"
    Runner(root.parent)("init", root, "--example", "--timezone", "UTC", check=True)
    run = Runner(root)
    deal = run.ok("filter", "-f", "ids").split()[0]
    run.ok("recurring", "add", "Support", "--every", "month", "--start", "2026-04-01", "--amount", "450")
    run.ok("recurring", "add", "--from", deal, "--every", "week", "--start", "2026-03-01", "--until", "2026-06-01")
    run.ok("generator", "add", "repurchase", "--won-days-ago", "30..90")
    run.ok("generator", "add", "call them", "--no-deal-days", "120", "--activity-type", "call",
           "--activity-subject", "Call")
    run.ok("activity", "done", run.ok("activity", "list", "-f", "ids").split()[0])
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_every_record_written_by_the_commands_converts_back_to_the_same_bytes(sample, kind):
    cls = model_of(kind)
    paths = sorted((sample / kind).glob("*.yaml"))
    assert paths, f"the sample has no {kind}"
    for path in paths:
        raw = path.read_bytes()
        obj = cls.from_dict(yamlcodec.loads(raw, str(path)))
        assert yamlcodec.dumps(obj.to_dict()).encode("utf-8") == raw, path


def test_deal_and_pipeline_keep_their_file_forms():
    deal = Deal(id="d1", title="T", pipeline="sales", stage="new", amount=Decimal("5"))
    out = deal.to_dict()
    assert list(out)[:6] == ["format", "id", "title", "pipeline", "stage", "status"]
    assert out["amount"] == "5.00" or str(out["amount"]) == "5.00"
    with pytest.raises(FieldError) as caught:
        Pipeline.from_dict({"id": "p", "stages": []})
    assert caught.value.path == ("stages",)


def test_check_reads_every_kind_through_its_model(cli, repo):
    """A value the schema's pattern lets through but the model cannot read (a 13th month) is a
    problem `dealcli check` names by file and line."""
    contact = cli.ok("contact", "add", "Eve", "--birthday", "1990-01-02").strip()
    path = repo / "contacts" / f"{contact}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("birthday: 1990-01-02", 'birthday: "1990-13-45"'),
                    encoding="utf-8")
    proc = cli("check")
    assert proc.returncode == 1
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "birthday" in text)
    assert (f"contacts/{contact}.yaml:{line}: birthday: '1990-13-45' is not an ISO date (YYYY-MM-DD) [type]"
            in proc.stdout)
