"""Access-token lifetimes set in code. Not a check module: CFG-035 reports them.

Found in settings wherever they live (``ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24 * 8``, SimpleJWT
``SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] = timedelta(days=7)``, flask-jwt-extended
``JWT_ACCESS_TOKEN_EXPIRES`` (seconds, a timedelta, or ``False`` = never), rest_framework_jwt
``JWT_EXPIRATION_DELTA``, environment defaults ``env("JWT_EXPIRATION_DELTA_SECONDS",
default=604800)``), in ``timedelta(...)`` values a token-encoding function adds to the issue time
or passes as ``expires_delta=``, and in library defaults the settings leave in place
(django-oauth-toolkit: 36000 s when ``OAUTH2_PROVIDER`` sets no ``ACCESS_TOKEN_EXPIRE_SECONDS``).
The unit comes from a ``timedelta`` or the name (``*_MINUTES``, ``*_SECONDS``, ``*_HOURS``,
``*_DAYS``); a number whose unit cannot be known is not judged.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import Setting, settings_model
from prodaudit.product.pyvalues import Duration, evaluate
from prodaudit.product.textwords import contains, contains_any

if TYPE_CHECKING:
    from prodaudit.context import Context

_LIFETIME_RE = re.compile(r"EXPIR|LIFETIME|TTL|_AGE\b|DELTA|MINUTES|SECONDS|HOURS|DAYS", re.I)
_ACCESS_RE = re.compile(r"ACCESS|JWT|(^|_)TOKEN", re.I)
_NOT_ACCESS_RE = re.compile(r"REFRESH|RESET|VERIF|CONFIRM|INVITE|EMAIL|PASSWORD|REMEMBER|SESSION|"
                            r"CSRF|OTP|MAGIC|ACTIVATION|PRESIGN|UPLOAD|CACHE|COOKIE|LEEWAY|"
                            r"ALGORITHM|SECRET|_KEY|ISSUER|AUDIENCE|HEADER|PREFIX|GRACE", re.I)
_UNITS = (("WEEK", 604800), ("DAY", 86400), ("HOUR", 3600), ("MINUTE", 60), ("_MIN", 60),
          ("SECOND", 1), ("_SEC", 1))
#: settings whose plain number is in seconds although the name has no unit
_SECONDS_NAMES = frozenset({"JWT_ACCESS_TOKEN_EXPIRES", "JWT_EXPIRATION_DELTA",
                            "ACCESS_TOKEN_EXPIRES_IN", "JWT_EXPIRES_IN", "JWT_TTL"})
OAUTH_TOOLKIT_DEFAULT = 36000  # django-oauth-toolkit's ACCESS_TOKEN_EXPIRE_SECONDS default


@dataclass(frozen=True)
class Lifetime:
    path: str
    line: int
    what: str  # e.g. "ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24 * 8"
    seconds: float | None  # None: the token never expires

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"


def _unit(name: str) -> int | None:
    up = name.upper()
    for word, secs in _UNITS:
        if word in up:
            return secs
    return 1 if up in _SECONDS_NAMES or up.endswith(("_EXPIRES_IN", "_TTL")) else None


def seconds_of(name: str, value: Any) -> float | None | bool:
    """The lifetime in seconds; None = never expires; False = not a lifetime value."""
    if isinstance(value, Duration):
        return value.seconds
    if value is False and name.upper() in _SECONDS_NAMES:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        unit = _unit(name)
        return float(value * unit) if unit is not None else False
    return False


def is_access_lifetime_name(name: str) -> bool:
    return bool(_ACCESS_RE.search(name) and _LIFETIME_RE.search(name)
                and not _NOT_ACCESS_RE.search(name))


def access_lifetimes(ctx: Context, deployed: dict[str, str] | None = None) -> list[Lifetime]:
    """Every access-token lifetime in the code; ``deployed`` maps a variable to the value the
    deployment gives it (it replaces the code default of a setting read from it)."""
    deployed = deployed or {}
    out: list[Lifetime] = []
    settings = [s for s in settings_model(ctx).settings if not s.dev and not s.ci_only]
    names = {(s.path, s.name) for s in settings if is_access_lifetime_name(s.name)}
    for s in settings:
        if not is_access_lifetime_name(s.name):
            continue
        if any((s.path, r) in names and r != s.name for r in s.refs):
            continue  # derived from another lifetime setting of the module (reported there)
        value = deployed.get(s.env, s.value) if s.env else s.value
        secs = seconds_of(s.name, value)
        if secs is False or isinstance(secs, bool):
            continue
        out.append(Lifetime(s.path, s.line, _describe(s, value), secs))
    out += _oauth_toolkit(settings)
    out += _encoder_deltas(ctx)
    return out


def _describe(s: Setting, value: Any) -> str:
    shown = s.expr if not s.env else f"{s.expr} -> {value}"
    return f"{s.name} = {shown}"[:160]


def _oauth_toolkit(settings: list[Setting]) -> list[Lifetime]:
    out = []
    for s in settings:
        if s.name == "OAUTH2_PROVIDER" and s.scope == "module" and isinstance(s.value, dict) \
                and "ACCESS_TOKEN_EXPIRE_SECONDS" not in s.value:
            out.append(Lifetime(s.path, s.line, "OAUTH2_PROVIDER sets no ACCESS_TOKEN_EXPIRE_SECONDS "
                                f"(django-oauth-toolkit's default: {OAUTH_TOOLKIT_DEFAULT} s)",
                                OAUTH_TOOLKIT_DEFAULT))
    return out


def _encoder_deltas(ctx: Context) -> list[Lifetime]:
    """``timedelta`` values in functions that encode access tokens, and ``expires_delta=`` /
    ``expires_in=`` arguments of calls that create them."""
    out = []
    for module in py_index(ctx):
        rel = module.rel
        for fn in module.functions if contains(module, "encode") else []:
            if _NOT_ACCESS_RE.search(fn.name):
                continue
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)]
            encodes = any(ast.unparse(c.func).endswith("encode") for c in calls)
            if not encodes:
                continue
            for c in calls:
                if ast.unparse(c.func).split(".")[-1] == "timedelta":
                    value = evaluate(c, {}, set())
                    if isinstance(value, Duration):
                        out.append(Lifetime(rel, c.lineno, f"{ast.unparse(c)} in {fn.name}()",
                                            value.seconds))
        for node in module.calls if contains_any(module, "expire", "lifetime") else []:
            if "access" in ast.unparse(node.func).lower():
                for kw in node.keywords:
                    if kw.arg in ("expires_delta", "expires_in", "lifetime", "expires"):
                        value = evaluate(kw.value, {}, set())
                        if isinstance(value, Duration):
                            out.append(Lifetime(rel, kw.value.lineno,
                                                f"{kw.arg}={ast.unparse(kw.value)}",
                                                value.seconds))
    return out
