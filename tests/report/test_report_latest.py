"""``reports/latest`` is replaced atomically, also when several runs finish at the same moment:
unique temporary names and ``os.replace``, no shared temp name and no copytree fallback that
races (issue 11)."""

from __future__ import annotations

import multiprocessing
import os
import traceback
from pathlib import Path

from prodaudit.report import point_latest

WORKERS = 6
ROUNDS = 60


def _worker(output: str, name: str, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out = Path(output)
    try:
        for _ in range(ROUNDS):
            point_latest(out, out / name)
            target = os.readlink(out / "latest")  # a reader sees a complete link at any moment
            assert (out / target / "audit.json").is_file(), target
    except BaseException:
        errors.put(f"{name}: {traceback.format_exc()}")


def test_concurrent_runs_leave_a_consistent_latest(tmp_path: Path) -> None:
    names = [f"20260101T00000{i}Z-run{i}" for i in range(WORKERS)]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "audit.json").write_text("{}")
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), n, errors)) for n in names]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == [], problems[0]
    assert all(p.exitcode == 0 for p in procs)
    latest = tmp_path / "latest"
    assert latest.is_symlink() and os.readlink(latest) in names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, "latest"])  # no temp left


def test_a_latest_directory_from_a_copy_is_replaced_by_the_link(tmp_path: Path) -> None:
    run = tmp_path / "20260101T000000Z-new"
    run.mkdir()
    (run / "audit.json").write_text("{}")
    old = tmp_path / "latest"
    old.mkdir()
    (old / "audit.json").write_text('{"old": true}')
    point_latest(tmp_path, run)
    assert os.readlink(tmp_path / "latest") == run.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20260101T000000Z-new", "latest"]
