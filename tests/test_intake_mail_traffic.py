"""`dealcli intake email` under real traffic (issue 25): raw 8-bit headers, a batch read in
the order it was written with threads joined whatever the order, an mbox on stdin, machine-made
mail (bounces, auto-replies, receipts, bulk) never opening a client, a broken message kept once,
notices only for what was committed, the line a mail server's log gets."""

from __future__ import annotations

import json
import mailbox

import pytest
from intake_helpers import configure, error_lines, failed, records, run_bytes


@pytest.fixture
def mailrepo(repo):
    configure(repo, user="intake@ourshop.example",
              mailboxes={"default": {"pipeline": "sales", "stage": "preparation"}})
    return repo


def message(mid: str, sender: str, date: str, subject: str, body: str = "Hello", *, reply_to: str = "",
            references: str = "", headers: str = "") -> bytes:
    lines = [f"From: {sender}", "To: sales@ourshop.example", f"Subject: {subject}", f"Message-ID: <{mid}>",
             f"Date: {date}"]
    lines += [f"In-Reply-To: <{reply_to}>"] if reply_to else []
    lines += [f"References: {references}"] if references else []
    lines += [h for h in headers.split("\n") if h]
    return ("\r\n".join(lines) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body + "\r\n").encode("utf-8")


# a raw 8-bit From display name (UTF-8, as RFC 6532 allows) and a Subject from a broken mailer (Latin-1)
EIGHT_BIT = (b"From: J\xc3\xbcrgen M\xc3\xbcller <jm@beta.example>\r\nTo: sales@ourshop.example\r\n"
             b"Subject: Pr\xc3\xa4sentation \xe9t\xe9\r\nMessage-ID: <8bit-1@beta.example>\r\n"
             b"Date: Mon, 09 Mar 2026 10:00:00 +0100\r\n\r\nHallo \xfc\r\n")


def test_raw_8bit_headers_are_read_not_a_crash_and_retry_succeeds(cli, mailrepo):
    kept = run_bytes(cli, "intake", "email", "-", "--mailbox", "sales", data=EIGHT_BIT)
    assert kept.returncode == 3, kept.stderr  # not configured yet: kept (never 70)
    configure(mailrepo, user="intake@ourshop.example", mailboxes={"sales": {"pipeline": "sales"}})
    [activity] = run_bytes(cli, "intake", "retry").stdout.split()
    stored = records(mailrepo, "activities")[activity]
    assert stored["from"] == "Jürgen Müller <jm@beta.example>"  # RFC 6532: UTF-8 in a header
    assert stored["subject"] == "Präsentation \ufffdt\ufffd"  # what is not UTF-8: U+FFFD, as email.policy reads it
    assert stored["body"] == "Hallo \ufffd" and failed(mailrepo) == {}
    [contact] = records(mailrepo, "contacts").values()
    assert contact["name"] == "Jürgen Müller"
    again = run_bytes(cli, "intake", "email", "-", "-f", "json", data=EIGHT_BIT)
    assert again.returncode == 0 and json.loads(again.stdout)[0]["status"] == "duplicate"


THREAD = [  # a thread of three people at three companies: every reply names its parents
    message("t1@alpha.example", "Ann Alpha <ann@alpha.example>", "Mon, 09 Mar 2026 09:00:00 +0000", "Licences"),
    message("t2@beta.example", "Ben Beta <ben@beta.example>", "Mon, 09 Mar 2026 10:00:00 +0000", "Re: Licences",
            reply_to="t1@alpha.example", references="<t1@alpha.example>"),
    # the third's clock is wrong: dated before the message it answers
    message("t3@gamma.example", "Gus Gamma <gus@gamma.example>", "Mon, 09 Mar 2026 08:00:00 +0000",
            "Re: Licences", reply_to="t2@beta.example", references="<t1@alpha.example> <t2@beta.example>"),
]
OTHER = message("o1@delta.example", "Dora Delta <dora@delta.example>", "Sun, 08 Mar 2026 12:00:00 +0000", "Other")


def test_a_maildir_is_read_in_date_order_and_a_thread_is_one_deal_whatever_the_file_names(cli, mailrepo, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for raw in (THREAD[2], THREAD[1], OTHER, THREAD[0]):  # file names sort replies before their parent
        box.add(raw)
    proc = run_bytes(cli, "intake", "email", tmp_path / "Maildir", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["source"].split(" <")[1].rstrip(">") for r in rows] == \
        ["o1@delta.example", "t1@alpha.example", "t2@beta.example", "t3@gamma.example"]
    deals = records(mailrepo, "deals")
    assert len(deals) == 2 and rows[1]["deal"] == rows[2]["deal"] == rows[3]["deal"]
    assert deals[rows[1]["deal"]]["title"] == "Licences"


def test_a_message_read_after_its_reply_joins_the_replys_deal(cli, mailrepo, tmp_path):
    first = json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=THREAD[1]).stdout)[0]
    later = json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=THREAD[0]).stdout)[0]
    assert later["deal"] == first["deal"] and len(records(mailrepo, "deals")) == 1


def mbox_bytes(*raws: bytes) -> bytes:
    return b"".join(b"From sender@example Mon Mar  9 10:00:00 2026\n" + raw.replace(b"\r\n", b"\n") + b"\n"
                    for raw in raws)


def test_an_mbox_on_stdin_is_every_message_of_it(cli, mailrepo):
    proc = run_bytes(cli, "intake", "email", "-", "-f", "json", data=mbox_bytes(THREAD[1], OTHER, THREAD[0]))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["source"].split(" <")[0] for r in rows] == ["stdin#2", "stdin#3", "stdin#1"]  # Date order
    assert len(records(mailrepo, "activities")) == 3 and rows[1]["deal"] == rows[2]["deal"]
    one = run_bytes(cli, "intake", "email", "-", data=mbox_bytes(message("x@e.example", "x@e.example",
                                                                          "Mon, 09 Mar 2026 11:00:00 +0000", "X")))
    body = records(mailrepo, "activities")[one.stdout.strip()]["body"]
    assert body == "Hello"  # procmail's From_ line is no part of the message


BOUNCE = (b"From: Mail Delivery System <MAILER-DAEMON@mx.beta.example>\r\nTo: sales@ourshop.example\r\n"
          b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.beta.example>\r\n"
          b"Date: Mon, 09 Mar 2026 12:00:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
          b"--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be "
          b"delivered.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.beta.example\r\n"
          b"\r\nFinal-Recipient: rfc822; gone@beta.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
          b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Ben Beta <ben@beta.example>\r\n"
          b"Message-ID: <t2@beta.example>\r\nSubject: Re: Licences\r\n--B--\r\n")


@pytest.mark.parametrize("headers, why", [
    ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("Precedence: auto_reply", "Precedence: auto_reply"),
    ("Return-Path: <>", "bounce: empty Return-Path"),
])
def test_machine_made_mail_from_a_stranger_is_dropped_never_a_client(cli, mailrepo, headers, why):
    raw = message("auto-1@zeta.example", "Out Of Office <zoe@zeta.example>", "Mon, 09 Mar 2026 12:00:00 +0000",
                  "Automatic reply: Licences", headers=headers)
    proc = run_bytes(cli, "intake", "email", "-", "-f", "json", data=raw)
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    assert row["status"] == "ignored" and why in row["reason"] and "dropped" in row["reason"]
    assert all(records(mailrepo, k) == {} for k in ("contacts", "companies", "deals", "activities"))


def test_a_bounce_and_an_out_of_office_reply_are_notices_on_the_known_deal(cli, mailrepo):
    for raw in THREAD[:2]:
        run_bytes(cli, "intake", "email", "-", data=raw)
    [deal] = records(mailrepo, "deals")
    before = (records(mailrepo, "contacts"), records(mailrepo, "companies"))
    bounce = json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=BOUNCE).stdout)[0]
    assert (bounce["status"], bounce["deal"]) == ("attached", deal)  # found by the returned message's Message-ID
    notice = records(mailrepo, "activities")[bounce["id"]]
    assert notice["automatic"] == "Auto-Submitted: auto-replied" and notice["attachments"] == []
    away = message("ooo-1@alpha.example", "Ann Alpha <ann@alpha.example>", "Tue, 10 Mar 2026 08:00:00 +0000",
                   "Out of office", headers="Auto-Submitted: auto-replied\nX-Autoreply: yes")
    row = json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=away).stdout)[0]
    assert (row["status"], row["deal"]) == ("attached", deal)  # a known contact: on her open deal
    receipt = (b"From: Cleo <cleo@eta.example>\r\nTo: sales@ourshop.example\r\nSubject: Read: Licences\r\n"
               b"Message-ID: <mdn-1@eta.example>\r\nDate: Tue, 10 Mar 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/report; report-type=disposition-notification; boundary=\"R\"\r\n\r\n"
               b"--R\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n--R\r\n"
               b"Content-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; cleo@eta.example\r\n"
               b"Original-Message-ID: <t1@alpha.example>\r\nDisposition: manual-action/MDN-sent-manually; "
               b"displayed\r\n--R--\r\n")  # a read receipt from a stranger, about Ann's message
    assert json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=receipt).stdout)[0]["deal"] == deal
    assert (records(mailrepo, "contacts"), records(mailrepo, "companies")) == before
    assert len(records(mailrepo, "deals")) == 1


def test_a_broken_message_is_kept_once_whichever_way_it_arrives(cli, mailrepo, tmp_path):
    path = tmp_path / "broken.eml"
    path.write_bytes(b"Subject: no sender\r\n\r\nbody\r\n")
    assert run_bytes(cli, "intake", "email", path).returncode == 65
    assert run_bytes(cli, "intake", "email", "-", data=path.read_bytes()).returncode == 65
    [item] = failed(mailrepo).values()
    assert item["attempts"] == 2


def test_created_is_said_only_of_what_was_committed(cli, mailrepo):
    configure(mailrepo, user="intake@ourshop.example", mailboxes={"default": {"pipeline": "nosuch"}})
    proc = run_bytes(cli, "intake", "email", "-", data=THREAD[0])
    assert proc.returncode == 3 and "created" not in proc.stderr, proc.stderr
    assert records(mailrepo, "contacts") == {} and records(mailrepo, "companies") == {}


def test_for_a_mail_server_the_line_says_the_message_was_kept(cli, mailrepo):
    proc = run_bytes(cli, "intake", "email", "-", "--mta", data=b"not a message\n")
    assert proc.returncode == 0 and error_lines(proc) == []
    [line] = [x for x in proc.stderr.splitlines() if "kept" in x]
    assert line.startswith("dealcli: not stored but kept, the mail server need not deliver it again: stdin: ")
    assert "error: error:" not in proc.stderr and "kept as inbox/failed/" in line
