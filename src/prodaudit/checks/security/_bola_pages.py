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
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from prodaudit.checks.security._routes import ID_SEGMENT_RE, Route, Routes, crawl, page_links
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
    pages: tuple[Exchange, ...] = ()  # the pages its crawl fetched


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
    return Side(name, sess, _id_routes(found), frozenset(seen), tuple(found.pages))


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
    if not a.routes and not ctx.cfg.allow_mutations:
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
    if ctx.cfg.allow_mutations:
        try:
            out.append(await write_bola(ctx, a, b))
        except NotSent as exc:
            out.append(skipped(f"account B's delete of account A's item not verified: {exc.reason}"))
    judged = [f for f in out if f.status is not Status.SKIP]
    if judged and all(f.status is Status.PASS for f in judged):
        return judged  # pages not compared (shared ones) do not make the verdict a SKIP
    return out


# ---- writes: account B deletes account A's item (--allow-mutations) ---------------------------
_DELETE_WORDS = re.compile(r"(^|/)(delete|remove|destroy)(/|$)", re.I)
_TEXT_KINDS = ("text", "textarea", "", "search")
_AUTH_FORM = re.compile(r"log_?in|sign_?(in|up)|register|password|account|search|settings|"
                        r"profile", re.I)


def _id_of(path: str) -> tuple[str, str] | None:
    """(template with the id as ``{id}``, the id) of a path with one id segment."""
    segs = path.split("/")
    ids = [i for i, seg in enumerate(segs) if ID_SEGMENT_RE.match(seg)]
    if len(ids) != 1:
        return None
    value = segs[ids[0]]
    segs[ids[0]] = "{id}"
    return "/".join(segs), value


@dataclass(frozen=True)
class ItemForms:
    """A page of account A's with a create form (POST, text fields, no password, no id)."""

    page: str  # the page's URL
    create: dict[str, Any]  # the create form (action, fields)

    @property
    def path(self) -> str:
        return str(urlsplit(self.create["action"]).path.rstrip("/"))


def item_forms(pages: tuple[Exchange, ...]) -> ItemForms | None:
    """The first page with a create form: POST, a text field, no password field, no id in its
    action (``/notes``)."""
    for page in pages:
        for form in page_links(page)[1]:
            kinds = [k for _, _, k in form["fields"]]
            if form["method"] == "POST" and not _id_of(urlsplit(form["action"]).path) \
                    and "password" not in kinds and any(k in _TEXT_KINDS for k in kinds) \
                    and not _AUTH_FORM.search(urlsplit(form["action"]).path):
                return ItemForms(page.url, form)
    return None


_FORM_TAG = re.compile(r"<form\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(action|method)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def post_actions(ex: Exchange) -> list[str]:
    """The paths of a page's POST form actions, read from the form tags alone: markup that
    other items on the page carry (a note whose text opens a comment or a ``<script>``) must
    not hide the forms after it."""
    out = []
    for tag in _FORM_TAG.findall(ex.text[:2_000_000]):
        attrs = {m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
                 for m in _ATTR.finditer(tag)}
        if attrs.get("method", "get").upper() == "POST":
            out.append(urlsplit(urljoin(ex.url, attrs.get("action", "")) or ex.url).path)
    return out


async def _delete_forms(ctx: Context, side: Side, forms: ItemForms,
                        marker: str = "") -> tuple[set[tuple[str, str]], bool]:
    """(template, id) of the page's POST delete forms under the create form's path
    (``/notes/3/delete``), and whether the page shows ``marker``."""
    ex = await ctx.http.get(forms.page, headers=side.sess.headers(), follow_redirects=True)
    out = set()
    for path in post_actions(ex):
        t = _id_of(path)
        if t and _DELETE_WORDS.search(t[0]) and t[0].startswith(forms.path + "/"):
            out.add(t)
    return out, bool(marker) and marker in ex.text


async def write_bola(ctx: Context, a: Side, b: Side) -> Finding:
    """Account A creates an item through its page's create form (a unique marker in its text
    fields) and finds the new item's delete form on the page; account B sends that delete, and
    A reads its page again: the item gone (its marker no longer shown; the delete form gone where
    the page shows no text) FAILs. A deletes afterwards only an item its page still shows with the
    marker: an id someone else's new item reused is never deleted."""
    forms = item_forms(a.pages)
    if forms is None:
        return skipped("no page of account A's has a create form (POST, text fields): account "
                       "B's delete of A's item not tried")
    marker = f"prodaudit-{secrets.token_hex(4)}"
    fields = {n: (v or (marker if k in _TEXT_KINDS else "on")) for n, v, k in
              forms.create["fields"] if k not in ("submit", "button", "image", "file", "reset")}
    before, _ = await _delete_forms(ctx, a, forms)
    await ctx.http.request("POST", forms.create["action"], data=fields,
                           headers=a.sess.headers())
    created, shown = await _delete_forms(ctx, a, forms, marker)
    new = sorted(created - before, key=lambda t: (len(t[1]), t[1]))
    if not new:
        return skipped(f"account A's POST {forms.path} showed no new delete form under "
                       f"{forms.path}/ on {urlsplit(forms.page).path}: nothing to delete (what "
                       "the POST may have created is left on the target)")
    template, item = new[-1]
    path = template.replace("{id}", item)
    url = ctx.url(path)
    other = await ctx.http.request("POST", url, headers=b.sess.headers())
    if other.status is None:  # the connection broke (uwsgi): once more, a delete is idempotent
        other = await ctx.http.request("POST", url, headers=b.sess.headers())
    answered = f"answered {other.status}" if other.status else f"got no answer ({other.error})"
    now, still = await _delete_forms(ctx, a, forms, marker)
    # the marker decides where the page shows it: an id can be reused by an item someone else
    # creates meanwhile; without it, the delete form's presence does
    gone = not still if shown else (template, item) not in now
    if gone:
        return failed(f"account B deleted account A's item: POST {path} (an item account A had "
                      f"just created) {answered} and the item left account A's "
                      f"{urlsplit(forms.page).path}", location=live_location(other),
                      evidence=other.evidence(0))
    ours = shown and still  # only an item the page shows with our marker is deleted by A
    if ours:
        await ctx.http.request("POST", url, headers=a.sess.headers())  # clean up: A deletes its own
    if other.status is None:  # the item stayed, but B's request may not have arrived
        return skipped(f"account B's POST {path} {answered}: not verified")
    left = not ours or (await _delete_forms(ctx, a, forms, marker))[1]
    return passed(f"account B's POST {path} for account A's new item answered {other.status} "
                  "and the item stayed" + ("; it was not deleted afterwards (left on the "
                                          "target)" if left else "; account A deleted it "
                                          "afterwards"), location=live_location(other))
