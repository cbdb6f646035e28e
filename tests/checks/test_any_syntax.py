"""Python the host interpreter cannot parse (3.12-3.14 syntax) never costs a check (issue 16):
every check that reads Python still judges the other files, and the new syntax is read too."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import audit_target, describe
from helpers import result as res

from prodaudit.model import Status

pytest.importorskip("tree_sitter_python")

MODERN = textwrap.dedent('''\
    import uvicorn

    type Handler[T] = Callable[[T], None]


    def route[T](items: list[T]) -> str:
        return f"{items[0]["name"]}: {'\\n'.join(str(i) for i in items)}"


    if __name__ == "__main__":
        uvicorn.run("app.main:app", reload=True)
''')
SETTINGS = textwrap.dedent('''\
    import os

    JWT_SECRET = os.getenv("JWT_SECRET", "dev-secret-from-another-file")
''')


def test_modern_syntax_file_next_to_a_real_problem(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # static run
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app/modern.py").write_text(MODERN, encoding="utf-8")
    (repo / "app/settings.py").write_text(SETTINGS, encoding="utf-8")
    (repo / "app/__init__.py").write_text("", encoding="utf-8")
    (repo / "Dockerfile").write_text('FROM python:3.13-slim\nCOPY app app\n'
                                     'CMD ["python", "app/modern.py"]\n', encoding="utf-8")
    run = audit_target(None, tmp_path, suites=["config", "deployment", "readiness"], repo=repo,
                       skip=["CFG-063"])
    errors = [r for r in run.results if r.status is Status.ERROR]
    assert not errors, "\n".join(describe(r) for r in errors)
    # the problem in the other file is found ...
    r23 = res(run, "CFG-023")
    assert any(f.location == "app/settings.py:3" for f in r23.findings
               if f.status is Status.FAIL), describe(r23)
    # ... and so is the one inside the file only a current grammar reads, at its own line
    r31 = res(run, "CFG-031")
    assert any(f.location == "app/modern.py:11" and "reload=True" in f.message
               for f in r31.findings if f.status is Status.FAIL), describe(r31)
    r5 = res(run, "CFG-005")
    assert r5.status is Status.PASS and "app/modern.py" in r5.findings[0].message, describe(r5)
