"""`import --kind company|contact|product` (issue 24 item 4, in part): the Maven accounts and
products, a HubSpot contacts export; re-runs change nothing; deals then find the companies."""

from conftest import FIXTURES
from test_import_cli import by, names, records

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
    assert cli("import", src, "--kind", "user").returncode == 2
