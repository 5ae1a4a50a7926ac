"""`dealcli recover`: the intent journal entries killed commands left (storage/journal.py).
Every command finishes or undoes them first; an entry recovery does not trust stops writers
(exit 5) until it is looked at (`status`) and removed (`discard`)."""

from __future__ import annotations

from dealcli.session import Session
from dealcli.storage.repository import Repository, find_root


def _repo(s: Session) -> Repository:
    """The repository without the Session's recovery (which would warn about the entries this
    command is asked to show)."""
    return Repository(s.repo_root or find_root(s.dir))


def status(s: Session) -> list[dict]:
    """Each journal entry: its state, the files it names, and why recovery refuses it (None: it
    is finished by the next command)."""
    return _repo(s).journal_status()


def discard(s: Session) -> list[str]:
    """Remove the entries recovery refuses (their files stay as they are now) and recover the
    rest; returns the entries removed."""
    return _repo(s).discard_journal()


def run(s: Session) -> int:
    """Recover now, as every command does first; a writer's exit 5 on an entry not trusted.
    Returns how many entries there were."""
    found = len(status(s))
    with s.repo.lock():  # taking the lock recovers (and stops at an entry not trusted)
        pass
    return found
