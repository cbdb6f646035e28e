"""Renderer dispatch (issue 13, fast start): a run imports the renderers of the formats it
writes, not the others (jinja2 and markdown-it load only with the html/markdown reports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prodaudit.report import FORMATS, format_names, renderers

HEAVY = ("jinja2", "markdown_it", "prodaudit.report.html", "prodaudit.report.markdown",
         "prodaudit.report.sarif", "prodaudit.report.junit")


def _modules_after(code: str, cwd: Path) -> set[str]:
    """The modules of HEAVY (and rich, pydantic) a fresh interpreter has after ``code``."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m in {HEAVY + ('rich',)!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd,
                         timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_json_only_imports_no_other_renderer(tmp_path: Path) -> None:
    assert _modules_after("from prodaudit.report import renderers; renderers(['json'])",
                          tmp_path) == set()


def test_each_format_imports_its_own_module_only(tmp_path: Path) -> None:
    loaded = _modules_after("from prodaudit.report import renderers; renderers(['sarif'])", tmp_path)
    assert loaded == {"prodaudit.report.sarif"}


def test_a_quiet_json_run_loads_no_template_engine_and_no_progress_bar(tmp_path: Path) -> None:
    """A whole ``prodaudit run --format json -q``: the reports it writes are there, and neither
    jinja2/markdown-it nor the other renderers were imported (rich: the decision screen only)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n", encoding="utf-8")
    out = tmp_path / "out"
    code = ("import sys\nfrom prodaudit.cli import main\n"
            f"code = main(['run', '--suite', 'config', '--only', 'CFG-040', '--repo', {str(repo)!r}, "
            f"'--no-start', '--no-cache', '--format', 'json', '--output', {str(out)!r}, '-q'])\n"
            "assert code in (0, 1, 2), code\n"
            "assert 'rich.progress' not in sys.modules, 'progress bar imported by a quiet run'")
    loaded = _modules_after(code, tmp_path)
    assert not loaded & set(HEAVY), loaded
    assert sorted(p.name for p in (out / "latest").iterdir()) == ["audit.json"]


def test_every_format_is_registered_in_order() -> None:
    assert format_names() == tuple(FORMATS) == ("json", "markdown", "html", "sarif", "junit")
    names = [r.name for r in renderers()]
    assert names == ["json", "markdown", "markdown", "markdown", "markdown", "html", "sarif", "junit"]
    assert {r.name for r in renderers(["html"])} == {"json", "html"}
