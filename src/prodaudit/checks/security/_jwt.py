"""JWT helpers shared by the security checks: judging forged tokens against the canary, finding
the signing key (common, configured or repository-default secrets), fresh claims.
Not a check module."""

from __future__ import annotations

import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

from prodaudit.checks.api import Context, Exchange, Finding, Severity, failed, passed, warned
from prodaudit.checks.security._common import (
    HMAC_ALGS,
    Canary,
    known_secret,
    live_location,
    parse_jwt,
    verify_hmac,
)
from prodaudit.checks.security._jwt_candidates import repo_candidates


def evidence(can: Canary, ex: Exchange, note: str = "") -> str:
    head = (
        f"canary: GET {can.url} answers {can.ok.status} to the audit account's token and "
        f"{can.anon.status} without a token; the forged request below answered {ex.status}."
    )
    return "\n".join(x for x in (head, note, ex.evidence()) if x)


def judge(
    can: Canary,
    attempts: list[tuple[str, Exchange]],
    what: str,
    severity: Severity = Severity.CRITICAL,
) -> list[Finding]:
    out: list[Finding] = []
    for label, ex in attempts:
        if can.accepted(ex):
            out.append(
                failed(
                    f"{what}: the API accepted a token with {label} (HTTP {ex.status}, "
                    f"same as the real token)",
                    location=live_location(ex),
                    evidence=evidence(can, ex),
                    severity=severity,
                )
            )
        elif ex.status is None:
            out.append(
                warned(
                    f"{what}: no answer to the token with {label}: {ex.error}",
                    location=live_location(ex),
                    evidence=ex.evidence(),
                )
            )
        elif not can.rejected(ex):
            out.append(
                warned(
                    f"{what}: the token with {label} got HTTP {ex.status} instead of 401/403",
                    location=live_location(ex),
                    evidence=evidence(can, ex),
                )
            )
    if not out:
        out.append(
            passed(
                f"{what}: all {len(attempts)} forged tokens ({', '.join(a for a, _ in attempts)}) "
                f"were rejected with 401/403 on GET {can.url} (the real token gets "
                f"{can.ok.status})",
                location=f"GET {can.url}",
            )
        )
    return out


# ---- weak secret ------------------------------------------------------------------------------
def builtin_wordlist() -> list[str]:
    text = resources.files("prodaudit.data").joinpath("jwt-secrets.txt").read_text(encoding="utf-8")
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


def crack(ctx: Context, token: str) -> tuple[bytes, str] | None:
    """The HMAC key of ``token`` if it is a known/common/repository-default value (memoised)."""

    def build() -> tuple[bytes, str] | None:
        tok = parse_jwt(token)
        if tok is None or tok.alg.upper() not in HMAC_ALGS:
            return None
        candidates: list[tuple[str, str]] = [
            (w, "the built-in list of common secrets") for w in builtin_wordlist()
        ]
        if ctx.cfg.jwt.wordlist is not None and Path(ctx.cfg.jwt.wordlist).is_file():
            extra = Path(ctx.cfg.jwt.wordlist).read_text(encoding="utf-8", errors="replace")
            candidates += [
                (w.strip(), f"the word list {ctx.cfg.jwt.wordlist}")
                for w in extra.splitlines()[:100_000]
                if w.strip()
            ]
        candidates += [(v, f"a default in {where}") for v, where in repo_candidates(ctx)]
        for word, source in candidates:
            if verify_hmac(tok, word.encode()):
                ctx.redact.register(word)
                return word.encode(), source
        return None

    result: tuple[bytes, str] | None = ctx.memo("sec:jwt-crack", build)
    return result


def signing_key(ctx: Context, token: str) -> tuple[bytes, str] | None:
    """A key that signs the target's tokens: cracked (weak) or given (``jwt.secret_env``)."""
    cracked = crack(ctx, token)
    if cracked:
        return cracked
    given = known_secret(ctx)
    tok = parse_jwt(token)
    if given and tok is not None and verify_hmac(tok, given[0]):
        return given
    return None


def fresh_claims(payload: dict[str, Any], lifetime: int = 300) -> dict[str, Any]:
    now = int(time.time())
    out = dict(payload)
    out["iat"] = now
    if "nbf" in out:
        out["nbf"] = now
    if "exp" in out:
        out["exp"] = now + lifetime
    if "jti" in out:
        out["jti"] = uuid.uuid4().hex
    return out
