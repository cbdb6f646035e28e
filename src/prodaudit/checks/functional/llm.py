"""FUN-030–034: LLM integration — an answer, mock mode, provider outage, prompt limit, streaming."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
from prodaudit.checks.functional._llm import BAD_ROLE, answer_text, judge_provider_refusal
from prodaudit.checks.functional._operations import act_on, is_llm_op, param_value
from prodaudit.llmdetect import llm_operations

PROMPT = "Reply with one short sentence: what is 2 + 2?"
TEXT_FIELDS = ("prompt", "message", "input", "query", "question", "text", "content")
TRACE_RE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+", re.I)
TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass
class LlmEndpoint:
    method: str
    path: str
    protected: bool
    schema: dict[str, Any]  # resolved request body schema (may be empty)
    doc: OpenAPIDoc | None

    @property
    def supports_stream(self) -> bool:
        props = self.schema.get("properties") or {}
        return isinstance(props.get("stream"), dict)

    def payload(self, text: str, *, stream: bool | None = None) -> dict[str, Any]:
        """A request body carrying ``text`` as the user's prompt, shaped by the schema."""
        props: dict[str, Any] = self.schema.get("properties") or {}
        body: dict[str, Any] = {}
        if "messages" in props or not props:
            body["messages"] = [{"role": "user", "content": text}]
        else:
            name = next((f for f in TEXT_FIELDS if f in props), None) or next(
                (k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "string"),
                "prompt")
            body[name] = text
        for req in self.schema.get("required") or []:
            if req in body or req not in props or self.doc is None:
                continue
            value, _ = param_value(self.doc, {"name": req, "schema": props[req]}, {})
            if value is not None:
                body[req] = value
        if stream is not None and self.supports_stream:
            body["stream"] = stream
        return body


async def find_llm(ctx: Context) -> LlmEndpoint:
    """The LLM endpoint: ``llm.endpoints`` (first), else the best OpenAPI match; Skip if none."""

    async def build() -> LlmEndpoint:
        doc: OpenAPIDoc | None
        try:
            doc = await ctx.openapi()
        except Skip:
            doc = None
        ops: list[Operation] = []
        if ctx.cfg.llm.endpoints:
            raw = ctx.cfg.llm.endpoints[0].split()
            method, path = (raw[0].upper(), raw[1]) if len(raw) == 2 else ("POST", raw[0])
            if doc is not None:
                ops = [o for o in doc.operations if o.method == method and o.path == path]
            ctx.register_llm(path)
            if not ops:
                return LlmEndpoint(method, path, True, {}, doc)
        elif doc is not None:
            ops = [o for o in llm_operations(doc) if is_llm_op(o, doc)]
        if not ops:
            raise Skip(
                "no LLM endpoint: none configured (llm.endpoints) and no POST operation of the "
                "OpenAPI document named like chat/completion/llm/prompt (whole words) with a "
                "prompt-shaped body"
            )
        op = ops[0]
        ctx.register_llm(op.path)
        schema: dict[str, Any] = {}
        assert doc is not None
        content = (op.request_body or {}).get("content") or {}
        media = next((m for k, m in content.items() if "json" in k.lower()), None)
        if isinstance(media, dict) and isinstance(media.get("schema"), dict):
            resolved = doc.resolve(media["schema"])
            schema = resolved if isinstance(resolved, dict) else {}
        return LlmEndpoint(op.method, op.path, doc.is_protected(op), schema, doc)

    ep: LlmEndpoint = await ctx.amemo("functional:llm-endpoint", build)
    return ep


async def _headers(ctx: Context, ep: LlmEndpoint) -> dict[str, str] | None:
    if not ep.protected:
        return None
    sess = await ctx.auth()
    return sess.headers()


async def llm_call(
    ctx: Context,
    ep: LlmEndpoint,
    text: str,
    *,
    stream: bool | None = None,
    check_id: str,
    what: str,
    role: str | None = None,
) -> Exchange:
    """One call of the LLM endpoint. A billable POST: without ``--allow-mutations`` (or past
    ``probes.max_llm_calls``) it is not sent and the check is SKIP. ``role`` replaces the
    message role of a ``messages`` body."""
    refused = ctx.http.refusal(ep.method, ctx.url(ep.path))
    if refused:
        raise Skip(f"the LLM endpoint was not called: {refused} (every call may be billed)")
    body = ep.payload(text, stream=stream)
    if role is not None and isinstance(body.get("messages"), list):
        body["messages"] = [{**m, "role": role} for m in body["messages"]]
    ex = await ctx.http.request(
        ep.method,
        ctx.url(ep.path),
        json=body,
        headers=await _headers(ctx, ep),
        timeout=ctx.cfg.llm.timeout_seconds,
    )
    verdict = "error" if ex.status is None else "ok" if ex.status < 400 else "info"
    await act_on(ctx, check_id, ex, what, verdict)
    return ex


async def first_answer(ctx: Context) -> tuple[LlmEndpoint, Exchange]:
    """One small prompt, sent once per run and shared by FUN-030–032."""
    ep = await find_llm(ctx)

    async def build() -> Exchange:
        return await llm_call(
            ctx,
            ep,
            PROMPT,
            stream=False if ep.supports_stream else None,
            check_id="FUN-030",
            what="one small prompt",
        )

    ex: Exchange = await ctx.amemo("functional:llm-answer", build)
    return ep, ex


async def _provider_refusal(ctx: Context, ep: LlmEndpoint) -> list[Finding] | None:
    """With the provider up, provoke a provider error: one message with a role no provider
    accepts (judged by :func:`judge_provider_refusal`)."""
    if "messages" not in ep.payload(PROMPT):
        return None
    try:
        ex = await llm_call(ctx, ep, PROMPT, check_id="FUN-032", role=BAD_ROLE,
                            what="a message with an unknown role (a provider error)")
    except Skip:
        return None
    return judge_provider_refusal(ex, f"{ep.method} {ex.url}")


def _failed_at(ex: Exchange, loc: str, message: str) -> list[Finding]:
    """A FAIL at ``loc`` with the exchange as evidence."""
    return [failed(message, location=loc, evidence=ex.evidence())]


@check(
    "FUN-030",
    "LLM endpoint answers a small prompt within the timeout",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("4.2.3",),
    evidence=Evidence.OBSERVED,
)
async def llm_answers(ctx: Context) -> list[Finding]:
    """The LLM endpoint (``llm.endpoints``, or an OpenAPI operation whose path, id or tags say
    chat/completion/llm/generate) answers one small prompt sent with the audit account with a
    non-empty answer within ``llm.timeout_seconds``.

    The LLM feature is usually the product's core; a broken provider key, model name or base URL
    shows up here first.

    Remediation: check the provider configuration (base URL, key, model) in the production
    environment and the error handling of the LLM route.
    """
    ep, ex = await first_answer(ctx)
    loc = f"{ep.method} {ex.url}"
    limit = ctx.cfg.llm.timeout_seconds
    if ex.status is None:
        return _failed_at(ex, loc, f"{loc}: no answer: {ex.error} (limit {limit:.0f} s)")
    if ex.status != 200:
        return _failed_at(ex, loc, f"{loc} answered {ex.status} to a small prompt")
    text = answer_text(ex)
    if not text:
        return _failed_at(ex, loc, f"{loc} answered 200 with an empty answer")
    return [
        passed(
            f"{loc} answered in {ex.elapsed_s * 1000:.0f} ms (limit {limit:.0f} s): {text[:80]!r}",
            location=loc,
        )
    ]


def mock_markers(ctx: Context, ex: Exchange | None) -> list[str]:
    """Why we think the LLM runs in mock mode (empty: no sign of it)."""
    out = []
    for name in ctx.cfg.llm.mock_env:
        val = ctx.env_value(name)
        if val is not None and val.strip().lower() in TRUE_WORDS:
            out.append(f"{name}={val} in the audited environment")
    if ex is not None and ex.status is not None:
        for key, val in ex.headers.items():
            off = val.strip().lower() in ("0", "false", "no", "off")
            if ("mock" in key.lower() and not off) or re.search(r"\bmock\b", val, re.I):
                out.append(f"response header {key}: {val}")
        text = answer_text(ex)
        if re.search(
            r"\[mock\]|\bmock(ed)? (response|answer|reply|mode)\b|lorem ipsum", text, re.I
        ):
            out.append(f"answer text {text[:60]!r}")
        try:
            body = ex.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and str(body.get("model", "")).lower() in (
            "mock",
            "fake",
            "dummy",
        ):
            out.append(f"model {body['model']!r} in the answer")
    return out


@check(
    "FUN-031",
    "LLM mock mode is off in production",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("4.1.4", "2.1.3"),
    evidence=Evidence.OBSERVED,
)
async def llm_mock_mode(ctx: Context) -> list[Finding]:
    """Mock mode is detected from the configuration (``llm.mock_env`` variables such as
    ``MOCK_LLM`` in the audited environment), response headers (``X-LLM-Mock``), the answer text
    (``[mock]``) or the model name. It is a HIGH failure in the production profile, a warning in
    staging and a pass in development.

    A product that ships with its LLM mocked answers every user with canned text: the release
    looks healthy while its core feature does nothing.

    Remediation: set ``MOCK_LLM=false`` (or remove it) in the production environment and make the
    application refuse to start with mock mode on in production.
    """
    ex: Exchange | None = None
    where = ""
    try:
        ep, ex = await first_answer(ctx)
        where = f"{ep.method} {ex.url}"
    except Skip as exc:
        if not mock_markers(ctx, None):
            raise
        where = f"(no LLM endpoint reached: {exc.reason})"
    markers = mock_markers(ctx, ex)
    profile = ctx.cfg.profile
    evidence = ex.evidence() if ex is not None else ""
    if markers:
        msg = f"LLM mock mode is on ({'; '.join(markers)})"
        if profile == "production":
            return [
                failed(
                    f"{msg} in the production profile",
                    location=where,
                    evidence=evidence,
                    severity=Severity.HIGH,
                )
            ]
        if profile == "staging":
            return [
                warned(
                    f"{msg} in staging: the real provider is not exercised",
                    location=where,
                    evidence=evidence,
                )
            ]
        return [passed(f"{msg}: acceptable in the development profile", location=where)]
    assert ex is not None
    if ex.status != 200:
        raise Skip(
            f"{where} answered {ex.status or ex.error}: mock mode cannot be judged from an "
            "answer (no mock variable set either)"
        )
    return [
        passed(
            f"no sign of mock mode: no mock variable on ({', '.join(ctx.cfg.llm.mock_env)}),"
            f" no mock header or marker in the answer of {where}",
            location=where,
        )
    ]


@check(
    "FUN-032",
    "LLM provider outage gives a clean 502/503 JSON error",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("4.1.3", "1.1.2", "4.2.3"),
    references=("CWE-209",),
    evidence=Evidence.OBSERVED,
)
async def llm_outage(ctx: Context) -> list[Finding]:
    """When the LLM provider fails, the API answers 502, 503 or 504 with a JSON error body and no
    stack trace — never 500. Verified when the provider is down during the audit (e.g. the
    reference target started with ``LLM_BASE_URL`` at a closed port). With the provider up, a
    ``messages`` endpoint gets one message with a role no provider accepts: if the API forwards
    it, the provider's refusal shows how provider errors are handled (a 500 or the provider's
    error text in the answer fail; a JSON 502/503/504 passes); if the API refuses the role
    itself or answers 2xx, the check is SKIP (not verified).

    An unhandled provider error becomes a 500 with a trace in debug builds, hides the cause from
    monitoring (5xx from our code vs. an upstream outage) and can leak internals.

    Remediation: catch the provider client's errors (connection, timeout, non-2xx, malformed
    body) and answer 502 ``{"detail": "LLM provider unavailable"}``; alert on the rate of 502s.
    """
    ep, ex = await first_answer(ctx)
    loc = f"{ep.method} {ex.url}"
    if ex.status is None:
        return [errored(f"{loc}: {ex.error}", location=loc)]
    if ex.status < 500:
        refused = await _provider_refusal(ctx, ep)
        if refused is not None:
            return refused
        raise Skip(
            f"{loc} answered {ex.status}: the provider is up, outage handling not verified "
            "(audit once with the provider unreachable; a message with an unknown role was "
            "not forwarded to the provider either)"
        )
    if TRACE_RE.search(ex.text):
        return [
            failed(
                f"{loc} answered {ex.status} with a stack trace",
                location=loc,
                evidence=ex.evidence(),
                severity=Severity.HIGH,
            )
        ]
    ctype = (ex.header("content-type") or "").lower()
    if ex.status not in (502, 503, 504):
        return _failed_at(
            ex, loc, f"{loc} answered {ex.status} while the provider fails (expected 502/503/504)")
    if "json" not in ctype:
        return _failed_at(ex, loc, f"{loc} answered {ex.status} with {ctype or 'no content type'}, "
                                   "not a JSON error body")
    return [
        passed(
            f"{loc} answered {ex.status} with a JSON error and no stack trace while the "
            "provider fails",
            location=loc,
            evidence=ex.evidence(),
        )
    ]


@check(
    "FUN-033",
    "Oversized prompts are refused (413/422)",
    severity=Severity.MEDIUM,
    needs=("live",),
    checklist=("1.3.3",),
    references=("OWASP API4:2023", "CWE-770"),
    evidence=Evidence.OBSERVED,
)
async def llm_prompt_limit(ctx: Context) -> list[Finding]:
    """A prompt of ``llm.oversized_prompt_chars`` characters (default 200 000) is refused with 413
    or 422 (400 accepted) and a JSON error, before reaching the provider; never accepted, never
    5xx.

    Without a limit one request can cost the whole provider budget or hit the provider's context
    limit with an unhandled error (unrestricted resource consumption).

    Remediation: limit the total prompt size (characters or tokens) in the request model or the
    route and answer 413 with a clear message.
    """
    ep = await find_llm(ctx)
    size = ctx.cfg.llm.oversized_prompt_chars
    ex = await llm_call(
        ctx,
        ep,
        "a" * size,
        stream=False if ep.supports_stream else None,
        check_id="FUN-033",
        what=f"oversized prompt ({size} characters)",
    )
    loc = f"{ep.method} {ex.url}"
    if ex.status is None:
        return [errored(f"{loc} with a {size}-character prompt: {ex.error}", location=loc)]
    if ex.status == 429:
        raise Skip(f"{loc}: rate limited (429) before the oversized prompt was judged")
    if ex.status in (413, 422, 400):
        return [passed(f"{loc} refused a {size}-character prompt with {ex.status}", location=loc)]
    if 200 <= ex.status < 300:
        return [
            failed(
                f"{loc} accepted a {size}-character prompt ({ex.status}): no prompt limit",
                location=loc,
                evidence=ex.evidence(body_chars=300),
            )
        ]
    return [
        failed(
            f"{loc} answered {ex.status} to a {size}-character prompt (expected 413/422)",
            location=loc,
            evidence=ex.evidence(body_chars=300),
        )
    ]


@check(
    "FUN-034",
    "Streaming LLM responses terminate",
    severity=Severity.LOW,
    needs=("live",),
    checklist=("4.2.3",),
    evidence=Evidence.OBSERVED,
)
async def llm_streaming(ctx: Context) -> list[Finding]:
    """Where the LLM endpoint offers streaming (a boolean ``stream`` field in its request schema),
    a streamed answer to a small prompt arrives as ``text/event-stream`` (or chunked JSON) and
    ends (the connection closes, ``[DONE]`` or a final event) within ``llm.timeout_seconds``.

    A stream that never ends holds a worker and a connection per user until a proxy kills it.

    Remediation: always send a terminating event and close the response, also when the provider
    fails mid-stream.
    """
    ep = await find_llm(ctx)
    if not ep.supports_stream:
        raise Skip(f"{ep.method} {ep.path} offers no streaming (no boolean 'stream' request field)")
    ex = await llm_call(ctx, ep, PROMPT, stream=True, check_id="FUN-034", what="streamed prompt")
    loc = f"{ep.method} {ex.url}"
    if ex.status is None:
        return _failed_at(ex, loc, f"{loc}: the stream did not complete: {ex.error}")
    if ex.status != 200:
        return _failed_at(ex, loc, f"{loc} answered {ex.status} to a streamed prompt")
    if ex.truncated:
        return [
            failed(f"{loc}: the stream exceeded the {len(ex.body)}-byte body cap", location=loc)
        ]
    ctype = (ex.header("content-type") or "").lower()
    findings: list[Finding] = []
    if "event-stream" in ctype:
        events = [ln for ln in ex.text.splitlines() if ln.startswith("data:")]
        if not events:
            return _failed_at(ex, loc, f"{loc}: event stream without data events")
        if "event: error" in ex.text:
            findings.append(
                warned(
                    f"{loc}: the stream carried an error event",
                    location=loc,
                    evidence=ex.evidence(),
                )
            )
        end = "[DONE]" if any("[DONE]" in e for e in events) else "connection close"
        findings.append(
            passed(
                f"{loc} streamed {len(events)} events and ended ({end}) in "
                f"{ex.elapsed_s * 1000:.0f} ms",
                location=loc,
            )
        )
    else:
        findings.append(
            skipped(
                f"{loc} answered {ctype or 'no content type'} to stream=true "
                "(not an event stream); it completed"
            )
        )
    return findings
