"""RDY-032: the repository's Playwright suite run against a live reference target in every
installed engine — Chromium, and Firefox ESR over WebDriver BiDi. The reference journeys pass in
both ("cross-browser verified"); a copy whose spec expects a heading the app does not have fails
in both; with Firefox missing a passing suite is "Chromium only" (WARN); a Playwright config
that is one comment naming browsers runs nothing and proves nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_services import chromium_path, require_service
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]

FIREFOX = Path("/usr/bin/firefox-esr")


def require_browsers() -> None:
    require_service("chromium", chromium_path() is not None, "Debian chromium")
    require_service("firefox", FIREFOX.is_file(), "Debian firefox-esr (scripts/services.sh up firefox)")
    require_service("npm", shutil.which("npm") is not None and shutil.which("node") is not None,
                    "Node.js and npm install @playwright/test")


@pytest.fixture(scope="module")
def site() -> Iterator[ReferenceTarget]:
    """A hardened target whose login limit lets the journeys sign in many times a minute (the
    Playwright config says so: its journeys register and log in once per test)."""
    require_browsers()
    with ReferenceTarget(flaws="", overrides={"RATE_LIMIT_LOGIN": "300/60"}) as t:
        yield t


def test_reference_journeys_pass_in_chromium_and_firefox(site: ReferenceTarget) -> None:
    r = run_rdy("RDY-032", target=site, allow_mutations=True)["RDY-032"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.OBSERVED
    text = messages(r)
    assert "end-to-end suite passed in chromium, firefox" in text
    assert "chromium (chromium): 8 passed, 0 failed" in text
    assert "firefox (firefox): 8 passed, 0 failed" in text
    assert "webkit: no system WebKit" in text  # listed as not run, never as passed


FAILING_SPEC = """import { expect, test } from "@playwright/test";

test("the landing page has the promised heading", async ({ page }) => {
  await page.goto("/login");
  const missing = page.getByRole("heading", { name: "This heading does not exist" });
  await expect(missing).toBeVisible({ timeout: 2000 });
});
"""
PASSING_SPEC = """import { expect, test } from "@playwright/test";

test("signed-out visitors see the login form", async ({ page }) => {
  await page.goto("/notes");
  await expect(page.getByTestId("login-form")).toBeVisible();
});
"""


def one_spec(root: Path, spec: str) -> Path:
    for p in (root / "frontend" / "e2e").iterdir():
        p.unlink()
    write(root / "frontend" / "e2e" / "only.spec.js", spec)
    return root


def test_failing_journey_fails_in_every_engine(site: ReferenceTarget, mvp: Path) -> None:
    r = run_rdy("RDY-032", target=site, repo=one_spec(mvp, FAILING_SPEC), allow_mutations=True)["RDY-032"]
    assert_status(r, Status.FAIL)
    text = messages(r)
    assert "2 end-to-end test run(s) failed" in text
    assert "[chromium] frontend/e2e/only.spec.js: the landing page has the promised heading: Error: " \
        "expect(locator).toBeVisible() failed" in text
    assert "[firefox] frontend/e2e/only.spec.js" in text


def test_one_engine_is_chromium_only(site: ReferenceTarget, mvp: Path, tmp_path: Path) -> None:
    r = run_rdy("RDY-032", target=site, repo=one_spec(mvp, PASSING_SPEC), allow_mutations=True,
                readiness={"firefox_path": str(tmp_path / "no-firefox")})["RDY-032"]
    assert_status(r, Status.WARN)
    assert "Chromium only: cross-browser compatibility is not verified" in messages(r)
    assert "firefox: not installed" in messages(r)


def test_comment_config_and_no_mutations_run_nothing(site: ReferenceTarget, mvp: Path) -> None:
    r = run_rdy("RDY-032", target=site)["RDY-032"]
    assert_status(r, Status.SKIP)
    assert "--allow-mutations" in r.reason
    shutil.rmtree(mvp / "frontend" / "e2e")
    write(mvp / "frontend" / "playwright.config.js", "// chromium, firefox, webkit\n")
    r = run_rdy("RDY-032", target=site, repo=mvp, allow_mutations=True)["RDY-032"]
    assert_status(r, Status.SKIP)
    assert "no Playwright end-to-end suite with tests" in r.reason


def test_old_playwright_pins_cannot_drive_firefox() -> None:
    from prodaudit.checks.readiness._e2e import bidi_capable

    assert [bidi_capable(v) for v in ("1.44.1", "1.56.0", "1.57.0", "1.65.1", "next")] == [
        False, False, True, True, False]


def test_npm_keeps_the_machines_certificate_authorities(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a TLS-inspecting proxy npm trusts it through the machine's npm configuration or
    NODE_EXTRA_CA_CERTS: ``npm install --prefix`` moves the global configuration into the prefix,
    so the install names the machine's own, and the child environment keeps the CA settings."""
    from prodaudit.checks.readiness._e2e import _global_config
    from prodaudit.observe import child_env

    node = write(tmp_path / "prefix" / "bin" / "node", "#!/bin/sh\n")
    assert _global_config(node) == []
    npmrc = write(tmp_path / "prefix" / "etc" / "npmrc", "cafile=/etc/ssl/certs/ca.crt\n")
    assert _global_config(node) == ["--globalconfig", str(npmrc)]
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca.crt")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-passed")
    env = child_env()
    assert env["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/certs/ca.crt" and "OPENAI_API_KEY" not in env
