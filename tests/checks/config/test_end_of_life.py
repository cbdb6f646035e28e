"""CFG-110 on small repositories: past end of life FAIL at the line that names the version, a
build stage WARN, within six months WARN, supported PASS, nothing known SKIP. The audit's date is
pinned (``prodaudit.product.eol.today``) so the verdicts do not drift with the calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cfg_helpers import describe, fails, locs, res, run_cfg, warns, write

import prodaudit.product.eol as eol
from prodaudit.model import Status


@pytest.fixture(autouse=True)
def audit_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eol, "today", lambda: dt.date(2026, 11, 29))


def test_end_of_life_versions_fail_at_their_line(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {
        "backend/Dockerfile": "FROM node:12 AS assets\nRUN npm ci\n\nFROM python:3.8\n"
                              "COPY --from=assets /dist /app/static\nCMD [\"python\", \"-m\", \"app\"]\n",
        "docker-compose.yml": "services:\n  proxy:\n    image: nginx:1.17\n  db:\n"
                              "    image: postgres:12\n  cache:\n    image: redis:7.4\n",
        "requirements.txt": "Django==1.11.7\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-110"]), "CFG-110")
    assert r.status is Status.FAIL, describe(r)
    assert {f.location for f in fails(r)} == {"backend/Dockerfile:4", "docker-compose.yml:3",
                                               "docker-compose.yml:5", "requirements.txt:1"}
    py = next(f for f in fails(r) if f.location == "backend/Dockerfile:4")
    assert py.message == "Python 3.8 (FROM python:3.8) reached end of life on 2024-10-07"
    assert "endoflife.date" in py.evidence
    # the node stage only builds assets: a WARN, not a FAIL
    assert [f.location for f in warns(r)] == ["backend/Dockerfile:1"]
    assert "build stage only" in warns(r)[0].message


def test_within_six_months_is_warn_and_supported_passes(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {".python-version": "3.11.9\n", "runtime.txt": "python-3.13.1\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-110"]), "CFG-110")
    assert r.status is Status.PASS, describe(r)
    assert "2 runtime/service version(s) supported" in r.findings[0].message
    (repo / ".python-version").write_text("3.10\n", encoding="utf-8")
    assert locs(res(run_cfg(repo, tmp_path, only=["CFG-110"]), "CFG-110")) == {".python-version:1"}


def test_warn_before_the_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eol, "today", lambda: dt.date(2027, 6, 1))
    repo = write(tmp_path / "r", {"Dockerfile": "FROM python:3.11-slim\nCMD [\"python\"]\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-110"]), "CFG-110")
    assert r.status is Status.WARN, describe(r)
    assert warns(r)[0].message.endswith("reaches end of life on 2027-10-31")


def test_unknown_versions_are_not_judged(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"compose.yaml": "services:\n  x:\n    image: example/tool:2.3\n"})
    assert res(run_cfg(repo, tmp_path, only=["CFG-110"]), "CFG-110").status is Status.SKIP
