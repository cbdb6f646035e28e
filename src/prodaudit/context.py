"""Facts built once, lazily, shared by every check (DESIGN rule 6)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from prodaudit import slots
from prodaudit.config import AuditConfig
from prodaudit.files import FileIndex
from prodaudit.http import SETUP, Budget, Exchange, Http, NotSent, ProbePolicy, join_url, probe_scope
from prodaudit.interrupt import RUN_LABEL, run_cleanups
from prodaudit.outcome import Skip
from prodaudit.redact import Redactor
from prodaudit.timing import add_wait

if TYPE_CHECKING:
    from python_on_whales import DockerClient

    from prodaudit.auth import AuthSession, LoginPlan
    from prodaudit.auth.manager import AccountManager
    from prodaudit.cache import Cache
    from prodaudit.model import CheckSpec
    from prodaudit.openapi import OpenAPIDoc, OpenAPIError
    from prodaudit.product.compose import ComposeModel
    from prodaudit.product.dockerfiles import Dockerfile
    from prodaudit.product.envfiles import EnvFile
    from prodaudit.product.envgraph import EnvGraph
    from prodaudit.product.migrations import Migrations
    from prodaudit.product.services import Service

T = TypeVar("T")

DOCKER_PROBE_SECONDS = 15.0
CLEANUP_SECONDS = 300.0  # every registered cleanup of a run together (less after an interrupt)
DOC_PAGES = ("/docs", "/redoc", "/swagger", "/api/docs")  # where discovery looks for a link


def _pypi_release(status: int, body: bytes) -> str | None:
    """pip-audit's default service asks PyPI's JSON API for each release's vulnerabilities."""
    if status != 200:
        return f"PyPI's JSON API answered HTTP {status} for a known release"
    return None if b'"vulnerabilities"' in body else "PyPI's JSON API answered without vulnerability data"


NETWORK_PROBE_SECONDS = 5.0
#: name -> (URL probed, judge of the answer): what a tool needs from the network, asked once
NETWORK_SERVICES: dict[str, tuple[str, Callable[[int, bytes], str | None] | None]] = {
    "pypi": ("https://pypi.org/pypi/pip/24.0/json", _pypi_release),
}


def probe_url(url: str, judge: Callable[[int, bytes], str | None] | None = None,
              seconds: float = NETWORK_PROBE_SECONDS) -> str | None:
    """One GET of ``url`` (64 KB read at most) in a daemon thread, bounded by ``seconds`` including
    name resolution: None when it answered (and ``judge`` accepts the answer), else the reason."""
    import urllib.error
    import urllib.request

    out: list[str | None] = []

    def get() -> None:
        req = urllib.request.Request(url, headers={"User-Agent": "prodaudit"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=seconds) as resp:  # noqa: S310 - https
                status, body = resp.status, resp.read(65536)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            out.append(f"{url} unreachable: {reason}")
            return
        out.append(judge(status, body) if judge else None)

    worker = threading.Thread(target=get, name="network-probe", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() or not out:
        return f"{url} did not answer within {seconds:.0f} s"
    return out[0]


class Context:
    """The audit's shared state. Static facts are computed on first use (thread-safe);
    live facts (OpenAPI, login) once per run on the event loop."""

    def __init__(
        self,
        cfg: AuditConfig,
        *,
        redactor: Redactor | None = None,
        target_env: dict[str, str] | None = None,
        target_logs: list[Path] | Callable[[], list[Path]] | None = None,
        target_ready: Callable[[], BaseException | None] | None = None,
        target_urls: Callable[[], dict[str, Any]] | None = None,
        run_id: str = "",
        suites: tuple[str, ...] = (),
    ) -> None:
        self.cfg = cfg
        self.run_id = run_id
        self.suites = suites  # the suites this run audits
        self.redact = redactor or Redactor()
        self.target_env = dict(target_env or {})  # env of a target the audit started itself
        self._target_logs = target_logs or []
        self._target_ready = target_ready  # blocks until a target started in the background is up
        # the config fields naming that target once it is up (a port another process took moved it)
        self._target_urls = target_urls
        self.facts: dict[str, Any] = {}
        self.http = Http(
            timeout=cfg.request_timeout,
            max_body_bytes=cfg.max_body_bytes,
            policy=ProbePolicy(
                allow_mutations=cfg.allow_mutations,
                exclude=tuple(cfg.probes.exclude),
                max_llm_calls=cfg.probes.max_llm_calls,
                base_path=urlsplit(cfg.base_url or "").path,
            ),
        )
        for endpoint in cfg.llm.endpoints:  # "POST /chat" or "/chat": billable whatever calls it
            self.register_llm(endpoint.split()[-1])
        self.live_probe: dict[str, Exchange] = {}  # the reachability probes' exchanges
        self.network: dict[str, str | None] = {}  # network service -> why it cannot be used
        # why OpenAPI discovery failed, and the answers it got (FUN-010 judges them)
        self.openapi_failure: tuple[OpenAPIError, list[Exchange]] | None = None
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}
        self._later: dict[str, Callable[[], Any]] = {}  # facts built by ``settle``
        self._klocks: dict[str, Any] = {}  # key -> threading.RLock
        self._alocks: dict[str, asyncio.Lock] = {}
        self._cleanups: list[tuple[Callable[[], None], str]] = []
        self.redact.register_env(self.profile_env)
        self.redact.register_env(self.target_env)

    # ---- generic memoisation -------------------------------------------------------
    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Compute a static fact once (thread-safe); exceptions are cached and re-raised.

        Each key has its own lock: a slow fact (the secret scan) blocks only the checks that
        need that fact, never unrelated ones. A build may use other facts (no cycles)."""
        with self._lock:
            entry = self._memo.get(key)
            key_lock = self._klocks.setdefault(key, threading.RLock()) if entry is None else None
        if key_lock is not None:
            t0 = time.monotonic()
            if not key_lock.acquire(blocking=False):  # another check is building it
                with slots.paused():  # no concurrency slot held while waiting (slots.py)
                    key_lock.acquire()
                    add_wait(time.monotonic() - t0)  # waited for a fact another check was building
            try:
                with self._lock:
                    entry = self._memo.get(key)
                if entry is None:
                    try:
                        entry = (True, build())
                    except Exception as exc:  # cached so every dependent check sees the same error
                        entry = (False, exc)
                    with self._lock:
                        self._memo[key] = entry
            finally:
                key_lock.release()
        assert entry is not None
        ok, value = entry
        if not ok:
            raise value
        return value  # type: ignore[no-any-return,unused-ignore]

    def peek(self, key: str) -> Any:
        """The fact ``key`` when some check already built it (None otherwise): lets the end of a
        run reuse a fact (the file index) without building it."""
        with self._lock:
            entry = self._memo.get(key)
        return entry[1] if entry is not None and entry[0] else None

    def under_way(self, key: str) -> bool:
        """Some check has asked for the fact ``key``: it is built, or being built now."""
        with self._lock:
            return key in self._memo or key in self._klocks

    async def amemo(self, key: str, build: Callable[[], Any]) -> Any:
        lock = self._alocks.setdefault(key, asyncio.Lock())
        t0 = time.monotonic()
        async with lock:  # live facts: a waiter keeps its slot (the checks on the target: at most
            add_wait(time.monotonic() - t0)  # ``concurrency`` at once, as before)
            if key not in self._memo:
                try:
                    self._memo[key] = (True, await build())
                except Exception as exc:
                    self._memo[key] = (False, exc)
            ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    def on_close(self, cleanup: Callable[[], None], leftover: str = "") -> None:
        """Register a cleanup (remove an image the audit built ...) run by ``close()``;
        ``leftover`` says what stays behind, and how to remove it, if it cannot run in time."""
        with self._lock:
            self._cleanups.append((cleanup, leftover or f"objects of run {self.run_id} "
                                   f"(label {RUN_LABEL}={self.run_id})"))

    def close(self) -> None:
        """Run the registered cleanups, newest first, once; failures never propagate. Bounded:
        CLEANUP_SECONDS in all, less after an interrupt (what did not finish is reported)."""
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        if cleanups:
            run_cleanups(cleanups, CLEANUP_SECONDS)

    @property
    def target_logs(self) -> list[Path]:
        """Log files of the target the audit started itself (none otherwise); read from a
        check's thread while the target still starts in the background, waits until it is up."""
        if self._target_ready is not None:
            try:
                asyncio.get_running_loop()  # on the event loop: never block it
            except RuntimeError:
                t0 = time.monotonic()
                self._target_ready()
                add_wait(time.monotonic() - t0)
        logs = self._target_logs
        return list(logs() if callable(logs) else logs)

    async def target_started(self) -> str | None:
        """Wait until the target the audit starts in the background is up (at once when there
        is none): None, or why it is not."""
        ready = self._target_ready
        if ready is None:
            return None

        async def wait() -> str | None:  # one waiter; the others queue on amemo's lock in order
            error = await asyncio.to_thread(ready)
            if error is None and self._target_urls is not None:
                update = self._target_urls()
                if any(getattr(self.cfg, k) != v for k, v in update.items()):
                    self.cfg = self.cfg.model_copy(update=update)
            return None if error is None else f"the reference target did not start: {error}"

        result: str | None = await self.amemo("target:started", wait)
        return result

    def export(self, key: str, value: Any) -> None:
        """Publish a fact into audit.json (``facts``), e.g. the env variable graph."""
        with self._lock:
            self.facts[key] = value

    def cache(self) -> Cache | None:
        """The content-hash cache of static results (``prodaudit.cache``), opened once per run and
        flushed when the run closes; None with ``--no-cache`` or when unusable."""

        def build() -> Cache | None:
            from prodaudit.cache import Cache

            cache = Cache.open(enabled=self.cfg.cache)
            if cache is not None:
                self.on_close(cache.close)
            return cache

        result: Cache | None = self.memo("cache", build)
        return result

    def network_service(self, name: str, url: str | None = None, *,
                        expect: Callable[[int, bytes], str | None] | None = None) -> str | None:
        """None when the network service ``name`` (``NETWORK_SERVICES``, or ``url``) answers,
        else why it cannot be used. Probed once per run whichever check asks first (pip-audit's
        vulnerability service for CFG-063 and SEC-091, an image registry for the build checks),
        so every check agrees on it; bounded by ``NETWORK_PROBE_SECONDS`` and never sent to the
        audited target. ``expect(status, body)`` may refuse an answer (the reason)."""
        target = url or NETWORK_SERVICES[name][0]
        judge = expect or NETWORK_SERVICES.get(name, ("", None))[1]

        def build() -> str | None:
            reason = probe_url(target, judge)
            with self._lock:
                self.network[name] = reason
            self.export("network_services", {k: v or "reachable" for k, v in self.network.items()})
            return reason

        result: str | None = self.memo("network:" + name, build)
        return result

    def export_later(self, key: str, build: Callable[[], Any]) -> None:
        """Publish a fact into audit.json that ``build`` makes once the checks have finished
        (:meth:`settle`): a large export (the env graph of 100,000 variables) is then never held
        beside the facts the checks themselves use."""
        with self._lock:
            self._later[key] = build
            self.facts.pop(key, None)

    #: memoised facts the end of a run still reads: the file index (the reports' source map) and
    #: the cache (closed with the run)
    KEPT_AFTER_CHECKS = frozenset({"files", "cache"})

    def settle(self) -> dict[str, Any]:
        """The checks have finished: drop the facts only checks read (the parsed modules, the
        env graph …: on a 50,000-file repository the largest part of the run's memory), build the
        deferred exports, and return ``facts`` as audit.json publishes them."""
        with self._lock:
            later, self._later = self._later, {}
            self._memo = {k: v for k, v in self._memo.items() if k in self.KEPT_AFTER_CHECKS}
            self._klocks = {k: v for k, v in self._klocks.items() if k in self._memo}
        for key, build in later.items():
            value = build()
            with self._lock:
                self.facts[key] = value
        return self.facts

    def export_item(self, key: str, item: Any) -> None:
        """Append ``item`` to the list fact ``key`` in audit.json (thread-safe)."""
        with self._lock:
            self.facts.setdefault(key, []).append(item)

    @property
    def evidence_dir(self) -> Path:
        """Where checks keep evidence files (screenshots, logs): inside this run's report directory."""
        path = (self.cfg.output / self.run_id / "evidence") if self.run_id else self.cfg.output / "evidence"
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()

    # ---- repository ----------------------------------------------------------------
    @property
    def repo(self) -> Path:
        return self.cfg.repo

    @property
    def files(self) -> FileIndex:
        return self.memo("files", lambda: FileIndex.build(self.cfg.repo))

    def read(self, rel: str) -> str | None:
        return self.files.read_text(rel, self.cfg.secrets.max_file_bytes)

    @cached_property
    def profile_env(self) -> dict[str, str]:
        """Variables of the audited profile: ``--env-file`` (values may be empty)."""
        path = self.cfg.env_file
        if path is None or not path.is_file():
            return {}
        from dotenv import dotenv_values

        try:
            return {k: v or "" for k, v in dotenv_values(path).items()}
        except (OSError, UnicodeDecodeError):
            return {}

    def env_value(self, name: str) -> str | None:
        """A variable's value for the audited deployment: profile env file, the started target's
        env, then the audit process environment."""
        for source in (self.profile_env, self.target_env):
            if name in source:
                return source[name]
        return os.environ.get(name)

    # ---- the product model (prodaudit.product): one picture every suite shares -------
    def compose(self) -> ComposeModel:
        """The Compose projects as ``docker compose config`` would produce them."""
        from prodaudit.product.compose import compose_model

        return compose_model(self)

    def api_service(self) -> Service | None:
        """The API service of the deployed Compose project (``docker.service`` overrides)."""
        from prodaudit.product.services import api_service

        return api_service(self)

    def dockerfiles(self) -> list[Dockerfile]:
        """Every Dockerfile of the repository, parsed."""
        from prodaudit.product.dockerfiles import dockerfiles

        return dockerfiles(self)

    def env_files(self) -> list[EnvFile]:
        """Every env file of the repository, parsed with line numbers."""
        from prodaudit.product.envfiles import env_files

        return env_files(self)

    def env_graph(self) -> EnvGraph:
        """Every environment variable: where it is read, set and documented."""
        from prodaudit.product.envgraph import env_graph

        return env_graph(self)

    def migrations(self) -> Migrations:
        """The migration system of the repository (detection only)."""
        from prodaudit.product.migrations import migrations

        return migrations(self)

    # ---- live target ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self.cfg.base_url:
            raise Skip("no --base-url given and no target started: live checks not verified")
        return self.cfg.base_url

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    def register_llm(self, path: str) -> None:
        """Count every unsafe call of ``path`` as a billable LLM call (bounded per run by
        ``probes.max_llm_calls``)."""
        self.http.policy.llm_paths.add(urlsplit(path).path.rstrip("/") or "/")

    @property
    def setup_budget(self) -> Budget:
        """Each shared step (reachability, OpenAPI discovery, one login) is bounded too: at most
        50 requests (discovery tries about 15 URLs) within ``probes.max_seconds``."""
        return Budget(max(50, self.cfg.probes.max_requests), self.cfg.probes.max_seconds,
                      "probes.max_seconds (shared discovery and logins)")

    def probe_budget(self, spec: CheckSpec) -> Budget:
        """The budget of the check's probe family. A family is the check's topic module; most
        use ``[probes]`` (``max_requests`` requests, ``max_seconds`` of sending per check), the
        bursts, the load test and the operation sweeps their own configured bounds; the
        published-password logins (SEC-085) may wait out one window of a login limiter."""
        p, rl, perf = self.cfg.probes, self.cfg.rate_limit, self.cfg.perf
        family = spec.func.__module__.rsplit(".", 1)[-1]
        if family == "rate_limit":
            return Budget(rl.max_requests + 1, rl.max_seconds + rl.max_reset_wait_seconds
                          + 2 * self.cfg.request_timeout,
                          "rate_limit.max_requests / rate_limit.max_seconds")
        if family == "performance" and spec.suite == "functional":
            # FUN-050 loads two targets (the liveness endpoint and an authenticated read) with
            # perf.requests each: one target's worth left the second always refused
            return Budget(2 * perf.requests + p.max_requests,
                          2 * perf.max_seconds + p.max_seconds,
                          "2 × perf.requests / perf.max_seconds (two targets) + [probes]")
        if family == "default_accounts":  # logins to a limiter the audit's own logins filled
            from prodaudit.auth.session import LOGIN_RETRY_MAX_WAIT

            return Budget(p.max_requests, p.max_seconds + LOGIN_RETRY_MAX_WAIT,
                          "probes.max_requests / probes.max_seconds + one login-limiter wait")
        if family == "smoke":
            return Budget(p.max_operations + p.max_requests, 3 * p.max_seconds,
                          "probes.max_operations + probes.max_requests / 3 × probes.max_seconds")
        return Budget(p.max_requests, p.max_seconds)

    async def need_live(self) -> str | None:
        """None when the target answers, else the reason it cannot be audited live."""
        return await self._reachable("live", self.cfg.base_url, "no --base-url given and no target started",
                                     "target")

    async def need_frontend(self) -> str | None:
        """None when the frontend answers, else the reason it cannot be audited."""
        return await self._reachable("frontend", self.cfg.frontend_url, "no --frontend-url given",
                                     "frontend")

    async def _reachable(self, key: str, url: str | None, missing: str, what: str) -> str | None:
        """Probe ``url`` once per run (any HTTP answer counts); the reason when it cannot be used."""

        async def probe() -> str | None:
            if not url:
                return missing
            # a target the audit starts in the background answers once it is up: any check
            # (also one that declares only "repo") probes it after that, never before
            started = await self.target_started()
            if started:
                return started
            with probe_scope(SETUP, self.setup_budget):
                try:
                    ex = await self.http.get(url + "/", timeout=min(5.0, self.cfg.request_timeout))
                except NotSent:  # "/" excluded by the owner: any path proves an answer
                    ex = await self.http.get(url + "/prodaudit-reachability",
                                             timeout=min(5.0, self.cfg.request_timeout))
            self.live_probe[key] = ex
            return f"{what} {url} unreachable: {ex.error}" if ex.status is None else None

        result: str | None = await self.amemo("need:" + key, probe)
        return result

    async def openapi(self) -> OpenAPIDoc:
        """The target's OpenAPI document, or Skip with the reason."""
        from prodaudit.openapi import CANDIDATE_PATHS, OpenAPIError, discover

        async def build() -> OpenAPIDoc:
            before = len(self.http.exchanges)
            try:
                with probe_scope(SETUP, self.setup_budget):
                    doc, _ = await discover(self.http, self.base_url, self.cfg.openapi)
            except (OpenAPIError, NotSent) as exc:
                if isinstance(exc, OpenAPIError):  # the discovery's own answers
                    wanted = {urlsplit(join_url(self.base_url, c)).path
                              for c in (*CANDIDATE_PATHS, *DOC_PAGES, self.cfg.openapi or "/")}
                    answers = [ex for ex in self.http.exchanges[before:]
                               if urlsplit(ex.url).path in wanted]
                    self.openapi_failure = (exc, answers)
                raise Skip(f"OpenAPI document not available: {exc}") from None
            return doc

        doc: OpenAPIDoc = await self.amemo("openapi", build)
        return doc

    @cached_property
    def accounts(self) -> AccountManager:
        """The audit accounts: configured, discovered logins, accounts registered and deleted
        (imported on first use: a static-only run never loads the login machinery)."""
        from prodaudit.auth.manager import AccountManager

        return AccountManager(
            self.cfg, self.http, self.redact.register, self.export,
            lambda: probe_scope(SETUP, self.setup_budget),
        )

    async def auth(self, *, second: bool = False, fresh: bool = False) -> AuthSession:
        """A logged-in session for the (first or second) audit account, or Skip with the reason.
        Without a configured account, ``--allow-mutations`` registers one (``prodaudit.auth``)."""
        try:
            doc: OpenAPIDoc | None = await self.openapi()
        except Skip:
            doc = None
        return await self.accounts.session(self.base_url, doc, second=second, fresh=fresh)

    async def login_plan(self) -> LoginPlan:
        """The login adapter every probe that logs in or sends credentials uses: the audit
        account's working login, else the best discovered one (unverified), or Skip."""
        try:
            doc: OpenAPIDoc | None = await self.openapi()
        except Skip:
            doc = None
        plan: LoginPlan = await self.amemo(
            "auth:plan", lambda: self.accounts.plan_for_probes(self.base_url, doc, self.auth))
        return plan

    # ---- docker --------------------------------------------------------------------
    def docker(self) -> DockerClient:
        """A python-on-whales client whose engine answers, or Skip with the reason."""

        def build() -> DockerClient:
            import shutil
            import subprocess

            from python_on_whales import DockerClient
            from python_on_whales.exceptions import DockerException

            if shutil.which("docker") is None:
                raise Skip("no Docker engine reachable: the docker CLI is not installed")
            try:  # bounded probe first: python-on-whales calls have no timeout of their own
                probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                       capture_output=True, text=True, errors="replace",
                                       timeout=DOCKER_PROBE_SECONDS, check=False)
            except subprocess.TimeoutExpired:
                raise Skip(f"no Docker engine reachable: `docker version` did not answer within "
                           f"{DOCKER_PROBE_SECONDS:.0f} s") from None
            except OSError as exc:
                raise Skip(f"no Docker engine reachable: the docker CLI did not start: "
                           f"{exc.strerror or exc}") from None
            if probe.returncode != 0 or not probe.stdout.strip():
                # the engine's own answer decides: a docker CLI 20.10 (Debian 12's docker.io)
                # answers ``docker info --format`` with exit 0 when no engine is there
                lines = [ln.strip() for ln in probe.stderr.splitlines() if ln.strip()]
                raise Skip("no Docker engine reachable: " + (lines[-1] if lines else
                           f"`docker version` exited {probe.returncode} without a server version"))
            client = DockerClient(
                compose_files=list(self.cfg.compose_files),
                compose_env_files=[self.cfg.env_file] if self.cfg.env_file else [],
                client_call=["docker"],
            )
            try:
                client.info()
            except (DockerException, OSError) as exc:
                msg = [ln for ln in str(exc).strip().splitlines() if len(ln.strip(" '")) > 2]
                msg = [ln.split("stderr is '", 1)[-1] for ln in msg]
                raise Skip(f"no Docker engine reachable: {msg[-1] if msg else type(exc).__name__}") from None
            return client

        return self.memo("docker", build)
