"""The rulebook (dealcli/rules.py, issue 23): `check` and the write gate judge the same rules, so
no command leaves a repository that `check` fails; deletes refuse or settle their links by one
flag, the same way for every kind (the on_delete of dealcli/kinds.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealcli import rules
from dealcli.storage import yamlcodec
from dealcli.storage.repository import Doc


def files(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*.yaml"))
            if ".dealcli" not in p.parts}


def refused(proc, rule: str, *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"[{rule}]" in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def checks_clean(cli) -> None:
    proc = cli("check")
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def deal(cli) -> str:
    return cli.ok("deal", "add", "Boiler", "--amount", "500").strip()


# -- deletes: refuse, or settle every link as declared, by one flag --------------------------------------
def test_deleting_a_deal_with_an_activity_is_refused_unless_unlink(cli, repo, deal):
    """Reproduced from issue 23: `deal delete -y` left the activity pointing at a deal that is gone."""
    activity = cli.ok("activity", "add", deal, "--type", "call", "--subject", "Ring", "--due", "2026-05-01").strip()
    before = files(repo)
    refused(cli("deal", "delete", deal, "-y"), "linked", f"deal {deal}", "1 activity", "--unlink")
    assert files(repo) == before
    assert cli.ok("deal", "delete", deal, "-y", "--unlink").split() == [deal]
    assert not (repo / "activities" / f"{activity}.yaml").exists()
    checks_clean(cli)


def test_with_activities_still_means_unlink(cli, repo, deal):
    cli.ok("activity", "add", deal, "--type", "call", "--subject", "Ring", "--due", "2026-05-01")
    cli.ok("deal", "delete", deal, "--yes", "--with-activities")
    assert not list((repo / "activities").glob("*.yaml"))
    checks_clean(cli)


def test_deleting_a_deal_a_lead_was_converted_into_clears_the_leads_link(cli, repo):
    """Reproduced from issue 23: the converted lead kept naming the deleted deal."""
    lead = cli.ok("lead", "add", "Hot prospect").strip()
    deal = cli.ok("lead", "convert", lead).strip()
    refused(cli("deal", "delete", deal, "-y"), "linked", "1 lead")
    cli.ok("deal", "delete", deal, "-y", "--unlink")
    assert json.loads(cli.ok("lead", "show", lead, "-f", "json"))["deal"] is None
    checks_clean(cli)


@pytest.mark.parametrize("kind", ["quote", "lead"])
def test_a_quote_or_lead_a_deal_was_made_from_is_deleted_like_a_company(cli, repo, kind):
    ref = cli.ok(kind, "add", "Offer" if kind == "quote" else "Prospect").strip()
    deal = cli.ok("deal", "add", "From it", "--from", f"{kind}:{ref}").strip()
    assert json.loads(cli.ok("deal", "show", deal, "-f", "json"))[kind] == ref
    before = files(repo)
    refused(cli(kind, "delete", ref), "linked", "1 deal(s)", "--unlink")
    assert files(repo) == before
    cli.ok(kind, "delete", ref, "--unlink")
    shown = json.loads(cli.ok("deal", "show", deal, "-f", "json"))
    assert shown.get(kind) is None
    assert shown["history"][-1]["kind"] == "relinked"
    checks_clean(cli)


def test_company_unlink_keeps_working(cli, repo):
    company = cli.ok("company", "add", "Acme").strip()
    deal = cli.ok("deal", "add", "Acme deal", "--company", "Acme").strip()
    refused(cli("company", "delete", company), "linked", "--unlink")
    cli.ok("company", "delete", company, "--unlink")
    assert json.loads(cli.ok("deal", "show", deal, "-f", "json"))["company"] is None
    checks_clean(cli)


# -- the gate refuses what check would report ------------------------------------------------------------
def test_now_before_the_deals_last_event_never_leaves_check_failing(cli, repo, deal):
    """Reproduced from issue 23: `--now` earlier than the last event left history out of order and
    `check` failing. Since issue 26 (corrections) an event written with an earlier clock is kept
    in the order it was written and marked `backdated: true`, which `check` accepts: whatever
    `--now` says, the tool never writes a history `check` refuses."""
    cli.ok("deal", "move", deal, "won", "--now", "2020-01-01")
    cli.ok("deal", "comment", deal, "late", "--now", "2019-06-01")
    history = yamlcodec.loads((repo / "deals" / f"{deal}.yaml").read_bytes(), "x")["history"]
    # every event earlier than the one before it (the move into won, the comment) is marked
    earlier = [e for prev, e in zip(history, history[1:], strict=False) if str(e["at"]) < str(prev["at"])]
    assert [e["kind"] for e in earlier] == ["moved", "commented"], history
    assert all(e.get("backdated") is True for e in earlier), history
    checks_clean(cli)
    # a hand edit that puts history out of order without the marker is still check's to report
    path = repo / "deals" / f"{deal}.yaml"
    path.write_text(path.read_text().replace("backdated: true", "backdated: false"))
    assert "[history-order]" in cli("check").stdout


def test_a_repository_already_failing_check_can_still_be_repaired(cli, repo, deal):
    """Only what a write breaks is refused: a problem the record had on disk stays `check`'s."""
    path = repo / "deals" / f"{deal}.yaml"
    path.write_text(path.read_text().replace("company: null", "company: gone"))
    assert "[dangling-link]" in cli("check").stdout
    cli.ok("deal", "comment", deal, "still here")  # untouched problem: not this write's
    cli.ok("deal", "edit", deal, "--unset", "company")
    checks_clean(cli)


# -- the API the hook and `check --since` call -------------------------------------------------------------
class Tree:
    """A Lookup over plain dicts, as a hook would build from a git tree."""

    def __init__(self, records: dict[tuple[str, str], dict], pipelines: dict):
        self.records, self.pipelines, self.broken, self.session = records, pipelines, set(), None

    def exists(self, kind, record_id):
        return (kind, record_id) in self.records

    def pipeline(self, pipeline_id):
        return self.pipelines.get(pipeline_id)

    def linking(self, target, ids):
        for (kind, record_id), data in self.records.items():
            for folder, link in rules.neighbours(target):
                if folder == kind and rules.links_to(data, link, ids):
                    yield Doc(kind, record_id, Path(kind, f"{record_id}.yaml"), data, None)


def test_judge_finds_the_neighbours_a_delete_leaves_dangling(session, deal):
    from dealcli.storage import yamlcodec

    data = dict(session.repo.load("deals", deal).data, company="acme")
    tree = Tree({("deals", deal): data}, {"sales": session.pipeline("sales")})
    gone = Doc("companies", "acme", Path("companies/acme.yaml"), None, None)
    found = rules.judge([gone], tree)
    assert [(v.rule, v.path, v.field) for v in found] == [("dangling-link", f"deals/{deal}.yaml", "company")]
    tree.records[("companies", "acme")] = {"id": "acme", "name": "Acme"}
    assert rules.judge([Doc("deals", deal, Path(), yamlcodec.plain(data), None)], tree) == []


# -- rights cover creating into a stage, not only moving there -------------------------------------------
def test_a_manager_who_may_not_win_cannot_create_or_import_a_won_deal(cli, repo, tmp_path):
    """Reproduced from issue 23: `deal add --stage won`, an import row with stage=won and a recurring
    template in stage won made won deals for a manager with deal.stage[won]:move=none."""
    from test_access_cli import team

    team(cli)
    alice = "alice@x.io"
    before = files(repo)
    r = cli("deal", "add", "Won by hand", "--amount", "10", "--stage", "won", user=alice)
    assert r.returncode == 6 and "alice may not add deal" in r.stderr and "into stage won" in r.stderr, r.stderr
    src = tmp_path / "deals.csv"
    src.write_text("title,amount,stage\nImported,10,won\n")
    r = cli("import", str(src), user=alice)
    assert r.returncode == 6 and "into stage won" in r.stderr, r.stderr
    r = cli("recurring", "add", "Rent", "--every", "month", "--start", "2026-04-01", "--amount", "450",
            "--stage", "won", user=alice)
    assert r.returncode == 6 and "into stage won" in r.stderr, r.stderr
    assert files(repo) == before
    # the first stage needs no move right; a head may create won deals
    cli.ok("deal", "add", "Fresh", "--amount", "10", user=alice)
    cli.ok("deal", "add", "Won by head", "--amount", "10", "--stage", "won", user="carol@x.io")
    # a run creates its deals through the same decision: the head's template runs for the head
    cli.ok("recurring", "add", "Rent", "--every", "month", "--start", "2026-01-01", "--amount", "450",
           "--stage", "won", user="carol@x.io")
    cli.ok("recurring", "run", user="carol@x.io")
    checks_clean(cli)


def test_a_company_merge_that_cannot_repoint_a_hidden_deal_is_refused(cli, repo):
    """Reproduced from issue 23: the merge re-pointed the deals its user could see, deleted the
    company and left a dangling link in the others."""
    from test_access_cli import BOSS, team

    team(cli)
    alice = "alice@x.io"
    keep = cli.ok("company", "add", "Acme", user=alice).strip()
    dup = cli.ok("company", "add", "Acme Ltd", user=alice).strip()
    cli.ok("deal", "add", "Boss's", "--amount", "5", "--company", dup, user=BOSS)
    before = files(repo)
    r = cli("company", "merge", keep, dup, user=alice)
    assert r.returncode == 1 and "[dangling-link]" in r.stderr, r.stderr
    assert "you may not see" in r.stderr and "deals/" not in r.stderr  # nothing of the hidden deal
    assert files(repo) == before
    cli.ok("company", "merge", keep, dup, user=BOSS)
    checks_clean(cli)


# -- outputs never land inside the repository ------------------------------------------------------------
@pytest.mark.parametrize("args, target", [
    (("report", "--html"), "dealcli.yaml"),
    (("board", "--html"), "deals/page.html"),
    (("report", "--html"), "nowhere/../index.html"),
])
def test_html_outputs_inside_the_repository_are_refused(cli, repo, args, target):
    """Reproduced from issue 23: `board --html FILE` wrote any path, a restricted user could replace
    dealcli.yaml or a deal file."""
    cli.ok("deal", "add", "Shown", "--amount", "5")
    before = files(repo)
    proc = cli(*args, target)
    assert proc.returncode == 2, proc.stderr
    assert f"--html {target}: inside the repository" in proc.stderr and proc.stderr.count("\n") == 1
    assert files(repo) == before and not (repo / "index.html").exists()


def test_import_report_inside_the_repository_is_refused_before_importing(cli, repo, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("title,amount\nA,10\n")
    link = tmp_path / "there"
    link.symlink_to(repo)  # a link into the repository is inside it too
    for target in ("dealcli.yaml", link / "r.json"):
        proc = cli("import", src, "--report", target)
        assert proc.returncode == 2 and f"--report {target}: inside the repository" in proc.stderr, proc.stderr
    assert not list((repo / "deals").glob("*.yaml"))
    cli.ok("import", src, "--report", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())


# -- check words values as the CLI does ------------------------------------------------------------------
def test_check_words_values_as_the_cli_does(cli, repo, deal):
    """Reproduced from issue 23: check printed `Decimal('18500.00')` and lists of dicts as Python reprs."""
    path = repo / "deals" / f"{deal}.yaml"
    path.write_text(path.read_text() + "conflicts:\n- field: amount\n  kept: 18500.00\n  other: 17000.50\n"
                    "- field: products\n  kept: [{name: Seat, price: 10.50, quantity: 2}]\n  other: []\n")
    out = cli("check").stdout
    assert "kept 18500.00 (?), the other value was 17000.50" in out, out
    assert 'kept [{"name":"Seat","price":10.50,"quantity":2}]' in out, out
    path.write_text(path.read_text().replace("amount: 500.00", "amount: 2000000000000000.00"))
    out = cli("check").stdout
    assert "amount: 2000000000000000.00 is greater than the maximum" in out, out
    assert "Decimal(" not in out and "{'" not in out


def test_judge_runs_a_changed_pipelines_rules_on_its_deals(session, deal):
    """A pipeline edit can break the deals it judges (a new requirement): they are its neighbours."""
    from dealcli.storage import yamlcodec

    pipeline = session.repo.load("pipelines", "sales").data
    stricter = dict(pipeline, rules={"require": [{"field": "close_date", "from_stage": "new"}]})
    tree = Tree({("deals", deal): session.repo.load("deals", deal).data}, {})
    tree.pipelines["sales"] = session.pipeline("sales").from_dict(yamlcodec.plain(stricter))
    changed = Doc("pipelines", "sales", Path("pipelines/sales.yaml"), yamlcodec.plain(stricter), None)
    found = rules.judge([changed], tree)
    assert [(v.rule, v.path) for v in found] == [("required-field", f"deals/{deal}.yaml")]
