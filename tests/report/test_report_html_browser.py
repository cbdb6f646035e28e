"""index.html in a real headless browser (Debian chromium driven by Playwright): no console
errors, no request leaves the page, a screenshot is taken, the details groups toggle, and
HTML inside findings is shown as text, never executed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest_services import require_service

from prodaudit.checks.readiness.frontend_browser import CHROMIUM_ARGS
from prodaudit.model import AuditRun, Finding, Status
from prodaudit.report.evidence import Screenshots
from prodaudit.report.html import HtmlRenderer

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("PRODAUDIT_CHROMIUM", "/usr/bin/chromium")
XSS = '<script>window.__pwned = 1; console.error("pwned")</script><img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_service("Chromium", Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None,
                    f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright", False, "playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page_of(browser: Any, tmp_path: Path) -> Iterator[Any]:
    pages: list[Any] = []

    def _open(run: AuditRun, screenshots: Screenshots | None = None) -> tuple[Any, list[str], list[str]]:
        html = tmp_path / "index.html"
        html.write_text(HtmlRenderer(screenshots).format(run), encoding="utf-8")
        ctx = browser.new_context(viewport={"width": 1200, "height": 1400})
        page = ctx.new_page()
        pages.append(ctx)
        problems: list[str] = []
        requests: list[str] = []
        page.on(
            "console",
            lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri(), wait_until="load")
        return page, problems, requests

    yield _open
    for ctx in pages:
        ctx.close()


def test_page_loads_clean_and_toggles(page_of: Any, run: AuditRun, tmp_path: Path) -> None:
    page, problems, requests = page_of(run)
    assert page.title().startswith("NO-GO")
    assert problems == []
    assert [u for u in requests if not u.startswith("file://")] == []
    assert page.locator("svg.gauge").count() == 1
    assert page.locator("svg.bars g").count() == 4  # one bar per suite
    failed = page.locator("details#group-failed")
    passed = page.locator("details#group-passed")
    assert failed.evaluate("d => d.open") is True  # failed checks first, open
    assert passed.evaluate("d => d.open") is False
    first = page.locator("details.check").first
    assert first.get_attribute("id") == "SEC-001"
    assert not page.locator("#group-passed #FUN-001").is_visible()
    passed.locator("summary").first.click()
    assert passed.evaluate("d => d.open") is True
    assert page.locator("#group-passed #FUN-001").is_visible()
    passed.locator("summary").first.click()
    assert passed.evaluate("d => d.open") is False
    manual = page.locator("details#group-manual")
    manual.locator("summary").first.click()
    assert page.get_by_text("Tom Tech").first.is_visible()
    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = os.environ.get("PRODAUDIT_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / "index.png")


def test_html_in_findings_is_text(page_of: Any, run: AuditRun) -> None:
    sec_001 = next(r for r in run.results if r.id == "SEC-001")
    evil = replace(
        sec_001,
        findings=(Finding(Status.FAIL, XSS, "GET http://127.0.0.1/x", evidence=XSS, remediation=XSS),),
        doc=f"Summary.\n\n{XSS}\n\nRemediation: {XSS}",
        reason=XSS,
    )
    page, problems, requests = page_of(
        replace(run, results=tuple(evil if r is sec_001 else r for r in run.results))
    )
    assert page.evaluate("window.__pwned === undefined")
    assert problems == []
    assert [u for u in requests if not u.startswith("file://")] == []
    assert page.locator("details#SEC-001 .finding").first.inner_text().count("<script>") >= 1
    assert page.locator("details#SEC-001 script, details#SEC-001 img").count() == 0


def test_fact_sections_and_embedded_screenshot(page_of: Any, run: AuditRun) -> None:
    from test_report_facts import png

    shots = Screenshots({"desktop": png(64, 40, (12, 140, 62))}, {"phone": "too large"})
    page, problems, requests = page_of(run, shots)
    assert problems == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    for sid in ("facts-functional", "facts-screenshots", "facts-config", "facts-security"):
        assert page.locator(f"details#{sid}").evaluate("d => d.open") is True, sid
    assert page.locator("table.ops tbody tr").count() == 3
    assert page.locator("table.env tbody tr").count() == 3
    img = page.locator("figure.shot img")
    assert img.count() == 1
    img.scroll_into_view_if_needed()
    assert img.evaluate("i => i.complete && i.naturalWidth") == 64  # decoded under the page's CSP
    assert page.get_by_text("Not embedded: too large.").is_visible()
    out = os.environ.get("PRODAUDIT_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        page.locator("details#facts-functional").screenshot(path=str(Path(out) / "facts.png"))
