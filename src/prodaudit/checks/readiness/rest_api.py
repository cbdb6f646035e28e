"""RDY-005: REST conventions of the API, judged on its OpenAPI document."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, passed, warned

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


def _path_findings(method: str, path: str, codes: set[str], loc: str) -> list[Finding]:
    """Warnings for one operation's path and statuses: verbs, singular collections, creates
    that do not answer 201, deletes that do not answer 204/200."""
    findings: list[Finding] = []
    segs = [s for s in path.strip("/").split("/") if s]
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
        method == "POST"
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
    if method == "DELETE":
        ok = {c for c in codes if c.startswith("2")}
        if ok and not ok & {"200", "202", "204"}:
            findings.append(
                warned(f"DELETE answers {', '.join(sorted(ok))}, not 204/200", location=loc)
            )
    return findings


@check(
    "RDY-005",
    "API endpoints follow REST conventions (OpenAPI)",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("1.1.5",),
    evidence=Evidence.OBSERVED,
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
        findings += _path_findings(op.method, op.path, codes, loc)
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
