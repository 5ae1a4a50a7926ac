"""The web endpoint of website forms, a WSGI application for any WSGI server:

    DEALCLI_DIR=/srv/deals gunicorn --bind 127.0.0.1:8080 dealcli.intake.wsgi:app

POST /forms/<name> with a JSON object or application/x-www-form-urlencoded body. Answers (all
JSON, `{"status": ...}` or `{"error": ...}`):
  201 created (deal id) · 200 duplicate (the same submission, or Idempotency-Key, again)
  202 queued: kept in inbox/failed/ because of a server-side cause (repository locked, a
      broken file, a pipeline missing); `dealcli intake retry` stores it later
  400 the submission is malformed or misses a required field (kept in inbox/failed/)
  404 no such form · 405 not POST · 413 body over the size limit · 429 over the rate limit
A filled honeypot answers 201 without a deal (a bot learns nothing) and is kept in inbox/spam/.
Limits: forms/<name>.yaml `limits`, over intake.web of dealcli.yaml, over 64 KiB and 10 posts
per client address per 60 s. The rate is counted across all worker processes
(storage/ratelimit.py, a SQLite file in .dealcli/); the client address is REMOTE_ADDR, or the
last X-Forwarded-For entry when intake.web.trust_proxy is true (behind nginx)."""

from __future__ import annotations

import json
import os
import re

from dealcli.errors import DealcliError, NotFound

_PATH = re.compile(r"^/forms/([^/]+)/?$")
CLIENT_ERRORS = (65, 1, 2)  # causes in the submission itself: 400; anything else is ours: 202


def _answer(start_response, code: int, body: dict, headers: list | None = None):
    reasons = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 404: "Not Found",
               405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
               500: "Internal Server Error"}
    data = (json.dumps(body, ensure_ascii=False) + "\n").encode()
    start_response(f"{code} {reasons[code]}", [("Content-Type", "application/json; charset=utf-8"),
                                               ("Content-Length", str(len(data))),
                                               ("Cache-Control", "no-store"), *(headers or [])])
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


def app(environ, start_response):
    from dealcli.intake import forms, route
    from dealcli.session import Session

    match = _PATH.match(environ.get("PATH_INFO") or "")
    if not match:
        return _answer(start_response, 404, {"error": "not found: post a form to /forms/<name>"})
    name = match.group(1)
    if environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, 405, {"error": "only POST is accepted"}, [("Allow", "POST")])
    s = Session(dir=os.environ.get("DEALCLI_DIR") or None, quiet=True)
    try:
        s.repo  # noqa: B018 - no repository is our problem, not a missing form
    except DealcliError as exc:
        _log(environ, exc.message)
        return _answer(start_response, 500, {"error": "the service is not configured (no repository)"})
    try:
        form = forms.load(s, name)
        limits = forms.limits(s, form)
        web = route.section(s, "web")
    except NotFound:
        return _answer(start_response, 404, {"error": f"no form named {name!r}"})
    except DealcliError as exc:
        _log(environ, exc.message)
        return _answer(start_response, 500, {"error": "the form cannot be used now (its definition is broken)"})
    client = _client(environ, web)
    from dealcli.storage import ratelimit

    wait = ratelimit.hit(s.repo.cache_dir, f"form:{name}:{client}", int(limits["requests"]), int(limits["seconds"]))
    if wait:
        return _answer(start_response, 429, {"error": f"too many submissions; try again in {wait} s"},
                       [("Retry-After", str(wait))])
    max_bytes = int(limits["max_bytes"])
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > max_bytes:
        return _answer(start_response, 413, {"error": f"the submission is larger than {max_bytes} bytes"})
    stream = environ["wsgi.input"]
    body = stream.read(length) if length >= 0 else stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        return _answer(start_response, 413, {"error": f"the submission is larger than {max_bytes} bytes"})
    outcome = forms.submit(s, name, body, environ.get("CONTENT_TYPE") or None,
                           environ.get("HTTP_IDEMPOTENCY_KEY") or None, source=f"form {name} from {client}")
    if outcome.status in ("created", "duplicate"):
        code = 201 if outcome.status == "created" else 200
        return _answer(start_response, code, {"status": outcome.status, "deal": outcome.deal})
    if outcome.status == "spam":
        _log(environ, f"{outcome.source}: {outcome.reason}; kept as {outcome.kept}")
        return _answer(start_response, 201, {"status": "created"})
    _log(environ, f"{outcome.source}: {outcome.reason}; kept as {outcome.kept}")
    reference = (outcome.kept or "").rsplit("/", 1)[-1]
    if outcome.exit_code in CLIENT_ERRORS:
        return _answer(start_response, 400, {"error": outcome.reason, "reference": reference})
    return _answer(start_response, 202, {"status": "queued", "reference": reference,
                                         "message": "received; it will be processed shortly"})
