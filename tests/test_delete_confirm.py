"""Every `delete` takes -y/--yes and, without it, asks on a terminal (one rule:
commands/options.confirm_delete, docs/exit-codes.md "Deleting"). Off a terminal, deal, recurring
and generator deletes refuse without --yes (exit 2); the others, which deleted without asking
before they took --yes, still do, with a notice, so scripts keep working."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import pytest

from conftest import NOW


def ids(text: str) -> list[str]:
    return text.split()


@pytest.fixture
def records(cli):
    """One record of each kind that has a delete, keyed by the delete command's noun."""
    company = cli.ok("company", "add", "Acme").strip()
    contact = cli.ok("contact", "add", "Ann Lee").strip()
    product = cli.ok("product", "add", "Widget", "--price", "10").strip()
    lead = cli.ok("lead", "add", "Inbound").strip()
    quote = cli.ok("quote", "add", "Offer", "--product", "Widget:10:1").strip()
    deal = cli.ok("deal", "add", "Big one", "--amount", "100").strip()
    activity = cli.ok("activity", "add", deal, "--type", "call", "--subject", "Ring", "--due", "tomorrow 10:00").strip()
    recurring = cli.ok("recurring", "add", "Retainer", "--every", "month", "--start", "2026-04-01",
                       "--amount", "10").strip()
    generator = cli.ok("generator", "add", "Repurchase", "--won-days-ago", "30..60").strip()
    pipeline = cli.ok("pipeline", "add", "service", "--stages", "new,won:Done:success,lost:Lost:failure").strip()
    cli.ok("user", "add", "boss", "--email", "tester@example.com", "--role", "admin")
    cli.ok("dept", "add", "east")
    cli.ok("role", "add", "auditor", "--grant", "deal:read=all")
    cli.ok("user", "add", "alice", "--email", "alice@example.com")
    return {"company": company, "contact": contact, "product": product, "lead": lead, "quote": quote,
            "activity": activity, "pipeline": pipeline, "user": "alice", "dept": "east", "role": "auditor",
            "deal": deal, "recurring": recurring, "generator": generator}


STRICT = ("deal", "recurring", "generator")


def test_every_delete_takes_yes(cli, records):
    for noun, ref in records.items():
        proc = cli(noun, "delete", ref, "-y")
        assert proc.returncode == 0, (noun, proc.stderr)
        assert "not asked" not in proc.stderr


def test_off_a_terminal_strict_deletes_refuse_and_the_others_delete_with_a_notice(cli, records):
    for noun, ref in records.items():
        proc = cli(noun, "delete", ref)
        if noun in STRICT:
            assert proc.returncode == 2 and f"{noun} delete: pass --yes" in proc.stderr, (noun, proc.stderr)
        else:
            assert proc.returncode == 0, (noun, proc.stderr)
            assert f"{noun} delete: not asked, stdin is not a terminal; pass --yes" in proc.stderr, noun
    assert "not asked" not in cli("company", "add", "Quiet Ltd", "-q").stderr
    quiet = cli.ok("company", "add", "Gone Ltd").strip()
    assert cli("company", "delete", quiet, "-q").stderr == ""  # --quiet silences the notice
    refused = cli("pipeline", "delete", "sales")  # the default pipeline: refused, so nothing to say about asking
    assert refused.returncode == 1 and "not asked" not in refused.stderr


def test_activity_ids_from_stdin_delete_with_a_notice_deal_ids_refuse(cli, records):
    proc = cli("activity", "delete", "-", input=records["activity"] + "\n")
    assert proc.returncode == 0 and ids(proc.stdout) == [records["activity"]] and "not asked" in proc.stderr
    assert cli("deal", "delete", "-", input=records["deal"] + "\n").returncode == 2


def on_a_terminal(cli, *args: str, answer: bytes) -> tuple[int, str, str]:
    """Run the installed dealcli with stdin and stderr on a pseudo-terminal (stdout a pipe), type
    `answer` at it; returns the exit code, stdout, and what the terminal showed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(DEALCLI_USER="tester@example.com", DEALCLI_NOW=NOW, NO_COLOR="1", TZ="UTC", TERM="dumb")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([cli.exe, *args], stdin=follower, stdout=subprocess.PIPE, stderr=follower,
                            cwd=cli.root, env=env)
    os.close(follower)
    shown, sent, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the process closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not sent and b"?" in shown:
                os.write(leader, answer)
                sent = True
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode() if proc.stdout else ""
    code = proc.wait(timeout=60)
    os.close(leader)
    return code, out, shown.decode(errors="replace")


def test_on_a_terminal_every_kind_asks_and_no_keeps_the_record(cli, records):
    company = records["company"]
    code, out, shown = on_a_terminal(cli, "company", "delete", company, answer=b"n\n")
    assert code == 1 and out == "" and f"Delete company {company}? [y/N]" in shown
    assert cli.ok("company", "show", company, "-f", "ids").strip() == company
    code, out, shown = on_a_terminal(cli, "company", "delete", company, answer=b"y\n")
    assert code == 0 and out == f"{company}\n" and "not asked" not in shown
    assert cli("company", "show", company).returncode == 3


def test_on_a_terminal_a_strict_delete_asks_too(cli, records):
    deal = cli.ok("deal", "add", "No activity", "--amount", "100").strip()
    code, out, shown = on_a_terminal(cli, "deal", "delete", deal, answer=b"y\n")
    assert code == 0 and out == f"{deal}\n" and f"Delete deal {deal}? [y/N]" in shown
    code, _, shown = on_a_terminal(cli, "pipeline", "delete", "service", answer=b"n\n")
    assert code == 1 and "Delete pipeline service?" in shown


def test_on_a_terminal_an_unknown_id_is_not_found_before_any_question(cli, records):
    code, _, shown = on_a_terminal(cli, "contact", "delete", "nosuchcontact", answer=b"y\n")
    assert code == 3 and "Delete" not in shown and "no such" in shown
