"""Shared helpers of the security suite: JWT forging, the protected canary endpoint, discovery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from prodaudit.auth import LOGOUT_PATH_RE, ME_PATH_RE, REFRESH_PATH_RE, AuthSession
from prodaudit.checks.api import Context, Exchange, Finding, OpenAPIDoc, Operation, Severity, Skip, failed
from prodaudit.llmdetect import llm_operations

ME_FALLBACKS = (
    "/users/me",
    "/me",
    "/api/me",
    "/api/users/me",
    "/auth/me",
    "/api/v1/users/me",
    "/user",
    "/profile",
)
HMAC_ALGS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


# ---- JWT encoding -----------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64json(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Jwt:
    """A parsed (unverified) compact JWS."""

    raw: str
    header: dict[str, Any]
    payload: dict[str, Any]
    header_b64: str
    payload_b64: str
    signature_b64: str

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    @property
    def signing_input(self) -> bytes:
        return f"{self.header_b64}.{self.payload_b64}".encode()


def parse_jwt(token: str) -> Jwt | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
    except (ValueError, json.JSONDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    if not isinstance(header.get("alg"), str):  # e.g. a Flask session cookie: not a JWT
        return None
    return Jwt(token, header, payload, parts[0], parts[1], parts[2])


def hmac_sign(signing_input: bytes, key: bytes, alg: str = "HS256") -> str:
    digest = HMAC_ALGS.get(alg.upper(), hashlib.sha256)
    return b64url(hmac.new(key, signing_input, digest).digest())


def forge(
    header: dict[str, Any],
    payload: dict[str, Any],
    *,
    key: bytes | None = None,
    signature: str = "",
) -> str:
    """A compact token: HMAC-signed with ``key`` (alg from the header), else ``signature``."""
    h, p = b64json(header), b64json(payload)
    if key is not None:
        signature = hmac_sign(f"{h}.{p}".encode(), key, str(header.get("alg", "HS256")))
    return f"{h}.{p}.{signature}"


def verify_hmac(tok: Jwt, key: bytes) -> bool:
    if tok.alg.upper() not in HMAC_ALGS:
        return False
    expected = hmac_sign(tok.signing_input, key, tok.alg)
    return hmac.compare_digest(expected, tok.signature_b64.rstrip("="))


# ---- the canary: a protected endpoint and the audit account's token -------------------------
@dataclass(frozen=True)
class Canary:
    """A protected GET endpoint: what it answers to the valid token and to no token."""

    session: AuthSession
    url: str
    token: Jwt
    ok: Exchange  # with the valid token
    anon: Exchange  # without a token

    def send(self, ctx: Context, token: str) -> Any:
        return ctx.http.get(self.url, headers=self.session.headers(token))

    def accepted(self, ex: Exchange) -> bool:
        """The forged request got the same successful answer as the valid token."""
        return ex.status is not None and 200 <= ex.status < 300 and ex.status == self.ok.status

    def rejected(self, ex: Exchange) -> bool:
        return ex.status in (401, 403)


def protected_get_candidates(doc: OpenAPIDoc | None) -> list[str]:
    out: list[str] = []
    if doc is not None:
        ops = [
            op
            for op in doc.operations
            if op.method == "GET" and not op.path_params and doc.is_protected(op)
        ]
        ops.sort(key=lambda o: (not re.search(ME_PATH_RE, o.path, re.I), len(o.path)))
        out += [op.path for op in ops]
    out += [p for p in ME_FALLBACKS if p not in out]
    return out


async def canary(ctx: Context) -> Canary:
    """The protected endpoint used to compare forged tokens against the real one (memoised)."""

    async def build() -> Canary:
        sess = await ctx.auth()
        tok = parse_jwt(sess.access_token)
        if tok is None:
            raise Skip(f"the credential is not a JWT ({sess.credential.kind} in "
                       f"{sess.credential.where.split(',')[0]}): JWT attacks not applicable")
        try:
            doc: OpenAPIDoc | None = await ctx.openapi()
        except Skip:
            doc = None
        paths = [ctx.cfg.auth.me_url] if ctx.cfg.auth.me_url else protected_get_candidates(doc)[:8]
        tried = []
        for path in paths:
            url = ctx.url(path)
            ok = await ctx.http.get(url, headers=sess.headers())
            tried.append(f"{path} -> {ok.status or ok.error}")
            if ok.status is None or not 200 <= ok.status < 300:
                continue
            anon = await ctx.http.get(url)
            if anon.status in (401, 403):
                return Canary(sess, url, tok, ok, anon)
            tried[-1] += f", without token {anon.status}"
        raise Skip(
            "no protected GET endpoint that answers 2xx with the audit token and 401/403 "
            f"without it (tried {'; '.join(tried)}); set auth.me_url"
        )

    result: Canary = await ctx.amemo("sec:canary", build)
    return result


async def find_op(ctx: Context, pattern: str, methods: tuple[str, ...]) -> Operation | None:
    try:
        doc = await ctx.openapi()
    except Skip:
        return None
    ops = doc.find(pattern, methods)
    return sorted(ops, key=lambda o: len(o.path))[0] if ops else None


async def refresh_path(ctx: Context) -> str | None:
    if ctx.cfg.auth.refresh_url:
        return ctx.cfg.auth.refresh_url
    op = await find_op(ctx, REFRESH_PATH_RE, ("POST",))
    return op.path if op else None


async def logout_path(ctx: Context) -> str | None:
    if ctx.cfg.auth.logout_url:
        return ctx.cfg.auth.logout_url
    op = await find_op(ctx, LOGOUT_PATH_RE, ("POST", "GET", "DELETE"))
    return op.path if op else None


async def llm_path(ctx: Context) -> str | None:
    """The LLM endpoint's path (``llm.endpoints``, "POST /chat" or "/chat", else an OpenAPI
    operation recognised by whole words and a prompt-shaped body: ``llmdetect``); its calls are
    counted as billable."""
    if ctx.cfg.llm.endpoints:
        return ctx.cfg.llm.endpoints[0].split()[-1]
    try:
        doc = await ctx.openapi()
    except Skip:
        return None
    ops = llm_operations(doc)
    if not ops:
        return None
    ctx.register_llm(ops[0].path)
    return ops[0].path


def chat_body() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Say OK."}]}


def live_location(ex: Exchange) -> str:
    return f"{ex.method} {ex.url}"


def accepted(ex: Exchange) -> bool:
    """The request got a 2xx answer."""
    return ex.status is not None and 200 <= ex.status < 300


MADE_UP_ID = "999999937"  # an identifier no object has (a large prime)


def made_up_path(template: str) -> str:
    """``template`` with every ``{parameter}`` set to :data:`MADE_UP_ID`: a write sent there
    addresses nothing that exists."""
    return re.sub(r"\{[^}]+\}", MADE_UP_ID, template)


def failed_at(
    ex: Exchange, message: str, evidence_chars: int, *, severity: Severity | None = None
) -> Finding:
    """A FAIL located at the exchange, with (the first ``evidence_chars`` of) it as evidence."""
    return failed(
        message,
        location=live_location(ex),
        evidence=ex.evidence(evidence_chars),
        severity=severity,
    )


SECRET_NAMES = ("JWT_SECRET", "JWT_SECRET_KEY", "JWT_SIGNING_KEY", "SECRET_KEY", "AUTH_SECRET")


def known_secret(ctx: Context) -> tuple[bytes, str] | None:
    """The signing secret as given for the audited deployment: ``jwt.secret_env``, else a
    conventional variable (JWT_SECRET, SECRET_KEY ...) in ``--env-file`` or the started target's
    environment (never the audit process's own environment)."""
    if ctx.cfg.jwt.secret_env:
        val = ctx.env_value(ctx.cfg.jwt.secret_env)
        if val:
            ctx.redact.register(val)
            return val.encode(), f"the secret in ${ctx.cfg.jwt.secret_env}"
        return None
    for env, where in ((ctx.profile_env, "--env-file"), (ctx.target_env, "the started target")):
        for name in SECRET_NAMES:
            if env.get(name):
                ctx.redact.register(env[name])
                return env[name].encode(), f"${name} from {where}"
    return None
