"""Pipelines, deals, stage rules, parse and cards say what an error is about as fields (issue 11,
item 3): the command line still prints the option typed (`--move-deals-to`, `--stages`, `--set`),
while a core caller without a command line (intake, generators, wsgi, a script) reads plain field
names and never an option."""

from __future__ import annotations

import datetime as dt

import pytest

from dealcli import deals, parse, pipelines, stage_rules, timeutil
from dealcli.errors import NotFound, RuleViolation, UsageError

CARD = "fields:\n  - {name: budget, type: money}\n"


@pytest.fixture
def service(cli, repo):
    """Pipeline `service` (new, visit, won, lost) with a card and one deal in `visit`."""
    cli.ok("pipeline", "add", "service", "--stages", "new,visit,won:success,lost:failure")
    (repo / "card.yaml").write_text(CARD)
    cli.ok("pipeline", "edit", "service", "--card", repo / "card.yaml")
    return cli.ok("deal", "add", "Held", "--pipeline", "service", "--stage", "visit").strip()


def refused(call, kind=UsageError):
    with pytest.raises(kind) as caught:
        call()
    assert "--" not in caught.value.message, caught.value.message
    return caught.value


def test_a_stage_delete_names_move_deals_to(cli, session, service):
    out = cli("pipeline", "edit", "service", "--delete-stage", "visit", "--move-deals-to", "visit")
    assert out.returncode == 1
    assert "error: --move-deals-to 'visit' is the stage being deleted [stage-delete]" in out.stderr
    out = cli("pipeline", "edit", "service", "--delete-stage", "visit")
    assert "holds 1 deal(s); add --move-deals-to STAGE to move them first" in out.stderr

    ops = pipelines.EditOps(delete_stage="visit", move_deals_to="visit")
    err = refused(lambda: pipelines.edit(session, "service", ops), RuleViolation)
    assert err.violations[0].field == "stage" and err.violations[0].value == "visit"
    assert err.message == "move-deals-to 'visit' is the stage being deleted [stage-delete]"
    err = refused(lambda: pipelines.edit(session, "service", pipelines.EditOps(delete_stage="visit")), RuleViolation)
    assert "add move-deals-to STAGE to move them first" in err.message


def test_options_that_go_together_are_checked_in_the_core(cli, session):
    out = cli("pipeline", "edit", "sales", "--after", "new")
    assert out.returncode == 2
    assert "error: --after/--before place a stage: use them with --add-stage or --move-stage" in out.stderr
    out = cli("pipeline", "edit", "sales", "--move-stage", "new")
    assert "error: --move-stage S needs --after T or --before T" in out.stderr

    err = refused(lambda: pipelines.edit(session, "sales", pipelines.EditOps(after="new")))
    assert err.message == "after/before place a stage: use them with add-stage or move-stage"
    assert err.fields == ("after", "before", "add_stage", "move_stage")
    err = refused(lambda: pipelines.edit(session, "sales", pipelines.EditOps(color="#000000")))
    assert err.message == ("color describes a new stage: use it with add-stage ID "
                           "(color-stage S #RRGGBB recolours a stage)")
    err = refused(lambda: pipelines.edit(session, "sales", pipelines.EditOps(unrequire=[" "])))
    assert err.message == "unrequire ' ': not a usable field name"


def test_stages_text_names_stages(cli, session):
    out = cli("pipeline", "add", "x", "--stages", "a,b")
    assert out.returncode == 2 and "error: --stages: mark one stage :success (" in out.stderr
    out = cli("pipeline", "add", "x", "--stages", "a:120%,won:success")
    assert "error: --stages: 120 is not between 0 and 100" in out.stderr  # the option the text came from

    err = refused(lambda: pipelines.add(session, "x", None, "a,b"))
    assert err.message.startswith("stages: mark one stage :success (")
    assert refused(lambda: pipelines.parse_stages("A,won:success", "spec")).message.startswith("spec 'A': stage id")


def test_set_and_unset_name_the_options(cli, session, service):
    out = cli("deal", "add", "X", "--pipeline", "service", "--set", "nofield=1")
    assert out.returncode == 2
    assert ("error: --set nofield: not a field of pipeline 'service' (card fields: budget); "
            "a custom field is written --set fields.nofield=VALUE") in out.stderr
    out = cli("deal", "edit", service, "--set", "budget=")
    assert "'' is empty (use --unset to clear a field)" in out.stderr
    out = cli("deal", "edit", service, "--unset", "title")
    assert "error: --unset title: this field cannot be empty" in out.stderr

    spec = deals.DealSpec(title="X", pipeline="service", sets=["nofield=1"])
    err = refused(lambda: deals.add(session, spec))
    assert err.message == ("set nofield: not a field of pipeline 'service' (card fields: budget); "
                           "a custom field is written set fields.nofield=VALUE")
    err = refused(lambda: deals.add(session, deals.DealSpec(title="X", pipeline="service", sets=["budget="])),
                  RuleViolation)
    assert "'' is empty (use unset to clear a field)" in err.message
    err = refused(lambda: deals.edit(session, [service], {}, [], ["title"]))
    assert err.message == "unset title: this field cannot be empty"
    err = refused(lambda: deals.add(session, deals.DealSpec(title="X", from_ref="nope")))
    assert err.message.startswith("from 'nope': expected KIND:ID")


def test_rule_refusals_name_reason_and_stage(cli, session, service):
    cli.ok("pipeline", "edit", "service", "--require-lost-reason")
    out = cli("deal", "close", service, "--lost")
    assert "requires a reason to close a deal lost (--reason TEXT) [lost-reason]" in out.stderr
    out = cli("deal", "close", service, "--won", "--stage", "lost")
    assert "error: --stage is for closing lost (a failure stage)" in out.stderr

    deal, _ = session.load_deal(service)
    pipeline = session.pipeline("service")
    [v] = stage_rules.check_enter(deal, pipeline, "lost")
    assert str(v) == "pipeline 'service' requires a reason to close a deal lost (reason TEXT) [lost-reason]"
    assert v.as_dict() == {"rule": "lost-reason", "message": v.message, "field": "lost_reason"}
    _, [v] = stage_rules.close_stage(pipeline, True, "lost")
    assert v.message.startswith("stage is for closing lost")


def test_values_typed_on_the_command_line(cli, session):
    out = cli("deal", "add", "X", "--close-date", "notadate")
    assert out.returncode == 2 and "error: --close-date: cannot read 'notadate' as a date" in out.stderr
    out = cli("--now", "garbage", "filter")  # an option of the root, not of the command
    assert out.returncode == 2 and "error: --now: cannot read 'garbage' as a date and time" in out.stderr
    out = cli("deal", "add", "X", "--product", "A:5:-1")
    assert "error: --product 'A:5:-1': quantity cannot be negative" in out.stderr

    now = dt.datetime(2026, 3, 10, tzinfo=timeutil.UTC)
    assert refused(lambda: parse.parse_date("notadate", now, "close_date")).message == \
        "close-date: cannot read 'notadate' as a date"
    assert refused(lambda: parse.parse_amount("abc")).message == \
        "amount: 'abc' is not a decimal number (character 1: 'a' is not part of a number)"
    assert refused(lambda: parse.parse_product("A::25")).message.endswith("e.g. product p7k2m9x4qa:25)")
    assert refused(lambda: parse.split_assignment("novalue")).message == "set 'novalue': expected FIELD=VALUE"
    reader = timeutil.DateReader(timeutil.UTC, None)
    reader.parse("01/02/2024")
    with pytest.raises(timeutil.AmbiguousDates) as caught:
        reader.decide()
    assert "pass dayfirst or monthfirst" in str(caught.value)
    [line] = caught.value.error(UsageError, "f.csv").lines(lambda f: "--" + f)  # as the edge words it
    assert line.startswith("f.csv: dates: '01/02/2024'") and "pass --dayfirst or --monthfirst" in line


def test_no_repository_names_the_root_option_dir(cli, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = cli("filter", cwd=elsewhere)
    assert out.returncode == 3
    assert f"error: no dealcli repository in {elsewhere} or above (run `dealcli init`, or pass --dir)" in out.stderr

    from dealcli.storage.repository import find_root

    monkeypatch.delenv("DEALCLI_DIR", raising=False)
    with pytest.raises(NotFound) as caught:
        find_root(None, elsewhere)
    assert caught.value.message.endswith("or pass dir)") and caught.value.fields == ("dir",)
