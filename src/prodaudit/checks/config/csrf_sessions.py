"""CFG-172 and CFG-173: cookie sessions read from the code — whether state-changing form posts
are protected against cross-site request forgery (aiohttp middlewares, Flask-WTF, Django's
middleware and ``csrf_exempt``), and whether logging in rotates the session identifier."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed
from prodaudit.product.django_settings import django_settings
from prodaudit.product.endpoints import dotted, endpoints
from prodaudit.product.pyindex import Function, PyModule, py_index, walk
from prodaudit.product.textwords import contains, contains_any, contains_folded, non_ascii


def _imports(mod: PyModule, top: str) -> bool:
    if not mod.has("imports") or not non_ascii(mod) and not contains(mod, top):
        return False  # the module's text never names it: no need to parse the module
    for node in mod.imports:
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names]
        if any(n == top or n.startswith(top + ".") for n in names):
            return True
    return False


def _aiohttp(mod: PyModule, form_posts: bool) -> list[Finding]:
    """``Application(middlewares=[session_middleware, ...])`` without a CSRF middleware while
    handlers read form posts; a commented-out CSRF middleware in the list is named."""
    out: list[Finding] = []
    lines = mod.text.splitlines()
    for call in mod.calls:
        if dotted(call).rsplit(".", 1)[-1] != "Application":
            continue
        mws = next((k.value for k in call.keywords if k.arg == "middlewares"), None)
        if not isinstance(mws, ast.List | ast.Tuple):
            continue
        names = [ast.unparse(e) for e in mws.elts]
        if not any("session" in n.lower() for n in names) or \
                any("csrf" in n.lower() for n in names) or not form_posts:
            continue
        span = range(mws.lineno, (mws.end_lineno or mws.lineno) + 1)
        commented = next((n for n in span if re.match(r"\s*#.*csrf", lines[n - 1], re.I)), None)
        why = ("the CSRF middleware is commented out" if commented else
               "no CSRF middleware")
        out.append(failed(
            f"aiohttp application with a cookie session ({', '.join(names)[:80]}) and form posts: "
            f"{why}, so any site can post forms as the logged-in user",
            location=f"{mod.rel}:{commented or mws.lineno}"))
    return out


def _flask(mods: Sequence[PyModule]) -> list[Finding]:
    """Form classes derived from plain ``wtforms.Form`` (no CSRF token) in a Flask application
    with a cookie session and no ``CSRFProtect``."""
    if any(contains_any(m, "CSRFProtect", "csrf.init_app", "SeaSurf") for m in mods):
        return []
    if not any(_imports(m, "flask_login") or contains(m, "from flask import ") and
               re.search(r"from flask import .*\bsession\b", m.text) for m in mods):
        return []
    forms: list[tuple[PyModule, ast.ClassDef]] = []
    for mod in mods:
        if not _imports(mod, "wtforms"):
            continue
        plain = {a.asname or a.name for n in mod.imports if isinstance(n, ast.ImportFrom)
                 and (n.module or "").split(".")[0] == "wtforms" for a in n.names
                 if a.name == "Form"}
        forms += [(mod, c) for c in mod.classes
                  if any(dotted(b) in plain or dotted(b) == "wtforms.Form" for b in c.bases)]
    if not forms:
        return []
    forms.sort(key=lambda f: (f[0].rel, f[1].lineno))
    mod, cls = forms[0]
    listed = ", ".join(c.name for _, c in forms[:6])
    return [failed(
        f"{len(forms)} form class(es) derive from wtforms.Form ({listed}), which carries no CSRF "
        "token, and no CSRFProtect is installed: the application's cookie-session form posts "
        "can be forged by any site", location=f"{mod.rel}:{cls.lineno}")]


def _django(ctx: Context, mods: Sequence[PyModule]) -> list[Finding]:
    out: list[Finding] = []
    dj = django_settings(ctx)
    mw = dj.effective.get("MIDDLEWARE")
    names = " ".join(map(str, mw.value)) if mw is not None and \
        isinstance(mw.value, list | tuple) else ""
    if mw is not None and "SessionMiddleware" in names and "CsrfViewMiddleware" not in names:
        out.append(failed("MIDDLEWARE has SessionMiddleware but not CsrfViewMiddleware: no "
                          "session-authenticated form post is protected", location=mw.loc))
    for mod in mods:
        if "csrf_exempt" not in mod.names:
            continue
        for fn in mod.functions:
            body = "\n".join(ast.unparse(d) for d in [*fn.decorator_list, *fn.body])
            if not re.search(r"request\.user|request\.session|login_required", body):
                continue  # a webhook or token-authenticated view: no session to ride on
            for dec in fn.decorator_list:
                if dotted(dec).endswith("csrf_exempt"):
                    out.append(failed(f"{fn.name} is @csrf_exempt: its posts are accepted from "
                                      "any site with the user's session cookie",
                                      location=f"{mod.rel}:{dec.lineno}"))
    return out


@check("CFG-172", "State-changing form posts are protected against CSRF",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.2",),
       references=("CWE-352", "OWASP ASVS V4.2.2"), evidence=Evidence.PARSED)
def csrf_protection(ctx: Context) -> list[Finding]:
    """Applications that authenticate with a session cookie protect their state-changing form
    posts with a CSRF token: an aiohttp ``Application`` with a session middleware and handlers
    that read ``request.post()`` must list a CSRF middleware (a commented-out one is named);
    Flask applications with a cookie session (Flask-Login, ``flask.session``) must not build
    their forms on plain ``wtforms.Form`` without ``CSRFProtect``; Django's ``MIDDLEWARE`` keeps
    ``CsrfViewMiddleware`` next to ``SessionMiddleware`` and no view that acts as the session's
    user (``request.user``, ``request.session``, ``@login_required``) is ``@csrf_exempt``.
    Routes registered only outside production (``if settings.DEBUG:``) are not judged.

    The browser attaches the session cookie to a form another site submits: without a token
    that site changes passwords, posts content or moves data as the logged-in user.

    Remediation: install the framework's CSRF protection (``aiohttp_csrf`` middleware,
    Flask-WTF ``FlaskForm`` and ``CSRFProtect(app)``, Django's ``CsrfViewMiddleware``) and
    remove ``csrf_exempt`` from views that use the session.
    """
    mods = py_index(ctx)
    eps = endpoints(ctx)
    if not eps and not any(contains_folded(m, "csrf") for m in mods):
        raise Skip("no route handler and no CSRF configuration in the code")
    form_posts = any(contains(m, "request.post()") and
                     re.search(r"await\s+request\.post\(\)", m.text) for m in mods)
    out: list[Finding] = []
    for mod in mods:
        if "Application" in mod.names and contains(mod, "middlewares"):
            out += _aiohttp(mod, form_posts)
    out += _flask(mods) + _django(ctx, mods)
    if not out:
        out.append(passed(f"{len(eps)} route(s): no unprotected cookie-session form posts found "
                          "(CSRF middleware or tokens in place, or no cookie session)"))
    return out


# ---- CFG-173 -----------------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"^(check_?password|checkpw|verify_password|verify|authenticate|"
                         r"compare_digest)$", re.I)
_ROTATE = re.compile(r"new_session|cycle_key|invalidate|regenerate|rotate|flush|clear|"
                     r"^login$|^auth_login$|^remember$", re.I)


def _session_names(fn: Function) -> set[str]:
    """Local names bound to a server-side session (``session = await get_session(request)``)."""
    out: set[str] = set()
    for node in walk(fn):
        if isinstance(node, ast.Assign) and "get_session" in ast.unparse(node.value):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def _fixation(mod: PyModule, fn: Function) -> Finding | None:
    calls = [dotted(n).rsplit(".", 1)[-1] for n in walk(fn) if isinstance(n, ast.Call)]
    if not any(_CREDENTIAL.search(c) for c in calls) or any(_ROTATE.search(c) for c in calls):
        return None
    sessions = _session_names(fn)
    for node in walk(fn):
        if not isinstance(node, ast.Assign):
            continue
        for t in node.targets:
            if not isinstance(t, ast.Subscript):
                continue
            owner = ast.unparse(t.value)
            key = ast.unparse(t.slice)
            if (owner in sessions or owner == "request.session") and \
                    re.search(r"user|uid|account|login", key, re.I):
                return failed(
                    f"{fn.name} stores {owner}[{key}] after checking the password without "
                    "rotating the session identifier: an identifier planted before login stays "
                    "valid after it (session fixation)", location=f"{mod.rel}:{node.lineno}")
    return None


@check("CFG-173", "Logging in rotates the session identifier",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("1.3.2",),
       references=("CWE-384", "OWASP ASVS V3.2.1"), evidence=Evidence.PARSED)
def session_rotation(ctx: Context) -> list[Finding]:
    """A function that checks a password (``check_password``, ``bcrypt.checkpw``,
    ``authenticate``) and then writes the user into a server-side session (aiohttp_session's
    ``get_session(request)``, Django's ``request.session``) rotates the session first
    (``new_session``, ``cycle_key``, ``invalidate``, Django's ``login()``).

    Without rotation an attacker who planted a session identifier in the victim's browser (a
    link, a cookie set on a sibling domain) is logged in as the victim as soon as they log in.

    Remediation: create a new session at login (aiohttp_session ``new_session(request)``,
    Django ``login(request, user)`` or ``request.session.cycle_key()``).
    """
    looked = 0
    out: list[Finding] = []
    for mod in py_index(ctx):
        if not contains_any(mod, "get_session", "request.session"):
            continue
        for fn in mod.functions:
            looked += 1
            found = _fixation(mod, fn)
            if found:
                out.append(found)
    if not looked:
        raise Skip("no server-side session written by the code (aiohttp_session, Django "
                   "request.session)")
    if not out:
        out.append(passed(f"{looked} function(s) using a server-side session: none logs a user "
                          "in without rotating the session"))
    return out
