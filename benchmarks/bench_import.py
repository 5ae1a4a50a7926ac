"""How fast `dealcli import` writes N deals from JSONL, against writing the same YAML files in a
bare loop, measured in the same run on the same disk.

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--keep DIR]

Prints three figures: the import (validate pass + write pass, all-or-nothing, batched durable
writes), a bare loop that dumps the same records with the same YAML codec and writes each file
with one plain open/write (no fsync, no atomic rename), and the same loop with the atomic
per-file-fsync write every other command uses. Also prints the peak memory (ru_maxrss) of the
import run, which must not grow with N. Not part of the test suite."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dealcli.views import render
from dealcli.ids import new_id  # noqa: E402
from dealcli.storage import atomic, yamlcodec  # noqa: E402

NOW = "2026-03-10T12:00:00+00:00"


def record(i: int) -> dict:
    won = i % 3 == 0
    return {
        "format": 1, "id": new_id(), "title": f"Deal {i}", "pipeline": "sales",
        "stage": "won" if won else "new", "status": "won" if won else "open",
        "amount": f"{(i * 37) % 100000}.50", "currency": "USD", "manual_amount": True,
        "company": None, "contacts": [], "products": [], "type": None, "source": "bench",
        "responsible": "bench@example.com", "created_by": "bench@example.com", "created": NOW, "modified": NOW,
        "begin": "2026-03-10", "close_date": None, "closed_at": NOW if won else None,
        "probability": 100 if won else 10, "repeat": False, "lost_reason": None, "origin_id": f"B{i}",
        "fields": {}, "comments": [],
        "history": [{"at": NOW, "by": "bench@example.com", "kind": "created", "stage": "won" if won else "new",
                     "pipeline": "sales"}],
    }


def measure(rows: int, base: Path, with_atomic: bool = True) -> dict:
    """Import `rows` JSONL deals into a new repository under `base` with the installed dealcli,
    then write the same records in a bare loop (and, with_atomic, with atomic + fsync writes).
    Returns seconds and the import's peak memory. benchmarks/run.py uses it for its figure."""
    exe = Path(sys.executable).parent / "dealcli"
    base.mkdir(parents=True, exist_ok=True)
    src = base / "deals.jsonl"
    with open(src, "w") as fh:
        for i in range(rows):
            fh.write(json.dumps(render.jsonable(record(i)), separators=(",", ":")) + "\n")
    env = dict(os.environ, DEALCLI_NOW=NOW, DEALCLI_USER="bench@example.com", TZ="UTC")
    repo = base / "repo"
    subprocess.run([str(exe), "init", str(repo), "--timezone", "UTC"], check=True, env=env, capture_output=True)

    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "--dir", str(repo), "--quiet", "import", str(src)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t_import = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"import failed: {proc.stderr[-2000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    def loop(folder: Path, atomic_write: bool) -> float:
        folder.mkdir()
        start = time.perf_counter()
        with open(src) as fh:
            for line in fh:
                data = json.loads(line)
                raw = yamlcodec.dumps(data).encode()
                path = folder / f"{data['id']}.yaml"
                if atomic_write:
                    atomic.write_atomic(path, raw, expect=atomic.MISSING)
                else:
                    with open(path, "wb") as out:
                        out.write(raw)
        return time.perf_counter() - start

    out = {"import": t_import, "bare": loop(base / "bare", atomic_write=False), "peak_mb": peak_mb}
    if with_atomic:
        out["atomic"] = loop(base / "atomic", atomic_write=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keep", help="work in this folder and keep it")
    ap.add_argument("--formats", type=int, default=0, metavar="RUNS",
                    help="also import the deals exported as JSONL, YAML and CSV, and the YAML with the reader of "
                    "before issue 29, RUNS alternated times each (run.py's import figures)")
    args = ap.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="dealcli-bench-import-"))
    if args.formats:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import run

        measure(args.rows, base, with_atomic=False)
        got = run.import_formats(base, args.formats)
        for k, v in got.items():
            print(f"{k:20} {v:8.2f}{'' if k.endswith('MB') else ' s'}")
        print(f"yaml / csv           {got['yaml'] / got['csv']:8.2f} x")
        print(f"yaml / yaml-before   {got['yaml'] / got['yaml-before']:8.2f} x")
        print(f"load after           {os.getloadavg()[0]:8.2f}")
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        return
    m = measure(args.rows, base)
    t_import, t_bare, t_atomic, peak_mb = m["import"], m["bare"], m["atomic"], m["peak_mb"]
    n = args.rows
    print(f"rows                         {n}")
    print(f"dealcli import (2 passes)    {t_import:8.2f} s  {n / t_import:9.0f} rows/s  peak RSS {peak_mb:.0f} MB")
    print(f"bare loop, plain writes      {t_bare:8.2f} s  {n / t_bare:9.0f} rows/s")
    print(f"bare loop, atomic + fsync    {t_atomic:8.2f} s  {n / t_atomic:9.0f} rows/s")
    print(f"import / bare plain          {t_import / t_bare:8.2f} x")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
