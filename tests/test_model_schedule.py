"""The models of the schedule kinds (issue 11): recurring templates (dealcli/model/template.py) and
generator scenarios (dealcli/model/scenario.py) on the one converter. Files round-trip to the same
bytes, what the commands write is unchanged, a bad value is named by its path, and the core
(recurring.py, generators.py) words an error with plain field names that only the command line
turns into --options."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dealcli import deals, generators, recurring
from dealcli.errors import FieldError, UsageError
from dealcli.model import model_of
from dealcli.model.scenario import Scenario
from dealcli.model.template import Template
from dealcli.storage import yamlcodec

def round_trips(path: Path) -> bool:
    raw = path.read_bytes()
    obj = model_of(path.parent.name).from_dict(yamlcodec.loads(raw, str(path)))
    return yamlcodec.dumps(obj.to_dict()).encode("utf-8") == raw


def fill(cli) -> None:
    """Templates and scenarios as the commands write them, in every state they can be in."""
    cli.ok("recurring", "add", "Rent {date:%B %Y}", "--every", "month", "--start", "2026-01-31", "--amount", "1200")
    cli.ok("recurring", "add", "Weekly {n:03d}", "--rrule", "FREQ=WEEKLY;BYDAY=MO", "--start", "2026-02-01",
           "--create-before", "2", "--begin-offset", "1", "--close-offset", "30", "--product", "Svc:10:3",
           "--probability", "40", "--set", "fields.tier=gold")
    cli.ok("recurring", "add", "Leap", "--every", "year", "--start", "2024-02-29", "--count", "5")
    cli.ok("recurring", "add", "Mornings", "--rrule", "FREQ=DAILY;BYHOUR=9", "--start", "2026-03-08")
    daily = cli.ok("recurring", "add", "Daily", "--every", "day", "--interval", "3", "--start", "2026-03-01",
                   "--until", "2026-04-01").strip()
    cli.ok("recurring", "run")
    cli.ok("recurring", "pause", daily, env={"DEALCLI_NOW": "2026-03-11T08:00:00+00:00"})
    cli.ok("recurring", "resume", daily, env={"DEALCLI_NOW": "2026-03-15T08:30:00+00:00"})
    cli.ok("generator", "add", "Win back", "--lost-days-ago", "30..90", "--title", "Again: {client}",
           "--activity-type", "call", "--activity-subject", "Call {client}")
    cli.ok("generator", "add", "Upsell", "--segment", "status=won", "--period", "quarter", "--clients",
           "companies", "--pipeline", "sales", "--stage", "new", "--no-products")
    cli.ok("generator", "add", "Birthdays", "--birthday-within", "10", "--no-deal", "--activity-type", "email",
           "--activity-subject", "Congratulate")
    cli.ok("generator", "edit", "upsell", "--name", "Upsell more", "--title", "{scenario} {period}",
           "--no-activity")
    cli.ok("generator", "pause", "birthdays")


def test_every_template_and_scenario_the_commands_write_converts_back_to_the_same_bytes(repo, cli):
    fill(cli)
    files = sorted([*(repo / "recurring").glob("*.yaml"), *(repo / "generators").glob("*.yaml")])
    assert len(files) == 8
    assert [p.name for p in files if not round_trips(p)] == []
    texts = "".join(p.read_text() for p in files)
    assert "paused_periods:\n- from: 2026-03-11T08:00:00+00:00" in texts  # the states are all there
    assert "last_occurrence: 2026-03-10T09:00\n" in texts and "paused: true" in texts and "deal: null" in texts


HAND_TEMPLATE = """\
format: 1
id: t1
title: Hand {date:%Y}
schedule:
  every: null
  rule: FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1
  start: 2026-01-01
create_before: 3
begin_offset: -2
close_offset: null
deal:
  pipeline: sales
  amount: 12.50
  custom_key: 1
from_deal: null
paused: true
paused_at: 2026-02-01T10:00:00+01:00
paused_periods:
- from: 2026-01-01T00:00:00+00:00
  to: 2026-01-05T00:00:00+00:00
last_occurrence: 2026-02-02T09:30:15
occurrences_created: 2
created: null
created_by: null
zzz: an unknown key, written last
"""

HAND_SCENARIO = """\
format: 1
id: s1
name: null
clients: contacts
segment:
- client.fields.tier=gold
- no_deal_days=30..
period: once
deal: null
activity:
  type: task
  subject: Check in
  due: +2d
  owner: kept
paused: false
paused_at: null
created: 2026-03-10T12:00:00+00:00
created_by: anna
extra_key:
  nested: true
"""


@pytest.mark.parametrize("cls, text", [(Template, HAND_TEMPLATE), (Scenario, HAND_SCENARIO)])
def test_hand_written_records_keep_their_bytes_and_unknown_keys(cls, text):
    obj = cls.from_dict(yamlcodec.loads(text.encode(), "x.yaml"))
    if cls is Template:
        assert obj.start == dt.date(2026, 1, 1) and obj.rule.startswith("FREQ=MONTHLY")
        assert obj.last_occurrence == dt.datetime(2026, 2, 2, 9, 30, 15)
        assert obj.extra == {"zzz": "an unknown key, written last"}
        assert obj.paused_periods[0][1] == dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    else:
        assert obj.name == "s1" and obj.deal is None and obj.client_mode() == "contacts"
    out = yamlcodec.dumps(obj.to_dict())
    if cls is Scenario:  # an unnamed scenario is named by its id: the one thing written differently
        text = text.replace("name: null", "name: s1")
    assert out == text


def test_what_the_commands_write_is_unchanged(repo, cli):
    tid = cli.ok("recurring", "add", "Weekly {n:03d}", "--rrule", "FREQ=WEEKLY;BYDAY=MO", "--start", "2026-02-01",
                 "--create-before", "2", "--begin-offset", "1", "--close-offset", "30", "--product", "Svc:10:3",
                 "--probability", "40", "--set", "fields.tier=gold").strip()
    cli.ok("recurring", "run")
    assert (repo / "recurring" / f"{tid}.yaml").read_text() == WEEKLY.format(id=tid)
    cli.ok("generator", "add", "Upsell", "--segment", "status=won", "--period", "quarter", "--clients",
           "companies", "--pipeline", "sales", "--stage", "new", "--no-products", "--title", "{scenario} {period}")
    assert (repo / "generators" / "upsell.yaml").read_text() == UPSELL


WEEKLY = """\
format: 1
id: {id}
title: Weekly {{n:03d}}
schedule:
  every: null
  rule: FREQ=WEEKLY;BYDAY=MO
  start: 2026-02-01
create_before: 2
begin_offset: 1
close_offset: 30
deal:
  pipeline: sales
  stage: new
  amount: null
  currency: USD
  company: null
  contacts: []
  products:
  - name: Svc
    product: null
    price: 10.00
    quantity: 3
    discount: 0
    tax_rate: 0
    tax_included: false
  type: null
  source: null
  responsible: tester@example.com
  probability: 40
  fields:
    tier: gold
from_deal: null
paused: false
paused_at: null
paused_periods: []
last_occurrence: 2026-03-09
occurrences_created: 6
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
"""

UPSELL = """\
format: 1
id: upsell
name: Upsell
clients: companies
segment:
- status=won
period: quarter
deal:
  pipeline: sales
  stage: new
  title: '{scenario} {period}'
  responsible: null
  copy_products: false
  type: null
  source: null
activity: null
paused: false
paused_at: null
created: 2026-03-10T12:00:00+00:00
created_by: tester@example.com
"""

TEMPLATE = {"id": "t1", "title": "T {n}", "schedule": {"every": "month", "rule": "FREQ=MONTHLY", "start": "2026-01-01"}}
SCENARIO = {"id": "s1", "segment": ["status=won"], "deal": {"pipeline": "sales"}}


def changed(base: dict, path: tuple, value) -> dict:
    import copy

    data = copy.deepcopy(base)
    *parents, last = path
    here = data
    for key in parents:
        here = here.setdefault(key, {}) if isinstance(key, str) else here[key]
    if value is KeyError:
        del here[last]
    else:
        here[last] = value
    return data


@pytest.mark.parametrize("cls, base, path, value, where", [
    (Template, TEMPLATE, ("schedule", "start"), "next tuesday", ("schedule", "start")),
    (Template, TEMPLATE, ("schedule", "start"), "2026-01-01T10:00:00", ("schedule", "start")),
    (Template, TEMPLATE, ("schedule", "start"), KeyError, ("schedule", "start")),
    (Template, TEMPLATE, ("schedule", "every"), "fortnight", ("schedule", "every")),
    (Template, TEMPLATE, ("schedule", "rule"), "FREQ=HOURLY", ("schedule", "rule")),
    (Template, TEMPLATE, ("schedule",), None, ("schedule",)),
    (Template, TEMPLATE, ("title",), "T {when}", ("title",)),
    (Template, TEMPLATE, ("create_before",), 99999, ("create_before",)),
    (Template, TEMPLATE, ("begin_offset",), "soon", ("begin_offset",)),
    (Template, TEMPLATE, ("occurrences_created",), -1, ("occurrences_created",)),
    (Template, TEMPLATE, ("paused",), "no", ("paused",)),
    (Template, TEMPLATE, ("paused_periods",), [{"from": "2026-01-01T00:00:00+00:00"}], ("paused_periods", 0)),
    (Template, TEMPLATE, ("paused_periods",), [{"from": "x", "to": "y"}], ("paused_periods", 0, "from")),
    (Template, TEMPLATE, ("last_occurrence",), "2026-03-01T09:00:00+02:00", ("last_occurrence",)),
    (Template, TEMPLATE, ("deal",), {"products": [{"name": "x", "price": "lots"}]}, ("deal", "products", 0, "price")),
    (Template, TEMPLATE, ("deal",), {"probability": 101}, ("deal", "probability")),
    (Template, TEMPLATE, ("deal",), {"contacts": "anna"}, ("deal", "contacts")),
    (Template, TEMPLATE, ("format",), 99, ("format",)),
    (Scenario, SCENARIO, ("segment",), [], ("segment",)),
    (Scenario, SCENARIO, ("segment",), ["status=won", "lost_days=5..2"], ("segment", 1)),
    (Scenario, SCENARIO, ("clients",), "everyone", ("clients",)),
    (Scenario, SCENARIO, ("period",), "hour", ("period",)),
    (Scenario, SCENARIO, ("deal",), None, ("deal",)),
    (Scenario, SCENARIO, ("deal", "title"), "{oops}", ("deal", "title")),
    (Scenario, SCENARIO, ("deal", "copy_products"), "yes", ("deal", "copy_products")),
    (Scenario, SCENARIO, ("activity",), {"type": "fax", "subject": "x"}, ("activity", "type")),
    (Scenario, SCENARIO, ("activity",), {"type": "call"}, ("activity", "subject")),
    (Scenario, SCENARIO, ("paused_at",), "later", ("paused_at",)),
])
def test_a_bad_value_is_named_by_its_path(cls, base, path, value, where):
    assert cls.from_dict(base).id  # the base is good
    with pytest.raises(FieldError) as caught:
        cls.from_dict(changed(base, path, value))
    assert caught.value.path == where


def test_a_corrupt_template_names_file_line_and_field_on_the_command_line(repo, cli):
    tid = cli.ok("recurring", "add", "Rent", "--every", "month").strip()
    path = repo / "recurring" / f"{tid}.yaml"
    path.write_text(path.read_text().replace("  every: month", "  every: fortnight"))
    out = cli("recurring", "show", tid)
    assert out.returncode == 5
    assert f"recurring/{tid}.yaml:5: schedule.every: 'fortnight' is not one of day, week, month, year" in out.stderr


# -- errors carry their fields: plain names to a core caller, --options on the command line ------------
CASES = [
    # (core call, the message a core caller reads, the CLI call, the message the CLI prints)
    (lambda s: recurring.add(s, recurring.TemplateSpec(deal=deals.DealSpec(title="X"), every="month",
                                                       create_before=-1)),
     "create-before: -1 is negative",
     ("recurring", "add", "X", "--every", "month", "--create-before", "-1"), "--create-before: -1 is negative"),
    (lambda s: recurring.add(s, recurring.TemplateSpec(deal=deals.DealSpec(title="X"), every="month",
                                                       close_offset=99999)),
     "close-offset: 99999 days is beyond the limit of 36600 days",
     ("recurring", "add", "X", "--every", "month", "--close-offset", "99999"),
     "--close-offset: 99999 days is beyond the limit of 36600 days"),
    (lambda s: recurring.add(s, recurring.TemplateSpec(deal=deals.DealSpec(title=""), every="month")),
     "recurring add: give a title or from DEAL",
     ("recurring", "add", "--every", "month"), "recurring add: give a TITLE or --from DEAL"),
    (lambda s: recurring.add(s, recurring.TemplateSpec(deal=deals.DealSpec(title="X"), every="month",
                                                       start="nonsense day")),
     "start: cannot read 'nonsense day' as a date",
     ("recurring", "add", "X", "--every", "month", "--start", "nonsense day"),
     "--start: cannot read 'nonsense day' as a date"),
    (lambda s: recurring.build_rule(None, None, "DTSTART:20260101", dt.date(2026, 1, 1)),
     "rrule 'DTSTART:20260101': give one rule, e.g. \"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1\" (the start date is "
     "start, not DTSTART)",
     ("recurring", "add", "X", "--rrule", "DTSTART:20260101"),
     "--rrule 'DTSTART:20260101': give one rule, e.g. \"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1\" (the start date is "
     "--start, not DTSTART)"),
    (lambda s: recurring.build_rule(None, None, "FREQ=MONTHLY;COUNT=2", dt.date(2026, 1, 1), count=3),
     "rrule already has UNTIL or COUNT; do not also give until or count",
     ("recurring", "add", "X", "--rrule", "FREQ=MONTHLY;COUNT=2", "--count", "3"),
     "--rrule already has UNTIL or COUNT; do not also give --until or --count"),
    (lambda s: generators.add(s, "X", generators.ScenarioSpec()),
     "generator: give a segment (segment EXPR, or a built-in such as won-days-ago N)",
     ("generator", "add", "X"), "generator: give a segment (--segment EXPR, or a built-in such as --won-days-ago N)"),
    (lambda s: generators.add(s, "X", generators.ScenarioSpec(segment=["status=won"], activity_type="call")),
     "activity-subject: an activity needs a subject",
     ("generator", "add", "X", "--segment", "status=won", "--activity-type", "call"),
     "--activity-subject: an activity needs a subject"),
    (lambda s: generators.add(s, "X", generators.ScenarioSpec(segment=["status=won"], no_deal=True)),
     "generator: a scenario needs a deal, an activity (activity-type, activity-subject) or both",
     ("generator", "add", "X", "--segment", "status=won", "--no-deal"),
     "generator: a scenario needs a deal, an activity (--activity-type, --activity-subject) or both"),
    (lambda s: generators.add(s, "X", generators.ScenarioSpec(segment=["status=won"], stage="nosuch")),
     "stage 'nosuch': not a stage of pipeline 'sales'",
     ("generator", "add", "X", "--segment", "status=won", "--stage", "nosuch"),
     "--stage 'nosuch': not a stage of pipeline 'sales'"),
    (lambda s: generators.add(s, "X", generators.ScenarioSpec(segment=["status=won 'open"])),
     "segment \"status=won 'open\": No closing quotation",
     ("generator", "add", "X", "--segment", "status=won 'open"),
     "--segment \"status=won 'open\": No closing quotation"),
]


@pytest.mark.parametrize("call, plain, argv, worded", CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_a_core_call_reads_plain_field_names_and_the_command_line_reads_its_options(session, cli, call, plain,
                                                                                      argv, worded):
    with pytest.raises(UsageError) as caught:
        call(session)
    assert caught.value.message == plain and "--" not in plain
    assert caught.value.fields  # data for the edge, not a finished sentence
    out = cli(*argv)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == f"dealcli: error: {worded}"
