"""`report --html` and `board --html` rendered by a real headless Chromium (Debian's `chromium`
package; .ci/run installs it): no console errors, a screenshot and a PDF print, and every number
on the rendered page equal to `report -f json` / `board -f json`. The tests that need the browser
skip, saying why, only when no Chromium binary exists; the page's own properties (self-contained,
contrast of the colours) are checked without it."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_reports import build_fixture
from conftest import json_exact_text as loads


NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0")


def chromium_binary() -> str | None:
    given = os.environ.get("DEALCLI_CHROMIUM")
    if given:
        return given
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium():
    exe = chromium_binary()
    if not exe:
        pytest.skip("no Chromium binary found (chromium, chromium-browser, google-chrome on PATH, or "
                    "$DEALCLI_CHROMIUM); `apt-get install chromium` or .ci/run installs it")
    return exe


def run(exe: str, page: Path, *extra: str, cwd: Path) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=cwd)
    proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=180, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def console(stderr: str) -> list[str]:
    """The page's console output in Chromium's log: `INFO:CONSOLE(...)] "message", source: ...`
    (errors, uncaught exceptions, CSP refusals all land here)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class Metrics(html.parser.HTMLParser):
    """Every element carrying data-metric: (metric, data-value, its text); and <html>'s attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[list] = []
        self.open: list[list | None] = []
        self.root: dict = {}
        self.scripts: dict[str, str] = {}
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "script" and a.get("id"):
            self._script = a["id"]
            self.scripts[self._script] = ""
        if "data-metric" in a:
            item = [a["data-metric"], a.get("data-value"), ""]
            self.found.append(item)
            self.open.append(item)
        elif tag not in ("br", "meta", "input", "img", "link"):
            self.open.append(None)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None
        if self.open:
            self.open.pop()

    def handle_data(self, data):
        if self._script:
            self.scripts[self._script] += data
        for item in self.open:
            if item is not None:
                item[2] += data


def resolve(data, path: str):
    for part in path.split("/"):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def check_numbers(dom: str, report: dict, boards: dict) -> list[list]:
    parsed = Metrics()
    parsed.feed(dom)
    for metric, value, text in parsed.found:
        source, _, path = metric.partition(":")
        if source == "report":
            expected = resolve(report, path)
        else:
            pid, _, rest = path.partition("/")
            expected = resolve(boards[pid], rest)
        assert value == ("" if expected is None else str(expected)), metric
        shown = text.replace(",", "").strip()
        assert (shown == "–") if expected is None else (str(expected) in shown), (metric, text, expected)
    return parsed.found


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    base = tmp_path_factory.mktemp("html")
    cli, ids = build_fixture(base)
    report_page, board_page = base / "report.html", base / "board.html"
    cli.ok("report", "--html", report_page)
    cli.ok("board", "--html", board_page)
    report = loads(cli.ok("report", "-f", "json"))
    boards = {"sales": loads(cli.ok("board", "-p", "sales", "-f", "json"))}
    return base, report_page, board_page, report, boards


def test_report_page_renders_without_errors_and_shows_the_json_numbers(chromium, pages):
    base, report_page, _, report, boards = pages
    proc = run(chromium, report_page, "--dump-dom", cwd=base)
    assert console(proc.stderr) == []
    dom = proc.stdout
    parsed = Metrics()
    parsed.feed(dom)
    assert parsed.root.get("data-ready") == str(report["deals"])  # the page's script ran to its end
    found = check_numbers(dom, report, boards)
    metrics = {m for m, _, _ in found}
    for i in range(6):  # every funnel stage, the forecast, the board columns: nothing skipped silently
        assert f"report:funnel/0/stages/{i}/reached" in metrics
        assert f"report:funnel/0/stages/{i}/conversion" in metrics
    assert {"report:forecast/0/weighted", "report:forecast/1/weighted", "report:win_rate/0/win_rate",
            "report:stage_time/0/stages/0/avg_days", "report:won_revenue/by_product/0/amount",
            "report:activities/0/overdue", "board:sales/stages/0/count", "board:sales/total/sum/USD"} <= metrics
    assert len(found) > 80
    assert loads(parsed.scripts["report-data"]) == report
    assert dom.count('class="card"') == report["deals"]


def test_board_page_has_the_kanban_funnel_and_forecast(chromium, pages):
    base, _, board_page, report, boards = pages
    proc = run(chromium, board_page, "--dump-dom", cwd=base)
    assert console(proc.stderr) == []
    found = check_numbers(proc.stdout, report, boards)
    metrics = {m for m, _, _ in found}
    assert sum(1 for m in metrics if re.fullmatch(r"board:sales/stages/\d+/count", m)) == 8
    assert "report:funnel/0/stages/5/reached" in metrics and "report:forecast/1/amount" in metrics
    assert "report:win_rate/0/won" not in metrics  # the board page: funnel and forecast only
    assert proc.stdout.count('class="card"') == boards["sales"]["total"]["count"]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshot_and_print(chromium, pages):
    base, report_page, _, _, _ = pages
    shot = base / "report.png"
    proc = run(chromium, report_page, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars",
               cwd=base)
    assert console(proc.stderr) == []
    assert _png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 40_000  # charts and cards drawn, not a blank page
    keep = os.environ.get("DEALCLI_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    pdf = base / "report.pdf"
    proc = run(chromium, report_page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", cwd=base)
    assert console(proc.stderr) == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 2


def test_the_console_check_catches_a_script_error(chromium, tmp_path):
    """The negative control: the same run on a page whose script fails shows up in the check."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><body><p>x</p><script>notDefinedAnywhere()</script></body></html>")
    proc = run(chromium, bad, "--dump-dom", cwd=tmp_path)
    assert any("notDefinedAnywhere" in line for line in console(proc.stderr))


# -- without a browser ---------------------------------------------------------------------------------
def test_page_is_self_contained(pages):
    _, report_page, board_page, _, _ = pages
    for page in (report_page, board_page):
        text = page.read_text(encoding="utf-8")
        assert 'http-equiv="Content-Security-Policy" content="default-src \'none\';' in text
        refs = re.findall(r'\b(?:src|href|action)\s*=\s*"([^"]*)"', text)
        assert all(r.startswith("#") for r in refs), refs
        assert "url(" not in text and "@import" not in text and "<link" not in text
        assert "@media print" in text
        assert "<svg" in text


def test_colours_meet_contrast():
    from dealcli.views import html as h
    from dealcli.model import DEFAULT_STAGES

    for _, _, _, color, _ in DEFAULT_STAGES + [(0, 0, 0, "#FFFF00", 0), (0, 0, 0, "#101010", 0)]:
        assert h.contrast(h.text_on(color), color) >= 4.5, color
        assert h.contrast(h.outline(color), h.PAPER) >= 3.0, color
    assert h.contrast(h.SERIES, h.PAPER) >= 4.5
    assert h.grouped(__import__("decimal").Decimal("-1234567.5")) == "-1,234,567.50"


def test_a_large_board_opens_with_its_summary_pages_its_cards_and_prints_short(chromium, tmp_path):
    """Issue 27/29: the report of 8,800 deals was 540,000 px tall (857 printed pages) with the funnel
    below every card. Rendered: the summary is above the first card, a stage shows one page of cards
    and its pager says how many pages there are, and the print has a bounded number of pages."""
    from conftest import Runner
    from dealcli.views import html as h

    Runner(tmp_path)("init", tmp_path / "repo", "--timezone", "UTC", check=True)
    cli = Runner(tmp_path / "repo")
    rows = ["title,amount,stage"] + [f"Deal number {i:04d},{100 + i},new" for i in range(600)]
    (tmp_path / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli.ok("import", tmp_path / "deals.csv")
    page = tmp_path / "big.html"
    cli.ok("report", "--html", page)
    proc = run(chromium, page, "--dump-dom", cwd=tmp_path)
    assert console(proc.stderr) == []
    dom = proc.stdout
    assert dom.index('id="summary"') < dom.index('id="funnel"') < dom.index('class="card"')
    new = re.search(r'<ul class="cards" data-stage="sales/0">(.*?)</ul>', dom, re.S).group(1)
    assert new.count('class="card"') == h.CARDS_PER_STAGE and "more:" not in new  # the pager replaced the line
    pager = re.search(r'<div class="pager" data-stage="sales/0">(.*?)</div>', dom, re.S).group(1)
    assert f"page 1 of {-(-600 // h.CARDS_PER_STAGE)} (600 cards)" in pager
    pdf = tmp_path / "big.pdf"
    proc = run(chromium, page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", cwd=tmp_path)
    assert console(proc.stderr) == []
    printed = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert 2 <= printed <= 12, printed  # one page of cards per stage: bounded, whatever the deal count
