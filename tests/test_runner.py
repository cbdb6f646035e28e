"""The runner: status from findings, crash isolation, timeouts that cannot hang the audit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.model import Severity, Status
from prodaudit.outcome import Skip, failed, passed, warned
from prodaudit.registry import Registry, check
from prodaudit.runner import run_checks


def _run(reg: Registry, tmp_path: Path, **cfg: object):
    ctx = Context(load_config({"start_target": False, "output": tmp_path, **cfg}))
    return {r.id: r for r in asyncio.run(run_checks(reg.all(), ctx))}


def test_status_is_the_worst_finding_and_nothing_is_pass_by_default(tmp_path: Path) -> None:
    reg = Registry()

    @check("CFG-901", "pass", severity=Severity.LOW, registry=reg)
    def ok(ctx):
        """Doc."""
        return [passed("verified x")]

    @check("CFG-902", "mixed", severity=Severity.LOW, registry=reg)
    async def mixed(ctx):
        """Doc."""
        return [passed("a"), warned("b"), failed("c")]

    @check("CFG-903", "empty", severity=Severity.LOW, registry=reg)
    def empty(ctx):
        """Doc."""
        return []

    @check("CFG-904", "skip", severity=Severity.LOW, registry=reg)
    def skip(ctx):
        """Doc."""
        raise Skip("no frobnicator configured")

    @check("CFG-905", "crash", severity=Severity.LOW, registry=reg)
    def crash(ctx):
        """Doc."""
        raise KeyError("boom")

    @check("CFG-906", "generator", severity=Severity.LOW, registry=reg)
    def gen(ctx):
        """Doc."""
        yield passed("one")
        yield warned("two")

    res = _run(reg, tmp_path)
    assert res["CFG-901"].status is Status.PASS
    assert res["CFG-902"].status is Status.FAIL
    assert res["CFG-903"].status is Status.ERROR and "nothing verified" in res["CFG-903"].reason
    assert res["CFG-904"].status is Status.SKIP and res["CFG-904"].reason == "no frobnicator configured"
    assert res["CFG-905"].status is Status.ERROR and "KeyError" in res["CFG-905"].reason
    assert res["CFG-906"].status is Status.WARN


def test_a_hung_blocking_check_times_out_and_is_abandoned(tmp_path: Path) -> None:
    reg = Registry()
    release = threading.Event()

    @check("DEP-901", "hangs", severity=Severity.HIGH, timeout=0.5, registry=reg)
    def hangs(ctx):
        """Doc."""
        release.wait(60)
        return [passed("never")]

    @check("DEP-902", "fine", severity=Severity.HIGH, registry=reg)
    def fine(ctx):
        """Doc."""
        return [passed("ok")]

    start = time.monotonic()
    res = _run(reg, tmp_path)
    elapsed = time.monotonic() - start
    release.set()
    assert res["DEP-901"].status is Status.ERROR and "timed out" in res["DEP-901"].reason
    assert res["DEP-902"].status is Status.PASS
    assert elapsed < 10


def test_a_hung_check_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, time
        from prodaudit.config import load_config
        from prodaudit.context import Context
        from prodaudit.model import Severity
        from prodaudit.outcome import passed
        from prodaudit.registry import Registry, check
        from prodaudit.runner import run_checks

        reg = Registry()

        @check("DEP-903", "hangs forever", severity=Severity.HIGH, timeout=0.3, registry=reg)
        def hangs(ctx):
            '''Doc.'''
            time.sleep(3600)
            return [passed("never")]

        ctx = Context(load_config({"start_target": False, "output": %r}))
        [r] = asyncio.run(run_checks(reg.all(), ctx))
        print(r.status.value)
        """
    ) % str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "error"
