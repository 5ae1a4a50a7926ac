"""Run the figures of issues 19 and 29 ("speed at the floor", "speed and scale"), each beside its
peer (the tool a user would pick instead, or the floor no implementation can beat) measured in
the same run on the same files, with its goal, and print them as a table (or JSON with --json).

    python benchmarks/run.py [--sizes 20000[,100000]] [--big] [--runs 5] [--cold-runs 3] [--json]
                             [--out DIR] [--skip-cold] [--skip-import] [--skip-report]
                             [--import-rows N]

--big adds 100,000 deals (generating them takes a while on two shared cores). The import
figures import --import-rows rows (default: as many as the repository has deals) as JSONL, as
YAML and as CSV (the YAML and CSV files are `dealcli export`s of the JSONL import, so all three
hold the same deals) and compare each with its peer. The 1,000,000-deal figures come from
benchmarks/million.py.

Repositories are generated once into --out (benchmarks/out/, not committed) by generate.py and
reused. Every figure is the median of --runs runs of a fresh process, the way cron or a script
calls dealcli; a figure and its peer are run ALTERNATELY (one of each, then again), so that a
change in machine load hits both alike. Peers: taskwarrior (`task`) and ripgrep (`rg`) are
measured when they are on PATH and reported as "n/a (not installed)" otherwise: this script
installs nothing (`apt-get install taskwarrior ripgrep` to measure them). Not part of the test
suite; the default size (20,000 deals) runs in a few minutes on two cores.
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
# every record file `check` reads (deals, activities, clients ...), parsed in one process
C_PARSE = ("import os, sys, yaml\nL = yaml.CSafeLoader\nfor d in sys.argv[1:]:\n"
           "    for n in sorted(os.listdir(d)):\n"
           "        with open(os.path.join(d, n), 'rb') as f:\n            yaml.load(f.read(), Loader=L)\n")
FILTER = ["filter", "responsible=dana@example.com", "amount>1000", "-f", "ids"]
RG_PATTERN = "responsible: dana@example.com"  # ripgrep's untyped version of the same question
TASK_FILTER = ["rc.verbose=nothing", "project:sales", "priority:H", "ids"]
NA_TOOL = "n/a (not installed)"


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


def ensure_repo(out: Path, deals: int) -> Path:
    root = out / f"deals-{deals}"
    if not (root / "dealcli.yaml").exists():
        if root.exists():
            shutil.rmtree(root)
        print(f"generating {deals} deals in {root} ...", file=sys.stderr)
        subprocess.run([PY, str(HERE / "generate.py"), str(root), "--deals", str(deals)], check=True)
    if not (root / "activities").is_dir() or not any(os.scandir(root / "activities")):
        import generate  # a repository generated before activities were: add them

        generate.add_activities(root)
    return root


def drop_cache(root: Path):
    def go():
        shutil.rmtree(root / ".dealcli", ignore_errors=True)
    return go


def a_company_name(root: Path) -> str:
    from dealcli.storage import yamlcodec

    first = sorted(os.listdir(root / "companies"))[0]
    return yamlcodec.loads((root / "companies" / first).read_bytes())["name"]


def an_open_deal(root: Path) -> tuple[str, str]:
    """(id, stage) of an open deal of the sales pipeline without an activity, to move back and
    forth (every move runs the nudge)."""
    from dealcli.storage import yamlcodec

    import re

    deal_line = re.compile(rb"^deal: *'?([^'\s]+)", re.M)  # generated activities: no YAML parse at 500k files
    with_activity = set()
    for e in os.scandir(root / "activities"):
        found = deal_line.search(open(e.path, "rb").read())
        if found:
            with_activity.add(found.group(1).decode())
    for name in sorted(os.listdir(root / "deals")):
        data = yamlcodec.loads((root / "deals" / name).read_bytes())
        if data.get("pipeline") == "sales" and data.get("status") == "open" and data["id"] not in with_activity:
            return data["id"], data["stage"]
    raise SystemExit(f"{root}: no open sales deal without an activity")


def figure(rows: list, name: str, goal: float | None, value, peer, unit: str = "s", note: str = "",
           peer_name: str = "") -> None:
    ratio = None
    if isinstance(value, (int, float)) and isinstance(peer, (int, float)) and peer:
        ratio = value / peer
    met = None
    if goal is not None:
        if unit == "MB" and isinstance(value, (int, float)):
            met = value <= goal
        elif ratio is not None:
            met = ratio <= goal
    rows.append({"figure": name, "value": value, "peer": peer, "peer_name": peer_name, "unit": unit,
                 "ratio": ratio, "goal": goal, "met": met, "note": note})
    # logged as it comes, so a run stopped early (a loaded machine, a deadline) keeps its figures
    print(f"  {name}: {value} / {peer}" + (f" = {ratio:.2f}" if ratio is not None else ""), file=sys.stderr)


def rotate(cmds: dict, runs: int, before: dict | None = None) -> dict:
    """{name: (median seconds, peak RSS KB)}: the commands run in turn, `runs` rounds, so that
    a change in machine load hits all of them alike; before[name]() runs untimed first."""
    times: dict = {k: [] for k in cmds}
    peak: dict = {k: 0 for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            if before and name in before:
                before[name]()
            t, _, rss = run_once(cmd)
            times[name].append(t)
            peak[name] = max(peak[name], rss)
    return {k: (statistics.median(v), peak[k]) for k, v in times.items()}


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
    tools = {}
    for tool, flag in (("task", "--version"), ("rg", "--version")):
        path = shutil.which(tool)
        tools[tool] = (subprocess.run([path, flag], capture_output=True, text=True).stdout.split("\n")[0].strip()
                       if path else None)
    return {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "pyyaml": yaml_version, "libyaml": libyaml, "load_average": os.getloadavg(),
            "two_process_speedup": parallel_headroom(), "tools": tools}


class Taskwarrior:
    """A throw-away taskwarrior data folder holding the same rows as the import benchmark
    (bench_import.record), so both tools import and filter the same number of records."""

    def __init__(self, n: int):
        self.task = shutil.which("task")
        self.home = Path(tempfile.mkdtemp(prefix="dealcli-bench-task-"))
        (self.home / ".taskrc").write_text(f"data.location={self.home / 'data'}\nconfirmation=off\n"
                                           "verbose=nothing\njson.array=on\ngc=off\n")
        self.env = {"HOME": str(self.home), "TASKRC": str(self.home / ".taskrc"), "PATH": os.environ.get("PATH", "")}
        import bench_import

        tasks = []
        for i in range(n):
            r = bench_import.record(i)
            tasks.append({"description": r["title"], "status": "pending", "project": ("sales", "ops", "hr")[i % 3],
                          "priority": "HML"[(i // 3) % 3], "uuid": f"00000000-0000-4000-8000-{i:012d}",
                          "entry": "20260310T120000Z"})
        self.src = self.home / "tasks.json"
        self.src.write_text(json.dumps(tasks))

    def import_seconds(self) -> float:
        shutil.rmtree(self.home / "data", ignore_errors=True)
        start = time.perf_counter()
        subprocess.run([self.task, "import", str(self.src)], env=self.env, capture_output=True, check=True)
        return time.perf_counter() - start

    def filter_cmd(self) -> list[str]:
        return ["env", "-i", *(f"{k}={v}" for k, v in self.env.items()), self.task, *TASK_FILTER]

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def measure_size(n: int, args, rows: list, tiny: Path, bare: Path, log) -> None:
    runs, cold = args.runs, args.cold_runs
    big = ensure_repo(args.out, n)
    deals_dir = str(big / "deals")
    filt = [DEALCLI, "--dir", str(big), *FILTER]
    tw = Taskwarrior(n) if shutil.which("task") else None
    rg = shutil.which("rg")
    try:
        # 1. warm filter against taskwarrior, against a bare Typer command + a stat sweep of the
        # deal files, and beside ripgrep's untyped search; all in one rotation
        log(f"[{n}] warm filter ...")
        run_once(filt)  # builds or refreshes the cache
        if tw:
            tw.import_seconds()
        cmds = {"filter": filt, "bare": [PY, str(bare), "one", "--name", "x"],
                "sweep": [PY, "-c", STAT_SWEEP, deals_dir]}
        if tw:
            cmds["task"] = tw.filter_cmd()
        if rg:
            cmds["rg"] = [rg, "-l", "-F", RG_PATTERN, deals_dir]
        got = rotate(cmds, runs)
        filt_t, filt_rss = got["filter"]
        floor = got["bare"][0] + got["sweep"][0]
        figure(rows, f"warm `filter` on {n} deals / taskwarrior filtering {n} tasks", 1.0, filt_t,
               got["task"][0] if tw else NA_TOOL, peer_name="task")
        figure(rows, f"warm `filter` on {n} deals / bare Typer command + stat sweep", 1.3, filt_t, floor,
               note=f"bare Typer command {got['bare'][0]:.3f} s + stat sweep {got['sweep'][0]:.3f} s")
        figure(rows, f"warm `filter` on {n} deals / ripgrep's untyped search (for reference)", None, filt_t,
               got["rg"][0] if rg else NA_TOOL, peer_name="rg")
        figure(rows, f"peak memory of `filter` on {n} deals (MB)", 120, round(filt_rss / 1024, 1), None, unit="MB",
               note="goal: <= 120 MB at 100000 deals")

        # 2. deal show against the bare Typer app running a command
        log(f"[{n}] deal show ...")
        some_id = sorted(os.listdir(big / "deals"))[0][:-5]
        show = [DEALCLI, "--dir", str(big), "deal", "show", some_id[:7]]
        run_once(show)
        got = rotate({"show": show, "bare": [PY, str(bare), "one", "--name", "x"]}, max(runs, 9))
        figure(rows, f"`deal show PREFIX` on {n} deals / a bare Typer command", 1.2, got["show"][0], got["bare"][0])

        # 3. single-record writes: O(1) in repository size, the nudge included
        log(f"[{n}] single-record writes ...")
        add_cmds, moves = {}, {}
        for root in (tiny, big):
            add_cmds[root] = [DEALCLI, "--dir", str(root), "deal", "add", "Bench deal", "--amount", "100",
                              "--company", a_company_name(root)]
            deal_id, stage = an_open_deal(root)
            other = "new" if stage != "new" else "preparation"
            moves[root] = ([DEALCLI, "--dir", str(root), "deal", "move", deal_id, other],
                           [DEALCLI, "--dir", str(root), "deal", "move", deal_id, stage])
            run_once(add_cmds[root])  # warm-up: the cache learns the companies and activities
            run_once(moves[root][0])
            run_once(moves[root][1])
            run_once([DEALCLI, "--dir", str(root), "filter", "amount<0", "-f", "ids"])
            run_once([DEALCLI, "--dir", str(root), "agenda"])
        time.sleep(2.1)  # let the folders' timestamps settle, as between two cron runs
        got = rotate({"add-big": add_cmds[big], "add-tiny": add_cmds[tiny], "move-big": moves[big][0],
                      "move-tiny": moves[tiny][0], "back-big": moves[big][1], "back-tiny": moves[tiny][1]},
                     max(runs, 7))
        figure(rows, f"`deal add --company NAME` on {n} deals / on 10 deals", 1.2, got["add-big"][0],
               got["add-tiny"][0], note="nudge included")
        move_big = (got["move-big"][0] + got["back-big"][0]) / 2
        move_tiny = (got["move-tiny"][0] + got["back-tiny"][0]) / 2
        figure(rows, f"`deal move` on {n} deals ({n // 2} activities) / on 10 deals", 1.2, move_big, move_tiny,
               note="nudge included")

        # 4. cold: check and cold filter against a one-process C LibYAML parse of the same files
        if not args.skip_cold:
            log(f"[{n}] cold parse floor, cold filter, check ...")
            folders = [str(big / k) for k in ("deals", "activities", "companies", "contacts", "pipelines")
                       if (big / k).is_dir()]
            floors, checks, colds = [], [], []
            for _ in range(cold):
                floors.append(run_once([PY, "-c", C_PARSE, *folders])[0])
                drop_cache(big)()
                colds.append(run_once(filt)[0])
                drop_cache(big)()
                checks.append(run_once([DEALCLI, "--dir", str(big), "check"])[0])
            parse_floor = statistics.median(floors)
            figure(rows, f"`check` on {n} deals / one-process C-LibYAML parse of the same files", 0.75,
                   statistics.median(checks), parse_floor)
            deal_floor = parse_floor * n / sum(len(os.listdir(f)) for f in folders)
            figure(rows, f"cold `filter` on {n} deals / one-process C-LibYAML parse of the deal files", 0.75,
                   statistics.median(colds), deal_floor, note="deal share of the parse floor, by file count")
            run_once(filt)  # leave a warm cache behind

        # 5. reports from the index: report -f json with the cache dropped and warm, and the
        # HTML report's size, beside filter (the same scan) measured in the same run
        if not args.skip_report:
            log(f"[{n}] report ...")
            report = [DEALCLI, "--dir", str(big), "report", "-f", "json"]
            cold_report = statistics.median([run_once_after(drop_cache(big), report) for _ in range(cold)])
            cold_filter = statistics.median([run_once_after(drop_cache(big), filt) for _ in range(cold)])
            figure(rows, f"cold `report -f json` on {n} deals / cold `filter` (cache dropped before each)", None,
                   cold_report, cold_filter)
            run_once(report)
            got = rotate({"report": report, "filter": filt}, runs)
            figure(rows, f"warm `report -f json` on {n} deals / warm `filter`", None, got["report"][0],
                   got["filter"][0])
            # the sections counted by GROUP BY over the cache's exact columns (issue 29 item 4)
            plain = report + ["-s", "win-rate,lost-reasons,forecast,repeat-sales"]
            run_once(plain)
            got = rotate({"plain": plain, "filter": filt}, runs)
            figure(rows, f"warm `report -f json -s win-rate,lost-reasons,forecast,repeat-sales` on {n} deals "
                         f"/ warm `filter`", None, got["plain"][0], got["filter"][0],
                   note="the sections counted in SQL over the index cache")
            with tempfile.TemporaryDirectory() as tmp:
                page = Path(tmp) / "report.html"
                t_html = run_once([DEALCLI, "--dir", str(big), "-q", "report", "--html", str(page)])[0]
                figure(rows, f"size of `report --html` on {n} deals (MB)", None, round(page.stat().st_size / 2**20, 2),
                       None, unit="MB", note=f"written in {t_html:.2f} s (warm)")

        # 6. import against taskwarrior's import of the same rows and a bare loop writing the
        # same files; YAML and JSONL against CSV
        # (once, at the first size: an import goes into a repository of its own, whatever n is)
        if not args.skip_import and not getattr(args, "imported", False):
            args.imported = True
            rows_n = args.import_rows or n
            log(f"[{n}] import of {rows_n} rows ...")
            import bench_import

            work = Path(tempfile.mkdtemp(prefix="dealcli-bench-import-"))
            try:
                m = bench_import.measure(rows_n, work, with_atomic=False)
                formats = import_formats(work, cold)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            tw_rows = Taskwarrior(rows_n) if tw and rows_n != n else tw
            try:
                tw_import = statistics.median([tw_rows.import_seconds() for _ in range(3)]) if tw_rows else NA_TOOL
            finally:
                if tw_rows is not tw and tw_rows:
                    tw_rows.close()
            figure(rows, f"`import` of {rows_n} JSONL rows (all-or-nothing) / taskwarrior importing the same rows", 5.0,
                   m["import"], tw_import, peer_name="task",
                   note=f"bare loop writing the same YAML files: {m['bare']:.2f} s")
            figure(rows, f"`import` of {rows_n} JSONL rows / a bare loop writing the same YAML files (reference)",
                   None, m["import"], m["bare"])
            figure(rows, f"`import` of {rows_n} deals as YAML / the same deals as CSV", 1.0, formats["yaml"],
                   formats["csv"], note="exports of the JSONL import; medians of alternated runs")
            figure(rows, f"`import` of {rows_n} deals as JSONL / the same deals as CSV", 1.0, formats["jsonl"],
                   formats["csv"])
            figure(rows, f"`import` of {rows_n} deals as YAML / the whole-document YAML reader (before)", None,
                   formats["yaml"], formats["yaml-before"],
                   note=f"peak RSS {formats['yaml MB']:.0f} MB against {formats['yaml-before MB']:.0f} MB "
                        f"(CSV {formats['csv MB']:.0f} MB)")
    finally:
        if tw:
            tw.close()


def run_once_after(before, cmd) -> float:
    before()
    return run_once(cmd)[0]


OLD_YAML_READER = """
import sys
from dealcli.importing import read


def whole(source, errors):  # the YAML reader before issue 29: one document, composed on every pass
    text = "".join(source.lines()).lstrip("\\ufeff")
    for kind, line, value in read._yaml_whole(source, text, 0):
        if kind == "row":
            yield read.Row(line, value)
        else:
            errors.append(read.BadRecord(line, "(item)", None, value))


read.yaml_records = whole
from dealcli.cli import main

sys.argv[0] = "dealcli"
main()
"""


def import_formats(work: Path, runs: int) -> dict:
    """Seconds (and peak RSS in MB, as "FMT MB") to import the deals of work/repo (bench_import's
    JSONL import) exported as JSONL, YAML and CSV, and the YAML with the whole-document reader
    of before issue 29 ("yaml-before"), each into a fresh copy of the repository without its
    deals; alternated."""
    src = work / "repo"
    files = {}
    for fmt in ("jsonl", "yaml", "csv"):
        files[fmt] = work / f"deals.{fmt}"
        with open(files[fmt], "wb") as out:
            subprocess.run([DEALCLI, "--dir", str(src), "export", "-f", fmt], stdout=out, check=True, env=env())
    old = work / "old_yaml_reader.py"
    old.write_text(OLD_YAML_READER)
    commands = {fmt: [DEALCLI] for fmt in files}
    commands["yaml-before"] = [PY, str(old)]
    times: dict = {k: [] for k in commands}
    peaks: dict = {k: [] for k in commands}
    for i in range(runs):
        for fmt, cmd in commands.items():
            target = work / f"into-{fmt}-{i}"
            shutil.copytree(src, target, ignore=shutil.ignore_patterns(".git", ".dealcli"))
            for f in os.scandir(target / "deals"):
                os.unlink(f.path)
            t, code, peak = run_once(cmd + ["--dir", str(target), "-q", "import", str(files[fmt.split("-")[0]])])
            if code:
                sys.exit(f"import of {fmt} failed")
            times[fmt].append(t)
            peaks[fmt].append(peak / 1024)
            shutil.rmtree(target, ignore_errors=True)
    out = {k: statistics.median(v) for k, v in times.items()}
    out.update({f"{k} MB": max(v) for k, v in peaks.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000", help="comma-separated repository sizes (default 20000; "
                    "100000 takes about 5x longer)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=3, help="runs of the slow cold figures (default 3)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--skip-cold", action="store_true", help="leave out check and cold filter")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-report", action="store_true", help="leave out report -f json and the HTML report")
    ap.add_argument("--big", action="store_true", help="also measure 100,000 deals")
    ap.add_argument("--import-rows", type=int, default=None, help="rows of the import figures (default: the first "
                    "repository size; measured once, at the first size; the import is the slowest figure)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.big and 100_000 not in sizes:
        sizes.append(100_000)
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    subprocess.run([PY, "-m", "compileall", "-q", str(HERE.parent / "dealcli")], capture_output=True, env=env())
    tiny = ensure_repo(args.out, 10)
    info = machine()
    rows: list = []
    def log(m): print(m, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_TYPER)
        for n in sizes:
            measure_size(n, args, rows, tiny, bare, log)
    info["load_average_after"] = os.getloadavg()
    report = {"machine": info, "runs": args.runs, "cold_runs": args.cold_runs, "figures": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    from tabulate import tabulate

    def show(v, unit):
        if isinstance(v, float):
            return f"{v:.3f} {unit}" if unit == "s" else f"{v:g} {unit}"
        return "" if v is None else str(v)

    table = [[r["figure"], show(r["value"], r["unit"]), show(r["peer"], r["unit"]) if r["unit"] == "s" else "",
              f"{r['ratio']:.2f}" if r["ratio"] is not None and r["unit"] == "s" else "",
              "-" if r["goal"] is None else f"<= {r['goal']:g}{' MB' if r['unit'] == 'MB' else ''}",
              {True: "yes", False: "NO", None: "-"}[r["met"]]] for r in rows]
    print(tabulate(table, headers=["figure", "value", "peer", "ratio", "goal", "met"]))
    notes = [f"  {r['figure']}: {r['note']}" for r in rows if r["note"]]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    m = report["machine"]
    tools = ", ".join(f"{k}: {v or 'not installed'}" for k, v in m["tools"].items())
    print(f"\nmachine: {m['nproc']} cores, Python {m['python']}, PyYAML {m['pyyaml']} "
          f"(LibYAML: {m['libyaml']}), {m['platform']}; {tools}; load {m['load_average'][0]:.2f} before, "
          f"{m['load_average_after'][0]:.2f} after; two-process speed-up of a CPU loop "
          f"{m['two_process_speedup']}x; medians of {args.runs} alternated runs ({args.cold_runs} for cold figures)")


if __name__ == "__main__":
    main()
