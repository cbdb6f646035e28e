"""A repository of 100 000 files: the whole config suite runs, reports, and logs progress."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from cfg_helpers import describe, res, run_cfg

from prodaudit.model import Status


@pytest.mark.slow
def test_hundred_thousand_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = tmp_path / "big"
    for d in range(200):
        sub = repo / f"pkg{d}"
        sub.mkdir(parents=True)
        for i in range(500):
            (sub / f"m{i}.py").write_text(f"VALUE_{i} = {i}\n\n\ndef f(x):\n    return x\n",
                                          encoding="utf-8")
    (repo / "pkg3/settings.py").write_text('import os\nTOKEN = os.environ["API_TOKEN"]\n',
                                           encoding="utf-8")
    os.symlink("..", repo / "pkg5/loop")  # a symlink loop inside the big tree
    caplog.set_level(logging.INFO, logger="prodaudit.config")
    t0 = time.monotonic()
    run = run_cfg(repo, tmp_path, skip=["CFG-063"])
    elapsed = time.monotonic() - t0
    assert len(run.results) >= 40
    r5 = res(run, "CFG-005")
    assert r5.status is Status.PASS and "100001 files indexed" in r5.findings[0].message
    r40 = res(run, "CFG-040")
    assert r40.status is Status.PASS and "100001 files scanned" in r40.findings[0].message
    r2 = res(run, "CFG-002")
    assert r2.status is Status.FAIL and [f.location for f in r2.findings] == ["pkg3/settings.py:2"], \
        describe(r2)
    progress = [m for m in caplog.messages if "files" in m and "/100001" in m]
    assert any(m.startswith("secret scan: 100000/") for m in progress)
    assert any(m.startswith("variable graph: 100000/") for m in progress)
    assert elapsed < 180, f"{elapsed:.0f} s"
