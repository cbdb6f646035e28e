"""Concurrency slots (slots.py): a check waiting for a shared fact gives its slot back and takes
one again, never two, also when it waits for several facts at once or blocks the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from prodaudit import slots
from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.model import Severity, Status
from prodaudit.outcome import passed
from prodaudit.registry import Registry, check
from prodaudit.runner import run_checks


def test_overlapping_pauses_give_back_and_take_one_slot() -> None:
    async def scenario() -> list[int]:
        sem = asyncio.Semaphore(2)
        slot = slots.Slot(sem)
        await slot.acquire()
        seen = [sem._value]  # one taken
        slot.pause()
        slot.pause()  # a second wait of the same check: nothing more to give back
        seen.append(sem._value)
        await asyncio.gather(slot.resume(), slot.resume())
        seen.append(sem._value)  # taken once again, not twice
        slot.close()
        seen.append(sem._value)
        return seen

    assert asyncio.run(scenario()) == [1, 2, 1, 2]


def test_a_closed_slot_is_never_taken_again() -> None:
    async def scenario() -> int:
        sem = asyncio.Semaphore(1)
        slot = slots.Slot(sem)
        await slot.acquire()
        slot.pause()
        slot.close()  # the check was abandoned at its timeout while its thread waited
        await slot.resume()
        return sem._value

    assert asyncio.run(scenario()) == 1


def _check(reg: Registry, cid: str, body: object) -> None:
    body.__doc__ = "Doc."  # type: ignore[attr-defined]
    check(cid, cid, severity=Severity.LOW, registry=reg)(body)  # type: ignore[arg-type]


def test_a_coroutine_waiting_on_a_thread_built_fact_does_not_deadlock_the_loop(tmp_path: Path) -> None:
    """An async check that reads a blocking fact (``ctx.memo`` on the event loop's thread) while
    a thread builds it: the wait blocks the loop, so it must not try to hand its slot over
    through the loop (that would wait for itself forever); several such waits at once too."""
    building = threading.Event()

    def build() -> str:
        building.set()
        threading.Event().wait(0.3)
        return "fact"

    def builder(ctx: Context) -> list:
        return [passed(ctx.memo("fact", build))]

    async def reader(ctx: Context) -> list:
        await asyncio.to_thread(building.wait, 10)
        on_loop = ctx.memo("fact", build)  # blocks the loop's thread while CFG-951 builds it
        values = await asyncio.gather(asyncio.to_thread(ctx.memo, "fact", build),
                                      asyncio.to_thread(ctx.memo, "fact", build))
        return [passed(f"{on_loop} {values}")]

    reg = Registry()
    _check(reg, "CFG-951", builder)
    _check(reg, "CFG-952", reader)
    for i in range(3):
        _check(reg, f"CFG-96{i}", lambda ctx: [passed("ran")])
    ctx = Context(load_config({"start_target": False, "output": tmp_path, "concurrency": 2,
                               "cache": False}))
    out: list = []
    runner = threading.Thread(target=lambda: out.extend(asyncio.run(run_checks(reg.all(), ctx))),
                              daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the run deadlocked"
    assert [r.status for r in out] == [Status.PASS] * 5, out
