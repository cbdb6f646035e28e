"""Starting the probe test servers: the FastAPI app in a thread, the Django project in a
subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import stop_process

from prodaudit.model import CheckResult, Finding, Status
from prodaudit.ports import on_free_port, wait_listening

SERVERS = Path(__file__).resolve().parents[2] / "servers"


@contextmanager
def django_server(*, debug: bool, hosts: str = "*") -> Iterator[str]:
    """The one-file Django project (tests/servers/django_app.py) on a free port."""
    pytest.importorskip("django")

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
        proc = subprocess.Popen([sys.executable, str(SERVERS / "django_app.py"), str(port),
                                 "1" if debug else "0", hosts],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_listening("the Django test server", port, proc, 30,
                           lambda: proc.stderr.read().decode() if proc.stderr else "")
        except BaseException:
            stop_process(proc)
            raise
        return proc, port

    proc, port = on_free_port(start, what="the Django test server")  # another port if taken
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def of(r: CheckResult, status: Status) -> list[Finding]:
    return [f for f in r.findings if f.status is status]


def everything(r: CheckResult) -> str:
    """Every message, location and evidence of a result (to assert a secret never appears)."""
    return "\n".join(f"{f.message}\n{f.location}\n{f.evidence}" for f in r.findings) + r.reason
