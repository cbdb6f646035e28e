"""CFG-037: CORS configured in code and settings — Starlette/FastAPI ``CORSMiddleware``,
flask-cors, django-cors-headers — read statically (the live checks SEC-030–032 probe a running
target)."""

from __future__ import annotations

import ast
import dataclasses
import json
from typing import Any

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.devswitches import TRUE_WORDS
from prodaudit.product.effective import deployment_sets
from prodaudit.product.envfiles import deployment_env_files, profile_env_file
from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import Setting, settings_model
from prodaudit.product.pyvalues import UNKNOWN, evaluate
from prodaudit.product.textwords import contains_folded

ALLOW_ALL = ("CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL")
CREDENTIALS = ("CORS_ALLOW_CREDENTIALS", "CORS_SUPPORTS_CREDENTIALS")


def _on(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS)


def _prod_settings(ctx: Context, names: tuple[str, ...]) -> list[Setting]:
    return [s for s in settings_model(ctx).settings
            if s.name in names and not s.dev and not s.ci_only]


def _wildcard(raw: str) -> bool:
    """An env value of origins (``*``, ``["*"]``, ``a.com,*``) that contains the wildcard."""
    text = raw.strip()
    try:
        parsed = json.loads(text) if text.startswith("[") else None
    except ValueError:
        parsed = None
    items: list[Any] = parsed if isinstance(parsed, list) else text.strip("[]").split(",")
    return any(str(i).strip().strip("'\"") == "*" for i in items)


def _configured_wildcard(ctx: Context, expr: ast.expr | None) -> tuple[Finding, ...]:
    """``allow_origins`` read from a setting (``settings.BACKEND_CORS_ORIGINS``) that the code
    default, the profile's env file or an env file the deployment reads sets to ``*``: a FAIL; a
    committed example the deployer copies to create the env file: a WARN."""
    if expr is None:
        return ()
    names = {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(expr)
             if isinstance(n, ast.Attribute | ast.Name)}
    where = f"allow_origins={ast.unparse(expr)[:80]}"
    for st in _prod_settings(ctx, tuple(sorted(names))):
        if isinstance(st.value, list) and "*" in st.value:
            return (failed(f"CORSMiddleware allows credentials with {where}, and {st.name} "
                           "defaults to ['*'] in the code: every caller's origin is reflected "
                           "with credentials", location=st.loc),)
        env = st.env or st.name
        profile = profile_env_file(ctx)
        files = [(profile, "")] if profile is not None else [
            (d.file, d.source) for d in deployment_env_files(ctx)]
        for ef, source in files:
            entry = ef.get(env)
            if entry is None or not _wildcard(entry.value):
                continue
            text = (f"CORSMiddleware allows credentials with {where}, and {env}={entry.value.strip()} "
                    f"in the {source or 'env file ' + ef.path}: every caller's origin is "
                    "reflected with credentials")
            loc = f"{ef.path}:{entry.line}"
            if source.startswith("example "):
                return (warned(text + " unless the deployer edits it", location=loc),)
            return (failed(text, location=loc),)
    return ()


def _settings_origins(ctx: Context, node: ast.expr | None) -> tuple[object, str]:
    """``allow_origins=settings.<field>``: the list the deployment sets for the field's
    variable, else the field's default in a non-development settings class; (UNKNOWN, '')
    when neither is known."""
    if not isinstance(node, ast.Attribute):
        return UNKNOWN, ""
    fields = [s for s in settings_model(ctx).named(node.attr)
              if s.scope.startswith("class ") and not s.dev and not s.ci_only]
    deployed = [v for s in fields if s.env for v in deployment_sets(ctx, s.env)]
    if deployed:
        star = next((v for v in deployed if "*" in v.value), None)
        if star is None:
            return [v.value for v in deployed], ""
        return ["*"], f"{ast.unparse(node)} is set to {star.value!r} ({star.source} " \
            f"{star.location})"
    known = [s for s in fields if isinstance(s.value, list)]
    if len(known) != len(fields) or not known:
        return UNKNOWN, ""
    star_field = next((s for s in known if "*" in s.value), None)
    if star_field is None:
        return known[0].value, ""
    return ["*"], f"{ast.unparse(node)} defaults to {star_field.value!r} ({star_field.loc}) " \
        f"and no deployment sets {star_field.env or star_field.name}"


def _starlette(ctx: Context, rel: str, node: ast.Call) -> list[Finding]:
    """``app.add_middleware(CORSMiddleware, ...)``: credentials with every origin (Starlette
    then reflects the caller's origin) fail; with every method and header they warn."""
    if not (isinstance(node.func, ast.Attribute) and node.func.attr == "add_middleware"
            and node.args and ast.unparse(node.args[0]).endswith("CORSMiddleware")):
        return []
    kws = {k.arg: k.value for k in node.keywords if k.arg}
    creds = kws.get("allow_credentials")
    if creds is None or evaluate(creds, {}, set()) is not True:
        return []
    loc = f"{rel}:{creds.lineno}"
    origins = evaluate(kws.get("allow_origins"), {}, set())
    why = ""
    if origins is UNKNOWN:
        origins, why = _settings_origins(ctx, kws.get("allow_origins"))
    regex = evaluate(kws.get("allow_origin_regex"), {}, set())
    if (isinstance(origins, list) and "*" in origins) or regex in (".*", "^.*$", ".+"):
        return [failed("CORSMiddleware allows credentials from every origin (the caller's "
                       "origin is reflected)" + (f": {why}" if why else ""), location=loc,
                       evidence=ast.unparse(node)[:300])]
    if not isinstance(origins, list):
        configured = _configured_wildcard(ctx, kws.get("allow_origins"))
        if configured:
            return [dataclasses.replace(configured[0], evidence=f"{loc}: {ast.unparse(node)[:300]}")]
    wild = [k for k in ("allow_methods", "allow_headers")
            if evaluate(kws.get(k), {}, set()) == ["*"]]
    if wild:
        return [warned(f"CORSMiddleware grants {' and '.join(wild)}=['*'] together with "
                       "allow_credentials=True", location=loc, evidence=ast.unparse(node)[:300])]
    return []


def _flask_cors(ctx: Context, rel: str, node: ast.Call) -> list[Finding]:
    """flask-cors with its default origins (``*``) and credentials on (``supports_credentials``
    or ``CORS_SUPPORTS_CREDENTIALS``): every origin is reflected with credentials."""
    name = ast.unparse(node.func)
    if not ((name == "CORS" and node.args) or name.endswith(".init_app") and "cors" in name.lower()):
        return []
    kws = {k.arg: k.value for k in node.keywords if k.arg}
    origins = kws.get("origins") or kws.get("resources")
    configured = [s for s in _prod_settings(ctx, ("CORS_ORIGINS", "CORS_RESOURCES"))]
    if origins is not None or configured:
        value = evaluate(origins, {}, set()) if origins is not None else configured[0].value
        if value is UNKNOWN or value != "*" and not (isinstance(value, list) and "*" in value):
            return []
    creds = kws.get("supports_credentials")
    if creds is not None and evaluate(creds, {}, set()) is True:
        return [failed("flask-cors allows credentials from every origin (default origins '*')",
                       location=f"{rel}:{creds.lineno}")]
    on = [s for s in _prod_settings(ctx, CREDENTIALS) if _on(s.value)]
    if on:
        return [failed(f"flask-cors uses its default origins ('*') and {on[0].name} = True: "
                       "every origin is reflected with credentials", location=on[0].loc,
                       evidence=f"{rel}:{node.lineno}: {ast.unparse(node)[:120]}")]
    return []


@check("CFG-037", "CORS in code does not grant credentials to every origin",
       severity=Severity.HIGH, needs=("repo",), checklist=("8.2.3",),
       references=("CWE-942", "OWASP API8:2023"),
       evidence=Evidence.PARSED)
def cors_in_code(ctx: Context) -> list[Finding]:
    """CORS configured in the code and settings gives no origin-independent access with
    credentials: Starlette/FastAPI ``CORSMiddleware`` with ``allow_credentials=True`` and
    ``allow_origins=["*"]`` (Starlette then reflects the caller's origin) fails — also when
    ``allow_origins`` reads a settings field (``settings.allowed_hosts``) whose default is
    ``["*"]`` and no deployment sets its variable, or whose deployed value (the profile's env
    file, Compose, a Dockerfile ``ENV``, a platform manifest) or an env file the deployment reads
    holds ``*``; when only the committed example the deployer copies to create that env file
    (``.env.example``) sets it, the check warns. Credentials with
    ``allow_methods=["*"]``/``allow_headers=["*"]`` warn; flask-cors with its default origins
    (``*``) and credentials (``supports_credentials=True``, ``CORS_SUPPORTS_CREDENTIALS = True``)
    fails; django-cors-headers ``CORS_ALLOW_ALL_ORIGINS = True`` with
    ``CORS_ALLOW_CREDENTIALS = True`` in any non-development settings module fails.

    Any web site the user visits can then call the API with the user's cookies and read the
    answers (account data, tokens). The live checks SEC-030–032 confirm it on a running target.

    Remediation: list the frontend origins explicitly (``allow_origins=[...]`` from a setting),
    and grant only the methods and headers the frontend uses.
    """
    out: list[Finding] = []
    looked = 0
    for module in py_index(ctx):
        if not contains_folded(module, "cors"):
            continue
        for node in module.calls:
            name = ast.unparse(node.func)
            if name.endswith("add_middleware") or name == "CORS" or "cors" in name.lower():
                looked += 1
                out += _starlette(ctx, module.rel, node) + _flask_cors(ctx, module.rel, node)
    creds = [s for s in _prod_settings(ctx, CREDENTIALS[:1]) if _on(s.value)]
    for s in _prod_settings(ctx, ALLOW_ALL):
        looked += 1
        if _on(s.value) and creds:
            out.append(failed(f"{s.name} = True with CORS_ALLOW_CREDENTIALS = True "
                              f"({creds[0].loc}): every origin gets credentialed access",
                              location=s.loc))
    if not looked:
        raise Skip("no CORS configuration in the code (CORSMiddleware, flask-cors, "
                   "django-cors-headers)")
    if not out:
        out.append(passed(f"{looked} CORS configuration(s) in code: no credentials for every "
                          "origin"))
    return out
