"""Servers started on a port picked in advance survive another process taking that port between
the pick and the bind (prodaudit.ports): they start again on another port, a bounded number of
times, with a clear error after the last."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from helpers import stop_process

from prodaudit import ports
from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.errors import TargetError
from prodaudit.ports import PortInUse, on_free_port, retry_ports
from prodaudit.target import ReferenceTarget, wait_http


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port another process has: a socket listening on it (it never answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.fixture
def impostor() -> Iterator[int]:
    """A port held by a server that answers 200 to everything (not the one being started)."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(srv.server_port)
    finally:
        srv.shutdown()
        srv.server_close()


def _picks(monkeypatch: pytest.MonkeyPatch, *first: int) -> list[int]:
    """``ports.free_port`` hands out ``first`` before real free ports; the ports it gave."""
    given: list[int] = []
    queue = list(first)
    real = ports.free_port

    def pick() -> int:
        given.append(queue.pop(0) if queue else real())
        return given[-1]

    monkeypatch.setattr(ports, "free_port", pick)
    return given


StartHttp = Callable[[int], tuple[subprocess.Popen[bytes], int]]


def _http_server(tmp_path: Path) -> tuple[StartHttp, list[subprocess.Popen[bytes]]]:
    """A start function: ``python -m http.server`` on the port, waited for; (process, port)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
        log = tmp_path / f"http-{len(procs)}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                     "127.0.0.1"], cwd=tmp_path, stdout=fh,
                                    stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{port}/", 20, proc, log)
        return proc, port

    return start, procs


def test_a_subprocess_server_moves_off_a_taken_port(
        occupied: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = _picks(monkeypatch, occupied)
    start, procs = _http_server(tmp_path)
    try:
        proc, port = on_free_port(start, what="http.server")
        assert given[0] == occupied and port == given[1] != occupied
        assert procs[0].wait(10) != 0  # the first one could not bind and exited
        assert "address already in use" in (tmp_path / "http-0.log").read_text().lower()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        assert proc.poll() is None
    finally:
        for p in procs:
            stop_process(p)


def test_a_port_answered_by_another_server_is_not_taken_for_ours(
        impostor: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The impostor answers 200 at once: waiting for an answer alone would take it for the
    server just started."""
    _picks(monkeypatch, impostor)
    start, procs = _http_server(tmp_path)
    try:
        _, port = on_free_port(start, what="http.server")
        assert port != impostor
    finally:
        for p in procs:
            stop_process(p)


def test_after_the_last_attempt_a_clear_error(occupied: int, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _picks(monkeypatch, occupied, occupied, occupied)
    start, procs = _http_server(tmp_path)
    try:
        with pytest.raises(TargetError) as err:
            on_free_port(start, what="http.server")
    finally:
        for p in procs:
            stop_process(p)
    assert not isinstance(err.value, PortInUse)
    assert str(err.value) == ("http.server: no port could be bound in 3 attempts (taken by other "
                              f"processes: {occupied}, {occupied}, {occupied})")
    assert len(procs) == 3


def test_an_in_process_bind_is_retried(occupied: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _picks(monkeypatch, occupied)

    def bind(port: int) -> socket.socket:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            raise
        return s

    with on_free_port(bind, what="socket") as s:
        assert s.getsockname()[1] != occupied


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def start() -> None:
        calls.append(1)
        raise TargetError("the server crashed")

    with pytest.raises(TargetError, match="crashed"):
        retry_ports(start, what="x")
    assert calls == [1]


def test_the_reference_target_moves_off_a_taken_port(
        occupied: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's port is taken: it starts on another one; its URL, the frontend's API address and
    the env file follow, the credentials stay."""
    _picks(monkeypatch, occupied)  # prepare() picks the API's port first
    t = ReferenceTarget(flaws="")
    t.prepare()
    assert t.api_port == occupied
    secret = t.env["JWT_SECRET"]
    with t:
        assert t.api_port != occupied
        assert httpx.get(t.base_url + "/health", timeout=10).status_code == 200
        assert httpx.get(str(t.frontend_url) + "/", timeout=10).status_code == 200
        assert t.env["JWT_SECRET"] == secret
        text = t.env_file.read_text()
        assert f"LLM_BASE_URL={t.provider_url}/v1" in text and f"JWT_SECRET={secret}" in text
        assert sum(p.name == "api" for p in t.processes) == 1


def test_a_port_the_caller_gave_is_not_moved(occupied: int) -> None:
    t = ReferenceTarget(flaws="", frontend=False, provider=False, api_port=occupied)
    with pytest.raises(TargetError, match=f"port {occupied} is taken.*the port was given"):
        t.start()


def test_the_audit_reads_the_target_urls_again_once_it_is_up(tmp_path: Path) -> None:
    """A target started in the background that moved: the checks that wait for it see where."""
    cfg = load_config({"repo": tmp_path, "output": tmp_path / "out", "start_target": False,
                       "base_url": "http://127.0.0.1:1", "frontend_url": "http://127.0.0.1:2"})
    moved = {"base_url": "http://127.0.0.1:3", "frontend_url": "http://127.0.0.1:2"}
    ctx = Context(cfg, target_ready=lambda: None, target_urls=lambda: moved)
    assert ctx.cfg.base_url == "http://127.0.0.1:1"
    assert asyncio.run(ctx.target_started()) is None
    assert ctx.cfg.base_url == "http://127.0.0.1:3" and ctx.cfg.frontend_url == "http://127.0.0.1:2"
    assert ctx.cfg.repo == cfg.repo
