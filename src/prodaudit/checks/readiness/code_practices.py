"""RDY-007–009: coding practices in the backend's handlers, read statically (``ast``): blocking
work in async handlers, SQL built from strings, request bodies validated by models."""

from __future__ import annotations

import ast
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
    warned,
)
from prodaudit.checks.readiness._backend import (
    backend_modules,
    backend_routes,
    broken_sources,
    web_modules,
)
from prodaudit.checks.readiness._scan import (
    PyModule,
    call_name,
    py_sources,
)
from prodaudit.checks.readiness._sqlflow import sql_flow

# ---- RDY-007 blocking work in async handlers --------------------------------------------------

_BLOCKING = re.compile(
    r"^(time\.sleep|requests\.\w+|urllib\.request\.urlopen|urlopen|smtplib\.SMTP\w*|"
    r"subprocess\.(run|call|check_call|check_output)|os\.system|"
    r"bcrypt\.(hashpw|checkpw|kdf)|hashlib\.(pbkdf2_hmac|scrypt)|"
    r"(\w+\.)?(generate_password_hash|check_password_hash)|"
    r"\w*(pwd|password|crypt)_?(context|ctx|hasher)\.(hash|verify|encrypt|verify_and_update))$",
    re.I,
)
# synchronous ORM sessions: ``db.query(...)``, ``session.commit()`` without ``await``
_SYNC_SESSION = re.compile(r"^(self\.)?(db|session|db_session|dbsession|sess)\."
                           r"(query|commit|flush|refresh|execute|scalars)$")
_TASKS = re.compile(
    r"BackgroundTasks|add_task|celery|\.delay\(|apply_async|arq|dramatiq|rq\b|"
    r"create_task|run_in_threadpool|to_thread|run_in_executor"
)
_Fn = ast.FunctionDef | ast.AsyncFunctionDef


def _own_nodes(fn: ast.AST) -> list[ast.AST]:
    """The nodes of ``fn``'s body, nested functions and lambdas left out (work defined there
    runs where it is called: often ``run_in_threadpool(inner)``)."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        n = todo.pop()
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        out.append(n)
        todo.extend(ast.iter_child_nodes(n))
    return out


def _direct_blocking(fn: ast.AST, awaited: set[int]) -> list[tuple[ast.Call, str]]:
    out: list[tuple[ast.Call, str]] = []
    for n in _own_nodes(fn):
        if not isinstance(n, ast.Call):
            continue
        name = call_name(n)
        if _BLOCKING.match(name):
            out.append((n, f"{name}()"))
        elif _SYNC_SESSION.match(name) and id(n) not in awaited:
            out.append((n, f"synchronous {name}()"))
    return out


def _blocking_functions(mods: list[PyModule]) -> dict[str, str]:
    """Project functions (by name) that block, directly or through the functions they call;
    a name defined several times counts only when every definition blocks."""
    defs: dict[str, list[ast.AST]] = {}
    for m in mods:
        for n in ast.walk(m.tree):
            if isinstance(n, _Fn):
                defs.setdefault(n.name, []).append(n)
    awaited = {id(n.value) for m in mods for n in ast.walk(m.tree) if isinstance(n, ast.Await)}
    why: dict[str, list[str | None]] = {}
    for name, fns in defs.items():
        why[name] = [next((w for _c, w in _direct_blocking(f, awaited)), None) for f in fns]
    for _ in range(4):
        changed = False
        for name, fns in defs.items():
            for i, f in enumerate(fns):
                if why[name][i] is not None:
                    continue
                for n in _own_nodes(f):
                    callee = call_name(n).split(".")[-1] if isinstance(n, ast.Call) else ""
                    if callee != name and callee in why and all(why[callee]):
                        why[name][i] = f"{callee}() → {why[callee][0]}"
                        changed = True
                        break
        if not changed:
            break
    return {k: str(v[0]) for k, v in why.items() if v and all(v)}


def _blocking_calls(mods: list[PyModule]) -> list[tuple[PyModule, str, ast.Call, str]]:
    """(module, async function, call, what blocks) for every blocking call of an async def."""
    blocking = _blocking_functions(mods)
    out: list[tuple[PyModule, str, ast.Call, str]] = []
    for m in mods:
        awaited = {id(n.value) for n in ast.walk(m.tree) if isinstance(n, ast.Await)}
        for fn in (n for n in ast.walk(m.tree) if isinstance(n, ast.AsyncFunctionDef)):
            for call, what in _direct_blocking(fn, awaited):
                out.append((m, fn.name, call, what))
            for n in _own_nodes(fn):
                callee = call_name(n).split(".")[-1] if isinstance(n, ast.Call) else ""
                if isinstance(n, ast.Call) and callee != fn.name and callee in blocking:
                    out.append((m, fn.name, n, f"{callee}() (→ {blocking[callee]})"))
    return out


@check(
    "RDY-007",
    "No blocking calls in async request handlers; background work is offloaded",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("1.1.7",),
    evidence=Evidence.PARSED,
)
def background_work(ctx: Context) -> list[Finding]:
    """``async def`` functions of the backend make no blocking calls — ``time.sleep``,
    ``requests.*``, ``urlopen``, ``smtplib``, ``subprocess.run``, ``os.system``, password
    hashing (``bcrypt.hashpw``/``checkpw``, passlib ``pwd_context.hash``/``verify``,
    ``pbkdf2_hmac``, Werkzeug's ``check_password_hash``) or a synchronous ORM session
    (``db.query(...)``, ``session.commit()`` without ``await``) — neither directly nor through
    the project's own functions they call (followed to a fixed point); slow work goes through
    a task mechanism (``BackgroundTasks``, Celery/RQ/arq/Dramatiq, ``run_in_threadpool``).
    A heuristic: findings are WARN only.

    A blocking call inside an ``async def`` stops the event loop: every other request of the
    worker waits until it returns (a bcrypt check takes 100-300 ms of CPU).

    Remediation: use an async client (``httpx.AsyncClient``, ``asyncio.sleep``, an
    ``AsyncSession``), wrap unavoidable blocking calls in ``run_in_threadpool``/
    ``asyncio.to_thread``, declare handlers that use a synchronous session with plain ``def``
    (FastAPI runs them in a thread pool), and send slow jobs (mail, reports) to
    ``BackgroundTasks`` or a queue worker.
    """
    findings = broken_sources(ctx)
    mods = backend_modules(ctx)
    n_async = sum(isinstance(n, ast.AsyncFunctionDef) for m in mods for n in ast.walk(m.tree))
    if n_async == 0:
        raise Skip("no async functions in the backend")
    seen: set[str] = set()
    for m, fn, call, what in _blocking_calls(mods):
        if m.line(call) not in seen:
            seen.add(m.line(call))
            findings.append(warned(f"blocking call {what} inside async def {fn}",
                                   location=m.line(call)))
    mechanisms = sorted(
        {mt.group(0) for m in mods for mt in _TASKS.finditer(m.text)}
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


@check(
    "RDY-008",
    "SQL statements are not built from strings",
    severity=Severity.HIGH,
    needs=("repo",),
    checklist=("1.3.4",),
    references=("CWE-89", "OWASP A03:2021"),
    evidence=Evidence.PARSED,
)
def sql_strings(ctx: Context) -> list[Finding]:
    """SQL text that reaches a call executing it — DB-API ``execute``/``executemany``/
    ``executescript`` (sqlite3, psycopg, aiopg), asyncpg ``fetch``/``fetchrow``/``fetchval``,
    SQLAlchemy ``text()``/``exec_driver_sql``, Django ``raw()``/``extra()``/``RawSQL`` — is made
    of constants; values travel as bound parameters. Followed through assignments inside a
    function (``q = "... %s" % name; cur.execute(q)``, ``q = f"..."; await conn.fetch(q)``): a
    string built by an f-string, ``%``, ``.format()`` or concatenation from anything but
    constants FAILs at the execute line and at the line that built it. Code whose queries are all
    ORM expressions passes (observed ORM-only access).

    SQL assembled from strings is the classic injection path; bound parameters (``:name`` with a
    dict, ``%s`` with a tuple, or the ORM's expression language) are not.

    Remediation: pass values as parameters — ``cur.execute("... WHERE id = %s", (x,))``,
    ``session.execute(text("... WHERE id = :id"), {"id": x})`` — or use the ORM query API;
    identifiers (table, column) come from an allow-list, never from input.
    """
    findings = broken_sources(ctx)
    src = py_sources(ctx)
    flow = sql_flow(src.app + src.migrations)
    reported: set[str] = set()
    for site in flow.sites:
        if site.val.kind != "dynamic":
            continue
        built = site.built_at
        where = f"built by {site.val.how} at {built}" if built != site.location else \
            f"built by {site.val.how} on the same line"
        text = ast.unparse(site.arg)[:160]
        if site.location not in reported:
            reported.add(site.location)
            findings.append(failed(f"SQL {where} reaches {site.sink}()", location=site.location,
                                   evidence=text))
        if built not in reported and site.val.line:
            reported.add(built)
            findings.append(failed(f"SQL built by {site.val.how} here is executed by "
                                   f"{site.sink}() at {site.location}", location=built,
                                   evidence=text))
    constant = [s for s in flow.sites if s.val.kind == "const"]
    if findings:
        return findings
    if not constant and not flow.orm:
        raise Skip("no SQL execution call and no ORM query in the code")
    parts = []
    if constant:
        parts.append(f"{len(constant)} SQL execution call(s), all with constant SQL "
                     f"(e.g. {constant[0].location})")
    if flow.orm:
        parts.append(f"{len(flow.orm)} ORM query expression(s) (e.g. {flow.orm[0]})")
    if not constant:
        parts.append("ORM-only access: no SQL text is executed")
    return [passed("; ".join(parts))]


# ---- RDY-009 request bodies validated by models -----------------------------------------------

_RAW_BODY = re.compile(r"^(request|req)\.(json|body|form|stream)$")


@check(
    "RDY-009",
    "Request bodies are validated by typed models",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.3.3",),
    references=("OWASP API3:2023", "CWE-20"),
    evidence=Evidence.PARSED,
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
    findings = broken_sources(ctx)
    handlers = 0
    routed = {(e.module.rel, e.func.lineno) for e in backend_routes(ctx)}
    for m in web_modules(ctx):
        for fn in (
            n for n in ast.walk(m.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            if (m.rel, fn.lineno) not in routed:
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
