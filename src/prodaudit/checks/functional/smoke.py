"""FUN-011–013: every operation of the OpenAPI document, called without and with credentials,
and (with ``allow_mutations``) write operations with schema-valid payloads."""

from __future__ import annotations

import re
import time
from typing import Any

from prodaudit.auth import AuthSession
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    OpenAPIDoc,
    Operation,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.functional._operations import (
    OpRow,
    OpTable,
    build_request,
    check_response,
    collect_ids,
    delete_operation,
    is_auth_op,
    is_llm_op,
    json_payload,
    op_table,
)

MAX_OPERATIONS = 200
WRITE_METHODS = ("POST", "PUT", "PATCH")


def _budget(ctx: Context) -> float:
    return time.monotonic() + max(ctx.cfg.probes.max_seconds * 3, 30.0)


def _json(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return None


ADMIN_RE = re.compile(r"(^|/)(admin|internal|manage|management|staff|superuser)(/|$)", re.I)


def _admin_like(ctx: Context, op: Operation) -> bool:
    """An operation that must be protected whatever the document says: ``auth.admin_paths`` or
    a path segment like /admin/."""
    return any(op.path.startswith(p) for p in ctx.cfg.auth.admin_paths) or bool(
        ADMIN_RE.search(op.path)
    )


def _ordered(ops: list[Operation]) -> list[Operation]:
    """Operations without path parameters first (their answers supply ids for the others)."""
    return sorted(ops, key=lambda o: ("{" in o.path, o.path.count("/"), o.path, o.method))


def _judge_anonymous(doc: OpenAPIDoc, op: Operation, ex: Exchange, row: OpRow) -> Finding:
    """A protected operation's answer (not 401/403) to a request without credentials."""
    loc = f"{op.method} {ex.url}"
    what = "without credentials"
    assert ex.status is not None
    if 200 <= ex.status < 300:
        row.act("FUN-011", what, ex.status, "fail", "answered without credentials")
        declared = (
            "is declared protected"
            if doc.is_protected(op)
            else ("is an administrative operation (declared without security)")
        )
        return failed(
            f"{op.key} {declared} but answered {ex.status} without credentials",
            location=loc,
            evidence=ex.evidence(),
            severity=Severity.CRITICAL,
        )
    if ex.status >= 500:
        row.act("FUN-011", what, ex.status, "fail", "server error")
        return failed(
            f"{op.key} answered {ex.status} without credentials",
            location=loc,
            evidence=ex.evidence(),
        )
    if ex.status == 429:
        row.act("FUN-011", what, ex.status, "skip", "rate limited")
        return skipped(f"{op.key}: rate limited (429) before the check", location=loc)
    row.act("FUN-011", what, ex.status, "warn", "neither 401 nor 403")
    return warned(
        f"{op.key} answered {ex.status} without credentials (expected 401 or 403: the "
        "request is processed before authentication)",
        location=loc,
        evidence=ex.evidence(),
    )


@check(
    "FUN-011",
    "Protected operations refuse requests without credentials (401/403)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "4.2.1"),
    references=("OWASP API2:2023", "OWASP API5:2023", "CWE-306"),
    evidence=Evidence.OBSERVED,
)
async def protected_without_credentials(ctx: Context) -> list[Finding]:
    """Every operation that declares a security requirement in the OpenAPI document, and every
    administrative operation (``auth.admin_paths`` or a path segment such as ``/admin/``) even
    when the document declares none, answers 401 or 403 when called without credentials — never
    2xx (missing authentication, CRITICAL) and never 5xx. Path and query parameters are filled
    from the schema. Read-only by default: POST, PUT and PATCH are sent without a body, DELETE
    only with ``allow_mutations``.

    An operation documented as protected that answers without credentials exposes data or actions
    to anyone; a 5xx means the authentication layer crashes on anonymous input.

    Remediation: put the authentication dependency on the router (or a global dependency) so no
    route can be added without it, and add a test per protected route asserting 401 without a
    token.
    """
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = [op for op in _ordered(doc.operations) if doc.is_protected(op) or _admin_like(ctx, op)]
    if not ops:
        raise Skip("no operation of the OpenAPI document declares a security requirement")
    findings: list[Finding] = []
    ok: list[str] = []
    deadline = _budget(ctx)
    seen: dict[str, list[Any]] = {}
    for n, op in enumerate(ops):
        row = table.row(op)
        if n >= MAX_OPERATIONS or time.monotonic() > deadline:
            row.skip("FUN-011", "not called without credentials: operation/time budget used up")
            continue
        if op.method == "DELETE" and not ctx.cfg.allow_mutations:
            row.skip("FUN-011", "DELETE not sent without credentials (read-only; allow_mutations)")
            continue
        req = build_request(doc, op, seen)
        if req is None:
            row.skip("FUN-011", "a required parameter could not be filled from the schema")
            continue
        path, query, _ = req
        ex = await ctx.http.request(op.method, ctx.url(path), params=query or None)
        loc = f"{op.method} {ex.url}"
        what = "without credentials"
        if ex.status is None:
            row.act("FUN-011", what, None, "error", ex.error)
            findings.append(errored(f"{loc}: {ex.error}", location=loc))
            if len(findings) >= 3 and all(f.status.value == "error" for f in findings):
                break
            continue
        if ex.status in (401, 403):
            row.act("FUN-011", what, ex.status, "ok", elapsed_s=ex.elapsed_s)
            ok.append(op.key)
        else:
            findings.append(_judge_anonymous(doc, op, ex, row))
    table.export(ctx)
    if ok:
        findings.append(
            passed(
                f"{len(ok)} protected operation(s) answered 401/403 without "
                f"credentials: {', '.join(ok[:12])}{' …' if len(ok) > 12 else ''}"
            )
        )
    return findings


def _response_findings(
    doc: OpenAPIDoc, op: Operation, ex: Exchange, table: OpTable, check_id: str, what: str
) -> tuple[list[Finding], bool]:
    """Findings for one authenticated call; True when it conforms."""
    row = table.row(op)
    loc = f"{op.method} {ex.url}"
    if ex.status is None:
        row.act(check_id, what, None, "error", ex.error)
        return [errored(f"{loc}: {ex.error}", location=loc)], False
    if ex.status == 429:
        row.act(check_id, what, 429, "skip", "rate limited")
        return [skipped(f"{op.key}: rate limited (429)", location=loc)], False
    notes: list[str] = []
    problems = check_response(doc, op, ex, notes)
    if ex.status >= 500:
        documented = not any("not documented" in p for p in problems)
        if ex.status == 500 or not documented:
            row.act(check_id, what, ex.status, "fail", "server error", ex.elapsed_s)
            return [
                failed(
                    f"{op.key} answered {ex.status}",
                    location=loc,
                    evidence=ex.evidence(),
                    severity=Severity.HIGH,
                )
            ], False
        row.act(check_id, what, ex.status, "warn", "documented server error", ex.elapsed_s)
        return [
            warned(
                f"{op.key} answered {ex.status} (documented: a dependency is failing)",
                location=loc,
                evidence=ex.evidence(),
            )
        ], False
    if problems:
        row.act(check_id, what, ex.status, "fail", "; ".join(problems), ex.elapsed_s)
        return [
            failed(
                f"{op.key} answered {ex.status}: {'; '.join(problems)}",
                location=loc,
                evidence=ex.evidence(),
            )
        ], False
    row.act(
        check_id,
        what,
        ex.status,
        "ok",
        "; ".join(notes) or "documented status, content type and schema",
        ex.elapsed_s,
    )
    return [], True


def _safe_ops(ctx: Context, doc: OpenAPIDoc, table: OpTable) -> list[Operation]:
    """The operations FUN-012 calls (safe, not authentication); the others are marked skipped."""
    ops: list[Operation] = []
    for op in _ordered(doc.operations):
        if op.method not in ("GET", "HEAD"):
            if op.method not in WRITE_METHODS + ("DELETE",) or not ctx.cfg.allow_mutations:
                table.row(op).skip(
                    "FUN-012",
                    f"{op.method} is not a safe method (read-only audit; "
                    "allow_mutations enables FUN-013)",
                )
            continue
        if is_auth_op(op):
            table.row(op).skip("FUN-012", "authentication endpoint (see FUN-020–024)")
            continue
        ops.append(op)
    return ops


@check(
    "FUN-012",
    "Safe operations answer documented statuses with schema-valid bodies",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("4.2.1", "1.1.2", "1.1.5"),
    references=("OWASP API8:2023",),
    evidence=Evidence.OBSERVED,
)
async def safe_operations(ctx: Context) -> list[Finding]:
    """Every safe operation (GET, HEAD) of the OpenAPI document, called with the audit account
    where it is protected, answers a status the document declares, with the declared content
    type and a body that validates against the declared response schema; none answers 5xx.
    Parameters come from the schema (examples, enums, formats) or from ids seen in earlier
    responses. Authentication endpoints are left to FUN-020–024.

    A response that does not match its contract breaks generated clients and the frontend; a 5xx on
    a plain read is a crash waiting for users.

    Remediation: declare every status an operation can return (``responses=``), use response
    models, and fix the handlers that crash; regenerate the document after changes.
    """
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = _safe_ops(ctx, doc, table)
    if not ops:
        raise Skip("the OpenAPI document declares no safe operation besides authentication")
    session = None
    auth_reason = ""
    if any(doc.is_protected(op) for op in ops):
        try:
            session = await ctx.auth()
        except Skip as exc:
            auth_reason = exc.reason
    findings: list[Finding] = []
    ok: list[str] = []
    seen: dict[str, list[Any]] = {}
    relogged = False
    deadline = _budget(ctx)
    for n, op in enumerate(ops):
        row = table.row(op)
        if n >= MAX_OPERATIONS or time.monotonic() > deadline:
            row.skip("FUN-012", "not called: operation/time budget used up")
            continue
        protected = doc.is_protected(op)
        if protected and session is None:
            row.skip("FUN-012", f"protected and no audit session: {auth_reason}")
            continue
        req = build_request(doc, op, seen)
        if req is None:
            row.skip("FUN-012", "a required parameter could not be filled (no example, no id seen)")
            continue
        path, query, notes = req
        if protected and session is not None and session.stale:
            session = await ctx.auth()
        headers = session.headers() if protected and session is not None else None
        ex = await ctx.http.request(op.method, ctx.url(path), params=query or None, headers=headers)
        if ex.status == 401 and protected and session is not None and not relogged:
            relogged = True  # an expired token: log in again and retry, once per check
            session = await ctx.auth(fresh=True)
            ex = await ctx.http.request(
                op.method, ctx.url(path), params=query or None, headers=session.headers()
            )
        what = ("with the audit account" if protected else "anonymously") + (
            f" ({', '.join(notes)})" if notes else ""
        )
        part, good = _response_findings(doc, op, ex, table, "FUN-012", what)
        findings += part
        if good:
            ok.append(op.key)
            collect_ids(_json(ex), seen)
        if ex.status is None and len([f for f in findings if f.status.value == "error"]) >= 3:
            break
    table.export(ctx)
    if auth_reason:
        findings.append(skipped(f"protected safe operations not exercised: {auth_reason}"))
    if ok:
        findings.append(
            passed(
                f"{len(ok)} safe operation(s) answered a documented status with the "
                f"declared content type and schema: {', '.join(ok[:12])}"
                f"{' …' if len(ok) > 12 else ''}"
            )
        )
    return findings


async def _delete_created(
    ctx: Context, doc: OpenAPIDoc, table: OpTable, created: list[tuple[Operation, str]],
    session: AuthSession | None,
) -> tuple[list[Finding], list[str]]:
    """Delete the objects the write calls created: (findings, the deletes that conformed)."""
    findings: list[Finding] = []
    ok: list[str] = []
    for dele, path in created:
        headers = None
        if doc.is_protected(dele):
            session = session if session is not None and not session.stale else await ctx.auth()
            headers = session.headers()
        ex = await ctx.http.request("DELETE", ctx.url(path), headers=headers)
        part, good = _response_findings(
            doc, dele, ex, table, "FUN-013", "deleting an object created"
        )
        findings += part
        if good and ex.status is not None and ex.status < 300:
            ok.append(f"DELETE {path}")
        elif good:
            findings.append(
                failed(
                    f"DELETE {path} answered {ex.status}: the object created by the "
                    "audit could not be deleted",
                    location=f"DELETE {ex.url}",
                    evidence=ex.evidence(),
                )
            )
    return findings, ok


def _track_created(doc: OpenAPIDoc, op: Operation, ex: Exchange, body: dict[str, Any],
                   created: list[tuple[Operation, str]]) -> list[Finding]:
    """Remember how to delete the object a POST created (a WARN when the API offers no way)."""
    obj_id = next((body[k] for k in ("id", "uuid", "slug") if k in body), None)
    dele = delete_operation(doc, op)
    if obj_id is not None and dele is not None:
        param = dele.path.rsplit("{", 1)[1].split("}", 1)[0]
        created.append((dele, dele.path.replace("{" + param + "}", str(obj_id))))
    elif obj_id is not None:
        return [warned(f"{op.key} created object {obj_id} and the API offers no "
                       f"DELETE {op.path.rstrip('/')}/{{id}}: left in place",
                       location=f"{op.method} {ex.url}")]
    return []


@check(
    "FUN-013",
    "Write operations accept schema-valid payloads (allow_mutations)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("4.2.1", "4.2.2", "1.3.3"),
    evidence=Evidence.OBSERVED,
)
async def write_operations(ctx: Context) -> list[Finding]:
    """With ``allow_mutations``, every POST/PUT/PATCH operation with a JSON body (except login,
    registration and LLM endpoints, covered by FUN-02x/03x) receives a payload generated from its
    request schema by hypothesis-jsonschema and answers a documented 2xx/4xx status with a valid
    body, never 5xx; objects created are deleted afterwards through the matching
    ``DELETE {path}/{id}`` operation, which must succeed.

    Write paths are where validation and database errors surface; a valid payload that crashes the
    handler is a production incident.

    Remediation: validate input with request models, handle integrity errors (409), and document
    every status the operation returns.
    """
    if not ctx.cfg.allow_mutations:
        raise Skip("write operations are only called with allow_mutations (--allow-mutations)")
    doc = await ctx.openapi()
    table = await op_table(ctx)
    ops = [op for op in _ordered(doc.operations) if op.method in WRITE_METHODS]
    session = None
    findings: list[Finding] = []
    ok: list[str] = []
    created: list[tuple[Operation, str]] = []  # (delete op, path)
    seen: dict[str, list[Any]] = {}
    deadline = _budget(ctx)
    for op in ops[:MAX_OPERATIONS]:
        row = table.row(op)
        if is_auth_op(op) or is_llm_op(op):
            row.skip("FUN-013", "authentication or LLM endpoint (see FUN-020–024, FUN-030–034)")
            continue
        if time.monotonic() > deadline:
            row.skip("FUN-013", "time budget used up")
            continue
        ok_payload, payload, source = (
            json_payload(doc, op) if op.request_body else (True, None, "no request body")
        )
        if not ok_payload:
            row.skip("FUN-013", source)
            # a JSON body we could not generate: this operation is not verified
            if source.startswith("no payload generated"):
                findings.append(errored(f"{op.key}: {source}", location=f"{op.method} {op.path}"))
            elif source.startswith("hypothesis-jsonschema is not installed"):
                findings.append(skipped(f"{op.key}: {source}", location=f"{op.method} {op.path}"))
            continue
        req = build_request(doc, op, seen)
        if req is None:
            row.skip("FUN-013", "a required parameter could not be filled")
            continue
        path, query, _ = req
        headers = None
        if doc.is_protected(op):
            session = session if session is not None and not session.stale else await ctx.auth()
            headers = session.headers()
        ex = await ctx.http.request(
            op.method, ctx.url(path), params=query or None, json=payload, headers=headers
        )
        part, good = _response_findings(doc, op, ex, table, "FUN-013", f"payload {source}")
        findings += part
        if not good:
            continue
        ok.append(op.key)
        body = _json(ex)
        collect_ids(body, seen)
        if op.method == "POST" and ex.status in (200, 201) and isinstance(body, dict):
            findings += _track_created(doc, op, ex, body, created)
    part, deleted = await _delete_created(ctx, doc, table, created, session)
    findings += part
    ok += deleted
    table.export(ctx)
    if ok:
        findings.append(passed(f"{len(ok)} write call(s) conformed: {', '.join(ok[:12])}"))
    if not findings:
        raise Skip("no write operation with a JSON body besides authentication and LLM endpoints")
    return findings
