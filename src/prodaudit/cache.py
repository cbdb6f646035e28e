"""A content-addressed cache for static facts: results derived only from repository files.

Entries live in namespaces (``secret-scan``; later the product model, bandit, pip-audit and
hadolint results) and are keyed by everything they depend on: the input files' content hashes
plus the version of the code or tool that produced them (:meth:`Cache.key`). A result that
depends on a running target, the network or the clock is never cached: the runner does not
cache checks, only static helpers use this module.

- Location: ``$PRODAUDIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/prodaudit``, else
  ``~/.cache/prodaudit``; ``--no-cache`` (``AuditConfig.cache = False``) bypasses it.
- One SQLite database (WAL journal): every run writes its new entries in one transaction, so
  concurrent runs never see a half-written entry; a busy or broken database degrades to no cache
  with a warning, never to a failed audit.
- Bounded: past ``max_bytes`` the least recently used entries are evicted.
- A stat index (path, size, mtime, ctime, inode -> content hash) spares re-reading unchanged
  files, as git's index does; an entry whose mtime is within two seconds of the moment it was
  recorded is not trusted (a same-second rewrite could keep the stat unchanged).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("prodaudit.cache")

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
MAX_STAT_ROWS = 2_000_000
RACY_SECONDS = 2.0
TOUCH_AFTER_SECONDS = 24 * 3600.0  # refresh an entry's last use at most once a day
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    size INTEGER NOT NULL, used REAL NOT NULL, PRIMARY KEY (ns, key));
-- no index on "used": eviction (rare) scans the table, every cold run's inserts stay cheap
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,
    ctime_ns INTEGER, ino INTEGER, digest TEXT NOT NULL, seen REAL NOT NULL);
"""
StatKey = tuple[int, int, int, int]


def cache_dir() -> Path:
    """``$PRODAUDIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/prodaudit``, else ``~/.cache/prodaudit``."""
    explicit = os.environ.get("PRODAUDIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "prodaudit"


def template_cache(environment: str) -> Any:
    """A Jinja bytecode cache for one template environment (``markdown``, ``html``) under
    ``cache_dir()/templates/<environment>`` (resolved at each use): compiled templates are reused
    across runs as ``.pyc`` files are (keyed by each template's source, so never stale; written
    atomically by Jinja). A directory that cannot be used means templates compiled per run."""
    from jinja2 import BytecodeCache, FileSystemBytecodeCache
    from jinja2.bccache import Bucket

    class _Templates(BytecodeCache):
        def _where(self) -> FileSystemBytecodeCache | None:
            where = cache_dir() / "templates" / environment
            try:
                where.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError:
                return None
            return FileSystemBytecodeCache(str(where))

        def load_bytecode(self, bucket: Bucket) -> None:
            fs = self._where()
            if fs is not None:
                with contextlib.suppress(OSError, ValueError, EOFError):
                    fs.load_bytecode(bucket)

        def dump_bytecode(self, bucket: Bucket) -> None:
            fs = self._where()
            if fs is not None:
                with contextlib.suppress(OSError):
                    fs.dump_bytecode(bucket)

    return _Templates()


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _retry_locked(step: Callable[[], object], *, budget: float = 10.0) -> None:
    """Run a set-up statement, retrying while another process holds the lock. SQLite
    answers "database is locked" at once for a journal-mode switch (the busy timeout does
    not apply to it), so concurrent first runs sharing one cache would otherwise fail."""
    deadline = time.monotonic() + budget
    delay = 0.01
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class Cache:
    """Namespaced key/value entries plus a stat index. Thread-safe; writes are buffered and
    committed by :meth:`flush` in one transaction."""

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = root / "cache.sqlite3"
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False,
                                   isolation_level=None)
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        _retry_locked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
        self._db.execute("PRAGMA synchronous=NORMAL")
        _retry_locked(lambda: self._db.executescript(_SCHEMA))
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], bytes] = {}
        self._touch: set[tuple[str, str]] = set()
        self._stats_rows: dict[str, tuple[StatKey, str]] = {}
        self.stats: dict[str, dict[str, int]] = {}

    @classmethod
    def open(cls, enabled: bool = True, root: Path | None = None) -> Cache | None:
        """The cache, or None when disabled or unusable (the reason is logged)."""
        if not enabled:
            return None
        where = root or cache_dir()
        try:
            return cls(where)
        except (OSError, sqlite3.Error) as exc:
            log.warning("cache at %s unusable, running without it: %s", where, exc)
            return None

    @staticmethod
    def key(*parts: str | bytes) -> str:
        """A key from every input of a result (content hashes, versions, options)."""
        h = hashlib.sha256()
        for p in parts:
            b = p.encode() if isinstance(p, str) else p
            h.update(len(b).to_bytes(8, "big") + b)
        return h.hexdigest()

    # ---- entries -----------------------------------------------------------------------
    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, bytes] = {}
        stale = time.time() - TOUCH_AFTER_SECONDS
        try:
            with self._lock:
                for i in range(0, len(keys), 500):
                    chunk = keys[i:i + 500]
                    marks = ",".join("?" * len(chunk))  # placeholders only, values bound
                    query = f"SELECT key, value, used FROM entries WHERE ns=? AND key IN ({marks})"  # noqa: S608
                    rows = self._db.execute(query, (ns, *chunk)).fetchall()
                    for k, v, used in rows:
                        found[k] = bytes(v)
                        if used < stale:
                            self._touch.add((ns, k))
        except sqlite3.Error as exc:
            log.warning("cache read failed: %s", exc)
        self._count(ns, hits=len(found), misses=len(keys) - len(found))
        return found

    def keys(self, ns: str, prefix: str) -> set[str]:
        """Every key of ``ns`` that starts with ``prefix`` (one query: a run with many new
        files asks this once instead of once per file)."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT key FROM entries WHERE ns = ? AND key >= ? AND key < ?",
                    (ns, prefix, prefix + "\uffff")).fetchall()
        except sqlite3.Error as exc:
            log.warning("cache read failed: %s", exc)
            return set()
        return {k for (k,) in rows}

    def get(self, ns: str, key: str) -> bytes | None:
        return self.get_many(ns, [key]).get(key)

    def put(self, ns: str, key: str, value: bytes) -> None:
        with self._lock:
            self._pending[(ns, key)] = value

    def _count(self, ns: str, *, hits: int = 0, misses: int = 0) -> None:
        with self._lock:
            s = self.stats.setdefault(ns, {"hits": 0, "misses": 0})
            s["hits"] += hits
            s["misses"] += misses

    # ---- stat index ----------------------------------------------------------------------
    def known_files(self, ns: str, prefix: str, paths: Iterable[tuple[str, os.stat_result]]
                    ) -> dict[str, tuple[str, bytes | None]]:
        """path -> (content hash, the entry ``prefix + hash`` of ``ns`` or None) for every path
        whose stat still matches the recorded one: one query for a whole tree."""
        wanted = {p: stat_key(st) for p, st in paths}
        out: dict[str, tuple[str, bytes | None]] = {}
        if not wanted:
            return out
        stale = time.time() - TOUCH_AFTER_SECONDS
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT f.path, f.size, f.mtime_ns, f.ctime_ns, f.ino, f.digest, e.value, "
                    "e.used FROM files f LEFT JOIN entries e ON e.ns = ? AND e.key = ? || f.digest "
                    "WHERE f.path >= ? AND f.path <= ?",
                    (ns, prefix, min(wanted), max(wanted))).fetchall()
        except sqlite3.Error as exc:
            log.warning("cache read failed: %s", exc)
            return out
        hits = 0
        for path, size, mtime, ctime, ino, digest, value, used in rows:
            if wanted.get(path) == (size, mtime, ctime, ino):
                out[path] = (digest, None if value is None else bytes(value))
                if value is not None:
                    hits += 1
                    if used < stale:
                        self._touch.add((ns, prefix + digest))
        self._count(ns, hits=hits)
        return out

    def remember_digest(self, path: str, st: os.stat_result, digest: str) -> None:
        """Record a file's content hash under its stat (skipped for a just-modified file)."""
        if time.time() - st.st_mtime_ns / 1e9 <= RACY_SECONDS:
            return
        with self._lock:
            self._stats_rows[path] = (stat_key(st), digest)

    # ---- writing -------------------------------------------------------------------------
    def flush(self) -> None:
        """Commit buffered entries and stat rows in one transaction, then evict past the bound."""
        with self._lock:
            pending, self._pending = self._pending, {}
            touch, self._touch = self._touch, set()
            stat_rows, self._stats_rows = self._stats_rows, {}
            if not (pending or touch or stat_rows):
                return
            now = time.time()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries (ns, key, value, size, used) VALUES "
                    "(?, ?, ?, ?, ?)",
                    [(ns, k, v, len(v) + len(k) + len(ns), now) for (ns, k), v in pending.items()])
                self._db.executemany("UPDATE entries SET used=? WHERE ns=? AND key=?",
                                     [(now, ns, k) for ns, k in touch])
                self._db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(p, *sk, d, now) for p, (sk, d) in stat_rows.items()])
                self._evict()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                log.warning("cache write skipped: %s", exc)
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")

    def _disk_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.path.getsize(f"{self.path}{suffix}")
        return total

    def _evict(self) -> None:
        if self._disk_bytes() <= self.max_bytes:  # the entries cannot exceed the files
            return
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        if total > self.max_bytes:
            excess, doomed = total - int(self.max_bytes * 0.9), []
            for rowid, size in self._db.execute("SELECT rowid, size FROM entries "
                                                "ORDER BY used, rowid"):
                if excess <= 0:
                    break
                doomed.append((rowid,))
                excess -= size
            self._db.executemany("DELETE FROM entries WHERE rowid=?", doomed)
        rows = self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        if rows > MAX_STAT_ROWS:
            self._db.execute("DELETE FROM files WHERE path IN (SELECT path FROM files ORDER BY "
                             "seen LIMIT ?)", (rows - MAX_STAT_ROWS,))

    def summary(self) -> dict[str, Any]:
        """For audit.json (``facts.cache``): where the cache is and what each namespace got."""
        with self._lock:
            return {"dir": str(self.root), "namespaces": {k: dict(v) for k, v in self.stats.items()}}

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()


def get_json(cache: Cache | None, ns: str, keys: Iterable[str]) -> dict[str, Any]:
    """JSON entries by key (no cache, a miss or an unreadable entry: absent)."""
    out: dict[str, Any] = {}
    if cache is None:
        return out
    for key, raw in cache.get_many(ns, keys).items():
        try:
            out[key] = json.loads(raw)
        except ValueError:
            continue
    return out


def put_json(cache: Cache | None, ns: str, key: str, value: Any) -> None:
    if cache is not None:
        cache.put(ns, key, json.dumps(value, separators=(",", ":")).encode())
