"""The audited database: its URL in the audited environment, URL forms for SQLAlchemy and libpq,
host classification, and one PostgreSQL connection helper (bounded connect, redacted errors)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prodaudit.context import Context
from prodaudit.outcome import Skip

CONNECT_TIMEOUT_S = 5


def connect(url: str, *, timeout: float = CONNECT_TIMEOUT_S, autocommit: bool = True) -> Any:
    """A psycopg connection to a PostgreSQL URL (SQLAlchemy driver suffixes accepted), with a
    bounded connect; ``psycopg.Error`` when it fails (render it with :func:`error_line`)."""
    import psycopg

    return psycopg.connect(libpq_url(url), connect_timeout=max(1, int(timeout)),
                           autocommit=autocommit)


def error_line(exc: BaseException, url: str = "") -> str:
    """The first line of a driver error, with the URL's password (and any ``password=``
    fragment) masked: never a credential in a finding."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    password = urlsplit(url).password if url else None
    if password:
        text = text.replace(password, "[REDACTED]")
    return re.sub(r"(password\s*=\s*)\S+", r"\1[REDACTED]", text, flags=re.I)


def pg_connect(ctx: Context) -> Any:
    """A psycopg connection to the audited database, or Skip with the reason."""
    url = ctx.env_value(ctx.cfg.database.url_env) or ""
    scheme = url.split(":", 1)[0].lower()
    if not scheme.startswith("postgres"):
        raise Skip(f"{ctx.cfg.database.url_env} is not a PostgreSQL URL ({scheme or 'unset'})")
    try:
        import psycopg
    except ImportError:
        raise Skip("psycopg is not installed") from None
    try:
        return connect(url, timeout=min(10, int(ctx.cfg.request_timeout)))
    except psycopg.Error as exc:
        raise Skip(f"cannot connect to PostgreSQL: {error_line(exc, url)}") from None


# ---- databases --------------------------------------------------------------------------
def sqlalchemy_url(url: str) -> str:
    """A URL SQLAlchemy 2 opens with psycopg 3 (``postgres://``/``postgresql://`` → psycopg)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def libpq_url(url: str) -> str:
    """A URL psycopg/libpq accepts (the SQLAlchemy driver suffix removed)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.startswith(("postgresql+", "postgres+")):
        return "postgresql://" + rest
    return url


def is_postgres(url: str) -> bool:
    return url.split("://", 1)[0].split("+", 1)[0] in ("postgres", "postgresql")


def url_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        q = parse_qs(parts.query)
        host = (q.get("host") or [""])[0]
    return host


def is_local_host(host: str) -> bool:
    """Loopback, a Unix socket directory, or a single-label name (a service on a private
    container network such as Compose's ``postgres``)."""
    if not host or host.startswith("/"):
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return "." not in host


def database_url(ctx: Context) -> str:
    name = ctx.cfg.database.url_env
    url = ctx.env_value(name)
    if not url:
        raise Skip(f"{name} not set in the audited environment")
    ctx.redact.register_env({name: url})
    return url


# ---- scratch databases (readiness RDY-095; the same rules as DEP-041) -----------------------
SCRATCH_PREFIX = "prodaudit_scratch_"


def scratch_server(ctx: Context) -> str:
    """The PostgreSQL server where the audit may create and drop scratch databases:
    ``database.scratch_url_env`` (default ``PRODAUDIT_SCRATCH_DATABASE_URL``) or, only with
    ``--allow-mutations``, the server of ``DATABASE_URL``. Skip with the reason otherwise."""
    scratch_env, url_env = ctx.cfg.database.scratch_url_env, ctx.cfg.database.url_env
    scratch = ctx.env_value(scratch_env)
    if scratch:
        ctx.redact.register_env({scratch_env: scratch})
        if not is_postgres(scratch):
            raise Skip(f"{scratch_env} is not a PostgreSQL URL")
        return scratch
    url = ctx.env_value(url_env)
    if not url:
        raise Skip(f"{url_env} not set and no {scratch_env}: no PostgreSQL server for scratch databases")
    ctx.redact.register_env({url_env: url})
    if not is_postgres(url):
        raise Skip(f"{url_env} is not PostgreSQL ({url.split(':', 1)[0]}); set {scratch_env} to a "
                   "PostgreSQL server for scratch databases")
    if not ctx.cfg.allow_mutations:
        raise Skip(f"creating scratch databases on the server of {url_env} is a write: pass "
                   f"--allow-mutations or set {scratch_env}")
    return url


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (same server, credentials and options)."""
    from urllib.parse import urlunsplit

    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def server_label(url: str) -> str:
    """host:port/db of a URL, without credentials (for evidence)."""
    p = urlsplit(url)
    return f"{p.hostname or 'localhost'}:{p.port or 5432}{p.path}"


def create_scratch(server_url: str) -> str:
    """Create a uniquely named database; its URL. Skip when the role cannot (needs CREATEDB)."""
    import uuid

    import psycopg
    from psycopg import sql

    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    try:
        with connect(server_url, timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise Skip(f"cannot create a scratch database on {server_label(server_url)}: "
                   f"{error_line(exc, server_url)} (the role needs CREATEDB)") from None
    return with_database(server_url, name)


def drop_scratch(server_url: str, scratch_url: str) -> bool:
    """Drop a database :func:`create_scratch` made (never any other: the name is checked)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(scratch_url).path.lstrip("/")
    if not name.startswith(SCRATCH_PREFIX):
        return False
    try:
        with connect(server_url, timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        return True
    except psycopg.Error:
        return False
