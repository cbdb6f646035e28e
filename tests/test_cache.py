"""The content-hash cache: hits, invalidation by content and by rules version, the stat index,
concurrent runs, the size bound, --no-cache, and what the report says came from it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import audit_target

from prodaudit.cache import Cache, cache_dir
from prodaudit.checks.config import _scan_engine
from prodaudit.checks.config._scan_engine import TreeScan, scan_tree
from prodaudit.cli import build_parser, config_from_args
from prodaudit.files import FileIndex
from prodaudit.model import AuditRun


def run_cfg(repo: Path, tmp_path: Path, **cfg: object) -> AuditRun:
    return audit_target(None, tmp_path, suites=["config"], repo=repo, **cfg)


KEY = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"


def _tree(root: Path, n: int = 20) -> list[str]:
    for i in range(n):
        (root / f"m{i}.py").write_text(f"VALUE_{i} = {i}\n", encoding="utf-8")
    (root / "leak.py").write_text(f'TOKEN = "{KEY}"\n', encoding="utf-8")
    past = time.time() - 3600  # older than the racy window: the stat index may trust them
    for p in root.iterdir():
        os.utime(p, (past, past))
    return sorted(p.name for p in root.iterdir())


def _scan(root: Path, files: list[str], cache: Cache | None) -> TreeScan:
    return scan_tree(root, files, allow="prodaudit: allow", cap=2_000_000, cache=cache)


def _hits(t: TreeScan) -> list[tuple[str, int, str, str]]:
    return [(h.path, h.line, h.rule, h.secret) for r in t.results.values() for h in r.hits]


def test_warm_scan_comes_from_the_cache_with_the_same_hits(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root)
    cache = Cache(tmp_path / "cache")
    cold = _scan(root, files, cache)
    assert cold.from_cache == 0 and _hits(cold) == [("leak.py", 1, "github-token", KEY)]

    read: list[str] = []
    real = _scan_engine._Scanner.process
    monkeypatch.setattr(_scan_engine._Scanner, "process",
                        lambda self, j: read.append(j.rel) or real(self, j))
    warm = _scan(root, files, cache)
    assert warm.from_cache == len(files) and _hits(warm) == _hits(cold)
    assert read == []  # the stat index spared every read but the hit's (to recover the value)


def test_content_change_and_rules_version_invalidate(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root)
    cache = Cache(tmp_path / "cache")
    _scan(root, files, cache)
    (root / "m3.py").write_text(f'SECRET = "{KEY}"\n', encoding="utf-8")  # new content
    second = _scan(root, files, cache)
    assert second.from_cache == len(files) - 1
    assert ("m3.py", 1, "github-token", KEY) in _hits(second)
    assert not second.results["m3.py"].cached

    (root / "m3.py").write_text("VALUE_3 = 3\n", encoding="utf-8")  # back to the old content
    assert _scan(root, files, cache).results["m3.py"].cached  # found by its content hash

    monkeypatch.setattr(_scan_engine, "rules_version", lambda: "another-rules-version")
    assert _scan(root, files, cache).from_cache == 0


def test_a_git_repository_is_stat_once_per_file_and_a_change_still_rescans(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file index's own ``lstat`` of a listed file is the scan's stat: a warm run on a git
    repository makes one stat system call per file, and the index of a changed tree still
    brings the changed file back to the judge."""
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root)
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True, timeout=60)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True, timeout=60)
    cache = Cache(tmp_path / "cache")

    def scan_indexed() -> TreeScan:
        idx = FileIndex.build(root)
        assert idx.git and idx.files == files and set(idx.stats) == set(files)
        return scan_tree(root, idx.files, allow="prodaudit: allow", cap=2_000_000, cache=cache,
                         stats=idx.stats)

    cold = scan_indexed()
    calls: list[str] = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda p, *a, _real=real, **k: calls.append(
            os.path.basename(os.fspath(p))) or _real(p, *a, **k))
    warm = scan_indexed()
    monkeypatch.undo()
    assert warm.from_cache == len(files) and _hits(warm) == _hits(cold)
    assert sorted(c for c in calls if c in files) == files  # each file once: the index's lstat

    (root / "m3.py").write_text(f'SECRET = "{KEY}"\n', encoding="utf-8")
    changed = scan_indexed()
    assert ("m3.py", 1, "github-token", KEY) in _hits(changed)
    assert not changed.results["m3.py"].cached and changed.from_cache == len(files) - 1


def test_a_cached_result_whose_value_no_longer_matches_is_rescanned(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    files = _tree(root)
    cache = Cache(tmp_path / "cache")
    _scan(root, files, cache)
    st = (root / "leak.py").stat()
    other = "ghp_" + "Zz9" * 12
    (root / "leak.py").write_text(f'TOKEN = "{other}"\n', encoding="utf-8")  # same size
    os.utime(root / "leak.py", ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    got = _scan(root, files, cache)
    assert ("leak.py", 1, "github-token", other) in _hits(got)  # ctime/inode or value check


def test_no_value_is_stored_in_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    cache = Cache(tmp_path / "cache")
    _scan(root, _tree(root), cache)
    cache.close()
    for p in (tmp_path / "cache").iterdir():
        assert KEY.encode() not in p.read_bytes(), p.name


CONCURRENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from prodaudit.cache import Cache
    from prodaudit.checks.config._scan_engine import scan_tree
    root = Path(sys.argv[1])
    files = sorted(p.name for p in root.iterdir())
    for _ in range(3):
        t = scan_tree(root, files, allow="", cap=10**6, cache=Cache(Path(sys.argv[2])))
        assert sum(len(r.hits) for r in t.results.values()) == 1, t
    print("ok")
""")


def test_concurrent_runs_share_the_cache_safely(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _tree(root, n=300)
    where = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(root), str(where)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
    db = sqlite3.connect(where / "cache.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # one entry per file content (+ whole-tree entries once the files are past the racy window)
    assert db.execute("SELECT COUNT(*) FROM entries WHERE key NOT LIKE '%:tree:%'"
                      ).fetchone()[0] == 301


def test_size_bound_evicts_the_least_recently_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", max_bytes=50_000)
    for i in range(100):
        cache.put("ns", f"old{i}", b"x" * 1000)
    cache.flush()
    time.sleep(0.01)
    for i in range(20):
        cache.put("ns", f"new{i}", b"y" * 1000)
    cache.flush()
    db = sqlite3.connect(tmp_path / "cache" / "cache.sqlite3")
    total = db.execute("SELECT SUM(size) FROM entries").fetchone()[0]
    assert total <= 50_000
    assert len(cache.get_many("ns", [f"new{i}" for i in range(20)])) == 20
    assert cache.get("ns", "old0") is None


def test_cache_location_and_an_unusable_directory(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRODAUDIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "prodaudit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "prodaudit"
    (tmp_path / "blocked").write_text("a file, not a directory", encoding="utf-8")
    assert Cache.open(root=tmp_path / "blocked" / "cache") is None  # a warning, not a crash
    assert Cache.open(enabled=False) is None


def test_no_cache_option_and_the_report_says_what_came_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = build_parser().parse_args(["run", "--no-cache", "--repo", str(tmp_path)])
    assert config_from_args(ns).cache is False
    assert config_from_args(build_parser().parse_args(["run", "--repo", str(tmp_path)])).cache
    repo = tmp_path / "repo"
    repo.mkdir()
    files = _tree(repo)
    monkeypatch.setenv("PRODAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    off = run_cfg(repo, tmp_path, only=["CFG-040"], cache=False)
    assert off.facts["secret_scan"]["cache"] == "disabled"
    assert not (tmp_path / "cache").exists()
    run_cfg(repo, tmp_path, only=["CFG-040"])
    warm = run_cfg(repo, tmp_path, only=["CFG-040"])
    fact = warm.facts["secret_scan"]
    assert fact["from_cache"] == fact["scanned"] == len(files), fact
    # one hit per file, or one for the whole unchanged tree (files past the racy window)
    assert fact["cache"]["namespaces"]["secret-scan"]["hits"] >= 1
    summary = fact["summary"]
    assert f"{len(files)} files scanned, {len(files)} from the cache" in summary
