"""RDY-014: exception details (tracebacks, driver messages) returned to clients, read statically."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.checks.readiness._backend import broken_sources
from prodaudit.checks.readiness._scan import PyModule, call_name
from prodaudit.checks.readiness._taint import code_modules

_TRACEBACK = re.compile(r"^(traceback\.(format_exc|format_exception|format_tb|format_stack|"
                        r"extract_tb)|sys\.exc_info|format_exc|format_exception)$")
# exception types whose text describes the server's internals (driver, SQL, paths)
_INTERNAL = re.compile(r"^(Exception|BaseException|\w*(IntegrityError|OperationalError|"
                       r"DatabaseError|SQLAlchemyError|ProgrammingError|DataError|InterfaceError|"
                       r"InternalError|DBAPIError|PostgresError|PyMongoError|RedisError|"
                       r"OSError|IOError))$")
_HANDLER_DECORATORS = frozenset({"errorhandler", "app_errorhandler", "exception_handler",
                                 "error_handler", "register_error_handler"})
_RESPONSE_CALLS = re.compile(r"(^|\.)(Response|JSONResponse|HTMLResponse|PlainTextResponse|"
                             r"jsonify|HttpResponse|JsonResponse|json_response|make_response|"
                             r"HTTPException|abort|render_template|render)$")


def _type_names(t: ast.expr | None) -> list[str]:
    if t is None:
        return ["BaseException"]
    elts = t.elts if isinstance(t, ast.Tuple) else [t]
    return [ast.unparse(e).split(".")[-1] for e in elts]


def _leak(e: ast.AST, exc: str | None) -> tuple[ast.AST, str] | None:
    """The sub-expression of ``e`` that exposes the exception ``exc`` and how, or None."""
    for n in ast.walk(e):
        if isinstance(n, ast.Call) and _TRACEBACK.match(call_name(n)):
            return n, f"{call_name(n)}()"
        if exc is None:
            continue
        if isinstance(n, ast.Call) and call_name(n) in ("str", "repr") and n.args and \
                _is_exc(n.args[0], exc):
            return n, ast.unparse(n)
        if isinstance(n, ast.FormattedValue) and _is_exc(n.value, exc):
            return n.value, f"{{{ast.unparse(n.value)}}}"
        if isinstance(n, ast.Attribute) and n.attr in ("args", "orig", "message") and \
                isinstance(n.value, ast.Name) and n.value.id == exc:
            return n, ast.unparse(n)
    return None


def _is_exc(e: ast.expr, exc: str) -> bool:
    if isinstance(e, ast.Name):
        return e.id == exc
    return isinstance(e, ast.Attribute) and e.attr in ("orig", "args") and _is_exc(e.value, exc)


def _outputs(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Values of the block that reach the client: returned values, response constructors."""
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Return) and n.value is not None:
                yield n.value
            elif isinstance(n, ast.Raise) and n.exc is not None:
                yield n.exc
            elif isinstance(n, ast.Call) and _RESPONSE_CALLS.search(call_name(n)):
                yield n


def _debug_guarded(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    cur = parents.get(id(node))
    while cur is not None:
        if isinstance(cur, ast.If) and re.search(r"debug|DEBUG|TESTING", ast.unparse(cur.test)):
            return True
        cur = parents.get(id(cur))
    return False


def _leaks(mod: PyModule) -> Iterator[tuple[ast.AST, ast.AST, str, str]]:
    parents = {id(c): p for p in ast.walk(mod.tree) for c in ast.iter_child_nodes(p)}
    scopes: list[tuple[list[ast.stmt], str | None, list[str]]] = []
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ExceptHandler):
            scopes.append((node.body, node.name, _type_names(node.type)))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                if call_name(dec).split(".")[-1] in _HANDLER_DECORATORS:
                    types = _type_names(dec.args[0]) if isinstance(dec, ast.Call) and \
                        dec.args else ["Exception"]
                    params = [a.arg for a in node.args.args if a.arg not in ("self", "request")]
                    scopes.append((node.body, params[0] if params else None, types))
    for body, exc, types in scopes:
        internal = any(_INTERNAL.match(t) for t in types)
        for out in _outputs(body):
            leak = _leak(out, exc if internal else None)
            if leak and not _debug_guarded(out, parents):
                yield out, leak[0], leak[1], "/".join(types)


@check("RDY-014", "Error responses do not return tracebacks or exception text to clients",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("1.1.2", "3.1.3"),
       references=("CWE-209", "OWASP A05:2021"), evidence=Evidence.PARSED)
def exception_text_in_responses(ctx: Context) -> list[Finding]:
    """No response built in an ``except`` block or an error handler (Flask ``errorhandler``,
    FastAPI/Starlette ``exception_handler``) carries a formatted traceback
    (``traceback.format_exc``/``format_exception``, ``sys.exc_info``) or the text of an internal
    exception (``str(e)``, ``f"{e}"``, ``e.args``, ``e.orig`` of a database driver error, a broad
    ``Exception``). Text of the project's own or validation exceptions is not judged, nor a
    branch taken only in debug mode.

    Driver messages and tracebacks name tables, columns, constraints, file paths and library
    versions: a map of the internals for an attacker, and confusing for a user.

    Remediation: log the exception (with its traceback) on the server and answer a generic
    message with a correlation id.
    """
    mods = code_modules(ctx)
    if not mods:
        raise Skip("no Python backend modules in the repository")
    findings = broken_sources(ctx)
    seen: set[str] = set()
    for m in mods:
        for out, node, what, types in _leaks(m):
            where = m.line(node)
            if where in seen:
                continue
            seen.add(where)
            findings.append(failed(f"a response to {types} carries {what}", location=where,
                                   evidence=ast.unparse(out)[:160]))
    if not seen:
        findings.append(passed(f"{len(mods)} backend module(s): no exception text or traceback "
                               "in error responses"))
    return findings

