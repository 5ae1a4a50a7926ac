"""Website forms: `dealcli intake form NAME` and the WSGI application under a real gunicorn on
127.0.0.1 (201/200/202/400/404/405/413/429, size and rate limits, spam, idempotency)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import NOW
from intake_helpers import configure, error_lines, failed, lock_held, records

FORM = """\
format: 1
name: Website request
pipeline: sales
stage: preparation
fields:
  name: contact.name
  email: contact.email
  phone: contact.phone
  company: company.name
  message: deal.comment
  budget: deal.amount
  topic: deal.fields.topic
required: [name, email]
honeypot: website
limits: {max_bytes: 2048, requests: 7, seconds: 3600}
"""
ANNA = "name=Anna+Schmidt&email=anna%40beta.example&company=Beta+GmbH&message=Need+20+licences&budget=1200.50" \
       "&topic=licences&website="


@pytest.fixture
def formrepo(repo):
    (repo / "forms").mkdir()
    (repo / "forms" / "contact.yaml").write_text(FORM, encoding="utf-8")
    configure(repo, user="web@ourshop.example")
    return repo


def test_a_urlencoded_submission_opens_a_deal_with_its_contact_and_company(cli, formrepo):
    deal_id = cli.ok("intake", "form", "contact", input=ANNA).strip()
    deal = records(formrepo, "deals")[deal_id]
    [contact], [company] = records(formrepo, "contacts").values(), records(formrepo, "companies").values()
    assert (deal["pipeline"], deal["stage"], deal["source"]) == ("sales", "preparation", "form:contact")
    assert deal["title"] == "Website request: Anna Schmidt" and str(deal["amount"]) == "1200.50"
    assert deal["fields"] == {"topic": "licences"} and deal["created_by"] == "web@ourshop.example"
    assert deal["contacts"] == [contact["id"]] and deal["company"] == company["id"] == contact["company"]
    assert contact["emails"] == ["anna@beta.example"] and company["name"] == "Beta GmbH"
    text = deal["comments"][0]["text"]
    assert text.startswith("Need 20 licences") and "topic: licences" in text and "website" not in text
    again = cli("intake", "form", "contact", "-f", "json", input=ANNA)
    assert again.returncode == 0 and json.loads(again.stdout)[0]["status"] == "duplicate"
    assert len(records(formrepo, "deals")) == 1


def test_a_json_submission_by_a_known_contact_reuses_the_contact(cli, formrepo):
    known = cli.ok("contact", "add", "Anna", "--email", "anna@beta.example").strip()
    body = json.dumps({"name": "Anna S.", "email": "anna@beta.example", "budget": 99, "subscribe": True})
    deal_id = cli.ok("intake", "form", "contact", input=body).strip()
    deal = records(formrepo, "deals")[deal_id]
    assert deal["contacts"] == [known] and str(deal["amount"]) == "99.00"
    assert "subscribe: true" in deal["comments"][0]["text"]


@pytest.mark.parametrize("body, code, needle", [
    ('{"name": "Bob"', 65, "not valid JSON"),
    ("[1, 2]", 65, "must be a JSON object"),
    ("name=Bob", 1, "field 'email' is required by form 'contact' [form-required]"),
    ("name=Bob&email=not-an-address", 1, "not an email address"),
])
def test_a_bad_submission_gives_one_line_and_is_kept(cli, formrepo, body, code, needle):
    proc = cli("intake", "form", "contact", input=body)
    assert proc.returncode == code and proc.stdout == ""
    [line] = error_lines(proc)
    assert needle in line and "kept as inbox/failed/" in line
    [item] = failed(formrepo).values()
    assert item["kind"] == "form" and item["exit_code"] == code and records(formrepo, "deals") == {}


def test_a_filled_honeypot_is_spam_kept_apart_and_never_retried(cli, formrepo):
    proc = cli("intake", "form", "contact", input="name=Bot&email=bot%40spam.example&website=http%3A%2F%2Fx")
    assert proc.returncode == 1 and "[form-honeypot]" in error_lines(proc)[0]
    assert records(formrepo, "deals") == {} and failed(formrepo) == {}
    assert len(records(formrepo / "inbox", "spam")) == 1
    assert cli.ok("intake", "retry") == "" and records(formrepo, "deals") == {}


def test_a_form_for_a_missing_pipeline_is_kept_and_retried_after_the_fix(cli, formrepo):
    (formrepo / "forms" / "contact.yaml").write_text(FORM.replace("pipeline: sales", "pipeline: web"))
    proc = cli("intake", "form", "contact", input=ANNA)
    assert proc.returncode == 3 and "pipeline 'web'" in error_lines(proc)[0] and len(failed(formrepo)) == 1
    cli.ok("pipeline", "add", "web", "--name", "Web", "--stages", "new,preparation,won:Won:success,lost:Lost:failure")
    [deal_id] = cli.ok("intake", "retry").split()
    assert records(formrepo, "deals")[deal_id]["pipeline"] == "web" and failed(formrepo) == {}


def test_a_broken_form_definition_names_its_line(cli, formrepo):
    (formrepo / "forms" / "contact.yaml").write_text(FORM.replace("budget: deal.amount", "budget: deal.price"))
    proc = cli("intake", "form", "contact", input=ANNA)
    assert proc.returncode == 5
    assert "forms/contact.yaml:11: fields.budget: 'deal.price' is not a target" in error_lines(proc)[0]


# -- the WSGI application under gunicorn ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(repo, tmp_path, workers: int = 1, env: dict | None = None):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    port = _free_port()
    extra, env = env or {}, {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_DIR": str(repo), "DEALCLI_NOW": NOW, "TZ": "UTC", "DEALCLI_LOCK_TIMEOUT": "0.3", **extra})
    args = [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"]
    if "--no-control-socket" in subprocess.run([str(gunicorn), "--help"], capture_output=True, text=True).stdout:
        args.append("--no-control-socket")
    log_path = tmp_path / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*args, "dealcli.intake.wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=tmp_path)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_path.read_text()) from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def server(formrepo, tmp_path):
    yield from _serve(formrepo, tmp_path)


def post(url: str, body: bytes | str, ctype: str = "application/x-www-form-urlencoded", method: str = "POST",
         headers: dict | None = None) -> tuple[int, dict, dict]:
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data if method == "POST" else None, method=method,
                                 headers={"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def test_form_posts_through_gunicorn(server, formrepo):
    url = f"{server}/forms/contact"
    code, body, _ = post(url, ANNA)
    assert code == 201 and body["status"] == "created"
    deal = records(formrepo, "deals")[body["deal"]]
    assert deal["title"] == "Website request: Anna Schmidt" and deal["created_by"] == "web@ourshop.example"
    assert post(url, ANNA)[:2] == (200, {"status": "duplicate", "deal": body["deal"]})
    keyed = {"Idempotency-Key": "order-1"}
    code, first, _ = post(url, json.dumps({"name": "Li", "email": "li@delta.example"}), "application/json",
                          headers=keyed)
    assert code == 201
    code, again, _ = post(url, json.dumps({"name": "Li Wei", "email": "li@delta.example"}), "application/json",
                          headers=keyed)
    assert (code, again["deal"]) == (200, first["deal"])  # the same key: the same deal, nothing new
    code, bad, _ = post(url, "name=Bob")
    assert code == 400 and bad["error"] == "field 'email' is required by form 'contact' [form-required]"
    # the sender's own fault: kept aside in inbox/refused/, not in inbox/failed/ for the cron's retry (issue 25)
    assert failed(formrepo) == {} and list(records(formrepo / "inbox", "refused")) == [bad["reference"]]
    code, spam, _ = post(url, "name=Bot&email=b%40x.example&website=http%3A%2F%2Fspam.example")
    assert (code, spam) == (201, {"status": "created"})  # a bot learns nothing; kept in inbox/spam/
    assert len(records(formrepo / "inbox", "spam")) == 1
    code, big, _ = post(url, "name=" + "x" * 3000)
    assert code == 413 and "larger than 2048 bytes" in big["error"]
    code, slow, headers = post(url, ANNA)
    assert code == 429 and "too many submissions" in slow["error"] and int(headers["Retry-After"]) > 0
    assert post(url, "", method="GET")[:2] == (405, {"error": "only POST is accepted"})
    assert post(f"{server}/forms/nope", ANNA)[:2] == (404, {"error": "no form named 'nope'"})
    assert post(f"{server}/elsewhere", ANNA)[0] == 404
    assert len(records(formrepo, "deals")) == 2


def test_a_post_while_the_repository_is_locked_is_queued_and_retried(server, formrepo, cli):
    with lock_held(formrepo):
        code, body, _ = post(f"{server}/forms/contact", ANNA)
    assert code == 202 and body["status"] == "queued" and list(failed(formrepo)) == [body["reference"]]
    assert records(formrepo, "deals") == {}
    [deal_id] = cli.ok("intake", "retry").split()
    assert records(formrepo, "deals")[deal_id]["title"] == "Website request: Anna Schmidt"
    assert failed(formrepo) == {}


def test_check_validates_forms_and_the_intake_settings(cli, formrepo):
    assert cli("check").returncode == 0
    (formrepo / "forms" / "broken.yaml").write_text("fields:\n  email: contact.mail\nhoneypot: [1]\n")
    configure(formrepo, calls={"unknown": {"missed": "maybe"}})
    proc = cli("check")
    assert proc.returncode == 1
    assert "forms/broken.yaml:2: fields.email" in proc.stdout and "forms/broken.yaml:3: honeypot" in proc.stdout
    assert "dealcli.yaml" in proc.stdout and "intake.calls.unknown.missed" in proc.stdout


@pytest.fixture
def two_workers(formrepo, tmp_path):
    (formrepo / "forms" / "contact.yaml").write_text(FORM.replace("requests: 7", "requests: 3"))
    yield from _serve(formrepo, tmp_path, workers=2)


def test_the_rate_limit_holds_across_gunicorn_workers(two_workers, formrepo):
    codes = [post(f"{two_workers}/forms/contact", f"name=P{n}&email=p{n}%40x.example")[0] for n in range(8)]
    assert codes == [201, 201, 201, 429, 429, 429, 429, 429]
    assert len(records(formrepo, "deals")) == 3


def test_a_bad_value_is_named_as_the_form_names_its_field(cli, formrepo):
    """The core's checks word their field plainly; the form words it as its own field, by its exact
    name (underscores kept)."""
    (formrepo / "forms" / "contact.yaml").write_text(
        FORM.replace("  budget: deal.amount", "  deal_budget: deal.amount")
        .replace("  email: contact.email", "  e_mail: contact.email").replace("[name, email]", "[name]"),
        encoding="utf-8")
    proc = cli("intake", "form", "contact", input="name=Bob&e_mail=nope&deal_budget=lots")
    assert proc.returncode == 1
    [line] = error_lines(proc)
    assert "field 'e_mail' 'nope': not an email address" in line and "field 'deal_budget': 'lots'" in line, line
