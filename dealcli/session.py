"""The acting context of one command: repository, acting user, clock and time zone, plus the
notices (hints for stderr) that core operations leave for the CLI to print. Core operations
receive a Session; they never print."""

from __future__ import annotations

import functools
import os
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

from dealcli import timeutil
from dealcli.errors import CorruptData, FieldError, NotFound, UsageError
from dealcli.model import Deal, Pipeline
from dealcli.storage.repository import Doc, Repository, find_root
from dealcli import i18n


def _git_email() -> str | None:
    import subprocess  # only when no user is given: keeps start-up light

    try:
        out = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def to_model(doc: Doc, cls=None):
    """Build a model object (of `cls`, else of the record's kind: model.model_of) from a record,
    turning a type error into CorruptData (exit 5) that names the file and line of the bad value
    (also for a value that is not plain data: a null key, a !!set; see validation/records.py)."""
    from dealcli.validation.records import plain_problem

    found = plain_problem(doc.data)
    if found:
        raise CorruptData(str(doc.path), found[1], doc.line_of(found[0]))
    if cls is None:
        from dealcli.model import model_of

        cls = model_of(doc.kind)
    try:
        obj = cls.from_dict(doc.data)
    except FieldError as exc:
        raise CorruptData(str(doc.path), str(exc), doc.line_of(exc.path)) from None
    if getattr(obj, "id", doc.id) != doc.id:
        raise CorruptData(str(doc.path), i18n._("id {obj_id!r} does not match the file name {doc_id!r}").format(
            obj_id=obj.id, doc_id=doc.id),
                          doc.line_of(("id",)))
    return obj


def _auto_commit(s: Session, repo: Repository, ops, recovered) -> None:
    """Repository.on_commit: under the lock, after each transaction (or after recovery finished
    one a killed command left), git commits its files when dealcli.yaml says `auto_commit`."""
    if repo.config.get("auto_commit"):
        from dealcli import gitops

        gitops.auto_commit(s, repo, ops, recovered)


class Written(str):
    """The text of a notice about a write (Session.notice_written)."""


@dataclass
class Session:
    dir: str | None = None
    as_user: str | None = None
    now_text: str | None = None
    quiet: bool = False
    notices: list[Any] = field(default_factory=list)  # text, errors.Words, activities.Nudge, Written, ...
    alerts: list[str] = field(default_factory=list)  # like notices, but printed even with --quiet
    repo_root: Path | None = None
    # an identity the repository's own settings name (intake.user): trusted like the real one,
    # so acting as it needs no right to act as another user
    configured_user: str | None = None

    @functools.cached_property
    def repo(self) -> Repository:
        repo = Repository(self.repo_root or find_root(self.dir))
        self.__dict__["repo"] = repo
        from dealcli import i18n, rules

        i18n.use_repository(repo.config)  # `language:` in dealcli.yaml wins over the environment
        rules.install(self, repo)  # the rulebook judges what each transaction would leave
        if repo.config.get("users"):  # access rights (dealcli/access.py): only with users
            from dealcli import access

            access.install(self, repo)
        repo.on_commit = functools.partial(_auto_commit, self, repo)
        repo.recover()  # a command killed mid-write is finished or undone before anything is read
        for refused in repo.refused:  # a reader goes on with the files as they are
            self.alert(i18n._("reading the files as they are (the last command that wrote may be half done): "
                       "{refused_message}").format(refused_message=refused.message))
        return repo

    @functools.cached_property
    def tz(self):
        name = self.repo.config.get("timezone") if self._has_repo() else None
        try:
            return timeutil.zone(name)
        except timeutil.DateError as exc:
            raise CorruptData("dealcli.yaml", str(exc)) from None

    def _has_repo(self) -> bool:
        try:
            self.repo  # noqa: B018
        except NotFound:
            return False
        return True

    @functools.cached_property
    def now(self):
        text = self.now_text or os.environ.get("DEALCLI_NOW")
        try:
            return timeutil.parse_now(text, self.tz)
        except timeutil.DateError as exc:
            raise UsageError.about("now", "{0}: {problem}", problem=str(exc)) from None

    @functools.cached_property
    def user(self) -> str:
        """The acting user. In a repository with users: a login of dealcli.yaml (an unknown
        identity, or --as without the right to act as that user, is NotAllowed, exit 6)."""
        guard = self.repo.guard if self._has_repo() else None
        if guard is not None:
            from dealcli import access

            return access.identify(guard.policy, self.as_user, self.configured_user or self.real_user())
        return self.as_user or self.configured_user or self.real_user()

    def real_user(self) -> str:
        """Who runs the command, --as aside: $DEALCLI_USER, the repository default, git user.email."""
        if os.environ.get("DEALCLI_USER"):
            return os.environ["DEALCLI_USER"]
        if self._has_repo() and self.repo.config.get("default_user"):
            return str(self.repo.config["default_user"])
        return _git_email() or os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"

    def notice(self, message) -> None:
        """A hint for stderr: text, or errors.Words about fields (the edge words them as options)."""
        self.notices.append(message)

    def alert(self, message: str) -> None:
        """A warning for stderr that --quiet does not silence (data half written, a git commit
        that failed): the command itself went on."""
        self.alerts.append(message)

    def notice_written(self, message: str) -> None:
        """A notice about a record the running transaction writes (`created company ...`): said
        only when the command wrote something, never for a record a refusal rolled back. A Text
        is worded now, in the language in use (Written keeps a plain str)."""
        from dealcli.i18n import worded

        self.notices.append(Written(worded(message)))

    @property
    def date_order(self) -> str | None:
        """dealcli.yaml `date_order`: dayfirst or monthfirst for numeric dates like 03/04/2026
        (None: an ambiguous one is refused), in the CLI and in import."""
        if not self._has_repo():
            return None
        value = self.repo.config.get("date_order")
        if value in (None, ""):
            return None
        if value not in timeutil.ORDERS:
            raise CorruptData("dealcli.yaml", i18n._("date_order: {value!r} is not dayfirst or monthfirst").format(
                value=value))
        return str(value)

    @property
    def currency(self) -> str:
        return str(self.repo.config.get("currency") or "USD")

    # -- pipelines -------------------------------------------------------------------------------
    @functools.cached_property
    def _pipelines(self) -> dict[str, Pipeline]:
        return {}

    def pipeline(self, pipeline_id: str) -> Pipeline:
        if pipeline_id not in self._pipelines:
            try:
                doc = self.repo.load("pipelines", pipeline_id)
            except NotFound:
                from dealcli.suggest import hint

                known = sorted(self.repo.ids("pipelines"))
                raise NotFound(i18n._("pipeline {pipeline_id!r}: no such pipeline{hint_str_pipeline_id_kno} "
                               "(pipelines: {join_known_or_none})").format(
                                   pipeline_id=pipeline_id, hint_str_pipeline_id_kno=hint(str(pipeline_id), known),
                                   join_known_or_none=', '.join(known) or 'none')) from None
            self._pipelines[pipeline_id] = to_model(doc, Pipeline)
        return self._pipelines[pipeline_id]

    def all_pipelines(self, errors: list | None = None) -> dict[str, Pipeline]:
        out = {}
        for doc in self.repo.iter_docs("pipelines", errors):
            try:
                out[doc.id] = self._pipelines.get(doc.id) or to_model(doc, Pipeline)
            except CorruptData as exc:
                if errors is None:
                    raise
                errors.append(exc)
        return out

    def default_pipeline_id(self) -> str:
        configured = self.repo.config.get("default_pipeline")
        if configured:
            return str(configured)
        ids = self.repo.ids("pipelines")
        if not ids:
            raise NotFound(i18n._("the repository has no pipeline (pipelines/ is empty)"))
        return "sales" if "sales" in ids else ids[0]

    # -- deals -----------------------------------------------------------------------------------
    def load_deal(self, ref: str) -> tuple[Deal, Doc]:
        deal_id = self.repo.resolve("deals", ref)
        doc = self.readable(self.repo.load("deals", deal_id))  # a hidden deal: exit 6 (docs/access.md)
        return to_model(doc, Deal), doc

    def readable(self, doc: Doc) -> Doc:
        """`doc` if the acting user may read it; with users, NotAllowed (exit 6) otherwise. For
        records opened by id (show, and the changes that start from one)."""
        if self.repo.guard is not None:
            self.repo.guard.require_read(doc.kind, doc.id, doc.data)
        return doc

    def save_deal(self, deal: Deal, doc: Doc | None) -> Doc:
        """Stage a deal in the command's transaction: created when `doc` is None, else
        written over the version read as `doc`. A change of stage runs the pipelines' stage
        automation first, in the same transaction (dealcli/automation.py)."""
        from dealcli import automation, deals

        automation.fire(self, deal, doc)
        known = doc.data.get("history") if doc is not None and isinstance(doc.data, dict) else None
        deals.mark_backdated(deal.history, len(known) if isinstance(known, list) else 0)
        if doc is None:
            return self.repo.create("deals", deal.id, deal)
        return self.repo.update(doc, deal)

    def deal_records(self, errors: list | None = None, everyone: bool = False, where=None, keys=None,
                     answered=None):
        """Every deal as the plain mapping stored in its file (what filters, views and exports
        read). THE read path for whole-repository scans: the index cache plugs in here.
        Corrupt files go to `errors` (CorruptData) and are skipped. Served by the index cache
        (storage/index.py): only files changed since the last scan are parsed. With users, the
        deals the acting user may not read are left out, unless `everyone` (integrity checks
        that must see every deal, never shown to the user). `where` (a list of index.Cond, from
        query.py) is a hint: deals that cannot meet it may be left out, so the caller must still
        test every deal it gets. `keys` (a set of top-level keys): the caller reads only these,
        so a deal may come without its other keys (the index decodes only a deal's head).
        `answered`: see Index.records (the deals left out for an aggregation in SQL)."""
        for _, data in self.repo.records("deals", errors, guarded=not everyone, where=where, keys=keys,
                                         answered=answered):
            yield data

    def iter_deals(self, errors: list | None = None):
        for deal_id, data in self.repo.records("deals", errors):
            try:
                deal = Deal.from_dict(data)
                if deal.id != deal_id:
                    raise FieldError(("id",), "mismatch")
            except FieldError:
                try:  # read the file again for the error message with its line
                    deal = to_model(self.repo.load("deals", deal_id), Deal)
                except NotFound:
                    continue
                except CorruptData as exc:
                    if errors is None:
                        raise
                    errors.append(exc)
                    continue
            yield deal
