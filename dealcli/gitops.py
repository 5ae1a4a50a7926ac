"""Git teamwork: the merge driver's file handling, `git setup`, `init --git`, `sync` and the
auto_commit hook (see docs/git.md). Uses the real `git` binary through subprocess; nothing
here runs unless a git command (or auto_commit) asks for it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from dealcli.errors import CorruptData, DealcliError, NotFound, UsageError
from dealcli.session import Session
from dealcli.storage import atomic
from dealcli.storage.layout import CONFIG_NAME, KINDS, SHARDED, SINGULAR, record_of
from dealcli import i18n

DRIVER = "dealcli"
# the records of a sharded layout (deals/ab/<id>.yaml, storage/layout.py) are merged by the driver too
ATTRIBUTES = ([f"/{CONFIG_NAME} merge={DRIVER}"] + [f"/{kind}/*.yaml merge={DRIVER}" for kind in KINDS]
              + [f"/{kind}/*/*.yaml merge={DRIVER}" for kind in KINDS if kind in SHARDED])
PULL_MODES = ("rebase", "merge")


class GitFailed(DealcliError):
    """A git step that could not be completed (exit 4: the repository is left as git left it,
    see the message). `command` is the git command line that failed."""

    exit_code = 4
    command = "git"
    detail = ""


def git(root: Path, *args: str, check: bool = True, env: dict | None = None):
    import subprocess

    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=full_env)
    except FileNotFoundError:
        raise NotFound(i18n._("git is not installed (needed for dealcli's git commands)")) from None
    if check and proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        exc = GitFailed(i18n._("git {args_0} failed: {lines_1_if_lines_else_f}").format(
            args_0=args[0], lines_1_if_lines_else_f=lines[-1] if lines else f'exit {proc.returncode}'))
        exc.command = " ".join(["git", "-C", str(root), *args])
        said = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines[-1:]
        exc.detail = said[0] if said else f"exit {proc.returncode}"
        raise exc
    return proc


def toplevel(root: Path) -> Path:
    proc = git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise NotFound(i18n._("{root}: not in a git repository (run `git init` there, or `dealcli init --git`)").format(
            root=root))
    return Path(proc.stdout.strip())


# -- the merge driver ------------------------------------------------------------------------------
def driver_command() -> str:
    """How git calls the driver: by an absolute path (as pre-commit registers its hooks), so a
    `git pull` whose PATH lacks dealcli still merges with it: this installation's console script,
    else this Python running `-m dealcli`."""
    import shlex

    script = Path(sys.executable).parent / "dealcli"
    if script.is_file() and os.access(script, os.X_OK):
        program = shlex.quote(str(script.absolute()))
    else:
        program = f"{shlex.quote(str(Path(sys.executable).absolute()))} -m dealcli"
    return f"{program} merge-file %O %A %B %P"


def merge_file(s: Session, base: str, ours: str, theirs: str, path: str) -> int:
    """git's merge driver (%O %A %B %P): merge the three versions of the record at `path`, write
    the result into `ours`. 0: merged (rule-decided conflicts are recorded in the record); 1: a
    conflict only a person can resolve (git's textual merge of an unreadable file)."""
    from dealcli import merge

    raw = [atomic.read_bytes(Path(p)) or b"" for p in (base, ours, theirs)]
    try:
        out, ctx = merge.merge_texts(path, raw[0], raw[1], raw[2], _pipeline_loader(path))
    except CorruptData as exc:
        s.notice(i18n._("{path}: merged as text ({exc_message})").format(path=path, exc_message=exc.message))
        return _text_merge(base, ours, theirs, path)
    if ctx.person:  # rights changed on both sides: a person decides (git keeps the file unmerged)
        s.notice(i18n._("{path}: {join_ctx_person} changed on both sides: rights are decided by a person, "
                 "never merged; edit the file, then `git add` it").format(
                     path=path, join_ctx_person=', '.join(ctx.person)))
        _text_merge(base, ours, theirs, path)
        return 1
    Path(ours).write_bytes(out)
    for note in ctx.notes:
        s.notice(f"{path}: {note}")
    for c in ctx.conflicts:
        s.notice(i18n._("{path}: {c_path} changed on both sides; kept {c_kept!r} ({c_kept_by_or}), "
                 "recorded {c_other!r} ({c_other_by_or}) as a conflict").format(
                     path=path, c_path=c.path, c_kept=c.kept, c_kept_by_or=c.kept_by or '?', c_other=c.other,
                     c_other_by_or=c.other_by or '?'))
    return 0


def unmerged(root: Path) -> list[str]:
    """Paths under `root` (relative to it) that git left unmerged (`git ls-files -u`): a merge
    stopped on them, whatever their content says. Empty outside a git work tree."""
    import subprocess

    root = Path(root).absolute()
    if not any((d / ".git").exists() for d in (root, *root.parents)):
        return []
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-u", "-z", "--", "."], capture_output=True)
    except OSError:
        return []
    paths = [entry.split("\t", 1)[1] for entry in proc.stdout.decode("utf-8", "replace").split("\0") if "\t" in entry]
    return list(dict.fromkeys(paths))


UNMERGED = ("DD", "AU", "UD", "UA", "DU", "AA", "UU")  # `git status` codes of a path a merge left unmerged


def changed_since(root: Path, rev: str, tree: bool = False) -> list[str]:
    """Paths under `root` (relative to it) that differ between the git revision `rev` and the
    work tree: changed, added, deleted, and new files git does not ignore. `tree`: between `rev`
    and HEAD instead (two trees compared, no file stat'ed: for a caller that committed everything)."""
    return since(root, rev, tree)[0]


def since(root: Path, rev: str, tree: bool = False) -> tuple[list[str], list[str]]:
    """changed_since, and the paths under `root` git left unmerged, found in the same sweep of the
    work tree (none with `tree`). Without rename detection: `git diff` pairs a deleted record with
    a new similar one as a rename and names only the new path, and the deleted one's link
    neighbours would go unjudged."""
    # the prefix (status names paths from the top of the work tree), HEAD and REV in one call
    proc = git(root, "rev-parse", "--show-prefix", "HEAD^{commit}", f"{rev}^{{commit}}", "--", check=False)
    head = at = None
    if proc.returncode == 0:
        prefix, head, at = proc.stdout.split("\n")[:3]
    else:  # REV unknown, or no commit at HEAD yet
        proc = git(root, "rev-parse", "--show-prefix", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if proc.returncode != 0:
            toplevel(root)  # not in git at all says so first
            raise UsageError.about("since", "{0} {rev}: not a git revision of this repository", rev=rev)
        prefix = proc.stdout.split("\n", 1)[0]
    if tree:
        return sorted(p for p in git(root, "diff", "--no-renames", "--name-only", "--relative", "-z", rev, "HEAD",
                                     "--", ".").stdout.split("\0") if p), []
    import subprocess

    # one sweep of the work tree (status: HEAD, the index and the files, untracked files, unmerged
    # paths) beside REV's tree against the index (no file stat'ed; not needed when REV is HEAD):
    # together, REV against the work tree
    asks = [["--no-optional-locks", "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all",
             "--", "."]]
    if head is None or head != at:
        asks.append(["diff", "--cached", "--no-renames", "--name-only", "--relative", "-z", rev, "--", "."])
    procs = [subprocess.Popen(["git", "-C", str(root), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args in asks]
    outs = []
    for args, each in zip(asks, procs, strict=True):
        out, err = each.communicate()
        if each.returncode != 0:
            exc = GitFailed(i18n._("git {command} failed: {error}").format(
                command=args[1] if args[0].startswith("-") else args[0],
                error=err.decode(errors='replace').strip() or each.returncode))
            exc.command = " ".join(["git", "-C", str(root), *args])
            raise exc
        outs.append([p for p in out.decode("utf-8", "surrogateescape").split("\0") if p])
    status, found = outs[0], outs[1] if len(outs) > 1 else []
    unmerged = [entry[3 + len(prefix):] for entry in status if entry[:2] in UNMERGED]
    return sorted({*found, *(entry[3 + len(prefix):] for entry in status)}), list(dict.fromkeys(unmerged))


def _text_merge(base: str, ours: str, theirs: str, path: str) -> int:
    import subprocess

    proc = subprocess.run(["git", "merge-file", "-L", f"{path} (ours)", "-L", f"{path} (base)", "-L",
                           f"{path} (theirs)", ours, base, theirs], capture_output=True)
    return 0 if proc.returncode == 0 else 1


def _pipeline_loader(path: str):
    """Pipelines as the working tree has them (the driver runs in the work tree's top folder)."""
    from dealcli.model import Pipeline
    from dealcli.storage import yamlcodec

    p = Path(path)
    sharded = record_of("/".join(p.parts[-2:])) is None and record_of("/".join(p.parts[-3:])) is not None
    root = p.parent.parent.parent if sharded else p.parent.parent  # deals/ab/<id>.yaml: one folder more
    cache: dict = {}

    def load(pipeline_id: str):
        if pipeline_id not in cache:
            cache[pipeline_id] = None
            raw = atomic.read_bytes(root / "pipelines" / f"{pipeline_id}.yaml")
            if raw:
                try:
                    cache[pipeline_id] = Pipeline.from_dict(yamlcodec.loads(raw, pipeline_id))
                except Exception:  # noqa: BLE001 - unreadable: the merge takes the winner's state as is
                    cache[pipeline_id] = None
        return cache[pipeline_id]

    return load


# -- setup -----------------------------------------------------------------------------------------------
def setup(s: Session) -> list[str]:
    """Register the merge driver: .gitattributes in the repository (through the write gate) and
    the driver in .git/config. Idempotent. Returns what it changed."""
    root = s.repo.root
    toplevel(root)
    done = []
    command = driver_command()
    current = git(root, "config", "--get", f"merge.{DRIVER}.driver", check=False).stdout.strip()
    if current != command:
        git(root, "config", f"merge.{DRIVER}.name", "dealcli record merge (docs/git.md)")
        git(root, "config", f"merge.{DRIVER}.driver", command)
        done.append(f"merge driver in .git/config: {command}")
    return done + attributes(s)


def attributes(s: Session, only_if_set_up: bool = False) -> list[str]:
    """The driver's lines of .gitattributes, those missing added through the write gate (with
    `only_if_set_up`: only when the file has one of them already). Says what it changed."""
    done = []
    existing = s.repo.read_file(".gitattributes")
    lines = (existing or b"").decode("utf-8", "replace").splitlines()
    missing = [a for a in ATTRIBUTES if a not in lines]
    if missing and (not only_if_set_up or len(missing) < len(ATTRIBUTES)):
        sep = "" if not existing or existing.endswith(b"\n") else "\n"
        text = (existing or b"").decode("utf-8", "replace") + sep + "".join(f"{a}\n" for a in missing)
        with s.repo.transaction():
            s.repo.write_file(".gitattributes", text.encode(), expect=existing if existing is not None
                              else atomic.MISSING)
        done.append(f".gitattributes: {len(missing)} line(s) added")
    return done


def init_git(s: Session) -> list[str]:
    root = s.repo.root
    if git(root, "rev-parse", "--show-toplevel", check=False).returncode != 0:
        git(root, "init", "--quiet")
    return setup(s)


# -- authorship and commits -------------------------------------------------------------------------------
def author_of(s: Session) -> str:
    """`Name <email>` for the acting user: the e-mail of the user record if any, else the login."""
    user = s.user
    email = None
    users = known if isinstance(known := s.repo.config.get("users"), dict) else {}
    record = given if isinstance(given := users.get(user), dict) else {}
    for key in ("email", "emails"):
        value = record.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value:
            email = value
            break
    name = record.get("name") if isinstance(record.get("name"), str) else user
    return f"{name} <{email or user}>"


def _identity_env(s: Session, root: Path) -> dict:
    """Committer identity when git has none configured: the acting user."""
    if git(root, "config", "user.email", check=False).stdout.strip():
        return {}
    name, _, email = author_of(s).partition(" <")
    email = email.rstrip(">")
    return {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email}


def commit(s: Session, paths: list[str] | None, message: str, root: Path | None = None,
           env: dict | None = None) -> bool:
    """Commit `paths` (None: every change under the repository folder `root`, default the
    Session's) as the acting user. False when there was nothing to commit. `env`: the identity
    (_identity_env), when the caller has it already."""
    root = s.repo.root if root is None else root
    spec = list(paths) if paths is not None else ["."]
    git(root, "add", "-A", "--", *spec)
    staged = git(root, "diff", "--cached", "--quiet", "--", *spec, check=False)
    if staged.returncode == 0:
        return False
    whole = paths is None and (Path(root) / ".git").exists()  # the top of the work tree: all of it is staged
    limit = [] if whole else ["--", *spec]  # `git commit -- PATHS` stats every file of PATHS again
    git(root, "commit", "--quiet", f"--author={author_of(s)}", "-m", message, *limit,
        env=_identity_env(s, root) if env is None else env)
    return True


# -- auto_commit ---------------------------------------------------------------------------------------------
def auto_commit(s: Session, repo, ops, recovered: list[str] | None) -> None:
    """`auto_commit: true`: called by the repository under its lock right after each transaction
    (`ops`), or after recovery finished one a killed command left (`recovered`, paths relative to
    the repository): commit exactly those files, with a message saying what changed. Under the
    lock, no other dealcli command writes (or runs git) meanwhile, so each command's change is
    its own commit. A git failure is an alert naming the file and the git command (never hidden
    by --quiet); the change stays written."""
    if ops is not None:
        paths = list(dict.fromkeys(repo.rel(op.path) for op in ops))
        message = None
    else:
        paths = list(dict.fromkeys(recovered or []))
        message = (f"dealcli recover: finished the change of a command that was killed ({len(paths)} file(s): "
                   + ", ".join(paths[:5]) + (", ..." if len(paths) > 5 else "") + ")")
    more = f" (and {len(paths) - 1} more file(s))" if len(paths) > 1 else ""
    try:
        if git(repo.root, "rev-parse", "--show-toplevel", check=False).returncode != 0:
            s.alert(i18n._("auto_commit: {paths_0}{more} not committed: {repo_root} is not in a git repository").format(
                paths_0=paths[0], more=more, repo_root=repo.root))
            return
        commit(s, paths, message or describe(s, ops), root=repo.root)
    except GitFailed as exc:
        s.alert(i18n._("auto_commit: {paths_0}{more} not committed: `{exc_command}` failed: {exc_detail}").format(
            paths_0=paths[0], more=more, exc_command=exc.command, exc_detail=exc.detail))
    except DealcliError as exc:
        s.alert(i18n._("auto_commit: {paths_0}{more} not committed: {exc_message}").format(
            paths_0=paths[0], more=more, exc_message=exc.message))


def describe(s: Session, ops) -> str:
    """A commit message for the writes of one command: `deal 3sgetr moved new → preparation`."""
    parts: list[str] = []
    for op in ops:
        what = SINGULAR.get(op.kind, op.kind if op.kind != "config" else "settings")
        if op.kind == "file":
            parts.append(f"{op.id} updated")
            continue
        label = f"{what} {op.id}" if op.kind != "config" else "settings"
        if op.tmp is None:
            parts.append(f"{label} deleted")
            continue
        events = []
        data = op.data if isinstance(op.data, dict) else {}
        if op.kind == "deals":  # the events this write appended to the history
            history = [e for e in data.get("history") or [] if isinstance(e, dict)]
            events = history[len(_history_before(op.expect)):]
        if events:
            parts.append(f"{label} " + ", ".join(_event_text(e) for e in events[-3:]))
        else:
            parts.append(f"{label} {'created' if op.expect is atomic.MISSING else 'updated'}")
    head = "; ".join(parts[:5])
    if len(parts) > 5:
        head += f"; and {len(parts) - 5} more"
    return head


def _history_before(expect) -> list:
    if not isinstance(expect, bytes):
        return []
    from dealcli.storage import yamlcodec

    try:
        data = yamlcodec.loads(expect)
    except DealcliError:
        return []
    history = data.get("history") if isinstance(data, dict) else None
    return history if isinstance(history, list) else []


def _event_text(e: dict) -> str:
    kind = e.get("kind")
    if kind == "moved":
        return f"moved {e.get('from')} → {e.get('to')}"
    if kind == "closed":
        return f"closed {e.get('status')}"
    if kind == "changed":
        return f"{e.get('field')} {e.get('old')} → {e.get('new')}"
    if kind == "created":
        return f"created in {e.get('stage')}"
    return str(kind)


# -- sync ---------------------------------------------------------------------------------------------------------
def sync(s: Session, mode: str | None = None, remote: str | None = None, push: bool = True,
         retries: int = 3) -> dict:
    """Commit pending changes as the acting user, pull (rebase or merge) with the merge driver,
    run `check` on what changed since HEAD before the sync (and its link neighbours), push; pull
    again when the remote moved in between (up to `retries` times). Beside the plain git commands
    (add, commit, pull, push) it runs only cheap ones: nothing here reads every file again."""
    root = s.repo.root
    settings = given if isinstance(given := s.repo.config.get("git"), dict) else {}
    mode = mode or settings.get("pull") or "rebase"
    if mode not in PULL_MODES:
        raise UsageError(i18n._("pull mode {mode!r}: expected rebase or merge").format(mode=mode))
    setup(s)
    report: dict[str, Any] = {"committed": False, "pulled": False, "pushed": False, "kept": [], "problems": [],
                              "relocated": []}
    before = git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip() or None
    env = _identity_env(s, root)
    report["committed"] = commit(s, None, f"dealcli sync by {s.user}", env=env)
    remote = remote or settings.get("remote") or _default_remote(root)
    if remote is None:
        s.notice(i18n._("sync: no git remote; committed locally only"))
        return report
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    for attempt in range(retries + 1):
        report["kept"] += _pull(s, root, remote, branch, mode, env)
        report["pulled"] = True
        changed = changed_since(root, before, tree=True) if before is not None else None
        report["relocated"] = _relocate(s, changed)
        problems = _check(s, changed)
        report["problems"] = problems
        hard = [p for p in problems if p.rule != "conflict"]
        if hard:
            raise CheckFailed(hard)
        if not push:
            return report
        proc = git(root, "push", "--quiet", remote, f"HEAD:{branch}", check=False)
        if proc.returncode == 0:
            report["pushed"] = True
            return report
        _push_refused(s, proc)
        if attempt < retries:
            s.notice(i18n._("sync: the remote moved while pushing; pulling again ({attempt_1}/{retries})").format(
                attempt_1=attempt + 1, retries=retries))
    raise GitFailed(i18n._("sync: the remote kept moving; gave up after {retries} retries (run `dealcli sync` "
                           "again)").format(retries=retries))


def _push_refused(s: Session, proc) -> None:
    """A failed push that pulling again cannot fix raises, with the remote's own reasons (its
    pre-receive hook's `remote:` lines) on stderr; a push that lost the race returns."""
    err = proc.stderr or ""
    if "hook declined" in err:  # the remote's hook said no: pulling again changes nothing
        reasons = [line[len("remote: "):].strip() for line in err.splitlines() if line.startswith("remote: ")]
        reasons = [r[len("dealcli: "):] if r.startswith("dealcli: ") else r for r in reasons if r]
        for reason in reasons:
            s.notice(i18n._("remote: {reason}").format(reason=reason))
        first = next((r for r in reasons if r.startswith("refused: ")), reasons[0] if reasons else _last_line(proc))
        raise GitFailed(i18n._("sync: the remote refused the push: {first} (your commits are kept; "
                               "nothing pushed)").format(
            first=first))
    if "fetch first" in err or "non-fast-forward" in err or "rejected" in err:
        return  # the remote moved (or was moving: "cannot lock ref") meanwhile
    raise GitFailed(i18n._("git push failed: {last_line_proc}").format(last_line_proc=_last_line(proc)))


class CheckFailed(DealcliError):
    """`check` found problems after the pull: nothing was pushed (exit 1)."""

    exit_code = 1

    def __init__(self, problems):
        self.problems = problems
        super().__init__(f"check found {len(problems)} problem(s) after the pull; nothing pushed")

    def lines(self, label=None) -> list[str]:
        return [self.message] + [str(p) for p in self.problems[:20]]


def _default_remote(root: Path) -> str | None:
    names = git(root, "remote").stdout.split()
    if not names:
        return None
    return "origin" if "origin" in names else names[0]


def _pull(s: Session, root: Path, remote: str, branch: str, mode: str, env: dict) -> list[str]:
    """git pull; then settle what git leaves for the driver's rules: a record deleted on one
    side and changed on the other keeps the change. Anything else unmerged aborts (exit 4). A
    remote without the branch yet is nothing to pull (the first push creates it)."""
    flag = "--rebase" if mode == "rebase" else "--no-rebase"
    env = dict(env, GIT_EDITOR="true")
    proc = git(root, "pull", "--quiet", "--no-edit", "--autostash", flag, remote, branch, check=False, env=env)
    if proc.returncode != 0 and "couldn't find remote ref" in (proc.stderr or ""):
        return []  # nothing to pull yet (git says so before it changes anything)
    kept: list[str] = []
    git_dir = _git_dir(root)
    for _ in range(1000):  # a rebase stops once per commit that needs settling
        _relay(s, proc)
        if proc.returncode == 0 and not _in_progress(git_dir):
            return kept
        unmerged = _unmerged(root)
        if not unmerged:
            if not _in_progress(git_dir):
                raise GitFailed(i18n._("git pull failed: {last_line_proc}").format(last_line_proc=_last_line(proc)))
        for code, path in unmerged:
            if code in ("UD", "DU") and (toplevel(root) / path).exists():
                git(root, "add", "--", path)
                kept.append(path)
                s.notice(i18n._("sync: {path} was deleted on one side and changed on the other; "
                                "kept the change").format(
                    path=path))
            else:
                _abort(root, git_dir)
                raise GitFailed(i18n._("sync: {path} could not be merged ({code}); the pull was undone, your "
                                "commits are kept (resolve with `git pull` by hand)").format(path=path, code=code))
        if _rebasing(git_dir):
            proc = git(root, "rebase", "--continue", check=False, env=env)
        else:
            proc = git(root, "commit", "--quiet", "--no-edit", check=False, env=env)
    raise GitFailed(i18n._("sync: the pull did not settle"))


def _relay(s: Session, proc) -> None:
    """What the merge driver said while git ran it (conflicts decided, changes kept)."""
    for line in (proc.stderr or "").splitlines():
        if line.startswith("dealcli: "):
            s.notice(line[len("dealcli: "):])


def _last_line(proc) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return text[-1] if text else f"exit {proc.returncode}"


def _unmerged(root: Path) -> list[tuple[str, str]]:
    out = git(root, "status", "--porcelain", "-z", check=False).stdout
    found = []
    for entry in out.split("\0"):
        if len(entry) > 3 and entry[:2] in UNMERGED:
            found.append((entry[:2], entry[3:]))
    return found


def _git_dir(root: Path) -> Path:
    return Path(git(root, "rev-parse", "--absolute-git-dir").stdout.strip())


def _rebasing(git_dir: Path) -> bool:
    return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()


def _in_progress(git_dir: Path) -> bool:
    return _rebasing(git_dir) or (git_dir / "MERGE_HEAD").exists()


def _abort(root: Path, git_dir: Path) -> None:
    if _rebasing(git_dir):
        git(root, "rebase", "--abort", check=False)
    else:
        git(root, "merge", "--abort", check=False)


def _relocate(s: Session, changed: list[str] | None) -> list[str]:
    """Deals a merge brought into a stage the other side deleted: relocated where the pipeline's
    `retired_stages` says, and committed. Only the deals among `changed` (the paths that differ
    from HEAD before the sync; None: unknown) can be there, unless a pipeline changed too (then
    every deal is looked at)."""
    from dealcli import pipelines
    from dealcli.validation import check as checker

    records = checker.records_of(changed) if changed is not None else None
    only = None if records is None else {i for kind, i in records if kind == "deals"}
    if only is not None and not only:
        return []
    fresh = Session(dir=str(s.repo.root), as_user=s.user, now_text=s.now.isoformat(), quiet=True)
    moved = pipelines.relocate_retired(fresh, only)
    if moved:
        commit(fresh, [fresh.repo.rel(fresh.repo.path("deals", i)) for i in moved],
               f"dealcli sync: relocated {len(moved)} deal(s) from deleted stages")
        s.notice(i18n._("sync: relocated deal(s) {join_moved} from a deleted stage").format(
            join_moved=', '.join(moved)))
    return moved


def _check(s: Session, changed: list[str] | None) -> list:
    """`check` of the `changed` paths (those that differ from HEAD before the sync: the local
    changes and what the pull brought) and their link neighbours; the whole repository when
    that is unknown (no commit before) or the change needs it (check.run_since)."""
    from dealcli.validation import check as checker

    fresh = Session(dir=str(s.repo.root), as_user=s.user, now_text=s.now.isoformat(), quiet=True)
    found = checker.run_since(fresh, changed, unmerged=False) if changed is not None else None
    return found if found is not None else checker.run(fresh)
