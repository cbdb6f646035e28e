"""RDY-040–049: the target's own tests — count per framework, an observed run of the suite and the
coverage it measures, API endpoints exercised, error paths and mocks, end-to-end setup."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
from prodaudit.checks.readiness._backend import backend_routes
from prodaudit.checks.readiness._e2e import declared_setups, in_e2e_dir, other_setups, suites
from prodaudit.checks.readiness._scan import (
    FRONTEND_EXT,
    is_test_path,
    py_sources,
)
from prodaudit.checks.readiness._testrun import TestRun, test_run
from prodaudit.product.endpoints import Endpoint
from prodaudit.product.envgraph import env_graph

_PY_TEST = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(", re.M)
_JS_TEST = re.compile(r"(?<![\w.])(?:it|test)(?:\.\w+)?\s*\(\s*['\"`]", re.M)


@dataclass
class TestInventory:
    files: dict[str, str] = field(default_factory=dict)  # rel -> framework
    counts: dict[str, int] = field(default_factory=dict)  # framework -> tests
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def inventory(ctx: Context) -> TestInventory:
    def build() -> TestInventory:
        inv = TestInventory()
        for mod in py_sources(ctx).tests:
            n = len(_PY_TEST.findall(mod.text))
            if not n:
                continue
            fw = "unittest" if re.search(r"unittest\.TestCase|\(TestCase\)", mod.text) else "pytest"
            inv.files[mod.rel] = fw
            inv.texts[mod.rel] = mod.text
            inv.counts[fw] = inv.counts.get(fw, 0) + n
        for rel in ctx.files.files:
            if not rel.endswith(FRONTEND_EXT) or not is_test_path(rel) or "node_modules" in rel:
                continue
            text = ctx.read(rel) or ""
            n = len(_JS_TEST.findall(text))
            if not n:
                continue
            if "@playwright/test" in text:
                fw = "playwright"
            elif "cy." in text or "/cypress/" in f"/{rel}":
                fw = "cypress"
            elif "vitest" in text:
                fw = "vitest"
            else:
                fw = "jest/mocha"
            inv.files[rel] = fw
            inv.texts[rel] = text
            inv.counts[fw] = inv.counts.get(fw, 0) + n
        return inv

    return ctx.memo("rdy:tests", build)


@check(
    "RDY-040",
    "The target has automated tests",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.1.1",),
    evidence=Evidence.PRESENT,
)
def has_tests(ctx: Context) -> list[Finding]:
    """The repository contains automated tests (``test_*.py``, ``*_test.py``, a Django app's
    ``tests.py``, modules under ``tests/``; ``*.test.js``/``*.spec.ts``); they are counted per
    framework (pytest, unittest, jest/mocha, vitest, Playwright, Cypress) and the counts are
    exported to
    ``audit.json`` facts (``readiness.tests``).

    A product without tests cannot be changed safely after launch: every fix risks a regression
    nobody notices before users do.

    Remediation: add tests for the core business logic and the API (``pytest`` with FastAPI's
    ``TestClient``/``httpx.AsyncClient``), and run them in CI on every change.
    """
    inv = inventory(ctx)
    ctx.export("readiness.tests", {"counts": inv.counts, "files": len(inv.files)})
    if inv.total == 0:
        return [
            failed(
                "no automated tests found (no test_*.py / tests.py / *.test.js / *.spec.ts "
                "with test functions)"
            )
        ]
    summary = ", ".join(f"{fw} {n}" for fw, n in sorted(inv.counts.items()))
    return [
        passed(
            f"{inv.total} tests in {len(inv.files)} file(s): {summary} (present; RDY-045 runs them)",
            location=next(iter(inv.files)),
            level=Evidence.PRESENT,
        )
    ]


def _committed_reports(ctx: Context) -> list[str]:
    names = ("coverage.xml", "coverage.json", "lcov.info", "coverage-summary.json")
    return [rel for rel in ctx.files.files if rel.rsplit("/", 1)[-1] in names]


@check(
    "RDY-041",
    "Test coverage, measured by running the tests, meets the threshold",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.1.1",),
    evidence=Evidence.OBSERVED,
    exclusive=True,
    timeout=1800,
)
def coverage(ctx: Context) -> list[Finding]:
    """Line (and branch, when configured) coverage measured by coverage.py during the audit's
    own run of the target's test suite (RDY-045) is at least ``readiness.min_coverage_percent``.
    A coverage report committed to the repository (``coverage.xml``, ``lcov.info`` ...) is never
    evidence: anyone can write ``line-rate="0.99"`` by hand. Without a run (no environment, no
    coverage.py in it, tests switched off) the check is SKIP with the reason.

    Coverage is the cheapest signal of which code no test ever runs; measured on the code as it
    is, not as it was when someone last uploaded a report.

    Remediation: run tests with ``coverage run -m pytest`` (or ``pytest --cov``) in CI, set
    ``fail_under`` in ``[tool.coverage.report]``, and add tests for the modules the report lists.
    """
    committed = _committed_reports(ctx)
    note = (f"; committed report(s) {', '.join(committed[:3])} not used as evidence" if committed else "")
    try:
        run = test_run(ctx)
    except Skip as exc:
        raise Skip(exc.reason + note) from None
    if run.coverage is None:
        raise Skip(f"coverage not measured: {run.coverage_problem}{note}")
    if run.tests == 0 or run.timed_out:
        raise Skip(f"coverage not measured: the test run did not complete any test (RDY-045){note}")
    threshold = ctx.cfg.readiness.min_coverage_percent
    ctx.export("readiness.coverage", {"percent": round(run.coverage, 2), "command": run.command})
    what = (f"coverage {run.coverage:.1f}% measured by running the target's tests ({run.tests} tests "
            f"in {run.project}/)")
    if run.service_failed:
        what += f"; {len(run.service_failed)} of them failed for lack of a service (tests_env_file)"
    evidence = f"$ {run.command}\nenvironment: {run.environment}{note}"
    if run.coverage < threshold:
        return [failed(f"{what}: below {threshold:.0f}%", location=run.project, evidence=evidence)]
    return [passed(f"{what}; threshold {threshold:.0f}%", location=run.project, evidence=evidence)]


def _describe(run: TestRun) -> str:
    return (f"{run.passed} passed, {run.failures} failed, {run.errors} errors, {run.skipped} "
            f"skipped of {run.tests} in {run.seconds:.0f} s")


@check(
    "RDY-045",
    "The target's test suite passes when the audit runs it",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.1.1", "4.2.1"),
    evidence=Evidence.OBSERVED,
    exclusive=True,
    timeout=1800,
)
def suite_passes(ctx: Context) -> list[Finding]:
    """The audit runs the target's own Python test suite (pytest, which also runs unittest
    cases) in the target's environment — ``--target-venv``, or a virtualenv built from its lock
    or requirements with the Python it pins, cached by their hash — in a throw-away copy of the
    repository, within ``readiness.tests_timeout_seconds``, and reports the pass/fail counts and
    the command. Tests that need services (PostgreSQL, Redis ...) get them only from
    ``readiness.tests_env_file``; failures for lack of a service are reported as such (WARN),
    separately from real failures (FAIL); so is a suite that fails to import because a
    variable the code reads without a default and the example env file documents is not set
    (``KeyError: 'SECRET_KEY'``: WARN). When no installed interpreter satisfies the Python the
    project pins (``.python-version``, ``runtime.txt``, ``requires-python``, Pipfile
    ``python_version``) the environment is built with another one; if the tests then fail
    there (an import error, a failing test) the suite is not verified (SKIP, with the pinned and
    the used Python and the first error), not failed: the project's tests were not run as the
    project runs them. A passing run there is reported with the Python that ran it.

    Tests that exist but fail, or that nobody can run from the repository alone, protect
    nothing.

    Remediation: make ``pytest`` pass from a clean checkout with the locked dependencies; pin
    test tools in the lock (or a ``requirements-dev.txt``); document the services the tests
    need.
    """
    run = test_run(ctx)
    evidence = f"$ {run.command}\nenvironment: {run.environment}\n" + "\n".join(
        run.failed + run.service_failed) + f"\n--- output (tail) ---\n{run.log[-1500:]}"
    ctx.export("readiness.test_run", {"project": run.project, "tests": run.tests,
                                      "failures": run.failures, "errors": run.errors,
                                      "skipped": run.skipped, "command": run.command})
    if run.timed_out:
        return [failed(f"the test suite did not finish within "
                       f"{ctx.cfg.readiness.tests_timeout_seconds:.0f} s", location=run.project,
                       evidence=evidence)]
    why = next((m.group(1) for m in re.finditer(r"^E\s+(\S.*)$", run.log, re.M)), "")
    if run.python_mismatch and run.returncode not in (0, 5, None):
        # a failure under another Python than the pinned one is no evidence against the tests
        what = (f"the tests failed to import ({why[:200] or 'no test ran'}" if run.failed_at_import
                else f"{_describe(run)} ({(run.failed or ('?',))[0][:200]}")
        raise Skip(f"not verified: {what}, pytest exit code {run.returncode}) in an environment "
                   f"built with another Python than the project's: {run.python_mismatch}. "
                   "Install the pinned Python (pyenv) or pass --target-venv")
    needed = _documented_env_error(ctx, why) if run.tests == 0 else None
    if needed is not None:
        return [warned(f"pytest ran no test: the tests need {needed}, which the code reads "
                       "without a default and the example env file documents (set "
                       "readiness.tests_env_file to give them the project's environment)",
                       location=run.project, evidence=evidence)]
    if run.tests == 0:
        return [failed(f"pytest ran no test (exit code {run.returncode})" + (f": {why[:200]}" if why else ""),
                       location=run.project, evidence=evidence)]
    findings: list[Finding] = []
    if run.failed:
        findings.append(failed(f"{_describe(run)}: {run.failed[0]}", location=run.project,
                               evidence=evidence))
    if run.service_failed:
        findings.append(warned(f"{len(run.service_failed)} test(s) failed for lack of a service "
                               "(set readiness.tests_env_file to give them one): "
                               f"{run.service_failed[0]}", location=run.project, evidence=evidence))
    if not findings and run.returncode not in (0, None):
        findings.append(failed(f"pytest exited {run.returncode} ({_describe(run)})",
                               location=run.project, evidence=evidence))
    return findings or [passed(_describe(run), location=run.project, evidence=evidence)]


def _documented_env_error(ctx: Context, why: str) -> str | None:
    """``KeyError: 'SECRET_KEY'`` when importing the tests: the variable (read by the code without
    a default and documented in an example env file) is missing from the test environment."""
    m = re.match(r"KeyError: ['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]$", why.strip())
    if m is None:
        return None
    v = env_graph(ctx).vars.get(m.group(1))
    required = v is not None and any(not r.has_default for r in v.reads)
    return f"{v.name} ({v.documented_in[0][0]}:{v.documented_in[0][1]})" \
        if v is not None and required and v.documented_in else None


def _static_prefix(path: str) -> str:
    """The path up to its first parameter: /notes/{id} -> /notes (``<id>``, ``(?P<id>...)``
    too)."""
    out = re.split(r"\{|<|:|\(", path, maxsplit=1)[0].rstrip("/")
    return out or "/"


def _named(e: Endpoint) -> str:
    """``GET /articles``: the route under the one prefix its router is included with."""
    route = e.route
    if len(e.mounts) == 1:
        route = e.mounts[0].rstrip("/") + ("/" + route.lstrip("/") if route else "")
    return f"{'/'.join(e.methods)} {route}"


def _name_reference(r: Endpoint) -> str:
    """A pattern for a test's reference to the route's URL name: Flask's endpoint name inside
    ``url_for(...)`` (a bare function name is too common a word to count elsewhere), FastAPI's
    route name inside ``url_path_for(...)``/``url_for(...)``, a Django URL name as a quoted
    string (``reverse("api:users:list")``, ``{% url 'x' %}``)."""
    quoted = f"[\"']{re.escape(r.name)}[\"']"
    if r.framework == "flask":
        return rf"\burl_for\(\s*{quoted}"
    return rf"\burl_(?:path_)?for\(\s*{quoted}" if r.framework == "fastapi" else quoted


def _served_at(r: Endpoint) -> list[str]:
    """The static prefixes a test may call the route at: its own route and the route under
    each ``include_router(prefix=...)`` it is mounted with (``@router.get("")`` included with
    ``prefix="/tags"`` is served at ``/tags``); the site root left out."""
    paths = [r.route, *(m.rstrip("/") + ("/" + r.route.lstrip("/") if r.route else "")
                        for m in r.mounts)]
    return [p for p in dict.fromkeys(_static_prefix(p) for p in paths) if p not in ("/", "")]


@check(
    "RDY-042",
    "The target's tests exercise its API endpoints",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.2.1",),
    evidence=Evidence.PRESENT,
)
def endpoints_tested(ctx: Context) -> list[Finding]:
    """Each backend route (read from the route decorators and URL configurations) is referenced
    by at least one test file (its path, up to the first parameter — also under each
    ``include_router(prefix=...)`` it is mounted with — or its URL name as in
    ``reverse("api:users:list")``, appears in a test; a Flask route's endpoint name counts in
    ``url_for("user.register_user")`` — blueprint and function, or ``endpoint=`` — only, a
    FastAPI route's ``name=`` in ``app.url_path_for("auth:login")``).
    Fewer than half referenced is a WARN, none a FAIL.

    Endpoints that no test calls break silently when models, dependencies or auth change.

    Remediation: add an API test per endpoint (happy path plus one error) with FastAPI's
    ``TestClient`` or ``httpx.AsyncClient(transport=ASGITransport(app))``.
    """
    rts = [r for r in backend_routes(ctx) if _served_at(r) or r.name]
    if not rts:
        raise Skip("no backend routes found in route decorators")
    inv = inventory(ctx)
    if inv.total == 0:
        return [failed(f"{len(rts)} routes and no tests at all")]
    blob = "\n".join(inv.texts.values())
    untested = [r for r in rts if not any(p in blob for p in _served_at(r)) and
                not (r.name and re.search(_name_reference(r), blob))]
    share = 100.0 * (len(rts) - len(untested)) / len(rts)
    msg = f"{len(rts) - len(untested)} of {len(rts)} routes referenced by tests ({share:.0f}%)"
    listing = "\n".join(f"{_named(r)} ({r.loc})" for r in untested)
    if len(untested) == len(rts):
        return [failed(msg, evidence=listing)]
    if share < 50:
        return [
            warned(
                msg + "; untested: " + ", ".join(_named(r) for r in untested[:8]),
                evidence=listing,
            )
        ]
    return [
        passed(
            msg
            + (
                f"; untested: {', '.join(_named(r) for r in untested[:8])}"
                if untested
                else ""
            ),
            evidence=listing,
        )
    ]


_ERROR_ASSERT = re.compile(
    # resp.status_code / status_int (WebTest) / status == 4xx, either side, or assertEqual'd;
    # the constants as ``status.HTTP_404_NOT_FOUND`` or imported bare (``HTTP_400_BAD_REQUEST``)
    r"status(_code|_int)?\s*==\s*((\w+\.)?HTTP_)?[45]\d\d|"
    r"\b[45]\d\d\s*==\s*[\w.\[\]'\"]*status(_code|_int)?\b|"
    r"==\s*(\w+\.)?HTTP_[45]\d\d|\bHTTP_[45]\d\d\w*\s*==\s*[\w.]*status(_code|_int)?\b|"
    r"assert(Equal|Equals)\(\s*[\w.]*status(_code|_int)?\s*,\s*((\w+\.)?HTTP_)?[45]\d\d|"
    r"assert(Equal|Equals)\(\s*((\w+\.)?HTTP_)?[45]\d\d\w*\s*,\s*[\w.]*status(_code|_int)?\b|"
    # WebTest: app.post(url, status=422) asserts the status; expect_errors=True lets one through
    r"\bstatus\s*=\s*['\"]?[45](\d\d|\*)|\bexpect_errors\s*=\s*True|"
    # django-test-plus: self.assertResponse404(resp), self.response_403(resp)
    r"\bassert_?[Rr]esponse_?[45]\d\d\b|\bresponse_[45]\d\d\(|"
    r"pytest\.raises|assertRaises|"
    r"\.toThrow|toHaveStatus\(\s*[45]|status\)\.toBe\(\s*[45]|"
    r"\bstatus\s*===?\s*[45]\d\d"
)
_MOCKS = re.compile(
    r"unittest\.mock|from\s+unittest\s+import\s+mock|\bmocker\b|respx|"
    r"\bresponses\b|MockTransport|monkeypatch|jest\.mock|vi\.mock|\bmsw\b|"
    r"httpretty|aioresponses|dependency_overrides|sinon|nock|page\.route\("
)
_EXTERNAL = re.compile(
    r"^\s*(import|from)\s+(httpx|requests|aiohttp|openai|anthropic|boto3|"
    r"stripe|smtplib)\b",
    re.M,
)


@check(
    "RDY-043",
    "Tests exercise error paths and isolate external services",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("4.1.3", "4.1.4"),
    evidence=Evidence.PRESENT,
)
def error_paths_and_mocks(ctx: Context) -> list[Finding]:
    """The target's tests assert error outcomes (a 4xx/5xx ``status_code``/``status_int``/
    ``status`` compared or ``assertEqual``'d, as a number or an ``HTTP_4xx_*`` constant,
    WebTest's ``status=4xx`` or ``expect_errors=True``, django-test-plus's
    ``assertResponse404``, ``pytest.raises``, ``toThrow``), and when the backend calls
    external services (httpx, requests, aiohttp, OpenAI and other SDKs) the tests replace them
    (``unittest.mock``, ``respx``, ``monkeypatch``, ``dependency_overrides``, ``jest.mock``,
    ``msw``).

    Happy-path-only tests miss exactly the branches that fail in production; tests that call
    real providers are slow, flaky and cost money.

    Remediation: add tests for invalid input, missing auth and provider failures, and mock the
    provider client (``respx`` for httpx, or a fake provider server) in unit and API tests.
    """
    inv = inventory(ctx)
    if inv.total == 0:
        return [failed("no tests: neither error paths nor mocks can be exercised")]
    err_files = [rel for rel, t in inv.texts.items() if _ERROR_ASSERT.search(t)]
    mock_files = [rel for rel, t in inv.texts.items() if _MOCKS.search(t)]
    externals = sorted(
        {m.group(2) for mod in py_sources(ctx).app for m in _EXTERNAL.finditer(mod.text)}
    )
    findings: list[Finding] = []
    if not err_files:
        findings.append(
            warned(f"none of {len(inv.files)} test file(s) asserts an error status or an exception")
        )
    if externals and not mock_files:
        findings.append(
            warned(f"the backend uses {', '.join(externals)} but no test mocks anything")
        )
    if not findings:
        findings.append(
            passed(
                f"error paths asserted in {len(err_files)} file(s); mocks in {len(mock_files)} "
                f"file(s); external clients in the backend: {', '.join(externals) or 'none'}"
            )
        )
    return findings


@check(
    "RDY-044",
    "End-to-end tests are set up (Playwright/Cypress), across browsers",
    severity=Severity.LOW,
    needs=("repo",),
    checklist=("4.3.1",),
    evidence=Evidence.PRESENT,
)
def e2e_setup(ctx: Context) -> list[Finding]:
    """The repository has an end-to-end test setup — a Playwright configuration whose
    ``testDir`` holds spec files that use its runner (``@playwright/test``, directly or through a
    fixtures module; Jest/Vitest unit tests named ``*.test.*`` do not count), a Cypress/
    WebdriverIO/Nightwatch configuration, or Playwright/Cypress/Selenium tests or tests in an
    ``e2e/``/``cypress/`` folder — and its Playwright projects declare more than one browser
    engine (code, not comments, is read). This is "present, not executed": RDY-032 runs the suite.
    A runner declared without configuration or tests (``@playwright/test``/``cypress``/
    ``selenium-webdriver`` … in a manifest, a CI workflow step that runs ``playwright test``/
    ``cypress run``, a Compose service that carries the suite) is a warning naming where it is
    declared: the tests and their browsers are not in the repository to verify. With none of
    these the check fails.

    Unit and API tests do not show that a user can register, log in and use the product in a
    browser; end-to-end tests of the critical journeys do.

    Remediation: add ``@playwright/test`` (or Playwright for Python) with tests for the critical
    journeys and projects for chromium, firefox and webkit; run them against staging.
    """
    pw = suites(ctx)
    others = other_setups(ctx)
    inv = inventory(ctx)
    e2e_tests = {rel: fw for rel, fw in inv.files.items()
                 if fw in ("playwright", "cypress") or in_e2e_dir(rel)
                 or re.search(r"playwright|selenium", inv.texts.get(rel, "")[:3000])}
    configs = [s.config for s in pw] + others
    if not configs and not e2e_tests:
        declared = declared_setups(ctx)
        if declared:
            return [warned("end-to-end setup declared (" + "; ".join(
                f"{where}: {what}" for where, what in declared[:5]) + ") but no end-to-end "
                "configuration or test files in the repository: the tests and the browsers they "
                "cover are not verified", location=declared[0][0])]
        return [failed("no end-to-end test setup (no playwright/cypress config, no browser tests, "
                       "no e2e runner in a manifest, CI workflow or Compose service)")]
    findings: list[Finding] = []
    for s in pw:
        if not s.tests:
            left_out = (f" ({len(s.not_playwright)} *.test/*.spec file(s) there, e.g. "
                        f"{s.not_playwright[0]}, do not use @playwright/test)"
                        if s.not_playwright else "")
            findings.append(failed(f"Playwright configuration {s.config} has no test files under "
                                   f"{s.test_dir}{left_out}", location=s.config))
    engines = sorted({e for s in pw for e in s.engines})
    if not e2e_tests and not any(s.tests for s in pw):
        findings.append(warned(f"end-to-end configuration {configs[0]} but no end-to-end tests",
                               location=configs[0]))
    elif pw and len(engines) < 2:
        findings.append(warned("the Playwright projects declare one browser engine "
                               f"({', '.join(engines) or 'default: chromium'}): cross-browser "
                               "behaviour is not tested", location=pw[0].config))
    if not any(f.status.rank >= 2 for f in findings):
        tests = sum(len(s.tests) for s in pw) or len(e2e_tests)
        findings.append(passed(f"end-to-end setup (present, not executed here; RDY-032 runs it): "
                               f"{tests} test file(s), config {', '.join(configs) or 'none'}, "
                               f"declared engines {', '.join(engines) or 'n/a'}",
                               location=(configs or list(e2e_tests))[0], level=Evidence.PRESENT))
    return findings
