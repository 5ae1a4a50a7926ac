"""Re-running an import with --key changes nothing (issue 24 item 1), for every shipped preset
and for the Maven pipeline mapped every way a user would map it."""

import pytest

from conftest import FIXTURES, Runner

IMP = FIXTURES / "import"
MAVEN = ["--map", "opportunity_id=origin_id", "--map", "sales_agent=responsible", "--map", "account=company",
         "--map", "deal_stage=stage", "--map", "close_value=amount",
         "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing"]

# every shipped preset, on its fixture (a file of the real shape)
PRESET_FILES = [
    ("bitrix24", "bitrix24_deals_en_utf8bom.csv", ()),
    ("bitrix24", "bitrix24_deals_ru_cp1251.csv", ("--encoding", "cp1251")),
    ("pipedrive", "pipedrive_deals.csv", ()),
    ("hubspot", "hubspot_deals.csv", ()),
    ("hubspot", "hubspot_deals_allprops.csv", ()),
    ("salesforce", "sfdc_devorg_sample_Opportunity.csv", ()),
    ("amocrm", "amocrm_deals.csv", ()),
    ("zoho", "zoho_deals.csv", ()),
    ("odoo", "odoo_crm_lead.csv", ()),
    ("suitecrm", "suitecrm_opportunities.csv", ()),
    ("vtiger", "vtiger_potentials.csv", ()),
]


@pytest.fixture(params=["UTC", "Europe/Berlin"])
def zoned(tmp_path, request):
    """A repository in UTC and one east of it (a date alone is midnight there, not in UTC)."""
    root = tmp_path / "repo"
    Runner(tmp_path)("init", root, "--timezone", request.param, check=True)
    return root, Runner(root)


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*.yaml") if ".git" not in p.parts}


def twice(cli, root, *args):
    first = cli("import", *args, "--key", "origin_id")
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(root)
    again = cli("import", *args, "--key", "origin_id")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout == ""  # no deal created or updated
    assert " 0 deals created, 0 updated," in again.stderr
    assert snapshot(root) == before
    return first, again


@pytest.mark.parametrize("preset,name,extra", PRESET_FILES, ids=[f"{p}-{n}" for p, n, _ in PRESET_FILES])
def test_every_preset_reimports_with_no_change(zoned, preset, name, extra):
    root, cli = zoned
    twice(cli, root, IMP / name, "--preset", preset, *extra)


@pytest.mark.parametrize("dates", [
    ["--map", "engage_date=begin"],                                   # close_date as the close date
    ["--map", "engage_date=begin", "--map", "close_date=closed_at"],  # a date alone as closed_at
    ["--map", "engage_date=created"],
], ids=["close_date", "closed_at", "created"])
def test_maven_closed_rows_reimport_with_no_change(zoned, dates):
    """The issue's defect: a date-only close date mapped to closed_at was compared with the
    stored closed_at datetime, so every closed row was refused on the re-run."""
    root, cli = zoned
    first, _ = twice(cli, root, IMP / "maven_sales_pipeline_slice.csv", *MAVEN, *dates)
    assert "56 deals created" in first.stderr


def test_a_changed_close_time_of_a_closed_deal_is_still_refused(cli, repo, tmp_path):
    """Same day, same instant: unchanged; another day: the closed deal is frozen (reopen first)."""
    src = tmp_path / "d.csv"
    src.write_text("id,title,status,closed_at\nA,Won one,won,2024-03-01\n")
    args = ("import", src, "--map", "id=origin_id", "--key", "origin_id")
    cli.ok(*args)
    src.write_text("id,title,status,closed_at\nA,Won one,won,2024-03-01\n")
    assert cli(*args).returncode == 0
    src.write_text("id,title,status,closed_at\nA,Won one,won,2024-03-02\n")
    proc = cli(*args)
    assert proc.returncode == 1
    assert "is closed (won) and the row changes closed_at; reopen it first" in proc.stderr
