"""RDY-001–019: backend code and architecture, read statically (``ast``; the target's code is
never imported or run by the audit)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.readiness._scan import (
    PyModule,
    Route,
    call_name,
    imports_any,
    py_sources,
    route_decorator,
    routes,
)
from prodaudit.context import Context
from prodaudit.model import Finding, Severity
from prodaudit.outcome import Skip, errored, failed, passed, warned
from prodaudit.registry import check

_NON_APP_DIRS = frozenset({"tools", "scripts", "examples", "docs", "bin", "frontend", "benchmarks"})
_STARTUP_MODULE = re.compile(r"(settings|config|bootstrap|cli|manage|__main__)\.py$")


def backend_modules(ctx: Context) -> list[PyModule]:
    """Modules of the main backend: the package of the FastAPI app with the most routes (helper
    apps in tools/, scripts/ or a frontend server are left out)."""

    def build() -> list[PyModule]:
        app = py_sources(ctx).app
        roots: dict[str, int] = {}
        for m in app:
            if _NON_APP_DIRS & set(m.rel.split("/")[:-1]):
                continue
            if any(
                isinstance(n, ast.Call) and call_name(n).split(".")[-1] == "FastAPI"
                for n in ast.walk(m.tree)
            ):
                root = m.rel.rsplit("/", 1)[0] + "/" if "/" in m.rel else ""
                roots[root] = sum(1 for r in routes(ctx) if r.location.startswith(root))
        if not roots:
            return [m for m in app if not _NON_APP_DIRS & set(m.rel.split("/")[:-1])]
        best = max(roots, key=lambda k: (roots[k], -len(k)))
        return [m for m in app if m.rel.startswith(best)]

    return ctx.memo("rdy:backend", build)


def _web_modules(ctx: Context) -> list[PyModule]:
    mods = [m for m in backend_modules(ctx) if imports_any(m, "fastapi", "starlette")]
    if not mods:
        raise Skip("no FastAPI/Starlette module found in the repository")
    return mods


def _broken(ctx: Context) -> list[Finding]:
    """Unparseable Python files inside the backend's top-level directories (ERROR findings)."""
    tops = {m.rel.split("/")[0] for m in backend_modules(ctx) if "/" in m.rel}
    return [
        errored(f"{rel}: cannot parse: {why}", location=rel)
        for rel, why in py_sources(ctx).broken
        if not tops or rel.split("/")[0] in tops
    ]


def backend_routes(ctx: Context) -> list[Route]:
    """Routes declared in the backend's modules (helper apps left out)."""
    rels = {m.rel for m in backend_modules(ctx)}
    return [r for r in routes(ctx) if r.location.rsplit(":", 1)[0] in rels]


def _app_calls(ctx: Context) -> list[tuple[PyModule, ast.Call]]:
    return [
        (m, node)
        for m in _web_modules(ctx)
        for node in ast.walk(m.tree)
        if isinstance(node, ast.Call) and call_name(node).split(".")[-1] in ("FastAPI", "Starlette")
    ]


# ---- RDY-001 structure ------------------------------------------------------------------------


@check(
    "RDY-001",
    "FastAPI application structured in routers and a settings module",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.1.1",),
)
def app_structure(ctx: Context) -> list[Finding]:
    """The backend creates its application in one place, groups endpoints in ``APIRouter``
    modules and reads its configuration in one settings module.

    All routes on a single ``app`` object in one file, and environment variables read all over
    the code, make the service hard to test and to configure per environment.

    Remediation: create the app in a factory (``create_app()``), move endpoints into
    ``routers/<topic>.py`` with ``APIRouter`` and ``include_router``, and read configuration once in
    a ``pydantic-settings`` ``Settings`` class.
    """
    findings = _broken(ctx)
    apps = _app_calls(ctx)
    if not apps:
        raise Skip("no FastAPI() application object found")
    mods = _web_modules(ctx)
    routers = [
        m.rel
        for m in mods
        if any(
            isinstance(n, ast.Call) and call_name(n).endswith("APIRouter") for n in ast.walk(m.tree)
        )
    ]
    includes = sum(
        1
        for m in mods
        for n in ast.walk(m.tree)
        if isinstance(n, ast.Call) and call_name(n).endswith("include_router")
    )
    all_routes = backend_routes(ctx)
    on_app = [r for r in all_routes if r.location.split(":")[0] in {m.rel for m, _ in apps}]
    if not routers and len(all_routes) > 5:
        findings.append(
            warned(
                f"{len(all_routes)} routes and no APIRouter: every endpoint is declared on the app",
                location=apps[0][0].line(apps[0][1]),
            )
        )
    elif routers and not includes:
        findings.append(
            warned(
                "APIRouter modules exist but no include_router() call was found",
                location=routers[0],
            )
        )
    env_readers = sorted(
        {
            m.rel
            for m in backend_modules(ctx)
            for n in ast.walk(m.tree)
            if isinstance(n, ast.Call)
            and call_name(n) in ("os.getenv", "getenv", "os.environ.get")
            or isinstance(n, ast.Subscript)
            and call_name(n.value) == "os.environ"
        }
    )
    settings_cls = [
        m.rel
        for m in backend_modules(ctx)
        for n in ast.walk(m.tree)
        if isinstance(n, ast.ClassDef)
        and any(call_name(b).endswith("BaseSettings") for b in n.bases)
    ]
    if len(env_readers) > 3:
        findings.append(
            warned(
                f"environment variables are read in {len(env_readers)} modules "
                f"({', '.join(env_readers[:6])}): configuration is not centralised",
                location=env_readers[0],
            )
        )
    if not any(f.status.rank >= 2 for f in findings):
        where = (
            "BaseSettings in " + settings_cls[0]
            if settings_cls
            else (f"env read in {', '.join(env_readers) or 'no module'}")
        )
        findings.append(
            passed(
                f"app created at {apps[0][0].line(apps[0][1])}; {len(routers)} router module(s), "
                f"{includes} include_router call(s), {len(all_routes)} routes "
                f"({len(on_app)} on the app module); configuration: {where}"
            )
        )
    return findings


# ---- RDY-002 exception handlers ---------------------------------------------------------------

_CATCH_ALL = {"Exception", "BaseException"}


def _exc_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"BaseException"}  # bare except
    if isinstance(node, ast.Tuple):
        return {call_name(e).split(".")[-1] for e in node.elts}
    return {call_name(node).split(".")[-1]}


@check(
    "RDY-002",
    "Exception handlers cover the app's errors and unhandled exceptions",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.2",),
    references=("CWE-209", "CWE-755"),
)
def exception_handlers(ctx: Context) -> list[Finding]:
    """The application registers exception handlers (``@app.exception_handler`` /
    ``add_exception_handler``) for its own exception classes and a catch-all for unhandled
    exceptions (a handler for ``Exception`` or an error middleware that catches ``Exception``).

    Without a catch-all, an unexpected error becomes the server's default 500 (plain text, or a
    traceback in debug mode) and the error is not logged with the request's context. An app
    exception that is raised but never handled becomes such a 500 too.

    Remediation: register ``@app.exception_handler(Exception)`` (or an ASGI error middleware) that
    logs the traceback and returns a JSON 500 without details, and a handler for each custom
    exception class (or a common base class) that maps it to a 4xx/5xx JSON answer.
    """
    findings = _broken(ctx)
    mods = _web_modules(ctx)
    handled: set[str] = set()
    handler_locs: list[str] = []
    middleware_added: set[str] = set()
    for m in mods:
        for n in ast.walk(m.tree):
            if not isinstance(n, ast.Call):
                continue
            name = call_name(n).split(".")[-1]
            if name in ("exception_handler", "add_exception_handler") and n.args:
                handled |= _exc_names(n.args[0])
                handler_locs.append(m.line(n))
            elif name == "add_middleware" and n.args or name == "Middleware" and n.args:
                middleware_added.add(call_name(n.args[0]).split(".")[-1])
    catching_mw: list[str] = []
    for m in backend_modules(ctx):
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            if cls.name not in middleware_added:
                continue
            for fn in cls.body:
                if (
                    isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                    and fn.name in ("__call__", "dispatch")
                    and any(
                        isinstance(h, ast.ExceptHandler) and _exc_names(h.type) & _CATCH_ALL
                        for h in ast.walk(fn)
                    )
                ):
                    catching_mw.append(f"{cls.name} ({m.line(cls)})")
    # the app's own exception classes, their bases, where they are raised and caught
    classes: dict[str, tuple[list[str], str]] = {}
    raised: dict[str, str] = {}
    caught: set[str] = set()
    for m in backend_modules(ctx):
        startup = bool(_STARTUP_MODULE.search(m.rel))
        for n in ast.walk(m.tree):
            if isinstance(n, ast.ClassDef):
                bases = [call_name(b).split(".")[-1] for b in n.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    classes[n.name] = (bases, m.line(n))
            elif isinstance(n, ast.Raise) and n.exc is not None and not startup:
                name = call_name(n.exc).split(".")[-1]
                raised.setdefault(name, m.line(n))
            elif isinstance(n, ast.ExceptHandler):
                caught |= _exc_names(n.type)

    def ancestry(name: str, depth: int = 0) -> set[str]:
        if depth > 10 or name not in classes:
            return {name}
        out = {name}
        for b in classes[name][0]:
            out |= ancestry(b, depth + 1)
        return out

    catch_all = bool(handled & _CATCH_ALL) or bool(catching_mw)
    if not catch_all:
        findings.append(
            failed(
                "no catch-all for unhandled exceptions: no exception_handler(Exception) and "
                "no error middleware catching Exception",
                location=handler_locs[0] if handler_locs else mods[0].rel,
            )
        )
    unhandled = []
    for name, loc in sorted(raised.items()):
        if name not in classes:
            continue
        anc = ancestry(name)
        if "HTTPException" in anc or anc & handled or (anc & caught - _CATCH_ALL):
            continue
        unhandled.append((name, loc))
    for name, loc in unhandled:
        msg = f"app exception {name} is raised but has no exception handler"
        if catch_all:
            findings.append(warned(msg + " (it ends as a generic 500)", location=loc))
        else:
            findings.append(failed(msg, location=loc))
    if not findings:
        parts = [f"exception handlers for {', '.join(sorted(handled)) or 'none'}"]
        if catching_mw:
            parts.append(f"error middleware {', '.join(catching_mw)}")
        findings.append(
            passed(
                "; ".join(parts)
                + f"; {len(classes)} app exception class(es), all raised ones handled",
                location=handler_locs[0] if handler_locs else "",
            )
        )
    return findings


# ---- RDY-003 logging --------------------------------------------------------------------------


def _is_debug_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return str(node.value).upper() in ("DEBUG", "10")
    return call_name(node).endswith("logging.DEBUG") or call_name(node) == "DEBUG"


@check(
    "RDY-003",
    "Logging configured: structured output, level from config, no print()",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.3", "5.1.1", "5.1.2"),
)
def logging_config(ctx: Context) -> list[Finding]:
    """The backend configures logging once: a structured (JSON) formatter, a level taken from
    configuration (not a hard-coded DEBUG), and no ``print()`` in modules that serve requests.

    Plain-text or ``print`` output cannot be searched or aggregated by field, is not correlated
    with requests, and ``print`` bypasses levels and redaction entirely.

    Remediation: configure logging at startup with a JSON formatter (``python-json-logger``,
    ``structlog`` or a small ``logging.Formatter`` that emits ``json.dumps``), set the level from
    ``LOG_LEVEL``, and replace ``print`` with ``logger.info``/``logger.debug``.
    """
    findings = _broken(ctx)
    mods = backend_modules(ctx)
    config_sites: list[str] = []
    structured: list[str] = []
    level_sites: list[tuple[str, ast.expr]] = []
    for m in mods:
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call):
                name = call_name(n)
                short = name.split(".")[-1]
                if name in (
                    "logging.basicConfig",
                    "basicConfig",
                    "logging.config.dictConfig",
                    "dictConfig",
                    "structlog.configure",
                    "logger.add",
                ) or (short in ("addHandler", "setFormatter")):
                    config_sites.append(m.line(n))
                if short in ("setLevel", "basicConfig"):
                    arg = (
                        n.args[0]
                        if n.args and short == "setLevel"
                        else next((k.value for k in n.keywords if k.arg == "level"), None)
                    )
                    if arg is not None:
                        level_sites.append((m.line(n), arg))
                if (
                    short in ("JSONRenderer", "JsonFormatter", "JSONFormatter")
                    or name.startswith("pythonjsonlogger")
                    or name.startswith("jsonlogger")
                ):
                    structured.append(m.line(n))
            elif (
                isinstance(n, ast.ClassDef)
                and any(call_name(b).endswith("Formatter") for b in n.bases)
                and ("json.dumps" in ast.unparse(n) or "orjson" in ast.unparse(n))
            ):
                structured.append(m.line(n))
    if re.search(r'"format"\s*:\s*"\{', "".join(m.text for m in mods)):
        structured.append("dictConfig JSON format")
    if not config_sites:
        findings.append(
            failed(
                "logging is never configured (no basicConfig/dictConfig/"
                "addHandler/structlog.configure call)",
                location=mods[0].rel if mods else "",
            )
        )
    elif not structured:
        findings.append(
            failed(
                "logging is configured but not structured: no JSON formatter",
                location=config_sites[0],
                severity=Severity.LOW,
            )
        )
    for loc, arg in level_sites:
        if _is_debug_literal(arg):
            findings.append(
                failed(f"log level hard-coded to DEBUG: {ast.unparse(arg)}", location=loc)
            )
    web = {m.rel for m in mods if imports_any(m, "fastapi", "starlette")}
    prints = [
        m.line(n)
        for m in mods
        if m.rel in web
        for n in ast.walk(m.tree)
        if isinstance(n, ast.Call) and call_name(n) == "print"
    ]
    if prints:
        findings.append(
            failed(
                f"{len(prints)} print() call(s) in modules that serve requests: "
                f"{', '.join(prints[:5])}",
                location=prints[0],
                severity=Severity.LOW,
            )
        )
    if not findings:
        levels = ", ".join(f"{ast.unparse(a)} ({loc})" for loc, a in level_sites[:3]) or "default"
        findings.append(
            passed(
                f"logging configured at {config_sites[0]}; structured formatter at "
                f"{structured[0]}; level {levels}; no print() in {len(web)} web module(s)"
            )
        )
    return findings


# ---- RDY-004 models and indexes ---------------------------------------------------------------


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _truthy(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _first_cols(call: ast.Call) -> list[str]:
    """Leading column name(s) of Index(...)/UniqueConstraint(...)/PrimaryKeyConstraint(...)."""
    args = [a for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    name = call_name(call).split(".")[-1]
    if name == "Index":
        args = args[1:]
    return [str(args[0].value)] if args else []


@check(
    "RDY-004",
    "Database models define primary keys and index their foreign keys",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.4", "3.2.2", "7.3.4"),
)
def model_indexes(ctx: Context) -> list[Finding]:
    """Every ORM model (SQLAlchemy/SQLModel class with ``__tablename__``) has a primary key, and
    every foreign-key column is the leading column of an index (``index=True``, ``unique=True``,
    primary key, or the first column of an ``Index``/``UniqueConstraint`` in ``__table_args__``).

    PostgreSQL does not index foreign keys by itself: joins and ``ON DELETE CASCADE`` on an
    unindexed foreign key scan the whole child table, which is fast in development and slow in
    production.

    Remediation: add ``index=True`` to the foreign-key column (or a composite ``Index`` that starts
    with it) and a migration that creates the index.
    """
    findings = _broken(ctx)
    models = 0
    fks: list[str] = []
    for m in py_sources(ctx).app:
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            body_names = {
                t.id
                for s in cls.body
                if isinstance(s, ast.Assign)
                for t in s.targets
                if isinstance(t, ast.Name)
            }
            table_kw = any(k.arg == "table" and _truthy(k.value) for k in cls.keywords)
            if "__tablename__" not in body_names and not table_kw:
                continue
            models += 1
            indexed: set[str] = set()
            has_pk = False
            fk_cols: list[tuple[str, str]] = []
            for stmt in cls.body:
                target: str | None = None
                value: ast.expr | None = None
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    target, value = stmt.target.id, stmt.value
                elif isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                    target, value = stmt.targets[0].id, stmt.value
                if target == "__table_args__" and value is not None:
                    for c in ast.walk(value):
                        if isinstance(c, ast.Call) and call_name(c).split(".")[-1] in (
                            "Index",
                            "UniqueConstraint",
                            "PrimaryKeyConstraint",
                        ):
                            indexed.update(_first_cols(c))
                            if call_name(c).endswith("PrimaryKeyConstraint"):
                                has_pk = True
                    continue
                if target is None or not isinstance(value, ast.Call):
                    continue
                fname = call_name(value).split(".")[-1]
                if fname not in ("mapped_column", "Column", "Field"):
                    continue
                if _truthy(_kw(value, "primary_key")):
                    has_pk = True
                    indexed.add(target)
                if _truthy(_kw(value, "index")) or _truthy(_kw(value, "unique")):
                    indexed.add(target)
                is_fk = (
                    any(
                        isinstance(a, ast.Call) and call_name(a).endswith("ForeignKey")
                        for a in value.args
                    )
                    or _kw(value, "foreign_key") is not None
                )
                if is_fk:
                    fk_cols.append((target, m.line(stmt)))
            if not has_pk:
                findings.append(
                    failed(f"model {cls.name} declares no primary key", location=m.line(cls))
                )
            for col, loc in fk_cols:
                fks.append(f"{cls.name}.{col}")
                if col not in indexed:
                    findings.append(
                        failed(
                            f"foreign key {cls.name}.{col} is not the leading column of any index",
                            location=loc,
                        )
                    )
    if models == 0:
        raise Skip("no ORM model (class with __tablename__ or SQLModel table=True) found")
    if not findings:
        findings.append(
            passed(
                f"{models} model(s) with primary keys; foreign keys indexed: "
                f"{', '.join(fks) or 'none declared'}"
            )
        )
    return findings


# ---- RDY-006 middleware -----------------------------------------------------------------------

_MW_ROLES = {
    "cors": re.compile(r"cors", re.I),
    "trusted hosts": re.compile(r"trustedhost", re.I),
    "https/proxy": re.compile(r"httpsredirect|proxyheaders|forwarded", re.I),
    "compression": re.compile(r"gzip|brotli|compress", re.I),
    "rate limit / auth": re.compile(r"ratelimit|limiter|throttl|auth", re.I),
}


def _proxy_elsewhere(ctx: Context) -> dict[str, str]:
    """Roles fulfilled outside the app: uvicorn --proxy-headers, nginx/caddy/traefik config."""
    out: dict[str, str] = {}
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        if not (
            name.startswith(
                (
                    "dockerfile",
                    "docker-compose",
                    "compose",
                    "nginx",
                    "caddyfile",
                    "traefik",
                    "procfile",
                    "gunicorn",
                )
            )
            or name.endswith((".conf", ".sh"))
        ):
            continue
        text = ctx.read(rel) or ""
        if re.search(
            r"--proxy-headers|forwarded[_-]allow[_-]ips|proxy_set_header\s+X-Forwarded", text
        ):
            out.setdefault("https/proxy", rel)
        if re.search(r"^\s*gzip\s+on|^\s*encode\s+.*gzip|compress", text, re.M | re.I):
            out.setdefault("compression", rel)
        if re.search(r"^\s*server_name\s+(?!_;)\S+", text, re.M):
            out.setdefault("trusted hosts", rel)
    return out


@check(
    "RDY-006",
    "Middleware present and ordered (CORS, hosts, HTTPS/proxy, compression)",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.6", "P.3.4"),
)
def middleware(ctx: Context) -> list[Finding]:
    """The application's middleware stack covers CORS, trusted hosts, HTTPS redirection or proxy
    headers and response compression (in the app, or in a reverse proxy configured in the
    repository), and CORS wraps rate limiting and authentication middleware so that preflight
    requests and error responses still carry CORS headers.

    In Starlette the last ``add_middleware`` call is the outermost layer. A rate limiter outside
    CORS answers preflights with 429 without CORS headers, which browsers report as a CORS error.

    Remediation: add the missing middleware (``TrustedHostMiddleware``, ``ProxyHeadersMiddleware``
    or uvicorn ``--proxy-headers`` behind a TLS proxy, ``GZipMiddleware``) and call
    ``add_middleware(CORSMiddleware, ...)`` after the rate-limit and auth middleware.
    """
    findings = _broken(ctx)
    stack: list[tuple[str, str]] = []  # innermost first
    for m in _web_modules(ctx):
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call) and call_name(n).endswith("add_middleware") and n.args:
                stack.append((call_name(n.args[0]).split(".")[-1], m.line(n)))
            elif (
                isinstance(n, ast.keyword)
                and n.arg == "middleware"
                and isinstance(n.value, ast.List)
            ):
                # middleware=[...]: the first item is the outermost
                for e in reversed(n.value.elts):
                    if isinstance(e, ast.Call) and e.args:
                        stack.append((call_name(e.args[0]).split(".")[-1], m.line(e)))
    if not stack:
        return findings + [
            failed(
                "no middleware is added to the application",
                location=_app_calls(ctx)[0][0].rel if _app_calls(ctx) else "",
            )
        ]
    found: dict[str, tuple[int, str]] = {}
    for i, (name, loc) in enumerate(stack):
        for role, rx in _MW_ROLES.items():
            if rx.search(name):
                found.setdefault(role, (i, f"{name} ({loc})"))
    elsewhere = _proxy_elsewhere(ctx)
    for role in ("cors", "trusted hosts", "https/proxy", "compression"):
        if role in found:
            continue
        if role in elsewhere:
            continue
        findings.append(
            warned(
                f"no {role} middleware in the app and none configured in a "
                "reverse proxy of the repository",
                location=stack[-1][1],
            )
        )
    if "cors" in found and "rate limit / auth" in found:
        cors_i = max(i for i, (n, _) in enumerate(stack) if _MW_ROLES["cors"].search(n))
        inner = [
            (n, loc)
            for i, (n, loc) in enumerate(stack)
            if i > cors_i and _MW_ROLES["rate limit / auth"].search(n)
        ]
        if inner:
            findings.append(
                failed(
                    f"{inner[0][0]} ({inner[0][1]}) is added after CORS and so runs outside "
                    "it: its responses (429/401, preflights) carry no CORS headers",
                    location=inner[0][1],
                )
            )
    if not any(f.status.rank >= 3 for f in findings):
        order = " > ".join(n for n, _ in reversed(stack))
        extra = (
            "; outside the app: "
            + ", ".join(f"{r} in {p}" for r, p in elsewhere.items() if r not in found)
            if elsewhere
            else ""
        )
        findings.append(
            passed(f"middleware, outermost first: {order}{extra}", location=stack[-1][1])
        )
    return findings


# ---- RDY-007 blocking work in async handlers --------------------------------------------------

_BLOCKING = re.compile(
    r"^(time\.sleep|requests\.\w+|urllib\.request\.urlopen|urlopen|smtplib\.SMTP\w*|"
    r"subprocess\.(run|call|check_call|check_output)|os\.system)$"
)
_TASKS = re.compile(
    r"BackgroundTasks|add_task|celery|\.delay\(|apply_async|arq|dramatiq|rq\b|"
    r"create_task|run_in_threadpool|to_thread|run_in_executor"
)


@check(
    "RDY-007",
    "No blocking calls in async request handlers; background work is offloaded",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.1.7",),
)
def background_work(ctx: Context) -> list[Finding]:
    """``async def`` functions of the backend make no blocking calls (``time.sleep``,
    ``requests.*``, ``urlopen``, ``smtplib``, ``subprocess.run``, ``os.system``); slow work goes
    through a task mechanism (``BackgroundTasks``, Celery/RQ/arq/Dramatiq, ``run_in_threadpool``).
    A heuristic: findings are WARN only.

    A blocking call inside an ``async def`` stops the event loop: every other request of the
    worker waits until it returns.

    Remediation: use an async client (``httpx.AsyncClient``, ``asyncio.sleep``), wrap unavoidable
    blocking calls in ``run_in_threadpool``/``asyncio.to_thread``, and send slow jobs (mail,
    reports) to ``BackgroundTasks`` or a queue worker.
    """
    findings = _broken(ctx)
    n_async = 0
    for m in backend_modules(ctx):
        for fn in (n for n in ast.walk(m.tree) if isinstance(n, ast.AsyncFunctionDef)):
            n_async += 1
            for n in ast.walk(fn):
                if isinstance(n, ast.Call) and _BLOCKING.match(call_name(n)):
                    findings.append(
                        warned(
                            f"blocking call {call_name(n)}() inside async def {fn.name}",
                            location=m.line(n),
                        )
                    )
    if n_async == 0:
        raise Skip("no async functions in the backend")
    mechanisms = sorted(
        {mt.group(0) for m in backend_modules(ctx) for mt in _TASKS.finditer(m.text)}
    )
    if not findings:
        findings.append(
            passed(
                f"no blocking call in {n_async} async function(s); offloading seen: "
                f"{', '.join(mechanisms) or 'none needed'}"
            )
        )
    return findings


# ---- RDY-008 SQL built from strings -----------------------------------------------------------


def _dynamic_string(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return isinstance(node.left, ast.Constant | ast.JoinedStr | ast.BinOp) and (
            isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            or _dynamic_string(node.left)
            or isinstance(node.op, ast.Mod)
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (node.func.attr == "format" and isinstance(node.func.value, ast.Constant))
    )


@check(
    "RDY-008",
    "SQL statements are not built from strings",
    severity=Severity.HIGH,
    needs=("repo",),
    checklist=("1.3.4",),
    references=("CWE-89", "OWASP A03:2021"),
)
def sql_strings(ctx: Context) -> list[Finding]:
    """Calls that execute SQL (``execute``, ``executemany``, ``text``, ``exec_driver_sql``,
    ``raw``) receive constant SQL or bound parameters, never an f-string, ``%``-formatted,
    ``.format()``-ed or concatenated string.

    SQL assembled from strings is the classic injection path; bound parameters (``:name`` with a
    dict, ``%s`` with a tuple, or the ORM's expression language) are not.

    Remediation: pass values as parameters — ``session.execute(text("... WHERE id = :id"),
    {"id": x})`` — or use the ORM query API.
    """
    findings = _broken(ctx)
    sites = 0
    for m in py_sources(ctx).app + py_sources(ctx).migrations:
        for n in ast.walk(m.tree):
            if not isinstance(n, ast.Call) or not n.args:
                continue
            if call_name(n).split(".")[-1] not in (
                "execute",
                "executemany",
                "text",
                "exec_driver_sql",
                "raw",
                "executescript",
            ):
                continue
            sites += 1
            if _dynamic_string(n.args[0]):
                findings.append(
                    failed(
                        f"SQL built from a string expression passed to {call_name(n)}(): "
                        f"{ast.unparse(n.args[0])[:120]}",
                        location=m.line(n),
                    )
                )
    if sites == 0:
        raise Skip("no SQL execution call (execute/text/raw) in the code")
    if not findings:
        findings.append(passed(f"{sites} SQL execution call(s), all with constant SQL"))
    return findings


# ---- RDY-009 request bodies validated by models -----------------------------------------------

_RAW_BODY = re.compile(r"^(request|req)\.(json|body|form|stream)$")


@check(
    "RDY-009",
    "Request bodies are validated by typed models",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.3.3",),
    references=("OWASP API3:2023", "CWE-20"),
)
def typed_bodies(ctx: Context) -> list[Finding]:
    """Route handlers take their input as typed parameters (Pydantic models, annotated query and
    path parameters) instead of reading the raw body (``await request.json()``) or accepting an
    untyped ``dict``/``Any`` body.

    A raw or untyped body skips FastAPI's validation: any shape and size of input reaches the
    handler, and the OpenAPI document does not describe it.

    Remediation: declare a Pydantic model with field constraints (``Field(max_length=...)``) and
    take it as the handler's body parameter.
    """
    findings = _broken(ctx)
    handlers = 0
    for m in _web_modules(ctx):
        for fn in (
            n for n in ast.walk(m.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            if not any(route_decorator(d) for d in fn.decorator_list):
                continue
            handlers += 1
            for n in ast.walk(fn):
                if isinstance(n, ast.Call) and _RAW_BODY.match(call_name(n)):
                    findings.append(
                        warned(
                            f"{fn.name} reads the raw body with {call_name(n)}()",
                            location=m.line(n),
                        )
                    )
            for a in fn.args.args + fn.args.kwonlyargs:
                ann = ast.unparse(a.annotation) if a.annotation is not None else ""
                if re.fullmatch(r"(dict|Dict|Any|dict\[str, Any\]|Dict\[str, Any\])", ann):
                    findings.append(
                        warned(
                            f"{fn.name} takes an untyped body parameter {a.arg}: {ann}",
                            location=m.line(a),
                        )
                    )
    if handlers == 0:
        raise Skip("no route handler found")
    if not findings:
        findings.append(
            passed(
                f"{handlers} route handler(s): no raw body reads, no untyped "
                "dict/Any body parameters"
            )
        )
    return findings


# ---- RDY-005 REST conventions (OpenAPI) -------------------------------------------------------

_VERBS = frozenset(
    {
        "get",
        "create",
        "delete",
        "update",
        "remove",
        "add",
        "fetch",
        "list",
        "set",
        "do",
        "make",
        "save",
        "edit",
        "modify",
        "insert",
        "put",
        "post",
        "retrieve",
    }
)
_AUTH_WORDS = frozenset(
    {
        "auth",
        "login",
        "logout",
        "register",
        "refresh",
        "token",
        "verify",
        "signup",
        "signin",
        "signout",
        "reset",
        "confirm",
        "oauth",
    }
)
_PREFIX = re.compile(r"^(api|v\d+|internal|public|admin)$", re.I)


def _statuses(op_responses: dict[str, object]) -> set[str]:
    return {str(k) for k in op_responses}


@check(
    "RDY-005",
    "API endpoints follow REST conventions (OpenAPI)",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("1.1.5",),
)
async def rest_conventions(ctx: Context) -> list[Finding]:
    """The OpenAPI document follows REST conventions: ``POST`` on a collection answers 201,
    ``DELETE`` answers 204 (or 200/202), paths contain no verbs (``/getUser``, ``/notes/create``),
    a collection followed by an id is plural (``/notes/{id}``), and 4xx error responses share
    one schema. A POST counts as a create only on a plural path (``/notes``; ``/llm/chat`` is an
    action). Authentication actions (``/auth/login``, ``/token``) are exempt from the verb rule.

    Consistent conventions let clients, gateways and caches reason about the API (safe vs unsafe
    methods, created vs updated) and keep generated SDKs predictable.

    Remediation: use nouns for resources and HTTP methods for actions, declare
    ``status_code=201`` on create endpoints and 204 on deletes, and use one error model
    (e.g. ``{"detail": ...}``) in every ``responses=`` declaration.
    """
    doc = await ctx.openapi()
    findings: list[Finding] = []
    error_schemas: dict[str, list[str]] = {}
    for op in doc.operations:
        loc = f"{op.method} {op.path}"
        codes = _statuses(op.responses)
        segs = [s for s in op.path.strip("/").split("/") if s]
        static = [s for s in segs if not s.startswith("{")]
        is_auth = any(s.lower() in _AUTH_WORDS for s in static)
        for s in static:
            words = re.split(r"[-_]|(?<=[a-z])(?=[A-Z])", s)
            if not is_auth and words and words[0].lower() in _VERBS:
                findings.append(warned(f"verb in path segment '{s}'", location=loc))
                break
        for i, s in enumerate(segs[:-1]):
            nxt = segs[i + 1]
            if (
                nxt.startswith("{")
                and not s.startswith("{")
                and not _PREFIX.match(s)
                and not s.lower().endswith("s")
                and s.lower() not in _AUTH_WORDS
            ):
                findings.append(
                    warned(f"collection '{s}' before an id is not plural", location=loc)
                )
        if (
            op.method == "POST"
            and not is_auth
            and segs
            and not segs[-1].startswith("{")
            and segs[-1].lower().endswith("s")  # a plural collection: POST creates
        ):
            ok = {c for c in codes if c.startswith("2")}
            if ok and "201" not in ok and "202" not in ok:
                findings.append(
                    warned(
                        f"POST on a collection answers {', '.join(sorted(ok))}, not 201 Created",
                        location=loc,
                    )
                )
        if op.method == "DELETE":
            ok = {c for c in codes if c.startswith("2")}
            if ok and not ok & {"200", "202", "204"}:
                findings.append(
                    warned(f"DELETE answers {', '.join(sorted(ok))}, not 204/200", location=loc)
                )
        for code, resp in op.responses.items():
            if not str(code).startswith("4") or str(code) == "422":
                continue
            resolved = doc.resolve(resp) if isinstance(resp, dict) else {}
            content = (resolved or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            key = "none" if schema is None else json_key(schema)
            error_schemas.setdefault(key, []).append(f"{loc} {code}")
    if len(error_schemas) > 1:
        kinds = "; ".join(f"{k[:60]} ({len(v)}x, e.g. {v[0]})" for k, v in error_schemas.items())
        findings.append(
            warned(
                f"error responses use {len(error_schemas)} different schemas: {kinds}",
                location=doc.source,
            )
        )
    if not doc.operations:
        raise Skip("the OpenAPI document has no operations")
    if not findings:
        findings.append(
            passed(
                f"{len(doc.operations)} operations: no verbs in paths, plural collections, "
                f"creates 201, deletes 204/200, one error schema",
                location=doc.source,
            )
        )
    return findings


def json_key(node: object) -> str:
    import json

    return json.dumps(node, sort_keys=True, default=str)
