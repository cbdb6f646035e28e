"""Concurrency slots: the runner lets ``concurrency`` checks run at once, and a check that waits
for a shared fact another check is building (``Context.memo``/``amemo``: the secret scan, the
environment-variable graph, the OpenAPI document) gives its slot back while it waits, so that an
unrelated check can run meanwhile instead of queueing behind a waiter. It takes a slot again
(queueing like any check) once the fact is there, in the background: the check goes on at once
and may run over the limit until then (a started check that waited for a slot could be the one
every slot holder waits for).

The runner opens a :class:`Slot` per check (``current`` is a context variable, so it follows a
blocking check into its daemon thread); ``Context.memo`` (the static facts) calls :func:`paused`
around a wait for a lock that another check holds. The live facts (``Context.amemo``: OpenAPI,
the login) do not: the checks on the running product stay at most ``concurrency`` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar


class Slot:
    """One check's concurrency slot on the event loop's semaphore. Every state change runs on
    the loop's thread. A check may wait for several facts at once (a gather of probes, threads of
    its own): the slot is given back at the first pause and taken again when the last one ends,
    never twice. ``close()`` (the runner, when the check ends or is abandoned at its timeout) gives
    it back for good, so a daemon thread that outlives its check never holds or takes one."""

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self._sem = sem
        self._loop = asyncio.get_running_loop()
        self._mutex = asyncio.Lock()  # one acquisition at a time
        self.held = False
        self.closed = False
        self.pauses = 0

    def _wanted(self) -> bool:
        return not self.closed and self.pauses == 0

    async def acquire(self) -> None:
        """Take the slot when the check wants it (no pause, not closed); returns once it holds
        it or no longer wants it."""
        async with self._mutex:
            if self._wanted() and not self.held:
                await self._sem.acquire()
                self.held = True
            if self.held and not self._wanted():  # paused or closed meanwhile
                self.give_back()

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._sem.release()

    def pause(self) -> None:
        self.pauses += 1
        self.give_back()

    async def resume(self) -> None:
        self.pauses -= 1
        await self.acquire()

    def close(self) -> None:
        self.closed = True
        self.give_back()

    # ---- from a blocking check's thread --------------------------------------------------
    def on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def pause_threadsafe(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to give back
            self._loop.call_soon_threadsafe(self.pause)

    def resume_threadsafe(self) -> None:
        """The wait is over: the slot is taken again in the background, the check goes on at
        once. A check never waits for a slot once it has started: the checks holding the slots
        may be waiting for it (a fact it builds, read without a memo wait, or threads of the
        loop's default executor), and it may be the builder of what they wait for."""
        with contextlib.suppress(RuntimeError):  # the loop is gone
            self._loop.call_soon_threadsafe(self._resume_later)

    def _resume_later(self) -> None:
        task = self._loop.create_task(self.resume())
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)


_PENDING: set[asyncio.Task[None]] = set()  # background re-acquisitions (kept from the collector)


current: ContextVar[Slot | None] = ContextVar("prodaudit_slot", default=None)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Around a blocking wait in a check's thread: the slot is given back for the wait and taken
    again after it, in the background (until then the check runs over the limit)."""
    slot = current.get()
    if slot is None or slot.on_loop_thread():  # a coroutine blocking the loop: no slot can move
        yield
        return
    slot.pause_threadsafe()
    try:
        yield
    finally:
        slot.resume_threadsafe()


class Quiet:
    """Who may run beside the timing-sensitive checks: the exclusive checks of the audited target
    (bursts against rate limits, the performance baseline, the load scenario) measure windows and
    latencies, so they run alone (``alone``), never beside the heavy local work — a check on its own
    instance of the product (RDY-032's browsers) or a resource-less exclusive check (the target's
    test suite, the backup rehearsal) — which may share the machine with each other (``beside``).
    A heavy check that is already running lets another one join (the first is the long pole)."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._beside = 0
        self._alone = False

    @contextlib.asynccontextmanager
    async def beside(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._alone)
            self._beside += 1
        try:
            yield
        finally:
            async with self._cond:
                self._beside -= 1
                self._cond.notify_all()

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._alone and not self._beside)
            self._alone = True
        try:
            yield
        finally:
            async with self._cond:
                self._alone = False
                self._cond.notify_all()
