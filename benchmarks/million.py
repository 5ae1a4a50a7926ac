"""A repository of N deals (default 1,000,000) with activities and a git history, measured the
way a team would live with it (issue 29, item 6): warm `filter`, `deal show`, `deal move`,
`check`, `git status`, `git commit` of one deal, a clone, and the repository's size.

    python benchmarks/million.py [--deals 1000000] [--out DIR] [--runs 3] [--history 3] [--json]

The repository is generated once into --out (default benchmarks/out/million-N, not committed)
by generate.py, committed to git (one commit of everything, then --history commits that move
a hundred deals each, so that `git log` has a history), and reused by later runs. Each figure
is the median of --runs fresh processes. Nothing here is part of the test suite; a million
deals needs about 1.5 GB of disk and, on two shared cores, hours to generate and commit: run
it at the size the machine allows (`--deals 100000`) and read docs/performance.md for the
figures recorded and what would justify sharding deals/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402  the same process runner, environment and deal pickers

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git(root: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, check=check)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def du(path: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except OSError:
                pass
    return total


def ensure(root: Path, deals: int, history: int, log) -> dict:
    """Generate and commit the repository once; returns how long each step took (or {})."""
    made: dict = {}
    if not (root / ".git").is_dir():
        if (root / "dealcli.yaml").exists() and (root / "activities").is_dir():
            log(f"{root}: generated without git (a generation stopped early and finished by hand): committing it")
        else:
            if root.exists():
                shutil.rmtree(root)
            log(f"generating {deals} deals in {root} ...")
            made["generate_s"] = timed(lambda: subprocess.run(
                [sys.executable, str(HERE / "generate.py"), str(root), "--deals", str(deals)], check=True))
        git(root, "init", "-q")
        log("git add + first commit ...")
        made["first_commit_s"] = timed(lambda: (git(root, "add", "-A"), git(root, "commit", "-q", "-m", "deals")))
        ids = sorted(p[:-5] for p in os.listdir(root / "deals"))
        for h in range(history):
            log(f"history commit {h + 1}/{history} ...")
            for deal_id in ids[h * 100:(h + 1) * 100]:
                path = root / "deals" / f"{deal_id}.yaml"
                path.write_text(path.read_text().replace("\ntitle: ", "\ntitle: Renamed ", 1))
            git(root, "commit", "-q", "-am", f"rename 100 deals ({h + 1})")
    return made


def measure(root: Path, runs: int, log) -> list:
    rows: list = []
    dealcli = [bench.DEALCLI, "--dir", str(root)]

    class Rows(list):  # each figure is logged as it comes: a long run stopped early keeps them
        def append(self, row) -> None:
            log(f"  {row[0]}: {row[1]:.2f}" if isinstance(row[1], float) else f"  {row[0]}: {row[1]}")
            super().append(row)

    rows = Rows()

    def median(cmd, before=None) -> float:
        times = []
        for _ in range(runs):
            if before:
                before()
            times.append(bench.run_once(cmd)[0])
        return statistics.median(times)

    n = len(os.listdir(root / "deals"))
    log("warm filter ...")
    filt = dealcli + bench.FILTER
    rows.append(("cold `filter` (index cache built)", timed(lambda: bench.run_once(filt))))
    rows.append(("warm `filter ... -f ids`", median(filt)))
    some = sorted(os.listdir(root / "deals"))[len(os.listdir(root / "deals")) // 2][:-5]
    rows.append(("`deal show PREFIX`", median(dealcli + ["deal", "show", some[:7]])))
    log("deal move ...")
    deal_id, stage = bench.an_open_deal(root)
    other = "new" if stage != "new" else "preparation"
    there = dealcli + ["deal", "move", deal_id, other]
    back = dealcli + ["deal", "move", deal_id, stage]
    bench.run_once(there)
    bench.run_once(back)
    times = []
    for _ in range(runs):
        times.append(bench.run_once(there)[0])
        times.append(bench.run_once(back)[0])
    rows.append(("`deal move` (nudge included)", statistics.median(times)))
    log("git status, commit of one deal ...")
    git(root, "status", "--porcelain")  # the first status refreshes git's index stat cache
    rows.append(("`git status` (one deal changed)", median(["git", "-C", str(root), "status", "--porcelain"])))
    path = root / "deals" / f"{deal_id}.yaml"

    def commit_one() -> float:
        path.write_text(path.read_text().replace("\ntitle: ", "\ntitle: x", 1))
        return timed(lambda: (git(root, "add", str(path)), git(root, "commit", "-q", "-m", "one deal")))

    rows.append(("`git add` + `git commit` of one deal", statistics.median(commit_one() for _ in range(runs))))
    # what one push of that commit sends: git's own thin pack of the objects the remote lacks
    pack = subprocess.run(["git", "-C", str(root), "pack-objects", "--revs", "--thin", "--stdout", "-q"],
                          input=b"HEAD\n^HEAD~1\n", capture_output=True, check=True).stdout
    rows.append(("pack a push of one deal's commit sends (KB)", len(pack) / 1024))
    rows.append(("tree object of deals/ (KB, rewritten by every commit)",
                 int(git(root, "cat-file", "-s", "HEAD:deals").stdout) / 1024))
    log("check --since ...")
    bench.run_once(dealcli + ["check", "--since", "HEAD~1"])  # the first one fills the index of the other kinds
    rows.append(("`check --since HEAD~1` (one deal changed)", median(dealcli + ["check", "--since", "HEAD~1"])))
    log("clone ...")
    with tempfile.TemporaryDirectory(prefix="dealcli-clone-", dir=root.parent) as tmp:
        rows.append(("`git clone --no-local` (full copy of the history)",
                     timed(lambda: subprocess.run(["git", "clone", "-q", "--no-local", str(root), f"{tmp}/c"],
                                                  check=True, capture_output=True))))
    git(root, "gc", "-q", "--auto", check=False)
    rows.append(("size of .git (MB)", du(root / ".git") / 2**20))
    rows.append(("size of the working tree without .git (MB)",
                 sum(du(root / k) for k in os.listdir(root) if k != ".git" and (root / k).is_dir()) / 2**20))
    rows.append(("size of the index cache .dealcli/ (MB)", du(root / ".dealcli") / 2**20))
    rows.append(("deals", n))
    # last: the slowest figures (a run stopped by a deadline keeps the others)
    log("check ...")
    rows.append(("`check` (first run: every file parsed, worker processes)", timed(
        lambda: bench.run_once(dealcli + ["check"]))))
    rows.append(("`check` again (verdicts cached by content)", median(dealcli + ["check"])))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--history", type=int, default=3, help="commits after the first (default 3)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--generate-only", action="store_true", help="generate and commit the repository, measure nothing")
    args = ap.parse_args()
    root = args.out or HERE / "out" / f"million-{args.deals}"
    root.parent.mkdir(parents=True, exist_ok=True)
    def log(m): print(m, file=sys.stderr)
    load_before = os.getloadavg()
    made = ensure(root, args.deals, args.history, log)
    if args.generate_only:
        print(json.dumps(made))
        return
    rows = [(k.replace("_s", " (s)"), v) for k, v in made.items()] + measure(root, args.runs, log)
    info = {"load_before": load_before, "load_after": os.getloadavg(), "nproc": os.cpu_count(),
            "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()}
    if args.json:
        print(json.dumps({"machine": info, "figures": rows}, indent=2))
        return
    for name, value in rows:
        unit = "" if "MB" in name or name == "deals" else " s"
        print(f"{name:58} {value:10.2f}{unit}" if isinstance(value, float) else f"{name:58} {value:>10}")
    print(f"\nmachine: {info['nproc']} cores, {info['git']}, load {load_before[0]:.2f} before, "
          f"{info['load_after'][0]:.2f} after; medians of {args.runs} runs")


if __name__ == "__main__":
    main()
