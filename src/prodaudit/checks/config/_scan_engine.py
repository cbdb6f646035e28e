"""The secret scan's engine (suite-private): which files, read how, found by which finder, and
what the cache already knows.

Per file: a stat-index or content-hash cache hit is used as is; otherwise the file is read, a
candidate finder reports the lines where a rule could match, and the judge decides. Finders:

- RE2 (google-re2), in process: one DFA for the alternation of every relaxed rule, linear in the
  input; it releases the GIL, so a thread pool scans a large tree on every core with one file
  per thread in memory.
- Python ``re`` on the same pattern when RE2 is not installed (slower, same hits).
- ripgrep (``secrets.engine = "ripgrep"``, or ``auto`` without RE2): finds the candidate files
  (and the binary ones) in parallel without Python reading them; the Python judge then runs
  on the candidates only. Files without candidates are not read, so they are not cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from prodaudit.cache import RACY_SECONDS, Cache, file_digest
from prodaudit.checks.config._scan_judge import Finder, Hit, candidate_lines, fingerprint, judge
from prodaudit.checks.config._scan_rules import finder_pattern, finder_patterns, rules_version

log = logging.getLogger("prodaudit.config.secrets")

NS = "secret-scan"
BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".woff", ".woff2", ".ttf",
                   ".otf", ".eot", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".whl", ".pyc",
                   ".so", ".dll", ".exe", ".mp4", ".mp3", ".wasm", ".db", ".sqlite", ".lock")
PARALLEL_MIN_BYTES = 4_000_000  # below this a thread pool costs more than it saves
CHUNK = 64  # files per task
RG_TIMEOUT = 600.0
RG_ARGS_BYTES = 512_000  # paths per ripgrep invocation, in bytes of command line
ENGINES = ("auto", "python", "ripgrep")


@functools.lru_cache(maxsize=1)
def default_finder() -> Finder:
    """RE2 on bytes (Latin-1: one byte, one character) when installed, else Python re."""
    pattern = finder_pattern().encode()
    try:
        import re2
    except ImportError:
        return re.compile(pattern)
    opts = re2.Options()
    opts.encoding = re2.Options.Encoding.LATIN1
    opts.max_mem = 128 << 20
    finder: Finder = re2.compile(pattern, opts)
    return finder


def has_re2() -> bool:
    try:
        import re2  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class FileResult:
    kind: str  # "text" or "binary"
    hits: list[Hit] = field(default_factory=list)
    allowed: int = 0
    cached: bool = False

    def encode(self) -> bytes:
        """The cache entry: one byte for the common "nothing here" results, else JSON."""
        if not self.hits and not self.allowed:
            return b"t" if self.kind == "text" else b"b"
        return json.dumps({"kind": self.kind, "allowed": self.allowed,
                           "hits": [h.to_cache() for h in self.hits]}).encode()


def scan_bytes(rel: str, raw: bytes, allow: str, finder: Finder | None = None) -> FileResult:
    """One file's content: binary (a NUL in the first 8 KB) or its hits."""
    if b"\0" in raw[:8192]:
        return FileResult("binary")
    lines = candidate_lines(raw, finder or default_finder())
    if not lines:
        return FileResult("text")
    hits, allowed = judge(rel, raw.decode("utf-8", errors="replace"), lines, allow)
    return FileResult("text", hits, allowed)


_CACHED_TEXT = FileResult("text", cached=True)  # the common entry, shared (never mutated)


def _decode(raw: bytes) -> dict[str, Any] | None:
    if raw in (b"t", b"b"):
        return {"kind": "text" if raw == b"t" else "binary"}
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and entry.get("kind") in ("text", "binary") else None


def _from_cache(rel: str, entry: dict[str, Any], text: str | None) -> FileResult | None:
    """A cached result with each secret read back from the file's text (None: it does not match,
    the file changed between the stat and the read)."""
    hits = []
    for h in entry.get("hits", []):
        if text is None:
            return None
        secret = text[h["start"]:h["start"] + h["length"]]
        if fingerprint(h["rule"], secret) != h["fp"]:
            return None
        hits.append(Hit(rel, h["line"], h["rule"], h["title"], secret, h["excerpt"], h["start"]))
    return FileResult(entry["kind"], hits, int(entry.get("allowed", 0)), cached=True)


def _read(path: str, size: int) -> bytes:
    """A file's bytes in one ``read`` of its known size (the rest too, should it have grown)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        rest = [data]
        while chunk := os.read(fd, 1 << 20):
            rest.append(chunk)
        return b"".join(rest)
    finally:
        os.close(fd)


@dataclass
class Job:
    rel: str
    full: str
    st: os.stat_result


@dataclass
class TreeScan:
    results: dict[str, FileResult] = field(default_factory=dict)
    binary_suffix: int = 0  # skipped by name, never read
    skipped_large: int = 0
    unreadable: int = 0
    engine: str = "python"

    @property
    def scanned(self) -> int:
        return sum(1 for r in self.results.values() if r.kind == "text")

    @property
    def skipped_binary(self) -> int:
        return self.binary_suffix + sum(1 for r in self.results.values() if r.kind == "binary")

    @property
    def from_cache(self) -> int:
        return sum(1 for r in self.results.values() if r.cached)


class _Scanner:
    def __init__(self, root: Path, allow: str, cache: Cache | None) -> None:
        self.root, self.allow, self.cache = root, allow, cache
        self.prefix = Cache.key(rules_version(), allow)[:32] + ":"  # + the content hash
        self.known: set[str] = set()  # keys of this prefix in the cache, read once per scan
        self.out = TreeScan()

    def plan(self, files: Iterable[str], cap: int,
             stats: Mapping[str, os.stat_result] | None = None) -> list[Job]:
        """One job per file to scan. ``stats``: the file index's own ``stat`` of a file, taken
        when it listed it (a regular file, no link), used instead of a second system call."""
        jobs = []
        base = str(self.root)
        known = stats or {}
        for rel in files:
            if rel.lower().endswith(BINARY_SUFFIXES):
                self.out.binary_suffix += 1
                continue
            full = f"{base}/{rel}"
            st = known.get(rel)
            if st is None:
                try:
                    st = os.stat(full)
                except OSError:
                    self.out.unreadable += 1
                    continue
            if st.st_size > cap:
                self.out.skipped_large += 1
                continue
            jobs.append(Job(rel, full, st))
        return jobs

    def cached(self, digests: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Decoded entries by content hash."""
        if self.cache is None:
            return {}
        keys = {self.prefix + d: d for d in digests}
        found = self.cache.get_many(NS, keys)
        out = {}
        for key, raw in found.items():
            entry = _decode(raw)
            if entry is not None:
                out[keys[key]] = entry
        return out

    def from_stat_index(self, jobs: list[Job]) -> list[Job]:
        """Use the results of files whose stat is unchanged; return the others."""
        if self.cache is None or not jobs:
            return jobs
        known = self.cache.known_files(NS, self.prefix, ((j.full, j.st) for j in jobs))
        rest = []
        for j in jobs:
            raw = known.get(j.full, ("", None))[1]
            res = None
            if raw == b"t":
                res = _CACHED_TEXT
            elif raw is not None:
                entry = _decode(raw)
                if entry is not None:
                    text = self._read_text(j) if entry.get("hits") else None
                    res = _from_cache(j.rel, entry, text)
            if res is None:
                rest.append(j)
            else:
                self.out.results[j.rel] = res
        return rest

    def _read_text(self, j: Job) -> str | None:
        try:
            return _read(j.full, j.st.st_size).decode("utf-8", errors="replace")
        except OSError:
            return None

    def process(self, j: Job) -> FileResult | None:
        """Read, look up by content hash, else scan (None: unreadable)."""
        try:
            raw = _read(j.full, j.st.st_size)
        except OSError:
            return None
        if self.cache is None:
            return scan_bytes(j.rel, raw, self.allow)
        digest = file_digest(raw)
        entry = self.cached([digest]).get(digest) if self.prefix + digest in self.known else None
        res = None
        if entry is not None:
            res = _from_cache(j.rel, entry, raw.decode("utf-8", errors="replace"))
        if res is None:
            res = scan_bytes(j.rel, raw, self.allow)
            self.cache.put(NS, self.prefix + digest, res.encode())
        self.cache.remember_digest(j.full, j.st, digest)
        return res

    def run(self, jobs: list[Job], progress: Callable[[int], None]) -> None:
        def batch(chunk: list[Job]) -> list[tuple[Job, FileResult | None]]:
            return [(j, self.process(j)) for j in chunk]

        chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
        size = sum(j.st.st_size for j in jobs)
        workers = min(os.cpu_count() or 1, 8) if size >= PARALLEL_MIN_BYTES else 1
        if workers == 1:
            self._collect((batch(c) for c in chunks), progress)
        else:
            self._collect(_in_daemon_threads(batch, chunks, workers), progress)

    def _collect(self, batches: Iterable[list[tuple[Job, FileResult | None]]],
                 progress: Callable[[int], None]) -> None:
        for pairs in batches:
            for j, res in pairs:
                if res is None:
                    self.out.unreadable += 1
                else:
                    self.out.results[j.rel] = res
            progress(len(pairs))


T = TypeVar("T")
R = TypeVar("R")


def _in_daemon_threads(fn: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """``fn`` over ``items`` on ``workers`` daemon threads, results as they complete. Daemon
    threads, not a ThreadPoolExecutor: an interrupted audit exits at once instead of waiting
    for the queued files to be scanned."""
    todo: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    done: queue.SimpleQueue[tuple[R | None, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((fn(item), None))
            except BaseException as exc:  # handed to the caller, which re-raises it
                done.put((None, exc))
                return

    for i in range(workers):
        threading.Thread(target=work, name=f"secret-scan-{i}", daemon=True).start()
    for _ in items:
        result, err = done.get()
        if err is not None:
            raise err
        yield cast(R, result)


def _progress(total: int) -> Callable[[int], None]:
    done = [0]

    def step(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        for k in range((before // 5000 + 1) * 5000, done[0] + 1, 5000):
            log.info("secret scan: %d/%d files", k, total)

    return step


def _tree_key(s: _Scanner, jobs: list[Job]) -> str | None:
    """One key for the whole tree: every planned file's path and stat, under the rules' prefix
    (None: a file changed within the racy window, its stat cannot vouch for its content)."""
    now_ns = time.time_ns()
    racy_ns = int(RACY_SECONDS * 1e9)
    h = hashlib.sha256()
    for j in jobs:
        st = j.st
        if now_ns - st.st_mtime_ns <= racy_ns:
            return None
        h.update(f"{j.rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n"
                 .encode("utf-8", "surrogateescape"))
    return s.prefix + "tree:" + h.hexdigest()


def _from_tree(s: _Scanner, key: str, jobs: list[Job]) -> bool:
    """A rerun on an unchanged tree: one entry holds the results of the files that are not plain
    text without findings (every other file is one of those). False: no usable entry."""
    assert s.cache is not None
    raw = s.cache.get(NS, key)
    try:
        entries = json.loads(raw) if raw is not None else None
    except ValueError:
        return False
    if not isinstance(entries, dict):
        return False
    results: dict[str, FileResult] = {}
    for j in jobs:
        enc = entries.get(j.rel)
        res: FileResult | None = _CACHED_TEXT
        if enc is not None:
            entry = _decode(enc.encode("utf-8", "surrogateescape"))
            text = s._read_text(j) if entry and entry.get("hits") else None
            res = _from_cache(j.rel, entry, text) if entry is not None else None
        if res is None:  # changed between the stat and the read: scan the usual way
            return False
        results[j.rel] = res
    s.out.results.update(results)
    return True


def _remember_tree(s: _Scanner, key: str, jobs: list[Job]) -> None:
    if s.cache is None or len(s.out.results) < len(jobs):  # an unreadable file: not a whole tree
        return
    rest = {j.rel: s.out.results[j.rel].encode() for j in jobs}
    kept = {rel: enc.decode("utf-8", "surrogateescape") for rel, enc in rest.items()
            if enc != b"t"}
    s.cache.put(NS, key, json.dumps(kept).encode())


def scan_tree(root: Path, files: list[str], *, allow: str, cap: int, cache: Cache | None,
              engine: str = "auto", stats: Mapping[str, os.stat_result] | None = None
              ) -> TreeScan:
    """Scan ``files`` (relative to ``root``) with the cache and the chosen finder. An unchanged
    tree is answered by one cache entry (``_tree_key``), else file by file. ``stats``: the
    files' ``stat`` results the file index already took (``FileIndex.stats``), not taken again."""
    s = _Scanner(root, allow, cache)
    jobs = s.plan(files, cap, stats)
    step = _progress(len(files))
    step(len(files) - len(jobs))
    tree = _tree_key(s, jobs) if cache is not None else None
    if tree is not None and _from_tree(s, tree, jobs):
        step(len(jobs))
        return s.out
    todo = s.from_stat_index(jobs)
    step(len(jobs) - len(todo))
    if cache is not None and todo:
        s.known = cache.keys(NS, s.prefix)
    rg = shutil.which("rg") if engine == "ripgrep" or (engine == "auto" and not has_re2()) else None
    if engine == "ripgrep" and rg is None:
        log.warning("secrets.engine = ripgrep but rg is not installed: scanning in Python")
    if rg and todo:
        s.out.engine = "ripgrep"
        before = len(todo)
        todo = _ripgrep_prune(s, rg, todo)
        step(before - len(todo))
    s.run(todo, step)
    if tree is not None:
        _remember_tree(s, tree, jobs)
    if cache is not None:
        cache.flush()
    return s.out


# ---- ripgrep as the candidate finder ----------------------------------------------------------------
def _rg_batches(jobs: list[Job]) -> Iterable[list[Job]]:
    batch: list[Job] = []
    size = 0
    for j in jobs:
        batch.append(j)
        size += len(j.rel) + 1
        if size >= RG_ARGS_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _rg_start(rg: str, root: Path, patterns: list[str], rels: list[str]) -> subprocess.Popen[bytes]:
    args = [rg, "--files-with-matches", "--null", "--no-config", "--no-messages", "--no-ignore",
            "--hidden", "--multiline", "--text", "--no-unicode", "--encoding", "none",
            "--max-filesize", "1G"]
    for p in patterns:
        args += ["-e", p]
    return subprocess.Popen([*args, "--", *rels], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _rg_lists(rg: str, root: Path, queries: list[list[str]], rels: list[str]
              ) -> list[set[str]] | None:
    """For each list of patterns, the files among ``rels`` where one matches; the queries run
    concurrently (None: ripgrep failed)."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs = [_rg_start(rg, root, q, rels) for q in queries]
        outs = [p.communicate(timeout=RG_TIMEOUT) for p in procs]
    except (OSError, subprocess.SubprocessError) as exc:
        for p in procs:
            p.kill()
            p.wait()
        log.warning("ripgrep failed, scanning in Python: %s", exc)
        return None
    bad = next((p for p in procs if p.returncode not in (0, 1)), None)
    if bad is not None:
        err = outs[procs.index(bad)][1].decode(errors="replace")[-300:]
        log.warning("ripgrep exited %d, scanning in Python: %s", bad.returncode, err)
        return None
    return [{p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
            for out, _ in outs]


def _ripgrep_prune(s: _Scanner, rg: str, jobs: list[Job]) -> list[Job]:
    """Settle the files where ripgrep finds no candidate (text, or binary when a NUL is in the
    first 8 KB) without reading them; return the candidates for Python to read and judge. The
    NUL test is a query of its own: anchored at the start of the file, it stays cheap."""
    queries = [finder_patterns(), [r"(?s)\A.{0,8191}\x00"]]
    todo: list[Job] = []
    for batch in _rg_batches(jobs):
        listed = _rg_lists(rg, s.root, queries, [j.rel for j in batch])
        if listed is None:
            todo += batch
            continue
        hits, binary = listed
        for j in batch:
            if j.rel in hits:
                todo.append(j)
            else:
                s.out.results[j.rel] = FileResult("binary" if j.rel in binary else "text")
    return todo
