"""Pure and in-process tests: validation of emails/phones, due dates, agenda grouping, nudge."""

from __future__ import annotations

import datetime as dt

import pytest

from dealcli.views.messages import text
from dealcli import activities, clients, deals, leads, products

from dealcli.views import agenda
from dealcli.errors import NotFound, RuleViolation, UsageError

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # Tuesday


@pytest.mark.parametrize("good", ["a@b.co", "first.last+tag@sub.example.org", " jane@acme.com "])
def test_good_emails_pass(good):
    assert clients.check_email(good) == good.strip()


@pytest.mark.parametrize("bad", ["", "plain", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "<a@b.com>", "a@b.c"])
def test_bad_emails_are_usage_errors_naming_the_value(bad):
    with pytest.raises(UsageError) as exc:
        clients.check_email(bad)
    assert repr(bad) in exc.value.message


@pytest.mark.parametrize("good", ["+1 (555) 010-2000", "030 1234567", "+49.30.1234", "555-1234 ext. 12", "112"])
def test_good_phones_pass(good):
    assert clients.check_phone(good)


@pytest.mark.parametrize("bad", ["abc", "12", "+1 555 CALL NOW", "1" * 21, "555#123"])
def test_bad_phones_are_refused(bad):
    with pytest.raises(UsageError):
        clients.check_phone(bad)


@pytest.mark.parametrize("due, group", [
    (None, "no-activity"),
    (NOW - dt.timedelta(minutes=1), "overdue"),
    (NOW + dt.timedelta(hours=11), "today"),           # 23:00 Tuesday
    (dt.datetime(2026, 3, 11, 0, 0, tzinfo=UTC), "this-week"),
    (dt.datetime(2026, 3, 15, 23, 59, tzinfo=UTC), "this-week"),   # Sunday: the week ends
    (dt.datetime(2026, 3, 16, 0, 0, tzinfo=UTC), "next-week"),     # Monday starts the next
    (dt.datetime(2026, 3, 22, 23, 0, tzinfo=UTC), "next-week"),
    (dt.datetime(2026, 3, 23, 0, 0, tzinfo=UTC), "later"),
])
def test_agenda_groups_are_relative_to_now_and_weeks_start_monday(due, group):
    assert agenda.group_of(due, NOW) == group


def test_on_sunday_this_week_is_only_today():
    sunday = dt.datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    assert agenda.group_of(dt.datetime(2026, 3, 15, 20, 0, tzinfo=UTC), sunday) == "today"
    assert agenda.group_of(dt.datetime(2026, 3, 16, 9, 0, tzinfo=UTC), sunday) == "next-week"


def test_default_due_is_three_working_days_rounded_up_to_the_hour(session):
    session.now_text = "2026-03-13T16:20:00+00:00"  # a Friday afternoon
    vars(session).pop("now", None)
    assert activities.default_due(session) == dt.datetime(2026, 3, 18, 17, 0, tzinfo=UTC)  # Wednesday 17:00


def test_due_parsing(session):
    assert activities.parse_due(session, "tomorrow 10:00") == dt.datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
    assert activities.parse_due(session, "+3d 09:30") == dt.datetime(2026, 3, 13, 9, 30, tzinfo=UTC)
    assert activities.parse_due(session, "2026-03-20") == dt.datetime(2026, 3, 20, 23, 59, tzinfo=UTC)
    with pytest.raises(UsageError):
        activities.parse_due(session, "whenever-ish")


def test_nudge_only_for_open_deals_without_pending_activity(session):
    a = deals.add(session, deals.DealSpec(title="A"))
    b = deals.add(session, deals.DealSpec(title="B"))
    session.notices.clear()
    activities.add(session, a.id, "call", "Ring", "tomorrow 10:00")
    activities.nudge(session, [a, b])
    assert len(session.notices) == 1 and f"deal {b.id} has no next step" in text(session.notices[0])
    assert f"dealcli activity add {b.id} --type call" in text(session.notices[0])


def test_many_nudges_are_summed_up_in_one_line(session):
    made = [deals.add(session, deals.DealSpec(title=f"D{i}")) for i in range(6)]
    assert len(made) == 6
    hints = [text(n) for n in session.notices if "next step" in text(n)]
    assert len(hints) == activities.NUDGE_LINES + 1
    assert hints[-1].startswith("... and 3 more")


def test_client_index_matches_email_before_name(session):
    one = clients.add(session, "contact", "Jane Doe", emails=["jane@a.com"])
    two = clients.add(session, "contact", "Janet Other", emails=["j@b.com"])
    index = clients.ClientIndex(session, "contact")
    assert index.find(name="Jane Doe", email="J@B.COM") == two["id"]
    assert index.find(name="jane  doe") == one["id"]
    assert index.find(name="Nobody") is None


def test_ambiguous_name_lists_the_matches(session):
    a = clients.add(session, "company", "Twin")
    b = clients.add(session, "company", "Twin")
    with pytest.raises(NotFound) as exc:
        clients.resolve(session, "company", "twin")
    assert a["id"] in exc.value.message and b["id"] in exc.value.message


def test_catalogue_row_copies_name_price_tax_and_link(session):
    p = products.add(session, "Laptop", "1150.50", tax="20", sku="LAP")
    row = products.rows(session, ["LAP"])[0]
    assert (row.name, str(row.price), str(row.tax_rate), row.product) == ("Laptop", "1150.50", "20", p["id"])
    row = products.rows(session, [f"{p['id']}:3:10"])[0]
    assert (str(row.quantity), str(row.discount), row.product) == ("3", "10", p["id"])
    row = products.rows(session, ["LAP:2"])[0]
    assert (row.product, str(row.quantity), str(row.price)) == (p["id"], "2", "1150.50")
    free = products.rows(session, ["Laptop bag:30:2"])[0]
    assert free.product is None and free.name == "Laptop bag"


def test_lead_convert_refuses_twice_and_leaves_nothing_on_failure(session):
    lead = leads.add(session, "L", contact_name="New Person", company_name="New Co")
    with pytest.raises(RuleViolation):
        deals.convert_lead(session, lead["id"], stage="nope")
    assert session.repo.ids("companies") == [] and session.repo.ids("contacts") == []
    deal = deals.convert_lead(session, lead["id"])
    assert deal.extra["lead"] == lead["id"]
    with pytest.raises(RuleViolation):
        deals.convert_lead(session, lead["id"])


def test_lead_convert_refused_by_a_stage_rule_removes_the_clients_it_created(session):
    from dealcli.storage import yamlcodec

    path = session.repo.path("pipelines", "sales")
    data = yamlcodec.loads(path.read_bytes(), "sales")
    data["rules"]["require"] = [{"field": "contract", "from_stage": "new"}]
    path.write_text(yamlcodec.dumps(data))
    lead = leads.add(session, "L", contact_name="New Person", company_name="New Co")
    with pytest.raises(RuleViolation):
        deals.convert_lead(session, lead["id"])
    assert session.repo.ids("companies") == [] and session.repo.ids("contacts") == []
    assert session.repo.ids("deals") == []
    assert leads.load(session, lead["id"]).data["status"] == "new"


# -- phone numbers as E.164 (libphonenumber) ------------------------------------------------------------
@pytest.mark.parametrize("text, region, key, ext", [
    ("+1 (212) 555-0142 ext. 7", None, "+12125550142", "7"),
    ("12125550142", None, "+12125550142", None),  # a PBX's international number without its +
    ("12125550142", "DE", "+12125550142", None),  # not a valid German number: the + reading wins
    ("8 (916) 123-45-67", "RU", "+79161234567", None),
    ("020 7946 0958", "GB", "+442079460958", None),
    ("0049 30 123456", None, "+4930123456", None),
    ("100", "US", "100", None),  # an extension: its digits
])
def test_phone_numbers_key_by_e164_with_the_extension_apart(text, region, key, ext):
    assert clients.parse_phone(text, region) == (key, ext)


def test_same_last_ten_digits_in_two_countries_are_two_numbers():
    assert clients.phone_key("+1 207 946 0958") != clients.phone_key("+44 20 7946 0958")
    assert clients.phone_key("+1 (212) 555-0142 ext. 7") == clients.phone_key("12125550142")
    assert clients.phone_key("") is None
