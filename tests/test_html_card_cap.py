"""The HTML board and report hold at most one page of cards per stage (issue 29: a 52,800-deal
report was 10.6 MB and took a browser most of a minute): the stage's count and sums still cover
every deal, and a line says how many more there are and the filter that lists them."""

from __future__ import annotations

import json
import re

import pytest

from dealcli.views import html


def test_a_stage_shows_one_page_of_cards_and_counts_the_rest(cli, monkeypatch):
    monkeypatch.setattr(html, "CARDS_PER_STAGE", 3)  # in-process runs see the smaller page
    for i in range(5):
        cli.ok("deal", "add", f"Deal {i}", "--amount", "100")
    cli.ok("deal", "add", "Other", "--amount", "7")
    cli.ok("deal", "move", cli.ok("filter", "amount=7", "-f", "ids").strip(), "preparation")
    page = cli.ok("board", "--html", "-")
    new = re.search(r'<h3[^>]*>New</h3>(.*?)</ul>', page, re.S).group(1)
    assert new.count('class="card"') == 3
    assert ">5</span> deals" in new or ">5<" in new  # the count is of every deal of the stage
    assert "2 more: <code>dealcli filter pipeline=sales stage=new</code>" in new
    prep = re.search(r'<h3[^>]*>Preparing documents</h3>(.*?)</ul>', page, re.S).group(1)
    assert prep.count('class="card"') == 1 and "more:" not in prep
    assert cli.ok("report", "--html", "-").count('class="card"') == 4


# -- issue 27/29: the summary first, one page of cards per stage with paging, print -------------------
@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A repository with 130 open deals in `new` and a few elsewhere, built by one import."""
    from conftest import Runner

    base = tmp_path_factory.mktemp("bightml")
    Runner(base)("init", base / "repo", "--timezone", "UTC", check=True)
    run = Runner(base / "repo")
    rows = ["title,amount,stage,responsible,close_date"]
    rows += [f"Deal number {i:03d},{100 + i},new,rep{i % 3}@example.com,2026-04-{1 + i % 28:02d}" for i in range(130)]
    rows += ["Searchable needle,500,preparation,rep1@example.com,2026-04-02", "Other,70,executing,,"]
    (base / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    run.ok("import", base / "deals.csv")
    return base, run


def test_the_page_opens_with_the_summary_and_pages_the_cards(big):
    """Issue 27/29: the 8,800-deal report was 540,000 px tall with the funnel below every card. The
    summary (every stage's count, sum, weighted sum) and the report's sections come first, the cards
    last; a stage holds one page of cards in the page, the rest as data its pager shows."""
    _, run = big
    page = run.ok("report", "--html", "-")
    summary, funnel, board, card = (page.index(x) for x in ('id="summary"', 'id="funnel"', 'id="board-sales"',
                                                             'class="card"'))
    assert summary < funnel < board < card
    assert 'data-metric="board:sales/stages/0/count" data-value="130"' in page[summary:funnel]
    new = re.search(r'<ul class="cards" data-stage="sales/0">(.*?)</ul>', page, re.S).group(1)
    assert new.count('class="card"') == html.CARDS_PER_STAGE == 50
    assert '80 more: <code>dealcli filter pipeline=sales stage=new</code>' in new  # said without a script
    assert '<div class="pager" data-stage="sales/0" hidden>' in page
    pages = json.loads(re.search(r'<script type="application/json" id="card-pages">(.*?)</script>', page, re.S)[1])
    assert pages["page"] == 50 and list(pages["stages"]) == ["sales/0"]  # only a stage with more than a page
    assert len(pages["stages"]["sales/0"]) == 130 and pages["stages"]["sales/0"][0][1].startswith("Deal number")
    style = re.search(r"@media print\{(.*?)\n\}", page, re.S).group(1)
    assert ".pager{display:none}" in style.replace("nav,.filter,", "") or "nav,.filter,.pager{display:none}" in style
    assert ".board{break-before:page}" in style and "color:#000;background:#fff" in style


def test_a_title_in_the_paged_data_cannot_close_the_script(cli, monkeypatch):
    monkeypatch.setattr(html, "CARDS_PER_STAGE", 1)
    cli.ok("deal", "add", "</script><img src=x onerror=alert(1)>", "--amount", "1")
    cli.ok("deal", "add", "second", "--amount", "2")
    page = cli.ok("board", "--html", "-")
    assert "</script><img" not in page and "\\u003c/script>\\u003cimg" in page
