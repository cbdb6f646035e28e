"""The application's Python modules, parsed once and summarised in one walk per module. Not a
check module.

One pass (:func:`py_index`, memoised) parses every application module, indexes it (calls,
assignments, ``if`` statements, classes, functions, imports, string constants, subscripts,
comparisons, boolean operations and the names used) and, while the tree is alive, keeps only a
compact :class:`Summary`: which of those lists are non-empty and a few structural markers
(``kinds``), the set of names used, and the results of the registered per-module *extractors*
(``facts``: the environment reads of the variable graph, settings classes, reader bindings, code
secrets, function names ... — plain data, never ``ast`` nodes). Then the tree is dropped: a
50,000-file repository no longer holds 20,000 trees for the whole audit.

:func:`py_index` hands out :class:`PyModule` handles. Their ``rel``, ``text``, ``names``,
``kinds`` and ``facts`` cost nothing; the tree and the index lists are materialised on first use
(an empty list straight from the summary when the module has none of that kind), through a small
per-audit LRU of indexed modules (re-parsed on a miss), and then pinned in that handle for its
lifetime, so every node a consumer gets from one handle belongs to one tree. Each call returns new
handles: a consumer that drops them after looking keeps nothing alive; one that keeps them (the
endpoints keep their module) keeps exactly those trees.

An extractor (:func:`extractor`) is registered by the module that consumes its facts; the modules
listed in ``EXTRACTOR_MODULES`` are imported before the pass so their extractors always run.
"""

from __future__ import annotations

import ast
import gc
import importlib
import logging
import threading
import weakref
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from prodaudit.context import Context
    from prodaudit.product import pyparallel

log = logging.getLogger(__name__)

Function = ast.FunctionDef | ast.AsyncFunctionDef
Extractor = Callable[["PyModule"], Any]

#: per-module extractors: fact name -> function of an indexed module (plain data, no ast nodes)
EXTRACTORS: dict[str, Extractor] = {}
#: modules that register extractors (imported before the pass)
EXTRACTOR_MODULES = ("prodaudit.product.envgraph", "prodaudit.product.pysettings",
                     "prodaudit.product.codesecrets", "prodaudit.product.endpoints",
                     "prodaudit.product.django_settings", "prodaudit.product.textwords",
                     "prodaudit.product.error_handlers", "prodaudit.product.starimports")
#: indexed modules kept warm per audit (each ~100 KiB for a 3.6 KB module)
LRU_SIZE = 48
LISTS = ("calls", "assigns", "ifs", "classes", "functions", "imports", "strings", "subscripts",
         "compares", "boolops")


#: ``pack``'s window (8 KiB) and memory level: a compressor's set-up, not its work, is most of
#: the cost of a small module with the defaults (32 KiB window, level 8: 1.3 s of the 50,000-file
#: benchmark's 20,000 modules, 0.4 s with these; 1.4 % larger on the field corpus' modules)
PACK_WBITS, PACK_MEMLEVEL = 13, 6


def pack(text: str) -> bytes:
    """A module's text as the pass keeps it: compressed (source code shrinks four- to sixfold;
    the 20,000 modules of a 50,000-file repository kept 73 MB of text)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, PACK_WBITS, PACK_MEMLEVEL)
    return packer.compress(text.encode("utf-8", "surrogatepass")) + packer.flush()


def unpack(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


def extractor(name: str) -> Callable[[Extractor], Extractor]:
    """Register ``fn`` as the per-module extractor of the fact ``name`` (a name registered twice
    is a programming error: two consumers would read each other's facts)."""

    def register(fn: Extractor) -> Extractor:
        if name in EXTRACTORS:
            raise ValueError(f"duplicate py_index extractor {name!r}")
        EXTRACTORS[name] = fn
        return fn

    return register


@dataclass
class Indexed:
    """One parsed module and its index lists (the materialised form of a :class:`PyModule`)."""

    tree: ast.Module
    calls: list[ast.Call] = field(default_factory=list)
    assigns: list[ast.Assign | ast.AnnAssign] = field(default_factory=list)
    ifs: list[ast.If] = field(default_factory=list)
    classes: list[ast.ClassDef] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    strings: list[ast.Constant] = field(default_factory=list)
    subscripts: list[ast.Subscript] = field(default_factory=list)
    compares: list[ast.Compare] = field(default_factory=list)
    boolops: list[ast.BoolOp] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # Name ids, attributes, imported names

    def index(self) -> Indexed:
        """Fill the lists in one pass over the tree (a hand-written walk: ``ast.walk``'s
        generators cost a third more), then sort them into source order."""
        names = self.counts
        by_kind: dict[type, list[ast.AST]] = {
            ast.Call: self.calls, ast.Subscript: self.subscripts,  # type: ignore[dict-item]
            ast.Assign: self.assigns, ast.AnnAssign: self.assigns,  # type: ignore[dict-item]
            ast.If: self.ifs, ast.Compare: self.compares,  # type: ignore[dict-item]
            ast.BoolOp: self.boolops, ast.ClassDef: self.classes,  # type: ignore[dict-item]
            ast.FunctionDef: self.functions,  # type: ignore[dict-item]
            ast.AsyncFunctionDef: self.functions,  # type: ignore[dict-item]
            ast.Import: self.imports, ast.ImportFrom: self.imports,  # type: ignore[dict-item]
        }
        name_type, attr_type, const_type = ast.Name, ast.Attribute, ast.Constant
        children = _CHILD_FIELDS
        stack: list[ast.AST | None] = [self.tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            node = pop()
            if node is None:  # a hole in a list of nodes (a ``**spread`` key of a dict)
                continue
            kind = type(node)
            if kind is name_type:
                names[node.id] += 1  # type: ignore[attr-defined]
                continue  # a Name has no child worth visiting (its ctx)
            if kind is const_type:
                if isinstance(node.value, str):  # type: ignore[attr-defined]
                    self.strings.append(node)  # type: ignore[arg-type]
                continue
            if kind is attr_type:
                names[node.attr] += 1  # type: ignore[attr-defined]
            else:
                bucket = by_kind.get(kind)
                if bucket is not None:
                    bucket.append(node)
                    if kind is ast.Import or kind is ast.ImportFrom:
                        for alias in node.names:  # type: ignore[attr-defined]
                            names[(alias.asname or alias.name).rsplit(".", 1)[-1]] += 1
            fields = children.get(kind)
            if fields is None:
                fields = children[kind] = _child_fields(kind)
            for field_name in fields:
                value = getattr(node, field_name, None)
                if value.__class__ is list:
                    extend(value)
                elif value is not None:
                    push(value)
        for nodes in (self.calls, self.assigns, self.ifs, self.classes, self.functions,
                      self.imports, self.strings, self.subscripts, self.compares, self.boolops):
            nodes.sort(key=_position)
        return self

    def kinds(self) -> frozenset[str]:
        """The non-empty lists, ``decorated`` (a function with decorators) and ``top:<Stmt>``
        for each kind of module-level statement."""
        out = {name for name in LISTS if getattr(self, name)}
        if any(f.decorator_list for f in self.functions):
            out.add("decorated")
        out.update("top:" + type(stmt).__name__ for stmt in self.tree.body)
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a module keeps after the pass: no tree, no node."""

    kinds: frozenset[str]
    names: frozenset[str]
    facts: dict[str, Any]


Loader = Callable[[str, str], Indexed]
_PIN_LOCK = threading.Lock()


class PyModule:
    """One application module: ``rel``, ``text`` and the summary are always there; the tree and
    the index lists load on first use and stay with this handle (see the module docstring).
    ``PyModule(rel, tree, text).index()`` makes a fully loaded one from a tree."""

    __slots__ = ("rel", "_text", "_packed", "_indexed", "_summary", "_loader", "__weakref__")

    def __init__(self, rel: str, tree: ast.Module | None = None, text: str | bytes = "", *,
                 summary: Summary | None = None, loader: Loader | None = None) -> None:
        self.rel = rel
        # the pass keeps each module's text compressed (``pack``): a handle unpacks it on use
        self._text: str | None = None if isinstance(text, bytes) else text
        self._packed = text if isinstance(text, bytes) else b""
        self._indexed = Indexed(tree) if tree is not None else None
        self._summary = summary
        self._loader = loader

    @classmethod
    def _of_row(cls, rel: str, packed: bytes, summary: Summary, loader: Loader) -> PyModule:
        """A handle over one row of the pass: what ``__init__`` makes of them, without its
        checks (consumers loop over every module dozens of times on a large repository)."""
        mod = cls.__new__(cls)
        mod.rel, mod._text, mod._packed, mod._indexed = rel, None, packed, None
        mod._summary, mod._loader = summary, loader
        return mod

    def index(self) -> PyModule:
        """Index the tree given to the constructor (and summarise it, facts computed on use)."""
        if self._indexed is None:
            raise ValueError(f"{self.rel}: no tree to index")
        loaded = self._indexed.index()
        self._summary = Summary(loaded.kinds(), frozenset(loaded.counts), {})
        return self

    # -- always available -----------------------------------------------------------------
    @property
    def text(self) -> str:
        if self._text is None:
            self._text = unpack(self._packed)
        return self._text

    @property
    def summary(self) -> Summary:
        if self._summary is None:
            self.index()
        assert self._summary is not None
        return self._summary

    @property
    def names(self) -> frozenset[str]:
        """Name ids, attribute names and imported names used in the module."""
        return self.summary.names

    @property
    def kinds(self) -> frozenset[str]:
        return self.summary.kinds

    def has(self, kind: str) -> bool:
        """``kind`` is a non-empty index list (``"classes"``), ``"decorated"`` or
        ``"top:Assign"`` (a module-level statement of that type)."""
        return kind in self.summary.kinds

    def fact(self, name: str) -> Any:
        """The registered extractor ``name``'s result for this module (computed now when the
        module did not come from the pass)."""
        facts = self.summary.facts
        if name not in facts:
            facts[name] = EXTRACTORS[name](self)
        return facts[name]

    # -- materialised on use ----------------------------------------------------------------
    def _load(self) -> Indexed:
        indexed = self._indexed
        if indexed is None:
            if self._loader is None:
                raise ValueError(f"{self.rel}: no tree and no loader")
            loaded = self._loader(self.rel, self.text)
            with _PIN_LOCK:  # two threads loading one handle: both keep the first tree
                if self._indexed is None:
                    self._indexed = loaded
                indexed = self._indexed
        return indexed

    def _list(self, name: str) -> list[Any]:
        if self._indexed is None and self._summary is not None and \
                name not in self._summary.kinds:
            return []  # the summary says there is none: nothing to parse
        return getattr(self._load(), name)

    @property
    def tree(self) -> ast.Module:
        return self._load().tree

    @property
    def counts(self) -> Counter[str]:
        """How often each of :attr:`names` occurs."""
        return self._load().counts

    @property
    def calls(self) -> list[ast.Call]:
        return self._list("calls")

    @property
    def assigns(self) -> list[ast.Assign | ast.AnnAssign]:
        return self._list("assigns")

    @property
    def ifs(self) -> list[ast.If]:
        return self._list("ifs")

    @property
    def classes(self) -> list[ast.ClassDef]:
        return self._list("classes")

    @property
    def functions(self) -> list[Function]:
        return self._list("functions")

    @property
    def imports(self) -> list[ast.Import | ast.ImportFrom]:
        return self._list("imports")

    @property
    def strings(self) -> list[ast.Constant]:
        return self._list("strings")

    @property
    def subscripts(self) -> list[ast.Subscript]:
        return self._list("subscripts")

    @property
    def compares(self) -> list[ast.Compare]:
        return self._list("compares")

    @property
    def boolops(self) -> list[ast.BoolOp]:
        return self._list("boolops")

    def parents(self) -> dict[ast.AST, ast.AST]:
        """Child → parent for every node (built on demand: one more walk)."""
        out: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                out[child] = node
        return out


#: fields that never hold a node worth visiting: names and numbers, the singleton context and
#: operator nodes, the string lists of ``global``/``match`` and the aliases of an import (read by
#: the walk itself)
_NOT_CHILDREN = frozenset({
    "id", "attr", "arg", "name", "asname", "module", "level", "kind", "is_async", "conversion",
    "type_comment", "simple", "tag", "rest", "kwd_attrs", "names", "ctx", "op", "ops",
})
#: node class -> the fields of its child nodes (filled on first sight of each class)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = getattr(kind, "_fields", ())
    return tuple(f for f in fields if f not in _NOT_CHILDREN)


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def walk(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root`` (``ast.walk`` without its generators: about a third faster)."""
    out: list[ast.AST] = []
    stack = [root]
    node_type = ast.AST
    while stack:
        node = stack.pop()
        out.append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, node_type))
            elif isinstance(value, node_type):
                stack.append(value)
    return out


class _Store:
    """The per-audit LRU of indexed modules behind the handles' loader."""

    def __init__(self, ctx: Context, size: int) -> None:
        self.ctx, self.size = ctx, size
        self._lru: OrderedDict[str, Indexed] = OrderedDict()
        self._lock = threading.Lock()
        self.parses: Counter[str] = Counter()  # rel -> parses (the pass included)

    def put(self, rel: str, indexed: Indexed) -> None:
        with self._lock:
            self._lru[rel] = indexed
            self._lru.move_to_end(rel)
            while len(self._lru) > self.size:
                self._lru.popitem(last=False)

    def load(self, rel: str, text: str) -> Indexed:
        with self._lock:
            hit = self._lru.get(rel)
            if hit is not None:
                self._lru.move_to_end(rel)
                return hit
        from prodaudit.pysource import source_cache

        tree = source_cache(self.ctx).get(rel, text).tree
        if tree is None:  # cannot happen: the pass kept only modules with a tree
            raise ValueError(f"{rel}: no longer parseable")
        indexed = Indexed(tree).index()
        with self._lock:
            self.parses[rel] += 1
        self.put(rel, indexed)
        return indexed


@dataclass(frozen=True)
class _Pass:
    modules: list[tuple[str, bytes, Summary]]  # (rel, packed text, summary), file order
    store: _Store


def _interned(value: frozenset[str], pool: dict[frozenset[str], frozenset[str]]
              ) -> frozenset[str]:
    return pool.setdefault(value, value)


def _shared(value: Any, pool: dict[Any, Any]) -> Any:
    """One object for equal immutable facts (the names a module uses, its reader bindings: most
    modules of a large repository give the same ones; 19 MiB on 20,000 modules)."""
    if isinstance(value, frozenset | tuple):
        try:
            return pool.setdefault(value, value)
        except TypeError:  # a tuple holding something unhashable
            return value
    return value


def _run_pass(ctx: Context) -> _Pass:
    from prodaudit.product import pyparallel
    from prodaudit.product.envgraph import python_source_file

    for name in EXTRACTOR_MODULES:
        importlib.import_module(name)
    rels = [rel for rel in ctx.files.files if python_source_file(rel)]
    store = _Store(ctx, LRU_SIZE)
    workers = pyparallel.workers_for(len(rels))
    # The pass allocates millions of short-lived nodes and no reference cycles: the cyclic
    # collector would walk the growing heap again and again (parsing cost twice as much).
    collecting = gc.isenabled()
    gc.disable()
    try:
        out: list[tuple[str, bytes, Summary]] | None = None
        if workers > 1:
            log.info("python modules: indexing %d in %d worker processes", len(rels), workers)
            merge = _Merge(ctx, store)
            try:
                out = merge.finish(pyparallel.summarise(
                    ctx.files.root, rels, ctx.cfg.secrets.max_file_bytes, EXTRACTOR_MODULES,
                    workers, merge.rows))
            except pyparallel.PoolUnavailable as exc:
                log.warning("python modules: %s; indexing them in this process", exc)
        if out is None:
            out = _sequential(ctx, store, rels)
    finally:
        if collecting:
            gc.enable()
    gc.freeze()  # the summaries live until the audit ends: keep them out of the collector's way
    return _Pass(out, store)


def extract(module: PyModule) -> dict[str, Any]:
    """Every registered extractor's fact for an indexed module (the pass, in this process or in
    a worker)."""
    return {name: fn(module) for name, fn in sorted(EXTRACTORS.items())}


class _Kept:
    """The pass's rows as it keeps them: equal name sets and equal immutable facts of different
    modules are one object (see ``_shared``)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, bytes, Summary]] = []
        self._names: dict[frozenset[str], frozenset[str]] = {}
        self._facts: dict[Any, Any] = {}

    def row(self, rel: str, packed: bytes, kinds: frozenset[str], names: frozenset[str],
            facts: dict[str, Any]) -> tuple[str, bytes, Summary]:
        """One module's row as kept (the pools are safe to share between threads: one
        ``setdefault`` each)."""
        shared = {name: _shared(value, self._facts) for name, value in facts.items()}
        return rel, packed, Summary(_interned(kinds, self._names), _interned(names, self._names),
                                    shared)

    def add(self, rel: str, packed: bytes, kinds: frozenset[str], names: frozenset[str],
            facts: dict[str, Any]) -> None:
        self.rows.append(self.row(rel, packed, kinds, names, facts))


def _sequential(ctx: Context, store: _Store, rels: list[str]) -> list[tuple[str, bytes, Summary]]:
    from prodaudit.pysource import source_cache

    cache = source_cache(ctx)
    kept = _Kept()
    for rel in rels:
        text = ctx.read(rel)
        if text is None:
            continue
        tree = cache.get(rel, text).tree
        if tree is None:
            continue
        module = PyModule(rel, tree, text).index()
        indexed = module._indexed
        assert indexed is not None and module._summary is not None
        kept.add(rel, pack(text), module._summary.kinds, module._summary.names, extract(module))
        store.parses[rel] += 1
        store.put(rel, indexed)
        del module, indexed, tree
    return kept.rows


class _Merge:
    """The workers' rows as the sequential pass would have left them: each parse outcome in the
    source cache, equal facts shared (``rows``: a chunk, converted while the workers go on), then
    (``finish``) the readers' problems in the audit's file index, in file order."""

    def __init__(self, ctx: Context, store: _Store) -> None:
        from prodaudit.pysource import source_cache

        self.ctx, self.store, self.cache = ctx, store, source_cache(ctx)
        self.kept = _Kept()
        self.read: list[tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = []

    def rows(self, rows: list[pyparallel.Row]) -> list[tuple[str, bytes, Summary]]:
        out = []
        for row in rows:
            if row.problems or row.outside:
                self.read.append((row.rel, row.problems, row.outside))
            if row.outcome is not None:
                self.cache.record(row.rel, row.outcome)
            if row.packed is not None:
                out.append(self.kept.row(row.rel, row.packed, row.kinds, row.names, row.facts))
        return out

    def finish(self, rows: list[tuple[str, bytes, Summary]]) -> list[tuple[str, bytes, Summary]]:
        for _, problems, outside in sorted(self.read, key=lambda r: r[0]):
            self.ctx.files.merge(problems, outside)
        for rel, _, _ in rows:
            self.store.parses[rel] += 1
        return rows


def _the_pass(ctx: Context) -> _Pass:
    return ctx.memo("product:py_index", lambda: _run_pass(ctx))


class Modules(Sequence["PyModule"]):
    """The handles of one :func:`py_index` call, made when first asked for and held weakly: a
    consumer that keeps a handle gets that same handle (and its tree) back while it holds it,
    but looping over every module does not pin every tree it loaded — each tree goes with its
    handle at the end of the loop step (a list of handles would keep all of them until the loop
    ends: 20,000 trees on a 50,000-file repository)."""

    def __init__(self, rows: list[tuple[str, bytes, Summary]], load: Loader) -> None:
        self._rows, self._load = rows, load
        self._alive: list[weakref.ref[PyModule] | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> PyModule: ...

    @overload
    def __getitem__(self, i: slice) -> list[PyModule]: ...

    def __getitem__(self, i: int | slice) -> PyModule | list[PyModule]:
        if isinstance(i, slice):
            return [self._handle(j) for j in range(*i.indices(len(self)))]
        return self._handle(i)

    def _handle(self, i: int) -> PyModule:
        ref = self._alive[i]
        mod = ref() if ref is not None else None
        if mod is None:
            mod = PyModule._of_row(*self._rows[i], self._load)
            self._alive[i] = weakref.ref(mod)
        return mod

    def __iter__(self) -> Iterator[PyModule]:
        handle = self._handle
        for i in range(len(self._rows)):
            yield handle(i)

    def __add__(self, other: Iterable[PyModule]) -> list[PyModule]:
        return [*self, *other]


def py_index(ctx: Context) -> Modules:
    """Every application module (tests, docs and builds excluded): new handles over the one pass
    (see the module docstring and :class:`Modules`)."""
    done = _the_pass(ctx)
    return Modules(done.modules, done.store.load)


def parse_counts(ctx: Context) -> Counter[str]:
    """How often each module was parsed by the pass and its handles (tests, measurements)."""
    return _the_pass(ctx).store.parses
