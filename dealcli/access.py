"""Access rights: users, departments, roles and the ONE place that decides who may do what.

Pure decision functions on a `Policy` (built from the `users:`, `departments:` and `roles:`
of dealcli.yaml) plus the small `Guard` the Session installs on its Repository when the
repository has users. The Repository calls the guard at its two choke points:
- every staged write (`Repository._stage`: create, update, remove, save_config, write_file)
  -> `Guard.check_write(kind, id, old, new)`, which raises NotAllowed (exit 6) BEFORE the
  write is staged, so the transaction writes nothing;
- every whole-kind read (`Repository.records` / `iter_docs`, behind Session.deal_records,
  iter_deals and every listing, board, calendar, agenda, export and report) ->
  `Guard.visible(kind, data)`, so hidden records never reach an aggregate.
Direct reads of one deal (Session.load_deal: show, history, edit ...) ask `Guard.require_read`.
`dealcli check --audit` and the pre-receive hook (dealcli/audit.py) call the same
`decide_write` on each changed file of a commit. See docs/access.md.

Grant syntax (a role is a list of grants): KIND[PIPELINE].stage[STAGE]:ACTION=LEVEL
  deal:edit=department   deal[sales]:read=all   deal.stage[won]:move=none   *:*=all
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dealcli import kinds
from dealcli.errors import DealcliError, NotAllowed, UsageError, Words
from dealcli import i18n
from dealcli.i18n import N_, Text

LEVELS = ("none", "own", "department", "department+sub", "all")
RECORD_KINDS = ("deal", "company", "contact", "lead", "quote", "activity", "product", "recurring",
                "settings", "user")
ACTIONS = ("read", "add", "edit", "delete", "export", "import", "settings", "move", "reopen",
           "edit_closed", "impersonate")
# an action without a rule of its own is decided by the rule of the next one in its chain
# (a correction of a closed deal is what reopen, edit and close again would do)
FALLBACK = {"move": "edit", "reopen": "edit", "edit_closed": "reopen", "export": "read", "import": "add"}
CORRECTED = ("amount", "manual_amount", "products", "fields", "close_date", "closed_at")  # edit_closed changes
KIND_OF_FOLDER = kinds.ACCESS_OF_FOLDER  # declared in dealcli/kinds.py
OWNERLESS = ("settings",)  # any level but none allows

BUILTIN_ROLES: dict[str, dict] = {
    "admin": {"description": "everything, including settings, users and acting as another user",
              "grants": ["*:*=all"]},
    "head": {"description": "a department head: the records of the department and its sub-departments; "
                            "may move deals into any stage, reopen them and act as its people",
             "grants": ["*:*=department+sub", "settings:*=none", "product:read=all",
                        "user:impersonate=department+sub"]},
    "manager": {"description": "own records; reads the department's; may not delete, reopen, or "
                               "close a deal as won",
                "grants": ["*:*=own", "*:read=department", "product:read=all", "deal:delete=none",
                           "deal:reopen=none", "deal.stage[won]:move=none", "settings:*=none",
                           "user:*=none"]},
    "viewer": {"description": "reads everything, changes nothing",
               "grants": ["*:read=all", "*:export=all", "settings:*=none", "user:*=none"]},
}

_GRANT = re.compile(r"^(?P<kind>\*|[a-z]+)(?:\[(?P<pipeline>[^\]\s]+)\])?(?:\.stage\[(?P<stage>[^\]\s]+)\])?"
                    r":(?P<action>\*|[a-z_]+)=(?P<level>[a-z+]+)$")


@dataclass(frozen=True)
class Grant:
    kind: str
    action: str
    level: str
    pipeline: str | None = None
    stage: str | None = None

    def __str__(self) -> str:
        where = self.kind + (f"[{self.pipeline}]" if self.pipeline else "") + (
            f".stage[{self.stage}]" if self.stage else "")
        return f"{where}:{self.action}={self.level}"

    def matches(self, kind: str, action: str, pipeline: str | None, stage: str | None) -> bool:
        return (self.kind in ("*", kind) and self.action in ("*", action)
                and (self.pipeline is None or self.pipeline == pipeline)
                and (self.stage is None or self.stage == stage))

    @property
    def specificity(self) -> tuple:
        return (self.stage is not None, self.pipeline is not None, self.kind != "*")


def parse_grant(text: str, field: str = "grant") -> Grant:
    """A grant KIND[PIPELINE].stage[STAGE]:ACTION=LEVEL; UsageError about `field` otherwise."""
    m = _GRANT.match(str(text).strip().replace(" ", ""))

    def bad(problem: str, **values) -> UsageError:
        return UsageError.about(field, "{0} {text!r}: {problem}", text=text, problem=Words((), problem, values))

    if not m:
        raise bad(N_("expected KIND[PIPELINE].stage[STAGE]:ACTION=LEVEL, e.g. deal:edit=department or "
                  "deal[sales].stage[won]:move=none"))
    g = Grant(m["kind"], m["action"], m["level"], m["pipeline"], m["stage"])
    if g.kind != "*" and g.kind not in RECORD_KINDS:
        raise bad(N_("unknown kind {kind!r} (kinds: * {known})"), kind=g.kind, known=" ".join(RECORD_KINDS))
    if g.action != "*" and g.action not in ACTIONS:
        raise bad(N_("unknown action {action!r} (actions: * {known})"), action=g.action, known=" ".join(ACTIONS))
    if g.level not in LEVELS:
        raise bad(N_("unknown level {level!r} (levels: {known})"), level=g.level, known=" ".join(LEVELS))
    if (g.pipeline or g.stage) and g.kind not in ("deal", "*"):
        raise bad(N_("[PIPELINE] and .stage[STAGE] apply to deals only"))
    return g


@dataclass
class Decision:
    allowed: bool
    user: str | None
    action: str
    kind: str
    record: str | None = None
    role: str | None = None
    rule: str | None = None
    level: str = "none"
    why: str = ""
    into: str | None = None  # the stage a created deal would be in (rights cover creating into a stage)

    def line(self) -> str:
        what = f"{self.kind} {self.record}" if self.record else self.kind
        if self.into:
            what += f" into stage {self.into}"
        verdict = "may" if self.allowed else "may not"
        if self.action == "settings":
            what = "change the settings" + (f" in {self.record}" if self.record else "")
            return f"{self.user or 'unknown user'} {verdict} {what} ({self._by()})"
        if self.action == "impersonate":
            return f"{self.user or 'unknown user'} {verdict} act as {self.record} ({self._by()})"
        return f"{self.user or 'unknown user'} {verdict} {self.action} {what} ({self._by()})"

    def _by(self) -> str:
        by = f"role {self.role}: {self.rule}" if self.rule else "no grant matches (level none)"
        return by + (f"; {self.why}" if self.why else "")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class Policy:
    users: dict = field(default_factory=dict)  # login -> {name, emails, dept, roles}
    departments: dict = field(default_factory=dict)  # id -> {name, parent, head}
    roles: dict = field(default_factory=dict)  # name -> {description, grants}

    @classmethod
    def from_config(cls, config: dict) -> "Policy":
        users = {str(k): (v if isinstance(v, dict) else {}) for k, v in (config.get("users") or {}).items()}
        depts = {str(k): (v if isinstance(v, dict) else {}) for k, v in (config.get("departments") or {}).items()}
        roles = {k: dict(v) for k, v in BUILTIN_ROLES.items()}
        for k, v in (config.get("roles") or {}).items():
            roles[str(k)] = v if isinstance(v, dict) else {"grants": list(v or [])}
        return cls(users, depts, roles)

    def __post_init__(self):
        self._emails = {str(e).strip().lower(): login for login, u in self.users.items()
                        for e in (u.get("emails") or [])}
        self._grants: dict[str, list[Grant]] = {}
        self._subtrees: dict[str, set[str]] = {}

    @property
    def active(self) -> bool:
        return bool(self.users)

    # -- identity -------------------------------------------------------------------------------
    def login_of(self, identity: str | None) -> str | None:
        """A login or any e-mail of a user (case-insensitive) -> the login; None if unknown."""
        if not identity:
            return None
        text = str(identity).strip()
        if text in self.users:
            return text
        return self._emails.get(text.lower())

    def dept_of(self, login: str | None) -> str | None:
        u = self.users.get(login or "")
        return str(u["dept"]) if u and u.get("dept") else None

    def subtree(self, dept: str) -> set[str]:
        if dept not in self._subtrees:
            self._subtrees[dept] = self._below(dept)
        return self._subtrees[dept]

    def _below(self, dept: str) -> set[str]:
        out, todo = {dept}, [dept]
        while todo:
            cur = todo.pop()
            for d, info in self.departments.items():
                if str(info.get("parent") or "") == cur and d not in out:
                    out.add(d)
                    todo.append(d)
        return out

    def roles_of(self, login: str) -> list[str]:
        return [str(r) for r in (self.users.get(login, {}).get("roles") or [])]

    def grants_of(self, role: str) -> list[Grant]:
        if role not in self._grants:
            self._grants[role] = self._parse_grants(role)
        return self._grants[role]

    def _parse_grants(self, role: str) -> list[Grant]:
        out = []
        for text in (self.roles.get(role) or {}).get("grants") or []:
            try:
                out.append(parse_grant(text))
            except UsageError:
                continue  # reported by `dealcli check`
        return out

    # -- the decision ---------------------------------------------------------------------------
    def rule_for(self, role: str, kind: str, action: str, pipeline: str | None,
                 stage: str | None) -> Grant | None:
        """The grant of `role` that decides `action` on `kind`: rules naming the action itself
        first, then those of its fallback chain (move/reopen -> edit, export -> read, import ->
        add), then `*` rules; among those, the most specific (stage > pipeline > kind) wins, the
        last written on a tie."""
        grants = self.grants_of(role)
        chain = [action]
        while chain[-1] in FALLBACK:
            chain.append(FALLBACK[chain[-1]])
        for tier in [*chain, "*"]:
            found = [g for g in grants if g.action == tier and g.matches(kind, action if tier == "*" else tier,
                                                                        pipeline, stage)]
            if found:
                best = max(g.specificity for g in found)
                return [g for g in found if g.specificity == best][-1]
        return None

    def level_covers(self, level: str, actor: str, owner: str | None, kind: str) -> bool:
        if level == "all":
            return True
        if level == "none":
            return False
        if kind in OWNERLESS:
            return True
        owner = self.login_of(owner) or owner
        if level == "own":
            return owner is not None and owner == actor
        mine, theirs = self.dept_of(actor), self.dept_of(owner)
        if owner == actor:
            return True
        if not mine or not theirs:
            return False
        if level == "department":
            return mine == theirs
        return theirs in self.subtree(mine)  # department+sub

    def decide(self, actor: str | None, action: str, kind: str, record: dict | None = None,
               record_id: str | None = None, stage: str | None = None) -> Decision:
        """May `actor` (a login) do `action` on a record of `kind` (its data: owner, pipeline,
        stage)? The most permissive of the actor's roles wins."""
        record = record or {}
        rid = record_id or (str(record["id"]) if record.get("id") else None)
        if actor is None or actor not in self.users:
            return Decision(False, actor, action, kind, rid, why="not a user of this repository")
        pipeline = str(record["pipeline"]) if kind == "deal" and record.get("pipeline") else None
        if stage is None and kind == "deal" and record.get("stage"):
            stage = str(record["stage"])
        owner = owner_of(kind, record)
        best: Decision | None = None
        for role in self.roles_of(actor):
            g = self.rule_for(role, kind, action, pipeline, stage)
            if g is None:
                continue
            ok = self.level_covers(g.level, actor, owner, kind)
            d = Decision(ok, actor, action, kind, rid, role, str(g), g.level,
                         _why(self, g.level, actor, owner, kind, ok))
            if best is None or (ok and not best.allowed) or (ok == best.allowed and
                                                             LEVELS.index(g.level) > LEVELS.index(best.level)):
                best = d
        return best or Decision(False, actor, action, kind, rid,
                                why=f"roles: {', '.join(self.roles_of(actor)) or 'none'}")

    def write_action(self, kind: str, old: dict | None, new: dict | None) -> tuple[str, str | None]:
        """The action a write is: add, delete, edit; for deals a stage change is `move` (into the
        new stage), a closed deal made open again is `reopen`, and a closed deal whose amount,
        products, custom fields or dates change while it stays closed is `edit_closed`."""
        if old is None:
            return "add", None
        if new is None:
            return "delete", None
        if kind == "deal":
            if old.get("status") in ("won", "lost") and (new.get("status") == "open" or old.get("stage")
                                                         != new.get("stage")
                                                         or old.get("pipeline") != new.get("pipeline")):
                return "reopen", None  # a won deal made lost is reopened first (a merge can do it in one step)
            if old.get("stage") != new.get("stage") or old.get("pipeline") != new.get("pipeline"):
                return "move", str(new.get("stage") or "")
            if old.get("status") in ("won", "lost") and any(old.get(k) != new.get(k) for k in CORRECTED):
                return "edit_closed", None
        return "edit", None

    def decide_write(self, actor: str | None, folder: str, record_id: str, old, new,
                     purpose: str | None = None, entry=None) -> list[Decision]:
        """Every decision a write of one file needs (an edit that hands a record to another
        owner, or a move into another pipeline, must be allowed for the record before and
        after; a deal created, imported or templated into a stage other than its pipeline's
        first (`entry(pipeline id)`; every stage when not given) needs the right to move it
        there). Refused ones have allowed=False."""
        if folder == "file" and "/" in record_id:
            return []  # an attachment beside a record: judged by the record written with it
        kind = KIND_OF_FOLDER.get(folder, "settings")
        old = old if isinstance(old, dict) else (None if old is None else {})
        new = new if isinstance(new, dict) else (None if new is None else {})
        if kind == "settings":
            where = {"config": "dealcli.yaml", "file": record_id}.get(folder, f"{folder}/{record_id}.yaml")
            return [self.decide(actor, "settings", kind, None, where)]
        action, stage = self.write_action(kind, old, new)
        if action == "add" and purpose == "import":
            action = "import"
        out = [self.decide(actor, action, kind, new if old is None else old, record_id, stage)]
        into = new.get("deal") if kind == "recurring" and isinstance(new, dict) else new
        was = (old.get("deal") if kind == "recurring" else old) if isinstance(old, dict) else None
        if (action in ("add", "import") or (kind == "recurring" and isinstance(was, dict)
                                            and was.get("stage") != (into or {}).get("stage"))) and \
                kind in ("deal", "recurring") and isinstance(into, dict) and into.get("stage"):
            stage = str(into["stage"])
            first = entry(str(into.get("pipeline") or "")) if entry is not None else None
            if stage != first:
                d = self.decide(actor, "move", "deal", {**into, "responsible": into.get("responsible")
                                                        or owner_of(kind, new)}, record_id, stage)
                d.action, d.kind, d.into = action, kind, stage
                out.append(d)
        if old is not None and new is not None and owner_of(kind, old) != owner_of(kind, new):
            out.append(self.decide(actor, "edit", kind, new, record_id))
        if action == "move" and old.get("pipeline") != new.get("pipeline"):  # into another pipeline: its rules too
            out.append(self.decide(actor, "move", kind, new, record_id, stage))
        if action == "reopen" and new.get("status") in ("won", "lost"):  # reopened into another closed stage
            out.append(self.decide(actor, "move", kind, old, record_id, str(new.get("stage") or "")))
        return out


def owner_of(kind: str, record: dict | None) -> str | None:
    if not record:
        return None
    if kind == "user":
        return str(record.get("login") or "") or None
    value = record.get("responsible") or record.get("created_by")
    return str(value) if value else None


def _why(policy: Policy, level: str, actor: str, owner: str | None, kind: str, ok: bool) -> str:
    if level in ("all", "none") or kind in OWNERLESS:
        return ""
    who = policy.login_of(owner) or owner
    label = "user" if kind == "user" else "responsible"
    if level == "own":
        return f"{label}: {who or 'nobody'}"
    return Text("{label} {who_or_nobody} in department {policy_dept_of_who_or_no}, " \
                "yours: {none}", label=label, who_or_nobody=who or 'nobody',
                policy_dept_of_who_or_no=policy.dept_of(who) or 'none', none=policy.dept_of(actor) or 'none')


# -- identity ---------------------------------------------------------------------------------
def identify(policy: Policy, as_user: str | None, real: str | None) -> str:
    """The acting login: `as_user` (the command line's --as, which needs the right to act as
    that user), else the real identity ($DEALCLI_USER, the repository's default_user, git
    user.email). NotAllowed when unknown (about `as_user` when that is the one refused)."""
    real_login = policy.login_of(real)
    if as_user:
        target = policy.login_of(as_user)
        if target is None:
            raise NotAllowed.about("as_user", "{0} {as_user}: not a user of this repository (see `dealcli user "
                                   "list`) [unknown-user]", as_user=as_user)
        if target == real_login:
            return target
        if real_login is None:
            raise NotAllowed.about("as_user", "{0} {as_user}: acting as another user needs a known identity; "
                                   "{real} is not a user of this repository [unknown-user]", as_user=as_user,
                                   real=real or "nobody")
        d = policy.decide(real_login, "impersonate", "user", {"login": target}, target)
        if not d.allowed:
            raise NotAllowed.about("as_user", "{0} {as_user}: {why} [access]", as_user=as_user, why=d.line())
        return target
    if real_login is None:
        raise NotAllowed(i18n._("{real_or_nobody} is not a user of this repository: set DEALCLI_USER or git "
                         "user.email to a login or e-mail of `dealcli user list` [unknown-user]").format(
                             real_or_nobody=real or 'nobody'))
    return real_login


class Guard:
    """Installed on a Repository by the Session when the repository has users."""

    def __init__(self, session, policy: Policy):
        self.s = session
        self.policy = policy
        self.purpose: str | None = None  # "export" or "import" while such a command runs
        self._hidden_deals: set[str] | None = None
        self._busy = False

    @property
    def actor(self) -> str:
        return self.s.user

    def _deny(self, d: Decision):
        raise NotAllowed(i18n._("not allowed: {d_line} [access]").format(d_line=d.line()))

    # -- reads ----------------------------------------------------------------------------------
    def visible(self, folder: str, data) -> bool:
        kind = KIND_OF_FOLDER.get(folder)
        if kind is None or kind == "settings" or not isinstance(data, dict):
            self.actor  # noqa: B018 - an unknown identity is refused even here
            return True
        action = "export" if self.purpose == "export" else "read"
        if not self.policy.decide(self.actor, action, kind, data).allowed:
            return False
        if kind == "activity" and data.get("deal"):
            return str(data["deal"]) not in self.hidden_deals()
        return True

    def hidden_deals(self) -> set[str]:
        if self._hidden_deals is None:
            self._busy = True
            try:
                self._hidden_deals = {str(d.get("id")) for _, d in self.s.repo.records("deals", [], guarded=False)
                                      if isinstance(d, dict)
                                      and not self.policy.decide(self.actor, "read", "deal", d).allowed}
            finally:
                self._busy = False
        return self._hidden_deals

    def require_read(self, folder: str, record_id: str, data) -> None:
        kind = KIND_OF_FOLDER.get(folder, "settings")
        if kind == "settings" or not isinstance(data, dict):
            return
        d = self.policy.decide(self.actor, "read", kind, data, record_id)
        if not d.allowed:
            self._deny(d)

    # -- writes ---------------------------------------------------------------------------------
    def check_write(self, folder: str, record_id: str, old, new) -> None:
        for d in self.policy.decide_write(self.actor, folder, record_id, old, new, self.purpose, self._entry):
            if not d.allowed:
                self._deny(d)

    def _entry(self, pipeline_id: str) -> str | None:
        """The first stage of a pipeline (or of the default one), where a new deal needs no move."""
        try:
            pipeline = self.s.pipeline(pipeline_id or self.s.default_pipeline_id())
        except DealcliError:
            return None
        return pipeline.stages[0].id if pipeline.stages else None


def install(session, repo) -> None:
    """Put a Guard on `repo` when its settings name users (a repository without users behaves
    as if this module did not exist)."""
    policy = Policy.from_config(repo.config)
    repo.guard = Guard(session, policy) if policy.active else None


class purpose:
    """`with access.purpose(s, "export"):` reads are filtered by the export level (and creates
    count as import with "import")."""

    def __init__(self, s, name: str):
        self.s, self.name, self.before = s, name, None

    def __enter__(self):
        guard = getattr(self.s.repo, "guard", None)
        if guard is not None:
            self.before, guard.purpose = guard.purpose, self.name
        return self

    def __exit__(self, *exc):
        guard = getattr(self.s.repo, "guard", None)
        if guard is not None:
            guard.purpose = self.before
        return False


def config_problems(config: dict) -> list:
    """What `dealcli check` reports about users, departments and roles beyond the schema:
    unknown departments, roles or heads, a department cycle, an e-mail of two users, a grant
    that does not parse."""
    from dealcli.errors import Violation

    if not isinstance(config, dict):
        return []
    p = Policy.from_config(config)
    out: list = []

    def bad(rule: str, message: str, field: str) -> None:
        out.append(Violation(rule, message, field, None, "dealcli.yaml"))

    seen: dict[str, str] = {}
    for login, u in p.users.items():
        if u.get("dept") and str(u["dept"]) not in p.departments:
            bad("access-config", f"user {login}: no such department {u['dept']!r}", f"users.{login}.dept")
        for role in p.roles_of(login):
            if role not in p.roles:
                bad("access-config", f"user {login}: no such role {role!r}", f"users.{login}.roles")
        for email in u.get("emails") or []:
            key = str(email).lower()
            if key in seen and seen[key] != login:
                bad("access-config", f"e-mail {email} belongs to users {seen[key]} and {login}",
                    f"users.{login}.emails")
            seen[key] = login
    for d, info in p.departments.items():
        if info.get("head") and str(info["head"]) not in p.users:
            bad("access-config", f"department {d}: head {info['head']!r} is not a user", f"departments.{d}.head")
        parent, steps = info.get("parent"), 0
        if parent and str(parent) not in p.departments:
            bad("access-config", f"department {d}: no such parent {parent!r}", f"departments.{d}.parent")
        while parent and steps <= len(p.departments):
            parent, steps = (p.departments.get(str(parent)) or {}).get("parent"), steps + 1
        if steps > len(p.departments):
            bad("access-config", f"department {d}: its parents make a cycle", f"departments.{d}.parent")
    for name, role in (config.get("roles") or {}).items():
        for text in (role or {}).get("grants") or [] if isinstance(role, dict) else []:
            try:
                parse_grant(text)
            except UsageError as exc:
                bad("access-config", f"role {name}: {exc.message}", f"roles.{name}.grants")
    return out


class unguarded:
    """`with access.unguarded(repo):` reads see every record (`dealcli check` validates files, not
    views; it needs every record to check the links between them). Writes stay guarded only in
    that nothing in such a block writes."""

    def __init__(self, repo):
        self.repo, self.before = repo, None

    def __enter__(self):
        self.before, self.repo.guard = self.repo.guard, None
        return self

    def __exit__(self, *exc):
        self.repo.guard = self.before
        return False
