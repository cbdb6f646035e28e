"""A check's duration is its own time: waiting for a shared fact another check is building (the
image build, the OpenAPI document) is reported separately as ``waited_s``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.model import Severity
from prodaudit.outcome import passed
from prodaudit.registry import Registry, check
from prodaudit.runner import run_checks
from prodaudit.timing import add_wait, measuring

HOLD_S = 0.6


def test_measuring_accumulates_only_inside_the_block() -> None:
    add_wait(5.0)  # no check: nowhere to record, no error
    with measuring() as box:
        add_wait(0.25)
        add_wait(0.5)
    add_wait(7.0)
    assert box == [0.75]


def test_waiting_for_a_shared_fact_is_not_the_checks_duration(tmp_path: Path) -> None:
    reg = Registry()
    building = threading.Event()

    def slow_fact() -> str:
        building.set()
        threading.Event().wait(HOLD_S)  # the build itself: the builder's own time
        return "image"

    @check("DEP-901", "builds the shared fact", severity=Severity.LOW, registry=reg)
    def builder(ctx):
        """Doc."""
        return [passed(ctx.memo("test:image", slow_fact))]

    @check("DEP-902", "uses the shared fact", severity=Severity.LOW, registry=reg)
    def user(ctx):
        """Doc."""
        assert building.wait(30)
        return [passed(ctx.memo("test:image", slow_fact))]

    @check("DEP-903", "async user of a shared fact", severity=Severity.LOW, registry=reg)
    async def async_user(ctx):
        """Doc."""

        async def build() -> str:
            await asyncio.sleep(HOLD_S)
            return "doc"

        first = asyncio.ensure_future(ctx.amemo("test:doc", build))
        await asyncio.sleep(0)  # the first caller holds the lock while it builds
        second = await ctx.amemo("test:doc", build)
        return [passed(f"{await first} {second}")]

    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    results = {r.id: r for r in asyncio.run(run_checks(reg.all(), ctx))}
    assert all(r.status.value == "pass" for r in results.values()), results
    builder_r, user_r, async_r = results["DEP-901"], results["DEP-902"], results["DEP-903"]
    assert builder_r.waited_s < HOLD_S / 10  # it built the fact: its own time (lock overhead only)
    assert user_r.waited_s >= HOLD_S / 2  # blocked while the builder held the fact
    assert async_r.waited_s >= HOLD_S / 2
    assert all(r.started_s is not None and r.started_s >= 0 for r in results.values())
    # the recorded duration excludes the wait (total = own + waited)
    assert user_r.duration_s + user_r.waited_s >= HOLD_S / 2
