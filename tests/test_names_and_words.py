"""Issue 27, item 4: names where a person reads, words that are counted right and say only what
happened, and refusals of assignments that would silently do something else."""

from __future__ import annotations

import json

from dealcli.views import messages


def _add(cli, *args) -> str:
    return cli.ok("deal", "add", *args, "-q").strip()


def test_deal_history_shows_stage_and_pipeline_names_and_json_keeps_ids(cli):
    did = _add(cli, "H")
    cli.ok("deal", "move", did, "preparation", "-q")
    cli.ok("deal", "close", did, "--won", "-q")
    table = cli.ok("deal", "history", did)
    assert "stage=New, pipeline=Sales" in table
    assert "New -> Preparing documents" in table and "won in Deal won" in table
    assert "new -> preparation" not in table
    events = [json.loads(line) for line in cli.ok("deal", "history", did, "-f", "jsonl").splitlines()]
    assert {"from": "new", "to": "preparation"}.items() <= events[1].items()


def test_calendar_day_lists_show_stage_names(cli):
    did = _add(cli, "Due soon", "--close-date", "2026-03-20")
    cli.ok("deal", "move", did, "final_invoice", "-q")
    text = cli.ok("calendar", "--month", "2026-03")
    line = next(x for x in text.splitlines() if did in x)
    assert line.rstrip().endswith("Final invoice") and "final_invoice" not in line
    rows = json.loads(cli.ok("calendar", "--month", "2026-03", "-f", "json"))
    assert rows[0]["stage"] == "final_invoice"  # machine formats keep the id


def test_filter_company_takes_a_name_as_company_does(cli):
    did = _add(cli, "Named", "--company", "ООО Ромашка")
    _add(cli, "Other", "--company", "Acme")
    assert cli.ok("filter", "company=ООО Ромашка", "-f", "ids").split() == [did]
    assert cli.ok("filter", "company=ооо ромашка", "-f", "ids").split() == [did]  # as --company: any case
    company = json.loads(cli.ok("deal", "show", did, "-f", "json"))["company"]
    assert cli.ok("filter", f"company={company}", "-f", "ids").split() == [did]
    assert did not in cli.ok("filter", "company!=ООО Ромашка", "-f", "ids").split()


def test_counts_are_worded_in_the_right_number():
    assert messages.counted(1, "contact") == "1 contact" and messages.counted(2, "contact") == "2 contacts"
    assert messages.counted(1, "company", "companies") == "1 company"
    assert messages.counted(0, "company", "companies") == "0 companies"


def test_the_import_summary_counts_one_contact_as_one(cli, tmp_path):
    src = tmp_path / "one.csv"
    src.write_text("title,company,contact\nOnly,Solo Co,Ann Solo\n")
    proc = cli("import", src)
    assert proc.returncode == 0, proc.stderr
    assert "1 row: 1 deal created" in proc.stderr and "1 company and 1 contact created" in proc.stderr


def test_a_refused_deal_add_says_nothing_about_records_it_never_wrote(cli):
    out = cli("deal", "add", "X", "--company", "Quokka Ltd", "--contact", "Xu Quill", "--product", "NoSuchThing")
    assert out.returncode == 3
    assert "created company" not in out.stderr and "created contact" not in out.stderr
    assert "Quokka" not in cli.ok("company", "list")
    ok = cli("deal", "add", "X", "--company", "Quokka Ltd", "--contact", "Xu Quill")
    assert ok.returncode == 0 and "created company" in ok.stderr and "created contact" in ok.stderr


def test_set_of_an_unknown_field_without_a_card_asks_for_fields_name(cli):
    out = cli("deal", "add", "Z", "--set", "close_dat=2026-01-01")
    assert out.returncode == 2
    assert "--set close_dat: not a deal field and pipeline 'sales' has no card (did you mean 'close_date'?)" \
        in out.stderr and "--set fields.close_dat=VALUE" in out.stderr
    did = _add(cli, "Z", "--set", "fields.close_dat=2026-01-01")
    assert json.loads(cli.ok("deal", "show", did, "-f", "json"))["fields"] == {"close_dat": "2026-01-01"}


def test_core_fields_are_not_set_by_hand(cli):
    for name, value in (("status", "won"), ("stage", "won"), ("pipeline", "x"), ("id", "abc"), ("history", "[]")):
        out = cli("deal", "add", "Z", "--set", f"{name}={value}")
        assert out.returncode == 2 and f"--set {name}: not set by hand" in out.stderr, (name, out.stderr)
    assert "`dealcli deal close`" in cli("deal", "add", "Z", "--set", "status=won").stderr
    assert cli.ok("filter", "-f", "ids") == ""


def test_an_unknown_stage_is_exit_1_everywhere_and_suggested_as_typed(cli):
    did = _add(cli, "S")
    move = cli("deal", "move", did, "Preparing documnts")
    filt = cli("filter", "stage=Preparing documnts")
    assert move.returncode == filt.returncode == 1  # docs/exit-codes.md: an unknown stage breaks a rule
    for out in (move, filt):
        assert "(did you mean 'Preparing documents'?)" in out.stderr and "[stage-exists]" in out.stderr
    by_id = cli("deal", "move", did, "preparaton")
    assert by_id.returncode == 1 and "(did you mean 'preparation'?)" in by_id.stderr  # an id for an id


def test_an_unknown_pipeline_gets_a_suggestion(cli):
    cli.ok("pipeline", "add", "service", "--stages", "new,visit:Visit:40%,won:Done:success,lost:Cancelled:failure")
    out = cli("board", "-p", "servce")
    assert out.returncode == 3 and "pipeline 'servce': no such pipeline (did you mean 'service'?)" in out.stderr


def test_the_next_step_hint_respects_the_working_hours(cli, repo):
    night = cli("deal", "add", "Night owl", now="2026-03-09T23:10:00+00:00")  # a Monday
    assert "--due '2026-03-13 09:00'" in night.stderr  # not Thursday 00:00
    evening = cli("deal", "add", "Late", now="2026-03-13T17:20:00+00:00")  # a Friday: Wednesday 18:00 -> Thursday
    assert "--due '2026-03-19 09:00'" in evening.stderr
    config = repo / "dealcli.yaml"
    config.write_text(config.read_text() + "working_hours: \"07:00-23:30\"\n")
    late = cli("deal", "add", "Late", now="2026-03-13T17:20:00+00:00")
    assert "--due '2026-03-18 18:00'" in late.stderr
    config.write_text(config.read_text().replace("07:00-23:30", "18:00-09:00"))
    bad = cli("deal", "add", "Bad")
    assert bad.returncode == 5 and "working_hours: '18:00-09:00' is not HH:MM-HH:MM" in bad.stderr


def test_no_help_shows_a_doubled_optional_argument():
    """Click wraps an optional variadic argument itself: a metavar "[ID]..." printed [[ID]...]...."""
    import click
    import typer.main

    from dealcli import cli as cli_mod

    cli_mod._register(list(cli_mod.REGISTRY))
    root = typer.main.get_command(cli_mod._app)

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield path, cmd

    for path, cmd in walk(root, ["dealcli"]):
        usage = cmd.get_usage(click.Context(cmd, info_name=" ".join(path)))
        assert "[[" not in usage, usage


def test_converting_a_lead_says_created_contact_and_company_in_russian(cli):
    lead_id = cli.ok("lead", "add", "Web lead", "--contact-name", "Ann Lee", "--company-name", "Lee Co").strip()
    out = cli("lead", "convert", lead_id, env={"LANGUAGE": "ru"})
    assert out.returncode == 0, out.stderr
    assert "создан контакт" in out.stderr and "(Ann Lee)" in out.stderr and "created" not in out.stderr
