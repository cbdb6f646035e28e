"""RDY-003: the backend's logging configuration, read statically (``ast``)."""

from __future__ import annotations

import ast
import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, check, failed, passed
from prodaudit.checks.readiness._backend import (
    backend_modules,
    broken_sources,
)
from prodaudit.checks.readiness._scan import PyModule, call_name, imports_any, line_of
from prodaudit.product.django_settings import django_settings

# ---- RDY-003 logging --------------------------------------------------------------------------


def _is_debug_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return str(node.value).upper() in ("DEBUG", "10")
    return call_name(node).endswith("logging.DEBUG") or call_name(node) == "DEBUG"


def _logging_sites(mods: list[PyModule]) -> tuple[list[str], list[str], list[tuple[str, ast.expr]]]:
    """(where logging is configured, structured formatters, where a level is set and to what)."""
    config_sites: list[str] = []
    structured: list[str] = []
    level_sites: list[tuple[str, ast.expr]] = []
    for m in mods:
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call):
                name = call_name(n)
                short = name.split(".")[-1]
                if name in (
                    "logging.basicConfig",
                    "basicConfig",
                    "logging.config.dictConfig",
                    "dictConfig",
                    "structlog.configure",
                    "logger.add",
                ) or (short in ("addHandler", "setFormatter")):
                    config_sites.append(m.line(n))
                if name in ("logger.add", "logger.configure") and imports_any(m, "loguru"):
                    _loguru_call(m, n, config_sites, structured, level_sites)
                if short in ("setLevel", "basicConfig"):
                    arg = (
                        n.args[0]
                        if n.args and short == "setLevel"
                        else next((k.value for k in n.keywords if k.arg == "level"), None)
                    )
                    if arg is not None:
                        level_sites.append((m.line(n), arg))
                if (
                    short in ("JSONRenderer", "JsonFormatter", "JSONFormatter")
                    or name.startswith("pythonjsonlogger")
                    or name.startswith("jsonlogger")
                ):
                    structured.append(m.line(n))
            elif _handlers_assigned(n):  # logging.getLogger().handlers = [InterceptHandler()]
                config_sites.append(m.line(n))
            elif (
                isinstance(n, ast.ClassDef)
                and any(call_name(b).endswith("Formatter") for b in n.bases)
                and ("json.dumps" in ast.unparse(n) or "orjson" in ast.unparse(n))
            ):
                structured.append(m.line(n))
    if re.search(r'"format"\s*:\s*"\{', "".join(m.text for m in mods)):
        structured.append("dictConfig JSON format")
    for m in mods:  # a dictConfig/LOGGING formatter named by its dotted path
        hit = _JSON_FORMATTER_NAME.search(m.text)
        if hit:
            structured.append(f"{m.rel}:{line_of(m.text, hit.start())}")
    return config_sites, structured, level_sites


def _handlers_assigned(node: ast.AST) -> bool:
    """``<logger>.handlers = [...]``: handlers installed by assignment."""
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple
                                                       | ast.ListComp) \
        and any(isinstance(t, ast.Attribute) and t.attr == "handlers" for t in node.targets)


def _loguru_call(m: PyModule, n: ast.Call, config_sites: list[str], structured: list[str],
                 level_sites: list[tuple[str, ast.expr]]) -> None:
    """loguru ``logger.add(sink, level=..., serialize=True)`` and ``logger.configure(handlers=
    [{"sink": ..., "level": ..., "serialize": True}])``: configuration, JSON output, level."""
    if call_name(n).endswith(".configure"):
        config_sites.append(m.line(n))
    options: list[tuple[str, ast.expr]] = [(k.arg, k.value) for k in n.keywords if k.arg]
    for d in (d for d in ast.walk(n) if isinstance(d, ast.Dict)):
        options += [(k.value, v) for k, v in zip(d.keys, d.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    for key, value in options:
        if key == "serialize" and isinstance(value, ast.Constant) and value.value is True:
            structured.append(m.line(n))
        elif key == "level":
            level_sites.append((m.line(n), value))


#: a JSON formatter named in a string (``"()": "pythonjsonlogger.jsonlogger.JsonFormatter"``,
#: ``"class": "json_log_formatter.JSONFormatter"``)
_JSON_FORMATTER_NAME = re.compile(
    r"""["'](?:[\w.]*(?:pythonjsonlogger|json_log_formatter|jsonlogger)[\w.]*|"""
    r"""[\w.]*\.J(?:son|SON)Formatter)["']""")


_APP_FACTORIES = ("FastAPI", "Starlette", "Flask", "Quart", "APIFlask", "Application", "Sanic",
                  "get_wsgi_application", "get_asgi_application")


def _startup_location(ctx: Context, mods: list[PyModule]) -> str:
    """Where logging should be configured: Django's production settings module, else the module
    that creates the web application; '' when neither is known."""
    production = django_settings(ctx).production
    if production:
        return production
    for m in mods:
        for n in ast.walk(m.tree):
            if isinstance(n, ast.Call) and call_name(n).split(".")[-1] in _APP_FACTORIES:
                return m.line(n)
    return ""


_FORMAT_SETTING = re.compile(r"LOG\w*(FORMAT|RENDERER|STYLE|JSON)|JSON_LOG", re.I)
_PLAIN = re.compile(r"\b(dev|console|text|plain|pretty|colou?red|human|simple|rich)\b", re.I)


def _plain_format_defaults(mods: list[PyModule]) -> list[tuple[str, str]]:
    """Settings that choose the log format from the environment with a plain-text default
    (``LOGGING_FORMAT = env("LOGGING_FORMAT", default="dev")``, ``LOG_JSON = getenv(..., False)``)."""
    out: list[tuple[str, str]] = []
    for m in mods:
        for n in m.tree.body:
            if not (isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None):
                continue
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            name = next((t.id for t in targets if isinstance(t, ast.Name)), "")
            if not _FORMAT_SETTING.search(name):
                continue
            for c in (c for c in ast.walk(n.value) if isinstance(c, ast.Call)):
                if not re.search(r"env|getenv|config|get$", call_name(c), re.I):
                    continue
                default = next((k.value for k in c.keywords if k.arg == "default"),
                               c.args[1] if len(c.args) > 1 else None)
                if default is None:
                    continue
                text = ast.unparse(default)
                json_flag = "JSON" in name.upper() and text in ("False", "'false'", "'0'", "0")
                if json_flag or (not json_flag and "JSON" not in name.upper()
                                 and _PLAIN.search(text)):
                    out.append((m.line(n), f"{text} ({name})"))
                    break
    return out


def _module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".") if rel.endswith(".py") else rel
    return name[:-len(".__init__")] if name.endswith(".__init__") else name


def _imported(m: PyModule) -> list[str]:
    """Dotted names ``m`` imports (relative imports made absolute from its package)."""
    pkg = _module_name(m.rel).split(".")
    if not m.rel.endswith("__init__.py"):
        pkg = pkg[:-1]
    out: list[str] = []
    for n in ast.walk(m.tree):
        if isinstance(n, ast.Import):
            out += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = ".".join(pkg[:len(pkg) - n.level + 1] if n.level else [])
            mod = ".".join(x for x in (base, n.module or "") if x) if n.level else (n.module or "")
            out += [mod] + [f"{mod}.{a.name}" if mod else a.name for a in n.names]
    return out


def _serving_modules(mods: list[PyModule]) -> set[str]:
    """Modules that serve requests: those importing FastAPI/Starlette and the backend modules
    they import, transitively (a CRUD helper a router calls; not a seed script nobody imports)."""
    by_name: dict[str, PyModule] = {}
    for m in mods:
        name = _module_name(m.rel)
        parts = name.split(".")
        for i in range(len(parts)):  # app.crud.users is also importable as crud.users
            by_name.setdefault(".".join(parts[i:]), m)
    todo = [m for m in mods if imports_any(m, "fastapi", "starlette")]
    seen = {m.rel for m in todo}
    while todo:
        m = todo.pop()
        for name in _imported(m):
            hit = by_name.get(name)
            if hit is not None and hit.rel not in seen:
                seen.add(hit.rel)
                todo.append(hit)
    return seen


@check(
    "RDY-003",
    "Logging configured: structured output, level from config, no print()",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("1.1.3", "5.1.1", "5.1.2"),
    evidence=Evidence.PARSED,
)
def logging_config(ctx: Context) -> list[Finding]:
    """The backend configures logging once (``basicConfig``/``dictConfig``/handlers added or
    assigned (``logging.getLogger().handlers = [...]``)/``structlog.configure``/loguru's
    ``logger.add`` or ``logger.configure``, or the ``LOGGING`` setting of Django's production
    settings, which Django passes to ``dictConfig``): a structured (JSON) formatter (a formatter
    class, one named in a dictConfig such as ``pythonjsonlogger.jsonlogger.JsonFormatter``, or
    loguru's ``serialize=True``), a level taken
    from configuration (not a hard-coded DEBUG), and no ``print()`` in modules that serve
    requests (those importing FastAPI/Starlette and the backend modules they import,
    transitively: a CRUD helper a router calls counts, a seed script nobody imports does not).
    Without any configuration the finding points at Django's production settings
    module or the module that creates the application.
    A log-format setting read from the environment with a plain-text default
    (``LOGGING_FORMAT = env("LOGGING_FORMAT", default="dev")``, ``LOG_JSON=False``) fails at
    its line: production gets console output unless someone remembers the variable.

    Plain-text or ``print`` output cannot be searched or aggregated by field, is not correlated
    with requests, and ``print`` bypasses levels and redaction entirely.

    Remediation: configure logging at startup with a JSON formatter (``python-json-logger``,
    ``structlog`` or a small ``logging.Formatter`` that emits ``json.dumps``), set the level from
    ``LOG_LEVEL``, and replace ``print`` with ``logger.info``/``logger.debug``.
    """
    findings = broken_sources(ctx)
    mods = backend_modules(ctx)
    config_sites, structured, level_sites = _logging_sites(mods)
    django_logging = django_settings(ctx).effective.get("LOGGING")
    if django_logging is not None:  # Django passes settings.LOGGING to dictConfig
        config_sites.insert(0, django_logging.loc)
    if not config_sites:
        findings.append(
            failed(
                "logging is never configured (no basicConfig/dictConfig/"
                "addHandler/structlog.configure call, no Django LOGGING setting)",
                location=_startup_location(ctx, mods),
            )
        )
    elif not structured:
        findings.append(
            failed(
                "logging is configured but not structured: no JSON formatter",
                location=config_sites[0],
                severity=Severity.LOW,
            )
        )
    for loc, what in _plain_format_defaults(mods):
        findings.append(failed(f"the log format defaults to {what}: production logs are not "
                               "structured unless the variable is set", location=loc,
                               severity=Severity.LOW))
    for loc, arg in level_sites:
        if _is_debug_literal(arg):
            findings.append(
                failed(f"log level hard-coded to DEBUG: {ast.unparse(arg)}", location=loc)
            )
    web = _serving_modules(mods)
    prints = [
        m.line(n)
        for m in mods
        if m.rel in web
        for n in ast.walk(m.tree)
        if isinstance(n, ast.Call) and call_name(n) == "print"
    ]
    if prints:
        findings.append(
            failed(
                f"{len(prints)} print() call(s) in modules that serve requests: "
                f"{', '.join(prints[:5])}",
                location=prints[0],
                severity=Severity.LOW,
            )
        )
    if not findings:
        levels = ", ".join(f"{ast.unparse(a)} ({loc})" for loc, a in level_sites[:3]) or "default"
        findings.append(
            passed(
                f"logging configured at {config_sites[0]}; structured formatter at "
                f"{structured[0]}; level {levels}; no print() in {len(web)} web module(s)"
            )
        )
    return findings
