"""The application's Python modules, parsed once and indexed in one walk per module: calls,
assignments, ``if`` statements, classes, functions, imports, string constants and the names
used. Every settings fact iterates these lists instead of walking every tree again. Not a check
module."""

from __future__ import annotations

import ast
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
    names: Counter[str] = field(default_factory=Counter)  # Name ids, attributes, imported names

    def index(self) -> PyModule:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, ast.Name):
                self.names[node.id] += 1
            elif isinstance(node, ast.Attribute):
                self.names[node.attr] += 1
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    self.strings.append(node)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                self.assigns.append(node)
            elif isinstance(node, ast.If):
                self.ifs.append(node)
            elif isinstance(node, ast.ClassDef):
                self.classes.append(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.append(node)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                self.imports.append(node)
                for alias in node.names:
                    self.names[(alias.asname or alias.name).rsplit(".", 1)[-1]] += 1
        return self

    def parents(self) -> dict[ast.AST, ast.AST]:
        """Child → parent for every node (built on demand: one more walk)."""
        out: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                out[child] = node
        return out


def py_index(ctx: Context) -> list[PyModule]:
    """Every application module (tests, docs and builds excluded), parsed and indexed."""
    from prodaudit.product.envgraph import python_source_file
    from prodaudit.pysource import source_cache

    def build() -> list[PyModule]:
        cache = source_cache(ctx)
        out = []
        for rel in ctx.files.files:
            if not python_source_file(rel):
                continue
            text = ctx.read(rel)
            if text is None:
                continue
            tree = cache.get(rel, text).tree
            if tree is not None:
                out.append(PyModule(rel, tree, text).index())
        return out

    return ctx.memo("product:py_index", build)
