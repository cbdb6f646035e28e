"""The check tables of docs/<suite>.md are generated from the registry: a table that differs from
the registry (a new check, a changed title or severity) fails here; fix it with
``python -m prodaudit.doc_tables``."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.config import PROJECT_ROOT
from prodaudit.doc_tables import BEGIN, END, doc_path, main, render, table
from prodaudit.model import SUITES
from prodaudit.registry import load_checks

DOCS = PROJECT_ROOT / "docs"


@pytest.mark.parametrize("suite", SUITES)
def test_suite_page_table_is_the_registry(suite: str) -> None:
    text = doc_path(DOCS, suite).read_text(encoding="utf-8")
    assert render(text, suite) == text, f"docs/{suite}.md: run python -m prodaudit.doc_tables"
    ids = [s.id for s in load_checks().all() if s.suite == suite]
    body = text[text.index(BEGIN):text.index(END)]
    assert [line.split(" | ")[0].strip("| ") for line in body.splitlines()[3:]] == ids


def test_a_changed_registry_is_detected() -> None:
    reg = load_checks()
    spec = reg.all()[0]
    text = doc_path(DOCS, spec.suite).read_text(encoding="utf-8")
    stale = text.replace(f"| {spec.id} | {spec.title} |", f"| {spec.id} | an old title |")
    assert stale != text and render(stale, spec.suite) == text
    assert table(spec.suite).startswith(BEGIN)


def test_the_command_checks_and_rewrites(tmp_path: Path) -> None:
    for suite in SUITES:
        page = doc_path(DOCS, suite).read_text(encoding="utf-8")
        (tmp_path / f"{suite}.md").write_text(page, encoding="utf-8")
    assert main(["--check", "--docs", str(tmp_path)]) == 0
    cfg = tmp_path / "config.md"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("| CFG-001 |", "| CFG-001 | stale |"),
                   encoding="utf-8")
    assert main(["--check", "--docs", str(tmp_path)]) == 1
    assert main(["--docs", str(tmp_path)]) == 0
    assert main(["--check", "--docs", str(tmp_path)]) == 0
