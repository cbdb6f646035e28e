"""FUN-025: the audit leaves the target as it found it (runs after every other check)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from prodaudit.checks.api import (
    Context,
    Evidence,
    Exchange,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.functional._auth import openapi_or_none

MAX_RECHECKED = 15
RETRY_PAUSE_S = 1.0
CREDENTIAL_HEADERS = ("authorization", "cookie", "x-api-key")


def first_answers(exchanges: list[Exchange], base_url: str) -> list[Exchange]:
    """The first anonymous GET answer of each URL of the target that was a complete 2xx answer,
    in the order the run sent them (its first requests: reachability, health, discovery)."""
    host = urlsplit(base_url).netloc
    seen: set[str] = set()
    out: list[Exchange] = []
    for ex in exchanges:
        if ex.method != "GET" or urlsplit(ex.url).netloc != host or ex.url in seen:
            continue
        seen.add(ex.url)
        if any(h.lower() in CREDENTIAL_HEADERS for h in ex.request_headers):
            continue
        if ex.usable:  # a complete 2xx answer: the endpoint worked (a 404 proves nothing)
            out.append(ex)
    return out


def _worse(before: Exchange, after: Exchange) -> bool:
    return after.status is None or after.status >= 500


@check(
    "FUN-025",
    "The audit leaves the target as it found it",
    severity=Severity.HIGH,
    needs=("live",),
    final=True,
    checklist=("4.2.4",), evidence=Evidence.OBSERVED,
)
async def left_as_found(ctx: Context) -> list[Finding]:
    """Runs after every other check. The accounts the audit registered itself (with
    ``--allow-mutations`` and no configured account, or FUN-024's) are deleted with their own
    sessions where the API offers a DELETE operation for a user; any that cannot be deleted is
    listed (WARN: remove it by hand). Then the anonymous GET requests that got a complete 2xx
    answer when the run began (the first answer of each URL, up to 15) are sent again: an endpoint that
    answered before and answers 5xx or nothing now — and again a second later — was harmed by
    the run's probes (FAIL).

    A service that a few malformed or unexpected requests leave broken is a denial-of-service
    waiting to happen, and whatever the audit created must not stay behind in a shared
    environment.

    Remediation: find the probe in the ledger (``audit.json`` ``requests``) and the server's
    log; make the failing operation robust to it. Delete the accounts listed, and offer an
    account deletion operation (users have a right to erasure).
    """
    doc = await openapi_or_none(ctx)
    findings: list[Finding] = []
    left = await ctx.accounts.delete_created(ctx.base_url, doc)
    created = len(ctx.accounts.created)
    findings += [warned(f"left on the target (not deletable by the audit): {item}") for item in left]
    before = first_answers(list(ctx.http.exchanges), ctx.base_url)[:MAX_RECHECKED]
    if not before:
        if findings:
            return findings
        raise Skip("no anonymous GET got a complete 2xx answer during the run: nothing to compare")
    worse: list[str] = []
    for ex in before:
        after = await ctx.http.get(ex.url)
        if _worse(ex, after):  # a second look a moment later: a restarting worker is not harm
            await asyncio.sleep(RETRY_PAUSE_S)
            after = await ctx.http.get(ex.url)
        if _worse(ex, after):
            worse.append(f"GET {ex.url}: {ex.status} before, {after.status or after.error} after")
            findings.append(failed(
                f"GET {urlsplit(ex.url).path} answered {ex.status} when the run began and "
                f"{after.status or after.error} after it: the run's probes left it broken",
                location=f"GET {ex.url}", evidence=after.evidence(600)))
    ctx.export("target_state", {"rechecked": len(before), "worse": worse})
    if not worse:
        deleted = created - len(left)
        findings.append(passed(
            f"{len(before)} endpoints answer after the run as they did before it"
            + (f"; {deleted} account(s) the audit created deleted" if deleted else ""),
            location=ctx.base_url))
    return findings
