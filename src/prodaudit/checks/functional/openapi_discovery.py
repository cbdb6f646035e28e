"""FUN-010: find and parse the OpenAPI document and list every operation."""

from __future__ import annotations

from collections import Counter

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    warned,
)
from prodaudit.checks.functional._operations import op_table


@check(
    "FUN-010",
    "OpenAPI document found, parsed and every operation listed",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("6.1.2", "4.2.1"),
    references=("OWASP API9:2023",),
    evidence=Evidence.OBSERVED,
)
async def openapi_document(ctx: Context) -> list[Finding]:
    """The API publishes an OpenAPI 3.0 or 3.1 document (``--openapi`` path or URL, or found at
    ``/openapi.json``, ``/api/v1/openapi.json``, ... or linked from ``/docs``) that parses and
    declares its operations. Every operation is listed in the report (``facts.operations``) with
    what the functional suite did to it and the result; an operation not exercised says why.

    Without a machine-readable description the API cannot be tested completely, clients drift
    from the server, and unknown endpoints stay unaudited (improper inventory management).

    Remediation: serve the framework's generated document (FastAPI: ``openapi_url``; Flask:
    flask-smorest, apispec or flasgger) or commit it to the repository and pass ``--openapi``;
    keep it complete (responses, security requirements, schemas).
    """
    try:
        doc = await ctx.openapi()
    except Skip:
        if ctx.openapi_failure is not None:
            return _judge_discovery_failure(ctx)
        raise
    findings: list[Finding] = []
    if not doc.version.startswith("3."):
        findings.append(
            warned(
                f"{doc.source}: OpenAPI/Swagger version {doc.version or '?'}: "
                "only 3.0 and 3.1 are fully supported",
                location=doc.source,
            )
        )
    if not doc.operations:
        findings.append(failed(f"{doc.source} declares no operation", location=doc.source))
        return findings
    table = await op_table(ctx)
    table.export(ctx)
    methods = Counter(op.method for op in doc.operations)
    per_method = ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
    protected = sum(1 for op in doc.operations if doc.is_protected(op))
    no_resp = [op.key for op in doc.operations if not op.responses]
    if no_resp:
        findings.append(
            warned(
                f"{len(no_resp)} operation(s) declare no responses: {', '.join(no_resp[:8])}",
                location=doc.source,
            )
        )
    findings.append(
        passed(
            f"OpenAPI {doc.version} document at {doc.source}: {len(doc.operations)} operations "
            f"({per_method}), {protected} protected, "
            f"{len(doc.security_schemes)} security scheme(s)",
            location=doc.source,
        )
    )
    return findings


def _judge_discovery_failure(ctx: Context) -> list[Finding]:
    """Why discovery found no document, from its own answers: a candidate that answered 200 but
    is broken, or errors (5xx, no answer: not "not found"), is ERROR; only definite "not found"
    answers are a FAIL."""
    assert ctx.openapi_failure is not None
    exc, answers = ctx.openapi_failure
    unclear = sorted(
        {f"{ex.status or ex.error}" for ex in answers
         if ex.status is None or ex.status >= 500}
    )
    if exc.broken:
        return [
            errored(
                f"an OpenAPI candidate answered 200 but is not a usable document: "
                f"{'; '.join(exc.broken[:3])}",
                location=ctx.base_url,
            )
        ]
    if unclear:  # errors are not "not found"
        return [
            errored(
                f"{exc}; candidates answered {', '.join(unclear[:4])}: whether a "
                "document is published was not verified",
                location=ctx.base_url,
            )
        ]
    if "no OpenAPI document found" in str(exc):
        return [
            failed(
                f"{exc}; pass --openapi PATH|URL if it is published elsewhere",
                location=ctx.base_url,
            )
        ]
    return [errored(str(exc), location=ctx.base_url)]
