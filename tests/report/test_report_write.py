"""write_reports / rerender / build_docs on the fixed run: files, latest pointer, purity."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.config import ConfigError
from prodaudit.docs_build import build_docs
from prodaudit.guides import GUIDES
from prodaudit.model import AuditRun
from prodaudit.report import renderers, rerender, write_reports

ALL = {
    "audit.json",
    "production-readiness.md",
    "security-audit.md",
    "configuration-validation.md",
    "test-results-summary.md",
    "index.html",
    "audit.sarif",
    "junit.xml",
}


def test_write_and_rerender_are_pure(run: AuditRun, tmp_path: Path) -> None:
    out = write_reports(run, tmp_path / "reports")
    assert out == tmp_path / "reports" / run.run_id
    assert {p.name for p in out.iterdir()} == ALL
    assert (tmp_path / "reports" / "latest" / "audit.json").is_file()
    before = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    for p in out.iterdir():
        if p.name != "audit.json":
            p.unlink()
    rerender(out / "audit.json")
    after = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert after == before  # rendered from audit.json alone, byte for byte


def test_formats_narrow_the_output(run: AuditRun, tmp_path: Path) -> None:
    out = write_reports(run, tmp_path / "r", ["html", "junit"])
    assert {p.name for p in out.iterdir()} == {"audit.json", "index.html", "junit.xml"}
    assert [r.name for r in renderers(["markdown"])].count("markdown") == 4


def test_build_docs(run: AuditRun, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    with pytest.raises(ConfigError, match="no audit.json"):
        build_docs(tmp_path / "reports", docs)
    write_reports(run, tmp_path / "reports")
    (docs / "audit").mkdir(parents=True)
    (docs / "audit" / "stale.md").write_text("old", encoding="utf-8")
    (docs / "writing-checks.md").write_text("hand-written", encoding="utf-8")
    written = build_docs(tmp_path / "reports", docs)
    assert {p.name for p in (docs / "audit").iterdir()} == ALL
    for name, render in GUIDES.items():
        assert (docs / name).read_text(encoding="utf-8") == render(run)
    assert (docs / "writing-checks.md").read_text(encoding="utf-8") == "hand-written"
    assert len(written) == len(ALL) + len(GUIDES)
