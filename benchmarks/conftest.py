"""Shared fixtures for the benchmarks: synthetic trees, a reference target, derived rates.

Speed is measured here, never asserted. Assertions in benchmarks check behaviour only (the scan
finds the planted credentials, every renderer produces output ...), so a benchmark that silently
measured nothing fails.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from treegen import Tree, make_tree  # benchmarks/ is on sys.path (rootdir conftest)

from prodaudit.target import ReferenceTarget

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}


@dataclass
class Rate:
    name: str
    mean_s: float
    median_s: float
    min_s: float
    rounds: int
    files: int = 0
    nbytes: int = 0
    per: int = 0  # units for a per-unit time (checks, results ...)
    per_label: str = ""


_RATES: list[Rate] = []


@pytest.fixture(scope="session")
def tree_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Tree]:
    """``tree_factory("10k")``: a generated repository, built once per session and size."""
    made: dict[str, Tree] = {}

    def get(size: str) -> Tree:
        if size not in made:
            n = SIZES[size] if size in SIZES else int(size)
            made[size] = make_tree(tmp_path_factory.mktemp(f"tree-{size}"), n)
        return made[size]

    return get


@pytest.fixture(scope="session")
def reference_target() -> Iterator[ReferenceTarget]:
    """One hardened reference target on 127.0.0.1 (API, frontend, fake LLM provider)."""
    with ReferenceTarget(flaws="") as t:
        yield t


@pytest.fixture
def record(benchmark: Any) -> Callable[..., None]:
    """After ``benchmark(...)``: ``record(files=, nbytes=, per=, per_label=)`` stores derived
    rates in the JSON output (extra_info) and in the end-of-run summary table."""

    def _record(*, files: int = 0, nbytes: int = 0, per: int = 0, per_label: str = "") -> None:
        meta = getattr(benchmark, "stats", None)
        if meta is None:  # --benchmark-disable: nothing measured
            return
        st = meta.stats
        mean, median, rounds = float(st.mean), float(st.median), int(st.rounds)
        if files:
            benchmark.extra_info["files"] = files
            benchmark.extra_info["files_per_s"] = round(files / median, 1)
        if nbytes:
            benchmark.extra_info["bytes"] = nbytes
            benchmark.extra_info["mb_per_s"] = round(nbytes / 1e6 / median, 2)
        if per:
            benchmark.extra_info[f"ms_per_{per_label}"] = round(median * 1000 / per, 4)
        _RATES.append(Rate(benchmark.name, mean, median, float(st.min), rounds, files, nbytes, per,
                           per_label))

    return _record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from procs import GOALS

    tr = terminalreporter
    if GOALS:
        tr.section("issue 13: the table (whole processes, medians)")
        for row, (measured, target) in GOALS.items():
            tr.write_line(f"{row:<62} {measured:<40} goal {target}")
    if not _RATES:
        return
    tr.section("prodaudit benchmark rates (rates from the median; 2 shared cores: see min)")
    tr.write_line(f"machine: {os.cpu_count()} CPUs, {platform.python_implementation()} "
                  f"{platform.python_version()}, {platform.platform()}")
    tr.write_line(f"{'benchmark':<52} {'min s':>8} {'median s':>9} {'mean s':>8} {'rounds':>6} "
                  f"{'files/s':>9} {'MB/s':>7} {'ms/unit':>14}")
    for r in sorted(_RATES, key=lambda r: r.name):
        fps = f"{r.files / r.median_s:,.0f}" if r.files else "-"
        mbs = f"{r.nbytes / 1e6 / r.median_s:.2f}" if r.nbytes else "-"
        per = f"{r.median_s * 1000 / r.per:.3f}/{r.per_label}" if r.per else "-"
        tr.write_line(f"{r.name:<52} {r.min_s:>8.4f} {r.median_s:>9.4f} {r.mean_s:>8.4f} "
                      f"{r.rounds:>6} {fps:>9} {mbs:>7} {per:>14}")
