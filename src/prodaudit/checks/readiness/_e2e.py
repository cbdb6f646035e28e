"""The repository's end-to-end suite (issue 18): Playwright configurations read for their tests,
and one bounded run of the suite with ``@playwright/test`` (the version the repository pins,
installed once into a cache with npm, never a browser download) in every browser engine
installed on this machine (:mod:`prodaudit.browsers`) against the live frontend."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.version import InvalidVersion, Version

from prodaudit.browsers import Engine, installed_engines
from prodaudit.checks.api import Context, InputError, Skip, load_json
from prodaudit.checks.readiness._scan import line_of, parts
from prodaudit.observe import child_env, find_tool, run_bounded, workspace

CONFIG = re.compile(r"(^|/)playwright\.config\.[cm]?[jt]s$")
SPEC = re.compile(r"\.(spec|test)\.[cm]?[jt]sx?$")
OTHER_CONFIG = re.compile(r"(^|/)(cypress\.config\.[cm]?[jt]s|cypress\.json|wdio\.conf\.[cm]?[jt]s|"
                          r"nightwatch\.conf\.[cm]?[jt]s)$")
WRAPPER = "prodaudit-e2e.config.ts"
#: the first Playwright release whose firefox.launch(channel="moz-firefox") speaks WebDriver BiDi
BIDI_SINCE = Version("1.57.0")
MAX_FAILURES = 20

#: the audit's configuration around the repository's own: one project per installed engine,
#: the system browsers, the live frontend, a JSON report, no retries, one worker, no webServer
WRAPPER_TS = """// written by prodaudit into a throw-away copy of the repository
import * as loaded from "./__CONFIG__";
const mod: any = loaded as any;
const base: any = mod.default && mod.default.default ? mod.default.default : (mod.default ?? mod);
const engines: any[] = JSON.parse(process.env.PRODAUDIT_E2E_ENGINES || "[]");
const declared: any[] =
  Array.isArray(base.projects) && base.projects.length ? base.projects : [{ name: "default" }];
const chosen: any[] = [];
const seen = new Set<string>();
for (const p of declared) {
  const use = { ...(base.use || {}), ...(p.use || {}) };
  const name = use.browserName || use.defaultBrowserType || "chromium";
  const engine = engines.find((e) => e.name === name);
  if (!engine || seen.has(name)) continue;
  seen.add(name);
  const lo = use.launchOptions || {};
  const extra: any = { browserName: name, baseURL: process.env.PRODAUDIT_E2E_BASE_URL,
    launchOptions: { ...lo, executablePath: engine.executable, args: [...(lo.args || []), ...engine.args] },
    channel: engine.channel || undefined };
  if (name === "firefox" && use.colorScheme === undefined) extra.colorScheme = null;
  chosen.push({ ...p, metadata: { ...(p.metadata || {}), prodauditEngine: name },
    use: { ...(p.use || {}), ...extra } });
}
export default { ...base, projects: chosen, retries: 0, workers: 1, forbidOnly: false,
  webServer: undefined, outputDir: process.env.PRODAUDIT_E2E_OUT,
  reporter: [["json", { outputFile: process.env.PRODAUDIT_E2E_JSON }]],
  use: { ...(base.use || {}), baseURL: process.env.PRODAUDIT_E2E_BASE_URL } };
"""


@dataclass(frozen=True)
class Suite:
    config: str  # repository-relative path of playwright.config.*
    test_dir: str  # repository-relative
    tests: tuple[str, ...]  # spec files
    version: str  # @playwright/test version the repository pins ('' when it does not)
    engines: tuple[str, ...]  # browser names the configuration declares (static)
    #: files matching Playwright's default testMatch that do not use its runner (unit tests)
    not_playwright: tuple[str, ...] = ()


def bidi_capable(version: str) -> bool:
    """Whether ``@playwright/test`` at ``version`` can drive Firefox over WebDriver BiDi."""
    try:
        return Version(version) >= BIDI_SINCE
    except InvalidVersion:
        return False


def _declared_engines(text: str) -> tuple[str, ...]:
    found = set(re.findall(r"browserName\s*:\s*['\"](chromium|firefox|webkit)['\"]", text))
    devices = {"Chrome": "chromium", "Edge": "chromium", "Firefox": "firefox", "Safari": "webkit",
               "Pixel": "chromium", "Galaxy": "chromium", "iPhone": "webkit", "iPad": "webkit"}
    for dev in re.findall(r"devices\[\s*['\"]([^'\"]+)['\"]\s*\]", text):
        found |= {engine for key, engine in devices.items() if key in dev}
    return tuple(sorted(found))


def _pinned_version(ctx: Context, directory: PurePosixPath) -> str:
    for d in [directory, *directory.parents]:
        lock = ctx.read(str(d / "package-lock.json").removeprefix("./"))
        if lock:
            with contextlib.suppress(InputError, AttributeError):
                pkg = load_json(lock, "package-lock.json").get("packages", {})
                v = (pkg.get("node_modules/@playwright/test") or {}).get("version")
                if v:
                    return str(v)
        manifest = ctx.read(str(d / "package.json").removeprefix("./"))
        if manifest:
            with contextlib.suppress(InputError, AttributeError):
                data = load_json(manifest, "package.json")
                for section in ("devDependencies", "dependencies"):
                    spec = (data.get(section) or {}).get("@playwright/test")
                    m = re.search(r"\d+\.\d+\.\d+", str(spec or ""))
                    if m:
                        return m.group(0)
    return ""  # not pinned: the run uses the release of the audit's own Playwright for Python


#: Playwright's test runner, imported by a spec or by the fixtures module it imports
RUNNER = re.compile(r"""['"](@playwright/test|@playwright/experimental-ct-[\w-]+|playwright-test)['"]""")
RELATIVE = re.compile(r"""(?:from|import|require\()\s*['"](\.{1,2}/[^'"]+)['"]""")
_SOURCE_SUFFIXES = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts",
                    "/index.ts", "/index.js")


def uses_runner(ctx: Context, rel: str, known: frozenset[str]) -> bool:
    """Whether the file matched by Playwright's default ``testMatch`` is a Playwright test: it
    imports ``@playwright/test`` itself or through a relative module (fixtures). Jest and Vitest
    unit tests share the ``*.test.*`` names; Playwright cannot run them."""
    text = (ctx.read(rel) or "")[:20000]
    if RUNNER.search(text):
        return True
    here = PurePosixPath(rel).parent
    for target in RELATIVE.findall(text)[:20]:
        base = os.path.normpath(str(here / target))
        module = next((base + x for x in _SOURCE_SUFFIXES if base + x in known), None)
        if module is not None and RUNNER.search((ctx.read(module) or "")[:20000]):
            return True
    return False


def suites(ctx: Context) -> list[Suite]:
    """Playwright configurations and the Playwright spec files under their ``testDir`` (files
    that match its default ``testMatch`` but do not use its runner are left out)."""
    out: list[Suite] = []
    known = frozenset(ctx.files.files)
    for rel in ctx.files.files:
        if not CONFIG.search(rel) or "node_modules" in parts(rel):
            continue
        text = ctx.read(rel) or ""
        code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
        m = re.search(r"testDir\s*:\s*['\"]([^'\"]+)['\"]", code)
        directory = PurePosixPath(rel).parent
        test_dir = PurePosixPath(os.path.normpath(directory / (m.group(1) if m else ".")))
        prefix = "" if str(test_dir) == "." else f"{test_dir}/"
        matched = [f for f in ctx.files.files if f.startswith(prefix) and SPEC.search(f)
                   and "node_modules" not in parts(f)]
        tests = tuple(f for f in matched if uses_runner(ctx, f, known))
        out.append(Suite(rel, str(test_dir), tests, _pinned_version(ctx, directory),
                         _declared_engines(code), tuple(f for f in matched if f not in tests)))
    return out


def other_setups(ctx: Context) -> list[str]:
    return [rel for rel in ctx.files.files if OTHER_CONFIG.search(rel) and "node_modules" not in parts(rel)]


#: end-to-end runners as the manifests name them (browser automation used by test suites)
E2E_PACKAGES = {"@playwright/test": "Playwright", "cypress": "Cypress", "selenium-webdriver": "Selenium",
                "webdriverio": "WebdriverIO", "@wdio/cli": "WebdriverIO", "nightwatch": "Nightwatch",
                "testcafe": "TestCafe", "pytest-playwright": "Playwright", "pytest-selenium": "Selenium",
                "selenium": "Selenium"}
#: a CI step or compose command that runs an end-to-end runner
E2E_COMMAND = re.compile(r"\b(playwright\s+test|cypress\s+run|cypress-io/github-action|wdio\s+run|"
                         r"testcafe\s|nightwatch\b|pytest\b[^\n]*--browser)")
#: a compose service that carries the end-to-end suite (name, image or Dockerfile)
E2E_SERVICE = re.compile(r"(?m)^  ((?:playwright|cypress|e2e|selenium)[\w-]*):\s*$|"
                         r"(mcr\.microsoft\.com/playwright|cypress/(?:included|browsers)|"
                         r"selenium/standalone-\w+|Dockerfile\.(?:playwright|cypress|e2e))")
#: directory names that hold end-to-end tests
E2E_DIRS = frozenset({"e2e", "e2e-tests", "e2e_tests", "end-to-end", "end_to_end", "cypress"})
_CI = re.compile(r"(^|/)(\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.ya?ml|\.circleci/config\.ya?ml|"
                 r"azure-pipelines\.ya?ml|Jenkinsfile|bitbucket-pipelines\.ya?ml)$")
_COMPOSE = re.compile(r"(^|/)(docker-)?compose[\w.-]*\.ya?ml$")


def in_e2e_dir(rel: str) -> bool:
    """Whether ``rel`` lies in a directory named for end-to-end tests (``e2e/``, ``cypress/`` …)."""
    return bool(E2E_DIRS & {p.lower() for p in parts(rel)[:-1]})


def declared_setups(ctx: Context) -> list[tuple[str, str]]:
    """Signs of an end-to-end setup besides its configuration and tests, as ``(path:line, what)``:
    a runner in a package manifest (``devDependencies``/``dependencies``, Python requirements or
    ``pyproject.toml``), a CI workflow step that runs it, a Compose service that carries it."""
    out: list[tuple[str, str]] = []
    for rel in ctx.files.files:
        if "node_modules" in parts(rel):
            continue
        name = rel.rsplit("/", 1)[-1]
        is_manifest = name == "package.json" or name == "pyproject.toml" or re.fullmatch(
            r"requirements[\w.-]*\.(txt|in)", name) is not None
        if not (is_manifest or _CI.search(rel) or _COMPOSE.search(rel)):
            continue
        text = ctx.read(rel) or ""
        if name == "package.json":
            with contextlib.suppress(InputError, AttributeError):
                data = load_json(text, rel)
                for section in ("devDependencies", "dependencies"):
                    for pkg in data.get(section) or {}:
                        if pkg in E2E_PACKAGES and pkg != "selenium":
                            m = re.search(rf'"{re.escape(pkg)}"\s*:', text)
                            line = line_of(text, m.start()) if m else 1
                            out.append((f"{rel}:{line}", f"{E2E_PACKAGES[pkg]} ({pkg} in {section})"))
        elif is_manifest:
            for pkg in ("pytest-playwright", "pytest-selenium", "selenium"):
                m = re.search(rf"(?mi)^[\s\"']*{re.escape(pkg)}\b(?![-\w])", text)
                if m:
                    out.append((f"{rel}:{line_of(text, m.start())}", f"{E2E_PACKAGES[pkg]} ({pkg})"))
        elif _CI.search(rel):
            m = E2E_COMMAND.search(text)
            if m:
                out.append((f"{rel}:{line_of(text, m.start())}", f"CI runs `{m.group(1).strip()}`"))
        else:
            m = E2E_SERVICE.search(text)
            if m:
                what = f"service {m.group(1)}" if m.group(1) else m.group(2)
                out.append((f"{rel}:{line_of(text, m.start())}", f"Compose {what}"))
    return out


@dataclass
class ProjectResult:
    project: str
    engine: str
    passed: int = 0
    failed: int = 0
    flaky: int = 0
    skipped: int = 0


@dataclass
class E2ERun:
    suite: str
    command: str
    seconds: float
    returncode: int | None
    timed_out: bool
    engines: list[str]  # engines that were run
    not_run: list[str]  # engines (and why) that were not
    projects: list[ProjectResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # errors outside tests (config, collection)
    log: str = ""
    test_dir: str = ""  # repository-relative testDir (the report's file names are relative to it)


def _global_config(node: Path) -> list[str]:
    """``--globalconfig`` naming the machine's own npm configuration (``etc/npmrc`` under npm's
    default prefix, the directory above Node's ``bin``: where a certificate authority or a
    registry mirror is set): ``--prefix`` moves npm's global configuration into the prefix,
    where there is none."""
    npmrc = Path(os.path.realpath(node)).parent.parent / "etc" / "npmrc"
    return ["--globalconfig", str(npmrc)] if npmrc.is_file() else []


def _node_modules(ctx: Context, version: str) -> Path:
    """``@playwright/test`` at ``version`` in the audit's cache (npm, without browser downloads)."""
    npm, node = find_tool("npm"), find_tool("node")
    if npm is None or node is None:
        raise Skip("Node.js/npm are not installed: the Playwright suite cannot run")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = cache / "prodaudit" / "node" / f"playwright-test-{version}"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (root / "node_modules" / "@playwright" / "test" / "package.json").is_file():
            cmd: list[str | Path] = [npm, "install", "--prefix", root, "--no-audit", "--no-fund",
                                     "--ignore-scripts", "--no-save", "--loglevel", "error",
                                     *_global_config(node), f"@playwright/test@{version}"]
            ran = run_bounded(cmd, cwd=root, timeout=300,
                              env=child_env({"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}))
            if not ran.ok:
                raise Skip(f"npm could not install @playwright/test@{version}: {ran.tail(400)}")
    return root / "node_modules"


def _items(node: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = node.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _collect(node: dict[str, Any], file: str, out: E2ERun, by_project: dict[str, ProjectResult]) -> None:
    for spec in _items(node, "specs"):
        for test in spec.get("tests") or []:
            pr = by_project.get(test.get("projectName", ""))
            if pr is None:
                continue
            status = test.get("status")
            if status == "expected":
                pr.passed += 1
            elif status == "flaky":
                pr.flaky += 1
            elif status == "skipped":
                pr.skipped += 1
            else:
                pr.failed += 1
                results = test.get("results") or [{}]
                err = ((results[-1] or {}).get("error") or {}).get("message", "") or status
                first = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()[:1]
                if len(out.failures) < MAX_FAILURES:
                    where = PurePosixPath(out.test_dir or ".") / str(spec.get("file", file))
                    out.failures.append(f"[{pr.project}] {where}: {spec.get('title')}: "
                                        f"{(first or [''])[0][:200]}")
    for child in _items(node, "suites"):
        _collect(child, str(child.get("file") or file), out, by_project)


def _read_report(path: Path, out: E2ERun) -> None:
    try:
        data = load_json(path.read_text(errors="replace"), "e2e-report.json")
    except (OSError, InputError) as exc:
        out.errors.append(f"no readable Playwright report: {exc}")
        return
    projects = (data.get("config") or {}).get("projects") or []
    by_project = {}
    for p in projects:
        engine = (p.get("metadata") or {}).get("prodauditEngine") or (p.get("use") or {}).get("browserName")
        by_project[p.get("name", "")] = ProjectResult(p.get("name", ""), str(engine or "chromium"))
    for s in data.get("suites") or []:
        _collect(s, str(s.get("file", "")), out, by_project)
    out.projects = list(by_project.values())
    out.engines = sorted({p.engine for p in out.projects if p.passed + p.failed + p.flaky})
    for e in data.get("errors") or []:
        msg = re.sub(r"\x1b\[[0-9;]*m", "", str(e.get("message", e)))
        out.errors.append(msg.strip().splitlines()[0][:300] if msg.strip() else "error")


def e2e_url(ctx: Context) -> str | None:
    """Where the journeys run: ``readiness.e2e_frontend_url`` (a test instance), else the
    audited frontend."""
    return ctx.cfg.readiness.e2e_frontend_url or ctx.cfg.frontend_url


def run_suite(ctx: Context, suite: Suite) -> E2ERun:
    """Run ``suite`` once in every installed engine against the live frontend, bounded."""
    r = ctx.cfg.readiness
    if not suite.version:
        try:
            suite = replace(suite, version=importlib.metadata.version("playwright"))
        except importlib.metadata.PackageNotFoundError:
            raise Skip("@playwright/test is not pinned by the repository and Playwright for Python "
                       "is not installed to choose a release: install prodaudit[browser]") from None
    modules = _node_modules(ctx, suite.version)
    with workspace(ctx.repo) as copy:
        engines, missing = installed_engines(r.chromium_path, r.firefox_path, copy.parent / "bin")
        if not bidi_capable(suite.version) and any(e.name == "firefox" for e in engines):
            engines = [e for e in engines if e.name != "firefox"]
            missing.insert(0, f"firefox: @playwright/test {suite.version} (pinned) predates Firefox over "
                           f"WebDriver BiDi ({BIDI_SINCE}+), the only way to drive a system Firefox")
        if not engines:
            raise Skip("no browser engine installed: " + "; ".join(missing))
        config = copy / suite.config
        (config.parent / "node_modules").unlink(missing_ok=True)
        if not (config.parent / "node_modules").exists():
            (config.parent / "node_modules").symlink_to(modules, target_is_directory=True)
        (config.parent / WRAPPER).write_text(WRAPPER_TS.replace("__CONFIG__", config.name), encoding="utf-8")
        report = copy.parent / "e2e-report.json"
        env = child_env({
            "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "PRODAUDIT_E2E_JSON": str(report),
            "PRODAUDIT_E2E_OUT": str(copy.parent / "e2e-output"),
            "PRODAUDIT_E2E_ENGINES": json.dumps([_engine_json(e) for e in engines]),
            **{k: str(e2e_url(ctx)) for k in ("PRODAUDIT_E2E_BASE_URL", "E2E_BASE_URL", "BASE_URL",
                                                      "PLAYWRIGHT_BASE_URL", "PLAYWRIGHT_TEST_BASE_URL")},
        })
        cli = modules / "@playwright" / "test" / "cli.js"
        ran = run_bounded([find_tool("node") or "node", cli, "test", "-c", WRAPPER], cwd=config.parent,
                          timeout=r.e2e_timeout_seconds, env=env)
        out = E2ERun(suite.config, ran.command.replace(str(copy.parent), "<workspace>").replace(
            str(modules), "<cache>/node_modules"), ran.seconds, ran.returncode, ran.timed_out, [],
            missing, log=ran.tail(2500).replace(str(copy.parent), "<workspace>"), test_dir=suite.test_dir)
        if report.is_file():
            _read_report(report, out)
    return out


def _engine_json(e: Engine) -> dict[str, object]:
    return {"name": e.name, "executable": str(e.executable), "channel": e.channel, "args": list(e.args)}
