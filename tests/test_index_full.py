"""A disk that fills up while the index cache is written (docs/performance.md: a cache failure
never fails a command). SQLite says "database or disk is full" (SQLITE_FULL); the cache then
deletes itself (its WAL must not keep the space) and the command reads the files. Here every
write statement of the cache's connections fails that way from a chosen moment, as on a full
disk, and each command must say exactly what it says with the cache switched off."""

from __future__ import annotations

import sqlite3

import pytest

from dealcli.storage import index as index_mod


class _FullDisk(sqlite3.Connection):
    full = False

    def _writes(self, sql: str) -> bool:
        return type(self).full and sql.lstrip().split(None, 1)[0].upper() in (
            "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "BEGIN")

    def execute(self, sql, *args):
        if self._writes(sql):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        if self._writes(sql):
            raise sqlite3.OperationalError("database or disk is full")
        return super().executemany(sql, *args)


@pytest.fixture
def full_disk(monkeypatch):
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **kw: real(*a, factory=_FullDisk, **kw))
    monkeypatch.setattr(_FullDisk, "full", False)
    return _FullDisk


@pytest.mark.parametrize("argv", [["filter", "-f", "ids"], ["board", "-f", "json"], ["agenda", "-f", "json"],
                                  ["deal", "add", "Another", "--company", "Acme", "--quiet"]])
def test_a_disk_filling_up_during_a_scan_never_fails_the_command(cli, repo, full_disk, argv):
    for i in range(6):
        cli.ok("deal", "add", f"Deal {i}", "--company", "Acme", "--amount", f"{i}00")
    truth = cli(*argv, env={"DEALCLI_NO_INDEX": "1"}) if argv[0] != "deal" else None
    full_disk.full = True  # the index holds unsettled rows dealcli wrote: the scan writes to it
    proc = cli(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr.lower()
    if truth is not None:
        assert proc.stdout == truth.stdout
    assert not (repo / ".dealcli" / index_mod.INDEX_NAME).exists()  # deleted: the space is given back
    full_disk.full = False
    again = cli("filter", "-f", "ids")
    assert again.returncode == 0 and len(again.stdout.split()) == 6 + (argv[0] == "deal")
