"""SEC-089: an account update does not let the caller set privileged fields (is_admin, role …)
on their own account (mass assignment), observed by reading the account back."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
)
from prodaudit.checks.security._common import live_location
from prodaudit.checks.security._routes import AUTH_WORDS, discover_routes, page_links
from prodaudit.llmdetect import words_of
from prodaudit.redact import mask_evidence

MAX_FORMS = 2
# privileged fields and the elevated value sent in a form body
PRIVILEGED = (("is_admin", "true"), ("admin", "true"), ("role", "admin"),
              ("is_superuser", "true"), ("is_staff", "true"), ("permissions", "admin"))
ELEVATED = frozenset({"true", "admin", "1", "y", "yes", "on", "checked", "superuser"})
_LOWERED = {"true": "false", "admin": "user"}  # what the revert sends
_SKIP_TYPES = frozenset({"submit", "button", "image", "file", "reset", "password"})
_INPUT_RE = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I | re.S)
_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")


def privileged_state(text: str) -> dict[str, str]:
    """The privileged fields an HTML page shows and their state: ``checked``/``unchecked`` for
    checkboxes, else the field's value (lower-case)."""
    out: dict[str, str] = {}
    names = {n for n, _ in PRIVILEGED}
    for _, raw in _INPUT_RE.findall(text[:500_000]):
        attrs = {k.lower(): html.unescape(v.strip("\"'")) if v else "" for k, v in _ATTR_RE.findall(raw)}
        name = attrs.get("name", "")
        if name not in names:
            continue
        if attrs.get("type", "").lower() in ("checkbox", "radio"):
            out[name] = "checked" if "checked" in attrs else "unchecked"
        else:
            out[name] = attrs.get("value", "").lower()
    return out


@dataclass(frozen=True)
class _Form:
    page: Exchange  # the page that shows the form (read again to see the result)
    action: str
    fields: tuple[tuple[str, str], ...]  # the page's values, password fields left out


@dataclass
class _Probe:
    findings: list[Finding] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unproven: list[str] = field(default_factory=list)


def own_forms(pages: list[Exchange], username: str, headers: dict[str, str]) -> list[_Form]:
    """The forms that post, on pages fetched with the audit session, that edit the audit's own
    account: a field holds the account's user name or e-mail. Forms with an empty text field
    (sending it would blank the account's data) and sign-up, login and password forms are left
    out; password fields are never sent."""
    out: list[_Form] = []
    for page in pages:
        if not _with_session(page, headers):
            continue
        for form in page_links(page)[1]:
            fields = [(n, v, t.lower()) for n, v, t in form["fields"]]
            path = urlsplit(form["action"]).path
            if form["method"] != "POST" or words_of(path) & AUTH_WORDS:
                continue
            if not any(v.strip().lower() == username.lower() for _, v, _ in fields):
                continue
            kept = [(n, v) for n, v, t in fields if t not in _SKIP_TYPES]
            if any(not v for n, v, t in fields if t not in _SKIP_TYPES | {"checkbox", "radio",
                                                                          "hidden"}):
                continue
            if all(f.action != form["action"] for f in out):
                out.append(_Form(page, form["action"], tuple(kept)))
    return out[:MAX_FORMS]


def _with_session(ex: Exchange, headers: dict[str, str]) -> bool:
    sent = {k.lower(): v for k, v in ex.request_headers.items()}
    return bool(headers) and all(v in sent.get(k.lower(), "") for k, v in headers.items())


async def _try(ctx: Context, form: _Form, headers: dict[str, str], probe: _Probe) -> None:
    before = privileged_state((await ctx.http.get(form.page.url, headers=headers)).text)
    body = {**dict(form.fields), **dict(PRIVILEGED)}
    ex = await ctx.http.request("POST", form.action, headers=headers, data=body)
    after_page = await ctx.http.get(form.page.url, headers=headers)
    after = privileged_state(after_page.text)
    took = sorted(n for n, v in after.items() if v in ELEVATED and before.get(n) not in ELEVATED)
    what = f"POST {urlsplit(form.action).path}"
    if took:
        lowered = {**dict(form.fields), **{n: _LOWERED.get(v, "") for n, v in PRIVILEGED}}
        await ctx.http.request("POST", form.action, headers=headers, data=lowered)
        back = privileged_state((await ctx.http.get(form.page.url, headers=headers)).text)
        undone = ("reverted: the field reads back as before" if all(
            back.get(n) not in ELEVATED for n in took) else
            "NOT reverted: the audit account keeps the privilege; reset it by hand")
        probe.findings.append(failed(
            f"{what}: the audit's own account set {', '.join(took)} by adding it to the update "
            f"(sent {', '.join(f'{n}={v}' for n, v in PRIVILEGED)}); "
            f"{urlsplit(form.page.url).path} then showed {', '.join(f'{n} {after[n]}' for n in took)} "
            f"(before: {', '.join(n + ' ' + before.get(n, 'not shown') for n in took)}) — mass "
            f"assignment: any user makes themselves an administrator; {undone}",
            location=live_location(ex), evidence=mask_evidence(ex.evidence(600)),
            severity=Severity.HIGH))
        return
    shown = sorted(n for n in before if n in after)
    if ex.status is not None and ex.status < 400 and shown:
        probe.unchanged.append(f"{what} (accepted {ex.status}; {', '.join(shown)} unchanged)")
    else:
        probe.unproven.append(f"{what} (answered {ex.status}; the page shows "
                              f"{', '.join(shown) or 'no privileged field'} to compare)")


@check(
    "SEC-089",
    "An account update cannot set privileged fields (mass assignment)",
    severity=Severity.HIGH,
    needs=("live",),
    checklist=("1.3.2",),
    references=("CWE-915", "OWASP API3:2023"),
    evidence=Evidence.OBSERVED,
    exclusive=True,  # the account may be an admin for a moment: no other probe beside it
)
async def mass_assignment(ctx: Context) -> list[Finding]:
    """Only with ``--allow-mutations`` (it changes the audit's own account). The forms that edit
    the audit account — forms that post, found on the pages the audit session sees, with a field
    prefilled with the account's user name or e-mail — are posted again with their own values
    (password fields left out, so the password never changes) plus privileged fields with
    elevated values (``is_admin``, ``admin``, ``role=admin``, ``is_superuser``, ``is_staff``,
    ``permissions``). The page is read before and after: a privileged field that now shows the
    elevated value (an admin checkbox that appears checked) is a failure, and the audit posts the
    form once more with lowered values to undo it (the finding says whether that worked). The
    update accepted while the page shows the field unchanged is a pass; a page that shows no
    privileged field proves nothing: not verified. Only the account ``ctx.auth()`` logs in with
    — the account the audit registered when it registered one. It runs alone (no other probe sees
    the account while it may be elevated). Every request is in the ledger.

    Remediation: bind updates to an explicit allow-list of fields (a form or schema without
    ``is_admin``/``role``; never ``obj.__dict__.update(request.form)``), and change privileges
    only through an admin-only operation.
    """
    if not ctx.cfg.allow_mutations:
        raise Skip("it changes the audit's own account: probed only with --allow-mutations")
    sess = await ctx.auth()
    headers = sess.headers()
    found = await discover_routes(ctx)
    forms = own_forms(found.pages, sess.credentials.username, headers)
    if not forms:
        raise Skip(f"no form that edits the audit's own account (a field holding its user name) "
                   f"on {len(found.pages)} page(s) seen ({', '.join(found.sources[:3])}); "
                   "JSON update operations are not probed yet")
    probe = _Probe()
    for form in forms:
        try:
            await _try(ctx, form, headers, probe)
        except NotSent as exc:
            probe.unproven.append(f"POST {urlsplit(form.action).path} ({exc.reason})")
    return _summary(probe)


def _summary(probe: _Probe) -> list[Finding]:
    out = list(probe.findings)
    if probe.unproven:
        out.append(skipped(f"not verified: {'; '.join(probe.unproven[:4])}"))
    if probe.findings:
        return out
    if not probe.unchanged:
        raise Skip(f"nothing verified: {'; '.join(probe.unproven[:4])}")
    out.append(passed(f"privileged fields sent to the account update did not take: "
                      f"{'; '.join(probe.unchanged[:4])}"))
    return out
