"""nox sessions for prodaudit. `nox -s tests` is the test command CI runs.

`audit` and `security` fail unless the decision is GO; pass `-- --fail-on no-go` to let a
CONDITIONAL GO through (exit codes: docs in README.md).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite against real servers (pytest; posargs passed through)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"PYTHONUNBUFFERED": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff on the package, tests, tasks and the reference target."""
    session.install("ruff>=0.4")
    session.run("ruff", "check", "src", "tests", "tasks.py", "noxfile.py", "scripts", *session.posargs)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy on the package."""
    session.install("-e", ".", "mypy>=1.10", "types-PyYAML")
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON)
def audit(session: nox.Session) -> None:
    """Run the whole audit (default: the bundled reference target); posargs go to `prodaudit run`."""
    session.install("-e", ".[all,target]")
    session.run("prodaudit", "run", "--suite", "all", *session.posargs)


@nox.session(python=PYTHON)
def security(session: nox.Session) -> None:
    """The security suite plus bandit and pip-audit, in an isolated venv."""
    session.install("-e", ".[target,audit]")
    session.run("prodaudit", "run", "--suite", "security", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: scan and probe speed, measured not asserted (posargs to pytest)."""
    session.install("-e", ".[test]", "pytest-benchmark>=4")
    session.run("pytest", "benchmarks", "--benchmark-only", *session.posargs)


@nox.session(python=PYTHON)
def field(session: nox.Session) -> None:
    """Field corpus vs tests/field manifests: static suites, or `-- --live` to run and audit the projects."""
    session.install("-e", ".[test]")
    script = "tests/field/live.py" if "--live" in session.posargs else "tests/field/harness.py"
    args = [a for a in session.posargs if a != "--live"]
    session.run("python", script, *args, env={"PYTHONUNBUFFERED": "1"})
