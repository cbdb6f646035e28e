"""The guides are tested on the renderer tests' fixed run (tests/report/conftest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from prodaudit.model import AuditRun

_spec = importlib.util.spec_from_file_location(
    "report_fixed_run", Path(__file__).parents[1] / "report" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
fixed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixed)


@pytest.fixture
def run() -> AuditRun:
    return fixed.fixed_run()
