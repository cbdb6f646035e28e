"""SEC-050's grader side by side with the MDN HTTP Observatory CLI on the same loopback pages.

The Observatory is not a Python dependency: install it as TOOL-NOTES.md describes and point
``PRODAUDIT_OBSERVATORY`` at its ``mdn-http-observatory-scan`` (or put it on PATH); otherwise the
test is skipped (under CI=true it fails: `.ci/run` installs it). docs/comparisons.md records the
numbers of one run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest_services import require_service

from prodaudit.checks.security.headers import grade
from prodaudit.http import Exchange

PAGE = b"<!doctype html><html><head><title>t</title></head><body>ok</body></html>"
STRICT = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
UNSAFE_INLINE = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
}
CASES = {"strict": STRICT, "unsafe-inline": UNSAFE_INLINE, "none": {}}


def observatory() -> str | None:
    return os.environ.get("PRODAUDIT_OBSERVATORY") or shutil.which("mdn-http-observatory-scan")


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[str, str]]:
    """One loopback server per header set (the Observatory scans a host's root only)."""
    servers = []
    urls: dict[str, str] = {}
    for name, headers in CASES.items():

        class Handler(BaseHTTPRequestHandler):
            extra = headers

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for k, v in self.extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        urls[name] = f"127.0.0.1:{srv.server_address[1]}"
    yield urls
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def ours(hostport: str) -> tuple[str, int]:
    r = httpx.get(f"http://{hostport}/")
    g = grade(Exchange("GET", str(r.url), {}, b"", r.status_code, r.headers, r.content), False)
    return g.grade, g.score


def theirs(cli: str, hostport: str) -> tuple[str, int]:
    out = subprocess.run([cli, hostport], capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    return data["scan"]["grade"], int(data["scan"]["score"])


def test_grades_agree_in_order_with_the_observatory(pages: dict[str, str]) -> None:
    cli = observatory()
    require_service("MDN HTTP Observatory CLI", cli is not None,
                    "not installed: run scripts/install-peers.sh and set PRODAUDIT_OBSERVATORY")
    assert cli is not None
    rows = {name: (ours(hp), theirs(cli, hp)) for name, hp in pages.items()}
    print(json.dumps(rows))  # the numbers recorded in docs/comparisons.md
    our_scores = [rows[n][0][1] for n in ("strict", "unsafe-inline", "none")]
    obs_scores = [rows[n][1][1] for n in ("strict", "unsafe-inline", "none")]
    assert our_scores == sorted(our_scores, reverse=True) and our_scores[0] > our_scores[2]
    assert obs_scores == sorted(obs_scores, reverse=True) and obs_scores[0] > obs_scores[2]
    assert rows["none"][0][0] == "F" and rows["none"][1][0] in ("F", "D", "D-", "D+")
