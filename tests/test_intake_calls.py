"""`dealcli intake calls`: Asterisk Master.csv and a mapped CSV become call activities; unknown
numbers follow the rule; a file read twice creates nothing twice; a bad line is kept alone."""

from __future__ import annotations

import json

import pytest
from intake_helpers import FIXTURES, configure, error_lines, failed, records

CDR = FIXTURES / "Master.csv"


@pytest.fixture
def callrepo(repo, cli):
    # 8 916 ... is a Russian number written the national way: the repository says so
    configure(repo, {"phone_region": "RU"}, user="pbx@ourshop.example", calls={"stage": "preparation"})
    ivan = cli.ok("contact", "add", "Ivan Petrov", "--phone", "8 (916) 123-45-67").strip()
    return repo, ivan


def by_call(repo) -> dict:
    return {a["call_id"]: a for a in records(repo, "activities").values()}


def test_an_asterisk_cdr_file_becomes_call_activities_on_the_clients_deal(cli, callrepo):
    repo, ivan = callrepo
    proc = cli("intake", "calls", CDR, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["status"] for r in rows] == ["created", "created", "ignored", "attached", "created"]
    calls = by_call(repo)
    first = calls["1773050400.1"]
    assert (first["type"], first["direction"], first["duration"], first["total_duration"], first["result"]) == \
        ("call", "in", 125, 130, "answered")
    assert first["phone"] == "+79161234567" and first["extension"] == "100" and first["done"] is True
    assert first["subject"] == "Call from +79161234567 (answered, 2:05)"
    assert first["due"] == "2026-03-09T10:00:00+00:00" and first["created_by"] == "pbx@ourshop.example"
    deal = records(repo, "deals")[first["deal"]]
    assert deal["contacts"] == [ivan] and deal["stage"] == "preparation" and deal["source"] == "call"
    outgoing = calls["1773061200.4"]  # 8 916 ... is Ivan's +7 916 ...: same client, same open deal
    assert (outgoing["direction"], outgoing["deal"], outgoing["duration"]) == ("out", first["deal"], 180)
    assert outgoing["subject"] == "Call to 89161234567 (answered, 3:00)"
    [lead] = records(repo, "leads").values()  # a missed call from an unknown number: a lead (default rule)
    assert lead["title"] == "Missed call from Hans Weber" and lead["phone"] == "+4930123456"
    assert lead["source"] == "call" and rows[1]["id"] == lead["id"]
    answered = calls["1773064800.5"]  # an answered call from an unknown number: a contact and a deal
    contact = records(repo, "contacts")[rows[4]["contact"]]
    assert contact["phones"] == ["+33612345678"] and answered["duration"] == 600
    assert rows[2]["reason"] == "call 1773057600.3: between extensions 100 and 101"
    assert "between extensions" in proc.stderr
    assert cli("check").returncode == 0


def test_reading_the_file_again_creates_nothing(cli, callrepo):
    repo, _ = callrepo
    cli.ok("intake", "calls", CDR)
    before = {k: records(repo, k) for k in ("activities", "deals", "leads", "contacts")}
    rows = json.loads(cli.ok("intake", "calls", CDR, "-f", "json"))
    assert [r["status"] for r in rows] == ["duplicate", "duplicate", "ignored", "duplicate", "duplicate"]
    assert {k: records(repo, k) for k in before} == before


def test_the_unknown_number_rule(cli, callrepo):
    repo, _ = callrepo
    configure(repo, {"phone_region": "RU"}, calls={"unknown": {"missed": "deal", "answered": "ignore"}})
    rows = json.loads(cli.ok("intake", "calls", CDR, "-f", "json"))
    assert [r["status"] for r in rows] == ["created", "created", "ignored", "attached", "ignored"]
    missed = by_call(repo)["1773054000.2"]
    assert (missed["result"], missed["direction"], missed["duration"]) == ("missed", "in", 0)
    assert missed["subject"] == "Missed call from +4930123456 (missed, 0:00)"
    assert records(repo, "leads") == {} and "1773064800.5" not in by_call(repo)


def test_a_generic_csv_with_a_map(cli, callrepo, tmp_path):
    repo, ivan = callrepo
    path = tmp_path / "calls.csv"
    path.write_text("Call ID,Caller,Called,When,Talk,Status,Way\n"
                    "c-1,+7 916 123 45 67,sales,2026-03-09T15:00:00+01:00,1:05,ok,inbound\n"
                    "c-2,+7 916 123 45 67,sales,2026-03-09T16:00:00+01:00,0,busy,inbound\n", encoding="utf-8")
    args = ["--map", "Call ID=id", "--map", "Caller=from", "--map", "Called=to", "--map", "When=start",
            "--map", "Talk=talk", "--map", "Status=result", "--map", "Way=direction"]
    ids = cli.ok("intake", "calls", path, *args).split()
    calls = records(repo, "activities")
    assert [calls[i]["call_id"] for i in ids] == ["c-1", "c-2"]
    assert (calls[ids[0]]["duration"], calls[ids[0]]["result"], calls[ids[0]]["due"]) == \
        (65, "answered", "2026-03-09T14:00:00+00:00")
    assert calls[ids[1]]["result"] == "busy"
    assert records(repo, "deals")[calls[ids[0]]["deal"]]["contacts"] == [ivan]
    bad = cli("intake", "calls", path, "--map", "Talk=length")
    assert bad.returncode == 2 and "--map 'Talk=length'" in error_lines(bad)[0]


def test_a_bad_line_is_kept_alone_and_retried_once_fixed(cli, callrepo, tmp_path):
    repo, _ = callrepo
    path = tmp_path / "Master.csv"
    lines = CDR.read_text().splitlines()
    path.write_text(lines[0].replace("2026-03-09 10:00:00", "yesterday-ish") + "\n" + lines[1] + "\n")
    proc = cli("intake", "calls", path)
    assert proc.returncode == 65 and proc.stdout.split() == [next(iter(records(repo, "leads")))]
    assert "1 of 2 items could not be processed" in error_lines(proc)[0]
    assert "start 'yesterday-ish': not a date and time" in proc.stderr
    [(key, item)] = failed(repo).items()
    payload = repo / "inbox" / "failed" / item["payload"]
    call = json.loads(payload.read_text())
    assert call["cdr"][9] == "yesterday-ish"
    call["cdr"][9] = "2026-03-09 10:00:00"  # someone fixes the kept line by hand
    payload.write_text(json.dumps(call))
    [activity] = cli.ok("intake", "retry", key[:4]).split()
    assert by_call(repo)["1773050400.1"]["id"] == activity and failed(repo) == {}


LEGS = FIXTURES / "Master-legs.csv"  # newcdrcolumns: peeraccount, linkedid, sequence after userfield


def test_the_legs_of_one_call_are_one_call(cli, callrepo):
    """Asterisk writes a row per leg: a ring-no-answer leg then an answered one, a transferred
    leg with its own uniqueid linked by linkedid, and a ring group's four missed legs."""
    repo, ivan = callrepo
    proc = cli("intake", "calls", LEGS, "-f", "json")
    assert proc.returncode == 65, proc.stderr  # the Latin-1 line is kept, the rest stored
    rows = json.loads(proc.stdout)
    assert [(r["status"], r["source"].rsplit(":", 1)[1]) for r in rows] == [
        ("created", "1,2,5"), ("created", "3,4,6,7"), ("attached", "8"), ("kept", "9")]
    answered = by_call(repo)["1773136800.10"]
    assert (answered["result"], answered["duration"], answered["total_duration"]) == ("answered", 120, 142)
    assert answered["extension"] == "101" and answered["due"] == "2026-03-10T10:00:00+00:00"
    assert answered["subject"] == "Call from +79161234567 (answered, 2:00)"
    assert records(repo, "deals")[answered["deal"]]["contacts"] == [ivan]
    assert len(records(repo, "activities")) == 1  # one call, not three
    [lead] = records(repo, "leads").values()  # one missed caller on one day: one lead, both calls on it
    assert lead["title"] == "Missed call from Hans Weber" and lead["id"] == rows[1]["id"] == rows[2]["id"]
    assert lead["calls"] == [
        {"call_id": "1773140400.20", "at": "2026-03-10T11:00:00+00:00", "result": "missed"},
        {"call_id": "1773154800.30", "at": "2026-03-10T15:00:00+00:00", "result": "missed"}]
    assert "1 of 4 items could not be processed" in error_lines(proc)[0]
    assert "byte 0xE9" in proc.stderr
    again = json.loads(cli("intake", "calls", LEGS, "-f", "json").stdout)
    assert [r["status"] for r in again] == ["duplicate", "duplicate", "duplicate", "kept"]
    assert len(records(repo, "leads")) == 1 and len(failed(repo)) == 1  # kept once, attempts counted
    assert cli("check").returncode == 0


def test_a_line_with_a_bad_byte_is_kept_alone_and_stored_once_corrected(cli, callrepo):
    repo, _ = callrepo
    cli("intake", "calls", LEGS)
    [(key, item)] = failed(repo).items()
    assert item["exit_code"] == 65 and "not text in the file's encoding" in item["reason"]
    payload = repo / "inbox" / "failed" / item["payload"]
    call = json.loads(payload.read_text(encoding="utf-8"))
    assert call["cdr"][4] == '"Jos\ufffd Garc\ufffda" <+34911234567>'
    assert cli("intake", "retry").returncode == 65  # still unreadable: still kept
    call["cdr"][4] = '"José García" <+34911234567>'
    del call["unreadable"]
    payload.write_text(json.dumps(call, ensure_ascii=False), encoding="utf-8")
    [activity] = cli.ok("intake", "retry").split()
    stored = records(repo, "activities")[activity]
    assert (stored["caller_name"], stored["duration"], failed(repo)) == ("José García", 180, {})


def test_the_same_file_in_its_own_encoding_stores_every_line(cli, callrepo):
    repo, _ = callrepo
    assert cli("intake", "calls", LEGS, "--encoding", "latin-1").returncode == 0
    assert by_call(repo)["1773158400.40"]["caller_name"] == "José García" and failed(repo) == {}


def test_without_linkedid_the_legs_of_a_uniqueid_are_one_call(cli, callrepo, tmp_path):
    repo, _ = callrepo
    path = tmp_path / "Master.csv"  # cdr_csv without newcdrcolumns: legs share the uniqueid
    path.write_text(
        '"","+33612345678","100","from-pstn","","SIP/trunk-1","SIP/100-2","Dial","SIP/100,20",'
        '"2026-03-09 14:00:00","","2026-03-09 14:00:20",20,0,"NO ANSWER","DOCUMENTATION","1773064800.5",""\n'
        '"","+33612345678","101","from-pstn","","SIP/trunk-1","SIP/101-3","Dial","SIP/101,30",'
        '"2026-03-09 14:00:20","2026-03-09 14:00:25","2026-03-09 14:05:25",305,300,"ANSWERED","DOCUMENTATION",'
        '"1773064800.5",""\n', encoding="utf-8")
    [row] = json.loads(cli.ok("intake", "calls", path, "-f", "json"))
    call = by_call(repo)["1773064800.5"]
    assert (row["status"], call["result"], call["duration"], call["total_duration"]) == \
        ("created", "answered", 300, 325)
    assert records(repo, "leads") == {}  # answered after ringing: a contact and a deal, no missed-call lead


def test_numbers_are_compared_as_e164(cli, callrepo, tmp_path):
    """Same last ten digits, another country: another client. An extension is kept apart."""
    repo, _ = callrepo
    london = cli.ok("contact", "add", "Ann Lee", "--phone", "+44 20 7946 0958").strip()
    ny = cli.ok("contact", "add", "Bob Ray", "--phone", "+1 (212) 555-0142 ext. 7").strip()
    path = tmp_path / "calls.csv"
    path.write_text("id,from,to,start,talk,result\n"
                    "m-1,+1 207 946 0958,100,2026-03-09T09:00:00Z,60,ANSWERED\n"
                    "m-2,12125550142,100,2026-03-09T09:10:00Z,30,ANSWERED\n"
                    "m-3,02079460958,100,2026-03-09T09:20:00Z,30,ANSWERED\n", encoding="utf-8")
    configure(repo, {"phone_region": "GB"}, calls={"stage": "preparation"})
    rows = json.loads(cli.ok("intake", "calls", path, "-f", "json"))
    assert rows[0]["contact"] not in (london, ny)  # +1 207 946 0958 is not +44 20 7946 0958
    assert rows[1]["contact"] == ny  # a PBX writes +1 212 555 0142 without its +
    assert rows[2]["contact"] == london  # 020 7946 0958 in the repository's region (GB)
