"""The web endpoint of website forms, a WSGI application for any WSGI server:

    DEALCLI_DIR=/srv/deals gunicorn --bind 127.0.0.1:8080 dealcli.intake.wsgi:app

POST /forms/<name> with a JSON object, application/x-www-form-urlencoded or multipart/form-data
body. Answers a script JSON (`{"status": ...}` or `{"error": ...}`):
  201 created (deal id) · 200 duplicate (the same submission, or Idempotency-Key, again)
  202 queued: kept in inbox/failed/ because of a server-side cause (repository locked — the
      endpoint waits at most intake.web.lock_wait seconds —, a broken file, a pipeline missing);
      `dealcli intake retry` stores it later
  400 the submission is malformed or misses a required field (kept in inbox/refused/, never
      retried by itself: the same bytes would be refused again)
  403 an Origin not in intake.web.origins (when origins are listed)
  404 no such form · 405 not POST/OPTIONS · 413 body over the size limit · 429 over the rate limit
A browser posting an HTML form (Accept: text/html, a form content type) gets no JSON and no
internal id: once stored (or queued), a 303 redirect to the form's `thanks` URL, else to this
endpoint's own thank-you page (GET /forms/<name>/thanks); an error as a short HTML page.
CORS: OPTIONS /forms/<name> from an origin of intake.web.origins answers the preflight (204), and
every answer to such an origin carries Access-Control-Allow-Origin.
A filled honeypot answers as a stored submission without a deal (a bot learns nothing) and is
kept in inbox/spam/. Limits: forms/<name>.yaml `limits`, over intake.web of dealcli.yaml, over
64 KiB and 10 posts per client address per 60 s. The rate is counted across all worker
processes (storage/ratelimit.py, a SQLite file in .dealcli/); the client address is REMOTE_ADDR,
or the last X-Forwarded-For entry when intake.web.trust_proxy is true (behind nginx)."""

from __future__ import annotations

import html
import json
import os
import re

from dealcli.errors import DealcliError, NotFound

_PATH = re.compile(r"^/forms/([^/]+)(/thanks)?/?$")
CLIENT_ERRORS = (65, 1, 2)  # causes in the submission itself: 400; anything else is ours: 202
LOCK_WAIT = 1.0  # seconds a post waits for the repository lock (intake.web.lock_wait) before it is queued
REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 303: "See Other", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error"}
THANKS = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Thank you</title></head><body>"
          "<h1>Thank you!</h1><p>We have received your request and will get back to you soon.</p></body></html>\n")


class Request:
    """One request: what the answer depends on (a browser's form, the CORS origin)."""

    def __init__(self, environ, start_response):
        self.environ, self.start_response = environ, start_response
        self.cors: list = []
        accept = str(environ.get("HTTP_ACCEPT") or "").lower()
        ctype = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        self.browser = "text/html" in accept and ctype in ("application/x-www-form-urlencoded", "multipart/form-data")

    def answer(self, code: int, body: dict, headers: list | None = None):
        if self.browser and code >= 400:
            return self.page(code, f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{REASONS[code]}"
                             f"</title></head><body><h1>{REASONS[code]}</h1><p>"
                             f"{html.escape(str(body.get('error') or ''))}</p></body></html>\n", headers)
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode() if code != 204 else b""
        return self._start(code, "application/json; charset=utf-8", data, headers)

    def page(self, code: int, text: str, headers: list | None = None):
        return self._start(code, "text/html; charset=utf-8", text.encode(), headers)

    def _start(self, code: int, ctype: str, data: bytes, headers: list | None):
        self.start_response(f"{code} {REASONS[code]}", [("Content-Type", ctype), ("Content-Length", str(len(data))),
                                                        ("Cache-Control", "no-store"), *self.cors,
                                                        *(headers or [])])
        return [data]


def _client(environ, web: dict) -> str:
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if web.get("trust_proxy") and forwarded:
        return forwarded.split(",")[-1].strip()
    return str(environ.get("REMOTE_ADDR") or "unknown")


def _log(environ, line: str) -> None:
    stream = environ.get("wsgi.errors")
    if stream is not None:
        stream.write(f"dealcli intake: {line}\n")
        stream.flush()


def _origin(req: Request, web: dict):
    """CORS: the request's Origin when intake.web.origins lists it (its answers then carry
    Access-Control-Allow-Origin); False for an Origin not listed when origins are listed; None
    when nothing is to be said (no Origin, or no origins configured)."""
    origin = req.environ.get("HTTP_ORIGIN")
    allowed = [str(o).rstrip("/") for o in web.get("origins") or []]
    if not origin or not allowed:
        return None
    if origin.rstrip("/") not in allowed and "*" not in allowed:
        return False
    req.cors = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return origin


def app(environ, start_response):
    from dealcli.intake import forms, inbox, route
    from dealcli.session import Session

    req = Request(environ, start_response)
    match = _PATH.match(environ.get("PATH_INFO") or "")
    method = environ.get("REQUEST_METHOD")
    if not match:
        return req.answer(404, {"error": "not found: post a form to /forms/<name>"})
    name, thanks = match.group(1), bool(match.group(2))
    if thanks and method in ("GET", "HEAD"):
        return req.page(200, THANKS)
    if thanks or method not in ("POST", "OPTIONS"):
        return req.answer(405, {"error": "only POST is accepted"}, [("Allow", "POST, OPTIONS")])
    s = Session(dir=os.environ.get("DEALCLI_DIR") or None, quiet=True)
    try:
        s.repo  # noqa: B018 - no repository is our problem, not a missing form
    except DealcliError as exc:
        _log(environ, exc.message)
        return req.answer(500, {"error": "the service is not configured (no repository)"})
    try:
        form = forms.load(s, name)
        limits = forms.limits(s, form)
        web = route.section(s, "web")
    except NotFound:
        return req.answer(404, {"error": f"no form named {name!r}"})
    except DealcliError as exc:
        _log(environ, exc.message)
        return req.answer(500, {"error": "the form cannot be used now (its definition is broken)"})
    origin = _origin(req, web)
    if origin is False:
        return req.answer(403, {"error": "this origin may not post to this form"})
    if method == "OPTIONS":  # a CORS preflight
        if not origin:
            return req.answer(204, {}, [("Allow", "POST, OPTIONS")])
        return req.answer(204, {}, [("Access-Control-Allow-Methods", "POST, OPTIONS"),
                                    ("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key"),
                                    ("Access-Control-Max-Age", "600")])
    client = _client(environ, web)
    from dealcli.storage import ratelimit

    wait = ratelimit.hit(s.repo.cache_dir, f"form:{name}:{client}", int(limits["requests"]), int(limits["seconds"]))
    if wait:
        return req.answer(429, {"error": f"too many submissions; try again in {wait} s"},
                          [("Retry-After", str(wait))])
    max_bytes = int(limits["max_bytes"])
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > max_bytes:
        return req.answer(413, {"error": f"the submission is larger than {max_bytes} bytes"})
    stream = environ["wsgi.input"]
    body = stream.read(length) if length >= 0 else stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        return req.answer(413, {"error": f"the submission is larger than {max_bytes} bytes"})
    s.repo.lock_wait = float(web.get("lock_wait", LOCK_WAIT))  # never hold the post for long: queue it
    outcome = forms.submit(s, name, body, environ.get("CONTENT_TYPE") or None,
                           environ.get("HTTP_IDEMPOTENCY_KEY") or None, source=f"form {name} from {client}")
    thanks_url = str(form.get("thanks") or f"{environ.get('SCRIPT_NAME') or ''}/forms/{name}/thanks")
    if outcome.status in ("created", "duplicate"):
        if req.browser:
            return _see(req, thanks_url)
        code = 201 if outcome.status == "created" else 200
        return req.answer(code, {"status": outcome.status, "deal": outcome.deal})
    _log(environ, f"{outcome.source}: {outcome.reason}; kept as {outcome.kept}")
    if outcome.status == "spam":
        return _see(req, thanks_url) if req.browser else req.answer(201, {"status": "created"})
    reference = (outcome.kept or "").rsplit("/", 1)[-1]
    if outcome.exit_code in CLIENT_ERRORS:  # the sender's fault: set aside, not retried by itself
        inbox.set_aside(s, reference, inbox.REFUSED)
        return req.answer(400, {"error": outcome.reason, "reference": reference})
    if req.browser:
        return _see(req, thanks_url)
    return req.answer(202, {"status": "queued", "reference": reference,
                            "message": "received; it will be processed shortly"})


def _see(req: Request, url: str):
    """303 See Other: a browser goes on to the thank-you page with a GET."""
    return req._start(303, "text/plain; charset=utf-8", b"", [("Location", url)])
