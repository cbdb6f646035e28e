"""Helpers shared by the functional checks: the per-operation table exported as
``facts["operations"]``, request filling from the OpenAPI schema, and response validation.

Not a check module: it registers nothing.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from prodaudit.checks.api import (
    Context,
    Exchange,
    OpenAPIDoc,
    Operation,
)
from prodaudit.llmdetect import is_llm_operation
from prodaudit.openapi_fill import build_request, collect_ids, param_value

AUTH_PATH_RE = re.compile(
    r"(^|/)(login|log-?in|sign-?in|sign-?up|signout|sign-?out|logout|log-out|register|token|refresh"
    r"|revoke|password|jwt)(/|$)",
    re.I,
)
__all__ = ["build_request", "collect_ids", "param_value"]  # re-exported: prodaudit.openapi_fill


# ---- the per-operation table --------------------------------------------------------------
@dataclass
class OpRow:
    """What was done to one operation and what came of it."""

    method: str
    path: str
    operation_id: str
    tags: list[str]
    protected: bool
    actions: list[dict[str, Any]] = field(default_factory=list)
    not_exercised: list[str] = field(default_factory=list)

    def act(
        self,
        check_id: str,
        what: str,
        status: int | None,
        verdict: str,
        note: str = "",
        elapsed_s: float | None = None,
    ) -> None:
        self.actions.append(
            {
                "check": check_id,
                "what": what,
                "status": status,
                "verdict": verdict,
                "note": note,
                "ms": round(elapsed_s * 1000, 1) if elapsed_s is not None else None,
            }
        )

    def skip(self, check_id: str, why: str) -> None:
        self.not_exercised.append(f"{check_id}: {why}")

    def to_dict(self) -> dict[str, Any]:
        verdicts = [a["verdict"] for a in self.actions]
        if not verdicts:
            result = "not exercised"
        elif "fail" in verdicts:
            result = "fail"
        elif "warn" in verdicts:
            result = "warn"
        elif "error" in verdicts:
            result = "error"
        else:
            result = "ok"
        return {
            "method": self.method,
            "path": self.path,
            "operation_id": self.operation_id,
            "tags": self.tags,
            "protected": self.protected,
            "result": result,
            "actions": list(self.actions),
            "why_not_exercised": "; ".join(self.not_exercised) if not self.actions else "",
            "notes": list(self.not_exercised),
        }


class OpTable:
    """Rows for every operation of the OpenAPI document; re-exported after every change."""

    def __init__(self, doc: OpenAPIDoc) -> None:
        self.rows: dict[str, OpRow] = {
            op.key: OpRow(op.method, op.path, op.operation_id, list(op.tags), doc.is_protected(op))
            for op in doc.operations
        }

    def row(self, op: Operation) -> OpRow:
        return self.rows[op.key]

    def match(self, method: str, path: str) -> OpRow | None:
        """The row whose (templated) path matches a concrete request path."""
        for row in self.rows.values():
            if row.method != method.upper():
                continue
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(row.path.rstrip("/"))) + "/?$"
            if re.match(rx, path):
                return row
        return None

    def export(self, ctx: Context) -> None:
        ctx.export("operations", [r.to_dict() for r in self.rows.values()])


async def op_table(ctx: Context) -> OpTable:
    """The run's operation table (Skip when there is no OpenAPI document)."""
    doc = await ctx.openapi()
    table: OpTable = ctx.memo("functional:optable", lambda: OpTable(doc))
    return table


async def note_ops(ctx: Context, ops: list[Operation], check_id: str, why: str) -> None:
    """Record in the table that ``check_id`` exercises these operations elsewhere (or not)."""
    try:
        table = await op_table(ctx)
    except Exception:  # noqa: BLE001 - no document, nothing to annotate
        return
    for op in ops:
        if op.key in table.rows:
            table.row(op).skip(check_id, why)
    table.export(ctx)


async def act_on(
    ctx: Context, check_id: str, ex: Exchange, what: str, verdict: str, note: str = ""
) -> None:
    """Record an exchange made by a check in the operation table (when there is one)."""
    try:
        table = await op_table(ctx)
    except Exception:  # noqa: BLE001 - no document, nothing to annotate
        return
    base_path = urlsplit(ctx.base_url).path.rstrip("/")
    path = urlsplit(ex.url).path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :] or "/"
    row = table.match(ex.method, path)
    if row is not None:
        row.act(check_id, what, ex.status, verdict, note, ex.elapsed_s if ex.status else None)
        table.export(ctx)


def is_auth_op(op: Operation) -> bool:
    return bool(AUTH_PATH_RE.search(op.path))


def is_llm_op(op: Operation, doc: OpenAPIDoc | None = None) -> bool:
    """An operation that calls an LLM (whole words and the body's shape: ``llmdetect``)."""
    return is_llm_operation(op, doc) and not is_auth_op(op)


# ---- schemas ------------------------------------------------------------------------------
_OAS_ONLY = ("discriminator", "xml", "externalDocs", "example")


def _convert(node: Any, v30: bool) -> Any:
    """OpenAPI schema object -> JSON Schema (2020-12): ``nullable``, boolean exclusive bounds."""
    if isinstance(node, list):
        return [_convert(v, v30) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v, v30) for k, v in node.items() if k not in _OAS_ONLY}
    if v30:
        for bound, excl in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            flag = out.pop(excl) if isinstance(out.get(excl), bool) else False
            if flag and bound in out:
                out[excl] = out.pop(bound)
        if out.pop("nullable", False) is True:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            elif "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
                out = {"anyOf": [out, {"type": "null"}]}
    return out


def json_schema(doc: OpenAPIDoc, schema: dict[str, Any]) -> dict[str, Any]:
    """A self-contained JSON Schema: local ``#/components/...`` refs resolve against the root."""
    v30 = doc.version.startswith(("3.0", "2."))
    root = _convert(schema, v30)
    comps = doc.spec.get("components")
    if isinstance(comps, dict):
        root = {"allOf": [root], "components": _convert(comps, v30)}
    defs = doc.spec.get("definitions")  # Swagger 2
    if isinstance(defs, dict):
        root = {"allOf": [root], "definitions": _convert(defs, v30)}
    return root


class SchemaUnusable(Exception):
    """The declared schema cannot be used for validation (unresolvable refs, no jsonschema)."""


def validate(doc: OpenAPIDoc, schema: dict[str, Any], instance: Any) -> str | None:
    """None when valid, else the first error (path and message). Raises SchemaUnusable."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        raise SchemaUnusable("jsonschema is not installed") from None
    try:
        validator = Draft202012Validator(json_schema(doc, schema))
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    except Exception as exc:  # noqa: BLE001 - unresolvable refs, invalid schema
        raise SchemaUnusable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.absolute_path) or "(root)"
    return f"at {where}: {err.message[:300]}"


def documented(op: Operation, status: int) -> tuple[str | None, dict[str, Any]]:
    """The responses key that documents ``status`` (exact, ``2XX`` range, ``default``)."""
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in op.responses:
            return key, op.responses[key] if isinstance(op.responses[key], dict) else {}
    return None, {}


def media_matches(declared: str, actual: str) -> bool:
    declared = declared.split(";")[0].strip().lower()
    actual = actual.split(";")[0].strip().lower()
    if declared in ("*/*", actual):
        return True
    if declared.endswith("/*"):
        return actual.startswith(declared[:-1])
    if declared.endswith("+json") or declared == "application/json":
        return actual == "application/json" or actual.endswith("+json")
    return False


def check_response(
    doc: OpenAPIDoc, op: Operation, ex: Exchange, notes: list[str] | None = None
) -> list[str]:
    """Problems of a response against the operation's declaration (empty: conforms); what could
    not be verified is appended to ``notes``."""
    assert ex.status is not None
    notes = notes if notes is not None else []
    problems: list[str] = []
    key, resp = documented(op, ex.status)
    if key is None:
        return [
            f"status {ex.status} is not documented (documented: {', '.join(sorted(op.responses))})"
        ]
    resp = doc.resolve(resp)
    content = resp.get("content") or {}
    if not content and "schema" in resp:  # Swagger 2
        content = {"application/json": {"schema": resp["schema"]}}
    if ex.status in (204, 304) or not content or not ex.body:
        return problems
    ctype = ex.header("content-type") or ""
    media = next((m for m in content if media_matches(m, ctype)), None)
    if media is None:
        return [f"content type {ctype or '(none)'} is not declared ({', '.join(content)})"]
    schema = (content.get(media) or {}).get("schema")
    if not isinstance(schema, dict) or "json" not in ctype.lower():
        return problems
    if ex.truncated:
        return [f"body larger than the {len(ex.body)} byte cap: not validated"]
    try:
        body = json.loads(ex.body)
    except ValueError as exc:
        return [f"body is not valid JSON although declared {media}: {exc}"]
    try:
        err = validate(doc, schema, body)
    except SchemaUnusable as exc:
        notes.append(f"body not validated: the declared schema is unusable ({exc})")
        return problems
    if err:
        problems.append(f"body does not match the declared schema {err}")
    return problems


# ---- filling requests: prodaudit.openapi_fill (shared with the security probes) ----------


def json_payload(doc: OpenAPIDoc, op: Operation) -> tuple[bool, Any, str]:
    """(True, a schema-valid JSON payload, its source) — hypothesis-jsonschema — or
    (False, None, why not)."""
    body = op.request_body or {}
    content = body.get("content") or {}
    media = next((m for m in content if "json" in m.lower()), None)
    if media is None:
        return False, None, f"request body is not JSON ({', '.join(content) or 'none declared'})"
    schema = (content[media] or {}).get("schema")
    if not isinstance(schema, dict):
        return False, None, "request body declares no schema"
    if "example" in content[media]:
        return True, content[media]["example"], "the documented example"
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import HypothesisException
        from hypothesis_jsonschema import from_schema
    except ImportError:
        return (
            False,
            None,
            "hypothesis-jsonschema is not installed: install prodaudit[fuzz]",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            strategy = from_schema(json_schema(doc, schema))
            value = find(
                strategy,
                lambda _: True,
                settings=settings(
                    database=None,
                    max_examples=20,
                    deadline=None,
                    phases=[Phase.generate],  # the simplest valid value, no shrinking (fast)
                    suppress_health_check=list(HealthCheck),
                ),
            )
    except (HypothesisException, Exception) as exc:  # noqa: BLE001 - generator limits
        return False, None, f"no payload generated: {type(exc).__name__}: {str(exc)[:120]}"
    return True, value, "generated from the schema (hypothesis-jsonschema)"


def delete_operation(doc: OpenAPIDoc, create: Operation) -> Operation | None:
    rx = re.compile("^" + re.escape(create.path.rstrip("/")) + r"/\{[^/}]+\}/?$")
    return next((o for o in doc.operations if o.method == "DELETE" and rx.match(o.path)), None)
