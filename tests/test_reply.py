"""`dealcli reply` and `dealcli deal email` (issue 25): answering back through a real SMTP
server on the loopback address (aiosmtpd), the sent message kept on the deal, and the client's
answer coming back through `intake email` onto the same deal."""

from __future__ import annotations

import email
import json
import shutil
import socket
import subprocess
from email import policy

import pytest
from intake_helpers import FIXTURES, configure, records, run_bytes

aiosmtpd = pytest.importorskip("aiosmtpd")  # the test extra (pyproject.toml)

FIRST = (FIXTURES / "first.eml").read_bytes()  # Иван Петров <ivan.petrov@acme-corp.com> asks for 40 licences


class Inbox:
    """What the SMTP server received: (MAIL FROM, RCPT TO, bytes)."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK: queued"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"sales", b"s3cret")
    return AuthResult(success=good)


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 that wants a login (AUTH LOGIN/PLAIN)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_login,
                            auth_require_tls=False)
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


PASSWORD = {"DEALCLI_SMTP_PASSWORD": "s3cret"}


@pytest.fixture
def deal_repo(repo, cli, smtp):
    configure(repo, {"smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "Our Shop <sales@ourshop.example>",
                              "user": "sales"}},
              user="intake@ourshop.example", mailboxes={"default": {"pipeline": "sales"}})
    [asked] = run_bytes(cli, "intake", "email", "-", data=FIRST).stdout.split()
    return repo, asked, records(repo, "activities")[asked]["deal"]


def test_a_reply_is_sent_threaded_kept_on_the_deal_and_the_answer_comes_back_to_it(cli, deal_repo, smtp):
    repo, asked, deal = deal_repo
    proc = cli("reply", asked, "--body", "Dear Ivan,\n\nhere is our offer for 40 licences.", env=PASSWORD)
    assert proc.returncode == 0, proc.stderr
    [(mail_from, rcpt, raw)] = smtp.messages
    assert (mail_from, rcpt) == ("sales@ourshop.example", ["ivan.petrov@acme-corp.com"])
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["Subject"] == "Re: Запрос цены for 40 licences"
    assert sent["In-Reply-To"] == "<20260309101500.4711@mail.acme-corp.com>"
    assert sent["References"].split()[-1] == "<20260309101500.4711@mail.acme-corp.com>"
    assert "here is our offer" in sent.get_content() and "> Здравствуйте!" in sent.get_content()
    out = records(repo, "activities")[proc.stdout.strip()]  # the sent message, kept on the deal
    assert (out["deal"], out["type"], out["direction"], out["done"]) == (deal, "email", "out", True)
    assert out["message_id"] == sent["Message-ID"].strip("<>") and out["to"] == ["ivan.petrov@acme-corp.com"]
    assert out["from"] == "Our Shop <sales@ourshop.example>" and out["created_by"] == "tester@example.com"
    # ... and on the client card: the contact's timeline holds the message we sent (issue 25 item 5)
    contact = records(repo, "deals")[deal]["contacts"][0]
    card = json.loads(cli.ok("contact", "show", contact, "-f", "json"))
    assert any(entry.get("activity") == proc.stdout.strip() or proc.stdout.strip() in json.dumps(entry)
               for entry in card["timeline"]), card["timeline"]

    # the client answers from another address (his private one): the thread, not the sender, finds the deal
    answer = (f"From: Ivan P <ivan.p@gmail.com>\r\nTo: sales@ourshop.example\r\nSubject: {sent['Subject']}\r\n"
              f"Message-ID: <answer-1@gmail.com>\r\nDate: Wed, 11 Mar 2026 09:00:00 +0000\r\n"
              f"In-Reply-To: {sent['Message-ID']}\r\nReferences: {sent['References']} {sent['Message-ID']}\r\n"
              f"\r\nThank you, we accept.\r\n").encode()
    [row] = json.loads(run_bytes(cli, "intake", "email", "-", "-f", "json", data=answer).stdout)
    assert row["deal"] == deal and len(records(repo, "deals")) == 1

    # `reply DEAL` answers the deal's latest e-mail: the client's answer
    again = cli("reply", deal, "--body", "-", input="Great, the invoice follows.", env=PASSWORD)
    assert again.returncode == 0, again.stderr
    second = email.message_from_bytes(smtp.messages[-1][2], policy=policy.default)
    assert smtp.messages[-1][1] == ["ivan.p@gmail.com"] and second["In-Reply-To"] == "<answer-1@gmail.com>"
    assert second["Subject"].count("Re:") == 1
    assert cli("check").returncode == 0


def test_deal_email_writes_a_new_message_from_the_deal(cli, deal_repo, smtp):
    repo, _, deal = deal_repo
    proc = cli("deal", "email", deal, "--to", "buyer@acme-corp.com", "--subject", "Your licences",
               "--body", "Attached: nothing yet.", env=PASSWORD)
    assert proc.returncode == 0, proc.stderr
    [(_, rcpt, raw)] = smtp.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert rcpt == ["buyer@acme-corp.com"] and sent["Subject"] == "Your licences" and sent["In-Reply-To"] is None
    assert records(repo, "activities")[proc.stdout.strip()]["direction"] == "out"


def test_dry_run_prints_the_message_and_sends_and_stores_nothing(cli, deal_repo, smtp):
    repo, asked, _ = deal_repo
    before = records(repo, "activities")
    proc = cli("reply", asked, "--body", "Draft", "--dry-run")  # no password needed to look
    assert proc.returncode == 0, proc.stderr
    assert "In-Reply-To: <20260309101500.4711@mail.acme-corp.com>" in proc.stdout
    assert "To: ivan.petrov@acme-corp.com" in proc.stdout and "Draft" in proc.stdout
    assert smtp.messages == [] and records(repo, "activities") == before


def test_a_refused_login_sends_and_stores_nothing(cli, deal_repo, smtp):
    repo, asked, _ = deal_repo
    before = records(repo, "activities")
    proc = cli("reply", asked, "--body", "Hello", env={"DEALCLI_SMTP_PASSWORD": "wrong"})
    assert proc.returncode == 75 and "nothing was sent or stored" in proc.stderr, proc.stderr
    assert smtp.messages == [] and records(repo, "activities") == before


def test_settings_and_the_password_stay_out_of_the_repository(cli, deal_repo, smtp):
    repo, asked, _ = deal_repo
    (repo / "secret").write_text("s3cret\n")
    configure(repo, {"smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "sales@ourshop.example",
                              "user": "sales", "password_file": str(repo / "secret")}})
    proc = cli("reply", asked, "--body", "Hello")
    assert proc.returncode == 3 and "inside the repository" in proc.stderr
    configure(repo, {"smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "sales@ourshop.example",
                              "password": "s3cret"}})
    assert cli("check").returncode == 1  # no password key in dealcli.yaml (schemas/config.schema.json)
    configure(repo, {})
    assert cli("reply", asked, "--body", "Hello").returncode == 3


def test_starttls_is_used_when_offered_and_required_when_configured(cli, deal_repo, tmp_path):
    """A server offering STARTTLS with a certificate of a CA given in smtp.cafile; a server
    without it is refused when smtp.security is starttls."""
    import ssl

    from aiosmtpd.controller import Controller

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    repo, asked, _ = deal_repo
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                            require_starttls=True, authenticator=_login)  # a login only over TLS
    controller.start()
    try:
        configure(repo, {"smtp": {"host": "127.0.0.1", "port": controller.port, "from": "sales@ourshop.example",
                                  "user": "sales", "security": "starttls", "cafile": str(cert)}})
        proc = cli("reply", asked, "--body", "Over TLS", env=PASSWORD)
        assert proc.returncode == 0, proc.stderr
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
    plain = Controller(Inbox(), hostname="127.0.0.1", port=_free_port())
    plain.start()
    try:
        configure(repo, {"smtp": {"host": "127.0.0.1", "port": plain.port, "from": "sales@ourshop.example",
                                  "security": "starttls"}})
        proc = cli("reply", asked, "--body", "Not in the clear")
        assert proc.returncode == 75 and "does not offer STARTTLS" in proc.stderr
    finally:
        plain.stop()
