"""`dealcli remind` (issue 26 item 4): due and overdue activities told to their responsible person
once per activity and due time, on stdout or through notify-send, idempotent under concurrent
runs (real processes); activities carry a description, a duration and a reminder offset."""

from __future__ import annotations

import json
import os
import subprocess

from dealcli.storage import yamlcodec


def plan(cli, deal, subject, due, *extra):
    return cli.ok("activity", "add", deal, "--type", "call", "--subject", subject, "--due", due, *extra).strip()


def test_activities_get_a_description_a_duration_and_a_reminder_offset(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    act = plan(cli, deal, "Demo", "2026-03-11 10:00", "--description", "Show the reports", "--duration", "1h30m",
               "--remind", "15m")
    data = yamlcodec.loads((repo / "activities" / f"{act}.yaml").read_bytes(), "x")
    assert (data["description"], data["duration"], data["remind_before"]) == ("Show the reports", 5400, 15)
    cli.ok("activity", "edit", act, "--remind", "1d", "--description", "")
    data = yamlcodec.loads((repo / "activities" / f"{act}.yaml").read_bytes(), "x")
    assert data["remind_before"] == 1440 and data.get("description") is None
    bad = cli("activity", "edit", act, "--remind", "soon")
    assert bad.returncode == 2 and "--remind 'soon'" in bad.stderr
    plain = plan(cli, deal, "Plain", "2026-03-12 10:00")  # no empty keys for what was not given
    assert "remind_before" not in (repo / "activities" / f"{plain}.yaml").read_text()
    assert cli.ok("check") == ""


def test_each_activity_is_told_once_per_due_time(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    late = plan(cli, deal, "Late call", "2026-03-09 10:00", "--responsible", "anna@x.io")
    soon = plan(cli, deal, "Soon", "2026-03-10 12:30", "--remind", "45m", "--responsible", "boris@x.io")
    later = plan(cli, deal, "Later", "2026-03-10 14:00", "--remind", "30m")
    rows = json.loads(cli.ok("remind", "-f", "json"))  # now: 2026-03-10 12:00
    assert [r["responsible"] for r in rows] == ["anna@x.io", "boris@x.io"]
    assert {r["id"]: r["state"] for r in rows} == {late: "overdue", soon: "due"}
    assert cli.ok("remind", "-f", "ids") == ""                   # told already
    assert cli.ok("remind", "-f", "ids", now="2026-03-10T13:31:00+00:00") == f"{later}\n"
    cli.ok("activity", "edit", late, "--due", "2026-03-10 13:00")  # a new due time: told again when it comes
    cli.ok("activity", "done", soon)
    assert cli.ok("remind", "-f", "ids", now="2026-03-11T09:00:00+00:00") == f"{late}\n"
    # a dry run shows without remembering
    plan(cli, deal, "Next", "2026-03-12 09:00")
    assert cli.ok("remind", "--dry-run", "-f", "ids", now="2026-03-12T09:00:00+00:00").count("\n") == 1
    assert cli.ok("remind", "-f", "ids", now="2026-03-12T09:00:00+00:00").count("\n") == 1
    # --for picks people; the table names them
    mine = plan(cli, deal, "Mine", "2026-03-13 09:00", "--responsible", "anna@x.io")
    plan(cli, deal, "Not mine", "2026-03-13 09:00", "--responsible", "boris@x.io")
    out = cli.ok("remind", "--for", "anna@x.io", now="2026-03-13T09:00:00+00:00")
    assert "anna@x.io" in out and mine in out and "boris" not in out
    assert (repo / ".dealcli" / "reminders.sqlite").exists()
    assert ".dealcli/" in (repo / ".gitignore").read_text().splitlines()  # per clone, never committed


def test_concurrent_runs_tell_each_reminder_exactly_once(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    ids = {plan(cli, deal, f"Call {i}", "2026-03-10 09:00") for i in range(24)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_USER": "cron", "DEALCLI_NOW": "2026-03-10T12:00:00+00:00", "TZ": "UTC"})
    procs = [subprocess.Popen([cli.exe, "remind", "-f", "ids"], cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    told = [line for out, _ in outs for line in out.splitlines()]
    assert sorted(told) == sorted(ids)  # every one, none twice


def test_desktop_notifications_through_notify_send_and_retry_on_failure(cli, repo, tmp_path):
    deal = cli.ok("deal", "add", "D").strip()
    act = plan(cli, deal, "Ring Acme", "2026-03-10 11:00")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "notify-send"
    log = tmp_path / "notified.txt"
    script.write_text(f"#!/bin/sh\n[ -e {tmp_path}/fail ] && exit 3\nprintf '%s|' \"$@\" >> {log}\necho >> {log}\n")
    script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (tmp_path / "fail").write_text("")
    proc = cli.proc("remind", "--via", "notify", env=env)
    assert proc.returncode == 0 and "notify-send exited 3; it will be retried" in proc.stderr
    (tmp_path / "fail").unlink()
    proc = cli.proc("remind", "--via", "notify", env=env)
    assert proc.returncode == 0 and proc.stdout == ""
    assert log.read_text() == f"--app-name=dealcli|Overdue 2026-03-10 11:00: call|Ring Acme (deal {deal}, " \
                              f"activity {act})|\n"
    cli.proc("remind", "--via", "notify", env=env, check=True)
    assert log.read_text().count("\n") == 1
    missing = cli("remind", "--via", "notify", env={"PATH": str(tmp_path / "nothing")})
    assert missing.returncode == 2 and "notify-send is not installed" in missing.stderr
