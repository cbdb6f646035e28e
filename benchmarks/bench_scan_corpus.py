"""6. The secret scan as a user runs it, whole process, on the seeded corpus, against peers.

The corpus is ``shared/bench/gen_corpus.py`` (20,000 text files, ~203 MB, fixed seed, 50 seeded
secrets of six formats: AWS, OpenAI, GitHub, Slack, PEM private keys, PostgreSQL URLs); its
manifest gives each secret's file and line, so recall and precision are counted, not guessed.
Set ``PRODAUDIT_BENCH_CORPUS_GEN`` to the generator when ``shared/`` is not beside the checkout,
or ``PRODAUDIT_BENCH_CORPUS_DIR`` to a directory holding a generated ``corpus/`` and
``manifest.json``.

Every row is a whole process timed from outside (start-up, file walk, scan, reports):

- ``prodaudit run --suite config --only CFG-040 --repo CORPUS --no-start`` cold (``--no-cache``),
  warm (the second run on unchanged files) and with ``secrets.engine = "ripgrep"``;
- ripgrep in multi-line mode with the same rules (the scan's relaxed rules, ``-U``);
- detect-secrets 1.5 on a subset (``PRODAUDIT_BENCH_DS_FILES`` files, default 300, the seeded
  files among them), its time extrapolated to the whole corpus by bytes (it is far too slow to
  run on 203 MB in a benchmark session).

Wall, CPU and peak RSS are the child's own (``wait4`` in a small launcher). Nothing here
asserts a time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from procs import PRODAUDIT, TIMEOUT, goal, timed  # benchmarks/ is on sys.path

from prodaudit.checks.config._scan_rules import finder_patterns

ROUNDS = int(os.environ.get("PRODAUDIT_BENCH_ROUNDS", "3"))
HERE = Path(__file__).resolve().parent


@dataclass
class Corpus:
    root: Path
    manifest: list[dict[str, Any]]
    files: int
    nbytes: int

    @property
    def seeded(self) -> set[tuple[str, int]]:
        return {(m["file"], m["line"]) for m in self.manifest}


@dataclass
class Run:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    found: set[tuple[str, int]] = field(default_factory=set)
    reported: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


RESULTS: dict[str, Run] = {}


def _generator() -> Path | None:
    env = os.environ.get("PRODAUDIT_BENCH_CORPUS_GEN")
    cands = [Path(env)] if env else [HERE.parents[1] / "shared" / "bench" / "gen_corpus.py"]
    return next((c for c in cands if c.is_file()), None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    ready = os.environ.get("PRODAUDIT_BENCH_CORPUS_DIR")  # corpus/ and manifest.json, made before
    if ready:
        where = Path(ready)
        return _load(where / "corpus", where / "manifest.json")
    gen = _generator()
    if gen is None:
        pytest.skip("the corpus generator shared/bench/gen_corpus.py is not beside the checkout "
                    "(set PRODAUDIT_BENCH_CORPUS_GEN)")
    where = tmp_path_factory.mktemp("seeded-corpus")
    root, manifest = where / "corpus", where / "manifest.json"
    subprocess.run([sys.executable, str(gen), str(root), str(manifest)], check=True,
                   timeout=TIMEOUT, capture_output=True)
    return _load(root, manifest)


def _load(root: Path, manifest: Path) -> Corpus:
    paths = [p for p in root.rglob("*") if p.is_file()]
    return Corpus(root, json.loads(manifest.read_text()), len(paths),
                  sum(p.stat().st_size for p in paths))


def _prodaudit(corpus: Corpus, out: Path, *extra: str, cache_dir: Path | None = None
               ) -> tuple[float, float, float, set[tuple[str, int]], int]:
    env = dict(os.environ, PRODAUDIT_CACHE_DIR=str(cache_dir or out / "cache"))
    cmd = [*PRODAUDIT, "run", "--suite", "config", "--only", "CFG-040", "--repo",
           str(corpus.root), "--no-start", "--output", str(out), "-q", *extra]
    wall, cpu, rss, _ = timed(cmd, env)
    audit = json.loads((out / "latest" / "audit.json").read_text()) if (
        out / "latest").exists() else _newest_audit(out)
    found = set()
    reported = 0
    for r in audit["results"]:
        for f in r["findings"]:
            if f["status"] == "fail":
                reported += 1
                path, _, line = f["location"].rpartition(":")
                found.add((path, int(line)))
    return wall, cpu, rss, found, reported


def _newest_audit(out: Path) -> dict[str, Any]:
    newest = max(out.glob("*/audit.json"), key=lambda p: p.stat().st_mtime)
    data: dict[str, Any] = json.loads(newest.read_text())
    return data


def _record(name: str, run: Run, corpus: Corpus, benchmark: Any) -> None:
    RESULTS[name] = run
    tp = len(run.found & corpus.seeded)
    benchmark.extra_info.update({
        "median_wall_s": round(run.median, 3), "min_wall_s": round(min(run.wall), 3),
        "median_cpu_s": round(statistics.median(run.cpu), 3), "peak_rss_mib": round(run.rss_mb, 1),
        "recall": f"{tp}/{len(corpus.seeded)}",
        "precision": round(tp / run.reported, 4) if run.reported else None,
        "reported": run.reported, "files": corpus.files, "mb": round(corpus.nbytes / 1e6, 1)})


def _bench(benchmark: Any, fn: Callable[[], tuple[float, float, float, set[tuple[str, int]], int]],
           rounds: int = ROUNDS) -> Run:
    run = Run()

    def once() -> None:
        wall, cpu, rss, found, reported = fn()
        run.wall.append(wall)
        run.cpu.append(cpu)
        run.rss_mb = max(run.rss_mb, rss)
        run.found, run.reported = found, reported

    benchmark.pedantic(once, rounds=rounds, iterations=1)
    return run


def bench_scan_cold_whole_process(benchmark: Any, corpus: Corpus, tmp_path: Path) -> None:
    run = _bench(benchmark, lambda: _prodaudit(corpus, tmp_path, "--no-cache"))
    _record("cold", run, corpus, benchmark)
    assert run.found >= corpus.seeded  # recall 50/50 or the benchmark measured nothing


def bench_scan_warm_whole_process(benchmark: Any, corpus: Corpus, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _prodaudit(corpus, tmp_path, cache_dir=cache)  # fills the cache
    run = _bench(benchmark, lambda: _prodaudit(corpus, tmp_path, cache_dir=cache))
    _record("warm", run, corpus, benchmark)
    assert run.found >= corpus.seeded


def bench_scan_ripgrep_engine_whole_process(benchmark: Any, corpus: Corpus, tmp_path: Path
                                            ) -> None:
    if not shutil.which("rg"):
        pytest.skip("ripgrep (Debian package ripgrep) not installed")
    conf = tmp_path / "prodaudit.toml"
    conf.write_text('[secrets]\nengine = "ripgrep"\n', encoding="utf-8")
    run = _bench(benchmark, lambda: _prodaudit(corpus, tmp_path, "--no-cache", "--config",
                                               str(conf)))
    _record("cold, ripgrep engine", run, corpus, benchmark)
    assert run.found >= corpus.seeded


def _rg(corpus: Corpus) -> tuple[float, float, float, set[tuple[str, int]], int]:
    rg = shutil.which("rg")
    assert rg
    args = [rg, "--json", "--multiline", "--no-unicode", "--text", "--no-ignore", "--hidden",
            "--no-config"]
    for p in finder_patterns():
        args += ["-e", p]
    wall, cpu, rss, out = timed([*args, "."], cwd=corpus.root)
    found, reported = set(), 0
    for line in out.splitlines():
        ev = json.loads(line)
        if ev.get("type") == "match":
            reported += 1
            path = ev["data"]["path"]["text"].removeprefix("./")
            found.add((path, ev["data"]["line_number"]))
    return wall, cpu, rss, found, reported


def bench_ripgrep_multiline_same_rules(benchmark: Any, corpus: Corpus) -> None:
    if not shutil.which("rg"):
        pytest.skip("ripgrep (Debian package ripgrep) not installed")
    run = _bench(benchmark, lambda: _rg(corpus), rounds=max(ROUNDS, 5))
    _record("ripgrep -U", run, corpus, benchmark)
    assert run.found >= corpus.seeded


def _ds_subset(corpus: Corpus, n: int) -> list[str]:
    seeded = sorted({m["file"] for m in corpus.manifest})
    others = sorted(p.relative_to(corpus.root).as_posix() for p in corpus.root.rglob("*")
                    if p.is_file())
    rest = [p for p in others[:: max(1, len(others) // n)] if p not in seeded]
    return seeded + rest[: max(0, n - len(seeded))]


def bench_detect_secrets_subset(benchmark: Any, corpus: Corpus) -> None:
    exe = os.environ.get("PRODAUDIT_BENCH_DETECT_SECRETS") or shutil.which("detect-secrets")
    if not exe:
        pytest.skip("detect-secrets not installed (set PRODAUDIT_BENCH_DETECT_SECRETS)")
    subset = _ds_subset(corpus, int(os.environ.get("PRODAUDIT_BENCH_DS_FILES", "300")))
    nbytes = sum((corpus.root / p).stat().st_size for p in subset)

    def run_ds() -> tuple[float, float, float, set[tuple[str, int]], int]:
        wall, cpu, rss, out = timed([exe, "scan", *subset], cwd=corpus.root)
        data = json.loads(out)
        found = {(path, s["line_number"]) for path, items in data["results"].items()
                 for s in items}
        return wall, cpu, rss, found, sum(len(v) for v in data["results"].values())

    run = _bench(benchmark, run_ds, rounds=1)
    scale = corpus.nbytes / nbytes
    run.wall = [w * scale for w in run.wall]  # extrapolated to the whole corpus, by bytes
    run.cpu = [c * scale for c in run.cpu]
    _record("detect-secrets (extrapolated)", run, corpus, benchmark)
    benchmark.extra_info.update({"subset_files": len(subset), "subset_mb": round(nbytes / 1e6, 2),
                                 "extrapolation_factor": round(scale, 1)})
    assert run.reported, "detect-secrets found nothing on the seeded files"


def bench_zz_ratios(benchmark: Any, corpus: Corpus) -> None:
    """The goals of issue 13, from the rows above (printed; stored in extra_info)."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    med = {k: v.median for k, v in RESULTS.items()}
    ratios: dict[str, float] = {}
    if "cold" in med and "ripgrep -U" in med:
        ratios["cold / ripgrep -U"] = med["cold"] / med["ripgrep -U"]
    if "cold" in med and "warm" in med:
        ratios["warm / cold"] = med["warm"] / med["cold"]
    if "cold" in med and "detect-secrets (extrapolated)" in med:
        ratios["detect-secrets / cold"] = med["detect-secrets (extrapolated)"] / med["cold"]
    benchmark.extra_info.update({k: round(v, 3) for k, v in ratios.items()})
    for key, row, target in (("cold / ripgrep -U", "CFG-040 on the seeded corpus / ripgrep -U",
                              "<= 5x"),
                             ("detect-secrets / cold", "detect-secrets / CFG-040", ">= 200x"),
                             ("warm / cold", "warm rerun / cold run", "<= 0.25")):
        if key in ratios:
            goal(row, f"{ratios[key]:.2f}", target)
    if "cold" in RESULTS:
        cold = RESULTS["cold"]
        tp = len(cold.found & corpus.seeded)
        goal("recall on the seeded secrets (precision)",
             f"{tp}/{len(corpus.seeded)} ({tp / max(cold.reported, 1):.0%})", "50/50, no noise")
    lines = [f"{k:<32} median {v.median:8.3f} s  cpu {statistics.median(v.cpu):8.3f} s  "
             f"rss {v.rss_mb:6.1f} MiB  recall {len(v.found & corpus.seeded)}/{len(corpus.seeded)}"
             f"  reported {v.reported}" for k, v in RESULTS.items()]
    lines += [f"{k:<32} {v:.3f}" for k, v in ratios.items()]
    print("\n" + "\n".join(lines))
    assert RESULTS, "no row was measured"
