"""The login adapter: one way to log in, discovered once and used by every probe that logs in or
sends credentials (the audit account's sessions, enumeration, lockout and rate-limit bursts).

:func:`discover_login` tries the login targets (:mod:`prodaudit.auth.discovery`) and their body
shapes within a small budget and returns the working :class:`LoginPlan` and the session. Success
means a credential was obtained (:mod:`prodaudit.auth.tokens`), never just a 2xx; a cookie
session — which many applications set on failed logins too — counts only when an authenticated
request then differs from an anonymous one (:func:`verify_cookie_session`). When no login works,
:class:`AuthError` says what was sent (passwords masked), the answers (status and the keys seen)
and the configuration key that would fix it; :class:`LoginReport` keeps the same for
``facts.login``.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from prodaudit.auth.discovery import (
    COMMON_LOGIN_PATHS,
    MAX_LOGIN_ATTEMPTS,
    LoginTarget,
    login_targets,
)
from prodaudit.auth.shapes import BodyShape, ShapeError, guessed_shapes, login_forms, shape_from_form
from prodaudit.auth.tokens import (
    Credential,
    find_credential,
    response_keys,
    scheme_from_security,
    set_cookies,
)
from prodaudit.config import AuthConfig
from prodaudit.errors import ProdauditError
from prodaudit.http import Exchange, Http, current_scope, join_url
from prodaudit.openapi import OpenAPIDoc

LOGOUT_MARKER = re.compile(r"log[ -]?out|sign[ -]?out|logoff", re.I)
LOGIN_PAGE = re.compile(r"(^|/)(login|signin|sign-in|log-in)(/|$|\?)", re.I)
REFUSAL = re.compile(r"invalid|incorrect|wrong|denied|unauthori|credential|not match|failed|"
                     r"bad (user|password)|no active account|unable to log", re.I)


#: a login answered 429 is sent once more after the answer's ``Retry-After`` when that asks for
#: at most this many seconds: a per-address login limiter the audit's own earlier logins filled
#: must not turn a later check's login into "not verified" (a longer wait: the 429 stands)
LOGIN_RETRY_MAX_WAIT = 65.0


def retry_after(ex: Exchange) -> float | None:
    """The seconds a 429's ``Retry-After`` asks for (delta-seconds or an HTTP date), or None."""
    value = (ex.header("retry-after") or "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _wait_allowed() -> float:
    """How long a throttled login may wait: ``LOGIN_RETRY_MAX_WAIT``, and no longer than what is
    left of the probe budget of the check sending it (a wait past it would end in a refusal)."""
    scope = current_scope()
    left = scope.seconds_left() if scope is not None else None
    return LOGIN_RETRY_MAX_WAIT if left is None else min(LOGIN_RETRY_MAX_WAIT, left - 1.0)


class AuthError(ProdauditError):
    """The audit account could not log in; the message says why and what would fix it.
    ``outcome``: the last login answer's outcome (``"rate limited"``, ``"refused"`` …) when one
    login was sent with a known plan."""

    def __init__(self, message: str, outcome: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class Credentials:
    username: str
    password: str


@dataclass
class Attempt:
    """One login request and what came of it (for messages and ``facts.login``)."""

    request: str  # "POST http://…/login"
    sent: str  # the body as sent, password masked
    status: int | None
    keys: list[str]
    outcome: str  # "credential", "no credential", "refused", "malformed", "rate limited", "error"

    def line(self) -> str:
        status = self.status if self.status is not None else "no answer"
        keys = f" (response: {', '.join(self.keys[:8])})" if self.keys else ""
        return f"{self.request} with {self.sent} → {status}{keys}: {self.outcome}"


@dataclass
class LoginPlan:
    """The login adapter: where and how to send credentials."""

    url: str
    shape: BodyShape
    source: str
    verified: bool = False  # this shape logged the audit account in
    guessed: bool = False  # neither a schema, a form nor the configuration gave the shape
    page_url: str | None = None  # an HTML form login: fetched first (cookies, CSRF field)
    token_header: tuple[str, str] | None = None  # (header, scheme) from securitySchemes
    _page: tuple[BodyShape, dict[str, str]] | None = field(default=None, repr=False, compare=False)

    @property
    def encoding(self) -> str:
        return self.shape.encoding

    async def send(self, http: Http, username: str, password: str,
                   headers: dict[str, str] | None = None) -> Exchange:
        """One login request (marked ``login=True``: the one unsafe request a read-only audit
        sends). An HTML form's page is fetched once for its cookies and hidden fields."""
        ex, _ = await self.send_with_cookies(http, username, password, headers)
        return ex

    async def send_with_cookies(self, http: Http, username: str, password: str,
                                headers: dict[str, str] | None = None, *,
                                fresh: bool = False) -> tuple[Exchange, dict[str, str]]:
        """:meth:`send`, and the cookies the login page set (sent along). ``fresh`` fetches the
        page again (a new session for a real login)."""
        shape, cookies = self.shape, dict[str, str]()
        if self.page_url:
            if fresh or self._page is None:
                self._page = await self._fetch_page(http)
            shape, cookies = self._page
        kwargs = shape.request(username, password)
        hdrs = {**(headers or {}), **kwargs.pop("headers", {})}
        if cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if self.page_url:
            hdrs.setdefault("Referer", self.page_url)
        ex = await http.request("POST", self.url, headers=hdrs or None, login=True, **kwargs)
        return ex, dict(cookies)

    async def _fetch_page(self, http: Http) -> tuple[BodyShape, dict[str, str]]:
        assert self.page_url is not None
        page = await http.get(self.page_url)
        cookies = {c.name: c.value for c in set_cookies(page) if not c.deleted}
        forms = login_forms(page.text) if page.status == 200 else []
        shape = self.shape
        if forms:
            shape = replace(shape_from_form(forms[0], self.shape.source), source=self.shape.source)
        return shape, cookies

    def describe(self) -> str:
        return f"POST {urlsplit(self.url).path} ({self.shape.describe()}; {self.shape.source})"

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "encoding": self.encoding, "fields": self.shape.fields(),
                "source": self.source, "shape_source": self.shape.source, "verified": self.verified}


@dataclass
class AuthSession:
    """A logged-in account: its credential and how it was obtained."""

    login_url: str
    body_kind: str
    credentials: Credentials
    credential: Credential
    login_exchange: Exchange
    plan: LoginPlan | None = None
    obtained_at: float = field(default_factory=time.monotonic)

    @property
    def access_token(self) -> str:
        return self.credential.token

    @property
    def refresh_token(self) -> str | None:
        return self.credential.refresh

    @property
    def scheme(self) -> str:
        return self.credential.scheme

    @scheme.setter
    def scheme(self, value: str) -> None:
        self.credential.scheme = value

    @property
    def expires_in(self) -> float | None:
        return self.credential.expires_in

    @property
    def token_in_cookie(self) -> str | None:
        """The cookie that carries the credential (a JWT cookie or a session cookie), else None."""
        return self.credential.cookie_name if self.credential.header == "Cookie" else None

    def headers(self, token: str | None = None) -> dict[str, str]:
        return self.credential.headers(token)

    def headers_with_cookies(self, token: str | None = None) -> dict[str, str]:
        """:meth:`headers` plus the cookies the login set (a refresh-token cookie that a logout
        or refresh operation wants along with the access token)."""
        out = self.headers(token)
        if "Cookie" not in out:
            jar = {c.name: c.value for c in set_cookies(self.login_exchange) if not c.deleted}
            if jar:
                out["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        return out

    @property
    def stale(self) -> bool:
        """Close to expiry (short-lived tokens are re-obtained)."""
        if not self.expires_in:
            return False
        return time.monotonic() - self.obtained_at > self.expires_in * 0.8


@dataclass
class LoginReport:
    """What the login discovery tried and found (``facts.login``)."""

    ok: bool = False
    summary: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    probed: list[str] = field(default_factory=list)  # common paths probed without OpenAPI
    fix: str = ""
    plan: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, "fix": self.fix, "plan": self.plan,
                "attempts": [a.line() for a in self.attempts], "probed": self.probed}


def _outcome(ex: Exchange, cred: Credential | None) -> str:
    if ex.status is None:
        return "error"
    if ex.status == 429:
        return "rate limited"
    if cred is not None and ex.status < 400:
        return "credential"
    if ex.status in (400, 422) and not REFUSAL.search(ex.text[:2000]):
        return "malformed"
    if ex.status in (400, 401, 403) or (ex.status < 400 and REFUSAL.search(ex.text[:3000])):
        return "refused"
    if ex.status in (404, 405, 415):
        return "malformed"
    return "no credential"


def apply_scheme(cred: Credential, plan: LoginPlan, cfg: AuthConfig) -> Credential:
    """How a token from the body is sent: the configured scheme (``auth.token_scheme``), else the
    securitySchemes' header and scheme, else the answer's ``token_type``, else Bearer."""
    if cred.header == "Cookie":
        return cred
    if cfg.token_scheme is not None:
        cred.scheme = cfg.token_scheme
    elif plan.token_header is not None and cred.where.startswith("body"):
        header, scheme = plan.token_header
        cred.header, cred.scheme = header, scheme
    return cred


def _said(ex: Exchange) -> str:
    loc = ex.header("location")
    return f"{ex.status} → {urlsplit(loc).path or loc}" if loc and ex.status else str(ex.status or ex.error)


async def verify_cookie_session(http: Http, base_url: str, ex: Exchange, cred: Credential,
                                username: str, probe_paths: list[str]) -> tuple[bool, str]:
    """Does a cookie session really log in? An authenticated request must differ from an
    anonymous one as a login does: a protected page answers 2xx with the cookie and 401/403 or a
    redirect to a login page without it, or the page with the cookie names the user or offers a
    logout that the anonymous page does not. (verified, what was compared)."""
    paths = list(dict.fromkeys(probe_paths))
    loc = ex.header("location")
    if loc and ex.status is not None and 300 <= ex.status < 400:
        paths.insert(0, urlsplit(urljoin(ex.url, loc)).path or "/")
    paths.append("/")
    tried = []
    for path in list(dict.fromkeys(paths))[:4]:
        url = join_url(base_url, path)
        auth = await http.get(url, headers=cred.headers())
        anon = await http.get(url)
        auth_loc, anon_loc = auth.header("location") or "", anon.header("location") or ""
        tried.append(f"GET {path}: {_said(auth)} with the cookie, {_said(anon)} without")
        if auth.status is None or anon.status is None:
            continue
        refused = anon.status in (401, 403) or (300 <= anon.status < 400 and LOGIN_PAGE.search(anon_loc))
        if refused and 300 <= auth.status < 400 and auth_loc and not LOGIN_PAGE.search(auth_loc):
            return True, tried[-1]  # sent to the login page without it, elsewhere with it
        if not 200 <= auth.status < 300:
            continue
        if refused:
            return True, tried[-1]
        if anon.status == auth.status:
            user_seen = username.lower() in auth.text.lower() and username.lower() not in anon.text.lower()
            logout = bool(LOGOUT_MARKER.search(auth.text)) and not LOGOUT_MARKER.search(anon.text)
            if user_seen or logout:
                return True, tried[-1] + (" (names the account)" if user_seen else " (offers a logout)")
    return False, "; ".join(tried)


async def _probe_common(http: Http, base_url: str, report: LoginReport) -> list[LoginTarget]:
    """Without an OpenAPI document or a configured path: which common login paths exist (a safe
    GET each: 405 = POST only, 200 with a password form = a login page)."""
    targets = []
    for path in COMMON_LOGIN_PATHS:
        ex = await http.get(join_url(base_url, path))
        report.probed.append(f"GET {path} → {ex.status or ex.error}")
        slash = urlsplit(urljoin(ex.url, ex.header("location") or "")).path
        if ex.status in (301, 302, 307, 308) and slash == path.rstrip("/") + "/" != path:
            ex = await http.get(join_url(base_url, slash))  # Django's APPEND_SLASH
            report.probed.append(f"GET {slash} → {ex.status or ex.error}")
        target = _target_from_page(ex, path, "common path (no OpenAPI document)")
        if target is not None:
            targets.append(target)
        if len(targets) >= 2 or (target is not None and not target.guessed):
            break  # a login form is as good as it gets
    return targets


def _target_from_page(ex: Exchange, path: str, source: str) -> LoginTarget | None:
    if ex.status == 200:
        forms = login_forms(ex.text)
        if forms:
            action = urljoin(ex.url, forms[0].action or ex.url)
            return LoginTarget(action, (shape_from_form(forms[0], f"HTML login form of GET {path}"),),
                               source)
        return None
    if ex.status in (405, 401, 400, 422, 415):  # the path exists and wants something else
        return LoginTarget(ex.url, tuple(guessed_shapes("guess")), source, guessed=True)
    return None


async def _page_target(http: Http, target: LoginTarget) -> LoginTarget:
    """A configured login path without a schema: its HTML form, if it serves one."""
    ex = await http.get(target.url)
    page = _target_from_page(ex, target.path, target.source)
    if page is not None and not page.guessed:
        return replace(page, shapes=page.shapes + target.shapes)
    return target


def _fix_hint(report: LoginReport, cfg: AuthConfig, targets: list[LoginTarget]) -> str:
    outcomes = [a.outcome.split(":")[0] for a in report.attempts]
    account = f"check the account ({cfg.username_env} / {cfg.password_env})"
    if not targets:
        return "set [auth] login_url to the login path"
    if "rate limited" in outcomes:
        return "the target rate-limited the login: wait, or raise its limit for the audit's address"
    if "refused" in outcomes:
        refused = next(a for a in report.attempts if a.outcome.startswith("refused"))
        return (f"{account}: it was refused by {refused.request} with {refused.sent}; if that body "
                "is not the login's, set [auth] login_body")
    if "unverified session" in outcomes:
        return ("set [auth] me_url to a page that needs a login (to tell a login from a failed "
                f"one), and {account}")
    return ("set [auth] login_body to the login's body, e.g. login_body = "
            "{ email = \"{username}\", password = \"{password}\" } (login_encoding = \"form\" for a form)")


async def discover_login(http: Http, base_url: str, doc: OpenAPIDoc | None, cfg: AuthConfig,
                         creds: Credentials, report: LoginReport | None = None,
                         probe_paths: list[str] | None = None) -> tuple[LoginPlan, AuthSession]:
    """Find the login that works for ``creds`` (module docstring); AuthError when none does."""
    report = report if report is not None else LoginReport()
    targets = login_targets(doc, cfg, base_url)
    if targets and targets[0].guessed and cfg.login_url:
        targets[0] = await _page_target(http, targets[0])
    if not targets:
        targets = await _probe_common(http, base_url, report)
    token_header = scheme_from_security(doc.security_schemes) if doc is not None else None
    sent = 0
    for target in targets:
        shapes = list(target.shapes)
        while shapes and sent < MAX_LOGIN_ATTEMPTS:
            shape = shapes.pop(0)
            plan = LoginPlan(target.url, shape, target.source, guessed=target.guessed,
                             page_url=target.url if "HTML login form" in shape.source else None,
                             token_header=token_header)
            sent += 1
            result = await _try(http, base_url, plan, cfg, creds, report, probe_paths or [])
            if isinstance(result, AuthSession):
                plan.verified = True
                report.ok, report.plan = True, plan.to_dict()
                report.summary = (f"logged in at {plan.describe()}; {result.credential.kind} in "
                                  f"{result.credential.where}")
                return plan, result
            if result == "basic challenge" and all(s.encoding != "basic" for s in target.shapes):
                shapes.insert(0, BodyShape("basic", {}, "the answer's WWW-Authenticate: Basic"))
                continue
            if result in ("rate limited", "error"):
                break
            if result in ("refused", "basic challenge") and not target.guessed:
                break  # the schema's shape was understood and the account refused
        if report.attempts and report.attempts[-1].outcome.split(":")[0] in ("rate limited", "error"):
            break
    report.fix = _fix_hint(report, cfg, targets)
    tried = "; ".join(a.line() for a in report.attempts) or (
        "no login operation found" + (f" (probed {', '.join(report.probed)})" if report.probed else ""))
    report.summary = f"no credential obtained: {tried}"
    raise AuthError(f"no credential obtained: {tried}. Fix: {report.fix}")


async def judge_login(http: Http, base_url: str, ex: Exchange, cookies: dict[str, str],
                      username: str, probe_paths: list[str]) -> tuple[Credential | None, str]:
    """(the credential, the outcome) of a login answer: a credential only when one was obtained
    (a cookie session only when verified, :func:`verify_cookie_session`)."""
    cred = find_credential(ex, cookies) if ex.status is not None and ex.status < 400 else None
    outcome = _outcome(ex, cred)
    if outcome == "error":
        return None, f"error: {ex.error}"
    if cred is None or outcome != "credential":
        return None, outcome
    if cred.header == "Cookie" and not cred.jwt:
        ok, how = await verify_cookie_session(http, base_url, ex, cred, username, probe_paths)
        if not ok:
            return None, ("unverified session: a session cookie, but no request differed from an "
                          f"anonymous one as a login does ({how})")
        cred.where += f", verified: {how}"
    return cred, outcome


async def _try(http: Http, base_url: str, plan: LoginPlan, cfg: AuthConfig, creds: Credentials,
               report: LoginReport, probe_paths: list[str]) -> AuthSession | str:
    for retry in (False, True):
        try:
            ex, cookies = await plan.send_with_cookies(http, creds.username, creds.password,
                                                       fresh=True)
        except ShapeError as exc:
            raise AuthError(str(exc)) from None
        cred, outcome = await judge_login(http, base_url, ex, cookies, creds.username, probe_paths)
        wait = retry_after(ex) if outcome == "rate limited" and not retry else None
        if wait is not None and wait > _wait_allowed():
            wait = None  # the 429 stands
        if wait is not None:
            outcome += f", sent again after its Retry-After ({wait:g} s)"
        report.attempts.append(Attempt(f"POST {plan.url}", plan.shape.describe(creds.username),
                                       ex.status, response_keys(ex), outcome))
        if wait is None:
            break
        await asyncio.sleep(wait)
    if cred is None:
        challenge = (ex.header("www-authenticate") or "").lower().startswith("basic")
        return "basic challenge" if challenge and ex.status == 401 else outcome.split(":")[0]
    cred = apply_scheme(cred, plan, cfg)
    return AuthSession(plan.url, plan.encoding, creds, cred, ex, plan)


async def login_with(http: Http, base_url: str, plan: LoginPlan, cfg: AuthConfig,
                     creds: Credentials, probe_paths: list[str] | None = None) -> AuthSession:
    """Log ``creds`` in with a known plan (one request, plus a verification for cookie
    sessions); AuthError with the answer when no credential comes back."""
    report = LoginReport()
    result = await _try(http, base_url, plan, cfg, creds, report, probe_paths or [])
    if isinstance(result, AuthSession):
        return result
    raise AuthError(f"no credential obtained: {report.attempts[-1].line() if report.attempts else result}",
                    outcome=str(result))
