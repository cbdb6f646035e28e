"""The routes a live probe can put values into, with or without an OpenAPI document: the
document's safe operations (parameters filled from the schema), and without one the links and
forms of the pages the API serves (followed two levels deep, anonymously and with the audit
session) and the URL patterns a Django DEBUG 404 page lists. Shared by the security probes; a
bounded shared discovery step (``(setup)`` in the request ledger). Not a check module."""

from __future__ import annotations

import contextlib
import html
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

from prodaudit.auth import AuthSession
from prodaudit.checks.api import Context, Exchange, NotSent, OpenAPIDoc, Skip
from prodaudit.checks.security._handlers import repository_body_routes
from prodaudit.http import SETUP, Budget, probe_scope
from prodaudit.llmdetect import words_of
from prodaudit.openapi_fill import build_request, param_value

MAX_PAGES = 12  # pages fetched while following links
MAX_INCLUDES = 8  # Django include prefixes whose own 404 page is fetched
MAX_ROUTES = 60
ASSET_RE = re.compile(r"\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|eot|pdf|zip|"
                      r"gz|mp4|mp3|txt|xml)$", re.I)
# links a crawler must never follow: they end the session or change state on GET
UNSAFE_WORDS = frozenset({"logout", "signout", "revoke", "delete", "remove", "destroy", "reset",
                          "unsubscribe", "deactivate", "disable", "drop", "purge", "clear",
                          "approve", "reject", "accept", "confirm", "activate", "publish",
                          "cancel", "vote", "like", "follow", "trigger", "run", "execute",
                          "send", "enqueue", "kill", "restart", "shutdown", "import", "sync"})
AUTH_WORDS = frozenset({"login", "signin", "token", "refresh", "register", "signup", "password"})
ID_SEGMENT_RE = re.compile(r"^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
                           re.I)
_PARAM_RE = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Route:
    """One request shape: a path template (relative to the base URL), the ordinary (baseline)
    value of each path and query parameter, and whether it needs the audit session."""

    method: str
    template: str
    path_values: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] | None = None  # an HTML form's fields (POST)
    auth: bool = False
    source: str = "openapi"
    body: str = "form"  # how ``form`` is sent: "form" (urlencoded) or "json"

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, values: dict[str, str] | None = None) -> str:
        """The path with the baseline values, ``values`` overriding some."""
        vals = {**dict(self.path_values), **(values or {})}
        return _PARAM_RE.sub(lambda m: _quote_segment(vals.get(m.group(1), "1")), self.template)

    def url(self, ctx: Context, values: dict[str, str] | None = None,
            query: dict[str, str] | None = None) -> str:
        q = {**dict(self.query), **(query or {})}
        return ctx.url(self.path(values)) + (f"?{urlencode(q)}" if q else "")


def _quote_segment(value: str) -> str:
    return quote(value, safe="-._~")


@dataclass
class Routes:
    routes: list[Route] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what discovery looked at
    pages: list[Exchange] = field(default_factory=list)  # the pages fetched (anonymous first)

    def add(self, route: Route) -> None:
        if len(self.routes) < MAX_ROUTES and all(r.key != route.key or r.auth != route.auth
                                                 for r in self.routes):
            self.routes.append(route)


def safe_link(path: str) -> bool:
    """A same-origin link a crawler may follow: not an asset, nothing that ends the session or
    changes state on GET."""
    words = words_of(path)
    split = any({a, b} <= words for a in ("log", "sign") for b in ("out", "off"))
    return not (ASSET_RE.search(path) or words & UNSAFE_WORDS or split)


# ---- OpenAPI ------------------------------------------------------------------------------
def openapi_routes(doc: OpenAPIDoc) -> list[Route]:
    """The document's GET operations (authentication endpoints left out), parameters filled
    from the schema; protected ones need the audit session."""
    out = []
    for op in doc.operations:
        if op.method != "GET" or words_of(op.path) & (AUTH_WORDS | UNSAFE_WORDS):
            continue
        req = build_request(doc, op, {})
        if req is None:
            continue
        path, query, _ = req
        for p in op.parameters:  # optional query parameters are where searches live
            name = str(p.get("name", ""))
            if p.get("in") == "query" and name not in query:
                value, _ = param_value(doc, p, {})
                query[name] = "1" if value is None or isinstance(value, dict | list) else value
        values = _values_from(op.path, path)
        out.append(Route("GET", op.path, tuple(values.items()),
                         tuple((k, str(v)) for k, v in query.items()),
                         auth=doc.is_protected(op), source="openapi"))
    return out


def _values_from(template: str, path: str) -> dict[str, str]:
    rx = "^" + _PARAM_RE.sub(r"(?P<\1>[^/]+)", re.escape(template).replace(r"\{", "{")
                             .replace(r"\}", "}")) + "$"
    try:
        m = re.match(rx, path)
    except re.error:
        return {}
    return {k: v for k, v in (m.groupdict() if m else {}).items()}


# ---- pages: links and forms -------------------------------------------------------------------
class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action", ""), "method": (a.get("method") or "get").upper(),
                          "fields": []}
            self.forms.append(self._form)
        elif tag in ("input", "textarea", "select") and self._form is not None and a.get("name"):
            self._form["fields"].append((a["name"], a.get("value", ""), a.get("type", "text")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def page_links(ex: Exchange) -> tuple[list[str], list[dict[str, Any]]]:
    """(same-origin link URLs, forms with absolute action URLs) of an HTML or JSON answer."""
    base = ex.url
    origin = urlsplit(base)[:2]
    links: list[str] = []
    forms: list[dict[str, Any]] = []
    ctype = (ex.header("content-type") or "").lower()
    if "json" in ctype:
        raw = re.findall(r'"((?:https?://[^"\s]+)|(?:/[^"\s]*))"', ex.text)
    else:
        parser = _PageParser()
        with contextlib.suppress(Exception):  # broken markup: use what was parsed
            parser.feed(ex.text[:500_000])
        raw = parser.links
        for form in parser.forms:
            form["action"] = urljoin(base, html.unescape(form["action"]) or base)
            if urlsplit(form["action"])[:2] == origin:
                forms.append(form)
    for href in raw:
        url = urljoin(base, html.unescape(href.strip()))
        if urlsplit(url)[:2] == origin and urlsplit(url).scheme in ("http", "https"):
            links.append(url.split("#", 1)[0])
    return links, forms


def link_route(ctx: Context, url: str, auth: bool) -> Route | None:
    """A link as a route: numeric or UUID segments become path parameters, the query string
    query parameters."""
    parts = urlsplit(url)
    base_path = urlsplit(ctx.base_url).path.rstrip("/")
    path = parts.path
    if base_path and path.startswith(base_path):
        path = path[len(base_path):] or "/"
    segs = path.split("/")
    values: dict[str, str] = {}
    for i, seg in enumerate(segs):
        if ID_SEGMENT_RE.match(seg):
            name = f"{segs[i - 1].rstrip('s') or 'id'}_id" if i > 0 and segs[i - 1] else "id"
            name = re.sub(r"\W", "_", name)
            while name in values:
                name += "_"
            values[name] = seg
            segs[i] = "{" + name + "}"
    query = tuple((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True))
    if not safe_link(path):
        return None
    return Route("GET", "/".join(segs), tuple(values.items()), query, auth=auth, source="link")


def form_route(ctx: Context, form: dict[str, Any], auth: bool) -> Route | None:
    """An HTML form as a route: GET forms put their fields in the query, POST forms in a form
    body (sent only with --allow-mutations). Fields keep the page's value, else a made-up one of
    their type (a unique e-mail address, a random password)."""
    fields = [(n, v, t) for n, v, t in form["fields"] if t not in ("submit", "button", "image",
                                                                    "file", "reset")]
    if not fields:
        return None
    route = link_route(ctx, form["action"].split("?", 1)[0], auth)
    if route is None or (form["method"] == "GET" and any(t == "password" for _, _, t in fields)):
        return None
    values = tuple((n, v or _made_up(t)) for n, v, t in fields)
    if form["method"] == "GET":
        return Route("GET", route.template, route.path_values, values, auth=auth, source="form")
    return Route("POST", route.template, route.path_values, (), form=values, auth=auth,
                 source="form")


def _made_up(kind: str) -> str:
    if kind in ("number", "range"):
        return "1"
    if kind == "email":
        return f"prodaudit-{secrets.token_hex(4)}@example.com"
    if kind == "password":
        return secrets.token_urlsafe(12) + "aA1!"
    return "prodaudit"


_MADE_UP_RE = re.compile(r"prodaudit(-[0-9a-f]{8}@example\.com)?")


def fresh(value: str) -> str:
    """``value`` with the made-up text or e-mail address it starts with (``_made_up``) replaced
    by a new unique one, the rest kept (a probe's suffix). A form posted again with the same
    made-up user name or address can be refused before it reaches the code under test (a unique
    constraint, "already registered"), so every post of a form gets its own."""
    m = _MADE_UP_RE.match(value)
    if m is None:
        return value
    new = (f"prodaudit-{secrets.token_hex(4)}@example.com" if m.group(1)
           else f"prodaudit{secrets.token_hex(4)}")
    return new + value[m.end():]


# ---- Django's DEBUG 404 page --------------------------------------------------------------
_DJANGO_LI = re.compile(r"<li>(.*?)</li>", re.S)
_DJANGO_NAMED = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_DJANGO_CONV = re.compile(r"<(?:\w+:)?(\w+)>")


def django_patterns(text: str) -> list[str]:
    """The URL patterns a Django DEBUG 404 page lists, as path templates (``^books/(?P<isbn>
    [0-9]+)/$`` and ``books/<int:isbn>/`` both become ``/books/{isbn}/``); an include prefix
    ends with ``/`` and has no ``$``. Patterns with other regular-expression syntax are left
    out."""
    if "Django tried these URL patterns" not in text:
        return []
    block = text.split("Django tried these URL patterns", 1)[1].split("</ol>", 1)[0]
    out: list[str] = []
    for li in _DJANGO_LI.findall(block):
        li = re.sub(r"\[name=[^\]]*\]", "", html.unescape(re.sub(r"<[^>]+>", " ", li)))
        parts = [p for p in li.split() if p]
        joined = "".join(p.lstrip("^").rstrip("$") for p in parts)
        joined = _DJANGO_NAMED.sub(lambda m: "{" + m.group(1) + "}", joined)
        joined = _DJANGO_CONV.sub(lambda m: "{" + m.group(1) + "}", joined)
        if re.search(r"[()\[\]*+?\\|^$]", joined):
            continue
        template = "/" + joined
        if template not in out:
            out.append(template)
    return out


async def _django_routes(ctx: Context, found: Routes) -> None:
    """Routes from Django DEBUG 404 pages: the root's, then each include prefix's own."""
    probe = f"prodaudit-{secrets.token_hex(3)}"
    ex = await ctx.http.get(ctx.url("/" + probe))
    patterns = django_patterns(ex.text) if ex.status == 404 else []
    if not patterns:
        return
    found.sources.append("Django DEBUG 404 page")
    includes = [p for p in patterns if p.endswith("/") and "{" not in p and p != "/"]
    for prefix in list(dict.fromkeys(includes))[:MAX_INCLUDES]:
        sub = await ctx.http.get(ctx.url(prefix + probe))
        patterns += [p for p in django_patterns(sub.text) if p not in patterns]
    for template in patterns:
        if template in includes or not safe_link(template):
            continue
        names = _PARAM_RE.findall(template)
        found.add(Route("GET", template, tuple((n, "1") for n in names), source="django-debug"))


# ---- discovery --------------------------------------------------------------------------------
async def _get_following(ctx: Context, url: str, headers: dict[str, str] | None) -> Exchange:
    """GET ``url`` following same-origin redirects (at most 5) with the same headers: the HTTP
    client drops an explicit ``Cookie`` header on a redirect, which logs a cookie session out."""
    origin = urlsplit(url)[:2]
    ex = await ctx.http.get(url, headers=headers)
    for _ in range(5):
        target = urljoin(ex.url, ex.header("location") or "")
        if ex.status not in (301, 302, 303, 307, 308) or urlsplit(target)[:2] != origin:
            break
        ex = await ctx.http.get(target, headers=headers)
    return ex


async def crawl(ctx: Context, found: Routes, session: AuthSession | None) -> None:
    """Follow same-origin links two levels deep from ``/`` (and from the login page), collecting
    routes from links and forms."""
    headers = session.headers() if session is not None else None
    auth = session is not None
    queue = ["/"] + ([ctx.cfg.auth.login_url] if ctx.cfg.auth.login_url else [])
    seen: set[str] = set()
    depth = {ctx.url(p): 0 for p in queue}
    urls = [ctx.url(p) for p in queue]
    fetched = 0
    while urls and fetched < MAX_PAGES // (2 if auth else 1):
        url = urls.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            ex = await _get_following(ctx, url, headers)
        except NotSent:
            continue
        if ex.url != url and ex.url in seen:
            continue  # redirected to a page already read (``/`` and the login page to ``/home``)
        seen.add(ex.url)
        fetched += 1
        if not safe_link(urlsplit(ex.url).path):
            continue  # redirected somewhere a crawler does not go
        if ex.status != 200 or ex.truncated:
            continue
        found.pages.append(ex)
        links, forms = page_links(ex)
        for form in forms:
            route = form_route(ctx, form, auth)
            if route is not None:
                found.add(route)
        for link in links:
            route = link_route(ctx, link, auth)
            if route is None:
                continue
            if route.path_values or route.query:
                found.add(route)
            if link not in depth and depth[url] < 2:
                depth[link] = depth[url] + 1
                urls.append(link)


def _repository_routes(ctx: Context, found: Routes) -> None:
    """Routes the repository declares whose handlers read named body fields (posted only with
    --allow-mutations, so only collected then)."""
    if not ctx.cfg.allow_mutations:
        return
    body = repository_body_routes(ctx)
    if body:
        found.sources.append("the body fields the repository's handlers read")
    for template, kind, fields in body:
        names = _PARAM_RE.findall(template)
        found.add(Route("POST", template, tuple((n, "1") for n in names), (), form=fields,
                        source="repository", body=kind))


async def discover_routes(ctx: Context) -> Routes:
    """The routes of the target (memoised): the OpenAPI document's GET operations when there is
    one, else the crawled links and forms, a Django DEBUG 404 page's patterns and (with
    --allow-mutations) the declared routes whose handlers read named body fields."""

    async def build() -> Routes:
        found = Routes()
        try:
            doc: OpenAPIDoc | None = await ctx.openapi()
        except Skip:
            doc = None
        try:
            session: AuthSession | None = await ctx.auth()
        except Skip:
            session = None
        budget = Budget(max(30, ctx.cfg.probes.max_requests), ctx.cfg.probes.max_seconds,
                        "probes.max_seconds (shared route discovery)")
        with probe_scope(SETUP, budget):
            if doc is not None:
                found.sources.append(f"the OpenAPI document ({doc.source})")
                for route in openapi_routes(doc):
                    found.add(route)
                return found
            found.sources.append("links and forms of the pages served")
            try:
                await crawl(ctx, found, None)
                if session is not None:
                    await crawl(ctx, found, session)
                await _django_routes(ctx, found)
            except NotSent:  # the discovery budget is spent: keep what was found
                found.sources.append("(discovery budget spent)")
            _repository_routes(ctx, found)
        return found

    result: Routes = await ctx.amemo("sec:routes", build)
    return result
