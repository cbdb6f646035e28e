"""SEC-006/007 against a small, deliberately broken RS256 API (the reference target signs with
HS256): it verifies HS256 tokens with its RSA public key as the HMAC secret (key confusion) and
trusts a ``jku`` header (fetching the attacker's key set). A correct twin must pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from conftest import audit_target, result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from servers.serving import serve_app

from prodaudit.model import Severity, Status

USER, PASSWORD = "rs@example.com", "correct horse battery staple"
SCHEME = OAuth2PasswordBearer(tokenUrl="/token")
TokenDep = Annotated[str, Depends(SCHEME)]
FormDep = Annotated[OAuth2PasswordRequestForm, Depends()]


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def make_app(vulnerable: bool) -> FastAPI:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k1"
    app = FastAPI()

    def verify(token: str) -> dict[str, Any]:
        try:
            header = json.loads(_b64d(token.split(".")[0]))
            if vulnerable and header.get("alg") == "HS256":  # key confusion
                h, p, s = token.split(".")
                mac = hmac.new(pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
                if not hmac.compare_digest(base64.urlsafe_b64encode(mac).rstrip(b"=").decode(), s):
                    raise ValueError("bad signature")
                return json.loads(_b64d(p))  # type: ignore[no-any-return]
            if vulnerable and "jku" in header:  # trusts the token's key set URL
                keys = httpx.get(header["jku"], timeout=3).json()["keys"]
                pub = jwt.PyJWK(keys[0]).key
                return jwt.decode(token, pub, algorithms=["RS256"])  # type: ignore[no-any-return]
            return jwt.decode(token, key.public_key(), algorithms=["RS256"])  # type: ignore[no-any-return]
        except Exception:
            raise HTTPException(401, "invalid token") from None

    @app.get("/.well-known/jwks.json")
    def jwks() -> dict[str, Any]:
        return {"keys": [jwk]}

    @app.post("/token")
    def token(form: FormDep) -> dict[str, Any]:
        if form.username != USER or form.password != PASSWORD:
            raise HTTPException(401, "bad credentials")
        now = int(time.time())
        tok = jwt.encode(
            {"sub": "1", "iat": now, "exp": now + 600},
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        return {"access_token": tok, "token_type": "bearer"}

    @app.get("/me")
    def me(tok: TokenDep) -> dict[str, Any]:
        return {"sub": verify(tok)["sub"]}

    return app


@pytest.fixture
def rs_api(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve_app(make_app(request.param)) as url:
        yield url


def _run(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PRODAUDIT_AUDIT_USERNAME", USER)
    monkeypatch.setenv("PRODAUDIT_AUDIT_PASSWORD", PASSWORD)
    return audit_target(
        None, tmp_path, only=["SEC-001", "SEC-005", "SEC-006", "SEC-007"], base_url=url
    )


@pytest.mark.parametrize("rs_api", [True], indirect=True)
def test_key_confusion_and_jku_are_found(
    rs_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run(rs_api, tmp_path, monkeypatch)
    r6 = result(run, "SEC-006")
    assert r6.status is Status.FAIL
    f = [x for x in r6.findings if x.status is Status.FAIL][0]
    assert "HS256 signed with the JWKS public key" in f.message
    assert f.severity is Severity.CRITICAL and "< HTTP 200" in f.evidence
    r7 = result(run, "SEC-007")
    assert r7.status is Status.FAIL
    msgs = [x.message for x in r7.findings if x.status is Status.FAIL]
    assert any("jku=" in m for m in msgs)
    assert any("fetched our URL" in m and "/jwks.json" in m for m in msgs)  # SSRF seen
    assert result(run, "SEC-001").status is Status.PASS
    assert "not a shared HMAC secret" in result(run, "SEC-005").findings[0].message


@pytest.mark.parametrize("rs_api", [False], indirect=True)
def test_correct_rs256_api_passes(
    rs_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run(rs_api, tmp_path, monkeypatch)
    for cid in ("SEC-001", "SEC-006", "SEC-007"):
        r = result(run, cid)
        assert r.status is Status.PASS, (cid, [f.message for f in r.findings])
    assert "JWKS public key" in result(run, "SEC-006").findings[0].message
