"""Golden files: every renderer and guide on the fixed AuditRun. Regenerate deliberately with
``PRODAUDIT_UPDATE_GOLDEN=1 python -m pytest tests/report/test_report_golden.py`` and review the diff."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from prodaudit.guides import GUIDES
from prodaudit.model import AuditRun
from prodaudit.report import renderers

GOLDEN = Path(__file__).parent / "golden"
RENDERERS = {r.filename: r.format for r in renderers()}
CASES: dict[str, Callable[[AuditRun], str]] = {
    **RENDERERS,
    **{f"guide-{k}": v for k, v in GUIDES.items()},
}


def test_every_format_is_registered() -> None:
    names = {r.name for r in renderers()}
    assert names == {"json", "markdown", "html", "sarif", "junit"}
    assert set(RENDERERS) == {
        "audit.json",
        "production-readiness.md",
        "security-audit.md",
        "configuration-validation.md",
        "test-results-summary.md",
        "index.html",
        "audit.sarif",
        "junit.xml",
    }
    assert {r.filename for r in renderers(["sarif"])} == {"audit.json", "audit.sarif"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, run: AuditRun) -> None:
    text = CASES[name](run)
    assert text == CASES[name](run), "renderer is not deterministic"
    path = GOLDEN / name
    if os.environ.get("PRODAUDIT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path} (PRODAUDIT_UPDATE_GOLDEN=1 to create)"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path}"
