"""Kill tests of the write gate (issue 11, storage/journal.py): the real `dealcli` console script
is SIGKILLed at random moments during bulk `deal move -`, `pipeline edit --delete-stage
--move-deals-to`, `lead convert`, `import` and `recurring run` (KILLS_PER_COMMAND each, so at
least 200 kills). The killed command runs from the repository's parent folder with a relative
`--dir`; the next command never runs from there: in turn from a folder inside the repository,
after `mv` of the repository, and in a `cp -a` copy (the original must stay untouched, issue 28).
That one ordinary read command (`dealcli filter -f ids`, run in-process through cli.main: it
opens the repository, which recovers) must find exactly the old state or exactly the new one, no
temporary file beside the records and an empty journal; and `dealcli check` passes at the end.

Each kill lands at a random delay within the command's measured duration; half of the kills
are aimed at the window where the state was seen to flip from old to new (the writes), so
that kills land before, during and after the commit point. The RNG seed is printed in every
assertion message; DEALCLI_KILL_SEED=N repeats a seed (the timing still varies), DEALCLI_KILLS=N
sets the kills per command for a longer soak run."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from conftest import NOW, Runner, dealcli_bin, plant_journal

KILLS_PER_COMMAND = int(os.environ.get("DEALCLI_KILLS") or 40)  # 5 commands: 200 kills; more for a soak run
PARALLEL = 2  # commands being killed at once (each in its own copy of the repository)
SEED = int(os.environ.get("DEALCLI_KILL_SEED") or random.SystemRandom().randrange(1, 10**9))
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")},
       "DEALCLI_USER": "tester@example.com", "DEALCLI_NOW": NOW, "NO_COLOR": "1", "TZ": "UTC"}
ROWS = 200  # import
MOVED = 30  # bulk move, stage deletion
REC_START = date(2025, 11, 24)  # a weekly recurring template (Mondays) caught up to NOW: 16 occurrences
REC_TOTAL = (date(2026, 3, 10) - REC_START).days // 7 + 1


def records(root: Path, kind: str) -> dict[str, dict]:
    """Every record file of a folder, parsed (a torn or empty file fails here)."""
    out = {}
    folder = root / kind
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.suffix == ".yaml" and not p.name.startswith("."):
                data = yaml.load(p.read_bytes(), Loader=LOADER)
                assert isinstance(data, dict) and data.get("id") == p.stem, f"{p}: not a whole record"
                out[p.stem] = data
    return out


def leftovers(root: Path) -> list[str]:
    """Hidden temporary files (.<name>.<txid>.tmp/.old) anywhere outside .dealcli/, and journal
    entries."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and ".dealcli" in dirnames:
            dirnames.remove(".dealcli")
        found += [os.path.join(dirpath, n) for n in filenames
                  if n.startswith(".") and (n.endswith(".tmp") or n.endswith(".old"))]
    journal = root / ".dealcli" / "journal"
    if journal.is_dir():
        found += [str(journal / n) for n in os.listdir(journal)]
    return sorted(found)


# -- the five commands: a prepared repository, the command, and "old or new, as a whole" --------
class Scenario:
    name: str
    stdin: str | None = None

    def prepare(self, root: Path, cli: Runner) -> None:
        raise NotImplementedError

    def argv(self, root: Path) -> list[str]:
        raise NotImplementedError

    def state(self, root: Path) -> str:
        """'old', 'new' (or 'partial' where that is a whole state); AssertionError otherwise."""
        raise NotImplementedError


def _import_titles(root: Path, cli: Runner, rows: list[tuple[str, str]]) -> None:
    src = root.parent / f"{root.name}-seed.csv"
    src.write_text("title,stage\n" + "".join(f"{t},{s}\n" for t, s in rows))
    cli.ok("import", src)
    src.unlink()


class BulkMove(Scenario):
    name = "deal move -"

    def prepare(self, root, cli):
        _import_titles(root, cli, [(f"Deal {i}", "new") for i in range(MOVED)])
        self.stdin = cli.ok("filter", "-f", "ids")
        assert len(self.stdin.split()) == MOVED

    def argv(self, root):
        return ["deal", "move", "-", "preparation"]

    def state(self, root):
        deals = records(root, "deals")
        assert len(deals) == MOVED
        stages = Counter(d["stage"] for d in deals.values())
        moved = [d for d in deals.values() if any(e["kind"] == "moved" for e in d["history"])]
        if stages == {"new": MOVED} and not moved:
            return "old"
        assert stages == {"preparation": MOVED}, f"half-applied bulk move: {dict(stages)}"
        assert len(moved) == MOVED and all(d["probability"] == 20 for d in deals.values())
        return "new"


class StageDelete(Scenario):
    name = "pipeline edit --delete-stage --move-deals-to"

    def prepare(self, root, cli):
        cli.ok("pipeline", "edit", "sales", "--add-stage", "x", "--name", "X")
        _import_titles(root, cli, [(f"Deal {i}", "x") for i in range(MOVED)])

    def argv(self, root):
        return ["pipeline", "edit", "sales", "--delete-stage", "x", "--move-deals-to", "new"]

    def state(self, root):
        stage_ids = [st["id"] for st in records(root, "pipelines")["sales"]["stages"]]
        deals = records(root, "deals")
        assert len(deals) == MOVED
        stages = Counter(d["stage"] for d in deals.values())
        moved = [d for d in deals.values()
                 if any(e["kind"] == "moved" and e.get("from") == "x" and e.get("to") == "new" for e in d["history"])]
        if "x" in stage_ids:
            assert stages == {"x": MOVED} and not moved, f"stage x kept but deals changed: {dict(stages)}"
            return "old"
        assert stages == {"new": MOVED}, f"stage x deleted but deals not all moved: {dict(stages)}"
        assert len(moved) == MOVED, f"{MOVED - len(moved)} moved deal(s) without a history event"
        return "new"


class LeadConvert(Scenario):
    name = "lead convert"

    def prepare(self, root, cli):
        self.lead = cli.ok("lead", "add", "Big order", "--contact-name", "Ann Lee", "--company-name", "Acme",
                           "--email", "ann@acme.test", "--amount", "500").strip()

    def argv(self, root):
        return ["lead", "convert", self.lead]

    def state(self, root):
        lead = records(root, "leads")[self.lead]
        deals, companies, contacts = (records(root, k) for k in ("deals", "companies", "contacts"))
        if lead["status"] == "new":
            assert lead["deal"] is None and not deals and not companies and not contacts, (
                f"lead unconverted but deals={list(deals)} companies={list(companies)} contacts={list(contacts)}")
            return "old"
        assert lead["status"] == "converted" and list(deals) == [lead["deal"]], f"lead {lead} / deals {list(deals)}"
        (company_id,), (contact_id,) = list(companies), list(contacts)
        deal = deals[lead["deal"]]
        assert deal["company"] == company_id and deal["contacts"] == [contact_id]
        assert companies[company_id]["name"] == "Acme" and contacts[contact_id]["emails"] == ["ann@acme.test"]
        return "new"


class Import(Scenario):
    name = "import"

    def prepare(self, root, cli):
        self.src = root.parent / "import.csv"
        self.src.write_text("title,amount,company,contact,contact_email\n" + "".join(
            f"Row {i},{i}.50,Company {i % 20},Person {i % 40},p{i % 40}@example.com\n" for i in range(ROWS)))

    def argv(self, root):
        return ["import", str(self.src)]

    def state(self, root):
        deals, companies, contacts = (records(root, k) for k in ("deals", "companies", "contacts"))
        if not deals:
            assert not companies and not contacts, f"no deals but {len(companies)} companies, {len(contacts)} contacts"
            return "old"
        assert len(deals) == ROWS, f"half-applied import: {len(deals)} of {ROWS} deals"
        assert sorted(d["title"] for d in deals.values()) == sorted(f"Row {i}" for i in range(ROWS))
        assert len(companies) == 20 and len(contacts) == 40, f"{len(companies)} companies, {len(contacts)} contacts"
        return "new"


class RecurringRun(Scenario):
    name = "recurring run"

    def prepare(self, root, cli):
        self.tid = cli.ok("recurring", "add", "Weekly {date}", "--every", "week",
                          "--start", REC_START.isoformat()).strip()

    def argv(self, root):
        return ["recurring", "run"]

    def state(self, root):
        """Every occurrence up to the template's marker has exactly one deal, none after it: the
        deal and the marker are written together, one transaction per occurrence."""
        marker = records(root, "recurring")[self.tid]["last_occurrence"]
        deals = records(root, "deals")
        occurrences = sorted(str(d["recurring"]["occurrence"]) for d in deals.values()
                             if (d.get("recurring") or {}).get("template") == self.tid)
        if marker is None:
            assert not occurrences, f"no marker but deals for {occurrences}"
            return "old"
        marker = date.fromisoformat(str(marker))
        expected = [(REC_START + timedelta(weeks=k)).isoformat()
                    for k in range((marker - REC_START).days // 7 + 1)]
        assert occurrences == expected, f"marker {marker}: deals for {occurrences}, expected {expected}"
        assert all(d["id"] == f"{self.tid}-{d['recurring']['occurrence'].strftime('%Y%m%d')}" for d in deals.values())
        return "new" if len(expected) == REC_TOTAL else "partial"


SCENARIOS = [BulkMove, StageDelete, LeadConvert, Import, RecurringRun]


# -- the kill loop -----------------------------------------------------------------------------
def _fresh(snapshot: Path, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    # without the index cache: an in-process run may still hold the snapshot's sqlite open, and its
    # -wal/-shm files can vanish mid-copy; the cache is rebuilt from the files anyway
    shutil.copytree(snapshot, work, symlinks=True, ignore=shutil.ignore_patterns("index.sqlite*"))


def _start(exe: str, argv: list[str], work: Path, stdin: str | None) -> subprocess.Popen:
    """The command, run from the parent folder with a relative --dir (the journal once held paths
    relative to the working folder then)."""
    feed = work.parent / f"{work.name}.stdin"
    feed.write_text(stdin or "")
    with feed.open("rb") as fh:
        return subprocess.Popen([exe, "--dir", work.name, *argv], cwd=work.parent, env=ENV, stdin=fh,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "index.sqlite" not in p.name}


WHERE = ("from another working folder", "after mv", "in a cp -a copy")


def _recovering_read(work: Path, k: int) -> subprocess.CompletedProcess:
    """The next command after a kill, never from where the killed one ran: from a folder inside
    the repository, after `mv` of the repository, or in a `cp -a` copy (which must leave the
    original untouched; the original is then recovered in place and must end the same)."""
    how = k % 3
    if how == 0:
        return Runner(work, subprocess=False)("filter", "-f", "ids", cwd=work / "pipelines")
    if how == 1:
        moved = work.with_name(f"{work.name}-mv")
        work.rename(moved)
        try:
            return Runner(moved, subprocess=False)("filter", "-f", "ids")
        finally:
            moved.rename(work)
    copy = work.with_name(f"{work.name}-cp")
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-a", str(work), str(copy)], check=True)
    original = _tree(work)
    read = Runner(copy, subprocess=False)("filter", "-f", "ids")
    assert _tree(work) == original, "recovery in a copy changed the original"
    recovered = _tree(copy)
    Runner(work, subprocess=False)("filter", "-f", "ids")
    assert _tree(work) == recovered, "the copy and the original recovered differently"
    shutil.rmtree(copy)
    return read


def _killed_run(exe: str, snapshot: Path, work: Path, argv: list[str], stdin: str | None, delay: float):
    """A fresh copy of the snapshot, the command started on it and SIGKILLed after `delay`
    seconds: (exit code, stderr, whether a journal or temp file was there right after)."""
    _fresh(snapshot, work)
    proc = _start(exe, argv, work, stdin)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    err = proc.communicate(timeout=120)[1].decode(errors="replace")
    return proc.returncode, err, bool(leftovers(work))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda c: c.__name__)
def test_sigkill_leaves_old_or_new_state_and_no_temp_file(scenario, tmp_path):
    sc: Scenario = scenario()
    exe = dealcli_bin()
    snapshot = tmp_path / "snapshot"
    Runner(tmp_path, subprocess=False)("init", snapshot, "--timezone", "UTC", check=True)
    sc.prepare(snapshot, Runner(snapshot, subprocess=False))
    argv = sc.argv(snapshot)
    rng = random.Random(f"{SEED}:{sc.name}")
    where = f"[{sc.name}; DEALCLI_KILL_SEED={SEED}]"
    assert sc.state(snapshot) == "old", where

    # one whole run: it works, ends in the new state, and gives the duration to aim the kills at
    work = tmp_path / "whole"
    _fresh(snapshot, work)
    started = time.monotonic()
    proc = _start(exe, argv, work, sc.stdin)
    err = proc.communicate(timeout=120)[1].decode()
    duration = time.monotonic() - started
    assert proc.returncode == 0, f"{where} unkilled run failed: {err}"
    assert sc.state(work) == "new" and not leftovers(work), where

    outcomes: Counter = Counter()
    flipped: dict[str, list[float]] = {"old": [], "new": []}  # delays after which the state was still old / already new
    caught_mid = 0

    def next_delay(k: int) -> float:
        """Even kills: anywhere in the measured duration. Odd kills: aimed at the commit point
        seen so far (the load of the machine changes the timing, so it is searched for)."""
        old, new = flipped["old"], flipped["new"]
        if k % 2 == 0 or not (old or new):
            window = (0.0, duration)
        elif old and new:
            a, b = max(old), min(new)
            window = (max(0.0, min(a, b) - 0.03), max(a, b) + 0.03)
        elif old:  # nothing written yet: later
            window = (max(old), max(old) * 1.5 + 0.05)
        else:  # always done already: earlier
            window = (0.0, min(new))
        return rng.uniform(*window)

    # PARALLEL kills in flight (worker threads) while the main thread recovers and checks the
    # previous one in-process; PARALLEL + 1 working copies in rotation
    with ThreadPoolExecutor(PARALLEL) as pool:
        inflight: deque = deque()

        def submit(k: int) -> None:
            delay = next_delay(k)
            w = tmp_path / f"work{k % (PARALLEL + 1)}"
            inflight.append((k, delay, w, pool.submit(_killed_run, exe, snapshot, w, argv, sc.stdin, delay)))

        for k in range(min(PARALLEL, KILLS_PER_COMMAND)):
            submit(k)
        while inflight:
            k, delay, work, job = inflight.popleft()
            returncode, err, mid = job.result()
            if k + PARALLEL < KILLS_PER_COMMAND:
                submit(k + PARALLEL)
            at = f"{where} kill {k + 1} after {delay * 1000:.0f} ms, next command {WHERE[k % 3]}"
            assert returncode in (0, -signal.SIGKILL), f"{at}: exit {returncode}: {err}"
            assert "Traceback" not in err, f"{at}: {err}"
            caught_mid += mid

            read = _recovering_read(work, k)  # opening the repository recovers
            assert read.returncode == 0 and "Traceback" not in read.stderr, f"{at}: recovery read failed: {read.stderr}"
            assert leftovers(work) == [], f"{at}: left behind after recovery"
            assert sorted(read.stdout.split()) == sorted(records(work, "deals")), \
                f"{at}: filter disagrees with the files"
            try:
                state = sc.state(work)
            except AssertionError as exc:
                raise AssertionError(f"{at}: {exc}") from None
            assert state == "new" or returncode != 0, f"{at}: exited 0 but the state is {state}"
            outcomes[state] += 1
            flipped.setdefault(state, []).append(delay)

            if isinstance(sc, RecurringRun) and state != "new" and (k % 4 == 0 or not inflight):
                # a re-run completes the rest: every occurrence exactly once
                rerun = Runner(work, subprocess=False)(*argv)
                assert rerun.returncode == 0, f"{at}: re-run failed: {rerun.stderr}"
                assert sc.state(work) == "new", at
                assert len(records(work, "deals")) == REC_TOTAL, f"{at}: duplicates after the re-run"
                state = "new"

    if state != "new":  # the killed command, run again on the recovered repository, completes it
        again = Runner(work, subprocess=False)(*argv, input=sc.stdin)
        assert again.returncode == 0 and sc.state(work) == "new", f"{where}: run after recovery: {again.stderr}"
    chk = Runner(work, subprocess=True)("check")  # the real script, as CI runs it
    assert chk.returncode == 0, f"{where}: check after the kills: {chk.stdout}{chk.stderr}"
    assert sum(outcomes.values()) == KILLS_PER_COMMAND
    print(f"\n{where} {KILLS_PER_COMMAND} SIGKILLs over a {duration * 1000:.0f} ms run: "
          f"{dict(outcomes)}; {caught_mid} caught mid-transaction (journal or temp file present)")


# -- recovery from journals left by hand, in the format journal.py writes -----------------------
def _digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def test_prepared_journal_and_its_temp_file_are_removed_by_the_next_command(cli, repo):
    deal_id = cli.ok("deal", "add", "Kept").strip()
    target = repo / "deals" / f"{deal_id}.yaml"
    before = target.read_bytes()
    txid = "0123456789ab"
    tmp = repo / "deals" / f".{deal_id}.yaml.{txid}.tmp"
    tmp.write_bytes(before.replace(b"title: Kept", b"title: Never"))
    stray = repo / "deals" / ".other.yaml.ffffffffffff.tmp"  # no journal names it: swept as well
    stray.write_bytes(b"half")
    journal = plant_journal(repo, txid, "prepared", folders=["deals"]).parent
    (journal / f".{txid}.json.abc.tmp").write_text("{")  # a kill while writing the journal itself

    assert cli.ok("filter", "-f", "ids").split() == [deal_id]
    assert target.read_bytes() == before  # rolled back: the target was never touched
    assert leftovers(repo) == []
    assert cli("check").returncode == 0


def test_committed_journal_is_rolled_forward_by_the_next_command(cli, repo):
    changed, created, deleted = (cli.ok("deal", "add", t).strip() for t in ("Changed", "Created", "Deleted"))
    deals = repo / "deals"
    new_raw = (deals / f"{changed}.yaml").read_bytes().replace(b"title: Changed", b"title: Changed by tx")
    created_raw = (deals / f"{created}.yaml").read_bytes().replace(b"title: Created", b"title: Created by tx")
    (deals / f"{created}.yaml").unlink()  # the transaction creates it
    txid = "ba9876543210"
    ops = []
    for deal_id, raw in ((changed, new_raw), (created, created_raw), (deleted, None)):
        if raw is not None:
            (deals / f".{deal_id}.yaml.{txid}.tmp").write_bytes(raw)
        ops.append({"path": f"deals/{deal_id}.yaml", "digest": _digest(raw) if raw else None})
    plant_journal(repo, txid, "committed", ops=ops)

    assert sorted(cli.ok("filter", "-f", "ids").split()) == sorted([changed, created])
    assert (deals / f"{changed}.yaml").read_bytes() == new_raw
    assert (deals / f"{created}.yaml").read_bytes() == created_raw
    assert not (deals / f"{deleted}.yaml").exists()
    assert leftovers(repo) == []
    assert json.loads(cli.ok("deal", "show", changed, "-f", "json"))["title"] == "Changed by tx"
    assert cli("check").returncode == 0
