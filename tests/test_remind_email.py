"""`dealcli remind --via email` (issue 26 item 6): each responsible person gets one message
listing their due and overdue activities through the repository's SMTP server (a real aiosmtpd
server on 127.0.0.1, as tests/test_reply.py), once per activity and due time, also when runs
overlap (real processes); a message the server does not take exits 75 and is retried."""

from __future__ import annotations

import email
import os
import re
import subprocess
from email import policy

import pytest
import yaml

pytest.importorskip("aiosmtpd")  # the test extra (pyproject.toml)

from test_reply import PASSWORD, _free_port, smtp  # noqa: E402,F401 - the real server that wants a login

NOW = "2026-03-10T12:00:00+00:00"


def settings(repo, port, **more):
    path = repo / "dealcli.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["smtp"] = {"host": "127.0.0.1", "port": port, "from": "CRM <crm@ourshop.example>", "user": "sales"}
    data.update(more)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def plan(cli, deal, subject, due, who, *extra):
    return cli.ok("activity", "add", deal, "--type", "call", "--subject", subject, "--due", due,
                  "--responsible", who, *extra).strip()


def mails(server) -> dict[str, list]:
    """RCPT TO -> the messages received (parsed)."""
    out: dict[str, list] = {}
    for _, rcpt, raw in server.messages:
        for to in rcpt:
            out.setdefault(to, []).append(email.message_from_bytes(raw, policy=policy.default))
    return out


def test_each_person_gets_one_message_with_their_reminders_once(cli, repo, smtp):  # noqa: F811
    settings(repo, smtp.port, users={"tester": {"emails": ["tester@example.com"], "roles": ["admin"]},
                                     "anna": {"name": "Anna", "emails": ["anna@ourshop.example"]}})
    deal = cli.ok("--quiet", "deal", "add", "Acme renewal").strip()
    late = plan(cli, deal, "Call Acme back", "2026-03-09 10:00", "anna", "--description", "Ask about the budget")
    soon = plan(cli, deal, "Send the offer", "2026-03-10 12:30", "anna", "--remind", "45m")
    plan(cli, deal, "Not yet", "2026-03-11 10:00", "anna")
    boris = plan(cli, deal, "Demo", "2026-03-10 11:00", "boris@ourshop.example")
    proc = cli("remind", "--via", "email", env=PASSWORD)
    assert proc.returncode == 0, proc.stderr
    got = mails(smtp)
    assert sorted(got) == ["anna@ourshop.example", "boris@ourshop.example"]  # a user's address, or the name itself
    [anna] = got["anna@ourshop.example"]
    assert anna["From"] == "CRM <crm@ourshop.example>"
    assert anna["Subject"] == "Reminder: 2 activities due, 1 overdue"
    body = anna.get_content()
    assert "OVERDUE 2026-03-09 10:00  call: Call Acme back" in body and "Ask about the budget" in body
    assert f"deal {deal} (Acme renewal), activity {late}" in body and soon in body and "Not yet" not in body
    assert boris in got["boris@ourshop.example"][0].get_content()
    # told: a second run sends nothing; the next due time does
    cli.ok("remind", "--via", "email", env=PASSWORD)
    assert len(smtp.messages) == 2
    cli.ok("remind", "--via", "email", env=PASSWORD, now="2026-03-11T10:00:00+00:00")
    assert len(smtp.messages) == 3 and "Not yet" in mails(smtp)["anna@ourshop.example"][1].get_content()


def test_a_message_not_sent_exits_75_and_is_retried(cli, repo, smtp):  # noqa: F811
    settings(repo, _free_port())  # nobody listens there
    deal = cli.ok("--quiet", "deal", "add", "D").strip()
    act = plan(cli, deal, "Ring", "2026-03-10 11:00", "anna@x.io")
    plan(cli, deal, "Ring too", "2026-03-10 11:00", "nobody")  # no address: reported, not marked either
    proc = cli("remind", "--via", "email", env=PASSWORD)
    assert proc.returncode == 75
    assert "2 reminder message(s) not sent, 0 reminder(s) sent" in proc.stderr
    assert "to anna@x.io: SMTP server 127.0.0.1" in proc.stderr and "nobody: no e-mail address" in proc.stderr
    assert cli.ok("remind", "--dry-run", "-f", "ids").split() != []  # nothing marked told
    settings(repo, smtp.port)
    wrong = cli("remind", "--via", "email", env={"DEALCLI_SMTP_PASSWORD": "wrong"})  # a refused login
    assert wrong.returncode == 75 and smtp.messages == []
    proc = cli("remind", "--via", "email", "--for", "anna@x.io", env=PASSWORD)
    assert proc.returncode == 0 and act in mails(smtp)["anna@x.io"][0].get_content()
    unset = cli("remind", "--via", "email", env=PASSWORD, user="x@y.z")
    assert unset.returncode == 75  # 'nobody' still has no address
    path = repo / "dealcli.yaml"
    data = yaml.safe_load(path.read_text())
    del data["smtp"]
    path.write_text(yaml.safe_dump(data))
    assert cli("remind", "--via", "email").returncode == 3  # no SMTP server configured


def test_overlapping_runs_send_each_person_one_message(cli, repo, smtp):  # noqa: F811
    settings(repo, smtp.port)
    deal = cli.ok("--quiet", "deal", "add", "D").strip()
    people = [f"p{i}@x.io" for i in range(6)]
    planned = {who: {plan(cli, deal, f"Call {n}", "2026-03-10 09:00", who) for n in range(4)} for who in people}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_USER": "cron", "DEALCLI_NOW": NOW, "TZ": "UTC", **PASSWORD})
    procs = [subprocess.Popen([cli.exe, "remind", "--via", "email"], cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    got = mails(smtp)
    assert sorted(got) == people and all(len(msgs) == 1 for msgs in got.values())  # one message each, once
    for who, msgs in got.items():
        assert set(re.findall(r"activity (\w{10})\b", msgs[0].get_content())) == planned[who]


def test_reminders_and_deal_emails_are_sent_by_one_module(cli, repo, smtp, monkeypatch):  # noqa: F811
    """`remind` used reply.py's private _compose/_send; both now send through dealcli/smtp.py."""
    from dealcli import smtp as sender

    sent = []
    real = sender.send
    monkeypatch.setattr(sender, "send", lambda conf, creds, msg: (sent.append(str(msg["To"])), real(conf, creds, msg)))
    settings(repo, smtp.port)
    deal = cli.ok("--quiet", "deal", "add", "Acme renewal").strip()
    plan(cli, deal, "Call Acme back", "2026-03-09 10:00", "anna@ourshop.example")
    cli.ok("deal", "email", deal, "--to", "buyer@acme.example", "--subject", "Offer", "--body", "Hello", env=PASSWORD)
    cli.ok("remind", "--via", "email", env=PASSWORD)
    assert sent == ["buyer@acme.example", "anna@ourshop.example"]
    assert sorted(mails(smtp)) == ["anna@ourshop.example", "buyer@acme.example"]
