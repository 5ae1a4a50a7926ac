"""`dealcli import` through the CLI (cli.main), on real exports and CSV edge cases."""

import csv
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import FIXTURES
from dealcli.storage import yamlcodec

IMP = FIXTURES / "import"
MAVEN_MAP = ["--map", "opportunity_id=origin_id", "--map", "sales_agent=responsible", "--map", "account=company",
             "--map", "deal_stage=stage", "--map", "engage_date=begin", "--map", "close_value=amount",
             "--stage-map", "Prospecting=new", "--stage-map", "Engaging=executing"]


def records(repo: Path, kind: str = "deals") -> list[dict]:
    folder = repo / kind
    if not folder.exists():
        return []
    return [yamlcodec.loads(p.read_bytes()) for p in sorted(folder.glob("**/*.yaml"))]  # flat or sharded


def by(repo: Path, field: str, kind: str = "deals") -> dict:
    return {str(r[field]): r for r in records(repo, kind)}


def names(repo: Path, kind: str) -> dict:
    return {r["id"]: r["name"] for r in records(repo, kind)}


# -- Maven sales pipeline ---------------------------------------------------------------------------
def test_maven_migration_end_to_end(cli, repo):
    """The whole Maven dataset, as a team migrating would load it (issue 24): the sales teams as
    users, the accounts as companies, the products as the catalogue, then all 8800 opportunities
    with M/D/YYYY dates (decided month-first from the data), engage_date as the deal's creation.
    Re-importing the ISO-dated original with --key changes nothing; `report` shows the time to
    close (won: 51.8 days on average, engage -> close) and the state as of 2017-06-30."""
    cli.ok("user", "add", "tester", "--email", "tester@example.com", "--role", "admin")  # users turn rights on
    assert "41 users created" in cli("import", IMP / "maven_sales_teams.csv", "--kind", "user", check=True).stderr
    assert "85 companies created" in cli("import", IMP / "maven_accounts.csv", "--kind", "company",
                                         "--keep-unmapped", check=True).stderr
    assert "7 products created" in cli("import", IMP / "maven_products.csv", "--kind", "product",
                                       check=True).stderr
    args = [*MAVEN_MAP, "--map", "engage_date=created", "--key", "origin_id", "--value-map", "product:GTXPro=GTX Pro"]
    proc = cli("import", IMP / "maven_sales_pipeline_us_dates.csv", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.split()) == 8800
    assert "8800 deals created" in proc.stderr and "0 companies" in proc.stderr  # the accounts loaded
    deals = by(repo, "origin_id")
    assert len(deals) == 8800
    companies = names(repo, "companies")
    assert len(companies) == 85
    won = deals["1C1I7A6R"]
    assert (won["status"], won["stage"], str(won["amount"])) == ("won", "won", "1054.00")
    assert companies[won["company"]] == "Cancity"
    assert won["responsible"] == "moses.frase"  # the user the sales team file made
    assert won["created"] == "2016-10-20T00:00:00+00:00"
    assert (won["begin"], won["close_date"]) == ("2016-10-20", "2017-03-01")
    assert won["closed_at"].startswith("2017-03-01T00:00:00")
    assert won["products"][0]["name"] == "GTX Plus Basic"
    assert deals["Z063OYW0"]["products"][0]["name"] == "GTX Pro"  # "GTXPro" as the catalogue names it
    statuses = [d["status"] for d in deals.values()]
    assert statuses.count("won") == 4238 and statuses.count("lost") == 2473
    assert sum(1 for d in deals.values() if d["company"] is None) == 1425  # the trap: no account
    lost = next(d for d in deals.values() if d["status"] == "lost")
    assert str(lost["amount"]) == "0.00"  # lost deals carry close_value 0
    open_deal = next(d for d in deals.values() if d["status"] == "open")
    assert open_deal["closed_at"] is None and open_deal["close_date"] is None

    before = {p.name: p.read_bytes() for p in (repo / "deals").iterdir()}
    again = cli("import", IMP / "maven_sales_pipeline.csv", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 deals created, 0 updated, 8800 unchanged" in again.stderr
    assert again.stdout == ""
    assert {p.name: p.read_bytes() for p in (repo / "deals").iterdir()} == before

    ttc = {r["status"]: r for r in json.loads(cli.ok("report", "-s", "time-to-close", "-f", "json"),
                                              parse_float=Decimal)["time_to_close"]}
    assert (ttc["won"]["deals"], ttc["won"]["avg_days"]) == (4238, Decimal("51.8"))
    assert (ttc["lost"]["deals"], ttc["lost"]["avg_days"]) == (2473, Decimal("41.5"))
    with open(IMP / "maven_sales_pipeline.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    day = "2017-06-30"
    existed = [r for r in rows if r["engage_date"] and r["engage_date"] <= day]
    closed = {s: [r for r in existed if r["deal_stage"] == s and r["close_date"] <= day] for s in ("Won", "Lost")}
    then = json.loads(cli.ok("report", "--as-of", day, "-s", "win-rate", "-s", "won-revenue", "-f", "json"),
                      parse_float=Decimal)
    rate = then["win_rate"][0]
    assert then["deals"] == len(existed) == 4365
    assert (rate["won"], rate["lost"]) == (len(closed["Won"]), len(closed["Lost"])) == (1785, 894)
    assert rate["open"] == len(existed) - 1785 - 894
    assert sum(Decimal(m["amount"]) for m in then["won_revenue"]["by_month"]) == \
        sum(Decimal(r["close_value"]) for r in closed["Won"])
    assert cli("check").returncode == 0


def test_maven_iso_file_imports_the_same_dates(cli, repo, tmp_path):
    head = (IMP / "maven_sales_pipeline.csv").read_bytes().splitlines(keepends=True)[:40]
    small = tmp_path / "iso.csv"
    small.write_bytes(b"".join(head))
    cli.ok("import", small, *MAVEN_MAP)
    deal = by(repo, "origin_id")["1C1I7A6R"]
    assert (deal["begin"], deal["close_date"]) == ("2016-10-20", "2017-03-01")


def test_reimport_with_key_updates_only_what_changed_with_history(cli, repo, tmp_path):
    src = tmp_path / "deals.csv"
    src.write_text("id,title,amount,stage\nA1,First,100,new\nA2,Second,200,new\n")
    cli.ok("import", src, "--map", "id=origin_id", "--key", "origin_id")
    src.write_text("id,title,amount,stage\nA1,First,150,preparation\nA2,Second,200,new\nA3,Third,1,new\n")
    dry = cli("import", src, "--map", "id=origin_id", "--key", "origin_id", "--dry-run")
    assert dry.returncode == 0
    actions = [line.split("\t")[0] for line in dry.stdout.splitlines()]
    assert actions == ["update", "unchanged", "create"]
    assert "(dry run: nothing written)" in dry.stderr
    assert len(records(repo)) == 2
    proc = cli("import", src, "--map", "id=origin_id", "--key", "origin_id")
    assert "1 deal created, 1 updated, 1 unchanged" in proc.stderr
    first = by(repo, "origin_id")["A1"]
    assert str(first["amount"]) == "150.00" and first["stage"] == "preparation"
    kinds = [(e["kind"], e.get("field")) for e in first["history"]]
    assert ("changed", "amount") in kinds and ("moved", None) in kinds
    assert cli("import", src, "--map", "id=origin_id", "--key", "origin_id").stdout == ""


# -- Salesforce -------------------------------------------------------------------------------------
def test_salesforce_data_loader_export_bom_and_1_empty_booleans(cli, repo):
    proc = cli("import", IMP / "stomita_migration_app_pack_Opportunity.csv", "--preset", "salesforce")
    assert proc.returncode == 0, proc.stderr
    deals = by(repo, "origin_id")
    assert len(deals) == 774
    assert "'Id'" not in proc.stderr and "\\ufeff" not in proc.stderr  # BOM stripped: Id is mapped
    d = deals["006f4000002NAbGAAW"]
    assert (d["title"], d["stage"], d["status"], str(d["amount"])) == ("System Assessment", "new", "open", "24710.00")
    assert d["probability"] == 10 and d["close_date"] == "2024-06-14"
    assert d["created"] == "2017-08-04T09:09:33+00:00"
    assert d["fields"]["salesforce_account_id"] == "001f4000003NkdYAAS"
    assert d["comments"][0]["text"].startswith("Customer pain")
    statuses = [x["status"] for x in deals.values()]
    assert statuses.count("won") == 640 and statuses.count("lost") == 39


def test_salesforce_devorg_mm_dd_yy_and_true_false(cli, repo):
    cli.ok("import", IMP / "sfdc_devorg_sample_Opportunity.csv", "--preset", "salesforce")
    deals = by(repo, "origin_id")
    d = deals["006bm00000LKJNPAA5"]
    assert (d["status"], d["close_date"]) == ("won", "2024-02-03")
    assert d["closed_at"].startswith("2024-02-03")
    assert deals["006bm00000LKJNNAA5"]["status"] == "open"
    assert sum(1 for x in deals.values() if x["status"] == "lost") == 8


def test_salesforce_accounts_keep_newlines_inside_fields(cli, repo):
    cli.ok("import", IMP / "stomita_migration_app_pack_Account.csv", "--map", "Name=title",
           "--map", "Description=comment", "--map", "Id=origin_id")
    deals = by(repo, "origin_id")
    assert len(deals) == 83
    multi = [d for d in deals.values() if d["comments"] and "\n" in d["comments"][0]["text"]]
    assert multi, "no multi-line description survived"


# -- HubSpot, Bitrix24, Pipedrive, amoCRM ------------------------------------------------------------
def test_hubspot_deals(cli, repo):
    cli.ok("import", IMP / "hubspot_deals.csv", "--preset", "hubspot")
    deals = by(repo, "origin_id")
    assert deals["9001"]["stage"] == "new" and deals["9001"]["close_date"] == "2025-05-30"
    assert deals["9002"]["status"] == "won" and str(deals["9002"]["amount"]) == "24000.50"
    assert deals["9002"]["closed_at"] == "2025-03-15T17:19:00+00:00"
    assert deals["9003"]["status"] == "lost"
    assert str(deals["9004"]["amount"]) == "3200.00" and deals["9004"]["stage"] == "final_invoice"


def test_hubspot_all_properties_header(cli, repo):
    cli.ok("import", IMP / "hubspot_deals_allprops.csv", "--preset", "hubspot")
    deals = by(repo, "origin_id")
    big = deals["18001"]
    assert big["probability"] == 80 and big["type"] == "existingbusiness" and big["stage"] == "executing"
    contacts = {c["name"]: c for c in records(repo, "contacts")}
    assert set(contacts) == {"Ann Lee", "Bob Stone"}  # Bob named twice, created once
    assert contacts["Ann Lee"]["emails"] == ["ann@bigco.example"]
    assert len(big["contacts"]) == 2
    assert deals["18002"]["status"] == "won"


@pytest.mark.parametrize("name,extra", [
    ("bitrix24_deals_en_utf8bom.csv", []),
    ("bitrix24_deals_ru_utf8bom.csv", []),
    ("bitrix24_deals_ru_cp1251.csv", ["--encoding", "cp1251"]),
])
def test_bitrix24_product_rows_are_grouped_into_one_deal(cli, repo, name, extra):
    proc = cli("import", IMP / name, "--preset", "bitrix24", *extra)
    assert proc.returncode == 0, proc.stderr
    deals = by(repo, "origin_id")
    assert set(deals) == {"101", "102", "103"}
    d = deals["101"]
    assert [p["name"] for p in d["products"]] in (["Design", "Hosting"], ["Дизайн", "Хостинг"])
    assert [str(p["price"]) for p in d["products"]] == ["1000.00", "250.00"]
    assert str(d["amount"]) == "1500.00" and d["manual_amount"] is False
    assert (d["stage"], d["currency"], d["probability"]) == ("executing", "EUR", 60)
    assert d["created"] == "2024-03-05T14:30:00+00:00" and d["close_date"] == "2024-04-30"
    assert "\n" in d["comments"][0]["text"]
    assert deals["102"]["status"] == "won" and deals["103"]["status"] == "lost"
    assert str(deals["102"]["amount"]) == "12000.00"
    assert len(records(repo, "companies")) == 2  # "Romashka LLC" and "ROMASHKA llc" are one company
    assert deals["101"]["company"] == deals["102"]["company"]
    assert cli("check").returncode == 0


def test_bitrix24_cp1251_without_encoding_is_one_clear_error(cli, repo):
    proc = cli("import", IMP / "bitrix24_deals_ru_cp1251.csv", "--preset", "bitrix24")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "cannot decode byte" in proc.stderr and ":1:" in proc.stderr and "--encoding" in proc.stderr
    assert records(repo) == []


def test_pipedrive_status_wins_over_stage_and_deleted_is_skipped(cli, repo):
    proc = cli("import", IMP / "pipedrive_deals.csv", "--preset", "pipedrive")
    assert "1 skipped" in proc.stderr
    deals = by(repo, "origin_id")
    assert set(deals) == {"1", "2", "3", "5"}
    assert str(deals["1"]["amount"]) == "1234.56" and deals["1"]["stage"] == "executing"
    assert deals["2"]["status"] == "won" and deals["2"]["closed_at"] == "2024-02-20T16:45:00+00:00"
    assert deals["2"]["currency"] == "EUR"
    assert deals["3"]["status"] == "lost" and deals["3"]["lost_reason"] == "No budget"
    assert deals["1"]["company"] == deals["5"]["company"]  # Hooli / HOOLI
    assert deals["1"]["contacts"] == deals["5"]["contacts"]
    assert len(records(repo, "companies")) == 3


def test_amocrm_russian_export(cli, repo):
    cli.ok("import", IMP / "amocrm_deals.csv", "--preset", "amocrm")
    deals = by(repo, "origin_id")
    assert str(deals["5001"]["amount"]) == "150000.00" and deals["5001"]["fields"]["tags"] == "опт, срочно"
    assert str(deals["5002"]["amount"]) == "48500.50"
    assert deals["5001"]["created"] == "2024-03-05T14:30:00+00:00"
    assert names(repo, "companies") == {deals["5001"]["company"]: "ООО Техно"}


# -- CSV edge cases ---------------------------------------------------------------------------------
SPECTRUM = ["comma_in_quotes", "empty", "empty_crlf", "escaped_quotes", "json", "newlines", "newlines_crlf",
            "quotes_and_newlines", "simple", "simple_crlf", "utf8"]


@pytest.mark.parametrize("case", SPECTRUM)
def test_csv_spectrum(cli, repo, case):
    expected = json.loads((IMP / "csv-spectrum" / f"{case}.json").read_text())
    cli.ok("import", IMP / "csv-spectrum" / f"{case}.csv", "--keep-unmapped")
    got = sorted((d["fields"] for d in records(repo)), key=lambda f: json.dumps(f, sort_keys=True))
    want = sorted(({k: v for k, v in row.items() if v != ""} for row in expected),
                  key=lambda f: json.dumps(f, sort_keys=True))
    assert got == want


@pytest.mark.parametrize("name,extra,column,values", [
    ("mac_newlines.csv", [], "a", ["1", "Once upon\ra time"]),
    ("test_utf8_bom.csv", [], "foo", ["1", "4"]),
    ("test_utf16_big.csv", ["--encoding", "utf-16"], "c", ["3", "ʤ"]),
    ("test_utf16_little.csv", ["--encoding", "utf-16"], "c", ["3", "ʤ"]),
    ("test_latin1.csv", ["--encoding", "latin-1"], "c", ["3", "©"]),
    ("dummy.tsv", [], "b", ["2"]),
    ("test_skip_lines.csv", [], "a", ["1"]),
    ("optional_quote_characters.csv", [], "b", ["2"]),
    ("test_extra_header.csv", [], "c", ["3"]),
    ("test_header_newline.csv", [], "b", ["e"]),
    ("null_byte.csv", [], "b", ["2"]),
])
def test_csvkit_examples(cli, repo, name, extra, column, values):
    proc = cli("import", IMP / "csvkit" / name, "--keep-unmapped", *extra)
    assert proc.returncode == 0, proc.stderr
    assert sorted(d["fields"].get(column) for d in records(repo)) == sorted(values)


def test_csvkit_ragged_row_is_a_bad_row(cli, repo):
    proc = cli("import", IMP / "csvkit" / "bad.csv", "--keep-unmapped")
    assert proc.returncode == 1
    assert "bad.csv:2: (row): 4 values but the header has 3 columns" in proc.stderr
    assert records(repo) == []


def test_csvkit_dates_and_locale_numbers(cli, repo):
    cli.ok("import", IMP / "csvkit" / "test_date_format.csv", "--map", "a=close_date")
    assert sorted(d["close_date"] for d in records(repo)) == ["2012-12-31", "2014-01-02"]


def test_json_lines_and_empty_files(cli, repo):
    cli.ok("import", IMP / "csvkit" / "testjson_multiline.json", "--format", "jsonl", "--keep-unmapped")
    assert sorted(json.dumps(d["fields"], sort_keys=True) for d in records(repo)) == \
        ['{"a": 2, "b": 3}', '{"b": 2, "d": 4}']
    proc = cli("import", IMP / "csvkit" / "empty.csv")
    assert proc.returncode == 0 and "0 rows" in proc.stderr


# -- safety -----------------------------------------------------------------------------------------
def test_bad_rows_in_the_middle_write_nothing_and_are_all_listed(cli, repo, tmp_path):
    lines = ["title,amount,stage,close_date"]
    for i in range(1, 60):
        lines.append(f"Deal {i},{i}0,new,2024-01-{(i % 28) + 1:02d}")
    lines[20] = "Bad amount,12x,new,2024-01-05"
    lines[35] = "Bad stage,5,nowhere,2024-01-05"
    lines[40] = "Bad date,5,new,2024-02-30"
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    proc = cli("import", src)
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert err[0] == f"dealcli: error: {src}:21: amount: '12x': is not an amount"
    assert err[1].startswith(f"dealcli: error: {src}:36: stage: 'nowhere': stage is not in pipeline 'sales'")
    assert err[2].startswith(f"dealcli: error: {src}:41: close_date: '2024-02-30': ")
    assert err[3] == "dealcli: error: 3 bad rows; nothing imported"
    assert records(repo) == [] and records(repo, "companies") == []


def test_ambiguous_dates_need_a_flag(cli, repo, tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("title,close_date\nA,01/02/2024\nB,03/04/2024\n")
    proc = cli("import", src)
    assert proc.returncode == 2 and "'01/02/2024'" in proc.stderr and "--dayfirst" in proc.stderr
    cli.ok("import", src, "--dayfirst")
    assert sorted(d["close_date"] for d in records(repo)) == ["2024-02-01", "2024-04-03"]


def test_stdin_json_array_and_usage_errors(cli, repo):
    data = json.dumps([{"Name": "From stdin", "Value": "€1.234,50", "Stage": "Deal won"}])
    out = cli.ok("import", "-", "--map", "Name=title", "--map", "Value=amount", "--map", "Stage=stage",
                 input=data)
    deal = records(repo)[0]
    assert out.strip() == deal["id"]
    assert (str(deal["amount"]), deal["currency"], deal["status"]) == ("1234.50", "EUR", "won")
    assert cli("import", "-", "--map", "nope", input=data).returncode == 2
    assert cli("import", "-", "--preset", "nosuch", input=data).returncode == 2
    assert cli("import", "missing.csv").returncode == 3


def test_title_is_built_when_missing(cli, repo, tmp_path):
    src = tmp_path / "t.csv"
    src.write_text("company,product,origin_id\nAcme,Widget,1\n,,2\n")
    cli.ok("import", src)
    assert sorted(d["title"] for d in records(repo)) == ["Acme - Widget", "Deal 2"]


def test_import_from_a_pipe_that_can_be_read_only_once(cli):
    # bash process substitution gives a FIFO path: it is spooled like stdin, not refused
    proc = subprocess.run(["bash", "-c", f'"{cli.exe}" import <(printf "title,amount\\nPiped deal,5\\n")'],
                          capture_output=True, text=True, cwd=cli.root,
                          env={**os.environ, "DEALCLI_DIR": str(cli.root), "DEALCLI_USER": "t@example.com"})
    assert proc.returncode == 0, proc.stderr
    (deal_id,) = proc.stdout.split()
    assert json.loads(cli.ok("deal", "show", deal_id, "-f", "json"))["title"] == "Piped deal"
    folder = cli("import", str(cli.root))
    assert folder.returncode == 2 and "folder" in folder.stderr
