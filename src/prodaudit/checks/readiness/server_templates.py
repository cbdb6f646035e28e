"""RDY-015: server-rendered HTML escapes what it prints — no autoescaping turned off, no
``|safe`` on stored fields, no request data wrapped as markup."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.checks.readiness._scan import BUILD_PARTS, call_name, line_of, parts
from prodaudit.checks.readiness._taint import code_modules, tainted_sinks
from prodaudit.checks.readiness._templates import NOT_APP_PAGES

TEMPLATE_EXT = (".html", ".htm", ".jinja2", ".jinja", ".j2", ".njk", ".jinja.html")
_AUTOESCAPE_OFF = re.compile(r"\{%-?\s*autoescape\s+(false|off)\s*-?%\}", re.I)
# ``{{ note.text | safe }}``: an attribute of an object (a stored field) marked safe
_SAFE_FIELD = re.compile(r"\{\{-?\s*(?P<expr>[A-Za-z_]\w*(\.\w+|\[[^\]]+\])+)\s*\|\s*safe\b")
_PRE_RENDERED = re.compile(r"(html|svg|markup|rendered|sanitized|sanitised|cleaned)$", re.I)
_NOT_TEMPLATE_PARTS = BUILD_PARTS | NOT_APP_PAGES | {"static", "site-packages", ".venv", "venv"}


def _python_findings(ctx: Context) -> tuple[list[Finding], int]:
    out: list[Finding] = []
    mods = code_modules(ctx)
    for m in mods:
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call):
                for kw in n.keywords:
                    if kw.arg == "autoescape" and isinstance(kw.value, ast.Constant) and \
                            kw.value.value is False:
                        out.append(failed(f"{call_name(n)}(autoescape=False): every rendered "
                                          "value is raw HTML", location=m.line(kw.value),
                                          evidence=ast.unparse(n)[:160]))
            elif isinstance(n, ast.Dict):
                for k, v in zip(n.keys, n.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "autoescape" and \
                            isinstance(v, ast.Constant) and v.value is False:
                        out.append(failed("template option autoescape: False", location=m.line(v)))
    for h in ctx.memo("rdy:taint", lambda: tainted_sinks(mods)):
        if h.kind == "markup":
            out.append(failed(f"request data is marked safe HTML by {h.sink}()",
                              location=h.location, evidence=f"request data from {h.source}"))
    return out, len(mods)


def _template_files(ctx: Context) -> list[str]:
    return [f for f in ctx.files.matching(*TEMPLATE_EXT)
            if not _NOT_TEMPLATE_PARTS & set(parts(f)[:-1])]


@check("RDY-015", "Server-rendered templates escape what they print", severity=Severity.HIGH,
       needs=("repo",), checklist=("1.3.5",), references=("CWE-79", "OWASP A03:2021"),
       evidence=Evidence.PARSED)
def template_escaping(ctx: Context) -> list[Finding]:
    """HTML rendered on the server escapes its values: no template engine is set up with
    ``autoescape=False`` (Jinja2 ``Environment``, ``aiohttp_jinja2.setup``, Django
    ``TEMPLATES`` options), no template turns it off (``{% autoescape false %}``/``off``), no
    template prints an object's field with ``|safe`` (``{{ note.text|safe }}``: stored user
    content; a field named ``*_html``/``*svg``/``rendered`` is taken as pre-rendered and not
    judged, nor a plain variable the view computed), and no request data is wrapped by
    ``Markup``/``mark_safe``/``format_html`` (data flow as RDY-010). ``|safe`` on a field is a
    WARN (the field may be sanitised on the way in); the others FAIL.

    Unescaped output is stored or reflected XSS: one user's note runs script in every reader's
    session.

    Remediation: keep autoescaping on, drop ``|safe``, and sanitise (``bleach``/``nh3``) the few
    fields that must carry markup when they are saved, under a name that says so.
    """
    findings, n_mods = _python_findings(ctx)
    templates = _template_files(ctx)
    if not templates and not n_mods:
        raise Skip("no Python modules or server-side templates in the repository")
    for rel in templates:
        text = ctx.read(rel) or ""
        for mt in _AUTOESCAPE_OFF.finditer(text):
            findings.append(failed(f"{mt.group(0)} turns escaping off",
                                   location=f"{rel}:{line_of(text, mt.start())}"))
        for mt in _SAFE_FIELD.finditer(text):
            expr = mt.group("expr")
            if _PRE_RENDERED.search(re.split(r"[.\[]", expr)[-1].strip("'\"]")):
                continue
            findings.append(warned(f"{{{{ {expr}|safe }}}} prints a stored field unescaped",
                                   location=f"{rel}:{line_of(text, mt.start())}",
                                   evidence=mt.group(0)))
    if not findings:
        findings.append(passed(f"{len(templates)} template(s) and {n_mods} module(s): "
                               "autoescaping on, no |safe on fields, no request data as markup"))
    return findings
