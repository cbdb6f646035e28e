"""DEP-030–039: the stack as it runs: ``compose up --wait``, healthy services, ``/health``
through the host port, restart after a crash, JSON logs without secrets, and a teardown that
leaves nothing behind.

One lifecycle run (memoised) feeds every check of this module; all are ``exclusive`` (they run
alone, after the concurrent checks). Teardown runs in ``finally`` — also after a failure, a
timeout or Ctrl-C — unless ``docker.keep_up`` is set."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from prodaudit import interrupt
from prodaudit.checks.api import Context, Finding, Severity, Skip, check, errored, failed, passed, skipped
from prodaudit.checks.deployment._common import (
    ComposeError,
    compose_base_args,
    compose_config,
    compose_env,
    json_share,
    registry_unreachable,
    rel,
    require_compose_files,
)

PORT_IN_URL_RE = re.compile(
    r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0)(?::(\d+))?(/[^\s'\"]*)?")
LOG_LINES = 300
HEALTH_TRIES = 10


@dataclass
class Lifecycle:
    project: str
    files: list[Path]
    up_ok: bool = False
    up_error: str = ""
    up_log: str = ""
    up_seconds: float = 0.0
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> facts
    health: list[Finding] = field(default_factory=list)
    restart: list[Finding] = field(default_factory=list)
    logs: list[Finding] = field(default_factory=list)
    teardown: list[Finding] = field(default_factory=list)
    kept_up: bool = False


class _Teardown:
    """Idempotent teardown shared by ``finally`` and the context's close hook."""

    def __init__(self, ctx: Context, project: str, files: list[Path], images_before: set[str],
                 image_names: list[str]) -> None:
        self.ctx, self.project, self.files = ctx, project, files
        self.images_before, self.image_names = images_before, image_names
        self._done = False
        self._lock = threading.Lock()
        self.findings: list[Finding] = []

    def run(self) -> None:
        self()

    def __call__(self) -> list[Finding]:
        with self._lock:
            if self._done:
                return self.findings
            self._done = True
            self.findings = _teardown(self.ctx, self.project, self.files, self.images_before,
                                      self.image_names)
            return self.findings


def _run(cmd: list[str], ctx: Context, timeout: float, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = compose_env(ctx)
    if ctx.cfg.docker.base_image:
        env["BASE_IMAGE"] = ctx.cfg.docker.base_image
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(cwd) if cwd else None)


def _image_ids() -> set[str]:
    out = subprocess.run(["docker", "images", "-a", "-q", "--no-trunc"], capture_output=True,
                         text=True, timeout=60)
    return set(out.stdout.split())


def _image_id(name: str) -> str | None:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or None if out.returncode == 0 else None


def _labelled(kind: str, project: str) -> list[str]:
    cmd = {"container": ["docker", "ps", "-a", "-q"], "volume": ["docker", "volume", "ls", "-q"],
           "network": ["docker", "network", "ls", "-q"]}[kind]
    out = subprocess.run(cmd + ["--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def _teardown(ctx: Context, project: str, files: list[Path], images_before: set[str],
              image_names: list[str]) -> list[Finding]:
    base = compose_base_args(ctx, files, project)
    out: list[Finding] = []
    try:
        # interrupted: kill at once, the run must end within 5 s (prodaudit.interrupt)
        stop_s = "0" if interrupt.interrupted() else "10"
        down = _run(base + ["down", "--volumes", "--remove-orphans", "--timeout", stop_s], ctx,
                    max(0.5, interrupt.budget(180)), files[0].parent)
        if down.returncode != 0:
            out.append(failed(f"docker compose down failed: {down.stderr.strip()[-300:]}",
                              location=f"compose project {project}"))
    except subprocess.TimeoutExpired:
        out.append(failed("docker compose down did not finish within 180 s",
                          location=f"compose project {project}"))
    for kind in ("container", "volume"):
        for obj in _labelled(kind, project):
            subprocess.run(["docker", kind, "rm", "-f" if kind == "container" else "--force", obj],
                           capture_output=True, timeout=60)
    removed: list[str] = []
    for name in image_names:
        image_id = _image_id(name)
        if image_id and image_id not in images_before:
            subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True, timeout=120)
            removed.append(name)
    left = {k: _labelled(k, project) for k in ("container", "volume", "network")}
    left_images = [n for n in removed if _image_id(n)]
    if any(left.values()) or left_images:
        out.append(failed("teardown left objects behind: " + ", ".join(
            f"{len(v)} {k}(s)" for k, v in left.items() if v) + (
            f" images {', '.join(left_images)}" if left_images else ""),
            location=f"compose project {project}"))
    else:
        out.append(passed(f"teardown removed every container, volume and network of project "
                          f"{project}" + (f" and the images it built ({', '.join(removed)})"
                                          if removed else ""),
                          location=f"compose project {project}"))
    return out


def _health_url(ctx: Context, svc_cfg: dict[str, Any]) -> str | None:
    if ctx.cfg.docker.health_url:
        return ctx.cfg.docker.health_url
    path = ctx.cfg.health.liveness_path or "/health"
    for p in svc_cfg.get("ports") or []:
        if isinstance(p, dict) and p.get("published"):
            host = p.get("host_ip") or "127.0.0.1"
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared
            return f"http://{host}:{p['published']}{path}"
    hc = svc_cfg.get("healthcheck") or {}
    test = " ".join(str(t) for t in hc.get("test") or []) if isinstance(hc, dict) else ""
    m = PORT_IN_URL_RE.search(test)
    if m and svc_cfg.get("network_mode") == "host":
        return f"http://127.0.0.1:{m.group(1) or 80}{path}"
    return None


def _inspect(container_id: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                         timeout=30)
    data = json.loads(out.stdout or "[]")
    return data[0] if data else {}


def _service_containers(ctx: Context, lc: Lifecycle) -> dict[str, dict[str, Any]]:
    out = _run(compose_base_args(ctx, lc.files, lc.project) + ["ps", "-a", "-q"], ctx, 60,
               lc.files[0].parent)
    result: dict[str, dict[str, Any]] = {}
    for cid in out.stdout.split():
        info = _inspect(cid)
        name = (info.get("Config", {}).get("Labels") or {}).get("com.docker.compose.service", cid)
        result[name] = info
    return result


def _state(info: dict[str, Any]) -> tuple[str, str]:
    st = info.get("State") or {}
    return str(st.get("Status", "?")), str((st.get("Health") or {}).get("Status", "none"))


def _service_logs(ctx: Context, lc: Lifecycle, service: str, tail: int = LOG_LINES) -> str:
    out = _run(compose_base_args(ctx, lc.files, lc.project)
               + ["logs", "--no-color", "--no-log-prefix", "--tail", str(tail), service],
               ctx, 60, lc.files[0].parent)
    return out.stdout + out.stderr


def _check_health(ctx: Context, url: str) -> Finding:
    last = ""
    for _ in range(HEALTH_TRIES):
        try:
            r = httpx.get(url, timeout=5.0)
            if r.status_code == 200:
                return passed(f"GET {url} answered 200 through the host port",
                              location=f"GET {url}")
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(1.0)
    return failed(f"GET {url} did not answer 200 ({last})", location=f"GET {url}",
                  evidence=f"$ curl -sS -i {url}\n{last}")


def _kill_main_process(info: dict[str, Any]) -> str:
    """SIGKILL the container's main process from the host (like an OOM kill), else SIGTERM
    PID 1 from inside. Returns how it was done."""
    pid = int((info.get("State") or {}).get("Pid") or 0)
    if pid > 0 and Path(f"/proc/{pid}").exists():
        try:
            os.kill(pid, signal.SIGKILL)
            return f"SIGKILL to host pid {pid}"
        except PermissionError:
            pass
    subprocess.run(["docker", "exec", str(info.get("Id")), "kill", "-TERM", "1"],
                   capture_output=True, timeout=30)
    return "kill -TERM 1 inside the container"


def _check_restart(ctx: Context, lc: Lifecycle, service: str) -> list[Finding]:
    info = lc.services.get(service)
    if not info:
        return [skipped(f"service {service} has no container")]
    policy = ((info.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
    where = f"compose service {service}"
    if policy == "no":
        return [failed(f"service {service} has no restart policy: a crash leaves it down",
                       location=where)]
    before = int(info.get("RestartCount") or 0)
    how = _kill_main_process(info)
    deadline = time.monotonic() + ctx.cfg.docker.restart_timeout_seconds
    state = ("?", "?")
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _inspect(str(info.get("Id")))
        state = _state(now)
        if int(now.get("RestartCount") or 0) > before and state[0] == "running":
            return [passed(f"after {how} the {service} container was restarted by its "
                           f"'{policy}' policy", location=where)]
    return [failed(f"after {how} the {service} container was not running again within "
                   f"{ctx.cfg.docker.restart_timeout_seconds:.0f} s (state {state[0]}, policy "
                   f"{policy})", location=where)]


def _check_logs(ctx: Context, lc: Lifecycle, service: str) -> list[Finding]:
    text = _service_logs(ctx, lc, service)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    where = f"docker compose logs {service}"
    out: list[Finding] = []
    secret_names = [k for k, v in ctx.profile_env.items() if v and v in ctx.redact.values]
    leaked = [k for k in secret_names if ctx.profile_env[k] in text]
    if leaked:
        out.append(failed(f"the {service} logs contain the value of {', '.join(sorted(leaked))}",
                          location=where, severity=Severity.CRITICAL))
    if not lines:
        out.append(skipped(f"service {service} wrote no log lines"))
        return out
    ok, total, bad = json_share(lines)
    ev = "non-JSON lines:\n" + "\n".join(bad) if bad else ""
    if ok / total >= 0.95:
        out.append(passed(f"{ok}/{total} log lines of {service} are JSON objects", location=where,
                          evidence=ev))
    else:
        out.append(failed(f"only {ok}/{total} log lines of {service} are JSON objects",
                          location=where, evidence=ev))
    if not leaked:
        out.append(passed(f"no value of the {len(secret_names)} secret variables of the env file "
                          f"appears in {total} log lines", location=where))
    return out


def _lifecycle_sync(ctx: Context, lc: Lifecycle, stop: threading.Event) -> None:
    base = compose_base_args(ctx, lc.files, lc.project)
    timeout = ctx.cfg.docker.up_timeout_seconds
    start = time.monotonic()
    try:
        up = _run(base + ["up", "-d", "--build", "--wait", "--wait-timeout", str(int(timeout))],
                  ctx, timeout + ctx.cfg.docker.build_timeout_seconds, lc.files[0].parent)
        lc.up_ok = up.returncode == 0
        lc.up_log = (up.stdout + up.stderr)[-6000:]
        if not lc.up_ok:
            lc.up_error = (up.stderr.strip().splitlines() or [f"exit {up.returncode}"])[-1][:300]
    except subprocess.TimeoutExpired:
        lc.up_error = "docker compose up did not finish in time"
    lc.up_seconds = time.monotonic() - start
    if stop.is_set():
        return
    lc.services = _service_containers(ctx, lc)
    if not lc.up_ok or stop.is_set():
        return
    api = ctx.api_service()
    if api is None:
        why = "no API service detected in the compose project: set docker.service"
        lc.health, lc.restart, lc.logs = [skipped(why)], [skipped(why)], [skipped(why)]
        return
    service, svc_cfg = api.name, api.config
    url = _health_url(ctx, svc_cfg)
    lc.health = ([_check_health(ctx, url)] if url else
                 [skipped(f"no host port for service {service}: set docker.health_url")])
    if stop.is_set():
        return
    lc.restart = _check_restart(ctx, lc, service)
    if stop.is_set():
        return
    lc.logs = _check_logs(ctx, lc, service)


async def lifecycle(ctx: Context) -> Lifecycle:
    """Run the stack once per audit: up, verify, tear down (memoised)."""

    async def build() -> Lifecycle:
        await asyncio.to_thread(ctx.docker)  # Skip without an engine
        files = require_compose_files(ctx)
        project = f"prodaudit-{uuid.uuid4().hex[:10]}"
        lc = Lifecycle(project=project, files=files)
        try:
            services = compose_config(ctx).get("services", {})
        except ComposeError as exc:
            raise Skip(f"docker compose config failed (see DEP-001): {str(exc)[:200]}") from None
        image_names = sorted({str(s.get("image") or f"{project}-{name}") for name, s in
                              services.items() if isinstance(s, dict) and s.get("build")})
        before = await asyncio.to_thread(_image_ids)
        teardown = _Teardown(ctx, project, files, before, image_names)
        if not ctx.cfg.docker.keep_up:
            ctx.on_close(teardown.run)  # safety net: the run's end, also on Ctrl-C
        stop = threading.Event()
        try:
            await asyncio.to_thread(_lifecycle_sync, ctx, lc, stop)
        finally:
            stop.set()
            if ctx.cfg.docker.keep_up:
                lc.kept_up = True
                lc.teardown = [skipped(
                    f"docker.keep_up: the stack is still running; stop it with `docker compose "
                    f"-p {project} {' '.join('-f ' + str(f) for f in files)} down -v`")]
            else:
                lc.teardown = teardown()
        return lc

    result: Lifecycle = await ctx.amemo("deployment:lifecycle", build)
    return result


def _where(ctx: Context, lc: Lifecycle) -> str:
    return rel(ctx, lc.files[-1])


@check("DEP-030", "The stack starts and every service becomes healthy", severity=Severity.HIGH,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("P.2.2", "P.2.5", "3.1.5"))
async def up_healthy(ctx: Context) -> list[Finding]:
    """``docker compose up -d --build --wait`` (unique project name, the audited compose files and
    env file) succeeds within ``docker.up_timeout_seconds`` and every service is running and
    ``healthy`` (or running, for services without a healthcheck).

    The stack is torn down afterwards (``down --volumes``, images it built removed) unless
    ``docker.keep_up`` is set.

    Remediation: read the failing service's log in the evidence; check its healthcheck command,
    ``start_period`` and the variables it needs.
    """
    lc = await lifecycle(ctx)
    out: list[Finding] = []
    for name, info in sorted(lc.services.items()):
        status, health = _state(info)
        if status != "running" or health not in ("healthy", "none"):
            logs = await asyncio.to_thread(_health_log, info)
            out.append(failed(f"service {name} is {status}, health {health}",
                              location=f"compose service {name}", evidence=logs))
    offline = None if lc.up_ok else registry_unreachable(lc.up_log + "\n" + lc.up_error)
    if offline and not lc.services:
        return [errored(f"not verified: docker compose up needs an image registry this engine cannot "
                        f"reach ({offline})", location=_where(ctx, lc),
                        evidence="--- compose output (tail) ---\n" + lc.up_log[-3000:])]
    if not lc.up_ok:
        out.append(failed(f"docker compose up --wait failed after {lc.up_seconds:.0f} s: "
                          f"{lc.up_error}", location=_where(ctx, lc),
                          evidence="--- compose output (tail) ---\n" + lc.up_log[-3000:]))
    if not out:
        if not lc.services:
            out.append(failed("docker compose up reported success but no container exists",
                              location=_where(ctx, lc)))
        else:
            out.append(passed(f"{len(lc.services)} services up and healthy in "
                              f"{lc.up_seconds:.0f} s: "
                              + ", ".join(f"{n} ({_state(i)[1]})" for n, i in
                                          sorted(lc.services.items())), location=_where(ctx, lc)))
    return out


def _health_log(info: dict[str, Any]) -> str:
    health = (info.get("State") or {}).get("Health") or {}
    probes = health.get("Log") or []
    lines = [f"exit {p.get('ExitCode')}: {str(p.get('Output', '')).strip()[:200]}"
             for p in probes[-3:]]
    logs = subprocess.run(["docker", "logs", "--tail", "30", str(info.get("Id"))],
                          capture_output=True, text=True, timeout=30)
    return ("healthcheck probes:\n" + "\n".join(lines) + "\n--- container log (tail) ---\n"
            + (logs.stdout + logs.stderr)[-2000:])


def _need_up(lc: Lifecycle) -> None:
    if not lc.up_ok:
        raise Skip("the stack did not come up (see DEP-030)")


@check("DEP-031", "/health answers through the host port", severity=Severity.HIGH,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("9.2.4", "P.2.4"))
async def health_through_port(ctx: Context) -> list[Finding]:
    """With the stack up, the API's liveness endpoint answers 200 through the port the host
    sees (the published port, or the host-network port), i.e. the way a reverse proxy reaches it.

    Remediation: publish the API port (``127.0.0.1:8000:8000`` behind a reverse proxy) and bind
    the server to ``0.0.0.0`` inside the container (``127.0.0.1`` with host networking).
    """
    lc = await lifecycle(ctx)
    _need_up(lc)
    return lc.health or [skipped("health was not probed")]


@check("DEP-032", "A crashed API process is restarted by the restart policy",
       severity=Severity.HIGH, needs=("docker",), exclusive=True, timeout=2400,
       checklist=("P.2.2",))
async def restart_policy(ctx: Context) -> list[Finding]:
    """Killing the API container's main process (SIGKILL from the host, as the OOM killer would)
    brings the container back via its restart policy within ``docker.restart_timeout_seconds``.

    Remediation: ``restart: unless-stopped`` (or ``on-failure``) on every long-running service.
    """
    lc = await lifecycle(ctx)
    _need_up(lc)
    return lc.restart or [skipped("restart was not tested")]


@check("DEP-033", "Container logs are JSON lines without secret values", severity=Severity.HIGH,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("5.1.1", "5.1.3"))
async def container_logs(ctx: Context) -> list[Finding]:
    """The API container's log (``docker compose logs``) is JSON lines, and no value of a secret
    variable from the env file appears in it.

    Remediation: log through one JSON formatter; never log settings, headers or request bodies
    that carry credentials; mask secrets in the formatter.
    """
    lc = await lifecycle(ctx)
    _need_up(lc)
    return lc.logs or [skipped("logs were not read")]


@check("DEP-034", "Teardown leaves no container, volume or image behind", severity=Severity.MEDIUM,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("P.2.3",))
async def teardown_clean(ctx: Context) -> list[Finding]:
    """After the lifecycle run, ``docker compose down --volumes`` removed every container, volume
    and network of the audit's compose project, and the images the run built are removed.

    Remediation: if objects are left, remove them with the ``docker`` commands for the project
    label ``com.docker.compose.project``; a failing ``down`` usually means a container ignores
    SIGTERM (use ``exec`` form ``CMD`` and ``stop_grace_period``).
    """
    lc = await lifecycle(ctx)
    return lc.teardown or [skipped("teardown did not run")]
