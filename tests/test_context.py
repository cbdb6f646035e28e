"""Context: the Docker probe is bounded even when an engine socket accepts and never answers."""

from __future__ import annotations

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
