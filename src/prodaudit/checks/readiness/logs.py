"""RDY-050–053: observability — the target's own logs (captured during the live run), log
levels, secrets in logs, log shipping."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._compose import compose_docs
from prodaudit.checks.readiness._logship import shippers
from prodaudit.redact import Redactor

MAX_LOG_BYTES = 20_000_000
_LEVEL_VARS = ("LOG_LEVEL", "LOGLEVEL", "LOGGING_LEVEL", "UVICORN_LOG_LEVEL", "APP_LOG_LEVEL")
_SECRET_FIELD = re.compile(
    r"""["']?(password|passwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token|
    authorization|client[_-]?secret)["']?\s*[:=]\s*["']?(?!\*|\[|<|null|none|\s|["'])([^\s"',}]{6,})""",
    re.I | re.X,
)


def _log_files(ctx: Context) -> list[Path]:
    out = list(ctx.target_logs)
    for p in ctx.cfg.readiness.log_files:
        path = p if p.is_absolute() else ctx.repo / p
        out.append(path)
    return [p for p in out if p.is_file()]


def _log_lines(path: Path) -> list[str]:
    with path.open("rb") as fh:
        raw = fh.read(MAX_LOG_BYTES)
    return raw.decode("utf-8", errors="replace").splitlines()


def _no_logs_reason(ctx: Context) -> str:
    return (
        "no target logs to read: the audit did not start the target and "
        "readiness.log_files names no file"
    )


@check(
    "RDY-050",
    "The target writes structured (JSON) log lines",
    severity=Severity.MEDIUM,
    checklist=("5.1.1",),
    evidence=Evidence.PARSED,
)
def structured_logs(ctx: Context) -> list[Finding]:
    """The log lines the target wrote during the audit (the reference target's captured output,
    or files listed in ``readiness.log_files``) are JSON objects with a level and a message.

    Structured logs can be filtered and aggregated by field (request id, status, user) in any
    log platform; free text has to be parsed with fragile patterns.

    Remediation: log one JSON object per line (``python-json-logger``, ``structlog``) with at
    least timestamp, level, logger, message and the request id; route uvicorn's loggers through
    the same handler.
    """
    files = _log_files(ctx)
    if not files:
        raise Skip(_no_logs_reason(ctx))
    findings: list[Finding] = []
    empty = []
    for path in files:
        lines = [(i, ln) for i, ln in enumerate(_log_lines(path), 1) if ln.strip()]
        if not lines:
            empty.append(path.name)
            continue
        bad = []
        for i, ln in lines:
            try:
                obj = json.loads(ln)
                ok = isinstance(obj, dict) and any(
                    k in obj for k in ("level", "levelname", "severity", "lvl")
                )
            except json.JSONDecodeError:
                ok = False
            if not ok:
                bad.append((i, ln))
        share = 100.0 * (len(lines) - len(bad)) / len(lines)
        if bad:
            verdict = failed if share < 95 else warned
            findings.append(
                verdict(
                    f"{path.name}: {len(bad)} of {len(lines)} log lines are not JSON objects "
                    f"with a level ({share:.0f}% structured)",
                    location=f"{path}:{bad[0][0]}",
                    evidence="\n".join(ln[:300] for _, ln in bad[:5]),
                )
            )
        else:
            findings.append(
                passed(
                    f"{path.name}: {len(lines) - len(bad)} of {len(lines)} lines "
                    "are JSON objects with a level",
                    location=str(path),
                )
            )
    if not findings:
        raise Skip(f"the target's logs are empty ({', '.join(empty)})")
    if empty:
        findings.append(passed(f"empty logs (nothing to judge): {', '.join(empty)}"))
    return findings


@check(
    "RDY-051",
    "Log level is not DEBUG in production",
    severity=Severity.MEDIUM,
    checklist=("5.1.2",),
    references=("CWE-532",),
    evidence=Evidence.PARSED,
)
def log_level(ctx: Context) -> list[Finding]:
    """In the audited profile the log level variables (``LOG_LEVEL``, ``LOGLEVEL``,
    ``UVICORN_LOG_LEVEL`` ...) are not DEBUG/TRACE, and the target's captured logs contain no
    DEBUG records. In the development profile DEBUG is accepted.

    DEBUG logging in production floods storage, slows the service and tends to dump request
    bodies, headers and SQL parameters — i.e. personal data and credentials.

    Remediation: set ``LOG_LEVEL=INFO`` (or WARNING) in the production environment and raise
    the level of chatty libraries (httpx, sqlalchemy.engine).
    """
    if ctx.cfg.profile == "development":
        raise Skip("development profile: DEBUG logging is acceptable")
    findings: list[Finding] = []
    seen = False
    for name in _LEVEL_VARS:
        value = ctx.env_value(name)
        if value is None or not value.strip():
            continue
        seen = True
        if value.strip().upper() in ("DEBUG", "TRACE", "10", "5"):
            findings.append(
                failed(
                    f"{name}={value} in the {ctx.cfg.profile} profile",
                    location=str(ctx.cfg.env_file or name),
                )
            )
        else:
            findings.append(passed(f"{name}={value}", location=str(ctx.cfg.env_file or name)))
    for path in _log_files(ctx):
        seen = True
        debug = [
            (i, ln)
            for i, ln in enumerate(_log_lines(path), 1)
            if re.search(
                r"""["']?(level|levelname|severity)["']?\s*[:=]\s*["']?DEBUG\b|^DEBUG[:\s]""", ln
            )
        ]
        if debug:
            findings.append(
                failed(
                    f"{path.name}: {len(debug)} DEBUG record(s) logged",
                    location=f"{path}:{debug[0][0]}",
                    evidence="\n".join(ln[:300] for _, ln in debug[:3]),
                )
            )
        else:
            findings.append(passed(f"{path.name}: no DEBUG records", location=str(path)))
    if not seen:
        raise Skip("no log level variable set in the audited environment and no target logs")
    return findings


@check(
    "RDY-052",
    "No secrets, tokens or passwords in the target's logs",
    severity=Severity.HIGH,
    checklist=("5.1.3",),
    references=("CWE-532", "OWASP A09:2021"),
    final=True,  # after every other check: the whole run's traffic is in the logs
    evidence=Evidence.PARSED,
)
def secrets_in_logs(ctx: Context) -> list[Finding]:
    """The target's log output captured during the audit contains none of the secret values the
    audit knows (env-file secrets, the audit account's passwords, tokens issued during the run —
    the redactor's registered values), no credential-shaped strings (provider keys, JWTs with
    signature, passwords in URLs, Authorization headers) and no ``password=``-style fields with
    an unmasked value. Runs after the other checks, so the whole audit's traffic is in the logs.

    Logs are copied to aggregation platforms, support tickets and laptops with far weaker access
    control than the secret store; a token in a log is a leaked session.

    Remediation: mask secrets in a logging filter/formatter (by value and by pattern), never log
    request bodies of auth endpoints or Authorization headers, and rotate every secret that was
    logged.
    """
    files = _log_files(ctx)
    if not files:
        raise Skip(_no_logs_reason(ctx))
    known = sorted(ctx.redact.values, key=len, reverse=True)
    patterns_only = Redactor()
    findings: list[Finding] = []
    total = 0
    for path in files:
        hits: list[tuple[int, str]] = []
        for i, ln in enumerate(_log_lines(path), 1):
            total += 1
            why = ""
            value = next((v for v in known if v in ln), None)
            if value is not None:
                why = f"a registered secret value ({len(value)} chars)"
            elif patterns_only.redact(ln) != ln:
                why = "a credential pattern"
            else:
                m = _SECRET_FIELD.search(ln)
                if m:
                    ctx.redact.register(m.group(2))
                    why = f"an unmasked '{m.group(1)}' field"
            if why:
                hits.append((i, why))
                if len(hits) >= 20:
                    break
        lines = _log_lines(path)
        for i, why in hits:
            findings.append(
                failed(
                    f"{path.name} line {i} contains {why}",
                    location=f"{path}:{i}",
                    evidence=lines[i - 1][:400],
                )
            )
        if not hits:
            findings.append(
                passed(
                    f"{path.name}: no registered secret ({len(known)} known values),"
                    " credential pattern or unmasked secret field",
                    location=str(path),
                )
            )
    return findings


_SHIP_DRIVERS = frozenset(
    {
        "fluentd",
        "gelf",
        "syslog",
        "awslogs",
        "gcplogs",
        "splunk",
        "loki",
        "journald",
        "logentries",
        "etwlogs",
    }
)
_SHIP_IMAGES = re.compile(
    r"vector|fluent|promtail|filebeat|otel|datadog|logstash|grafana/alloy", re.I
)


@check(
    "RDY-053",
    "Logs are shipped to an aggregation system",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("5.1.4",),
    evidence=Evidence.PARSED,
)
def log_aggregation(ctx: Context) -> list[Finding]:
    """Container logs leave the host: a compose logging driver that ships (fluentd, gelf,
    syslog, awslogs, loki, splunk, journald ...), a log-shipper service (Vector, Fluent Bit,
    Promtail, Filebeat, OpenTelemetry Collector), or a shipper configuration that has both an
    input and an output. The shipper's own validator runs when installed (``vector validate``,
    ``fluent-bit --dry-run``); otherwise the file is parsed. A shipper image without any
    configuration in the repository is only "present".

    With the default ``json-file`` driver logs stay on one host, are lost with it, and cannot be
    searched across instances during an incident.

    Remediation: run a shipper (Vector/Fluent Bit/Promtail) next to the services or set a
    shipping logging driver, and document where logs can be searched.
    """
    findings: list[Finding] = []
    found: list[str] = []
    for s in shippers(ctx):
        if s.problem:
            findings.append(failed(f"{s.kind} configuration {s.rel} ships nothing: {s.problem}",
                                   location=s.rel))
        elif s.rejected:
            findings.append(failed(f"{s.kind} configuration {s.rel} is rejected by its validator",
                                   location=s.rel, evidence=s.rejected))
        else:
            found.append(f"{s.rel} ({s.kind}, " + (f"accepted by {s.validated_by})" if s.validated_by
                                                   else "input and output configured)"))
    images: list[str] = []
    local: list[str] = []
    for proj, data in compose_docs(ctx):
        services = data.get("services")
        assert isinstance(services, dict)
        for name, svc in services.items():
            if not isinstance(svc, dict):
                continue
            driver = str((svc.get("logging") or {}).get("driver", "json-file"))
            if driver in _SHIP_DRIVERS:
                found.append(f"{proj.loc('services', name)}: service {name} logging driver {driver}")
            else:
                local.append(f"{name} ({driver})")
            if _SHIP_IMAGES.search(str(svc.get("image", ""))):
                images.append(f"{proj.loc('services', name)}: shipper service {name} ({svc.get('image')})")
    if findings:
        return findings
    if found:
        return [passed("log shipping: " + "; ".join(found[:5]))]
    if images:
        return [passed("log shipper service without a configuration in the repository (present, "
                       "not verified): " + "; ".join(images[:3]), level=Evidence.PRESENT)]
    return [
        failed(
            "no log shipping: no shipper configuration and compose services log locally"
            + (f" ({', '.join(local[:6])})" if local else "")
        )
    ]
