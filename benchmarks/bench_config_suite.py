"""2. The whole config suite on the reference target (examples/ultra-mvp), no live target."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prodaudit.audit import run_audit
from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.model import AuditRun, Status
from prodaudit.registry import load_checks


def bench_config_suite_reference_target(benchmark: Any, record: Callable[..., None]) -> None:
    out = Path(tempfile.mkdtemp(prefix="prodaudit-bench-"))
    cfg = load_config({"repo": REFERENCE_TARGET, "start_target": False, "output": out})
    expected = len(load_checks().select(["config"], cfg.only, cfg.skip))

    def run() -> AuditRun:
        return run_audit(cfg, ["config"], quiet=True, write=False).run

    audit = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert len(audit.results) == expected
    assert any(r.status is Status.PASS for r in audit.results)
    counts = {s.value: sum(1 for r in audit.results if r.status is s) for s in Status}
    benchmark.extra_info["statuses"] = counts
    record(per=expected, per_label="check")
