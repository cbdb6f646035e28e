"""CFG-036: Django's production security settings — the static half of ``manage.py check
--deploy``: hosts, HTTPS redirect, HSTS and secure cookies in the settings production runs with."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.devswitches import TRUE_WORDS
from prodaudit.product.django_settings import django_settings
from prodaudit.product.effective import deployed_value
from prodaudit.product.pysettings import settings_model

#: setting -> what is missing without it (Django deploy check id)
HTTPS_SETTINGS = {
    "SECURE_HSTS_SECONDS": "HSTS (security.W004)",
    "SECURE_SSL_REDIRECT": "the HTTP to HTTPS redirect (security.W008)",
    "SESSION_COOKIE_SECURE": "Secure session cookies (security.W012)",
    "CSRF_COOKIE_SECURE": "Secure CSRF cookies (security.W016)",
}
_HSTS_RE = re.compile(r"Strict-Transport-Security", re.I)
PROXY_SUFFIXES = (".conf", ".caddyfile", "caddyfile", ".toml", ".yaml", ".yml", ".template")


def _any_host(value: object) -> bool:
    """``"*"`` among the hosts: a list, or a comma-separated variable value."""
    if isinstance(value, str):
        value = [h.strip(" '\"[]") for h in value.split(",")]
    return isinstance(value, list) and "*" in value


def _on(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return isinstance(value, str) and (value.strip().lower() in TRUE_WORDS
                                       or value.strip().isdigit() and int(value) > 0)


def _proxy_sets_hsts(ctx: Context) -> str | None:
    for rel in ctx.files.files:
        low = rel.lower()
        if ("nginx" in low or "caddy" in low or "traefik" in low) and low.endswith(PROXY_SUFFIXES):
            text = ctx.read(rel) or ""
            if _HSTS_RE.search(text):
                return rel
    return None


@check("CFG-036", "Django production settings accept only known hosts and enforce HTTPS",
       severity=Severity.HIGH, needs=("repo",), checklist=("8.2.4", "2.1.3"),
       references=("CWE-319", "CWE-614", "CWE-644"),
       evidence=Evidence.PARSED)
def django_production(ctx: Context) -> list[Finding]:
    """In the settings production runs with (the production module of split settings, with what
    it star-imports; development and test modules are not judged): no settings module sets
    ``ALLOWED_HOSTS`` to ``"*"``, and ``SECURE_HSTS_SECONDS``, ``SECURE_SSL_REDIRECT``,
    ``SESSION_COOKIE_SECURE`` and ``CSRF_COOKIE_SECURE`` (unless ``CSRF_USE_SESSIONS``) are on
    (in code, or through the variable they are read from: the deployment's value — env file,
    production Compose stack, Dockerfile ``ENV``, platform manifest such as ``render.yaml``
    ``envVars`` or ``fly.toml`` ``[env]`` — is judged and reported where it is set). HSTS sent
    by a reverse proxy of the repository (nginx, Caddy, Traefik configuration) counts. A setting
    that is off is reported at the line that sets it (or where the deployment sets the variable
    it reads); settings that are absent together at the production module's first line ("not set
    in <module>").

    ``ALLOWED_HOSTS = ["*"]`` lets any Host header through: poisoned password-reset links and
    cache entries. Without HTTPS redirect, HSTS and Secure cookies, one plain-HTTP request
    (a captive portal, a typed URL) exposes the session cookie.

    Remediation: ``ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")`` with the real domains;
    ``SECURE_SSL_REDIRECT = True``, ``SECURE_HSTS_SECONDS = 31536000``,
    ``SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True`` in the production settings (or the
    proxy's HSTS header); run ``manage.py check --deploy`` in CI.
    """
    dj = django_settings(ctx)
    if dj.production is None:
        raise Skip("no Django settings module in the repository")
    out: list[Finding] = []
    for s in settings_model(ctx).settings:
        if s.path in dj.modules and s.name == "ALLOWED_HOSTS" and not s.guard:
            value, deployed = deployed_value(ctx, s)
            if _any_host(value) and deployed:  # the value is the deployment's: fixed there
                out.append(failed(f"ALLOWED_HOSTS accepts any Host header ({value!r} set by "
                                  f"{deployed.source}, read at {s.loc})",
                                  location=deployed.location,
                                  evidence=f"ALLOWED_HOSTS = {s.expr}"))
            elif _any_host(value):
                out.append(failed("ALLOWED_HOSTS accepts any Host header ('*')", location=s.loc,
                                  evidence=f"ALLOWED_HOSTS = {s.expr}"))
    proxy = _proxy_sets_hsts(ctx)
    missing = []
    for name, what in HTTPS_SETTINGS.items():
        current = dj.effective.get(name)
        if name == "SECURE_HSTS_SECONDS" and proxy:
            continue
        sessions = dj.effective.get("CSRF_USE_SESSIONS")
        if name == "CSRF_COOKIE_SECURE" and sessions is not None and _on(deployed_value(ctx, sessions)[0]):
            continue  # the CSRF token lives in the session, not in a cookie
        if current is None:
            missing.append(f"{name} ({what})")
            continue
        value, deployed = deployed_value(ctx, current)
        if deployed and not _on(value):
            out.append(failed(f"{name} is off ({value!r} set by {deployed.source}, "
                              f"read at {current.loc}): no {what}",
                              location=deployed.location, evidence=f"{name} = {current.expr}"))
        elif not deployed and not _on(value):
            out.append(failed(f"{name} = {current.expr} turns off {what}", location=current.loc,
                              evidence=f"{name} = {current.expr}"))
    if missing:
        out.append(failed(f"not set in {dj.production} (the production settings): "
                          + "; ".join(missing), location=f"{dj.production}:1",
                          evidence=f"settings modules: {', '.join(dj.modules)}"))
    if not out:
        via = f" (HSTS from {proxy})" if proxy else ""
        out.append(passed(f"{dj.production}: known hosts, HTTPS redirect, HSTS and Secure cookies"
                          f"{via}"))
    return out
