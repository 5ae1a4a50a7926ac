"""Preset gaps found on real files (issue 24 item 5), each on a small file of its shape
(tests/fixtures/import/gaps/), the migration report's counts, and check's duplicate advice."""

import json

from conftest import FIXTURES
from test_import_cli import by, records

GAPS = FIXTURES / "import" / "gaps"


def test_bitrix24_c6_stages_without_category_id_and_whole_value_stage_map(cli, repo, tmp_path):
    cli.ok("pipeline", "add", "service", "--stages", "intake,work,done:Done:success,failed:Failed:failure")
    args = ("import", GAPS / "bitrix24_c6_no_category.csv", "--preset", "bitrix24", "--pipeline-map", "6=service",
            "--stage-map", "C6:NEW=intake", "--stage-map", "C6:PREPARE=work", "--report", tmp_path / "r.json")
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    deals = by(repo, "origin_id")
    assert [(deals[i]["pipeline"], deals[i]["stage"], deals[i]["status"]) for i in ("101", "102", "103")] == [
        ("service", "intake", "open"), ("service", "work", "open"), ("service", "done", "won")]
    # ASSIGNED_BY_ID holding a surname is the responsible, a number stays the Bitrix24 id
    assert deals["102"]["responsible"] == "Petrov" and "bitrix_assigned_by_id" not in deals["102"]["fields"]
    assert deals["101"]["fields"]["bitrix_assigned_by_id"] == "12"
    assert deals["101"]["responsible"] == "tester@example.com"
    # the report counts each stage cell once and shows what is stored
    coerced = {c["column"]: c for c in json.loads((tmp_path / "r.json").read_text())["coerced"]}
    assert coerced["STAGE_ID"]["count"] == 2  # C6:WON is stored as the status' stage, not read as a stage id
    assert coerced["STAGE_ID"]["example"] == {"from": "C6:NEW", "to": "intake"}


def test_suitecrm8_label_export_with_guarded_base_currency(cli, repo):
    cli.ok("import", GAPS / "suitecrm8_labels.csv", "--preset", "suitecrm")
    deals = by(repo, "title")
    assert deals["Renewal"]["currency"] == "USD"  # the repository's: -99 is the base currency
    assert deals["Upsell"]["status"] == "won"


def test_a_fields_column_is_a_custom_field(cli, repo):
    cli.ok("import", GAPS / "fields_region.csv")
    assert by(repo, "title")["North deal"]["fields"] == {"region": "North"}


def test_zoho_potentials_and_api_flattened_names(cli, repo):
    cli.ok("import", GAPS / "zoho_potentials.csv", "--preset", "zoho")
    deals = by(repo, "origin_id")
    assert (deals["zp1"]["title"], deals["zp1"]["responsible"]) == ("Old Potential", "Kim Lee")
    assert deals["zp2"]["responsible"] == "Ann Poe" and deals["zp2"]["status"] == "won"
    companies = {c["name"] for c in records(repo, "companies")}
    assert companies == {"Zylker"}


def test_hubspot_api_names(cli, repo):
    cli.ok("import", GAPS / "hubspot_api_names.csv", "--preset", "hubspot", "--key", "origin_id")
    deals = by(repo, "origin_id")
    assert deals["501"]["title"] == "Api deal" and deals["502"]["status"] == "won"


def test_odoo_mobile_and_user_external_id(cli, repo):
    cli.ok("import", GAPS / "odoo_mobile_user.csv", "--preset", "odoo")
    deal = records(repo)[0]
    assert deal["responsible"] == "Mitchell Admin" and deal["fields"]["odoo_user_id"] == "base.user_admin"
    contact = records(repo, "contacts")[0]
    assert contact["phones"] == ["+1 555 0100"]


def test_salesforce_loss_reason_custom_field(cli, repo):
    cli.ok("import", GAPS / "salesforce_lossreason.csv", "--preset", "salesforce")
    deals = by(repo, "origin_id")
    assert deals["006A"]["lost_reason"] == "Price" and deals["006A"]["status"] == "lost"


def test_check_never_advises_merging_contacts_of_different_companies(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("title,company,contact\nA,Acme,Mike\nB,Globex,Mike\n")
    cli.ok("import", src)
    assert "likely duplicate" not in cli("check").stderr
    cli.ok("contact", "add", "Mike")  # no company: not the Mike of Acme or of Globex
    cli.ok("contact", "add", "Mike", "--company", "Acme")
    assert "likely duplicate contacts" in cli("check").stderr  # two Mikes at Acme
