"""The environment variable graph: one model of every variable, where it is read (Python AST,
pydantic ``BaseSettings``, frontend code), set (env files, Compose, Dockerfile ``ENV``/``ARG``)
and documented (``.env.example`` and friends).

Not a check module: CFG-001..004 and the secret/settings checks build on it, and CFG-001 exports
it into ``audit.json`` as ``facts.env_graph`` (shape in docs/config.md).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prodaudit.context import Context
from prodaudit.product.compose import ComposeProject, compose_projects, project_refs, variant_files
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.dockerfiles import dockerfiles
from prodaudit.product.envfiles import committed_or_example, env_files
from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pysettings import (
    live_settings_classes,
    readers_of,
    settings_classes,
)
from prodaudit.product.pyvalues import (
    READER_IMPORTS,
    UNKNOWN,
    Duration,
    bound_readers,
    enum_members,
    env_read,
    env_set,
    evaluate,
    is_environ,
)
from prodaudit.product.secretvalues import is_secret_var
from prodaudit.pysource import ParsedSource, source_cache

#: what one module contributes to the graph, in order: (variable, Read) for a read,
#: (variable, line, value) for a variable the code sets itself
Op = tuple[str, "Read"] | tuple[str, int, str]

PY_EXCLUDE_PARTS = frozenset({"tests", "test", "testing", "docs", "node_modules"})
FRONTEND_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".vue", ".svelte")
BUILD_PARTS = frozenset({"dist", "build", "static", "public", "node_modules", ".next", "out"})
FRONTEND_BUILTINS = frozenset({"MODE", "DEV", "PROD", "SSR", "BASE_URL", "NODE_ENV"})
_FRONTEND_RE = re.compile(
    r"(import\.meta\.env|process\.env)"
    r"(?:\??\.([A-Za-z_][A-Za-z0-9_]*)|(?:\?\.)?\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\])"
)
_FRONTEND_SOURCES = ("import.meta.env", "process.env")
#: ``const { VITE_API_URL, VITE_MODE: mode = "x" } = import.meta.env``
_DESTRUCTURE_RE = re.compile(r"\{([^{}]{1,2000})\}\s*=\s*(?:import\.meta\.env|process\.env)\b")
#: the end of ``_DESTRUCTURE_RE``: a text without it has no destructuring (ten times faster)
#: a commented-out assignment in an example env file (``#export REDIS_URL=redis://redis:6379/0``):
#: the variable and its default, documented for whoever wants to change it
_COMMENTED_RE = re.compile(r"^#\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=(\S*)\s*$")
_DESTRUCTURE_HINT = re.compile(r"=\s*(?:import\.meta\.env|process\.env)\b")
_SECRET_TYPES = ("SecretStr", "SecretBytes")
PROGRESS_EVERY = 5000
log = logging.getLogger("prodaudit.config.envgraph")


@dataclass(slots=True)  # a large tree has 100,000s of them
class Read:
    """A place where code reads the variable."""

    path: str
    line: int
    kind: str  # "python" | "settings" | "frontend"
    has_default: bool
    default: str | None = None  # literal default when it is a simple constant
    secret_type: bool = False  # a SecretStr/SecretBytes settings field
    conditional: bool = False  # inside an ``if`` branch: an optional feature's setting
    strict: bool = False  # the read raises when the variable is unset (``os.environ["X"]``)

    def __reduce__(self) -> tuple[type[Read], tuple[Any, ...]]:
        # the parallel py_index pass (pyparallel.py) sends 100,000s of reads from its workers:
        # constructor arguments unpickle twice as fast as a slotted dataclass's state
        return Read, (self.path, self.line, self.kind, self.has_default, self.default,
                      self.secret_type, self.conditional, self.strict)

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"


#: an empty location list of a ``Var``: one shared empty tuple until the graph's builder adds a
#: location (``Var.add``; a large graph's 113,000 variables leave five of seven empty: a million
#: lists made and dropped again, 57 MiB at the peak and the collector's time)
_NONE: Any = ()


@dataclass(slots=True)
class Var:
    name: str
    reads: list[Read] = field(default_factory=list)
    set_in: list[tuple[str, int, str]] = field(default=_NONE)  # (path, line, value)
    documented_in: list[tuple[str, int]] = field(default=_NONE)
    description: str = ""
    compose_required: list[str] = field(default=_NONE)  # path:line of ${VAR:?}
    compose_defaults: list[tuple[str, str]] = field(default=_NONE)  # (path:line, default)
    compose_services: list[str] = field(default=_NONE)  # services whose environment sets it
    variant_refs: list[str] = field(default=_NONE)  # path:line in unmerged compose files
    script_refs: list[str] = field(default=_NONE)  # path:line of $VAR in shell scripts
    code_sets: list[str] = field(default=_NONE)  # path:line of os.environ.setdefault(...)
    #: is_secret_var(name), once asked (every check and the export ask it of every variable:
    #: more names than is_secret_var's cache holds on a large graph)
    _secret_name: bool | None = field(default=None, repr=False, compare=False)

    def add(self, name: str, item: Any) -> None:
        """Append ``item`` to the location list ``name`` (made on the first one)."""
        items = getattr(self, name)
        if items is _NONE:
            items = []
            setattr(self, name, items)
        items.append(item)

    @property
    def required(self) -> bool:
        """Read somewhere in backend code without a default."""
        return any(not r.has_default for r in self.reads if r.kind != "frontend")

    @property
    def secret_name(self) -> bool:
        """The name says it holds a secret (:func:`is_secret_var`)."""
        known = self._secret_name
        if known is None:
            known = self._secret_name = is_secret_var(self.name)
        return known

    @property
    def secret(self) -> bool:
        return self.secret_name or any(r.secret_type for r in self.reads)

    @property
    def default(self) -> str | None:
        for r in self.reads:
            if r.has_default and r.default is not None:
                return r.default
        return None

    @property
    def documented(self) -> bool:
        return bool(self.documented_in)

    def to_json(self) -> dict[str, Any]:
        # the properties written out: a 100,000-variable graph is exported in one go
        reads, set_in, documented_in = self.reads, self.set_in, self.documented_in
        secret = self.secret
        return {
            "name": self.name,
            "required": any(not r.has_default and r.kind != "frontend" for r in reads),
            "compose_required": bool(self.compose_required),
            "default": None if secret else self.default,
            "secret": secret,
            "read_at": [f"{r.path}:{r.line}" for r in reads] if reads else _EMPTY_JSON,
            "read_by": _read_by(reads),
            "used": bool(reads or self.compose_required or self.compose_defaults
                         or self.variant_refs or self.script_refs),
            "set_in": sorted({p for p, _, _ in set_in}) if set_in else _EMPTY_JSON,
            "documented": bool(documented_in),
            "documented_in": [f"{p}:{n}" for p, n in documented_in] if documented_in
            else _EMPTY_JSON,
            "description": self.description,
            "compose_services": sorted(set(self.compose_services)) if self.compose_services
            else _EMPTY_JSON,
        }


#: every empty list of the JSON export is this one (most variables of a large graph leave three
#: or four of their five lists empty: 20 MiB on 113,000 variables). The export is read-only.
_EMPTY_JSON: list[Any] = []
#: and every ``read_by`` list of the same kinds is one list (most variables: ``["os.environ"]``)
_READ_BY: dict[tuple[str, ...], list[str]] = {}


def _read_by(reads: list[Read]) -> list[str]:
    kinds = (reads[0].kind,) if len(reads) == 1 else tuple(sorted({r.kind for r in reads}))
    if not kinds:
        return _EMPTY_JSON
    return _READ_BY.setdefault(kinds, list(kinds))
#: the location lists of a ``Var`` that most variables leave empty
_LOCATION_FIELDS = ("set_in", "documented_in", "compose_required", "compose_defaults",
                    "compose_services", "variant_refs", "script_refs", "code_sets")


@dataclass
class EnvGraph:
    vars: dict[str, Var] = field(default_factory=dict)
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # (path, line, message)
    python_files: int = 0
    frontend_files: int = 0
    example_files: list[str] = field(default_factory=list)
    parse_notes: list[tuple[str, ParsedSource]] = field(default_factory=list)  # not host syntax

    def var(self, name: str) -> Var:
        v = self.vars.get(name)
        if v is None:
            v = self.vars[name] = Var(name)
        return v

    def freeze(self) -> EnvGraph:
        """The built graph is read-only: each empty location list of a variable is one shared
        empty tuple (``Var.add`` makes a list only for a first location; one made empty some
        other way is replaced here). Appending to a frozen graph's empty list raises."""
        none = _NONE
        for v in self.vars.values():
            for name in _LOCATION_FIELDS:
                items = getattr(v, name)
                if items is not none and not items:  # most are the shared tuple already
                    setattr(v, name, none)
        return self

    def to_json(self, keep: Callable[[Var], bool] | None = None, *,
                consume: bool = False) -> dict[str, Any]:
        """The graph as audit.json publishes it (the variables ``keep`` accepts, by name);
        ``consume`` empties the graph while exporting it (the end of a run: a variable's objects
        are freed as its JSON is made)."""
        names = sorted(self.vars)
        take = self.vars.pop if consume else self.vars.__getitem__
        variables = []
        for name in names:
            var = take(name)
            if keep is None or keep(var):
                variables.append(var.to_json())
        return {"schema": "prodaudit/env-graph/1", "example_files": self.example_files,
                "variables": variables}


# ---------------------------------------------------------------------------- Python
def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return str(node.value)
    if isinstance(node, ast.Call) and node.args and _name(node.func) in _SECRET_TYPES:
        return _const_str(node.args[0])
    return None


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _module_scope(tree: ast.Module, readers: set[str]) -> dict[str, Any]:
    """Enum classes and simple constants of the module, to evaluate defaults with."""
    scope: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            members = enum_members(stmt)
            if members is not None:
                scope[stmt.name] = members
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Constant):
            scope[stmt.targets[0].id] = stmt.value.value
    return scope


def _default_text(node: ast.AST | None, scope: dict[str, Any], readers: set[str]) -> str | None:
    """A read's default as text when it is static (``"local"``, ``30``, ``True``)."""
    if node is None:
        return None
    value = evaluate(node, scope, readers)
    if isinstance(value, str | int | float | bool) and value is not UNKNOWN:
        return str(value)
    if isinstance(value, Duration):
        return str(value)
    return None


class _ModuleReads:
    """Environment reads of one indexed module (see prodaudit.product.pyvalues for the reader
    shapes), pydantic ``BaseSettings`` fields (classes known repository-wide, with their
    ``env_prefix``) and variables the code sets itself (``os.environ.setdefault``). A read
    inside an ``if`` branch is *conditional* (an optional feature's setting); reads inside a
    settings class nothing uses are not reads."""

    def __init__(self, module: PyModule, readers: set[str],
                 settings_classes: dict[str, str], live: set[str]) -> None:
        self.ops: list[Op] = []
        self.module, self.path = module, module.rel
        self.readers = readers
        self.settings_classes = settings_classes
        self.scope = _module_scope(module.tree, readers)
        self.branches = [(b[0].lineno, b[-1].end_lineno or b[-1].lineno)
                         for node in module.ifs for b in (node.body, node.orelse) if b]
        self.dead = [(c.lineno, c.end_lineno or c.lineno) for c in module.classes
                     if c.name in settings_classes and c.name not in live]
        self.live = live

    def _inside(self, ranges: list[tuple[int, int]], line: int) -> bool:
        return any(a <= line <= b for a, b in ranges)

    def _add(self, name: str, line: int, kind: str, has_default: bool, default: str | None,
             secret_type: bool = False, strict: bool = False) -> None:
        self.ops.append((name, Read(self.path, line, kind, has_default, default, secret_type,
                                    self._inside(self.branches, line), strict)))

    def _set(self, name: str, line: int, value: str) -> None:
        self.ops.append((name, line, value))

    def run(self) -> list[Op]:
        m = self.module
        or_defaults = {id(b.values[0]): b.values[-1] for b in m.boolops
                       if isinstance(b.op, ast.Or) and len(b.values) > 1}
        readers = self.readers
        for node in [*m.calls, *m.subscripts]:
            if isinstance(node, ast.Call) and not _may_read(node.func, readers):
                continue  # neither a read nor a set: most calls of a module
            read = env_read(node, readers)
            if read is not None and not self._inside(self.dead, read.line):
                dflt = read.default if read.default is not None else or_defaults.get(id(node))
                self._add(read.name, read.line, "python", dflt is not None,
                          _default_text(dflt, self.scope, readers), strict=read.strict)
            if isinstance(node, ast.Call):  # a subscript is never a set (an assignment is)
                sets = env_set(node, readers)
                if sets is not None:
                    value = _const_str(node.args[1]) if len(node.args) > 1 else None
                    self._set(sets[0], sets[1], value or "")
        for assign in m.assigns:
            sets = env_set(assign, self.readers)
            if sets is not None:
                self._set(sets[0], sets[1], _const_str(assign.value) or "")
        for cmp in m.compares:
            if len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.In | ast.NotIn) \
                    and is_environ(cmp.comparators[0], self.readers):
                key = _const_str(cmp.left)
                if key is not None and key.isidentifier():
                    self._add(key, cmp.lineno, "python", True, None)
        for cls in m.classes:
            if cls.name in self.settings_classes and cls.name in self.live:
                self._settings(cls, self.settings_classes[cls.name])
        return self.ops

    def _settings(self, cls: ast.ClassDef, prefix: str) -> None:
        for stmt in cls.body:
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            fname = stmt.target.id
            ann = ast.unparse(stmt.annotation)
            if fname == "model_config" or "ClassVar" in ann or fname.startswith("_"):
                continue
            names = [(prefix + fname).upper()]
            has_default = stmt.value is not None
            default = _default_text(stmt.value, self.scope, self.readers) \
                if stmt.value is not None and env_read(stmt.value, self.readers) is None else None
            if isinstance(stmt.value, ast.Call) and _name(stmt.value.func) == "Field":
                call = stmt.value
                first = call.args[0] if call.args else None
                kw = {k.arg: k.value for k in call.keywords if k.arg}
                dnode = first if first is not None else kw.get("default")
                has_default = (dnode is not None and not (isinstance(dnode, ast.Constant)
                               and dnode.value is Ellipsis)) or "default_factory" in kw
                default = _const_str(dnode)
                aliases = _aliases(kw.get("validation_alias") or kw.get("alias") or kw.get("env"))
                if aliases:
                    names = aliases
            secret = any(t in ann for t in _SECRET_TYPES)
            for n in names:
                self._add(n, stmt.lineno, "settings", has_default, default, secret,
                          strict=not has_default)


#: the attributes a call that reads or sets the environment may call on a name that is not a
#: reader (``os.environ.get``, ``os.getenv``, ``os.environ.setdefault``: see ``env_read``)
_READ_ATTRS = frozenset({"get", "getenv", "setdefault"})


def _may_read(func: ast.expr, readers: set[str]) -> bool:
    """A call of ``func`` can be what ``env_read`` or ``env_set`` recognise (a cheap test that
    lets most calls go without either)."""
    if isinstance(func, ast.Attribute):
        return func.attr in _READ_ATTRS or (isinstance(func.value, ast.Name)
                                            and func.value.id in readers)
    return isinstance(func, ast.Name) and (func.id == "getenv" or func.id in readers)


def _aliases(node: ast.AST | None) -> list[str]:
    if node is None:
        return []
    s = _const_str(node)
    if s is not None:
        return [s.upper()]
    if isinstance(node, ast.Call | ast.List | ast.Tuple | ast.Set):
        elts = node.args if isinstance(node, ast.Call) else node.elts
        return [x.upper() for x in (_const_str(e) for e in elts) if x]
    return []


def _replay(g: EnvGraph, path: str, ops: list[Op]) -> None:
    for op in ops:
        if len(op) == 2:
            g.var(op[0]).reads.append(op[1])
        else:
            v = g.var(op[0])
            v.add("set_in", (path, op[1], op[2]))
            v.add("code_sets", f"{path}:{op[1]}")


@extractor("envgraph:reads")
def module_reads(module: PyModule) -> list[Op] | None:
    """A module's contribution while its tree is alive (the py_index pass), or None when it
    depends on repository-wide facts: a class (settings classes and the live ones are known only
    after every module) or an import from another module (a reader it may bind). Without those
    its readers are the ones it binds itself."""
    if module.classes or any(isinstance(n, ast.ImportFrom) and n.module not in READER_IMPORTS
                             for n in module.imports):
        return None
    return _ModuleReads(module, bound_readers([*module.assigns, *module.imports]), {},
                        set()).run()


def python_source_file(rel: str) -> bool:
    if not rel.endswith(".py"):  # most files of a repository: decided before any split
        return False
    parts = rel.split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py"):
        return False
    if name in ("conftest.py", "noxfile.py", "setup.py", "test.py", "tests.py", "testing.py"):
        return False
    return not (set(parts[:-1]) & (PY_EXCLUDE_PARTS | BUILD_PARTS))


def _frontend_file_reads(ctx: Context, rel: str) -> list[tuple[str, int]] | None:
    """The variables a frontend file reads (None: it could not be read)."""
    text = ctx.read(rel)
    return None if text is None else list(frontend_reads(text))


def _frontend_file(rel: str) -> bool:
    """A frontend source file (never a Python one: the suffixes differ)."""
    if not rel.endswith(FRONTEND_SUFFIXES):
        return False
    return not set(rel.split("/")[:-1]) & (BUILD_PARTS | PY_EXCLUDE_PARTS)


# ---------------------------------------------------------------------------- build
def build_graph(ctx: Context) -> EnvGraph:
    g = EnvGraph()
    # the frontend's reads need no Python fact: found while the py_index pass runs (on a core
    # its workers share) rather than after it, when the rest of the audit waits on this graph
    front = {rel: _frontend_file_reads(ctx, rel) for rel in ctx.files.files
             if _frontend_file(rel)}
    classes = settings_classes(ctx)
    live = live_settings_classes(ctx)
    indexed = {m.rel: m for m in py_index(ctx)}  # handles: a tree loads only when needed
    cache = source_cache(ctx)
    total = len(ctx.files.files)
    for n, rel in enumerate(ctx.files.files, 1):
        if n % PROGRESS_EVERY == 0:
            log.info("variable graph: %d/%d files", n, total)
        if python_source_file(rel):
            module = indexed.get(rel)
            # a module of the pass was read and parsed there: its outcome is all this needs
            parsed = cache.outcome(rel) if module is not None else None
            source = ""
            if parsed is None:
                read = ctx.read(rel)
                if read is None:
                    continue
                source = read
                parsed = cache.outcome(rel) or cache.get(rel, source)
            g.python_files += 1
            if parsed.grammar != "host":
                g.parse_notes.append((rel, parsed))
            if not parsed.parsed:
                if not parsed.template:  # an unrendered template's: a note, not a problem
                    g.problems.append((rel, parsed.line,
                                       f"Python source not parseable: {parsed.note}"))
                continue
            if module is None:
                tree = cache.get(rel, source).tree
                assert tree is not None
                module = PyModule(rel, tree, source).index()
            ops = module.fact("envgraph:reads")
            # the graph is built once (memoised): its reads need not stay in the module's summary
            module.summary.facts.pop("envgraph:reads", None)
            if ops is None:
                ops = _ModuleReads(module, readers_of(ctx, module), classes, live).run()
            _replay(g, rel, ops)
        elif rel in front:
            found = front.pop(rel)
            if found is None:
                continue
            g.frontend_files += 1
            for name, line in found:
                g.var(name).reads.append(Read(rel, line, "frontend", True, None))
    for ef in env_files(ctx):
        for ln, msg in ef.problems:
            g.problems.append((ef.path, ln, msg))
        if ef.kind == "example":
            g.example_files.append(ef.path)
            for e in ef.entries:
                v = g.var(e.name)
                v.add("documented_in", (ef.path, e.line))
                if e.comment and not v.description:
                    v.description = e.comment
            _commented_docs(ctx, g, ef.path, {e.name for e in ef.entries})
        else:
            for e in ef.entries:
                g.var(e.name).add("set_in", (ef.path, e.line, e.value))
    for project in compose_projects(ctx):
        for f in project.files:
            if f.error:
                g.problems.append((f.path, f.error[0], f.error[1]))
        for ref, path in project_refs(project):
            v = g.var(ref.name)
            loc = project.loc(*path)
            if ref.required:
                v.add("compose_required", loc)
            if ref.default is not None:
                v.add("compose_defaults", (loc, ref.default))
        for sname, svc in project.services.items():
            for key, val in service_env(svc).items():
                v = g.var(str(key))
                v.add("compose_services", sname)
                fpath, _, fline = project.loc("services", sname, "environment", key).rpartition(":")
                v.add("set_in", (fpath or project.files[0].path,
                                 int(fline) if fline.isdigit() else 0,
                                 "" if val is None else str(val)))
    _image_env_files(ctx, g)
    _script_refs(ctx, g)
    for vf in variant_files(ctx):
        if vf.error:
            g.problems.append((vf.path, vf.error[0], vf.error[1]))
            continue
        vproj = ComposeProject([vf], vf.data or {})
        for ref, path in project_refs(vproj):
            g.var(ref.name).add("variant_refs", vproj.loc(*path))
    for df in dockerfiles(ctx):
        for ln, msg in df.problems:
            g.problems.append((df.path, ln, msg))
        for ins in df.instructions:
            if ins.name in ("ENV", "ARG"):
                for k, val in env_pairs(ins.value):
                    g.var(k).add("set_in", (df.path, ins.line, val))
        for st in df.stages:
            for k in _base_image_env(st.resolved):
                if k in g.vars and g.vars[k].reads:
                    g.vars[k].add("set_in", (df.path, st.line, f"(set by the image {st.resolved})"))
    return g


#: the variables official server images read, by the image's name (``postgres:16``,
#: ``bitnami/postgresql``): prefixes of their documented settings
_IMAGE_PREFIXES = {"postgres": ("POSTGRES_", "PGDATA"), "postgresql": ("POSTGRES_", "PGDATA"),
                   "postgis": ("POSTGRES_", "PGDATA"), "mysql": ("MYSQL_",),
                   "mariadb": ("MARIADB_", "MYSQL_"), "mongo": ("MONGO_INITDB_",),
                   "mongodb": ("MONGODB_",), "rabbitmq": ("RABBITMQ_",),
                   "minio": ("MINIO_",), "redis": ("REDIS_",), "valkey": ("VALKEY_",)}


def _image_name(image: str) -> str:
    return image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()


def _image_env_files(ctx: Context, g: EnvGraph) -> None:
    """A service run from an image (``postgres:16``, not built from the repository) consumes
    every variable of its ``env_file:`` (or of the committed example a deployer copies to create
    it), and every variable named for an official server image of the stack (``POSTGRES_*`` with
    a ``postgres`` service): the image reads them, not the repository's code."""
    for project in compose_projects(ctx):
        if project.dev_only:
            continue
        for sname, svc in project.services.items():
            if svc.get("build") is not None or not svc.get("image"):
                continue
            prefixes = _IMAGE_PREFIXES.get(_image_name(str(svc["image"])), ())
            for vname, var in g.vars.items() if prefixes else ():
                if vname.startswith(prefixes) and var.documented_in:
                    var.add("compose_services", sname)
            for rel in project.env_file_rels(svc):
                ef = committed_or_example(ctx, rel) if "${" not in rel else None
                for entry in ef.entries if ef is not None else []:
                    g.var(entry.name).add("compose_services", sname)


#: ``$NAME`` / ``${NAME}`` / ``${NAME:-x}`` in a shell script (upper-case names: the environment's
#: convention; ``$1``, ``$@`` and lower-case locals are not variables of the deployment)
_SHELL_REF = re.compile(r"(?<!\\)\$(?:\{([A-Z_][A-Z0-9_]*)(?=[}:?=+#%/-])|([A-Z_][A-Z0-9_]*)\b)")
_SHELL_SKIP_PARTS = frozenset({"node_modules", "vendor", ".venv", "venv", "site-packages"})
MAX_SCRIPTS = 200


def _script_refs(ctx: Context, g: EnvGraph) -> None:
    """Where shell scripts (``entrypoint.sh``, ``scripts/start.sh``) use a variable of the
    process environment: the container entrypoint that waits for ``$SQL_HOST`` or tests
    ``$DATABASE`` consumes them. Names the script assigns itself are its own."""
    scripts = [rel for rel in ctx.files.files if rel.endswith(".sh")
               and not set(rel.split("/")[:-1]) & _SHELL_SKIP_PARTS][:MAX_SCRIPTS]
    for rel in scripts:
        text = ctx.read(rel)
        if not text or "$" not in text:
            continue
        own = set(re.findall(r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Z_][A-Z0-9_]*)=", text,
                             re.M))
        own |= set(re.findall(r"\b(?:for|read)\s+(?:-\w+\s+)*([A-Z_][A-Z0-9_]*)", text))
        for n, line in enumerate(text.splitlines(), 1):
            if "$" not in line or line.lstrip().startswith("#"):
                continue
            for m in _SHELL_REF.finditer(line):
                name = m.group(1) or m.group(2)
                if name not in own and name in g.vars:
                    g.vars[name].add("script_refs", f"{rel}:{n}")


#: variables the official images set in their own ``ENV`` (``python:3.12-slim`` sets
#: ``PYTHON_VERSION``): code that reads them in a container built from the image finds them
_IMAGE_ENV = {
    "python": ("PYTHON_VERSION", "PYTHON_SHA256", "GPG_KEY", "LANG"),
    "node": ("NODE_VERSION", "YARN_VERSION"),
    "golang": ("GOLANG_VERSION", "GOPATH", "GOTOOLCHAIN"),
    "ruby": ("RUBY_VERSION", "GEM_HOME", "BUNDLE_APP_CONFIG"),
    "php": ("PHP_VERSION", "PHP_INI_DIR"),
    "openjdk": ("JAVA_VERSION", "JAVA_HOME"),
    "eclipse-temurin": ("JAVA_VERSION", "JAVA_HOME"),
}


def _base_image_env(image: str) -> tuple[str, ...]:
    """The variables an official base image (``python:3.12.4-slim``, ``docker.io/library/node``)
    sets in its own ``ENV``; none for other images."""
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] \
        else image.split("@", 1)[0]
    for prefix in ("docker.io/library/", "library/", "docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
    return _IMAGE_ENV.get(repo, ())


def frontend_reads(text: str) -> list[tuple[str, int]]:
    """(variable, line) of every ``import.meta.env`` / ``process.env`` read in a frontend
    source: member access (also ``?.`` and ``["X"]``) and destructuring."""
    out = []
    line, counted = 1, 0
    for m in _frontend_matches(text):
        name = m.group(2) or m.group(3)
        if name not in FRONTEND_BUILTINS:
            line += text.count("\n", counted, m.start())
            counted = m.start()
            out.append((name, line))
    if _DESTRUCTURE_HINT.search(text) is None:
        return out
    for m in _DESTRUCTURE_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for part in m.group(1).split(","):
            name = part.split(":")[0].split("=")[0].strip()
            if name.isidentifier() and name not in FRONTEND_BUILTINS:
                out.append((name, line))
    return out


def _frontend_matches(text: str) -> Iterator[re.Match[str]]:
    """``_FRONTEND_RE.finditer(text)``, tried only where one of its two sources starts (found
    with ``str.find``: the regex alone tries every position of the text, three times slower)."""
    found = [text.find(source) for source in _FRONTEND_SOURCES]
    pos = 0
    while True:
        for i, at in enumerate(found):
            if 0 <= at < pos:
                found[i] = text.find(_FRONTEND_SOURCES[i], pos)
        starts = [at for at in found if at >= 0]
        if not starts:
            return
        at = min(starts)
        m = _FRONTEND_RE.match(text, at)
        if m is not None:
            yield m
            pos = m.end()
        else:
            pos = at + 1


def env_pairs(value: str) -> list[tuple[str, str]]:
    """``ENV A=1 B="x y"``, legacy ``ENV A 1`` and ``ARG A`` → pairs."""
    value = value.strip()
    if "=" not in value.split(" ", 1)[0]:
        k, _, v = value.partition(" ")
        return [(k, v.strip())] if k else []
    out = []
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)", value):
        out.append((m.group(1), m.group(2).strip("\"'")))
    return out


def _commented_docs(ctx: Context, g: EnvGraph, path: str, active: set[str]) -> None:
    """Variables the code reads that an example env file documents only as a commented-out
    assignment (its default, to uncomment and change) are documented there."""
    text = ctx.files.read_text(path, ctx.cfg.secrets.max_file_bytes)
    for i, line in enumerate((text or "").splitlines(), 1):
        m = _COMMENTED_RE.match(line.strip())
        if m is None or m.group(1) in active or m.group(1) not in g.vars:
            continue
        v = g.vars[m.group(1)]
        if v.reads and (path, i) not in v.documented_in:
            v.add("documented_in", (path, i))


def env_graph(ctx: Context) -> EnvGraph:
    return ctx.memo("cfg:env_graph", lambda: build_graph(ctx).freeze())


def export_env_graph(ctx: Context, keep: Callable[[Var], bool]) -> None:
    """Publish the graph (the variables ``keep`` accepts) into audit.json once the checks have
    finished (``Context.settle``): by then no check reads the graph, so the export consumes it
    and a 100,000-variable graph is never held twice."""
    graph = env_graph(ctx)

    def build() -> dict[str, Any]:
        consume = ctx.peek("cfg:env_graph") is not graph  # released by settle: ours alone
        return graph.to_json(keep, consume=consume)

    ctx.export_later("env_graph", build)
