"""Fleet reports: a registry of pure renderers of a ``FleetRun`` (the same ``--format`` names as
for one audit) and the writer of a fleet report directory::

    OUTPUT/<fleet-run-id>/
      audit.json                 the fleet document (every other file is rendered from it)
      production-readiness.md    fleet overview, reasons, each service's decision screen
      index.html                 the same as one page
      audit.sarif                one run per service; sarif/part-NNN.sarif above 20 services
      junit.xml                  one testsuite per service and suite
      services/<name>/           each service's own reports (every format of one audit)
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from prodaudit.errors import InputError
from prodaudit.fleet.model import FleetRun
from prodaudit.loaders import load_json_file
from prodaudit.report.fleet.interface import FleetRenderer

#: evidence files copied from a job's report directory into its service's (each at most)
MAX_EVIDENCE_BYTES = 8_000_000
_EVIDENCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
#: fleet reports read back by ``prodaudit report`` (a fleet document is larger than one audit's)
MAX_FLEET_BYTES = 1_000_000_000


def _all() -> list[FleetRenderer]:
    from prodaudit.report.fleet.html import FleetHtmlRenderer
    from prodaudit.report.fleet.json_report import FleetJsonRenderer
    from prodaudit.report.fleet.junit import FleetJunitRenderer
    from prodaudit.report.fleet.markdown import FleetMarkdownRenderer
    from prodaudit.report.fleet.sarif import FleetSarifRenderer

    return [
        FleetJsonRenderer(),
        FleetMarkdownRenderer(),
        FleetHtmlRenderer(),
        FleetSarifRenderer(),
        FleetJunitRenderer(),
    ]


def fleet_renderers(formats: Sequence[str] | None = None) -> list[FleetRenderer]:
    """Every fleet renderer, narrowed to ``formats`` (json is always included)."""
    all_ = _all()
    wanted = set(formats or [r.name for r in all_]) | {"json"}
    return [r for r in all_ if r.name in wanted]


def fleet_files_table() -> str:
    """The Markdown table of a fleet report directory (docs/fleet.md carries it; a test keeps it)."""
    rows = ["| File | `--format` | Content |", "|---|---|---|"]
    rows += [f"| `{r.filename}` | `{r.name}` | {r.description} |" for r in _all()]
    rows.append(
        "| `services/<name>/` | | each service's own reports: every file of one audit "
        '(README, "Reports"), rendered from its part of the fleet document |'
    )
    return "\n".join(rows) + "\n"


def _canonical(fleet: FleetRun) -> tuple[str, FleetRun]:
    from prodaudit.report.fleet.json_report import FleetJsonRenderer

    text = FleetJsonRenderer().format(fleet)
    return text, FleetRun.from_dict(json.loads(text))


def copy_evidence(job_dirs: Sequence[Path], dest: Path) -> list[Path]:
    """Copy the evidence files (screenshots) of a service's jobs into ``dest``: regular files with
    plain names, no links, each bounded in size."""
    copied: list[Path] = []
    for job in job_dirs:
        src = job / "evidence"
        if not src.is_dir() or src.is_symlink():
            continue
        for f in sorted(src.iterdir()):
            if f.is_symlink() or not f.is_file() or not _EVIDENCE_NAME.match(f.name):
                continue
            if f.stat().st_size > MAX_EVIDENCE_BYTES:
                continue
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest / f.name)
            copied.append(dest / f.name)
    return copied


def _render(fleet: FleetRun, out_dir: Path, formats: Sequence[str] | None, text: str | None) -> None:
    from prodaudit.report import renderers
    from prodaudit.report.evidence import load_screenshots
    from prodaudit.report.fleet.sarif import RUNS_PER_FILE, parts

    wanted = fleet_renderers(formats)
    for r in wanted:
        if r.name == "json":
            if text is not None:
                (out_dir / r.filename).write_text(text, encoding="utf-8")
            continue
        (out_dir / r.filename).write_text(r.format(fleet), encoding="utf-8")
    if any(r.name == "sarif" for r in wanted) and len(fleet.services) > RUNS_PER_FILE:
        (out_dir / "sarif").mkdir(exist_ok=True)
        for i, part in enumerate(parts(fleet), 1):
            (out_dir / "sarif" / f"part-{i:03d}.sarif").write_text(part, encoding="utf-8")
    for s in fleet.services:
        sdir = out_dir / "services" / s.name
        sdir.mkdir(parents=True, exist_ok=True)
        for one in renderers(list(formats) if formats else None, load_screenshots(s.run, sdir)):
            (sdir / one.filename).write_text(one.format(s.run), encoding="utf-8")


def write_fleet_reports(
    fleet: FleetRun,
    output: Path,
    formats: Sequence[str] | None = None,
    evidence: Mapping[str, Sequence[Path]] | None = None,
) -> Path:
    """Write the fleet report directory ``output/<fleet-run-id>/`` and point ``output/latest`` at
    it. ``evidence``: service -> its jobs' report directories (their ``evidence/`` is copied)."""
    from prodaudit.report import point_latest

    out_dir = output / fleet.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    text, canonical = _canonical(fleet)
    for name, dirs in (evidence or {}).items():
        copy_evidence(dirs, out_dir / "services" / name / "evidence")
    _render(canonical, out_dir, formats, text)
    point_latest(output, out_dir)
    return out_dir


def read_fleet(path: Path) -> FleetRun:
    data = load_json_file(path, max_bytes=MAX_FLEET_BYTES)
    try:
        return FleetRun.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(str(path), f"not a fleet audit.json: {type(exc).__name__}: {exc}") from None


def rerender_fleet(audit_json: Path, formats: Sequence[str] | None = None) -> Path:
    """Re-render every fleet report next to an existing fleet audit.json (no merge is run)."""
    _render(read_fleet(audit_json), audit_json.parent, formats, None)
    return audit_json.parent
