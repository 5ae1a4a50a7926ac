"""Issue 29 item 5: `check` keeps each file's verdict by its content and context
(.dealcli/check.sqlite); a cached verdict is used only for the same bytes, settings, pipelines
and code, and the answer is always the one of a fresh check."""

import shutil
import sys
from pathlib import Path

import pytest

from conftest import Runner
from dealcli.storage import yamlcodec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    import generate

    root = tmp_path_factory.mktemp("gen") / "repo"
    generate.generate(root, 60, seed=5, jobs=1)
    return root


@pytest.fixture
def root(generated, tmp_path):
    target = tmp_path / "repo"
    shutil.copytree(generated, target)
    return target


def _check(run: Runner, cache: bool = True):
    res = run("check", env=None if cache else {"DEALCLI_NO_INDEX": "1"})
    return res.returncode, res.stdout, res.stderr


@pytest.fixture
def parsed(monkeypatch):
    """The deal and activity files check parses (in this process)."""
    monkeypatch.setenv("DEALCLI_NO_PARALLEL", "1")
    seen: list = []
    from dealcli.storage import repository

    load = repository.Repository.load

    def counting(self, kind, record_id):
        seen.append((kind, record_id))
        return load(self, kind, record_id)

    monkeypatch.setattr(repository.Repository, "load", counting)
    return seen


def test_a_second_check_parses_no_record_and_says_the_same(root, parsed):
    run = Runner(root)
    first = _check(run)
    assert first[0] == 0
    n = len(parsed)
    assert n > 60
    parsed.clear()
    assert _check(run) == first
    assert [k for k, _ in parsed if k in ("deals", "activities", "companies", "contacts")] == []
    assert (root / ".dealcli" / "check.sqlite").exists()


def _deal(root: Path) -> Path:
    return sorted((root / "deals").iterdir())[0]


def test_an_edited_file_is_judged_again(root, parsed):
    run = Runner(root)
    assert _check(run)[0] == 0
    path = _deal(root)
    path.write_text(path.read_text().replace("\nstatus: ", "\nstatus: bogus_", 1))
    parsed.clear()
    got = _check(run)
    assert got[0] != 0 and path.name in got[1] + got[2]
    assert ("deals", path.stem) in parsed
    assert got == _check(run, cache=False)
    assert _check(run) == got  # the bad verdict is cached too, and still said


def test_a_pipeline_or_settings_change_judges_every_deal_again(root, parsed):
    run = Runner(root)
    assert _check(run)[0] == 0
    pipe = root / "pipelines" / "sales.yaml"
    data = yamlcodec.loads(pipe.read_bytes())
    stage = next(st for st in data["stages"] if st.get("semantics") == "process")
    data["stages"] = [st for st in data["stages"] if st is not stage]  # deals in it: now in an unknown stage
    pipe.write_text(yamlcodec.dumps(data))
    parsed.clear()
    got = _check(run)
    assert got == _check(run, cache=False)
    assert got[0] != 0 and stage["id"] in got[1] + got[2]
    assert len([k for k, _ in parsed if k == "deals"]) >= 60

    parsed.clear()
    settings = root / "dealcli.yaml"
    settings.write_text(settings.read_text() + "\n# a comment changes the settings' bytes\n")
    _check(run)
    assert len([k for k, _ in parsed if k == "deals"]) >= 60


def test_a_deleted_link_target_is_seen_with_its_line(root):
    run = Runner(root)
    assert _check(run)[0] == 0
    deal = next(p for p in sorted((root / "deals").iterdir()) if "\ncompany: " in p.read_text()
                and "company: null" not in p.read_text())
    company = yamlcodec.loads(deal.read_bytes())["company"]
    (root / "companies" / f"{company}.yaml").unlink()
    got = _check(run)
    assert got[0] != 0 and "dangling-link" in got[1] + got[2]
    assert got == _check(run, cache=False)


def test_a_broken_cache_file_is_rebuilt(root):
    run = Runner(root)
    first = _check(run)
    (root / ".dealcli" / "check.sqlite").write_bytes(b"garbage" * 100)
    assert _check(run) == first
    assert _check(run) == first
