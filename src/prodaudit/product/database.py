"""The audited database: its URL in the audited environment, URL forms for SQLAlchemy and libpq,
host classification, and one PostgreSQL connection helper (bounded connect, redacted errors)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prodaudit.context import Context
from prodaudit.outcome import Skip


def pg_connect(ctx: Context) -> Any:
    """A psycopg connection to the audited database, or Skip with the reason."""
    url = ctx.env_value(ctx.cfg.database.url_env) or ""
    scheme = url.split(":", 1)[0].lower()
    if not scheme.startswith("postgres"):
        raise Skip(f"{ctx.cfg.database.url_env} is not a PostgreSQL URL ({scheme or 'unset'})")
    url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
    try:
        import psycopg
    except ImportError:
        raise Skip("psycopg is not installed") from None
    try:
        return psycopg.connect(
            url, connect_timeout=min(10, int(ctx.cfg.request_timeout)), autocommit=True
        )
    except psycopg.Error as exc:
        raise Skip(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}") from None


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
