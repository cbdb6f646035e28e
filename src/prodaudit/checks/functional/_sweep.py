"""The operation sweeps of FUN-011–013: their bounds, the judgement of one answer, and the
objects a write sweep created (deleted afterwards). Not a check module.

The HTTP layer enforces the same bounds (the check's probe budget); a request it refuses is
never sent, and the operation is reported as not verified.
"""

from __future__ import annotations

import re
import time
from typing import Any

from prodaudit.auth import AuthSession
from prodaudit.checks.api import (
    Context,
    Exchange,
    Finding,
    NotSent,
    OpenAPIDoc,
    Operation,
    Severity,
    errored,
    failed,
    skipped,
    warned,
)
from prodaudit.checks.functional._operations import OpRow, OpTable, check_response, delete_operation

MAX_OPERATIONS = 10_000  # the configured probes.max_operations bounds every sweep
WRITE_METHODS = ("POST", "PUT", "PATCH")


def sweep_deadline(ctx: Context) -> float:
    """The sweep's deadline: 3 × ``probes.max_seconds`` (the HTTP layer enforces the same)."""
    return time.monotonic() + ctx.cfg.probes.max_seconds * 3


def max_operations(ctx: Context) -> int:
    return min(MAX_OPERATIONS, ctx.cfg.probes.max_operations)


def json_body(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return None


ADMIN_RE = re.compile(r"(^|/)(admin|internal|manage|management|staff|superuser)(/|$)", re.I)


def admin_like(ctx: Context, op: Operation) -> bool:
    """An operation that must be protected whatever the document says: ``auth.admin_paths`` or
    a path segment like /admin/."""
    return any(op.path.startswith(p) for p in ctx.cfg.auth.admin_paths) or bool(
        ADMIN_RE.search(op.path)
    )


def ordered(ops: list[Operation]) -> list[Operation]:
    """Operations without path parameters first (their answers supply ids for the others)."""
    return sorted(ops, key=lambda o: ("{" in o.path, o.path.count("/"), o.path, o.method))


def judge_anonymous(doc: OpenAPIDoc, op: Operation, ex: Exchange, row: OpRow) -> Finding:
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


async def send_op(
    ctx: Context, op: Operation, row: OpRow, check_id: str, path: str, **kwargs: Any
) -> tuple[Exchange | None, tuple[str, str]]:
    """Send ``op`` to ``path`` unless the HTTP layer refuses it: (the exchange, ("", "")) or
    (None, (kind, reason)) with the kind of refusal ("excluded", "mutation", "budget" ...); the
    row then says the operation was not called and why."""
    refused = ctx.http.policy.refusal(op.method, ctx.url(path))
    if refused is not None:
        row.skip(check_id, refused[1])
        return None, refused
    try:
        return await ctx.http.request(op.method, ctx.url(path), **kwargs), ("", "")
    except NotSent as exc:
        row.skip(check_id, exc.reason)
        return None, (exc.kind, exc.reason)


def deadline_reached(n: int, ctx: Context, deadline: float) -> bool:
    """The sweep's operation count or time is used up at the ``n``-th operation."""
    return n >= max_operations(ctx) or time.monotonic() > deadline


def response_findings(
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


async def delete_created(
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
        try:
            ex = await ctx.http.request("DELETE", ctx.url(path), headers=headers)
        except NotSent as exc:
            findings.append(warned(f"the object at {path} created by the audit was not deleted: "
                                   f"{exc.reason}", location=f"DELETE {path}"))
            continue
        part, good = response_findings(
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


def track_created(doc: OpenAPIDoc, op: Operation, ex: Exchange, body: dict[str, Any],
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
