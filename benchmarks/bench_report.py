"""`report -f json` (today and --as-of) against the same report computed the way it was before
issue 29 (activities parsed file by file, each deal's stays worked out per pipeline and per
section), in one process, alternated, on a generated repository (warm index cache).

    .venv/bin/python benchmarks/bench_report.py REPO [--runs 5] [--as-of 2025-12-15]

Prints the CPU seconds of each (process_time, so the other load of a shared machine counts
less) and checks that both give the same report. Not part of the test suite."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dealcli import asof, clients, reports  # noqa: E402
from dealcli.session import Session  # noqa: E402


@contextlib.contextmanager
def before_issue_29():
    """The report's reads as they were: every activity file parsed, stays not shared."""
    def all_records(s, kind):
        errors: list = []
        return [doc.data for doc in s.repo.iter_docs(kind, errors)]

    class Unshared(reports._Stays):
        def __call__(self, r):
            return asof.stays(r, self.tz)

    saved = clients.all_records, reports._Stays
    clients.all_records, reports._Stays = all_records, Unshared
    try:
        yield
    finally:
        clients.all_records, reports._Stays = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--as-of", default="2025-12-15")
    args = ap.parse_args()
    os.environ.setdefault("DEALCLI_USER", "anna@example.com")
    s = Session(repo_root=args.repo, quiet=True)
    list(s.deal_records())  # warm the index
    for label, when in (("today", None), (f"--as-of {args.as_of}", args.as_of)):
        times: dict = {"now": [], "before": []}
        answers = {}
        for _ in range(args.runs):
            for mode in ("now", "before"):
                ctx = before_issue_29() if mode == "before" else contextlib.nullcontext()
                with ctx:
                    t = time.process_time()
                    answers[mode] = reports.build(asof.session(s, when))
                    times[mode].append(time.process_time() - t)
        assert answers["now"] == answers["before"], "the reports differ"
        now, before = statistics.median(times["now"]), statistics.median(times["before"])
        print(f"report {label:22} {now:7.3f} s   before issue 29 {before:7.3f} s   ratio {now / before:5.2f}")
    print(f"deals {len(os.listdir(args.repo / 'deals'))}, activities {len(os.listdir(args.repo / 'activities'))}, "
          f"load {os.getloadavg()[0]:.2f}, medians of {args.runs} alternated runs (CPU seconds)")


if __name__ == "__main__":
    main()
