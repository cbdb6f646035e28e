"""One observed run of the target's own Python test suite (issue 18), shared by RDY-045 (the
suite passes) and RDY-041 (coverage): pytest under coverage.py, in the target's environment
(``--target-venv`` or a cached virtualenv built from its lock), in a throw-away copy of the
repository, within ``readiness.tests_timeout_seconds``."""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses the report our own pytest run wrote
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dotenv import dotenv_values

from prodaudit.checks.api import Context, InputError, Skip, load_json, load_toml
from prodaudit.checks.readiness._scan import py_sources
from prodaudit.observe import Ran, child_env, run_bounded, workspace
from prodaudit.targetvenv import TargetEnv, VenvError, build_env, given_env

PROJECT_MARKERS = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "setup.py", "manage.py",
                   "requirements.txt", "Pipfile", "poetry.lock", "uv.lock")
SERVICE_ERROR = re.compile(
    r"Connection refused|could not connect to server|connection to server at|OperationalError|"
    r"redis\.exceptions\.ConnectionError|ECONNREFUSED|Name or service not known|"
    r"Temporary failure in name resolution|Error 111 connecting|ServerSelectionTimeoutError|"
    r"Cannot connect to host|nodename nor servname", re.I)
MAX_LISTED = 20
_OMIT = "*/tests/*,*/test/*,*/test_*.py,*_test.py,*/conftest.py,*/setup.py,*/noxfile.py"


@dataclass(frozen=True)
class TestRun:
    project: str  # the directory the suite ran in, relative to the repository
    command: str
    environment: str
    returncode: int | None
    timed_out: bool
    seconds: float
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed: tuple[str, ...] = ()  # "test id: first line of the message"
    service_failed: tuple[str, ...] = ()  # failures for lack of a service (DATABASE_URL ...)
    coverage: float | None = None
    coverage_problem: str = ""
    log: str = ""
    collection_errors: int = 0  # modules pytest could not import ("collection failure")
    python_mismatch: str = ""  # the pinned Python was not installed: which was used instead

    @property
    def failed_at_import(self) -> bool:
        """pytest stopped before running any test: a conftest or every test module it reached
        failed to import (exit 5, "no tests collected", is not this)."""
        return self.tests - self.collection_errors == 0 and self.returncode not in (0, 5, None)

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def test_project(ctx: Context) -> str | None:
    """The directory (relative) that holds most of the repository's Python tests: the nearest
    ancestor of the test files with a project marker (pytest/setuptools/Django files, a lock)."""
    counts: dict[str, int] = {}
    for mod in py_sources(ctx).tests:
        rel = PurePosixPath(mod.rel)
        project = "."
        for d in rel.parents:
            if any((ctx.repo / d / m).is_file() for m in PROJECT_MARKERS):
                project = d.as_posix()
                break
        counts[project] = counts.get(project, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda p: (counts[p], -p.count("/")))


def _coverage_source_configured(project: Path) -> bool:
    pp = project / "pyproject.toml"
    if pp.is_file():
        try:
            data = load_toml(pp.read_text(errors="replace"), "pyproject.toml")
        except InputError:
            data = {}
        if ((data.get("tool") or {}).get("coverage") or {}).get("run", {}).get("source"):
            return True
    for name, section in ((".coveragerc", "run"), ("setup.cfg", "coverage:run"), ("tox.ini", "coverage:run")):
        path = project / name
        if path.is_file():
            cp = configparser.ConfigParser(interpolation=None)
            try:
                cp.read_string(path.read_text(errors="replace"))
            except configparser.Error:
                continue
            if cp.has_option(section, "source"):
                return True
    return False


def _environment(ctx: Context, project: Path) -> TargetEnv:
    r = ctx.cfg.readiness
    if r.target_venv is not None:
        return given_env(r.target_venv)
    return build_env(project, ctx.repo, cache=r.venv_cache_dir, timeout=r.venv_build_timeout_seconds,
                     wheelhouse=r.wheelhouse)


def _tests_env(ctx: Context, project: Path) -> dict[str, str]:
    extra: dict[str, str] = {}
    path = ctx.cfg.readiness.tests_env_file
    if path is not None:
        if not path.is_file():
            raise Skip(f"readiness.tests_env_file {path} does not exist")
        values = {k: v or "" for k, v in dotenv_values(path).items()}
        ctx.redact.register_env(values)
        extra.update(values)
    src = [str(project)] + ([str(project / "src")] if (project / "src").is_dir() else [])
    extra["PYTHONPATH"] = ":".join(src)
    extra["COVERAGE_FILE"] = str(project.parent / ".prodaudit-coverage")
    return child_env(extra)


def _parse_junit(path: Path) -> tuple[int, int, int, int, list[str], list[str], int]:
    """tests, failures, errors, skipped, failed ids, failed-for-lack-of-a-service ids,
    collection errors."""
    root = ET.parse(path).getroot()  # noqa: S314 - written by the pytest we ran
    tests = failures = errors = skipped = collection = 0
    failed: list[str] = []
    service: list[str] = []
    for case in root.iter("testcase"):
        tests += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        for kind in ("failure", "error"):
            el = case.find(kind)
            if el is None:
                continue
            failures += kind == "failure"
            errors += kind == "error"
            collection += kind == "error" and el.get("message") == "collection failure"
            msg = (el.get("message") or el.text or "").strip().splitlines()
            line = f"{name}: {(msg[0] if msg else kind)[:200]}"
            text = f"{el.get('message') or ''}\n{el.text or ''}"
            (service if SERVICE_ERROR.search(text) else failed).append(line)
        if case.find("skipped") is not None:
            skipped += 1
    return tests, failures, errors, skipped, failed, service, collection


def _coverage(env: TargetEnv, cwd: Path, out: Path, envvars: dict[str, str]) -> tuple[float | None, str]:
    run_bounded([env.python, "-m", "coverage", "combine"], cwd=cwd, timeout=60, env=envvars)
    ran = run_bounded([env.python, "-m", "coverage", "json", "-o", out / "coverage.json"], cwd=cwd,
                      timeout=120, env=envvars)
    if not ran.ok or not (out / "coverage.json").is_file():
        return None, f"coverage json failed: {ran.tail(300)}"
    try:
        data = load_json((out / "coverage.json").read_text(), "coverage.json")
        return float(data["totals"]["percent_covered"]), ""
    except (InputError, KeyError, TypeError, ValueError) as exc:
        return None, f"coverage report unreadable: {exc}"


def _probe(env: TargetEnv, cwd: Path) -> set[str]:
    code = ("import importlib.util as u; print(' '.join(m for m in ('pytest', 'coverage', 'pytest_cov')"
            " if u.find_spec(m)))")
    ran = run_bounded([env.python, "-c", code], cwd=cwd, timeout=60)
    return set(ran.stdout.split()) if ran.ok else set()


def _command(env: TargetEnv, have: set[str], project: Path, junit: Path) -> list[str]:
    cmd = [str(env.python)]
    if "coverage" in have:
        cmd += ["-m", "coverage", "run"]
        if not _coverage_source_configured(project):
            cmd += ["--source=.", f"--omit={_OMIT}"]
    cmd += ["-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    if "pytest_cov" in have:
        cmd.append("--no-cov")  # coverage.py measures; pytest-cov would start a second tracer
    return cmd


def _execute(ctx: Context, rel: str) -> TestRun:
    r = ctx.cfg.readiness
    try:
        env = _environment(ctx, ctx.repo / rel)
    except VenvError as exc:
        raise Skip(f"the target's tests were not run: {exc}") from None
    try:
        with workspace(ctx.repo) as copy:
            project = copy / rel if rel != "." else copy
            out = copy.parent
            have = _probe(env, project)
            if "pytest" not in have:
                raise Skip(f"pytest is not installed in the target's environment ({env.description})")
            envvars = _tests_env(ctx, project)
            ran: Ran = run_bounded(_command(env, have, project, out / "junit.xml"), cwd=project,
                                   timeout=r.tests_timeout_seconds, env=envvars)
            cov, problem = (None, "coverage.py is not installed in the target's environment")
            if "coverage" in have and not ran.timed_out:
                cov, problem = _coverage(env, project, out, envvars)
            counts = _parse_junit(out / "junit.xml") if (out / "junit.xml").is_file() else None
    except ValueError as exc:
        raise Skip(f"the target's tests were not run: {exc}") from None
    shown = ran.command.replace(str(copy.parent), "<workspace>")
    base = TestRun(rel, shown, env.description, ran.returncode, ran.timed_out, ran.seconds,
                   coverage=cov, coverage_problem=problem,
                   log=ran.tail(3000).replace(str(copy.parent), "<workspace>"),
                   python_mismatch=env.python_mismatch)
    if counts is None:
        return base
    tests, failures, errors, skipped, failed, service, collection = counts
    return TestRun(**{**base.__dict__, "tests": tests, "failures": failures, "errors": errors,
                      "skipped": skipped, "failed": tuple(failed[:MAX_LISTED]),
                      "service_failed": tuple(service[:MAX_LISTED]),
                      "collection_errors": collection})


def test_run(ctx: Context) -> TestRun:
    """The target's test suite, run once per audit (Skip with the reason when it cannot run)."""

    def build() -> TestRun:
        if not ctx.cfg.readiness.run_tests:
            raise Skip("readiness.run_tests is off: the target's tests were not run")
        rel = test_project(ctx)
        if rel is None:
            raise Skip("no Python test files to run")
        return _execute(ctx, rel)

    return ctx.memo("rdy:testrun", build)
