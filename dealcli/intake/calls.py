"""Call records: Asterisk CDR (Master.csv of cdr_csv: no header, columns accountcode, src, dst,
dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
disposition, amaflags, uniqueid, userfield[, peeraccount, linkedid, sequence]) or any CSV with a
header row, its columns named by --map COL=FIELD (or by their own names: id, linked, from, to,
start, duration, talk, result, direction, name; Asterisk's own column names are understood too).

Asterisk writes one row per leg: the rows of one call share the linkedid (newcdrcolumns) or,
without it, the uniqueid. They are one call (group_legs): answered if any leg was answered, the
talk time summed, the time of its first leg, the extension that answered.

Each call becomes a finished call activity on the client's open deal (else a new deal):
direction (in|out), duration (talk seconds), total_duration (with ringing), result
(answered|missed|busy|failed), phone, call_id. A number of at most intake.calls.extension_digits
digits (default 4) is an extension of ours: that decides the direction when no column says it;
a call between two extensions is ignored. A call from a number nobody has follows
intake.calls.unknown (missed: lead, answered: deal, outgoing: ignore by default). The activity
id derives from the call's id; a missed call from an unknown number opens one lead per number and
day (intake.calls.lead_period), the calls listed on it (call_id, at, result), so a file read
twice creates nothing twice."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from dealcli import clients, ids, leads, timeutil
from dealcli.errors import MalformedInput, NotFound, UsageError
from dealcli.intake import inbox, route
from dealcli.intake.route import Outcome
from dealcli.session import Session
from dealcli import i18n

CDR_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
               "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield",
               "peeraccount", "linkedid", "sequence")
FIELDS = ("id", "linked", "from", "to", "start", "duration", "talk", "result", "direction", "name")
SYNONYMS = {"uniqueid": "id", "call_id": "id", "callid": "id", "linkedid": "linked", "linked_id": "linked",
            "src": "from", "caller": "from", "dst": "to",
            "callee": "to", "calldate": "start", "date": "start", "time": "start", "billsec": "talk",
            "disposition": "result", "status": "result", "clid": "name", "caller_name": "name"}
RESULTS = {"answered": "answered", "answer": "answered", "ok": "answered", "no answer": "missed",
           "noanswer": "missed", "no_answer": "missed", "missed": "missed", "busy": "busy", "failed": "failed",
           "congestion": "failed", "cancel": "missed", "cancelled": "missed"}
DEFAULTS: dict[str, Any] = {
            "pipeline": None, "stage": None, "responsible": None, "extension_digits": 4, "lead_period": "day",
            "unknown": {"missed": "lead", "answered": "deal", "outgoing": "ignore"}}
PERIODS = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}  # one lead per missed caller and period
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
    cdr = dict(zip(CDR_COLUMNS, (c.strip() for c in cells), strict=False))
    return {"id": cdr["uniqueid"], "linked": cdr.get("linkedid") or "", "from": cdr["src"], "to": cdr["dst"],
            "start": cdr["start"], "duration": cdr["duration"], "talk": cdr["billsec"],
            "result": cdr["disposition"], "name": cdr["clid"]}


def rows(text: str, maps: dict, label: str):
    """(line number, leg) per record: a leg dict, or {"cdr": cells} for a Master.csv line (read
    by process(), so a bad line is kept whole in inbox/failed/). A record with bytes that are
    not text in the file's encoding (read with surrogateescape) carries `unreadable`."""
    records = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not records:
        return
    header = records[0]
    if maps or sum(1 for c in header if _field_of(c, {})) >= 2:
        columns = [_field_of(c, maps) for c in header]
        for n, record in enumerate(records[1:], 2):
            yield n, _readable({f: record[i].strip() for i, f in enumerate(columns) if f and i < len(record)})
        return
    for n, record in enumerate(records, 1):
        yield n, _readable({"cdr": record})


def _readable(leg: dict) -> dict:
    """The leg with undecodable bytes (surrogates) shown as U+FFFD and named in `unreadable`:
    such a leg is kept in inbox/failed/ until someone fixes the text (or reads the file with
    the right encoding)."""
    cells = leg.get("cdr", list(leg.values()))
    bad = next((c for c in cells if any("\udc80" <= ch <= "\udcff" for ch in c)), None)
    if bad is None:
        return leg

    clean = route.readable_text
    byte = next(ord(ch) - 0xDC00 for ch in bad if "\udc80" <= ch <= "\udcff")
    fixed: dict[str, Any] = ({"cdr": [clean(c) for c in cells]} if "cdr" in leg
                             else {k: clean(v) for k, v in leg.items()})
    fixed["unreadable"] = (f"byte 0x{byte:02X} in {clean(bad)!r} is not text in the file's encoding; correct "
                           "the text here and delete this key, or read the file with its encoding")
    return fixed


def group_legs(legs):
    """The legs of one call together: [(line numbers, [leg, ...])] in the order of each call's
    first line. A call is its linkedid, else its uniqueid (a line too short to say is alone)."""
    calls: dict = {}
    for n, leg in legs:
        try:
            call = from_cdr(list(leg["cdr"])) if "cdr" in leg else leg
        except MalformedInput:
            call = {}
        key = str(call.get("linked") or call.get("id") or "").strip() or f"line:{n}"
        lines, members = calls.setdefault(key, ([], []))
        lines.append(n)
        members.append(leg)
    return list(calls.values())


def merged(legs: list[dict], now) -> dict:
    """One call from its legs (dicts of FIELDS): the first leg's numbers, name and start, the
    call's id (linkedid, else the first uniqueid); answered if any leg was answered, its talk
    time the sum of the legs', its total time from the first start to the last end; the
    extension is the one that answered."""
    first = legs[0]
    answered = [leg for leg in legs if _result(leg) == "answered"]
    call = {**first, "id": str(first.get("linked") or first.get("id") or "").strip()}
    call["name"] = next((leg["name"] for leg in legs if _caller_name(str(leg.get("name") or ""))), first.get("name"))
    if len(legs) == 1:
        return call
    call["talk"] = str(sum(_seconds(leg.get("talk"), "talk") for leg in answered))
    call["result"] = "answered" if answered else _result(first) or first.get("result")
    if answered and not str(first.get("direction") or "").strip():
        call["to"] = answered[0].get("to") or call.get("to")
    starts = []
    for leg in legs:
        try:
            start = timeutil.parse_datetime(str(leg.get("start") or ""), now)[0].timestamp()
        except timeutil.DateError:
            continue
        starts.append((start, start + _seconds(leg.get("duration"), "duration"), leg.get("start")))
    if starts:
        begin = min(starts)
        call["start"] = begin[2]
        call["duration"] = str(round(max(end for _, end, _ in starts) - begin[0]))
    return call


def _result(leg: dict) -> str | None:
    text = str(leg.get("result") or "").strip().lower()
    return RESULTS.get(text) or ("answered" if not text and _seconds(leg.get("talk"), "talk") else None)


def _seconds(text, what: str) -> int:
    value = str(text or "").strip()
    if not value:
        return 0
    if re.fullmatch(r"\d+", value):
        return int(value)
    m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})", value)
    if m:
        return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    raise MalformedInput(i18n._("{what} {value!r}: not a number of seconds (or H:MM:SS)").format(
        what=what, value=value))


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
    legs = call["legs"] if isinstance(call.get("legs"), list) else [call]
    for leg in legs:
        if leg.get("unreadable"):
            raise MalformedInput(str(leg["unreadable"]))
    call = merged([from_cdr(list(leg["cdr"])) if "cdr" in leg else leg for leg in legs], s.now)
    call_id = str(call.get("id") or "").strip()
    if not call_id:
        raise MalformedInput.about("map", "no unique id (Asterisk uniqueid, or {0} COLUMN=id)")
    try:
        start, _ = timeutil.parse_datetime(str(call.get("start") or ""), s.now)
    except timeutil.DateError:
        raise MalformedInput(i18n._("start {call_get_start!r}: not a date and time").format(
            call_get_start=call.get('start'))) from None
    start = start.astimezone(s.tz)
    talk, total = _seconds(call.get("talk"), "talk"), _seconds(call.get("duration"), "duration")
    result_text = str(call.get("result") or "").strip().lower()
    result = RESULTS.get(result_text) or ("answered" if talk else "missed" if not result_text else None)
    if result is None:
        raise MalformedInput(i18n._("result {call_get_result!r}: expected ANSWERED, NO ANSWER, BUSY or FAILED").format(
            call_get_result=call.get('result')))
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
                raise NotFound(i18n._("intake.calls.unknown.{case} of dealcli.yaml is {action!r}: expected "
                               "{join_actions}").format(case=case, action=action, join_actions=', '.join(ACTIONS)))
            if action == "ignore":
                return Outcome("ignored", source=source, reason=f"call {call_id}: {number or 'no number'} is "
                               f"nobody's number (intake.calls.unknown.{case}: ignore)")
            phone = _phone(number)
            if action == "lead":
                return _missed_lead(s, rule, number, name, call_id, start, result, source)
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


def _missed_lead(s: Session, rule: dict, number: str, name: str, call_id: str, start, result: str,
                 source: str) -> Outcome:
    """One lead per missed caller (an unknown number) and period (intake.calls.lead_period: day,
    week or month, in the repository's time zone): the first missed call opens it, the next
    ones are added to its `calls` (call_id, at, result). A hidden number: a lead per call."""
    period = PERIODS.get(str(rule.get("lead_period") or "day"))
    if period is None:
        raise NotFound(i18n._("intake.calls.lead_period of dealcli.yaml is {rule_get_lead_period!r}: expected "
                       "{join_periods}").format(
                           rule_get_lead_period=rule.get('lead_period'), join_periods=', '.join(PERIODS)))
    entry = {"call_id": call_id, "at": timeutil.iso(start), "result": result}
    key = route.phone_key(s, number) or f"call:{call_id}"
    lead_id = ids.derived_id("call-lead", key, start.strftime(period))
    if s.repo.exists("leads", lead_id):
        doc = s.repo.load("leads", lead_id)
        calls = [c for c in doc.data.get("calls") or [] if isinstance(c, dict)]
        if any(str(c.get("call_id")) == entry["call_id"] for c in calls):
            return Outcome("duplicate", lead_id, source=source)
        s.repo.update(doc, {**doc.data, "calls": [*calls, entry]})
        return Outcome("attached", lead_id, source=source, reason="lead")
    lead = leads.add(s, f"Missed call from {name or number or 'a hidden number'}", contact_name=name or None,
                     phone=_phone(number), source="call", responsible=rule.get("responsible"), lead_id=lead_id,
                     extra={"calls": [entry]})
    return Outcome("created", lead["id"], source=source, reason="lead")


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
        raise NotFound(i18n._("{file}: no such file").format(file=file)) from None
    try:
        text = raw.decode(encoding, "surrogateescape")  # a bad byte spoils its line only (rows)
    except LookupError:
        raise UsageError.about("encoding", "{0} {encoding!r}: unknown encoding", encoding=encoding) from None
    except UnicodeDecodeError as exc:  # an encoding surrogateescape cannot serve (utf-16 cut short)
        raise MalformedInput.about("encoding", "{file}: not {encoding} text (byte {byte}); give {0}", file=file,
                                   encoding=encoding, byte=exc.start) from None
    out = []
    label = "stdin" if stdin is not None else file
    for lines, legs in group_legs(rows(text.lstrip("\ufeff"), mapping, label)):
        source = f"{label}:{','.join(map(str, lines))}"
        call = legs[0] if len(legs) == 1 else {"legs": legs}
        payload = json.dumps(call, ensure_ascii=False).encode()
        out.append(inbox.guard(s, "call", payload, {"source": source}, source,
                               lambda call=call, source=source: process(s, call, source)))
    return out
