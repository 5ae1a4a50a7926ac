"""Golden files: the default (table) output of the views and cards on one fixed repository,
compared byte for byte with tests/golden/*.txt. The repository is made through the CLI with a
fixed clock, NO_COLOR, a 100-column terminal and record ids from a counter (g010000000,
g020000000, ...), so the output is the same on every run.

After an intended change of the output, regenerate the files and review the diff in git:
    UPDATE_GOLDEN=1 make test        (or: pytest tests/test_golden.py --update-golden)
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import Runner

GOLDEN = Path(__file__).parent / "golden"
ENV = {"COLUMNS": "100", "LINES": "40"}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """A repository with companies, contacts, products, deals in several stages (one won, one
    lost), activities around the fixed now (Tue 2026-03-10 12:00 UTC), a quote and a recurring
    template; returns (runner, {name: id})."""
    import dealcli.ids

    base = tmp_path_factory.mktemp("golden")
    counter = itertools.count(1)

    def new_id() -> str:
        return f"g{next(counter):02d}0000000"  # unique in its first 6 characters (board cards)

    original = dealcli.ids.new_id
    try:
        with pytest.MonkeyPatch.context() as mp:
            # dealcli.ids.new_id, and every module that already did `from dealcli.ids import new_id`
            for name, module in list(sys.modules.items()):
                if name.startswith("dealcli") and getattr(module, "new_id", None) is original:
                    mp.setattr(module, "new_id", new_id)
            Runner(base)("init", base / "repo", "--timezone", "UTC", check=True)
            run = Runner(base / "repo", subprocess=False)  # in-process: the patched ids must reach the CLI
            ids = _build(run)
    finally:
        for name, module in list(sys.modules.items()):  # modules first imported while patched
            if name.startswith("dealcli") and getattr(module, "new_id", None) is new_id:
                module.new_id = original
    assert all(re.fullmatch(r"g\d\d0{7}", i) for i in ids.values()), ids  # every id came from the counter
    return run, ids


def _build(run: Runner) -> dict:
    def add(*args) -> str:
        return run.ok(*args, env=ENV).strip()

    ids = {}
    ids["acme"] = add("company", "add", "Acme GmbH")
    ids["globex"] = add("company", "add", "Globex Corporation")
    ids["jane"] = add("contact", "add", "Jane Roe", "--company", ids["acme"], "--email", "jane@acme.example",
                      "--phone", "+49 30 1234567")
    ids["seat"] = add("product", "add", "Licence seat", "--price", "120.00", "--tax", "19", "--unit", "month")
    ids["alpha"] = add("deal", "add", "Alpha rollout", "--company", ids["acme"], "--contact", ids["jane"],
                       "--product", ids["seat"], "--product", "Onboarding:900:1:10", "--close-date", "2026-03-20",
                       "--type", "sale", "--source", "web", "--comment", "Kick-off went well")
    ids["beta"] = add("deal", "add", "Beta support contract", "--company", ids["globex"], "--amount", "5400.00",
                      "--stage", "preparation", "--close-date", "2026-03-31", "--responsible", "bob@example.com")
    ids["gamma"] = add("deal", "add", "Gamma pilot (long title that needs to be cut on a narrow board)",
                       "--amount", "250", "--currency", "EUR", "--stage", "executing", "--close-date", "2026-03-10")
    ids["delta"] = add("deal", "add", "Delta renewal", "--company", ids["acme"], "--amount", "12000",
                       "--close-date", "2026-04-15", "--probability", "55")
    ids["won"] = add("deal", "add", "Won deal", "--amount", "3000", "--close-date", "2026-03-05")
    run.ok("deal", "move", ids["won"], "won", env=ENV)
    ids["lost"] = add("deal", "add", "Lost deal", "--amount", "800", "--close-date", "2026-03-02")
    run.ok("deal", "move", ids["lost"], "lose", env=ENV)
    run.ok("deal", "comment", ids["beta"], "Waiting for the signed offer", env=ENV)
    ids["call"] = add("activity", "add", ids["beta"], "--type", "call", "--subject", "Follow-up call",
                      "--due", "2026-03-09 10:00")
    ids["meeting"] = add("activity", "add", ids["alpha"], "--type", "meeting", "--subject", "Kick-off",
                         "--due", "2026-03-12 14:00")
    ids["task"] = add("activity", "add", ids["delta"], "--type", "task", "--subject", "Prepare renewal offer",
                      "--due", "2026-03-24 09:00")
    ids["quote"] = add("quote", "add", "Seats for Globex", "--company", ids["globex"], "--product", ids["seat"],
                       "--product", "Training day:1500", "--valid-until", "2026-04-30", "--comment", "Net 30")
    ids["monthly"] = add("recurring", "add", "Support {date:%B %Y}", "--every", "month", "--start",
                         "2026-04-01", "--company", ids["globex"], "--amount", "450", "--close-offset", "30")
    return ids


def check_golden(name: str, text: str, request) -> None:
    path = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden") or os.environ.get("UPDATE_GOLDEN", "") not in ("", "0"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run `UPDATE_GOLDEN=1 make test` and review it"
    want = path.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(keepends=True), text.splitlines(keepends=True),
                                            f"golden/{name}.txt", "actual output"))
        pytest.fail(f"output differs from golden/{name}.txt (UPDATE_GOLDEN=1 to accept):\n{diff}", pytrace=False)


VIEWS = {
    "filter": ("filter",),
    "filter_open_by_amount": ("filter", "--preset", "open", "--sort", "-amount"),
    "board": ("board",),
    "calendar": ("calendar",),
    "calendar_next_month": ("calendar", "--month", "next-month"),
    "agenda": ("agenda",),
}


@pytest.mark.parametrize("name", VIEWS)
def test_view_tables(fixed, name, request):
    run, _ = fixed
    check_golden(name, run.ok(*VIEWS[name], env=ENV), request)


CARDS = {
    "deal_show": ("deal", "show", "alpha"),
    "deal_show_won": ("deal", "show", "won"),
    "deal_history": ("deal", "history", "beta"),
    "quote_show": ("quote", "show", "quote"),
    "recurring_show": ("recurring", "show", "monthly"),
    "company_show": ("company", "show", "acme"),
    "contact_show": ("contact", "show", "jane"),
}


@pytest.mark.parametrize("name", CARDS)
def test_cards(fixed, name, request):
    run, ids = fixed
    *command, which = CARDS[name]
    check_golden(name, run.ok(*command, ids[which], env=ENV), request)
