"""The repeat-sales model against the naive baselines on the real Maven CRM opportunities
(tests/fixtures/import/maven_sales_pipeline.csv, a copy of ../shared/data/maven_crm_sales_opportunities):
imports the file into a temporary repository with `dealcli import` (the mapping of docs/import.md),
then runs `dealcli predict backtest` for several cutoffs, horizons and units and prints one
Markdown table (AUC, precision@k, recall@k of the model -- the family chosen on data before the
cutoff, named in brackets --, of the other model families, of the open-deals rule and of the two
naive baselines, all measured in the same run), then the model and settings each run chose on
its inner backtest (which lies wholly before the cutoff). docs/automation.md records its output. Asserts nothing.

    .venv/bin/python benchmarks/bench_predict.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CSV = HERE.parent / "tests" / "fixtures" / "import" / "maven_sales_pipeline.csv"
MAP = ["--map", "opportunity_id=origin_id", "--map", "sales_agent=responsible", "--map", "account=company",
       "--map", "deal_stage=stage", "--map", "engage_date=begin", "--map", "close_value=amount",
       "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing", "--key", "origin_id"]
# (by, cutoff, horizon, k): the first row is the headline (decided before measuring: the last full
# quarter of the data, 90 days, client x product); the others show how it holds elsewhere.
RUNS = [
    ("product", "2017-10-01", "90d", 50),
    ("product", "2017-10-01", "30d", 50),
    ("product", "2017-09-01", "90d", 50),
    ("product", "2017-07-01", "90d", 50),
    ("product", "2017-09-01", "30d", 50),
    ("client", "2017-10-01", "30d", 10),
    ("client", "2017-07-01", "30d", 10),
]


def run(exe: str, repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEALCLI_DIR=str(repo), DEALCLI_USER="bench@example.com",
               DEALCLI_NOW="2018-01-01T00:00:00+00:00", TZ="UTC")
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", help="build the repository here and keep it")
    opts = parser.parse_args()
    exe = str(Path(sys.executable).parent / "dealcli")
    base = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="bench-predict-"))
    repo = base / "repo"
    try:
        if not (repo / "dealcli.yaml").exists():
            subprocess.run([exe, "init", str(repo), "--timezone", "UTC"], check=True, capture_output=True)
            started = time.perf_counter()
            proc = run(exe, repo, "--quiet", "import", str(CSV), *MAP)
            if proc.returncode:
                sys.exit(f"import failed: {proc.stderr}")
            print(f"imported {len(proc.stdout.split())} deals in {time.perf_counter() - started:.1f} s\n")
        settings = []
        print("| unit | cutoff | horizon | units / bought | k | method | AUC | precision@k | recall@k |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for by, cutoff, horizon, k in RUNS:
            proc = run(exe, repo, "predict", "backtest", "--by", by, "--cutoff", cutoff, "--horizon", horizon,
                       "--k", str(k), "-f", "json")
            if proc.returncode:
                print(f"| {by} | {cutoff} | {horizon} | | {k} | error: {proc.stderr.strip()} | | | |")
                continue
            found = re.search(r"(\d+) units, (\d+) bought", proc.stderr)
            counts = f"{found.group(1)} / {found.group(2)}" if found else "?"
            chosen = re.search(r"model settings: (.*)", proc.stderr)
            settings.append(f"| {by} | {cutoff} | {horizon} | {chosen.group(1) if chosen else '?'} |")
            for row in json.loads(proc.stdout):
                method = f"{row['method']} ({row['model']})" if row.get("model") else row["method"]
                print(f"| {by} | {cutoff} | {horizon} | {counts} | {k} | {method} | {row['auc'] or 'n/a'} | "
                      f"{row['precision_at_k']} | {row['recall_at_k']} |")
        print("\nModel settings, chosen on data wholly before each cutoff (inner backtest, else cross-validation "
              "over the units):\n")
        print("| unit | cutoff | horizon | settings |")
        print("| --- | --- | --- | --- |")
        print("\n".join(settings))
    finally:
        if not opts.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
