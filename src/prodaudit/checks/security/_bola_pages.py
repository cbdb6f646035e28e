"""BOLA without an OpenAPI document (SEC-082): the pages each audit account's own crawl reaches
whose path carries an id (``/accounts/1/notes``), compared across the two accounts. Not a check
module.

A page is account A's when A's pages link it with one id and B's pages link the same template with
another id (B's own). Account B then asks for A's URL: the text fragments that only A's own page
shows (not B's own page, not the anonymous answer, not the id itself) appearing in B's answer are
A's data on B's screen. Pages both accounts link with the same id are shared (a directory, public
profiles): not tested."""

from __future__ import annotations

import contextlib
import html
import re

from prodaudit.auth import AuthSession
from prodaudit.checks.api import (
    Context,
    Exchange,
    Finding,
    NotSent,
    Skip,
    Status,
    failed,
    passed,
    skipped,
)
from prodaudit.checks.security._common import live_location
from prodaudit.checks.security._routes import Route, Routes, crawl, discover_routes
from prodaudit.http import SETUP, Budget, probe_scope

MAX_PAGES = 5  # id pages compared
_DROP = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def fragments(ex: Exchange) -> set[str]:
    """The visible text of a page (or a JSON answer) as whitespace-normalised fragments of at
    least three characters."""
    text = _DROP.sub(" ", ex.text[:300_000])
    out = set()
    for part in _TAG.split(text):
        frag = " ".join(html.unescape(part).split())
        if len(frag) >= 3:
            out.add(frag)
    return out


def _id_routes(found: Routes) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for r in found.routes:
        if r.method == "GET" and r.auth and r.path_values and r.source == "link":
            out.setdefault(r.template, r)
    return out


async def _own_routes(ctx: Context, sess: AuthSession) -> dict[str, Route]:
    """The id pages account B's own crawl reaches (bounded like the shared discovery)."""
    found = Routes()
    budget = Budget(max(15, ctx.cfg.probes.max_requests // 2), ctx.cfg.probes.max_seconds,
                    "probes.max_seconds (account B's crawl)")
    with probe_scope(SETUP, budget), contextlib.suppress(NotSent):  # budget spent: keep what was found
        await crawl(ctx, found, sess)
    return _id_routes(found)


async def _compare(ctx: Context, route: Route, theirs: Route, a: AuthSession,
                   b: AuthSession) -> Finding:
    url = route.url(ctx)
    own_a = await ctx.http.get(url, headers=a.headers())
    if own_a.status != 200:
        return skipped(f"{route.template}: account A itself got {own_a.status or own_a.error}")
    anon = await ctx.http.get(url)
    own_b = await ctx.http.get(theirs.url(ctx), headers=b.headers())
    other = await ctx.http.get(url, headers=b.headers())
    ids = {v for _, v in route.path_values} | {v for _, v in theirs.path_values}
    only_a = fragments(own_a) - fragments(own_b) - (fragments(anon) if anon.status == 200 else set())
    echo = re.compile("|".join(rf"(?<!\w){re.escape(i)}(?!\w)" for i in ids))
    only_a = {f for f in only_a if not echo.search(f)}  # a page that only echoes the id
    if not only_a:
        return skipped(f"{route.template}: account A's page shows nothing account B's own page "
                       "does not (no data of A's to look for)")
    if other.status != 200:
        if other.status in (401, 403, 404) or (other.status or 0) in range(300, 400):
            return passed(f"account B got {other.status} for account A's {route.path()}",
                          location=live_location(other))
        return skipped(f"{route.template}: account B got {other.status or other.error}")
    leaked = sorted(only_a & fragments(other), key=len, reverse=True)
    if not leaked:
        return passed(f"account B's answer to A's {route.path()} shows none of the {len(only_a)} "
                      "text fragments only A's page has", location=live_location(other))
    shown = "; ".join(repr(f[:60]) for f in leaked[:3])
    return failed(
        f"account B read account A's page: GET {route.path()} answered 200 with {len(leaked)} of "
        f"the {len(only_a)} text fragments only account A's own page shows ({shown})",
        location=live_location(other),
        evidence=(f"account A's pages link {route.path()}, account B's own link "
                  f"{theirs.path()}\naccount A: GET {url} -> {own_a.status}\nanonymous: "
                  f"{anon.status}\n" + other.evidence(600)),
    )


async def page_bola(ctx: Context) -> list[Finding]:
    """SEC-082 on the pages the two accounts' crawls reach (no OpenAPI document)."""
    a = await ctx.auth()
    b = await ctx.auth(second=True)
    mine = _id_routes(await discover_routes(ctx))
    if not mine:
        raise Skip("no OpenAPI document, and no page account A's crawl reached links a page with "
                   "an id in its path (like /accounts/1/notes)")
    theirs = await _own_routes(ctx, b)
    out: list[Finding] = []
    for template, route in list(mine.items())[:MAX_PAGES]:
        other = theirs.get(template)
        if other is None:
            out.append(skipped(f"{template}: account B's pages link no such page of its own"))
        elif other.path_values == route.path_values:
            out.append(skipped(f"{template}: both accounts' pages link the same "
                               f"{route.path()} (a shared page, not A's own)"))
        else:
            out.append(await _compare(ctx, route, other, a, b))
    judged = [f for f in out if f.status is not Status.SKIP]
    if judged and all(f.status is Status.PASS for f in judged):
        return judged  # pages not compared (shared ones) do not make the verdict a SKIP
    return out
