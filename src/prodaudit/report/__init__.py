"""Report writers: one renderer per format, all pure functions of an AuditRun."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError
from prodaudit.loaders import MAX_REPORT_BYTES, load_json_file
from prodaudit.model import AuditRun
from prodaudit.report.evidence import Screenshots, load_screenshots
from prodaudit.report.interface import Renderer

#: every format in registry order: ``--format`` name -> (module, renderer classes). A run imports
#: only the modules of the formats it writes (jinja2 and markdown-it load with html/markdown).
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "json": ("prodaudit.report.json_report", ("JsonRenderer",)),
    "markdown": ("prodaudit.report.markdown", (
        "ProductionReadinessRenderer", "SecurityAuditRenderer", "ConfigurationValidationRenderer",
        "TestResultsSummaryRenderer")),
    "html": ("prodaudit.report.html", ("HtmlRenderer",)),
    "sarif": ("prodaudit.report.sarif", ("SarifRenderer",)),
    "junit": ("prodaudit.report.junit", ("JunitRenderer",)),
}  # fmt: skip


def _of(name: str, screenshots: Screenshots | None) -> list[Renderer]:
    import importlib

    module_name, classes = FORMATS[name]
    module = importlib.import_module(module_name)
    made: list[Renderer] = []
    for cls_name in classes:
        cls = getattr(module, cls_name)
        made.append(cls(screenshots) if name == "html" else cls())
    return made


def _all(screenshots: Screenshots | None = None) -> list[Renderer]:
    return [r for name in FORMATS for r in _of(name, screenshots)]


def renderers(formats: list[str] | None = None, screenshots: Screenshots | None = None) -> list[Renderer]:
    """The registered renderers, narrowed to ``formats`` (json is always included); only the
    modules of those formats are imported.

    ``screenshots`` are the evidence images ``index.html`` embeds (see ``load_screenshots``);
    without them the page names the screenshots and says they were not embedded.
    """
    wanted = set(formats or FORMATS) | {"json"}
    return [r for name in FORMATS if name in wanted for r in _of(name, screenshots)]


def format_names() -> tuple[str, ...]:
    """The format names ``--format`` accepts, in registry order."""
    return tuple(FORMATS)


def files_table() -> str:
    """The Markdown table of the report files, from the registry (README and docs/reports.md
    carry it; a test keeps them in sync)."""
    rows = ["| File | `--format` | Content |", "|---|---|---|"]
    rows += [f"| `{r.filename}` | `{r.name}` | {r.description} |" for r in _all()]
    rows.append("| `evidence/` | | screenshots and other evidence files the checks saved |")
    return "\n".join(rows) + "\n"


def _canonical(run: AuditRun) -> tuple[dict[str, Any], AuditRun]:
    """audit.json's data and the run read back from it: every format renders from what
    ``audit.json`` holds, so re-rendering it later gives the same bytes. The data is what
    ``json.loads`` would give (``json_report.as_json``), sharing what is already plain JSON:
    a large run's facts are neither copied nor held as text."""
    from prodaudit.report.json_report import as_json

    data = as_json(run.to_dict())
    return data, AuditRun.from_dict(data)


def write_reports(run: AuditRun, output: Path, formats: list[str] | None = None) -> Path:
    """Write every format into ``output/<run-id>/`` and point ``output/latest`` at it.
    ``audit.json`` is streamed to its file (``JsonRenderer.write``)."""
    from prodaudit.report.json_report import JsonRenderer
    from prodaudit.report.source_map import with_source_map

    out_dir = output / run.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    data, canonical = _canonical(with_source_map(run))
    for r in renderers(formats, load_screenshots(canonical, out_dir)):
        if isinstance(r, JsonRenderer):
            r.write(data, out_dir / r.filename)
        else:
            (out_dir / r.filename).write_text(r.format(canonical), encoding="utf-8")
    point_latest(output, out_dir)
    return out_dir


def rerender(audit_json: Path, formats: list[str] | None = None) -> Path:
    """Re-render every report next to an existing audit.json (no audit is run)."""
    from prodaudit.report.source_map import with_source_map

    data = load_json_file(audit_json, max_bytes=MAX_REPORT_BYTES)
    try:
        run = AuditRun.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(str(audit_json), f"not an audit.json: {type(exc).__name__}: {exc}") from None
    out_dir = audit_json.parent
    run = with_source_map(run)  # an audit.json written without one: located now, if the repo exists
    for r in renderers(formats, load_screenshots(run, out_dir)):
        if r.name == "json":
            continue
        (out_dir / r.filename).write_text(r.format(run), encoding="utf-8")
    return out_dir


def point_latest(output: Path, out_dir: Path) -> None:
    """Point ``output/latest`` at ``out_dir`` atomically, also under concurrent runs: a symlink
    made under a unique temporary name, then ``os.replace`` (one rename, never a half state).
    Where symlinks are unavailable, a complete copy under a unique name takes the place of the
    old one by rename; a reader never sees a partly copied directory."""
    latest = output / "latest"
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = output / f".latest-{token}.tmp"
    try:
        os.symlink(out_dir.name, tmp)
    except OSError:
        _replace_dir(output, out_dir, latest, token)
        return
    try:
        for _ in range(5):
            try:
                os.replace(tmp, latest)
                return
            except IsADirectoryError:  # a real directory from an older copy: move it out of the way
                _move_aside(latest, output / f".latest-old-{token}")
            except OSError as exc:
                if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
                    raise
                _move_aside(latest, output / f".latest-old-{token}")
    finally:
        if tmp.is_symlink():
            tmp.unlink()


def _replace_dir(output: Path, out_dir: Path, latest: Path, token: str) -> None:
    tmp = output / f".latest-{token}.tmp"
    shutil.copytree(out_dir, tmp)
    try:
        for _ in range(5):
            try:
                os.replace(tmp, latest)  # succeeds while ``latest`` is absent or empty
                return
            except OSError as exc:
                if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise
                _move_aside(latest, output / f".latest-old-{token}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _move_aside(path: Path, aside: Path) -> None:
    """Rename ``path`` out of the way and delete it; another run may have done it already."""
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return
    except OSError:
        if path.is_symlink():
            path.unlink(missing_ok=True)
        return
    if aside.is_symlink() or aside.is_file():
        aside.unlink(missing_ok=True)
    else:
        shutil.rmtree(aside, ignore_errors=True)
