"""RDY-050–059: the hardened reference target's own logs and metrics (no problem), copies of
those logs with leaked secrets and plain-text lines (the problem), and monitoring-as-code files
added to or missing from a copy of the reference target."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_services import require_service
from rdy_helpers import assert_status, edit, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status
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


VECTOR = ("[sources.docker]\ntype = \"docker_logs\"\n[sinks.loki]\ntype = \"loki\"\n"
          "inputs = [\"docker\"]\nendpoint = \"http://loki:3100\"\n")
DASHBOARD = {"title": "api", "panels": [
    {"type": "timeseries", "title": "RPS",
     "targets": [{"expr": "sum(rate(http_requests_total[5m]))"}]}]}
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
#: the issue's trivial OPS.md: headings and a number, nothing a reviewer would call an SLO
OPS_MD = "# Operations\n\n## SLO\n\n99.9%\n\n## Runbook\n\n## Backups\n"
ALERTMANAGER = """global:
  smtp_smarthost: smtp.example.com:587
  smtp_from: alerts@example.com
route:
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
    # a documented SLO is present, not verified; no live /metrics: dashboards are present too
    assert results["RDY-057"].evidence_level is Evidence.PRESENT
    assert results["RDY-055"].evidence_level is Evidence.PRESENT
    assert "not compared with a live /metrics" in messages(results["RDY-055"])


def have_validators() -> None:
    for tool in ("promtool", "amtool"):
        require_service(tool, shutil.which(tool) is not None, "Debian prometheus / "
                        "prometheus-alertmanager (scripts/services.sh up monitoring-tools)")


def test_reference_monitoring_is_validated() -> None:
    """The reference target's rules and routes pass their own tools; vector's config is parsed;
    its OpenSLO file is read and validated."""
    have_validators()
    results = run_rdy(["RDY-053", "RDY-056", "RDY-057", "RDY-059"])
    for check_id, needle in (("RDY-056", "accepted by promtool check rules"),
                             ("RDY-059", "accepted by amtool check-config"),
                             ("RDY-057", "SLO specifications with targets, windows and indicators"),
                             ("RDY-053", "monitoring/logging/vector.yaml (vector, input and output")):
        assert_status(results[check_id], Status.PASS)
        assert needle in messages(results[check_id]), messages(results[check_id])
        assert results[check_id].verified_pass


BROKEN_PROMQL = """groups:
  - name: api
    rules:
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{status=~"5.."}[5m]) > 0.05
        for: 5m
"""
UNDEFINED_RECEIVER = """route:
  receiver: oncall
receivers:
  - name: team
    webhook_configs:
      - url: https://hooks.example.com/alerts
"""


def test_validators_reject_what_they_cannot_load(mvp: Path) -> None:
    have_validators()
    write(mvp / "monitoring" / "prometheus" / "alerts.yml", BROKEN_PROMQL)
    write(mvp / "monitoring" / "alertmanager.yml", UNDEFINED_RECEIVER)
    results = run_rdy(["RDY-056", "RDY-059"], repo=mvp)
    assert_status(results["RDY-056"], Status.FAIL)
    assert "promtool check rules rejects monitoring/prometheus/alerts.yml" in messages(results["RDY-056"])
    assert "parse error" in messages(results["RDY-056"]).lower()
    assert_status(results["RDY-059"], Status.FAIL)
    assert "amtool check-config rejects monitoring/alertmanager.yml" in messages(results["RDY-059"])
    assert 'undefined receiver "oncall"' in messages(results["RDY-059"])


def test_dashboards_against_live_metrics(hardened_target: ReferenceTarget, mvp: Path) -> None:
    r = run_rdy("RDY-055", target=hardened_target)["RDY-055"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.OBSERVED and "metric names checked against" in messages(r)
    dash = mvp / "monitoring" / "grafana" / "dashboards" / "ultra-mvp.json"
    data = json.loads(dash.read_text())
    data["panels"][0]["targets"][0]["expr"] = "sum(rate(made_up_requests_total[5m]))"
    dash.write_text(json.dumps(data))
    r = run_rdy("RDY-055", target=hardened_target, repo=mvp)["RDY-055"]
    assert_status(r, Status.FAIL)
    assert "does not export" in messages(r) and "made_up_requests_total" in messages(r)


def test_trivial_monitoring_files_fail(mvp: Path) -> None:
    """`{"panels": []}`, an OPS.md of headings, a shipper config without outputs."""
    strip_monitoring(mvp)
    write(mvp / "grafana" / "dashboard.json", '{"panels": []}')
    write(mvp / "OPS.md", OPS_MD)
    write(mvp / "vector.yaml", "sources:\n  app:\n    type: file\n")
    results = run_rdy(["RDY-053", "RDY-055", "RDY-057"], repo=mvp)
    for check_id, needle in (("RDY-055", "has no panel with a query"),
                             ("RDY-057", "no SLO definition"),
                             ("RDY-053", "ships nothing")):
        assert_status(results[check_id], Status.FAIL)
        assert needle in messages(results[check_id])


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
    assert "without any channel" in messages(results["RDY-059"]) or "amtool" in messages(results["RDY-059"])
    assert_status(results["RDY-058"], Status.FAIL)  # SDK present, DSN empty in production
    assert "no error-tracking DSN set" in messages(results["RDY-058"])


def test_error_tracking_dsn_without_env_file_is_not_verified(mvp: Path) -> None:
    """Tracking initialised in the code, no env file of the profile, nothing in the deployment
    files that sets the DSN: whether it is set is not verifiable (SKIP), grouped under the
    shared "no production env file" cause; with the env file lacking the DSN it fails."""
    from prodaudit.report.causes import classify

    monitoring(mvp)
    write(mvp / "frontend" / "src" / "sentry.ts",
          "import * as Sentry from '@sentry/react';\n\nSentry.init({ dsn: import.meta.env.VITE_DSN });\n")
    r = run_rdy("RDY-058", repo=mvp)["RDY-058"]
    assert_status(r, Status.SKIP)
    assert "no --env-file" in r.reason and "SENTRY_DSN" in r.reason
    assert "sentry_sdk.init in backend/app/main.py:" in r.reason
    assert "Sentry.init in frontend/src/sentry.ts:3" in r.reason
    assert classify(r, {r.id: r})[0] == "env-file"


def test_error_tracking_dsn_missing_from_given_env_file_fails(mvp: Path, tmp_path: Path) -> None:
    monitoring(mvp)
    env = write(tmp_path / "prod.env", "JWT_SECRET=x\n")
    r = run_rdy("RDY-058", repo=mvp, env_file=str(env))["RDY-058"]
    assert_status(r, Status.FAIL)
    assert "no error-tracking DSN set in the audited environment (SENTRY_DSN)" in messages(r)
    assert r.findings[0].location == str(env)


def test_error_tracking_dsn_set_by_compose_passes(mvp: Path) -> None:
    """A literal DSN in the API service's Compose environment is the deployment's value."""
    monitoring(mvp)
    compose = mvp / "docker-compose.yml"
    compose.write_text(compose.read_text().replace(
        "      SENTRY_DSN:\n", "      SENTRY_DSN: https://k@o1.ingest.sentry.io/1\n"))
    r = run_rdy("RDY-058", repo=mvp)["RDY-058"]
    assert_status(r, Status.PASS)
    assert "SENTRY_DSN (Compose, docker-compose.yml:" in messages(r)
