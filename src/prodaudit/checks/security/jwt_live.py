"""SEC-001–007: live JWT attacks against a protected endpoint, compared with the real token."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    check,
    failed,
    passed,
)
from prodaudit.checks.security._certs import self_signed_cert
from prodaudit.checks.security._common import (
    HMAC_ALGS,
    Canary,
    b64url,
    canary,
    forge,
    live_location,
)
from prodaudit.checks.security._jwt import builtin_wordlist, crack, fresh_claims
from prodaudit.checks.security._jwt import evidence as _evidence
from prodaudit.checks.security._jwt import judge as _judge
from prodaudit.checks.security._jwt_candidates import repo_candidates

REFS = ("CWE-347", "OWASP API2:2023")
CHECKLIST = ("8.1.1", "1.3.1")


async def _try(
    ctx: Context, can: Canary, variants: list[tuple[str, str]]
) -> list[tuple[str, Exchange]]:
    """Send the forged tokens until the probe budget is spent (the runner then reports the
    variants not sent: a check whose probes were cut short is not a PASS)."""
    out: list[tuple[str, Exchange]] = []
    for label, tok in variants:
        try:
            out.append((label, await can.send(ctx, tok)))
        except NotSent:
            break
    return out


@check(
    "SEC-001",
    "JWT with alg none is rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def alg_none(ctx: Context) -> list[Finding]:
    """Tokens whose header says ``alg: none`` (and the case variants ``None``, ``NONE``, ``nOnE``)
    with the signature stripped are rejected by a protected endpoint.

    A decoder that honours the token's own ``alg`` header accepts unsigned tokens, so anyone can
    mint a token for any user or role. The probe reuses the audit account's real claims, so an
    acceptance is exactly "unsigned token works".

    Remediation: decode with an explicit algorithm allow-list (PyJWT: ``jwt.decode(token, key,
    algorithms=["HS256"])``) and never branch on the unverified header's ``alg``.
    """
    can = await canary(ctx)
    variants: list[tuple[str, str]] = []
    for alg in ("none", "None", "NONE", "nOnE"):
        header = {**can.token.header, "alg": alg}
        variants.append((f"alg={alg}, empty signature", forge(header, can.token.payload)))
    header = {**can.token.header, "alg": "none"}
    variants.append(
        (
            "alg=none, original signature kept",
            forge(header, can.token.payload, signature=can.token.signature_b64),
        )
    )
    return _judge(can, await _try(ctx, can, variants), "alg none")


@check(
    "SEC-002",
    "JWT with a stripped or damaged signature is rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def stripped_signature(ctx: Context) -> list[Finding]:
    """The real token with its signature removed, truncated or altered is rejected.

    Some stacks verify only when a signature is present, or compare a prefix; either lets an
    attacker drop the signature after editing the claims.

    Remediation: always verify the full signature with the configured key and algorithm; reject
    tokens that do not have exactly three non-empty parts.
    """
    can = await canary(ctx)
    t = can.token
    sig = t.signature_b64
    # a middle character: the last one of a base64url signature partly holds padding bits, so
    # changing it may leave the decoded signature the same (a valid token, not a damaged one)
    mid = len(sig) // 2
    damaged = f"{sig[:mid]}{'A' if sig[mid:mid + 1] != 'A' else 'B'}{sig[mid + 1:]}"
    variants = [
        ("the signature removed (trailing dot kept)", f"{t.header_b64}.{t.payload_b64}."),
        ("the signature part missing (two parts)", f"{t.header_b64}.{t.payload_b64}"),
        (
            "the signature truncated to half",
            f"{t.header_b64}.{t.payload_b64}.{sig[: len(sig) // 2]}",
        ),
        ("a signature character changed", f"{t.header_b64}.{t.payload_b64}.{damaged}"),
    ]
    return _judge(can, await _try(ctx, can, variants), "damaged signature")


@check(
    "SEC-003",
    "JWT with edited claims and the original signature is rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def tampered_payload(ctx: Context) -> list[Finding]:
    """The real token with a changed subject, role or expiry, but its original signature, is
    rejected.

    If the signature is not checked against the claims actually sent, any user can become another
    user or an administrator.

    Remediation: verify the signature over the exact header and payload received; use a maintained
    JWT library rather than hand-written parsing.
    """
    can = await canary(ctx)
    t = can.token
    payload = t.payload
    edits: list[tuple[str, dict[str, Any]]] = []
    sub = payload.get("sub")
    if sub is not None:
        other: Any = str(int(sub) + 1) if str(sub).isdigit() else f"{sub}x"
        edits.append((f"sub changed to {other!r}", {**payload, "sub": other}))
    edits.append(("role=admin added", {**payload, "role": "admin", "is_admin": True}))
    edits.append(("exp pushed one year ahead", {**payload, "exp": int(time.time()) + 365 * 86400}))
    tokens = [(label, forge(t.header, p, signature=t.signature_b64)) for label, p in edits]
    return _judge(can, await _try(ctx, can, tokens), "edited claims")


@check(
    "SEC-004",
    "JWT signed with an empty HMAC key is rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def empty_key(ctx: Context) -> list[Finding]:
    """A token with the real claims, signed HS256/384/512 with an empty key, is rejected.

    An unset secret (``JWT_SECRET=""``) or a library default of ``b""`` makes every token
    forgeable with the empty key.

    Remediation: refuse to start without a random signing secret of at least 32 bytes.
    """
    can = await canary(ctx)
    variants = []
    for alg in ("HS256", "HS384", "HS512"):
        header = {**can.token.header, "alg": alg}
        variants.append((f"{alg} with an empty key", forge(header, can.token.payload, key=b"")))
    return _judge(can, await _try(ctx, can, variants), "empty HMAC key")


@check(
    "SEC-005",
    "JWT signing secret is not a common or default value",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST + ("P.3.1",),
    references=("CWE-521", "CWE-798", "OWASP API2:2023"),
    evidence=Evidence.OBSERVED,
)
async def weak_secret(ctx: Context) -> list[Finding]:
    """The audit account's HMAC token is verified offline against a built-in list of common
    secrets, ``jwt.wordlist``, and every default or placeholder secret value found in the target's
    repository (``.env.example``, settings defaults, compose files). A hit is CRITICAL and is then
    confirmed live by forging a fresh token for the audit user.

    With the signing secret, an attacker mints tokens for any user and role, offline, forever.

    Remediation: generate the secret with
    ``python -c "import secrets; print(secrets.token_urlsafe(48))"``, keep it out of the
    repository, rotate it now (all issued tokens become invalid), and make the
    application refuse short or placeholder secrets at startup.
    """
    can = await canary(ctx)
    if can.token.alg.upper() not in HMAC_ALGS:
        return [
            passed(
                f"the token is signed with {can.token.alg}, not a shared HMAC secret: no "
                "secret to guess (asymmetric attacks: SEC-006)"
            )
        ]
    words = len(builtin_wordlist())
    loop = asyncio.get_running_loop()
    hit = await loop.run_in_executor(None, crack, ctx, can.token.raw)
    if hit is None:
        return [
            passed(
                f"the {can.token.alg} token resisted {words} common secrets, "
                f"{len(repo_candidates(ctx))} repository defaults"
                + (" and the configured word list" if ctx.cfg.jwt.wordlist else "")
            )
        ]
    key, source = hit
    forged = forge(can.token.header, fresh_claims(can.token.payload), key=key)
    ex = await can.send(ctx, forged)
    live = can.accepted(ex)
    # provenance and length only: the value itself never reaches a message
    msg = f"the JWT signing secret ({len(key)} characters, from {source}) is guessable; " + (
        "a token forged with it was accepted live"
        if live
        else f"a token forged with it got HTTP {ex.status} (live confirmation failed)"
    )
    return [
        failed(
            msg,
            location=live_location(ex),
            evidence=_evidence(
                can,
                ex,
                f"offline: HMAC-{can.token.alg[2:]} of the issued token verifies with the guessed "
                "secret (value redacted)",
            ),
            severity=Severity.CRITICAL,
        )
    ]


# ---- asymmetric-key attacks ---------------------------------------------------------------------
JWKS_PATHS = (
    "/.well-known/jwks.json",
    "/jwks.json",
    "/.well-known/openid-configuration",
    "/auth/jwks",
    "/api/jwks.json",
)


async def _public_keys(ctx: Context) -> tuple[list[dict[str, Any]], str]:
    for path in JWKS_PATHS:
        ex = await ctx.http.get(ctx.url(path))
        if ex.status != 200:
            continue
        try:
            data = ex.json()
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("jwks_uri"), str):
            ex = await ctx.http.get(data["jwks_uri"])
            try:
                data = ex.json() if ex.status == 200 else {}
            except ValueError:
                data = {}
        keys = data.get("keys") if isinstance(data, dict) else None
        if isinstance(keys, list) and keys:
            return [k for k in keys if isinstance(k, dict)], ex.url
    return [], ""


@check(
    "SEC-006",
    "JWT key-confusion and psychic-signature tokens are rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=("CWE-347", "CVE-2022-21449", "OWASP API2:2023"),
    evidence=Evidence.OBSERVED,
)
async def asymmetric_attacks(ctx: Context) -> list[Finding]:
    """For RS/ES/PS tokens: an HS256 token signed with the published public key (JWKS) as the
    HMAC secret (key confusion), and for every target an ES256 token with the all-zero "psychic"
    signature (CVE-2022-21449), are rejected.

    Libraries that pick the verification routine from the token's ``alg`` use the RSA public key
    as an HMAC secret; broken ECDSA verifiers accept r = s = 0.

    Remediation: pin the algorithm when decoding, keep the JDK/library patched, and never accept
    a different algorithm family than the one you issue.
    """
    can = await canary(ctx)
    variants = [
        (
            "alg ES256 and an all-zero (psychic) signature",
            forge(
                {**can.token.header, "alg": "ES256"},
                can.token.payload,
                signature=b64url(b"\0" * 64),
            ),
        )
    ]
    note = ""
    if can.token.alg.upper().startswith(("RS", "ES", "PS")):
        keys, src = await _public_keys(ctx)
        if keys:
            import jwt as pyjwt
            from cryptography.hazmat.primitives import serialization

            for jwk in keys[:3]:
                try:
                    pub = pyjwt.PyJWK(jwk).key
                    pem = pub.public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                except (pyjwt.PyJWKError, AttributeError, ValueError):
                    continue
                for label, key in (("PEM", pem), ("PEM without newline", pem.rstrip(b"\n"))):
                    variants.append(
                        (
                            f"HS256 signed with the JWKS public key ({label}, {src})",
                            forge({**can.token.header, "alg": "HS256"}, can.token.payload, key=key),
                        )
                    )
        else:
            note = " (no JWKS published: key confusion with the public key not attempted)"
    else:
        note = f" (tokens are {can.token.alg}: no public key to confuse)"
    out = _judge(can, await _try(ctx, can, variants), "asymmetric")
    if note:
        out = [
            f if f.status.value != "pass" else passed(f.message + note, location=f.location)
            for f in out
        ]
    return out


# ---- header injection (kid / jwk / jku / x5u) ------------------------------------------------
class _KeyServer:
    """A loopback HTTP server serving our JWKS and certificate; records every fetch."""

    def __init__(self, jwks: bytes, cert_pem: bytes) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib API
                hits.append(self.path)
                body = jwks if self.path.startswith("/jwks") else cert_pem
                self.send_response(200)
                self.send_header(
                    "Content-Type", "application/json" if body is jwks else "application/x-pem-file"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def _key_server(jwks: bytes, cert_pem: bytes) -> Iterator[_KeyServer]:
    srv = _KeyServer(jwks, cert_pem)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.server.shutdown()
        srv.server.server_close()


def _attacker_keys() -> tuple[Any, dict[str, Any], bytes]:
    """An RSA key pair of ours, its JWK and a self-signed certificate for it."""
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "prodaudit", "use": "sig", "alg": "RS256"})
    return key, jwk, self_signed_cert(key, "prodaudit attacker", dt.timedelta(hours=1))


def _rs256(header: dict[str, Any], payload: dict[str, Any], key: Any) -> str:
    import jwt as pyjwt

    extra = {k: v for k, v in header.items() if k not in ("alg",)}
    return pyjwt.encode(payload, key, algorithm="RS256", headers=extra)


@check(
    "SEC-007",
    "JWT header injection (kid, jwk, jku, x5u) is rejected",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=("CWE-347", "CWE-22", "CWE-918", "OWASP API2:2023"),
    evidence=Evidence.OBSERVED,
)
async def header_injection(ctx: Context) -> list[Finding]:
    """Tokens that tell the server which key to use are rejected: ``kid`` pointing by path
    traversal at an empty file (``/dev/null``) with an empty-key HMAC signature; an embedded
    ``jwk`` with our own RSA key; ``jku`` and ``x5u`` pointing at a JWKS / certificate we serve on
    loopback. A fetch of our URL by the target is reported even when the token is rejected
    (server-side request forgery).

    Remediation: ignore ``jwk``/``jku``/``x5u`` headers, resolve ``kid`` only against a fixed
    in-memory key set, and pin the algorithm.
    """
    can = await canary(ctx)
    loop = asyncio.get_running_loop()
    key, jwk, cert_pem = await loop.run_in_executor(None, _attacker_keys)
    base_h = {k: v for k, v in can.token.header.items() if k not in ("alg", "kid")}
    claims = fresh_claims(can.token.payload)
    jwks = json.dumps({"keys": [jwk]}).encode()
    out: list[Finding] = []
    with _key_server(jwks, cert_pem) as srv:
        variants = [
            (
                "kid=../../../../../../dev/null and an empty-key HS256 signature",
                forge(
                    {**base_h, "alg": "HS256", "kid": "../../../../../../../dev/null"},
                    claims,
                    key=b"",
                ),
            ),
            (
                "an embedded jwk holding our RSA key",
                _rs256(
                    {
                        **base_h,
                        "kid": "prodaudit",
                        "jwk": {k: v for k, v in jwk.items() if k in ("kty", "n", "e", "kid")},
                    },
                    claims,
                    key,
                ),
            ),
            (
                f"jku={srv.base}/jwks.json (our key set)",
                _rs256({**base_h, "kid": "prodaudit", "jku": f"{srv.base}/jwks.json"}, claims, key),
            ),
            (
                f"x5u={srv.base}/cert.pem (our certificate)",
                _rs256({**base_h, "x5u": f"{srv.base}/cert.pem"}, claims, key),
            ),
        ]
        attempts = await _try(ctx, can, variants)
        await asyncio.sleep(0.2)
        hits = list(srv.hits)
    out = _judge(can, attempts, "header injection")
    if hits:
        out.append(
            failed(
                f"the target fetched our URL(s) {', '.join(hits[:5])} named in a token "
                "header (server-side request forgery through jku/x5u)",
                location=live_location(attempts[2][1]),
                evidence=attempts[2][1].evidence(),
                severity=Severity.HIGH,
            )
        )
    return out
