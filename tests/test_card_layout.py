"""The deal card (issue 26 item 2): fields hidden per pipeline and per role, standard fields
placed in the card's sections; honoured by `deal show`, the board (terminal and HTML), the client
card (`company show`, `contact show`), `agenda` (and its -f ics) and `calendar`, not by the
machine formats; validated by `pipeline edit` and `check` with a "did you mean". Through the CLI."""

from __future__ import annotations

import json

BOSS = "boss@x.io"

CARD = """\
sections:
  - {id: money, title: Money, fields: [amount, probability, close_date]}
  - {id: about, title: About the deal, fields: [client, source]}
fields:
  - {name: contract_no, type: string, section: about}
  - {name: segment, type: enum, values: [smb, enterprise]}
hidden: [type, segment]
hidden_by_role:
  viewer: [amount]
"""


def card(cli, repo, text=CARD, **kw):
    (repo / "card.yaml").write_text(text)
    return cli("pipeline", "edit", "sales", "--card", repo / "card.yaml", **kw)


def deal(cli, **kw):
    return cli.ok("--quiet", "deal", "add", "Big order", "--amount", "1234", "--company", "Acme", "--type", "sale",
                  "--source", "web", "--set", "contract_no=C-1", "--set", "segment=smb", "--close-date",
                  "2026-05-01", **kw).strip()


def blocks(text):
    """The card's text as {heading: [lines]}: '' holds the main block."""
    out, head = {"": []}, ""
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            head = line[:-1]
            out[head] = []
        elif line.strip():
            out[head].append(line.split()[0])
    return out


def test_sections_place_standard_fields_in_order_and_hidden_fields_are_left_off(cli, repo):
    assert card(cli, repo).returncode == 0
    deal_id = deal(cli)
    shown = cli.ok("deal", "show", deal_id)
    parts = blocks(shown)
    assert list(parts) == ["", "Money", "About the deal"]  # the sections in the card's order
    assert parts["Money"] == ["amount", "probability", "close_date"]
    assert parts["About the deal"] == ["company", "source", "contract_no"]  # client = company (+ contacts)
    for placed in ("amount", "probability", "close_date", "company", "source"):
        assert placed not in parts[""]  # shown in its section, not twice
    assert "type" not in parts[""] and "segment" not in shown and "smb" not in shown  # hidden
    assert "1,234.00 USD" in shown or "1234.00 USD" in shown
    # machine formats keep every field the user may read: hiding is the card's, not a right
    record = json.loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    assert record["type"] == "sale" and record["fields"]["segment"] == "smb" and record["amount"] == 1234
    # pipeline show says how the card is laid out
    layout = cli.ok("pipeline", "show", "sales")
    assert "hidden: type, segment" in layout and "hidden for viewer: amount" in layout
    assert "amount       standard" in layout


def test_fields_hidden_for_a_role_are_left_off_that_users_card_and_board(cli, repo):
    cli.ok("user", "add", "boss", "--email", BOSS, "--role", "admin", user=BOSS)
    cli.ok("user", "add", "vic", "--email", "vic@x.io", "--role", "viewer", user=BOSS)
    assert card(cli, repo, user=BOSS).returncode == 0
    deal_id = deal(cli, user=BOSS)
    as_boss = cli.ok("deal", "show", deal_id, user=BOSS)
    as_viewer = cli.ok("deal", "show", deal_id, user="vic@x.io")
    assert "amount" in blocks(as_boss)["Money"] and "amount" not in blocks(as_viewer)["Money"]
    assert "1,234" not in as_viewer and "1234" not in as_viewer
    assert json.loads(cli.ok("deal", "show", deal_id, "-f", "json", user="vic@x.io"))["amount"] == 1234
    board = cli.ok("board", user="vic@x.io")
    assert "Big order" in board
    assert "1234.00 USD" in cli.ok("board", user=BOSS).split("Big order")[1]
    assert "1234.00 USD" not in board.split("Big order")[1]  # the card; the column's sum stays
    page = cli.ok("board", "--html", "-", user="vic@x.io")
    card_html = page.split('class="card"')[1].split("</li>")[0]
    assert "Big order" in card_html and "1,234" not in card_html
    assert "1,234" in cli.ok("board", "--html", "-", user=BOSS).split('class="card"')[1].split("</li>")[0]
    assert json.loads(cli.ok("board", "-f", "json", user="vic@x.io"))["hidden"] == ["amount", "segment", "type"]


def test_unknown_fields_are_refused_with_a_suggestion_by_edit_and_check(cli, repo):
    proc = card(cli, repo, "hidden: [amout]\nsections:\n  - {id: a, fields: [stgae]}\n")
    assert proc.returncode == 1
    assert "unknown field 'amout' (did you mean 'amount'?)" in proc.stderr
    assert "unknown field 'stgae' (did you mean 'stage'?)" in proc.stderr
    proc = card(cli, repo, "hidden: [title]\nsections:\n  - {id: a, fields: [products]}\n"
                "  - {id: b, fields: [amount]}\n  - {id: c, fields: [amount]}\n")
    assert proc.returncode == 1 and "'title' cannot be hidden" in proc.stderr
    assert "products are a block of their own" in proc.stderr and "placed in sections 'b' and 'c'" in proc.stderr
    assert card(cli, repo).returncode == 0
    path = repo / "pipelines" / "sales.yaml"
    path.write_text(path.read_text().replace("- segment", "- segmnt"))  # a hand edit
    proc = cli("check")
    assert proc.returncode == 1 and "unknown field 'segmnt' (did you mean 'segment'?)" in proc.stdout + proc.stderr


VIEWER_CARD = """\
hidden_by_role:
  viewer: [amount, stage, responsible, next_activity, comments, lost_reason]
"""


def _crew_with_hidden_fields(cli, repo):
    """boss (admin) and vic (viewer, whose card hides amount, stage, responsible, next activity,
    comments and lost reason); Acme's deals: one open with an activity, one lost, both closing
    in May 2026."""
    cli.ok("user", "add", "boss", "--email", BOSS, "--role", "admin", user=BOSS)
    cli.ok("user", "add", "vic", "--email", "vic@x.io", "--role", "viewer", user=BOSS)
    assert card(cli, repo, VIEWER_CARD, user=BOSS).returncode == 0
    cli.ok("--quiet", "contact", "add", "Ann Lee", user=BOSS)
    open_id = cli.ok("--quiet", "deal", "add", "Big order", "--amount", "1234", "--company", "Acme", "--contact",
                     "Ann Lee", "--close-date", "2026-05-01", user=BOSS).strip()
    cli.ok("--quiet", "deal", "comment", open_id, "Secret remark", user=BOSS)
    cli.ok("--quiet", "activity", "add", open_id, "--type", "call", "--subject", "Ring them", "--due",
           "2026-03-10 15:00", user=BOSS)
    lost_id = cli.ok("--quiet", "deal", "add", "Lost order", "--amount", "555", "--company", "Acme",
                     "--close-date", "2026-05-02", user=BOSS).strip()
    cli.ok("--quiet", "deal", "close", lost_id, "--lost", "--reason", "Too dear", user=BOSS)
    return open_id, lost_id


def test_the_client_card_hides_what_the_deal_card_hides(cli, repo):
    _crew_with_hidden_fields(cli, repo)
    boss = cli.ok("company", "show", "Acme", user=BOSS)
    vic = cli.ok("company", "show", "Acme", user="vic@x.io")
    for text in ("1234.00", "Secret remark", "Too dear", "555.00"):
        assert text in boss, text
        assert text not in vic.split("deals:")[1].split("\n", 1)[1], text  # the sums line stays (as the board's)
    assert "Big order" in vic and "Lost order" in vic and "deal lost: Lost order, \u2026" in vic
    data = json.loads(cli.ok("company", "show", "Acme", "-f", "json", user="vic@x.io"))  # the data keeps all
    assert {d["title"]: d["amount"] for d in data["deals"]} == {"Big order": 1234, "Lost order": 555}
    assert data["deals"][0]["hidden"] == ["amount", "comments", "lost_reason", "next_activity", "responsible",
                                          "stage"]
    assert "hidden" not in json.loads(cli.ok("company", "show", "Acme", "-f", "json", user=BOSS))["deals"][0]
    contact = {who: cli.ok("contact", "show", "Ann Lee", user=who) for who in (BOSS, "vic@x.io")}
    assert "Secret remark" in contact[BOSS] and "1234.00" in contact[BOSS]
    assert "Secret remark" not in contact["vic@x.io"]
    assert "1234.00" not in contact["vic@x.io"].split("deals:")[1].split("\n", 1)[1]


def test_agenda_and_its_calendar_file_hide_what_the_deal_card_hides(cli, repo):
    _crew_with_hidden_fields(cli, repo)
    boss = cli.ok("agenda", user=BOSS)
    vic = cli.ok("agenda", user="vic@x.io")
    assert "Big order" in vic and "Big order" in boss
    for text in ("1234.00", "Ring them", "boss", "New"):
        assert text in boss.split("Big order")[1].split("\n")[0], text
        assert text not in vic.split("Big order")[1].split("\n")[0], text
    rows = json.loads(cli.ok("agenda", "-f", "json", user="vic@x.io"))  # the data keeps every field
    assert rows[0]["amount"] == 1234 and rows[0]["responsible"] == "boss" and "hidden" not in rows[0]
    ics_boss = cli.ok("agenda", "-f", "ics", user=BOSS)
    ics_vic = cli.ok("agenda", "-f", "ics", user="vic@x.io")
    assert "1234" in ics_boss and "X-DEALCLI-RESPONSIBLE" in ics_boss
    assert "1234" not in ics_vic and "X-DEALCLI-RESPONSIBLE" not in ics_vic and "Ring them" in ics_vic


def test_the_calendar_hides_what_the_deal_card_hides(cli, repo):
    _crew_with_hidden_fields(cli, repo)
    boss = cli.ok("calendar", "--month", "2026-05", user=BOSS)
    vic = cli.ok("calendar", "--month", "2026-05", user="vic@x.io")
    big = lambda text: text.split("Big order")[1].split("\n")[0]  # noqa: E731
    assert "1234.00 USD" in big(boss) and "New" in big(boss)
    assert "1234" not in big(vic) and "New" not in big(vic) and "Lost order" in vic
    rows = json.loads(cli.ok("calendar", "--month", "2026-05", "-f", "json", user="vic@x.io"))
    assert {r["title"]: r["amount"] for r in rows} == {"Big order": 1234, "Lost order": 555}
