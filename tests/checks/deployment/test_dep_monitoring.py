"""DEP-070–073: the compose healthcheck probes readiness, /metrics in Prometheus format with
request metrics (real reference target and small real servers), error tracking in the env,
structured logs of a target the audit started itself."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dep_helpers import (  # noqa: F401 - fixtures
    describe,
    result,
    run_deployment,
    ultra_copy,
)
from helpers import audit_target
from servers.serving import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from prodaudit.audit import run_audit
from prodaudit.checks.deployment.monitoring import parse_prometheus
from prodaudit.config import load_config
from prodaudit.model import Status
from prodaudit.target import ReferenceTarget

DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.example.com/42"


def test_reference_target_monitoring(tmp_path: Path, hardened_target: ReferenceTarget) -> None:
    run = run_deployment(tmp_path, ["DEP-070", "DEP-071", "DEP-072"], {"SENTRY_DSN": DSN},
                         base_url=hardened_target.base_url)
    for cid in ("DEP-070", "DEP-071", "DEP-072"):
        r = result(run, cid)
        assert r.status is Status.PASS, describe(r)
    assert "http_request" in result(run, "DEP-071").findings[0].message
    assert "0123456789abcdef0123456789abcdef" not in str(run.to_dict())


def _app(body: str, media_type: str) -> Starlette:
    async def metrics(request: Request) -> Response:
        if media_type == "application/json":
            return JSONResponse({"requests": 12})
        return PlainTextResponse(body, media_type=media_type)

    return Starlette(routes=[Route("/metrics", metrics)])


@pytest.mark.parametrize(("body", "media_type", "expected"), [
    ("", "application/json", "not in Prometheus text format"),
    ("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n",
     "text/plain; version=0.0.4", "no HTTP request metrics"),
])
def test_metrics_failures(tmp_path: Path, body: str, media_type: str, expected: str) -> None:
    with serve_app(_app(body, media_type)) as url:
        run = run_deployment(tmp_path, ["DEP-071"], base_url=url)
    r = result(run, "DEP-071")
    assert r.status is Status.FAIL, describe(r)
    assert expected in " ".join(f.message for f in r.findings)
    assert "GET http://127.0.0.1:" in r.findings[0].location


def test_parse_prometheus() -> None:
    types, samples, bad = parse_prometheus(
        '# HELP http_requests_total x\n# TYPE http_requests_total counter\n'
        'http_requests_total{method="GET",route="/health",status="200"} 3\n'
        'http_request_duration_seconds_bucket{le="+Inf"} 3 1700000000\nnot a sample line\n')
    assert types == {"http_requests_total": "counter"}
    assert samples == ["http_requests_total", "http_request_duration_seconds_bucket"]
    assert bad == ["not a sample line"]


def test_parse_prometheus_label_values_with_braces_and_quotes() -> None:
    """A templated route in a label value (FastAPI's ``/notes/{note_id}``) is well formed."""
    _, samples, bad = parse_prometheus(
        'http_requests_total{method="DELETE",route="/notes/{note_id}",status="401"} 1.0\n'
        'x{a="say \\"}\\" ok"} 2\n'
        'y{a="unterminated} 3\n')
    assert samples == ["http_requests_total", "x"]
    assert bad == ['y{a="unterminated} 3']


def _mutate_compose(repo: Path, change: str) -> None:
    path = repo / "docker-compose.yml"
    if change == "liveness":
        text = path.read_text(encoding="utf-8")
        assert "8000/health/ready" in text
        path.write_text(text.replace("8000/health/ready", "8000/health"), encoding="utf-8")
        return
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["services"]["api"]["healthcheck"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_compose_healthcheck_variants(tmp_path: Path, ultra_copy: Path) -> None:
    _mutate_compose(ultra_copy, "liveness")
    run = run_deployment(tmp_path, ["DEP-070"], repo=ultra_copy)
    r = result(run, "DEP-070")
    assert r.status is Status.WARN, describe(r)
    assert "liveness endpoint only" in r.findings[0].message
    assert r.findings[0].location == "docker-compose.yml"


def test_compose_healthcheck_on_up_is_liveness(tmp_path: Path, ultra_copy: Path) -> None:
    """``curl localhost:8000/up`` (Rails' and Kamal's probe path, here behind an interpolated
    default) is a liveness probe: a WARN, not "calls no health endpoint"."""
    path = ultra_copy / "docker-compose.yml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["services"]["api"]["healthcheck"]["test"] = "${HC_TEST:-curl -f localhost:8000/up}"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-070"], repo=ultra_copy), "DEP-070")
    assert r.status is Status.WARN, describe(r)
    assert "liveness endpoint only" in r.findings[0].message
    data["services"]["api"]["healthcheck"]["test"] = "curl -f localhost:8000/upload"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "b").mkdir()
    r = result(run_deployment(tmp_path / "b", ["DEP-070"], repo=ultra_copy), "DEP-070")
    assert r.status is Status.FAIL, describe(r)


def test_no_healthcheck_is_left_to_cfg_150(tmp_path: Path, ultra_copy: Path) -> None:
    """No duplicate: a service without any healthcheck is CFG-150's finding (at its line)."""
    _mutate_compose(ultra_copy, "none")
    run = run_deployment(tmp_path, ["DEP-070"], repo=ultra_copy)
    r = result(run, "DEP-070")
    assert r.status is Status.SKIP, describe(r)
    assert "CFG-150 reports it at docker-compose.yml:" in r.reason


@pytest.mark.parametrize(("env", "status"), [
    ({}, Status.FAIL),
    ({"SENTRY_DSN": ""}, Status.FAIL),
    ({"SENTRY_DSN": "not-a-dsn-value"}, Status.FAIL),
    ({"SENTRY_DSN": DSN}, Status.PASS),
])
def test_error_tracking(tmp_path: Path, env: dict[str, str], status: Status,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    run = run_deployment(tmp_path, ["DEP-072"], env)
    r = result(run, "DEP-072")
    assert r.status is status, describe(r)


def test_error_tracking_without_an_environment_is_skip(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No env file and no started target: nothing to read (RDY-058 judges the code), not a
    location-less FAIL."""
    for name in ("SENTRY_DSN", "ROLLBAR_ACCESS_TOKEN", "DD_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    run = audit_target(None, tmp_path, suites=["deployment"], only=["DEP-072"])
    r = result(run, "DEP-072")
    assert r.status is Status.SKIP and "RDY-058" in r.reason, describe(r)


def test_error_tracking_outside_production_warns(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    run = run_deployment(tmp_path, ["DEP-072"], {}, profile="staging")
    assert result(run, "DEP-072").status is Status.WARN


def test_structured_logs_of_started_target(tmp_path: Path) -> None:
    cfg = load_config({"only": ["DEP-073"], "output": tmp_path / "reports"})
    run = run_audit(cfg, ["deployment"], quiet=True, write=False).run
    r = result(run, "DEP-073")
    assert r.status is Status.PASS, describe(r)
    assert "log lines are JSON objects" in r.findings[0].message


def test_structured_logs_skip_without_log(tmp_path: Path,
                                          hardened_target: ReferenceTarget) -> None:
    run = run_deployment(tmp_path, ["DEP-073"], base_url=hardened_target.base_url)
    assert result(run, "DEP-073").status is Status.SKIP


def test_plain_text_logs_of_a_started_api_fail(tmp_path: Path) -> None:
    """DEP-073 can fail: an API started with uvicorn's default (plain-text) logging, its output
    captured in api.log as the audit does for the target it starts."""
    import asyncio
    import subprocess
    import sys

    from helpers import stop_process

    from prodaudit.context import Context
    from prodaudit.ports import on_free_port
    from prodaudit.registry import load_checks
    from prodaudit.runner import run_checks
    from prodaudit.target import wait_http

    tests_dir = Path(__file__).resolve().parents[2]
    log = tmp_path / "api.log"

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "servers.careless_jwt:make_app",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"],
                cwd=tests_dir, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_http(f"http://127.0.0.1:{port}/health", 30, proc, log)
        except BaseException:
            stop_process(proc)
            raise
        return proc, port

    proc, port = on_free_port(start, what="careless JWT API")  # another port if one is taken
    try:
        cfg = load_config({"base_url": f"http://127.0.0.1:{port}", "start_target": False,
                           "repo": tmp_path, "output": tmp_path / "reports"})
        ctx = Context(cfg, target_logs=[log])
        [r] = asyncio.run(run_checks([load_checks().get("DEP-073")], ctx))
    finally:
        stop_process(proc)
    assert r.status is Status.FAIL, describe(r)
    assert "log lines are JSON objects" in r.findings[0].message and r.findings[0].location == "api.log"
    assert "INFO:     Started server process" in r.findings[0].evidence
