"""The write gate (issue 11): one transaction per command, all or nothing; the transition table
decides every stage change; one repeat-deal rule; a hand edit racing a write is never lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dealcli import stage_rules
from dealcli.errors import Conflict
from dealcli.model import Deal, default_pipeline
from dealcli.session import Session
from dealcli.storage import journal
from dealcli.storage.repository import Repository

from conftest import NOW, plant_journal


def files(repo: Path, kind: str) -> list[str]:
    folder = repo / kind
    return sorted(os.listdir(folder)) if folder.exists() else []


def hidden_leftovers(repo: Path) -> list[str]:
    out = []
    for folder, _, names in os.walk(repo):
        if ".dealcli" in Path(folder).parts:
            continue
        out += [n for n in names if n.startswith(".") and (n.endswith(".tmp") or n.endswith(".old"))]
    return out


# -- all or nothing --------------------------------------------------------------------------------
def test_refused_deal_leaves_no_new_company_or_contact(cli, repo):
    proc = cli("deal", "add", "T", "--company", "NewCo", "--contact", "New Person", "--close-date", "not a date")
    assert proc.returncode == 2, proc.stderr
    assert files(repo, "companies") == [] and files(repo, "contacts") == [] and files(repo, "deals") == []
    cli.ok("pipeline", "edit", "sales", "--require", "amount", "--from-stage", "new")
    proc = cli("deal", "add", "T", "--company", "NewCo", "--contact", "New Person")
    assert proc.returncode == 1 and "amount" in proc.stderr
    assert files(repo, "companies") == [] and files(repo, "contacts") == []
    assert hidden_leftovers(repo) == []


def test_bulk_move_is_one_transaction(cli, repo):
    ids = [cli.ok("deal", "add", f"D{i}", "--amount", "10").strip() for i in range(3)]
    cli.ok("pipeline", "edit", "sales", "--require", "close_date", "--from-stage", "preparation")
    cli.ok("deal", "edit", ids[0], "--close-date", "2026-04-01")
    proc = cli("deal", "move", "-", "preparation", input="\n".join(ids) + "\n")
    assert proc.returncode == 1
    stages = {json.loads(cli.ok("deal", "show", i, "-f", "json"))["stage"] for i in ids}
    assert stages == {"new"}  # the one deal that could move did not move alone


def test_never_set_amount_does_not_satisfy_a_requirement(cli):
    cli.ok("pipeline", "edit", "sales", "--require", "amount", "--from-stage", "preparation")
    bare = cli.ok("deal", "add", "No amount").strip()
    proc = cli("deal", "move", bare, "preparation")
    assert proc.returncode == 1 and "'amount' is required" in proc.stderr
    zero = cli.ok("deal", "add", "Free", "--amount", "0").strip()  # set by hand to 0: set
    cli.ok("deal", "move", zero, "preparation")
    rows = cli.ok("deal", "add", "Rows", "--product", "Box:10:2").strip()  # set by product rows
    cli.ok("deal", "move", rows, "preparation")


def test_repeat_flag_follows_client_changes_on_edit(cli):
    won = cli.ok("deal", "add", "First", "--company", "Acme", "--amount", "5").strip()
    cli.ok("deal", "close", won, "--won")
    other = cli.ok("deal", "add", "Second", "--company", "Globex").strip()
    assert json.loads(cli.ok("deal", "show", other, "-f", "json"))["repeat"] is False
    cli.ok("deal", "edit", other, "--company", "Acme")
    assert json.loads(cli.ok("deal", "show", other, "-f", "json"))["repeat"] is True
    cli.ok("deal", "edit", other, "--company", "Globex")
    assert json.loads(cli.ok("deal", "show", other, "-f", "json"))["repeat"] is False


def test_lead_convert_refused_leaves_nothing(cli, repo):
    lead = cli.ok("lead", "add", "Lead", "--company-name", "LeadCo", "--contact-name", "Lee").strip()
    cli.ok("pipeline", "edit", "sales", "--require", "amount", "--from-stage", "new")
    assert cli("lead", "convert", lead).returncode == 1
    assert files(repo, "companies") == [] and files(repo, "contacts") == [] and files(repo, "deals") == []
    assert "status: converted" not in (repo / "leads" / f"{lead}.yaml").read_text()


def test_init_gitignore_covers_cache_and_temp_files(repo):
    lines = (repo / ".gitignore").read_text().splitlines()
    assert {".dealcli/", ".*.tmp", ".*.old"} <= set(lines)


# -- the transition table --------------------------------------------------------------------------
def deal(stage="new", status="open", **kw) -> Deal:
    return Deal(id="d1", title="T", pipeline="sales", stage=stage, currency="USD", status=status, **kw)


def test_every_verb_goes_through_the_table():
    p = default_pipeline()
    t = stage_rules.transition(deal(), p, "won", "move", now="NOW")
    assert t.changes["status"] == "won" and t.changes["closed_at"] == "NOW"
    assert [k for k, _ in t.events] == ["moved", "closed"]
    # a closed deal cannot be moved or closed again; only reopened
    closed = deal("won", "won")
    assert stage_rules.transition(closed, p, "new", "move").violations[0].rule == "closed-deal"
    assert stage_rules.transition(closed, p, None, "close", won=False).violations[0].rule == "closed-deal"
    t = stage_rules.transition(closed, p, None, "reopen")
    assert t.changes["status"] == "open" and t.changes["closed_at"] is None and t.events[0][0] == "reopened"
    # relocation (a deleted stage) keeps semantics: won -> lost is not in the table
    assert stage_rules.transition(closed, p, "lose", "relocate").violations[0].rule == "transition"
    assert ("relocate", "won", "lost") not in stage_rules.TRANSITIONS


def test_create_takes_the_stage_probability_unless_given():
    p = default_pipeline()
    t = stage_rules.transition(deal("preparation"), p, "preparation", "create", now="N")
    assert t.changes["probability"] == p.stage("preparation").probability
    given = deal("preparation", probability=5)
    assert "probability" not in stage_rules.transition(given, p, "preparation", "create").changes


def test_repeat_rule_is_one_function():
    won = {"status": "won", "company": "c1", "contacts": ["p1"]}
    keys = set(stage_rules.repeat_keys(won))
    assert stage_rules.is_repeat("c1", [], keys) and stage_rules.is_repeat(None, ["p1"], keys)
    assert not stage_rules.is_repeat("c2", ["p2"], keys)
    assert stage_rules.repeat_keys(dict(won, status="open")) == []


# -- storage: the journal ---------------------------------------------------------------------------
def test_transaction_commits_all_or_nothing(repo):
    r = Repository(repo)
    with pytest.raises(RuntimeError):
        with r.transaction():
            r.create("companies", "c1", {"id": "c1", "name": "A"})
            r.create("companies", "c2", {"id": "c2", "name": "B"})
            raise RuntimeError("boom")
    assert files(repo, "companies") == [] and hidden_leftovers(repo) == []
    assert journal.pending(r.journal_dir) == []
    with r.transaction():
        r.create("companies", "c1", {"id": "c1", "name": "A"})
        doc = r.load("companies", "c1")  # what was staged, before the commit
        r.update(doc, {"id": "c1", "name": "A2"})
        r.create("companies", "c2", {"id": "c2", "name": "B"})
        assert files(repo, "companies") == [".c1.yaml." + r._tx.txid + ".tmp", ".c2.yaml." + r._tx.txid + ".tmp"]
    assert files(repo, "companies") == ["c1.yaml", "c2.yaml"]
    assert "name: A2" in (repo / "companies" / "c1.yaml").read_text()


def test_a_conflict_at_the_etag_check_writes_nothing(repo):
    r = Repository(repo)
    r.create("companies", "c1", {"id": "c1", "name": "A"})
    doc = r.load("companies", "c1")
    (repo / "companies" / "c1.yaml").write_text("id: c1\nname: by hand\n")
    with pytest.raises(Conflict):
        with r.transaction():
            r.create("companies", "c2", {"id": "c2", "name": "B"})
            r.update(doc, {"id": "c1", "name": "A3"})
    assert files(repo, "companies") == ["c1.yaml"]
    assert (repo / "companies" / "c1.yaml").read_text() == "id: c1\nname: by hand\n"


def test_a_hand_edit_racing_the_rename_is_kept(repo, monkeypatch):
    """A hand edit that lands after the etag check, just before the new file is put in place,
    is swapped back and reported: never silently overwritten."""
    r = Repository(repo)
    r.create("companies", "c1", {"id": "c1", "name": "A"})
    doc = r.load("companies", "c1")
    real_apply = journal._apply

    def edit_then_apply(op, txid):
        op.path.write_text("id: c1\nname: racing hand edit\n")  # between the check and the swap
        return real_apply(op, txid)

    monkeypatch.setattr(journal, "_apply", edit_then_apply)
    with pytest.raises(Conflict) as exc:
        r.update(doc, {"id": "c1", "name": "dealcli"})
    assert "was kept" in str(exc.value)
    assert (repo / "companies" / "c1.yaml").read_text() == "id: c1\nname: racing hand edit\n"
    assert hidden_leftovers(repo) == []


def test_committed_journal_is_rolled_forward_and_prepared_one_back(repo):
    r = Repository(repo)
    r.create("companies", "c1", {"id": "c1", "name": "old"})
    folder = repo / "companies"
    jdir = r.journal_dir
    jdir.mkdir(parents=True, exist_ok=True)
    # committed: c1 updated and c2 created, c1 not applied yet when the process died
    (folder / ".c1.yaml.aaaaaaaaaaaa.tmp").write_text("id: c1\nname: new\n")
    (folder / ".c2.yaml.aaaaaaaaaaaa.tmp").write_text("id: c2\nname: two\n")
    ops = [{"path": "companies/c1.yaml", "digest": journal._digest(b"id: c1\nname: new\n")},
           {"path": "companies/c2.yaml", "digest": journal._digest(b"id: c2\nname: two\n")}]
    plant_journal(repo, "aaaaaaaaaaaa", "committed", ops=ops)
    # prepared: a temp file of a command killed before its commit point
    (folder / ".c3.yaml.bbbbbbbbbbbb.tmp").write_text("id: c3\nname: never\n")
    plant_journal(repo, "bbbbbbbbbbbb", "prepared", folders=["companies"])
    s = Session(repo_root=repo, now_text=NOW, quiet=True)
    assert sorted(d.id for d in s.repo.iter_docs("companies")) == ["c1", "c2"]  # opening recovers
    assert (folder / "c1.yaml").read_text() == "id: c1\nname: new\n"
    assert hidden_leftovers(repo) == [] and journal.pending(jdir) == []
