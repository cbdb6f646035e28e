"""FUN-040–043: the frontend and its wiring to the backend."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)

MAX_ASSETS = 30
LOOPBACK = ("localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]")  # noqa: S104
CONFIG_KEY_RE = re.compile(
    r"""["']?(apiBaseUrl|apiBaseURL|API_BASE_URL|apiUrl|apiURL|API_URL|baseURL|baseUrl|apiRoot|"""
    r"""VITE_API_URL|VITE_API_BASE_URL|REACT_APP_API_URL|NEXT_PUBLIC_API_URL|apiEndpoint)["']?"""
    r"""\s*[:=]\s*["'`]([^"'`]*)["'`]"""
)
URL_RE = re.compile(r"""https?://[A-Za-z0-9._~:@\[\]-]+(?:/[^\s"'`<>)\\]*)?""")
METHOD_RE = re.compile(r"""method\s*:\s*["'](GET|POST|PUT|PATCH|DELETE)["']""", re.I)
JS_TYPES = ("javascript", "ecmascript", "text/jsx")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.inline: list[str] = []
        self._in_script = False
        self.root_div = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            else:
                self._in_script = True
        elif tag == "link" and "stylesheet" in a.get("rel", "").lower() and a.get("href"):
            self.styles.append(a["href"])
        elif tag == "div" and a.get("id") in ("root", "app", "__next", "svelte", "main"):
            self.root_div = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


@dataclass
class Bundle:
    """The frontend's index page and the scripts and stylesheets it references."""

    index: Exchange
    scripts: list[tuple[str, Exchange | None]] = field(default_factory=list)
    styles: list[tuple[str, Exchange | None]] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)
    spa: bool = False

    @property
    def js_text(self) -> str:
        parts = list(self.inline)
        parts += [ex.text for _, ex in self.scripts if ex is not None and ex.status == 200]
        return "\n".join(parts)


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}".lower()


async def load_bundle(ctx: Context) -> Bundle:
    """Fetch the index page and its same-origin assets once per run."""
    base = ctx.cfg.frontend_url
    if not base:
        raise Skip("no --frontend-url given")

    async def build() -> Bundle:
        index = await ctx.http.get(
            base + "/", headers={"Accept": "text/html"}, follow_redirects=True
        )
        bundle = Bundle(index=index)
        if index.status != 200:
            return bundle
        parser = _Assets()
        parser.feed(index.text)
        bundle.inline = parser.inline
        bundle.spa = parser.root_div or 'type="module"' in index.text
        allowed = {_origin(base)} | ({_origin(ctx.cfg.base_url)} if ctx.cfg.base_url else set())
        for kind, refs in (("script", parser.scripts), ("style", parser.styles)):
            for ref in refs[:MAX_ASSETS]:
                url = urljoin(index.url, ref)
                ex = await ctx.http.get(url) if _origin(url) in allowed else None
                (bundle.scripts if kind == "script" else bundle.styles).append((url, ex))
        return bundle

    bundle: Bundle = await ctx.amemo("functional:bundle", build)
    return bundle


@check(
    "FUN-040",
    "Frontend serves HTML and every script and stylesheet loads",
    severity=Severity.HIGH,
    needs=("frontend",),
    checklist=("4.3.1", "1.2.4"),
    evidence=Evidence.OBSERVED,
)
async def frontend_assets(ctx: Context) -> list[Finding]:
    """The frontend URL answers 200 with HTML, and every script and stylesheet the page references
    on its own origin (or the API's) answers 200 with a JavaScript or CSS content type. Assets on
    other origins (CDNs) are listed, not fetched.

    A missing or mistyped bundle (wrong base path, stale hash after a deploy, a server answering
    ``text/html`` for ``.js``) is a blank page for every user; browsers refuse scripts served with
    the wrong type when ``nosniff`` is set.

    Remediation: deploy the built assets together with ``index.html``, serve them with correct
    MIME types, and check the page after every deploy.
    """
    bundle = await load_bundle(ctx)
    idx = bundle.index
    loc = f"GET {idx.url}"
    if idx.status is None:
        return [errored(f"{loc}: {idx.error}", location=loc)]
    ctype = (idx.header("content-type") or "").lower()
    if idx.status != 200 or "html" not in ctype:
        return [
            failed(
                f"{loc} answered {idx.status} {ctype or '(no content type)'}, not 200 HTML",
                location=loc,
                evidence=idx.evidence(),
            )
        ]
    findings: list[Finding] = []
    good = 0
    external = []
    for kind, items in (("script", bundle.scripts), ("stylesheet", bundle.styles)):
        for url, ex in items:
            if ex is None:
                external.append(url)
                continue
            aloc = f"GET {url}"
            act = (ex.header("content-type") or "").lower()
            want_ok = any(t in act for t in JS_TYPES) if kind == "script" else "text/css" in act
            if ex.status != 200:
                findings.append(
                    failed(
                        f"{kind} {url} answered {ex.status or ex.error}",
                        location=aloc,
                        evidence=ex.evidence(body_chars=200),
                    )
                )
            elif not want_ok:
                findings.append(
                    failed(
                        f"{kind} {url} is served as {act or '(no content type)'}",
                        location=aloc,
                        evidence=ex.evidence(body_chars=200),
                    )
                )
            else:
                good += 1
    if not bundle.scripts and not bundle.styles:
        findings.append(warned(f"{loc} references no script or stylesheet", location=loc))
    if external:
        findings.append(
            skipped(
                f"{len(external)} asset(s) on other origins not fetched: {', '.join(external[:5])}"
            )
        )
    if good:
        findings.append(
            passed(
                f"{loc} is HTML; {good} script/stylesheet asset(s) load with the "
                "right content type",
                location=loc,
            )
        )
    return findings


def _api_candidates(text: str) -> tuple[list[str], list[str]]:
    """(values of API-base-URL config keys, every absolute URL) found in JavaScript."""
    keyed = [m.group(2) for m in CONFIG_KEY_RE.finditer(text)]
    urls = sorted({m.group(0).rstrip(".,;") for m in URL_RE.finditer(text)})
    return keyed, urls


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK or host.startswith("127.")


async def _judge_api_base(ctx: Context, value: str, api: str, index_url: str,
                          where: str) -> Finding:
    """One API base URL configured in the bundle: the audited backend, or reachable through
    the frontend's origin?"""
    if value.startswith(("http://", "https://")):
        if _origin(value) == api:
            return passed(f"the frontend's API base URL {value} is the audited backend ({where})",
                          location=where)
        if _is_loopback(value) and not _is_loopback(api):
            return failed(f"the frontend's API base URL is {value} (localhost) "
                          f"but the backend is {api}", location=where)
        return failed(f"the frontend's API base URL {value} is not the audited backend {api}",
                      location=where)
    probe = await ctx.http.get(urljoin(index_url, (value or "/").rstrip("/") + "/openapi.json"))
    if probe.usable and "json" in (probe.header("content-type") or ""):
        return passed(f"the frontend uses a same-origin API base "
                      f"{value or '(empty)'} and the API answers there", location=where)
    return warned(f"the frontend uses a same-origin API base {value or '(empty)'} but "
                  f"{probe.url} answered {probe.status or probe.error}: the backend "
                  f"{api} must be reachable through the frontend origin",
                  location=where, evidence=probe.evidence(body_chars=200))


@check(
    "FUN-041",
    "API base URL compiled into the frontend is the audited backend",
    severity=Severity.HIGH,
    needs=("frontend", "live"),
    checklist=("1.2.4", "2.1.3"),
    evidence=Evidence.OBSERVED,
)
async def frontend_api_url(ctx: Context) -> list[Finding]:
    """The API base URL the frontend uses (a config key such as ``apiBaseUrl``, ``VITE_API_URL``,
    ``REACT_APP_API_URL`` in the inline scripts, ``/config.js`` or the bundle) points at the
    audited backend (``--base-url``), and not at ``localhost`` when the backend is elsewhere.
    A relative or empty base (same-origin deployment behind a proxy) is verified by calling the
    API through the frontend origin.

    A bundle built with a development ``.env`` sends every production user's requests to
    ``http://localhost:8000``: the site loads and nothing works.

    Remediation: inject the API URL at deploy time (runtime ``config.js`` or build-time variable
    from the production environment) and check it in CI against the deployment's URL.
    """
    bundle = await load_bundle(ctx)
    if bundle.index.status != 200:
        raise Skip(f"frontend index answered {bundle.index.status or bundle.index.error} (FUN-040)")
    api = _origin(ctx.base_url)
    keyed, urls = _api_candidates(bundle.js_text)
    where = ", ".join(u for u, _ in bundle.scripts[:4]) or bundle.index.url
    if keyed:
        findings: list[Finding] = []
        for value in sorted(set(keyed)):
            findings.append(await _judge_api_base(ctx, value, api, bundle.index.url, where))
        return findings
    if any(_origin(u) == api for u in urls):
        return [passed(f"the bundle references the audited backend {api}", location=where)]
    local = [u for u in urls if _is_loopback(u)]
    if local and not _is_loopback(api):
        return [
            failed(
                f"the bundle references {', '.join(local[:3])} but the backend is {api}",
                location=where,
            )
        ]
    raise Skip(
        "no API base URL found in the frontend's scripts (no config key, no URL of the "
        "backend); configure the check's frontend settings if it is assembled differently"
    )


@check(
    "FUN-042",
    "CORS preflight from the frontend origin succeeds",
    severity=Severity.HIGH,
    needs=("frontend", "live"),
    checklist=("8.2.3", "1.2.4"),
    references=("OWASP API8:2023",),
    evidence=Evidence.OBSERVED,
)
async def frontend_cors(ctx: Context) -> list[Finding]:
    """When the frontend and the API are on different origins, a CORS preflight (``OPTIONS`` with
    ``Origin`` = the frontend origin) for each method the bundle uses and the headers it sends
    (``Authorization``, ``Content-Type``) answers 2xx and allows that origin, method and those
    headers.

    A CORS allowlist that misses the production frontend origin breaks every cross-origin call
    in the browser while server-side tests still pass.

    Remediation: add the exact frontend origin (scheme, host, port) to the API's CORS allowlist
    with the methods and headers the frontend uses.
    """
    bundle = await load_bundle(ctx)
    assert ctx.cfg.frontend_url
    origin = _origin(ctx.cfg.frontend_url)
    api = _origin(ctx.base_url)
    if origin == api:
        raise Skip(f"frontend and API share the origin {origin}: no CORS preflight needed")
    text = bundle.js_text
    methods = sorted({m.upper() for m in METHOD_RE.findall(text)} - {"GET"}) or ["POST"]
    headers = [h for h in ("Authorization", "Content-Type") if h.lower() in text.lower()]
    path = "/"
    try:
        doc = await ctx.openapi()
        ops = [o for o in doc.operations if "{" not in o.path and o.method != "GET"]
        if ops:
            path = ops[0].path
    except Skip:
        pass
    findings: list[Finding] = []
    ok = []
    for method in methods[:5]:
        req_headers = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            req_headers["Access-Control-Request-Headers"] = ", ".join(h.lower() for h in headers)
        ex = await ctx.http.request("OPTIONS", ctx.url(path), headers=req_headers)
        loc = f"OPTIONS {ex.url}"
        if ex.status is None:
            findings.append(errored(f"{loc}: {ex.error}", location=loc))
            continue
        allow_origin = ex.header("access-control-allow-origin") or ""
        allow_methods = (ex.header("access-control-allow-methods") or "").upper()
        allow_headers = (ex.header("access-control-allow-headers") or "").lower()
        problems = []
        if not 200 <= ex.status < 300:
            problems.append(f"status {ex.status}")
        if allow_origin not in (origin, "*"):
            problems.append(f"Access-Control-Allow-Origin is {allow_origin or 'missing'}")
        if method not in allow_methods and "*" not in allow_methods:
            problems.append(
                f"{method} not in Access-Control-Allow-Methods ({allow_methods or '-'})"
            )
        missing = [
            h for h in headers if h.lower() not in allow_headers and "*" not in allow_headers
        ]
        if missing:
            problems.append(f"{', '.join(missing)} not in Access-Control-Allow-Headers")
        if problems:
            findings.append(
                failed(
                    f"preflight {method} from {origin}: {'; '.join(problems)}",
                    location=loc,
                    evidence=ex.evidence(body_chars=200),
                )
            )
        else:
            ok.append(method)
    if ok:
        findings.append(
            passed(
                f"preflight from {origin} allowed for {', '.join(ok)} with headers "
                f"{', '.join(headers) or '(none)'}",
                location=f"OPTIONS {ctx.url(path)}",
            )
        )
    return findings


@check(
    "FUN-043",
    "Single-page app deep links fall back to index.html",
    severity=Severity.LOW,
    needs=("frontend",),
    checklist=("4.3.1",),
    evidence=Evidence.OBSERVED,
)
async def spa_fallback(ctx: Context) -> list[Finding]:
    """For a single-page app (a root element such as ``<div id="root">``), a deep link that is not
    a file (``/prodaudit/deep/link``) answers 200 with the same HTML as ``/`` so client-side
    routing can render it.

    Without the fallback, reloading any page other than the home page or opening a shared link
    is a 404.

    Remediation: configure the static server (nginx ``try_files $uri /index.html``, the
    framework's SPA mode) to serve ``index.html`` for unknown paths that accept HTML.
    """
    bundle = await load_bundle(ctx)
    if bundle.index.status != 200:
        raise Skip(f"frontend index answered {bundle.index.status or bundle.index.error}")
    if not bundle.spa:
        raise Skip("the index page does not look like a single-page app (no root element)")
    assert ctx.cfg.frontend_url
    ex = await ctx.http.get(
        ctx.cfg.frontend_url + "/prodaudit/deep/link",
        headers={"Accept": "text/html"},
        follow_redirects=True,
    )
    loc = f"GET {ex.url}"
    if ex.status != 200 or "html" not in (ex.header("content-type") or "").lower():
        return [
            failed(
                f"deep link {loc} answered {ex.status or ex.error} "
                f"{ex.header('content-type') or ''}",
                location=loc,
                evidence=ex.evidence(body_chars=300),
            )
        ]
    first_script = next(iter(u for u, _ in bundle.scripts), "")
    name = first_script.rsplit("/", 1)[-1]
    if name and name not in ex.text:
        return [
            failed(
                f"deep link {loc} answered HTML that is not the app's index.html "
                f"({name} not referenced)",
                location=loc,
                evidence=ex.evidence(body_chars=300),
            )
        ]
    return [passed(f"deep link {loc} answered the app's index.html", location=loc)]
