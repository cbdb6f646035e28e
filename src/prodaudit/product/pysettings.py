"""Application settings in Python code, wherever they live. Not a check module.

A *setting* is a named configuration value the code assigns:

- module constants (``SECRET_KEY = "x"``, Django ``settings.py`` and split settings
  ``base``/``production``; lower-case names only in gunicorn config files);
- attributes of settings classes: pydantic ``BaseSettings`` subclass chains across modules (the
  field's variable honours ``env_prefix`` and aliases), Flask config objects (classes named
  ``*Config``/``*Settings`` used with ``from_object``);
- Flask ``app.config["X"] = v``, ``app.config.update(X=v)`` / ``from_mapping``,
  ``app.secret_key = v``, ``app.debug = v``;
- keys of settings dictionaries (``SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]``,
  ``DATABASES["default"]["PASSWORD"]``).

Each has its static value (``prodaudit.product.pyvalues.evaluate``), the environment variable it
is read from (then the value is that read's default), the ``if`` tests it is nested in, and
whether it belongs to development-only code (a module or class named for development or tests).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pyvalues import (
    READER_IMPORTS,
    UNKNOWN,
    bound_readers,
    enum_members,
    env_read,
    evaluate,
)
from prodaudit.product.starimports import star_imports
from prodaudit.product.textwords import contains_any

if TYPE_CHECKING:
    from prodaudit.context import Context

UPPER_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
DEV_TOKENS = frozenset({"dev", "development", "local", "test", "testing", "tests", "ci", "debug"})
_SETTINGS_BASES = frozenset({"BaseSettings"})
_MODEL_BASES = frozenset({"BaseModel", "Schema", "Model", "Form", "ModelForm", "Serializer",
                          "ModelSerializer", "TypedDict", "NamedTuple", "Enum"})
_CI_GUARD_RE = re.compile(r"\b(GITHUB_\w+|GITLAB_CI|CI|TRAVIS|CIRCLECI|TESTING|PYTEST\w*|"
                          r"BUILDKITE|JENKINS_\w+|TF_BUILD)\b|\btesting\b|\bpytest\b")
MAX_DICT_DEPTH = 3
#: module-level statements the extractor reads (``_Extractor.block``); a module with none of
#: them and no Flask config access has no setting
_SETTING_STATEMENTS = frozenset({"top:If", "top:Try", "top:With", "top:ClassDef", "top:Assign",
                                 "top:AnnAssign"})
_FLASK_NEEDLES = (".config", ".secret_key", ".debug")


@dataclass(frozen=True)
class Setting:
    """One setting assigned in code."""

    name: str
    path: str
    line: int
    value: Any  # the static value (pyvalues.UNKNOWN when not static)
    env: str | None = None  # the environment variable it is read from
    env_default: bool = False  # that read has a default (``value`` is the default)
    scope: str = "module"  # "module" | "class Name" | "app.config" | "dict NAME"
    guard: str = ""  # the enclosing ``if`` tests, e.g. "not os.getenv('PROD')"
    expr: str = ""  # the assigned expression (bounded)
    refs: tuple[str, ...] = ()  # names of the module the expression uses
    dev: bool = False  # in a development/test module or class
    literal: bool = False  # the expression is itself a literal (not an env read, not composed)
    #: the variable's string is converted by the builtin ``bool()``: every non-empty value is
    #: true (``DEBUG=0``, ``DEBUG=False`` too)
    any_value_true: bool = False

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def ci_only(self) -> bool:
        """Assigned only when a CI or test variable is set (``if os.environ.get("CI"):``)."""
        return bool(self.guard) and bool(_CI_GUARD_RE.search(self.guard)) \
            and not self.guard.startswith("not ")


@dataclass
class SettingsModel:
    settings: list[Setting] = field(default_factory=list)
    files: int = 0

    def named(self, *names: str) -> list[Setting]:
        wanted = {n.upper() for n in names}
        return [s for s in self.settings if s.name.upper() in wanted]


def dev_path(rel: str) -> bool:
    """A module named for development or tests (``settings/dev.py``, ``config/local.py``)."""
    stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    tokens = set(re.split(r"[^a-z0-9]+", stem))
    return bool(tokens & DEV_TOKENS)


def _dev_class(name: str) -> bool:
    tokens = {t.lower() for t in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)}
    return bool(tokens & DEV_TOKENS)


def _gunicorn_config(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1].lower()
    return name.endswith(".py") and "gunicorn" in name


def _bases(cls: ast.ClassDef) -> list[str]:
    out = []
    for b in cls.bases:
        if isinstance(b, ast.Name):
            out.append(b.id)
        elif isinstance(b, ast.Attribute):
            out.append(b.attr)
        elif isinstance(b, ast.Subscript):
            out.append(ast.unparse(b.value).rsplit(".", 1)[-1])
    return out


class _Extractor:
    def __init__(self, model: SettingsModel, module: PyModule, readers: set[str],
                 settings_classes: dict[str, str]) -> None:
        self.model, self.module, self.readers = model, module, readers
        self.rel, self.tree = module.rel, module.tree
        self.settings_classes = settings_classes  # class name -> env_prefix (repo-wide)
        self.scope: dict[str, Any] = {}
        self.dev_module = dev_path(self.rel)
        self.lower_ok = _gunicorn_config(self.rel)

    # -- statements ---------------------------------------------------------------------
    def run(self) -> None:
        self.block(self.tree.body, "", None)
        if contains_any(self.module, *_FLASK_NEEDLES):
            for node in [*self.module.assigns, *self.module.calls]:
                self.flask(node)

    def block(self, body: list[ast.stmt], guard: str, cls: ast.ClassDef | None) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If):
                test = ast.unparse(stmt.test)[:160]
                self.block(stmt.body, _join(guard, test), cls)
                self.block(stmt.orelse, _join(guard, f"not ({test})"), cls)
            elif isinstance(stmt, ast.Try):
                self.block(stmt.body, guard, cls)
                for h in stmt.handlers:
                    self.block(h.body, guard, cls)
                self.block(stmt.orelse + stmt.finalbody, guard, cls)
            elif isinstance(stmt, ast.With):
                self.block(stmt.body, guard, cls)
            elif isinstance(stmt, ast.ClassDef) and cls is None:
                self.klass(stmt, guard)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                self.assign(stmt, guard, cls)

    def klass(self, cls: ast.ClassDef, guard: str) -> None:
        members = enum_members(cls)
        if members is not None:
            self.scope[cls.name] = members
            return
        bases = _bases(cls)
        if cls.name in self.settings_classes or (
                cls.name.endswith(("Config", "Settings", "Configuration"))
                and not set(bases) & _MODEL_BASES):
            saved = dict(self.scope)
            self.block(cls.body, guard, cls)
            self.scope = saved

    def assign(self, stmt: ast.Assign | ast.AnnAssign, guard: str,
               cls: ast.ClassDef | None) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        for target in targets:
            if not isinstance(target, ast.Name) or value is None:
                if isinstance(target, ast.Name) and cls is not None \
                        and cls.name in self.settings_classes:
                    self.field(target.id, stmt, None, guard, cls)  # a field without default
                continue
            evaluated = evaluate(value, self.scope, self.readers)
            self.scope[target.id] = evaluated
            name = target.id
            if cls is not None and cls.name in self.settings_classes:
                self.field(name, stmt, value, guard, cls)
            elif UPPER_RE.match(name) or (self.lower_ok and cls is None
                                           and not name.startswith("_")):
                self.add(name, stmt.lineno, value, evaluated, guard,
                         "module" if cls is None else f"class {cls.name}", cls)

    def field(self, name: str, stmt: ast.stmt, value: ast.expr | None, guard: str,
              cls: ast.ClassDef) -> None:
        """A pydantic settings field: read from ``PREFIX + NAME`` unless its value is itself an
        environment read (starlette ``config(...)`` as the default)."""
        if name == "model_config" or name.startswith("_"):
            return
        ann = ast.unparse(stmt.annotation) if isinstance(stmt, ast.AnnAssign) else ""
        if "ClassVar" in ann:
            return
        read = env_read(value, self.readers) if value is not None else None
        if read is not None or value is None:
            evaluated = evaluate(value, self.scope, self.readers) if value is not None \
                else UNKNOWN
            self.add(name, stmt.lineno, value, evaluated, guard, f"class {cls.name}", cls)
            if value is None:
                self._replace_env((self.settings_classes[cls.name] + name).upper(), False)
            return
        evaluated = evaluate(value, self.scope, self.readers)
        self.add(name, stmt.lineno, value, evaluated, guard, f"class {cls.name}", cls)
        alias = _field_alias(value)
        no_default = evaluated is UNKNOWN and isinstance(value, ast.Call) and _field_required(value)
        self._replace_env(alias or (self.settings_classes[cls.name] + name).upper(),
                          not no_default)

    def _replace_env(self, env: str, has_default: bool) -> None:
        last = self.model.settings[-1]
        self.model.settings[-1] = Setting(
            last.name, last.path, last.line, last.value, env, has_default, last.scope,
            last.guard, last.expr, last.refs, last.dev, last.literal, last.any_value_true)

    def add(self, name: str, line: int, node: ast.expr | None, value: Any, guard: str,
            scope: str, cls: ast.ClassDef | None) -> None:
        read = env_read(node, self.readers) if node is not None else None
        inner = node
        any_value_true = False
        while read is None and isinstance(inner, ast.Call) and inner.args \
                and isinstance(inner.func, ast.Name) and inner.func.id in (
                    "int", "float", "str", "bool", "SecretStr"):
            wrapper = inner.func.id
            inner = inner.args[0]
            read = env_read(inner, self.readers)
            any_value_true = wrapper == "bool" and read is not None and read.cast in ("", "str")
        if read is None and isinstance(inner, ast.BoolOp) and inner.values:
            read = env_read(inner.values[0], self.readers)
            if read is not None:
                read = type(read)(read.name, read.line, inner.values[-1], True, read.cast)
        refs = tuple(sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)})) \
            if node is not None else ()
        dev = self.dev_module or (cls is not None and _dev_class(cls.name))
        self.model.settings.append(Setting(
            name, self.rel, line, value, read.name if read else None,
            bool(read and read.has_default), scope, guard,
            ast.unparse(node)[:200] if node is not None else "", refs, dev,
            isinstance(node, ast.Constant), any_value_true))
        if isinstance(node, ast.Dict):
            self.dict_entries(name, node, guard, dev, 1)

    def dict_entries(self, owner: str, node: ast.Dict, guard: str, dev: bool, depth: int) -> None:
        for k, v in zip(node.keys, node.values, strict=False):
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)
                    and k.value.isidentifier()):
                continue
            if isinstance(v, ast.Dict) and depth < MAX_DICT_DEPTH:
                self.dict_entries(f"{owner}.{k.value}", v, guard, dev, depth + 1)
                continue
            read = env_read(v, self.readers)
            self.model.settings.append(Setting(
                k.value, self.rel, v.lineno, evaluate(v, self.scope, self.readers),
                read.name if read else None, bool(read and read.has_default), f"dict {owner}",
                guard, ast.unparse(v)[:200],
                tuple(sorted({n.id for n in ast.walk(v) if isinstance(n, ast.Name)})), dev,
                isinstance(v, ast.Constant)))

    # -- Flask ---------------------------------------------------------------------------
    def flask(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                name = _flask_target(t)
                if name:
                    self.add(name, node.lineno, node.value,
                             evaluate(node.value, self.scope, self.readers), "", "app.config",
                             None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("update", "from_mapping") \
                and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "config":
            for kw in node.keywords:
                if kw.arg:
                    self.add(kw.arg, kw.value.lineno, kw.value,
                             evaluate(kw.value, self.scope, self.readers), "", "app.config", None)
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    for k, v in zip(arg.keys, arg.values, strict=False):
                        if isinstance(k, ast.Constant) and isinstance(k.value, str):
                            self.add(k.value, v.lineno, v,
                                     evaluate(v, self.scope, self.readers), "", "app.config",
                                     None)


def _field_alias(value: ast.expr) -> str:
    """``Field(validation_alias="X")`` / ``alias=`` / ``env=`` (pydantic v1): the variable."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "Field":
        for kw in value.keywords:
            if kw.arg in ("validation_alias", "alias", "env") and isinstance(kw.value, ast.Constant) \
                    and isinstance(kw.value.value, str):
                return kw.value.value.upper()
    return ""


def _field_required(value: ast.Call) -> bool:
    """``Field(...)`` / ``Field()`` without a default."""
    if not (isinstance(value.func, ast.Name) and value.func.id == "Field"):
        return False
    first = value.args[0] if value.args else next(
        (k.value for k in value.keywords if k.arg == "default"), None)
    has_factory = any(k.arg == "default_factory" for k in value.keywords)
    return not has_factory and (first is None or (isinstance(first, ast.Constant)
                                                   and first.value is Ellipsis))


def _flask_target(t: ast.AST) -> str:
    """``app.config["X"]`` → X; ``app.secret_key`` → SECRET_KEY; ``app.debug`` → DEBUG."""
    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute) \
            and t.value.attr == "config" and isinstance(t.slice, ast.Constant) \
            and isinstance(t.slice.value, str):
        return t.slice.value
    if isinstance(t, ast.Attribute) and t.attr in ("secret_key", "debug") \
            and isinstance(t.value, ast.Name) and t.value.id not in ("self", "cls"):
        return t.attr.upper()
    return ""


def _join(guard: str, test: str) -> str:
    return f"{guard} and {test}" if guard else test


# ---------------------------------------------------------------------------- per module
@extractor("pysettings:classes")
def _class_records(module: PyModule) -> tuple[tuple[str, tuple[str, ...], str | None], ...]:
    """(name, base names, own ``env_prefix``) of every class of the module."""
    return tuple((node.name, tuple(_bases(node)), _env_prefix(node)) for node in module.classes)


@extractor("pysettings:readers")
def _reader_records(module: PyModule) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """(reader names the module binds, (imported name, bound name) of its imports from other
    modules: readers when the repository binds that name somewhere)."""
    nodes = [*module.assigns, *module.imports]
    imported = tuple((a.name, a.asname or a.name) for node in nodes
                     if isinstance(node, ast.ImportFrom) and node.module not in READER_IMPORTS
                     for a in node.names)
    return frozenset(bound_readers(nodes)), imported


@extractor("pysettings:used")
def _used_names(module: PyModule) -> frozenset[str]:
    """Names the module uses more often than it names them as a class's base."""
    if not module.classes:
        return module.names  # every name used is used outside a base list
    in_bases: Counter[str] = Counter()
    for node in module.classes:
        in_bases.update(_bases(node))
    return frozenset(n for n, c in module.counts.items() if c > in_bases[n])


# ---------------------------------------------------------------------------- per audit
def _settings_classes(modules: Sequence[PyModule]) -> dict[str, str]:
    """Every pydantic ``BaseSettings`` subclass in the repository (transitively, across
    modules) with its ``env_prefix`` (inherited unless the class sets its own)."""
    classes: dict[str, tuple[list[str], str | None]] = {}
    for module in modules:
        for name, bases, prefix in module.fact("pysettings:classes"):
            classes[name] = (list(bases), prefix)
    out: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, (bases, prefix) in classes.items():
            if name in out:
                continue
            parents = [b for b in bases if b in _SETTINGS_BASES or b in out]
            if parents:
                inherited = next((out[b] for b in parents if b in out), "")
                out[name] = prefix if prefix is not None else inherited
                changed = True
    return out


def _env_prefix(cls: ast.ClassDef) -> str | None:
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if isinstance(target, ast.Name) and target.id == "model_config" and stmt.value:
                call = stmt.value
                if isinstance(call, ast.Call):
                    for kw in call.keywords:
                        if kw.arg == "env_prefix" and isinstance(kw.value, ast.Constant):
                            return str(kw.value.value)
                elif isinstance(call, ast.Dict):
                    for k, v in zip(call.keys, call.values, strict=False):
                        if isinstance(k, ast.Constant) and k.value == "env_prefix" \
                                and isinstance(v, ast.Constant):
                            return str(v.value)
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            for sub in stmt.body:
                if isinstance(sub, ast.Assign) and isinstance(sub.targets[0], ast.Name) \
                        and sub.targets[0].id == "env_prefix" and isinstance(sub.value,
                                                                             ast.Constant):
                    return str(sub.value.value)
    return None


def readers_of(ctx: Context, module: PyModule, _seen: frozenset[str] = frozenset()) -> set[str]:
    """The environment-reader names usable in ``module``: bound there, imported from another
    module of the repository that binds them (``pyvalues.module_readers``), or star-imported
    from a repository module where they are usable (``from .base import *`` of Django settings
    brings base's ``config`` or ``env``)."""
    bound, imported = module.fact("pysettings:readers")
    out = set(bound)
    if imported:
        repo = repo_readers(ctx)
        out |= {bind for name, bind in imported if name in repo}
    for imp in star_imports(ctx).get(module.rel, ()):
        source = _modules_by_rel(ctx).get(imp.target) if imp.target and not imp.reader else None
        if source is not None and source.rel not in _seen and len(_seen) < 8:
            out |= readers_of(ctx, source, _seen | {module.rel})
    return out


def _modules_by_rel(ctx: Context) -> dict[str, PyModule]:
    by_rel: dict[str, PyModule] = ctx.memo("product:modules_by_rel",
                                           lambda: {m.rel: m for m in py_index(ctx)})
    return by_rel


def repo_readers(ctx: Context) -> set[str]:
    """Names bound to an environment reader anywhere in the repository."""
    def build() -> set[str]:
        out: set[str] = set()
        for m in py_index(ctx):
            out |= m.fact("pysettings:readers")[0]
        return out

    return ctx.memo("product:env_readers", build)


def settings_classes(ctx: Context) -> dict[str, str]:
    return ctx.memo("product:settings_classes", lambda: _settings_classes(py_index(ctx)))


def settings_model(ctx: Context) -> SettingsModel:
    """Every setting assigned in the repository's application code (memoised)."""

    def build() -> SettingsModel:
        model = SettingsModel()
        classes = settings_classes(ctx)
        for module in py_index(ctx):
            model.files += 1
            if module.kinds & _SETTING_STATEMENTS or contains_any(module, *_FLASK_NEEDLES):
                _Extractor(model, module, readers_of(ctx, module), classes).run()
        return model

    return ctx.memo("product:settings", build)


def live_settings_classes(ctx: Context) -> set[str]:
    """Settings classes something uses: named anywhere but in a class's bases (an instance, an
    annotation, an import), and every base class of a used one."""

    def build() -> set[str]:
        classes = settings_classes(ctx)
        used: set[str] = set()
        bases: dict[str, list[str]] = {}
        for m in py_index(ctx):
            for name, node_bases, _ in m.fact("pysettings:classes"):
                if name in classes:
                    bases[name] = list(node_bases)
            used |= {c for c in classes if c in m.fact("pysettings:used")}
        live = set(used)
        pending = list(used)
        while pending:
            for base in bases.get(pending.pop(), []):
                if base in classes and base not in live:
                    live.add(base)
                    pending.append(base)
        return live

    return ctx.memo("product:live_settings", build)
