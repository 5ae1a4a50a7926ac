"""The form endpoint under real traffic (issue 25), through a real gunicorn on 127.0.0.1: a
post never waits long on the lock (queued, 202, stored by `intake retry`), multipart/form-data,
a browser's HTML form gets a thank-you redirect, CORS for listed origins, field bounds and title
placeholders from the form, and kept items that are not retried forever."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from intake_helpers import configure, failed, lock_held, records
import test_intake_forms
from test_intake_forms import ANNA, FORM, _serve

formrepo = test_intake_forms.formrepo  # the fixture, shared
BOUNDED = FORM.replace("  budget: deal.amount", "  budget: {to: deal.amount, max: 100000}") \
    .replace("name: Website request\n", "name: Website request\ntitle: 'Request: {topic}'\n")


def request(base: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """(status, headers, body) without following redirects."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)  # a post held 30 s fails here
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


BROWSER = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def web(formrepo, tmp_path):  # noqa: F811
    (formrepo / "forms" / "contact.yaml").write_text(BOUNDED, encoding="utf-8")
    configure(formrepo, user="web@ourshop.example",
              web={"lock_wait": 0.2, "origins": ["https://ourshop.example"]})
    # the lock's own default wait (30 s) is what a post waited before: the endpoint waits lock_wait
    yield from _serve(formrepo, tmp_path, env={"DEALCLI_LOCK_TIMEOUT": "30"})


def test_a_post_while_the_lock_is_held_is_queued_at_once_and_stored_by_retry(web, formrepo, cli):
    with lock_held(formrepo):
        code, _, body = request(web, "POST", "/forms/contact", ANNA.encode(),
                                {"Content-Type": "application/x-www-form-urlencoded"})
    answer = json.loads(body)
    assert code == 202 and answer["status"] == "queued" and list(failed(formrepo)) == [answer["reference"]]
    [deal] = cli.ok("intake", "retry").split()
    assert records(formrepo, "deals")[deal]["title"] == "Request: licences" and failed(formrepo) == {}


def test_multipart_form_data_opens_a_deal(web, formrepo):
    boundary = "----dealcliBoundary7MA4YWxkTrZu0gW"
    parts = [("name", "Anna Schmidt"), ("email", "anna@beta.example"), ("topic", "licences"), ("budget", "1200")]
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n" for k, v in parts)
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"brief\"; filename=\"brief.pdf\"\r\n"
             f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 \xff\r\n--{boundary}--\r\n")
    code, _, raw = request(web, "POST", "/forms/contact", body.encode("latin-1"),
                           {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert code == 201, raw
    deal = records(formrepo, "deals")[json.loads(raw)["deal"]]
    assert (deal["title"], str(deal["amount"])) == ("Request: licences", "1200.00")
    assert "brief: brief.pdf" in deal["comments"][0]["text"]


def test_a_browser_form_gets_a_thank_you_redirect_not_json(web, formrepo):
    code, headers, body = request(web, "POST", "/forms/contact", ANNA.encode(), BROWSER)
    assert code == 303 and headers["location"] == "/forms/contact/thanks" and b"deal" not in body
    assert len(records(formrepo, "deals")) == 1
    code, headers, page = request(web, "GET", "/forms/contact/thanks")
    assert code == 200 and headers["content-type"].startswith("text/html") and b"Thank you" in page
    code, headers, page = request(web, "POST", "/forms/contact", b"name=Bob", BROWSER)
    assert code == 400 and headers["content-type"].startswith("text/html") and b"required" in page
    (formrepo / "forms" / "contact.yaml").write_text(BOUNDED + "thanks: https://ourshop.example/thanks\n")
    code, headers, _ = request(web, "POST", "/forms/contact", b"name=Li&email=li%40x.example&topic=t", BROWSER)
    assert (code, headers["location"]) == (303, "https://ourshop.example/thanks")


def test_cors_for_the_listed_origins_only(web, formrepo):
    origin = {"Origin": "https://ourshop.example", "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "content-type"}
    code, headers, _ = request(web, "OPTIONS", "/forms/contact", headers=origin)
    assert code == 204 and headers["access-control-allow-origin"] == "https://ourshop.example"
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"].lower()
    code, headers, _ = request(web, "POST", "/forms/contact", json.dumps({"name": "A", "email": "a@x.example",
                               "topic": "t"}).encode(), {"Content-Type": "application/json",
                                                         "Origin": "https://ourshop.example"})
    assert code == 201 and headers["access-control-allow-origin"] == "https://ourshop.example"
    code, headers, _ = request(web, "OPTIONS", "/forms/contact", headers={**origin, "Origin": "https://evil.example"})
    assert code == 403 and "access-control-allow-origin" not in headers
    code, _, _ = request(web, "POST", "/forms/contact", ANNA.encode(),
                         {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"})
    assert code == 403 and len(records(formrepo, "deals")) == 1


def test_field_bounds_and_title_placeholders_come_from_the_form(cli, formrepo):  # noqa: F811
    (formrepo / "forms" / "contact.yaml").write_text(BOUNDED, encoding="utf-8")
    negative = cli("intake", "form", "contact", input="name=A&email=a%40x.example&topic=t&budget=-5")
    assert negative.returncode == 1 and "field 'budget' '-5': less than 0" in negative.stderr
    big = cli("intake", "form", "contact", input="name=A&email=a%40x.example&topic=t&budget=250000")
    assert big.returncode == 1 and "more than 100000" in big.stderr
    untitled = cli("intake", "form", "contact", input="name=A&email=a%40x.example")
    assert untitled.returncode == 1 and "field 'topic' is required by form 'contact'" in untitled.stderr
    assert records(formrepo, "deals") == {}
    (formrepo / "forms" / "contact.yaml").write_text(FORM, encoding="utf-8")  # no bounds given: an amount is >= 0
    assert cli("intake", "form", "contact", input="name=A&email=a%40x.example&budget=-1").returncode == 1
    (formrepo / "forms" / "contact.yaml").write_text(BOUNDED, encoding="utf-8")
    assert cli("check").returncode == 0  # a field with bounds is a valid form definition


def test_kept_items_older_than_the_retention_are_not_retried_forever(cli, formrepo):  # noqa: F811
    assert cli("intake", "form", "contact", input="name=Bob").returncode == 1  # kept: a required field missing
    [key] = failed(formrepo)
    configure(formrepo, user="web@ourshop.example", retention_days=7)
    assert cli("intake", "retry").returncode == 1  # still young: retried, still refused
    later = "2026-03-20T12:00:00+00:00"
    proc = cli("intake", "retry", "-f", "json", now=later)
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    assert row["status"] == "ignored" and "retention_days" in row["reason"]
    assert failed(formrepo) == {} and list(records(formrepo / "inbox", "expired")) == [key]
    assert cli("intake", "retry", now=later).stdout == ""  # nothing left to retry
    assert cli("intake", "retry", key[:5], now=later).returncode == 1  # by its id it is still tried
