"""Rendering never reads the disk (issue 11, item 4): each view is built from the Session into
view data first (views/board.py, calendar.py, agenda.py, listing.py, deal.py); its renderers take
only that data. Here the views are built, then the repository folder is deleted and every way
to read a file, the Repository or the Session is made to fail; rendering each view in each of
its formats must still give exactly what the command printed while the repository was there."""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import re
import shutil

import pytest

from conftest import NOW, Runner
from dealcli.session import Session
from dealcli.storage.repository import Repository
from dealcli.views import agenda, board, calendar, listing, render

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "yaml", "ids")
WIDTH = 100
ENV = {"COLUMNS": str(WIDTH)}
COLUMNS = "id,title,stage,amount,company_name,next_activity,products.price,created"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The example repository (about 20 deals, clients, activities) in a time zone other than
    UTC, with a deal in euros, a `rates:` table, a stage the pipeline does not have and a title
    with a terminal escape in it."""
    from dealcli import deals

    root = tmp_path_factory.mktemp("pure") / "repo"
    Runner(root.parent)("init", root, "--example", "--timezone", "Europe/Berlin", check=True)
    run = Runner(root)
    euro = run.ok("deal", "add", "Euro \x1b[31mdeal", "--currency", "EUR", "--amount", "1234.5",
                  "--close-date", "2026-03-15", "--stage", "preparation").strip()
    run.ok("activity", "add", euro, "--type", "call", "--subject", "Ring, them; now", "--due", "2026-03-10 23:30")
    with open(root / "dealcli.yaml", "a", encoding="utf-8") as f:
        f.write('rates:\n  EUR: "1.10"\n')
    s = Session(repo_root=root, as_user="tester@example.com", now_text=NOW, quiet=True)
    stray = deals.add(s, deals.DealSpec(title="Stray", amount="10", close_date="2026-03-12"))
    path = root / "deals" / f"{stray.id}.yaml"  # its stage removed from the pipeline by hand
    path.write_text(path.read_text(encoding="utf-8").replace("stage: new", "stage: gone"), encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def plain(monkeypatch):
    """No colours, as the commands print into the test's pipe (even under `pytest -s` on a terminal)."""
    monkeypatch.setattr(render, "color_enabled", lambda stream=None: False)


@pytest.fixture
def root(base, tmp_path):
    """A copy of the base repository, to be deleted by the test."""
    copy = tmp_path / "repo"
    shutil.copytree(base, copy)
    return copy


def session(root) -> Session:
    return Session(repo_root=root, as_user="tester@example.com", now_text=NOW, quiet=True)


@contextlib.contextmanager
def unreadable(root):
    """The repository folder gone; opening, listing or stat-ing any file, and any use of a
    Repository or a Session, raises."""
    shutil.rmtree(root)

    def refuse(*args, **kwargs):
        raise AssertionError(f"rendering read the disk or the repository: {args[:2]!r}")

    with pytest.MonkeyPatch.context() as mp:
        for module, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "stat"), (os, "lstat"),
                             (os, "scandir"), (os, "listdir")):
            mp.setattr(module, name, refuse)
        mp.setattr(Repository, "__getattribute__", refuse)
        mp.setattr(Session, "__getattribute__", refuse)
        yield


# (command line without -f, formats, build(session, fmt) -> view data, render(view, fmt) -> text)
CASES = {
    "filter": (["filter"], FORMATS,
               lambda s, fmt: listing.filter_listing(s, None, None, None, None, None, fmt),
               lambda v, fmt: listing.formatted(v, fmt)[0]),
    "filter-columns": (["filter", "status=open", "--sort", "-amount", "--columns", COLUMNS], FORMATS,
                       lambda s, fmt: listing.filter_listing(s, ["status=open"], None, "-amount", None, COLUMNS, fmt),
                       lambda v, fmt: listing.formatted(v, fmt)[0]),
    "export": (["export"], FORMATS[1:],
               lambda s, fmt: listing.export_build(s, None, None, None),
               listing.export_formatted),
    "board": (["board"], FORMATS,
              lambda s, fmt: board.build(s, None, None, None),
              lambda v, fmt: board.formatted(v, fmt, width=WIDTH)),
    "board-converted": (["board", "--currency", "EUR", "--cards", "2", "--preset", "open"], FORMATS,
                        lambda s, fmt: board.build(s, None, None, ["open"], None, "EUR"),
                        lambda v, fmt: board.formatted(v, fmt, cards=2, width=WIDTH)),
    "calendar": (["calendar"], FORMATS,
                 lambda s, fmt: calendar.build(s, None, "close_date", None, None),
                 calendar.formatted),
    "calendar-created": (["calendar", "--month", "this-month", "--by", "created"], FORMATS,
                         lambda s, fmt: calendar.build(s, "this-month", "created", None, None),
                         calendar.formatted),
    "agenda": (["agenda"], FORMATS + ("ics",),
               lambda s, fmt: agenda.build(s, None),
               agenda.formatted),
}


def _lf(text: str) -> str:
    """As the test runner reads a command's stdout (universal newlines: the CRLF of ics)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_view_renders_from_its_data_alone(root, case, monkeypatch):
    argv, formats, build, show = CASES[case]
    monkeypatch.setenv("COLUMNS", str(WIDTH))  # the renderers fit the width the command had
    run = Runner(root)
    printed = {fmt: run.ok(*argv, "-f", fmt, env=ENV) for fmt in formats}
    s = session(root)
    views = {fmt: build(s, fmt) for fmt in formats}
    with unreadable(root):
        shown = {fmt: show(views[fmt], fmt) for fmt in formats}
    assert not root.exists()
    for fmt in formats:
        assert _lf(shown[fmt]) == printed[fmt], (case, fmt)
    assert all(printed.values())  # every format showed something


def test_the_views_show_labels_resolved_by_the_build(root, monkeypatch):
    """What the renderers needed from the repository is in the data: stage names and colours,
    the converted sums, the next activity in the repository's time zone."""
    monkeypatch.delenv("COLUMNS", raising=False)
    s = session(root)
    table = listing.filter_listing(s, None, None, None, None, None, "table")
    kanban = board.build(s, None, None, None, None, "EUR")
    plan = agenda.build(s, None)
    with unreadable(root):
        text = listing.formatted(table, "table")[0]
        kanban_text = board.text(kanban, width=WIDTH)
        ics = agenda.formatted(plan, "ics")
    assert "Preparing documents" in text and "gone" in text  # a stage name; an unknown stage as its id
    assert "gone (not in pipeline)" in kanban_text and "in EUR: sum" in kanban_text
    assert "Euro \\x1b[31m" in kanban_text and "\x1b[31m" not in kanban_text  # data never drives the terminal
    euro = next(r for r in plan.rows if r["activity_subject"] == "Ring, them; now")
    # due "2026-03-10 23:30": read, and shown, in the repository's time zone (like the real clock,
    # the --now given with a UTC offset counts in the repository's zone)
    assert euro["next_activity"] == "2026-03-10T23:30:00+01:00" and euro["stage_name"] == "Preparing documents"
    assert "DTSTART:20260310T223000Z" in ics and "Ring\\, them\\; now" in ics


def test_coloured_and_fitted_tables_render_from_the_data_alone(root, monkeypatch):
    """The terminal paths: stage colours, a table cut to a narrow terminal."""
    monkeypatch.setattr(render, "color_enabled", lambda stream=None: True)
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("DEALCLI_COLOR", "truecolor")  # (the 16 base colours are the default since issue 27)
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: only the width given fits
    s = session(root)
    table = listing.filter_listing(s, None, None, None, None, None, "table")
    plan, kanban = agenda.build(s, None), board.build(s, None, None, None)
    before = [listing.formatted(table, "table", 60), listing.formatted(table, "table"), agenda.formatted(plan, "table"),
              board.formatted(kanban, "table", width=60)]
    with unreadable(root):
        after = [listing.formatted(table, "table", 60), listing.formatted(table, "table"),
                 agenda.formatted(plan, "table"), board.formatted(kanban, "table", width=60)]
    assert after == before
    fitted, hidden = after[0]
    visible = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in fitted.splitlines()]
    assert hidden and all(len(line) <= 60 for line in visible) and "Preparing documents" in fitted
    for text in (fitted, after[1][0], after[3]):  # 24-bit stage colours, never shown escaped
        assert "\x1b[38;2;" in text and "\\x1b[38;" not in text


def test_deal_card_and_history_render_from_the_data_alone(root, capsys, monkeypatch):
    from dealcli import activities, deals

    monkeypatch.delenv("COLUMNS", raising=False)  # as the command ran: not a terminal, no width
    from dealcli.views import deal as views_deal

    run = Runner(root)
    deal_id = run.ok("filter", "title~Euro", "-f", "ids").strip()
    printed = {fmt: run.ok("deal", "show", deal_id, "-f", fmt) for fmt in FORMATS}
    history = {fmt: run.ok("deal", "history", deal_id, "-f", fmt) for fmt in FORMATS}
    s = session(root)
    cards = {fmt: deals.view(s, deal_id, labels=fmt == "table") for fmt in FORMATS}
    deal, events = deals.show(s, deal_id), activities.history_events(s, deal_id)
    from dealcli.views.listing import stage_names

    names = ({key: label[0] for key, label in stage_names(s).items()},
             {p.id: p.name for p in s.all_pipelines([]).values()})  # the table words stages by name
    capsys.readouterr()
    shown = {}
    with unreadable(root):
        for fmt in FORMATS:
            views_deal.render_deal(cards[fmt], fmt)
            shown[("show", fmt)] = capsys.readouterr().out
            views_deal.render_history(deal, fmt, events, *names)
            shown[("history", fmt)] = capsys.readouterr().out
    for fmt in FORMATS:
        assert shown[("show", fmt)] == printed[fmt] and shown[("history", fmt)] == history[fmt], fmt
    assert "Preparing documents (preparation)" in printed["table"]


def test_the_board_page_renders_from_the_data_alone(root):
    from dealcli import reports
    from dealcli.views import html

    printed = Runner(root).ok("board", "--html", "-")
    s = session(root)
    data = reports.build(s, ["funnel", "forecast"], None, None, "sales")
    boards = [board.build(s, "sales", None, None)]
    with unreadable(root):
        page = html.page(data, boards, "board")
    assert page == printed and 'data-board="sales"' in page


def test_the_trap_catches_a_read(root):
    """The check above has teeth: building (which reads the repository) fails inside it."""
    s = session(root)
    with unreadable(root):
        with pytest.raises(AssertionError, match="read the disk or the repository"):
            board.build(s, None, None, None)
        with pytest.raises(AssertionError, match="read the disk or the repository"):
            open(os.devnull, encoding="utf-8")


def test_a_clock_given_with_an_offset_counts_in_the_repository_zone(tmp_path):
    """`--now 2026-03-10T12:00:00+00:00` in a Europe/Berlin repository is 13:00 there, exactly as
    the real clock would be: a due time typed without a zone is Berlin time."""
    from conftest import Runner

    root = tmp_path / "berlin"
    Runner(tmp_path)("init", root, "--timezone", "Europe/Berlin", check=True)
    run = Runner(root)
    deal = run.ok("deal", "add", "X").strip()
    act = run.ok("activity", "add", deal, "--type", "call", "--subject", "S", "--due", "2026-03-10 23:30",
                 now="2026-03-10T12:00:00+00:00").strip()
    text = (root / "activities" / f"{act}.yaml").read_text(encoding="utf-8")
    assert "due: 2026-03-10T23:30:00+01:00" in text and "created: 2026-03-10T13:00:00+01:00" in text
