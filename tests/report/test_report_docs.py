"""The report file tables in README.md and docs/reports.md come from the renderer registry; the
README's first run has the virtual-environment step and names the extras that exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from prodaudit.report import files_table, format_names, renderers

ROOT = Path(__file__).parents[2]
_BLOCK = re.compile(r"<!-- report-files:start[^>]*-->\n(.*?)<!-- report-files:end -->", re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/reports.md"])
def test_report_file_tables_match_the_registry(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    blocks = _BLOCK.findall(text)
    assert blocks == [files_table()], f"{doc}: regenerate the table from prodaudit.report.files_table()"


def test_registry_is_the_one_list_of_formats() -> None:
    rs = renderers()
    assert format_names() == ("json", "markdown", "html", "sarif", "junit")
    assert all(r.description for r in rs)
    assert len({r.filename for r in rs}) == len(rs)
    for r in rs:
        assert f"`{r.filename}`" in files_table()


def test_first_run_and_extras() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme[readme.index("## First run") : readme.index("## Exit codes")]
    assert "python3 -m venv .venv && . .venv/bin/activate" in first
    assert first.index("python3 -m venv") < first.index("pip install") < first.index("invoke audit.all")
    assert "On a machine without Docker" in first and "After `bash scripts/services.sh up`" in first
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    named = set(re.findall(r"^\| `(\w+)` \|", first, re.M))
    assert named == {"audit", "docker", "database", "redis", "browser", "fuzz", "tasks", "all"}
    assert named <= set(extras)
    installed = re.search(r"pip install -e '\.\[([\w,]+)\]'", first)
    assert installed is not None and set(installed.group(1).split(",")) <= set(extras)
