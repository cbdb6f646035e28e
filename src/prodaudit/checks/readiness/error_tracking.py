"""RDY-058: observability — error tracking (Sentry or equivalent) is configured."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, check, failed, passed
from prodaudit.checks.readiness._scan import parts, py_sources

_SDK = re.compile(
    r"sentry_sdk\.init|@sentry/|Sentry\.init|rollbar\.init|bugsnag|honeybadger|"
    r"newrelic|ddtrace|elasticapm|opentelemetry",
    re.I,
)


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
    (``SENTRY_DSN`` or another ``*_DSN``) is set in the audited environment.

    Unhandled exceptions in production are otherwise only in the logs, ungrouped and unalerted;
    an error tracker groups them, counts affected users and notifies the team.

    Remediation: add ``sentry_sdk.init(dsn=settings.sentry_dsn, environment=...)`` at startup
    (and ``@sentry/react`` in the frontend), and set ``SENTRY_DSN`` in the production secrets.
    """
    sites = [
        (mod.rel, m.group(0)) for mod in py_sources(ctx).app for m in [_SDK.search(mod.text)] if m
    ]
    for rel in ctx.files.files:
        if (
            rel.endswith((".js", ".jsx", ".ts", ".tsx"))
            and "node_modules" not in parts(rel)
            and "dist" not in parts(rel)
        ):
            m = _SDK.search(ctx.read(rel) or "")
            if m:
                sites.append((rel, m.group(0)))
    findings: list[Finding] = []
    if not sites:
        findings.append(
            failed(
                "no error-tracking SDK is initialised in the code (sentry_sdk.init,"
                " @sentry/*, rollbar, bugsnag, opentelemetry ...)"
            )
        )
    dsn_names = sorted(
        {n for src in (ctx.profile_env, ctx.target_env) for n in src if n.upper().endswith("_DSN")}
        | {"SENTRY_DSN"}
    )
    set_names = [n for n in dsn_names if (ctx.env_value(n) or "").strip()]
    if ctx.cfg.profile == "production" and not set_names:
        findings.append(
            failed(
                f"no error-tracking DSN set in the audited environment ({', '.join(dsn_names)})",
                location=str(ctx.cfg.env_file or ""),
            )
        )
    if not findings:
        findings.append(
            passed(
                f"error tracking initialised ({sites[0][1]} in {sites[0][0]}); "
                f"DSN set: {', '.join(set_names) or 'n/a in this profile'}"
            )
        )
    return findings
