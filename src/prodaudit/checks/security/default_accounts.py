"""SEC-085: accounts with published passwords — the ones the repository's seed code creates and a
short list of well-known pairs — do not log in on the running target."""

from __future__ import annotations

import os

from prodaudit.auth import Credentials
from prodaudit.auth.manager import me_candidates
from prodaudit.auth.session import AuthError, login_with
from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    NotSent,
    OpenAPIDoc,
    Severity,
    Skip,
    Status,
    check,
    failed,
    passed,
    skipped,
)
from prodaudit.checks.security._common import live_location
from prodaudit.product.codesecrets import register, seeded_accounts, sql_seeded_accounts
from prodaudit.redact import mask_evidence

# one attempt per user name, so no account meets more than one wrong password from the audit
# (no lock-out); at most this many logins in all
MAX_ATTEMPTS = 6
MAX_SEEDED = 4
# well-known pairs of admin panels and templates, tried after the repository's own seeds
# (one per user name: the same user never gets two of them)
WELL_KNOWN = (("admin", "admin"), ("admin@example.com", "password"), ("root", "root"),
              ("test", "test"))


def _candidates(ctx: Context) -> list[tuple[str, str, str, bool]]:
    """(user, password, where it comes from, privileged): seeded accounts with a literal user
    name first, then the well-known pairs; the audit's own accounts and repeated user names
    left out."""
    own = {os.environ.get(n, "").lower() for n in (
        ctx.cfg.auth.username_env, ctx.cfg.auth.second_username_env)} - {""}
    out: list[tuple[str, str, str, bool]] = []
    users: set[str] = set()
    try:
        seeded = seeded_accounts(ctx) + sql_seeded_accounts(ctx)
    except Skip:
        seeded = []
    for a in sorted(seeded, key=lambda a: not a.privileged):
        if a.user and a.user.lower() not in own | users and len(out) < MAX_SEEDED:
            register(ctx, a.value)
            out.append((a.user, a.value, f"seeded by {a.who} at {a.loc}", a.privileged))
            users.add(a.user.lower())
    for user, password in WELL_KNOWN:
        if user not in own | users and len(out) < MAX_ATTEMPTS:
            out.append((user, password, "a well-known default pair", True))
            users.add(user)
    return out


@check(
    "SEC-085",
    "Seeded and well-known default accounts cannot log in",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("2.1.2", "8.2.1"),
    references=("CWE-1392", "CWE-798", "OWASP API2:2023"),
    evidence=Evidence.OBSERVED,
)
async def default_credentials(ctx: Context) -> list[Finding]:
    """The accounts the repository's seed code creates with a literal user name and password
    (CFG-024's findings: ``UserCreate(email="admin@…", password="password")``, SQL fixtures),
    up to four, then a short list of well-known pairs (``admin``/``admin``,
    ``admin@example.com``/``password``, ``root``/``root``, ``test``/``test``) are tried through the
    audit account's login — at most six logins, one per user name, so no account meets more
    than one wrong password from the audit (no lock-out) — and none obtains a credential. The
    audit's own accounts are not tried. A login that obtains a credential FAILs (CRITICAL for a
    privileged seed); refusals PASS only when the login shape is verified (it logged the audit
    account in), otherwise they prove nothing (SKIP). A login the target rate-limited (429, after
    the login adapter's one wait within the probe budget) or did not answer tried no password:
    SKIP for that account, never a refusal.

    A password written in the repository or a template's default is public: whoever reads it
    logs in, as an administrator when the seed made one.

    Remediation: take the first administrator's password from the environment or a secret store
    at deployment, force a change on first login, and never seed demo accounts in production.
    """
    plan = await ctx.login_plan()
    cands = _candidates(ctx)
    try:
        doc: OpenAPIDoc | None = await ctx.openapi()
    except Skip:
        doc = None
    probe = me_candidates(doc, ctx.cfg.auth.me_url)
    out: list[Finding] = []
    refused: list[str] = []
    for user, password, source, privileged in cands:
        try:
            sess = await login_with(ctx.http, ctx.base_url, plan, ctx.cfg.auth,
                                    Credentials(user, password), probe)
        except NotSent as exc:
            out.append(skipped(f"{user}: {exc.reason}"))
            continue
        except AuthError as exc:
            if exc.outcome in ("rate limited", "error"):  # no answer about the password
                out.append(skipped(f"{user}: the login was {exc.outcome} "
                                   f"({'429' if exc.outcome == 'rate limited' else 'no answer'})"
                                   ": this password was not tried"))
            else:
                refused.append(user)
            continue
        ctx.redact.register(sess.access_token.rsplit(".", 1)[-1], sess.refresh_token)
        out.append(failed(
            f"{user} logs in with the password {source}: a credential came back "
            f"({sess.credential.kind})", location=live_location(sess.login_exchange),
            evidence=mask_evidence(sess.login_exchange.evidence(400)),
            severity=Severity.CRITICAL if privileged and "seeded" in source else None))
    if any(f.status is Status.FAIL for f in out):
        return out
    if not refused:
        return out or [skipped("no login was attempted")]
    if not plan.verified:
        return [skipped(f"{len(refused)} login(s) refused at {plan.url}, but the login shape "
                        "never logged the audit account in: refusals prove nothing")]
    seeds = sum(1 for c in cands if c[2].startswith("seeded") and c[0] in refused)
    return out + [passed(f"{len(refused)} login(s) with published passwords were refused at "
                   f"{plan.url} ({seeds} seeded account(s), {len(refused) - seeds} well-known "
                   "pair(s); one attempt per user name)", location=f"POST {plan.url}")]
