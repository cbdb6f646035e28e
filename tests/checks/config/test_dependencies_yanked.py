"""CFG-067 against a real package index on 127.0.0.1 (a threaded HTTP server answering the PEP 691
JSON simple API), never pypi.org."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cfg_helpers import describe, fails, res, run_cfg

from prodaudit.model import Status

ACCEPT = "application/vnd.pypi.simple.v1+json"


def _file(name: str, version: str, yanked: bool | str = False, kind: str = "sdist") -> dict[str, Any]:
    filename = (f"{name}-{version}.tar.gz" if kind == "sdist"
                else f"{name.replace('-', '_')}-{version}-py3-none-any.whl")
    return {"filename": filename, "url": f"https://files.example/{filename}", "hashes": {},
            "yanked": yanked}


#: canonical name -> the PEP 691 project page the index answers
PAGES: dict[str, dict[str, Any]] = {
    "sqlalchemy-utils": {"meta": {"api-version": "1.1"}, "name": "sqlalchemy-utils",
                         "versions": ["0.36.7", "0.36.8", "0.37.8"],
                         "files": [_file("SQLAlchemy-Utils", "0.36.7", "Wrong required python"),
                                   _file("SQLAlchemy-Utils", "0.36.8", "Wrong required python"),
                                   _file("SQLAlchemy-Utils", "0.37.8")]},
    "fastapi": {"meta": {"api-version": "1.0"}, "name": "fastapi",
                "files": [_file("fastapi", "0.110.0"), _file("fastapi", "0.110.0", kind="wheel"),
                          # one yanked wheel among files that are not: the version is not yanked
                          _file("fastapi", "0.111.0", "bad wheel", kind="wheel"),
                          _file("fastapi", "0.111.0")]},
    "starlette": {"meta": {"api-version": "1.0"}, "name": "starlette",
                  "files": [_file("starlette", "0.40.0", True, kind="wheel")]},
}


class Index(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]
    html_only: bool = False
    broken: bool = False


class Handler(BaseHTTPRequestHandler):
    server: Index

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append((self.path, self.headers.get("Accept", "")))
        name = self.path.strip("/").split("/")[-1]
        if self.server.broken and name != "pip":
            self._send(200, b"{ not json", ACCEPT)
        elif self.server.html_only:
            self._send(200, b"<html><body>links</body></html>", "text/html")
        elif name in PAGES:
            self._send(200, json.dumps(PAGES[name]).encode(), ACCEPT)
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def index() -> Iterator[Index]:
    server = Index(("127.0.0.1", 0), Handler)
    server.requests = []
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: Index) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/simple/"


def _repo(root: Path, requirements: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    return root


def _lookups(server: Index) -> list[str]:
    return [p for p, _ in server.requests if not p.endswith("/pip/")]


def test_yanked_pin_fails_at_its_line(tmp_path: Path, index: Index) -> None:
    repo = _repo(tmp_path / "r", "fastapi==0.110.0\n# db\nSQLAlchemy-Utils==0.36.8\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r.status is Status.FAIL, describe(r)
    [f] = fails(r)
    assert f.location == "requirements.txt:3"
    assert "sqlalchemy-utils 0.36.8 is yanked" in f.message and "Wrong required python" in f.message
    assert all(accept == ACCEPT for path, accept in index.requests if not path.endswith("/pip/"))
    assert sorted(_lookups(index)) == ["/simple/fastapi/", "/simple/sqlalchemy-utils/"]


def test_lock_entry_yanked_without_a_reason(tmp_path: Path, index: Index) -> None:
    """A uv.lock entry whose only file is yanked with ``true`` (no reason) fails at its line."""
    lock = ('version = 1\n\n[[package]]\nname = "svc"\nversion = "1"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "starlette" }]\n\n[[package]]\nname = "starlette"\n'
            'version = "0.40.0"\nsource = { registry = "https://pypi.org/simple" }\n')
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "uv.lock").write_text(lock, encoding="utf-8")
    (repo / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "1"\n'
                                         'dependencies = ["starlette"]\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert [(f.location, "no reason given" in f.message) for f in fails(r)] == \
        [("uv.lock:10", True)], describe(r)


def test_no_yanked_pin_passes_with_the_count_and_uses_the_cache(tmp_path: Path, index: Index) -> None:
    """A version with one yanked wheel among good files is not yanked; the second run answers
    from the cache without a lookup."""
    repo = _repo(tmp_path / "r", "fastapi==0.111.0\nsqlalchemy-utils==0.37.8\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r.status is Status.PASS, describe(r)
    assert "2 pinned version(s) of 2 package(s)" in r.findings[0].message
    assert len(_lookups(index)) == 2
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r2.status is Status.PASS and "from the cache" in r2.findings[0].message, describe(r2)
    assert len(_lookups(index)) == 2  # no new lookup


def test_a_package_the_index_does_not_have_is_not_a_pass(tmp_path: Path, index: Index) -> None:
    repo = _repo(tmp_path / "r", "fastapi==0.110.0\ninternal-lib==1.0\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r.status is Status.SKIP, describe(r)
    assert any("internal-lib: not on the index" in f.message for f in r.findings), describe(r)
    only_unknown = _repo(tmp_path / "r2", "internal-lib==1.0\n")
    r2 = res(run_cfg(only_unknown, tmp_path, only=["CFG-067"], package_index=_url(index)),
             "CFG-067")
    assert r2.status is Status.SKIP and "no pinned version could be looked up" in r2.reason


def test_unreachable_index_is_skip_with_the_reason(tmp_path: Path, index: Index) -> None:
    port = index.server_address[1]
    index.shutdown()
    index.server_close()  # nothing listens on the port any more
    repo = _repo(tmp_path / "r", "fastapi==0.110.0\n")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"],
                    package_index=f"http://127.0.0.1:{port}/simple/"), "CFG-067")
    assert r.status is Status.SKIP, describe(r)
    assert "cannot be used" in r.reason and "unreachable" in r.reason


def test_an_index_without_pep_691_or_with_bad_json_is_not_verified(tmp_path: Path, index: Index) -> None:
    repo = _repo(tmp_path / "r", "fastapi==0.110.0\n")
    index.html_only = True
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r.status is Status.SKIP and "not PEP 691 JSON" in r.reason, describe(r)
    index.html_only, index.broken = False, True
    r2 = res(run_cfg(repo, tmp_path / "b", only=["CFG-067"],
                     package_index=_url(index).replace("/simple/", "/other/")), "CFG-067")
    assert r2.status is Status.SKIP, describe(r2)
    assert "fastapi:" in r2.reason and "JSON" in r2.reason, r2.reason


def test_no_pins_is_skip(tmp_path: Path, index: Index) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "app.py").write_text("print('hi')\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index)), "CFG-067")
    assert r.status is Status.SKIP and "no pinned dependency" in r.reason
    assert index.requests == []


def test_the_environment_names_the_index_when_the_configuration_does_not(
        tmp_path: Path, index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "r", "SQLAlchemy-Utils==0.36.8\n")
    monkeypatch.setenv("PRODAUDIT_PACKAGE_INDEX", _url(index))
    r = res(run_cfg(repo, tmp_path, only=["CFG-067"]), "CFG-067")
    assert r.status is Status.FAIL and _lookups(index) == ["/simple/sqlalchemy-utils/"], describe(r)


def test_lookups_are_bounded_and_counted(tmp_path: Path, index: Index,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the lookup budget the rest is not asked, and the result is not a PASS; audit.json
    says how many requests were sent."""
    import prodaudit.pkgindex as pkgindex

    monkeypatch.setattr(pkgindex, "MAX_LOOKUPS", 1)
    repo = _repo(tmp_path / "r", "fastapi==0.110.0\nsqlalchemy-utils==0.37.8\n")
    run = run_cfg(repo, tmp_path, only=["CFG-067"], package_index=_url(index))
    r = res(run, "CFG-067")
    assert r.status is Status.SKIP, describe(r)
    assert any("over the budget of 1 lookups" in f.message for f in r.findings), describe(r)
    assert len(_lookups(index)) == 1
    assert run.facts["package_index"]["requests"] == 1
    assert run.facts["package_index"]["not_looked_up"] == 1
