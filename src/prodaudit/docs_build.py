"""``invoke docs.build``: assemble the latest reports into ``docs/audit/`` and write the
generated guides (deployment checklist, configuration guide, troubleshooting guide, post-launch
monitoring plan) into ``docs/``. Pure rendering from ``audit.json``: no audit is run."""

from __future__ import annotations

import shutil
from pathlib import Path

from prodaudit.config import ConfigError
from prodaudit.errors import InputError
from prodaudit.guides import GUIDES
from prodaudit.loaders import MAX_REPORT_BYTES, load_json_file
from prodaudit.model import AuditRun

AUDIT_DIR = "audit"


def latest_report_dir(reports_dir: Path) -> Path:
    """``reports_dir/latest`` (or ``reports_dir`` itself when it holds an audit.json)."""
    for cand in (reports_dir / "latest", reports_dir):
        if (cand / "audit.json").is_file():
            return cand.resolve()
    raise ConfigError(f"{reports_dir}: no audit.json in latest/ (run an audit first)")


def build_docs(reports_dir: Path, docs_dir: Path) -> list[Path]:
    """Copy the latest reports into ``docs_dir/audit/``, write the guides; return the files."""
    src = latest_report_dir(reports_dir)
    try:
        run = AuditRun.from_dict(load_json_file(src / "audit.json", max_bytes=MAX_REPORT_BYTES))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{src / 'audit.json'}: unreadable: {exc}") from None
    written: list[Path] = []
    audit_dir = docs_dir / AUDIT_DIR
    if audit_dir.exists():
        shutil.rmtree(audit_dir)
    audit_dir.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        if f.is_file():
            shutil.copy2(f, audit_dir / f.name)
            written.append(audit_dir / f.name)
    for name, render in GUIDES.items():
        path = docs_dir / name
        path.write_text(render(run), encoding="utf-8")
        written.append(path)
    return written
