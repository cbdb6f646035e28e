"""One bounded HTTP client for live checks, and exchanges kept as reproducible evidence.

Every request has a timeout and an overall deadline; bodies are read up to a size cap; every
exchange is recorded (the API-key leak check scans them) and can render itself as evidence
with a ``curl`` command that reproduces it.

This is also where the audit's promises to the target are kept, for every check at once:

- **a ledger**: every request sent (redirect hops included) is counted per check and per method;
  the runner names the running check in a context variable (``probe_scope``);
- **budgets**: each check's probes stop at the budget of its probe family (``[probes]``,
  ``[rate_limit]``, ``[perf]``), in count and in time; billable LLM calls stop at
  ``probes.max_llm_calls`` for the whole run;
- **read-only**: without ``--allow-mutations`` no request with an unsafe method is sent, except
  a login (``login=True``);
- **exclusions**: no request reaches a path matching ``[probes] exclude`` (glob patterns),
  whatever its method, redirects included.

A request the policy refuses is never sent: it is recorded in the ledger and ``NotSent`` (a
``Skip``) is raised, so a check that does not handle it is SKIP with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fnmatch
import json as jsonlib
import shlex
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prodaudit.outcome import Skip

if TYPE_CHECKING:  # imported by the first request: static runs and commands never load httpx
    import httpx

EVIDENCE_BODY_CHARS = 1200
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_REFUSALS_KEPT = 50


def _stale_connection() -> tuple[type[Exception], ...]:
    """Errors of a request written on a connection the server had already closed (httpx is
    imported by the first request, not by this module)."""
    import httpx

    return (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Exchange:
    """A request and its response (or the error that replaced it)."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed_s: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def usable(self) -> bool:
        """A complete 2xx answer whose body is what it declares (JSON that parses, text that
        decodes): an answer that exercised the endpoint. Redirects, errors, bodies cut at the
        size cap and garbage are not: a check never passes on them."""
        if self.status is None or not 200 <= self.status < 300 or self.truncated:
            return False
        if self.status == 204 or self.method == "HEAD":
            return True
        ctype = (self.header("content-type") or "").lower()
        if "json" in ctype:
            try:
                jsonlib.loads(self.body)
            except ValueError:
                return False
            return True
        textual = not ctype or ctype.startswith("text/") or "xml" in ctype or "javascript" in ctype
        if textual and "charset" in ctype and "utf-8" not in ctype:
            return True  # another declared charset: not judged
        if textual:
            try:
                self.body.decode("utf-8")
            except UnicodeDecodeError:
                return False
        return True

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in _multi(self.headers) if k.lower() == low]

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def curl(self, placeholders: Mapping[str, str] | None = None) -> str:
        """A curl command reproducing the request; header values may be swapped for $VARS."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for k, v in self.request_headers.items():
            if k.lower() in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
                continue
            if k.lower() == "accept" and v == "*/*":
                continue
            shown = v
            for secret, var in (placeholders or {}).items():
                if secret and secret in shown:
                    shown = shown.replace(secret, var)
            parts += ["-H", f"{k}: {shown}"]
        if self.request_body:
            parts += ["--data-binary", self.request_body[:2000].decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(p) if not p.startswith("$") else p for p in parts)

    def evidence(self, body_chars: int = EVIDENCE_BODY_CHARS) -> str:
        """Request line and headers, response status, headers and a body excerpt, plus curl."""
        lines = [f"> {self.method} {self.url}"]
        for k, v in self.request_headers.items():
            if k.lower() in ("accept-encoding", "connection", "user-agent", "accept"):
                continue
            lines.append(f"> {k}: {v}")
        if self.request_body:
            body = self.request_body[:400].decode("utf-8", "replace")
            more = "…" if len(self.request_body) > 400 else ""
            lines.append(f"> (body {len(self.request_body)} bytes) {body}{more}")
        if self.status is None:
            lines.append(f"< no response: {self.error}")
        else:
            lines.append(f"< HTTP {self.status}  ({self.elapsed_s * 1000:.0f} ms)")
            for k, v in _multi(self.headers):
                lines.append(f"< {k}: {v}")
            if self.body:
                text = self.text[:body_chars]
                more = f"… ({len(self.body)} bytes{'+' if self.truncated else ''})" if (
                    len(self.body) > body_chars or self.truncated
                ) else ""
                lines.append(f"< {text}{more}")
        lines.append("$ " + self.curl())
        return "\n".join(lines)


def _multi(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    multi = getattr(headers, "multi_items", None)  # httpx.Headers: repeated names kept
    if multi is not None:
        return list(multi())
    return list(headers.items())


class NotSent(Skip):  # noqa: N818 - a Skip: the check reports SKIP with this reason
    """A request the HTTP layer refused to send; ``kind`` is "mutation", "excluded", "budget" or
    "llm-budget"."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Budget:
    """The most requests (and seconds of sending, from the first request) one check may spend;
    ``source`` names the configuration keys, for the reason of a refusal."""

    requests: int
    seconds: float
    source: str = "probes.max_requests / probes.max_seconds"


@dataclass
class ProbeScope:
    """The check a request is sent for, and what it spent of its budget."""

    name: str
    budget: Budget | None = None
    sent: int = 0
    first: float | None = None
    refused: list[str] = field(default_factory=list)

    def seconds_left(self) -> float | None:
        """Seconds of the budget left for sending (None: no time budget)."""
        if self.budget is None:
            return None
        spent = 0.0 if self.first is None else time.monotonic() - self.first
        return self.budget.seconds - spent


_SCOPE: contextvars.ContextVar[ProbeScope | None] = contextvars.ContextVar(
    "prodaudit_probe_scope", default=None
)
SETUP = "(setup)"  # discovery, logins and the reachability probe, shared by every check
OUTSIDE = "(no check)"


def current_scope() -> ProbeScope | None:
    return _SCOPE.get()


@contextlib.contextmanager
def probe_scope(name: str, budget: Budget | None = None) -> Iterator[ProbeScope]:
    """Attribute the requests sent inside (this task and the tasks it starts) to ``name``, and
    bound them by ``budget``."""
    scope = ProbeScope(name, budget)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


@dataclass
class ProbePolicy:
    """What the audit may send to the target. The default allows everything (plain use of
    ``Http``); the audit's context builds it from the configuration."""

    allow_mutations: bool = True
    exclude: tuple[str, ...] = ()
    max_llm_calls: int | None = None
    base_path: str = ""
    llm_paths: set[str] = field(default_factory=set)

    def excluded(self, url: str) -> str | None:
        """The ``[probes] exclude`` pattern that matches ``url``'s path (also relative to the
        base URL's path), else None."""
        path = urlsplit(url).path or "/"
        paths = [path]
        base = self.base_path.rstrip("/")
        if base and path.startswith(base + "/"):
            paths.append(path[len(base) :])
        for pattern in self.exclude:
            if any(fnmatch.fnmatchcase(p, pattern) for p in paths):
                return pattern
        return None

    def is_llm(self, method: str, url: str) -> bool:
        """A (potentially billable) call of a known LLM endpoint."""
        if method.upper() in SAFE_METHODS:
            return False
        path = (urlsplit(url).path or "/").rstrip("/") or "/"
        base = self.base_path.rstrip("/")
        rel = path[len(base) :] if base and path.startswith(base + "/") else path
        return path in self.llm_paths or rel in self.llm_paths

    def refusal(self, method: str, url: str, *, login: bool = False) -> tuple[str, str] | None:
        """(kind, reason) when ``method url`` must not be sent, else None."""
        pattern = self.excluded(url)
        if pattern is not None:
            return "excluded", (
                f"{method} {urlsplit(url).path} not sent: excluded by [probes] exclude "
                f"pattern {pattern!r}"
            )
        if method.upper() not in SAFE_METHODS and not login and not self.allow_mutations:
            return "mutation", (
                f"{method} {urlsplit(url).path} not sent: needs --allow-mutations (read-only audit)"
            )
        return None


class Ledger:
    """Every request the audit sent, per check and per method, and every request it refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: dict[str, Counter[str]] = {}
        self.refused: dict[str, Counter[str]] = {}
        self.refusals: list[dict[str, str]] = []
        self.llm_calls: Counter[str] = Counter()

    def record_sent(self, check: str, method: str, *, llm: bool = False) -> None:
        with self._lock:
            self.sent.setdefault(check, Counter())[method.upper()] += 1
            if llm:
                self.llm_calls[check] += 1

    def record_refused(self, check: str, method: str, url: str, kind: str, reason: str) -> None:
        with self._lock:
            self.refused.setdefault(check, Counter())[kind] += 1
            if len(self.refusals) < MAX_REFUSALS_KEPT:
                self.refusals.append(
                    {"check": check, "request": f"{method.upper()} {url}", "kind": kind,
                     "reason": reason}
                )

    @property
    def total(self) -> int:
        with self._lock:
            return sum(sum(c.values()) for c in self.sent.values())

    @property
    def total_llm_calls(self) -> int:
        with self._lock:
            return sum(self.llm_calls.values())

    def refused_for(self, check: str) -> int:
        with self._lock:
            return sum(self.refused.get(check, Counter()).values())

    def to_dict(self) -> dict[str, Any]:
        """The ledger as audit.json's ``requests``: totals, per method, per check, refusals."""
        with self._lock:
            by_method: Counter[str] = Counter()
            for counts in self.sent.values():
                by_method.update(counts)
            refused_kinds: Counter[str] = Counter()
            for counts in self.refused.values():
                refused_kinds.update(counts)
            return {
                "total": sum(by_method.values()),
                "by_method": dict(sorted(by_method.items())),
                "by_check": {
                    check: dict(sorted(counts.items())) for check, counts in sorted(self.sent.items())
                },
                "top_checks": [
                    [check, total] for check, total in sorted(
                        ((c, sum(m.values())) for c, m in self.sent.items()),
                        key=lambda kv: (-kv[1], kv[0]),
                    )[:10]
                ],
                "llm_calls": sum(self.llm_calls.values()),
                "refused": {
                    "total": sum(refused_kinds.values()),
                    "by_kind": dict(sorted(refused_kinds.items())),
                    "by_check": {
                        check: dict(sorted(c.items())) for check, c in sorted(self.refused.items())
                    },
                    "examples": list(self.refusals),
                },
            }


class Http:
    """Wraps one ``httpx.AsyncClient``: bounded requests, recorded exchanges, the request ledger
    and the probe policy (read-only, exclusions, budgets)."""

    def __init__(
        self,
        *,
        timeout: float,
        max_body_bytes: int,
        verify: bool = False,
        max_exchanges: int = 5000,
        policy: ProbePolicy | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._verify = verify
        self._client: httpx.AsyncClient | None = None
        self._fresh: httpx.AsyncClient | None = None  # no keep-alive: for requests that write
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.max_exchanges = max_exchanges
        self.policy = policy or ProbePolicy()
        self.ledger = Ledger()

    @property
    def count(self) -> int:
        """Requests sent so far (redirect hops included)."""
        return self.ledger.total

    def refusal(self, method: str, url: str, *, login: bool = False) -> str | None:
        """Why ``method url`` would not be sent by the policy (read-only, exclusions), else None:
        lets a check leave an operation out without trying it."""
        refused = self.policy.refusal(method, url, login=login)
        return refused[1] if refused else None

    def _refuse(self, method: str, url: str, kind: str, reason: str) -> NotSent:
        scope = _SCOPE.get()
        name = scope.name if scope else OUTSIDE
        if scope is not None:
            scope.refused.append(reason)
        self.ledger.record_refused(name, method, url, kind, reason)
        return NotSent(reason, kind)

    def _admit(self, method: str, url: str, *, login: bool) -> None:
        """Apply the policy and the budgets to one request about to be sent (redirect hops
        too); count it, or raise ``NotSent``."""
        method = method.upper()
        refused = self.policy.refusal(method, url, login=login)
        if refused is not None:
            raise self._refuse(method, url, *refused)
        scope = _SCOPE.get()
        llm = self.policy.is_llm(method, url)
        with self._lock:
            now = time.monotonic()
            if scope is not None and scope.budget is not None:
                b = scope.budget
                if scope.sent >= b.requests:
                    reason = (
                        f"{method} {urlsplit(url).path} not sent: the probe budget of "
                        f"{scope.name} is spent ({b.requests} requests, {b.source})"
                    )
                    kind = "budget"
                elif scope.first is not None and now - scope.first > b.seconds:
                    reason = (
                        f"{method} {urlsplit(url).path} not sent: the probe budget of "
                        f"{scope.name} is spent ({b.seconds:g} s, {b.source})"
                    )
                    kind = "budget"
                else:
                    reason = kind = ""
            else:
                reason = kind = ""
            limit = self.policy.max_llm_calls
            if not reason and llm and limit is not None and self.ledger.total_llm_calls >= limit:
                reason = (
                    f"{method} {urlsplit(url).path} not sent: {limit} billable LLM calls made "
                    "(probes.max_llm_calls)"
                )
                kind = "llm-budget"
            if not reason and scope is not None:
                scope.sent += 1
                if scope.first is None:
                    scope.first = now
        if reason:
            raise self._refuse(method, url, kind, reason)
        self.ledger.record_sent(scope.name if scope else OUTSIDE, method, llm=llm)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._new_client(keepalive=20)
        return self._client

    @property
    def fresh_client(self) -> httpx.AsyncClient:
        """The client for requests that write (not GET, HEAD, OPTIONS): every request on a new
        connection. A write sent on a kept-alive connection the server has just closed fails
        without an answer and cannot be repeated (the server may have acted on it); whether the
        server had closed it yet is a race, so the answer to a probe would depend on timing."""
        if self._fresh is None:
            self._fresh = self._new_client(keepalive=0)
        return self._fresh

    def _new_client(self, keepalive: int) -> httpx.AsyncClient:
        from http.cookiejar import DefaultCookiePolicy

        import httpx

        client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            verify=self._verify,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=keepalive),
            headers={"User-Agent": "prodaudit"},
            event_hooks={"request": [self._on_redirect_hop]},
        )
        # store no cookie: a Set-Cookie from one answer (a login) must never ride along on
        # later requests (unauthenticated probes); checks send cookies explicitly as headers
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return client

    async def _on_redirect_hop(self, request: httpx.Request) -> None:
        """httpx calls this before sending every request; redirect hops (marked by
        ``request``) go through the same policy and ledger as the first request."""
        if request.extensions.get("prodaudit_first"):
            request.extensions.pop("prodaudit_first")
            return
        self._admit(request.method, str(request.url),
                    login=bool(request.extensions.get("prodaudit_login")))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._fresh is not None:
            await self._fresh.aclose()
            self._fresh = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, Any] | None = None,
        follow_redirects: bool = False,
        timeout: float | None = None,
        max_body_bytes: int | None = None,
        record: bool = True,
        login: bool = False,
    ) -> Exchange:
        """Send one request; never raises for network errors (the Exchange carries the error).
        Raises ``NotSent`` when the policy or the budget refuses it (nothing is sent).
        ``login=True`` marks a login attempt: the one unsafe request a read-only audit sends."""
        import httpx

        limit = max_body_bytes or self.max_body_bytes
        deadline = timeout or self.timeout
        req = self.client.build_request(
            method, url, headers=headers, json=json, data=data, files=files, content=content,
            params=params,
            timeout=httpx.Timeout(deadline),
            extensions={"prodaudit_first": True, "prodaudit_login": login},
        )
        self._admit(req.method, str(req.url), login=login)
        start = time.monotonic()
        try:
            try:
                ex = await asyncio.wait_for(
                    self._send(req, limit, follow_redirects, start), timeout=deadline * 2 + 1
                )
            except _stale_connection():
                if req.method not in SAFE_METHODS and not login:
                    raise
                # a kept-alive connection the server had closed (servers without keep-alive,
                # idle timeouts): a safe request or a login is sent once more on a fresh
                # connection, counted like any other
                req = self.client.build_request(
                    method, url, headers=headers, json=json, data=data, files=files,
                    content=content, params=params, timeout=httpx.Timeout(deadline),
                    extensions={"prodaudit_first": True, "prodaudit_login": login},
                )
                self._admit(req.method, str(req.url), login=login)
                ex = await asyncio.wait_for(
                    self._send(req, limit, follow_redirects, start), timeout=deadline * 2 + 1
                )
        except TimeoutError:
            ex = _error_exchange(req, start, f"no complete response within {deadline * 2 + 1:.0f} s")
        except httpx.TooManyRedirects:
            ex = _error_exchange(req, start, "too many redirects (redirect loop?)")
        except httpx.TimeoutException as exc:
            ex = _error_exchange(req, start, f"timed out after {deadline:.0f} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ex = _error_exchange(req, start, why)
        except NotSent as exc:  # a redirect hop the policy refused: the answer so far is kept
            ex = _error_exchange(req, start, f"redirect not followed: {exc.reason}")
        if record:
            with self._lock:
                if len(self.exchanges) < self.max_exchanges:
                    self.exchanges.append(ex)
        return ex

    async def _send(
        self, req: httpx.Request, limit: int, follow: bool, start: float
    ) -> Exchange:
        client = self.client if req.method in SAFE_METHODS else self.fresh_client
        resp = await client.send(req, stream=True, follow_redirects=follow)
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            async for chunk in resp.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    truncated = True
                    break
            body = b"".join(chunks)[:limit]
        finally:
            await resp.aclose()
        return Exchange(
            method=req.method,
            url=str(resp.request.url),
            request_headers=dict(resp.request.headers),
            request_body=_request_body(resp.request),
            status=resp.status_code,
            headers=resp.headers,
            body=body,
            truncated=truncated,
            elapsed_s=time.monotonic() - start,
        )

    async def get(self, url: str, **kw: Any) -> Exchange:
        return await self.request("GET", url, **kw)


def _request_body(req: httpx.Request) -> bytes:
    import httpx

    try:
        return req.content
    except httpx.RequestNotRead:  # a streamed body (multipart): read it, it is in memory
        try:
            return req.read()
        except (httpx.StreamError, TypeError):
            return b""


def _error_exchange(req: httpx.Request, start: float, error: str) -> Exchange:
    return Exchange(
        method=req.method,
        url=str(req.url),
        request_headers=dict(req.headers),
        request_body=_request_body(req),
        status=None,
        elapsed_s=time.monotonic() - start,
        error=error,
    )


def join_url(base: str, path: str) -> str:
    """``base`` + absolute path or full URL."""
    if path.startswith(("http://", "https://")):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")
