"""Call records: Asterisk CDR (Master.csv of cdr_csv: no header, columns accountcode, src, dst,
dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
disposition, amaflags, uniqueid, userfield[, ...]) or any CSV with a header row, its columns
named by --map COL=FIELD (or by their own names: id, from, to, start, duration, talk, result,
direction, name; Asterisk's own column names are understood too).

Each call becomes a finished call activity on the client's open deal (else a new deal):
direction (in|out), duration (talk seconds), total_duration (with ringing), result
(answered|missed|busy|failed), phone, call_id. A number of at most intake.calls.extension_digits
digits (default 4) is an extension of ours: that decides the direction when no column says it;
a call between two extensions is ignored. A call from a number nobody has follows
intake.calls.unknown (missed: lead, answered: deal, outgoing: ignore by default). The activity
(or lead) id derives from the call's unique id, so a file read twice creates nothing twice."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from dealcli import clients, ids, leads, timeutil
from dealcli.errors import MalformedInput, NotFound, UsageError
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.session import Session

CDR_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
               "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield")
FIELDS = ("id", "from", "to", "start", "duration", "talk", "result", "direction", "name")
SYNONYMS = {"uniqueid": "id", "call_id": "id", "callid": "id", "src": "from", "caller": "from", "dst": "to",
            "callee": "to", "calldate": "start", "date": "start", "time": "start", "billsec": "talk",
            "disposition": "result", "status": "result", "clid": "name", "caller_name": "name"}
RESULTS = {"answered": "answered", "answer": "answered", "ok": "answered", "no answer": "missed",
           "noanswer": "missed", "no_answer": "missed", "missed": "missed", "busy": "busy", "failed": "failed",
           "congestion": "failed", "cancel": "missed", "cancelled": "missed"}
DEFAULTS = {"pipeline": None, "stage": None, "responsible": None, "extension_digits": 4,
            "unknown": {"missed": "lead", "answered": "deal", "outgoing": "ignore"}}
ACTIONS = ("lead", "deal", "ignore")


# -- reading files -------------------------------------------------------------------------------
def parse_maps(maps: list[str]) -> dict[str, str]:
    out = {}
    for text in maps:
        column, sep, name = text.partition("=")
        name = name.strip().lower()
        if not sep or not column.strip() or name not in FIELDS:
            raise UsageError.about("map", "{0} {text!r}: expected COLUMN=FIELD with FIELD one of {known}",
                                   text=text, known=", ".join(FIELDS))
        out[column.strip()] = name
    return out


def _field_of(column: str, maps: dict) -> str | None:
    if column in maps:
        return maps[column]
    key = column.strip().lower()
    return key if key in FIELDS else SYNONYMS.get(key)


def from_cdr(cells: list[str]) -> dict:
    """A call from one line of Asterisk's Master.csv."""
    if len(cells) < 17:
        raise MalformedInput.about("map", "{n} columns: an Asterisk CDR line has at least 17 (or give the file a "
                                   "header row and {0})", n=len(cells))
    cdr = dict(zip(CDR_COLUMNS, (c.strip() for c in cells)))
    return {"id": cdr["uniqueid"], "from": cdr["src"], "to": cdr["dst"], "start": cdr["start"],
            "duration": cdr["duration"], "talk": cdr["billsec"], "result": cdr["disposition"], "name": cdr["clid"]}


def rows(text: str, maps: dict, label: str):
    """(source label, call) per record: a call dict, or {"cdr": cells} for a Master.csv line
    (read by process(), so a bad line is kept whole in inbox/failed/)."""
    records = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not records:
        return
    header = records[0]
    if maps or sum(1 for c in header if _field_of(c, {})) >= 2:
        columns = [_field_of(c, maps) for c in header]
        for n, record in enumerate(records[1:], 2):
            yield f"{label}:{n}", {f: record[i].strip() for i, f in enumerate(columns) if f and i < len(record)}
        return
    for n, record in enumerate(records, 1):
        yield f"{label}:{n}", {"cdr": record}


def _seconds(text, what: str) -> int:
    value = str(text or "").strip()
    if not value:
        return 0
    if re.fullmatch(r"\d+", value):
        return int(value)
    m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})", value)
    if m:
        return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    raise MalformedInput(f"{what} {value!r}: not a number of seconds (or H:MM:SS)")


def _caller_name(text: str) -> str:
    """The name part of an Asterisk clid: '"Ivan Petrov" <+7916...>' -> Ivan Petrov."""
    name = re.sub(r"<[^>]*>", "", text or "").strip().strip('"').strip()
    return "" if re.fullmatch(r"[\d\s+()-]*", name) else name


def _extension(number: str, digits: int) -> bool:
    d = route.phone_digits(number)
    return bool(d) and len(d) <= digits and not number.strip().startswith("+")


def _duration_text(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


# -- one call ---------------------------------------------------------------------------------------
def process(s: Session, call: dict, source: str) -> Outcome:
    """One call record (see the module doc). Raises on anything that keeps it from being stored."""
    route.act_as_intake_user(s)
    rule = route.section(s, "calls", DEFAULTS)
    unknown = {**DEFAULTS["unknown"], **(rule.get("unknown") or {})}
    if "cdr" in call:
        call = from_cdr(list(call["cdr"]))
    call_id = str(call.get("id") or "").strip()
    if not call_id:
        raise MalformedInput.about("map", "no unique id (Asterisk uniqueid, or {0} COLUMN=id)")
    try:
        start, _ = timeutil.parse_datetime(str(call.get("start") or ""), s.now)
    except timeutil.DateError:
        raise MalformedInput(f"start {call.get('start')!r}: not a date and time") from None
    start = start.astimezone(s.tz)
    talk, total = _seconds(call.get("talk"), "talk"), _seconds(call.get("duration"), "duration")
    result_text = str(call.get("result") or "").strip().lower()
    result = RESULTS.get(result_text) or ("answered" if talk else "missed" if not result_text else None)
    if result is None:
        raise MalformedInput(f"result {call.get('result')!r}: expected ANSWERED, NO ANSWER, BUSY or FAILED")
    src, dst = str(call.get("from") or "").strip(), str(call.get("to") or "").strip()
    direction = str(call.get("direction") or "").strip().lower()
    direction = {"in": "in", "inbound": "in", "incoming": "in", "out": "out", "outbound": "out",
                 "outgoing": "out"}.get(direction, "")
    digits = int(rule.get("extension_digits") or 0)
    if not direction:
        ours_from, ours_to = _extension(src, digits), _extension(dst, digits)
        if ours_from and ours_to:
            return Outcome("ignored", source=source, reason=f"call {call_id}: between extensions {src} and {dst}")
        direction = "out" if ours_from else "in"
    number, extension = (dst, src) if direction == "out" else (src, dst)
    missed = direction == "in" and result != "answered"
    activity_id, lead_id = ids.derived_id("call", call_id), ids.derived_id("call-lead", call_id)
    name = _caller_name(str(call.get("name") or ""))
    with s.repo.transaction():  # the write gate: every record of this item, or none
        dup = route.existing(s, "activities", activity_id, source) or route.existing(s, "leads", lead_id, source)
        if dup:
            return dup
        contact, company = route.find_by_phone(s, number)
        created = False
        if contact is None and company is None:
            case = "outgoing" if direction == "out" else "missed" if missed else "answered"
            action = unknown.get(case)
            if action not in ACTIONS:
                raise NotFound(f"intake.calls.unknown.{case} of dealcli.yaml is {action!r}: expected "
                               f"{', '.join(ACTIONS)}")
            if action == "ignore":
                return Outcome("ignored", source=source, reason=f"call {call_id}: {number or 'no number'} is "
                               f"nobody's number (intake.calls.unknown.{case}: ignore)")
            phone = _phone(number)
            if action == "lead":
                lead = leads.add(s, f"Missed call from {name or number or 'a hidden number'}", contact_name=name or None,
                                 phone=phone, source="call", responsible=rule.get("responsible"), lead_id=lead_id)
                return Outcome("created", lead["id"], source=source, reason="lead")
            contact = route.ensure_client(s, "contact", f"phone:{route.phone_digits(number) or call_id}",
                                          name or number or "Unknown caller", phones=[phone] if phone else [],
                                          responsible=rule.get("responsible"))
            created = True
        words = {"in": "Missed call from" if missed else "Call from", "out": "Call to"}[direction]
        subject = f"{words} {number or 'a hidden number'} ({result}, {_duration_text(talk)})"
        deal, new_deal = route.deal_for(s, rule, title=f"{words} {name or number}", source="call",
                                        deal_id=ids.derived_id("call-deal", call_id), contact=contact, company=company)
        details = dict(channel="phone", direction=direction, phone=number or None, extension=extension or None,
                       duration=talk, total_duration=total, result=result, call_id=call_id,
                       caller_name=name or None)
        route.record(s, deal, "call", subject, start, activity_id, details, rule.get("responsible"))
    return Outcome("created" if created or new_deal else "attached", activity_id, deal, contact, company, source)


def _phone(number: str) -> str | None:
    try:
        return clients.check_phone(number, "phone")
    except UsageError:
        return None


def run(s: Session, file: str, maps: list[str], encoding: str = "utf-8", stdin=None) -> list[Outcome]:
    """Every call in the file; each record that fails is kept alone in inbox/failed/."""
    mapping = parse_maps(maps)
    try:
        raw = stdin.read() if stdin is not None else Path(file).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{file}: no such file") from None
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise UsageError.about("encoding", "{0} {encoding!r}: unknown encoding", encoding=encoding) from None
    except UnicodeDecodeError as exc:
        raise MalformedInput.about("encoding", "{file}: not {encoding} text (byte {byte}); give {0}", file=file,
                                   encoding=encoding, byte=exc.start) from None
    out = []
    label = "stdin" if stdin is not None else file
    for source, call in rows(text.lstrip("\ufeff"), mapping, label):
        payload = json.dumps(call, ensure_ascii=False).encode()
        out.append(inbox.guard(s, "call", payload, {"source": source}, source,
                               lambda call=call, source=source: process(s, call, source)))
    return out
