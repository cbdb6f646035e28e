"""Starts the bundled reference target (examples/ultra-mvp) on 127.0.0.1 with embedded defaults:
the API, its static frontend and a local OpenAI-compatible provider, each on a free port.
Stopped on exit, on failure and on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from prodaudit import interrupt, ports
from prodaudit.config import REFERENCE_TARGET
from prodaudit.errors import TargetError
from prodaudit.ports import PortInUse, bind_problem

AUDIT_USER = "audit@example.com"
AUDIT2_USER = "audit2@example.com"
ADMIN_USER = "admin@example.com"


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None,
              log: Path | None = None, cancelled: threading.Event | None = None,
              verify: bool = True) -> None:
    """Poll ``url`` until it answers 200 (bounded by ``timeout``; ``cancelled`` ends it;
    ``verify=False``: a server with a self-signed certificate). With
    the server's process ``proc``: ``PortInUse`` when it could not bind the URL's port (it exited
    saying the address is in use, or the port answers for another process), so that the caller
    can start it on another port (``ports.retry_ports``)."""
    import httpx

    port = urlsplit(url).port or 80
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if cancelled is not None and cancelled.is_set():
            raise TargetError(f"{url}: start cancelled")
        if proc is not None and proc.poll() is not None:
            _raise_taken(url, port, proc, log)
            raise TargetError(f"{url}: process exited with {proc.returncode}{_tail(log)}")
        try:
            r = httpx.get(url, timeout=2.0, verify=verify)
            if r.status_code == 200:
                _raise_taken(url, port, proc, log)  # the answer came from our server
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.15)
    _raise_taken(url, port, proc, log)
    raise TargetError(f"{url} not ready within {timeout:.0f} s ({last}){_tail(log)}")


def _raise_taken(url: str, port: int, proc: subprocess.Popen[bytes] | None, log: Path | None
                 ) -> None:
    text = log.read_text(errors="replace") if log is not None and log.exists() else ""
    taken = bind_problem(url, port, proc, text)
    if taken is not None:
        raise taken


def _tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n" + "\n".join(text)


def _kill(p: Process) -> None:
    """Kill the process and its session (uvicorn and anything it started); wait briefly."""
    if p.proc.poll() is None:
        try:
            os.killpg(p.proc.pid, signal.SIGKILL)
        except OSError:
            p.proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.proc.wait(timeout=interrupt.budget(5.0) or 0.1)
    if p.proc.poll() is None:
        interrupt.left_behind(f"reference target process {p.name} (pid {p.proc.pid}): kill {p.proc.pid}")


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class ReferenceTarget:
    """A running reference target. Use as a context manager."""

    root: Path = REFERENCE_TARGET
    overrides: Mapping[str, str] = field(default_factory=dict)
    flaws: str | None = None  # None: inherit ULTRA_FLAWS from the environment
    frontend: bool = True
    provider: bool = True
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="prodaudit-target-")))
    api_port: int = 0
    frontend_port: int = 0
    provider_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    audit_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _ready: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)
    _given: set[int] = field(default_factory=set, repr=False)  # ports the caller chose
    _secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def frontend_url(self) -> str | None:
        return f"http://127.0.0.1:{self.frontend_port}" if self.frontend else None

    @property
    def provider_url(self) -> str:
        return f"http://127.0.0.1:{self.provider_port}"

    @property
    def env_file(self) -> Path:
        return self.workdir / "runtime.env"

    @property
    def logs(self) -> list[Path]:
        return [p.log for p in self.processes]

    def _spawn(self, name: str, cwd: Path, module: str, port: int, env: Mapping[str, str]) -> Process:
        if self._stopping.is_set():
            raise TargetError(f"reference target {name}: start cancelled")
        log = self.workdir / f"{name}.log"
        fh = open(log, "wb")  # noqa: SIM115 - owned by the child for its lifetime
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port", str(port),
             "--no-server-header", "--no-proxy-headers", "--log-level", "warning"],
            cwd=cwd, env=dict(env), stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        fh.close()
        p = Process(name, proc, log)
        self.processes.append(p)
        return p

    def prepare(self) -> ReferenceTarget:
        """Choose ports, credentials and the environment, and write the profile's env file,
        without starting anything (a run whose checks only read the repository needs no more)."""
        if not (self.root / "backend" / "app").is_dir():
            raise TargetError(f"reference target not found at {self.root}")
        self._given = {p for p in (self.api_port, self.frontend_port, self.provider_port) if p}
        self.api_port = self.api_port or ports.free_port()
        self.frontend_port = self.frontend_port or ports.free_port()
        self.provider_port = self.provider_port or ports.free_port()
        self._secrets = {name: secrets.token_urlsafe(n) for name, n in (
            ("audit", 18), ("audit2", 18), ("admin", 18), ("jwt", 48), ("llm", 24),
            ("postgres", 24), ("redis", 24))}
        self._configure()
        return self

    def _configure(self) -> None:
        """The environment and the env file for the chosen ports and credentials."""
        pw = self._secrets
        env: dict[str, str] = {
            "ENVIRONMENT": "production",
            "DEBUG": "false",
            "LOG_LEVEL": "INFO",
            "JWT_SECRET": pw["jwt"],
            "DATABASE_URL": f"sqlite:///{self.workdir / 'ultra.db'}",
            "CORS_ORIGINS": f"http://127.0.0.1:{self.frontend_port}",
            "MOCK_LLM": "false",
            "LLM_BASE_URL": f"{self.provider_url}/v1",
            "LLM_API_KEY": "sk-test-" + pw["llm"],
            "LLM_MODEL": "ultra-small",
            # the audit is the only client, from one IP: room for the performance baseline
            # (login and LLM limits stay at the product's defaults)
            "RATE_LIMIT_DEFAULT": "3000/60",
            # error tracking: a demo DSN on loopback (the target only records that it is set)
            "SENTRY_DSN": "http://prodaudit-demo@127.0.0.1:9/1",
            "BOOTSTRAP_USERS": f"{AUDIT_USER}:{pw['audit']}:user,{AUDIT2_USER}:{pw['audit2']}:user,"
            f"{ADMIN_USER}:{pw['admin']}:admin",
        }
        # a production-like stack when the caller provides real services (tests, CI, demos)
        for var in ("DATABASE_URL", "REDIS_URL"):
            if os.environ.get("ULTRA_" + var):
                env[var] = os.environ["ULTRA_" + var]
        env.update(self.overrides)
        if self.flaws is not None:
            env["ULTRA_FLAWS"] = self.flaws
        elif os.environ.get("ULTRA_FLAWS"):
            env["ULTRA_FLAWS"] = os.environ["ULTRA_FLAWS"]
        self.env.clear()  # in place: whoever holds the dict sees the ports of a restart
        self.env.update(env)
        self.audit_env = {
            "PRODAUDIT_AUDIT_USERNAME": AUDIT_USER,
            "PRODAUDIT_AUDIT_PASSWORD": pw["audit"],
            "PRODAUDIT_AUDIT2_USERNAME": AUDIT2_USER,
            "PRODAUDIT_AUDIT2_PASSWORD": pw["audit2"],
            "PRODAUDIT_ADMIN_USERNAME": ADMIN_USER,
            "PRODAUDIT_ADMIN_PASSWORD": pw["admin"],
        }
        # the profile's env file also carries what the compose file needs for this deployment
        compose_env = {
            "POSTGRES_USER": "ultra",
            "POSTGRES_DB": "ultra",
            "POSTGRES_PASSWORD": pw["postgres"],
            "REDIS_PASSWORD": pw["redis"],
        }
        file_env = {**compose_env, **{k: v for k, v in env.items() if k != "BOOTSTRAP_USERS"}}
        tmp = self.env_file.with_name(f".{self.env_file.name}.tmp")
        tmp.write_text("".join(f"{k}={v}\n" for k, v in file_env.items()), encoding="utf-8")
        os.replace(tmp, self.env_file)  # a reader never sees a half-written file

    def _move(self, taken: PortInUse) -> None:
        """A fresh port for the one another process took; the environment follows."""
        if taken.port in self._given:
            raise TargetError(f"{taken} (the port was given: not moved)")
        for name in ("api_port", "frontend_port", "provider_port"):
            if getattr(self, name) == taken.port:
                setattr(self, name, ports.free_port())
        self._configure()

    def start(self, *, keep_workdir_on_failure: bool = False) -> ReferenceTarget:
        """Start the three servers; one whose port another process took between the choice and
        the bind moves to a fresh port and the servers start again (``ports.retry_ports``)."""
        if threading.current_thread() is not self._thread:  # a foreground (re)start
            self._stopping.clear()
        if not self.env:
            self.prepare()
        try:
            ports.retry_ports(self._start_once, what="reference target")
        except BaseException:
            self.stop(keep_workdir=keep_workdir_on_failure)
            raise
        return self

    def _start_once(self) -> None:
        env = self.env
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}
        # the three servers start side by side (each only needs the others' URLs)
        waits = []
        if self.provider:
            prov = self._spawn("provider", self.root / "tools", "fake_llm_provider:app",
                               self.provider_port, base_env)
            waits.append((f"{self.provider_url}/_stats", 30, prov))
        api = self._spawn("api", self.root / "backend", "app.main:app", self.api_port,
                          {**base_env, **env})
        waits.append((f"{self.base_url}/health", 45, api))
        if self.frontend:
            fe = self._spawn("frontend", self.root / "frontend", "serve:app", self.frontend_port,
                             {**base_env, "API_BASE_URL": self.base_url})
            waits.append((f"{self.frontend_url}/", 30, fe))
        try:
            for url, seconds, p in waits:
                wait_http(url, seconds, p.proc, p.log, self._stopping)
        except PortInUse as taken:
            self._stop_processes()
            self.processes.clear()
            self._move(taken)
            raise

    def start_in_background(self) -> None:
        """Prepare now (ports, environment, env file: known at once), start the processes in a
        thread: the checks that only read the repository run meanwhile; :meth:`wait_ready` is
        what the others wait for."""
        self.prepare()

        def work() -> None:
            try:
                self.start(keep_workdir_on_failure=True)  # the env file stays for the run
            except BaseException as exc:  # reported by wait_ready, raised by the audit
                self._error = exc
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=work, name="reference-target", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> BaseException | None:
        """Block until a background start ended: None when the target is up, else why not."""
        if self._thread is None:
            return None
        if not self._ready.wait(timeout):
            return TargetError("the reference target is still starting")
        return self._error

    def stop(self, keep_workdir: bool = False) -> None:
        """Stop every process (terminate, then kill after 10 s; after an interrupt within the
        interrupt's budget) and remove the working directory. An interrupt that arrives while
        stopping kills what is left, then propagates. A start still running in the background is
        cancelled first (nothing more is spawned)."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=interrupt.budget(15.0) or 0.1)
        try:
            self._stop_processes()
        finally:
            if not keep_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_processes(self) -> None:
        try:
            for p in reversed(self.processes):
                if p.proc.poll() is None:
                    p.proc.terminate()
            for p in self.processes:
                try:
                    p.proc.wait(timeout=interrupt.budget(10.0))
                except subprocess.TimeoutExpired:
                    _kill(p)
        except KeyboardInterrupt:
            for p in self.processes:
                _kill(p)
            raise

    def api_log(self) -> str:
        for p in self.processes:
            if p.name == "api" and p.log.exists():
                return p.log.read_text(errors="replace")
        return ""

    def __enter__(self) -> ReferenceTarget:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
