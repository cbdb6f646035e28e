"""RDY-045 and RDY-041: the audit runs the target's own test suite (in a virtualenv built from
its pinned requirements, cached) and measures coverage from that run. The reference target's
suite passes with its coverage; a flawed copy with a failing test, a test that needs a service
and a hand-written coverage.xml claiming 99% fails. One suite run per case (the two checks
share it). Unit tests of the lock readers need no network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest_services import require_service
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import CheckResult, Evidence, Status
from prodaudit.targetvenv import VenvError, build_env, lock_pins, wanted_python

__all__ = ["mvp"]

IDS = ["RDY-045", "RDY-041"]


def _need_python_tools() -> None:
    require_service("venv", importlib.util.find_spec("ensurepip") is not None,
                    "python3-venv (ensurepip) is needed to build the target's environment")


@pytest.fixture(scope="module")
def reference_run() -> dict[str, CheckResult]:
    _need_python_tools()
    return run_rdy(IDS)


def test_reference_suite_passes_with_coverage(reference_run: dict[str, CheckResult]) -> None:
    r45, r41 = reference_run["RDY-045"], reference_run["RDY-041"]
    assert_status(r45, Status.PASS)
    assert r45.evidence_level is Evidence.OBSERVED and r45.verified_pass
    text = messages(r45)
    assert " passed, 0 failed, 0 errors" in text and "-m coverage run -m pytest" in text
    assert "built from backend/requirements-dev.txt, backend/requirements.txt" in text
    assert_status(r41, Status.PASS)
    assert "measured by running the target's tests" in messages(r41)
    assert r41.evidence_level is Evidence.OBSERVED


FAILING = '''
import socket


def test_arithmetic_is_broken():
    assert 1 + 1 == 3, "deliberately wrong"


def test_needs_postgres():
    socket.create_connection(("127.0.0.1", 1), timeout=2)
'''


def test_failing_suite_and_handwritten_coverage_fail(mvp: Path) -> None:
    _need_python_tools()
    write(mvp / "backend" / "tests" / "test_flawed.py", FAILING)
    write(mvp / "backend" / "coverage.xml",
          '<?xml version="1.0" ?>\n<coverage line-rate="0.99" branch-rate="0.99"></coverage>\n')
    results = run_rdy(IDS, repo=mvp, readiness={"min_coverage_percent": 99.5})
    r45 = results["RDY-045"]
    assert_status(r45, Status.FAIL)
    text = messages(r45)
    assert "2 failed" in text and "test_arithmetic_is_broken: AssertionError: deliberately wrong" in text
    assert any(f.status is Status.WARN and "lack of a service" in f.message
               and "test_needs_postgres" in f.message for f in r45.findings), text
    r41 = results["RDY-041"]
    assert_status(r41, Status.FAIL)  # measured, not the committed 99%
    assert "below 100%" in messages(r41) or "below 99%" in messages(r41)
    assert "backend/coverage.xml not used as evidence" in messages(r41)


def test_no_lock_is_a_skip_with_the_reason(mvp: Path) -> None:
    for p in (mvp / "backend").glob("requirements*.txt"):
        p.unlink()
    r = run_rdy("RDY-045", repo=mvp)["RDY-045"]
    assert_status(r, Status.SKIP)
    assert "no lock or requirements file" in r.reason and "--target-venv" in r.reason


def test_given_environment_without_pytest_is_a_skip(mvp: Path, tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    import venv as venv_mod

    venv_mod.EnvBuilder(with_pip=False).create(venv)
    r = run_rdy("RDY-045", repo=mvp, readiness={"target_venv": str(venv)})["RDY-045"]
    assert_status(r, Status.SKIP)
    assert "pytest is not installed" in r.reason


POETRY_LOCK = '''
[[package]]
name = "fastapi"
version = "0.65.2"

[package.dependencies]
pydantic = ">=1.6.2"
colorama = {version = "*", markers = "sys_platform == \\"win32\\""}

[[package]]
name = "pydantic"
version = "1.8.2"

[[package]]
name = "colorama"
version = "0.4.4"

[[package]]
name = "myproject"
version = "0.1.0"
source = {type = "directory", url = "."}
'''

UV_LOCK = '''
version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "httpx" }, { name = "pywin32", marker = "sys_platform == 'win32'" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pywin32"
version = "306"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.2.0"
source = { registry = "https://pypi.org/simple" }
'''


def test_lock_pins_follow_markers(tmp_path: Path) -> None:
    poetry = write(tmp_path / "poetry.lock", POETRY_LOCK)
    assert lock_pins(poetry, "3.9.18") == ["fastapi==0.65.2", "pydantic==1.8.2"]
    uv = write(tmp_path / "uv.lock", UV_LOCK)
    assert lock_pins(uv, "3.12.1") == ["httpx==0.27.0", "pytest==8.2.0"]


def test_wanted_python_reads_the_pins(tmp_path: Path) -> None:
    write(tmp_path / "runtime.txt", "python-3.9.18\n")
    assert wanted_python(tmp_path, tmp_path) == ("==3.9.*", "runtime.txt")
    (tmp_path / "runtime.txt").unlink()
    write(tmp_path / "pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.10"\n')
    assert wanted_python(tmp_path, tmp_path)[0] == ">=3.10,<4"
    (tmp_path / "pyproject.toml").unlink()
    write(tmp_path / "Pipfile", '[packages]\nflask = "*"\n\n[requires]\npython_version = "3.7"\n')
    assert wanted_python(tmp_path, tmp_path) == ("==3.7.*", "Pipfile")
    with pytest.raises(VenvError, match="no lock or requirements"):
        build_env(tmp_path, tmp_path, cache=tmp_path / "cache", timeout=5)


def test_reference_requirements_are_found() -> None:
    from prodaudit.targetvenv import lock_files

    names = [p.name for p in lock_files(REFERENCE_TARGET / "backend", REFERENCE_TARGET)]
    assert names == ["requirements-dev.txt", "requirements.txt"]


@pytest.mark.parametrize("pinned_installed", [False, True])
def test_environment_built_with_another_python_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pinned_installed: bool) -> None:
    """A pinned Python that is not installed: the environment is built with another one and
    records which was pinned and which was used; a pin that is installed records nothing."""
    import prodaudit.targetvenv as tv

    here = "{}.{}".format(*sys.version_info[:2])
    monkeypatch.setattr(tv, "_installed_interpreters", lambda: [Path(sys.executable)])
    monkeypatch.setattr(tv, "_create", lambda *a, **k: None)
    write(tmp_path / "requirements.txt", "flask==3.0.0\n")
    pin = here if pinned_installed else "3.1"
    write(tmp_path / "Pipfile", f'[requires]\npython_version = "{pin}"\n')
    env = build_env(tmp_path, tmp_path, cache=tmp_path / "cache", timeout=5)
    if pinned_installed:
        assert env.python_mismatch == "" and "per Pipfile" in env.description
    else:
        assert "pins Python ==3.1.* (Pipfile)" in env.python_mismatch
        assert f"built with Python {here}." in env.python_mismatch
        assert env.python_mismatch in env.description


IMPORT_BROKEN = "raise ImportError(\"cannot import name 'MutableMapping' from 'collections'\")\n"


@pytest.mark.parametrize(("mismatch", "conftest", "status"), [
    ("the project pins Python ==3.7.* (Pipfile), which no installed interpreter satisfies; "
     "built with Python 3.11.7", IMPORT_BROKEN, Status.SKIP),
    ("", IMPORT_BROKEN, Status.FAIL),  # the right Python, and the tests do not import: FAIL
    ("the project pins Python ==3.7.* (Pipfile), which no installed interpreter satisfies; "
     "built with Python 3.11.7", "", Status.SKIP),  # ran and failed there: not verified either
    ("", "", Status.FAIL),  # the right Python, and a test fails: FAIL
])
def test_import_failure_with_another_python_is_not_verified(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mismatch: str, conftest: str,
        status: Status) -> None:
    import prodaudit.checks.readiness._testrun as testrun
    from prodaudit.targetvenv import TargetEnv

    env = TargetEnv(Path(sys.executable), f"the audit's own environment; {mismatch}", (),
                    mismatch)
    monkeypatch.setattr(testrun, "_environment", lambda ctx, project: env)
    repo = tmp_path / "repo"
    write(repo / "app.py", "VALUE = 1\n")
    write(repo / "requirements.txt", "flask\n")
    write(repo / "tests" / "conftest.py", conftest)
    write(repo / "tests" / "test_app.py", "def test_value():\n    assert 1 + 1 == 3\n")
    r = run_rdy("RDY-045", repo=repo)["RDY-045"]
    assert_status(r, status)
    if status is Status.SKIP:
        assert "==3.7.* (Pipfile)" in r.reason and "built with Python 3.11.7" in r.reason
        if conftest:
            assert r.reason.startswith("not verified: the tests failed to import")
            assert "MutableMapping" in r.reason
        else:
            assert r.reason.startswith("not verified: ") and "1 failed" in r.reason
            assert "test_value" in r.reason
    elif conftest:
        assert "pytest ran no test" in messages(r) and "MutableMapping" in messages(r)
    else:
        assert "1 failed" in messages(r) and "test_value" in messages(r)


@pytest.mark.parametrize(("example", "status"), [
    ("SECRET_KEY=change-me\n", Status.WARN),  # documented: the project's environment is missing
    ("OTHER=1\n", Status.FAIL),  # nobody can tell what the tests need: FAIL as before
])
def test_tests_needing_a_documented_variable_warn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str, status: Status) -> None:
    """The settings read ``os.environ["SECRET_KEY"]`` at import and the example env file
    documents it: the run without the project's environment is a WARN naming the variable,
    not "the suite fails"."""
    import prodaudit.checks.readiness._testrun as testrun
    from prodaudit.targetvenv import TargetEnv

    env = TargetEnv(Path(sys.executable), "the audit's own environment", (), "")
    monkeypatch.setattr(testrun, "_environment", lambda ctx, project: env)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    repo = tmp_path / "repo"
    write(repo / "settings.py", "import os\n\nSECRET_KEY = os.environ[\"SECRET_KEY\"]\n")
    write(repo / ".env.example", example)
    write(repo / "requirements.txt", "flask\n")
    write(repo / "tests" / "conftest.py", "import settings  # noqa: F401\n")
    write(repo / "tests" / "test_app.py", "def test_value():\n    assert True\n")
    r = run_rdy("RDY-045", repo=repo)["RDY-045"]
    assert_status(r, status)
    if status is Status.WARN:
        assert "the tests need SECRET_KEY (.env.example:1)" in messages(r)
    else:
        assert "pytest ran no test" in messages(r) and "SECRET_KEY" in messages(r)
