"""The package's shape, enforced (runs with the rest of the suite in CI):

- a check module imports only the core (``prodaudit.*`` outside ``prodaudit.checks``), the check
  author's API (``prodaudit.checks.api``) and its own suite's private helpers
  (``prodaudit.checks.<suite>._<topic>``) — never another check module;
- the core never imports a check module (the registry loads them by walking the package);
- no private name (``_x``) is imported from another prodaudit module;
- under ``checks/`` no module is over 500 lines and no function over 80 lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from prodaudit.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "prodaudit"
CHECKS = PACKAGE / "checks"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
#: functions over the limit, each with the reason it is still allowed. The test fails when an
#: entry is no longer needed, so the list can only shrink.
LONG_FUNCTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. prodaudit.checks.config.compose
    target: str  # the imported module, e.g. prodaudit.checks.config._dockerfiles
    names: tuple[str, ...]
    line: int


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[Import]:
    """Every import of a prodaudit module in ``path`` (also function-local and relative ones)."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path),
                      is_package=path.name == "__init__.py")


def imports_in(text: str, name: str, *, is_package: bool = False) -> list[Import]:
    package = name if is_package else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out += [Import(name, a.name, (), node.lineno) for a in node.names
                    if a.name.startswith("prodaudit")]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("prodaudit"):
                out.append(Import(name, target, tuple(a.name for a in node.names), node.lineno))
    return out


def sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def suite_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["prodaudit", "checks"] else None


def check_import_problem(imp: Import) -> str | None:
    """Why a check module may not import ``imp.target`` (None: allowed)."""
    target = imp.target
    if not target.startswith("prodaudit.checks"):
        return None  # the core
    if target == "prodaudit.checks.api":
        return None
    if target == "prodaudit.checks":  # `from prodaudit.checks import x`: a sibling package
        return f"imports from the checks package itself ({', '.join(imp.names)})"
    own = suite_of(imp.module)
    parts = target.split(".")
    private = len(parts) == 4 and parts[3].startswith("_")
    if own is not None and parts[2] == own and private:
        return None
    if private:
        return f"imports {target}, a private helper of another suite"
    return f"imports {target}: check modules import only the core, prodaudit.checks.api and " \
           "their own suite's _<topic> helpers"


def test_check_modules_import_only_the_core_and_their_suite_helpers() -> None:
    bad = [f"{imp.module}:{imp.line} {why}" for path in sources(CHECKS)
           for imp in imports(path) if (why := check_import_problem(imp))]
    assert not bad, "\n".join(bad)


def test_the_core_never_imports_a_check_module() -> None:
    bad = [f"{imp.module}:{imp.line} imports {imp.target}"
           for path in sources(PACKAGE) if CHECKS not in path.parents
           for imp in imports(path)
           if imp.target.startswith("prodaudit.checks")
           and not (imp.target == "prodaudit.checks" and module_name(path) == "prodaudit.registry")]
    assert not bad, "\n".join(bad)


def test_no_private_name_is_imported_across_modules() -> None:
    bad = [f"{imp.module}:{imp.line} imports {n} from {imp.target}"
           for path in sources(PACKAGE) for imp in imports(path)
           for n in imp.names if n.startswith("_") and not n.startswith("__")]
    assert not bad, "\n".join(bad)


def test_check_modules_and_functions_are_small() -> None:
    big: list[str] = []
    long: dict[tuple[str, str], int] = {}
    for path in sources(CHECKS):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(CHECKS).as_posix()
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            big.append(f"{rel}: {n} lines (max {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long[(rel, node.name)] = size
    assert not big, "\n".join(big)
    new = {k: v for k, v in long.items() if k not in LONG_FUNCTIONS}
    listing = "\n".join(f"{p} {f}(): {n} lines" for (p, f), n in new.items())
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines (split them into probe and " \
                    f"judge steps):\n{listing}"
    stale = set(LONG_FUNCTIONS) - set(long)
    assert not stale, f"no longer over the limit, remove from LONG_FUNCTIONS: {sorted(stale)}"


@pytest.mark.parametrize(("module", "target", "allowed"), [
    ("prodaudit.checks.config.compose", "prodaudit.product.compose", True),
    ("prodaudit.checks.config.compose", "prodaudit.checks.api", True),
    ("prodaudit.checks.config.compose", "prodaudit.checks.config._dockerfiles", True),
    ("prodaudit.checks.config.compose", "prodaudit.checks.config.dockerfile", False),
    ("prodaudit.checks.readiness.launch", "prodaudit.checks.deployment._common", False),
    ("prodaudit.checks.security.jwt_claims", "prodaudit.checks.security.jwt_live", False),
])
def test_the_rule_itself(module: str, target: str, allowed: bool) -> None:
    """The contract catches what it should (a new cross-check import fails the suite)."""
    assert (check_import_problem(Import(module, target, ("x",), 1)) is None) is allowed


def test_relative_and_local_imports_are_seen() -> None:
    text = "def f():\n    from .dockerfile import targets\n    return targets\n"
    (imp,) = imports_in(text, "prodaudit.checks.config.probe")
    assert imp.target == "prodaudit.checks.config.dockerfile"
    assert check_import_problem(imp) is not None
