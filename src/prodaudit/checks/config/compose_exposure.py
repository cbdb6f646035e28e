"""CFG-153, CFG-154, CFG-160: what a Compose stack exposes — host control (privileged mode, the
Docker socket, host namespaces), internal services published on every interface, and admin UIs,
unauthenticated dashboards and debuggers in the production stack."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    warned,
)
from prodaudit.checks.config._compose import done, projects, public_ports, roles
from prodaudit.product.compose import ComposeProject
from prodaudit.product.compose_yaml import service_env

INTERNAL_ROLES = ("database", "cache", "queue", "monitoring")
#: monitoring UIs with their own login, meant to be opened in a browser
_OWN_LOGIN = re.compile(r"(^|/)(grafana|sentry)\b")
#: how each admin UI is told to ask for credentials (command flags or environment variables)
_UI_AUTH = re.compile(r"(--basic[_-]auth|--auth\b|FLOWER_BASIC_AUTH|FLOWER_AUTH|HTTP_USER|"
                      r"HTTP_PASSWORD|ME_CONFIG_BASICAUTH|PGADMIN_DEFAULT_PASSWORD|AUTH_TYPE|"
                      r"ADMIN_PASSWORD|BASIC_AUTH)", re.I)
_TRAEFIK_INSECURE = re.compile(r"--api\.insecure(?:=true|\s|$)|TRAEFIK_API_INSECURE\S*true", re.I)
_DEBUGGER = re.compile(r"(debugpy\b[^;&|]*--listen\s+(?:0\.0\.0\.0:)?\d+|--inspect(?:-brk)?="
                       r"0\.0\.0\.0|ptvsd\b[^;&|]*--host\s+0\.0\.0\.0)")


def _text(svc: dict[str, Any]) -> str:
    parts = [str(svc.get(k) or "") for k in ("command", "entrypoint")]
    env = service_env(svc)
    return " ".join(parts + [f"{k}={v}" for k, v in env.items()])


@check("CFG-153", "No privileged containers, Docker socket or host namespaces",
       severity=Severity.CRITICAL, needs=("repo",), checklist=("3.1.3", "P.2.4"),
       references=("CIS Docker 5.4", "CIS Docker 5.31", "CIS Docker 5.9", "CWE-250"),
       evidence=Evidence.PARSED)
def isolation(ctx: Context) -> list[Finding]:
    """No service is ``privileged``, mounts the Docker socket (``/var/run/docker.sock``,
    reported at the line of the mount), uses ``network_mode: host``, ``pid: host`` or ``ipc:
    host``, or adds ``SYS_ADMIN``/``ALL`` capabilities.

    Each of these hands the container (and anyone who compromises it) control of the host: the
    Docker socket is root on the host; host networking exposes every port and bypasses
    published-port rules.

    Remediation: remove them; publish only the ports needed on ``127.0.0.1`` or a reverse proxy;
    a proxy that needs container discovery reads a socket proxy with a read-only API.
    """
    found, out = projects(ctx)
    n = 0
    for p in found:
        for name, svc in p.services.items():
            n += 1
            note = p.note + p.dev_label
            if svc.get("privileged") is True:
                out.append(failed(f"service {name} is privileged{note}",
                                  location=p.loc("services", name, "privileged")))
            for i, v in enumerate(svc.get("volumes") or []):
                src = v if isinstance(v, str) else str((v or {}).get("source", ""))
                if "docker.sock" in src:
                    out.append(failed(f"service {name} mounts the Docker socket{note}",
                                      location=p.loc("services", name, "volumes", i),
                                      evidence=str(v)[:200]))
            for key in ("network_mode", "pid", "ipc"):
                if str(svc.get(key) or "") == "host":
                    out.append(failed(f"service {name} uses {key}: host{note}",
                                      location=p.loc("services", name, key),
                                      severity=Severity.HIGH))
            caps = {str(c).upper() for c in svc.get("cap_add") or []}
            if caps & {"ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"}:
                out.append(failed(f"service {name} adds {', '.join(sorted(caps))}{note}",
                                  location=p.loc("services", name, "cap_add"),
                                  severity=Severity.HIGH))
    return done(out, f"{n} service(s): no privileged mode, Docker socket or host namespaces", found)


@check("CFG-154", "Internal services are not published on all interfaces",
       severity=Severity.HIGH, needs=("repo",), checklist=("P.2.4", "3.1.3"),
       references=("CWE-668",), evidence=Evidence.PARSED)
def internal_ports(ctx: Context) -> list[Finding]:
    """Databases, caches, queues and monitoring services (by role: their image, or the image
    their Dockerfile builds FROM) publish no port, or only on ``127.0.0.1``/``::1``. Admin UIs
    are judged by CFG-160; dashboards with their own login (Grafana, Sentry) are not internal.

    ``"5432:5432"`` binds 0.0.0.0 and Docker's iptables rules bypass host firewalls (ufw):
    the database, Redis, the broker's management port or Prometheus is reachable from the
    internet, where bots try default passwords within hours.

    Remediation: drop ``ports:`` (services reach each other over the Compose network) or use
    ``"127.0.0.1:5432:5432"`` for local tooling.
    """
    found, out = projects(ctx)
    n = 0
    for p in found:
        for name, svc in roles(ctx, p).items():
            if svc.role not in INTERNAL_ROLES or _OWN_LOGIN.search(svc.image):
                continue
            n += 1
            for i, port, host in public_ports(ctx, svc.raw):
                out.append(failed(f"{svc.role} service {name} publishes {port} on {host}"
                                  f"{p.note}{p.dev_label}",
                                  location=p.loc("services", name, "ports", i)))
    if not n:
        raise Skip("no database, cache, queue or monitoring service in the Compose files")
    return done(out, f"{n} internal service(s): ports not published on all interfaces", found)


def _admin_findings(ctx: Context, p: ComposeProject, name: str, svc: dict[str, Any],
                    label: str) -> list[Finding]:
    authed = bool(_UI_AUTH.search(_text(svc)))
    public = list(public_ports(ctx, svc))
    what = f"{label} {name} ({svc.get('image') or 'built'})"
    if public:
        i, port, host = public[0]
        loc = p.loc("services", name, "ports", i)
        if authed:
            return [warned(f"{what} is published on {host} ({port}), behind its own login only"
                           f"{p.deployed_note}{p.dev_label}", location=loc)]
        return [failed(f"{what} is published on {host} ({port}) without authentication"
                       f"{p.deployed_note}{p.dev_label}", location=loc)]
    return [warned(f"{what} runs in the production stack{' (with a login)' if authed else ''}: "
                   f"keep it out or behind a profile{p.deployed_note}{p.dev_label}",
                   location=p.loc("services", name, "image"))]


@check("CFG-160", "No admin UIs, open dashboards or debuggers in the production stack",
       severity=Severity.HIGH, needs=("repo",), checklist=("P.2.4", "3.1.3"),
       references=("CWE-306", "CWE-489"), evidence=Evidence.PARSED)
def admin_uis(ctx: Context) -> list[Finding]:
    """Services a plain ``docker compose up`` starts include no database or queue admin UI
    (Adminer, pgAdmin, phpMyAdmin, Flower, redis-commander, RedisInsight, Mongo Express, Kafka
    UI, Portainer …), no reverse-proxy dashboard or API without authentication (Traefik
    ``--api.insecure=true``) and no remote debugger listening on every interface (``debugpy
    --listen``, ``node --inspect=0.0.0.0``). Published on all interfaces without a login: FAIL at
    the port; with the UI's own login, or not published: WARN. Admin UIs behind a Compose
    profile (not started by default) pass.

    These tools run arbitrary queries, revoke tasks, read every key or control the containers:
    one exposed admin UI is the whole data store.

    Remediation: remove them from the production stack (a ``profiles: [debug]`` service, or a
    separate compose file for local tooling); reach them through an SSH tunnel or an
    authenticated proxy when needed; never enable Traefik's insecure API.
    """
    found, out = projects(ctx)
    gated: list[str] = []
    n = 0
    for p in found:
        for name, svc in roles(ctx, p).items():
            raw = svc.raw
            text = _text(raw)
            if svc.role == "admin":
                n += 1
                if not svc.active:
                    gated.append(name)
                    continue
                out += _admin_findings(ctx, p, name, raw, "admin UI")
            elif svc.role == "proxy" and _TRAEFIK_INSECURE.search(text):
                n += 1
                key = "command" if "command" in raw else "environment"
                out.append(failed(f"service {name} enables Traefik's insecure API: the dashboard "
                                  f"and API answer without authentication{p.deployed_note}{p.dev_label}",
                                  location=p.loc("services", name, key)))
            elif _DEBUGGER.search(text) and svc.active:
                n += 1
                out.append(failed(f"service {name} runs a remote debugger on every interface "
                                  f"({_DEBUGGER.search(text).group(0)[:60]}){p.deployed_note}{p.dev_label}",  # type: ignore[union-attr]
                                  location=p.loc("services", name, "command")))
    if not n:
        return done([], "no admin UI, proxy dashboard API or remote debugger in the Compose "
                        "services", found)
    return done(out, f"admin UIs only behind profiles: {', '.join(gated) or '-'}", found)
