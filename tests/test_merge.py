"""The 3-way merge on plain records (dealcli/merge.py), the strict YAML loader, and what
`check` says about history, conflicts and merged-as-text files."""

from __future__ import annotations

import json

import pytest

from dealcli import merge
from dealcli.errors import CorruptData
from dealcli.model import default_pipeline
from dealcli.storage import yamlcodec

T0, T1, T2 = "2026-03-10T10:00:00+00:00", "2026-03-10T11:00:00+00:00", "2026-03-10T12:00:00+00:00"


def ev(at, by, kind, **data):
    return {"at": at, "by": by, "kind": kind, **data}


def deal(**over):
    base = {"format": 1, "id": "d1", "title": "T", "pipeline": "sales", "stage": "new", "status": "open",
            "amount": 0, "contacts": [], "modified": T0, "closed_at": None, "probability": 10,
            "fields": {}, "comments": [], "history": [ev(T0, "a", "created", stage="new", pipeline="sales")]}
    base.update(over)
    return base


def pipelines(pid):
    return default_pipeline() if pid == "sales" else None


def test_one_side_change_takes_that_side_both_sides_keep_both():
    base = {"a": 1, "b": 2, "c": 3, "tags": ["x", "y"]}
    ours = {"a": 10, "b": 2, "c": 3, "tags": ["x", "y", "z"]}
    theirs = {"a": 1, "b": 20, "tags": ["y", "w"]}
    out, ctx = merge.merge_records("companies", base, ours, theirs)
    assert out == {"a": 10, "b": 20, "tags": ["y", "z", "w"]}  # c removed by theirs, x removed by theirs
    assert ctx.conflicts == []


def test_event_lists_are_united_and_ordered_by_time():
    c0 = {"at": T0, "by": "a", "text": "zero"}
    c1 = {"at": T1, "by": "b", "text": "one"}
    c2 = {"at": T2, "by": "a", "text": "two"}
    out = merge.merge_events([c0], [c0, c2], [c0, c1])
    assert [c["text"] for c in out] == ["zero", "one", "two"]
    # the same event on both sides appears once; one removed on a side stays removed
    assert merge.merge_events([c0, c1], [c1, c2], [c0, c1, c2]) == [c1, c2]


def test_both_changed_the_later_change_wins_whichever_side_is_ours():
    base = deal()
    ours = deal(title="Ours", modified=T1, history=base["history"] + [ev(T1, "a", "changed", field="title",
                                                                           old="T", new="Ours")])
    theirs = deal(title="Theirs", modified=T2, history=base["history"] + [ev(T2, "b", "changed", field="title",
                                                                             old="T", new="Theirs")])
    one, ctx1 = merge.merge_records("deals", base, ours, theirs, pipelines)
    two, _ = merge.merge_records("deals", base, theirs, ours, pipelines)
    assert one["title"] == two["title"] == "Theirs"
    assert one["modified"] == T2
    assert one["conflicts"] == two["conflicts"]
    c = one["conflicts"][0]
    assert (c["field"], c["kept"], c["kept_by"], c["other"], c["other_by"]) == ("title", "Theirs", "b", "Ours", "a")
    assert [e["kind"] for e in one["history"]] == ["created", "changed", "changed", "conflict"]
    assert len(ctx1.conflicts) == 1


def test_equal_times_are_decided_the_same_way_on_both_sides():
    base = {"name": "A"}
    one, _ = merge.merge_records("companies", base, {"name": "B"}, {"name": "C"})
    two, _ = merge.merge_records("companies", base, {"name": "C"}, {"name": "B"})
    assert one["name"] == two["name"]


def test_removed_on_one_side_changed_on_the_other_keeps_the_change():
    out, ctx = merge.merge_records("companies", {"phone": "1"}, {}, {"phone": "2"})
    assert out == {"phone": "2"}
    assert "kept the change" in ctx.notes[0]


def test_nested_mappings_merge_key_by_key():
    base = deal(fields={"a": 1, "b": 1})
    out, ctx = merge.merge_records("deals", base, deal(fields={"a": 2, "b": 1}), deal(fields={"a": 1, "b": 3}),
                                   pipelines)
    assert out["fields"] == {"a": 2, "b": 3} and not ctx.conflicts


def test_stages_merge_by_id():
    p = default_pipeline().to_dict()
    ours = json.loads(json.dumps(p))
    ours["stages"].insert(1, {"id": "review", "name": "Review", "color": None, "semantics": "process",
                              "probability": None})
    theirs = json.loads(json.dumps(p))
    theirs["stages"] = [dict(s, name="Signed") if s["id"] == "won" else s for s in theirs["stages"]
                        if s["id"] != "apology"]
    out, ctx = merge.merge_records("pipelines", p, ours, theirs)
    ids = [s["id"] for s in out["stages"]]
    assert ids[:2] == ["new", "review"] and "apology" not in ids
    assert next(s for s in out["stages"] if s["id"] == "won")["name"] == "Signed"
    assert not ctx.conflicts


def test_both_moved_reaches_the_winner_through_the_transition():
    base = deal()
    ours = deal(stage="preparation", probability=20, modified=T1,
                history=base["history"] + [ev(T1, "a", "moved", **{"from": "new", "to": "preparation"})])
    theirs = deal(stage="won", status="won", probability=100, closed_at=T2, modified=T2,
                  history=base["history"] + [ev(T2, "b", "moved", **{"from": "new", "to": "won"}),
                                             ev(T2, "b", "closed", status="won", stage="won")])
    out, _ = merge.merge_records("deals", base, ours, theirs, pipelines)
    assert (out["stage"], out["status"], out["probability"], out["closed_at"]) == ("won", "won", 100, T2)
    moves = [(e.get("from"), e.get("to")) for e in out["history"] if e["kind"] == "moved"]
    assert moves == [("new", "preparation"), ("preparation", "won")]
    assert [e["kind"] for e in out["history"]][-2:] == ["closed", "conflict"]
    assert out["conflicts"][0]["field"] == "stage"


def test_one_side_moved_the_other_edited_no_conflict():
    base = deal()
    ours = deal(stage="preparation", probability=20, modified=T1,
                history=base["history"] + [ev(T1, "a", "moved", **{"from": "new", "to": "preparation"})])
    theirs = deal(amount=500, modified=T2,
                  history=base["history"] + [ev(T2, "b", "changed", field="amount", old="0.00", new="500.00")])
    out, ctx = merge.merge_records("deals", base, ours, theirs, pipelines)
    assert (out["stage"], out["amount"], out["probability"]) == ("preparation", 500, 20)
    assert "conflicts" not in out and not ctx.conflicts


def test_merge_texts_refuses_what_it_cannot_read():
    with pytest.raises(CorruptData):
        merge.merge_texts("deals/x.yaml", b"a: 1\n", b"<<<<<<< x\n", b"a: 2\n")
    with pytest.raises(CorruptData):
        merge.merge_texts("README.md", b"", b"x", b"y")


# -- the strict loader --------------------------------------------------------------------------------
def test_duplicate_keys_are_refused_with_both_lines():
    with pytest.raises(CorruptData) as err:
        yamlcodec.loads("id: x\nstage: won\ntitle: t\nstage: new\n", "deals/x.yaml")
    assert err.value.line == 4 and "duplicate key 'stage' (first at line 2)" in err.value.message


def test_conflict_markers_get_their_own_message():
    text = "id: x\n<<<<<<< HEAD\nstage: won\n=======\nstage: new\n>>>>>>> theirs\n"
    with pytest.raises(CorruptData) as err:
        yamlcodec.loads(text, "deals/x.yaml")
    assert err.value.line == 2
    assert "git conflict marker" in err.value.message and "git checkout --merge -- deals/x.yaml" in err.value.message


# -- check --------------------------------------------------------------------------------------------
def test_check_names_a_conflicted_pipeline_once(cli, repo):
    for n in range(3):
        cli.ok("deal", "add", f"D{n}")
    path = repo / "pipelines" / "sales.yaml"
    text = path.read_text()
    path.write_text(text.replace("name: Sales\n", "<<<<<<< HEAD\nname: Sales\n=======\nname: Team\n>>>>>>> b\n"))
    r = cli("check")
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and "git conflict marker" in lines[0] and lines[0].startswith("pipelines/sales.yaml:")


def test_check_verifies_history_against_state(cli, repo):
    d = cli.ok("deal", "add", "X").strip()
    cli.ok("deal", "move", d, "preparation")
    path = repo / "deals" / f"{d}.yaml"
    text = path.read_text()
    path.write_text(text.replace("stage: preparation\n", "stage: executing\n", 1))
    r = cli("check")
    assert r.returncode == 1 and "[history-state]" in r.stdout and "names 'preparation'" in r.stdout
    # an edit recorded after the close
    path.write_text(text)
    cli.ok("deal", "close", d, "--won")
    data = yamlcodec.loads(path.read_bytes())
    data["history"].append({"at": "2026-03-11T09:00:00+00:00", "by": "x", "kind": "changed", "field": "amount",
                            "old": "0.00", "new": "5.00"})
    path.write_text(yamlcodec.dumps(data))
    r = cli("check")
    assert "[history-closed]" in r.stdout
    # history out of order
    data["history"] = data["history"][:-1]
    data["history"][0]["at"] = "2026-03-11T08:00:00+00:00"
    path.write_text(yamlcodec.dumps(data))
    assert "[history-order]" in cli("check").stdout


def test_check_warns_about_likely_duplicates(cli):
    cli.ok("company", "add", "ACME Ltd.")
    cli.ok("company", "add", "acme ltd")
    r = cli("check")
    assert r.returncode == 0 and "likely duplicate companies" in r.stderr


def test_deal_history_is_shown_in_time_order(cli, repo):
    d = cli.ok("deal", "add", "X").strip()
    cli.ok("deal", "comment", d, "later", now="2026-03-11T09:00:00+00:00")
    path = repo / "deals" / f"{d}.yaml"
    data = yamlcodec.loads(path.read_bytes())
    data["history"].reverse()
    path.write_text(yamlcodec.dumps(data))
    rows = json.loads(cli.ok("deal", "history", d, "-f", "json"))
    assert [r["kind"] for r in rows] == ["created", "commented"]


def test_company_merge_repoints_every_link_in_one_go(cli, repo):
    a = cli.ok("company", "add", "ACME", "--email", "info@acme.example").strip()
    b = cli.ok("company", "add", "Acme Inc", "--phone", "+1 555 0100").strip()
    c = cli.ok("contact", "add", "Ann", "--company", b).strip()
    open_deal = cli.ok("deal", "add", "Open", "--company", b, "--contact", c).strip()
    won = cli.ok("deal", "add", "Won", "--company", b).strip()
    cli.ok("deal", "close", won, "--won")
    q = cli.ok("quote", "add", "Offer", "--company", b).strip()
    out = cli.ok("company", "merge", a, b).strip()
    assert out == a
    assert not (repo / "companies" / f"{b}.yaml").exists()
    kept = yamlcodec.loads((repo / "companies" / f"{a}.yaml").read_bytes())
    assert kept["phones"] == ["+1 555 0100"] and kept["emails"] == ["info@acme.example"]
    assert kept["history"][-1]["kind"] == "merged" and kept["history"][-1]["from"] == b
    for deal_id in (open_deal, won):
        data = yamlcodec.loads((repo / "deals" / f"{deal_id}.yaml").read_bytes())
        assert data["company"] == a and data["history"][-1]["kind"] == "relinked"
    assert yamlcodec.loads((repo / "contacts" / f"{c}.yaml").read_bytes())["company"] == a
    assert yamlcodec.loads((repo / "quotes" / f"{q}.yaml").read_bytes())["company"] == a
    assert cli("check").returncode == 0


def test_contact_merge(cli, repo):
    a = cli.ok("contact", "add", "Ann Lee", "--email", "ann@x.example").strip()
    b = cli.ok("contact", "add", "Ann  Lee", "--email", "ann@x.example").strip()
    assert "likely duplicate contacts" in cli("check").stderr
    d = cli.ok("deal", "add", "D", "--contact", a, "--contact", b).strip()
    cli.ok("contact", "merge", a, b)
    assert yamlcodec.loads((repo / "deals" / f"{d}.yaml").read_bytes())["contacts"] == [a]
    assert "likely duplicate" not in cli("check").stderr
    assert cli("contact", "merge", a, a).returncode == 2


def test_list_items_merge_by_their_declared_identity():
    """kinds.py: a deal's product rows are identified by `product` (rows typed as NAME:PRICE by
    their content): two sides each adding a row keep both, one side's quantity change of a
    catalogue row is taken, and the amount is the sum of the merged rows."""
    cat = {"name": "Cable", "price": 10, "quantity": 1, "product": "p1"}
    base = deal(products=[cat], amount=10)
    ours = deal(products=[dict(cat, quantity=3), {"name": "Ours", "price": 5, "quantity": 1}], amount=35,
                modified=T1)
    theirs = deal(products=[cat, {"name": "Theirs", "price": 7, "quantity": 1}], amount=17, modified=T2)
    for a, b in ((ours, theirs), (theirs, ours)):
        out, ctx = merge.merge_records("deals", base, a, b, pipelines)
        assert ctx.conflicts == [] and "conflicts" not in out
        rows = {r["name"]: r for r in out["products"]}
        assert set(rows) == {"Cable", "Ours", "Theirs"} and rows["Cable"]["quantity"] == 3
        assert str(out["amount"]) == "42.00"
    # an amount set by hand stays a value: both changed it, the later wins and the loss is recorded
    out, ctx = merge.merge_records("deals", base, dict(ours, manual_amount=True), dict(theirs, manual_amount=True),
                                   pipelines)
    assert str(out["amount"]) == "17" and [c.path for c in ctx.conflicts] == ["amount"]


def test_rights_changed_on_both_sides_are_left_to_a_person():
    """Issue 23: roles [viewer] against [admin] were united into [admin, viewer] (i.e. admin)."""
    base = {"users": {"carol": {"roles": ["manager"], "dept": "east"}}}
    ours = {"users": {"carol": {"roles": ["viewer"], "dept": "east"}}}
    theirs = {"users": {"carol": {"roles": ["admin"], "dept": "east"}}}
    _, ctx = merge.merge_records("config", base, ours, theirs)
    assert ctx.person == ["users.carol.roles"]
    # one side alone changing rights merges as before; other settings still merge key by key
    out, ctx = merge.merge_records("config", dict(base, timezone="UTC"), dict(ours, timezone="UTC"),
                                   dict(base, timezone="Europe/Berlin"))
    assert ctx.person == [] and out["users"]["carol"]["roles"] == ["viewer"] and out["timezone"] == "Europe/Berlin"
    # a user removed on one side and given roles on the other; a role's grants changed on both
    _, ctx = merge.merge_records("config", base, {"users": {}}, theirs)
    assert ctx.person == ["users.carol"]
    roles = lambda *g: {"roles": {"closer": {"grants": list(g)}}}  # noqa: E731
    _, ctx = merge.merge_records("config", roles("deal:*=own"), roles("deal:*=own", "a:*=all"), roles("b:*=all"))
    assert ctx.person == ["roles.closer.grants"]
