"""A sliding-window rate limit shared by every process of one repository (the workers of a WSGI
server): the recent hits per key in a small SQLite file under .dealcli/ (a local cache, never
committed). When that file cannot be used, each process counts alone (in memory)."""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

NAME = "intake-rate.sqlite"
_memory: dict[str, deque[float]] = {}
_lock = threading.Lock()


def hit(cache_dir: Path, key: str, requests: int, seconds: int) -> int:
    """Count one request for `key`: 0 when it is within `requests` per `seconds`, else the
    seconds to wait (the request is then not counted)."""
    import sqlite3

    now = time.time()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(cache_dir / NAME, timeout=5, isolation_level=None)
    except (OSError, sqlite3.Error):
        return _hit_memory(key, requests, seconds, now)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL)")
        con.execute("CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at)")
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM hits WHERE at <= ?", (now - 86400,))  # nothing is limited over a day
        recent = [row[0] for row in con.execute("SELECT at FROM hits WHERE key = ? AND at > ? ORDER BY at",
                                                (key, now - seconds))]
        if len(recent) >= requests:
            con.execute("COMMIT")
            return max(1, int(recent[0] + seconds - now + 0.999))
        con.execute("INSERT INTO hits (key, at) VALUES (?, ?)", (key, now))
        con.execute("COMMIT")
        return 0
    except sqlite3.Error:
        return _hit_memory(key, requests, seconds, now)
    finally:
        con.close()


def _hit_memory(key: str, requests: int, seconds: int, now: float) -> int:
    with _lock:
        hits = _memory.setdefault(key, deque())
        while hits and hits[0] <= now - seconds:
            hits.popleft()
        if len(hits) >= requests:
            return max(1, int(hits[0] + seconds - now + 0.999))
        hits.append(now)
        return 0
