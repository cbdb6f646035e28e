"""The hostile-server matrix: the real CLI against servers that are dead, silent, slow, garbled,
redirecting, erroring, enormous or on the wrong protocol (issue 11, "Done when").

For every server: the exit code, the decision (never GO; NO-GO when the backend does not
answer or its liveness endpoint is down), every selected check reported, no live check PASS
where no answer exercised it, and the wall time within a bound computed from the configuration
passed in. Timeouts and budgets are small so the whole matrix stays quick."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from servers.bad import bad_server

from prodaudit.model import SUITES
from prodaudit.ports import free_port
from prodaudit.registry import load_checks

TIMEOUT = 1.0  # --timeout: per request
CHECK_TIMEOUT = 60.0
PROBES = {"max_requests": 10, "max_seconds": 2.0}
RATE_LIMIT = {"max_requests": 5, "max_seconds": 3.0}
PERF = {"requests": 10, "concurrency": 2, "max_seconds": 2.0}
CONCURRENCY = 8
LIVE_NEEDS = {"live", "frontend", "target"}

# (name, bad_server mode, tls, https url to a plain server)
SERVERS = {
    "closed port": ("closed", False, False),
    "garbage (not HTTP)": ("raw", False, False),
    "garbage HTTP 200": ("garbage", False, False),
    "silent": ("hang", False, False),
    "slow drip": ("drip", False, False),
    "redirect loop": ("redirect", False, False),
    "redirect only (302 to everything)": ("redirect-all", False, False),
    "50 MB body": ("huge", False, False),
    "endless body": ("endless", False, False),
    "plain HTTP where TLS is expected": ("minimal", False, True),
    "self-signed TLS": ("minimal", True, False),
    "500 storm (liveness answers, nothing else)": ("storm", False, False),
    "error only (500 to everything)": ("error", False, False),
    "stalls after the root": ("stall", False, False),
}
# the backend does not answer, or its liveness endpoint answers 5xx or nothing: NO-GO
DOWN = {
    "closed port", "garbage (not HTTP)", "silent", "slow drip",
    "plain HTTP where TLS is expected", "error only (500 to everything)", "stalls after the root",
}  # fmt: skip
# servers with a real liveness answer: some checks legitimately observe something
SOME_ANSWER = {"self-signed TLS", "500 storm (liveness answers, nothing else)"}


@contextmanager
def _server(name: str) -> Iterator[str]:
    mode, tls, https = SERVERS[name]
    if mode == "closed":
        yield f"http://127.0.0.1:{free_port()}"
        return
    with bad_server(mode, tls=tls) as url:
        yield url.replace("http://", "https://") if https else url


def _repo(tmp: Path) -> Path:
    """A tiny repository whose prodaudit.toml carries the matrix's bounds."""
    repo = tmp / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n", encoding="utf-8")
    lines = [f"request_timeout = {TIMEOUT}", f"check_timeout = {CHECK_TIMEOUT}",
             f"concurrency = {CONCURRENCY}"]
    for section, values in (("probes", PROBES), ("rate_limit", RATE_LIMIT), ("perf", PERF)):
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
    (repo / "prodaudit.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return repo


def _bound(selected: int, exclusive: int) -> float:
    """The wall-time bound the configuration promises, generously: every check's requests stop
    after its budget's seconds plus one request deadline (2 × timeout + 1), and a check may also
    wait for one shared discovery step and one memoised probe of another check, each bounded the
    same way; checks run ``concurrency`` at a time, the exclusive ones one by one. Plus a fixed
    allowance for start-up and the static suites on a tiny repository."""
    deadline = 2 * TIMEOUT + 1
    per_check = 3 * (max(PROBES["max_seconds"], RATE_LIMIT["max_seconds"],
                         PERF["max_seconds"] + PROBES["max_seconds"]) + deadline)
    rounds = math.ceil((selected - exclusive) / CONCURRENCY) + exclusive
    return 60.0 + rounds * per_check


def _cli(repo: Path, out: Path, url: str, *extra: str) -> tuple[int, dict[str, Any], float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "prodaudit.cli", "run", "--repo", str(repo), "--base-url", url,
         "--no-start", "--timeout", str(TIMEOUT), "--output", str(out), "--format", "json", "-q",
         *extra],
        capture_output=True, text=True, timeout=900, check=False,
    )
    took = time.monotonic() - start
    reports = sorted(p for p in out.iterdir() if p.is_dir() and p.name != "latest")
    assert reports, proc.stderr
    data = json.loads((reports[-1] / "audit.json").read_text(encoding="utf-8"))
    return proc.returncode, data, took, proc.stdout + proc.stderr


def _specs(only: list[str] | None) -> list[Any]:
    return load_checks().select(list(SUITES), only or [], [])


@pytest.mark.parametrize("name", list(SERVERS))
def test_hostile_server(name: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    live_ids = {s.id for s in _specs(None) if s.needs & LIVE_NEEDS}
    with _server(name) as url:
        # the live suites: the decision is theirs alone
        code, data, took, out = _cli(repo, tmp_path / "live", url, "--suite", "all",
                                     "--only", "FUN,SEC", "--fail-on", "no-go")
        whole = _cli(repo, tmp_path / "all", url, "--suite", "all")
    selected = _specs(["FUN", "SEC"])
    results = {r["id"]: r for r in data["results"]}
    assert set(results) == {s.id for s in selected}, out  # every selected check reported
    assert data["decision"] != "GO", (name, data["decision_reasons"])
    assert "crashed" not in json.dumps(data["results"]), out
    live = results["FUN-001"]
    if name in DOWN:
        assert data["decision"] == "NO-GO" and code == 1, (name, data["decision_reasons"])
        assert live["status"] == "fail", live
        assert any(f["severity"] == "critical" and f["evidence"] for f in live["findings"]), live
    else:  # the backend answers: its verdict comes from what the checks observed
        assert code in (0, 1), (name, code)  # --fail-on no-go: CONDITIONAL GO exits 0
    if name not in SOME_ANSWER:  # nothing ever answered usefully: nothing may pass
        passed = [r["id"] for r in data["results"] if r["id"] in live_ids and r["status"] == "pass"]
        assert not passed, (name, passed)
    exclusive = sum(1 for s in selected if s.exclusive)
    assert took < _bound(len(selected), exclusive), (name, took)
    # the whole audit (every suite, a tiny repository): every check reported, never GO
    code_all, data_all, took_all, out_all = whole
    assert len(data_all["results"]) == len(_specs(None)), out_all
    assert data_all["decision"] != "GO" and code_all in (1, 2), (name, code_all)
    if name not in SOME_ANSWER:
        passed = [r["id"] for r in data_all["results"]
                  if r["id"] in live_ids and r["status"] == "pass"]
        assert not passed, (name, passed)
    every = _specs(None)
    assert took_all < _bound(len(every), sum(1 for s in every if s.exclusive)), (name, took_all)
    # the ledger counted what was sent and the console said so
    requests = data_all["requests"]
    assert requests["total"] == sum(sum(m.values()) for m in requests["by_check"].values())
    assert "Requests sent:" in out_all
