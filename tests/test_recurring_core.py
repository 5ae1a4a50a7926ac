"""Core-layer tests of dealcli/recurring.py on a temporary repository (in-process Session)."""

import dataclasses

import pytest

from dealcli import deals, recurring
from dealcli.errors import CorruptData
from dealcli.session import Session


def at(session: Session, now: str) -> Session:
    return dataclasses.replace(session, now_text=now, notices=[])


def new_template(session, title="T {n}", **kw) -> recurring.Template:
    spec = recurring.TemplateSpec(deal=deals.DealSpec(title=title), **kw)
    return recurring.add(session, spec)


def test_template_round_trip_keeps_unknown_keys(session, repo):
    t = new_template(session, every="week", start="2026-03-02")
    path = repo / "recurring" / f"{t.id}.yaml"
    path.write_text(path.read_text() + "note: keep me\n")
    s = at(session, "2026-03-09T12:00:00+00:00")
    result = recurring.run(s)
    assert [p.deal_id for p in result.created] == [f"{t.id}-20260302", f"{t.id}-20260309"]
    text = path.read_text()
    assert "note: keep me" in text and "last_occurrence: 2026-03-09" in text
    again = recurring.run(at(session, "2026-03-09T13:00:00+00:00"))
    assert again.created == [] and again.problems == []


@pytest.mark.parametrize("old,new,where", [
    ("create_before: 0", "create_before: soon", "create_before"),
    ("paused: false", "paused: 'no'", "paused"),
    ("start: 2026-03-02", "start: next tuesday", "schedule.start"),
    ("title: T {n}", "title: T {when}", "title"),
])
def test_a_bad_value_is_corrupt_data_naming_file_line_and_field(session, repo, old, new, where):
    t = new_template(session, every="week", start="2026-03-02")
    path = repo / "recurring" / f"{t.id}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(CorruptData) as err:
        recurring.load(session, t.id)
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if new.split(":")[0].strip() in ln
                and new.split(": ", 1)[1] in ln)
    assert err.value.path == f"recurring/{t.id}.yaml" and err.value.line == line
    assert where in err.value.message


def test_paused_periods_are_passed_over_and_pruned(session, repo):
    t = new_template(session, every="day", start="2026-03-01")
    recurring.run(at(session, "2026-03-01T12:00:00+00:00"))
    recurring.pause(at(session, "2026-03-01T13:00:00+00:00"), t.id)
    recurring.resume(at(session, "2026-03-04T13:00:00+00:00"), t.id)
    t2, _ = recurring.load(session, t.id)
    assert len(t2.paused_periods) == 1
    plan = recurring.plan(at(session, "2026-03-05T12:00:00+00:00"), t2)
    assert [(recurring.occurrence_text(p.occurrence), p.skip) for p in plan] == [
        ("2026-03-02", "paused"), ("2026-03-03", "paused"), ("2026-03-04", "paused"), ("2026-03-05", None)]
    result = recurring.run(at(session, "2026-03-05T12:00:00+00:00"))
    assert [p.deal_id for p in result.created] == [f"{t.id}-20260305"]
    t3, _ = recurring.load(session, t.id)
    assert t3.paused_periods == []  # wholly before the marker: no longer needed


def test_next_occurrence_of_a_paused_template_skips_what_falls_due_while_paused(session):
    t = new_template(session, every="day", start="2026-03-01")
    recurring.run(at(session, "2026-03-01T12:00:00+00:00"))
    recurring.pause(at(session, "2026-03-01T13:00:00+00:00"), t.id)
    t2, _ = recurring.load(session, t.id)
    s = at(session, "2026-03-03T12:00:00+00:00")
    assert recurring.occurrence_text(recurring.next_occurrence(s, t2)) == "2026-03-04"
    assert recurring.summary(s, t2)["status"] == "paused"


def test_an_occurrence_due_before_the_pause_is_still_owed_after_resume(session):
    t = new_template(session, every="day", start="2026-03-01")
    recurring.pause(at(session, "2026-03-01T06:00:00+00:00"), t.id)  # no run had created 1 March yet
    recurring.resume(at(session, "2026-03-03T12:00:00+00:00"), t.id)
    result = recurring.run(at(session, "2026-03-03T12:05:00+00:00"))
    assert [recurring.occurrence_text(p.occurrence) for p in result.created] == ["2026-03-01"]
    assert [recurring.occurrence_text(p.occurrence) for p in result.skipped] == ["2026-03-02", "2026-03-03"]
