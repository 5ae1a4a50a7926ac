"""Golden files: the default (table) output of the views and cards on one fixed repository,
compared byte for byte with tests/golden/*.txt, each view at 60, 80 and 120 columns
(tests/golden/NAME.WIDTH.txt; views/fit.py fits every table to $COLUMNS). The repository is made
through the CLI with a fixed clock, NO_COLOR and record ids from a counter (g010000000,
g020000000, ...), so the output is the same on every run. It holds Cyrillic and CJK names, so
the widths are display widths; test_no_line_is_wider_than_the_terminal checks every line of
every view at every width.

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
TOKYO = "東京オフィス移転プロジェクト（第二期・ネットワーク工事）"  # wide characters: two cells each
ENV = {"COLUMNS": "100", "LINES": "40"}  # the repository is built at 100; each view is read at WIDTHS


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
    ids["romashka"] = add("company", "add", "ООО Ромашка (Санкт-Петербург)")
    ids["tokyo"] = add("deal", "add", TOKYO, "--company", ids["romashka"], "--amount", "777000", "--currency", "JPY",
                       "--close-date", "2026-03-12",
                       "--responsible", "пётр.иванов@example.com")
    ids["lead"] = add("lead", "add", "Warehouse scanners for three sites", "--contact-name", "Мария Кузнецова",
                      "--company-name", "Северный склад", "--email", "maria@sklad.example", "--amount", "4200",
                      "--source", "fair")
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


WIDTHS = (60, 80, 120)
VIEWS = {
    "filter": ("filter",),
    "filter_open_by_amount": ("filter", "--preset", "open", "--sort", "-amount"),
    "board": ("board",),
    "board_by_responsible": ("board", "--by", "responsible"),
    "calendar": ("calendar",),
    "calendar_next_month": ("calendar", "--month", "next-month"),
    "agenda": ("agenda",),
    "activity_list": ("activity", "list"),
    "lead_list": ("lead", "list"),
    "quote_list": ("quote", "list"),
    "product_list": ("product", "list"),
    "company_list": ("company", "list"),
    "contact_list": ("contact", "list"),
    "recurring_list": ("recurring", "list"),
    "pipeline_list": ("pipeline", "list"),
    "pipeline_show": ("pipeline", "show", "sales"),
    "report": ("report",),
}
CARDS = {
    "deal_show": ("deal", "show", "alpha"),
    "deal_show_won": ("deal", "show", "won"),
    "deal_show_tokyo": ("deal", "show", "tokyo"),
    "deal_history": ("deal", "history", "beta"),
    "quote_show": ("quote", "show", "quote"),
    "recurring_show": ("recurring", "show", "monthly"),
    "company_show": ("company", "show", "acme"),
    "company_show_romashka": ("company", "show", "romashka"),
    "contact_show": ("contact", "show", "jane"),
}


def _argv(name: str, ids: dict) -> tuple:
    if name in VIEWS:
        return VIEWS[name]
    *command, which = CARDS[name]
    return (*command, ids[which])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [*VIEWS, *CARDS])
def test_views_at_each_width(fixed, name, width, request):
    run, ids = fixed
    check_golden(f"{name}.{width}", run.ok(*_argv(name, ids), env={**ENV, "COLUMNS": str(width)}), request)


def test_no_line_is_wider_than_the_terminal(fixed):
    """Issue 27: at 80 columns agenda was 130-190 wide, activity list 112-130, deal history
    88-119, ... Every line of every view fits 60, 80 and 120 columns, measured in display
    cells (a CJK character is two); with --wide the tables are wider again, cells uncut."""
    from dealcli.views.fit import width_of

    run, ids = fixed
    for name in [*VIEWS, *CARDS]:
        for width in WIDTHS:
            out = run.ok(*_argv(name, ids), env={**ENV, "COLUMNS": str(width)})
            over = [line for line in out.splitlines() if width_of(line) > width]
            assert not over, (name, width, over)
    wide = run.ok("--wide", "agenda", env={**ENV, "COLUMNS": "60"})
    assert TOKYO in wide and max(map(width_of, wide.splitlines())) > 60
    assert run.ok("agenda", "-w", env={**ENV, "COLUMNS": "60"}) == wide  # a global flag, after the command too
    narrow = run.ok("filter", env={**ENV, "COLUMNS": "60"})
    assert "東京オフィス" in narrow and "…" in narrow and "777000 JPY" not in narrow  # cut, currency column dropped


def test_machine_formats_never_change_with_the_width(fixed):
    run, _ = fixed
    for fmt in ("json", "jsonl", "csv", "tsv", "ids", "yaml"):
        for argv in (("filter",), ("activity", "list"), ("lead", "list"), ("product", "list")):
            outs = {run.ok(*argv, "-f", fmt, env={**ENV, "COLUMNS": str(w)}) for w in (20, 60, 300)}
            assert len(outs) == 1, (argv, fmt)
