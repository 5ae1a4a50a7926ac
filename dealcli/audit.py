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
  touches what differs from its parent; a merge, what differs from every parent, its resolution;
  a root commit, everything it holds), and the tip's author for a file no commit of the update
  touched (a history rewritten around it);
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
from dealcli.storage.layout import CONFIG_NAME, KINDS, WIDTHS, places, record_of
from dealcli import i18n

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
        self._check: subprocess.Popen[bytes] | None = None
        self._changed: dict[tuple[str | None, str], frozenset[str]] = {}

    def run(self, *args: str, check: bool = True) -> bytes:
        try:
            out = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=self.env)
        except OSError as exc:
            raise UsageError(i18n._("git: {exc_strerror_or_exc} (is git installed?)").format(
                exc_strerror_or_exc=exc.strerror or exc)) from None
        if check and out.returncode != 0:
            raise UsageError(i18n._("git {join_args}: {out_stderr_decode_errors}").format(
                join_args=' '.join(args), out_stderr_decode_errors=out.stderr.decode(errors='replace').strip()))
        return out.stdout

    def ok(self, *args: str) -> bool:
        return subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=self.env).returncode == 0

    def blob(self, rev: str, path: str) -> bytes | None:
        """The content of `path` at `rev` (None when it is not there)."""
        return self.read(f"{rev}:{path}")

    def read(self, name: str) -> bytes | None:
        """The content of the blob `name` (an id, or `REV:PATH`, which makes git walk the trees
        to it: for many files of one folder, ask by id), None when there is none, through one
        long-running `git cat-file --batch` (a push of thousands of files is not thousands of
        processes)."""
        if self._batch is None:
            self._batch = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.cwd, env=self.env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc = self._batch
        assert proc.stdin is not None and proc.stdout is not None  # both are pipes
        proc.stdin.write(f"{name}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)  # the newline after the content
        return data

    def exists(self, rev: str, path: str) -> bool:
        """Is there a file `path` at `rev`? (one long-running `git cat-file --batch-check`)"""
        if self._check is None:
            self._check = subprocess.Popen(["git", "cat-file", "--batch-check"], cwd=self.cwd, env=self.env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        stdin, stdout = self._check.stdin, self._check.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{rev}:{path}\n".encode())
        stdin.flush()
        header = stdout.readline().split()
        return len(header) == 3 and header[1] == b"blob"

    def close(self) -> None:
        for proc in (self._batch, self._check):
            if proc is not None and proc.stdin is not None:
                proc.stdin.close()
                proc.wait()
        self._batch = self._check = None

    def changed(self, parent: str | None, commit: str) -> set[str]:
        """Paths that differ between two commits (`parent` None: every path `commit` holds); asked
        once per pair (the access rules and the check of a ref update both need them)."""
        if (parent, commit) not in self._changed:
            args = ["diff-tree", "-r", "--no-commit-id", "--name-only", "-z"]
            out = self.run(*args, "--root", commit) if parent is None else self.run(*args, parent, commit)
            self._changed[parent, commit] = frozenset(p for p in out.decode().split("\0") if p)
        return set(self._changed[parent, commit])

    def ids(self, old: str | None, new: str, *paths: str) -> dict[str, str | None]:
        """path -> blob id at `new` (None: deleted) of the files under `paths` that differ between
        the commits `old` and `new` (`old` None: every file `new` holds)."""
        if old is None:
            out = self.run("ls-tree", "-r", "-z", new, "--", *paths).decode()
            entries = (entry.split("\t", 1) for entry in out.split("\0") if "\t" in entry)
            return {path: meta.split()[2] for meta, path in entries if meta.split()[1] == "blob"}
        fields = self.run("diff-tree", "-r", "-z", "--no-commit-id", old, new, "--", *paths).decode().split("\0")
        found: dict[str, str | None] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.split()
            if len(parts) >= 5:
                found[path] = None if set(parts[3]) == {"0"} else parts[3]
        return found

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
    return record_of(rel)  # flat or sharded (deals/ab/<id>.yaml)


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
        if start is None:  # a new ref with no state before it (the first push; a ref made at the default tip)
            return []  # no rules stood: nothing to judge by (the hook still checks its tree)
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
        actors: dict[str, list[tuple[str, str, str]]]
        if who is not None:
            assert pusher is not None  # `who` is only set from a pusher
            actors = {p: [(new, who, pusher)] for p in paths}
        else:
            actors = self._authors(start, new, paths, policy, findings)
        for path in paths:
            target = _target(path[len(self.prefix):])
            assert target is not None  # records() keeps only the paths _target names
            folder, record_id = target
            before_raw, after_raw = self._blob(start, path, folder, record_id), self._blob(new, path, folder, record_id)
            if before_raw == after_raw:
                continue  # moved, not changed (`dealcli layout`: the same bytes in another place)
            before, after = _load(before_raw, path), _load(after_raw, path)
            for commit, login, identity in actors.get(path, []):
                for d in policy.decide_write(login, folder, record_id, before, after):
                    if not d.allowed:
                        findings.append(Finding(commit, identity, path, "access", d.line()))
        return findings

    def _blob(self, rev: str, path: str, folder: str, record_id: str) -> bytes | None:
        """The record's file at `rev`: at `path`, else at another place a layout puts it."""
        found = self.git.blob(rev, path)
        for other in _places(folder, record_id) if found is None and folder != "config" else ():
            if self.prefix + other != path:
                found = self.git.blob(rev, self.prefix + other)
                if found is not None:
                    break
        return found

    def _authors(self, start: str, new: str, paths: list[str], policy: access.Policy,
                 findings: list[Finding]) -> dict[str, list[tuple[str, str, str]]]:
        """Each changed path -> the (commit, login, e-mail) of every commit of the update that
        touched it; an unknown author is a finding of its own."""
        wanted = set(paths)
        actors: dict[str, list[tuple[str, str, str]]] = {}
        for sha, parents, author in self.git.commits(new, "--not", start):
            if len(parents) > 1:  # a merge changes what differs from every parent (its resolution);
                # what it takes from a side parent is that side's commits' change (judged there)
                touched = set.intersection(*(self.git.changed(p, sha) for p in parents)) & wanted
            else:
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
    """`dealcli check` on the tree of `rev`: its Violations. With `since` (the old tip), the
    rulebook judges only what changed since then (check.run_since → rules.judge): the changed
    records, and for a deleted one the records linking to it, found in the git directory's link
    index (LinkIndex); only those files, the settings and the pipelines are unpacked into a
    temporary folder, and a link target's existence is asked of git. Everything is unpacked and
    checked when settings or pipelines changed, or without `since`."""
    if git.blob(rev, CONFIG_NAME) is None:
        return []
    from dealcli.validation import check as checker

    if since is not None:
        paths = sorted(git.changed(since, rev))
        records = checker.records_of(paths)
        if records is not None:
            exists = lambda folder, i: any(git.exists(rev, p) for p in _places(folder, i))  # noqa: E731
            gone: dict[str, set[str]] = {}
            for folder, record_id in records:
                if not exists(folder, record_id):
                    gone.setdefault(folder, set()).add(record_id)
            found = {target: neighbours_in(git, since, target, ids) - records for target, ids in gone.items()}
            extra = [p for linked in found.values() for folder, i in linked for p in _places(folder, i)]
            result = _in_tree(git, rev, paths + extra, lambda s: checker.run_since(
                s, paths, exists, linked=lambda target, ids: found.get(target, set())))
            if result is not None:
                return result
    return _in_tree(git, rev, None, checker.run)


def _places(folder: str, record_id: str) -> list[str]:
    """Where a record's file may be in a tree, flat or sharded (storage/layout.py)."""
    return places(folder, record_id, max(WIDTHS))


def neighbours_in(git: Git, rev: str, target: str, ids: set[str]) -> set[tuple[str, str]]:
    """(folder, id) of the records of the tree of `rev` linking to `ids` of the `target` folder:
    from the link index of the git directory, else (it cannot be written) a fixed-string
    `git grep` of the ids in the folders of the kinds linking to them, each hit read and its
    links compared."""
    try:
        return LinkIndex(git).at(rev).linking(target, ids)
    except LinkIndex.Failed:
        pass
    from dealcli import kinds

    out: set[tuple[str, str]] = set()
    where = sorted({k.folder + "/" for k, _ in kinds.links_in(target)})
    for record_id in sorted(ids) if where else ():
        found = git.run("grep", "-l", "-F", "-e", record_id, rev, "--", *where, check=False).decode()
        for line in found.splitlines():
            hit = _target(line.split(":", 1)[-1])
            data = _load(git.blob(rev, line.split(":", 1)[-1]), line) if hit else None
            if hit and (f"link:{target}", record_id) in kinds.link_keys(hit[0], data):
                out.add(hit)
    return out


def build_link_index(git_dir: Path, rev: str = "HEAD") -> str:
    """`dealcli git-hook index`: the link index brought to `rev` (the default branch); says what
    it did."""
    git = Git(git_dir)
    try:
        tip = git.resolve(rev)
        if tip is None:
            raise UsageError(i18n._("{git_dir}: no commit at {rev} to index").format(git_dir=git_dir, rev=rev))
        LinkIndex(git).at(tip)
        return i18n._("link index at {commit} ({name})").format(commit=tip[:10], name=LinkIndex.NAME)
    except LinkIndex.Failed as exc:
        raise UsageError(i18n._("{git_dir}: the link index cannot be written: {exc}").format(
            git_dir=git_dir, exc=exc)) from None
    finally:
        git.close()


class LinkIndex:
    """Who links to whom in the tree of one commit, for the pre-receive hook: the link keys
    (kinds.link_keys) of every record file, kept in `dealcli-links.sqlite` in the git directory
    for the commit it was last brought to (`at`), and brought to another commit by reading only
    the record files that differ between the two (git diff-tree). So the records linking to a
    deleted one are found without reading the tree's folders; the first use (or a commit no longer
    there) reads every record file once. It is only ever brought to an old tip, a commit already
    in the repository (never to a pushed one, which a refused push takes away again)."""

    NAME = "dealcli-links.sqlite"
    FORMAT = "1"

    class Failed(Exception):
        """The index cannot be opened or written (a read-only git directory, a broken file)."""

    def __init__(self, git: Git):
        import sqlite3

        self.git = git
        path = Path(git.run("rev-parse", "--absolute-git-dir").decode().strip()) / self.NAME
        try:
            self.db = sqlite3.connect(path, timeout=120, isolation_level=None)
            self.db.executescript(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE IF NOT EXISTS links (path TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);"
                "CREATE INDEX IF NOT EXISTS links_target ON links (key, value);"
                "CREATE INDEX IF NOT EXISTS links_path ON links (path);")
        except sqlite3.Error as exc:
            raise LinkIndex.Failed(str(exc)) from None

    def at(self, rev: str) -> LinkIndex:
        """The index brought to the commit `rev`."""
        import sqlite3

        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")  # one hook at a time brings it forward
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            indexed = meta.get("commit") if meta.get("format") == self.FORMAT else None
            if indexed == rev:
                db.execute("COMMIT")
                return self
            if indexed is not None and self.git.ok("cat-file", "-e", f"{indexed}^{{commit}}"):
                blobs = self.git.ids(indexed, rev, *KINDS)
                db.executemany("DELETE FROM links WHERE path = ?", [(p,) for p in sorted(blobs)])
            else:
                db.execute("DELETE FROM links")
                blobs = self.git.ids(None, rev, *KINDS)
            from dealcli import kinds

            for path, blob in sorted(blobs.items()):
                target = _target(path)
                data = _load(self.git.read(blob), path) if target is not None and blob is not None else None
                if target is None or not isinstance(data, dict):
                    continue
                db.executemany("INSERT INTO links (path, key, value) VALUES (?, ?, ?)",
                               [(path, key, value) for key, value in kinds.link_keys(target[0], data)])
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           [("format", self.FORMAT), ("commit", rev)])
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise LinkIndex.Failed(str(exc)) from None
        return self

    def linking(self, target: str, ids: set[str]) -> set[tuple[str, str]]:
        """(folder, id) of the records holding a link to any of `ids` of the `target` folder."""
        out: set[tuple[str, str]] = set()
        for record_id in sorted(ids):
            for (path,) in self.db.execute("SELECT path FROM links WHERE key = ? AND value = ?",
                                           (f"link:{target}", record_id)):
                found = _target(path)
                if found is not None:
                    out.add(found)
        return out


def _in_tree(git: Git, rev: str, paths: list[str] | None, check):
    """Run `check(session)` on the files of `rev` written into a temporary folder: every file (git
    archive), or the settings, the pipelines, generators, forms and `paths` (those `rev` holds),
    each read by its blob id (git walks the big folders' trees once, in ls-tree)."""
    import tempfile

    from dealcli.session import Session

    with tempfile.TemporaryDirectory(prefix="dealcli-hook-") as tmp:
        if paths is None:
            import io
            import tarfile

            with tarfile.open(fileobj=io.BytesIO(git.run("archive", "--format=tar", rev))) as tar:
                tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        else:
            wanted = git.ids(None, rev, CONFIG_NAME, "pipelines", "generators", "forms", *sorted(set(paths)))
            for path, blob in wanted.items():
                parts = path.split("/")
                if blob is None or path.startswith("/") or any(part in ("", ".", "..", ".git") for part in parts):
                    continue  # never a path outside the folder (git refuses such trees; a push may not)
                target = Path(tmp, *parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(git.read(blob) or b"")
        s = Session(repo_root=Path(tmp), quiet=True)
        s.__dict__["user"] = "git-hook"  # the check reads everything; no acting user
        s.repo.guard = None
        return check(s)
