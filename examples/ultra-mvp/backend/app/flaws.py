"""Known, switchable weaknesses of the reference target.

``ULTRA_FLAWS`` is a comma-separated list of flaw names, parsed once at startup. Every flaw turns
on exactly one realistic weakness; with no flaw the application is hardened. An unknown name is
a startup error that names it, so a typo never silently yields a hardened target.
"""

from __future__ import annotations

FLAWS: dict[str, str] = {
    "jwt-alg-none": "the token decoder accepts unsigned tokens (alg none)",
    "jwt-weak-secret": 'tokens are signed with the dictionary secret "secret123"',
    "jwt-long-expiry": "access tokens live 30 days",
    "jwt-no-exp": "access tokens carry no exp claim and none is required",
    "refresh-as-access": "refresh tokens are accepted as access tokens",
    "no-logout-revocation": "logout does not revoke anything",
    "cors-reflect-origin": "any Origin is reflected with credentials allowed",
    "cors-null-origin": "Origin: null is allowed with credentials",
    "cors-suffix-match": "any origin ending with an allowed origin's host is allowed",
    "no-rate-limit": "no rate limiting anywhere",
    "no-login-throttle": "the login route is not rate limited and accounts never lock",
    "xff-bypass": "the rate-limit key comes from X-Forwarded-For without a trusted proxy",
    "no-security-headers": "no security headers on responses",
    "server-version-header": "Server and X-Powered-By headers disclose versions",
    "debug-tracebacks": "debug mode: unhandled errors and oversized bodies return tracebacks",
    "stack-trace-on-422": "validation errors include a traceback and file paths",
    "mock-llm-in-production": "MOCK_LLM is forced on",
    "llm-500-on-outage": "an LLM provider outage is an unhandled 500",
    "no-prompt-limit": "prompts over MAX_PROMPT_CHARS are accepted",
    "unauthenticated-admin": "/admin/users needs no authentication",
    "bola": "GET /notes/{note_id} returns any user's note",
    "user-enumeration": "login tells unknown users (404) from wrong passwords (401)",
    "shallow-health": "/health/ready is always 200 and checks nothing",
    "insecure-cookie": "the refresh cookie lacks Secure, HttpOnly and SameSite",
    "docs-public": "DOCS_ENABLED is forced on (/docs and /redoc public)",
    "leak-provider-key": "LLM responses carry X-Debug-Provider-Key with the provider key",
    "host-header-injection": (
        "the register response's links.self is built from the Host header (not checked "
        "against ALLOWED_HOSTS)"
    ),
}


class UnknownFlawError(ValueError):
    """ULTRA_FLAWS names a flaw this application does not know."""


def parse_flaws(raw: str | None) -> frozenset[str]:
    """Parse a comma-separated flaw list; raise UnknownFlawError naming any unknown entry."""
    if not raw:
        return frozenset()
    names = [part.strip().lower() for part in raw.split(",")]
    names = [name for name in names if name]
    unknown = sorted({name for name in names if name not in FLAWS})
    if unknown:
        raise UnknownFlawError(
            f"unknown flaw(s) in ULTRA_FLAWS: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(FLAWS))})"
        )
    return frozenset(names)
