"""The py_index pass over many modules in worker processes. Not a check module.

Parsing and indexing Python is pure CPU work under the interpreter lock: on a large repository
(20,000 modules: ~20 s of CPU) threads cannot share it, and the pass holding the lock starves the
checks running beside it. Above :data:`MIN_MODULES` modules the pass hands chunks of module paths
to worker processes (:mod:`prodaudit.product.pyworker` on this interpreter, with the audit's
import path), each of which reads the files
with the same rules as the audit (:class:`~prodaudit.files.FileIndex`: nothing outside the
repository, the same size cap and decoding), parses them with the same grammar fallbacks, indexes
them and runs the registered extractors — exactly what the sequential pass does — and sends back
plain rows: the compressed text, the summary and the parse outcome, never a tree. The rows come
back in file order; what the readers recorded (unreadable files, links leaving the repository) is
merged into the audit's file index by the caller.

The workers are plain child processes speaking pickle over their standard streams, not
``multiprocessing``: its ``spawn`` re-imports the parent's main script in every worker (a release
manager's script without a ``__main__`` guard would run again), its ``fork`` copies a process whose
other threads may hold locks. Each worker has at most two chunks at a time (the next one waits in
its pipe while it answers the last), so every worker stays busy to the end; a worker that cannot
start, dies or answers garbage is not an error of the audit: :func:`summarise` raises
:class:`PoolUnavailable` (with the worker's last words) and the caller runs the sequential pass,
saying why in the log. Every worker started is stopped before :func:`summarise` returns or raises.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)

#: fewer modules than this: the sequential pass (starting a worker costs ~0.2 s of CPU)
MIN_MODULES = 1500
#: module paths per task (small enough to keep every worker busy to the end)
CHUNK = 120
#: progress is logged (INFO) every this many modules
PROGRESS_EVERY = 5000
#: at most this many worker processes
MAX_WORKERS = 8
#: the workers are stopped (and the sequential pass takes over) when the pass has not ended
#: within ``BASE_TIMEOUT_S + CHUNK_TIMEOUT_S * chunks`` seconds (a chunk takes ~0.2 s)
BASE_TIMEOUT_S = 60.0
CHUNK_TIMEOUT_S = 5.0


T = TypeVar("T")


class PoolUnavailable(Exception):
    """The worker processes could not be started or failed (the sequential pass takes over)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One module as a worker saw it: ``packed`` is None when it was not read or has no tree."""

    rel: str
    packed: bytes | None
    kinds: frozenset[str]
    names: frozenset[str]
    facts: dict[str, Any]
    outcome: Any  # pysource.ParsedSource without its tree (None: the file was not read)
    problems: tuple[tuple[str, str], ...]  # what FileIndex.read_text recorded
    outside: tuple[tuple[str, str], ...]  # links found leaving the repository

    def __reduce__(self) -> tuple[type[Row], tuple[Any, ...]]:
        # a plain constructor call: the default for a slotted dataclass looks up its fields
        # again for every row read back (20,000 rows on a 50,000-file repository)
        return Row, _row_values(self)


#: a Row's field values in order (the constructor's arguments), taken from its fields
_row_values = attrgetter(*(f.name for f in fields(Row)))


def workers_for(modules: int) -> int:
    """How many worker processes a pass over ``modules`` modules uses (1: none): one per core
    the audit may use, at most :data:`MAX_WORKERS` and ``$PRODAUDIT_INDEX_WORKERS`` (0 or 1:
    the pass stays in the audit's process)."""
    if modules < MIN_MODULES or getattr(sys, "frozen", False) or not sys.executable:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    limit = MAX_WORKERS
    wanted = os.environ.get("PRODAUDIT_INDEX_WORKERS", "").strip()
    if wanted:
        try:
            limit = max(1, min(int(wanted), MAX_WORKERS))
        except ValueError:
            log.warning("PRODAUDIT_INDEX_WORKERS=%r is not a number: ignored", wanted)
    return max(1, min(cores, limit, -(-modules // CHUNK)))


#: the worker's first lines: the audit's own import path (``$PRODAUDIT_WORKER_PATH``), so the
#: worker runs this very prodaudit and its libraries whatever the audit's ``sys.path`` became
_BOOT = ("import json, os, runpy, sys; sys.path[:] = json.loads(os.environ.pop("
         "'PRODAUDIT_WORKER_PATH')); runpy.run_module('prodaudit.product.pyworker', "
         "run_name='__main__')")


def worker_command() -> list[str]:
    """The command that starts a worker: this interpreter (see ``_BOOT``)."""
    return [sys.executable, "-c", _BOOT]


class _Worker:
    """One child process and the thread that feeds it chunks."""

    def __init__(self, header: tuple[Any, ...]) -> None:
        env = {**os.environ, "PRODAUDIT_WORKER_PATH": json.dumps(sys.path)}
        # the worker's stderr, read back for the log when it fails; closed by stop()
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                worker_command(), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        except OSError:
            self.stderr.close()
            raise
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self._header: tuple[Any, ...] | None = header  # sent with the first chunk

    def send(self, rels: list[str]) -> None:
        """Hand the worker a chunk (it reads the next chunk as soon as it answered the last)."""
        if self._header is not None:
            pickle.dump(self._header, self.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._header = None
        pickle.dump(rels, self.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.stdin.flush()

    def receive(self) -> list[Row]:
        """The answer to the oldest chunk sent and not yet answered."""
        answer = pickle.load(self.stdout)  # noqa: S301 (our own child, over a private pipe)
        if isinstance(answer, BaseException):
            raise answer  # an exception of the pass itself (an extractor's bug)
        if not isinstance(answer, list):
            raise PoolUnavailable(f"a worker answered {type(answer).__name__}, not rows")
        return answer

    def last_words(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else f"exit status {self.proc.poll()}"

    def stop(self) -> None:
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def summarise(root: Path, rels: list[str], max_bytes: int, extractor_modules: tuple[str, ...],
              workers: int, convert: Callable[[list[Row]], list[T]]) -> list[T]:
    """``convert`` of the rows of ``rels``, in their order, computed by ``workers`` processes.
    ``convert`` gets each chunk's rows as they come back (in one of the threads feeding the
    workers, while the others still work: what the caller makes of the rows is not left for
    after the pass). Raises :class:`PoolUnavailable` when a worker cannot start, dies or falls
    silent; an exception raised by the pass in a worker (a bug in an extractor) or by
    ``convert`` is raised here, as the sequential pass would raise it."""
    chunks = [rels[i:i + CHUNK] for i in range(0, len(rels), CHUNK)]
    results: list[list[T] | None] = [None] * len(chunks)
    header = (str(root), max_bytes, extractor_modules)
    started: list[_Worker] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    todo = iter(range(len(chunks)))
    progress = [0]

    def take() -> int | None:
        with lock:
            return None if failures else next(todo, None)

    def feed(worker: _Worker) -> None:
        # two chunks in flight: the worker starts the next one while this thread (sharing the
        # interpreter lock with the audit's checks) reads the last answer back and converts it
        pending = take()
        try:
            if pending is not None:
                worker.send(chunks[pending])
            while pending is not None:
                rows = worker.receive()
                upcoming = take()
                if upcoming is not None:
                    worker.send(chunks[upcoming])
                with lock:
                    before = progress[0]
                    progress[0] = after = before + len(chunks[pending])
                if after // PROGRESS_EVERY > before // PROGRESS_EVERY:
                    log.info("python modules: %d/%d indexed", after, len(rels))
                results[pending] = convert(rows)
                pending = upcoming
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            with lock:
                failures.append(PoolUnavailable(
                    f"a worker process failed ({type(exc).__name__}): {worker.last_words()}"))
        except BaseException as exc:  # re-raised by the caller's thread
            with lock:
                failures.append(exc)

    threads: list[threading.Thread] = []
    start = time.monotonic()
    try:
        for _ in range(workers):
            try:
                started.append(_Worker(header))
            except OSError as exc:
                raise PoolUnavailable(f"cannot start a worker process: {exc}") from exc
        for worker in started:
            thread = threading.Thread(target=feed, args=(worker,), name="py-index-worker",
                                      daemon=True)
            thread.start()
            threads.append(thread)
        deadline = time.monotonic() + BASE_TIMEOUT_S + CHUNK_TIMEOUT_S * len(chunks)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                with lock:
                    failures.append(PoolUnavailable("the worker processes did not finish in "
                                                    f"{deadline - start:.0f} s"))
                break
    finally:
        for worker in started:
            if worker.proc.poll() is None and any(t.is_alive() for t in threads):
                worker.proc.kill()
            worker.stop()
    if failures:
        raise failures[0]
    out: list[T] = []
    for converted in results:
        if converted is None:  # cannot happen without a failure
            raise PoolUnavailable("a chunk of modules was not indexed")
        out.extend(converted)
    return out
