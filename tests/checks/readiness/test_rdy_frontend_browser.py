"""RDY-030/031 (headless Chromium) and RDY-080 (asset caching) against the hardened reference
target's frontend and against a mutated copy of its frontend: a too-wide banner, a script that
logs an error and throws, and assets sent with ``no-store``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_services import chromium_path, require_service
from rdy_helpers import StaticServer, assert_status, copy_mvp, edit, messages, run_rdy, write

from prodaudit.model import Status
from prodaudit.target import ReferenceTarget

PNG = b"\x89PNG\r\n\x1a\n"


def need_chromium() -> dict[str, str]:
    """Skip (fail under CI=true) without Chromium; the readiness config that points at it."""
    path = chromium_path()
    require_service("chromium", path is not None,
                    "no executable Chromium (apt-get install chromium, or PRODAUDIT_TEST_CHROMIUM)")
    return {"chromium_path": str(path)}


@pytest.fixture(scope="module")
def flawed_frontend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticServer]:
    root = copy_mvp(tmp_path_factory.mktemp("fe") / "mvp")
    fe = root / "frontend"
    write(fe / "dist" / "assets" / "wide-0a1b2c3d4e.css",
          "#banner { display: block; width: 900px; height: 40px; background: #c00; }\n")
    write(fe / "dist" / "assets" / "broken-5f6e7d8c9b.js",
          'console.error("boom: widget failed");\nthrow new Error("kaput");\n')
    edit(fe / "dist" / "index.html", "  </head>",
         '    <link rel="stylesheet" href="/assets/wide-0a1b2c3d4e.css">\n'
         '    <script src="/assets/broken-5f6e7d8c9b.js"></script>\n  </head>')
    edit(fe / "dist" / "index.html", "<body>", '<body>\n    <div id="banner">sale</div>')
    edit(fe / "serve.py", 'IMMUTABLE = "public, max-age=31536000, immutable"',
         'IMMUTABLE = "no-store"')
    with StaticServer(fe) as server:
        yield server


def test_browser_hardened_target(hardened_target: ReferenceTarget, tmp_path: Path) -> None:
    browser = need_chromium()
    out = tmp_path / "reports"
    results = run_rdy(["RDY-030", "RDY-031"], target=hardened_target, output=out,
                      readiness=browser)
    assert_status(results["RDY-030"], Status.PASS)
    assert_status(results["RDY-031"], Status.PASS)
    for name in ("rdy-030-phone-375px.png", "rdy-030-desktop-1280px.png"):
        shot = out / "evidence" / name
        assert shot.read_bytes()[:8] == PNG
        assert str(shot) in messages(results["RDY-030"])


def test_browser_flawed_frontend(flawed_frontend: StaticServer, tmp_path: Path) -> None:
    browser = need_chromium()
    out = tmp_path / "reports"
    results = run_rdy(["RDY-030", "RDY-031"], frontend_url=flawed_frontend.url, output=out,
                      readiness=browser)
    r30 = results["RDY-030"]
    assert_status(r30, Status.FAIL)
    phone = next(f for f in r30.findings if "375px" in f.location)
    assert phone.status is Status.FAIL and "horizontal overflow" in phone.message
    assert "div#banner" in phone.evidence
    assert (out / "evidence" / "rdy-030-phone-375px.png").read_bytes()[:8] == PNG
    desktop = next(f for f in r30.findings if "1280px" in f.location)
    assert desktop.status is Status.PASS  # 900px fits the desktop width
    r31 = results["RDY-031"]
    assert_status(r31, Status.FAIL)
    text = messages(r31)
    assert "boom: widget failed" in text and "kaput" in text


def test_browser_skips_without_chromium(hardened_target: ReferenceTarget, tmp_path: Path) -> None:
    results = run_rdy(["RDY-030", "RDY-031"], target=hardened_target, output=tmp_path / "r",
                      readiness={"chromium_path": str(tmp_path / "no-chromium")})
    for r in results.values():
        assert r.status is Status.SKIP
        assert "Chromium not found" in r.reason and "no-chromium" in r.reason


def test_browser_skips_without_frontend(tmp_path: Path) -> None:
    r = run_rdy("RDY-030", output=tmp_path / "r")["RDY-030"]
    assert r.status is Status.SKIP and "--frontend-url" in r.reason


def test_asset_caching(hardened_target: ReferenceTarget,
                       flawed_frontend: StaticServer) -> None:
    good = run_rdy("RDY-080", target=hardened_target)["RDY-080"]
    assert_status(good, Status.PASS)
    assert "immutable" in messages(good)
    bad = run_rdy("RDY-080", frontend_url=flawed_frontend.url)["RDY-080"]
    assert_status(bad, Status.FAIL)
    assert "fingerprinted asset app-" in messages(bad) and "no-store" in messages(bad)
