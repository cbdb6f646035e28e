"""RDY-040–049: the target's own tests — count per framework, coverage, API endpoints exercised,
error paths and mocks, end-to-end setup."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses the target's own coverage report
from dataclasses import dataclass, field

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    Skip,
    check,
    errored,
    failed,
    load_json,
    load_toml,
    passed,
    warned,
)
from prodaudit.checks.readiness._backend import backend_routes
from prodaudit.checks.readiness._scan import (
    FRONTEND_EXT,
    is_test_path,
    parts,
    py_sources,
)

_PY_TEST = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(", re.M)
_JS_TEST = re.compile(r"(?<![\w.])(?:it|test)(?:\.\w+)?\s*\(\s*['\"`]", re.M)
_E2E_CONFIG = re.compile(
    r"(^|/)(playwright\.config|cypress\.config|wdio\.conf|nightwatch\.conf)"
    r"\.[cm]?[jt]s$|(^|/)cypress\.json$"
)


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
    """The repository contains automated tests; they are counted per framework (pytest,
    unittest, jest/mocha, vitest, Playwright, Cypress) and the counts are exported to
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
                "no automated tests found (no test_*.py / *.test.js / *.spec.ts with test "
                "functions)"
            )
        ]
    summary = ", ".join(f"{fw} {n}" for fw, n in sorted(inv.counts.items()))
    return [
        passed(
            f"{inv.total} tests in {len(inv.files)} file(s): {summary}",
            location=next(iter(inv.files)),
        )
    ]


def _coverage_configs(ctx: Context) -> list[tuple[str, float | None]]:
    """(where, fail_under) of every coverage configuration found."""
    out: list[tuple[str, float | None]] = []
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1]
        if name in (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml"):
            text = ctx.read(rel) or ""
            if name == "pyproject.toml":
                try:
                    data = load_toml(text, rel)
                except InputError:
                    continue
                cov = data.get("tool", {}).get("coverage")
                addopts = str(
                    data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("addopts", "")
                )
                if cov or "--cov" in addopts:
                    fu = (cov or {}).get("report", {}).get("fail_under")
                    out.append((rel, float(fu) if fu is not None else None))
            elif name == ".coveragerc" or "[coverage:" in text or "--cov" in text:
                m = re.search(r"fail_under\s*=\s*([\d.]+)", text)
                out.append((rel, float(m.group(1)) if m else None))
        elif re.match(r"(jest|vitest|vite)\.config\.[cm]?[jt]s$", name) or name == "package.json":
            text = ctx.read(rel) or ""
            if re.search(r"coverageThreshold|collectCoverage|coverage\s*:", text):
                m = re.search(r"(?:lines|statements)['\"]?\s*:\s*([\d.]+)", text)
                out.append((rel, float(m.group(1)) if m else None))
        elif rel.startswith(".github/workflows/") or name in (
            ".gitlab-ci.yml",
            "noxfile.py",
            "Makefile",
            "tasks.py",
        ):
            text = ctx.read(rel) or ""
            if re.search(r"--cov\b", text):
                m = re.search(r"--cov-fail-under[= ](\d+)", text)
                out.append((rel, float(m.group(1)) if m else None))
    return out


def _coverage_reports(ctx: Context) -> list[tuple[str, float | None, str]]:
    """(path, percent or None, problem) of every coverage report found."""
    out: list[tuple[str, float | None, str]] = []
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1]
        if name not in ("coverage.xml", "coverage.json", "lcov.info", "coverage-summary.json"):
            continue
        text = ctx.read(rel)
        if text is None:
            continue
        try:
            if name == "coverage.xml":
                root = ET.fromstring(text)  # noqa: S314 - the target's own report
                out.append((rel, float(root.attrib["line-rate"]) * 100, ""))
            elif name == "coverage.json":
                out.append((rel, float(load_json(text, rel)["totals"]["percent_covered"]), ""))
            elif name == "coverage-summary.json":
                out.append((rel, float(load_json(text, rel)["total"]["lines"]["pct"]), ""))
            else:
                lf = sum(int(x) for x in re.findall(r"^LF:(\d+)", text, re.M))
                lh = sum(int(x) for x in re.findall(r"^LH:(\d+)", text, re.M))
                out.append((rel, 100.0 * lh / lf if lf else None, "" if lf else "no LF lines"))
        except (ET.ParseError, KeyError, ValueError, TypeError, InputError) as exc:
            out.append((rel, None, f"unreadable report: {type(exc).__name__}: {exc}"))
    return out


@check(
    "RDY-041",
    "Test coverage is measured and meets the threshold",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.1.1",),
    evidence=Evidence.PARSED,
)
def coverage(ctx: Context) -> list[Finding]:
    """The target measures test coverage (coverage.py / pytest-cov configuration, jest or vitest
    coverage settings, a ``--cov`` run in CI) and, when a report is present (``coverage.xml``,
    ``coverage.json``, ``lcov.info``, ``coverage-summary.json``), its line coverage is at least
    ``readiness.min_coverage_percent``.

    Coverage is the cheapest signal of which code no test ever runs; an enforced threshold keeps
    it from eroding.

    Remediation: run tests with ``pytest --cov=app --cov-report=xml`` (or ``vitest --coverage``)
    in CI, set ``fail_under`` in ``[tool.coverage.report]``, and keep the report as a CI artifact.
    """
    threshold = ctx.cfg.readiness.min_coverage_percent
    configs = _coverage_configs(ctx)
    reports = _coverage_reports(ctx)
    findings: list[Finding] = []
    for rel, pct, problem in reports:
        if pct is None:
            findings.append(errored(f"{rel}: {problem}", location=rel))
        elif pct < threshold:
            findings.append(
                failed(f"line coverage {pct:.1f}% in {rel} is below {threshold:.0f}%", location=rel)
            )
        else:
            findings.append(
                passed(
                    f"line coverage {pct:.1f}% in {rel} (threshold {threshold:.0f}%)", location=rel
                )
            )
    if reports:
        ctx.export("readiness.coverage", {rel: pct for rel, pct, _ in reports})
    if not configs and not reports:
        findings.append(
            failed(
                "coverage is neither configured nor reported (no coverage.py/"
                "pytest-cov/jest/vitest coverage settings, no coverage report)"
            )
        )
    elif not reports:
        where = ", ".join(
            f"{r}" + (f" (fail_under {fu:.0f})" if fu is not None else "") for r, fu in configs[:4]
        )
        low = [(r, fu) for r, fu in configs if fu is not None and fu < threshold]
        if low:
            findings.append(
                warned(
                    f"coverage threshold {low[0][1]:.0f}% in {low[0][0]} is below {threshold:.0f}%",
                    location=low[0][0],
                )
            )
        findings.append(
            warned(
                f"coverage configured in {where} but no report to read the figure "
                "from (coverage.xml / coverage.json / lcov.info)",
                location=configs[0][0],
            )
        )
    return findings


def _static_prefix(path: str) -> str:
    """The path up to its first parameter: /notes/{id} -> /notes."""
    out = re.split(r"\{|<|:", path, maxsplit=1)[0].rstrip("/")
    return out or "/"


@check(
    "RDY-042",
    "The target's tests exercise its API endpoints",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("4.2.1",),
    evidence=Evidence.PRESENT,
)
def endpoints_tested(ctx: Context) -> list[Finding]:
    """Each backend route (read from the route decorators) is referenced by at least one test
    file (its path, up to the first parameter, appears in a test). Fewer than half referenced is
    a WARN, none a FAIL.

    Endpoints that no test calls break silently when models, dependencies or auth change.

    Remediation: add an API test per endpoint (happy path plus one error) with FastAPI's
    ``TestClient`` or ``httpx.AsyncClient(transport=ASGITransport(app))``.
    """
    rts = [r for r in backend_routes(ctx) if _static_prefix(r.path) not in ("/", "")]
    if not rts:
        raise Skip("no backend routes found in route decorators")
    inv = inventory(ctx)
    if inv.total == 0:
        return [failed(f"{len(rts)} routes and no tests at all")]
    blob = "\n".join(inv.texts.values())
    untested = [r for r in rts if _static_prefix(r.path) not in blob]
    share = 100.0 * (len(rts) - len(untested)) / len(rts)
    msg = f"{len(rts) - len(untested)} of {len(rts)} routes referenced by tests ({share:.0f}%)"
    listing = "\n".join(f"{r.method} {r.path} ({r.location})" for r in untested)
    if len(untested) == len(rts):
        return [failed(msg, evidence=listing)]
    if share < 50:
        return [
            warned(
                msg + "; untested: " + ", ".join(f"{r.method} {r.path}" for r in untested[:8]),
                evidence=listing,
            )
        ]
    return [
        passed(
            msg
            + (
                f"; untested: {', '.join(f'{r.method} {r.path}' for r in untested[:8])}"
                if untested
                else ""
            ),
            evidence=listing,
        )
    ]


_ERROR_ASSERT = re.compile(
    r"status(_code)?\s*==\s*[45]\d\d|pytest\.raises|assertRaises|"
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
    """The target's tests assert error outcomes (4xx/5xx statuses, ``pytest.raises``,
    ``toThrow``), and when the backend calls external services (httpx, requests, aiohttp, OpenAI
    and other SDKs) the tests replace them (``unittest.mock``, ``respx``, ``monkeypatch``,
    ``dependency_overrides``, ``jest.mock``, ``msw``).

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
    checklist=("4.3.1", "4.3.2"),
    evidence=Evidence.PRESENT,
)
def e2e_setup(ctx: Context) -> list[Finding]:
    """The repository has an end-to-end test setup — a Playwright, Cypress, WebdriverIO or
    Nightwatch configuration, or Playwright/Cypress tests — and a Playwright configuration runs
    more than one browser engine (``firefox``/``webkit`` projects besides chromium).

    Unit and API tests do not show that a user can register, log in and use the product in a
    browser; end-to-end tests of the critical journeys do.

    Remediation: add ``@playwright/test`` (or Playwright for Python) with tests for the critical
    journeys and projects for chromium, firefox and webkit; run them against staging.
    """
    configs = [
        rel
        for rel in ctx.files.files
        if _E2E_CONFIG.search(rel) and "node_modules" not in parts(rel)
    ]
    inv = inventory(ctx)
    e2e_tests = {
        rel: fw
        for rel, fw in inv.files.items()
        if fw in ("playwright", "cypress")
        or re.search(r"playwright|selenium", inv.texts.get(rel, "")[:3000])
    }
    if not configs and not e2e_tests:
        return [failed("no end-to-end test setup (no playwright/cypress config, no browser tests)")]
    findings: list[Finding] = []
    engines: set[str] = set()
    for rel in configs:
        text = ctx.read(rel) or ""
        engines |= {
            e
            for e in ("chromium", "firefox", "webkit", "chrome", "edge", "safari")
            if e in text.lower()
        }
    for rel in e2e_tests:
        engines |= {e for e in ("chromium", "firefox", "webkit") if e in inv.texts[rel].lower()}
    if not e2e_tests:
        findings.append(
            warned(
                f"end-to-end configuration {configs[0]} but no end-to-end tests",
                location=configs[0],
            )
        )
    if len(engines) < 2:
        findings.append(
            warned(
                "end-to-end tests target one browser engine "
                f"({', '.join(sorted(engines)) or 'default'}): cross-browser "
                "behaviour is not verified",
                location=(configs or list(e2e_tests))[0],
            )
        )
    if not any(f.status.rank >= 2 for f in findings):
        findings.append(
            passed(
                f"end-to-end: {len(e2e_tests)} file(s), config "
                f"{', '.join(configs) or 'none'}, engines "
                f"{', '.join(sorted(engines))}"
            )
        )
    return findings
