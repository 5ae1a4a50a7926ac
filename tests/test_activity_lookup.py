"""Activities by deal (issue 19): the nudge after every deal write and the deal card ask for ONE
deal's activities. The index cache keeps activities by deal (index.keys_of), so that costs a
lookup, not a parse of every activity file; what it answers must stay what the files say after
hand edits, deletes, renames and additions."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from dealcli.views.messages import text
from dealcli import activities, deals
from dealcli.session import Session
from dealcli.storage import index as index_mod
from dealcli.storage import yamlcodec

from conftest import NOW


def fresh(repo: Path) -> Session:
    """A Session as a new command would have it (nothing learnt yet)."""
    return Session(repo_root=repo, as_user="tester@example.com", now_text=NOW, quiet=False)


def activity_path(repo: Path, act: dict) -> Path:
    return repo / "activities" / f"{act['id']}.yaml"


def hand_edit(repo: Path, act: dict, **changes) -> None:
    path = activity_path(repo, act)
    data = yamlcodec.loads(path.read_bytes())
    data.update(changes)
    path.write_text(yamlcodec.dumps(data))


def nudged(repo: Path, deal) -> bool:
    s = fresh(repo)
    activities.nudge(s, [deal])
    return any(f"deal {deal.id} has no next step" in text(n) for n in s.notices)


@pytest.fixture
def settled(monkeypatch):
    """Folder stats are trusted at once (as they are 2 s after the last change)."""
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)


@pytest.fixture
def two_deals(session):
    a = deals.add(session, deals.DealSpec(title="A"))
    b = deals.add(session, deals.DealSpec(title="B"))
    act = activities.add(session, a.id, "call", "Ring", "tomorrow 10:00")
    return a, b, act


def test_the_nudge_reads_only_the_deals_own_activity_files(session, repo, settled, monkeypatch):
    target = deals.add(session, deals.DealSpec(title="Target"))
    others = [deals.add(session, deals.DealSpec(title=f"O{i}")) for i in range(5)]
    for i in range(40):
        activities.add(session, others[i % 5].id, "task", f"T{i}", "tomorrow 10:00")
    mine = activities.add(session, target.id, "call", "Mine", "tomorrow 11:00")
    list(fresh(repo).repo.records("activities", []))  # a scan: the cache knows every activity
    parsed: list = []
    real = yamlcodec.loads
    monkeypatch.setattr(yamlcodec, "loads", lambda raw, *a, **k: (parsed.append(raw), real(raw, *a, **k))[1])
    s = fresh(repo)
    activities.nudge(s, [target])
    assert not any("no next step" in text(n) for n in s.notices)
    activity_reads = [raw for raw in parsed if b"subject:" in raw]
    assert len(activity_reads) == 1 and mine["id"].encode() in activity_reads[0]


def test_pending_activity_suppresses_the_nudge_and_done_by_hand_brings_it_back(repo, two_deals, settled):
    a, b, act = two_deals
    assert not nudged(repo, a) and nudged(repo, b)
    hand_edit(repo, act, done=True, done_at=NOW)
    assert nudged(repo, a)
    hand_edit(repo, act, done=False, done_at=None)
    assert not nudged(repo, a)


def test_deleted_renamed_and_added_activity_files_are_seen(repo, two_deals, settled):
    a, b, act = two_deals
    assert not nudged(repo, a)
    path = activity_path(repo, act)
    moved = path.with_name("zz-renamed.yaml")
    os.rename(path, moved)
    data = yamlcodec.loads(moved.read_bytes())
    data["id"] = "zz-renamed"
    moved.write_text(yamlcodec.dumps(data))
    assert not nudged(repo, a)  # renamed: still a's pending activity
    moved.unlink()
    assert nudged(repo, a)  # deleted by hand
    added = dict(data, id="added-by-hand", deal=b.id)
    (repo / "activities" / "added-by-hand.yaml").write_text(yamlcodec.dumps(added))
    assert not nudged(repo, b) and nudged(repo, a)


def test_an_activity_moved_to_another_deal_by_hand_leaves_the_old_deal(repo, two_deals, settled):
    a, b, act = two_deals
    assert not nudged(repo, a)
    hand_edit(repo, act, deal=b.id)
    assert nudged(repo, a)
    list(fresh(repo).repo.records("activities", []))  # the next scan (filter, agenda ...) sees it on b
    assert not nudged(repo, b)


def test_a_corrupt_activity_file_is_no_pending_step(repo, two_deals, settled):
    a, _, act = two_deals
    activity_path(repo, act).write_text("deal: [unclosed\n")
    assert nudged(repo, a)


def test_the_deal_card_label_comes_from_the_lookup(repo, session, two_deals, settled):
    a, b, act = two_deals
    later = activities.add(session, a.id, "meeting", "Later", "2026-03-20 09:00")
    assert act["id"] in activities.label(fresh(repo), a.id)
    activities.done(session, [act["id"]])
    assert later["id"] in activities.label(fresh(repo), a.id)
    assert activities.label(fresh(repo), b.id) is None


@pytest.mark.parametrize("seed", range(4))
def test_lookups_agree_with_reading_every_file(repo, session, settled, monkeypatch, seed):
    """Random activities, hand edits and deletes: every deal's activities and next step are the
    same through the cache as with the cache switched off."""
    rng = random.Random(seed)
    made = [deals.add(session, deals.DealSpec(title=f"D{i}")) for i in range(6)]
    acts = [activities.add(session, rng.choice(made).id, "task", f"T{i}", f"+{rng.randint(1, 9)}d 10:00")
            for i in range(25)]
    list(fresh(repo).repo.records("activities", []))
    for act in rng.sample(acts, 10):
        what = rng.choice(["done", "deal", "delete", "due"])
        if what == "delete":
            activity_path(repo, act).unlink()
        elif what == "done":
            hand_edit(repo, act, done=True)
        elif what == "due":
            hand_edit(repo, act, due="not a date")
        else:
            hand_edit(repo, act, deal=rng.choice(made).id)
        list(fresh(repo).repo.records("activities", []))  # what a filter or agenda run in between does

    def answers():
        s = fresh(repo)
        return {d.id: (sorted(a["id"] for a in activities.of_deal(s, d.id)),
                       activities.label(s, d.id)) for d in made}

    cached = answers()
    monkeypatch.setenv("DEALCLI_NO_INDEX", "1")
    assert cached == answers()
    from dealcli.validation.records import problem

    truth = {d.id: sorted(f.stem for f in (repo / "activities").glob("*.yaml")
                          if yamlcodec.loads(f.read_bytes()).get("deal") == d.id
                          and problem("activities", yamlcodec.loads(f.read_bytes())) is None) for d in made}
    assert {k: v[0] for k, v in cached.items()} == truth
