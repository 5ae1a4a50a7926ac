"""The installed `dealcli` over companies, contacts, products, leads, quotes, activities, the
agenda, the nudge and check's dangling links."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from conftest import json_decimal as loads


def one_line_error(proc, code, *needles):
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("dealcli: error")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]


def files(repo, kind):
    folder = repo / kind
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- companies and contacts ------------------------------------------------------------------------
def test_company_and_contact_round_trip_in_every_format(cli, repo):
    co = cli.ok("company", "add", "Acme Corp", "--email", "info@acme.com", "--phone", "+1 555 0100",
                "--set", "industry=tools").strip()
    ct = cli.ok("contact", "add", "Jane Doe", "--company", "acme corp", "--email", "jane@acme.com",
                "--birthday", "1980-05-01").strip()
    contact = loads(cli.ok("contact", "show", ct, "-f", "json"))
    assert contact["company"] == co and contact["birthday"] == "1980-05-01"
    assert contact["created_by"] == "tester@example.com"
    company = loads(cli.ok("company", "show", "ACME CORP", "-f", "json"))
    assert company["emails"] == ["info@acme.com"] and company["fields"] == {"industry": "tools"}
    assert cli.ok("company", "list", "-f", "ids").split() == [co]
    rows = list(csv.DictReader(io.StringIO(cli.ok("contact", "list", "-f", "csv"))))
    assert rows[0]["name"] == "Jane Doe" and rows[0]["company"] == co
    assert [loads(x)["id"] for x in cli.ok("contact", "list", "-f", "jsonl").splitlines()] == [ct]
    assert "Jane Doe" in cli.ok("contact", "list") and "jane@acme.com" in cli.ok("contact", "show", ct)
    assert cli.ok("contact", "edit", ct[:5], "--phone", "030 1234", "--unset", "birthday").strip() == ct
    contact = loads(cli.ok("contact", "show", ct, "-f", "json"))
    assert contact["phones"] == ["030 1234"] and contact["birthday"] is None


@pytest.mark.parametrize("args, needle", [
    (("company", "add", "X", "--email", "not-an-email"), "not-an-email"),
    (("contact", "add", "X", "--phone", "call me"), "call me"),
    (("contact", "add", "X", "--birthday", "someday"), "someday"),
    (("contact", "add", "X", "--birthday", "2090-01-01"), "future"),
])
def test_malformed_client_values_are_refused_and_nothing_is_written(cli, repo, args, needle):
    one_line_error(cli(*args), 2, needle)
    assert files(repo, "contacts") == [] and files(repo, "companies") == []


def test_deal_add_resolves_company_and_contact_by_name_creates_unknown_ones_and_links_them(cli, repo):
    co = cli.ok("company", "add", "Acme Corp").strip()
    proc = cli("deal", "add", "Big", "--company", "ACME corp", "--contact", "Bob New")
    assert proc.returncode == 0
    deal = loads(cli.ok("deal", "show", proc.stdout.strip(), "-f", "json"))
    assert deal["company"] == co
    assert "created contact" in proc.stderr and "Bob New" in proc.stderr
    contact = loads(cli.ok("contact", "show", deal["contacts"][0], "-f", "json"))
    assert contact["name"] == "Bob New" and contact["company"] == co   # linked to the deal's company
    card = cli.ok("deal", "show", deal["id"])
    assert f"Acme Corp ({co})" in card and "Bob New (" in card


def test_ambiguous_client_name_is_an_error_listing_the_matches(cli, repo):
    a = cli.ok("company", "add", "Twin").strip()
    b = cli.ok("company", "add", "Twin").strip()
    one_line_error(cli("deal", "add", "X", "--company", "twin"), 3, a, b)
    assert files(repo, "deals") == []


def test_repeat_deal_uses_real_client_identity(cli):
    first = cli.ok("deal", "add", "First", "--company", "Acme", "--contact", "Jane").strip()
    cli.ok("deal", "close", first, "--won")
    by_company = cli.ok("deal", "add", "Again", "--company", "acme").strip()
    by_contact = cli.ok("deal", "add", "Via Jane", "--contact", "jane").strip()
    other = cli.ok("deal", "add", "Other", "--company", "Globex").strip()
    repeat = {d: loads(cli.ok("deal", "show", d, "-f", "json"))["repeat"] for d in (by_company, by_contact, other)}
    assert repeat == {by_company: True, by_contact: True, other: False}


# -- products --------------------------------------------------------------------------------------
def test_catalogue_product_is_copied_into_the_deal_row(cli, repo):
    pid = cli.ok("product", "add", "Consulting hour", "--price", "120.50", "--tax", "20", "--sku", "CONS",
                 "--unit", "hour").strip()
    product = loads(cli.ok("product", "show", "cons", "-f", "json"))
    assert product["price"] == Decimal("120.50") and product["tax_rate"] == Decimal("20") and product["unit"] == "hour"
    deal_id = cli.ok("deal", "add", "D", "--product", pid[:4], "--product", f"{pid}:2:50",
                     "--product", "Setup:100").strip()
    deal = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    rows = deal["products"]
    assert [r["product"] for r in rows] == [pid, pid, None]
    assert rows[0]["name"] == "Consulting hour" and rows[0]["price"] == Decimal("120.50")
    assert rows[0]["tax_rate"] == Decimal("20")
    assert rows[1]["quantity"] == Decimal("2") and rows[1]["discount"] == Decimal("50")
    assert deal["amount"] == Decimal("389.20")  # 120.50 +20% tax, twice that at 50% off, + 100
    # the row keeps its own price when the catalogue changes
    path = repo / "products" / f"{pid}.yaml"
    path.write_text(path.read_text().replace("price: 120.50", "price: 999"))
    again = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    assert again["products"][0]["price"] == Decimal("120.50")
    assert cli.ok("product", "list", "-f", "ids").split() == [pid]


def test_product_errors(cli, repo):
    one_line_error(cli("product", "add", "X", "--price", "cheap"), 2, "cheap")
    one_line_error(cli("product", "add", "X", "--price", "1", "--tax", "150"), 2, "150")
    one_line_error(cli("deal", "add", "D", "--product", "nosuch"), 3, "nosuch")
    assert files(repo, "products") == [] and files(repo, "deals") == []


# -- leads -----------------------------------------------------------------------------------------
def test_lead_convert_matches_clients_by_email_then_name_and_links_both_ways(cli, repo):
    jane = cli.ok("contact", "add", "Jane Renamed", "--email", "jane@acme.com").strip()
    acme = cli.ok("company", "add", "Acme Corp").strip()
    lead = cli.ok("lead", "add", "Website", "--contact-name", "Jane Doe", "--company-name", "acme corp",
                  "--email", "JANE@acme.com", "--phone", "+1 555 0100", "--source", "web", "--amount",
                  "5000.00").strip()
    rows = loads(cli.ok("lead", "list", "-f", "json"))
    assert rows[0]["status"] == "new" and rows[0]["amount"] == Decimal("5000.00")
    proc = cli("lead", "convert", lead[:6])
    assert proc.returncode == 0, proc.stderr
    deal_id = proc.stdout.strip()
    assert "no next step" in proc.stderr  # the nudge
    deal = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    assert deal["company"] == acme and deal["contacts"] == [jane]
    assert deal["lead"] == lead and deal["amount"] == Decimal("5000.00") and deal["source"] == "web"
    converted = loads(cli.ok("lead", "show", lead, "-f", "json"))
    assert converted["status"] == "converted" and converted["deal"] == deal_id
    assert len(files(repo, "companies")) == 1 and len(files(repo, "contacts")) == 1
    one_line_error(cli("lead", "convert", lead), 1, "already converted")
    assert len(files(repo, "deals")) == 1


def test_lead_convert_creates_missing_clients_in_the_chosen_pipeline_stage(cli, repo):
    lead = cli.ok("lead", "add", "Shop", "--contact-name", "Olivia", "--company-name", "Trey").strip()
    deal_id = cli.ok("lead", "convert", lead, "--stage", "preparation").strip()
    deal = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    assert deal["stage"] == "preparation"
    company = loads(cli.ok("company", "show", deal["company"], "-f", "json"))
    contact = loads(cli.ok("contact", "show", deal["contacts"][0], "-f", "json"))
    assert company["name"] == "Trey" and contact["name"] == "Olivia" and contact["company"] == company["id"]


def test_lead_errors(cli, repo):
    one_line_error(cli("lead", "add", "X", "--email", "nope"), 2, "nope")
    one_line_error(cli("lead", "add", "X", "--amount", "lots"), 2, "lots")
    one_line_error(cli("lead", "convert", "zzzz"), 3, "zzzz")
    lead = cli.ok("lead", "add", "X", "--company-name", "Co").strip()
    one_line_error(cli("lead", "convert", lead, "--stage", "nope"), 1, "nope")
    assert files(repo, "companies") == [] and files(repo, "deals") == []


# -- quotes and --from ---------------------------------------------------------------------------------
def test_deal_from_quote_copies_client_and_products(cli):
    quote = cli.ok("quote", "add", "Offer", "--product", "Setup:500", "--product", "Hours:100:3",
                   "--company", "Acme", "--contact", "Jane", "--valid-until", "+2w").strip()
    q = loads(cli.ok("quote", "show", quote, "-f", "json"))
    assert q["amount"] == Decimal("800.00") and q["valid_until"] == "2026-03-24"
    deal_id = cli.ok("deal", "add", "From offer", "--from", f"quote:{quote}").strip()
    deal = loads(cli.ok("deal", "show", deal_id, "-f", "json"))
    assert deal["company"] == q["company"] and deal["contacts"] == q["contacts"]
    assert [r["name"] for r in deal["products"]] == ["Setup", "Hours"] and deal["amount"] == Decimal("800.00")
    assert deal["quote"] == quote
    assert cli.ok("quote", "list", "-f", "ids").split() == [quote]


def test_deal_from_contact_company_and_lead(cli):
    co = cli.ok("company", "add", "Acme").strip()
    ct = cli.ok("contact", "add", "Jane", "--company", co).strip()
    from_contact = loads(cli.ok("deal", "show", cli.ok("deal", "add", "A", "--from", f"contact:{ct}").strip(),
                                     "-f", "json"))
    assert from_contact["contacts"] == [ct] and from_contact["company"] == co
    from_company = loads(cli.ok("deal", "show", cli.ok("deal", "add", "B", "--from", "company:acme").strip(),
                                     "-f", "json"))
    assert from_company["company"] == co and from_company["contacts"] == []
    lead = cli.ok("lead", "add", "L", "--contact-name", "Jane", "--amount", "70").strip()
    from_lead = loads(cli.ok("deal", "show", cli.ok("deal", "add", "C", "--from", f"lead:{lead}").strip(),
                                  "-f", "json"))
    assert from_lead["contacts"] == [ct] and from_lead["company"] == co and from_lead["amount"] == Decimal("70.00")
    one_line_error(cli("deal", "add", "D", "--from", "planet:1"), 2, "planet")
    one_line_error(cli("deal", "add", "D", "--from", "quote:nope"), 3, "nope")


# -- activities, agenda, nudge ---------------------------------------------------------------------
def test_activity_lifecycle_and_list_formats(cli):
    deal = cli.ok("deal", "add", "D", "--responsible", "sam@example.com").strip()
    a1 = cli.ok("activity", "add", deal, "--type", "call", "--subject", "Intro", "--due", "tomorrow 10:00").strip()
    a2 = cli.ok("activity", "add", deal[:5], "--type", "meeting", "--subject", "Demo").strip()
    late = cli("activity", "add", deal, "--type", "task", "--subject", "Late", "--due", "yesterday 09:00")
    assert "past" in late.stderr
    a3 = late.stdout.strip()
    acts = {a["id"]: a for a in loads(cli.ok("activity", "list", "-f", "json"))}
    assert acts[a1]["due"] == "2026-03-11T10:00:00+00:00"
    assert acts[a2]["due"] == "2026-03-13T12:00:00+00:00"   # three working days later, on the hour
    assert acts[a1]["responsible"] == "sam@example.com" and acts[a1]["done"] is False
    assert cli.ok("activity", "list", "--overdue", "-f", "ids").split() == [a3]
    assert cli.ok("activity", "list", "--deal", deal, "-f", "ids").split() == [a3, a1, a2]
    assert "next_activity" in cli.ok("deal", "show", deal) and "Late" in cli.ok("deal", "show", deal)
    for fmt in ("csv", "tsv", "yaml", "jsonl", "table"):
        assert "Intro" in cli.ok("activity", "list", "-f", fmt)
    assert cli.ok("activity", "done", a3).strip() == a3
    done = loads(cli.ok("activity", "list", "--all", "-f", "json"))
    assert [a["done"] for a in done if a["id"] == a3] == [True]
    assert a3 not in cli.ok("activity", "list", "-f", "ids")
    again = cli("activity", "done", a3)  # done twice: a no-op with a notice
    assert again.returncode == 0 and again.stdout == "" and "already done" in again.stderr


def test_activity_done_on_the_last_pending_one_nudges(cli):
    deal = cli.ok("deal", "add", "D").strip()
    act = cli.ok("activity", "add", deal, "--type", "call", "--subject", "Ring").strip()
    proc = cli("activity", "done", act)
    assert proc.stdout.strip() == act
    assert f"deal {deal} has no next step: dealcli activity add {deal}" in proc.stderr
    assert cli("--quiet", "activity", "done", act).stderr.count("next step") == 0


@pytest.mark.parametrize("args, code, needle", [
    (("--type", "fax", "--subject", "S"), 2, "fax"),
    (("--type", "call", "--subject", "S", "--due", "when pigs fly"), 2, "when pigs fly"),
    (("--type", "call", "--subject", "  "), 2, "subject"),
])
def test_bad_activities_are_refused(cli, repo, args, code, needle):
    deal = cli.ok("deal", "add", "D").strip()
    one_line_error(cli("activity", "add", deal, *args), code, needle)
    assert files(repo, "activities") == []


def test_activity_on_a_closed_or_unknown_deal_is_refused(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    cli.ok("deal", "close", deal, "--lost")
    one_line_error(cli("activity", "add", deal, "--type", "call", "--subject", "S"), 1, "closed")
    one_line_error(cli("activity", "add", "zzzz", "--type", "call", "--subject", "S"), 3, "zzzz")
    assert files(repo, "activities") == []


def test_nudge_on_deal_add_and_move_stays_off_stdout(cli):
    proc = cli("deal", "add", "D")
    deal = proc.stdout.strip()
    assert len(proc.stdout.splitlines()) == 1
    hint = [line for line in proc.stderr.splitlines() if "next step" in line]
    assert hint == [f"dealcli: deal {deal} has no next step: dealcli activity add {deal} --type call "
                    "--subject 'Follow up' --due '2026-03-13 12:00'"]
    assert "next step" in cli("deal", "move", deal, "preparation").stderr
    assert cli("-q", "deal", "move", deal, "executing").stderr == ""
    cli.ok("activity", "add", deal, "--type", "call", "--subject", "S")
    assert "next step" not in cli("deal", "move", deal, "final_invoice").stderr
    assert "next step" not in cli("deal", "add", "Won at once", "--stage", "won").stderr


def test_agenda_groups_deals_by_next_activity(cli):
    ids = {}
    for title, due in (("Late", "yesterday 10:00"), ("Now", "today 18:00"), ("Thu", "+2d 10:00"),
                       ("NextWk", "+7d 10:00"), ("Far", "+30d"), ("None", None)):
        ids[title] = cli.ok("deal", "add", title).strip()
        if due:
            cli.ok("activity", "add", ids[title], "--type", "call", "--subject", f"S {title}", "--due", due)
    closed = cli.ok("deal", "add", "Closed").strip()
    cli.ok("activity", "add", closed, "--type", "call", "--subject", "x")
    cli.ok("deal", "close", closed, "--won")
    rows = loads(cli.ok("agenda", "-f", "json"))
    assert [(r["group"], r["title"]) for r in rows] == [
        ("overdue", "Late"), ("today", "Now"), ("this-week", "Thu"), ("next-week", "NextWk"), ("later", "Far"),
        ("no-activity", "None")]
    assert rows[0]["activity_subject"] == "S Late" and rows[0]["amount"] == Decimal("0.00")
    table = cli.ok("agenda")
    for heading in ("OVERDUE (1)", "Today (1)", "This week (1)", "Next week (1)", "Later (1)",
                    "Without activities (1)"):
        assert heading in table
    assert cli.ok("agenda", "-f", "ids").split() == [ids[t] for t in ("Late", "Now", "Thu", "NextWk", "Far", "None")]
    rows = list(csv.DictReader(io.StringIO(cli.ok("agenda", "-f", "csv"))))
    assert rows[-1]["group"] == "no-activity"


# -- check -----------------------------------------------------------------------------------------
def test_check_reports_dangling_links_with_file_and_line(cli, repo):
    pid = cli.ok("product", "add", "P", "--price", "5").strip()
    deal = cli.ok("deal", "add", "D", "--company", "Acme", "--contact", "Jane", "--product", pid).strip()
    cli.ok("activity", "add", deal, "--type", "call", "--subject", "S")
    assert cli("check").returncode == 0
    company = loads(cli.ok("deal", "show", deal, "-f", "json"))["company"]
    (repo / "companies" / f"{company}.yaml").unlink()
    (repo / "products" / f"{pid}.yaml").unlink()
    proc = cli("check", "-f", "json")
    assert proc.returncode == 1
    found = {(p["path"], p["field"]) for p in loads(proc.stdout) if p["rule"] == "dangling-link"}
    assert found == {(f"deals/{deal}.yaml", "company"), (f"deals/{deal}.yaml", "products.0.product"),
                     (f"contacts/{loads(cli.ok('deal', 'show', deal, '-f', 'json'))['contacts'][0]}.yaml",
                      "company")}
    assert all(p["line"] for p in loads(proc.stdout))
    (repo / "deals" / f"{deal}.yaml").unlink()
    text = cli("check").stdout
    assert "activities/" in text and f"deal '{deal}' does not exist" in text


def test_check_validates_client_records_against_their_schemas(cli, repo):
    cli.ok("company", "add", "Acme")
    path = next((repo / "companies").iterdir())
    path.write_text(path.read_text().replace("emails: []", "emails: 7"))
    proc = cli("check")
    assert proc.returncode == 1 and f"companies/{path.name}:" in proc.stdout and "emails" in proc.stdout


def test_example_repository_has_clients_products_and_activities(tmp_path):
    from conftest import Runner

    run = Runner(tmp_path)
    run("init", tmp_path / "ex", "--example", "--timezone", "UTC", check=True)
    ex = Runner(tmp_path / "ex")
    assert ex("check").returncode == 0
    assert len(ex.ok("product", "list", "-f", "ids").split()) >= 3
    assert len(ex.ok("company", "list", "-f", "ids").split()) >= 5
    groups = {r["group"] for r in loads(ex.ok("agenda", "-f", "json"))}
    assert {"overdue", "today", "no-activity"} <= groups and groups & {"this-week", "next-week", "later"}
    catalogue_rows = [row for deal_id in ex.ok("agenda", "-f", "ids").split()
                      for row in loads(ex.ok("deal", "show", deal_id, "-f", "json"))["products"] if row["product"]]
    assert catalogue_rows, "some example deals carry catalogue products"
    assert len(ex.ok("activity", "list", "--overdue", "-f", "ids").split()) >= 1
