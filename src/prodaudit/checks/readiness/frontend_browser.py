"""RDY-030–039: the built frontend rendered in a real headless Chromium (Debian ``chromium``
driven by Playwright for Python) at a phone and a desktop width."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._e2e import E2ERun, other_setups, run_suite, suites

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = (("phone", 375, 667), ("desktop", 1280, 800))
MAX_MESSAGES = 20
# Chromium logs every 4xx answer of fetch() as a console error; a 401 is how a signed-out SPA
# learns that it has no session (refresh-cookie probe), so it is listed but not counted.
_AUTH_PROBE = re.compile(r"Failed to load resource: .*status of 401\b")

_OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const body = document.body ? document.body.scrollWidth : 0;
  const sw = Math.max(document.documentElement.scrollWidth, body);
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) {
      const id = el.id ? '#' + el.id : '';
      const cls = (typeof el.className === 'string' && el.className.trim())
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const edge = ' (right edge ' + Math.round(r.right) + 'px)';
      wide.push(el.tagName.toLowerCase() + id + cls + edge);
      if (wide.length >= 5) break;
    }
  }
  return {viewport: vw, scroll: sw, wide: wide};
}"""


@dataclass
class ViewportResult:
    name: str
    width: int
    scroll_width: int = 0
    wide: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # expected 401s of a session probe
    screenshot: str = ""
    status: int | None = None
    error: str = ""


def _listen(page: Any, res: ViewportResult) -> None:
    """Collect console errors, uncaught exceptions and failed requests of one page load."""

    def on_console(msg: Any) -> None:
        url = str(msg.location.get("url", ""))
        if msg.type != "error" or url.endswith("/favicon.ico"):
            return
        if _AUTH_PROBE.search(msg.text):
            res.ignored.append(f"{msg.text[:200]} ({url})")
            return
        if len(res.console_errors) < MAX_MESSAGES:
            res.console_errors.append(
                f"{msg.text[:300]} ({url}:{msg.location.get('lineNumber', '')})"
            )

    def on_pageerror(exc: Any) -> None:
        if len(res.page_errors) < MAX_MESSAGES:
            res.page_errors.append(str(exc)[:300])

    def on_requestfailed(req: Any) -> None:
        failure = str(req.failure or "")
        if "ERR_ABORTED" in failure or req.url.endswith("/favicon.ico"):
            return  # cancelled by navigation or by closing the page, not a defect
        if len(res.failed_requests) < MAX_MESSAGES:
            res.failed_requests.append(f"{req.method} {req.url} ({failure})")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("requestfailed", on_requestfailed)


def evidence_dir(ctx: Context) -> Path:
    return ctx.evidence_dir


async def render(ctx: Context) -> list[ViewportResult]:
    """Load the frontend once per viewport (shared by the browser checks of a run)."""

    async def build() -> list[ViewportResult]:
        chromium = ctx.cfg.readiness.chromium_path
        if not (chromium.is_file() and os.access(chromium, os.X_OK)):
            raise Skip(
                f"Chromium not found at {chromium} (install Debian 'chromium' or set "
                "readiness.chromium_path)"
            )
        try:
            from playwright.async_api import Error as PlaywrightError
            from playwright.async_api import async_playwright
        except ImportError:
            raise Skip("Playwright for Python is not installed: install prodaudit[browser]") from None
        url = (ctx.cfg.frontend_url or "") + "/"
        timeout_ms = ctx.cfg.readiness.browser_timeout_seconds * 1000
        shots = evidence_dir(ctx)
        results: list[ViewportResult] = []
        # Playwright gives the browser a fresh temporary profile (--user-data-dir) itself
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS, timeout=timeout_ms
            )
            try:
                for name, width, height in VIEWPORTS:
                    res = ViewportResult(name, width)
                    page = await browser.new_page(viewport={"width": width, "height": height})
                    _listen(page, res)
                    try:
                        resp = await page.goto(url, wait_until="load", timeout=timeout_ms)
                        res.status = resp.status if resp else None
                        with contextlib.suppress(PlaywrightError):
                            # long-polling pages never go idle; the load event counts
                            await page.wait_for_load_state(
                                "networkidle", timeout=min(timeout_ms, 5000)
                            )
                        info = await page.evaluate(_OVERFLOW_JS)
                        res.scroll_width = int(info["scroll"])
                        res.wide = list(info["wide"]) if res.scroll_width > width else []
                        shot = shots / f"rdy-030-{name}-{width}px.png"
                        await page.screenshot(path=str(shot), full_page=True, timeout=timeout_ms)
                        res.screenshot = str(shot)
                    except PlaywrightError as exc:
                        res.error = str(exc).splitlines()[0][:300]
                    finally:
                        await page.close()
                    results.append(res)
            finally:
                await browser.close()
        ctx.export("readiness.screenshots", {r.name: r.screenshot for r in results if r.screenshot})
        return results

    out: list[ViewportResult] = await ctx.amemo("rdy:browser", build)
    return out


@check(
    "RDY-030",
    "Frontend renders without horizontal overflow at phone and desktop widths",
    severity=Severity.MEDIUM,
    needs=("frontend",),
    checklist=("1.2.6", "4.3.3"),
    timeout=120,
    evidence=Evidence.OBSERVED,
)
async def responsive_layout(ctx: Context) -> list[Finding]:
    """The frontend's page, loaded in headless Chromium at 375 px (phone) and 1280 px (desktop),
    is no wider than the viewport (no horizontal scrolling). A full-page screenshot of each width
    is saved under ``<output>/evidence/`` (``rdy-030-phone-375px.png``,
    ``rdy-030-desktop-1280px.png``) and listed in ``audit.json`` facts
    (``readiness.screenshots``).

    Horizontal overflow on a phone hides content off-screen and makes every page wobble
    sideways; it is the most common responsive-design defect.

    Remediation: find the elements named in the finding (fixed widths, long unbroken strings,
    wide tables) and give them ``max-width: 100%``, ``overflow-wrap: anywhere`` or a scrollable
    wrapper; check with the browser's device toolbar.
    """
    results = await render(ctx)
    findings: list[Finding] = []
    for r in results:
        loc = f"GET {ctx.cfg.frontend_url}/ @ {r.width}px"
        shot = f"screenshot: {r.screenshot}" if r.screenshot else "no screenshot"
        if r.error:
            findings.append(
                failed(f"{r.name} ({r.width}px): page did not render: {r.error}", location=loc)
            )
        elif r.status is not None and r.status >= 400:
            findings.append(
                failed(
                    f"{r.name} ({r.width}px): page answered HTTP {r.status}",
                    location=loc,
                    evidence=shot,
                )
            )
        elif r.scroll_width > r.width:
            findings.append(
                failed(
                    f"{r.name} ({r.width}px): page is {r.scroll_width}px wide — "
                    "horizontal overflow",
                    location=loc,
                    evidence="wider than the viewport: " + "; ".join(r.wide) + "\n" + shot,
                )
            )
        else:
            findings.append(
                passed(
                    f"{r.name} ({r.width}px): no horizontal overflow; {shot}",
                    location=loc,
                    evidence=shot,
                )
            )
    return findings


@check(
    "RDY-031",
    "Frontend loads without console errors or failed requests",
    severity=Severity.MEDIUM,
    needs=("frontend",),
    timeout=120,
    evidence=Evidence.OBSERVED,
)
async def console_errors(ctx: Context) -> list[Finding]:
    """Loading the frontend in headless Chromium (phone and desktop widths) logs no console
    errors, throws no uncaught exceptions and has no failed network requests. A 401 answer is
    not counted (a signed-out single-page app probes its session that way) but is listed in the
    evidence; neither are requests cancelled by navigation (``net::ERR_ABORTED``) or the favicon.

    Console errors on the first page load mean broken assets, a blocked API call (CSP, CORS) or
    a script crash — usually a half-broken page for every visitor.

    Remediation: open the page with the browser's developer tools, fix each error listed in the
    evidence (missing files, CSP violations, exceptions) and reload until the console is clean.
    """
    results = await render(ctx)
    findings: list[Finding] = []
    for r in results:
        loc = f"GET {ctx.cfg.frontend_url}/ @ {r.width}px"
        if r.error:
            findings.append(failed(f"{r.name}: page did not load: {r.error}", location=loc))
            continue
        problems = (
            [f"console error: {m}" for m in r.console_errors]
            + [f"uncaught exception: {m}" for m in r.page_errors]
            + [f"failed request: {m}" for m in r.failed_requests]
        )
        if problems:
            findings.append(
                failed(
                    f"{r.name} ({r.width}px): {len(problems)} problem(s) on load: "
                    f"{problems[0][:200]}",
                    location=loc,
                    evidence="\n".join(problems),
                )
            )
        else:
            findings.append(
                passed(
                    f"{r.name} ({r.width}px): no console error, uncaught exception "
                    "or failed request"
                    + (
                        f" ({len(r.ignored)} expected 401 session probe(s) ignored)"
                        if r.ignored
                        else ""
                    ),
                    location=loc,
                    evidence="\n".join(r.ignored),
                )
            )
    return findings


def _judge_e2e(run: E2ERun, declared: tuple[str, ...]) -> list[Finding]:
    per = "; ".join(f"{p.project} ({p.engine}): {p.passed} passed, {p.failed} failed"
                    + (f", {p.flaky} flaky" if p.flaky else "")
                    + (f", {p.skipped} skipped" if p.skipped else "") for p in run.projects)
    evidence = (f"$ {run.command}\nexit code {run.returncode}, {run.seconds:.0f} s\n{per}\n"
                + "\n".join(run.failures + run.errors) + "\nnot run: " + "; ".join(run.not_run)
                + f"\n--- output (tail) ---\n{run.log[-1500:]}")
    if run.timed_out:
        return [failed(f"the end-to-end suite did not finish within the budget ({run.seconds:.0f} s)",
                       location=run.suite, evidence=evidence)]
    ran = sum(p.passed + p.failed + p.flaky for p in run.projects)
    if not ran:
        why = run.errors[0] if run.errors else f"exit code {run.returncode}"
        return [failed(f"the end-to-end suite ran no test: {why}", location=run.suite, evidence=evidence)]
    bad = sum(p.failed for p in run.projects)
    if bad:
        first = run.failures[0] if run.failures else ""
        return [failed(f"{bad} end-to-end test run(s) failed ({per}): {first}", location=run.suite,
                       evidence=evidence)]
    findings: list[Finding] = [passed(f"end-to-end suite passed in {', '.join(run.engines)}: {per}",
                                      location=run.suite, evidence=evidence)]
    if len(run.engines) < 2:
        findings.append(warned(f"{run.engines[0].capitalize()} only: cross-browser compatibility is not "
                               f"verified (declared: {', '.join(declared) or 'default'}; not run: "
                               f"{'; '.join(run.not_run)})", location=run.suite))
    return findings


@check(
    "RDY-032",
    "The end-to-end suite passes in every installed browser engine",
    severity=Severity.MEDIUM,
    needs=("frontend",),
    checklist=("4.3.1", "4.3.2"),
    evidence=Evidence.OBSERVED,
    exclusive=True,
    timeout=900,
)
def e2e_run(ctx: Context) -> list[Finding]:
    """The audit runs the repository's Playwright suite (``playwright.config.*`` and its
    ``testDir``) with the ``@playwright/test`` version the repository pins (installed once into
    the audit's cache with npm, no browser download) against the live frontend, once in every
    browser engine installed here: Chromium (Debian ``chromium``) and Firefox (Debian
    ``firefox-esr`` over WebDriver BiDi, see ``prodaudit.browsers``). WebKit has no system build
    Playwright can drive and is listed as not run. One project per engine runs (the first the
    configuration declares for it), one worker, no retries, within
    ``readiness.e2e_timeout_seconds``. "Cross-browser verified" needs two engines: with one the
    result is WARN ("Chromium only"). The journeys sign up and write, so the run needs
    ``--allow-mutations``. Cypress/WebdriverIO suites are "present, not executed".

    Unit and API tests do not show that a user can register, log in and use the product in a
    browser; a configuration that names browsers shows nothing until it runs.

    Remediation: fix the journeys listed in the evidence (the output has Playwright's error per
    test) and keep the suite running in CI against staging in Chromium and Firefox.
    """
    found = [s for s in suites(ctx) if s.tests]
    if not found:
        others = other_setups(ctx)
        raise Skip("no Playwright end-to-end suite with tests in the repository"
                   + (f" ({', '.join(others[:2])}: present, not executed)" if others else ""))
    if not ctx.cfg.allow_mutations:
        raise Skip("the end-to-end journeys drive the live product and may write (sign-ups, data): "
                   "pass --allow-mutations to run them")
    try:
        run = run_suite(ctx, found[0])
    except ValueError as exc:
        raise Skip(f"the end-to-end suite was not run: {exc}") from None
    ctx.export("readiness.e2e", {"suite": run.suite, "engines": run.engines, "command": run.command,
                                 "projects": [p.__dict__ for p in run.projects]})
    return _judge_e2e(run, found[0].engines)
