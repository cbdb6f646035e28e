"""SEC-060–062: HTTPS enforcement, the TLS certificate and protocol, cookie attributes."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import re
import socket
import ssl
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._common import live_location

REFS = ("CWE-319", "OWASP API8:2023")
CHECKLIST = ("8.2.4", "P.3.4")
AUTH_COOKIE_RE = re.compile(r"sess|token|auth|jwt|sid|refresh|remember|login", re.I)


def _local(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


@check(
    "SEC-060",
    "Plain HTTP redirects to HTTPS with 301/308",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=REFS,
    evidence=Evidence.OBSERVED,
)
async def https_redirect(ctx: Context) -> list[Finding]:
    """For an ``https://`` target, the plain-HTTP address (``transport.http_url``, else
    ``http://`` + the host on port 80) answers with a permanent redirect (301/308) to ``https://``,
    or does not listen at all. A production ``http://`` base URL on a public host fails; on a
    loopback or private address the check is skipped (audit the public URL).

    Tokens and cookies sent over plain HTTP can be read and changed by anyone on the path.

    Remediation: terminate TLS at the proxy, redirect port 80 with 301/308, and send HSTS.
    """
    parts = urlsplit(ctx.base_url)
    host = parts.hostname or ""
    if parts.scheme == "http":
        if _local(host):
            raise Skip(
                f"the target is served over plain HTTP on {host} (loopback/private): "
                "audit the public https:// URL to verify transport security"
            )
        if ctx.cfg.profile == "production":
            return [
                failed(
                    f"the production API is served over plain HTTP: {ctx.base_url}",
                    location=ctx.base_url,
                )
            ]
        raise Skip(f"profile {ctx.cfg.profile}: plain HTTP accepted")
    http_url = ctx.cfg.transport.http_url or f"http://{host}"
    ex = await ctx.http.get(http_url.rstrip("/") + "/", timeout=min(5.0, ctx.cfg.request_timeout))
    if ex.status is None:
        return [
            passed(
                f"nothing answers plain HTTP at {http_url} ({ex.error}): no clear-text endpoint",
                location=f"GET {http_url}",
            )
        ]
    loc = ex.header("location") or ""
    if ex.status in (301, 308) and loc.startswith("https://"):
        return [passed(f"{http_url} answers {ex.status} -> {loc}", location=live_location(ex))]
    if ex.status in (302, 303, 307) and loc.startswith("https://"):
        return [
            warned(
                f"{http_url} redirects with a temporary {ex.status}; use 301/308",
                location=live_location(ex),
                evidence=ex.evidence(200),
            )
        ]
    return [
        failed(
            f"{http_url} answers {ex.status} without redirecting to https://",
            location=live_location(ex),
            evidence=ex.evidence(300),
        )
    ]


@dataclass
class TlsFacts:
    version: str
    not_after: dt.datetime | None
    subject: str
    trusted: bool
    trust_error: str
    old_accepted: list[str]
    old_untestable: list[str]


def _handshake(host: str, port: int, ctx: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def tls_facts(host: str, port: int, timeout: float) -> TlsFacts:
    from cryptography import x509

    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    with _handshake(host, port, loose, timeout) as s:
        version = s.version() or "?"
        der = s.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der) if der else None
    trusted, err = True, ""
    try:
        with _handshake(host, port, ssl.create_default_context(), timeout):
            pass
    except ssl.SSLError as exc:
        trusted, err = False, exc.reason or str(exc)
    except OSError as exc:
        trusted, err = False, str(exc)
    old_ok: list[str] = []
    untestable: list[str] = []
    for name, ver in (("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1)):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        try:
            c.set_ciphers("ALL:@SECLEVEL=0")
            with warnings.catch_warnings():  # deprecated on purpose: we probe for them
                warnings.simplefilter("ignore", DeprecationWarning)
                c.minimum_version = ver
                c.maximum_version = ver
        except (ssl.SSLError, ValueError):
            untestable.append(name)
            continue
        try:
            with _handshake(host, port, c, timeout) as s:
                if s.version() == name:
                    old_ok.append(name)
        except ssl.SSLError as exc:
            if "no protocols available" in str(exc).lower():
                untestable.append(name)
        except OSError:
            pass
    return TlsFacts(
        version,
        cert.not_valid_after_utc if cert else None,
        cert.subject.rfc4514_string() if cert else "",
        trusted,
        err,
        old_ok,
        untestable,
    )


@check(
    "SEC-061",
    "TLS 1.2+ only and a certificate that does not expire soon",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=CHECKLIST,
    references=("CWE-326", "CWE-298"),
    evidence=Evidence.OBSERVED,
)
async def tls(ctx: Context) -> list[Finding]:
    """For an ``https://`` target: the negotiated protocol is TLS 1.2 or newer, TLS 1.0 and 1.1
    handshakes are refused, and the certificate stays valid for ``transport.cert_min_days``
    (default 30). A certificate the system trust store rejects is a warning (failure on a public
    host).

    An expired certificate takes the product down; old protocols allow downgrade attacks.

    Remediation: automate renewal (ACME / certbot) with expiry alerts, and set
    ``ssl_protocols TLSv1.2 TLSv1.3`` (or the proxy's equivalent).
    """
    parts = urlsplit(ctx.base_url)
    if parts.scheme != "https":
        raise Skip("not an https:// target: TLS not verified")
    host, port = parts.hostname or "", parts.port or 443
    loop = asyncio.get_running_loop()
    try:
        facts = await loop.run_in_executor(
            None, tls_facts, host, port, min(10.0, ctx.cfg.request_timeout)
        )
    except (OSError, ssl.SSLError) as exc:
        return [failed(f"TLS handshake with {host}:{port} failed: {exc}", location=ctx.base_url)]
    out: list[Finding] = []
    loc = f"{host}:{port}"
    if facts.version not in ("TLSv1.2", "TLSv1.3"):
        out.append(failed(f"negotiated {facts.version}", location=loc))
    else:
        out.append(passed(f"negotiated {facts.version}", location=loc))
    for name in facts.old_accepted:
        out.append(failed(f"the server accepts a {name} handshake", location=loc))
    if not facts.old_accepted:
        tested = [n for n in ("TLSv1", "TLSv1.1") if n not in facts.old_untestable]
        if tested:
            out.append(passed(f"{' and '.join(tested)} handshakes refused", location=loc))
        if facts.old_untestable:
            out.append(
                passed(
                    f"{', '.join(facts.old_untestable)} not testable: this machine's "
                    "OpenSSL cannot offer it",
                    location=loc,
                )
            )
    if facts.not_after is not None:
        days = (facts.not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
        need = ctx.cfg.transport.cert_min_days
        msg = (
            f"certificate {facts.subject} valid until {facts.not_after:%Y-%m-%d} ({days:.0f} days)"
        )
        if days < need:
            out.append(
                failed(
                    msg + f", less than transport.cert_min_days={need}",
                    location=loc,
                    severity=Severity.CRITICAL if days < 0 else None,
                )
            )
        else:
            out.append(passed(msg, location=loc))
    if not facts.trusted:
        text = f"the certificate is not trusted by the system store: {facts.trust_error}"
        if _local(host):
            out.append(passed(text + " (accepted on a loopback/private host)", location=loc))
        else:
            out.append(failed(text, location=loc))
    return out


@dataclass(frozen=True)
class SetCookie:
    name: str
    attrs: dict[str, str]
    raw: str

    @property
    def deleting(self) -> bool:
        if self.attrs.get("max-age", "").strip() in ("0", "-1"):
            return True
        exp = self.attrs.get("expires", "")
        return "1970" in exp


def parse_set_cookie(raw: str) -> SetCookie:
    parts = [p.strip() for p in raw.split(";")]
    name = parts[0].split("=", 1)[0].strip()
    attrs: dict[str, str] = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return SetCookie(name, attrs, raw)


def cookie_problems(c: SetCookie) -> list[str]:
    probs = []
    if "secure" not in c.attrs:
        probs.append("no Secure")
    if "httponly" not in c.attrs and "csrf" not in c.name.lower() and "xsrf" not in c.name.lower():
        probs.append("no HttpOnly")
    same = c.attrs.get("samesite", "").lower()
    if not same:
        probs.append("no SameSite")
    elif same == "none" and "secure" not in c.attrs:
        probs.append("SameSite=None without Secure")
    return probs


def _request_cookies(ex: Exchange) -> dict[str, str]:
    raw = next((v for k, v in ex.request_headers.items() if k.lower() == "cookie"), "")
    pairs = (p.strip().partition("=") for p in raw.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, _, v in pairs}


def _response_cookies(ex: Exchange) -> dict[str, str]:
    out = {}
    for raw in ex.header_all("set-cookie"):
        name, _, rest = raw.partition("=")
        out[name.strip()] = rest.split(";", 1)[0].strip()
    return out


def _login_cookies(login: Exchange) -> set[str]:
    """The cookies a login request carried (the login page's session) or its answer set."""
    return set(_request_cookies(login)) | set(_response_cookies(login))


def _fixated(login: Exchange, name: str) -> bool:
    """The login carried cookie ``name`` and its successful answer did not replace the value."""
    before = _request_cookies(login).get(name)
    after = _response_cookies(login).get(name, before)
    return bool(before) and before == after and login.status is not None and login.status < 400


@check(
    "SEC-062",
    "Auth and session cookies are Secure, HttpOnly and SameSite",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("8.2.4", "1.3.6"),
    references=("CWE-614", "CWE-1004", "CWE-1275"),
    evidence=Evidence.OBSERVED,
)
async def cookies(ctx: Context) -> list[Finding]:
    """Every ``Set-Cookie`` captured so far (including the audit account's login response) whose
    name looks like a session, token or auth cookie carries ``Secure``, ``HttpOnly`` (CSRF cookies
    excepted) and ``SameSite``; ``SameSite=None`` needs ``Secure``. Deletion cookies are ignored.
    A cookie an HTML form login carries (set by the login page, e.g. aiohttp's
    ``AIOHTTP_SESSION``) is the session the login authenticates: it is judged at the login
    operation, and keeping its value across the login is session fixation.

    A token cookie without HttpOnly is readable by any injected script; without Secure it travels
    over plain HTTP; without SameSite it rides along on cross-site requests (CSRF).

    Remediation:
    ``response.set_cookie(name, value, secure=True, httponly=True, samesite="strict")``.
    """
    logged_in: Exchange | None = None
    cred_cookie: str | None = None  # the cookie that carries the login's credential
    try:
        sess = await ctx.auth()
        logged_in, cred_cookie = sess.login_exchange, sess.token_in_cookie
    except Skip as exc:
        note = f" (no login: {exc.reason})"
    else:
        note = f" (the login {logged_in.method} {urlsplit(logged_in.url).path} included)"
    seen: dict[str, tuple[SetCookie, Exchange]] = {}
    for ex in list(ctx.http.exchanges):
        for raw in ex.header_all("set-cookie"):
            c = parse_set_cookie(raw)
            if c.deleting:
                continue
            seen.setdefault(c.name, (c, ex))
    auth_like = {n: v for n, v in seen.items() if AUTH_COOKIE_RE.search(n)}
    if cred_cookie and cred_cookie in seen:  # whatever its name, it is the session cookie
        auth_like.setdefault(cred_cookie, seen[cred_cookie])
    if not auth_like and logged_in is None:
        # session cookies are set by a login: without one, their absence proves nothing
        raise Skip(f"no session or auth cookie seen and no login observed{note}: cookie "
                   "attributes not verified")
    if not auth_like:
        if not seen:
            return [passed(f"no response captured during the audit set a cookie{note}")]
        return [passed(f"cookies set ({', '.join(seen)}) are not session/auth cookies{note}")]
    out: list[Finding] = []
    for name, (c, ex) in auth_like.items():
        probs = cookie_problems(c)
        at, how = ex, f"set by {ex.method} {urlsplit(ex.url).path}"
        if logged_in is not None and name in _login_cookies(logged_in) and ex is not logged_in:
            # the session the login authenticates: reported at the login operation
            at = logged_in
            how += f", the session of the login {logged_in.method} {urlsplit(logged_in.url).path}"
            if name == cred_cookie and _fixated(logged_in, name):
                probs.append("the same value before and after the login (session fixation: "
                             "the session id is not renewed when the user logs in)")
        if probs:
            out.append(
                failed(
                    f"cookie {name} {how}: {', '.join(probs)}",
                    location=live_location(at),
                    evidence=f"< Set-Cookie: {name}=…; "
                    + "; ".join(f"{k}={v}" if v else k for k, v in c.attrs.items())
                    + f"\n$ {ex.curl()}",
                )
            )
        else:
            out.append(
                passed(
                    f"cookie {name}: Secure, HttpOnly, SameSite={c.attrs['samesite']}",
                    location=live_location(at),
                )
            )
    if not out:
        out.append(skipped("no cookie to judge"))
    return out
