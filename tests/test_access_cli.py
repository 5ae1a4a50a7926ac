"""Access rights through the command line: user/dept/role/whoami/can, identity and --as, writes
refused before anything is written (exit 6), and reads that never leak a hidden deal through
a listing or an aggregate (filter, board, calendar, agenda, export, deal show)."""

from __future__ import annotations

import json

import pytest
import yaml

BOSS = "boss@x.io"


def team(cli):
    """boss (admin), departments sales > east, west; alice and carol (head) in east, bob in west."""
    cli.ok("user", "add", "boss", "--email", BOSS, "--role", "admin", user=BOSS)
    cli.ok("dept", "add", "sales", "--head", "boss", user=BOSS)
    cli.ok("dept", "add", "east", "--parent", "sales", user=BOSS)
    cli.ok("dept", "add", "west", "--parent", "sales", user=BOSS)
    cli.ok("user", "add", "alice", "--email", "alice@x.io", "--dept", "east", user=BOSS)
    cli.ok("user", "add", "bob", "--email", "bob@x.io", "--dept", "west", user=BOSS)
    cli.ok("user", "add", "carol", "--email", "carol@x.io", "--dept", "east", "--role", "head", user=BOSS)
    cli.ok("dept", "edit", "east", "--head", "carol", user=BOSS)


@pytest.fixture
def crew(cli):
    """The team with one deal each: alice 100 (close date 2026-03-20), bob 7777 (2026-03-21,
    with an activity due today), carol 400."""
    team(cli)
    ids = {}
    for who, amount, close in (("alice", "100", "2026-03-20"), ("bob", "7777", "2026-03-21"),
                               ("carol", "400", "2026-03-22")):
        ids[who] = cli.ok("deal", "add", f"{who.title()} deal", "--amount", amount, "--close-date", close,
                          user=f"{who}@x.io").strip()
    cli.ok("activity", "add", ids["bob"], "--type", "call", "--subject", "Secret call", "--due", "2026-03-10 15:00",
           user="bob@x.io")
    return ids


def test_a_repository_without_users_lets_anyone_do_anything(cli):
    deal = cli.ok("deal", "add", "X", user="mallory@evil.example").strip()
    assert cli.ok("whoami", "-f", "json", user="mallory@evil.example")
    cli.ok("--as", "someone@else.example", "deal", "delete", deal, "--yes")
    assert cli("can", "mallory", "delete", "deal").returncode == 0


def test_user_dept_role_commands(cli):
    team(cli)
    users = json.loads(cli.ok("user", "list", "-f", "json", user=BOSS))
    assert [u["login"] for u in users] == ["alice", "bob", "boss", "carol"]
    assert {u["login"]: u["roles"] for u in users}["alice"] == "manager"
    shown = json.loads(cli.ok("user", "show", "carol@x.io", "-f", "json", user=BOSS))
    assert shown["login"] == "carol" and shown["heads"] == ["east"]
    depts = json.loads(cli.ok("dept", "list", "-f", "json", user=BOSS))
    assert [d["path"] for d in depts] == ["sales", "sales/east", "sales/west"]
    assert depts[1]["members"] == "alice, carol"
    cli.ok("role", "add", "closer", "--grant", "deal:*=own", "--grant", "deal[sales].stage[won]:move=all", user=BOSS)
    cli.ok("role", "edit", "closer", "--grant", "deal:*=department", "--revoke", "deal[sales].stage[won]:move",
           user=BOSS)
    role = json.loads(cli.ok("role", "show", "closer", "-f", "json", user=BOSS))
    assert role["grants"] == ["deal:*=department"] and role["origin"] == "dealcli.yaml"
    config = yaml.safe_load((cli.root / "dealcli.yaml").read_text())
    assert config["users"]["alice"] == {"name": "alice", "emails": ["alice@x.io"], "dept": "east", "roles": ["manager"]}
    assert config["departments"]["east"] == {"name": "east", "parent": "sales", "head": "carol"}
    assert config["roles"]["closer"]["grants"] == ["deal:*=department"]
    # refusals: bad grant (2), unknown department (3), duplicate e-mail (4), a cycle (1), in use (1)
    assert cli("role", "add", "x", "--grant", "deal:fly=all", user=BOSS).returncode == 2
    assert cli("user", "add", "dan", "--dept", "nowhere", user=BOSS).returncode == 3
    assert cli("user", "add", "dan", "--email", "ALICE@x.io", user=BOSS).returncode == 4
    assert cli("dept", "edit", "sales", "--parent", "east", user=BOSS).returncode == 1
    assert cli("dept", "delete", "east", user=BOSS).returncode == 1
    assert cli("user", "delete", "carol", user=BOSS).returncode == 1  # heads east
    cli.ok("user", "add", "dan", user=BOSS)
    cli.ok("user", "delete", "dan", user=BOSS)
    assert "dan" not in cli.ok("user", "list", "-f", "ids", user=BOSS)
    assert cli.ok("check", user=BOSS) == ""


def test_only_the_settings_right_changes_the_team(cli):
    team(cli)
    before = (cli.root / "dealcli.yaml").read_bytes()
    for args in (("user", "add", "eve"), ("role", "add", "r", "--grant", "*:*=all"), ("dept", "add", "x"),
                 ("user", "edit", "alice", "--role", "admin")):
        r = cli(*args, user="alice@x.io")
        assert r.returncode == 6, args
        assert "alice may not change the settings in dealcli.yaml (role manager: settings:*=none)" in r.stderr
    assert (cli.root / "dealcli.yaml").read_bytes() == before
    r = cli("pipeline", "add", "service", user="alice@x.io")
    assert r.returncode == 6 and "alice may not change the settings in pipelines/service.yaml" in r.stderr
    assert not (cli.root / "pipelines" / "service.yaml").exists()
    cli.ok("pipeline", "add", "service", user=BOSS)


def test_identity_whoami_and_as(cli):
    team(cli)
    me = json.loads(cli.ok("whoami", "-f", "json", user="alice@x.io"))
    assert me["login"] == "alice" and me["dept"] == "east" and me["real_identity"] == "alice@x.io"
    r = cli("deal", "add", "Sneaky", user="mallory@evil.example")
    assert r.returncode == 6 and "mallory@evil.example is not a user" in r.stderr
    assert not list((cli.root / "deals").glob("*.yaml"))
    r = cli("--as", "mallory@evil.example", "deal", "add", "X", user=BOSS)
    assert r.returncode == 6 and "[unknown-user]" in r.stderr
    assert json.loads(cli.ok("--as", "alice", "whoami", "-f", "json", user=BOSS))["login"] == "alice"
    assert json.loads(cli.ok("--as", "alice", "whoami", "-f", "json", user="carol@x.io"))["login"] == "alice"
    r = cli("--as", "bob", "whoami", user="carol@x.io")  # bob is not in carol's department
    assert r.returncode == 6 and "carol may not act as bob" in r.stderr
    r = cli("--as", "carol", "whoami", user="alice@x.io")
    assert r.returncode == 6 and len(r.stderr.strip().splitlines()) == 1
    # what the acting user writes is recorded under its login
    deal = cli.ok("--as", "alice", "deal", "add", "Hers", user=BOSS).strip()
    data = yaml.safe_load((cli.root / "deals" / f"{deal}.yaml").read_text())
    assert data["responsible"] == "alice" and data["created_by"] == "alice"


def test_writes_are_refused_before_anything_is_written(cli, crew):
    deals = cli.root / "deals"
    snapshot = {p.name: p.read_bytes() for p in deals.iterdir()}
    refusals = [
        (("deal", "edit", crew["alice"], "--title", "Mine now"), "bob@x.io", "bob may not read deal"),
        (("deal", "close", crew["alice"], "--won"), "alice@x.io", "deal.stage[won]:move=none"),
        (("deal", "delete", crew["alice"], "--yes"), "alice@x.io", "deal:delete=none"),
        (("deal", "edit", crew["alice"], "--set", "responsible=bob"), "alice@x.io", "responsible: bob"),
        (("deal", "move", crew["bob"], "preparation"), "carol@x.io", "may not read deal"),
        (("deal", "edit", crew["carol"], "--title", "x"), "alice@x.io", "may not edit deal"),
    ]
    for args, who, why in refusals:
        r = cli(*args, user=who)
        assert r.returncode == 6, (args, r.stderr)
        assert why in r.stderr and "[access]" in r.stderr
        assert {p.name: p.read_bytes() for p in deals.iterdir()} == snapshot
    # several deals at once: one refused, none written
    r = cli("deal", "edit", "-", "--title", "Both", input=f"{crew['alice']}\n{crew['carol']}\n", user="alice@x.io")
    assert r.returncode == 6
    assert {p.name: p.read_bytes() for p in deals.iterdir()} == snapshot
    # what the rights allow
    cli.ok("deal", "close", crew["alice"], "--lost", "--reason", "price", user="alice@x.io")
    assert cli("deal", "reopen", crew["alice"], user="alice@x.io").returncode == 6
    cli.ok("deal", "reopen", crew["alice"], user="carol@x.io")  # a head may reopen
    cli.ok("deal", "close", crew["alice"], "--won", user="carol@x.io")
    cli.ok("deal", "edit", crew["bob"], "--title", "Boss was here", user=BOSS)


def test_can_explains(cli, crew):
    r = cli("can", "alice", "move:won", crew["alice"], user=BOSS)
    assert r.returncode == 1
    assert r.stdout.strip() == (f"denied: alice may not move deal {crew['alice']} "
                                "(role manager: deal.stage[won]:move=none)")
    r = cli("can", "carol@x.io", "edit", f"deal:{crew['alice']}", user=BOSS)
    assert r.returncode == 0 and r.stdout.startswith("allowed: carol may edit deal") and "role head" in r.stdout
    d = json.loads(cli("can", "bob", "read", crew["alice"], "-f", "json", user=BOSS).stdout)
    assert d["allowed"] is False and d["rule"] == "*:read=department" and d["role"] == "manager"
    assert cli("can", "alice", "add", "deal", user=BOSS).returncode == 0
    assert cli("can", "alice", "settings", "settings", user=BOSS).returncode == 1
    assert cli("can", "carol", "impersonate", "user:alice", user=BOSS).returncode == 0
    assert cli("can", "nobody", "read", crew["alice"], user=BOSS).returncode == 3
    assert cli("can", "alice", "fly", crew["alice"], user=BOSS).returncode == 2


# -- reads: nothing hidden leaks ------------------------------------------------------------------
def test_listings_and_aggregates_leave_out_hidden_deals(cli, crew):
    bob = crew["bob"]
    views = (("filter", "-f", "json"), ("export", "-f", "jsonl"), ("export", "-f", "csv"), ("board", "-f", "json"),
             ("board",), ("calendar", "--month", "2026-03", "-f", "json"), ("calendar", "--month", "2026-03"),
             ("agenda", "-f", "json"), ("agenda",), ("activity", "list", "--all", "-f", "json"))

    def leaks(out: str) -> bool:
        return bob in out or "7777" in out or "Bob deal" in out or "Secret" in out

    assert all(leaks(cli.ok(*args, user=BOSS)) for args in views)  # the admin sees bob's deal everywhere
    for who in ("alice@x.io", "carol@x.io"):
        ids = cli.ok("filter", "-f", "ids", user=who).split()
        assert sorted(ids) == sorted([crew["alice"], crew["carol"]])
        for args in views:
            assert not leaks(cli.ok(*args, user=who)), args
        board = json.loads(cli.ok("board", "-f", "json", user=who))
        text = json.dumps(board)
        assert "7877" not in text and "8277" not in text  # no sum including bob's 7777
        assert "500" in text  # alice 100 + carol 400
    # reports and views of the past count only what the user may read
    for who, seen in ((BOSS, 3), ("alice@x.io", 2), ("bob@x.io", 1)):
        assert json.loads(cli.ok("report", "-f", "json", user=who))["deals"] == seen
    assert bob not in cli.ok("board", "--as-of", "2026-03-10", "-f", "json", user="alice@x.io")
    assert bob in cli.ok("board", "--as-of", "2026-03-10", "-f", "json", user=BOSS)
    r = cli("deal", "history", bob, user="alice@x.io")
    assert r.returncode == 6 and r.stdout == ""
    # bob sees his own deal only; the admin sees all three
    assert cli.ok("filter", "-f", "ids", user="bob@x.io").split() == [bob]
    assert len(cli.ok("filter", "-f", "ids", user=BOSS).split()) == 3
    assert "8277" in cli.ok("board", "-f", "json", user=BOSS)
    r = cli("deal", "show", bob, user="alice@x.io")
    assert r.returncode == 6 and r.stdout == "" and "alice may not read deal" in r.stderr


def test_export_has_its_own_level(cli, crew):
    cli.ok("role", "add", "reader", "--grant", "deal:read=all", "--grant", "deal:export=own", user=BOSS)
    cli.ok("user", "edit", "bob", "--role", "reader", user=BOSS)
    assert len(cli.ok("filter", "-f", "ids", user="bob@x.io").split()) == 3
    assert cli.ok("export", "-f", "ids", user="bob@x.io").split() == [crew["bob"]]


def test_import_needs_the_import_right(cli, tmp_path):
    team(cli)
    src = tmp_path / "deals.csv"
    src.write_text("title,amount\nImported,10\n")
    cli.ok("role", "add", "noimport", "--grant", "deal:*=own", "--grant", "deal:import=none", user=BOSS)
    cli.ok("user", "edit", "bob", "--role", "noimport", user=BOSS)
    r = cli("import", str(src), user="bob@x.io")
    assert r.returncode == 6 and "may not import deal" in r.stderr
    assert not list((cli.root / "deals").glob("*.yaml"))
    cli.ok("import", str(src), user="alice@x.io")
    assert len(list((cli.root / "deals").glob("*.yaml"))) == 1


def test_other_kinds_by_id_and_in_listings(cli):
    team(cli)
    acme = cli.ok("company", "add", "Bob Corp", user="bob@x.io").strip()
    lead = cli.ok("lead", "add", "Bob lead", user="bob@x.io").strip()
    product = cli.ok("product", "add", "Widget", "--price", "10", user=BOSS).strip()
    assert "Bob Corp" not in cli.ok("company", "list", user="alice@x.io")
    assert "Bob Corp" in cli.ok("company", "list", user="bob@x.io")
    assert "Bob lead" not in cli.ok("lead", "list", user="alice@x.io")
    for args in (("company", "show", acme), ("lead", "show", lead)):
        r = cli(*args, user="alice@x.io")
        assert r.returncode == 6 and "alice may not read" in r.stderr, args
    assert "Widget" in cli.ok("product", "show", product, user="alice@x.io")  # manager: product:read=all
    # naming a hidden company links to it: no duplicate client is created behind the user's back
    deal = cli.ok("deal", "add", "For Bob Corp", "--company", "Bob Corp", user="alice@x.io").strip()
    assert len(list((cli.root / "companies").glob("*.yaml"))) == 1
    assert yaml.safe_load((cli.root / "deals" / f"{deal}.yaml").read_text())["company"] == acme


def test_intake_acts_as_its_configured_user(cli):
    """intake.user of dealcli.yaml (written by an admin) is trusted like a real identity: the mail
    server's own account need not be a user, and what intake creates is judged as that user's."""
    from intake_helpers import FIXTURES, configure, records, run_bytes

    team(cli)
    configure(cli.root, user="alice@x.io", mailboxes={"default": {"pipeline": "sales"}})
    proc = run_bytes(cli, "intake", "email", "-", data=(FIXTURES / "first.eml").read_bytes(), user="postfix@mail.host")
    assert proc.returncode == 0, proc.stderr
    (deal,) = records(cli.root, "deals").values()
    assert deal["created_by"] == "alice" and deal["responsible"] == "alice"
    # without intake.user the mail server's identity is refused, and the message is kept
    configure(cli.root, mailboxes={"default": {"pipeline": "sales"}})
    proc = run_bytes(cli, "intake", "email", "-", data=(FIXTURES / "reply.eml").read_bytes(), user="postfix@mail.host")
    assert proc.returncode != 0 and "postfix@mail.host is not a user" in proc.stderr
