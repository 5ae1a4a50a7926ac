"""dealcli/access.py as pure functions: the level x action x kind matrix, the grant syntax, rule
choice (fallback chains, specificity, several roles), identity and --as."""

from __future__ import annotations

import pytest

from dealcli import access
from dealcli.errors import NotAllowed, UsageError

KINDS = ("deal", "company", "contact", "lead", "quote", "activity", "product", "recurring")
ACTIONS = ("read", "add", "edit", "delete", "export", "import")
# the owner of the record -> the levels that let "me" (department east) act on it
OWNERS = {
    "me": {"own", "department", "department+sub", "all"},
    "mate": {"department", "department+sub", "all"},  # same department
    "sub": {"department+sub", "all"},  # a sub-department of mine
    "boss": {"all"},  # the parent department: not below me
    "other": {"all"},  # another branch
    None: {"all"},  # no responsible
}


def policy(*grants: str, more_roles: dict | None = None) -> access.Policy:
    roles = {"r": {"grants": list(grants)}}
    roles.update(more_roles or {})
    return access.Policy.from_config({
        "users": {
            "me": {"emails": ["me@x.io"], "dept": "east", "roles": ["r", *(more_roles or {})]},
            "mate": {"dept": "east", "roles": []},
            "sub": {"dept": "east1", "roles": []},
            "boss": {"dept": "sales", "roles": []},
            "other": {"dept": "west", "roles": []},
        },
        "departments": {"sales": {}, "east": {"parent": "sales"}, "east1": {"parent": "east"},
                        "west": {"parent": "sales"}},
        "roles": roles,
    })


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("level", access.LEVELS)
def test_level_action_kind_matrix(kind, action, level):
    p = policy(f"{kind}:{action}={level}")
    for owner, levels in OWNERS.items():
        record = {"id": "r1", "responsible": owner} if owner else {"id": "r1"}
        d = p.decide("me", action, kind, record)
        assert d.allowed == (level in levels), (owner, d.line())
        if d.allowed or level != "none":
            assert d.rule == f"{kind}:{action}={level}" and d.role == "r"
    # the grant says nothing about the other kinds and actions: they stay at none
    other_kind = next(k for k in KINDS if k != kind)
    assert not p.decide("me", action, other_kind, {"responsible": "me"}).allowed
    other_action = {"read": "delete", "export": "delete", "import": "delete"}.get(action, "read")
    assert not p.decide("me", other_action, kind, {"responsible": "me"}).allowed


def test_owner_by_email_and_created_by():
    p = policy("deal:edit=own")
    assert p.decide("me", "edit", "deal", {"responsible": "ME@x.io"}).allowed
    assert p.decide("me", "edit", "deal", {"created_by": "me"}).allowed
    assert not p.decide("me", "edit", "deal", {"responsible": "mate", "created_by": "me"}).allowed


def test_fallback_chains_and_star():
    p = policy("deal:edit=all", "deal:read=own", "*:*=department")
    assert p.decide("me", "move", "deal", {"responsible": "other"}, stage="won").allowed  # move -> edit
    assert p.decide("me", "reopen", "deal", {"responsible": "other"}).allowed  # reopen -> edit
    assert not p.decide("me", "export", "deal", {"responsible": "mate"}).allowed  # export -> read (own)
    assert p.decide("me", "import", "deal", {"responsible": "mate"}).allowed  # import -> add -> * (department)
    assert p.decide("me", "delete", "company", {"responsible": "mate"}).allowed
    assert not p.decide("me", "delete", "company", {"responsible": "other"}).allowed


def test_stage_and_pipeline_rules_are_more_specific():
    p = policy("deal:*=all", "deal.stage[won]:move=none", "deal[sales]:read=own")
    assert not p.decide("me", "move", "deal", {"responsible": "me", "pipeline": "sales"}, stage="won").allowed
    assert p.decide("me", "move", "deal", {"responsible": "me", "pipeline": "sales"}, stage="lose").allowed
    assert not p.decide("me", "read", "deal", {"responsible": "other", "pipeline": "sales"}).allowed
    assert p.decide("me", "read", "deal", {"responsible": "other", "pipeline": "service"}).allowed
    # the current stage decides read/edit rules with .stage[...]
    q = policy("deal:edit=all", "deal.stage[won]:edit=none")
    assert not q.decide("me", "edit", "deal", {"stage": "won"}).allowed
    assert q.decide("me", "edit", "deal", {"stage": "new"}).allowed


def test_the_most_permissive_role_wins_and_last_grant_wins_a_tie():
    p = policy("deal:edit=own", more_roles={"wide": {"grants": ["deal:edit=department"]}})
    d = p.decide("me", "edit", "deal", {"responsible": "mate"})
    assert d.allowed and d.role == "wide"
    q = policy("deal:edit=all", "deal:edit=none")
    assert not q.decide("me", "edit", "deal", {}).allowed


def test_builtin_roles():
    p = access.Policy.from_config({
        "users": {"a": {"roles": ["admin"]}, "m": {"dept": "d", "roles": ["manager"]},
                  "h": {"dept": "d", "roles": ["head"]}, "v": {"roles": ["viewer"]}, "x": {"dept": "d"}},
        "departments": {"d": {}}})
    mine = {"responsible": "m", "stage": "new", "pipeline": "sales"}
    assert p.decide("a", "settings", "settings").allowed
    assert p.decide("m", "edit", "deal", mine).allowed
    assert not p.decide("m", "move", "deal", mine, stage="won").allowed
    assert p.decide("m", "move", "deal", mine, stage="lose").allowed
    assert not p.decide("m", "reopen", "deal", mine).allowed
    assert not p.decide("m", "delete", "deal", mine).allowed
    assert not p.decide("m", "settings", "settings").allowed
    assert p.decide("h", "move", "deal", mine, stage="won").allowed
    assert p.decide("h", "reopen", "deal", mine).allowed
    assert not p.decide("h", "settings", "settings").allowed
    assert p.decide("v", "read", "deal", mine).allowed and not p.decide("v", "edit", "deal", mine).allowed
    assert not p.decide("x", "read", "deal", mine).allowed  # no roles: nothing


def test_write_actions():
    p = policy("deal:*=all")
    assert p.write_action("deal", None, {"stage": "new"}) == ("add", None)
    assert p.write_action("deal", {"stage": "new"}, None) == ("delete", None)
    open_, won = {"stage": "new", "status": "open"}, {"stage": "won", "status": "won"}
    assert p.write_action("deal", open_, won) == ("move", "won")
    assert p.write_action("deal", won, open_) == ("reopen", None)
    assert p.write_action("deal", {"stage": "new", "title": "a"}, {"stage": "new", "title": "b"}) == ("edit", None)
    assert p.write_action("company", {"name": "a"}, {"name": "b"}) == ("edit", None)


def test_handing_a_record_over_needs_the_right_on_both_owners():
    p = policy("deal:edit=own")
    ds = p.decide_write("me", "deals", "d1", {"responsible": "me"}, {"responsible": "other"})
    assert [d.allowed for d in ds] == [True, False]
    assert all(d.allowed for d in policy("deal:edit=all").decide_write("me", "deals", "d1", {"responsible": "me"},
                                                                      {"responsible": "other"}))


def test_a_move_into_another_pipeline_needs_the_rules_of_both():
    p = policy("deal:*=all", "deal[service]:*=none")
    ds = p.decide_write("me", "deals", "d1", {"pipeline": "sales", "stage": "new", "responsible": "me"},
                        {"pipeline": "service", "stage": "visit", "responsible": "me"})
    assert [d.allowed for d in ds] == [True, False] and ds[1].rule == "deal[service]:*=none"
    back = p.decide_write("me", "deals", "d1", {"pipeline": "service", "stage": "visit"},
                          {"pipeline": "sales", "stage": "new"})
    assert [d.allowed for d in back] == [False, True]


def test_settings_and_imports():
    p = policy("settings:*=own", "deal:add=all", "deal:import=none")
    assert p.decide_write("me", "config", "dealcli", {}, {})[0].allowed  # settings: any level but none
    assert p.decide_write("me", "pipelines", "sales", None, {})[0].action == "settings"
    assert p.decide_write("me", "deals", "d1", None, {"responsible": "me"})[0].allowed
    assert not p.decide_write("me", "deals", "d1", None, {"responsible": "me"}, purpose="import")[0].allowed
    assert not policy("deal:*=all").decide_write("me", "config", "dealcli", {}, {})[0].allowed


@pytest.mark.parametrize("text, parsed", [
    ("deal:edit=department", ("deal", "edit", "department", None, None)),
    ("deal[sales]:read=all", ("deal", "read", "all", "sales", None)),
    ("deal[sales].stage[won]:move=none", ("deal", "move", "none", "sales", "won")),
    ("deal.stage[won]:move=none", ("deal", "move", "none", None, "won")),
    ("*:*=department+sub", ("*", "*", "department+sub", None, None)),
])
def test_grant_syntax(text, parsed):
    g = access.parse_grant(text)
    assert (g.kind, g.action, g.level, g.pipeline, g.stage) == parsed
    assert str(g) == text


@pytest.mark.parametrize("text", ["deal:edit", "deal:edit=some", "dael:edit=all", "deal:fly=all",
                                  "company[sales]:read=all", "deal[]:read=all", "deal:edit=all extra"])
def test_bad_grants_are_usage_errors(text):
    with pytest.raises(UsageError):
        access.parse_grant(text)


def test_identity():
    p = access.Policy.from_config({"users": {"boss": {"emails": ["boss@x.io"], "roles": ["admin"]},
                                             "h": {"dept": "d", "roles": ["head"]},
                                             "m": {"dept": "d", "emails": ["m@x.io"], "roles": ["manager"]},
                                             "o": {"dept": "e", "roles": ["manager"]}},
                                   "departments": {"d": {}, "e": {}}})
    assert access.identify(p, None, "BOSS@x.io") == "boss"
    assert access.identify(p, None, "m") == "m"
    assert access.identify(p, "m@x.io", "m") == "m"  # --as oneself
    assert access.identify(p, "m", "boss@x.io") == "m"  # admin may act as anyone
    assert access.identify(p, "m", "h") == "m"  # a head as the people of the department
    for as_user, real in (("o", "h"), ("h", "m"), ("m", "mallory@evil.example"), ("nobody", "boss"),
                          (None, "mallory@evil.example"), (None, None)):
        with pytest.raises(NotAllowed):
            access.identify(p, as_user, real)


def test_config_problems():
    found = access.config_problems({
        "users": {"a": {"dept": "nope", "roles": ["ghost"], "emails": ["x@y.z"]}, "b": {"emails": ["X@y.z"]}},
        "departments": {"d1": {"parent": "d2", "head": "zed"}, "d2": {"parent": "d1"}},
        "roles": {"r": {"grants": ["deal:fly=all"]}}})
    text = "\n".join(str(v) for v in found)
    for bit in ("no such department 'nope'", "no such role 'ghost'", "belongs to users a and b",
                "head 'zed' is not a user", "cycle", "unknown action 'fly'"):
        assert bit in text
