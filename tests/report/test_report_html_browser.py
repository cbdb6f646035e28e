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
    require_service(
        "Chromium",
        Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None,
        f"chromium not found at {CHROMIUM}",
    )
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


def _save(tmp_path: Path, page: Any, name: str, full_page: bool = False) -> Path:
    """A screenshot in the test's output (and in $PRODAUDIT_SCREENSHOT_DIR when set)."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000
    out = os.environ.get("PRODAUDIT_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / name)
    print(f"screenshot: {shot}")
    return shot


@pytest.fixture
def page_of(browser: Any, tmp_path: Path) -> Iterator[Any]:
    pages: list[Any] = []

    def _open(
        run: AuditRun, screenshots: Screenshots | None = None, width: int = 1280, height: int = 800
    ) -> tuple[Any, list[str], list[str]]:
        html = tmp_path / "index.html"
        html.write_text(HtmlRenderer(screenshots).format(run), encoding="utf-8")
        ctx = browser.new_context(viewport={"width": width, "height": height})
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


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_decision_screen_first_and_fits(
    page_of: Any, run: AuditRun, tmp_path: Path, width: int, height: int
) -> None:
    """Desktop and phone: clean load, the failures within the first screen, nothing wider than the
    viewport (tables stack on a phone), the overview at a glance."""
    page, problems, requests = page_of(run, width=width, height=height)
    assert page.title().startswith("NO-GO")
    assert problems == []  # includes CSP violations: the inline script is allowed by its hash
    assert [u for u in requests if not u.startswith("file://")] == []
    first = page.locator("#not-met li").first
    assert first.get_attribute("id") == "nm-SEC-001"  # critical first
    box = first.bounding_box()
    assert box is not None and box["y"] + min(box["height"], 60) <= height, box
    assert page.locator("#not-met li").count() == 3
    assert page.locator("#not-verified > ul > li").count() == 3  # registry, vuln service, other
    registry = page.locator("#not-verified > ul > li").first
    assert "No image registry reachable" in registry.inner_text()
    assert "scripts/build-base-image.sh" in registry.locator("code").all_inner_texts()[0]
    # severity x result counts, one bar per suite with the suite's own verdict
    assert page.locator("table.matrix tbody tr").count() == 5
    assert page.locator(".suite").count() == 4
    assert page.locator("#suite-security .badge").inner_text() == "NO-GO"
    assert page.locator("#suite-deployment .badge").inner_text() == "NO-GO"  # DEP-014 not verified
    assert page.locator("#suite-functional .badge").inner_text() == "GO"  # a warning only
    # every details open: still nothing off-screen
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    overflow = page.evaluate(
        "[...document.querySelectorAll('table')]"
        ".filter(t => t.getBoundingClientRect().right > innerWidth + 1).length"
    )
    assert overflow == 0
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = d.id === 'SEC-001')")
    page.evaluate("window.scrollTo(0, 0)")
    _save(tmp_path, page, f"index-{width}px.png")
    _save(tmp_path, page, f"index-{width}px-full.png", full_page=True)


def test_filters_and_search(page_of: Any, run: AuditRun, tmp_path: Path) -> None:
    page, problems, _ = page_of(run)
    rows = page.locator("#check-list > details.check")

    def visible() -> list[str]:
        return [rows.nth(i).get_attribute("id") for i in range(rows.count()) if rows.nth(i).is_visible()]

    assert len(visible()) == len(run.results)
    assert page.locator("#shown").inner_text() == f"{len(run.results)} of {len(run.results)} shown"
    for value in ("unverified", "warn", "pass", "waived"):
        page.locator(f"#f-status input[value={value}]").uncheck()
    assert sorted(visible()) == ["CFG-010", "DEP-010", "SEC-001"]
    page.select_option("#f-sev", "critical")
    assert visible() == ["SEC-001"]
    page.select_option("#f-sev", "")
    page.select_option("#f-suite", "config")
    assert visible() == ["CFG-010"]
    page.select_option("#f-suite", "")
    for value in ("unverified", "warn", "pass", "waived"):
        page.locator(f"#f-status input[value={value}]").check()
    page.fill("#q", "maxmemory")  # text of a finding, inside a closed check
    assert visible() == ["DEP-010"]
    page.fill("#q", "docker-compose.yml:30")  # a location
    assert visible() == ["CFG-010"]
    page.fill("#q", "")
    assert len(visible()) == len(run.results)
    # a link to a check opens it
    page.locator("#not-verified a[href='#DEP-014']").click()
    assert page.locator("details#DEP-014").evaluate("d => d.open") is True
    assert problems == []
    page.fill("#q", "alg")
    _save(tmp_path, page, "index-search.png")


def test_variants_are_one_finding(page_of: Any, run: AuditRun) -> None:
    page, _, _ = page_of(run)
    sec = page.locator("details#SEC-001")
    assert sec.locator(".finding").count() == 1
    assert sec.locator("table.variants tbody tr").count() == 3
    assert sec.locator("pre").count() == 1  # one full exchange
    assert sec.locator(".remedy code").inner_text() == 'jwt.decode(token, key, algorithms=["HS256"])'
    assert "``" not in sec.inner_text()


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
    assert page.locator("#not-met").inner_text().count("<script>") >= 1
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
