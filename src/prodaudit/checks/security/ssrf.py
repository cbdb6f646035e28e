"""SEC-088: the server does not fetch a URL a client puts into a parameter (server-side request
forgery), observed with a listener the audit starts on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
)
from prodaudit.checks.security._common import live_location
from prodaudit.checks.security._routes import AUTH_WORDS, Route, discover_routes
from prodaudit.llmdetect import words_of
from prodaudit.redact import mask_evidence

MAX_PARAMS = 8  # URL-like parameters probed in all
WAIT = 3.0  # seconds a fetch is waited for after each answer
URL_WORDS = frozenset({"url", "uri", "link", "image", "img", "avatar", "callback", "webhook",
                       "feed", "src", "href", "photo", "picture", "icon", "logo", "redirect"})
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ae0000000049454e44ae426082")


class Listener:
    """A tiny HTTP server on 127.0.0.1 (a random port) that records the paths requested under
    its random token and answers each with a 1x1 PNG."""

    def __init__(self) -> None:
        self.token = "pa-" + secrets.token_hex(8)
        self.hits: list[tuple[str, str]] = []  # (path, user agent)
        hits, token = self.hits, self.token

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if token in self.path:
                    hits.append((self.path, self.headers.get("User-Agent", "")))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(_PNG)))
                self.end_headers()
                self.wfile.write(_PNG)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/{n}.png"

    def hit(self, n: int) -> tuple[str, str] | None:
        return next((h for h in self.hits if h[0].startswith(f"/{self.token}/{n}.png")), None)


@contextmanager
def listening() -> Iterator[Listener]:
    lis = Listener()
    thread = threading.Thread(target=lis.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lis
    finally:
        lis.server.shutdown()
        lis.server.server_close()
        thread.join(5)


def url_params(route: Route) -> list[tuple[str, str]]:
    """(where, name) of the route's parameters that look like a URL: a URL word in the name
    (``image_url``, ``avatarUri``, ``callback``) or a value starting with http."""
    fields = route.form if route.form is not None else route.query
    where = "form" if route.form is not None else "query"
    return [(where, n) for n, v in fields
            if words_of(n) & URL_WORDS or v.lower().startswith(("http://", "https://"))]


@dataclass
class _Probe:
    findings: list[Finding] = field(default_factory=list)
    not_fetched: list[str] = field(default_factory=list)  # accepted, reached, no fetch
    unproven: list[str] = field(default_factory=list)  # no fetch, but reaching it not shown
    not_probed: list[str] = field(default_factory=list)
    params: int = 0


async def _send(ctx: Context, route: Route, headers: dict[str, str] | None, where: str,
                name: str, value: str) -> Exchange:
    if route.form is not None:
        body = {**dict(route.form), name: value}
        if route.body == "json":
            return await ctx.http.request("POST", ctx.url(route.path()), headers=headers,
                                          json=body)
        return await ctx.http.request("POST", ctx.url(route.path()), headers=headers, data=body)
    return await ctx.http.get(route.url(ctx, None, {name: value}), headers=headers)


async def _fetched(lis: Listener, n: int) -> tuple[str, str] | None:
    for _ in range(int(WAIT / 0.1)):
        if (hit := lis.hit(n)) is not None:
            return hit
        await asyncio.sleep(0.1)
    return lis.hit(n)


def _accepted(ex: Exchange) -> bool:
    return ex.status is not None and 200 <= ex.status < 400


async def _param(ctx: Context, lis: Listener, route: Route, headers: dict[str, str] | None,
                 spot: tuple[str, str], probe: _Probe) -> None:
    where, name = spot
    n = probe.params
    probe.params += 1
    what = f"{route.key}: {where} parameter {name!r}"
    bad = await _send(ctx, route, headers, where, name, "prodaudit-not-a-url")
    ex = await _send(ctx, route, headers, where, name, lis.url(n))
    hit = await _fetched(lis, n)
    if hit is not None:
        agent = f" (User-Agent {hit[1]!r})" if hit[1] else ""
        probe.findings.append(failed(
            f"{what}: the server fetched the URL it was given — a listener the audit started "
            f"on 127.0.0.1 received GET {hit[0]}{agent}: server-side request forgery, which "
            "reaches internal services and cloud metadata endpoints",
            location=live_location(ex), evidence=mask_evidence(ex.evidence(600)),
            severity=Severity.HIGH))
        return
    # reached the handler: a non-URL is refused where the URL is accepted, or the URL is echoed
    reached = _accepted(ex) and (
        (bad.status is not None and bad.status >= 400) or lis.url(n) in ex.text)
    (probe.not_fetched if reached else probe.unproven).append(
        f"{what} (answered {ex.status}, non-URL {bad.status})")


@check(
    "SEC-088",
    "The server does not fetch URLs from request parameters (SSRF)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.3",),
    references=("CWE-918", "OWASP API7:2023"),
    evidence=Evidence.OBSERVED,
)
async def server_side_request_forgery(ctx: Context) -> list[Finding]:
    """Only with ``--allow-mutations``: even a GET makes the target fetch something on its own
    network, and forms that post change data. The audit starts a one-shot HTTP listener on
    127.0.0.1 (random port, random path token) and puts its URL into every parameter of the
    discovered routes (OpenAPI GET operations, the links and forms of the pages served, protected
    ones with the audit session; sign-up, login and password forms never) whose name looks like
    a URL (url, uri, link, image, avatar, callback, webhook, feed, src …) or whose value starts
    with ``http``. A request the listener receives within a few seconds is a failure: the server
    fetches client-supplied URLs. No fetch is a PASS only when the request was accepted (2xx/3xx)
    and the parameter demonstrably reached the handler (a non-URL value is refused, or the answer
    shows the URL); otherwise not verified. The listener is reachable only from a target on this
    machine, so other targets are not probed. At most 8 parameters (two requests each), bounded by
    ``probes.max_requests``; every request is in the ledger.

    Remediation: fetch only from an allow-list of hosts, resolve and refuse private, loopback and
    link-local addresses (and re-check after redirects), or accept uploads instead of URLs.
    """
    if not ctx.cfg.allow_mutations:
        raise Skip("the target would fetch a URL on its own network (a side effect): probed only "
                   "with --allow-mutations")
    host = urlsplit(ctx.url("/")).hostname or ""
    if not _loopback(host):
        raise Skip(f"the target {host} is not on this machine: a fetch of the audit's listener "
                   "on 127.0.0.1 could not be observed")
    found = await discover_routes(ctx)
    spots = [(r, sp) for r in found.routes if not _account_form(r) for sp in url_params(r)]
    if not spots:
        raise Skip(f"no parameter looks like a URL in {len(found.routes)} discovered route(s) "
                   f"({', '.join(found.sources[:4]) or 'no source'})")
    probe = _Probe()
    session: dict[str, str] | None = None
    if any(r.auth for r, _ in spots):
        try:
            session = (await ctx.auth()).headers()
        except Skip as exc:
            probe.not_probed.append(f"protected routes (no login: {exc.reason})")
    with listening() as lis:
        for route, spot in spots[:MAX_PARAMS]:
            if route.auth and session is None:
                continue
            try:
                await _param(ctx, lis, route, session if route.auth else None, spot, probe)
            except NotSent as exc:
                probe.not_probed.append(f"{route.key} ({exc.reason})")
    return _summary(probe)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _account_form(route: Route) -> bool:
    return route.form is not None and (bool(words_of(route.template) & AUTH_WORDS) or any(
        "pass" in name.lower() for name, _ in route.form))


def _summary(probe: _Probe) -> list[Finding]:
    out = list(probe.findings)
    left = probe.not_probed + [f"{u}: not shown to reach the handler" for u in probe.unproven]
    if left:
        out.append(skipped(f"not verified: {'; '.join(left[:5])}"))
    if probe.findings:
        return out
    if not probe.not_fetched:
        raise Skip(f"nothing verified: {'; '.join(left[:5]) or 'no parameter probed'}")
    out.append(passed(f"{len(probe.not_fetched)} URL parameter(s) accepted and no fetch of the "
                      f"audit's listener within {WAIT:.0f}s: {'; '.join(probe.not_fetched[:4])}"))
    return out
