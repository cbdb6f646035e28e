"""CFG-163: Redis services of the Compose project cap their memory (``maxmemory``)."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, warned
from prodaudit.checks.config._compose import active_services, done, image, operational

_REDIS_IMAGE = re.compile(r"(^|/)(redis|valkey|keydb|redis-stack\S*)(:|$)", re.I)
_MAXMEMORY = re.compile(r"maxmemory", re.I)


def _command_text(svc: dict[str, Any]) -> str:
    parts = []
    for key in ("command", "entrypoint", "environment"):
        v = svc.get(key)
        parts.append(" ".join(map(str, v)) if isinstance(v, list | tuple) else str(v or ""))
    return " ".join(parts)


def _conf_sets_maxmemory(ctx: Context, svc: dict[str, Any]) -> bool:
    """A redis.conf of the repository bind-mounted into the service sets maxmemory."""
    for vol in svc.get("volumes") or []:
        src = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":")[0]
        rel = str(src).removeprefix("./").rstrip("/")
        if rel.endswith(".conf"):
            text = ctx.read(rel) or ""
            if re.search(r"^\s*maxmemory\s+\d", text, re.M):
                return True
    return False


@check("CFG-163", "Compose Redis services set maxmemory", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.3.2",), evidence=Evidence.PARSED)
def redis_maxmemory(ctx: Context) -> list[Finding]:
    """Every Redis (Valkey, KeyDB) service a plain ``docker compose up`` starts caps its memory:
    ``--maxmemory`` in its command (with a ``--maxmemory-policy`` that suits its role) or a
    mounted ``redis.conf`` of the repository that sets ``maxmemory``. The static counterpart of
    DEP-062, which reads the live server's configuration. WARN: the limit may come from a
    configuration outside the repository.

    Redis' default is no limit: a cache or queue grows until the container's memory limit or
    the kernel's OOM killer stops it, and every client (sessions, jobs, rate limits) with it.

    Remediation: ``command: redis-server --maxmemory 256mb --maxmemory-policy allkeys-lru``
    for a cache (``noeviction`` for a queue or broker; separate instances when one Redis serves
    both).
    """
    found, out = operational(ctx)
    n = 0
    for p, name, svc in active_services(found):
        img = image(ctx, svc)
        if not _REDIS_IMAGE.search(img):
            continue
        n += 1
        if _MAXMEMORY.search(_command_text(svc)) or _conf_sets_maxmemory(ctx, svc):
            continue
        out.append(warned(f"service {name} ({img}) runs without maxmemory: Redis grows "
                          f"until it is killed{p.note}",
                          location=p.loc("services", name, "image")))
    if not n:
        raise Skip("no Redis service in the Compose project")
    return done(out, f"{n} Redis service(s) set maxmemory", found)
