"""1. Repository file index and the config suite's secret scan (CFG-040/041) on generated trees.

Warm page cache: each tree is written just before it is measured, so these are CPU numbers, not
disk numbers. The 100,000-file tree is indexed and scanned once (``pedantic(rounds=1)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from treegen import Tree

from prodaudit.checks.config.secrets_scan import ScanResult, scan
from prodaudit.config import AuditConfig
from prodaudit.context import Context
from prodaudit.files import FileIndex


def _index_and_scan(tree: Tree) -> ScanResult:
    """What CFG-040 does on a fresh audit: one walk, then one pass over every file."""
    ctx = Context(AuditConfig(repo=tree.root, cache=False))  # the scan, not the cache
    return scan(ctx)


def _check_scan(res: ScanResult, tree: Tree) -> None:
    rules = [h.rule for h in res.hits]
    assert rules.count("aws-access-key") == tree.planted
    assert rules.count("github-token") == tree.planted
    assert res.scanned + res.skipped_binary == tree.files
    assert res.skipped_binary == tree.binaries


@pytest.mark.parametrize("size", ["1k", "10k"])
def bench_file_index(benchmark: Any, record: Callable[..., None],
                     tree_factory: Callable[[str], Tree], size: str) -> None:
    tree = tree_factory(size)
    idx = benchmark(FileIndex.build, tree.root)
    assert len(idx.files) == tree.files and not idx.git
    record(files=tree.files, nbytes=tree.bytes)


@pytest.mark.parametrize("size", ["1k", "10k"])
def bench_index_and_secret_scan(benchmark: Any, record: Callable[..., None],
                                tree_factory: Callable[[str], Tree], size: str) -> None:
    tree = tree_factory(size)
    rounds = 10 if size == "1k" else 3
    res = benchmark.pedantic(_index_and_scan, args=(tree,), rounds=rounds, iterations=1,
                             warmup_rounds=1)
    _check_scan(res, tree)
    record(files=tree.files, nbytes=tree.bytes)


def bench_index_and_secret_scan_100k_once(benchmark: Any, record: Callable[..., None],
                                          tree_factory: Callable[[str], Tree]) -> None:
    tree = tree_factory("100k")
    res = benchmark.pedantic(_index_and_scan, args=(tree,), rounds=1, iterations=1)
    _check_scan(res, tree)
    record(files=tree.files, nbytes=tree.bytes)
