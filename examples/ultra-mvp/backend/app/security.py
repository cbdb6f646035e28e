"""Passwords (bcrypt) and JWTs (PyJWT, HMAC).

Passwords are SHA-256 pre-hashed then bcrypt-hashed, so every password length is fully used
(bcrypt alone ignores bytes past 72). Tokens carry iss, aud, sub, role, type (access|refresh),
jti, iat, nbf and exp; decoding pins the algorithm and requires every one of these claims.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import jwt

from app.settings import Settings

ACCESS = "access"
REFRESH = "refresh"
LEEWAY_SECONDS = 10
LONG_EXPIRY = timedelta(days=30)  # jwt-long-expiry


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int = 12) -> str:
    """bcrypt hash of the SHA-256 pre-hashed password, so passwords over 72 bytes count in full."""
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for malformed hashes."""
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


class DummyHash:
    """A real hash of a random password: unknown users cost as much time as known ones."""

    def __init__(self, rounds: int) -> None:
        self.value = hash_password(secrets.token_urlsafe(24), rounds)


@dataclass(frozen=True)
class IssuedToken:
    """A signed token with its id (``jti``) and nominal lifetime in seconds."""

    token: str
    jti: str
    expires_in: int  # seconds; the nominal lifetime


class TokenError(Exception):
    """The token is invalid, expired, of the wrong type or revoked."""


class TokenService:
    """Issues and verifies the HMAC JWTs (access and refresh) with pinned algorithm and claims."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = settings.signing_key()
        self.algorithm = settings.jwt_algorithm

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def access_lifetime(self) -> timedelta:
        """ACCESS_TOKEN_EXPIRE_MINUTES (30 days with the ``jwt-long-expiry`` flaw)."""
        if self.settings.has("jwt-long-expiry"):
            return LONG_EXPIRY
        return timedelta(minutes=self.settings.access_token_expire_minutes)

    def refresh_lifetime(self) -> timedelta:
        """REFRESH_TOKEN_EXPIRE_DAYS."""
        return timedelta(days=self.settings.refresh_token_expire_days)

    def _issue(
        self, subject: int, role: str, token_type: str, lifetime: timedelta, exp: bool
    ) -> IssuedToken:
        now = self._now()
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(subject),
            "role": role,
            "type": token_type,
            "jti": jti,
            "iat": now,
            "nbf": now,
        }
        if exp:
            claims["exp"] = now + lifetime
        token = jwt.encode(claims, self.key, algorithm=self.algorithm)
        return IssuedToken(token, jti, int(lifetime.total_seconds()))

    def issue_access(self, subject: int, role: str) -> IssuedToken:
        """A new access token for the user."""
        with_exp = not self.settings.has("jwt-no-exp")
        return self._issue(subject, role, ACCESS, self.access_lifetime(), with_exp)

    def issue_refresh(self, subject: int, role: str) -> IssuedToken:
        """A new refresh token for the user."""
        return self._issue(subject, role, REFRESH, self.refresh_lifetime(), True)

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        """Verify a token and its type; raise TokenError."""
        require = ["iss", "aud", "sub", "type", "jti", "iat", "exp"]
        if expected_type == ACCESS and self.settings.has("jwt-no-exp"):
            require.remove("exp")
        try:
            header = jwt.get_unverified_header(token)
            if self.settings.has("jwt-alg-none") and str(header.get("alg", "")).lower() == "none":
                claims = jwt.decode(
                    token,
                    options={
                        "verify_signature": False,
                        "verify_exp": True,
                        "verify_aud": True,
                        "verify_iss": True,
                        "require": require,
                    },
                    audience=self.settings.jwt_audience,
                    issuer=self.settings.jwt_issuer,
                    leeway=LEEWAY_SECONDS,
                )
            else:
                claims = jwt.decode(
                    token,
                    self.key,
                    algorithms=[self.algorithm],
                    audience=self.settings.jwt_audience,
                    issuer=self.settings.jwt_issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": require},
                )
        except jwt.InvalidTokenError as exc:
            raise TokenError(type(exc).__name__) from None
        token_type = claims.get("type")
        accepted = {expected_type}
        if expected_type == ACCESS and self.settings.has("refresh-as-access"):
            accepted.add(REFRESH)
        if token_type not in accepted:
            raise TokenError("wrong token type")
        if not str(claims.get("sub", "")).isdigit():
            raise TokenError("bad subject")
        return claims

    @staticmethod
    def seconds_left(claims: dict[str, Any], default: int) -> int:
        """Seconds until the token expires (plus leeway): how long its revocation must be kept."""
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            return max(1, int(exp - datetime.now(UTC).timestamp()) + LEEWAY_SECONDS)
        return default


class DenylistUnavailableError(Exception):
    """The revocation store (Redis) cannot be reached: fail closed (503)."""


class Denylist:
    """Revoked token ids (jti), kept until the token would have expired anyway."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def revoke(self, jti: str, ttl: int) -> None:
        """Revoke a token id for ``ttl`` seconds; DenylistUnavailableError when the store fails."""
        try:
            await self.store.set_flag(f"revoked:{jti}", ttl)
        except Exception as exc:
            raise DenylistUnavailableError() from exc

    async def is_revoked(self, jti: str) -> bool:
        """True when the token id was revoked; fails closed (DenylistUnavailableError)."""
        try:
            return bool(await self.store.exists(f"revoked:{jti}"))
        except Exception as exc:
            raise DenylistUnavailableError() from exc
