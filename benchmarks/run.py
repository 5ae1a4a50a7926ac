"""Run the figures of issue 8 ("Scale and speed"), each beside its floor measured in the same run
on the same files, and print them as a table (or JSON with --json).

    python benchmarks/run.py [--big 100000] [--small 10000] [--runs 3] [--json] [--out DIR]

Repositories are generated once into --out (benchmarks/out/, not committed) by generate.py and
reused. Every figure is the median of --runs runs of a fresh process, the way cron or a script
calls dealcli. A figure whose command is not built yet prints "n/a (command missing)".
Taskwarrior figures need `task` on PATH. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
BIN = Path(sys.executable).parent
DEALCLI = str(BIN / "dealcli") if (BIN / "dealcli").exists() else (shutil.which("dealcli") or "dealcli")
PY = sys.executable
MISSING = "n/a (command missing)"

BARE_TYPER = '''
import typer
app = typer.Typer()
def _version(value: bool):
    if value:
        print("bare 1.0")
        raise typer.Exit()
@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True)):
    pass
@app.command()
def one(name: str = "x"):
    print(name)
@app.command()
def two(n: int = 1):
    print(n)
app()
'''
STAT_SWEEP = "import os, sys\nfor e in os.scandir(sys.argv[1]):\n    e.stat()\n"
C_PARSE = ("import os, sys, yaml\nL = yaml.CSafeLoader\nd = sys.argv[1]\nfor n in sorted(os.listdir(d)):\n"
           "    with open(os.path.join(d, n), 'rb') as f:\n        yaml.load(f.read(), Loader=L)\n")
# Stand-in for `dealcli filter stage=new amount>5000` until the filter command is merged: the same
# read path (Session.deal_records, i.e. the index cache) behind the same start-up (dealcli.cli).
SCAN = ("import sys, dealcli.cli\nfrom decimal import Decimal\nfrom dealcli.session import Session\n"
        "s = Session(dir=sys.argv[1], quiet=True)\nlimit = Decimal(5000)\n"
        "ids = [r['id'] for r in s.deal_records([]) if r.get('stage') == 'new' and r.get('amount', 0) > limit]\n"
        "sys.stdout.write(''.join(i + '\\n' for i in ids))\n")
FILTER = ["filter", "stage=new", "amount>5000", "-f", "ids"]


def env() -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_") and k != "PYTHONDONTWRITEBYTECODE"}
    out.update({"DEALCLI_USER": "bench@example.com", "NO_COLOR": "1", "TZ": "UTC"})
    return out


def run_once(cmd: list[str], cwd=None, stdin=None, extra_env=None) -> tuple[float, int, int]:
    """(seconds, exit code, peak RSS in KB) of one fresh process."""
    e = env()
    e.update(extra_env or {})
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=open(stdin, "rb") if stdin else subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}: {err.strip()[-500:]}")
    return elapsed, proc.returncode, usage.ru_maxrss


def median(cmd, runs: int, before=None, **kw) -> tuple[float, int]:
    """Median seconds and the highest peak RSS (KB) over `runs` runs; `before()` runs untimed."""
    times, peak = [], 0
    for _ in range(runs):
        if before:
            before()
        t, _, rss = run_once(cmd, **kw)
        times.append(t)
        peak = max(peak, rss)
    return statistics.median(times), peak


def paired(cmd_a, cmd_b, runs: int) -> tuple[float, float]:
    """Medians of two commands run alternately, so that a change in machine load hits both."""
    a, b = [], []
    for _ in range(runs):
        a.append(run_once(cmd_a)[0])
        b.append(run_once(cmd_b)[0])
    return statistics.median(a), statistics.median(b)


def has_command(word: str) -> bool:
    proc = subprocess.run([DEALCLI, word, "--help"], capture_output=True, text=True, env=env())
    return proc.returncode == 0


def ensure_repo(out: Path, deals: int) -> Path:
    root = out / f"deals-{deals}"
    if not (root / "dealcli.yaml").exists():
        if root.exists():
            shutil.rmtree(root)
        print(f"generating {deals} deals in {root} ...", file=sys.stderr)
        subprocess.run([PY, str(HERE / "generate.py"), str(root), "--deals", str(deals)], check=True)
    return root


def drop_cache(root: Path):
    def go():
        shutil.rmtree(root / ".dealcli", ignore_errors=True)
    return go


def a_company_name(root: Path) -> str:
    from dealcli.storage import yamlcodec

    first = sorted(os.listdir(root / "companies"))[0]
    return yamlcodec.loads((root / "companies" / first).read_bytes())["name"]


def figure(rows: list, name: str, goal: float, value, floor, unit: str = "s", note: str = "") -> None:
    ratio = None
    if isinstance(value, (int, float)) and isinstance(floor, (int, float)) and floor:
        ratio = value / floor
    rows.append({"figure": name, "value": value, "floor": floor, "unit": unit, "ratio": ratio, "goal": goal,
                 "met": None if ratio is None else ratio <= goal, "note": note})


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_headroom() -> float:
    """How much faster two processes do four equal CPU loops than one process: about 2.0 on
    an idle two-core machine, less when other work shares the cores. Read the cold figures
    (which count on both cores) with it."""
    from multiprocessing import get_context

    start = time.perf_counter()
    for _ in range(4):
        _burn(2_000_000)
    one = time.perf_counter() - start
    with get_context("fork").Pool(2) as pool:
        start = time.perf_counter()
        pool.map(_burn, [2_000_000] * 4)
        two = time.perf_counter() - start
    return round(one / two, 2)


def machine() -> dict:
    try:
        import yaml

        libyaml = bool(getattr(yaml, "__with_libyaml__", False))
        yaml_version = yaml.__version__
    except ImportError:
        libyaml, yaml_version = False, None
    return {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "pyyaml": yaml_version, "libyaml": libyaml, "load_average": os.getloadavg(),
            "two_process_speedup": parallel_headroom()}


def taskwarrior_floor(n: int, runs: int) -> float | None:
    task = shutil.which("task")
    if not task:
        return None
    home = Path(tempfile.mkdtemp(prefix="dealcli-bench-task-"))
    (home / ".taskrc").write_text(f"data.location={home / 'data'}\nconfirmation=off\nverbose=nothing\n"
                                  "json.array=on\ngc=off\n")
    tasks = [{"description": f"task {i}", "status": "pending", "project": ("sales", "ops", "hr")[i % 3],
              "priority": "HML"[i % 3], "uuid": f"00000000-0000-4000-8000-{i:012d}",
              "entry": "20260101T000000Z"} for i in range(n)]
    src = home / "tasks.json"
    src.write_text(json.dumps(tasks))
    e = {"HOME": str(home), "TASKRC": str(home / ".taskrc"), "PATH": os.environ.get("PATH", "")}
    subprocess.run([task, "import", str(src)], env=e, capture_output=True, check=True)
    cmd = [task, "rc.verbose=nothing", "project:sales", "priority:H", "ids"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=e, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    shutil.rmtree(home, ignore_errors=True)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big", type=int, default=100_000, help="deals in the big repository (default 100000)")
    ap.add_argument("--small", type=int, default=10_000, help="deals in the taskwarrior comparison (10000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cold-runs", type=int, default=3, help="runs of the slow cold figures (default 3)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, "-m", "compileall", "-q", str(HERE.parent / "dealcli")], capture_output=True, env=env())
    big = ensure_repo(args.out, args.big)
    tiny = ensure_repo(args.out, 10)
    small = ensure_repo(args.out, args.small) if args.small != args.big else big
    deals_dir = str(big / "deals")
    have = {w: has_command(w) for w in ("filter", "import")}
    info = machine()
    rows: list = []
    runs, cold = args.runs, args.cold_runs
    log = (lambda m: print(m, file=sys.stderr))

    # 1 + 5: warm filter against a bare stat sweep; its peak memory
    log("warm filter ...")
    stat_floor, _ = median([PY, "-c", STAT_SWEEP, deals_dir], runs)
    run_once([PY, "-c", SCAN, str(big)])  # build the cache
    scan_warm, scan_rss = median([PY, "-c", SCAN, str(big)], runs)
    if have["filter"]:
        run_once([DEALCLI, "--dir", str(big), *FILTER])
        filt_warm, filt_rss = median([DEALCLI, "--dir", str(big), *FILTER], runs)
    else:
        filt_warm = filt_rss = MISSING
    n = args.big
    figure(rows, f"warm `filter` on {n} deals / bare stat sweep", 1.5, filt_warm, stat_floor)
    figure(rows, f"warm scan (deal_records, filter stand-in) on {n} / bare stat sweep", 1.5, scan_warm, stat_floor)

    # 2 + 6: cold filter and cold check against a one-process C LibYAML parse, run alternately so
    # that a change in machine load hits all three alike
    log("cold parse floor, cold scan, cold check ...")
    floors, colds, checks, cold_filters, scan_cold_rss = [], [], [], [], 0
    for _ in range(cold):
        floors.append(run_once([PY, "-c", C_PARSE, deals_dir])[0])
        drop_cache(big)()
        t, _, rss = run_once([PY, "-c", SCAN, str(big)])
        colds.append(t)
        scan_cold_rss = max(scan_cold_rss, rss)
        if have["filter"]:
            drop_cache(big)()
            cold_filters.append(run_once([DEALCLI, "--dir", str(big), *FILTER])[0])
        drop_cache(big)()
        checks.append(run_once([DEALCLI, "--dir", str(big), "check"])[0])
    parse_floor, scan_cold = statistics.median(floors), statistics.median(colds)
    check_t = statistics.median(checks)
    filt_cold = statistics.median(cold_filters) if cold_filters else MISSING
    figure(rows, f"cold `filter` on {n} (no cache) / one-process C-LibYAML parse", 0.75, filt_cold, parse_floor)
    figure(rows, f"cold scan (filter stand-in) on {n} / one-process C-LibYAML parse", 0.75, scan_cold,
           parse_floor)
    run_once([PY, "-c", SCAN, str(big)])  # leave a warm cache behind

    # 3: start-up
    log("start-up ...")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_TYPER)
        version_t, bare_t = paired([DEALCLI, "--version"], [PY, str(bare), "--version"], max(runs, 15))
        figure(rows, "`dealcli --version` / a two-command bare Typer app", 1.1, version_t, bare_t)
        some_id = sorted(os.listdir(big / "deals"))[0][:-5]
        show = [DEALCLI, "--dir", str(big), "deal", "show", some_id[:7]]
        run_once(show)
        show_t, bare_cmd_t = paired(show, [PY, str(bare), "one", "--name", "x"], max(runs, 15))
    figure(rows, f"`deal show PREFIX` on {n} deals / the bare Typer app running a command", 1.1, show_t,
           bare_cmd_t, note="a command run makes Typer import pydantic; --version does not")

    # 4: deal add, O(1) in repository size
    log("deal add ...")
    add_cmds = {}
    for root in (tiny, big):
        company = a_company_name(root)
        add_cmds[root] = [DEALCLI, "--dir", str(root), "deal", "add", "Bench deal", "--amount", "100",
                          "--company", company]
        run_once(add_cmds[root])  # warm-up: the cache learns the companies
        run_once([PY, "-c", SCAN, str(root)])
    time.sleep(2.1)  # let the folders' timestamps settle, as between two cron runs
    for root in (tiny, big):
        run_once([PY, "-c", SCAN, str(root)])
    add_big, add_tiny = paired(add_cmds[big], add_cmds[tiny], max(runs, 7))
    figure(rows, f"`deal add --company NAME` on {n} deals / on 10 deals", 1.2, add_big, add_tiny)

    # 5: peak memory
    rss = filt_rss if have["filter"] else scan_rss
    figure(rows, f"peak memory of {'`filter`' if have['filter'] else 'warm scan'} on {n} deals (MB)", 120,
           round(rss / 1024, 1), 1, unit="MB", note="goal is absolute: <= 120 MB")
    figure(rows, f"peak memory of cold scan on {n} deals (MB)", 120, round(scan_cold_rss / 1024, 1), 1, unit="MB")

    # 6: check, cold (measured above, beside the parse floor)
    figure(rows, f"`check` on {n} deals, cold / one-process C-LibYAML parse", 1.0, check_t, parse_floor)

    # 7: import
    if have["import"]:
        log("import ...")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_import

        work = Path(tempfile.mkdtemp(prefix="dealcli-bench-import-"))
        try:
            m = bench_import.measure(n, work, with_atomic=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        figure(rows, f"`import` of {n} JSONL rows / bare loop writing the same YAML files", 2.0,
               m["import"], m["bare"])
    else:
        figure(rows, f"`import` of {n} JSONL rows / bare loop writing the same YAML files", 2.0, MISSING, None)

    # 8: filter on 10k against taskwarrior
    log("taskwarrior ...")
    tw = taskwarrior_floor(args.small, runs)
    run_once([PY, "-c", SCAN, str(small)])
    small_scan, _ = median([PY, "-c", SCAN, str(small)], runs)
    small_filter = median([DEALCLI, "--dir", str(small), *FILTER], runs)[0] if have["filter"] else MISSING
    tw_floor = tw if tw is not None else "n/a (task not installed)"
    figure(rows, f"`filter` on {args.small} deals / taskwarrior filtering {args.small} tasks", 1.5, small_filter,
           tw_floor)
    figure(rows, f"warm scan (filter stand-in) on {args.small} / taskwarrior", 1.5, small_scan, tw_floor)

    info["load_average_after"] = os.getloadavg()
    report = {"machine": info, "runs": runs, "cold_runs": cold, "figures": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    from tabulate import tabulate

    def show(v, unit):
        if isinstance(v, float):
            return f"{v:.3f} {unit}" if unit == "s" else f"{v:g} {unit}"
        return "" if v is None else str(v)

    table = [[r["figure"], show(r["value"], r["unit"]), show(r["floor"], r["unit"]) if r["unit"] == "s" else "",
              f"{r['ratio']:.2f}" if r["ratio"] is not None and r["unit"] == "s" else "",
              f"<= {r['goal']:g}", {True: "yes", False: "NO", None: "-"}[r["met"]]] for r in rows]
    print(tabulate(table, headers=["figure", "value", "floor", "ratio", "goal", "met"]))
    m = report["machine"]
    print(f"\nmachine: {m['nproc']} cores, Python {m['python']}, PyYAML {m['pyyaml']} "
          f"(LibYAML: {m['libyaml']}), {m['platform']}, load {m['load_average'][0]:.2f}, two-process "
          f"speed-up of a CPU loop {m['two_process_speedup']}x; medians of "
          f"{runs} runs ({cold} for cold figures)")


if __name__ == "__main__":
    main()
