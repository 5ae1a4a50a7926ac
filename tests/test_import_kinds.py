"""`import --kind company|contact|product` (issue 24 item 4, in part): the Maven accounts and
products, a HubSpot contacts export; re-runs change nothing; deals then find the companies."""

import pytest
from conftest import FIXTURES
from test_import_cli import by, names, records

from dealcli.storage import yamlcodec

IMP = FIXTURES / "import"


def test_maven_accounts_load_as_companies_and_deals_find_them(cli, repo):
    out = cli("import", IMP / "maven_accounts.csv", "--kind", "company", "--keep-unmapped")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split()) == 85 and "85 companies created" in out.stderr
    acme = next(c for c in records(repo, "companies") if c["name"] == "Acme Corporation")
    assert acme["fields"]["sector"] == "technolgy"  # kept as the source has it
    assert acme["fields"]["year_established"] == "1996"
    again = cli("import", IMP / "maven_accounts.csv", "--kind", "company", "--keep-unmapped")
    assert again.stdout == "" and "0 companies created, 0 updated, 85 unchanged" in again.stderr
    cli.ok("import", IMP / "maven_sales_pipeline_slice.csv", "--map", "account=company",
           "--map", "opportunity_id=origin_id", "--map", "deal_stage=stage",
           "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing")
    assert len(records(repo, "companies")) == 85  # the deals' accounts are the companies loaded
    assert cli("check").returncode == 0


def test_maven_products_load_as_the_catalogue(cli, repo):
    proc = cli("import", IMP / "maven_products.csv", "--kind", "product")
    assert proc.returncode == 0, proc.stderr
    catalogue = {p["name"]: p for p in records(repo, "products")}
    assert len(catalogue) == 7 and str(catalogue["GTK 500"]["price"]) == "26768"
    assert "ignored columns 'series'" in proc.stderr
    assert "0 products created, 0 updated, 7 unchanged" in cli("import", IMP / "maven_products.csv",
                                                               "--kind", "product").stderr


def test_hubspot_contacts_export(cli, repo, tmp_path):
    cli.ok("import", IMP / "hubspot_contacts.csv", "--kind", "contact", "--preset", "hubspot")
    people = by(repo, "name", "contacts")
    ayu = people["Ayu Lestari"]  # First Name + Last Name
    assert ayu["emails"] == ["ayu@cafeharian.com"] and ayu["phones"] == ["82112345678"]
    assert ayu["fields"]["hubspot_id"] == "105284053743"
    assert ayu["created"] == "2025-04-08T17:19:00+00:00"  # 4/8/2025 17:19, a US export
    assert "6 unchanged" in cli("import", IMP / "hubspot_contacts.csv", "--kind", "contact", "--preset",
                                "hubspot").stderr
    # a contacts-only file makes contacts, never deals named "Acme - Jane Doe"
    src = tmp_path / "c.csv"
    src.write_text("Name,Email,Company\nJane Doe,jane@acme.example,Acme\nJane Doe,jane2@globex.example,Globex\n")
    cli.ok("import", src, "--kind", "contact")
    assert records(repo) == []
    jane = [c for c in records(repo, "contacts") if c["name"] == "Jane Doe"]
    companies = names(repo, "companies")
    assert sorted(companies[c["company"]] for c in jane) == ["Acme", "Globex"]  # two people, two companies
    assert cli("check").returncode == 0


def test_bad_rows_of_a_kind_import_nothing(cli, repo, tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("name,email\nAnn,ann@x.example\nBob,not-an-email\n")
    proc = cli("import", src, "--kind", "contact")
    assert proc.returncode == 1 and records(repo, "contacts") == []
    assert f"{src}:3: email: 'not-an-email': not an e-mail address" in proc.stderr
    assert cli("import", src, "--kind", "lead").returncode == 2


# -- users (issue 24 item 4) ---------------------------------------------------------------------------
def admin(cli):
    cli.ok("user", "add", "tester", "--email", "tester@example.com", "--role", "admin")


def test_maven_sales_teams_load_as_users_in_their_managers_teams(cli, repo):
    refused = cli("import", IMP / "maven_sales_teams.csv", "--kind", "user")
    assert refused.returncode == 2 and "add yourself first" in refused.stderr  # no lock-out
    assert not (cli.ok("user", "list", "-f", "ids")).strip()
    admin(cli)
    proc = cli("import", IMP / "maven_sales_teams.csv", "--kind", "user")
    assert proc.returncode == 0, proc.stderr
    assert "35 rows: 41 users created, 0 updated, 0 unchanged, 9 departments created" in proc.stderr
    config = yamlcodec.loads((repo / "dealcli.yaml").read_bytes())
    users, depts = config["users"], config["departments"]
    assert users["anna.snelling"] == {"name": "Anna Snelling", "emails": [], "dept": "team-dustin.brinkmann",
                                      "roles": ["manager"]}
    assert users["dustin.brinkmann"]["roles"] == ["head"] and users["dustin.brinkmann"]["dept"] == "Central"
    assert depts["team-dustin.brinkmann"] == {"name": "Dustin Brinkmann team", "parent": "Central",
                                              "head": "dustin.brinkmann"}
    assert sorted(d for d in depts if not depts[d]["parent"]) == ["Central", "East", "West"]
    again = cli("import", IMP / "maven_sales_teams.csv", "--kind", "user")
    assert "0 users created, 0 updated, 35 unchanged" in again.stderr and again.stdout == ""
    assert cli("check").returncode == 0
    # deals name their responsible as the source does: the user's login once users are known
    cli.ok("import", IMP / "maven_sales_pipeline_slice.csv", "--map", "sales_agent=responsible",
           "--map", "deal_stage=stage", "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing")
    assert {d["responsible"] for d in records(repo)} <= set(users)
    assert cli("check").returncode == 0


def test_a_user_row_adds_what_it_brings_and_bad_rows_import_nothing(cli, repo, tmp_path):
    admin(cli)
    src = tmp_path / "u.csv"
    src.write_text("login,name,email,department,role\nann,Ann Lee,ann@x.example,Sales,viewer\n")
    cli.ok("import", src, "--kind", "user")
    src.write_text("login,name,email\nann,Ann Lee,ann@x.example ann.lee@x.example\n")
    assert "0 users created, 1 updated" in cli("import", src, "--kind", "user").stderr
    assert cli.ok("user", "show", "ann", "-f", "json").count("@x.example") == 2
    src.write_text("login,email,role\nbob,bob@x.example,wizard\ncy,ann@x.example,\n")
    proc = cli("import", src, "--kind", "user")
    assert proc.returncode == 1
    assert f"{src}:2: roles: 'wizard': no such role" in proc.stderr
    assert f"{src}:3: emails: 'ann@x.example': already the e-mail of user ann" in proc.stderr
    assert "bob" not in cli.ok("user", "list", "-f", "ids")


# -- activities (issue 24 item 4) ------------------------------------------------------------------------
def test_salesforce_tasks_go_on_their_opportunities(cli, repo, tmp_path):
    deals = tmp_path / "opps.csv"
    deals.write_text("Id,Name,StageName,Amount,CloseDate\n0065g00000XyZ01AAA,Renewal,Closed Won,100,2017-03-01\n"
                     "0065g00000XyZ02AAA,Upsell,Prospecting,50,2017-04-01\n")
    cli.ok("import", deals, "--preset", "salesforce")
    ids = {d["origin_id"]: d["id"] for d in records(repo)}
    proc = cli("import", IMP / "salesforce_task.csv", "--kind", "activity", "--preset", "salesforce")
    assert proc.returncode == 0, proc.stderr
    assert "3 activities created" in proc.stderr and len(proc.stdout.split()) == 3
    acts = by(repo, "subject", "activities")
    call = acts["Call about the renewal"]
    assert (call["deal"], call["type"], call["done"], call["due"]) == (ids["0065g00000XyZ01AAA"], "call", True,
                                                                      "2017-02-20T00:00:00+00:00")
    assert call["description"] == "Left a voicemail first" and call["created"] == "2017-02-18T09:12:00+00:00"
    assert (acts["Send the quote"]["type"], acts["Send the quote"]["done"]) == ("email", False)
    assert acts["Demo on site"]["deal"] == ids["0065g00000XyZ02AAA"]
    again = cli("import", IMP / "salesforce_task.csv", "--kind", "activity", "--preset", "salesforce")
    assert "0 activities created, 0 updated, 3 unchanged" in again.stderr  # a closed deal's too
    done = tmp_path / "t.csv"
    done.write_text((IMP / "salesforce_task.csv").read_text().replace("Not Started,High,Email,0",
                                                                      "Completed,High,Email,1"))
    assert "0 activities created, 1 updated, 2 unchanged" in cli("import", done, "--kind", "activity", "--preset",
                                                                  "salesforce").stderr
    assert by(repo, "subject", "activities")["Send the quote"]["done"] is True
    assert cli("check").returncode == 0


def test_hubspot_tasks_find_their_deal_by_title_or_by_client(cli, repo):
    cli.ok("import", IMP / "hubspot_contacts.csv", "--kind", "contact", "--preset", "hubspot")
    people = by(repo, "name", "contacts")
    src = repo.parent / "d.csv"
    email = people["Ayu Lestari"]["emails"][0]
    src.write_text(f"title,company,contact_email\nCafe Harian renewal,Cafe Harian,{email}\n")
    cli.ok("import", src)
    deal = records(repo)[0]
    proc = cli("import", IMP / "hubspot_tasks.csv", "--kind", "activity", "--preset", "hubspot")
    assert proc.returncode == 0, proc.stderr
    acts = by(repo, "subject", "activities")
    assert {a["deal"] for a in acts.values()} == {deal["id"]}  # by title, by company, by a contact's e-mail
    assert [acts[s]["type"] for s in ("Follow up on the proposal", "Send the contract", "Kick-off")] == \
        ["call", "email", "task"]
    assert acts["Follow up on the proposal"]["due"] == "2025-04-10T09:00:00+00:00"


def test_an_activity_type_nothing_maps_is_a_bad_row_until_value_mapped(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("origin_id,title,company\n17,Acme deal,Acme Ltd\n")
    cli.ok("import", src)
    args = ("import", IMP / "pipedrive_activities.csv", "--kind", "activity", "--preset", "pipedrive")
    proc = cli(*args)
    assert proc.returncode == 1 and records(repo, "activities") == []
    assert "pipedrive_activities.csv:3: Activity - Type: 'Lunch': is not an activity type" in proc.stderr
    cli.ok(*args, "--value-map", "Activity - Type:Lunch=meeting")
    acts = by(repo, "subject", "activities")
    assert acts["Lunch with the buyer"]["type"] == "meeting" and acts["Discovery call"]["done"] is True
    orphan = tmp_path / "a.csv"
    orphan.write_text("subject,due,company\nCall,2024-05-01,Nobody Inc\n")
    bad = cli("import", orphan, "--kind", "activity")
    assert bad.returncode == 1 and "company: 'Nobody Inc': no such company" in bad.stderr


def test_a_value_map_naming_a_column_the_file_lacks_is_refused(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("title,Status\nA,Dead\n")
    for kind in ("deal", "company"):
        proc = cli("import", src, "--kind", kind, "--value-map", "State:Dead=lost")
        assert proc.returncode == 2, proc.stderr
        assert "--value-map 'state': no such column in" in proc.stderr and "(columns: title, Status)" in proc.stderr
    cli.ok("import", src, "--value-map", "status:Dead=lost")  # columns match ignoring case
    assert records(repo)[0]["status"] == "lost"


def test_pipedrive_and_zoho_client_exports(cli, repo, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("Person - ID,Person - Name,Person - Email,Person - Phone,Person - Organization\n"
                      "7,Ann Lee,ann@acme.example,+1 202 555 0100,Acme Ltd\n")
    cli.ok("import", people, "--kind", "contact", "--preset", "pipedrive")
    ann = by(repo, "name", "contacts")["Ann Lee"]
    assert ann["emails"] == ["ann@acme.example"] and ann["fields"]["pipedrive_id"] == "7"
    assert names(repo, "companies")[ann["company"]] == "Acme Ltd"
    zoho = tmp_path / "contacts.csv"
    zoho.write_text("Record Id,First Name,Last Name,Email,Account Name\nzcrm_1,Bo,Chen,bo@globex.example,Globex\n")
    cli.ok("import", zoho, "--kind", "contact", "--preset", "zoho")
    assert by(repo, "name", "contacts")["Bo Chen"]["fields"]["zoho_id"] == "zcrm_1"
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Record Id,Account Name,Industry\nzcrm_2,Globex,Energy\n")
    assert "0 companies created, 1 updated" in cli("import", accounts, "--kind", "company", "--preset", "zoho",
                                                   check=True).stderr  # the contact's company, now with fields


def test_real_salesforce_account_exports_load_as_companies_and_rerun_unchanged(cli, repo):
    """Two real Data Loader Account exports (one with newlines inside quoted cells and an account
    listed twice): a later row of a company the file already made adds to it, so the second run
    finds nothing new."""
    for name, rows, made in (("stomita_migration_app_pack_Account.csv", 83, 82),
                             ("sfdc_devorg_sample_Account.csv", 18, 18)):
        first = cli("import", IMP / name, "--kind", "company", "--preset", "salesforce")
        assert first.returncode == 0, first.stderr
        assert f"{rows} rows: {made} companies created" in first.stderr
        again = cli("import", IMP / name, "--kind", "company", "--preset", "salesforce")
        assert f"0 companies created, 0 updated, {rows} unchanged" in again.stderr, again.stderr
    edge = by(repo, "name", "companies")["Edge Communications"]
    assert edge["fields"]["salesforce_id"] == "001bm00001ZL8U9AAL" and edge["fields"]["industry"] == "Electronics"
    assert cli("check").returncode == 0


def test_bitrix24_companies_contacts_and_activities(cli, repo):
    """Bitrix24 record presets: companies by REST field ids, contacts by the Russian list-export
    labels (linked to their company by name), activities by REST field ids on their deals (OWNER_ID
    is the deal's ID, the deals' origin_id)."""
    imports = (("bitrix24_companies_rest.csv", "company", (), "2 companies"),
               ("bitrix24_contacts_ru.csv", "contact", (), "2 contacts"),
               ("bitrix24_deals_en_utf8bom.csv", "deal", (), "3 deals"),
               ("bitrix24_activities_rest.csv", "activity",
                ("--value-map", "TYPE_ID:1=meeting", "--value-map", "TYPE_ID:2=call"), "2 activities"))
    for name, kind, extra, made in imports:
        first = cli("import", IMP / name, "--kind", kind, "--preset", "bitrix24", *extra)
        assert first.returncode == 0, first.stderr
        assert f"{made} created" in first.stderr
    companies = by(repo, "name", "companies")
    romashka = companies["Romashka LLC"]
    assert romashka["fields"]["bitrix_id"] == "7" and romashka["fields"]["industry"] == "MANUFACTURING"
    assert romashka["emails"] == ["info@romashka.example"]
    ivan = by(repo, "name", "contacts")["Иван Иванов"]
    assert ivan["company"] == romashka["id"] and ivan["fields"]["position"] == "Директор"
    assert ivan["fields"]["second_name"] == "Петрович"
    deal = next(d for d in records(repo) if d["origin_id"] == "101")
    assert deal["company"] == romashka["id"]  # the deals found the company the companies export made
    acts = by(repo, "subject", "activities")
    call = acts["Call about the quote"]
    assert (call["deal"], call["type"], call["done"]) == (deal["id"], "call", True)
    assert (acts["Kick-off meeting"]["type"], acts["Kick-off meeting"]["done"]) == ("meeting", False)
    for name, kind, extra, made in imports:
        if kind != "deal":  # the records, re-imported, change nothing
            again = cli("import", IMP / name, "--kind", kind, "--preset", "bitrix24", *extra)
            assert f"0 {made.split()[1]} created, 0 updated, 2 unchanged" in again.stderr, again.stderr
    assert cli("check").returncode == 0


@pytest.mark.parametrize("preset, files, person, company, deal_title", [
    ("odoo", ("odoo_res_partner_companies.csv", "odoo_res_partner_contacts.csv", "odoo_crm_lead.csv",
              "odoo_mail_activity.csv"), "Douglas Fletcher", "Deco Addict", "Office Design Project"),
    ("suitecrm", ("suitecrm_accounts.csv", "suitecrm_contacts.csv", "suitecrm_opportunities.csv",
                  "suitecrm_tasks.csv"), "Sally Bronsen", "Smallville Resources Inc", "Q2 hardware refresh"),
])
def test_odoo_and_suitecrm_record_exports(cli, repo, preset, files, person, company, deal_title):
    """Companies, then contacts (linked to their company by name), the deals, then activities on
    the deals (Odoo by the lead's name, SuiteCRM by the opportunity's id); re-imports change nothing."""
    kinds = ("company", "contact", "deal", "activity")
    for name, kind in zip(files, kinds, strict=True):
        first = cli("import", IMP / name, "--kind", kind, "--preset", preset)
        assert first.returncode == 0, first.stderr
    companies = by(repo, "name", "companies")
    people = by(repo, "name", "contacts")
    assert people[person]["company"] == companies[company]["id"]
    assert people[person]["fields"][f"{preset}_id"] and people[person]["fields"]["position"]
    deal = next(d for d in records(repo) if d["title"] == deal_title)
    assert deal["company"] == companies[company]["id"]  # the deal found the exported company
    acts = records(repo, "activities")
    assert len(acts) == 2 and deal["id"] in {a["deal"] for a in acts}
    assert sorted(a["type"] for a in acts) == (["call", "email"] if preset == "odoo" else ["task", "task"])
    assert sorted(a["done"] for a in acts) == ([False, False] if preset == "odoo" else [False, True])
    for name, kind in zip(files, kinds, strict=True):
        if kind != "deal":
            again = cli("import", IMP / name, "--kind", kind, "--preset", preset)
            plural = {"company": "companies", "contact": "contacts", "activity": "activities"}[kind]
            assert f"0 {plural} created, 0 updated, 2 unchanged" in again.stderr, again.stderr
    assert len(records(repo, "activities")) == 2 and cli("check").returncode == 0


def test_vtiger_organizations_and_contacts(cli, repo):
    """vtiger's Organizations and Contacts exports (field labels): the contacts and the deals find the
    exported organizations; re-imports change nothing."""
    for name, kind, plural in (("vtiger_organizations.csv", "company", "companies"),
                               ("vtiger_contacts.csv", "contact", "contacts")):
        first = cli("import", IMP / name, "--kind", kind, "--preset", "vtiger")
        assert first.returncode == 0 and f"2 {plural} created" in first.stderr, first.stderr
        again = cli("import", IMP / name, "--kind", kind, "--preset", "vtiger")
        assert f"0 {plural} created, 0 updated, 2 unchanged" in again.stderr, again.stderr
    org = by(repo, "name", "companies")["Vtiger Demo Org"]
    assert org["fields"]["vtiger_no"] == "ACC3" and org["emails"] == ["info@demo-org.example"]
    jane = by(repo, "name", "contacts")["Jane Roe"]
    assert jane["company"] == org["id"] and jane["fields"]["position"] == "Buyer"
    cli.ok("import", IMP / "vtiger_potentials.csv", "--preset", "vtiger")
    deal = next(d for d in records(repo) if d["title"] == "Website relaunch")
    assert deal["company"] == org["id"]  # not a second "Vtiger Demo Org"
    assert cli("check").returncode == 0
