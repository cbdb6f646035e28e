"""The application's Python modules, parsed once and indexed in one walk per module: calls,
assignments, ``if`` statements, classes, functions, imports, string constants and the names
used. Every settings fact iterates these lists instead of walking every tree again. Not a check
module."""

from __future__ import annotations

import ast
import gc
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.context import Context

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class PyModule:
    rel: str
    tree: ast.Module
    text: str
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
    names: Counter[str] = field(default_factory=Counter)  # Name ids, attributes, imported names

    def index(self) -> PyModule:
        """Fill the lists in one pass over the tree (a hand-written walk: ``ast.walk``'s
        generators cost a third more), then sort them into source order."""
        names = self.names
        by_kind: dict[type, list[ast.AST]] = {
            ast.Call: self.calls, ast.Subscript: self.subscripts,  # type: ignore[dict-item]
            ast.Assign: self.assigns, ast.AnnAssign: self.assigns,  # type: ignore[dict-item]
            ast.If: self.ifs, ast.Compare: self.compares,  # type: ignore[dict-item]
            ast.BoolOp: self.boolops, ast.ClassDef: self.classes,  # type: ignore[dict-item]
            ast.FunctionDef: self.functions,  # type: ignore[dict-item]
            ast.AsyncFunctionDef: self.functions,  # type: ignore[dict-item]
            ast.Import: self.imports, ast.ImportFrom: self.imports,  # type: ignore[dict-item]
        }
        node_type, name_type, attr_type, const_type = ast.AST, ast.Name, ast.Attribute, \
            ast.Constant
        stack: list[ast.AST] = [self.tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            node = pop()
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
            for field_name in node._fields:
                value = getattr(node, field_name, None)
                if isinstance(value, list):
                    extend(v for v in value if isinstance(v, node_type))
                elif isinstance(value, node_type):
                    push(value)
        for nodes in (self.calls, self.assigns, self.ifs, self.classes, self.functions,
                      self.imports, self.strings, self.subscripts, self.compares, self.boolops):
            nodes.sort(key=_position)
        return self

    def parents(self) -> dict[ast.AST, ast.AST]:
        """Child → parent for every node (built on demand: one more walk)."""
        out: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                out[child] = node
        return out


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


def py_index(ctx: Context) -> list[PyModule]:
    """Every application module (tests, docs and builds excluded), parsed and indexed."""
    from prodaudit.product.envgraph import python_source_file
    from prodaudit.pysource import source_cache

    def build() -> list[PyModule]:
        cache = source_cache(ctx)
        out = []
        # The trees live until the audit ends and form no reference cycles: while they are
        # built the cyclic collector would walk the growing heap again and again (parsing cost
        # twice as much), and afterwards they are moved out of its reach for the same reason.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for rel in ctx.files.files:
                if not python_source_file(rel):
                    continue
                text = ctx.read(rel)
                if text is None:
                    continue
                tree = cache.get(rel, text).tree
                if tree is not None:
                    out.append(PyModule(rel, tree, text).index())
        finally:
            if collecting:
                gc.enable()
        gc.freeze()
        return out

    return ctx.memo("product:py_index", build)
