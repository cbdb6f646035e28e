"""Shared fixtures: real reference targets on free ports. The plain helpers (``audit_target``,
``result``, ``ci``) live in ``tests/helpers.py`` and are re-exported here for the test modules
that import them from ``conftest``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from helpers import audit_target, ci, result

from prodaudit.target import ReferenceTarget

__all__ = ["StartTarget", "audit_target", "ci", "result"]

# every check id must be seen failing or warning in a whole-suite run (issue 18, check_outcomes.py)
pytest_plugins = ["check_outcomes"]

StartTarget = Callable[..., ReferenceTarget]


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests never read or write the user's cache (~/.cache/prodaudit): one per session."""
    saved = os.environ.get("PRODAUDIT_CACHE_DIR")
    os.environ["PRODAUDIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("prodaudit-cache"))
    yield
    if saved is None:
        os.environ.pop("PRODAUDIT_CACHE_DIR", None)
    else:
        os.environ["PRODAUDIT_CACHE_DIR"] = saved


@pytest.fixture(autouse=True, scope="session")
def _package_index_on_loopback() -> Iterator[None]:
    """CFG-067 never asks pypi.org from the tests: the default package index is a closed port on
    127.0.0.1 (SKIP "unreachable"); its tests serve their own index and name it in the config."""
    import socket

    saved = os.environ.get("PRODAUDIT_PACKAGE_INDEX")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/simple/"
    os.environ["PRODAUDIT_PACKAGE_INDEX"] = closed
    yield
    if saved is None:
        os.environ.pop("PRODAUDIT_PACKAGE_INDEX", None)
    else:
        os.environ["PRODAUDIT_PACKAGE_INDEX"] = saved


@pytest.fixture
def pypi_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """pip-audit's vulnerability service, as the audit's shared probe sees it, answered on
    127.0.0.1 like PyPI's JSON API (the real one is not reachable from the tests)."""
    import http.server
    import threading

    import prodaudit.context as context_mod

    class Release(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = b'{"info": {"name": "pip"}, "urls": [], "vulnerabilities": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Release)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/pypi/pip/24.0/json"
    judge = context_mod.NETWORK_SERVICES["pypi"][1]
    monkeypatch.setitem(context_mod.NETWORK_SERVICES, "pypi", (url, judge))
    yield url
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def start_target() -> Iterator[StartTarget]:
    """Factory: ``start_target(flaws="cors-reflect-origin", REDIS_URL=...)`` starts a reference
    target (API, frontend, fake LLM provider) and stops it after the test."""
    started: list[ReferenceTarget] = []

    def _start(flaws: str = "", *, frontend: bool = True, **overrides: str) -> ReferenceTarget:
        t = ReferenceTarget(flaws=flaws, overrides=overrides, frontend=frontend)
        t.start()
        started.append(t)
        return t

    yield _start
    for t in started:
        t.stop()


@pytest.fixture(scope="session")
def hardened_target() -> Iterator[ReferenceTarget]:
    """One hardened reference target shared by read-only tests."""
    with ReferenceTarget(flaws="") as t:
        yield t
