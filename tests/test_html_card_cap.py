"""The HTML board and report hold at most one page of cards per stage (issue 29: a 52,800-deal
report was 10.6 MB and took a browser most of a minute): the stage's count and sums still cover
every deal, and a line says how many more there are and the filter that lists them."""

from __future__ import annotations

import re

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
