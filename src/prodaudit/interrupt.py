"""Interrupts: SIGINT and SIGTERM end an audit within a bounded time, after bounded cleanup.

The first signal stops the run's child processes (builds, scanners, the reference target) and
raises ``KeyboardInterrupt`` in the main thread. The code unwinds through its cleanups (stop the
reference target, the registered cleanups that remove what the run created, the half-written
report directory), each bounded by what is left of :data:`GRACE_SECONDS`. A watchdog ends the
process when that budget is spent, after printing what was left behind and how to remove it
(everything the run creates in Docker carries the label ``org.prodaudit.run=<run-id>``). A second
signal exits at once. The exit code is always 130.

A signal is handled in the main thread between two Python instructions; a native call that holds
the interpreter lock delays it until that call returns.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

EXIT_INTERRUPTED = 130
GRACE_SECONDS = 3.0  # cleanup budget after the first signal: the process ends within 5 s
RUN_LABEL = "org.prodaudit.run"  # label of every Docker object a run creates
SIGNALS = (signal.SIGINT, signal.SIGTERM)

T = TypeVar("T")


@dataclass
class _State:
    signum: int | None = None
    at: float = 0.0
    run_id: str = ""
    leftovers: list[str] = field(default_factory=list)
    reported: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _State()


# ---- state -------------------------------------------------------------------------------
def interrupted() -> bool:
    """True once SIGINT or SIGTERM has been received by an installed handler."""
    return _state.signum is not None


def remaining() -> float | None:
    """Seconds left of the cleanup budget after the first signal; None when not interrupted."""
    if _state.signum is None:
        return None
    return max(0.0, _state.at + GRACE_SECONDS - time.monotonic())


def budget(normal: float) -> float:
    """How long a cleanup step may wait: ``normal``, or less once the run is interrupted."""
    left = remaining()
    return normal if left is None else min(normal, left)


def set_run(run_id: str) -> None:
    """The id of the run in progress (named in the leftover report)."""
    _state.run_id = run_id


def left_behind(what: str) -> None:
    """Record something the run could not clean up (printed when the process ends)."""
    with _state.lock:
        if what not in _state.leftovers:
            _state.leftovers.append(what)


def signal_name() -> str:
    return signal.Signals(_state.signum).name if _state.signum is not None else "interrupt"


# ---- handlers ----------------------------------------------------------------------------
def install() -> Callable[[], None]:
    """Install the SIGINT/SIGTERM handlers (main thread only); returns the function that restores
    the previous handlers. State from an earlier run in this process is reset."""
    global _state
    _state = _State()
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _handle)

    def restore() -> None:
        for s, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(s, handler)

    return restore


def _handle(signum: int, frame: Any) -> None:
    if _state.signum is not None:  # second signal: leave now
        _write(f"prodaudit: second {signal.Signals(signum).name}: exiting immediately\n")
        terminate_children(signal.SIGKILL)
        _write(leftover_report())
        os._exit(EXIT_INTERRUPTED)
    _state.signum, _state.at = signum, time.monotonic()
    terminate_children(signal.SIGTERM)
    threading.Thread(target=_watchdog, name="prodaudit-interrupt-watchdog", daemon=True).start()
    raise KeyboardInterrupt


def _watchdog() -> None:
    time.sleep(GRACE_SECONDS + 0.25)
    _write(f"prodaudit: {signal_name()}: cleanup did not finish within {GRACE_SECONDS:.1f} s; "
           "exiting\n")
    left_behind("cleanup still running when the time budget ended")
    _write(leftover_report())
    os._exit(EXIT_INTERRUPTED)


def _write(text: str) -> None:
    """Flush Python's buffers, then write ``text`` to stderr unbuffered (safe before _exit)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    if text:
        with contextlib.suppress(OSError):
            os.write(2, text.encode("utf-8", "replace"))


def leftover_report() -> str:
    """What the run left behind and how to remove it ("" when nothing was left)."""
    with _state.lock:
        if _state.reported or not _state.leftovers:
            return ""
        _state.reported = True
        items = list(_state.leftovers)
    lines = ["prodaudit: not cleaned up in time:"] + [f"  - {item}" for item in items]
    if _state.run_id:
        label = f"{RUN_LABEL}={_state.run_id}"
        lines.append(f"  Docker objects of this run carry the label {label}; remove them with:")
        if importlib.util.find_spec("prodaudit.cleanup") is not None:  # `prodaudit clean`
            lines.append(f"    prodaudit clean --run-id {_state.run_id}")
        lines += [
            f"    docker rm -f $(docker ps -aq --filter label={label})",
            f"    docker image rm $(docker image ls -q --filter label={label})",
            f"    docker volume rm $(docker volume ls -q --filter label={label})",
        ]
    return "\n".join(lines) + "\n"


# ---- child processes ---------------------------------------------------------------------
def descendants(pid: int | None = None) -> list[int]:
    """Every process descended from ``pid`` (default: this one), children first (Linux /proc)."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        child = queue.pop(0)
        out.append(child)
        queue.extend(children.get(child, []))
    return out


def terminate_children(sig: int = signal.SIGTERM) -> list[int]:
    """Send ``sig`` to every process this one started (and theirs): work in progress (a build,
    a scanner, the reference target) stops now instead of outliving the run."""
    pids = descendants()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
    return pids


# ---- bounded work ------------------------------------------------------------------------
def run_cleanups(cleanups: list[tuple[Callable[[], None], str]], timeout: float) -> list[str]:
    """Run ``cleanups`` (function, what it removes) in order in a daemon thread, waiting at most
    ``timeout`` seconds (less once interrupted). Failures never propagate. Returns what was not
    cleaned up; those items are also recorded for the leftover report. An interrupt that arrives
    while waiting does not abandon the cleanups: they get the interrupt's budget, then the
    ``KeyboardInterrupt`` is re-raised."""
    done = [0]

    def work() -> None:
        for cleanup, _ in cleanups:
            with contextlib.suppress(Exception):  # best effort: a cleanup never hides the results
                cleanup()
            done[0] += 1

    worker = threading.Thread(target=work, name="prodaudit-cleanup", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    pending_interrupt: KeyboardInterrupt | None = None
    while worker.is_alive():
        wait = deadline - time.monotonic()
        left = remaining()
        if left is not None:
            wait = min(wait, left)
        if wait <= 0:
            break
        try:
            worker.join(wait)
        except KeyboardInterrupt as exc:
            pending_interrupt = exc
    missing = [what for _, what in cleanups[done[0]:]]
    for what in missing:
        left_behind(what)
    if pending_interrupt is not None:
        raise pending_interrupt
    return missing


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` whose shutdown is bounded: on an interrupt the pending tasks are cancelled
    and given the interrupt's budget, and worker threads still busy (a check abandoned after its
    timeout) are not waited for. A signal that the kernel delivers to a worker thread wakes the
    loop too (see :class:`_LoopWaker`)."""
    import asyncio  # here, not at the top: commands that run no audit start faster

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_when_interrupted)
    waker = _LoopWaker(loop)
    try:
        return loop.run_until_complete(coro)
    except BaseException:
        _cancel_pending(loop)
        raise
    finally:
        try:
            if not interrupted():
                loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            waker.close()
            loop.close()  # shuts the default executor down without waiting for busy threads


class _LoopWaker:
    """Python runs signal handlers in the main thread, but the kernel may deliver SIGTERM to any
    thread, e.g. a check's worker. The main thread would then sleep in the event loop's
    ``select`` until its next timer (a check timeout: minutes away). The C-level handler writes
    every signal to the wakeup fd from whichever thread received it; the loop watches that fd,
    wakes, and the Python handler runs at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous: int | None = None
        self.socks: tuple[socket.socket, socket.socket] | None = None
        if threading.current_thread() is not threading.main_thread():
            return
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        try:
            self.previous = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            r.close()
            w.close()
            return
        self.socks = (r, w)
        loop.add_reader(r.fileno(), self._drain)

    def _drain(self) -> None:
        assert self.socks is not None
        with contextlib.suppress(OSError):
            while self.socks[0].recv(512):
                pass

    def close(self) -> None:
        if self.socks is None:
            return
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(self.previous if self.previous is not None else -1)
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.socks[0].fileno())
        for sock in self.socks:
            sock.close()
        self.socks = None


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for t in tasks:
        t.cancel()
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.wait(tasks, timeout=budget(30.0) or 0.01))


def _quiet_when_interrupted(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not interrupted():
        loop.default_exception_handler(context)


def exit_now(code: int) -> None:
    """End the process at once with ``code`` after flushing stdout and stderr: an interrupted run
    does not wait for interpreter shutdown (busy daemon threads slow it down)."""
    _write("")
    os._exit(code)


def finish_now(code: int) -> None:
    """End a finished command with ``code`` without tearing its heap down object by object: the
    exit functions run first (logging's flush, temporary directories' finalizers, a coverage
    tool's save), then stdout and stderr are flushed and the process ends. Interpreter shutdown
    frees every object one at a time: ~1 s for the 240 MB a 50,000-file audit holds at its end,
    for nothing (issue 13)."""
    import atexit

    atexit._run_exitfuncs()
    exit_now(code)


def exit_if_stuck(code: int, grace: float = 0.5) -> None:
    """End the process with ``code`` now when a non-daemon thread (a worker still busy with an
    abandoned check) would otherwise keep it alive at interpreter exit."""
    deadline = time.monotonic() + grace
    for t in threading.enumerate():
        if t is threading.main_thread() or t.daemon or not t.is_alive():
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            _write(leftover_report())
            os._exit(code)
