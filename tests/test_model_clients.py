"""Companies and contacts as typed models (dealcli/model/client.py, issue 11): sample records
convert back to their exact bytes, a bad value is named by its path and line, what `company add`,
`contact add` and `edit` write is what dealcli always wrote, and the core's errors carry the field
they are about (the command line words it as the option typed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import Runner
from dealcli import access, clients, team
from dealcli.errors import FieldError, NotAllowed, NotFound, UsageError
from dealcli.model import model_of
from dealcli.model.client import Company, Contact
from dealcli.storage import yamlcodec

DEMO = Path(__file__).resolve().parent.parent / "demo-repo"
KINDS = ("companies", "contacts")


def same_bytes(path: Path) -> bool:
    raw = path.read_bytes()
    obj = model_of(path.parent.name).from_dict(yamlcodec.loads(raw, str(path)))
    return yamlcodec.dumps(obj.to_dict()).encode("utf-8") == raw


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """The sample repository of `dealcli init --example` (what `make demo` builds as demo-repo)."""
    root = tmp_path_factory.mktemp("example") / "ex"
    Runner(root.parent)("init", root, "--example", "--timezone", "UTC", check=True)
    return root


def test_every_sample_client_converts_back_to_the_same_bytes(example):
    """The clients of `dealcli init --example`, and of demo-repo when `make demo` has built it."""
    folders = [example / kind for kind in KINDS] + [DEMO / kind for kind in KINDS if (DEMO / kind).is_dir()]
    paths = [p for folder in folders for p in sorted(folder.glob("*.yaml"))]
    assert len(paths) > 10 and {p.parent.name for p in paths} == set(KINDS)
    assert [str(p) for p in paths if not same_bytes(p)] == []


def test_the_models_describe_the_schemas():
    import json

    schemas = Path(__file__).resolve().parent.parent / "schemas"
    for cls, name in ((Company, "company"), (Contact, "contact")):
        schema = json.loads((schemas / f"{name}.schema.json").read_text(encoding="utf-8"))
        fields = set(cls.__dataclass_fields__) - {"extra"}
        assert fields == set(schema["properties"]), name
        assert list(cls.KEYS) == [k for k in schema["properties"]], name  # the order files have


def test_a_model_reads_types_and_keeps_unknown_keys_last():
    data = {"format": 1, "id": "c1", "name": "Jo", "emails": ["jo@x.example"], "phones": [], "company": "k1",
            "birthday": "1980-03-10", "responsible": None, "fields": {"a": 1}, "created": "2026-03-10T12:00:00+00:00",
            "created_by": "me", "note": "hand-added"}
    contact = Contact.from_dict(data)
    assert contact.birthday == dt.date(1980, 3, 10) and contact.created.tzinfo is not None
    assert contact.modified is None and contact.extra == {"note": "hand-added"}
    assert contact.to_dict() == data  # no `modified` while it is None; unknown keys last
    contact.modified = dt.datetime(2026, 3, 11, 9, 30, tzinfo=dt.timezone.utc)
    assert list(contact.to_dict())[-2:] == ["modified", "note"]


@pytest.mark.parametrize("change, path, message", [
    ({"name": ""}, ("name",), "is required"),
    ({"emails": "jo@x.example"}, ("emails",), "expected a list"),
    ({"phones": ["555", {"n": 1}]}, ("phones", 1), "expected text"),
    ({"birthday": "someday"}, ("birthday",), None),
    ({"created": "2026-03-10"}, ("created",), None),
    ({"fields": ["a"]}, ("fields",), "expected a mapping"),
    ({"emails": ["jo@x.example", "jo at x"]}, ("emails", 1), "'jo at x' is not an email address"),
    ({"format": 99}, ("format",), None),
])
def test_a_bad_value_is_named_by_its_path(change, path, message):
    data = {"format": 1, "id": "c1", "name": "Jo", **change}
    with pytest.raises(FieldError) as caught:
        Contact.from_dict(data)
    assert caught.value.path == path
    if message:
        assert caught.value.message == message


def test_a_bad_value_in_a_file_is_named_by_file_and_line(cli, repo):
    contact = cli.ok("contact", "add", "Jo Doe", "--birthday", "1980-03-10").strip()
    path = repo / "contacts" / f"{contact}.yaml"
    text = path.read_text(encoding="utf-8").replace("birthday: 1980-03-10", "birthday: someday")
    assert "birthday: someday" in text
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("birthday: someday") + 1
    out = cli("contact", "edit", contact, "--name", "Jo")
    assert out.returncode == 5
    assert f"contacts/{contact}.yaml:{line}: birthday: " in out.stderr
    assert path.read_text(encoding="utf-8") == text  # nothing written
    check = cli("check")
    assert check.returncode == 1 and f"contacts/{contact}.yaml:{line}" in check.stdout + check.stderr


# -- what the commands write (byte for byte what dealcli wrote before the models) -------------------
def read(repo: Path, kind: str, record_id: str) -> str:
    return (repo / kind / f"{record_id}.yaml").read_text(encoding="utf-8")


def test_company_and_contact_add_write_what_they_always_wrote(cli, repo):
    co = cli.ok("company", "add", "Acme  Corp", "--email", "a@acme.example", "--phone", "+1 555 0100",
                "--set", "tier=gold", "--responsible", "bob").strip()
    assert read(repo, "companies", co) == (
        f"format: 1\nid: {co}\nname: Acme Corp\nemails:\n- a@acme.example\nphones:\n- +1 555 0100\n"
        "responsible: bob\nfields:\n  tier: gold\ncreated: 2026-03-10T12:00:00+00:00\n"
        "created_by: tester@example.com\n")
    ct = cli.ok("contact", "add", "Jo Doe", "--company", "Acme Corp", "--birthday", "10 March 1980").strip()
    assert read(repo, "contacts", ct) == (
        f"format: 1\nid: {ct}\nname: Jo Doe\nemails: []\nphones: []\ncompany: {co}\nbirthday: 1980-03-10\n"
        "responsible: tester@example.com\nfields: {}\ncreated: 2026-03-10T12:00:00+00:00\n"
        "created_by: tester@example.com\n")
    out = cli("contact", "add", "Al", "--company", "Brand New Co")
    new_co = out.stderr.split("created company ")[1].split()[0]
    assert read(repo, "companies", new_co) == (
        f"format: 1\nid: {new_co}\nname: Brand New Co\nemails: []\nphones: []\nresponsible: null\nfields: {{}}\n"
        "created: 2026-03-10T12:00:00+00:00\ncreated_by: tester@example.com\n")


def test_edit_writes_what_it_always_wrote(cli, repo):
    co = cli.ok("company", "add", "Acme", "--email", "a@acme.example", "--set", "tier=gold").strip()
    cli.ok("company", "edit", co, "--name", "Acme Corporation", "--email", "x@acme.example", "--set", "size=10",
           "--unset", "fields.tier", now="2026-03-11T09:30:00+01:00")
    assert read(repo, "companies", co) == (
        f"format: 1\nid: {co}\nname: Acme Corporation\nemails:\n- x@acme.example\nphones: []\n"
        "responsible: tester@example.com\nfields:\n  size: '10'\ncreated: 2026-03-10T12:00:00+00:00\n"
        "created_by: tester@example.com\nmodified: 2026-03-11T08:30:00+00:00\n")  # the repository's zone
    ct = cli.ok("contact", "add", "Jo", "--company", co, "--birthday", "1980-03-10", "--phone", "555 0101").strip()
    cli.ok("contact", "edit", ct, "--unset", "company", "--unset", "birthday", "--unset", "phones")
    assert read(repo, "contacts", ct) == (
        f"format: 1\nid: {ct}\nname: Jo\nemails: []\nphones: []\ncompany: null\nbirthday: null\n"
        "responsible: tester@example.com\nfields: {}\ncreated: 2026-03-10T12:00:00+00:00\n"
        "created_by: tester@example.com\nmodified: 2026-03-10T12:00:00+00:00\n")


def test_an_edit_leaves_the_rest_of_a_hand_written_file_as_it_was(cli, repo):
    path = repo / "contacts" / "handc.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("format: 1\nid: handc\nname: Hand C\nzeta: 1\ncreated: 2026-03-01T08:00:00Z\n"
                    "fields: {a: b}\n", encoding="utf-8")
    co = cli.ok("company", "add", "Acme").strip()
    cli.ok("contact", "edit", "handc", "--birthday", "1990-01-02", "--company", co)
    assert path.read_text(encoding="utf-8") == (
        "format: 1\nid: handc\nname: Hand C\nzeta: 1\ncreated: 2026-03-01T08:00:00Z\nfields:\n  a: b\n"
        f"birthday: 1990-01-02\ncompany: {co}\nmodified: 2026-03-10T12:00:00+00:00\n")


def test_a_merged_company_keeps_its_history_where_it_was_when_edited(cli, repo):
    a = cli.ok("company", "add", "Acme").strip()
    b = cli.ok("company", "add", "Acme Inc").strip()
    cli.ok("company", "merge", a, b)
    cli.ok("company", "edit", a, "--phone", "555 0100")
    text = read(repo, "companies", a)
    assert text.index("history:") < text.index("modified:")  # appended, as before the models
    assert text.endswith("modified: 2026-03-10T12:00:00+00:00\n")


# -- errors carry fields: options on the command line, plain names elsewhere ---------------------------
def test_the_command_line_words_the_fields_as_its_options(cli):
    out = cli("company", "add", "X", "--email", "bad")
    assert out.returncode == 2 and "error: --email 'bad': not an email address" in out.stderr
    out = cli("contact", "add", "Jo", "--birthday", "2030-01-01")
    assert out.returncode == 2 and "error: --birthday '2030-01-01': 2030-01-01 is in the future" in out.stderr
    out = cli("company", "edit", cli.ok("company", "add", "Y").strip(), "--unset", "nosuch")
    assert "error: --unset nosuch: the company has no such field" in out.stderr
    out = cli("role", "add", "r", "--grant", "deal:fly=all")
    assert out.returncode == 2 and "error: --grant 'deal:fly=all': unknown action 'fly'" in out.stderr
    out = cli("dept", "add", "d", "--parent", "nope")
    assert out.returncode == 3 and "error: --parent 'nope': no such department" in out.stderr
    out = cli("user", "add", "boss")  # the first user, without admin: `user add` says what follows
    assert "add yourself with --role admin" in out.stderr
    out = cli("--as", "ghost", "whoami", user="boss")  # a global option: worded by the edge too
    assert out.returncode == 6 and "error: --as ghost: not a user of this repository" in out.stderr


def test_a_core_caller_reads_plain_field_names(session):
    with pytest.raises(UsageError) as caught:
        clients.add(session, "company", "X", emails=["bad"])
    assert caught.value.fields == ("email",)
    assert caught.value.message == "email 'bad': not an email address (expected name@example.com)"
    with pytest.raises(UsageError) as caught:
        clients.add(session, "company", "X", birthday="1980-01-01")
    assert caught.value.message == "company and birthday are for contacts"
    with pytest.raises(UsageError) as caught:
        access.parse_grant("deal:read=some")
    assert caught.value.message.startswith("grant 'deal:read=some': unknown level 'some'")
    with pytest.raises(NotFound) as caught:
        team.dept_add(session, "d", parent="nope")
    assert caught.value.message == "parent 'nope': no such department"
    with pytest.raises(NotAllowed) as caught:
        access.identify(access.Policy(users={"boss": {}}), "ghost", "boss")
    assert caught.value.fields == ("as_user",) and "--" not in caught.value.message
    team.user_add(session, "boss")  # the first user, without admin: a hint about the role field
    assert [str(n) for n in session.notices][-1].endswith("add yourself with role admin")
