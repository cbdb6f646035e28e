"""BOLA without an OpenAPI document (SEC-082): the pages each audit account's own crawl reaches
whose path carries an id (``/accounts/1/notes``), compared across the two accounts. Not a check
module.

A page is account A's when A's pages link it with one id and B's pages link the same template with
another id (B's own). Account B then asks for A's URL (and A for B's): the text fragments that
only A's own page shows (not on any page B's crawl saw, not in the anonymous answer, not the id
itself; public notes A shares appear on B's pages too) appearing in B's answer are A's data on
B's screen. Pages both accounts link with the same id are shared (a directory, public
profiles): not tested."""

from __future__ import annotations

import contextlib
import html
import re
from dataclasses import dataclass

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
from prodaudit.checks.security._routes import Route, Routes, crawl
from prodaudit.http import SETUP, Budget, probe_scope

MAX_PAGES = 5  # id pages compared
_DROP = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def fragments(ex: Exchange) -> set[str]:
    """The visible text of a page (or a JSON answer) as whitespace-normalised fragments of at
    least six characters."""
    text = _DROP.sub(" ", ex.text[:300_000])
    out = set()
    for part in _TAG.split(text):
        frag = " ".join(html.unescape(part).split())
        if len(frag) >= 6:  # not "False", "Edit", a column title
            out.add(frag)
    return out


def _id_routes(found: Routes) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for r in found.routes:
        if r.method == "GET" and r.auth and r.path_values and r.source == "link":
            out.setdefault(r.template, r)
    return out


@dataclass(frozen=True)
class Side:
    """One account: its session, the id pages its own crawl reached and what those pages show."""

    name: str
    sess: AuthSession
    routes: dict[str, Route]
    seen: frozenset[str]  # text fragments of every page its crawl fetched


async def _side(ctx: Context, name: str, sess: AuthSession) -> Side:
    """The account's own crawl (bounded like the shared route discovery, counted as setup)."""
    found = Routes()
    budget = Budget(max(15, ctx.cfg.probes.max_requests // 2), ctx.cfg.probes.max_seconds,
                    f"probes.max_seconds (account {name}'s crawl)")
    with probe_scope(SETUP, budget), contextlib.suppress(NotSent):  # budget spent: keep what was found
        await crawl(ctx, found, sess)
    seen: set[str] = set()
    for page in found.pages:
        seen |= fragments(page)
    return Side(name, sess, _id_routes(found), frozenset(seen))


async def _compare(ctx: Context, template: str, owner: Side, viewer: Side) -> Finding:
    """``viewer`` asks for ``owner``'s page: FAIL when it shows text only the owner sees."""
    route, theirs = owner.routes[template], viewer.routes[template]
    url = route.url(ctx)
    own = await ctx.http.get(url, headers=owner.sess.headers())
    if own.status != 200:
        return skipped(f"{template}: account {owner.name} itself got {own.status or own.error}")
    anon = await ctx.http.get(url)
    mine = await ctx.http.get(theirs.url(ctx), headers=viewer.sess.headers())
    other = await ctx.http.get(url, headers=viewer.sess.headers())
    ids = {v for _, v in route.path_values} | {v for _, v in theirs.path_values}
    echo = re.compile("|".join(rf"(?<!\w){re.escape(i)}(?!\w)" for i in ids))
    only = fragments(own) - fragments(mine) - viewer.seen - (
        fragments(anon) if anon.status == 200 else set())
    only = {f for f in only if not echo.search(f)}  # a page that only echoes the id
    if not only:
        return skipped(f"{template}: account {owner.name}'s page shows nothing account "
                       f"{viewer.name}'s own pages do not (no data of {owner.name}'s to look for)")
    who = f"account {viewer.name} got {other.status} for account {owner.name}'s {route.path()}"
    if other.status != 200:
        if other.status in (401, 403, 404) or 300 <= (other.status or 0) < 400:
            return passed(who, location=live_location(other))
        return skipped(f"{template}: {who}")
    # words first: a note's text says more than its timestamp
    leaked = sorted(only & fragments(other), key=lambda f: (sum(c.isalpha() for c in f), len(f)),
                    reverse=True)
    if not leaked:
        return passed(f"{who}, showing none of the {len(only)} text fragments only "
                      f"{owner.name}'s page has", location=live_location(other))
    shown = "; ".join(repr(f[:60]) for f in leaked[:3])
    return failed(
        f"account {viewer.name} read account {owner.name}'s page: GET {route.path()} answered 200 "
        f"with {len(leaked)} of the {len(only)} text fragments only account {owner.name}'s own "
        f"page shows ({shown})",
        location=live_location(other),
        evidence=(f"account {owner.name}'s pages link {route.path()}, account {viewer.name}'s own "
                  f"link {theirs.path()}\naccount {owner.name}: GET {url} -> {own.status}\n"
                  f"anonymous: {anon.status or anon.error}\n" + other.evidence(600)),
    )


async def page_bola(ctx: Context) -> list[Finding]:
    """SEC-082 on the pages the two accounts' crawls reach (no OpenAPI document), both ways."""
    a = await _side(ctx, "A", await ctx.auth())
    b = await _side(ctx, "B", await ctx.auth(second=True))
    if not a.routes:
        raise Skip("no OpenAPI document, and no page account A's crawl reached links a page with "
                   "an id in its path (like /accounts/1/notes)")
    out: list[Finding] = []
    for template, route in list(a.routes.items())[:MAX_PAGES]:
        other = b.routes.get(template)
        if other is None:
            out.append(skipped(f"{template}: account B's pages link no such page of its own"))
        elif other.path_values == route.path_values:
            out.append(skipped(f"{template}: both accounts' pages link the same "
                               f"{route.path()} (a shared page, not one account's own)"))
        else:
            out += [await _compare(ctx, template, a, b), await _compare(ctx, template, b, a)]
    judged = [f for f in out if f.status is not Status.SKIP]
    if judged and all(f.status is Status.PASS for f in judged):
        return judged  # pages not compared (shared ones) do not make the verdict a SKIP
    return out
