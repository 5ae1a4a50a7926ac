"""Issue 15, "a CLI that helps": stages by name, "did you mean", near-miss client names, dates,
currencies, global options anywhere, delete/edit of every record kind, readable help."""

import json
from decimal import Decimal


def add(cli, *args):
    return cli.ok("deal", "add", *args).strip()


def show(cli, deal_id):
    return json.loads(cli.ok("deal", "show", deal_id, "-f", "json"))


# -- 1. stages by id or name, "did you mean" -----------------------------------------------------------
def test_stages_by_name_any_case_everywhere(cli):
    d = add(cli, "Named", "--stage", "preparing documents")
    assert show(cli, d)["stage"] == "preparation"
    cli.ok("deal", "move", d, "IN PROGRESS")
    assert show(cli, d)["stage"] == "executing"
    cli.ok("deal", "move", d, "Final_Invoice")
    assert show(cli, d)["stage"] == "final_invoice"
    cli.ok("deal", "close", d, "--lost", "--stage", "analyze failure", "--reason", "x")
    assert show(cli, d)["stage"] == "apology"
    cli.ok("deal", "reopen", d, "--stage", "New")
    assert show(cli, d)["stage"] == "new"
    assert cli.ok("filter", "stage=in progress,NEW", "-f", "ids").split() == [d]
    cli.ok("pipeline", "edit", "sales", "--rename-stage", "in progress", "Doing")
    assert "Doing" in cli.ok("pipeline", "show", "sales")


def test_unknown_stage_did_you_mean(cli):
    d = add(cli, "Typo")
    r = cli("deal", "move", d, "exectuing")
    assert r.returncode == 1 and "did you mean 'executing'" in r.stderr
    r = cli("filter", "stage=exectuing")
    assert r.returncode == 1 and "did you mean 'executing'" in r.stderr  # one exit code (issue 27)


def test_unknown_fields_exit_2_with_hint(cli):
    add(cli, "Fields", "--set", "fields.po=PO-1")
    for args, word in ((("filter", "amout>5"), "'amount'"), (("filter", "--sort", "-amont"), "'amount'"),
                       (("filter", "--columns", "id,titel"), "'title'")):
        r = cli(*args)
        assert r.returncode == 2 and f"did you mean {word}" in r.stderr, (args, r.stderr)
    # a custom field some deal carries is a known field
    assert cli.ok("filter", "po=PO-1", "-f", "ids").strip()
    assert cli("filter", "nosuchfield=1").returncode == 2


def test_set_unknown_field_refused_where_the_pipeline_has_a_card(cli, tmp_path):
    card = tmp_path / "card.yaml"
    card.write_text("fields:\n  - {name: budget, type: money}\n")
    cli.ok("pipeline", "edit", "sales", "--card", str(card))
    r = cli("deal", "add", "Carded", "--set", "budgte=10")
    assert r.returncode == 2 and "did you mean 'budget'" in r.stderr
    d = add(cli, "Carded", "--set", "budget=10", "--set", "fields.free=ok")
    assert show(cli, d)["fields"]["free"] == "ok"


def test_near_miss_company_refused_unless_new_company(cli):
    company = cli.ok("company", "add", "Initech AG").strip()
    r = cli("deal", "add", "Dup", "--company", "Initech")
    assert r.returncode == 2 and "Initech AG" in r.stderr and "--new-company" in r.stderr
    assert cli.ok("company", "list", "-f", "ids").split() == [company]
    d = add(cli, "Exact", "--company", "initech ag")
    assert show(cli, d)["company"] == company
    d = add(cli, "New", "--company", "Initech", "--new-company")
    assert show(cli, d)["company"] != company
    cli.ok("contact", "add", "Peter Gibbons")
    r = cli("deal", "add", "C", "--contact", "Peter Gibons")
    assert r.returncode == 2 and "--new-contact" in r.stderr
    add(cli, "C", "--contact", "Peter Gibons", "--new-contact")


# -- 2. dates -----------------------------------------------------------------------------------------
def test_relative_dates_in_the_cli(cli):
    # the clock: Tuesday 2026-03-10
    for text, day in (("next friday", "2026-03-13"), ("in 3 days", "2026-03-13"), ("next week", "2026-03-16"),
                      ("eow", "2026-03-13"), ("eom", "2026-03-31"), ("eoy", "2026-12-31"), ("3d", "2026-03-13")):
        d = add(cli, "Dated", "--close-date", text)
        assert show(cli, d)["close_date"] == day, text
    assert cli.ok("filter", "close_date=eom", "-f", "ids").strip()


def test_ambiguous_numeric_dates_follow_the_repository_setting(cli, repo, tmp_path):
    r = cli("deal", "add", "Ambiguous", "--close-date", "03/04/2026")
    assert r.returncode == 2 and "date_order" in r.stderr
    d = add(cli, "Clear", "--close-date", "13/04/2026")
    assert show(cli, d)["close_date"] == "2026-04-13"
    csv = tmp_path / "deals.csv"
    csv.write_text("title,close_date\nA,03/04/2026\n")
    r = cli("import", str(csv))
    assert r.returncode == 2 and "date_order" in r.stderr
    cfg = repo / "dealcli.yaml"
    cfg.write_text(cfg.read_text() + "date_order: dayfirst\n")
    d = add(cli, "Dayfirst", "--close-date", "03/04/2026")
    assert show(cli, d)["close_date"] == "2026-04-03"
    cli.ok("import", str(csv))
    assert cli.ok("filter", "title=A", "close_date=2026-04-03", "-f", "ids").strip()
    card = tmp_path / "card.yaml"
    card.write_text("fields:\n  - {name: signed_on, type: date}\n")
    cli.ok("pipeline", "edit", "sales", "--card", str(card))
    d = add(cli, "Card date", "--set", "signed_on=03/04/2026")  # card fields follow date_order too
    assert show(cli, d)["fields"]["signed_on"] == "2026-04-03"
    cfg.write_text(cfg.read_text().replace("dayfirst", "monthfirst"))
    d = add(cli, "Monthfirst", "--close-date", "03/04/2026")
    assert show(cli, d)["close_date"] == "2026-03-04"
    cli.ok("check")


# -- 3. currencies ------------------------------------------------------------------------------------
def test_currencies_are_iso_4217_with_a_hint(cli):
    r = cli("deal", "add", "Euro", "--currency", "euro")
    assert r.returncode == 2 and "did you mean EUR" in r.stderr
    assert cli("product", "add", "Seat", "--price", "10", "--currency", "XYZ").returncode == 2
    d = add(cli, "Franc", "--currency", "chf")
    assert show(cli, d)["currency"] == "CHF"
    assert cli("deal", "edit", d, "--currency", "dollars").returncode == 2


def test_board_converts_with_the_rates_table(cli, repo):
    add(cli, "E", "--amount", "100", "--currency", "EUR")
    add(cli, "U", "--amount", "50")
    r = cli("board", "--currency", "EUR")
    assert r.returncode == 2 and "rates:" in r.stderr
    cfg = repo / "dealcli.yaml"
    cfg.write_text(cfg.read_text() + "rates:\n  EUR: 1.08\n")
    raw = cli.ok("board", "--currency", "EUR", "-f", "json")
    total = json.loads(raw, parse_float=Decimal)["total"]
    assert total["converted"] == {"currency": "EUR", "sum": Decimal("146.30"), "weighted": Decimal("14.63")}
    assert '"sum": 146.30' in raw  # 100 + 50/1.08, exact decimal text
    assert "in USD: sum 158.00" in cli.ok("board")  # with rates: the repository currency by default
    cli.ok("check")


# -- 4. global options anywhere -----------------------------------------------------------------------
def test_global_options_after_the_subcommand(cli, repo, tmp_path):
    r = cli("deal", "add", "Quiet", "--company", "Brand New Co", "-q")
    assert r.returncode == 0 and r.stderr == ""  # the "created company" notice is silenced
    d = r.stdout.strip()
    # --dir, --as and --now after the command, from another folder
    out = cli.ok("filter", "-f", "ids", "--dir", str(repo), cwd=tmp_path)
    assert d in out.split()
    d2 = cli.ok("deal", "add", "Later", "--as", "bob@example.com", f"--dir={repo}", "--now", "2026-05-01T10:00",
                cwd=tmp_path).strip()
    data = show(cli, d2)
    assert data["created_by"] == "bob@example.com" and data["created"].startswith("2026-05-01")
    # an option value that looks like a global option stays the value; so does anything after --
    a = cli.ok("activity", "add", d, "--type", "call", "--subject", "-q").strip()
    rows = [json.loads(x) for x in cli.ok("activity", "list", "-f", "jsonl").splitlines()]
    assert [r["subject"] for r in rows if r["id"] == a] == ["-q"]
    cli.ok("deal", "comment", d, "--", "--dir")
    assert show(cli, d)["comments"][-1]["text"] == "--dir"
    assert cli.ok("-V").startswith("dealcli ")


# -- 5. create, edit and delete for every record kind ---------------------------------------------------
def test_company_and_contact_delete_refused_while_linked_unless_unlink(cli):
    company = cli.ok("company", "add", "Globex").strip()
    contact = cli.ok("contact", "add", "Hank Scorpio", "--company", company).strip()
    d = add(cli, "G", "--company", company, "--contact", contact)
    cli.ok("deal", "close", d, "--won")  # a closed deal is unlinked too
    r = cli("company", "delete", "Globex")
    assert r.returncode == 1 and "--unlink" in r.stderr and "1 deal(s)" in r.stderr
    assert cli.ok("company", "delete", "Globex", "--unlink").strip() == company
    data = show(cli, d)
    assert data["company"] is None and data["history"][-1]["kind"] == "relinked"
    assert data["history"][-1]["field"] == "company" and data["history"][-1]["old"] == company
    assert json.loads(cli.ok("contact", "show", contact, "-f", "json"))["company"] is None
    assert cli("contact", "delete", contact).returncode == 1
    cli.ok("contact", "delete", contact, "--unlink")
    assert show(cli, d)["contacts"] == []
    assert cli("company", "show", company).returncode == 3
    cli.ok("check")


def test_product_lead_quote_edit_and_delete(cli):
    p = cli.ok("product", "add", "Seat", "--price", "10", "--sku", "SEAT").strip()
    cli.ok("product", "edit", "SEAT", "--set", "price=12.50", "--set", "unit=month")
    got = json.loads(cli.ok("product", "show", p, "-f", "json"), parse_float=Decimal)
    assert (got["price"], got["unit"]) == (Decimal("12.50"), "month")
    r = cli("product", "edit", p, "--set", "prcie=1")
    assert r.returncode == 2 and "did you mean 'price'" in r.stderr
    d = add(cli, "Rows", "--product", f"{p}:3")
    q = cli.ok("quote", "add", "Offer", "--product", "SEAT").strip()
    assert cli("product", "delete", p).returncode == 1
    cli.ok("product", "delete", p, "--unlink")
    row = show(cli, d)["products"][0]
    assert row["product"] is None and row["name"] == "Seat" and row["quantity"] == 3
    cli.ok("quote", "edit", q, "--set", "title=Better offer", "--set", "valid_until=eom")
    got = json.loads(cli.ok("quote", "show", q, "-f", "json"))
    assert (got["title"], got["valid_until"]) == ("Better offer", "2026-03-31")
    cli.ok("quote", "delete", q)
    lead = cli.ok("lead", "add", "Inbound", "--email", "a@b.example").strip()
    cli.ok("lead", "edit", lead, "--set", "source=fair", "--unset", "email")
    got = json.loads(cli.ok("lead", "show", lead, "-f", "json"))
    assert (got["source"], got["email"]) == ("fair", None)
    cli.ok("lead", "delete", lead)
    assert cli("lead", "show", lead).returncode == 3
    cli.ok("check")


def test_activity_edit_delete_done_twice_and_deal_delete_with_activities(cli):
    d = add(cli, "Acts")
    a = cli.ok("activity", "add", d, "--type", "call", "--subject", "Call").strip()
    b = cli.ok("activity", "add", d, "--type", "task", "--subject", "Task").strip()
    cli.ok("activity", "edit", a, "--subject", "Call back", "--due", "next friday 10:00")
    rows = {r["id"]: r for r in json.loads(cli.ok("activity", "list", "-f", "json"))}
    assert rows[a]["subject"] == "Call back" and rows[a]["due"].startswith("2026-03-13T10:00")
    cli.ok("activity", "done", a)
    r = cli("activity", "done", a)
    assert r.returncode == 0 and "already done" in r.stderr and r.stdout == ""
    cli.ok("activity", "delete", b)
    assert b not in cli.ok("activity", "list", "--all", "-f", "ids")
    c = cli.ok("activity", "add", d, "--type", "call", "--subject", "Again").strip()
    cli.ok("deal", "delete", d, "--yes", "--with-activities")
    left = cli.ok("activity", "list", "--all", "-f", "ids").split()
    assert a not in left and c not in left


def test_product_name_with_empty_part_is_refused(cli):
    r = cli("deal", "add", "X", "--product", "Seat::25")
    assert r.returncode == 2 and "ID:QTY" in r.stderr


# -- 6. history ---------------------------------------------------------------------------------------
def test_history_shows_product_rows_move_reasons_and_activities(cli):
    d = add(cli, "Hist", "--product", "Seat:10:2")
    cli.ok("deal", "edit", d, "--product", "Seat:12:2", "--product", "Setup:5")
    a = cli.ok("activity", "add", d, "--type", "call", "--subject", "Ring").strip()
    cli.ok("activity", "done", a)
    cli.ok("deal", "move", d, "executing", "--reason", "signed the NDA")
    table = cli.ok("deal", "history", d)
    assert "row 1 Seat price: 10.00 -> 12.00" in table and "row 2 added (Setup)" in table
    assert "New -> In progress (reason: signed the NDA)" in table
    assert "activity_added" in table and "activity_done" in table and "call: Ring" in table
    events = json.loads(cli.ok("deal", "history", d, "-f", "json"))
    change = [e for e in events if e.get("field") == "products"][0]
    assert {"row": 1, "name": "Seat", "field": "price", "old": "10.00", "new": "12.00"} in change["rows"], change
    assert [e["kind"] for e in events if e["kind"].startswith("activity")] == ["activity_added", "activity_done"]
    cli.ok("filter", "--as-of", "2026-03-10", "-f", "ids")
    cli.ok("check")


# -- 7. help and cards ------------------------------------------------------------------------------
def _command_paths():
    from typer.main import get_command

    from dealcli.cli import app

    def walk(cmd, path):
        yield path
        for name, sub in (getattr(cmd, "commands", {}) or {}).items():
            yield from walk(sub, path + [name])

    return list(walk(get_command(app), []))


def test_help_has_no_python_types_and_edit_no_add_defaults(cli):
    import re

    paths = _command_paths()
    assert len(paths) > 40
    for path in paths:
        text = cli.ok(*path, "--help")
        assert not re.search(r"<(str|int|float|bool|list\[)", text), (path, text)
        assert "{" + "deal_id}" not in text
    edit = cli.ok("deal", "edit", "--help")
    assert "default:" not in edit


def test_quote_and_recurring_show_are_cards(cli):
    company = cli.ok("company", "add", "Initrode").strip()
    q = cli.ok("quote", "add", "Offer", "--product", "Seat:10:3", "--company", company).strip()
    text = cli.ok("quote", "show", q)
    assert text.startswith(f"Offer ({q})") and "Initrode" in text and "30.00" in text and '{"name"' not in text
    r = cli.ok("recurring", "add", "Support", "--every", "month", "--start", "2026-04-01", "--amount", "450").strip()
    text = cli.ok("recurring", "show", r)
    assert "every month from 2026-04-01" in text and '{"' not in text
    assert json.loads(cli.ok("recurring", "show", r, "-f", "json"))["id"] == r


# -- 8. tables fit the terminal -------------------------------------------------------------------
def test_filter_table_fits_the_terminal_and_wide_shows_all(cli):
    import io

    from dealcli import env as environment
    from dealcli.views import fit

    add(cli, "A very long deal title about cloud backup services for the whole northern region", "--stage",
        "preparation", "--close-date", "2026-04-01")
    piped = cli("filter")  # not a terminal, no $COLUMNS: every column in full
    assert "northern region" in piped.stdout and "responsible" in piped.stdout.splitlines()[0]
    fitted = cli("filter", env={"COLUMNS": "80"})  # $COLUMNS asks for a width, also for a pipe
    assert "northern region" not in fitted.stdout and "…" in fitted.stdout
    assert "hid responsible" in fitted.stderr and "--wide" in fitted.stderr
    assert cli.ok("filter", "--wide", env={"COLUMNS": "80"}) == piped.stdout  # --wide: as it was
    rows = [{"id": "g050000000", "title": "A very long deal title about cloud backup services for the whole region",
             "stage": "Preparing documents", "status": "open", "amount": "952.80", "currency": "USD",
             "responsible": "tester@example.com", "close_date": "2026-03-20"}]
    cols = list(rows[0])
    out, kept, dropped = fit.fit(rows, cols, 80)
    widths = {c: max(len(c) + fit.HEAD_PAD, len(out[0][c])) for c in kept}
    assert sum(widths.values()) + fit.GAP * (len(kept) - 1) <= 80
    assert out[0]["title"].endswith("…") and "responsible" in dropped and "id" in kept and "amount" in kept
    assert fit.fit(rows, cols, 300) == ([{c: str(v) for c, v in rows[0].items()}], cols, [])
    assert fit.fit(rows, cols, None)[2] == []

    class Tty:
        def isatty(self):
            return True

    assert "--wide" in cli.ok("--help")
    with environment.using(environment.Environment(io.StringIO(), io.StringIO(), io.StringIO(), {})):
        assert fit.terminal_width() is None  # a pipe
    with environment.using(environment.Environment(io.StringIO(), Tty(), io.StringIO(), {"COLUMNS": "93"})):
        assert fit.terminal_width() == 93


# -- 9. colours -------------------------------------------------------------------------------------
def test_colours_are_the_terminals_base_colours_unless_more_is_asked(monkeypatch):
    """Issue 27: the 256-colour default rounded stage colours brighter (2.4-3.0:1 on white). By
    default every stage colour is one of the theme's base colours, whatever $COLORTERM says;
    256 and truecolor only with DEALCLI_COLOR, and then made readable on both backgrounds."""
    import io

    from dealcli import env as environment
    from dealcli import pipelines
    from dealcli.views import colors, render

    monkeypatch.setenv("COLORTERM", "truecolor")  # the terminal can: not asked, so not used
    monkeypatch.delenv("DEALCLI_COLOR", raising=False)
    defaults = pipelines.PROCESS_COLORS + (pipelines.SUCCESS_COLOR, pipelines.FAILURE_COLOR, colors.OVERDUE)
    codes = [colors.sgr(c) for c in defaults]
    assert codes == ["\x1b[34m", "\x1b[36m", "\x1b[36m", "\x1b[36m", "\x1b[33m", "\x1b[33m", "\x1b[35m",
                     "\x1b[34m", "\x1b[32m", "\x1b[31m", "\x1b[31m"]
    assert colors.sgr("#808080") is None and colors.sgr("#808080", bold=True) == "\x1b[1m"  # a grey: default colour
    assert colors.sgr("#D0021B", bold=True) == "\x1b[1;31m"
    for hex_color in ("#47E4C2", "#FFA900", "#000000", "#FFFFFF", "#39A8EF"):
        rgb = tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
        lum = colors.luminance(colors.readable(rgb))
        assert colors.LOW - 0.01 <= lum <= colors.HIGH + 0.01, hex_color
    monkeypatch.setenv("DEALCLI_COLOR", "truecolor")
    assert colors.sgr("#FFA900").startswith("\x1b[38;2;")
    monkeypatch.setenv("DEALCLI_COLOR", "256")
    assert colors.sgr("#FFA900").startswith("\x1b[38;5;")
    monkeypatch.setenv("DEALCLI_COLOR", "nonsense")
    assert colors.sgr("#FFA900") == "\x1b[33m"

    class Tty(io.StringIO):
        def isatty(self):
            return True

    def painted(**environ: str) -> str:  # on a terminal, with these variables only
        with environment.using(environment.Environment(io.StringIO(), Tty(), io.StringIO(), environ)):
            return render.paint("x", "#FFA900")

    assert painted() == "\x1b[33mx\x1b[0m"
    assert painted(NO_COLOR="1") == "x"
    assert painted(NO_COLOR="") == "\x1b[33mx\x1b[0m"  # no-color.org: only a NO_COLOR present and not empty
    assert painted(TERM="dumb") == "x"


def test_no_color_is_honoured_on_a_real_terminal(cli, repo):
    """A real pseudo-terminal: colour by default and with an empty NO_COLOR, none with NO_COLOR set
    to anything else (no-color.org)."""
    import os
    import pty
    import subprocess

    add(cli, "Coloured")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_") and k != "NO_COLOR"}
    env.update(DEALCLI_NOW="2026-03-10T12:00:00+00:00", TZ="UTC", TERM="xterm", COLUMNS="120")

    def run(extra: dict) -> bytes:
        leader, follower = pty.openpty()
        proc = subprocess.run([cli.exe, "--dir", str(repo), "filter"], stdout=follower, stderr=subprocess.DEVNULL,
                              env={**env, **extra}, timeout=60)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
        assert proc.returncode == 0
        return out

    assert b"\x1b[34mNew\x1b[0m" in run({})  # the default pipeline's first stage, a base colour
    assert b"\x1b[" not in run({"NO_COLOR": "1"})
    assert b"\x1b[34mNew\x1b[0m" in run({"NO_COLOR": ""})  # present but empty: colour stays on


def test_overdue_stands_out_in_agenda(cli):
    d = add(cli, "Late one")
    cli.ok("activity", "add", d, "--type", "call", "--subject", "Missed", "--due", "2026-03-01 10:00")
    assert "OVERDUE (1)" in cli.ok("agenda")


# -- 10. completion, iCalendar, demo -----------------------------------------------------------------
def test_agenda_ics_is_valid_icalendar(cli, repo):
    import os
    import subprocess

    import icalendar

    d = add(cli, "Ünïcode deal; with, commas and a very long title that needs folding at 75 octets ✓✓✓")
    a = cli.ok("activity", "add", d, "--type", "meeting", "--subject", "Kick-off\\nline", "--due",
               "2026-03-12 15:00").strip()
    add(cli, "No activity")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(DEALCLI_NOW="2026-03-10T12:00:00+00:00", TZ="UTC", NO_COLOR="1")
    out = subprocess.run([cli.exe, "--dir", str(repo), "agenda", "-f", "ics"], capture_output=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    raw = out.stdout.decode("utf-8")  # bytes as written: the CRLF line ends are kept
    assert raw.startswith("BEGIN:VCALENDAR\r\n") and raw.endswith("END:VCALENDAR\r\n")
    assert "\n" not in raw.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in raw.split("\r\n"))
    cal = icalendar.Calendar.from_ical(raw)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    ev = events[0]
    assert str(ev["UID"]) == f"{a}@dealcli" and "DTSTAMP" in ev
    assert ev.decoded("DTSTART").isoformat() == "2026-03-12T15:00:00+00:00"
    assert "with, commas" in str(ev["SUMMARY"]) and "✓✓✓" in str(ev["SUMMARY"])


def test_completion_of_ids_stages_pipelines_presets_and_users(cli, repo):
    import os
    import subprocess

    d = add(cli, "Complete me")
    a = cli.ok("activity", "add", d, "--type", "call", "--subject", "x").strip()
    cfg = repo / "dealcli.yaml"
    cfg.write_text(cfg.read_text() + "filters:\n  big: [amount>1000]\n")

    def complete(words: str) -> list[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
        env.update(_DEALCLI_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1))
        out = subprocess.run([cli.exe], capture_output=True, text=True, env=env, cwd=repo, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert complete(f"dealcli deal show {d[:3]}") == [d]
    assert complete(f"dealcli deal move {d} prep") == ["preparation", "prepayment_invoice"]
    assert complete("dealcli filter --preset b") == ["big"]
    assert complete("dealcli board -p sa") == ["sales"]
    assert complete(f"dealcli activity done {a[:4]}") == [a]
    assert complete("dealcli deal show ") == [d]
    # outside any repository: nothing, and no error
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(_DEALCLI_COMPLETE="complete_bash", COMP_WORDS="dealcli deal show x", COMP_CWORD="3")
    out = subprocess.run([cli.exe], capture_output=True, text=True, env=env, cwd="/", timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == ""


def test_demo_prints_commands_that_can_be_pasted(tmp_path):
    import os
    import re
    import subprocess
    from pathlib import Path

    from conftest import dealcli_bin

    script = Path(__file__).resolve().parent.parent / "scripts" / "demo.sh"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(NO_COLOR="1", TZ="UTC")
    out = subprocess.run(["bash", str(script), dealcli_bin()], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    commands = [line[2:] for line in out.stderr.splitlines() if line.startswith("$ ")]
    assert len(commands) > 15 and all("--dir demo-repo" in c for c in commands[2:])
    show = next(c for c in commands if " deal show " in c)
    assert re.search(r"deal show [0-9a-z]{10}$", show)  # the real id, not a variable
    assert commands[0] == "export DEALCLI_USER=demo@example.com"
    for command in (show, next(c for c in commands if " | head" in c)):
        again = subprocess.run(["bash", "-c", f"{commands[0]}; {command}"], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=60)
        assert again.returncode == 0 and again.stdout.strip(), (command, again.stderr)
