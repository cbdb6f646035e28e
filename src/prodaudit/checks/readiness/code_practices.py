"""RDY-007–009: coding practices in the backend's handlers, read statically (``ast``): blocking
work in async handlers, SQL built from strings, request bodies validated by models."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.checks.readiness._backend import (
    backend_modules,
    broken_sources,
    web_modules,
)
from prodaudit.checks.readiness._scan import (
    call_name,
    py_sources,
    route_decorator,
)

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
    findings = broken_sources(ctx)
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
    findings = broken_sources(ctx)
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
    findings = broken_sources(ctx)
    handlers = 0
    for m in web_modules(ctx):
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
