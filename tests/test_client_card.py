"""The client card (issue 26 item 3): `company show` and `contact show` list the client's deals
(open, won, lost with sums) and one timeline of deals, comments, activities and messages, in
the table and in -f json; other formats keep printing the record alone; access rights apply."""

from __future__ import annotations

import json
from pathlib import Path

from test_access_cli import BOSS, team

MAIL = Path(__file__).parent / "fixtures" / "activities" / "5q0pq75tyk.yaml"


def client(cli, repo):
    """Acme with an open deal (a planned call), a won deal (a comment) and a lost deal; Jane of
    Acme on the won deal; an e-mail recorded on the open deal."""
    cli.ok("company", "add", "Acme")
    cli.ok("contact", "add", "Jane Roe", "--company", "Acme")
    ids = {}
    ids["open"] = cli.ok("deal", "add", "Renewal", "--company", "Acme", "--amount", "300").strip()
    ids["won"] = cli.ok("deal", "add", "Licences", "--company", "Acme", "--contact", "Jane Roe", "--amount", "1000",
                        now="2026-01-05T10:00:00+00:00").strip()
    cli.ok("deal", "comment", ids["won"], "Signed on paper", now="2026-01-20T10:00:00+00:00")
    cli.ok("deal", "close", ids["won"], "--won", now="2026-02-01T10:00:00+00:00")
    ids["lost"] = cli.ok("deal", "add", "Training", "--company", "Acme", "--amount", "50",
                         now="2026-02-02T10:00:00+00:00").strip()
    cli.ok("deal", "close", ids["lost"], "--lost", "--reason", "no budget", now="2026-02-03T10:00:00+00:00")
    ids["other"] = cli.ok("deal", "add", "Someone else's", "--company", "Globex", "--amount", "5").strip()
    cli.ok("activity", "add", ids["open"], "--type", "call", "--subject", "Call about the renewal", "--due",
           "2026-03-12 10:00")
    (repo / "activities" / "5q0pq75tyk.yaml").write_text(MAIL.read_text().replace("s3at8nvej3", ids["open"]))
    return ids


def test_company_show_lists_deals_with_sums_and_one_timeline(cli, repo):
    ids = client(cli, repo)
    out = cli.ok("company", "show", "Acme")
    assert "name         Acme" in out
    assert "deals: open 1 (300.00 USD); won 1 (1000.00 USD); lost 1 (50.00 USD)" in out
    assert "Someone else's" not in out
    timeline = out.split("timeline:")[1]
    lines = [line for line in timeline.splitlines() if line[:4].isdigit()]
    texts = [line.split(None, 3)[3] for line in lines]
    # newest first: the planned call, the e-mail, ..., the first deal's creation last
    assert texts[0].startswith("planned: Call about the renewal")
    assert any("from Jürgen Müller <juergen.consult@gmail.com>: Re: Angebot für Acme" in t for t in texts)
    assert any("deal lost: Training, 50.00 USD (no budget)" in t for t in texts)
    assert any("Signed on paper" in t for t in texts)
    assert texts[-1].startswith("deal created: Licences")

    data = json.loads(cli.ok("company", "show", "Acme", "-f", "json"), parse_float=str)
    assert data["name"] == "Acme" and data["id"]
    assert sorted(d["id"] for d in data["deals"]) == sorted([ids["open"], ids["won"], ids["lost"]])
    assert {(t["status"], t["deals"], t["amount"]) for t in data["deal_totals"]} == {
        ("open", 1, "300.00"), ("won", 1, "1000.00"), ("lost", 1, "50.00")}
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds[0] == "call" and "email" in kinds and "won" in kinds and "lost" in kinds and "comment" in kinds
    mail = next(e for e in data["timeline"] if e["kind"] == "email")
    assert mail["deal"] == ids["open"] and mail["activity"] == "5q0pq75tyk"
    # csv keeps the record alone, as before
    rows = cli.ok("company", "show", "Acme", "-f", "csv").splitlines()
    assert len(rows) == 2 and rows[0].startswith("format,id,name")


def test_contact_show_lists_the_deals_it_is_on(cli, repo):
    ids = client(cli, repo)
    data = json.loads(cli.ok("contact", "show", "Jane Roe", "-f", "json"))
    assert [d["id"] for d in data["deals"]] == [ids["won"]]
    assert "deals: won 1 (1000.00 USD); open 0; lost 0" in cli.ok("contact", "show", "Jane Roe")
    cli.ok("contact", "add", "Nobody")
    assert "deals: none" in cli.ok("contact", "show", "Nobody")


def test_the_card_shows_only_what_the_user_may_read(cli, repo):
    team(cli)
    company = cli.ok("company", "add", "Shared", user="alice@x.io").strip()
    cli.ok("deal", "add", "Alice's", "--company", company, "--amount", "10", user="alice@x.io")
    cli.ok("deal", "add", "Bob's", "--company", company, "--amount", "7777", user=BOSS)
    cli.ok("deal", "edit", "-", "--responsible", "bob", input=cli.ok("filter", "title=Bob's", "-f", "ids", user=BOSS),
           user=BOSS)
    assert "Bob's" in cli.ok("company", "show", company, user=BOSS)
    seen = json.loads(cli.ok("company", "show", "Shared", "-f", "json", user="alice@x.io"))
    assert [d["title"] for d in seen["deals"]] == ["Alice's"]
    assert "7777" not in cli.ok("company", "show", "Shared", user="alice@x.io")
