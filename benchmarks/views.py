"""Time filter, board, calendar and export on a repository of N deals (default 10000) built from
the real Maven CRM opportunities in ../shared/data when present, else synthetic ones. Prints
figures; asserts nothing.

    .venv/bin/python benchmarks/views.py [N]
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAVEN = HERE.parent.parent.parent / "shared" / "data" / "maven_crm_sales_opportunities" / "sales_pipeline.csv"
STAGES = {"Prospecting": ("new", "open"), "Engaging": ("executing", "open"), "Won": ("won", "won"),
          "Lost": ("lose", "lost")}


def rows(n: int):
    source = []
    for path in (MAVEN, Path("/work/shared/data/maven_crm_sales_opportunities/sales_pipeline.csv")):
        if path.exists():
            with open(path, newline="", encoding="utf-8") as f:
                source = list(csv.DictReader(f))
            break
    for i in range(n):
        r = source[i % len(source)] if source else {}
        stage, status = STAGES.get(r.get("deal_stage", ""), ("new", "open"))
        yield {
            "format": 1, "id": f"b{i:09d}", "title": f"{r.get('product', 'Thing')} for {r.get('account') or 'someone'}",
            "pipeline": "sales", "stage": stage, "status": status,
            "amount": Decimal(r.get("close_value") or i % 5000), "currency": "USD",
            "responsible": r.get("sales_agent", "anna@example.com"),
            "created": f"{r.get('engage_date') or '2026-01-01'}T09:00:00+00:00",
            "modified": f"{r.get('engage_date') or '2026-01-01'}T09:00:00+00:00",
            "close_date": r.get("close_date") or None, "probability": 50,
            "products": [{"name": r.get("product", "Thing"), "price": Decimal(r.get("close_value") or 1),
                          "quantity": 1}],
            "fields": {"office": "Central"}, "history": [],
        }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    exe = str(Path(sys.executable).parent / "dealcli")
    from dealcli.storage import yamlcodec

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        subprocess.run([exe, "init", str(root), "--timezone", "UTC"], check=True, capture_output=True)
        (root / "deals").mkdir(exist_ok=True)
        for data in rows(n):
            (root / "deals" / f"{data['id']}.yaml").write_text(yamlcodec.dumps(data))
        env = dict(os.environ, DEALCLI_DIR=str(root), DEALCLI_NOW="2017-06-01T12:00:00+00:00", NO_COLOR="1")
        for args in (["filter", "-f", "ids"], ["filter", "amount>=1000", "title~gtx", "--sort", "-amount",
                                               "--limit", "20"],
                     ["filter", "--preset", "overdue", "-f", "csv"], ["board", "-f", "json"],
                     ["calendar", "--month", "2017-03", "-f", "csv"], ["export", "-f", "jsonl"],
                     ["export", "-f", "csv"]):
            start = time.perf_counter()
            proc = subprocess.run([exe, *args], capture_output=True, env=env)
            took = time.perf_counter() - start
            print(f"{n} deals  dealcli {' '.join(args):<55} {took:6.2f}s  exit {proc.returncode}  "
                  f"{len(proc.stdout) // 1024} KiB")


if __name__ == "__main__":
    main()
