"""Report writers: one renderer per format, all pure functions of an AuditRun."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from prodaudit.model import AuditRun
from prodaudit.report.evidence import Screenshots, load_screenshots
from prodaudit.report.interface import Renderer


def _all(screenshots: Screenshots | None = None) -> list[Renderer]:
    from prodaudit.report.html import HtmlRenderer
    from prodaudit.report.json_report import JsonRenderer
    from prodaudit.report.junit import JunitRenderer
    from prodaudit.report.markdown import (
        ConfigurationValidationRenderer,
        ProductionReadinessRenderer,
        SecurityAuditRenderer,
        TestResultsSummaryRenderer,
    )
    from prodaudit.report.sarif import SarifRenderer

    return [
        JsonRenderer(),
        ProductionReadinessRenderer(),
        SecurityAuditRenderer(),
        ConfigurationValidationRenderer(),
        TestResultsSummaryRenderer(),
        HtmlRenderer(screenshots),
        SarifRenderer(),
        JunitRenderer(),
    ]


def renderers(formats: list[str] | None = None, screenshots: Screenshots | None = None) -> list[Renderer]:
    """Every registered renderer, narrowed to ``formats`` (json is always included).

    ``screenshots`` are the evidence images ``index.html`` embeds (see ``load_screenshots``);
    without them the page names the screenshots and says they were not embedded.
    """
    all_ = _all(screenshots)
    wanted = set(formats or [r.name for r in all_]) | {"json"}
    return [r for r in all_ if r.name in wanted]


def format_names() -> tuple[str, ...]:
    """The format names ``--format`` accepts, in registry order."""
    return tuple(dict.fromkeys(r.name for r in _all()))


def files_table() -> str:
    """The Markdown table of the report files, from the registry (README and docs/reports.md
    carry it; a test keeps them in sync)."""
    rows = ["| File | `--format` | Content |", "|---|---|---|"]
    rows += [f"| `{r.filename}` | `{r.name}` | {r.description} |" for r in _all()]
    rows.append("| `evidence/` | | screenshots and other evidence files the checks saved |")
    return "\n".join(rows) + "\n"


def _canonical(run: AuditRun) -> tuple[str, AuditRun]:
    """audit.json's text and the run read back from it: every format renders from what
    ``audit.json`` holds, so re-rendering it later gives the same bytes."""
    from prodaudit.report.json_report import JsonRenderer

    text = JsonRenderer().format(run)
    return text, AuditRun.from_dict(json.loads(text))


def write_reports(run: AuditRun, output: Path, formats: list[str] | None = None) -> Path:
    """Write every format into ``output/<run-id>/`` and point ``output/latest`` at it."""
    from prodaudit.report.source_map import with_source_map

    out_dir = output / run.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    text, canonical = _canonical(with_source_map(run))
    for r in renderers(formats, load_screenshots(canonical, out_dir)):
        body = text if r.name == "json" else r.format(canonical)
        (out_dir / r.filename).write_text(body, encoding="utf-8")
    _point_latest(output, out_dir)
    return out_dir


def rerender(audit_json: Path, formats: list[str] | None = None) -> Path:
    """Re-render every report next to an existing audit.json (no audit is run)."""
    from prodaudit.report.source_map import with_source_map

    run = AuditRun.from_dict(json.loads(audit_json.read_text(encoding="utf-8")))
    out_dir = audit_json.parent
    run = with_source_map(run)  # an audit.json written without one: located now, if the repo exists
    for r in renderers(formats, load_screenshots(run, out_dir)):
        if r.name == "json":
            continue
        (out_dir / r.filename).write_text(r.format(run), encoding="utf-8")
    return out_dir


def _point_latest(output: Path, out_dir: Path) -> None:
    latest = output / "latest"
    tmp = output / ".latest.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(out_dir.name, tmp)
        os.replace(tmp, latest)
    except OSError:
        if latest.is_symlink():
            latest.unlink()
        elif latest.exists():
            shutil.rmtree(latest)
        shutil.copytree(out_dir, latest)
