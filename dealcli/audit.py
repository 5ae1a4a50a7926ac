"""Access rights over git history: `dealcli check --audit [REV-RANGE]` and
`dealcli git-hook pre-receive`, one code: `judge_update` judges a ref update as a whole.

A ref update is judged from its old tip to its new tip (docs/access.md):
- the rules in force are the users, departments and roles of the OLD tip's dealcli.yaml, so
  nobody grants themselves a right in the push (or the commit) that uses it; an old tip without
  users has no rights to judge;
- the change is the difference between the two tips' trees, record by record: each changed
  file is one write (as it was at the old tip → as it is at the new tip), decided by the same
  `access.Policy.decide_write` the command line uses. What the commits in between did on the way
  (orphan commits, side parents of merges, merge resolutions, a history rewritten back to before
  `users:`) is judged by where it lands, so no shape of history gets around it;
- who is judged: the authenticated pusher when the git server names one (never the author
  e-mails then); else the author of every commit of the update that touched the file (a commit
  touches what differs from its first parent; a root commit, everything it holds);
- a non-fast-forward (force push) and a branch delete need the settings right.

`check --audit` walks a branch's first-parent history and judges each step (parent → commit)
as such an update. git is the real `git` binary (subprocess), imported only here."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from dealcli import access
from dealcli.errors import CorruptData, UsageError
from dealcli.storage import yamlcodec
from dealcli.storage.layout import CONFIG_NAME, KINDS, SUFFIX

ZERO = "0" * 40


@dataclass
class Finding:
    commit: str
    author: str
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.commit[:10]} {self.path}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Git:
    def __init__(self, cwd: Path, env: dict | None = None):
        self.cwd = Path(cwd)
        self.env = env
        self._batch: subprocess.Popen[bytes] | None = None

    def run(self, *args: str, check: bool = True) -> bytes:
        try:
            out = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=self.env)
        except OSError as exc:
            raise UsageError(f"git: {exc.strerror or exc} (is git installed?)") from None
        if check and out.returncode != 0:
            raise UsageError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace').strip()}")
        return out.stdout

    def ok(self, *args: str) -> bool:
        return subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=self.env).returncode == 0

    def blob(self, rev: str, path: str) -> bytes | None:
        """The content of `path` at `rev` (None when it is not there), through one long-running
        `git cat-file --batch` (a push of thousands of files is not thousands of processes)."""
        if self._batch is None:
            self._batch = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.cwd, env=self.env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc = self._batch
        assert proc.stdin is not None and proc.stdout is not None  # both are pipes
        proc.stdin.write(f"{rev}:{path}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self._batch is not None and self._batch.stdin is not None:
            self._batch.stdin.close()
            self._batch.wait()
            self._batch = None

    def changed(self, parent: str | None, commit: str) -> set[str]:
        """Paths that differ between two commits (`parent` None: every path `commit` holds)."""
        args = ["diff-tree", "-r", "--no-commit-id", "--name-only", "-z"]
        out = self.run(*args, "--root", commit) if parent is None else self.run(*args, parent, commit)
        return {p for p in out.decode().split("\0") if p}

    def resolve(self, rev: str) -> str | None:
        out = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=self.cwd,
                             capture_output=True, env=self.env)
        return out.stdout.decode().strip() or None if out.returncode == 0 else None

    def commits(self, *revs: str) -> list[tuple[str, list[str], str]]:
        """(sha, parents, author e-mail) of `git rev-list revs`, oldest first."""
        out = self.run("rev-list", "--reverse", "--format=%H%x00%P%x00%ae", *revs).decode()
        found = []
        for line in out.splitlines():
            if line.startswith("commit ") or "\0" not in line:
                continue
            sha, parents, author = line.split("\0")
            found.append((sha, parents.split(), author))
        return found


def _load(raw: bytes | None, path: str):
    if raw is None:
        return None
    try:
        data = yamlcodec.loads(raw, path)
    except CorruptData:
        return {}
    return data if data is not None else {}


def _target(rel: str) -> tuple[str, str] | None:
    """(folder, id) of a repository path that is a record or the settings; None for other files."""
    if rel == CONFIG_NAME:
        return "config", "dealcli"
    folder, sep, name = rel.partition("/")
    if sep and folder in KINDS and "/" not in name and name.endswith(SUFFIX) and not name.startswith("."):
        return folder, name[: -len(SUFFIX)]
    return None


class Judge:
    """Judges ref updates of one git repository (caches the rules in force at each old tip)."""

    def __init__(self, git: Git, prefix: str = ""):
        self.git = git
        self.prefix = prefix
        self._policies: dict[str, access.Policy] = {}

    def policy(self, rev: str | None) -> access.Policy:
        """The rules in force at `rev`: its dealcli.yaml's users, departments and roles."""
        if rev is None:
            return access.Policy()
        if rev not in self._policies:
            config = _load(self.git.blob(rev, self.prefix + CONFIG_NAME), CONFIG_NAME)
            self._policies[rev] = access.Policy.from_config(config if isinstance(config, dict) else {})
        return self._policies[rev]

    def records(self, paths) -> list[str]:
        n = len(self.prefix)
        return sorted(p for p in paths if p.startswith(self.prefix) and _target(p[n:]))

    def update(self, old: str | None, new: str | None, ref: str = "", pusher: str | None = None,
               base: str | None = None) -> list[Finding]:
        """What the pusher (or, without one, the authors) may not do in moving `ref` from `old` to
        `new` (None: the ref is created / deleted). `base`: for a new ref, the commit whose state
        it is judged against (the default branch's tip)."""
        start = old or base
        policy = self.policy(start)
        if not policy.active:
            return []  # no users where the ref stood: no rights to judge
        findings: list[Finding] = []
        tip = new or start
        who = None
        if pusher is not None:
            who = policy.login_of(pusher)
            if who is None:
                return [Finding(tip, pusher, ref or "-", "unknown-pusher",
                                f"pusher {pusher} is not a user of the repository")]
        if new is None:  # a delete
            return self._rewrite(policy, who, pusher or "nobody", start, ref, "delete")
        if old is not None and not self.git.ok("merge-base", "--is-ancestor", old, new):
            findings += self._rewrite(policy, who, pusher or "nobody", new, ref, "rewrite")
        paths = self.records(self.git.changed(start, new))
        if not paths:
            return findings
        if who is not None:
            actors = {p: [(new, who, pusher)] for p in paths}
        else:
            actors = self._authors(start, new, paths, policy, findings)
        for path in paths:
            folder, record_id = _target(path[len(self.prefix):])
            before = _load(self.git.blob(start, path), path)
            after = _load(self.git.blob(new, path), path)
            for commit, login, identity in actors.get(path, []):
                for d in policy.decide_write(login, folder, record_id, before, after):
                    if not d.allowed:
                        findings.append(Finding(commit, identity, path, "access", d.line()))
        return findings

    def _authors(self, start: str, new: str, paths: list[str], policy: access.Policy,
                 findings: list[Finding]) -> dict[str, list]:
        """Each changed path -> the (commit, login, e-mail) of every commit of the update that
        touched it; an unknown author is a finding of its own."""
        wanted = set(paths)
        actors: dict[str, list] = {}
        for sha, parents, author in self.git.commits(new, "--not", start):
            touched = self.git.changed(parents[0] if parents else None, sha) & wanted
            if not touched:
                continue
            login = policy.login_of(author)
            if login is None:
                findings.append(Finding(sha, author, touched.pop() if len(touched) == 1 else f"{len(touched)} files",
                                        "unknown-author", f"author {author} is not a user of the repository"))
                continue
            for p in touched:
                actors.setdefault(p, []).append((sha, login, author))
        orphaned = [p for p in paths if p not in actors]
        if orphaned:  # changed by no commit of its own (a history rewritten around it): the tip's author
            author = self.git.commits("-1", new)[0][2]
            login = policy.login_of(author)
            if login is None:
                if not any(f.commit == new and f.rule == "unknown-author" for f in findings):
                    findings.append(Finding(new, author, orphaned[0], "unknown-author",
                                            f"author {author} is not a user of the repository"))
            else:
                for p in orphaned:
                    actors[p] = [(new, login, author)]
        return actors

    def _rewrite(self, policy: access.Policy, login: str | None, identity: str, commit: str, ref: str,
                 what: str) -> list[Finding]:
        """A branch delete or a non-fast-forward push: the settings right."""
        if login is None:  # authors are self-declared: only a pusher the server names may
            return [Finding(commit, identity, ref or "-", what, f"may not {what} {ref or 'the branch'}: the git "
                            "server names no authenticated pusher to hold the settings right")]
        d = policy.decide(login, "settings", "settings", None, ref)
        if d.allowed:
            return []
        verb = "delete" if what == "delete" else "rewrite (force-push)"
        return [Finding(commit, identity, ref or "-", what,
                        f"{login} may not {verb} {ref or 'the branch'} (needs the settings right; {d._by()})")]


def audit(root: Path, rev_range: str | None = None) -> list[Finding]:
    """`dealcli check --audit [REV-RANGE]` for the repository at `root` (default range: HEAD, the
    whole history of the current branch): each first-parent step judged as a ref update by its
    authors."""
    git = Git(root)
    try:
        prefix = git.run("rev-parse", "--show-prefix").decode().strip()
        judge = Judge(git, prefix)
        findings: list[Finding] = []
        for sha, parents, _author in git.commits("--first-parent", *(rev_range or "HEAD").split()):
            if parents:
                findings += judge.update(parents[0], sha)
        return findings
    finally:
        git.close()


# -- the pre-receive hook ----------------------------------------------------------------------
# who the git server says pushes, first found first (docs/access.md lists what each server sets)
PUSHER_VARIABLES = ("DEALCLI_PUSHER", "GL_USERNAME", "GITEA_PUSHER_EMAIL", "GITEA_PUSHER_NAME", "GL_USER",
                    "REMOTE_USER")


def pusher_of(environ) -> str | None:
    """The authenticated pusher the server names, None when it names nobody."""
    return next((str(environ[v]).strip() for v in PUSHER_VARIABLES if str(environ.get(v) or "").strip()), None)


def pre_receive(git_dir: Path, lines, pusher: str | None = None) -> list[str]:
    """What refuses a push, one line each (empty: accept). `lines`: `old new ref` of stdin;
    `pusher`: the authenticated pusher, when the server names one."""
    git = Git(git_dir)
    try:
        return _pre_receive(git, lines, pusher)
    finally:
        git.close()


def _pre_receive(git: Git, lines, pusher: str | None) -> list[str]:
    judge = Judge(git)
    problems: list[str] = []
    default = git.resolve("HEAD")
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if not ref.startswith("refs/heads/"):
            continue  # tags and other refs change no branch's records
        old_tip = None if old == ZERO else old
        new_tip = None if new == ZERO else new
        base = default if old_tip is None and default != new_tip else None
        for f in judge.update(old_tip, new_tip, ref, pusher, base=base):
            problems.append(f"{ref}: {f}")
        if new_tip is not None:
            found = check_tree(git, new_tip, old_tip or base)
            problems += [f"{ref}: check: {p}" for p in found if p.rule != "conflict"]
    return problems


def check_tree(git: Git, rev: str, since: str | None = None) -> list:
    """`dealcli check` on the tree of `rev`, unpacked into a temporary folder: its Violations.
    With `since` (the old tip), only what changed since then and the records linking to it are
    unpacked and checked (check.run_since), unless settings or pipelines changed."""
    if git.blob(rev, CONFIG_NAME) is None:
        return []
    from dealcli.validation import check as checker

    if since is not None:
        records = checker.records_of(git.changed(since, rev))
        if records is not None:
            paths = [f"{folder}/{i}{SUFFIX}" for folder, i in records]
            paths += _linking(git, rev, records)
            exists = lambda folder, i: git.blob(rev, f"{folder}/{i}{SUFFIX}") is not None  # noqa: E731
            found = _in_tree(git, rev, paths, lambda s: checker.run_since(s, paths, exists))
            if found is not None:
                return found
    return _in_tree(git, rev, None, checker.run)


def _linking(git: Git, rev: str, records) -> list[str]:
    """Files of `rev` that may link to any of `records` (a fixed-string `git grep` of their ids in
    the folders of the kinds linking to them; the check reads each one it lists)."""
    from dealcli import kinds

    out: list[str] = []
    for folder, record_id in sorted(records):
        where = sorted({k.folder + "/" for k, _ in kinds.links_in(folder)})
        if not where:
            continue
        found = git.run("grep", "-l", "-F", "-e", record_id, rev, "--", *where, check=False).decode()
        out += [line.split(":", 1)[1] for line in found.splitlines() if ":" in line]
    return out


def _in_tree(git: Git, rev: str, paths: list[str] | None, check):
    """Run `check(session)` on the files of `rev` unpacked into a temporary folder: every file, or
    the settings, the pipelines and `paths` (those `rev` holds)."""
    import io
    import tarfile
    import tempfile

    from dealcli.session import Session

    if paths is None:
        data = git.run("archive", "--format=tar", rev)
    else:
        listed = git.run("ls-tree", "-r", "--name-only", "-z", rev, "--", CONFIG_NAME, "pipelines", "generators",
                         "forms", *sorted(set(paths))).decode().split("\0")
        data = git.run("archive", "--format=tar", rev, "--", *[p for p in listed if p])
    with tempfile.TemporaryDirectory(prefix="dealcli-hook-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        s = Session(repo_root=Path(tmp), quiet=True)
        s.__dict__["user"] = "git-hook"  # the check reads everything; no acting user
        s.repo.guard = None
        return check(s)
