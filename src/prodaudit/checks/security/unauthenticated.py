"""SEC-083–084: operations open to anyone that should not be — writes on users and privileged
resources, and LLM endpoints (every call costs money)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    OpenAPIDoc,
    Operation,
    Severity,
    Skip,
    Status,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._common import MADE_UP_ID, accepted, live_location, made_up_path
from prodaudit.checks.security._repo_routes import served_routes
from prodaudit.checks.security._routes import discover_routes
from prodaudit.llmdetect import PROMPT_FIELDS, llm_operations, words_of
from prodaudit.openapi_fill import param_value
from prodaudit.redact import mask_evidence

PRIVILEGED = frozenset({
    "user", "users", "account", "accounts", "member", "members", "role", "roles", "permission",
    "permissions", "group", "groups", "admin", "admins", "staff", "superuser", "superusers",
    "setting", "settings", "config", "configuration", "configurations", "tenant", "tenants",
    "organization", "organizations", "organisation", "organisations", "org", "orgs", "team",
    "teams", "key", "keys", "apikey", "apikeys", "credential", "credentials", "secret", "secrets",
    "webhook", "webhooks", "task", "tasks", "job", "jobs", "queue", "queues", "worker", "workers",
    "cron", "schedule", "schedules", "plugin", "plugins", "billing", "payment", "payments",
    "subscription", "subscriptions", "invoice", "invoices", "tier", "tiers", "quota", "quotas",
})
CHANGE_WORDS = frozenset({"update", "edit", "change", "delete", "remove", "set", "grant",
                          "promote", "activate", "deactivate", "assign", "disable", "enable",
                          "ban", "block", "reset", "modify", "patch", "destroy"})
SIGNUP_WORDS = frozenset({"register", "registration", "signup", "join"})
AUTH_WORDS = frozenset({"login", "logout", "signin", "signout", "token", "tokens", "refresh",
                        "password", "forgot", "verify", "verification", "confirm", "oauth",
                        "jwt", "session", "sessions", "otp", "mfa"})
MAX_LIVE_WRITES = 12
MAX_LLM_OPS = 3
BURST = 10  # anonymous LLM calls that look for a rate limit
RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "x-ratelimit-limit",
                "x-ratelimit-remaining", "ratelimit", "retry-after")


def _words(op: Operation) -> set[str]:
    return words_of(op.path, op.operation_id, *op.tags)


def _is_signup(op: Operation) -> bool:
    words = words_of(op.path, op.operation_id)
    return bool(words & SIGNUP_WORDS) or {"sign", "up"} <= words


def write_kind(op: Operation) -> str | None:
    """"change" or "create" for an operation that writes users or privileged resources, else
    None (authentication and sign-up endpoints are meant to be open)."""
    if op.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    words = _words(op)
    if words & AUTH_WORDS or _is_signup(op) or not words & PRIVILEGED:
        return None
    changes = op.method != "POST" or bool(op.path_params) or bool(words_of(op.path) & CHANGE_WORDS)
    return "change" if changes else "create"


def _made_up(doc: OpenAPIDoc, op: Operation) -> str:
    """The path with every parameter set to an identifier no object has."""
    path = op.path
    for p in op.path_params:
        schema = doc.resolve(p.get("schema") or {})
        typ = schema.get("type") if isinstance(schema, dict) else None
        fmt = schema.get("format") if isinstance(schema, dict) else None
        value = (str(uuid.uuid4()) if fmt == "uuid" else
                 MADE_UP_ID if typ in ("integer", "number", None) else "prodaudit-0")
        path = path.replace("{" + str(p.get("name")) + "}", value)
    return path


def _schema_finding(ctx: Context, doc: OpenAPIDoc, op: Operation, kind: str,
                    protected: int) -> Finding:
    what = "changes or deletes" if kind == "change" else "creates"
    context = (f"the API protects {protected} other operation(s)" if protected
               else "the API declares no authentication for any operation")
    return Finding(
        Status.WARN,
        f"{op.key} {what} users or privileged resources and declares no security requirement "
        f"({context}); anyone may call it unless the handler checks credentials itself",
        location=f"{op.method} {ctx.url(op.path)}",
        severity=Severity.HIGH if kind == "change" else Severity.MEDIUM,
    )


def _judge_write(op: Operation, kind: str, ex: Exchange) -> Finding:
    """The answer to an anonymous write with an empty body and a made-up id."""
    loc = live_location(ex)
    assert ex.status is not None
    if ex.status in (401, 403):
        return passed(f"{op.key} refuses an anonymous request ({ex.status}) although the "
                      "document declares no security requirement", location=loc)
    severity = Severity.CRITICAL if kind == "change" else Severity.HIGH
    if accepted(ex):
        return failed(f"{op.key} answered {ex.status} to an anonymous request: no credentials "
                      "are needed to write users or privileged resources",
                      location=loc, evidence=mask_evidence(ex.evidence(600)), severity=severity)
    if ex.status in (400, 404, 409, 422) and kind == "create":
        # creating an account or resource anonymously may be a designed sign-up: the document
        # already says it is open, and a validation answer confirms only that
        return Finding(Status.WARN, f"{op.key} answered {ex.status} to an anonymous request with "
                       "an empty body: it reaches validation without credentials (if it is a "
                       "public sign-up, throttle it and verify the e-mail address)", location=loc,
                       evidence=mask_evidence(ex.evidence(400)), severity=Severity.MEDIUM)
    if ex.status in (400, 404, 409, 422):
        return failed(f"{op.key} answered {ex.status} to an anonymous request with an empty body "
                      "and a made-up id: it reached validation or the lookup, so no credentials "
                      "are checked before it", location=loc, evidence=mask_evidence(ex.evidence(600)),
                      severity=Severity.HIGH)
    return skipped(f"{op.key}: an anonymous request got {ex.status}: not conclusive",
                   location=loc)


@check(
    "SEC-083",
    "Operations that create or change users or privileged resources require credentials",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "4.2.1"),
    references=("CWE-306", "OWASP API5:2023", "OWASP API2:2023"), evidence=Evidence.OBSERVED,
)
async def unauthenticated_writes(ctx: Context) -> list[Finding]:
    """Every POST/PUT/PATCH/DELETE operation of the OpenAPI document that writes users or
    privileged resources (whole words of its path, id or tags: users, accounts, roles, settings,
    keys, webhooks, tasks, jobs, billing …) declares a security requirement. Sign-up and
    authentication endpoints are open by design and left out; optional authentication
    (``security: [{}, …]``) counts as none.

    Without one the document says anyone may call it: a schema-level warning (HIGH for changes
    and deletions, MEDIUM for creation). With ``--allow-mutations`` each is confirmed live by an
    anonymous request with an empty JSON body and a made-up id: 401/403 passes; 2xx fails, and so
    does a validation or lookup answer (400/404/409/422: the handler ran before any credential
    check) of a change or deletion; for a creation (possibly a designed sign-up) that answer is a
    MEDIUM warning.

    Without an OpenAPI document, the forms that post which only the audit account's pages show
    (the anonymous pages do not) are replayed without the session, with ``--allow-mutations``:
    an answer that is neither 401/403 nor a login page (a redirect to a login path, a page with a
    password field) fails — the form's handler does not check the session. The write routes the
    repository's route tables declare on users or privileged resources (Django ``path()`` with
    its ``include()`` prefixes, Flask, FastAPI, aiohttp; a route without methods whose path says
    create/update/delete is a POST) are sent anonymously the same way as the document's.

    Remediation: put the authentication dependency on the router (or a global permission class)
    so every write needs credentials, and declare it in the document.
    """
    try:
        doc = await ctx.openapi()
    except Skip as exc:
        return await _session_forms(ctx, exc.reason)
    protected = sum(1 for op in doc.operations if doc.is_protected(op))
    open_writes = [(op, kind) for op in doc.operations
                   if (kind := write_kind(op)) and not doc.is_protected(op)]
    if not open_writes:
        writes = sum(1 for op in doc.operations if write_kind(op))
        if not writes:
            raise Skip("no operation writes users or privileged resources")
        return [passed(f"all {writes} operation(s) that write users or privileged resources "
                       "declare a security requirement")]
    out = [_schema_finding(ctx, doc, op, kind, protected) for op, kind in open_writes]
    if not ctx.cfg.allow_mutations:
        out.append(skipped(f"{len(open_writes)} open write(s) not confirmed live: needs "
                           "--allow-mutations"))
        return out
    for op, kind in open_writes[:MAX_LIVE_WRITES]:
        try:
            ex = await ctx.http.request(op.method, ctx.url(_made_up(doc, op)),
                                        json=None if op.method == "DELETE" else {})
        except NotSent as exc:
            out.append(skipped(f"{op.key}: {exc.reason}"))
            continue
        if ex.status is None:
            out.append(skipped(f"{op.key}: no answer: {ex.error}"))
            continue
        out.append(_judge_write(op, kind, ex))
    return out


_PASSWORD_INPUT = re.compile(r"<input[^>]+type=[\"']?password", re.I)
LOGIN_WORDS = frozenset({"login", "signin", "auth", "session", "sessions"})


def _refused(ex: Exchange) -> bool:
    """An anonymous post the application refused: 401/403, sent to a login page, or answered
    with a login form."""
    if ex.status in (401, 403):
        return True
    location = ex.header("location") or ""
    if ex.status is not None and 300 <= ex.status < 400:
        return bool(words_of(location.split("?", 1)[0]) & LOGIN_WORDS) or "next=" in location
    return bool(_PASSWORD_INPUT.search(ex.text))


_TEMPLATE_PARAM = re.compile(r"<(?:[^:>]+:)?([^>]+)>|\{([^}:]+)(?::[^}]*)?\}")
CREATE_WORDS = frozenset({"create", "add", "new", "register"})


def repo_write_ops(ctx: Context) -> list[Operation]:
    """Write operations the repository's route tables declare (no OpenAPI document): routes with
    a write method, and Django-style routes without methods whose path says create/update/
    delete (a POST); parameters as ``{name}`` path parameters."""
    out: dict[str, Operation] = {}
    for r in served_routes(ctx):
        template = _TEMPLATE_PARAM.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", r.path)
        words = words_of(template)
        methods = [m for m in r.methods if m in ("POST", "PUT", "PATCH", "DELETE")]
        if not r.methods and words & (CHANGE_WORDS | CREATE_WORDS):
            methods = ["POST"]
        params = tuple({"in": "path", "name": n, "required": True, "schema": {"type": "integer"}}
                       for n in re.findall(r"\{([^}]+)\}", template))
        for m in methods:
            op = Operation(m, template, r.func, "", (), params, None, {}, None)
            if write_kind(op):
                out.setdefault(op.key, op)
    return list(out.values())


async def _repo_writes(ctx: Context, ops: list[Operation]) -> list[Finding]:
    """Each repository write operation, sent anonymously with an empty body and made-up ids."""
    out: list[Finding] = []
    for op in ops[:MAX_LIVE_WRITES]:
        path = made_up_path(op.path)
        try:
            ex = await ctx.http.request(op.method, ctx.url(path),
                                        json=None if op.method == "DELETE" else {})
        except NotSent as exc:
            out.append(skipped(f"{op.key}: {exc.reason}"))
            continue
        if ex.status is None or ex.status == 405:
            out.append(skipped(f"{op.key}: an anonymous request got {ex.status or ex.error}"))
            continue
        if _refused(ex):  # 401/403, or sent to the login page
            out.append(passed(f"{op.key} refuses an anonymous request ({ex.status})",
                              location=live_location(ex)))
            continue
        kind = write_kind(op)
        assert kind is not None
        out.append(_judge_write(op, kind, ex))
    return out


async def _session_forms(ctx: Context, why_no_doc: str) -> list[Finding]:
    """SEC-083 without an OpenAPI document: forms only the audit account's pages show, and the
    write routes the repository declares, sent anonymously (with --allow-mutations)."""
    found = await discover_routes(ctx)
    public = {r.key for r in found.routes if r.form is not None and not r.auth}
    forms = [r for r in found.routes if r.form is not None and r.auth and r.key not in public]
    ops = repo_write_ops(ctx)
    if not forms and not ops:
        raise Skip(f"{why_no_doc}; and no form that only the audit account's pages show, no "
                   "write route on users or privileged resources in the repository")
    if not ctx.cfg.allow_mutations:
        keys = [r.key for r in forms] + [op.key for op in ops]
        return [skipped(f"{len(forms)} form(s) shown only to the audit account and {len(ops)} "
                        f"write route(s) of the repository ({', '.join(keys[:4])}) are sent "
                        "anonymously only with --allow-mutations")]
    out: list[Finding] = []
    for route in forms[:MAX_LIVE_WRITES]:
        try:
            ex = await ctx.http.request("POST", ctx.url(route.path()), data=dict(route.form or ()))
        except NotSent as exc:
            out.append(skipped(f"{route.key}: {exc.reason}"))
            continue
        if ex.status is None or ex.status >= 500 or ex.status == 429:
            out.append(skipped(f"{route.key}: an anonymous post got {ex.status or ex.error}: "
                               "not conclusive", location=live_location(ex)))
        elif _refused(ex):
            out.append(passed(f"{route.key} refuses an anonymous post ({ex.status})",
                              location=live_location(ex)))
        else:
            out.append(failed(f"{route.key}: a form shown only to logged-in users accepts an "
                              f"anonymous post (HTTP {ex.status}, no login asked)",
                              location=live_location(ex), evidence=mask_evidence(ex.evidence(400))))
    return out + await _repo_writes(ctx, ops)


# ---- LLM endpoints ------------------------------------------------------------------------------
def llm_body(doc: OpenAPIDoc | None, op: Operation | None) -> dict[str, Any]:
    """A small prompt shaped by the operation's request schema."""
    chat = {"messages": [{"role": "user", "content": "Say OK."}]}
    if doc is None or op is None:
        return chat
    content = (op.request_body or {}).get("content") or {}
    media = next((m for k, m in content.items() if "json" in k.lower()), None)
    schema = doc.resolve((media or {}).get("schema") or {}) if isinstance(media, dict) else {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return chat
    required = set(schema.get("required") or [])
    body: dict[str, Any] = {}
    for name, prop in props.items():
        if name == "messages":
            body[name] = chat["messages"]
        elif name in PROMPT_FIELDS and not body.keys() & set(PROMPT_FIELDS):
            body[name] = "Say OK."
        elif name == "stream":
            body[name] = False
        elif name in required or name == "model":
            value, _ = param_value(doc, {"name": name, "schema": prop}, {})
            body[name] = value
    return body or chat


async def _llm_ops(ctx: Context) -> tuple[OpenAPIDoc | None, list[tuple[str, Operation | None]]]:
    """(the document, [(path, operation)]) of the LLM endpoints: ``llm.endpoints`` or those
    recognised in the document."""
    try:
        doc: OpenAPIDoc | None = await ctx.openapi()
    except Skip:
        doc = None
    if ctx.cfg.llm.endpoints:
        paths = [e.split()[-1] for e in ctx.cfg.llm.endpoints]
        by_path = {op.path: op for op in (doc.operations if doc else []) if op.method == "POST"}
        return doc, [(p, by_path.get(p)) for p in paths[:MAX_LLM_OPS]]
    if doc is None:
        raise Skip("no OpenAPI document and no llm.endpoints: no LLM endpoint known")
    ops = llm_operations(doc)
    if not ops:
        raise Skip("no LLM endpoint (llm.endpoints, or an OpenAPI operation shaped like one)")
    for op in ops:
        ctx.register_llm(op.path)
    return doc, [(op.path, op) for op in ops[:MAX_LLM_OPS]]


async def _burst(ctx: Context, url: str, body: dict[str, Any], first: Exchange) -> Finding:
    """Anonymous calls until a 429 or ``BURST`` calls: a limit seen (429 or rate-limit headers)
    passes, none warns."""
    sent = [first]
    for _ in range(BURST - 1):
        if any(ex.status == 429 for ex in sent):
            break
        try:
            sent.append(await ctx.http.request("POST", url, json=body))
        except NotSent as exc:
            return skipped(f"POST {url}: the rate-limit probe stopped: {exc.reason}",
                           location=f"POST {url}")
    limited = next((ex for ex in sent if ex.status == 429), None)
    headed = next((ex for ex in sent if any(ex.header(h) for h in RATE_HEADERS)), None)
    if limited is not None or headed is not None:
        ex = limited or headed
        assert ex is not None
        return passed(f"POST {url}: a rate limit is visible to anonymous callers (HTTP "
                      f"{ex.status}{', rate-limit headers' if headed else ''}, after {len(sent)} "
                      "call(s))", location=live_location(ex))
    return warned(f"POST {url}: {len(sent)} anonymous LLM calls in a row all answered "
                  f"{', '.join(sorted({str(ex.status or ex.error) for ex in sent}))}: no 429 and no "
                  "rate-limit header, so nothing limits what an anonymous caller spends",
                  location=live_location(sent[-1]), evidence=mask_evidence(sent[-1].evidence(400)))


@check(
    "SEC-084",
    "LLM endpoints require credentials and are rate limited",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "4.2.3"),
    references=("CWE-306", "CWE-770", "OWASP API4:2023", "OWASP API2:2023"), evidence=Evidence.OBSERVED,
)
async def llm_access(ctx: Context) -> list[Finding]:
    """Every LLM endpoint (``llm.endpoints``, or an OpenAPI POST operation recognised by whole
    words and a prompt- or chat-shaped body) declares a security requirement, refuses anonymous
    calls and limits the rate of calls. Each call costs money: an endpoint anyone can call
    without limit is an open invoice.

    An LLM endpoint the document declares open fails (HIGH) at schema level. With
    ``--allow-mutations`` one small anonymous prompt confirms it live (2xx fails; 401/403 passes
    with a note that the document is wrong), and for an endpoint that answered it, up to 10
    anonymous calls look for a limit: a 429 or rate-limit headers pass, none warns. Protected
    endpoints get one anonymous call that must be refused. Every call counts against
    ``probes.max_llm_calls``.

    Remediation: require an authenticated user (or an API key) for every LLM route, limit calls
    per user and per client address (e.g. slowapi, a gateway quota), and cap the prompt size.
    """
    doc, ops = await _llm_ops(ctx)
    out: list[Finding] = []
    for path, op in ops:
        url = ctx.url(path)
        protected = doc.is_protected(op) if doc is not None and op is not None else None
        schema_level = failed(f"POST {path} calls an LLM and declares no security requirement: "
                              "anyone can spend the provider budget", location=f"POST {url}")
        if not ctx.cfg.allow_mutations:
            out += [schema_level] if protected is False else []
            out.append(skipped(f"POST {path} not called: every call is billed (needs "
                               "--allow-mutations)", location=f"POST {url}"))
            continue
        body = llm_body(doc, op)
        try:
            ex = await ctx.http.request("POST", url, json=body)
        except NotSent as exc:
            out += [schema_level] if protected is False else []
            out.append(skipped(f"POST {path}: {exc.reason}", location=f"POST {url}"))
            continue
        live = _judge_llm(path, protected, ex)
        if protected is False and live.status.value == "skip":
            out.append(schema_level)  # not confirmed live: the document's word stands
        out.append(live)
        if accepted(ex):
            out.append(await _burst(ctx, url, body, ex))
    return out


def _judge_llm(path: str, protected: bool | None, ex: Exchange) -> Finding:
    """The answer to one anonymous prompt."""
    loc = live_location(ex)
    if ex.status is None:
        return skipped(f"POST {path}: no answer: {ex.error}", location=loc)
    if ex.status in (401, 403):
        note = (" although the document declares no security requirement"
                if protected is False else "")
        return passed(f"POST {path} refuses an anonymous prompt ({ex.status}){note}", location=loc)
    if accepted(ex):
        severity = Severity.CRITICAL if protected else Severity.HIGH
        declared = (" although it is declared protected" if protected else
                    " (the document declares no security requirement)" if protected is False
                    else "")
        return failed(f"POST {path} answered {ex.status} to an anonymous prompt{declared}: "
                      "anyone can call the LLM and spend the provider budget", location=loc,
                      evidence=mask_evidence(ex.evidence(600)), severity=severity)
    return skipped(f"POST {path}: the anonymous prompt got {ex.status}: not conclusive",
                   location=loc)
