"""`dealcli import --kind user`: the people of the old CRM (a sales-teams file, a users export)
as users of dealcli.yaml, with their departments.

A row gives a user: `login` (else made from the name, `Anna Snelling` -> `anna.snelling`, else
from the e-mail), `name`, `emails`, `dept` (a department name: created if missing), `roles`
(comma-separated; default manager) and `manager` (a name or login). A manager heads a team: the
department `team-<manager login>` (named "<manager> team", under the row's department) is
created with the manager as its head, and the user belongs to it; a manager who is no user yet
is added (role head, in the row's department). So the Maven `sales_teams.csv` (sales_agent,
manager, regional_office) gives 35 agents in 6 teams under 3 offices, and each manager sees
their team's deals (docs/access.md).

A user that exists (the row's login; without one, one of its e-mails or the name's login)
gains the e-mails and the department it lacks and is otherwise unchanged: re-running the file
changes nothing. Everything is one change of dealcli.yaml, in one transaction (all-or-nothing).
Importing the first users turns access rights on, so a repository without users is refused
unless the acting user is among them (add yourself first: `dealcli user add LOGIN --role admin`)."""

from __future__ import annotations

import re
import unicodedata

from dealcli import access, i18n
from dealcli.errors import UsageError
from dealcli.importing import records
from dealcli.importing.values import ValueProblem

_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def slug(text: str) -> str:
    """A login or department id made from a name: ASCII letters and digits joined by '.'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join(re.findall(r"[a-z0-9]+", plain.lower()))[:64]


class Team:
    """The users and departments of dealcli.yaml as this import leaves them."""

    def __init__(self, config: dict):
        self.users = {k: dict(v or {}) for k, v in (config.get("users") or {}).items()}
        self.depts = {k: dict(v or {}) for k, v in (config.get("departments") or {}).items()}
        self.roles = set(access.BUILTIN_ROLES) | set(config.get("roles") or {})
        self.created = 0
        self.depts_created = 0
        self.changed: list[str] = []  # logins created or updated, in order

    def login_of(self, text: str) -> str | None:
        if text in self.users:
            return text
        low = text.lower()
        for login, u in self.users.items():
            if low in [str(e).lower() for e in u.get("emails") or []] or str(u.get("name") or "").lower() == low:
                return login
        return None

    def dept(self, name: str, parent: str | None = None, head: str | None = None, dept_id: str | None = None) -> str:
        for k, d in self.depts.items():
            if k == name or str(d.get("name") or "").lower() == name.lower():
                return k
        dept_id = dept_id or (name if _LOGIN.match(name) else slug(name))
        if not dept_id:
            raise ValueProblem(i18n._("cannot be made a department id (letters, digits, '.', '_', '-')"))
        self.depts[dept_id] = {"name": name, "parent": parent, "head": head}
        self.depts_created += 1
        return dept_id


def plan_and_write(s, opts, source, fmt: str) -> records.RecordResult:
    """The rows of `source`, checked, then written in the transaction records.run holds."""
    result = records.RecordResult("user", dry_run=opts.dry_run)
    config = dict(s.repo.config)
    team = Team(config)
    had_users = bool(team.users)
    errors: list = []
    problems: list[str] = []
    for row, mapped in records.mapped_rows("user", source, fmt, opts, errors, result):
        got = {t: str(row.values[c]).strip() for c, t in mapped.items()
               if row.values.get(c) is not None and str(row.values[c]).strip()}
        try:
            action, _ = _plan(team, got)
        except ValueProblem as exc:
            problems.append(f"{source.name}:{row.line}: {exc.args[0]}")
            continue
        if action == "unchanged":
            result.unchanged += 1
            continue
        result.updated += action == "update"
    problems += [f"{source.name}:{e.line}: {e.column}: {e.problem}" for e in errors]
    if problems:
        from dealcli.importing import ImportFailed

        raise ImportFailed(problems)
    result.created = team.created  # the managers a row names too
    result.companies = team.depts_created  # worded as departments by the notice
    result.ids = team.changed
    if not had_users and team.users and access.Policy.from_config(
            {**config, "users": team.users, "departments": team.depts}).login_of(s.user) is None:
        raise UsageError.about("kind", "importing the first users turns access rights on and {user} is not among "
                               "them: add yourself first (`dealcli user add LOGIN --email {user} --role admin`)",
                               user=s.user)
    if not opts.dry_run and (team.changed or team.depts_created):
        s.repo.save_config({**config, "users": team.users, "departments": team.depts})
    return result


def _plan(team: Team, got: dict) -> tuple[str, str]:
    """("create" | "update" | "unchanged", login) for one row, applied to `team`."""
    emails = [e for e in re.split(r"[\s,;]+", got.get("emails", "")) if e]
    bad = [e for e in emails if not _EMAIL.match(e)]
    if bad:
        raise ValueProblem(i18n._("emails: {email!r}: not an e-mail address").format(email=bad[0]))
    name = got.get("name")
    login = got.get("login") or (slug(name) if name else "") or (slug(emails[0].split("@")[0]) if emails else "")
    if not login or not _LOGIN.match(login):
        raise ValueProblem(i18n._("login: {login!r}: a user needs a login, a name or an e-mail (letters, digits, "
                                  "'.', '_', '-')").format(login=login or name))
    roles = [r.strip() for r in re.split(r"[,;]", got.get("roles", "")) if r.strip()]
    unknown = [r for r in roles if r not in team.roles]
    if unknown:
        raise ValueProblem(i18n._("roles: {role!r}: no such role (roles: {roles})").format(
            role=unknown[0], roles=", ".join(sorted(team.roles))))
    office = team.dept(got["dept"]) if got.get("dept") else None
    dept = office
    if got.get("manager"):
        boss = team.login_of(got["manager"]) or slug(got["manager"])
        if not boss:
            raise ValueProblem(i18n._("manager: {manager!r}: cannot be made a login").format(manager=got["manager"]))
        if boss not in team.users:
            team.users[boss] = {"name": got["manager"], "emails": [], "dept": office, "roles": ["head"]}
            team.created += 1
            team.changed.append(boss)
        dept = team.dept(f"{team.users[boss].get('name') or boss} team", parent=office, head=boss,
                         dept_id=f"team-{boss}"[:64])
    by_email = next((team.login_of(e) for e in emails if team.login_of(e)), None)
    found = team.login_of(login) if got.get("login") else (by_email or team.login_of(login))
    for email in emails:
        owner = team.login_of(email)
        if owner is not None and owner != (found or login):
            raise ValueProblem(i18n._("emails: {email!r}: already the e-mail of user {owner}").format(
                email=email, owner=owner))
    if found is None:
        team.users[login] = {"name": name or login, "emails": emails, "dept": dept, "roles": roles or ["manager"]}
        team.created += 1
        team.changed.append(login)
        return "create", login
    user = team.users[found]
    known = [str(e).lower() for e in user.get("emails") or []]
    new_emails = [e for e in emails if e.lower() not in known]
    if not new_emails and (user.get("dept") or not dept):
        return "unchanged", found
    user["emails"] = list(user.get("emails") or []) + new_emails
    user["dept"] = user.get("dept") or dept
    if found not in team.changed:
        team.changed.append(found)
    return "update", found
