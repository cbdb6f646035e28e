"""Running the target's own tools, bounded (issue 18, "observe what can be observed"): a
subprocess with a time budget that is killed with its whole process group, a minimal
environment, a throw-away copy of the repository to run in (the audited tree is never
written), and the lookup of installed tools.

Used by the readiness checks that run the target's tests, its end-to-end suite, its load
scenario and its backup command, and by the monitoring-as-code validators (promtool, amtool).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: directories never copied into a workspace: VCS data, installed dependencies, caches
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", ".tox", ".nox", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "htmlcov", ".cache", "wheels",
})  # fmt: skip
#: environment variables a child inherits from the audit's process (nothing else leaks in);
#: the certificate authorities a machine behind a TLS-inspecting proxy trusts are among them
#: (paths, not secrets: without them pip and npm refuse the proxy's certificate)
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL",
            "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE",
            "PIP_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PYENV_ROOT",
            "NODE_EXTRA_CA_CERTS", "npm_config_cafile", "NPM_CONFIG_CAFILE",
            "npm_config_registry", "NPM_CONFIG_REGISTRY", "npm_config_cache")
MAX_OUTPUT_CHARS = 200_000


@dataclass(frozen=True)
class Ran:
    """One finished (or stopped) run of a command."""

    command: str  # shell-quoted, for the evidence
    returncode: int | None  # None: it did not finish (timeout, not startable)
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    error: str = ""  # why it could not start

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, chars: int = 2000) -> str:
        """The end of the output (stderr after stdout), for the evidence."""
        text = (self.stdout.strip() + "\n" + self.stderr.strip()).strip()
        return text[-chars:]


def quote(cmd: Sequence[str | Path]) -> str:
    return " ".join(shlex.quote(str(c)) for c in cmd)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: the audit process's basics (PATH, HOME, locale, package-index
    settings) plus ``extra``; nothing else of the audit's environment (no tokens, no URLs)."""
    env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _drain(stream: IO[bytes], sink: list[bytes]) -> None:
    """Read a pipe to its end, keeping the last MAX_OUTPUT_CHARS bytes."""
    kept = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        sink.append(chunk)
        kept += len(chunk)
        while kept > 2 * MAX_OUTPUT_CHARS and len(sink) > 1:
            kept -= len(sink.pop(0))
    stream.close()


def _feed(stream: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.write(data)
    with contextlib.suppress(OSError):
        stream.close()


def run_bounded(
    cmd: Sequence[str | Path],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> Ran:
    """Run ``cmd`` in its own session; after ``timeout`` seconds the whole process group is
    terminated (then killed). When the command itself exits, whatever it left running in its
    session (servers, browsers a test started) is killed too, so a stray child holding the
    output pipes cannot stretch the run. Output is kept up to ``MAX_OUTPUT_CHARS`` per stream."""
    argv = [str(c) for c in cmd]
    shown = quote(argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=dict(env) if env is not None else child_env(),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except OSError as exc:
        return Ran(shown, None, "", "", 0.0, error=f"cannot run {argv[0]}: {exc}")
    out: list[bytes] = []
    err: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    threads = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
    if stdin is not None and proc.stdin is not None:
        threads.append(threading.Thread(target=_feed, args=(proc.stdin, stdin.encode()), daemon=True))
    for th in threads:
        th.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # what the command left behind in its session
    for th in threads:
        th.join(timeout=10)

    def text(chunks: list[bytes]) -> str:
        return b"".join(chunks).decode("utf-8", errors="replace")[-MAX_OUTPUT_CHARS:]

    return Ran(shown, None if timed_out else proc.returncode, text(out), text(err),
               time.monotonic() - start, timed_out=timed_out)


def _ignore(max_file_bytes: int) -> object:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for n in names:
            p = os.path.join(directory, n)
            if n in SKIP_DIRS and os.path.isdir(p):
                skipped.add(n)
            elif os.path.islink(p) or (os.path.isfile(p) and os.path.getsize(p) > max_file_bytes):
                skipped.add(n)  # links may point outside the repository; huge files are data
        return skipped

    return ignore


def tree_bytes(root: Path, limit: int) -> int:
    """Size of what :func:`workspace` would copy, counted up to ``limit`` (then it stops)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(dirpath, name))
            if total > limit:
                return total
    return total


@contextlib.contextmanager
def workspace(repo: Path, *, max_bytes: int = 300_000_000, prefix: str = "prodaudit-run-") -> Iterator[Path]:
    """A throw-away copy of ``repo`` (without VCS data, installed dependencies, caches and
    symbolic links), removed afterwards: the target's own commands run there, so the audited
    tree is never written. ``ValueError`` when the tree is larger than ``max_bytes``."""
    size = tree_bytes(repo, max_bytes)
    if size > max_bytes:
        raise ValueError(f"the repository is larger than {max_bytes // 1_000_000} MB without "
                         "dependencies: not copied")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        dest = base / (repo.name or "repo")
        shutil.copytree(repo, dest, ignore=_ignore(50_000_000), symlinks=False)  # type: ignore[arg-type]
        yield dest
    finally:
        shutil.rmtree(base, ignore_errors=True)


def find_tool(name: str, candidates: Iterable[str | Path] = ()) -> Path | None:
    """An executable: the first existing candidate path, else ``name`` on PATH."""
    for c in candidates:
        p = Path(c)
        if p.is_file() and os.access(p, os.X_OK):
            return p
    found = shutil.which(name)
    return Path(found) if found else None
