"""Progress while checks run: a rich bar on a terminal, one line per check otherwise (pipes, CI
logs: never wrapped at 80 columns), and a heartbeat during long steps.

The heartbeat names what is running and for how long — an image build, ``compose up``, a burst
can take minutes, and a silent log looks hung: on a terminal the bar shows the running checks
with their elapsed time; elsewhere a line ``prodaudit: running for 2m10s: DEP-010 The image builds
(1m55s)`` is printed every ``PRODAUDIT_HEARTBEAT_SECONDS`` (default 20) while a check has been
running that long.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prodaudit.model import CheckResult, CheckSpec

if TYPE_CHECKING:
    from rich.console import Console

    from prodaudit.runner import ProgressHook

DEFAULT_HEARTBEAT_S = 20.0


_console: Console | None = None


def _stderr() -> Console:
    """The progress console (stderr), made on first use: rich is not imported by a quiet run."""
    global _console
    if _console is None:
        from prodaudit.report.console import output_console

        _console = output_console(stderr=True)
    return _console


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        _stderr().print(f"[dim]prodaudit:[/dim] {message}")


def elapsed(seconds: float) -> str:
    """``45s``, ``2m05s``, ``1h02m``."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Running:
    """The checks running now, with their start times (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self._checks: dict[str, tuple[str, float]] = {}

    def start(self, spec: CheckSpec) -> None:
        with self._lock:
            self._checks[spec.id] = (spec.title, self.clock())

    def stop(self, spec: CheckSpec) -> None:
        with self._lock:
            self._checks.pop(spec.id, None)

    def longest(self, limit: int = 4) -> list[tuple[str, str, float]]:
        """``(id, title, seconds)`` of the running checks, longest-running first."""
        now = self.clock()
        with self._lock:
            items = [(cid, title, now - t0) for cid, (title, t0) in self._checks.items()]
        return sorted(items, key=lambda x: (-x[2], x[0]))[:limit]

    def heartbeat(self, min_seconds: float) -> str | None:
        """The heartbeat line when a check has been running ``min_seconds`` or more, else None."""
        slow = [x for x in self.longest() if x[2] >= min_seconds]
        if not slow:
            return None
        checks = "; ".join(f"{cid} {title} ({elapsed(s)})" for cid, title, s in slow)
        return f"prodaudit: running for {elapsed(self.clock() - self.started)}: {checks}"

    def bar_text(self) -> str:
        return "  ".join(f"{cid} {elapsed(s)}" for cid, _, s in self.longest())


@contextmanager
def ticker(interval: float, tick: Callable[[], None]) -> Iterator[None]:
    """Call ``tick`` every ``interval`` seconds in a daemon thread until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            tick()

    thread = threading.Thread(target=loop, name="prodaudit-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def heartbeat_seconds() -> float:
    raw = os.environ.get("PRODAUDIT_HEARTBEAT_SECONDS", "")
    try:
        value = float(raw) if raw else DEFAULT_HEARTBEAT_S
    except ValueError:
        value = DEFAULT_HEARTBEAT_S
    return max(value, 0.05)


@contextmanager
def make_progress(total: int, quiet: bool) -> Iterator[ProgressHook | None]:
    if quiet:
        yield None
        return
    running = Running()
    console = _stderr()
    if not sys.stderr.isatty():
        done = [0]
        every = heartbeat_seconds()

        def line(spec: CheckSpec, res: CheckResult | None) -> None:
            if res is None:
                running.start(spec)
                return
            running.stop(spec)
            done[0] += 1
            waited = f" (+{res.waited_s:.1f}s waiting for shared facts)" if res.waited_s >= 0.05 else ""
            console.print(
                f"[{done[0]:>3}/{total}] {res.id:<8} {res.status.value.upper():<5} "
                f"{res.duration_s:6.2f}s  {res.title}{waited}",
                markup=False,
                soft_wrap=True,
            )

        def beat() -> None:
            text = running.heartbeat(every)
            if text:
                console.print(text, markup=False, soft_wrap=True, style="dim")

        with ticker(every, beat):
            yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)

        def hook(spec: CheckSpec, res: CheckResult | None) -> None:
            if res is None:
                running.start(spec)
            else:
                running.stop(spec)
                bar.advance(task)
            bar.update(task, description=running.bar_text())

        with ticker(1.0, lambda: bar.update(task, description=running.bar_text())):
            yield hook
