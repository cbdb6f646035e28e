"""End to end through the real CLI: the reference target started by the audit itself."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from prodaudit.config import PROJECT_ROOT
from prodaudit.target import free_port

REPORTS = ("audit.json", "production-readiness.md", "security-audit.md",
           "configuration-validation.md", "test-results-summary.md")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODAUDIT_AUDIT", "ULTRA_"))}
    env.update(extra)
    return env


def load(out: Path) -> dict:
    return json.loads((out / "latest" / "audit.json").read_text())


def test_unreachable_base_url_still_runs_static_checks_and_reports(tmp_path: Path) -> None:
    closed = free_port()
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "prodaudit.cli", "run", "--base-url", f"http://127.0.0.1:{closed}",
         "--output", str(out), "--skip", "DEP", "-q"],
        capture_output=True, text=True, timeout=600, env=cli_env(), cwd=PROJECT_ROOT,
    )
    assert proc.returncode in (1, 2), proc.stderr
    data = load(out)
    for name in REPORTS:
        assert (out / "latest" / name).is_file(), name
    live = [r for r in data["results"] if r["suite"] in ("functional", "security")]
    assert live, "no live checks ran"
    for r in live:
        assert r["status"] in ("skip", "error"), r
        assert r["reason"], r
    unreachable = [r for r in live if "unreachable" in r["reason"]]
    assert unreachable, [r["reason"] for r in live]
    static = [r for r in data["results"] if r["suite"] == "config"]
    assert static and any(r["status"] in ("pass", "fail", "warn") for r in static)
    assert data["decision"] != "GO"


def test_ctrl_c_stops_the_reference_target(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodaudit.cli", "run", "--suite", "functional",
         "--output", str(tmp_path / "r")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=PROJECT_ROOT,
    )
    url = None
    deadline = time.monotonic() + 90
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"api (http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "the audit did not report the started target"
    assert httpx.get(url + "/health", timeout=5).status_code == 200
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/health", timeout=2)
