"""The activity model (dealcli/model/activity.py): every activity file the code writes (planned,
edited, done, made by intake) converts back to its exact bytes, keys keep their order, a bad
value is named by its path, and a core caller that is not the command line reads plain field
names (issue 11)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import NOW, Runner
from intake_helpers import FIXTURES, configure, run_bytes

from dealcli import activities
from dealcli.errors import CorruptData, FieldError, MalformedInput, NotFound, UsageError
from dealcli.intake import calls, mail
from dealcli.model import model_of
from dealcli.model.activity import ACTIVITY_KEYS, Activity
from dealcli.session import to_model
from dealcli.storage import yamlcodec

DEMO = Path(__file__).resolve().parent.parent / "demo-repo"
UTC = dt.timezone.utc


def activity_files(root: Path) -> list[Path]:
    return sorted((root / "activities").glob("*.yaml"))


def assert_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    obj = model_of("activities").from_dict(yamlcodec.loads(raw, str(path)))
    assert yamlcodec.dumps(obj.to_dict()).encode("utf-8") == raw, path.name


def test_the_registry_names_this_model():
    assert model_of("activities") is Activity


# activity files written by the code before the model: the sample repository of `make demo`
# (demo-*.yaml) and a run of activity add/edit/done and intake email/calls/chat (ids made fixed)
WRITTEN_BEFORE = sorted((Path(__file__).parent / "fixtures" / "activities").glob("*.yaml"))


@pytest.mark.parametrize("path", WRITTEN_BEFORE, ids=lambda p: p.name)
def test_every_activity_file_written_before_the_model_converts_back_to_the_same_bytes(path):
    assert_round_trips(path)


def test_the_files_written_before_cover_every_shape():
    keys = set()
    for path in WRITTEN_BEFORE:
        keys |= set(yamlcodec.loads(path.read_bytes()))
    assert len(WRITTEN_BEFORE) >= 15 and keys == set(ACTIVITY_KEYS)


def test_every_activity_of_the_sample_repositories_converts_back_to_the_same_bytes(tmp_path):
    Runner(tmp_path)("init", tmp_path / "ex", "--example", "--timezone", "UTC", check=True)
    paths = activity_files(tmp_path / "ex") + (activity_files(DEMO) if DEMO.is_dir() else [])
    assert len(paths) >= 5
    assert any(yamlcodec.loads(p.read_bytes())["done"] for p in paths)  # done ones (done_by) too
    for path in paths:
        assert_round_trips(path)


def test_activities_made_by_intake_convert_back_to_the_same_bytes(cli, repo):
    configure(repo, user="pbx@ourshop.example", calls={"stage": "preparation"})
    cli.ok("contact", "add", "Ivan Petrov", "--phone", "8 (916) 123-45-67")
    for name in ("first.eml", "reply.eml", "html-only.eml"):
        assert run_bytes(cli, "intake", "email", data=(FIXTURES / name).read_bytes()).returncode == 0
    cli.ok("intake", "calls", FIXTURES / "Master.csv")
    chat = {"channel": "site", "chat_id": "42", "message_id": "1", "date": "2026-03-09T10:00:00+00:00",
            "text": "Hello\nthere", "from": {"name": "Olga"}}
    cli.ok("intake", "chat", input=json.dumps(chat))
    kinds = set()
    for path in activity_files(repo):
        assert_round_trips(path)
        kinds.add(yamlcodec.loads(path.read_bytes())["channel"])
    assert kinds == {"email", "phone", "site"}


def test_a_planned_activity_is_written_as_before_and_keeps_its_key_order_when_changed(cli, repo):
    deal = cli.ok("deal", "add", "D", "--responsible", "anna@example.com").strip()
    act = cli.ok("activity", "add", deal, "--type", "Call", "--subject", " Ring  them ", "--due",
                 "2026-03-11 10:00").strip()
    path = repo / "activities" / f"{act}.yaml"
    head = (f"format: 1\nid: {act}\ndeal: {deal}\ntype: call\nsubject: Ring them\n"
            "due: 2026-03-11T10:00:00+00:00\nresponsible: anna@example.com\n")
    planned = head + ("done: false\ndone_at: null\ncreated: 2026-03-10T12:00:00+00:00\n"
                      "created_by: tester@example.com\n")
    assert path.read_text() == planned
    cli.ok("activity", "edit", act, "--subject", "Ring again", now="2026-03-10T13:00:00+00:00")
    edited = planned.replace("Ring them", "Ring again") + "modified: 2026-03-10T13:00:00+00:00\n"
    assert path.read_text() == edited
    cli.ok("activity", "done", act, now="2026-03-10T14:00:00+00:00")
    done = (edited.replace("done: false\ndone_at: null", "done: true\ndone_at: 2026-03-10T14:00:00+00:00")
            + "done_by: tester@example.com\n")
    assert path.read_text() == done  # done_by after modified: the order the file had, new keys last
    assert "nothing changed" in cli("activity", "done", act).stderr
    assert path.read_text() == done


def test_a_hand_edited_file_keeps_its_order_and_unknown_keys_through_a_change(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    (repo / "activities").mkdir(exist_ok=True)
    path = repo / "activities" / "handmade1.yaml"
    path.write_text(f"id: handmade1\nsubject: Call back\nmood: good\ndeal: {deal}\ntype: call\n"
                    "due: 2026-03-12T09:00:00+00:00\n")
    cli.ok("activity", "done", "handmade1")
    assert path.read_text() == (f"id: handmade1\nsubject: Call back\nmood: good\ndeal: {deal}\ntype: call\n"
                                "due: 2026-03-12T09:00:00+00:00\ndone: true\ndone_at: 2026-03-10T12:00:00+00:00\n"
                                "done_by: tester@example.com\n")


def test_what_intake_writes_is_unchanged(cli, repo):
    configure(repo, user="pbx@ourshop.example", calls={"stage": "preparation"})
    cli.ok("contact", "add", "Ivan Petrov", "--phone", "8 (916) 123-45-67")
    cli.ok("intake", "calls", FIXTURES / "Master.csv")
    [path] = [p for p in activity_files(repo) if "1773050400.1" in p.read_text()]
    text = path.read_text()
    assert text.split("deal: ")[0] == f"format: 1\nid: {path.stem}\n"
    assert text.split("\n", 3)[3] == (
        "type: call\nsubject: Call from +79161234567 (answered, 2:05)\ndue: 2026-03-09T10:00:00+00:00\n"
        "responsible: pbx@ourshop.example\ndone: true\ndone_at: 2026-03-09T10:00:00+00:00\n"
        "created: 2026-03-10T12:00:00+00:00\ncreated_by: pbx@ourshop.example\ndone_by: pbx@ourshop.example\n"
        "channel: phone\ndirection: in\nphone: '+79161234567'\nextension: '100'\nduration: 125\n"
        "total_duration: 130\nresult: answered\ncall_id: '1773050400.1'\ncaller_name: Ivan Petrov\n")
    run_bytes(cli, "intake", "email", data=(FIXTURES / "reply.eml").read_bytes())
    [reply] = [yamlcodec.loads(p.read_bytes()) for p in activity_files(repo) if "CAF=reply1" in p.read_text()]
    assert list(reply)[11:] == ["done_by", "channel", "direction", "from", "to", "cc", "message_id", "in_reply_to",
                                "references", "mailbox", "body", "attachments"]
    assert reply["mailbox"] is None and reply["from"].endswith("<juergen.consult@gmail.com>")
    chat = {"channel": "site", "chat_id": "42", "message_id": "1", "text": "Hi", "from": {"name": "Olga"}}
    cli.ok("intake", "chat", input=json.dumps(chat))
    [said] = [yamlcodec.loads(p.read_bytes()) for p in activity_files(repo) if "chat: site:42" in p.read_text()]
    assert list(said)[12:] == ["channel", "direction", "chat", "message_id", "from", "username", "body"]
    assert said["username"] is None and said["from"] == "Olga"


GOOD = {"id": "a1", "deal": "d1", "type": "call", "subject": "S", "due": "2026-03-10T12:00:00+00:00"}


@pytest.mark.parametrize("change, path", [
    ({"type": "fax"}, ("type",)),
    ({"due": "soon"}, ("due",)),
    ({"subject": ""}, ("subject",)),
    ({"done": "yes"}, ("done",)),
    ({"direction": "sideways"}, ("direction",)),
    ({"duration": -5}, ("duration",)),
    ({"result": "hung up"}, ("result",)),
    ({"to": "a@b.example"}, ("to",)),
    ({"in_reply_to": ["x", {"y": 1}]}, ("in_reply_to", 1)),
    ({"attachments": [{"name": "a.pdf"}]}, ("attachments", 0, "path")),
    ({"attachments": [{"name": "a.pdf", "path": "p", "size": -1}]}, ("attachments", 0, "size")),
    ({"from": ["not", "text"]}, ("from",)),
])
def test_a_bad_value_is_named_by_its_path(change, path):
    with pytest.raises(FieldError) as caught:
        Activity.from_dict({**GOOD, **change})
    assert caught.value.path == path


def test_the_model_reads_the_intake_fields_by_their_types():
    act = Activity.from_dict({**GOOD, "from": "Ivan <i@x.example>", "in_reply_to": None, "to": ["a@x.example"],
                              "duration": 5, "attachments": [{"name": "a", "path": "attachments/a1/a", "size": 3}]})
    assert act.sender == "Ivan <i@x.example>" and act.in_reply_to is None and act.to == ["a@x.example"]
    assert act.due == dt.datetime(2026, 3, 10, 12, tzinfo=UTC) and act.duration == 5 and not act.done
    out = act.to_dict()
    assert out["from"] == "Ivan <i@x.example>" and out["in_reply_to"] is None and "format" not in out
    assert Activity.field_name("from") == "sender"


def test_a_new_activity_writes_the_details_given_in_their_order_also_when_empty():
    when = dt.datetime(2026, 3, 9, 10, tzinfo=UTC)
    act = Activity.new(id="a1", deal="d1", type="chat", subject="S", due=when, done=True, done_at=when,
                       done_by="u", details={"channel": "site", "sender": "Olga", "username": None})
    assert list(act.to_dict()) == ["format", "id", "deal", "type", "subject", "due", "responsible", "done", "done_at",
                                   "created", "created_by", "done_by", "channel", "from", "username"]
    with pytest.raises(FieldError) as caught:
        Activity.new(id="a1", deal="d1", type="call", subject="S", due=when, details={"duration": -1}).validated()
    assert caught.value.path == ("duration",)


def test_a_broken_activity_file_is_corrupt_data_naming_file_and_line(cli, repo, session):
    deal = cli.ok("deal", "add", "D").strip()
    act = cli.ok("activity", "add", deal, "--type", "call", "--subject", "S").strip()
    path = repo / "activities" / f"{act}.yaml"
    path.write_text(path.read_text().replace("type: call", "type: fax"))
    with pytest.raises(CorruptData) as caught:
        to_model(session.repo.load("activities", act))
    assert caught.value.line == 4 and "type" in caught.value.message
    proc = cli("activity", "done", act)
    assert proc.returncode == 5 and f"activities/{act}.yaml:4" in proc.stderr
    assert "type: fax" in path.read_text() and "done: false" in path.read_text()


def test_a_core_call_without_the_command_line_reads_plain_field_names(session, cli):
    deal = cli.ok("deal", "add", "D").strip()
    with pytest.raises(UsageError) as caught:
        activities.add(session, deal, "fax", "S")
    assert caught.value.fields == ("type",)
    assert caught.value.message == "type 'fax': expected one of call, meeting, task, email, chat"
    with pytest.raises(UsageError) as caught:
        activities.add(session, deal, "call", "S", "when pigs fly")
    assert caught.value.message.startswith("due: ") and "when pigs fly" in caught.value.message
    with pytest.raises(UsageError) as caught:
        activities.edit(session, "x")
    assert caught.value.message == ("activity edit: nothing to change (type, subject, due, responsible, "
                                    "description, duration, remind)")
    with pytest.raises(UsageError) as caught:
        calls.parse_maps(["Talk=length"])
    assert caught.value.message.startswith("map 'Talk=length': expected COLUMN=FIELD")
    with pytest.raises(MalformedInput) as caught:
        calls.from_cdr(["1", "2"])
    assert caught.value.message == ("2 columns: an Asterisk CDR line has at least 17 "
                                    "(or give the file a header row and map)")
    with pytest.raises(NotFound) as caught:
        mail.mailbox_rule(session, "nope")
    assert caught.value.fields == ("mailbox",) and caught.value.message.startswith("mailbox 'nope': not in")
    assert all("--" not in m for m in session.notices)


def test_the_command_line_still_words_them_as_its_options(cli, repo):
    deal = cli.ok("deal", "add", "D").strip()
    assert "error: --type 'fax': expected one of" in cli("activity", "add", deal, "--type", "fax",
                                                         "--subject", "S").stderr
    assert "error: --subject: an activity needs a subject\n" in cli("activity", "add", deal, "--type", "call",
                                                                    "--subject", " ").stderr
    assert ("error: activity edit: nothing to change (--type, --subject, --due, --responsible, --description, "
            "--duration, --remind)"
            in cli("activity", "edit", "x").stderr)
    proc = cli("intake", "calls", "-", input="1,2,3\n")
    assert proc.returncode == 65 and "(or give the file a header row and --map); kept as inbox/failed/" in proc.stderr
    proc = cli("intake", "calls", "-", "--encoding", "nope", input="x\n")
    assert proc.returncode == 2 and "error: --encoding 'nope': unknown encoding" in proc.stderr
    proc = run_bytes(cli, "intake", "email", "--mailbox", "support", data=(FIXTURES / "first.eml").read_bytes())
    assert proc.returncode == 3 and ": --mailbox 'support': not in intake.mailboxes" in proc.stderr


def test_the_nudge_still_names_the_command_to_run(session, cli):
    assert activities.nudge_command(session, "d1") == ("dealcli activity add d1 --type call --subject 'Follow up' "
                                                       "--due '2026-03-13 12:00'")
    assert NOW.startswith("2026-03-10")


def test_an_intake_value_an_activity_cannot_hold_is_malformed_input_and_nothing_is_written(cli, repo):
    chat = {"channel": "site", "chat_id": "42", "message_id": "9", "text": "Hi",
            "from": {"name": "Olga", "username": True}}
    proc = cli("intake", "chat", input=json.dumps(chat))
    assert proc.returncode == 65 and "username: expected text, got true" in proc.stderr
    assert activity_files(repo) == [] and list((repo / "contacts").glob("*.yaml")) == []
    assert len(list((repo / "inbox" / "failed").glob("*.yaml"))) == 1


def test_notices_about_fields_are_worded_by_the_edge_too(cli, repo):
    """Several kept items: one notice each, worded like the error line (`--map`, not `map`)."""
    proc = cli("intake", "calls", "-", input="1,2,3\n4,5,6\n")
    assert proc.returncode == 65
    notices = [line for line in proc.stderr.splitlines() if "header row and" in line]
    assert len(notices) == 2 and all("header row and --map); kept as" in n for n in notices), proc.stderr
    proc = run_bytes(cli, "intake", "email", "--mta", "--mailbox", "support",
                     data=(FIXTURES / "first.eml").read_bytes())
    [line] = proc.stderr.splitlines()  # the words around a text about fields are kept, once each (issue 25)
    assert line.startswith("dealcli: not stored but kept, the mail server need not deliver it again: stdin: ")
    assert "--mailbox 'support': not in intake.mailboxes" in line and "; kept as inbox/failed/" in line, line
