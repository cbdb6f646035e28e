"""The runner's schedule: known-slow checks start first; an exclusive check runs alone on the
resources it uses, not after the whole run; one that declares none runs last."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from prodaudit import schedule
from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.model import CheckResult, CheckSpec, Severity, Status
from prodaudit.outcome import failed, passed
from prodaudit.registry import Registry, check
from prodaudit.runner import run_checks

Spans = dict[str, tuple[float, float]]


def _sleeper(reg: Registry, cid: str, seconds: float, spans: Spans, **kw: object) -> None:
    async def body(ctx: Context) -> list:
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        spans[cid] = (t0, time.monotonic())
        return [passed("slept")]

    body.__doc__ = "Doc."
    check(cid, cid, severity=Severity.LOW, registry=reg, **kw)(body)  # type: ignore[arg-type]


def _run(reg: Registry, tmp_path: Path, **cfg: object) -> dict[str, CheckResult]:
    ctx = Context(load_config({"start_target": False, "output": tmp_path, **cfg}))
    return {r.id: r for r in asyncio.run(run_checks(reg.all(), ctx))}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_an_exclusive_check_waits_only_for_the_users_of_its_resources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # declared, never connected to
    reg, spans = Registry(), {}
    _sleeper(reg, "DEP-901", 0.3, spans, needs=("redis",))  # uses the resource
    _sleeper(reg, "DEP-902", 0.2, spans, needs=("redis",), exclusive=True)
    _sleeper(reg, "DEP-903", 0.2, spans, needs=("redis",), exclusive=True)
    _sleeper(reg, "CFG-901", 1.2, spans)  # a long static check
    res = _run(reg, tmp_path)
    assert all(r.status is Status.PASS for r in res.values()), res
    assert spans["DEP-902"][0] >= spans["DEP-901"][1]  # after the resource's other users
    assert not _overlap(spans["DEP-902"], spans["DEP-903"])  # alone on the resource
    assert _overlap(spans["DEP-902"], spans["CFG-901"])  # while the static check still runs


def test_exclusive_checks_on_different_resources_run_side_by_side(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/x")
    reg, spans = Registry(), {}
    _sleeper(reg, "DEP-911", 0.5, spans, needs=("redis",), exclusive=True)
    _sleeper(reg, "DEP-912", 0.5, spans, needs=("database",), exclusive=True)
    _run(reg, tmp_path)
    assert _overlap(spans["DEP-911"], spans["DEP-912"])


def test_an_exclusive_check_without_a_resource_runs_last_alone(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reg, spans = Registry(), {}
    _sleeper(reg, "RDY-901", 0.1, spans, exclusive=True)  # reads what the whole run left behind
    _sleeper(reg, "CFG-911", 0.4, spans)
    _sleeper(reg, "DEP-921", 0.3, spans, needs=("redis",), exclusive=True)
    _run(reg, tmp_path)
    assert spans["RDY-901"][0] >= max(spans["CFG-911"][1], spans["DEP-921"][1])


def test_the_slowest_check_of_the_last_run_starts_first(tmp_path: Path) -> None:
    reg, spans = Registry(), {}
    for i in range(1, 7):
        _sleeper(reg, f"CFG-92{i}", 0.05 * i, spans)
    cfg = {"concurrency": 1}
    _run(reg, tmp_path, **cfg)  # no history yet: id order
    first = sorted(spans, key=lambda c: spans[c][0])
    assert first == [f"CFG-92{i}" for i in range(1, 7)]
    spans.clear()
    _run(reg, tmp_path, **cfg)  # the durations of the first run are the priority now
    second = sorted(spans, key=lambda c: spans[c][0])
    assert second == [f"CFG-92{i}" for i in range(6, 0, -1)]


def test_without_history_a_long_declared_timeout_marks_a_slow_check() -> None:
    def spec(cid: str, timeout: float | None) -> CheckSpec:
        return CheckSpec(id=cid, title=cid, suite="config", severity=Severity.LOW,
                         func=lambda ctx: [], timeout=timeout)

    specs = [spec("CFG-931", None), spec("CFG-932", 1200), spec("CFG-933", 300)]
    assert [s.id for s in schedule.order(specs, {}, 180)] == ["CFG-932", "CFG-933", "CFG-931"]
    assert [s.id for s in schedule.order(specs, {"CFG-931": 50.0}, 180)][0] == "CFG-931"


def test_resources_come_from_needs() -> None:
    def spec(needs: tuple[str, ...], exclusive: bool = False) -> CheckSpec:
        return CheckSpec(id="SEC-999", title="x", suite="security", severity=Severity.LOW,
                         func=lambda ctx: [], needs=frozenset(needs), exclusive=exclusive)

    assert schedule.resources(spec(("live",))) == {"target"}
    assert schedule.resources(spec(("frontend", "docker"))) == {"target", "docker"}
    assert schedule.resources(spec(("repo",))) == frozenset()
    assert schedule.resources(spec(("repo",), exclusive=True)) == {schedule.EVERYTHING}


def test_checks_of_the_running_product_keep_their_id_order() -> None:
    """They share the product's state: the last run's durations never reorder them."""
    def spec(cid: str, needs: tuple[str, ...] = ()) -> CheckSpec:
        return CheckSpec(id=cid, title=cid, suite="functional", severity=Severity.LOW,
                         func=lambda ctx: [], needs=frozenset(needs))

    specs = [spec("FUN-901", ("live",)), spec("FUN-902", ("live",)), spec("CFG-941"),
             spec("CFG-942")]
    last = {"FUN-902": 50.0, "FUN-901": 1.0, "CFG-942": 9.0}
    assert [s.id for s in schedule.order(specs, last, 180)] == [
        "CFG-942", "CFG-941", "FUN-901", "FUN-902"]


def _memo_checks(reg: Registry, gate: threading.Event) -> None:
    """CFG-931 builds the fact "slow" until CFG-933 has run; CFG-932 needs the fact."""

    def build() -> str:
        return "built" if gate.wait(20) else "CFG-933 never ran"

    def producer(ctx: Context) -> list:
        value = ctx.memo("slow", build)
        return [passed(value)] if value == "built" else [failed(value)]

    def waiter(ctx: Context) -> list:
        return [passed(f"got {ctx.memo('slow', build)}")]

    def releaser(ctx: Context) -> list:
        gate.set()
        return [passed("ran")]

    bodies = (producer, waiter, releaser)
    for cid, body in zip(("CFG-931", "CFG-932", "CFG-933"), bodies, strict=True):
        body.__doc__ = "Doc."
        check(cid, cid, severity=Severity.LOW, registry=reg)(body)  # type: ignore[arg-type]


def test_a_check_waiting_for_a_fact_gives_its_slot_back(tmp_path: Path) -> None:
    """Two slots: CFG-931 builds a fact, CFG-932 waits for it; CFG-933, which the build needs,
    still gets a slot because the waiter gave its slot back (it used to hold it: a deadlock until
    the build gave up)."""
    reg, gate = Registry(), threading.Event()
    _memo_checks(reg, gate)
    res = _run(reg, tmp_path, concurrency=2, cache=False)  # no history: CFG-931 and 932 first
    assert {k: r.status for k, r in res.items()} == dict.fromkeys(res, Status.PASS), res
    assert res["CFG-932"].findings[0].message == "got built"


def test_a_slot_given_back_is_taken_again_and_never_leaks(tmp_path: Path) -> None:
    """After waiting, the waiter takes a slot again; at the end every slot is free (a run of
    more checks than slots still runs them all, one at a time)."""
    reg, gate = Registry(), threading.Event()
    _memo_checks(reg, gate)
    for i in range(4):
        _sleeper(reg, f"CFG-94{i}", 0.01, {})
    res = _run(reg, tmp_path, concurrency=2, cache=False)
    assert len(res) == 7
    assert all(r.status is Status.PASS for r in res.values()), res


def test_a_check_on_its_own_instance_runs_beside_the_target_checks_and_the_last_ones(
        tmp_path: Path) -> None:
    """RDY-032 with readiness.e2e_frontend_url drives its own instance: it starts with the checks
    of the audited target instead of after them, and the resource-less exclusive checks (heavy
    local work) run beside it; the target's exclusive checks run beside neither; the final
    checks still run after everything."""
    reg, spans = Registry(), {}
    _sleeper(reg, "RDY-032", 0.8, spans, needs=("target",), exclusive=True)
    _sleeper(reg, "FUN-931", 0.3, spans, needs=("target",))  # a check of the audited target
    _sleeper(reg, "SEC-931", 0.2, spans, needs=("target",), exclusive=True)  # a burst
    _sleeper(reg, "RDY-931", 0.2, spans, needs=("repo",), exclusive=True)  # no resource: last
    _sleeper(reg, "FUN-932", 0.1, spans, needs=("target",), final=True)
    res = _run(reg, tmp_path, base_url="http://127.0.0.1:9",
               readiness={"e2e_frontend_url": "http://127.0.0.1:9"}, cache=False)
    assert all(r.status is Status.PASS for r in res.values()), res
    assert _overlap(spans["RDY-032"], spans["FUN-931"])  # started with the target's checks
    assert _overlap(spans["RDY-032"], spans["RDY-931"])  # the heavy resource-less one: beside it
    assert spans["RDY-931"][0] >= spans["FUN-931"][1]  # after the non-exclusive checks
    # the target's exclusive check (a burst) runs beside neither: it measures a window
    assert not _overlap(spans["SEC-931"], spans["RDY-032"])
    assert not _overlap(spans["SEC-931"], spans["RDY-931"])
    assert spans["SEC-931"][0] >= spans["FUN-931"][1]
    assert spans["FUN-932"][0] >= max(end for _, end in spans.values() if end != spans["FUN-932"][1])


def test_without_its_own_instance_rdy032_waits_for_the_target_checks(tmp_path: Path) -> None:
    reg, spans = Registry(), {}
    _sleeper(reg, "RDY-032", 0.2, spans, needs=("target",), exclusive=True)
    _sleeper(reg, "FUN-931", 0.3, spans, needs=("target",))
    _sleeper(reg, "SEC-931", 0.1, spans, needs=("target",), exclusive=True)
    _run(reg, tmp_path, base_url="http://127.0.0.1:9", cache=False)
    assert spans["RDY-032"][0] >= spans["FUN-931"][1]
    assert not _overlap(spans["RDY-032"], spans["SEC-931"])


def test_rdy032_uses_its_own_instance_only_when_one_is_configured(tmp_path: Path) -> None:
    reg = Registry()
    _sleeper(reg, "RDY-032", 0.0, {}, needs=("frontend",), exclusive=True)
    spec = reg.all()[0]
    without = load_config({"start_target": False, "output": tmp_path})
    with_e2e = load_config({"start_target": False, "output": tmp_path,
                            "readiness": {"e2e_frontend_url": "http://127.0.0.1:9"}})
    assert schedule.resources(spec, schedule.separate_instances(without)) == {"target"}
    assert schedule.resources(spec, schedule.separate_instances(with_e2e)) == {"instance:RDY-032"}
