#!/usr/bin/env python3
"""Run the config suite of prodaudit; same options and exit codes as `prodaudit run`.

Usage: scripts/check_production_readiness.py [--repo DIR] [--base-url URL] [--env-file FILE] [--profile P] ...
Exit codes: 0 GO, 1 NO-GO, 2 CONDITIONAL GO, 3 the audit could not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prodaudit.cli import suite_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(suite_main("config"))
