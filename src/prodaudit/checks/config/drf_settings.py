"""CFG-038: Django REST framework's defaults in the settings production runs with — who may call
a view that sets no permission of its own, and whether any request is throttled."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.django_settings import dict_entries, django_settings
from prodaudit.product.pysettings import Setting

PERMISSIONS = "DEFAULT_PERMISSION_CLASSES"
THROTTLES = "DEFAULT_THROTTLE_CLASSES"
RATES = "DEFAULT_THROTTLE_RATES"
_ALLOW_ANY_RE = re.compile(r"\bAllowAny\b")


def _key_line(ctx: Context, rf: Setting, key: str, fallback: int) -> int:
    """The line of ``"KEY":`` inside the dict (a nested dict's entries carry their own lines)."""
    lines = (ctx.read(rf.path) or "").splitlines()
    for i in range(rf.line - 1, min(len(lines), fallback)):
        if key in lines[i]:
            return i + 1
    return fallback


def _set_elsewhere(ctx: Context, modules: list[str], key: str) -> str | None:
    """A settings module that names ``key`` outside the dict literal
    (``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = ...``, ``.update(...)``)."""
    for rel in modules:
        text = ctx.read(rel) or ""
        if re.search(r"REST_FRAMEWORK\s*(\[\s*['\"]" + key + r"['\"]|\.update\(|\|=)", text):
            return rel
    return None


@check("CFG-038", "Django REST framework denies by default and throttles requests",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.2", "1.3.7", "8.2.2"),
       references=("CWE-862", "CWE-307", "OWASP API4:2023", "OWASP API5:2023"),
       evidence=Evidence.PARSED)
def drf_defaults(ctx: Context) -> list[Finding]:
    """In the Django settings production runs with (split settings and star imports followed)
    where Django REST framework is installed: ``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``
    is set and is not ``AllowAny`` or empty, and ``DEFAULT_THROTTLE_CLASSES`` is set.

    DRF's own defaults are ``AllowAny`` and no throttling: every view that forgets its
    ``permission_classes`` answers anonymous callers, and the token and login endpoints accept
    unlimited password guesses. Rates in ``DEFAULT_THROTTLE_RATES`` do nothing unless throttle
    classes apply them. A default explicitly set to ``AllowAny`` or ``[]`` fails; an absent one
    warns (each view may still set its own).

    Remediation: ``"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]``
    (open the few public views with ``permission_classes = [AllowAny]``) and
    ``"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle",
    "rest_framework.throttling.UserRateThrottle"]`` with their rates.
    """
    dj = django_settings(ctx)
    if dj.production is None:
        raise Skip("no Django settings module in the repository")
    rf = dj.effective.get("REST_FRAMEWORK")
    apps = dj.effective.get("INSTALLED_APPS")
    texts = [ctx.read(rel) or "" for rel in dj.modules]
    drf_app = any(re.search(r"""["']rest_framework["']""", text) for text in texts)
    if rf is None and not drf_app:
        raise Skip(f"Django REST framework is not configured in {dj.production}")
    out: list[Finding] = []
    if rf is None:
        out.append(warned(
            "REST_FRAMEWORK is not set: DRF's defaults apply (AllowAny permissions, no "
            "throttling) to every view that does not set its own",
            location=apps.loc if apps else dj.production,
            evidence=f"rest_framework in INSTALLED_APPS; production settings {dj.production}"))
        return out
    entries = dict_entries(ctx, rf)
    perms = entries.get(PERMISSIONS)
    if perms is not None:
        if _ALLOW_ANY_RE.search(perms.expr) or perms.value in ([], ()):
            out.append(failed(
                f"{PERMISSIONS} = {perms.expr}: every view without its own permission_classes "
                "answers anonymous callers", location=perms.loc,
                evidence=f"REST_FRAMEWORK at {rf.loc}"))
    elif not _set_elsewhere(ctx, dj.modules, PERMISSIONS):
        out.append(warned(
            f"REST_FRAMEWORK sets no {PERMISSIONS}: DRF's default is AllowAny, so every view "
            "without its own permission_classes answers anonymous callers", location=rf.loc,
            evidence=f"keys: {', '.join(sorted(entries)) or 'none'}"))
    if THROTTLES not in entries and not _set_elsewhere(ctx, dj.modules, THROTTLES):
        rates = entries.get(RATES)
        if rates is not None:
            line = _key_line(ctx, rf, RATES, rates.line)
            out.append(warned(
                f"{RATES} is set but no {THROTTLES}: the rates apply only to views that name a "
                "throttle class; login, token and every other endpoint are unthrottled",
                location=f"{rf.path}:{line}", evidence=f"REST_FRAMEWORK at {rf.loc}"))
        else:
            out.append(warned(
                f"REST_FRAMEWORK sets no {THROTTLES}: no request is throttled by default "
                "(unlimited password guesses on login and token endpoints)", location=rf.loc,
                evidence=f"keys: {', '.join(sorted(entries)) or 'none'}"))
    if not out:
        shown = perms.expr if perms else "(set outside the dict)"
        out.append(passed(f"REST_FRAMEWORK at {rf.loc}: {PERMISSIONS} = {shown}, {THROTTLES} set"))
    return out
