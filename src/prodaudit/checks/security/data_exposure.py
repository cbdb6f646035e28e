"""SEC-075–076: answers that carry what they must not (passwords, hashes, secrets, other
accounts' e-mail addresses), and debug or internal endpoints reachable without credentials."""

from __future__ import annotations

import difflib
import re
import secrets
from collections import defaultdict
from typing import Any
from urllib.parse import quote_plus, urlsplit

from prodaudit.auth import credentials_from_env
from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    NotSent,
    Severity,
    Skip,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.security._common import accepted, live_location
from prodaudit.checks.security._routes import Route, discover_routes
from prodaudit.checks.security._sensitive import (
    Exposure,
    anonymous,
    auth_endpoint,
    json_body,
    json_exposures,
    shape,
)
from prodaudit.llmdetect import words_of
from prodaudit.openapi_fill import collect_ids
from prodaudit.product.endpoints import endpoints, external_routes
from prodaudit.redact import mask_evidence

PERSON_WORDS = frozenset({"user", "users", "account", "accounts", "member", "members", "profile",
                          "profiles", "customer", "customers", "people", "person", "persons",
                          "author", "authors", "staff", "employee", "employees", "contact",
                          "contacts", "student", "students", "patient", "patients"})
ME_WORDS = frozenset({"me", "whoami", "current", "self"})
GUESSED_COLLECTIONS = ("users", "accounts", "members", "customers", "profiles")
MAX_READS = 24
SEVERITY = {"password": Severity.CRITICAL, "hash": Severity.HIGH, "secret": Severity.HIGH}


def _prefixes(ctx: Context, routes: list[Route]) -> tuple[list[str], str]:
    """API path prefixes (``/api/``, ``/api/v1/``) seen in configured and discovered paths, and
    the trailing-slash style of the API."""
    paths = [p for p in (ctx.cfg.auth.login_url, ctx.cfg.auth.me_url, ctx.cfg.auth.register_url)
             if p] + [r.template for r in routes]
    out: list[str] = []
    for path in paths:
        segs = urlsplit(path).path.split("/")[1:]
        prefix = "/"
        for seg in segs[:-1]:
            if not re.fullmatch(r"api|rest|v\d+|api-v\d+", seg, re.I):
                break
            prefix += seg + "/"
            if prefix not in out:
                out.append(prefix)
    slash = "/" if any(p.endswith("/") and len(p) > 1 for p in paths) else ""
    return (out or ["/api/"])[:3], slash


async def _anonymous_reads(ctx: Context) -> tuple[list[Exchange], list[str]]:
    """Anonymous GETs of the public routes (collections first, then items with ids seen in
    them) and, without an OpenAPI document, of common account collections under the API's
    prefixes; (the answers, what was not sent)."""
    found = await discover_routes(ctx)
    routes = [r for r in found.routes if r.method == "GET" and not r.auth and r.form is None]
    targets = [r.url(ctx) for r in routes if not r.path_values]
    if not any(s.startswith("the OpenAPI document") for s in found.sources):
        prefixes, slash = _prefixes(ctx, found.routes)
        targets += [ctx.url(f"{p}{name}{slash}") for p in prefixes for name in GUESSED_COLLECTIONS]
    out: list[Exchange] = []
    unsent: list[str] = []
    seen: dict[str, list[Any]] = {}
    for url in list(dict.fromkeys(targets))[:MAX_READS]:
        try:
            ex = await ctx.http.get(url)
        except NotSent as exc:
            unsent.append(exc.reason)
            continue
        out.append(ex)
        body = json_body(ex) if accepted(ex) else None
        if body is not None:
            collect_ids(body, seen)
            if any(r.path_values for r in routes) or not routes:
                out += await _items(ctx, ex, body, unsent)
    for route in [r for r in routes if r.path_values][: max(0, MAX_READS - len(out))]:
        values = {n: str(_seen(seen, n) or v) for n, v in route.path_values}
        try:
            out.append(await ctx.http.get(route.url(ctx, values)))
        except NotSent as exc:
            unsent.append(exc.reason)
    return out, unsent


def _seen(seen: dict[str, list[Any]], name: str) -> Any:
    for key in (name, name.split("_")[-1], "id"):
        if seen.get(key):
            return seen[key][0]
    return None


async def _items(ctx: Context, ex: Exchange, body: Any, unsent: list[str]) -> list[Exchange]:
    """One item of a guessed collection: ``{collection}/{id}`` with the first id it lists."""
    items = body.get("results") or body.get("items") or body.get("data") \
        if isinstance(body, dict) else body
    first = items[0] if isinstance(items, list) and items else None
    if not isinstance(first, dict) or not isinstance(first.get("id"), int | str):
        return []
    base = ex.url.split("?", 1)[0]
    slash = "/" if base.endswith("/") else ""
    try:
        return [await ctx.http.get(f"{base.rstrip('/')}/{first['id']}{slash}")]
    except NotSent as exc:
        unsent.append(exc.reason)
        return []


def _own_identities(ctx: Context) -> tuple[set[str], list[str]]:
    """(the audit accounts' user names, lower case; their passwords)."""
    names, passwords = set(), []
    for second in (False, True):
        creds = credentials_from_env(ctx.cfg.auth, second=second)
        if creds is not None:
            names.add(creds.username.lower())
            passwords.append(creds.password)
    return names, passwords


def shows_password(text: str, password: str) -> bool:
    """Whether an answer shows ``password``. A password of letters only is also page vocabulary
    (``password`` on every login form): it counts only as a JSON string value or a form field's
    ``value``; any other password counts wherever it appears."""
    if not password.isalpha():
        return password in text
    pw = re.escape(password)
    return re.search(rf':\s*"{pw}"|\bvalue\s*=\s*["\']?{pw}(?:["\'\s/>]|$)', text) is not None


def _own(email: str, own: set[str]) -> bool:
    """The audit account's own address: its user name, or the user name's address."""
    low = email.lower()
    return low in own or low.split("@", 1)[0] in own


def _own_emails(exchanges: list[Exchange], own: set[str]) -> set[str]:
    """Addresses the current-user endpoint shows the audit account (its own)."""
    out = set(own)
    for ex in exchanges:
        if anonymous(ex) or not accepted(ex) or not words_of(urlsplit(ex.url).path) & ME_WORDS:
            continue
        body = json_body(ex)
        if body is not None:
            out |= {e.value.lower() for e in json_exposures(body) if e.kind == "email"}
    return out


def api_description(body: Any) -> bool:
    """An OpenAPI/Swagger document: it describes shapes and example values, it carries no
    account's data (whether it should be public is SEC-071's question)."""
    return isinstance(body, dict) and ("openapi" in body or "swagger" in body) and \
        isinstance(body.get("paths"), dict)


def answer_exposures(ex: Exchange, own: set[str]) -> list[tuple[str, list[Exposure]]]:
    """(rule, exposures) of one answer: sensitive fields, tokens outside authentication
    endpoints, e-mail addresses (anonymous: any account's; authenticated: other accounts')."""
    body = json_body(ex)
    if body is None or api_description(body):
        return []
    groups: dict[str, list[Exposure]] = defaultdict(list)
    sent = ex.request_body.decode("utf-8", "replace") + " " + ex.url
    for e in json_exposures(body):
        if e.value in sent or (e.kind == "email" and e.value.lower() in sent.lower()):
            # what the request itself carried, echoed back (a sign-up's own address, its domain
            # lower-cased by the validator)
            continue
        if e.kind in SEVERITY:
            groups[e.kind].append(e)
        elif e.kind == "token" and not auth_endpoint(ex):
            groups["token"].append(e)
        elif e.kind == "email" and anonymous(ex):
            groups["email-anonymous"].append(e)  # any account's, the audit account's included
        elif e.kind == "email" and not _own(e.value, own):
            groups["email-other"].append(e)
    out = list(groups.items())
    person = bool(words_of(urlsplit(ex.url).path) & PERSON_WORDS)
    return [(rule, es) for rule, es in out
            if not rule.startswith("email") or person or len({e.value.lower() for e in es}) > 1]


def _finding(rule: str, ex: Exchange, es: list[Exposure]) -> Finding:
    where = ", ".join(sorted({re.sub(r"\[\d+\]", "[]", e.where) for e in es})[:4])
    kinds = ", ".join(sorted({e.described for e in es})[:3])
    loc = live_location(ex)
    evidence = (f"fields: {where} ({kinds}; values masked)\n"
                + ex.evidence(0).split("\n< ")[0])
    who = "without credentials" if anonymous(ex) else "to the audit account"
    if rule in SEVERITY:
        what = {"password": "a password field", "hash": "a password hash",
                "secret": "a secret or key field"}[rule]
        return failed(f"{ex.method} {shape(ex.url)} returns {what} ({where}) {who}",
                      location=loc, evidence=evidence, severity=SEVERITY[rule])
    if rule == "email-anonymous":
        n = len({e.value.lower() for e in es})
        return failed(f"{ex.method} {shape(ex.url)} returns {n} account e-mail address(es) "
                      f"({where}) to anonymous callers", location=loc, evidence=evidence,
                      severity=Severity.HIGH)
    if rule == "email-other":
        n = len({e.value.lower() for e in es})
        return warned(f"{ex.method} {shape(ex.url)} shows the audit account {n} e-mail "
                      f"address(es) of other accounts ({where})", location=loc, evidence=evidence)
    return warned(f"{ex.method} {shape(ex.url)} returns a token field ({where}) {who} outside "
                  "the authentication endpoints", location=loc, evidence=evidence)


@check(
    "SEC-075",
    "Answers carry no passwords, hashes, secrets or other accounts' personal data",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "1.1.2"),
    references=("CWE-200", "CWE-359", "OWASP API3:2023"),
    exclusive=True, evidence=Evidence.OBSERVED,
)
async def sensitive_data(ctx: Context) -> list[Finding]:
    """Every JSON answer the run recorded, plus anonymous reads of the public routes (the
    OpenAPI document's GET operations, or discovered links and common account collections such
    as ``/api/users/`` under the API's prefix, and one item of each), carries no password,
    password hash, secret or key field, no token outside the authentication endpoints, and not
    the audit account's password anywhere. Anonymous answers carry no account's e-mail address;
    the audit account sees no other account's e-mail address (a warning). Values are never
    quoted: the finding names the field path and describes the value (``a bcrypt hash``). The
    API's own OpenAPI/Swagger document is not inspected: its example values are documentation.

    An API that serialises its user model whole hands out hashes to crack offline and a list of
    every account to phish.

    Remediation: use explicit response schemas (FastAPI ``response_model``, DRF serializer
    ``fields``) that leave out credentials and personal data; require authentication for account
    listings and show other users a public profile only.
    """
    own, passwords = _own_identities(ctx)
    for account, _ in ctx.accounts.created:  # accounts the audit registered are its own too
        own |= {account.username.lower(), account.email.lower()}
        passwords.append(account.password)
    reads, unsent = await _anonymous_reads(ctx)
    findings: list[Finding] = []
    flagged: set[tuple[str, str]] = set()
    checked = 0
    exchanges = list(ctx.http.exchanges)  # the run's answers, these reads included
    own = _own_emails(exchanges, own)
    for ex in exchanges:
        if not ex.usable or not accepted(ex) or ex.method == "HEAD":
            continue
        checked += 1
        for pw in passwords:
            sent = pw.encode() in ex.request_body or quote_plus(pw).encode() in ex.request_body
            if len(pw) >= 6 and shows_password(ex.text, pw) and not sent and pw not in ex.url \
                    and ("pw", shape(ex.url)) not in flagged:
                flagged.add(("pw", shape(ex.url)))
                findings.append(failed(f"{ex.method} {shape(ex.url)} returns the audit account's "
                                       "password (value masked)", location=live_location(ex),
                                       severity=Severity.CRITICAL))
        for rule, es in answer_exposures(ex, own):
            if (rule, shape(ex.url)) not in flagged:
                flagged.add((rule, shape(ex.url)))
                findings.append(_finding(rule, ex, es))
    if unsent:
        findings.append(skipped(f"{len(unsent)} read(s) not sent: {unsent[0]}"))
    if not checked:
        raise Skip("no complete 2xx answer was recorded or read: nothing to inspect")
    if not any(f.status.value in ("fail", "warn") for f in findings):
        findings.append(passed(f"{checked} 2xx answers ({len(reads)} anonymous reads of public "
                               "routes) carry no password, hash, secret, stray token or account "
                               "e-mail address"))
    return findings


# ---- debug and internal endpoints ---------------------------------------------------------------
DEBUG_WORDS = frozenset({"debug", "internal", "private", "admin", "admins", "administration",
                         "superuser", "console", "devtools", "actuator",
                         "phpinfo", "dump", "heapdump", "env", "environ", "environment",
                         "profiler", "pprof", "vars", "diagnostics", "backdoor", "testing"})
KNOWN_DEBUG_PATHS = (
    "/debug", "/_debug", "/__debug__/", "/debug/vars", "/debug/pprof/", "/console", "/internal",
    "/actuator", "/actuator/env", "/env", "/.env", "/phpinfo.php", "/server-status",
    "/_profiler", "/silk/", "/heapdump",
)
ERROR_WORDS = frozenset({"error", "errors", "exception", "exceptions", "crash", "sentry", "panic"})
TRIGGER_WORDS = frozenset({"trigger", "raise", "throw", "test", "debug", "crash", "boom", "fail"})
_PASSWORD_INPUT = re.compile(r"<input[^>]+type=[\"']?password", re.I)
_ENV_DUMP = re.compile(r"^[A-Z][A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|KEY)[A-Z0-9_]*\s*[=:]\s*\S+",
                       re.M)


def _same_page(a: Exchange, b: Exchange | None) -> bool:
    if b is None or b.status != a.status:
        return False
    x, y = (" ".join(e.text[:6000].split()) for e in (a, b))
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= 0.9


def error_trigger(path: str) -> bool:
    """A path that says it raises on purpose: ``/api/errors/trigger/exception/``,
    ``/sentry-debug``, ``/trigger-error``, ``/error/test``."""
    words = words_of(path)
    return bool(words & ERROR_WORDS and words & TRIGGER_WORDS)


def repository_routes(ctx: Context) -> list[str]:
    """GET (or any-method) paths without parameters that the repository declares (the product's
    endpoint model: route decorators, URL tables, Django URL configurations) and whose words say
    debug/internal or error trigger."""
    def build() -> list[str]:
        paths = [t for e in endpoints(ctx) if "GET" in e.methods for t in e.templates]
        paths += [r.template for r in external_routes(ctx)]
        return list(dict.fromkeys(
            p for p in paths
            if "{" not in p and (words_of(p) & DEBUG_WORDS or error_trigger(p))))

    out: list[str] = ctx.memo("sec:repo-debug-routes", build)
    return out


async def _debug_candidates(ctx: Context) -> list[str]:
    """Paths to try: the document's public GET operations whose words say debug/internal/
    private (no path parameters), the repository's routes that say so or say they trigger an
    error, and well-known debug paths at the root."""
    out: list[str] = []
    try:
        doc = await ctx.openapi()
        out += [op.path for op in doc.operations if op.method == "GET" and not op.path_params
                and not doc.is_protected(op) and words_of(op.path) & DEBUG_WORDS]
    except Skip:
        pass
    declared = repository_routes(ctx)
    return list(dict.fromkeys(out + declared[:8] + list(KNOWN_DEBUG_PATHS)))


def _judge_debug(ex: Exchange) -> Finding:
    """A debug or internal path answered 2xx without credentials."""
    secrets_seen = [e for e in json_exposures(json_body(ex)) if e.kind in SEVERITY] \
        if json_body(ex) is not None else []
    dump = bool(_ENV_DUMP.search(ex.text[:200_000]))
    if secrets_seen or dump:
        what = ", ".join(sorted({e.where for e in secrets_seen})[:4]) or "secret-named variables"
        return failed(f"{ex.method} {shape(ex.url)} answers anonymous callers and dumps "
                      f"credentials ({what}; values masked)", location=live_location(ex),
                      evidence=ex.evidence(0).split("\n< ")[0], severity=Severity.CRITICAL)
    return failed(f"{ex.method} {shape(ex.url)} is a debug, internal or admin endpoint and answers "
                  f"{ex.status} without credentials", location=live_location(ex),
                  evidence=mask_evidence(ex.evidence(300)))


@check(
    "SEC-076",
    "Debug and internal endpoints are not reachable without credentials",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2", "1.3.3"),
    references=("CWE-215", "CWE-489", "OWASP API8:2023", "OWASP API9:2023"), evidence=Evidence.OBSERVED,
)
async def debug_endpoints(ctx: Context) -> list[Finding]:
    """The OpenAPI document's public GET operations whose path says debug, internal, private,
    admin, console, env, dump … and well-known debug paths (``/debug``, ``/__debug__/``, ``/console``,
    ``/actuator/env``, ``/.env``, ``/debug/pprof/`` …) do not answer 2xx to anonymous callers;
    the repository's declared routes whose words say so (FastAPI/Flask/aiohttp decorators, Django
    URL tables with their ``include`` prefixes) are tried too, and one that says it triggers an
    error (``/errors/trigger/exception/``, ``/sentry-debug``) and answers 5xx is a failure.
    An answer that is the same page as a made-up path (a catch-all) or a login form is not an
    exposure. One that carries password, hash or secret fields, or lines of secret-named
    variables, is CRITICAL.

    Debug endpoints left routed in production dump configuration, credentials and internals, and
    some (the Werkzeug console) execute code.

    Remediation: do not route debug views in production (register them only when a development
    setting is on), and put internal endpoints behind authentication or a separate port.
    """
    unknown_path = f"/prodaudit-not-a-route-{secrets.token_hex(4)}"
    try:
        unknown: Exchange | None = await ctx.http.get(ctx.url(unknown_path))
    except NotSent:
        unknown = None
    findings: list[Finding] = []
    refused: list[str] = []
    for path in (await _debug_candidates(ctx))[:24]:
        try:
            ex = await ctx.http.get(ctx.url(path))
        except NotSent as exc:
            findings.append(skipped(f"GET {path}: {exc.reason}"))
            continue
        if ex.status in (400, 401, 403, 404, 405, 410):
            refused.append(f"{path} {ex.status}")
        elif ex.status is not None and ex.status >= 500 and error_trigger(path):
            findings.append(failed(
                f"GET {path} answers {ex.status} to anonymous callers: a route that raises on "
                "purpose (an error-trigger demo or test endpoint) is served in production — "
                "anyone can fill the error tracker and the alerts", location=live_location(ex),
                evidence=mask_evidence(ex.evidence(300)), severity=Severity.MEDIUM))
        elif ex.usable and accepted(ex) and not words_of(path) & DEBUG_WORDS and error_trigger(path):
            continue  # an error-trigger route that answers: judged only by a 5xx
        elif ex.usable and accepted(ex):
            if _same_page(ex, unknown) or _PASSWORD_INPUT.search(ex.text):
                refused.append(f"{path} {ex.status} (a catch-all or login page)")
            else:
                findings.append(_judge_debug(ex))
        # redirects, errors and garbage say nothing either way
    if not any(f.status.value == "fail" for f in findings):
        if not refused:
            raise Skip("no debug candidate got a definite answer (401/403/404, or a catch-all "
                       "page): whether they are served was not verified")
        findings.append(passed(f"{len(refused)} debug and internal paths are not served to "
                               f"anonymous callers ({', '.join(refused[:8])})"))
    return findings
