"""RDY-020–026: the frontend's sources, read statically (React or plain single-page apps)."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.readiness._boundaries import library_boundaries
from prodaudit.checks.readiness._frontend_api import (
    CLIENT_NAME,
    IMPORT_FROM,
    api_usage,
    client_modules,
)
from prodaudit.checks.readiness._scan import (
    FrontendSources,
    frontend_sources,
    line_of,
    page_scripts_only,
)
from prodaudit.checks.readiness._templates import VIEWPORT, index_pages, page_head


def _sources(ctx: Context) -> FrontendSources:
    src = frontend_sources(ctx)
    if not src.files:
        copied = (f"; {len(src.third_party)} third-party file(s) not judged"
                  if src.third_party else "")
        raise Skip("no frontend sources (.js/.jsx/.ts/.tsx/.vue/.svelte outside build output)"
                   + copied)
    return src


def _app_sources(ctx: Context) -> FrontendSources:
    """The frontend sources when they make a JavaScript application, else SKIP with the reason
    (``_scan.page_scripts_only``)."""
    src = _sources(ctx)
    if why := page_scripts_only(src):
        raise Skip(why)
    return src


def _is_react(src: FrontendSources) -> bool:
    return "react" in src.dependencies() or any(
        re.search(r"""from\s+["']react["']|React\.createElement|\bjsx\b""", t)
        for t in src.files.values()
    )


@check(
    "RDY-020",
    "Frontend API calls go through one client module",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.2.4",),
    evidence=Evidence.PARSED,
)
def api_client(ctx: Context) -> list[Finding]:
    """Network calls of the frontend (``fetch``, ``axios``, ``XMLHttpRequest``) live in one API
    client module (or an ``api/`` directory) that the components import, instead of being
    scattered over components. Components that import an API client module — followed through
    relative imports and the frontend's path aliases (``tsconfig``/``jsconfig`` ``paths``, a
    Vite/webpack ``alias``, ``@/`` → ``src/``), e.g. a generated OpenAPI client whose request code
    is not committed — call the API through it: the same notion as RDY-022. Neither a network
    call nor a client import is a warning: the frontend does not appear to call an API.

    One client is where the base URL, the auth header, token refresh, timeouts and error mapping
    are implemented once; scattered calls drift apart and some of them forget the auth header or
    the error handling.

    Not judged (SKIP) for a server-rendered site without a JavaScript application: no
    ``package.json``, no framework, and at most ``TRIVIAL_JS_LINES`` (20) lines of the site's
    own JavaScript (a one-line widget initialiser); copied third-party files are never the
    product's code (see RDY-025).

    Remediation: move every request into ``src/api/client.(js|ts)`` (one function per endpoint)
    and import those functions in components.
    """
    src = _app_sources(ctx)
    usage = api_usage(ctx)
    net = usage.net
    if not net and usage.client_imports:
        users = sorted(usage.client_imports)
        rel = users[0]
        line, spec, _ = usage.client_imports[rel]
        return [passed(f"no network call in the frontend's own sources outside its API client: "
                       f"{len(users)} file(s) call the API through {', '.join(client_modules(usage)[:3])} "
                       f"(e.g. {rel}:{line} imports '{spec}'); the client's requests are not in the "
                       "repository's sources (a generated client?)", location=f"{rel}:{line}")]
    if not net:
        return [warned(f"no network call (fetch/axios/XMLHttpRequest) and no API client import in "
                       f"{len(src.files)} frontend source file(s): the frontend does not appear to "
                       "call an API")]
    clients = [rel for rel in net if CLIENT_NAME.search(rel)]
    scattered = [rel for rel in net if rel not in clients]
    if len(net) == 1:
        rel = next(iter(net))
        return [passed(f"all {len(net[rel])} network call(s) are in one module: {rel}",
                       location=f"{rel}:{net[rel][0]}")]
    if not scattered:
        return [passed(f"network calls only in the API client module(s): {', '.join(clients)}",
                       location=f"{clients[0]}:{net[clients[0]][0]}")]
    return [warned(f"network call(s) outside the API client in {rel} "
                   f"(lines {', '.join(map(str, net[rel][:5]))})", location=f"{rel}:{net[rel][0]}")
            for rel in scattered]


@check(
    "RDY-021",
    "Frontend has an error boundary or a global error handler",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.2.3",),
    evidence=Evidence.PARSED,
)
def error_boundary(ctx: Context) -> list[Finding]:
    """A React frontend has an error boundary (a component with ``componentDidCatch`` or
    ``getDerivedStateFromError``, ``react-error-boundary``, or a library's boundary such as
    ``<Sentry.ErrorBoundary>``/``<Bugsnag.ErrorBoundary>`` — a component named ``…ErrorBoundary``
    imported from a package — rendered around the app); a non-React frontend registers a
    global ``error``/``unhandledrejection`` handler.

    Without one, a rendering error unmounts the whole React tree and the user sees a blank page;
    an unhandled promise rejection fails silently.

    Not judged (SKIP) for a server-rendered site without a JavaScript application (as RDY-020:
    no ``package.json``, no framework, at most 20 lines of own JavaScript).

    Remediation: wrap the app (and risky subtrees) in an ``ErrorBoundary`` that shows a fallback
    and reports the error; in plain JS add ``window.addEventListener("error", ...)`` and
    ``"unhandledrejection"`` handlers that show a message.
    """
    src = _app_sources(ctx)
    react = _is_react(src)
    rx = re.compile(r"componentDidCatch|getDerivedStateFromError|react-error-boundary|"
                    r"<ErrorBoundary\b") if react else \
        re.compile(r"addEventListener\(\s*['\"](error|unhandledrejection)['\"]|window\.onerror|"
                   r"onunhandledrejection")
    hits = [(rel, line_of(t, m.start()), m.group(0))
            for rel, t in src.files.items() for m in [rx.search(t)] if m]
    library = library_boundaries(src.files) if react else []
    hits += [(rel, n, w) for rel, n, w in library if (rel, n) not in {(r, m) for r, m, _ in hits}]
    kind = "React error boundary" if react else "global error handler"
    if not hits:
        return [
            failed(
                f"no {kind} in {len(src.files)} frontend source file(s)",
                location=next(iter(src.files)),
            )
        ]
    where = ", ".join(f"{r}:{n} ({w})" for r, n, w in hits[:4])
    if react:
        # a boundary counts when it is rendered: <Name ...> of a class that catches, or of
        # react-error-boundary's component
        names = {m.group(1) for t in src.files.values()
                 for m in re.finditer(r"class\s+(\w+)\s+extends\s+(?:React\.)?(?:Pure)?Component\b"
                                      r"(?=[\s\S]{0,3000}?(?:componentDidCatch|"
                                      r"getDerivedStateFromError))", t)}
        if any("react-error-boundary" in w for _, _, w in hits):
            names.add("ErrorBoundary")
        used = [(rel, line_of(t, m.start())) for rel, t in src.files.items()
                for m in re.finditer(r"<(\w+)[\s>/]", t) if m.group(1) in names]
        used += [(rel, n) for rel, n, _ in library]
        if not used:
            return [passed(f"{kind} defined but never rendered around components (present, "
                           f"not verified): {where}", location=f"{hits[0][0]}:{hits[0][1]}",
                           level=Evidence.PRESENT)]
        return [passed(f"{kind} rendered at {used[0][0]}:{used[0][1]}; defined: {where}",
                       location=f"{used[0][0]}:{used[0][1]}")]
    return [passed(f"{kind}: {where}", location=f"{hits[0][0]}:{hits[0][1]}")]


_LOADING = re.compile(
    r"loading|isLoading|pending|isFetching|fetching|spinner|aria-busy|skeleton|\.busy\b|setBusy|"
    r"booting|submitting|saving|sending|inFlight|progress",
    re.I,
)
_ERROR_STATE = re.compile(r"\.catch\s*\(|catch\s*\(|\berror\b|isError|onError|setError", re.I)


@check(
    "RDY-022",
    "Data-fetching code handles loading and error states",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.2.5",),
    evidence=Evidence.PRESENT,
)
def loading_states(ctx: Context) -> list[Finding]:
    """Every frontend file that fetches data (calls the network, or imports the API client —
    as RDY-020 finds it, path aliases resolved — and awaits something or uses a data-fetching
    hook) also handles a loading state and an error state. A heuristic on the source text:
    findings are WARN.

    Without a loading state users click twice or think the app hangs; without an error state a
    failed request leaves an empty or stale screen.

    Remediation: track ``loading``/``error`` around each request (or use a data-fetching hook
    that exposes them) and render a spinner/``aria-busy`` and an error message.
    """
    src = _sources(ctx)
    usage = api_usage(ctx)
    users: list[str] = []
    for rel, text in src.files.items():
        if rel in usage.net and CLIENT_NAME.search(rel):
            continue  # the client itself
        calls_async = re.search(r"\bawait\b|\.then\s*\(|use(Query|SWR|Mutation)\b", text)
        if rel in usage.net or (rel in usage.client_imports and calls_async):
            users.append(rel)
    if not users:
        if usage.client_imports:
            rel = next(iter(usage.client_imports))
            raise Skip(f"the API client is imported ({rel}:{usage.client_imports[rel][0]}) but no "
                       "file awaits it or uses a data-fetching hook")
        raise Skip("no frontend file fetches data (no network call, no API client import)")
    findings: list[Finding] = []
    for rel in users:
        text = src.files[rel]
        missing = [
            n for n, rx in (("loading", _LOADING), ("error", _ERROR_STATE)) if not rx.search(text)
        ]
        if missing:
            findings.append(
                warned(
                    f"{rel} fetches data but shows no {' or '.join(missing)} state", location=rel
                )
            )
    if not findings:
        findings.append(
            passed(
                f"{len(users)} data-fetching file(s) handle loading and error "
                f"states: {', '.join(users[:6])}"
            )
        )
    return findings


_COMPONENT_DIRS = frozenset({"components", "pages", "views", "hooks", "api"})


@check(
    "RDY-023",
    "Frontend components are split into modules of reasonable size",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.2.1",),
    evidence=Evidence.PARSED,
)
def component_structure(ctx: Context) -> list[Finding]:
    """Frontend source files stay under ``readiness.max_file_lines`` lines, and a project with
    several files keeps components in a ``components/`` (or ``pages/``, ``views/``) directory.

    Thousand-line components mix data fetching, state and markup and are where regressions hide.

    Remediation: split large files into presentational components, hooks and API functions.
    """
    src = _sources(ctx)
    limit = ctx.cfg.readiness.max_file_lines
    findings: list[Finding] = []
    for rel, text in src.files.items():
        n = len(text.splitlines())
        if n > limit:
            findings.append(warned(f"{rel} has {n} lines (limit {limit})", location=rel))
    dirs = {p for rel in src.files for p in rel.split("/")[:-1]}
    if len(src.files) > 3 and not dirs & {
        "components",
        "pages",
        "views",
        "routes",
        "screens",
        "features",
        "widgets",
    }:
        findings.append(
            warned(
                f"{len(src.files)} frontend files and no components/pages/views directory",
                location=next(iter(src.files)),
            )
        )
    if not findings:
        findings.append(
            passed(
                f"{len(src.files)} frontend source file(s), none over {limit} "
                "lines; component directories: "
                f"{', '.join(sorted(dirs & _COMPONENT_DIRS)) or 'n/a'}"
            )
        )
    return findings


_STATE_LIBS = {
    "redux": ("redux", "@reduxjs/toolkit", "react-redux"),
    "zustand": ("zustand",),
    "mobx": ("mobx", "mobx-react", "mobx-react-lite"),
    "recoil": ("recoil",),
    "jotai": ("jotai",),
    "valtio": ("valtio",),
    "xstate": ("xstate",),
    "pinia": ("pinia",),
    "vuex": ("vuex",),
    "effector": ("effector",),
}


@check(
    "RDY-024",
    "One state-management approach in the frontend",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.2.2",),
    evidence=Evidence.PARSED,
)
def state_management(ctx: Context) -> list[Finding]:
    """The frontend uses at most one global state-management library (Redux, Zustand, MobX,
    Recoil, Jotai, Valtio, XState, Pinia, Vuex, Effector) and creates one Redux store, judged
    from the sources' imports and ``package.json``. Two libraries imported by the sources, or two
    stores, FAIL; two declared in ``package.json`` but not both imported WARN. With no store
    library the pass is on presence only (component state and context: consistency is for a
    person to judge).

    Two state libraries mean two sources of truth for the same data and two ways to update it.

    Remediation: pick one store (or React context plus hooks for a small app) and migrate the
    other's state into it.
    """
    src = _sources(ctx)
    deps = src.dependencies()
    where: dict[str, str] = {}  # library -> first import location
    stores: list[str] = []
    for rel, text in src.files.items():
        for m in IMPORT_FROM.finditer(text):
            name = m.group(1).split("/")
            package = "/".join(name[:2] if name[0].startswith("@") else name[:1])
            lib = next((n for n, pkgs in _STATE_LIBS.items() if package in pkgs), None)
            if lib is not None:
                where.setdefault(lib, f"{rel}:{line_of(text, m.start())}")
        stores += [f"{rel}:{line_of(text, m.start())}" for m in _STORE.finditer(text)]
    declared = sorted(n for n, pkgs in _STATE_LIBS.items() if any(p in deps for p in pkgs))
    findings: list[Finding] = []
    if len(where) > 1:
        findings += [
            failed(f"state library {lib} imported here while the frontend also uses "
                   f"{', '.join(sorted(set(where) - {lib}))}: two sources of truth", location=loc)
            for lib, loc in sorted(where.items())
        ]
    if len(stores) > 1:
        findings.append(failed(f"{len(stores)} Redux stores created ({', '.join(stores[:4])}): "
                               "one store per app", location=stores[0]))
    if findings:
        return findings
    if len(declared) > 1:
        pkg = next(iter(src.package_json), next(iter(src.files)))
        return [warned(f"{len(declared)} state-management libraries declared in package.json: "
                       f"{', '.join(declared)} ({', '.join(sorted(where)) or 'none'} imported)",
                       location=pkg)]
    if where:
        [(lib, loc)] = where.items()
        return [passed(f"one state-management library: {lib} (first imported at {loc}); "
                       f"{len(stores) or 'no'} Redux store", location=loc)]
    return [passed("no global store library imported (component state / context only): "
                   "consistency not judged" + (f"; {declared[0]} declared but not imported"
                                               if declared else ""),
                   level=Evidence.PRESENT)]


_STORE = re.compile(r"(?<![\w.])(createStore|configureStore|legacy_createStore)\s*\(")


_XSS_SINK = re.compile(
    r"dangerouslySetInnerHTML|\.innerHTML\s*\+?=(?!=)|\.outerHTML\s*=(?!=)|"
    r"insertAdjacentHTML\s*\(|document\.write(ln)?\s*\(|(?<![\w.])eval\s*\(|"
    r"new\s+Function\s*\(|v-html\s*=|\{@html\s"
)
_SANITIZED = re.compile(r"DOMPurify\.sanitize|sanitizeHtml|sanitize\(|escapeHtml\(", re.I)


@check(
    "RDY-025",
    "No unsanitised HTML sinks in the frontend",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.3.5",),
    references=("CWE-79", "OWASP A03:2021"),
    evidence=Evidence.PARSED,
)
def xss_sinks(ctx: Context) -> list[Finding]:
    """Frontend sources do not write HTML strings into the DOM (``dangerouslySetInnerHTML``,
    ``innerHTML =``, ``insertAdjacentHTML``, ``document.write``, ``v-html``, ``{@html}``) or
    evaluate strings (``eval``, ``new Function``) unless the same line sanitises the value
    (``DOMPurify.sanitize``). Copied third-party files are not the product's code and are not
    judged by any RDY-02x check: bundles with a licence banner naming a version
    (``/*! Library v1.2.3 | MIT */``), minified or packed files (``.min.``, ``-min.js``,
    ``.pack.js``), versioned file names (``coreapi-0.1.0.js``), build and vendor folders,
    Django's collected static of installed third-party apps (``static/admin/``,
    ``static/rest_framework/``: a namespace named after an ``INSTALLED_APPS`` entry whose
    package is not in the repository, or a well-known app's, in a ``static`` folder outside the
    project's Python packages), and a library's package index copied out of its tree (only
    ``require``/``import`` of relative files the repository lacks, next to a vendored bundle,
    like Bootstrap's ``npm.js``).

    These are the DOM-XSS sinks: an API answer or LLM output that contains markup becomes script
    in the user's session. ``textContent`` and JSX text are escaped automatically.

    Remediation: render text with ``textContent``/JSX, or sanitise with DOMPurify right where the
    HTML is assigned.
    """
    src = _sources(ctx)
    findings: list[Finding] = []
    for rel, text in src.files.items():
        lines = text.splitlines()
        for m in _XSS_SINK.finditer(text):
            n = line_of(text, m.start())
            line = lines[n - 1] if n <= len(lines) else ""
            if _SANITIZED.search(line) or re.search(r"innerHTML\s*=\s*(['\"]{2}|``)\s*;?", line):
                continue
            findings.append(
                failed(
                    f"HTML/script sink {m.group(0).strip()} without sanitising",
                    location=f"{rel}:{n}",
                    evidence=line.strip()[:200],
                )
            )
    if not findings:
        findings.append(passed(f"no unsanitised HTML sink in {len(src.files)} frontend file(s)"))
    return findings


@check(
    "RDY-026",
    "Built page declares a responsive viewport",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.2.6", "4.3.3"),
    evidence=Evidence.PARSED,
)
def viewport_meta(ctx: Context) -> list[Finding]:
    """The frontend's HTML entry page (``index.html`` in the build output or the sources, or a
    server-side ``index`` template: ``index.jinja2``, ``index.html.j2`` ...) has a
    ``<meta name="viewport" content="width=device-width, ...">`` that does not disable zooming.
    A Django or Jinja2 child template (``{% extends "base.html" %}``) is judged by its
    ancestors' ``<head>``: the parent is found by name among the repository's files (one right
    under a ``templates``/``jinja2`` folder first, then the nearest to the child; ``./`` names
    relative to the child), up to 10 levels. A parent that cannot be found, or one chosen at run
    time (``{% extends layout %}``), is not judged (SKIP for that page).

    Without it phones render the desktop layout scaled down; ``user-scalable=no`` or
    ``maximum-scale=1`` block zooming, an accessibility failure (WCAG 1.4.4).

    Remediation: add ``<meta name="viewport" content="width=device-width, initial-scale=1">`` to
    the page's ``<head>``.
    """
    pages = index_pages(ctx)
    if not pages:
        raise Skip("no index page (index.html or an index template) in the repository")
    findings: list[Finding] = []
    for rel in pages:
        head = page_head(ctx, rel)
        if isinstance(head, str):
            findings.append(skipped(f"{rel} {head}: viewport not judged", location=rel))
            continue
        where, text, chain = head
        m = VIEWPORT.search(text)
        if not m:
            findings.append(failed("no viewport meta tag" + (
                f" in {rel} or the templates it extends ({', '.join(chain)})" if chain else ""),
                location=rel))
            continue
        tag, loc = m.group(0), f"{where}:{line_of(text, m.start())}"
        via = f" (in {where}, which {rel} extends)" if chain else ""
        if "width=device-width" not in tag.replace(" ", ""):
            findings.append(failed(f"viewport meta tag without width=device-width{via}",
                                   location=loc, evidence=tag))
        elif re.search(r"user-scalable\s*=\s*(no|0)|maximum-scale\s*=\s*1(\.0)?\b", tag):
            findings.append(warned(f"viewport meta tag disables zooming{via}", location=loc,
                                   evidence=tag))
        else:
            findings.append(passed(f"responsive viewport declared{via}", location=loc,
                                   evidence=tag))
    return findings
