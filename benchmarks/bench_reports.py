"""5. Report rendering: every renderer on an AuditRun of 200 results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from prodaudit.gate import decide
from prodaudit.model import AuditRun, CheckResult, Finding, Status
from prodaudit.registry import load_checks
from prodaudit.report import renderers

N_RESULTS = 200
_STATUSES = (Status.PASS, Status.PASS, Status.PASS, Status.FAIL, Status.WARN, Status.SKIP,
             Status.ERROR)


def _run() -> AuditRun:
    specs = load_checks().all()
    results: list[CheckResult] = []
    for i in range(N_RESULTS):
        spec = specs[i % len(specs)]
        status = _STATUSES[i % len(_STATUSES)]
        cid = spec.id if i < len(specs) else f"{spec.id[:4]}{900 + i - len(specs):03d}"
        findings = tuple(
            Finding(status, f"{spec.title}: observation {k} of result {i}",
                    location=f"src/app/module_{i}.py:{10 + k}" if k % 2 else
                    f"GET http://127.0.0.1:8000/api/items/{i}",
                    evidence=f"HTTP/1.1 200 OK\ncontent-type: application/json\n\n"
                             f"{{\"id\": {i}, \"k\": {k}}}\ncurl -sS http://127.0.0.1:8000/",
                    remediation=spec.remediation)
            for k in range(1 + i % 3))
        results.append(CheckResult(
            id=cid, suite=spec.suite, title=spec.title, severity=spec.severity, status=status,
            findings=findings, duration_s=0.01 * (i % 17),
            reason="prerequisite missing" if status in (Status.SKIP, Status.ERROR) else "",
            checklist=spec.checklist, references=spec.references, doc=spec.doc))
    return AuditRun(
        run_id="20261122T000000Z-bench0", target={"repo": "examples/ultra-mvp",
                                                  "base_url": "http://127.0.0.1:8000"},
        profile="production", tool_version="bench", config_digest="0" * 16,
        started_at="2026-11-22T00:00:00+00:00", finished_at="2026-11-22T00:01:00+00:00",
        results=tuple(results), decision=decide(results, "production"))


def _names() -> list[str]:
    """Renderer ids for parametrisation; a broken registry becomes one failing benchmark."""
    try:
        return [f"{r.name}:{r.filename}" for r in renderers()]
    except Exception as exc:  # noqa: BLE001 - reported by the benchmark below, not at collection
        return [f"renderers() failed: {type(exc).__name__}: {exc}"]


_NAMES = _names()


@pytest.fixture(scope="module")
def audit_run() -> AuditRun:
    return _run()


@pytest.mark.parametrize("which", _NAMES)
def bench_render(benchmark: Any, record: Callable[..., None], audit_run: AuditRun,
                 which: str) -> None:
    renderer = next(r for r in renderers() if f"{r.name}:{r.filename}" == which)
    text = benchmark(renderer.format, audit_run)
    assert len(text) > 1000
    assert any(r.id in text for r in audit_run.results)
    benchmark.extra_info["output_bytes"] = len(text.encode())
    record(per=N_RESULTS, per_label="result")
