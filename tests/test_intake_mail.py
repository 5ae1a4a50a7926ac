"""`dealcli intake email` over real messages: multipart with attachments, RFC 2047 headers,
koi8-r and iso-8859-1 bodies, HTML only, replies; stdin, .eml, mbox and Maildir; re-delivery;
failures kept in inbox/failed/ and retried."""

from __future__ import annotations

import fcntl
import json
import mailbox
import os

import pytest
from intake_helpers import FIXTURES, configure, error_lines, failed, records, run_bytes

FIRST = (FIXTURES / "first.eml").read_bytes()
REPLY = (FIXTURES / "reply.eml").read_bytes()
HTML = (FIXTURES / "html-only.eml").read_bytes()
COLLEAGUE = (FIXTURES / "colleague.eml").read_bytes()


@pytest.fixture
def mailrepo(repo):
    configure(repo, user="intake@ourshop.example",
              mailboxes={"default": {"pipeline": "sales", "stage": "preparation"}})
    return repo


def one(rows: dict) -> dict:
    assert len(rows) == 1, rows
    return next(iter(rows.values()))


def test_a_first_message_opens_a_deal_for_a_new_contact_and_company(cli, mailrepo):
    proc = run_bytes(cli, "intake", "email", "-", data=FIRST)
    assert proc.returncode == 0, proc.stderr
    activity = one(records(mailrepo, "activities"))
    assert proc.stdout == activity["id"] + "\n"
    assert activity["type"] == "email" and activity["done"] is True
    assert activity["subject"] == "Запрос цены for 40 licences"  # RFC 2047 Q, UTF-8
    assert activity["from"] == "Иван Петров <ivan.petrov@acme-corp.com>"  # RFC 2047 B
    assert activity["body"] == "Здравствуйте!\nНужно 40 лицензий, счёт на оплату."  # koi8-r, not the HTML twin
    assert activity["due"] == "2026-03-09T07:15:00+00:00"  # the Date header, in the repository's zone
    assert activity["message_id"] == "20260309101500.4711@mail.acme-corp.com"
    assert activity["created_by"] == "intake@ourshop.example"  # the configured intake user
    names = [a["name"] for a in activity["attachments"]]
    assert names == ["Техзадание.pdf", "licences.csv"]  # RFC 2231 name, the ../ taken off
    pdf = mailrepo / activity["attachments"][0]["path"]
    assert pdf.parent == mailrepo / "attachments" / activity["id"]
    assert pdf.read_bytes().startswith(b"%PDF-1.4") and activity["attachments"][0]["size"] == pdf.stat().st_size
    assert (mailrepo / "attachments" / activity["id"] / "licences.csv").read_bytes() == b"product,qty\r\nLicence,40"
    contact, company, deal = one(records(mailrepo, "contacts")), one(records(mailrepo, "companies")), \
        one(records(mailrepo, "deals"))
    assert contact["name"] == "Иван Петров" and contact["emails"] == ["ivan.petrov@acme-corp.com"]
    assert company["name"] == "acme-corp.com" and contact["company"] == company["id"]
    assert contact["responsible"] == company["responsible"] == "intake@ourshop.example"
    assert deal["id"] == activity["deal"] and deal["title"] == "Запрос цены for 40 licences"
    assert (deal["pipeline"], deal["stage"], deal["source"]) == ("sales", "preparation", "email")
    assert deal["contacts"] == [contact["id"]] and deal["company"] == company["id"]
    assert deal["created_by"] == "intake@ourshop.example"
    assert cli.ok("check") == "" or "0 problems" in cli.ok("check")


def test_redelivery_creates_nothing_twice(cli, mailrepo):
    first = run_bytes(cli, "intake", "email", data=FIRST)
    before = {kind: records(mailrepo, kind) for kind in ("deals", "contacts", "companies", "activities")}
    again = run_bytes(cli, "intake", "email", "-", "-f", "json", data=FIRST)
    assert again.returncode == 0, again.stderr
    row = json.loads(again.stdout)[0]
    assert row["status"] == "duplicate" and row["id"] == first.stdout.strip()
    assert {kind: records(mailrepo, kind) for kind in before} == before


def test_a_reply_threads_to_the_deal_of_its_message_whoever_sends_it(cli, mailrepo):
    run_bytes(cli, "intake", "email", data=FIRST)
    deal = one(records(mailrepo, "deals"))["id"]
    proc = run_bytes(cli, "intake", "email", "-f", "json", data=REPLY)
    row = json.loads(proc.stdout)[0]
    assert proc.returncode == 0 and row["deal"] == deal and row["status"] == "created"  # a new contact, same deal
    reply = records(mailrepo, "activities")[row["id"]]
    assert reply["subject"] == "Re: Angebot für Acme" and reply["from"] == "Jürgen Müller <juergen.consult@gmail.com>"
    assert reply["body"].startswith("Grüße, ich berate Acme")  # iso-8859-1, quoted-printable
    assert reply["in_reply_to"] == ["20260309101500.4711@mail.acme-corp.com"]
    assert len(records(mailrepo, "deals")) == 1
    contact = records(mailrepo, "contacts")[row["contact"]]
    assert contact["company"] is None  # gmail.com is a free-mail domain: no company for it


def test_a_colleague_joins_the_company_and_its_open_deal_another_client_opens_a_new_deal(cli, mailrepo):
    run_bytes(cli, "intake", "email", data=FIRST)
    first_deal = one(records(mailrepo, "deals"))
    colleague = json.loads(run_bytes(cli, "intake", "email", "-f", "json", data=COLLEAGUE).stdout)[0]
    assert colleague["deal"] == first_deal["id"] and colleague["company"] == first_deal["company"]
    other = json.loads(run_bytes(cli, "intake", "email", "-f", "json", data=HTML).stdout)[0]
    assert other["deal"] != first_deal["id"]
    activity = records(mailrepo, "activities")[other["id"]]
    assert activity["body"] == "Hello,\ncould we see a demo next week?"  # HTML only: text without the style
    assert records(mailrepo, "deals")[other["deal"]]["title"] == "Demo request"


def test_an_mbox_and_a_maildir_are_read_message_by_message_and_left_unchanged(cli, mailrepo, tmp_path):
    mbox_path = tmp_path / "sales.mbox"
    box = mailbox.mbox(str(mbox_path))
    for raw in (FIRST, REPLY):
        box.add(raw)
    box.close()
    proc = cli("intake", "email", mbox_path, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["status"] for r in rows] == ["created", "created"] and rows[0]["deal"] == rows[1]["deal"]
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    for raw in (FIRST, REPLY, HTML):
        maildir.add(mailbox.MaildirMessage(raw))
    snapshot = {p: p.read_bytes() for p in (tmp_path / "Maildir").rglob("*") if p.is_file()}
    rows = json.loads(cli.ok("intake", "email", tmp_path / "Maildir", "-f", "json"))
    assert sorted(r["status"] for r in rows) == ["created", "duplicate", "duplicate"]
    assert len(records(mailrepo, "activities")) == 3 and len(records(mailrepo, "deals")) == 2
    assert {p: p.read_bytes() for p in (tmp_path / "Maildir").rglob("*") if p.is_file()} == snapshot
    again = json.loads(cli.ok("intake", "email", tmp_path / "Maildir", "-f", "json"))
    assert [r["status"] for r in again] == ["duplicate"] * 3


def test_an_eml_file_and_the_mailbox_rule(cli, repo, tmp_path):
    configure(repo, mailboxes={"support": {"pipeline": "sales", "stage": "new", "create_company_from_domain": False}})
    path = tmp_path / "first.eml"
    path.write_bytes(FIRST)
    activity_id = cli.ok("intake", "email", path, "--mailbox", "support").strip()
    activity = records(repo, "activities")[activity_id]
    assert activity["mailbox"] == "support" and records(repo, "companies") == {}
    assert records(repo, "deals")[activity["deal"]]["stage"] == "new"


def test_a_malformed_message_gives_one_line_exit_65_and_is_kept(cli, mailrepo):
    proc = run_bytes(cli, "intake", "email", data=b"hello, this is not an e-mail\n")
    assert proc.returncode == 65 and proc.stdout == ""
    [line] = error_lines(proc)
    assert "not an e-mail message: no From header" in line and "kept as inbox/failed/" in line
    [item] = failed(mailrepo).values()
    assert item["kind"] == "email" and item["exit_code"] == 65 and "no From header" in item["reason"]
    assert (mailrepo / "inbox" / "failed" / item["payload"]).read_bytes() == b"hello, this is not an e-mail\n"
    assert records(mailrepo, "deals") == {} and records(mailrepo, "contacts") == {}
    assert run_bytes(cli, "intake", "email", data=b"hello, this is not an e-mail\n").returncode == 65
    assert len(failed(mailrepo)) == 1 and next(iter(failed(mailrepo).values()))["attempts"] == 2


def test_a_message_for_an_unconfigured_mailbox_is_kept_and_retried_once_it_is_configured(cli, mailrepo):
    proc = run_bytes(cli, "intake", "email", "--mailbox", "support", data=FIRST)
    assert proc.returncode == 3 and "'support': not in intake.mailboxes" in error_lines(proc)[0]
    assert records(mailrepo, "activities") == {} and len(failed(mailrepo)) == 1
    assert "support" in cli.ok("intake", "failed")
    still = cli("intake", "retry")
    assert still.returncode == 3 and len(failed(mailrepo)) == 1 and failed(mailrepo).popitem()[1]["attempts"] == 2
    configure(mailrepo, user="intake@ourshop.example", mailboxes={"support": {"stage": "new"}})
    proc = cli("intake", "retry", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    assert row["status"] == "created" and records(mailrepo, "activities")[row["id"]]["mailbox"] == "support"
    assert failed(mailrepo) == {} and list((mailrepo / "inbox" / "failed").iterdir()) == []
    assert cli.ok("intake", "retry") == ""


def test_a_locked_repository_keeps_the_message_exit_4_and_retry_stores_it(cli, mailrepo):
    lock = mailrepo / ".dealcli" / "lock"
    lock.parent.mkdir(exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = run_bytes(cli, "intake", "email", data=FIRST, env={"DEALCLI_LOCK_TIMEOUT": "0.2"})
    finally:
        os.close(fd)
    assert proc.returncode == 4 and "holds the lock" in error_lines(proc)[0]
    assert records(mailrepo, "activities") == {} and len(failed(mailrepo)) == 1
    assert cli("intake", "retry").returncode == 0
    assert len(records(mailrepo, "activities")) == 1 and failed(mailrepo) == {}
    assert run_bytes(cli, "intake", "email", data=FIRST).returncode == 0  # the MTA's re-delivery: a duplicate
    assert len(records(mailrepo, "activities")) == 1


def test_a_mailbox_refusing_unknown_senders_keeps_their_mail_exit_1(cli, repo):
    configure(repo, mailboxes={"default": {"unknown_senders": "refuse"}})
    proc = run_bytes(cli, "intake", "email", data=FIRST)
    assert proc.returncode == 1 and "refuses unknown senders [intake-unknown-sender]" in error_lines(proc)[0]
    cli.ok("contact", "add", "Ivan", "--email", "ivan.petrov@acme-corp.com")
    assert cli("intake", "retry").returncode == 0 and len(records(repo, "activities")) == 1


def test_for_a_mail_server_a_kept_message_is_delivered_and_an_unkeepable_one_deferred(cli, mailrepo, tmp_path):
    proc = run_bytes(cli, "intake", "email", "-", "--mta", data=b"not a message\n")
    assert proc.returncode == 0 and "kept as inbox/failed/" in proc.stderr and len(failed(mailrepo)) == 1
    assert run_bytes(cli, "intake", "email", "--mta", data=FIRST).returncode == 0
    gone = run_bytes(cli, "--dir", tmp_path / "nowhere", "intake", "email", "--mta", data=FIRST)
    assert gone.returncode == 75 and "nothing was stored, deliver it again" in error_lines(gone)[0]


def test_an_item_that_cannot_even_be_kept_is_a_temporary_failure(session, monkeypatch):
    from dealcli.errors import TempFail
    from dealcli.intake import inbox, mail

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device", "inbox/failed/x.eml")

    monkeypatch.setattr(inbox, "keep", no_space)
    with pytest.raises(TempFail) as caught:
        mail.run(session, str(FIXTURES / "html-only.eml"), mailbox="nope")
    assert caught.value.exit_code == 75
    assert "could not be kept in inbox/failed/ (inbox/failed/x.eml No space left on device)" in caught.value.message


def test_mail_from_our_own_domain_is_outgoing_on_the_recipients_deal(cli, repo):
    configure(repo, mailboxes={"default": {"own_domains": ["ourshop.example"]}})
    run_bytes(cli, "intake", "email", data=FIRST)
    deal = one(records(repo, "deals"))["id"]
    sent = (b"From: Anna Sales <anna@ourshop.example>\r\nTo: ivan.petrov@acme-corp.com\r\n"
            b"Subject: Your offer\r\nDate: Tue, 10 Mar 2026 10:00:00 +0000\r\nMessage-ID: <out-1@ourshop.example>\r\n"
            b"\r\nPlease find the offer attached.\r\n")
    row = json.loads(run_bytes(cli, "intake", "email", "-f", "json", data=sent).stdout)[0]
    activity = records(repo, "activities")[row["id"]]
    assert (row["status"], row["deal"], activity["direction"]) == ("attached", deal, "out")
    internal = sent.replace(b"To: ivan.petrov@acme-corp.com", b"To: boss@ourshop.example").replace(b"out-1", b"out-2")
    proc = run_bytes(cli, "intake", "email", "-f", "json", data=internal)
    assert proc.returncode == 0 and json.loads(proc.stdout)[0]["status"] == "ignored"
    assert len(records(repo, "activities")) == 2


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\offer.pdf", "offer.pdf"),
    ("-rf", "rf"),
    ("..", "part-1.pdf"),
    ("a\x00b|c?.txt", "a_b_c_.txt"),
    ("x" * 300 + ".pdf", "x" * 150 + ".pdf"),
])
def test_attachment_names_are_made_safe(name, expected):
    from dealcli.intake.mail import _safe_name

    assert _safe_name(name, 1, "application/pdf", set()) == expected


def test_a_repeated_attachment_name_gets_a_number():
    from dealcli.intake.mail import _safe_name

    used: set = set()
    assert [_safe_name("scan.pdf", n, "application/pdf", used) for n in (1, 2, 3)] == \
        ["scan.pdf", "scan (2).pdf", "scan (3).pdf"]


def test_the_same_message_delivered_by_four_processes_at_once_is_stored_once(cli, mailrepo):
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update(DEALCLI_NOW="2026-03-10T12:00:00+00:00", TZ="UTC", DEALCLI_DIR=str(mailrepo))
    procs = [subprocess.Popen([cli.exe, "intake", "email", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for _ in range(4)]
    outs = [p.communicate(FIRST, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1] for o in outs]
    assert len({o[0] for o in outs}) == 1  # every process names the same activity
    for kind in ("activities", "deals", "contacts", "companies"):
        assert len(records(mailrepo, kind)) == 1, kind


def test_a_refused_deal_leaves_no_contact_company_or_attachment_behind(cli, repo):
    configure(repo, mailboxes={"default": {"stage": "nope"}})
    proc = run_bytes(cli, "intake", "email", data=FIRST)
    assert proc.returncode == 1 and "stage 'nope'" in error_lines(proc)[0]
    for kind in ("contacts", "companies", "deals", "activities"):
        assert records(repo, kind) == {}, kind
    assert not (repo / "attachments").exists() or list((repo / "attachments").rglob("*.pdf")) == []
    configure(repo, mailboxes={"default": {"stage": "new"}})
    [activity_id] = cli.ok("intake", "retry").split()
    assert (repo / "attachments" / activity_id / "licences.csv").is_file()
    assert len(records(repo, "contacts")) == len(records(repo, "companies")) == 1
