"""Finding the health endpoints, shared by the functional checks (FUN-001–009, FUN-050).
Not a check module."""

from __future__ import annotations

import difflib
import functools
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from prodaudit.checks.api import Context, Exchange, Finding, NotSent, Skip, errored

LIVENESS_CANDIDATES = (
    "/health",
    "/healthz",
    "/api/health",
    "/api/v1/health",
    "/livez",
    "/ping",
    "/status",
    "/api/healthz",
    "/health/live",
)


class Unusable(Exception):
    """Health candidates answered, but unusably (a redirect loop, ...): the check is ERROR."""


class LivenessDown(Unusable):
    """The liveness endpoint answers 5xx or nothing: a sick backend (FUN-001 fails, CRITICAL;
    the checks that only need the path are ERROR)."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message)
        self.exchange = exchange


def unusable_is_error(
    func: Callable[[Context], Awaitable[list[Finding]]],
) -> Callable[[Context], Awaitable[list[Finding]]]:
    """Turn ``Unusable`` raised while finding health endpoints into an ERROR finding."""

    @functools.wraps(func)
    async def wrapper(ctx: Context) -> list[Finding]:
        try:
            return await func(ctx)
        except Unusable as exc:
            return [errored(str(exc), location=ctx.base_url)]

    return wrapper


async def redirect_trouble(ctx: Context, redirected: list[str]) -> None:
    """Raise Unusable when following a candidate's redirect fails (loop, dead end)."""
    if not redirected:
        return
    ex = await ctx.http.get(ctx.url(redirected[0]), follow_redirects=True)
    if ex.status is None:
        raise Unusable(f"GET {redirected[0]}: {ex.error}")


class NoLiveness(Skip):
    """No candidate is a liveness endpoint: FUN-001 fails and lists what was tried (``tried``:
    one note per candidate); the checks that only need the path skip with the same reason.
    ``lookalike`` is the first 200 answer that was not a liveness answer (a catch-all page, an
    HTML page), where the finding is located."""

    def __init__(self, notes: list[tuple[str, str]], first_url: str,
                 lookalike: Exchange | None) -> None:
        self.tried = grouped(notes)
        super().__init__(f"no liveness endpoint found (tried {'; '.join(self.tried)}); set "
                         "health.liveness_path")
        self.first_url = first_url
        self.lookalike = lookalike


def grouped(notes: list[tuple[str, str]]) -> list[str]:
    """``[(path, what it answered)]`` as "a, b -> 404" lines, one per distinct answer, in order."""
    order: dict[str, list[str]] = {}
    for path, what in notes:
        order.setdefault(what, []).append(path)
    return [f"{', '.join(paths)} {what}" for what, paths in order.items()]


_HTML_RE = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)
UNKNOWN_PATH = "/prodaudit-not-a-route-"


def html_page(ex: Exchange) -> bool:
    """An HTML document (a page for people), not a health answer: ``OK`` served as text/html by
    a framework default is not one."""
    return bool(_HTML_RE.search(ex.body[:4096]))


def same_page(a: Exchange, b: Exchange, paths: tuple[str, ...]) -> bool:
    """Two answers are the same page once the requested paths are blanked out (a soft 404 that
    echoes the path is still the same page)."""
    ctype = (a.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != (b.header("content-type") or "").split(";")[0].strip().lower():
        return False
    texts = []
    for ex in (a, b):
        text = ex.text[:6000]
        for p in paths:
            text = text.replace(p, "").replace(p.strip("/"), "")
        texts.append(" ".join(text.split()))
    if texts[0] == texts[1]:
        return True
    return difflib.SequenceMatcher(None, texts[0], texts[1]).ratio() >= 0.9


class UnknownPath:
    """The answer to one made-up path, fetched once when a candidate answers 200."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.path = f"{UNKNOWN_PATH}{secrets.token_hex(4)}"
        self.ex: Exchange | None = None
        self.sent = False

    async def get(self) -> Exchange | None:
        if not self.sent:
            self.sent = True
            try:
                self.ex = await self.ctx.http.get(self.ctx.url(self.path))
            except NotSent:
                self.ex = None
        return self.ex


async def not_health_answer(unknown: UnknownPath, path: str, ex: Exchange) -> str | None:
    """Why a complete 200 answer of a health candidate is not a health answer, else None."""
    other = await unknown.get()
    if other is not None and other.status == 200 and same_page(ex, other, (path, unknown.path)):
        return (f"answer 200 like the made-up path {unknown.path} (a catch-all or soft-404 "
                "page, not a health endpoint)")
    if html_page(ex):
        return "answer 200 with an HTML page (a page for people, not a health answer)"
    return None


def _relative(ctx: Context, url: str) -> str:
    """``url`` as a path relative to the base URL (where a redirect led)."""
    base = urlsplit(ctx.base_url)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return url
    path = parts.path
    prefix = base.path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    return path + (f"?{parts.query}" if parts.query else "")


def _candidates(ctx: Context, doc_paths: list[str] | None) -> tuple[list[str], list[str]]:
    """(declared paths, every candidate in order)."""
    if ctx.cfg.health.liveness_path:
        return [ctx.cfg.health.liveness_path], [ctx.cfg.health.liveness_path]
    declared = doc_paths or []
    return declared, declared + [c for c in LIVENESS_CANDIDATES if c not in declared]


async def find_liveness(ctx: Context) -> tuple[str, list[str]]:
    """The liveness path (configured, from OpenAPI, or a common path) and the paths tried. A
    candidate that redirects is followed (same origin); a 200 that is a catch-all page or an
    HTML page is not a liveness endpoint.

    Raises ``LivenessDown`` when the backend is sick: the first request gets no answer, a
    declared liveness path (configured or in the OpenAPI document) answers 5xx, or every
    candidate answers 5xx; ``NoLiveness`` (a Skip) when no candidate is one. Paths excluded by
    ``[probes] exclude`` are not tried."""
    doc_paths = None
    if not ctx.cfg.health.liveness_path:
        try:
            doc = await ctx.openapi()
            doc_paths = sorted((op.path for op in doc.operations if op.method == "GET"
                                and "health" in op.path.lower() and "{" not in op.path), key=len)
        except Skip:
            pass
    declared, candidates = _candidates(ctx, doc_paths)
    tried: list[str] = []
    notes: list[tuple[str, str]] = []
    sick: list[tuple[str, Exchange]] = []
    lookalike: Exchange | None = None
    unknown = UnknownPath(ctx)
    for path in candidates[:12]:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent:
            continue  # excluded by the owner
        tried.append(path)
        if ex.status is None:
            if len(tried) == 1 or path in declared:
                raise LivenessDown(f"GET {path}: no answer: {ex.error}", ex)
            raise Unusable(f"GET {path}: {ex.error}")
        if 300 <= ex.status < 400:
            ex = await _follow(ctx, path)
        if ex.status == 200:
            if not ex.usable:
                return path, tried  # FUN-001 judges the unusable answer (ERROR)
            why = await not_health_answer(unknown, path, ex)
            if why is None:
                return _relative(ctx, ex.url), tried
            lookalike = lookalike or ex
            notes.append((_relative(ctx, ex.url), why))
            continue
        assert ex.status is not None
        if ex.status >= 500:
            if path in declared:
                raise LivenessDown(f"GET {path} answered {ex.status}", ex)
            sick.append((path, ex))
        notes.append((path, f"-> {ex.status}"))
    if sick and len(sick) == len(tried):
        path, ex = sick[0]
        raise LivenessDown(
            f"every liveness candidate answered 5xx ({', '.join(p for p, _ in sick)}); "
            f"GET {path} answered {ex.status}",
            ex,
        )
    raise NoLiveness(notes, ctx.url(tried[0]) if tried else ctx.base_url, lookalike)


async def _follow(ctx: Context, path: str) -> Exchange:
    """The end of a candidate's redirects; Unusable when they loop or lead nowhere."""
    try:
        ex = await ctx.http.get(ctx.url(path), follow_redirects=True)
    except NotSent as exc:
        raise Unusable(f"GET {path}: {exc.reason}") from None
    if ex.status is None:
        raise Unusable(f"GET {path}: {ex.error}")
    return ex
