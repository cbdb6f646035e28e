"""Every check declares the evidence level its PASS reaches (issue 18): ``@check(...,
evidence=Evidence.X)`` in its source — the default derived from ``needs`` is a fallback, not a
declaration — and the level is what the docs and the checklist show."""

from __future__ import annotations

import ast

from prodaudit.config import PROJECT_ROOT
from prodaudit.doc_tables import row
from prodaudit.model import Evidence
from prodaudit.registry import load_checks

CHECKS = PROJECT_ROOT / "src" / "prodaudit" / "checks"


def test_every_check_call_declares_evidence() -> None:
    missing = []
    for path in sorted(CHECKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_check = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "check"
            if is_check and not any(k.arg == "evidence" for k in node.keywords):
                missing.append(f"{path.relative_to(CHECKS)}:{node.lineno}")
    assert missing == [], f"@check calls without evidence=: {missing}"


def test_levels_are_rendered_in_the_docs_tables() -> None:
    specs = load_checks().all()
    assert {s.evidence for s in specs} == set(Evidence)
    for spec in specs:
        assert f"| {spec.evidence.value} |" in row(spec)
