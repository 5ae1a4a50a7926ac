"""Pure tests of the deal card (cards.py) and the pipeline rules of stage_rules.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dealcli import cards, pipelines, stage_rules
from dealcli.errors import RuleViolation, UsageError
from dealcli.model import Deal, Pipeline, Stage, default_pipeline

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)

CARD = {
    "sections": [{"id": "about", "title": "About the deal"}, "more"],
    "fields": [
        {"name": "contract_no", "type": "string", "section": "about"},
        {"name": "budget", "type": "money", "section": "about"},
        {"name": "seats", "type": "number"},
        {"name": "segment", "type": "enum", "values": ["smb", "enterprise"], "default": "smb", "section": "about"},
        {"name": "signed_on", "type": "date", "section": "more"},
        {"name": "call_at", "type": "datetime"},
        {"name": "nda", "type": "boolean", "default": False},
        {"name": "owner", "type": "user", "default": "me"},
        {"name": "site", "type": "url"},
        {"name": "mail", "type": "email"},
        {"name": "tel", "type": "phone"},
        {"name": "tags", "type": "list"},
        {"name": "channels", "type": "list", "values": ["web", "phone"]},
        {"name": "notes", "type": "text"},
    ],
}


def pipeline_with_card(card=CARD) -> Pipeline:
    p = default_pipeline("sales", "Sales")
    p.card = card
    return p


def field(name):
    return cards.card_of(pipeline_with_card()).field(name)


@pytest.mark.parametrize("name, raw, stored", [
    ("contract_no", "  A-17 ", "A-17"),
    ("budget", "1200.50", Decimal("1200.50")),
    ("seats", "-3", Decimal("-3")),
    ("segment", "Enterprise", "enterprise"),
    ("signed_on", "2026-04-01", "2026-04-01"),
    ("signed_on", "tomorrow", "2026-03-11"),
    ("call_at", "2026-03-12 10:30", "2026-03-12T10:30:00+00:00"),
    ("nda", "yes", True),
    ("nda", "0", False),
    ("owner", "me", "anna@example.com"),
    ("site", "https://example.com/x", "https://example.com/x"),
    ("mail", "a.b@example.org", "a.b@example.org"),
    ("tel", "+1 (555) 123-4567", "+1 (555) 123-4567"),
    ("tags", "a, b,,c", ["a", "b", "c"]),
    ("channels", "WEB,phone", ["web", "phone"]),
    ("notes", "line 1\nline 2", "line 1\nline 2"),
])
def test_text_from_the_command_line_becomes_the_typed_value(name, raw, stored):
    assert cards.from_text(field(name), raw, NOW, "anna@example.com", None) == stored


@pytest.mark.parametrize("name, raw", [
    ("budget", "12,50"), ("seats", "many"), ("segment", "huge"), ("signed_on", "someday"),
    ("call_at", "soon-ish"), ("nda", "maybe"), ("site", "example.com"), ("site", "javascript:alert(1)"),
    ("mail", "nope"), ("mail", "a@b"), ("tel", "call me"), ("channels", "web,fax"), ("contract_no", "a\nb"),
    ("budget", ""),
])
def test_bad_values_are_refused(name, raw):
    with pytest.raises(cards.CardValueError):
        cards.from_text(field(name), raw, NOW, None, None)


def test_coerce_names_field_and_value_and_free_fields_stay_text():
    p = pipeline_with_card()
    with pytest.raises(RuleViolation) as exc:
        cards.coerce(p, "budget", "lots")
    assert "budget" in exc.value.message and "'lots'" in exc.value.message
    assert exc.value.exit_code == 1
    assert cards.coerce(p, "anything_else", "12") == "12"


def test_user_fields_follow_the_repository_users_when_it_lists_some():
    f = field("owner")
    assert cards.from_text(f, "boris", NOW, "anna", ["anna", "boris"]) == "boris"
    with pytest.raises(cards.CardValueError, match="not a user"):
        cards.from_text(f, "mallory", NOW, "anna", ["anna", "boris"])


def test_defaults_fill_only_unset_fields():
    fields = {"segment": "enterprise"}
    cards.apply_defaults(None, pipeline_with_card(), fields)
    assert fields["segment"] == "enterprise"
    assert fields["nda"] is False
    assert "budget" not in fields


@pytest.mark.parametrize("card, needle", [
    ({"fields": [{"name": "x", "type": "moneyy"}]}, "unknown type 'moneyy'"),
    ({"fields": [{"name": "x", "type": "enum"}]}, "needs its values"),
    ({"fields": [{"name": "x", "type": "enum", "values": ["a", "b"], "default": "c"}]}, "default 'c'"),
    ({"fields": [{"name": "x", "type": "number", "default": "ten"}]}, "default 'ten'"),
    ({"fields": [{"name": "x"}, {"name": "x"}]}, "appears twice"),
    ({"fields": [{"name": "title"}]}, "standard deal field"),
    ({"fields": [{"name": "bad name"}]}, "field name"),
    ({"fields": [{"name": "x", "vaules": ["a"]}]}, "unknown key 'vaules'"),
    ({"sections": ["a"], "fields": [{"name": "x", "section": "b"}]}, "section 'b'"),
    ({"fields": [{"name": "x", "type": "string", "values": ["a"]}]}, "values are for enum"),
    ({"field": []}, "unknown key 'field'"),
])
def test_bad_cards_are_reported_with_their_path(card, needle):
    found = stage_rules.validate_pipeline(pipeline_with_card(card))
    assert any(needle in v.message for v in found), [v.message for v in found]
    assert all(v.field and v.field.startswith("card") for v in found)


def test_a_good_card_passes_and_groups_fields_by_section():
    p = pipeline_with_card()
    assert stage_rules.validate_pipeline(p) == []
    groups = cards.card_of(p).grouped()
    assert [title for title, _ in groups] == ["About the deal", "more", cards.OTHER_SECTION]
    assert [f.name for f in groups[0][1]] == ["contract_no", "budget", "segment"]


def test_stored_values_that_break_the_card_are_violations():
    p = pipeline_with_card()
    deal = Deal(id="d1", title="T", pipeline="sales", stage="new",
                fields={"segment": "huge", "budget": "12", "nda": True, "free": [1, 2], "tags": "a"})
    found = {v.field: v for v in stage_rules.validate_deal(deal, {"sales": p})}
    assert set(found) == {"fields.segment", "fields.budget", "fields.tags"}
    assert "huge" in found["fields.segment"].message


def test_pipeline_invariants_name_the_offending_stage():
    p = default_pipeline()
    p.stages.append(Stage("late", "Late", "process"))
    msgs = [v.message for v in stage_rules.validate_pipeline(p)]
    assert any("'late'" in m and "after" in m for m in msgs)
    p = default_pipeline()
    p.stages[0].color = "#12345"
    p.stages[1].id = "Bad Id"
    rules = {v.rule for v in stage_rules.validate_pipeline(p)}
    assert {"stage-color", "stage-id"} <= rules
    p = default_pipeline()
    p.rules["require"] = [{"field": "x", "from_stage": "lose"}]
    assert [v.rule for v in stage_rules.validate_pipeline(p)] == ["require-stage"]


def test_stage_deletion_rules():
    p = default_pipeline()
    after = default_pipeline()
    after.stages = [s for s in after.stages if s.id != "preparation"]
    assert "success stage" in stage_rules.check_stage_delete(p, "won", None, 0, p)[0].message
    assert stage_rules.check_stage_delete(p, "preparation", None, 0, after) == []
    assert "holds 2 deal(s)" in stage_rules.check_stage_delete(p, "preparation", None, 2, after)[0].message
    assert stage_rules.check_stage_delete(p, "preparation", "new", 2, after) == []
    assert "keep their status" in stage_rules.check_stage_delete(p, "preparation", "lose", 2, after)[0].message
    assert stage_rules.check_stage_delete(p, "nope", None, 0, after)[0].rule == "stage-exists"


def test_pipeline_change_keeps_deals_in_existing_stages_of_the_same_semantics():
    before = default_pipeline()
    after = default_pipeline()
    after.stages = [s for s in after.stages if s.id != "apology"]
    assert stage_rules.check_pipeline_change(before, after, {"apology": 0, "new": 3}) == []
    assert stage_rules.check_pipeline_change(before, after, {"apology": 1})[0].rule == "stage-delete"
    after = default_pipeline()
    after.stage("executing").semantics = "failure"
    assert stage_rules.check_pipeline_change(before, after, {"executing": 1})[0].rule == "stage-semantics"


def test_stages_spec():
    stages = pipelines.parse_stages("new:New,demo:Demo given:#2fc6f6:40%, won:Won:success ,lost:Lost:failure")
    assert [(s.id, s.name, s.semantics) for s in stages] == [
        ("new", "New", "process"), ("demo", "Demo given", "process"), ("won", "Won", "success"),
        ("lost", "Lost", "failure")]
    assert stages[1].color == "#2FC6F6" and stages[1].probability == 40
    assert stages[0].probability == 10 and stages[2].probability == 100 and stages[3].probability == 0
    assert all(s.color for s in stages)
    for bad in ("new,lost:failure", "New:x:success", "a:b:c:success", ""):
        with pytest.raises(UsageError):
            pipelines.parse_stages(bad)
