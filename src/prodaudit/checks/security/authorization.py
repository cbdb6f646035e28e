"""SEC-080–082: authentication on protected operations, admin role checks, BOLA."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from prodaudit.auth import AuthSession, Credentials
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
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._bola_pages import page_bola
from prodaudit.checks.security._common import (
    accepted,
    failed_at,
    forge,
    live_location,
    parse_jwt,
)
from prodaudit.checks.security._jwt import fresh_claims, signing_key

REFS_AUTHN = ("CWE-306", "OWASP API2:2023")
ADMIN_RE = re.compile(r"(^|/)(admin|administration|internal|manage|management|staff)(/|$)", re.I)
ADMIN_USER_ENV = "PRODAUDIT_ADMIN_USERNAME"
ADMIN_PASS_ENV = "PRODAUDIT_ADMIN_PASSWORD"


def fill_path(op: Operation, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, op.path)


def _probe_ops(doc: OpenAPIDoc, allow_mutations: bool, limit: int) -> list[Operation]:
    ops = [
        op
        for op in doc.operations
        if doc.is_protected(op)
        and (op.safe or allow_mutations)
        and op.method not in ("OPTIONS", "HEAD")
    ]
    ops.sort(key=lambda o: (not o.safe, o.path))
    return ops[:limit]


async def _expired_token(ctx: Context) -> tuple[str | None, AuthSession | None]:
    """(a correctly signed expired token when the signing secret is known, the audit session)."""
    expired: str | None = None
    sess: AuthSession | None = None
    try:
        sess = await ctx.auth()
        tok = parse_jwt(sess.access_token)
        key = signing_key(ctx, sess.access_token) if tok else None
        if tok is not None and key is not None:
            now = int(time.time())
            claims = {**fresh_claims(tok.payload), "iat": now - 7200, "exp": now - 3600}
            if "nbf" in claims:
                claims["nbf"] = now - 7200
            expired = forge(tok.header, claims, key=key[0])
    except Skip:
        pass
    return expired, sess


@check(
    "SEC-080",
    "Protected operations reject missing, malformed and expired tokens",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.1", "1.3.2", "8.1.1"),
    references=REFS_AUTHN,
    evidence=Evidence.OBSERVED,
)
async def authn_required(ctx: Context) -> list[Finding]:
    """Every operation the OpenAPI document marks as secured answers 401/403 to a request without
    a token, with a malformed token (``Bearer prodaudit.not.a.jwt``), and — when the signing
    secret is known (``jwt.secret_env`` or cracked) — with a correctly signed expired token. Only
    safe methods are probed unless ``--allow-mutations``; path parameters are filled with ``1``.
    Bounded by ``probes.max_requests``.

    A single route that forgets its dependency exposes its data to anyone.

    Remediation: apply the authentication dependency at the router level (FastAPI
    ``APIRouter(dependencies=[Depends(current_user)])``) so new routes are protected by default.
    """
    doc = await ctx.openapi()
    per_op = 3
    ops = _probe_ops(doc, ctx.cfg.allow_mutations, max(1, ctx.cfg.probes.max_requests // per_op))
    if not ops:
        raise Skip("the OpenAPI document declares no secured operation (no security requirement)")
    expired, sess = await _expired_token(ctx)
    scheme = sess.scheme if sess else "Bearer"
    variants: list[tuple[str, dict[str, str]]] = [
        ("no token", {}),
        ("a malformed token", {"Authorization": f"{scheme} prodaudit.not.a.jwt"}),
    ]
    if expired is not None:
        variants.append(
            ("an expired, correctly signed token", {"Authorization": f"{scheme} {expired}"})
        )
    out: list[Finding] = []
    deadline = time.monotonic() + ctx.cfg.probes.max_seconds
    sent = 0
    for op in ops:
        for label, hdrs in variants:
            if time.monotonic() > deadline:
                break
            try:
                ex = await ctx.http.request(
                    op.method,
                    ctx.url(fill_path(op)),
                    headers=hdrs,
                    json={} if op.request_body else None,
                )
            except NotSent as exc:  # excluded, or the budget is spent: not verified
                out.append(skipped(f"{op.method} {op.path} with {label}: {exc.reason}"))
                continue
            sent += 1
            if accepted(ex):
                out.append(
                    failed_at(
                        ex,
                        f"{op.method} {op.path} answered {ex.status} to {label}",
                        600,
                        severity=Severity.CRITICAL,
                    )
                )
            elif ex.status not in (401, 403):
                out.append(
                    warned(
                        f"{op.method} {op.path} answered {ex.status or ex.error} to "
                        f"{label} (expected 401/403)",
                        location=live_location(ex),
                        evidence=ex.evidence(400),
                    )
                )
    if not any(f.status.value in ("fail", "warn") for f in out) and sent:
        out.append(
            passed(
                f"{len(ops)} secured operations rejected {', '.join(v for v, _ in variants)} "
                f"with 401/403 ({sent} requests)"
                + ("" if expired else "; expired tokens not tried (signing secret unknown)")
            )
        )
    return out


async def _admin_session(ctx: Context) -> AuthSession | None:
    user, pw = os.environ.get(ADMIN_USER_ENV), os.environ.get(ADMIN_PASS_ENV)
    if not user or not pw:
        return None
    ctx.redact.register(pw)

    async def build() -> AuthSession | None:
        try:
            doc = await ctx.openapi()
        except Skip:
            doc = None
        try:
            sess = await ctx.accounts.login(ctx.base_url, doc, Credentials(user, pw), record=False)
        except Skip:
            return None
        ctx.redact.register(sess.access_token.rsplit(".", 1)[-1], sess.refresh_token)
        return sess

    result: AuthSession | None = await ctx.amemo("sec:admin-session", build)
    return result


def _judge_admin_refusal(method: str, path: str, anon: Exchange, as_user: Exchange) -> list[Finding]:
    """An admin operation's answers to an anonymous and to a non-admin caller. An answer that is
    neither a refusal (401/403/404) nor accepted is not verified (SKIP)."""
    out: list[Finding] = []
    if anon.status not in (401, 403, 404) and not accepted(anon):
        out.append(skipped(f"{method} {path} answered {anon.status or anon.error} without a "
                           "token: neither a refusal nor an answer, not verified"))
    if as_user.status not in (401, 403, 404) and not accepted(as_user):
        out.append(skipped(f"{method} {path} answered {as_user.status or as_user.error} to "
                           "the non-admin account: neither a refusal nor an answer"))
    if accepted(anon):
        out.append(
            failed_at(
                anon,
                f"{method} {path} answered {anon.status} without any token",
                600,
                severity=Severity.CRITICAL,
            )
        )
    if accepted(as_user):
        out.append(
            failed_at(
                as_user,
                f"{method} {path} answered {as_user.status} to the non-admin audit account",
                600,
                severity=Severity.CRITICAL,
            )
        )
    elif as_user.status == 401:
        out.append(
            warned(
                f"{method} {path} answered 401 (not 403) to a valid non-admin token",
                location=live_location(as_user),
            )
        )
    return out


@check(
    "SEC-081",
    "Admin operations refuse anonymous and non-admin callers",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2",),
    references=("CWE-285", "OWASP API5:2023"),
    evidence=Evidence.OBSERVED,
)
async def admin_operations(ctx: Context) -> list[Finding]:
    """Operations named in ``auth.admin_paths`` (else OpenAPI paths under ``/admin``,
    ``/internal``, ``/manage``) answer 401/403 without a token and 403 (or 404) to the ordinary
    audit account. When an admin account is given (``PRODAUDIT_ADMIN_USERNAME`` /
    ``PRODAUDIT_ADMIN_PASSWORD``) it must get 2xx, proving the probe reached a real operation.
    Only safe methods are probed unless ``--allow-mutations``.

    Broken function-level authorization lets any user (or anyone) call administrative functions.

    Remediation: enforce the role on the server for every admin route (a router-level
    ``Depends(require_admin)``); never rely on the frontend hiding the button.
    """
    ops: list[tuple[str, str]] = []
    if ctx.cfg.auth.admin_paths:
        ops = [("GET", p) for p in ctx.cfg.auth.admin_paths]
    else:
        doc = await ctx.openapi()
        ops = [
            (op.method, fill_path(op))
            for op in doc.operations
            if ADMIN_RE.search(op.path)
            and (op.safe or ctx.cfg.allow_mutations)
            and op.method not in ("OPTIONS", "HEAD")
        ]
    ops = ops[: max(1, ctx.cfg.probes.max_requests // 3)]
    if not ops:
        raise Skip(
            "no admin operation known: set auth.admin_paths (none found under /admin in OpenAPI)"
        )
    user = await ctx.auth()
    admin = await _admin_session(ctx)
    out: list[Finding] = []
    verified = 0
    for method, path in ops:
        url = ctx.url(path)
        try:
            anon = await ctx.http.request(method, url)
            as_user = await ctx.http.request(method, url, headers=user.headers())
        except NotSent as exc:
            out.append(skipped(f"{method} {path}: {exc.reason}"))
            continue
        out += _judge_admin_refusal(method, path, anon, as_user)
        if admin is not None:
            as_admin = await ctx.http.request(method, url, headers=admin.headers())
            if accepted(as_admin):
                verified += 1
            else:
                out.append(
                    skipped(
                        f"{method} {path}: the admin account got {as_admin.status}; "
                        "the probe may not reach a real operation"
                    )
                )
    if not any(f.status.value in ("fail", "warn") for f in out):
        ctrl = (
            f"; the admin account got 2xx on {verified}/{len(ops)}"
            if admin
            else "; no admin account given (PRODAUDIT_ADMIN_USERNAME), positive control not run"
        )
        out.append(
            passed(
                f"{len(ops)} admin operations ({', '.join(p for _, p in ops[:5])}) refused "
                f"anonymous and non-admin callers{ctrl}"
            )
        )
    return out


def _pairs(doc: OpenAPIDoc) -> list[tuple[Operation, Operation, Operation | None]]:
    """(collection GET, item GET with one id, collection POST) sharing a path prefix."""
    out = []
    gets = {op.path.rstrip("/"): op for op in doc.operations if op.method == "GET"}
    posts = {op.path.rstrip("/"): op for op in doc.operations if op.method == "POST"}
    for op in doc.operations:
        if op.method != "GET" or len(op.path_params) != 1 or not doc.is_protected(op):
            continue
        m = re.match(r"^(.*)/\{[^}]+\}/?$", op.path)
        if not m or m.group(1).rstrip("/") not in gets:
            continue
        coll = m.group(1).rstrip("/")
        out.append((gets[coll], op, posts.get(coll)))
    return out


def _ids(ex: Exchange) -> list[Any]:
    try:
        data = ex.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not isinstance(data, list):
        return []
    return [item["id"] for item in data if isinstance(item, dict) and "id" in item][:3]


def _minimal_body(doc: OpenAPIDoc, op: Operation) -> dict[str, Any]:
    schema = (((op.request_body or {}).get("content") or {}).get("application/json") or {}).get(
        "schema"
    )
    schema = doc.resolve(schema or {})
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = (schema.get("properties") or {}).get(name) or {}
        t = prop.get("type")
        body[name] = (
            1
            if t in ("integer", "number")
            else True
            if t == "boolean"
            else []
            if t == "array"
            else {}
            if t == "object"
            else "prodaudit BOLA probe"
        )
    return body


async def _own_ids(ctx: Context, path: str, a: AuthSession, b: AuthSession) -> tuple[list[Any], str]:
    """A's object ids from A's listing, without those B's own listing shows too: a collection
    both accounts see alike (public posts, a user directory) holds shared objects, not A's.
    (ids, why none is A's own when the listing was not empty)."""
    mine = _ids(await ctx.http.get(ctx.url(path), headers=a.headers()))
    if not mine:
        return [], ""
    theirs = {str(i) for i in _ids(await ctx.http.get(ctx.url(path), headers=b.headers()))}
    own = [i for i in mine if str(i) not in theirs]
    if own:
        return own, ""
    return [], (f"GET {path} lists the same objects to both accounts: a shared collection, not "
                "objects of one account (nothing to test)")


async def _create_one(ctx: Context, doc: OpenAPIDoc, create: Operation, a: AuthSession) -> list[Any]:
    """One object created as account A (--allow-mutations): its id, if the answer names it."""
    made = await ctx.http.request(
        "POST", ctx.url(create.path), headers=a.headers(), json=_minimal_body(doc, create)
    )
    try:
        obj = made.json()
    except ValueError:
        obj = None
    return [obj["id"]] if isinstance(obj, dict) and "id" in obj else []


@check(
    "SEC-082",
    "One user cannot read another user's objects (BOLA)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2",),
    references=("CWE-639", "OWASP API1:2023"),
    evidence=Evidence.OBSERVED,
)
async def bola(ctx: Context) -> list[Finding]:
    """With two audit accounts A and B: for every collection/item pair in the OpenAPI document
    (``GET /notes`` and ``GET /notes/{id}``), A's object ids are taken from A's collection (with
    ``--allow-mutations`` one object is created when A has none), A can read them, and B asking for
    the same ids gets 403/404. Ids that B's own listing shows as well are shared objects (public
    posts, a user directory), not A's: they are not tested.

    Without an OpenAPI document, the id pages (``/accounts/1/notes``) each account's crawl reaches
    are compared both ways: text only the owner's pages show, in the other account's answer, FAILs
    (pages both link alike are shared); with mutations B posts the delete form of an item A just
    created by a form (gone: FAIL; A cleans up). No second account at all: SKIP with the reason.

    Broken object-level authorization is the most common API vulnerability: ids are guessable and
    the server only checks that *someone* is logged in.

    Remediation: load objects with the owner in the query (``WHERE id = :id AND owner_id = :user``)
    or check ownership after loading; return 404 for objects of other users.
    """
    try:
        doc = await ctx.openapi()
    except Skip:
        return await page_bola(ctx)
    pairs = _pairs(doc)
    if not pairs:
        raise Skip(
            "no collection/item operation pair with an id in the path (like GET /items and "
            "GET /items/{id})"
        )
    a = await ctx.auth()
    b = await ctx.auth(second=True)
    out: list[Finding] = []
    tested = 0
    for coll, item, create in pairs[:5]:
        ids, shared = await _own_ids(ctx, coll.path, a, b)
        if shared:
            out.append(skipped(f"{item.path}: {shared}"))
            continue
        if not ids and ctx.cfg.allow_mutations and create is not None:
            ids = await _create_one(ctx, doc, create, a)
        if not ids:
            out.append(
                skipped(
                    f"{item.path}: account A has no objects in GET {coll.path}"
                    + ("" if ctx.cfg.allow_mutations else " (--allow-mutations would create one)")
                )
            )
            continue
        for oid in ids[:2]:
            url = ctx.url(re.sub(r"\{[^}]+\}", str(oid), item.path))
            own = await ctx.http.get(url, headers=a.headers())
            if own.status is None or not 200 <= own.status < 300:
                out.append(skipped(f"{url}: account A itself got {own.status}; id not usable"))
                continue
            other = await ctx.http.get(url, headers=b.headers())
            tested += 1
            if accepted(other):
                out.append(
                    failed(
                        f"account B read account A's object: GET {item.path} with id "
                        f"{oid} answered {other.status}",
                        location=live_location(other),
                        evidence=f"account A: GET {url} -> {own.status}\n" + other.evidence(600),
                        severity=Severity.CRITICAL,
                    )
                )
            elif other.status not in (403, 404):
                out.append(
                    warned(
                        f"account B got {other.status} for A's object at {url} (expected 403/404)",
                        location=live_location(other),
                    )
                )
    if tested and not any(f.status.value in ("fail", "warn") for f in out):
        return [
            passed(
                f"account B got 403/404 for {tested} of account A's objects "
                f"({', '.join(i.path for _, i, _ in pairs[:5])})"
            )
        ]
    return out
