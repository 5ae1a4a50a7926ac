"""Issue 29 item 4: `report` reads activities through the index cache and works out each deal's
stays once; its output (every format, today and --as-of) is what it was, with the cache and
without it, after hand edits too."""

import sys
from pathlib import Path

import pytest

from conftest import Runner
from dealcli import asof, reports
from dealcli.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

NOW = "2026-03-10T12:00:00+00:00"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    import generate

    root = tmp_path_factory.mktemp("gen") / "repo"
    generate.generate(root, 120, seed=3, jobs=1)
    return root


def _outputs(run: Runner, cache: bool = True) -> dict:
    kw = {"now": NOW, "user": "anna@example.com", "env": None if cache else {"DEALCLI_NO_INDEX": "1"}}
    out = {}
    for fmt in ("json", "csv", "jsonl"):
        out[fmt] = run.ok("report", "-f", fmt, **kw)
        out[f"{fmt} as-of"] = run.ok("report", "-f", fmt, "--as-of", "2025-12-15", **kw)
    out["pipeline"] = run.ok("report", "-f", "json", "--pipeline", "partners", "--section", "funnel,stage-time", **kw)
    out["board"] = run.ok("board", "-f", "json", **kw)
    return out


def test_report_is_the_same_with_and_without_the_cache_after_hand_edits(generated, tmp_path):
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(generated, root)
    run = Runner(root)
    warm = _outputs(run)
    assert _outputs(run) == warm  # warm twice
    assert _outputs(run, cache=False) == warm
    # an activity marked done by hand: the activities section sees it at once
    act = sorted((root / "activities").iterdir())[0]
    text = act.read_text()
    assert "done: false" in text
    act.write_text(text.replace("done: false", "done: true"))
    after = _outputs(run)
    assert after["json"] != warm["json"]
    assert _outputs(run, cache=False) == after


def test_stays_worked_out_once_give_the_same_sections(generated):
    s = Session(repo_root=generated, quiet=True)
    records = list(s.deal_records())
    pipelines = s.all_pipelines([])
    tz = s.now.tzinfo
    calls = []
    real = asof.stays

    def counting(r, tz):
        calls.append(r.get("id"))
        return real(r, tz)

    shared = reports._Stays(tz)
    try:
        asof.stays = counting
        got = (reports.funnel(records, pipelines, tz, shared), reports.stage_time(records, pipelines, tz, shared))
    finally:
        asof.stays = real
    assert sorted(calls) == sorted(r.get("id") for r in records)  # once per deal, for both sections
    alone = (reports.funnel(records, pipelines, tz), reports.stage_time(records, pipelines, tz))
    assert got == alone
