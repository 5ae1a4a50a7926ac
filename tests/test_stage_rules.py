"""Pure tests of THE stage-rule module: no disk."""

from decimal import Decimal

import pytest

from dealcli import stage_rules as rules
from dealcli.model import Deal, Stage, default_pipeline


@pytest.fixture
def pipe():
    p = default_pipeline()
    p.rules = {"require": [{"field": "close_date", "from_stage": "executing"},
                           {"field": "contract_no", "from_stage": "final_invoice"}],
               "lost_reason_required": False}
    return p


def deal(**kw):
    base = dict(id="d1", title="T", pipeline="sales", stage="new")
    base.update(kw)
    return Deal(**base)


def rule_names(violations):
    return [v.rule for v in violations]


def test_unknown_stage_is_named(pipe):
    v = rules.check_move(deal(), pipe, "nowhere")
    assert rule_names(v) == ["stage-exists"]
    assert v[0].field == "stage" and v[0].value == "nowhere"


def test_process_move_allowed(pipe):
    assert rules.check_move(deal(), pipe, "preparation") == []


def test_closed_deal_cannot_move_or_edit(pipe):
    closed = deal(stage="won", status="won")
    assert rule_names(rules.check_move(closed, pipe, "new")) == ["closed-deal"]
    assert rule_names(rules.check_edit(closed, closed, pipe)) == ["closed-deal"]
    _, v = rules.check_close(closed, pipe, False, None, None)
    assert rule_names(v) == ["closed-deal"]


def test_required_field_from_stage_onward(pipe):
    d = deal()
    assert rules.check_move(d, pipe, "preparation") == []
    v = rules.check_move(d, pipe, "executing")
    assert rule_names(v) == ["required-field"] and v[0].field == "close_date"
    # later stages inherit; both requirements apply in final_invoice
    assert sorted(x.field for x in rules.check_move(d, pipe, "final_invoice")) == ["close_date", "contract_no"]
    # closing won is "onward" too
    _, v = rules.check_close(d, pipe, True, None, None)
    assert {x.field for x in v} == {"close_date", "contract_no"}
    # failure stages are exempt
    _, v = rules.check_close(d, pipe, False, None, None)
    assert v == []


def test_custom_field_satisfies_requirement(pipe):
    import datetime as dt

    d = deal(close_date=dt.date(2026, 1, 1), fields={"contract_no": "C-1"})
    assert rules.check_move(d, pipe, "final_invoice") == []


def test_close_targets(pipe):
    d = deal(close_date=__import__("datetime").date(2026, 1, 1), fields={"contract_no": "x"})
    assert rules.check_close(d, pipe, True, None, None) == ("won", [])
    assert rules.check_close(d, pipe, False, None, None) == ("lose", [])
    assert rules.check_close(d, pipe, False, "apology", None) == ("apology", [])
    _, v = rules.check_close(d, pipe, False, "executing", None)
    assert rule_names(v) == ["close-stage"]
    _, v = rules.check_close(d, pipe, True, "apology", None)
    assert rule_names(v) == ["close-stage"]


def test_lost_reason_required(pipe):
    pipe.rules["lost_reason_required"] = True
    d = deal()
    _, v = rules.check_close(d, pipe, False, None, None)
    assert rule_names(v) == ["lost-reason"]
    assert rules.check_close(d, pipe, False, None, "too expensive") == ("lose", [])
    assert rule_names(rules.check_move(d, pipe, "apology")) == ["lost-reason"]


def test_reopen_rules(pipe):
    assert rule_names(rules.check_reopen(deal(), pipe, "new")) == ["not-closed"]
    lost = deal(stage="lose", status="lost")
    assert rules.check_reopen(lost, pipe, "preparation") == []
    assert rule_names(rules.check_reopen(lost, pipe, "won")) == ["reopen-stage"]


def test_validate_deal_status_must_match_stage(pipe):
    v = rules.validate_deal(deal(stage="won", status="open"), {"sales": pipe})
    assert rule_names(v)[0] == "status-stage" and "required-field" in rule_names(v)
    v = rules.validate_deal(deal(pipeline="other"), {"sales": pipe})
    assert rule_names(v) == ["pipeline-exists"]


def test_pipeline_invariants():
    p = default_pipeline()
    assert rules.validate_pipeline(p) == []
    p.stages.append(Stage(id="new", name="dup"))
    assert "stage-unique" in rule_names(rules.validate_pipeline(p))
    p = default_pipeline()
    p.stages.insert(0, Stage(id="early_fail", name="x", semantics="failure"))
    assert rule_names(rules.validate_pipeline(p)) == ["pipeline-invariant"]
    p = default_pipeline()
    p.stages = [s for s in p.stages if s.semantics != "success"]
    assert rule_names(rules.validate_pipeline(p)) == ["pipeline-invariant"]


def test_money_rows_are_exact():
    from dealcli.model import ProductRow

    d = deal(products=[ProductRow(name="a", price=Decimal("0.1")) for _ in range(3)])
    d.recompute_amount()
    assert d.amount == Decimal("0.3")
    row = ProductRow(name="x", price=Decimal("100"), quantity=Decimal(3), discount=Decimal(10),
                     tax_rate=Decimal(20))
    assert row.total == Decimal("324.00")
    row.tax_included = True
    assert row.total == Decimal("270.00")
