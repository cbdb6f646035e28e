"""RDY-050–059: the hardened reference target's own logs and metrics (no problem), copies of
those logs with leaked secrets and plain-text lines (the problem), and monitoring-as-code files
added to or missing from a copy of the reference target."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdy_helpers import assert_status, edit, messages, mvp, run_rdy, write

from prodaudit.model import Status
from prodaudit.redact import MASK
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]


@pytest.fixture(scope="module")
def own_target() -> Iterator[ReferenceTarget]:
    """A hardened target of this module's own: its log is read after logins (the shared one is
    rate-limited for other tests)."""
    with ReferenceTarget(flaws="", frontend=False) as t:
        yield t


def test_hardened_logs_pass(own_target: ReferenceTarget) -> None:
    results = run_rdy(["RDY-050", "RDY-051", "RDY-052"], target=own_target, login=True)
    for check_id in ("RDY-050", "RDY-051", "RDY-052"):
        assert results[check_id].status is Status.PASS, messages(results[check_id])
    assert "api.log" in messages(results["RDY-052"])
    assert "LOG_LEVEL=INFO" in messages(results["RDY-051"])


def leaky_log(target: ReferenceTarget, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the target's api log with lines a careless app would write."""
    password = target.audit_env["PRODAUDIT_AUDIT_PASSWORD"]
    api_log = next(p for p in target.logs if p.name == "api.log")
    lines = api_log.read_text().splitlines()
    lines.append(json.dumps({"level": "INFO", "message": "login attempt",
                             "body": f"username=audit@example.com&password={password}"}))
    lines.append(json.dumps({"level": "DEBUG", "message": "outgoing call",
                             "headers": "Authorization: Bearer sk-proj-" + "A1b2C3d4" * 4}))
    lines += ["WARNING plain text line without structure"] * 3
    path = tmp_path / "leaky-api.log"
    path.write_text("\n".join(lines) + "\n")
    return path, password


def test_leaky_logs_fail(own_target: ReferenceTarget, tmp_path: Path) -> None:
    path, password = leaky_log(own_target, tmp_path)
    results = run_rdy(["RDY-050", "RDY-051", "RDY-052"], target=own_target, login=True,
                      target_logs=[], readiness={"log_files": [str(path)]})
    r52 = results["RDY-052"]
    assert_status(r52, Status.FAIL)
    text = messages(r52)
    assert "registered secret value" in text and "credential pattern" in text
    assert password not in json.dumps(r52.to_dict())  # evidence is redacted
    assert MASK in text
    assert_status(results["RDY-051"], Status.FAIL)
    assert "DEBUG record" in messages(results["RDY-051"])
    assert_status(results["RDY-050"], Status.FAIL)
    assert "plain text line" in messages(results["RDY-050"])


def test_debug_level_in_env_fails(tmp_path: Path) -> None:
    env = write(tmp_path / "prod.env", "LOG_LEVEL=DEBUG\n")
    r = run_rdy("RDY-051", env_file=str(env))["RDY-051"]
    assert_status(r, Status.FAIL)
    assert "LOG_LEVEL=DEBUG in the production profile" in messages(r)
    r = run_rdy("RDY-051", env_file=str(write(tmp_path / "ok.env", "LOG_LEVEL=WARNING\n")))
    assert_status(r["RDY-051"], Status.PASS)


def test_logs_skip_without_target() -> None:
    results = run_rdy(["RDY-050", "RDY-052"])
    for r in results.values():
        assert r.status is Status.SKIP and "no target logs" in r.reason


def test_metrics_content(hardened_target: ReferenceTarget, tmp_path: Path) -> None:
    r = run_rdy("RDY-054", target=hardened_target)["RDY-054"]
    assert_status(r, Status.PASS)
    assert "http_requests_total" in messages(r)
    # a target whose metrics path serves something else: no Prometheus exposition
    r = run_rdy("RDY-054", target=hardened_target,
                readiness={"metrics_path": "/health"})["RDY-054"]
    assert_status(r, Status.FAIL)
    assert "no Prometheus metrics endpoint" in messages(r)


VECTOR = "[sources.docker]\ntype = \"docker_logs\"\n[sinks.loki]\ntype = \"loki\"\n"
DASHBOARD = {"title": "api", "panels": [{"type": "timeseries", "title": "RPS"}]}
RULES = """groups:
  - name: api
    rules:
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{status=~"5.."}[5m]))
          / sum(rate(http_requests_total[5m])) > 0.05
        for: 5m
        labels: {severity: page}
"""
RULES_BAD = """groups:
  - name: api
    rules:
      - alert: AnyError
        expr: rate(http_requests_total{status=~"5.."}[5m])
"""
SLO = "# Service level objectives\n\n## SLOs\n\n99.5% of API requests succeed over 28 days.\n"
ALERTMANAGER = """route:
  receiver: oncall
receivers:
  - name: oncall
    email_configs:
      - to: oncall@example.com
"""
ALERTMANAGER_BAD = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"


def strip_monitoring(root: Path) -> Path:
    """Remove whatever monitoring-as-code the reference target may have grown."""
    for p in sorted(root.rglob("*"), reverse=True):
        if not p.is_file():
            continue
        rel = p.relative_to(root).as_posix().lower()
        text = p.read_text(errors="replace") if p.stat().st_size < 2_000_000 else ""
        if (re.search(r"(^|/)(monitoring|grafana|prometheus|alertmanager|observability)/", rel)
                or re.search(r"vector\.(toml|ya?ml)|fluent|promtail|filebeat|(^|/)otel|"
                             r"alertmanager|rules?\.ya?ml|(^|/)slos?[._/-]", rel)
                or (rel.endswith(".md") and re.search(r"\bSL[OI]s?\b", text))):
            p.unlink()
        elif p.suffix in (".py", ".js", ".jsx", ".ts", ".tsx") and re.search(
                r"sentry_sdk\.init|Sentry\.init|@sentry/", text):
            p.write_text(re.sub(r"sentry_sdk\.init|Sentry\.init|@sentry/", "no_tracking", text))
    return root


def monitoring(root: Path) -> Path:
    strip_monitoring(root)
    write(root / "monitoring" / "vector.toml", VECTOR)
    write(root / "monitoring" / "dashboards" / "api.json", json.dumps(DASHBOARD))
    write(root / "monitoring" / "rules.yml", RULES)
    write(root / "docs" / "slo.md", SLO)
    write(root / "monitoring" / "alertmanager.yml", ALERTMANAGER)
    edit(root / "backend" / "app" / "main.py", "    settings = settings or load_settings()\n",
         "    settings = settings or load_settings()\n"
         "    import sentry_sdk\n\n    sentry_sdk.init(dsn=settings.sentry_dsn)\n")
    return root


REPO_IDS = ["RDY-053", "RDY-055", "RDY-056", "RDY-057", "RDY-058", "RDY-059"]


def test_monitoring_as_code_passes(mvp: Path, tmp_path: Path) -> None:
    env = write(tmp_path / "prod.env", "SENTRY_DSN=https://k@o1.ingest.sentry.io/1\n")
    results = run_rdy(REPO_IDS, repo=monitoring(mvp), env_file=str(env))
    for check_id in REPO_IDS:
        assert_status(results[check_id], Status.PASS)
    assert "HighErrorRate" in messages(results["RDY-056"])
    assert "email" in messages(results["RDY-059"])


@pytest.mark.parametrize(("check_id", "needle"), [
    ("RDY-053", "no log shipping"),
    ("RDY-055", "no dashboards as code"),
    ("RDY-056", "no alert rules"),
    ("RDY-057", "no SLO definition"),
    ("RDY-058", "no error-tracking SDK"),
    ("RDY-059", "no alert routing"),
])
def test_monitoring_missing_fails(mvp: Path, check_id: str, needle: str) -> None:
    r = run_rdy(check_id, repo=strip_monitoring(mvp))[check_id]
    assert_status(r, Status.FAIL)
    assert needle in messages(r)


def test_weak_rules_and_receivers(mvp: Path, tmp_path: Path) -> None:
    monitoring(mvp)
    write(mvp / "monitoring" / "rules.yml", RULES_BAD)
    write(mvp / "monitoring" / "alertmanager.yml", ALERTMANAGER_BAD)
    results = run_rdy(["RDY-056", "RDY-059", "RDY-058"], repo=mvp,
                      env_file=str(write(tmp_path / "prod.env", "SENTRY_DSN=\n")))
    assert_status(results["RDY-056"], Status.WARN)
    assert "no threshold" in messages(results["RDY-056"])
    assert "no 'for' duration" in messages(results["RDY-056"])
    assert_status(results["RDY-059"], Status.FAIL)
    assert "without any channel" in messages(results["RDY-059"])
    assert_status(results["RDY-058"], Status.FAIL)  # SDK present, DSN empty in production
    assert "no error-tracking DSN set" in messages(results["RDY-058"])
