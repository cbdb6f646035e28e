"""SIGTERM and SIGINT end a real run within 5 s at any point, exit 130 after bounded cleanup,
print what was left behind (with the run's label), and a second signal exits at once.

Each test starts ``prodaudit run`` in a subprocess through a small driver that registers one
extra check (a CPU burner in a check thread, in the event loop's executor, or a check that
registers a cleanup that never ends), waits for the run to reach the phase under test, sends the
signal and measures how long the process takes to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodaudit.config import PROJECT_ROOT
from prodaudit.interrupt import EXIT_INTERRUPTED, GRACE_SECONDS, descendants

BOUND_S = 5.0  # the promise: the process ends within 5 s of the signal

DRIVER = textwrap.dedent('''
    import asyncio, sys, time
    from prodaudit.model import Severity
    from prodaudit.registry import check

    mode = sys.argv[1]

    def spin():
        print("MARK: burning", file=sys.stderr, flush=True)
        x = 0
        while True:
            x += 1

    @check("CFG-999", "test: burns CPU in its check thread", severity=Severity.LOW)
    def burn(ctx):
        """Test check."""
        if mode == "hung-cleanup":
            ctx.on_close(lambda: time.sleep(3600))
            print("MARK: cleanup registered", file=sys.stderr, flush=True)  # before the signal
        if mode == "worker-signal":  # the kernel may pick any thread for a process signal
            import signal, threading
            print("MARK: signalling the check thread", file=sys.stderr, flush=True)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        spin()

    @check("CFG-998", "test: burns CPU in the event loop's executor", severity=Severity.LOW)
    async def burn_executor(ctx):
        """Test check."""
        await asyncio.get_running_loop().run_in_executor(None, spin)

    @check("CFG-997", "test: passes", severity=Severity.LOW)
    def quick(ctx):
        """Test check."""
        from prodaudit.outcome import passed
        return [passed("ok")]

    if mode == "slow-report":
        import prodaudit.report.json_report as jr

        def slow_format(self, run):
            print("MARK: writing reports", file=sys.stderr, flush=True)
            time.sleep(3600)

        jr.JsonRenderer.format = slow_format
        jr.JsonRenderer.write = lambda self, data, path: slow_format(self, None)

    from prodaudit.cli import main

    only = {"executor": "CFG-998", "slow-report": "CFG-997"}.get(mode, "CFG-999")
    sys.argv = ["prodaudit", "run", "--only", only, "--no-start", "-q", *sys.argv[2:]]
    sys.exit(main())  # as the console script does
''')


class Run:
    """A prodaudit subprocess whose stderr is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=PROJECT_ROOT, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, marker: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(marker in ln for ln in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{marker!r} never printed; stderr: {''.join(self.lines)[-3000:]}")

    def stop_after(self, *signals: signal.Signals, gap: float = 0.3) -> tuple[int, float]:
        """Send the signals (``gap`` apart); the exit code and seconds until the process ended."""
        start = time.monotonic()
        for i, sig in enumerate(signals):
            if i:
                time.sleep(gap)
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            self.kill()
        elapsed = time.monotonic() - start
        self._reader.join(5)
        return code, elapsed

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    yield script, repo


def _run(driver: tuple[Path, Path], mode: str, out: Path) -> Run:
    script, repo = driver
    return Run([sys.executable, str(script), mode, "--repo", str(repo), "--output", str(out)])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("mode", ["thread", "executor"])
def test_signal_during_a_cpu_bound_check_ends_the_run(driver: tuple[Path, Path], tmp_path: Path,
                                                      sig: signal.Signals, mode: str) -> None:
    out = tmp_path / "reports"
    run = _run(driver, mode, out)
    run.wait_for("MARK: burning")
    code, elapsed = run.stop_after(sig)
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    assert f"prodaudit: {sig.name}: audit stopped" in run.stderr
    assert not (out / "latest").exists()  # an interrupted run writes no report
    assert not out.exists() or list(out.iterdir()) == []


def test_a_signal_delivered_to_a_worker_thread_still_ends_the_run(driver: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    """Python runs handlers in the main thread; when SIGTERM lands on a check's thread, the main
    thread must not sleep in the event loop until the check's timeout (minutes)."""
    run = _run(driver, "worker-signal", tmp_path / "reports")
    run.wait_for("MARK: signalling the check thread")
    start = time.monotonic()
    try:
        code = run.proc.wait(timeout=60)
    finally:
        run.kill()
    elapsed = time.monotonic() - start
    run._reader.join(5)
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    assert "prodaudit: SIGTERM: audit stopped" in run.stderr


def test_cleanup_that_cannot_finish_is_reported_with_the_run_label(driver: tuple[Path, Path],
                                                                    tmp_path: Path) -> None:
    run = _run(driver, "hung-cleanup", tmp_path / "reports")
    run.wait_for("MARK: cleanup registered")
    code, elapsed = run.stop_after(signal.SIGTERM)
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    assert elapsed > GRACE_SECONDS - 0.5  # the cleanup was given its budget, not abandoned at once
    assert "not cleaned up in time" in run.stderr
    assert "label org.prodaudit.run=" in run.stderr  # what was left, and how to find it
    assert "docker rm -f $(docker ps -aq --filter label=org.prodaudit.run=" in run.stderr


def test_a_second_signal_exits_immediately(driver: tuple[Path, Path], tmp_path: Path) -> None:
    run = _run(driver, "hung-cleanup", tmp_path / "reports")
    run.wait_for("MARK: cleanup registered")
    code, elapsed = run.stop_after(signal.SIGTERM, signal.SIGINT, gap=0.5)
    assert code == EXIT_INTERRUPTED, run.stderr
    assert "second SIGINT: exiting immediately" in run.stderr
    # it left on the second signal, not when the cleanup budget ran out (the watchdog's message)
    assert "cleanup did not finish within" not in run.stderr, (elapsed, run.stderr)
    assert elapsed < BOUND_S, (elapsed, run.stderr)


def test_signal_while_writing_reports_leaves_latest_alone(driver: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    out = tmp_path / "reports"
    previous = out / "20200101T000000Z-aaaaaa"
    previous.mkdir(parents=True)
    (previous / "audit.json").write_text("{}")
    os.symlink(previous.name, out / "latest")
    run = _run(driver, "slow-report", out)
    run.wait_for("MARK: writing reports")
    code, elapsed = run.stop_after(signal.SIGTERM)
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    assert os.readlink(out / "latest") == previous.name
    assert sorted(p.name for p in out.iterdir()) == ["20200101T000000Z-aaaaaa", "latest"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().split(b") ", 1)[1][:1] != b"Z"
    except OSError:
        return False


def test_signal_while_the_reference_target_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODAUDIT_AUDIT", "ULTRA_"))}
    run = Run([sys.executable, "-m", "prodaudit.cli", "run", "--suite", "functional",
               "--output", str(tmp_path / "reports")], env=env)
    children: list[int] = []
    try:
        run.wait_for("starting the reference target")
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:  # the target's servers are spawned
            children = descendants(run.proc.pid)
            time.sleep(0.05)
        assert children, "the reference target's processes never started"
        code, elapsed = run.stop_after(signal.SIGTERM)
    finally:
        run.kill()
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:  # never leave a stray server behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], "reference target processes outlived the run"


@pytest.mark.parametrize("entry", ["invoke", "script", "test_deployment.sh"])
def test_every_entry_point_exits_130_on_an_interrupt(tmp_path: Path, entry: str) -> None:
    """Ctrl-C exits 130 after cleanup from the invoke tasks and the scripts too (invoke itself
    would exit 1 = NO-GO)."""
    out = str(tmp_path / "reports")
    cmd = {
        "invoke": [sys.executable, "-m", "invoke", "audit.functional", "--output", out],
        "script": [sys.executable, str(PROJECT_ROOT / "scripts" / "test_mvp_functionality.py"),
                   "--output", out],
        "test_deployment.sh": ["bash", str(PROJECT_ROOT / "scripts" / "test_deployment.sh"),
                               "--output", out],
    }[entry]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODAUDIT_AUDIT", "ULTRA_"))}
    env.update(PYTHON=sys.executable, DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    run = Run(cmd, env=env)
    try:
        run.wait_for("starting the reference target")
        code, elapsed = run.stop_after(signal.SIGINT)
    finally:
        run.kill()
    assert code == EXIT_INTERRUPTED, run.stderr
    assert elapsed < BOUND_S, (elapsed, run.stderr)
    assert "prodaudit: SIGINT: audit stopped" in run.stderr
