"""DEP-060–069: the production Redis, read with ``CONFIG GET`` (persistence, memory limit,
eviction policy, authentication, exposure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.database import is_local_host

TIMEOUT_S = 5.0
WILDCARDS = ("*", "0.0.0.0", "::", "::*")  # noqa: S104 - compared, not bound
EVICTING = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl")


@dataclass
class RedisFacts:
    label: str  # redis://host:port/db without credentials
    env: str
    error: str = ""  # connection failed
    config: dict[str, str] = field(default_factory=dict)
    config_error: str = ""  # CONFIG GET refused (managed Redis, ACL)
    acl: list[str] = field(default_factory=list)
    whoami: str = ""
    version: str = ""


def _label(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.hostname or 'localhost'}:{p.port or 6379}{p.path or ''}"


def _collect(ctx: Context) -> RedisFacts:
    import redis

    name = ctx.cfg.redis.url_env
    url = ctx.env_value(name)
    if not url:
        raise Skip(f"{name} not set in the audited environment")
    ctx.redact.register_env({name: url})
    facts = RedisFacts(label=_label(url), env=name)
    try:
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S,
                                      socket_connect_timeout=TIMEOUT_S, decode_responses=True)
    except ValueError as exc:
        facts.error = f"{name} is not a Redis URL: {exc}"
        return facts
    try:
        client.ping()
        info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
        facts.version = str(info.get("redis_version", ""))
    except redis.RedisError as exc:
        facts.error = f"{type(exc).__name__}: {exc}"
        client.close()
        return facts
    try:
        raw: dict[str, Any] = client.config_get("*")  # type: ignore[assignment]
        facts.config = {str(k): str(v) for k, v in raw.items()}
        for key in ("requirepass", "masterauth"):
            ctx.redact.register(facts.config.get(key))
    except redis.RedisError as exc:
        facts.config_error = f"{type(exc).__name__}: {exc}"
    try:
        acl: list[Any] = client.acl_list()  # type: ignore[assignment]
        facts.acl = [str(x) for x in acl]
        facts.whoami = str(client.acl_whoami())
    except redis.RedisError:
        facts.acl = []
    finally:
        client.close()
    return facts


def facts(ctx: Context) -> RedisFacts:
    return ctx.memo("deployment:redis", lambda: _collect(ctx))


def config(ctx: Context) -> tuple[RedisFacts, dict[str, str]]:
    """The facts and the CONFIG GET answer, or Skip when unreachable or CONFIG is disabled."""
    f = facts(ctx)
    if f.error:
        raise Skip(f"Redis at {f.label} not reachable (see DEP-060)")
    if f.config_error:
        raise Skip(f"CONFIG GET refused by {f.label} (managed Redis or restricted ACL): "
                   f"{f.config_error}")
    return f, f.config


def _loc(f: RedisFacts) -> str:
    return f"env {f.env} ({f.label})"


@check("DEP-060", "Redis answers with the production REDIS_URL", severity=Severity.HIGH,
       needs=("redis",), checklist=("P.1.4",), evidence=Evidence.OBSERVED)
def reachable(ctx: Context) -> list[Finding]:
    """A connection with the audited ``REDIS_URL`` (credentials included) answers ``PING``.

    Remediation: fix the URL (host, port, database, password; ``rediss://`` for TLS) in the
    production environment and make sure the application host can reach Redis.
    """
    f = facts(ctx)
    if f.error:
        return [failed(f"Redis at {f.label} did not answer PING: {f.error[:300]}",
                       location=_loc(f))]
    return [passed(f"Redis {f.version} at {f.label} answered PING", location=_loc(f))]


@check("DEP-061", "Redis persistence suits its role", severity=Severity.MEDIUM,
       needs=("redis",), checklist=("3.3.1",), evidence=Evidence.OBSERVED)
def persistence(ctx: Context) -> list[Finding]:
    """Where Redis holds data that must survive a restart (``redis.role`` ``queue`` or
    ``mixed``), persistence is on: ``appendonly yes`` or a ``save`` schedule. A pure cache
    (``redis.role = "cache"``) needs none.

    Remediation: set ``appendonly yes`` (``appendfsync everysec``) for queues, brokers and
    sessions, on a volume that survives container restarts.
    """
    f, cfg = config(ctx)
    role = ctx.cfg.redis.role
    aof = cfg.get("appendonly", "no") == "yes"
    save = cfg.get("save", "").strip()
    ev = f"appendonly {cfg.get('appendonly', '?')}\nsave {save or '(empty)'}\nrole {role}"
    if aof or save:
        what = "appendonly yes" if aof else f"save {save}"
        return [passed(f"persistence on ({what}) for role {role}", location=_loc(f), evidence=ev)]
    if role == "cache":
        return [passed("no persistence, which a pure cache (redis.role = cache) does not need",
                       location=_loc(f), evidence=ev)]
    return [failed(f"no persistence (appendonly no, save empty) but redis.role is {role}: queued "
                   "jobs and sessions are lost on restart", location=_loc(f), evidence=ev)]


@check("DEP-062", "Redis memory limit and eviction policy suit its role", severity=Severity.HIGH,
       needs=("redis",), checklist=("3.3.2", "3.3.3"), evidence=Evidence.OBSERVED)
def memory(ctx: Context) -> list[Finding]:
    """``maxmemory`` is set, and ``maxmemory-policy`` fits the role: an evicting policy
    (``allkeys-lru``/``-lfu``…) for a cache, ``noeviction`` for a queue or broker (eviction
    silently drops jobs), ``volatile-*`` or ``noeviction`` for mixed use.

    Without ``maxmemory`` Redis grows until the kernel's OOM killer or the container limit
    kills it, taking every client down with it.

    Remediation: set ``maxmemory`` below the container/VM memory limit (leave room for
    fork-on-save), and ``maxmemory-policy`` per role (``allkeys-lru`` for caches,
    ``noeviction`` for queues).
    """
    f, cfg = config(ctx)
    role = ctx.cfg.redis.role
    maxmem = int(cfg.get("maxmemory", "0") or 0)
    policy = cfg.get("maxmemory-policy", "noeviction")
    ev = f"maxmemory {maxmem}\nmaxmemory-policy {policy}\nrole {role}"
    out: list[Finding] = []
    if maxmem <= 0:
        out.append(failed("maxmemory is 0 (unlimited): Redis grows until it is killed",
                          location=_loc(f), evidence=ev))
    if role == "cache" and policy not in EVICTING:
        out.append(warned(f"maxmemory-policy {policy} on a cache: writes fail when memory is full "
                          "instead of evicting old keys", location=_loc(f), evidence=ev))
    elif role == "queue" and policy != "noeviction":
        out.append(failed(f"maxmemory-policy {policy} on a queue/broker: jobs are evicted silently",
                          location=_loc(f), evidence=ev))
    elif role == "mixed" and policy.startswith("allkeys"):
        out.append(failed(f"maxmemory-policy {policy} with mixed use: keys without TTL (queues, "
                          "sessions) can be evicted", location=_loc(f), evidence=ev))
    if not out:
        out.append(passed(f"maxmemory {maxmem} bytes, policy {policy} suits role {role}",
                          location=_loc(f), evidence=ev))
    return out


def _default_user_open(acl: list[str]) -> bool | None:
    for line in acl:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "user" and parts[1] == "default":
            return "on" in parts and "nopass" in parts
    return None


@check("DEP-063", "Redis requires authentication", severity=Severity.HIGH,
       needs=("redis",), checklist=("P.1.4",), references=("CWE-306",), evidence=Evidence.OBSERVED)
def authentication(ctx: Context) -> list[Finding]:
    """In production Redis requires a password (``requirepass``) or ACL users: the ``default``
    user is not ``on nopass``.

    An unauthenticated Redis lets anyone who reaches the port read sessions and cached data,
    and write keys (``CONFIG SET dir`` has been used for remote code execution).

    Remediation: set ``requirepass`` (or ACL users with ``user default off``) with a long random
    password, and put it in ``REDIS_URL`` (``redis://:PASSWORD@host:6379/0``).
    """
    f, cfg = config(ctx)
    password = bool(cfg.get("requirepass"))
    open_default = _default_user_open(f.acl)
    acl = {True: "on nopass", False: "protected", None: "unknown"}[open_default]
    ev = (f"requirepass {'set' if password else '(empty)'}\nACL default user: {acl}"
          f"\nconnected as: {f.whoami or '?'}")
    if password or open_default is False:
        return [passed("Redis requires authentication (requirepass or ACL)", location=_loc(f),
                       evidence=ev)]
    msg = "Redis accepts clients without a password (requirepass empty, default user nopass)"
    if ctx.cfg.profile == "production":
        return [failed(msg, location=_loc(f), evidence=ev)]
    return [warned(msg + f" (profile {ctx.cfg.profile})", location=_loc(f), evidence=ev)]


@check("DEP-064", "Redis is not exposed: protected mode and bind address", severity=Severity.HIGH,
       needs=("redis",), checklist=("P.1.4",), references=("CWE-668",), evidence=Evidence.OBSERVED)
def exposure(ctx: Context) -> list[Finding]:
    """Redis listens only where it must: ``bind`` limited to loopback or private addresses, or
    ``protected-mode yes``; listening on every interface without authentication fails.

    Remediation: ``bind 127.0.0.1 -::1`` (or the private interface), keep ``protected-mode yes``,
    require a password, and never publish port 6379 to the internet.
    """
    f, cfg = config(ctx)
    bind = cfg.get("bind", "").split()
    protected = cfg.get("protected-mode", "yes") == "yes"
    password = bool(cfg.get("requirepass")) or _default_user_open(f.acl) is False
    ev = f"bind {' '.join(bind) or '(all interfaces)'}\nprotected-mode {cfg.get('protected-mode')}"
    wildcard = not bind or any(b.lstrip("-") in WILDCARDS for b in bind)
    public = [b for b in bind if not is_local_host(b.lstrip("-")) and not _private(b.lstrip("-"))]
    if wildcard and not protected and not password:
        return [failed("Redis listens on every interface with protected-mode off and no password",
                       location=_loc(f), evidence=ev)]
    if wildcard or public:
        return [warned("Redis listens on every interface or a public address: rely on a firewall "
                       "is fragile" + ("" if password else ", and no password is set"),
                       location=_loc(f), evidence=ev)]
    if not protected and not password:
        return [warned("protected-mode is off and no password is set", location=_loc(f),
                       evidence=ev)]
    return [passed(f"Redis binds {' '.join(bind)}, protected-mode {cfg.get('protected-mode')}",
                   location=_loc(f), evidence=ev)]


def _private(addr: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(addr).is_private
    except ValueError:
        return False
