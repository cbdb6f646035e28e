"""7. The commands of issue 13's table as a user runs them: whole processes, start-up included.

- ``prodaudit list`` (and ``python -c pass``, the interpreter's own start-up, for scale);
- ``prodaudit run --only CFG-040`` on a one-file repository: the fixed cost of any run;
- ``invoke audit.all`` on the bundled reference target: its wall time against its slowest check
  (``PRODAUDIT_BENCH_AUDIT_ROUNDS`` rounds, default 1; ``PRODAUDIT_BENCH_BASE_IMAGE=IMAGE`` adds a
  second row whose image builds FROM a local base image, i.e. a real image build, as a user with
  a registry gets);
- the config suite on a generated 50,000-file repository against CFG-040 alone on it, with the
  peak RSS of each (``PRODAUDIT_BENCH_50K=0`` leaves them out), and CFG-040 with CFG-173 (a
  check that needs only the Python model: the py_index pass and the routes over it) — what the
  suite costs before any of its other checks, its env graph or its reports.

Times are measured, never asserted: the assertions check that each command did its work (a
result per check, the planted credentials found).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from procs import PRODAUDIT, Runs, goal, project_env, timed
from treegen import Tree

from prodaudit.config import PROJECT_ROOT

ROUNDS = int(os.environ.get("PRODAUDIT_BENCH_ROUNDS", "3"))
AUDIT_ROUNDS = int(os.environ.get("PRODAUDIT_BENCH_AUDIT_ROUNDS", "1"))


def _bench(benchmark: Any, fn: Callable[[], tuple[float, float, float, bytes]],
           rounds: int, setup: Callable[[], None] | None = None) -> Runs:
    """``rounds`` whole-process runs of ``fn`` after one warm-up run, which is not counted (as
    pytest-benchmark does not count it); ``setup`` runs untimed before each run, warm-up included."""
    runs = Runs()
    calls = 0

    def once() -> None:
        nonlocal calls
        calls += 1
        wall, cpu, rss, _ = fn()
        if calls > 1 or benchmark.disabled:  # disabled (--benchmark-disable): one call, counted
            runs.add(wall, cpu, rss)

    benchmark.pedantic(once, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(runs.info())
    return runs


def bench_python_startup(benchmark: Any) -> None:
    _bench(benchmark, lambda: timed([sys.executable, "-c", "pass"]), max(ROUNDS, 10))


def bench_list_startup(benchmark: Any) -> None:
    runs = _bench(benchmark, lambda: timed([*PRODAUDIT, "list"]), max(ROUNDS, 10))
    out = timed([*PRODAUDIT, "list"])[3].decode()
    assert out.rstrip().endswith(" checks") and int(out.split()[-2]) > 100, out[-300:]
    goal("prodaudit list start-up", f"{runs.median:.2f} s (cpu {runs.cpu_median:.2f} s)",
         "<= 0.3 s")


def bench_run_one_file_startup(benchmark: Any, tmp_path: Path) -> None:
    """A run of one check on a one-file repository: start-up, selection, reports."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n", encoding="utf-8")
    env = project_env(PRODAUDIT_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [*PRODAUDIT, "run", "--suite", "config", "--only", "CFG-040", "--repo", str(repo),
           "--no-start", "--output", str(tmp_path / "out"), "-q"]
    _bench(benchmark, lambda: timed(cmd, env), max(ROUNDS, 5))
    assert list((tmp_path / "out").glob("*/index.html"))


def _audit_all(out: Path, env: dict[str, str], *extra: str) -> tuple[float, float, float, bytes]:
    cmd = [sys.executable, "-m", "invoke", "audit.all", "--output", str(out), *extra]
    return timed(cmd, env, cwd=PROJECT_ROOT)


def _slowest(out: Path) -> tuple[str, float, int]:
    newest = max(out.glob("*/audit.json"), key=lambda p: p.stat().st_mtime)
    results = json.loads(newest.read_text())["results"]
    top = max(results, key=lambda r: r["duration_s"])
    return top["id"], float(top["duration_s"]), len(results)


def _bench_audit_all(benchmark: Any, tmp_path: Path, label: str, *extra: str) -> None:
    pytest.importorskip("invoke")
    env = project_env(PRODAUDIT_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "reports"
    ratios: list[float] = []
    runs = Runs()

    def once() -> None:
        wall, cpu, rss, _ = _audit_all(out, env, *extra)
        runs.add(wall, cpu, rss)
        cid, seconds, n = _slowest(out)
        assert n > 150, f"only {n} results"  # every check reported
        ratios.append(wall / seconds)
        benchmark.extra_info.setdefault("slowest", []).append([cid, round(seconds, 2)])

    # the first run fills the cache and the durations the next runs order by
    benchmark.pedantic(once, rounds=AUDIT_ROUNDS, iterations=1, warmup_rounds=1)
    ratio = sorted(ratios)[len(ratios) // 2]
    benchmark.extra_info.update(runs.info(), wall_over_slowest=round(ratio, 2))
    goal(f"invoke audit.all wall / slowest check{label}",
         f"{runs.median:.1f} s / {benchmark.extra_info['slowest'][-1][1]:.1f} s "
         f"({benchmark.extra_info['slowest'][-1][0]}) = {ratio:.2f}", "<= 1.5")


def bench_audit_all(benchmark: Any, tmp_path: Path) -> None:
    _bench_audit_all(benchmark, tmp_path, "")


def bench_audit_all_local_base_image(benchmark: Any, tmp_path: Path) -> None:
    image = os.environ.get("PRODAUDIT_BENCH_BASE_IMAGE")
    if not image:
        pytest.skip("PRODAUDIT_BENCH_BASE_IMAGE not set (a local image the Dockerfile can build "
                    "FROM, e.g. prodaudit/python-base:bookworm)")
    conf = tmp_path / "prodaudit.toml"
    conf.write_text(f'[docker]\nbase_image = "{image}"\n', encoding="utf-8")
    _bench_audit_all(benchmark, tmp_path, f" (image built FROM {image})", "--config", str(conf))


@pytest.fixture(scope="module")
def tree_50k(tree_factory: Callable[[str], Tree]) -> Tree:
    if os.environ.get("PRODAUDIT_BENCH_50K", "1") == "0":
        pytest.skip("PRODAUDIT_BENCH_50K=0")
    return tree_factory("50000")


SUITE_50K: dict[str, Runs] = {}


def _config_run(tree: Tree, out: Path, *extra: str) -> tuple[float, float, float, bytes]:
    env = project_env(PRODAUDIT_CACHE_DIR=str(out / "cache"))
    cmd = [*PRODAUDIT, "run", "--suite", "config", "--repo", str(tree.root), "--no-start",
           "--no-cache", "--output", str(out / "reports"), "-q", *extra]
    return timed(cmd, env)


def _planted_found(out: Path, tree: Tree) -> None:
    newest = max((out / "reports").glob("*/audit.json"), key=lambda p: p.stat().st_mtime)
    r = next(x for x in json.loads(newest.read_text())["results"] if x["id"] == "CFG-040")
    fails = [f for f in r["findings"] if f["status"] == "fail"]
    assert len(fails) >= tree.planted, (len(fails), tree.planted)


def bench_scan_alone_50k(benchmark: Any, tree_50k: Tree, tmp_path: Path) -> None:
    runs = _bench(benchmark, lambda: _config_run(tree_50k, tmp_path, "--only", "CFG-040"), ROUNDS)
    _planted_found(tmp_path, tree_50k)
    SUITE_50K["scan"] = runs


def bench_scan_and_python_model_50k(benchmark: Any, tree_50k: Tree, tmp_path: Path) -> None:
    runs = _bench(benchmark, lambda: _config_run(tree_50k, tmp_path, "--only", "CFG-040,CFG-173"),
                  ROUNDS)
    _planted_found(tmp_path, tree_50k)
    SUITE_50K["model"] = runs


def bench_config_suite_50k(benchmark: Any, tree_50k: Tree, tmp_path: Path) -> None:
    paired: list[float] = []  # CFG-040 alone, run (untimed) right before each suite run

    def scan_first() -> None:
        paired.append(_config_run(tree_50k, tmp_path, "--only", "CFG-040")[0])

    runs = _bench(benchmark, lambda: _config_run(tree_50k, tmp_path), ROUNDS, scan_first)
    _planted_found(tmp_path, tree_50k)
    paired = paired[len(paired) - len(runs.wall):]  # the warm-up's pair does not count either
    ratios = [suite / scan for suite, scan in zip(runs.wall, paired, strict=True)]
    benchmark.extra_info["suite_over_scan_paired"] = [round(r, 2) for r in ratios]
    SUITE_50K["suite"] = runs
    load = os.getloadavg()[0]  # the machine is shared: wall times need the load beside them
    benchmark.extra_info["load_average_1m"] = round(load, 2)
    goal("config suite on 50,000 files: peak RSS", f"{runs.rss_mb:.0f} MiB", "<= 300 MB")
    # the measure: alternating runs side by side (each suite run right after a CFG-040
    # run, so both see the same load); the medians of the separate benchmarks beside it
    paired_ratio = statistics.median(ratios)
    benchmark.extra_info["suite_over_scan"] = round(paired_ratio, 2)
    measured = (f"{runs.median:.1f} s / {statistics.median(paired):.1f} s: {paired_ratio:.2f} "
                f"(run by run {', '.join(f'{r:.2f}' for r in ratios)}; cpu {runs.cpu_median:.1f} s; "
                f"load {load:.1f})")
    if "scan" in SUITE_50K:
        scan = SUITE_50K["scan"]
        benchmark.extra_info["suite_over_scan_cpu"] = round(runs.cpu_median / scan.cpu_median, 2)
        measured += (f"; medians of the two benchmarks {runs.median:.1f} s / {scan.median:.1f} s = "
                     f"{runs.median / scan.median:.2f} (cpu {scan.cpu_median:.1f} s alone)")
    goal("config suite on 50,000 files / CFG-040 alone", measured, "<= 4")
    if "model" in SUITE_50K:
        model = SUITE_50K["model"]
        goal("  of which CFG-040 + the Python model alone (CFG-040,CFG-173)",
             f"{model.median:.1f} s = {model.median / statistics.median(paired):.2f} x CFG-040 "
             f"alone (cpu {model.cpu_median:.1f} s)", "(the suite before its other checks)")
