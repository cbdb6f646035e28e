"""Operations and the middleware stack: /health, /health/ready, /metrics, /openapi.json, error
bodies, security headers, request ids, trusted hosts, compression, proxy headers and CORS."""

from __future__ import annotations

import gzip

import pytest
from app.proxy import forwarded_client, forwarded_scheme
from conftest import MakeClient
from fastapi.testclient import TestClient

FRONTEND = "http://127.0.0.1:8080"


def test_liveness(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readiness_reports_each_dependency(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["revision"] == "0002"
    assert checks["redis"]["status"] == "skipped"  # REDIS_URL unset: in-process store
    assert checks["llm_provider"]["status"] == "skipped"  # mock mode


def test_readiness_fails_without_a_provider(make_client: MakeClient) -> None:
    client = make_client(mock_llm=False, llm_base_url=None)
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["llm_provider"] == {
        "status": "error",
        "detail": "LLM_BASE_URL is not configured",
    }


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/health")
    client.get("/notes/42")  # 401, counted under the route template, not the raw path
    text = client.get("/metrics").text
    assert "# TYPE http_requests_total counter" in text
    assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'route="/notes/{note_id}",status="401"' in text
    assert "/notes/42" not in text
    assert "# TYPE http_request_duration_seconds histogram" in text


def test_openapi_documents_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert len(operations) == 14
    assert all(op.get("summary") for op in operations)
    assert client.get("/docs").status_code == 404  # DOCS_ENABLED defaults to false


def test_unknown_route_is_json_404_with_security_headers(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain HTTP, no proxy
    assert "server" not in response.headers


def test_request_id_is_kept_or_generated(client: TestClient) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "req-12345678"})
    assert kept.headers["x-request-id"] == "req-12345678"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(replaced.headers["x-request-id"]) == 32


# ---- trusted hosts -------------------------------------------------------------------------


def test_unknown_host_header_is_refused(client: TestClient) -> None:
    response = client.get("/health", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"  # still hardened
    assert client.get("/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_allowed_hosts_with_wildcard(make_client: MakeClient) -> None:
    client = make_client(allowed_hosts="api.example.com,*.internal.example", base_url="http://x")
    assert client.get("/health", headers={"Host": "api.example.com"}).status_code == 200
    assert client.get("/health", headers={"Host": "a.internal.example"}).status_code == 200
    assert client.get("/health", headers={"Host": "localhost"}).status_code == 400


def test_host_header_injection_flaw_skips_the_host_check(make_client: MakeClient) -> None:
    client = make_client(ultra_flaws="host-header-injection")
    response = client.post(
        "/auth/register",
        json={"email": "victim@example.com", "password": "pw-long-enough-1"},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 201
    assert response.json()["links"]["self"] == "http://evil.example/users/me"


# ---- compression -----------------------------------------------------------------------------


def test_large_responses_are_gzip_compressed(client: TestClient) -> None:
    response = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert response.json()["info"]["title"] == "ultra-mvp API"  # decoded transparently
    raw = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content)


def test_small_responses_are_not_compressed(client: TestClient) -> None:
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


# ---- proxy headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("203.0.113.9", "203.0.113.9"), ("1.1.1.1, 10.0.0.2 ", "10.0.0.2")],
)
def test_forwarded_client_is_the_right_most_entry(header: str | None, expected: str | None) -> None:
    assert forwarded_client(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("HTTPS", "https"), ("http, https", "http"), ("gopher", None)],
)
def test_forwarded_scheme(header: str | None, expected: str | None) -> None:
    assert forwarded_scheme(header) == expected


def _statuses(client: TestClient, forwarded_for: list[str]) -> list[int]:
    return [
        client.get("/notes", headers={"X-Forwarded-For": ip}).status_code for ip in forwarded_for
    ]


def test_forwarded_for_is_ignored_without_a_trusted_proxy(make_client: MakeClient) -> None:
    client = make_client(rate_limit_default="2/60")
    # rotating X-Forwarded-For does not mint new rate-limit buckets
    assert _statuses(client, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [401, 401, 429]
    no_hsts = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in no_hsts.headers


def test_trusted_proxy_headers_set_client_and_scheme(make_client: MakeClient) -> None:
    client = make_client(rate_limit_default="2/60", trusted_proxy=True)
    # the right-most entry (added by our proxy) is the client: one bucket per real client
    assert _statuses(client, ["6.6.6.6, 198.51.100.1", "6.6.6.6, 198.51.100.2"]) == [401, 401]
    assert _statuses(client, ["7.7.7.7, 198.51.100.1"] * 2) == [401, 429]
    hsts = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert hsts.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


# ---- CORS ------------------------------------------------------------------------------------


def test_cors_allows_only_configured_origins(make_client: MakeClient) -> None:
    client = make_client(cors_origins=FRONTEND)
    preflight = client.options(
        "/notes",
        headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert preflight.headers["access-control-allow-credentials"] == "true"
    foreign = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers
