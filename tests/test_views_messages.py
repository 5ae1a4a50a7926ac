"""What commands say on stderr besides errors is worded in views/messages.py; the core leaves data
(issue 11 item 4: the nudge, the import summary and the progress live with the other views)."""

from __future__ import annotations

import io

from dealcli import activities, deals
from dealcli.views import messages


def test_the_core_leaves_a_nudge_as_data_and_the_view_words_it(session):
    deal = deals.add(session, deals.DealSpec(title="Quiet one"))
    nudges = [n for n in session.notices if isinstance(n, activities.Nudge)]
    assert [n.deal_id for n in nudges] == [deal.id]
    line = messages.text(nudges[0])
    assert line.startswith(f"deal {deal.id} has no next step: dealcli activity add {deal.id} --type call")
    assert messages.text(activities.MoreNudges(4)).startswith("... and 4 more open deal(s) without a next step")


def test_more_than_three_nudges_are_summed_up_in_one_line(session):
    for i in range(6):
        deals.add(session, deals.DealSpec(title=f"D{i}"))
    lines = [messages.text(n) for n in session.notices if "next step" in messages.text(n)]
    assert len(lines) == 4 and lines[-1].startswith("... and 3 more open deal(s)")


def test_the_progress_bar_draws_and_clears_one_line():
    out = io.StringIO()
    bar = messages.Progress(out)
    bar("check", 0, 0)  # an empty input draws nothing
    assert out.getvalue() == ""
    bar("check", 50, 100)
    assert out.getvalue() == "\rcheck    [###############...............]  50%"
    bar.done()
    assert out.getvalue().endswith("\r" + " " * 50 + "\r")


def test_the_import_summary_says_what_a_dry_run_would_do(cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("title,amount\nA,10\nB,20\n", encoding="utf-8")
    proc = cli("import", src, "--dry-run")
    assert proc.returncode == 0
    assert f"{src}: 2 rows: 2 deals would be created, 0 would be updated, 0 unchanged" in proc.stderr
    assert "(dry run: nothing written)" in proc.stderr
