"""Progress output: one unwrapped line per check in a log, and a heartbeat naming the checks that
have been running long (image builds, compose up, bursts)."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from prodaudit import progress
from prodaudit.model import CheckResult, CheckSpec, Severity, Status
from prodaudit.progress import Running, elapsed


def _spec(cid: str, title: str) -> CheckSpec:
    return CheckSpec(id=cid, title=title, suite="deployment", severity=Severity.HIGH, func=lambda ctx: [])


def test_elapsed() -> None:
    assert [elapsed(s) for s in (0, 45, 65, 3600 + 120)] == ["0s", "45s", "1m05s", "1h02m"]


def test_heartbeat_names_long_running_checks() -> None:
    now = [100.0]
    running = Running(clock=lambda: now[0])
    running.start(_spec("DEP-010", "The image builds"))
    now[0] = 110.0
    running.start(_spec("DEP-030", "The stack starts"))
    assert running.heartbeat(20) is None  # nothing has run 20 s yet
    now[0] = 125.0
    assert running.heartbeat(20) == "prodaudit: running for 25s: DEP-010 The image builds (25s)"
    now[0] = 230.0
    line = running.heartbeat(20)
    assert line == (
        "prodaudit: running for 2m10s: DEP-010 The image builds (2m10s); DEP-030 The stack starts (2m00s)"
    )
    running.stop(_spec("DEP-010", ""))
    assert "DEP-010" not in (running.heartbeat(20) or "")
    assert running.bar_text() == "DEP-030 2m00s"


def test_log_lines_and_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(progress, "_console", Console(file=buf, width=80, soft_wrap=True))
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setenv("PRODAUDIT_HEARTBEAT_SECONDS", "0.1")
    long_title = "A check whose title is much longer than eighty columns, as real titles can be " * 2
    spec = _spec("DEP-010", long_title.strip())
    with progress.make_progress(1, quiet=False) as hook:
        assert hook is not None
        hook(spec, None)
        deadline = time.monotonic() + 10
        while "running for" not in buf.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        res = CheckResult(
            spec.id, spec.suite, spec.title, spec.severity, Status.PASS, duration_s=1.5, waited_s=3.0
        )
        hook(spec, res)
    lines = buf.getvalue().splitlines()
    beat = next(ln for ln in lines if ln.startswith("prodaudit: running for"))
    assert "DEP-010 A check whose title" in beat
    done = next(ln for ln in lines if ln.startswith("[  1/1]"))
    assert done.endswith("(+3.0s waiting for shared facts)")  # one line, not wrapped at 80
    assert spec.title in done
