"""Development behaviour in application code: debug switches in settings and framework
constructors, *inverted* production switches (development unless a variable is set), and Django
entry points that fall back to a development settings module. Not a check module: CFG-030 and
CFG-031 report these.

An inverted switch is an ``if`` whose test reads the environment and is true when the variables
it reads are unset (``if not os.getenv("RUNNING_IN_PRODUCTION"):``, ``if os.getenv("ENV",
"development") == "development":``), or the ``else`` of one that is false then, and whose branch
turns on development behaviour: a debug setting, DEBUG logging, reading a local ``.env``, or
auto-reload (gunicorn's ``reload = True``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import Setting, readers_of, settings_model
from prodaudit.product.pyvalues import UNKNOWN, env_read, evaluate
from prodaudit.product.textwords import contains_any

if TYPE_CHECKING:
    from prodaudit.context import Context

DEBUG_NAME_RE = re.compile(r"^(DEBUG|RELOAD|[A-Z0-9]+_DEBUG|[A-Z0-9]+_RELOAD|DEBUG_MODE)$", re.I)
ENV_NAME_RE = re.compile(
    r"^(ENVIRONMENT|ENV|APP_ENV|APP_ENVIRONMENT|FASTAPI_ENV|FLASK_ENV|NODE_ENV|PYTHON_ENV|RUN_ENV|"
    r"DEPLOY_ENV|RUN_MODE|APP_MODE|STAGE)$", re.I)
DEV_VALUES = frozenset({"development", "dev", "local", "debug", "test", "testing"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
#: SQLAlchemy engine factories whose ``echo=True`` logs statements with their parameters
ENGINE_FACTORIES = frozenset({"create_engine", "create_async_engine"})
#: an Alembic migration environment (``env.py``): its engine runs the migrations, not requests,
#: so ``echo=True`` there logs the migration's statements once per deployment
ALEMBIC_ENV = re.compile(r"^\s*from\s+alembic\s+import\s+(\(\s*)?[\w\s,]*\bcontext\b", re.M)
APP_CLASSES = frozenset({"Application", "FastAPI", "Starlette", "Quart", "Sanic", "Litestar",
                         "Flask", "Falcon", "App"})
ENTRY_MODULES = ("wsgi.py", "asgi.py")


@dataclass(frozen=True)
class DevSwitch:
    """One place where the code turns development behaviour on (by default)."""

    path: str
    line: int
    what: str  # human description, e.g. "DEBUG = True"
    kind: str  # "setting" | "constructor" | "inverted" | "settings-module"
    variables: tuple[str, ...] = ()  # environment variables that would switch it off
    reload_only: bool = False  # the only effect is auto-reload (an entry-point concern)

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"


def is_dev_value(name: str, value: Any) -> bool:
    """A debug-like setting that is on, or an environment-like one with a development value."""
    if DEBUG_NAME_RE.match(name):
        if isinstance(value, bool):
            return value
        return isinstance(value, str | int) and str(value).strip().lower() in TRUE_WORDS
    if ENV_NAME_RE.match(name):
        return isinstance(value, str) and value.strip().lower() in DEV_VALUES
    return False


def debug_settings(ctx: Context) -> list[Setting]:
    """Debug- and environment-like settings of production code (not development modules, not
    CI-only branches)."""
    return [s for s in settings_model(ctx).settings
            if (DEBUG_NAME_RE.match(s.name) or ENV_NAME_RE.match(s.name))
            and not s.dev and not s.ci_only and not s.guard]


def dev_switches(ctx: Context) -> list[DevSwitch]:
    """Constructors with ``debug=True``, inverted switches and settings-module fallbacks."""

    def build() -> list[DevSwitch]:
        out: list[DevSwitch] = []
        for module in py_index(ctx):
            if contains_any(module, "debug", "echo"):
                migration_env = bool(ALEMBIC_ENV.search(module.text))
                for call in module.calls:
                    out += [d for d in _constructor(module.rel, call)
                            if not (migration_env and "echo=" in d.what)]
            if module.ifs:
                readers = readers_of(ctx, module)
                for node in module.ifs:
                    out += _inverted(module.rel, node, readers)
        out += _settings_module_fallbacks(ctx)
        return sorted(set(out), key=lambda d: (d.path, d.line))

    return ctx.memo("product:dev_switches", build)


def _constructor(rel: str, node: ast.Call) -> list[DevSwitch]:
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    if name in ENGINE_FACTORIES:
        for kw in node.keywords:
            if kw.arg == "echo" and isinstance(kw.value, ast.Constant) \
                    and kw.value.value in (True, "debug"):
                return [DevSwitch(rel, kw.value.lineno, f"{name}(echo={kw.value.value!r}): every "
                                  "SQL statement is logged with its parameters", "constructor")]
        return []
    if name not in APP_CLASSES:
        return []
    for kw in node.keywords:
        if kw.arg == "debug" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
            return [DevSwitch(rel, node.lineno, f"{name}(debug=True)", "constructor")]
    return []


def _reads(test: ast.AST, readers: set[str]) -> list[str]:
    return sorted({r.name for n in ast.walk(test) if (r := env_read(n, readers)) is not None})


def _inverted(rel: str, node: ast.If, readers: set[str]) -> list[DevSwitch]:
    names = _reads(node.test, readers)
    if not names:
        return []
    value = evaluate(node.test, {}, readers)
    if value is UNKNOWN:
        return []
    branch = node.body if value else node.orelse
    effects = _effects(branch)
    if not effects:
        return []
    reload_only = all(e.startswith("reload") for e in effects)
    test = ast.unparse(node.test)[:120]
    where = "" if value else "else of "
    return [DevSwitch(rel, node.lineno, f"{where}`if {test}`: {', '.join(effects)}", "inverted",
                      tuple(names), reload_only)]


def _effects(body: list[ast.stmt]) -> list[str]:
    """Development effects of a branch (nested functions and classes are not run by it)."""
    out: list[str] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                tname = t.id if isinstance(t, ast.Name) else t.attr \
                    if isinstance(t, ast.Attribute) else ""
                val = node.value
                if isinstance(val, ast.Constant) and tname and is_dev_value(tname, val.value):
                    out.append(f"{tname} = {val.value!r}")
        if isinstance(node, ast.Call):
            text = ast.unparse(node.func)
            if text.endswith(("read_env", "load_dotenv", "read_dotenv")):
                out.append(f"{text}() reads a local env file")
            elif text.endswith(("basicConfig", "setLevel")) and "DEBUG" in ast.unparse(node):
                out.append("DEBUG logging")
            elif any(k.arg in ("debug", "reload") and isinstance(k.value, ast.Constant)
                     and k.value.value is True for k in node.keywords):
                out.append(f"{text}({'debug' if 'debug' in ast.unparse(node) else 'reload'}"
                           f"=True)")
        stack.extend(ast.iter_child_nodes(node))
    return list(dict.fromkeys(out))


def _settings_module_fallbacks(ctx: Context) -> list[DevSwitch]:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")`` in wsgi/asgi
    entry points, when that module turns debug on by default and another settings module of
    the repository (the production one) exists."""
    debug_on = {s.path for s in debug_settings(ctx) if s.name.upper() == "DEBUG"
                and is_dev_value("DEBUG", s.value)}
    modules = {s.path for s in settings_model(ctx).settings if s.scope == "module" and not s.dev
               and s.name in ("DEBUG", "SECRET_KEY", "INSTALLED_APPS", "ALLOWED_HOSTS",
                              "DATABASES")}
    out = []
    for module in py_index(ctx):
        rel = module.rel
        if not rel.endswith(ENTRY_MODULES):
            continue
        for node in module.calls:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "setdefault" and len(node.args) == 2):
                continue
            key, target = (a.value if isinstance(a, ast.Constant) else None for a in node.args)
            if key != "DJANGO_SETTINGS_MODULE" or not isinstance(target, str):
                continue
            path = _module_path(target, modules | debug_on)
            if path in debug_on and len(modules | debug_on) > 1:
                out.append(DevSwitch(rel, node.lineno, f"DJANGO_SETTINGS_MODULE falls back to "
                                     f"{target} ({path}), whose DEBUG is on by default",
                                     "settings-module", ("DJANGO_SETTINGS_MODULE",)))
    return out


def _module_path(dotted: str, paths: set[str]) -> str | None:
    suffix = dotted.replace(".", "/")
    return next((p for p in sorted(paths) if p.endswith((suffix + ".py", suffix + "/__init__.py"))),
                None)
