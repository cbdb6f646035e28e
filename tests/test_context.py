"""Context: the Docker probe is bounded even when an engine socket accepts and never answers."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest_services import require_service

import prodaudit.context as context_mod
from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.outcome import Skip
from prodaudit.ports import free_port


def test_docker_probe_is_bounded_against_a_silent_engine(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    require_service("docker CLI", shutil.which("docker") is not None, "the docker CLI is not installed")
    path = tmp_path / "silent.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)  # accepted, never answered
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    monkeypatch.setattr(context_mod, "DOCKER_PROBE_SECONDS", 1.0)
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    start = time.monotonic()
    try:
        with pytest.raises(Skip, match="did not answer within 1 s"):
            ctx.docker()
    finally:
        stop.set()
        t.join(5)
        for c in held:
            c.close()
        srv.close()
    assert time.monotonic() - start < 10


def _docker_clis() -> list[str]:
    """Every docker CLI on this machine's PATH (Debian's docker.io 20.10 in /usr/bin beside a
    newer one in /usr/local/bin, on these machines), each once."""
    seen: dict[str, str] = {}
    for d in os.environ.get("PATH", "").split(os.pathsep):
        cand = Path(d or ".") / "docker"
        if cand.is_file() and os.access(cand, os.X_OK):
            seen.setdefault(str(cand.resolve()), str(cand))
    return sorted(seen.values())


@pytest.mark.parametrize("cli", _docker_clis() or ["(none)"])
def test_no_engine_is_unreachable_whatever_the_cli_version(tmp_path: Path, cli: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With no engine at DOCKER_HOST the probe says so, with every docker CLI installed: a CLI
    20.10 answers ``docker info --format`` with exit 0 when no engine is there (the audit then
    went on to build and crashed: DEP-010 ERROR instead of SKIP)."""
    require_service("docker CLI", cli != "(none)", "no docker CLI on PATH")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").symlink_to(cli)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    with pytest.raises(Skip, match=r"no Docker engine reachable: .*(Cannot connect|exited)"):
        ctx.docker()


def test_memo_slow_fact_does_not_block_unrelated_facts(tmp_path: Path) -> None:
    """One lock per fact: while one thread builds a slow fact, another fact is built and read."""
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        entered.set()
        release.wait(30)
        return "slow-value"

    t = threading.Thread(target=lambda: ctx.memo("slow", slow), daemon=True)
    t.start()
    assert entered.wait(10)
    try:
        # the slow build holds its own lock only: an unrelated fact is available meanwhile
        assert ctx.memo("fast", lambda: "fast-value") == "fast-value"
        assert t.is_alive()
    finally:
        release.set()
        t.join(10)
    assert ctx.memo("slow", lambda: "rebuilt") == "slow-value"  # built once
    assert calls == ["slow"]


def test_memo_caches_and_reraises_exceptions(tmp_path: Path) -> None:
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("bad input")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad input"):
            ctx.memo("broken", broken)
    assert calls == [1]


def test_memo_concurrent_callers_build_once(tmp_path: Path) -> None:
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    calls: list[int] = []
    gate = threading.Barrier(4)

    def build() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 42

    results: list[int] = []

    def worker() -> None:
        gate.wait(10)
        results.append(ctx.memo("shared", build))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [42] * 4
    assert calls == [1]


def test_reachability_probe_waits_for_a_target_starting_in_the_background(tmp_path: Path) -> None:
    """The target's server starts only when ``target_ready`` runs (as a background start ends):
    a check that asks ``need_live`` early (one that declares only "repo", e.g. RDY-055) must not
    record the target as unreachable for the whole run."""
    import asyncio
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    # bound now (the port is ours), listening only once ready() runs: no port race
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Ok, bind_and_activate=False)
    srv.server_bind()
    port = srv.server_port
    serving: list[threading.Thread] = []

    def ready() -> BaseException | None:
        time.sleep(0.3)  # still starting when the first check asks
        srv.server_activate()
        serving.append(threading.Thread(target=srv.serve_forever, daemon=True))
        serving[0].start()
        return None

    cfg = load_config({"repo": tmp_path, "output": tmp_path / "out", "start_target": False,
                       "base_url": f"http://127.0.0.1:{port}"})
    ctx = Context(cfg, target_ready=ready)
    try:
        assert asyncio.run(ctx.need_live()) is None
        assert ctx.live_probe["live"].status == 200
    finally:
        if serving:
            srv.shutdown()
        srv.server_close()


def test_reachability_probe_reports_a_target_that_did_not_start(tmp_path: Path) -> None:
    import asyncio

    cfg = load_config({"repo": tmp_path, "output": tmp_path / "out", "start_target": False,
                       "base_url": f"http://127.0.0.1:{free_port()}"})
    ctx = Context(cfg, target_ready=lambda: RuntimeError("uvicorn exited with 1"))
    reason = asyncio.run(ctx.need_live())
    assert reason == "the reference target did not start: uvicorn exited with 1", reason
    assert "live" not in ctx.live_probe  # nothing was sent to a target known to be down


def test_settle_drops_what_only_checks_read_and_builds_the_deferred_exports(tmp_path: Path) -> None:
    ctx = Context(load_config({"start_target": False, "output": tmp_path}))
    files = ctx.files
    ctx.memo("product:heavy", lambda: ["a large fact"])
    built: list[str] = []

    def export() -> dict[str, int]:
        built.append("graph")
        return {"variables": 2}

    ctx.export_later("graph", export)
    ctx.export_later("graph", export)  # published by several checks: built once
    ctx.export("plain", 1)
    assert "graph" not in ctx.facts and built == []
    facts = ctx.settle()
    assert facts == {"plain": 1, "graph": {"variables": 2}} and built == ["graph"]
    assert ctx.peek("product:heavy") is None  # dropped: only checks read it
    assert ctx.peek("files") is files  # the reports' source map still reads the file index
    assert ctx.settle() == facts and built == ["graph"]  # nothing is built twice
