"""Worker processes (dealcli/workers.py): spawned, never forked, and a worker that dies costs time,
never the answer and never a hang. `check`'s deal files, the index cache's cold fill and the YAML
import are forced onto their worker paths at small sizes and must say exactly what one process
says; then a worker is killed holding a task, and each command must still finish with the same
answer (in a real process, with a timeout, so a hang fails the test instead of stalling it)."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal

import pytest

from dealcli import workers
from dealcli.session import Session
from dealcli.storage import index as index_mod
from dealcli.storage import yamlcodec
from dealcli.validation import check as checker

from conftest import NOW, Runner

pytestmark = pytest.mark.skipif(workers.count() < 2, reason="worker processes need two cores")

# Put first on PYTHONPATH of a command, this makes it use its worker paths from 2 files on, and
# makes the first worker process that starts take a task and die with it (os._exit), as a worker
# killed by the OOM killer or a crash in a C library would.
HOOK = r'''
import os, sys
mark = os.environ.get("DEALCLI_TEST_KILL_WORKER")
if mark and "--multiprocessing-fork" in sys.argv:
    import concurrent.futures.process as _process

    _real = _process._process_worker

    def _worker(call_queue, *args, **kw):
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return _real(call_queue, *args, **kw)
        call_queue.get(block=True)
        os._exit(3)

    _process._process_worker = _worker
elif mark:
    from dealcli.importing import yamlread
    from dealcli.storage import index
    from dealcli.validation import check

    for module in (yamlread, index, check):
        module.PARALLEL_MIN = 2
    index.CHUNK, check.CHUNK, yamlread.BATCH = 3, 3, 2
'''


def deal(deal_id: str, **over) -> str:
    data = {"format": 1, "id": deal_id, "title": f"Deal {deal_id}", "pipeline": "sales", "stage": "new",
            "status": "open", "amount": Decimal("10.50"), "currency": "USD", "manual_amount": False,
            "company": None, "contacts": [], "products": [], "responsible": "tester@example.com",
            "created_by": "tester@example.com", "created": NOW, "modified": NOW, "history": [
                {"at": NOW, "by": "tester@example.com", "kind": "created"}]}
    data.update(over)
    return yamlcodec.dumps(data)


def fill(repo, n: int = 24) -> None:
    (repo / "deals").mkdir(exist_ok=True)
    for i in range(n):
        (repo / "deals" / f"d{i:03d}.yaml").write_text(deal(f"d{i:03d}", amount=Decimal(f"{i}.25")))
    (repo / "deals" / "badyaml.yaml").write_text("id: badyaml\ntitle: [oops\n")
    (repo / "deals" / "badstage.yaml").write_text(deal("badstage", stage="nowhere"))
    (repo / "deals" / "dangling.yaml").write_text(deal("dangling", company="ghost"))


def _hooked(tmp_path) -> dict:
    folder = tmp_path / "hook"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOOK)
    return {"PYTHONPATH": os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "DEALCLI_TEST_KILL_WORKER": str(tmp_path / "killed")}


def test_ordered_gives_every_result_in_order():
    assert list(workers.ordered(abs, range(-40, 0))) == list(range(40, 0, -1))


def test_ordered_does_the_work_of_a_dead_worker_here(tmp_path, monkeypatch):
    for key, value in _hooked(tmp_path).items():
        monkeypatch.setenv(key, value)
    assert list(workers.ordered(abs, range(-40, 0))) == list(range(40, 0, -1))
    assert (tmp_path / "killed").exists()  # a worker did die holding a task


def test_a_task_offered_to_a_pool_that_just_broke_is_done_here(tmp_path, monkeypatch):
    """The worker running task 3 dies while a slow consumer takes the first results, so a later
    submit meets the broken pool (it raises at once): that task too is done in this process,
    none is dropped and the order holds."""
    (tmp_path / "dying.py").write_text("import os\n\n\ndef fn(i):\n    if i == 3:\n        os._exit(3)\n"
                                       "    return i\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    import dying

    got = []
    for result in workers.ordered(dying.fn, range(60), local=lambda i: i):
        got.append(result)
        time.sleep(0.05)  # pace the consumer so the pool breaks between two submits
    assert got == list(range(60))


def test_parallel_check_says_what_one_process_says(repo, monkeypatch):
    fill(repo)
    (repo / "dealcli.yaml").write_text((repo / "dealcli.yaml").read_text() + "language: ru\n")

    def problems():
        return [str(p) for p in checker.run(Session(repo_root=repo, quiet=True))]

    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    monkeypatch.setenv("DEALCLI_NO_PARALLEL", "1")
    plain = problems()
    monkeypatch.delenv("DEALCLI_NO_PARALLEL")
    monkeypatch.setattr(checker, "PARALLEL_MIN", 2)
    monkeypatch.setattr(checker, "CHUNK", 4)
    assert problems() == plain
    monkeypatch.delenv("DEALCLI_NO_INDEX")  # with the verdicts cached: a miss, then hits
    assert problems() == plain
    assert problems() == plain
    assert any("badyaml" in p for p in plain) and any("ghost" in p for p in plain)
    assert any("badyaml" in p and any("\u0400" <= c <= "\u04ff" for c in p) for p in plain)  # in Russian


@pytest.mark.parametrize("argv", [["check"], ["filter", "-f", "jsonl"]])
def test_a_dead_worker_costs_the_command_nothing(tmp_path, cli, repo, argv):
    fill(repo)
    quiet = cli.proc(*argv, env={"DEALCLI_NO_PARALLEL": "1", "DEALCLI_NO_INDEX": "1"}, timeout=120)
    proc = cli.proc(*argv, env=_hooked(tmp_path), timeout=120)
    assert (tmp_path / "killed").exists()
    assert (proc.returncode, proc.stdout) == (quiet.returncode, quiet.stdout)
    assert proc.returncode == 1 if argv == ["check"] else len(proc.stdout.splitlines()) == 26
    again = cli.proc(*argv, timeout=120)  # and the index filled by the fallback is right
    assert (again.returncode, again.stdout) == (quiet.returncode, quiet.stdout)


def test_a_dead_worker_costs_the_yaml_import_nothing(tmp_path):
    import yaml

    Runner(tmp_path)("init", tmp_path / "src", "--timezone", "UTC", check=True)
    rows = [{"title": f"Deal {i}", "amount": f"{i}.25", "responsible": "tester@example.com"} for i in range(12)]
    (tmp_path / "seed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Runner(tmp_path / "src").ok("import", tmp_path / "seed.jsonl")
    deals = [json.loads(line) for line in Runner(tmp_path / "src").ok("export", "-f", "jsonl").splitlines()]
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(deals, sort_keys=False, allow_unicode=True))
    for name, env in (("plain", {"DEALCLI_NO_PARALLEL": "1"}), ("killed", _hooked(tmp_path))):
        Runner(tmp_path)("init", tmp_path / name, "--timezone", "UTC", check=True)
        Runner(tmp_path / name).proc("import", tmp_path / "d.yaml", env=env, check=True, timeout=120)
    assert (tmp_path / "killed").exists()
    by = {name: {p.name: p.read_bytes() for p in (tmp_path / name / "deals").iterdir()} for name in ("plain", "killed")}
    assert len(by["killed"]) == 12 and by["killed"] == by["plain"]


def test_the_cold_fill_in_workers_gives_what_one_process_gives(repo, monkeypatch):
    fill(repo)

    def scan():
        errors: list = []
        return [r["id"] for r in Session(repo_root=repo, quiet=True).deal_records(errors)], len(errors)

    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    plain = scan()
    monkeypatch.delenv("DEALCLI_NO_INDEX")
    monkeypatch.setattr(index_mod, "PARALLEL_MIN", 2)
    monkeypatch.setattr(index_mod, "CHUNK", 3)
    assert scan() == plain  # cold: parsed by workers
    assert scan() == plain  # warm


def test_parallel_check_under_access_rights_says_what_one_process_says(cli, repo, monkeypatch):
    boss = "boss@x.io"
    cli.ok("user", "add", "boss", "--email", boss, "--role", "admin", user=boss)
    cli.ok("user", "add", "alice", "--email", "alice@x.io", user=boss)
    for who in ("alice@x.io", boss, boss):
        deal_id = cli.ok("deal", "add", f"Deal of {who}", user=who).strip()
        path = repo / "deals" / f"{deal_id}.yaml"
        path.write_text(path.read_text().replace("status: open", "status: maybe"))
    monkeypatch.setattr(checker, "CHUNK", 1)
    for who in ("alice@x.io", boss):
        plain = cli("check", user=who, env={"DEALCLI_NO_PARALLEL": "1"})
        monkeypatch.setattr(checker, "PARALLEL_MIN", 2)
        parallel = cli("check", user=who)
        monkeypatch.setattr(checker, "PARALLEL_MIN", 400)
        assert (parallel.returncode, parallel.stdout) == (plain.returncode, plain.stdout)
        assert plain.returncode == 1 and "maybe" in plain.stdout
