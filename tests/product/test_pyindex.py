"""PyModule.index: its hand-written walk finds exactly what ``ast.walk`` finds (every bucket, in
source order, and the name counts), on a module using every kind of statement and expression and
on prodaudit's own source."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

import prodaudit
from prodaudit.product.pyindex import PyModule

SOURCE = '''
import os, os.path as osp
from . import sibling
from pkg.mod import (a as b, c)

GLOBAL: int = 1
type_comment_free = [x for x in range(3) if x async for y in z] if False else None
value = os.environ.get("A") or os.getenv("B", "x")


@decorator(arg=1)
class Settings(Base, metaclass=Meta):
    """Doc."""
    field: str = Field("d", alias="X")

    async def method(self, *args, token=None, **kw) -> None:
        global GLOBAL
        async with ctx() as c, other():
            await c.call(f"{self.attr!r:>{width}}", key=lambda q: q[1:2, ::3])
        try:
            del self.x[0], y
        except (KeyError, ValueError) as exc:
            raise RuntimeError("no") from exc
        finally:
            pass
        while (n := len(args)) > 0:
            if n in {1, 2} and not kw:
                break
            else:
                continue
        match token:
            case {"k": [1, *rest]} if rest:
                return
            case Point(x=0) | None as p:
                yield p
            case _:
                assert token, "message"
        return {k: v for k, v in kw.items()}, (i for i in ()), *args


def plain(a, /, b, *, c=3):
    nonlocal_free = a if b else c
    x = y = z = -a ** 2 @ b
    x += 1
    print(x, sep="")
'''


def _reference(tree: ast.Module) -> dict[str, object]:
    kinds = {"calls": (ast.Call,), "assigns": (ast.Assign, ast.AnnAssign), "ifs": (ast.If,),
             "classes": (ast.ClassDef,), "functions": (ast.FunctionDef, ast.AsyncFunctionDef),
             "imports": (ast.Import, ast.ImportFrom), "subscripts": (ast.Subscript,),
             "compares": (ast.Compare,), "boolops": (ast.BoolOp,)}
    nodes = list(ast.walk(tree))
    out: dict[str, object] = {
        k: sorted((id(n) for n in nodes if isinstance(n, t)), key=lambda i: i) for k, t in
        kinds.items()}
    out["strings"] = sorted(id(n) for n in nodes
                            if isinstance(n, ast.Constant) and isinstance(n.value, str))
    names: Counter[str] = Counter()
    for n in nodes:
        if isinstance(n, ast.Name):
            names[n.id] += 1
        elif isinstance(n, ast.Attribute):
            names[n.attr] += 1
        elif isinstance(n, ast.Import | ast.ImportFrom):
            for alias in n.names:
                names[(alias.asname or alias.name).rsplit(".", 1)[-1]] += 1
    out["names"] = names
    return out


def _indexed(module: PyModule) -> dict[str, object]:
    out: dict[str, object] = {k: sorted(id(n) for n in getattr(module, k)) for k in (
        "calls", "assigns", "ifs", "classes", "functions", "imports", "subscripts", "compares",
        "boolops", "strings")}
    out["names"] = module.counts
    return out


def _check(text: str, rel: str) -> None:
    tree = ast.parse(text)
    module = PyModule(rel, tree, text).index()
    assert _indexed(module) == _reference(tree), rel
    for bucket in (module.calls, module.strings, module.assigns):
        positions = [(n.lineno, n.col_offset) for n in bucket]
        assert positions == sorted(positions), rel


def test_every_kind_of_node_is_indexed_like_ast_walk() -> None:
    _check(SOURCE, "mod.py")
    module = PyModule("mod.py", ast.parse(SOURCE), SOURCE).index()
    assert len(module.classes) == 1 and len(module.functions) == 2 and module.counts["environ"] == 1


@pytest.mark.parametrize("rel", sorted(
    str(p.relative_to(Path(prodaudit.__file__).parent))
    for p in Path(prodaudit.__file__).parent.rglob("*.py"))[:400:7])
def test_prodaudit_source_is_indexed_like_ast_walk(rel: str) -> None:
    path = Path(prodaudit.__file__).parent / rel
    _check(path.read_text(encoding="utf-8"), rel)
