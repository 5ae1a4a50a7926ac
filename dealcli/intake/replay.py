"""`intake retry`: process the items kept in inbox/failed/ again, through their channel."""

from __future__ import annotations

import contextlib
import json

from dealcli import timeutil
from dealcli.errors import CorruptData, DealcliError
from dealcli.intake import inbox
from dealcli.intake.route import Outcome
from dealcli.session import Session
from dealcli.storage import atomic, yamlcodec
from dealcli.i18n import _


def _process(s: Session, kind: str, payload: bytes, options: dict) -> Outcome:
    if kind == "email":
        from dealcli.intake import mail

        return mail.process(s, payload, options.get("mailbox"), options.get("source") or "message")
    if kind == "form":
        from dealcli.intake import forms

        return forms.process(s, options["form"], payload, options.get("content_type"), options.get("key"),
                             options.get("source") or "form")
    if kind == "call":
        from dealcli.intake import calls

        return calls.process(s, json.loads(payload), options.get("source") or "call")
    from dealcli.intake import chat

    return chat.process(s, payload, options.get("source") or "chat")


def retry(s: Session, wanted: list[str] | None = None) -> list[Outcome]:
    """Process kept items again: all of inbox/failed/, or those whose id starts with one of
    `wanted` (also from inbox/refused/ and inbox/expired/). A success removes the item; a
    failure updates its reason and attempts. Without ids, an item kept longer than
    intake.retention_days is moved to inbox/expired/ instead: no longer retried."""
    import datetime as dt

    from dealcli.intake.route import act_as_intake_user

    act_as_intake_user(s)
    places = [inbox.FAILED, inbox.REFUSED, inbox.EXPIRED] if wanted else [inbox.FAILED]
    oldest = s.now - dt.timedelta(days=inbox.retention_days(s))
    out = []
    for where in places:
        folder = inbox._folder(s, where)
        for meta in inbox.items(s, where):
            key = str(meta["id"])
            if wanted and not any(key.startswith(w) for w in wanted):
                continue
            source = f"{where}/{key}"
            try:
                received = timeutil.to_datetime(meta.get("received"))
            except timeutil.DateError:  # a hand-edited time: kept, retried
                received = None
            if not wanted and received is not None and received < oldest:
                moved = inbox.set_aside(s, key, inbox.EXPIRED)
                out.append(Outcome("ignored", source=source, reason=f"kept since {timeutil.iso(received)}, longer "
                                   f"than intake.retention_days: moved to {moved}, no longer retried"))
                continue
            out.append(_again(s, folder, meta, source))
    return out


def _again(s: Session, folder, meta: dict, source: str) -> Outcome:
    key = str(meta["id"])
    payload = atomic.read_bytes(folder / str(meta["payload"]))
    if payload is None:
        raise CorruptData(s.repo.rel(folder / f"{key}.yaml"), _("its payload {meta_payload} is missing").format(
            meta_payload=meta['payload']))
    options = dict(meta.get("options") or {})
    cause = None
    try:
        outcome = inbox.attempt(s, lambda: _process(s, meta["kind"], payload, options))
    except DealcliError as exc:
        code, reason, cause = exc.exit_code, "; ".join(exc.lines()), inbox.about(exc)
    except Exception as exc:
        code, reason = 70, f"internal error: {type(exc).__name__}: {exc}"
    else:
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{key}.yaml").unlink()  # the description first: no half item is left visible
        with contextlib.suppress(FileNotFoundError):
            (folder / str(meta["payload"])).unlink()
        atomic.fsync_dir(folder)
        outcome.source = source
        return outcome
    meta.update(reason=reason, exit_code=code, failed_at=timeutil.iso(s.now),
                attempts=int(meta.get("attempts") or 0) + 1)
    atomic.write_atomic(folder / f"{key}.yaml", yamlcodec.dumps(meta).encode())
    return Outcome("kept", source=source, reason=reason, kept=source, exit_code=code, about=cause)
