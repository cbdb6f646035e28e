"""RDY-058: observability — error tracking (Sentry or equivalent) is configured."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._scan import line_of, parts, py_sources
from prodaudit.product.service_env import service_environment

_SDK = re.compile(
    r"sentry_sdk\.init|@sentry/|Sentry\.init|rollbar\.init|bugsnag|honeybadger|"
    r"newrelic|ddtrace|elasticapm|opentelemetry",
    re.I,
)

#: the initialisation call, preferred over an import as the place to name
_INIT = re.compile(r"sentry_sdk\.init|Sentry\.init|rollbar\.init|Bugsnag\.start|Honeybadger\.configure")


@check(
    "RDY-058",
    "Error tracking (Sentry or equivalent) is configured",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("5.3.1", "P.1.5"),
    evidence=Evidence.PARSED,
)
def error_tracking(ctx: Context) -> list[Finding]:
    """The code initialises an error-tracking SDK (Sentry, Rollbar, Bugsnag, Honeybadger,
    Elastic APM, OpenTelemetry ...) and, in the production profile, its DSN variable
    (``SENTRY_DSN`` or another ``*_DSN``) is set in the audited environment: the profile's env
    file (``--env-file``), the started target's environment, or a literal value the deployed API
    service's Compose environment gives it. Without any of these (no env file given, nothing in
    the deployment files sets the DSN) whether the DSN is set is not verifiable: SKIP naming
    where tracking is initialised. No SDK at all fails whatever the environment.

    Unhandled exceptions in production are otherwise only in the logs, ungrouped and unalerted;
    an error tracker groups them, counts affected users and notifies the team.

    Remediation: add ``sentry_sdk.init(dsn=settings.sentry_dsn, environment=...)`` at startup
    (and ``@sentry/react`` in the frontend), and set ``SENTRY_DSN`` in the production secrets.
    """
    sites = [
        (mod.rel, line_of(mod.text, m.start()), m.group(0))
        for mod in py_sources(ctx).app for m in [_INIT.search(mod.text) or _SDK.search(mod.text)] if m
    ]
    for rel in ctx.files.files:
        if (
            rel.endswith((".js", ".jsx", ".ts", ".tsx"))
            and "node_modules" not in parts(rel)
            and "dist" not in parts(rel)
        ):
            text = ctx.read(rel) or ""
            m = _INIT.search(text) or _SDK.search(text)
            if m:
                sites.append((rel, line_of(text, m.start()), m.group(0)))
    if not sites:
        return [
            failed(
                "no error-tracking SDK is initialised in the code (sentry_sdk.init,"
                " @sentry/*, rollbar, bugsnag, opentelemetry ...)"
            )
        ]
    where = ", ".join(f"{m} in {rel}:{line}" for rel, line, m in sites[:3])
    dsn_names = sorted(
        {n for src in (ctx.profile_env, ctx.target_env) for n in src if n.upper().endswith("_DSN")}
        | {"SENTRY_DSN"}
    )
    set_names = [n for n in dsn_names if (ctx.env_value(n) or "").strip()]
    deployed = _deployment_dsn(ctx) if not set_names else None
    if deployed is not None:
        set_names = [f"{deployed[0]} (Compose, {deployed[1]})"]
    if ctx.cfg.profile == "production" and not set_names:
        if ctx.cfg.env_file is None and not ctx.target_env:
            raise Skip(
                f"no --env-file and nothing in the deployment files sets the DSN: whether "
                f"{', '.join(dsn_names)} is set in production is not verified (error tracking is "
                f"initialised in the code: {where})"
            )
        return [
            failed(
                f"no error-tracking DSN set in the audited environment ({', '.join(dsn_names)}); "
                f"error tracking is initialised in the code ({where})",
                location=str(ctx.cfg.env_file or ""),
            )
        ]
    return [
        passed(
            f"error tracking initialised ({where}); "
            f"DSN set: {', '.join(set_names) or 'n/a in this profile'}",
            location=f"{sites[0][0]}:{sites[0][1]}",
        )
    ]


def _deployment_dsn(ctx: Context) -> tuple[str, str] | None:
    """A ``*_DSN`` the deployed API service's Compose environment sets to a literal value
    (``name``, ``path:line``); a ``${VAR}`` reference depends on the environment not given."""
    svc = ctx.api_service()
    if svc is None:
        return None
    env = service_environment(ctx, svc)
    for name, setting in sorted(env.values.items()):
        value = (setting.value or "").strip()
        if name.upper().endswith("_DSN") and value and "${" not in value and value[:1] != "$":
            return name, setting.location
    return None
