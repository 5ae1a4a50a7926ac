"""Access rights over git history: `dealcli check --audit [REV-RANGE]` and
`dealcli git-hook pre-receive`.

Each commit is judged by the rules in force BEFORE it: the users, departments and roles of the
dealcli.yaml of its (first) parent, so nobody can grant themselves a right in the commit that
uses it. The author e-mail maps to a user; every record file the commit adds, changes or deletes
is one write, decided by the same `access.Policy.decide_write` the command line uses. A commit
whose parent has no users is not judged (a repository without users has no rights). A merge is
judged on the files that differ from every parent (what the merge itself changed).

git is the real `git` binary (subprocess), imported only here."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from dealcli import access
from dealcli.errors import CorruptData, NotAllowed, UsageError
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
        self._batch = None

    def run(self, *args: str, check: bool = True) -> bytes:
        try:
            out = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=self.env)
        except OSError as exc:
            raise UsageError(f"git: {exc.strerror or exc} (is git installed?)") from None
        if check and out.returncode != 0:
            raise UsageError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace').strip()}")
        return out.stdout

    def blob(self, rev: str, path: str) -> bytes | None:
        """The content of `path` at `rev` (None when it is not there), through one long-running
        `git cat-file --batch` (a push of thousands of files is not thousands of processes)."""
        if self._batch is None:
            self._batch = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.cwd, env=self.env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc = self._batch
        proc.stdin.write(f"{rev}:{path}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self._batch is not None:
            self._batch.stdin.close()
            self._batch.wait()
            self._batch = None

    def changed(self, parent: str | None, commit: str) -> set[str]:
        args = ["diff-tree", "-r", "--no-commit-id", "--name-only", "-z"]
        out = self.run(*args, "--root", commit) if parent is None else self.run(*args, parent, commit)
        return {p for p in out.decode().split("\0") if p}


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


def audit_commits(git: Git, revs: list[str], prefix: str = "", pusher: str | None = None) -> list[Finding]:
    """Every change in the commits `git rev-list revs` names that its author was not allowed.
    `pusher`: who the git server says pushes (the hook): a commit authored by another user needs
    the pusher's right to act as that user (an author e-mail alone is self-declared)."""
    out = git.run("rev-list", "--reverse", "--format=%H%x00%P%x00%ae", *revs).decode()
    findings: list[Finding] = []
    policies: dict[str, access.Policy] = {}
    for line in out.splitlines():
        if line.startswith("commit ") or "\0" not in line:
            continue
        sha, parents_text, author = line.split("\0")
        parents = parents_text.split()
        base = parents[0] if parents else None
        if base not in policies:
            policies[base] = access.Policy.from_config(
                (_load(git.blob(base, prefix + CONFIG_NAME), CONFIG_NAME) or {}) if base else {})
        policy = policies[base]
        if not policy.active:
            continue
        changed = git.changed(base, sha)
        for other in parents[1:]:
            changed &= git.changed(other, sha)
        files = sorted(p for p in changed if p.startswith(prefix) and _target(p[len(prefix):]))
        if not files:
            continue
        actor = policy.login_of(author)
        where = files[0] if len(files) == 1 else f"{len(files)} files"
        if actor is None:
            findings.append(Finding(sha, author, where, "unknown-author",
                                    f"author {author} is not a user of the repository"))
            continue
        if pusher is not None:
            try:
                access.identify(policy, actor, pusher)
            except NotAllowed as exc:
                findings.append(Finding(sha, author, where, "pusher", f"pushed by {pusher}, authored by {actor}: "
                                        + exc.message.split(": ", 1)[-1].replace(" [access]", "")
                                        .replace(" [unknown-user]", "")))
                continue
        for path in files:
            folder, record_id = _target(path[len(prefix):])
            old = _load(git.blob(base, path), path) if base else None
            new = _load(git.blob(sha, path), path)
            for d in policy.decide_write(actor, folder, record_id, old, new):
                if not d.allowed:
                    findings.append(Finding(sha, author, path, "access", d.line()))
    return findings


def audit(root: Path, rev_range: str | None = None) -> list[Finding]:
    """`dealcli check --audit [REV-RANGE]` for the repository at `root` (default range: HEAD, the
    whole history of the current branch)."""
    git = Git(root)
    try:
        prefix = git.run("rev-parse", "--show-prefix").decode().strip()
        return audit_commits(git, (rev_range or "HEAD").split(), prefix)
    finally:
        git.close()


# -- the pre-receive hook ----------------------------------------------------------------------
PUSHER_VARIABLES = ("DEALCLI_PUSHER", "GL_USER", "REMOTE_USER")  # set by the git server, if it authenticates


def pre_receive(git_dir: Path, lines, pusher: str | None = None) -> list[str]:
    """What refuses a push, one line each (empty: accept). `lines`: `old new ref` of stdin;
    `pusher`: the authenticated pusher, when the server names one."""
    git = Git(git_dir)
    try:
        return _pre_receive(git, lines, pusher)
    finally:
        git.close()


def _pre_receive(git: Git, lines, pusher: str | None) -> list[str]:
    problems: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if new == ZERO:
            continue  # a deleted ref adds no commit
        for f in audit_commits(git, [new, "--not", "--all"], pusher=pusher):
            problems.append(f"{ref}: {f}")
        if ref.startswith("refs/heads/"):
            problems += [f"{ref}: check: {p}" for p in check_tree(git, new)]
    return problems


def check_tree(git: Git, rev: str) -> list[str]:
    """`dealcli check` on the tree of `rev`, unpacked into a temporary folder."""
    import io
    import tarfile
    import tempfile

    if git.blob(rev, CONFIG_NAME) is None:
        return []
    from dealcli.session import Session
    from dealcli.validation import check as checker

    data = git.run("archive", "--format=tar", rev)
    with tempfile.TemporaryDirectory(prefix="dealcli-hook-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        s = Session(repo_root=Path(tmp), quiet=True)
        s.__dict__["user"] = "git-hook"  # the check reads everything; no acting user
        s.repo.guard = None
        return [str(p) for p in checker.run(s)]
