"""`dealcli recurring` through the CLI (cli.main; the concurrent runs as real processes), the way
cron calls it: --now drives the clock, every run is checked for what it prints and what it
leaves on disk."""

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import Runner, json_decimal as loads


def add(cli, *args, now="2026-01-01T08:00:00+00:00") -> str:
    out = cli.ok("recurring", "add", *args, now=now).strip()
    assert out and "\n" not in out
    return out


def run(cli, now, *args) -> list[str]:
    proc = cli("recurring", "run", *args, now=now)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def deal(cli, deal_id) -> dict:
    return loads(cli.ok("deal", "show", deal_id, "-f", "json"))


def deal_files(repo: Path) -> list[str]:
    folder = repo / "deals"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.exists() else []


def occurrences(cli, ids) -> list[str]:
    return [deal(cli, i)["recurring"]["occurrence"] for i in ids]


# -- schedules ------------------------------------------------------------------------------------------
def test_monthly_from_31_january_recurs_on_month_ends(cli, repo):
    tid = add(cli, "Retainer {date:%B %Y} #{n}", "--every", "month", "--start", "2026-01-31",
              "--amount", "1200", "--currency", "EUR")
    ids = run(cli, "2026-05-01T09:00:00+00:00")
    assert ids == [f"{tid}-20260131", f"{tid}-20260228", f"{tid}-20260331", f"{tid}-20260430"]
    feb = deal(cli, ids[1])
    assert feb["title"] == "Retainer February 2026 #2"
    assert feb["begin"] == "2026-02-28"
    assert feb["amount"] == Decimal("1200.00") and feb["currency"] == "EUR"
    assert feb["recurring"] == {"template": tid, "occurrence": "2026-02-28", "n": 2}
    created = feb["history"][0]
    assert created["kind"] == "created" and created["via"] == "recurring"
    assert deal(cli, ids[3])["title"] == "Retainer April 2026 #4"


def test_yearly_from_29_february_in_and_out_of_leap_years(cli):
    tid = add(cli, "Licence {date:%Y}", "--every", "year", "--start", "2024-02-29")
    ids = run(cli, "2028-03-01T00:00:00+00:00")
    assert occurrences(cli, ids) == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]
    assert ids[-1] == f"{tid}-20280229"


def test_count_limits_the_number_of_deals(cli):
    add(cli, "Three payments {n}/3", "--every", "month", "--start", "2026-01-10", "--count", "3")
    ids = run(cli, "2027-01-01T00:00:00+00:00")
    assert [deal(cli, i)["title"] for i in ids] == ["Three payments 1/3", "Three payments 2/3",
                                                    "Three payments 3/3"]
    listing = loads(cli.ok("recurring", "list", "-f", "json", now="2027-01-01T00:00:00+00:00"))
    assert listing[0]["status"] == "finished" and listing[0]["next"] is None and listing[0]["created"] == 3


def test_until_is_the_last_day_an_occurrence_may_fall_on(cli):
    add(cli, "Weekly", "--every", "week", "--start", "2026-01-05", "--until", "2026-01-26")
    ids = run(cli, "2026-06-01T00:00:00+00:00")
    assert occurrences(cli, ids) == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]


def test_rrule_with_byday_and_bysetpos(cli):
    tid = add(cli, "Invoice run", "--rrule", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
              "--start", "2026-01-01")
    ids = run(cli, "2026-05-30T00:00:00+00:00")
    assert occurrences(cli, ids) == ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29"]
    shown = loads(cli.ok("recurring", "show", tid, "-f", "json", now="2026-05-30T00:00:00+00:00"))
    assert shown["schedule"]["rule"] == "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    assert shown["next"][0] == "2026-06-30"


# -- run: catch-up, idempotency ---------------------------------------------------------------------------
def test_weekly_catch_up_after_three_missed_weeks(cli, repo):
    tid = add(cli, "Weekly {date}", "--every", "week", "--start", "2026-02-17")
    assert run(cli, "2026-02-17T06:00:00+00:00") == [f"{tid}-20260217"]
    # the machine was off for three weeks
    ids = run(cli, "2026-03-10T06:00:00+00:00")
    assert ids == [f"{tid}-20260224", f"{tid}-20260303", f"{tid}-20260310"]
    assert [deal(cli, i)["recurring"]["n"] for i in ids] == [2, 3, 4]
    assert deal(cli, ids[0])["begin"] == "2026-02-24"
    assert deal(cli, ids[0])["created"].startswith("2026-03-10T06:00")


def test_no_catch_up_creates_only_the_latest_missed_occurrence_for_good(cli, repo):
    tid = add(cli, "Weekly", "--every", "week", "--start", "2026-02-17")
    assert run(cli, "2026-02-17T06:00:00+00:00") == [f"{tid}-20260217"]
    assert run(cli, "2026-03-10T06:00:00+00:00", "--no-catch-up") == [f"{tid}-20260310"]
    # the passed-over weeks are not created by a later catch-up run either
    assert run(cli, "2026-03-11T06:00:00+00:00") == []
    assert deal_files(repo) == [f"{tid}-20260217", f"{tid}-20260310"]


def test_second_run_creates_nothing_and_writes_nothing(cli, repo):
    tid = add(cli, "Daily", "--every", "day", "--start", "2026-03-01")
    first = run(cli, "2026-03-03T12:00:00+00:00")
    assert len(first) == 3
    before = {p.name: p.read_bytes() for p in (repo / "deals").iterdir()}
    template = (repo / "recurring" / f"{tid}.yaml").read_bytes()
    proc = cli("recurring", "run", now="2026-03-03T18:00:00+00:00")
    assert proc.returncode == 0 and proc.stdout == ""
    assert {p.name: p.read_bytes() for p in (repo / "deals").iterdir()} == before
    assert (repo / "recurring" / f"{tid}.yaml").read_bytes() == template


def test_a_deleted_deal_is_not_created_again(cli, repo):
    tid = add(cli, "Daily", "--every", "day", "--start", "2026-03-01")
    ids = run(cli, "2026-03-02T12:00:00+00:00")
    cli.ok("deal", "delete", ids[0], "--yes")
    assert run(cli, "2026-03-03T12:00:00+00:00") == [f"{tid}-20260303"]
    assert deal_files(repo) == [f"{tid}-20260302", f"{tid}-20260303"]


def test_an_existing_occurrence_key_is_not_created_twice_after_a_crash(cli, repo):
    """A run that wrote the deal but died before moving the template's marker: the next run
    finds the per-occurrence key taken, does not duplicate it and moves the marker on."""
    tid = add(cli, "Daily", "--every", "day", "--start", "2026-03-01")
    path = repo / "recurring" / f"{tid}.yaml"
    before = path.read_bytes()
    assert run(cli, "2026-03-01T12:00:00+00:00") == [f"{tid}-20260301"]
    path.write_bytes(before)  # the marker update "never happened"
    assert run(cli, "2026-03-02T12:00:00+00:00") == [f"{tid}-20260302"]
    assert deal_files(repo) == [f"{tid}-20260301", f"{tid}-20260302"]
    assert "last_occurrence: 2026-03-02" in path.read_text()


def test_three_concurrent_runs_create_each_occurrence_exactly_once(cli, repo):
    tids = [add(cli, f"T{i} {{date}}", "--every", "day", "--start", "2026-03-01") for i in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_NOW": "2026-03-08T12:00:00+00:00", "DEALCLI_USER": "cron", "NO_COLOR": "1",
                "DEALCLI_DIR": str(repo)})
    procs = [subprocess.Popen([cli.exe, "recurring", "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    printed = [i for out, _ in outs for i in out.split()]
    expected = sorted(f"{t}-202603{d:02d}" for t in tids for d in range(1, 9))
    assert sorted(printed) == expected  # every id printed once, by exactly one of the runs
    assert deal_files(repo) == expected
    for t in tids:
        assert "occurrences_created: 8" in (repo / "recurring" / f"{t}.yaml").read_text()


def test_dry_run_lists_what_would_be_created_and_writes_nothing(cli, repo):
    tid = add(cli, "Monthly {date:%b}", "--every", "month", "--start", "2026-01-31")
    proc = cli("recurring", "run", "--dry-run", "-f", "json", now="2026-02-28T00:00:00+00:00")
    assert proc.returncode == 0, proc.stderr
    rows = loads(proc.stdout)
    assert [(r["id"], r["title"]) for r in rows] == [(f"{tid}-20260131", "Monthly Jan"),
                                                     (f"{tid}-20260228", "Monthly Feb")]
    assert deal_files(repo) == []
    assert "last_occurrence: null" in (repo / "recurring" / f"{tid}.yaml").read_text()
    table = cli.ok("recurring", "run", "--dry-run", now="2026-02-28T00:00:00+00:00")
    assert f"{tid}-20260228" in table and "Monthly Feb" in table


def test_nothing_due_exits_0_with_empty_output(cli):
    add(cli, "Later", "--every", "month", "--start", "2026-06-01")
    proc = cli("recurring", "run", now="2026-05-31T23:59:00+00:00")
    assert proc.returncode == 0 and proc.stdout == ""


# -- create-before, offsets --------------------------------------------------------------------------------
def test_create_before_creates_the_deal_days_ahead_of_its_date(cli, repo):
    tid = add(cli, "Renewal {date:%d %b}", "--every", "month", "--start", "2026-03-10", "--create-before", "5",
              "--close-offset", "14")
    assert run(cli, "2026-03-04T23:00:00+00:00") == []
    ids = run(cli, "2026-03-05T00:00:00+00:00")
    assert ids == [f"{tid}-20260310"]
    made = deal(cli, ids[0])
    assert made["begin"] == "2026-03-10" and made["close_date"] == "2026-03-24"
    assert made["title"] == "Renewal 10 Mar"
    assert made["created"].startswith("2026-03-05")
    assert run(cli, "2026-04-04T12:00:00+00:00") == []
    assert run(cli, "2026-04-05T12:00:00+00:00") == [f"{tid}-20260410"]


# -- pause / resume -----------------------------------------------------------------------------------------
def test_pause_creates_nothing_and_resume_does_not_replay_the_paused_weeks(cli, repo):
    tid = add(cli, "Weekly", "--every", "week", "--start", "2026-03-02")
    assert run(cli, "2026-03-02T09:00:00+00:00") == [f"{tid}-20260302"]
    assert cli.ok("recurring", "pause", tid[:5], now="2026-03-04T09:00:00+00:00").strip() == tid
    listing = loads(cli.ok("recurring", "list", "-f", "json", now="2026-03-04T09:00:00+00:00"))
    assert listing[0]["status"] == "paused"
    assert run(cli, "2026-03-09T09:00:00+00:00") == []
    assert run(cli, "2026-03-16T09:00:00+00:00") == []
    assert cli.ok("recurring", "resume", tid, now="2026-03-18T09:00:00+00:00").strip() == tid
    # the occurrences of 9 and 16 March fell due while paused: never created
    assert run(cli, "2026-03-18T10:00:00+00:00") == []
    listing = loads(cli.ok("recurring", "list", "-f", "json", now="2026-03-18T10:00:00+00:00"))
    assert listing[0]["status"] == "active" and listing[0]["next"] == "2026-03-23"
    assert run(cli, "2026-03-30T10:00:00+00:00") == [f"{tid}-20260323", f"{tid}-20260330"]
    assert deal_files(repo) == [f"{tid}-20260302", f"{tid}-20260323", f"{tid}-20260330"]


def test_pause_twice_and_resume_unpaused_are_harmless_notices(cli):
    tid = add(cli, "W", "--every", "week")
    cli.ok("recurring", "pause", tid)
    proc = cli("recurring", "pause", tid)
    assert proc.returncode == 0 and "already paused" in proc.stderr
    cli.ok("recurring", "resume", tid)
    proc = cli("recurring", "resume", tid)
    assert proc.returncode == 0 and "not paused" in proc.stderr


# -- time zones ---------------------------------------------------------------------------------------------
@pytest.fixture
def berlin(tmp_path) -> Runner:
    root = tmp_path / "berlin"
    Runner(tmp_path)("init", root, "--timezone", "Europe/Berlin", check=True)
    return Runner(root)


def test_days_follow_the_repository_time_zone_across_daylight_saving_changes(berlin):
    tid = add(berlin, "Daily {date}", "--every", "day", "--start", "2026-03-28",
              now="2026-03-27T12:00:00+00:00")
    # 23:30 UTC on 28 March is already 00:30 on the 29th in Berlin (CET, +01:00)
    assert run(berlin, "2026-03-28T23:30:00+00:00") == [f"{tid}-20260328", f"{tid}-20260329"]
    # after the switch to CEST (+02:00) local midnight of the 30th is 22:00 UTC on the 29th
    assert run(berlin, "2026-03-29T21:59:00+00:00") == []
    assert run(berlin, "2026-03-29T22:00:00+00:00") == [f"{tid}-20260330"]


def test_times_of_day_in_a_rule_are_wall_clock_times_across_the_switch(berlin):
    tid = add(berlin, "Standup {date:%d %H:%M}", "--rrule", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
              "--start", "2026-03-28", now="2026-03-27T12:00:00+00:00")
    assert run(berlin, "2026-03-28T07:59:00+00:00") == []  # 08:59 CET
    assert run(berlin, "2026-03-28T08:00:00+00:00") == [f"{tid}-20260328t0900"]  # 09:00 CET
    # on the 29th, 09:00 CEST is 07:00 UTC: an hour earlier in UTC than the day before
    assert run(berlin, "2026-03-29T07:00:00+00:00") == [f"{tid}-20260329t0900"]
    made = deal(berlin, f"{tid}-20260329t0900")
    assert made["title"] == "Standup 29 09:00"
    assert made["recurring"]["occurrence"] == "2026-03-29T09:00"
    assert made["begin"] == "2026-03-29"


# -- broken templates -----------------------------------------------------------------------------------------
def test_a_corrupt_template_is_reported_and_does_not_block_the_others(cli, repo):
    good = add(cli, "Good", "--every", "day", "--start", "2026-03-01")
    other = add(cli, "Other", "--every", "day", "--start", "2026-03-01")
    (repo / "recurring" / "0badyaml.yaml").write_text("title: [unclosed\n")
    path = repo / "recurring" / f"{other}.yaml"
    path.write_text(path.read_text().replace("rule: FREQ=DAILY;INTERVAL=1", "rule: FREQ=SOMETIMES"))
    proc = cli("recurring", "run", now="2026-03-02T12:00:00+00:00")
    assert proc.returncode == 1
    assert proc.stdout.split() == [f"{good}-20260301", f"{good}-20260302"]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    bad_yaml = [line for line in lines if "recurring/0badyaml.yaml:" in line]  # order follows the ids
    bad_rule = [line for line in lines if f"recurring/{other}.yaml" in line]
    assert len(bad_yaml) == 1 and "YAML" in bad_yaml[0]
    assert len(bad_rule) == 1 and "SOMETIMES" in bad_rule[0]
    assert deal_files(repo) == [f"{good}-20260301", f"{good}-20260302"]
    check = cli("check")
    assert check.returncode == 1
    assert "recurring/0badyaml.yaml" in check.stdout and f"recurring/{other}.yaml" in check.stdout


def test_a_template_whose_stage_rule_refuses_is_reported_naming_its_file(cli, repo):
    good = add(cli, "Good", "--every", "day", "--start", "2026-03-01")
    bad = add(cli, "Bad", "--every", "day", "--start", "2026-03-01")
    path = repo / "recurring" / f"{bad}.yaml"
    path.write_text(path.read_text().replace("stage: new", "stage: vanished"))
    proc = cli("recurring", "run", now="2026-03-01T12:00:00+00:00")
    assert proc.returncode == 1
    assert proc.stdout.split() == [f"{good}-20260301"]
    assert f"recurring/{bad}.yaml" in proc.stderr and "vanished" in proc.stderr


# -- add ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("title", ["Retainer {month}", "Retainer {date.year}", "Retainer {"])
def test_unknown_placeholders_are_refused_at_add(cli, repo, title):
    proc = cli("recurring", "add", title, "--every", "month")
    assert proc.returncode == 2
    assert "placeholder" in proc.stderr or "brace" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (repo / "recurring").exists() or list((repo / "recurring").iterdir()) == []


@pytest.mark.parametrize("args", [
    ["X"],                                                  # no schedule
    ["X", "--every", "week", "--rrule", "FREQ=DAILY"],      # both
    ["X", "--rrule", "FREQ=NEVER"],
    ["X", "--every", "week", "--count", "2", "--until", "2027-01-01"],
    ["X", "--every", "week", "--create-before", "-1"],
])
def test_bad_schedules_are_usage_errors(cli, repo, args):
    proc = cli("recurring", "add", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("dealcli: error: ") and proc.stderr.count("\n") == 1


def test_add_from_a_deal_copies_it(cli, repo):
    src = cli.ok("deal", "add", "Support contract", "--company", "Acme", "--product", "Support:300:2",
                 "--type", "service", "--set", "fields.plan=gold").strip()
    tid = add(cli, "--from", src, "--every", "month", "--start", "2026-01-15")
    template = loads(cli.ok("recurring", "show", tid, "-f", "json"))
    assert template["title"] == "Support contract" and template["from_deal"] == src
    ids = run(cli, "2026-02-15T00:00:00+00:00")
    made = deal(cli, ids[-1])
    original = deal(cli, src)
    assert made["company"] == original["company"]
    assert made["products"][0]["name"] == "Support" and made["amount"] == original["amount"] == Decimal("600.00")
    assert made["type"] == "service" and made["fields"] == {"plan": "gold"}
    assert made["stage"] == "new"


def test_created_deals_are_normal_deals(cli):
    add(cli, "Daily", "--every", "day", "--start", "2026-03-01", "--stage", "preparation")
    [deal_id] = run(cli, "2026-03-01T12:00:00+00:00")
    cli.ok("deal", "move", deal_id, "executing")
    history = loads(cli.ok("deal", "history", deal_id, "-f", "json"))
    assert [e["kind"] for e in history] == ["created", "moved"]
    assert cli("check").returncode == 0


def test_delete_keeps_the_created_deals(cli, repo):
    tid = add(cli, "Daily", "--every", "day", "--start", "2026-03-01")
    ids = run(cli, "2026-03-01T12:00:00+00:00")
    assert cli("recurring", "delete", tid).returncode == 2  # not a terminal: needs --yes
    assert cli.ok("recurring", "delete", tid, "--yes").strip() == tid
    assert not (repo / "recurring" / f"{tid}.yaml").exists()
    assert deal_files(repo) == ids
    assert run(cli, "2026-03-05T12:00:00+00:00") == []
    assert cli("recurring", "show", tid).returncode == 3
