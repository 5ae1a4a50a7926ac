"""Users, departments and roles in dealcli.yaml (`users:`, `departments:`, `roles:`), and the
questions about them (`whoami`, `can`). Every change is one `save_config` in a transaction, so
the access guard (dealcli/access.py) decides it like any other write: in a repository with
users, changing them needs the settings right (the built-in admin role)."""

from __future__ import annotations

import re
from typing import Any

from dealcli import access
from dealcli.errors import Conflict, NotFound, RuleViolation, UsageError, Violation, Words
from dealcli.session import Session
from dealcli import i18n
from dealcli.i18n import Text

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _name(text: str, what: str) -> str:
    text = (text or "").strip()
    if not _NAME.match(text):
        raise UsageError(i18n._("{what} {text!r}: use letters, digits, '.', '_' or '-' (at most 64, no spaces)").format(
            what=what, text=text))
    return text


def policy(s: Session) -> access.Policy:
    return access.Policy.from_config(s.repo.config)


def _update(s: Session, section: str, change) -> dict:
    """Apply `change(mapping_of_section, config)` to a copy of the settings and save them in one
    transaction; returns the new section."""
    with s.repo.transaction():
        config = dict(s.repo.config)
        part = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (config.get(section) or {}).items()}
        change(part, config)
        config[section] = part
        s.repo.save_config(config)
    return part


# -- users ----------------------------------------------------------------------------------------
def _check_user(s: Session, login: str, data: dict, users: dict, config: dict) -> None:
    for email in data.get("emails") or []:
        if not _EMAIL.match(email):
            raise UsageError.about("email", "{0} {email!r}: not an e-mail address", email=email)
        for other, u in users.items():
            if other != login and email.lower() in [str(e).lower() for e in (u.get("emails") or [])]:
                raise Conflict(i18n._("e-mail {email} already belongs to user {other}").format(
                    email=email, other=other))
    dept = data.get("dept")
    if dept and dept not in (config.get("departments") or {}):
        raise NotFound(i18n._("department {dept!r}: no such department (add it with `dealcli dept add {dept}`)").format(
            dept=dept))
    known = set(access.BUILTIN_ROLES) | set(config.get("roles") or {})
    for role in data.get("roles") or []:
        if role not in known:
            raise NotFound(i18n._("role {role!r}: no such role (roles: {join_sorted_known})").format(
                role=role, join_sorted_known=', '.join(sorted(known))))


def user_add(s: Session, login: str, name: str | None = None, emails=(), dept: str | None = None,
             roles=()) -> dict:
    login = _name(login, "login")
    record: dict[str, Any] = {"name": name or login, "emails": [e.strip() for e in emails], "dept": dept,
              "roles": list(roles) or ["manager"]}
    first = not (s.repo.config.get("users") or {})

    def change(users: dict, config: dict) -> None:
        if login in users:
            raise Conflict(i18n._("user {login!r} already exists").format(login=login))
        _check_user(s, login, record, users, config)
        users[login] = record

    _update(s, "users", change)
    if first and "admin" not in record["roles"]:
        s.notice(Words(("role",), "{login} is the first user: from now on only users with the settings right (role "
                       "admin) may change users, roles and settings; add yourself with {0} admin", {"login": login}))
    return {"login": login, **record}


def user_edit(s: Session, login: str, name: str | None = None, emails=None, dept: str | None = None,
              roles=None) -> dict:
    def change(users: dict, config: dict) -> None:
        if login not in users:
            raise NotFound(i18n._("user {login!r}: no such user").format(login=login))
        u = dict(users[login])
        if name is not None:
            u["name"] = name
        if emails is not None:
            u["emails"] = [e.strip() for e in emails]
        if dept is not None:
            u["dept"] = dept or None
        if roles is not None:
            u["roles"] = list(roles)
        _check_user(s, login, u, users, config)
        users[login] = u

    return {"login": login, **_update(s, "users", change)[login]}


def user_delete(s: Session, login: str) -> None:
    def change(users: dict, config: dict) -> None:
        if login not in users:
            raise NotFound(i18n._("user {login!r}: no such user").format(login=login))
        heads = [d for d, info in (config.get("departments") or {}).items()
                 if isinstance(info, dict) and info.get("head") == login]
        if heads:
            raise RuleViolation(Violation("head-of-department", Text("user {login} heads department(s) "
                                               "{heads}; give them another head first", login=login,
                                                                     heads=', '.join(heads)), "head", login))
        del users[login]

    _update(s, "users", change)


def user_rows(s: Session) -> list[dict]:
    p = policy(s)
    return [{"login": login, "name": u.get("name"), "emails": ", ".join(map(str, u.get("emails") or [])),
             "dept": u.get("dept"), "roles": ", ".join(p.roles_of(login))} for login, u in sorted(p.users.items())]


def user_show(s: Session, ref: str) -> dict:
    p = policy(s)
    login = p.login_of(ref)
    if login is None:
        raise NotFound(i18n._("user {ref!r}: no such user").format(ref=ref))
    u = p.users[login]
    return {"login": login, "name": u.get("name"), "emails": list(u.get("emails") or []), "dept": u.get("dept"),
            "roles": p.roles_of(login),
            "heads": [d for d, i in sorted(p.departments.items()) if i.get("head") == login]}


def whoami(s: Session) -> dict:
    p = policy(s)
    if not p.active:
        return {"login": None, "identity": s.user, "note": "this repository has no users: everyone may do everything"}
    out = user_show(s, s.user)
    out["real_identity"] = s.real_user()  # who runs it, --as aside
    return out


# -- departments -------------------------------------------------------------------------------
def dept_add(s: Session, name: str, parent: str | None = None, head: str | None = None,
             title: str | None = None) -> dict:
    name = _name(name, "department")
    record = {"name": title or name, "parent": parent, "head": head}

    def change(depts: dict, config: dict) -> None:
        if name in depts:
            raise Conflict(i18n._("department {name!r} already exists").format(name=name))
        _check_dept(name, record, depts, config)
        depts[name] = record

    _update(s, "departments", change)
    return {"id": name, **record}


def dept_edit(s: Session, name: str, parent: str | None = None, head: str | None = None,
              title: str | None = None) -> dict:
    def change(depts: dict, config: dict) -> None:
        if name not in depts:
            raise NotFound(i18n._("department {name!r}: no such department").format(name=name))
        d = dict(depts[name])
        if parent is not None:
            d["parent"] = parent or None
        if head is not None:
            d["head"] = head or None
        if title is not None:
            d["name"] = title
        _check_dept(name, d, depts, config)
        depts[name] = d

    return {"id": name, **_update(s, "departments", change)[name]}


def dept_delete(s: Session, name: str) -> None:
    def change(depts: dict, config: dict) -> None:
        if name not in depts:
            raise NotFound(i18n._("department {name!r}: no such department").format(name=name))
        users = [u for u, info in (config.get("users") or {}).items()
                 if isinstance(info, dict) and info.get("dept") == name]
        subs = [d for d, info in depts.items() if isinstance(info, dict) and info.get("parent") == name]
        if users or subs:
            raise RuleViolation(Violation("department-in-use", Text("department {name} still has {what}", name=name,
                                          what=", ".join(filter(None, [
                                              i18n._("users {users}").format(users=", ".join(users)) if users else None,
                                              i18n._("sub-departments {subs}").format(subs=", ".join(subs)) if subs
                                              else None]))),
                                          "department", name))
        del depts[name]

    _update(s, "departments", change)


def _check_dept(name: str, record: dict, depts: dict, config: dict) -> None:
    parent, head = record.get("parent"), record.get("head")
    if parent:
        if parent not in depts:
            raise NotFound.about("parent", "{0} {parent!r}: no such department", parent=parent)
        seen, cur = {name}, parent
        while cur:
            if cur in seen:
                raise RuleViolation(Violation("department-cycle", Text("department {name} cannot be inside "
                                                   "{parent}: that makes a cycle", name=name,
                                                                       parent=parent), "parent", parent))
            seen.add(cur)
            cur = (depts.get(cur) or {}).get("parent")
    if head and head not in (config.get("users") or {}):
        raise NotFound.about("head", "{0} {head!r}: no such user", head=head)


def dept_rows(s: Session) -> list[dict]:
    """Departments as a tree: parents before their children, `path` is a/b/c."""
    p = policy(s)
    out: list[dict] = []

    def walk(parent: str | None, prefix: str) -> None:
        for d, info in sorted(p.departments.items()):
            if (info.get("parent") or None) == parent:
                path = f"{prefix}{d}"
                members = [u for u in sorted(p.users) if p.dept_of(u) == d]
                out.append({"id": d, "name": info.get("name"), "parent": parent, "head": info.get("head"),
                            "path": path, "members": ", ".join(members)})
                walk(d, path + "/")

    walk(None, "")
    return out


def dept_show(s: Session, name: str) -> dict:
    for row in dept_rows(s):
        if row["id"] == name:
            return row
    raise NotFound(i18n._("department {name!r}: no such department").format(name=name))


# -- roles ---------------------------------------------------------------------------------------
def _selector(g: access.Grant) -> tuple:
    return (g.kind, g.pipeline, g.stage, g.action)


def role_save(s: Session, name: str, grants=(), revoke=(), description: str | None = None,
              new: bool = False) -> dict:
    """`role add` (new=True) or `role edit`: a --grant with the same KIND[PIPELINE].stage[STAGE]:ACTION
    as an existing one replaces it; --revoke SELECTOR (the part before `=`) removes one. Editing a
    built-in role stores its edited copy in dealcli.yaml."""
    name = _name(name, "role")
    parsed = [access.parse_grant(g) for g in grants]
    removed = []
    for sel in revoke:
        removed.append(_selector(access.parse_grant(f"{sel.split('=')[0]}=none")))

    def change(roles: dict, config: dict) -> None:
        exists = name in roles or name in access.BUILTIN_ROLES
        if new and exists:
            raise Conflict(i18n._("role {name!r} already exists").format(name=name) + (
                i18n._(" (built in: use `role edit`)") if name in access.BUILTIN_ROLES else ""))
        if not new and not exists:
            raise NotFound(i18n._("role {name!r}: no such role").format(name=name))
        current = roles.get(name) or access.BUILTIN_ROLES.get(name) or {}
        role = dict(current) if isinstance(current, dict) else {"grants": list(current or [])}
        kept = [access.parse_grant(g) for g in role.get("grants") or []]
        for sel in removed:
            if sel not in [_selector(g) for g in kept]:
                raise NotFound.about("revoke", "{0}: role {name} has no grant for {sel}", name=name, sel=sel)
            kept = [g for g in kept if _selector(g) != sel]
        for g in parsed:
            kept = [k for k in kept if _selector(k) != _selector(g)] + [g]
        role["grants"] = [str(g) for g in kept]
        if description is not None:
            role["description"] = description
        roles[name] = role

    return {"name": name, **_update(s, "roles", change)[name]}


def role_delete(s: Session, name: str) -> None:
    def change(roles: dict, config: dict) -> None:
        if name not in roles:
            raise NotFound(i18n._("role {name!r}: no such role in dealcli.yaml").format(name=name)
                           + (i18n._(" (built-in roles cannot be deleted)")
                              if name in access.BUILTIN_ROLES else ""))
        users = [u for u, i in (config.get("users") or {}).items()
                 if isinstance(i, dict) and name in (i.get("roles") or [])]
        if users and name not in access.BUILTIN_ROLES:
            raise RuleViolation(Violation("role-in-use", Text("role {name} is given to {users}",
                                                              name=name, users=', '.join(users)), "role", name))
        del roles[name]

    _update(s, "roles", change)


def role_rows(s: Session) -> list[dict]:
    p = policy(s)
    configured = s.repo.config.get("roles") or {}
    return [{"name": n, "origin": "dealcli.yaml" if n in configured else "built-in",
             "description": (r or {}).get("description"), "grants": " ".join(map(str, p.grants_of(n)))}
            for n, r in sorted(p.roles.items())]


def role_show(s: Session, name: str) -> dict:
    for row in role_rows(s):
        if row["name"] == name:
            row["grants"] = row["grants"].split()
            row["users"] = [u for u in sorted(policy(s).users) if name in policy(s).roles_of(u)]
            return row
    raise NotFound(i18n._("role {name!r}: no such role").format(name=name))


# -- can -----------------------------------------------------------------------------------------
def can(s: Session, user: str, action: str, record: str) -> access.Decision:
    """May USER do ACTION on RECORD? RECORD: KIND:ID, a deal id, or a bare KIND (a new record the
    user would own). ACTION move:STAGE asks about moving a deal into STAGE."""
    p = policy(s)
    if not p.active:
        return access.Decision(True, user, action, "any", record, why="the repository has no users")
    login = p.login_of(user)
    if login is None:
        raise NotFound(i18n._("user {user!r}: no such user").format(user=user))
    action, _, stage = action.partition(":")
    if action not in access.ACTIONS:
        raise UsageError(i18n._("action {action!r}: one of {join_access_actions}").format(
            action=action, join_access_actions=', '.join(access.ACTIONS)))
    kind, sep, rid = record.partition(":")
    folder = {v: k for k, v in access.KIND_OF_FOLDER.items() if k not in ("config", "file", "pipelines")}
    if not sep:
        kind, rid = (record, "") if record in access.RECORD_KINDS else ("deal", record)
    if kind not in access.RECORD_KINDS:
        raise UsageError(i18n._("record {record!r}: KIND:ID with KIND one of {join_access_record_kinds}").format(
            record=record, join_access_record_kinds=', '.join(access.RECORD_KINDS)))
    data: dict = {"responsible": login}
    if kind == "user":
        target = p.login_of(rid) if rid else login
        if target is None:
            raise NotFound(i18n._("user {rid!r}: no such user").format(rid=rid))
        data, rid = {"login": target}, target
    elif rid and kind in folder:
        rid = s.repo.resolve(folder[kind], rid)
        loaded = s.repo.load(folder[kind], rid).data
        data = loaded if isinstance(loaded, dict) else {}
    return p.decide(login, action, kind, data, rid or None, stage or None)
