"""Issue 14: import fidelity on real export shapes. One small file per fault."""

import json

import pytest

from conftest import FIXTURES
from test_import_cli import by, records

IMP = FIXTURES / "import"


def write(tmp_path, name: str, text: str, newline: str = "\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# -- 1. who is who ----------------------------------------------------------------------------------
def test_same_first_name_at_two_companies_is_two_contacts_and_every_email_is_kept(cli, repo, tmp_path):
    src = write(tmp_path, "p.csv", "title,company,contact,contact_email,contact_phone\n"
                "Deal A,Acme,Mike,mike@acme.example,\n"
                "Deal B,Globex,Mike,mike@globex.example,\n"
                "Deal C,Globex,Mike,m@globex.example,+1 555 0100\n"
                "Deal D,,,mike@acme.example,+1 555 0199\n")
    cli.ok("import", src)
    contacts = {c["id"]: c for c in records(repo, "contacts")}
    companies = {c["name"]: c["id"] for c in records(repo, "companies")}
    assert len(contacts) == 2
    deals = by(repo, "title")
    acme_mike, globex_mike = contacts[deals["Deal A"]["contacts"][0]], contacts[deals["Deal B"]["contacts"][0]]
    assert acme_mike["company"] == companies["Acme"] and globex_mike["company"] == companies["Globex"]
    assert globex_mike["emails"] == ["mike@globex.example", "m@globex.example"]  # same name, same company
    assert globex_mike["phones"] == ["+1 555 0100"]
    assert deals["Deal D"]["contacts"] == [acme_mike["id"]]  # found by e-mail, phone added
    assert acme_mike["phones"] == ["+1 555 0199"]


def test_an_existing_contact_gets_the_new_email_and_phone(cli, repo, tmp_path):
    cli.ok("contact", "add", "Ann Lee", "--email", "ann@x.example")
    src = write(tmp_path, "p.csv", "title,contact_email,contact_phone\n"
                "X,ann@x.example / ann.lee@x.example,+44 20 7946 0000\n")
    proc = cli("import", src)
    assert proc.returncode == 0, proc.stderr
    [ann] = records(repo, "contacts")
    assert ann["name"] == "Ann Lee" and ann["emails"] == ["ann@x.example", "ann.lee@x.example"]
    assert ann["phones"] == ["+44 20 7946 0000"]
    assert "1 contact updated" in proc.stderr
    assert cli("check").returncode == 0


# -- 2. values checked as the CLI does, every problem of a row ------------------------------------------
@pytest.mark.parametrize("cell,emails", [
    ("a@x.example / b@x.example", ["a@x.example", "b@x.example"]),
    ("a@x.example, b@x.example", ["a@x.example", "b@x.example"]),
    ("a@x.example;b@x.example", ["a@x.example", "b@x.example"]),
])
def test_multi_value_email_cells_are_split(cli, repo, tmp_path, cell, emails):
    cli.ok("import", write(tmp_path, "m.csv", f'title,contact_email\nX,"{cell}"\n'))
    [contact] = records(repo, "contacts")
    assert contact["emails"] == emails
    assert cli("check").returncode == 0


def test_a_bad_email_or_phone_makes_the_row_bad_and_every_problem_is_listed(cli, repo, tmp_path):
    src = write(tmp_path, "b.csv", "title,amount,contact_email,contact_phone\n"
                "X,lots,bad-email,abc\nY,1,\"ok@x.example, nope\",\nZ,2,z@x.example,\n")
    proc = cli("import", src)
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert err[0] == f"dealcli: error: {src}:2: amount: 'lots': is not an amount"
    assert err[1].startswith(f"dealcli: error: {src}:2: contact_email: 'bad-email': not an e-mail address")
    assert err[2].startswith(f"dealcli: error: {src}:2: contact_phone: 'abc': not a phone number")
    assert err[3].startswith(f"dealcli: error: {src}:3: contact_email: 'ok@x.example, nope': not an e-mail "
                             "address: 'nope'")
    assert err[4] == "dealcli: error: 2 bad rows; nothing imported"
    assert records(repo) == [] and records(repo, "contacts") == []


# -- 3. Bitrix24 by field id ----------------------------------------------------------------------------
BITRIX = ('"ID";"TITLE";"STAGE_ID";"OPPORTUNITY";"CURRENCY_ID";"COMPANY_ID";"CONTACT_ID";"ASSIGNED_BY_ID";'
          '"CATEGORY_ID";"CLOSED";\n'
          '"1";"A";"NEW";"100.00";"USD";"0";"0";"1";"0";"N";\n'
          '"2";"B";"C6:NEW";"200.00";"USD";"12";"0";"1";"6";"N";\n'
          '"3";"C";"C6:WON";"300.00";"USD";"12";"5";"1";"6";"Y";\n'
          '"4";"D";"C2:LOSE";"0";"USD";"0";"0";"1";"2";"Y";\n'
          '"5";"E";"C6:PREPARE";"0";"USD";"0";"0";"1";"6";"Y";\n'
          '"6";"F";"C6:PREPARE";"0";"USD";"0";"0";"1";"6";"N";\n')


def test_bitrix24_ids_pipelines_and_stages(cli, repo, tmp_path):
    cli.ok("pipeline", "add", "service", "--stages", "intake,work,done:Done:success,failed:Failed:failure")
    src = write(tmp_path, "bx.csv", BITRIX)
    proc = cli("import", src, "--preset", "bitrix24")
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    # each unknown value once, with the option to write
    assert len([e for e in err if "--pipeline-map 6=PIPELINE" in e]) == 1
    assert len([e for e in err if "--pipeline-map 2=PIPELINE" in e]) == 1
    assert err[-1] == "dealcli: error: 5 bad rows; nothing imported"

    proc = cli("import", src, "--preset", "bitrix24", "--pipeline-map", "6=service", "--pipeline-map", "2=sales")
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert [e.split(": ")[3] for e in err[:-1]] == ["STAGE_ID", "STAGE_ID"]
    assert "'C6:NEW'" in err[0] and "--stage-map 'C6:NEW'=STAGE" in err[0]
    assert "'C6:PREPARE'" in err[1] and "(2 rows from here on: lines 6, 7)" in err[1]

    cli.ok("import", src, "--preset", "bitrix24", "--pipeline-map", "6=service", "--pipeline-map", "2=sales",
           "--stage-map", "C6:NEW=intake", "--stage-map", "C6:PREPARE=work")
    deals = by(repo, "title")
    got = {t: (d["pipeline"], d["stage"], d["status"]) for t, d in deals.items()}
    assert got == {"A": ("sales", "new", "open"), "B": ("service", "intake", "open"),
                   "C": ("service", "done", "won"), "D": ("sales", "lose", "lost"),
                   "E": ("service", "work", "open"),  # the explicit --stage-map wins over CLOSED=Y
                   "F": ("service", "work", "open")}
    assert records(repo, "companies") == [] and records(repo, "contacts") == []  # ids are not names
    assert deals["C"]["fields"] == {"bitrix_company_id": "12", "bitrix_contact_id": "5", "bitrix_assigned_by_id": "1"}
    assert deals["A"]["fields"] == {"bitrix_assigned_by_id": "1"}  # 0 means none


# -- 4. fixed-scale decimals ---------------------------------------------------------------------------------
def test_eight_decimal_amounts_with_zero_tails_import_and_real_excess_digits_do_not(cli, repo, tmp_path):
    cli.ok("import", write(tmp_path, "d.csv", "title,amount\nA,420.00000000\nB,1.23450000\n"))
    assert {d["title"]: str(d["amount"]) for d in records(repo)} == {"A": "420.00", "B": "1.2345"}
    proc = cli("import", write(tmp_path, "e.csv", "title,amount\nC,1.00000001\n"))
    assert proc.returncode == 1 and "more than 6 decimal places" in proc.stderr


# -- 5. headers, dialects, quotes -----------------------------------------------------------------------------
def test_a_header_matching_nothing_is_refused_with_a_hint(cli, repo, tmp_path):
    proc = cli("import", write(tmp_path, "h.csv", "foo,bar\nA,1\n"))
    assert proc.returncode == 2 and "no column matches a deal field" in proc.stderr and "--map" in proc.stderr
    proc = cli("import", write(tmp_path, "n.csv", "Deal A,420.00\nDeal B,10\n"))
    assert proc.returncode == 2 and "--no-header --columns" in proc.stderr
    assert records(repo) == []


def test_no_header_with_columns(cli, repo, tmp_path):
    src = write(tmp_path, "n.csv", "Deal A,420.00\nDeal B,10\n")
    cli.ok("import", src, "--no-header", "--columns", "title,amount")
    assert {d["title"]: str(d["amount"]) for d in records(repo)} == {"Deal A": "420.00", "Deal B": "10.00"}
    assert cli("import", src, "--no-header").returncode == 2


def test_mysql_dialect_nulls_and_backslash_escapes(cli, repo, tmp_path):
    src = write(tmp_path, "m.tsv", 'title\tamount\tsource\n"Quote \\" inside"\t10.5\t\\N\nTab\\there\t\\N\tweb\n')
    cli.ok("import", src, "--dialect", "mysql")
    got = {d["title"]: (str(d["amount"]), d["source"]) for d in records(repo)}
    assert got == {'Quote " inside': ("10.50", None), "Tab\there": ("0.00", "web")}


def test_an_unclosed_quote_is_reported_where_it_opens(cli, repo, tmp_path):
    src = write(tmp_path, "q.csv", 'title,amount\nA,1\n"B unclosed,2\nC,3\nD,4\n')
    proc = cli("import", src)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (f"dealcli: error: {src}:3: (row): a quote opens on this line and is "
                                           "never closed (it would swallow lines 3-5 into one value)")
    assert records(repo) == []


# -- 6. robust reading ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,make,needle", [
    ("long.csv", lambda: "title,amount\n" + "A" * 70_000 + ",1\n", "is too long (70000 characters"),
    ("cols.csv", lambda: ",".join(f"c{i}" for i in range(10**6)) + "\n1\n", "1000000 columns (limit 10,000)"),
    ("keys.jsonl", lambda: json.dumps({f"k{i}": 1 for i in range(100_000)}) + "\n", "100,000 keys"),
    ("keys.json", lambda: "[" + json.dumps({f"k{i}": 1 for i in range(100_000)}) + "]", "100,000 keys"),
    ("deep.jsonl", lambda: '{"a":' + "[" * 100_000 + "]" * 100_000 + "}\n", "nested deeper"),
    ("deep.json", lambda: '[{"a":' + "[" * 100_000 + "]" * 100_000 + "}]", "nested deeper"),
    ("deep.yaml", lambda: "- title: " + "[" * 100_000 + "]" * 100_000 + "\n", "nesting depth"),
    ("num.jsonl", lambda: '{"title":"x","amount":' + "9" * 5000 + "}\n", "5,000 characters"),
    ("num.json", lambda: '[{"title":"x","amount":' + "9" * 5000 + ".5}]", "5,002 characters"),
    ("sur.jsonl", lambda: '{"title":"\\ud800"}\n', "lone surrogate \\ud800"),
    ("sur.json", lambda: '[{"title":"x\\ud800"}]', "lone surrogate \\ud800"),
])
def test_hostile_inputs_give_one_clear_error(cli, repo, tmp_path, name, make, needle):
    src = write(tmp_path, name, make())
    proc = cli("import", src)
    assert proc.returncode == 1, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"dealcli: error: {src}:1") or first.startswith(f"dealcli: error: {src}:2"), first
    assert needle in first
    assert records(repo) == []


def test_a_line_over_64_kib_is_read_in_linear_time(tmp_path):
    """The line reader searched each chunk for a line end from every position (quadratic per
    chunk, again for each chunk): a few MB on one line took minutes under the lock."""
    from dealcli.importing.read import Source

    src = write(tmp_path, "one.csv", "a," + "x" * 3_000_000 + "\nb,c\r\nd\re")
    assert list(Source(str(src)).lines()) == ["a," + "x" * 3_000_000 + "\n", "b,c\r\n", "d\r", "e"]


# -- 7. presets ---------------------------------------------------------------------------------------------------
def test_zoho_preset(cli, repo):
    cli.ok("import", IMP / "zoho_deals.csv", "--preset", "zoho")
    deals = by(repo, "title")
    benton = deals["Benton Renewal"]
    assert str(benton["amount"]) == "22700.00" and benton["currency"] == "USD"
    assert str(benton["created"]).replace(" ", "T") == "2021-04-15T00:02:00+00:00"
    assert str(benton["close_date"]) == "2021-06-30" and benton["stage"] == "new"
    assert benton["origin_id"] == "zcrm_4876876000000335001" and benton["responsible"] == "Patricia Boyle"
    assert (deals["Chemel Pilot"]["status"], deals["Feltz Printing"]["status"]) == ("won", "lost")
    assert deals["Feltz Printing"]["lost_reason"] == "Price"


def test_odoo_preset_reads_multi_line_notes_in_crlf_records(cli, repo):
    assert b"\r\n" in (IMP / "odoo_crm_lead.csv").read_bytes()
    cli.ok("import", IMP / "odoo_crm_lead.csv", "--preset", "odoo")
    deals = by(repo, "origin_id")
    assert sorted(deals) == ["__export__.crm_lead_12_5b4f3a1c", "__export__.crm_lead_13_9e2d7c44", "crm.crm_case_7"]
    contract = deals["crm.crm_case_7"]
    assert contract["status"] == "won" and contract["comments"][0]["text"] == ("Signed.\nDelivery in two lots:\n"
                                                                               "- March\n- April")
    assert deals["__export__.crm_lead_12_5b4f3a1c"]["stage"] == "preparation"
    contacts = {c["name"]: c for c in records(repo, "contacts")}
    assert contacts["Douglas Fletcher"]["emails"] == ["douglas.fletcher51@example.com"]


def test_suitecrm_and_vtiger_presets(cli, repo):
    proc = cli("import", IMP / "suitecrm_opportunities.csv", "--preset", "suitecrm")
    assert proc.returncode == 0 and "1 skipped" in proc.stderr  # deleted=1
    deals = by(repo, "title")
    assert (deals["Q2 hardware refresh"]["stage"], deals["Support renewal"]["status"]) == ("executing", "won")
    assert deals["Q2 hardware refresh"]["currency"] == "USD"  # currency_id -99: the base currency
    cli.ok("import", IMP / "vtiger_potentials.csv", "--preset", "vtiger")
    deals = by(repo, "title")
    assert str(deals["Managed hosting"]["amount"]) == "1200.00" and deals["Managed hosting"]["status"] == "lost"
    assert deals["Website relaunch"]["fields"]["next_step"] == "Send proposal"


# -- 8. dangling links of exported records --------------------------------------------------------------------
def test_jsonl_with_dangling_links_is_refused_row_by_row(cli, repo, tmp_path):
    """A row linking a company or contact this repository lacks would leave a dangling link: it is
    a bad row named by its line (so `--rejects` can set it aside), with or without the old --strict."""
    from conftest import Runner

    cli.ok("deal", "add", "Linked", "--company", "Acme", "--contact", "Ann")
    cli.ok("deal", "add", "Alone")
    dump = tmp_path / "x.jsonl"
    dump.write_text(cli.ok("export", "-f", "jsonl", "--sort", "title"))
    Runner(tmp_path)("init", tmp_path / "empty", "--timezone", "UTC", check=True)
    other = Runner(tmp_path / "empty")
    for extra in ([], ["--strict"]):
        proc = other("import", dump, *extra)
        assert proc.returncode == 1 and "which this repository does not have" in proc.stderr, proc.stderr
        assert "[dangling-link]" in proc.stderr and "x.jsonl:2: company:" in proc.stderr, proc.stderr
        assert records(tmp_path / "empty") == []
    rejects = tmp_path / "rejects.jsonl"
    other.ok("import", dump, "--rejects", rejects)
    assert [d["title"] for d in records(tmp_path / "empty")] == ["Alone"]
    assert "Linked" in rejects.read_text() and "dangling-link" in rejects.read_text()


# -- 9. migration report --------------------------------------------------------------------------------------
def test_migration_report(cli, repo, tmp_path):
    cli.ok("contact", "add", "Ann Lee", "--email", "ann@x.example")
    src = write(tmp_path, "r.csv", "title,amount,company,contact_email,colour\n"
                'A,"$22,700.00",Acme,ann@x.example,red\nB,10,Acme,ann2@x.example,blue\n')
    report = tmp_path / "report.json"
    proc = cli("import", src, "--report", report)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["records"] == {"deals": {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "renumbered": 0},
                               "companies": {"created": 1}, "contacts": {"created": 1, "updated": 0}}
    assert data["unknown_columns"] == ["colour"]
    assert {"column": "amount", "field": "amount", "count": 1,
            "example": {"from": "$22,700.00", "to": "22700.00"}} in data["coerced"]
    assert "values read into another form" in proc.stderr
    again = cli("import", src, "--key", "title", "--report", report)
    assert again.returncode == 0
    assert json.loads(report.read_text())["records"]["deals"]["unchanged"] == 2


def test_an_imported_phone_finds_its_contact_as_e164(cli, repo, tmp_path):
    """The import compares phones as intake and clients do (clients.phone_key): the extension
    apart, the country code counts (the last ten digits do not decide)."""
    ny = cli.ok("contact", "add", "Bob Ray", "--phone", "+1 (212) 555-0142 ext. 7").strip()
    london = cli.ok("contact", "add", "Ann Lee", "--phone", "+44 20 7946 0958").strip()
    src = write(tmp_path, "p.csv", "title,contact_phone\nNY,+1 212-555-0142\nMaine,+1 207 946 0958\n")
    cli.ok("import", src)
    deals = by(repo, "title")
    assert deals["NY"]["contacts"] == [ny]
    assert deals["Maine"]["contacts"] != [london]
