"""Nothing is lost: an incoming item that cannot be processed (malformed, refused by a rule,
the repository locked, a broken file, even a bug) is kept in inbox/failed/ with the reason,
and `dealcli intake retry` processes it again.

On disk, per item (written atomically, payload first, then the description that makes it
visible, so a crash in between leaves no half item):
  inbox/failed/<id>.<ext>   the bytes exactly as received (.eml, .json, .form, .call.json)
  inbox/failed/<id>.yaml    id, kind, options, payload, reason, exit_code, failed_at, attempts
The id is derived from kind, options and payload, so the same broken message delivered twice
(a Maildir scanned by cron) is kept once. Spam (a form's honeypot filled) goes to inbox/spam/
in the same shape and is never retried."""

from __future__ import annotations

import hashlib
import json

from dealcli import ids, timeutil
from dealcli.errors import CorruptData, DealcliError, TempFail, Words
from dealcli.intake.route import Outcome
from dealcli.session import Session
from dealcli.storage import atomic, yamlcodec
from dealcli.i18n import _

FAILED = "inbox/failed"
SPAM = "inbox/spam"
REFUSED = "inbox/refused"  # a web submission refused for its own content (400): never retried by itself
EXPIRED = "inbox/expired"  # kept longer than intake.retention_days: no longer retried
RETENTION_DAYS = 14
EXT = {"email": ".eml", "form": ".form", "call": ".call.json", "chat": ".json"}


class Kept(DealcliError):
    """Items could not be processed and were kept; exit code of the first one's cause."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    @classmethod
    def of(cls, o: Outcome, where: str) -> Kept:
        """The error line of one kept item; about the fields its cause was about (if any)."""
        err = cls(f"{o.source}: {o.reason}; {where}", o.exit_code)
        if o.about is not None:
            w = Words(*o.about).prefixed(f"{o.source}: ", f"; {where}")
            err.fields, err.template, err.values = w.fields, w.template, w.values
        return err


def about(exc: DealcliError) -> tuple | None:
    """(fields, template, values) of an error about fields (DealcliError.about), else None."""
    return (exc.fields, exc.template, exc.values) if exc.template is not None else None


def _folder(s: Session, where: str):
    return s.repo.root / where


def item_id(kind: str, options: dict, payload: bytes) -> str:
    """The kept item's id: its content and how it is to be processed (mailbox, form), not where
    it came from (`source`): a message kept from a file and again from stdin is kept once."""
    how = {k: v for k, v in options.items() if k != "source"}
    return ids.derived_id("inbox", kind, json.dumps(how, sort_keys=True, default=str),
                          hashlib.sha256(payload).hexdigest())


def attempt(s: Session, process):
    """process(); when it fails, the notices it left are taken back with its records (a
    "created contact" of a rolled-back transaction was never created)."""
    before = len(s.notices)
    try:
        return process()
    except BaseException:
        del s.notices[before:]
        raise


def keep(s: Session, kind: str, payload: bytes, options: dict, reason: str, exit_code: int,
         where: str = FAILED) -> str:
    """Keep an item with the reason; returns its path relative to the repository. Needs no
    repository lock (it must work while the lock is held elsewhere)."""
    folder = _folder(s, where)
    key = item_id(kind, options, payload)
    meta_path = folder / f"{key}.yaml"
    before = atomic.read_bytes(meta_path)
    meta = yamlcodec.loads(before, str(meta_path)) if before else None
    if not isinstance(meta, dict):
        meta = {"id": key, "kind": kind, "options": options, "payload": f"{key}{EXT[kind]}",
                "received": timeutil.iso(s.now), "attempts": 0}
        atomic.write_atomic(folder / meta["payload"], payload)
    meta.update(reason=reason, exit_code=exit_code, failed_at=timeutil.iso(s.now),
                attempts=int(meta.get("attempts") or 0) + 1)
    atomic.write_atomic(meta_path, yamlcodec.dumps(meta).encode())
    return f"{where}/{key}"


def guard(s: Session, kind: str, payload: bytes, options: dict, source: str, process) -> Outcome:
    """Run `process()`; on any failure keep the item and return a `kept` Outcome."""
    cause = None
    try:
        return attempt(s, process)
    except DealcliError as exc:
        code, reason, cause = exc.exit_code, "; ".join(exc.lines()), about(exc)
    except Exception as exc:  # a bug must not lose the message either
        code, reason = 70, f"internal error: {type(exc).__name__}: {exc}"
    try:
        kept = keep(s, kind, payload, options, reason, code)
    except (OSError, DealcliError) as exc:
        why = exc.message if isinstance(exc, DealcliError) else f"{exc.filename or ''} {exc.strerror or exc}".strip()
        also = "" if why == reason else f"; and it could not be kept in {FAILED}/ ({why})"
        raise TempFail(_("{source}: {reason}{also}: nothing was stored, deliver it again").format(
            source=source, reason=reason, also=also)) from None
    return Outcome("kept", source=source, reason=reason, kept=kept, exit_code=code, about=cause)


def set_aside(s: Session, key: str, where: str) -> str:
    """Move a kept item from inbox/failed/ to `where` (refused, expired): still kept, never
    retried by `intake retry` without its id. The description first, so no half item is left
    visible in inbox/failed/."""
    import contextlib
    import os

    source, target = _folder(s, FAILED), _folder(s, where)
    raw = atomic.read_bytes(source / f"{key}.yaml")
    meta = yamlcodec.loads(raw, f"{FAILED}/{key}.yaml") if raw else None
    if not isinstance(meta, dict):
        return f"{FAILED}/{key}"
    target.mkdir(parents=True, exist_ok=True)
    payload = str(meta.get("payload") or "")
    with contextlib.suppress(FileNotFoundError):
        if payload:
            os.replace(source / payload, target / payload)
    os.replace(source / f"{key}.yaml", target / f"{key}.yaml")
    atomic.fsync_dir(target)
    atomic.fsync_dir(source)
    return f"{where}/{key}"


def retention_days(s: Session) -> int:
    from dealcli.intake import route

    value = route.settings(s).get("retention_days", RETENTION_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CorruptData("dealcli.yaml", _("intake.retention_days: {value!r} is not a number of "
                                            "days (1 or more)").format(
            value=value))
    return value


def items(s: Session, where: str = FAILED) -> list[dict]:
    """Every kept item's description, oldest first."""
    folder = _folder(s, where)
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        if path.name.startswith("."):
            continue
        raw = atomic.read_bytes(path)
        if raw is None:
            continue
        data = yamlcodec.loads(raw, s.repo.rel(path))
        if not isinstance(data, dict) or data.get("kind") not in EXT:
            raise CorruptData(s.repo.rel(path), _("not an inbox item (expected kind, payload, options)"))
        out.append(data)
    return sorted(out, key=lambda d: (str(d.get("received") or ""), str(d.get("id"))))


def report(s: Session, outcomes: list[Outcome]) -> None:
    """After the output: a notice per kept item, then an error (its cause's exit code) when
    anything was kept (spam included). One item alone gives one line."""
    kept = [o for o in outcomes if o.status in ("kept", "spam")]
    for o in outcomes:
        if o.status == "ignored":
            s.notice(_("{o_source}: ignored: {o_reason}").format(o_source=o.source, o_reason=o.reason))
    if not kept:
        return
    hint = "`dealcli intake retry` processes it again"

    def where(o: Outcome) -> str:
        if o.status == "spam":
            return f"kept as {o.kept} (spam is not retried)"
        return f"kept as {o.kept} ({hint})" if o.kept != o.source else f"still kept ({hint})"

    if len(outcomes) == 1:
        raise Kept.of(kept[0], where(kept[0]))
    for o in kept:
        s.notice(Words(*o.about).prefixed(f"{o.source}: ", f"; {where(o)}") if o.about else
                 f"{o.source}: {o.reason}; {where(o)}")
    raise Kept(_("{len_kept} of {len_outcomes} items could not be processed; kept in inbox/ "
               "(`dealcli intake failed` lists them)").format(
                   len_kept=len(kept), len_outcomes=len(outcomes)), kept[0].exit_code)
