"""SEC-060–062 and HSTS grading against the reference API served by uvicorn over TLS with a
self-signed certificate made here; and the cookie check over plain HTTP."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import StartTarget, audit_target, result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import stop_process

from prodaudit.checks.security._certs import self_signed_cert
from prodaudit.model import Status
from prodaudit.ports import free_port, on_free_port
from prodaudit.target import ReferenceTarget, wait_http

CERT_DAYS = 10


def make_cert(directory: Path, days: int) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(self_signed_cert(key, "127.0.0.1", dt.timedelta(days=days), ip="127.0.0.1"))
    return key_path, cert_path


@pytest.fixture
def tls_api(start_target: StartTarget, tmp_path: Path) -> Iterator[tuple[ReferenceTarget, str]]:
    """The reference API (same database and accounts) also served over HTTPS on its own port."""
    t = start_target(frontend=False)
    key, cert = make_cert(tmp_path, CERT_DAYS)
    log = tmp_path / "tls-api.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}
    env.update(t.env)

    def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                 "--port", str(port), "--no-server-header", "--log-level", "warning",
                 "--ssl-keyfile", str(key), "--ssl-certfile", str(cert)],
                cwd=t.root / "backend", env=env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"https://127.0.0.1:{port}"
        try:  # polled with certificate verification off
            wait_http(url + "/health", 45.0, proc, log, verify=False)
        except BaseException:
            stop_process(proc)
            raise
        return proc, url

    proc, url = on_free_port(start, what="TLS API")  # another port if the first one is taken
    try:
        yield t, url
    finally:
        stop_process(proc)


def test_tls_target(tls_api: tuple[ReferenceTarget, str], tmp_path: Path) -> None:
    t, url = tls_api
    unused = f"http://127.0.0.1:{free_port()}"
    run = audit_target(
        t,
        tmp_path / "a",
        only=["SEC-050", "SEC-060", "SEC-061", "SEC-062"],
        base_url=url,
        transport={"cert_min_days": 5, "http_url": unused},
    )
    r61 = result(run, "SEC-061")
    assert r61.status is Status.PASS, [f.message for f in r61.findings]
    msgs = " | ".join(f.message for f in r61.findings)
    assert "negotiated TLSv1.3" in msgs or "negotiated TLSv1.2" in msgs
    assert f"({CERT_DAYS - 1} days)" in msgs or f"({CERT_DAYS} days)" in msgs
    assert "not trusted by the system store" in msgs  # self-signed, accepted on loopback
    r60 = result(run, "SEC-060")
    assert r60.status is Status.PASS and "nothing answers plain HTTP" in r60.findings[0].message
    r62 = result(run, "SEC-062")
    assert r62.status is Status.PASS, [f.message for f in r62.findings]
    r50 = result(run, "SEC-050")
    assert r50.status is Status.PASS
    api = [f for f in r50.findings if f.message.startswith("API ")][0]
    assert "HSTS not graded" not in api.message and "grade A+" in api.message


def test_expiring_certificate_and_plain_http_without_redirect_fail(
    tls_api: tuple[ReferenceTarget, str], tmp_path: Path
) -> None:
    t, url = tls_api
    run = audit_target(
        t,
        tmp_path / "b",
        only=["SEC-060", "SEC-061"],
        base_url=url,
        transport={"cert_min_days": 30, "http_url": t.base_url},
    )
    r61 = result(run, "SEC-061")
    assert r61.status is Status.FAIL
    assert any("less than transport.cert_min_days=30" in f.message for f in r61.findings)
    r60 = result(run, "SEC-060")
    assert r60.status is Status.FAIL
    assert "without redirecting to https://" in r60.findings[0].message


def test_plain_http_loopback_target_skips_transport(
    start_target: StartTarget, tmp_path: Path
) -> None:
    t = start_target(frontend=False)
    run = audit_target(t, tmp_path, only=["SEC-060", "SEC-061"])
    assert result(run, "SEC-060").status is Status.SKIP
    assert "loopback" in result(run, "SEC-060").reason
    assert result(run, "SEC-061").status is Status.SKIP
