"""DEP-030–039: the stack as it runs: ``compose up --wait``, healthy services, ``/health``
through the host port, restart after a crash, JSON logs without secrets, and a teardown that
leaves nothing behind.

One lifecycle run (memoised) feeds every check of this module; all are ``exclusive`` (they run
alone, after the concurrent checks). The stack runs under the project ``prodaudit-<run id>`` with
an override file that labels every container, volume, network and built image with the run id
(``prodaudit.cleanup``; the stack itself is ``_stack.py``). Teardown runs in ``finally`` — also
after a failure or a timeout (each phase bounded by ``docker.cleanup_timeout_seconds``) and on
Ctrl-C (then the containers are killed and every step is sized from the interrupt's budget, so
the run ends within 5 s) — unless ``docker.keep_up`` is set, and removes exactly the objects
labelled with the run."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from prodaudit import interrupt
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    Status,
    check,
    failed,
    passed,
    skipped,
)
from prodaudit.checks.deployment._base_image import BaseChoice, offline_remediation
from prodaudit.checks.deployment._common import (
    ComposeError,
    compose_config,
    json_share,
    registry_unreachable,
    rel,
    require_compose_files,
)
from prodaudit.checks.deployment._run_objects import interrupted_exit, run_objects
from prodaudit.checks.deployment._stack import Stack, stack_env
from prodaudit.product.compose_yaml import healthcheck_test

PORT_IN_URL_RE = re.compile(
    r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0)(?::(\d+))?(/[^\s'\"]*)?")
LOG_LINES = 300
HEALTH_TRIES = 10


@dataclass
class Lifecycle:
    project: str
    files: list[Path]
    args: list[str] = field(default_factory=list)  # docker compose -f ... -p PROJECT
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
    bases: list[BaseChoice] = field(default_factory=list)  # base image of each built service


def _run(cmd: list[str], ctx: Context, timeout: float, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=stack_env(ctx), cwd=str(cwd) if cwd else None)


def _health_url(ctx: Context, svc_cfg: dict[str, Any]) -> str | None:
    if ctx.cfg.docker.health_url:
        return ctx.cfg.docker.health_url
    path = ctx.cfg.health.liveness_path or "/health"
    for p in svc_cfg.get("ports") or []:
        if isinstance(p, dict) and p.get("published"):
            host = p.get("host_ip") or "127.0.0.1"
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared
            return f"http://{host}:{p['published']}{path}"
    test = healthcheck_test(svc_cfg.get("healthcheck"))
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
    out = _run([*lc.args, "ps", "-a", "-q"], ctx, 60, lc.files[0].parent)
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
    out = _run([*lc.args, "logs", "--no-color", "--no-log-prefix", "--tail", str(tail), service],
               ctx, 60, lc.files[0].parent)
    return out.stdout + out.stderr


def _check_health(ctx: Context, url: str, stop: threading.Event) -> Finding:
    last = ""
    for _ in range(HEALTH_TRIES):
        if stop.is_set():
            break
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


def _check_restart(ctx: Context, lc: Lifecycle, service: str, stop: threading.Event
                   ) -> list[Finding]:
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
    while time.monotonic() < deadline and not stop.is_set():
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


def _lifecycle_sync(ctx: Context, lc: Lifecycle, stack: Stack, stop: threading.Event) -> None:
    start = time.monotonic()
    code, stdout, stderr = stack.up(ctx.cfg.docker.up_timeout_seconds
                                    + ctx.cfg.docker.build_timeout_seconds)
    lc.up_seconds = time.monotonic() - start
    if stop.is_set():  # interrupted: teardown stopped `up`; its exit says nothing of the product
        return
    if interrupted_exit(code):  # the Ctrl-C reached `up` too: the run ends, no result
        raise KeyboardInterrupt
    lc.up_ok = code == 0
    lc.up_log = (stdout + stderr)[-6000:]
    if code is None:
        lc.up_error = "docker compose up did not finish in time"
    elif code != 0:
        lc.up_error = (stderr.strip().splitlines() or [f"exit {code}"])[-1][:300]
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
    lc.health = ([_check_health(ctx, url, stop)] if url else
                 [skipped(f"no host port for service {service}: set docker.health_url")])
    if stop.is_set():
        return
    lc.restart = _check_restart(ctx, lc, service, stop)
    if stop.is_set():
        return
    lc.logs = _check_logs(ctx, lc, service)


async def lifecycle(ctx: Context) -> Lifecycle:
    """Run the stack once per audit: up, verify, tear down (memoised). An interrupt (Ctrl-C,
    SIGTERM) propagates and never becomes a finding: the run's close hook kills and removes the
    stack within the interrupt's budget (the run ends within 5 s; what is left stays labelled and
    is named with ``prodaudit clean --run-id``)."""

    async def build() -> Lifecycle:
        await asyncio.to_thread(ctx.docker)  # Skip without an engine
        files = require_compose_files(ctx)
        try:
            config = compose_config(ctx)
        except ComposeError as exc:
            raise Skip(f"docker compose config failed (see DEP-001): {str(exc)[:200]}") from None
        objects = run_objects(ctx)
        stack = Stack(ctx, objects, files)
        objects.add(stack.close_hook)  # safety net: the run's end, also on Ctrl-C
        lc = Lifecycle(project=stack.project, files=files)
        await asyncio.to_thread(stack.prepare, config)
        lc.args, lc.bases = stack.base_args, stack.bases
        stop = threading.Event()
        try:
            await asyncio.to_thread(_lifecycle_sync, ctx, lc, stack, stop)
        except BaseException:  # an error, the check's timeout, Ctrl-C: clean up, re-raise
            stop.set()
            if not interrupt.interrupted():
                stack.teardown(interrupted=True)  # on the loop thread
            # interrupted: the close hook (registered above) tears down within the interrupt's
            # budget, in the run's bounded cleanup, which reports what it could not remove
            raise
        stop.set()
        if ctx.cfg.docker.keep_up:
            stack.kept = True
            objects.kept_project = stack.project
            lc.kept_up = True
            lc.teardown = [skipped(
                f"docker.keep_up: the stack is still running; stop it with `docker compose "
                f"-p {stack.project} {' '.join('-f ' + str(f) for f in files)} down -v`, or "
                f"`prodaudit clean --run-id {objects.run_id}`")]
        else:
            lc.teardown = await asyncio.to_thread(stack.teardown)
        return lc

    result: Lifecycle = await ctx.amemo("deployment:lifecycle", build)
    return result


def _where(ctx: Context, lc: Lifecycle) -> str:
    return rel(ctx, lc.files[-1])


@check("DEP-030", "The stack starts and every service becomes healthy", severity=Severity.HIGH,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("P.2.2", "P.2.5", "3.1.5"),
       evidence=Evidence.OBSERVED)
async def up_healthy(ctx: Context) -> list[Finding]:
    """``docker compose up -d --build --wait`` (unique project name, the audited compose files and
    env file) succeeds within ``docker.up_timeout_seconds`` and every service is running and
    ``healthy`` (or running, for services without a healthcheck).

    The project is ``prodaudit-<run id>``; an override file labels every container, volume,
    network and built image with the run id, and passes the base image chosen as for DEP-010
    (``docker.base_image``, ``PRODAUDIT_BASE_IMAGE``, or the local base image when no registry
    answers). The stack is torn down afterwards (``down --volumes``, then whatever is still
    labelled with the run) unless ``docker.keep_up`` is set. Ctrl-C tears it down too and ends
    the run (exit 130) without a result.

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
    bases = "".join(f"\nbase image of {b.where}: {b.note}" for b in lc.bases)
    offline = None if lc.up_ok else registry_unreachable(lc.up_log + "\n" + lc.up_error)
    needs = [b for b in lc.bases if b.offline]
    if (offline or needs) and not lc.services:
        what = (f"{needs[0].default}, which the engine does not have, from "
                f"{needs[0].registry.host if needs[0].registry else 'its registry'}, which does not "
                f"answer" if needs else f"an image registry this engine cannot reach ({offline})")
        return [Finding(Status.ERROR, f"not verified: docker compose up needs {what}",
                        location=_where(ctx, lc),
                        evidence="--- compose output (tail) ---\n" + lc.up_log[-3000:] + bases,
                        remediation=offline_remediation(needs[0], ctx.cfg.docker.local_base_image)
                        if needs else "Make the images the compose file names available to the "
                        "engine (docker load, a registry mirror), or build them FROM a local base "
                        "image (docker.base_image / PRODAUDIT_BASE_IMAGE).")]
    if not lc.up_ok:
        out.append(failed(f"docker compose up --wait failed after {lc.up_seconds:.0f} s: "
                          f"{lc.up_error}", location=_where(ctx, lc),
                          evidence="--- compose output (tail) ---\n" + lc.up_log[-3000:]))
    if not out:
        if not lc.services:
            out.append(failed("docker compose up reported success but no container exists",
                              location=_where(ctx, lc)))
        else:
            local = sorted({b.image for b in lc.bases if b.source != "default"})
            out.append(passed(f"{len(lc.services)} services up and healthy in "
                              f"{lc.up_seconds:.0f} s: "
                              + ", ".join(f"{n} ({_state(i)[1]})" for n, i in
                                          sorted(lc.services.items()))
                              + (f"; built FROM {', '.join(local)}" if local else ""),
                              location=_where(ctx, lc), evidence=bases.strip()))
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
       needs=("docker",), exclusive=True, timeout=2400, checklist=("9.2.4", "P.2.4"),
       evidence=Evidence.OBSERVED)
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
       checklist=("P.2.2",), evidence=Evidence.OBSERVED)
async def restart_policy(ctx: Context) -> list[Finding]:
    """Killing the API container's main process (SIGKILL from the host, as the OOM killer would)
    brings the container back via its restart policy within ``docker.restart_timeout_seconds``.

    Remediation: ``restart: unless-stopped`` (or ``on-failure``) on every long-running service.
    """
    lc = await lifecycle(ctx)
    _need_up(lc)
    return lc.restart or [skipped("restart was not tested")]


@check("DEP-033", "Container logs are JSON lines without secret values", severity=Severity.HIGH,
       needs=("docker",), exclusive=True, timeout=2400, checklist=("5.1.1", "5.1.3"),
       evidence=Evidence.OBSERVED)
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
       needs=("docker",), exclusive=True, timeout=2400, checklist=("P.2.3",), evidence=Evidence.OBSERVED)
async def teardown_clean(ctx: Context) -> list[Finding]:
    """After the lifecycle run, ``docker compose down --volumes`` succeeded and nothing labelled
    with the run id (``org.prodaudit.run``) remains of the audit's compose project: no container,
    volume, network or built image. Image names the compose file shares with images that existed
    before the run are given back to those images; nothing the run did not create is removed.

    Remediation: remove what is left with ``prodaudit clean --run-id <id>`` (only objects carrying
    the run's labels); a failing ``down`` usually means a container ignores SIGTERM (use the
    ``exec`` form of ``CMD`` and ``stop_grace_period``).
    """
    lc = await lifecycle(ctx)
    return lc.teardown or [skipped("teardown did not run")]
