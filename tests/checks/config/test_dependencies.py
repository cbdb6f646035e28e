"""CFG-060..064: pinning, lock sync, npm locks, vulnerabilities (offline OSV), licenses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfg_helpers import describe, fails, line_of, ref_copy, res, run_cfg

from prodaudit.model import Severity, Status

REQ = "backend/requirements.txt"


def _first_pin(repo: Path) -> tuple[str, str, int]:
    for i, line in enumerate((repo / REQ).read_text(encoding="utf-8").splitlines(), 1):
        if "==" in line and not line.startswith("#"):
            name, ver = line.split("==", 1)
            return name.strip(), ver.split()[0].split(";")[0].strip(), i
    raise AssertionError("no pinned requirement in the reference target")


def test_unpinned_and_malformed_requirements(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    req = repo / REQ
    req.write_text(req.read_text(encoding="utf-8") + "httpx>=0.27\nnot a requirement ===\n",
                   encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-060"]), "CFG-060")
    assert r.status is Status.FAIL, describe(r)
    assert [f.location for f in fails(r)] == [f"{REQ}:{line_of(req, 'httpx>=0.27')}"]
    errs = [f for f in r.findings if f.status is Status.ERROR]
    assert errs and errs[0].location == f"{REQ}:{line_of(req, 'not a requirement')}"


def test_pyproject_without_lock_and_lock_out_of_sync(tmp_path: Path) -> None:
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1"\ndependencies = ["fastapi>=0.110", '
        '"httpx>=0.27,<1"]\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-060"]), "CFG-060")
    assert r.status is Status.FAIL and "no lock file" in fails(r)[0].message, describe(r)
    (repo / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "fastapi"\nversion = "0.100.0"\n', encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-060", "CFG-061"])
    assert res(run, "CFG-060").status is Status.PASS
    msgs = [f.message for f in fails(res(run, "CFG-061"))]
    assert any("fastapi 0.100.0" in m and ">=0.110" in m for m in msgs), msgs
    assert any("httpx is declared" in m and "missing" in m for m in msgs), msgs
    (repo / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "fastapi"\nversion = "0.115.2"\n'
        '[[package]]\nname = "httpx"\nversion = "0.28.1"\n', encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-061"]), "CFG-061").status is Status.PASS


def test_npm_lock_missing(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-062"]), "CFG-062")
    assert r.status is Status.PASS, describe(r)
    (repo / "frontend/package-lock.json").unlink()
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-062"]), "CFG-062")
    assert r2.status is Status.FAIL and fails(r2)[0].location == "frontend/package.json"
    (repo / "frontend/package.json").write_text("{ not json", encoding="utf-8")
    r3 = res(run_cfg(repo, tmp_path, only=["CFG-062"]), "CFG-062")
    assert r3.status is Status.ERROR


def _osv(db: Path, pkg: str, introduced: str, fixed: str, ident: str = "PYSEC-2099-1") -> None:
    db.mkdir(exist_ok=True)
    (db / f"{ident}.json").write_text(json.dumps({
        "id": ident, "aliases": ["CVE-2099-0001"], "summary": "fake advisory for the test",
        "database_specific": {"severity": "CRITICAL"},
        "affected": [{"package": {"ecosystem": "PyPI", "name": pkg},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": introduced}, {"fixed": fixed}]}]}],
    }), encoding="utf-8")


def test_vulnerability_from_offline_osv_db(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    name, ver, line = _first_pin(repo)
    db = tmp_path / "osv"
    _osv(db, name, "0", ver + ".post999")  # affects the pinned version
    r = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == f"{REQ}:{line}" and f.rule == "PYSEC-2099-1"
    assert f.severity is Severity.CRITICAL and "CVE-2099-0001" in f.message
    assert ver + ".post999" in f.remediation
    # an advisory fixed before the pinned version does not match
    (db / "PYSEC-2099-1.json").unlink()
    _osv(db, name, "0", "0.0.1", "PYSEC-2099-2")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert r2.status is Status.PASS, describe(r2)
    assert "1 OSV advisories" in r2.findings[0].message


def test_vulnerabilities_unverifiable_is_skip(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-063"]), "CFG-063")
    if r.status is Status.SKIP:
        assert "not verified" in r.reason
    else:  # pip-audit reached its service on this machine
        assert any("pip-audit" in f.message for f in r.findings), describe(r)
    bad = tmp_path / "garbage"
    bad.mkdir()
    (bad / "x.json").write_text("{ nope", encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=bad), "CFG-063")
    assert r2.status is Status.ERROR, describe(r2)


def _dist(sp: Path, name: str, version: str, *headers: str) -> None:
    d = sp / f"{name}-{version}.dist-info"
    d.mkdir(parents=True)
    meta = "Metadata-Version: 2.1\n" + f"Name: {name}\nVersion: {version}\n" + "".join(
        h + "\n" for h in headers)
    (d / "METADATA").write_text(meta, encoding="utf-8")


def test_license_compliance(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    r0 = res(run_cfg(repo, tmp_path, only=["CFG-064"]), "CFG-064")
    assert r0.status is Status.SKIP
    venv = tmp_path / "venv"
    sp = venv / "lib/python3.11/site-packages"
    _dist(sp, "okpkg", "1.0", "License-Expression: MIT")
    _dist(sp, "lgplpkg", "1.0", "Classifier: License :: OSI Approved :: GNU Lesser General "
          "Public License v3 (LGPLv3)")
    _dist(sp, "either", "1.0", "License-Expression: MIT OR GPL-3.0-only")
    r = res(run_cfg(repo, tmp_path, only=["CFG-064"], licenses={"target_venv": venv}), "CFG-064")
    assert r.status is Status.PASS, describe(r)
    _dist(sp, "gplpkg", "2.0", "License: GPL-3.0-or-later")
    _dist(sp, "agplpkg", "1.0", "Classifier: License :: OSI Approved :: GNU Affero General "
          "Public License v3")
    _dist(sp, "mystery", "0.1")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-064"], licenses={"target_venv": venv}), "CFG-064")
    assert r2.status is Status.FAIL, describe(r2)
    assert sorted(f.message.split()[0] for f in fails(r2)) == ["agplpkg", "gplpkg"]
    assert any(f.status is Status.WARN and f.message.startswith("mystery") for f in r2.findings)
    r3 = res(run_cfg(repo, tmp_path, only=["CFG-064"],
                     licenses={"target_venv": venv, "deny": [], "allow": ["MIT"]}), "CFG-064")
    assert r3.status is Status.WARN  # LGPL and GPL are not in the allow list


def test_poetry_project_with_lock(tmp_path: Path) -> None:
    repo = tmp_path / "poetry"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "p"\nversion = "1"\n[tool.poetry.dependencies]\n'
        'python = "^3.11"\nfastapi = "^0.115"\nrequests = "2.32.3"\n', encoding="utf-8")
    (repo / "poetry.lock").write_text(
        '[[package]]\nname = "fastapi"\nversion = "0.115.6"\n\n'
        '[[package]]\nname = "requests"\nversion = "2.31.0"\n', encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-060", "CFG-061"])
    assert res(run, "CFG-060").status is Status.PASS
    r = res(run, "CFG-061")
    assert r.status is Status.FAIL, describe(r)
    assert [f.message.split()[0:2] for f in fails(r)] == [["requests", "2.31.0"]]


def test_license_scope_pinned_audits_only_what_the_repository_pins(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    venv = tmp_path / "shared-venv"
    sp = venv / "lib/python3.11/site-packages"
    _dist(sp, "fastapi", "0.1", "License-Expression: MIT")
    _dist(sp, "some-dev-tool", "1.0", "License: GPL-3.0-or-later")  # not pinned by the target
    pinned = {"target_venv": venv, "scope": "pinned"}
    r = res(run_cfg(repo, tmp_path, only=["CFG-064"], licenses=pinned), "CFG-064")
    assert r.status is Status.PASS, describe(r)
    assert "pinned by the repository" in r.findings[0].message
    _dist(sp, "bcrypt", "9.9", "License: AGPL-3.0")  # pinned in backend/requirements.txt
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-064"], licenses=pinned), "CFG-064")
    assert r2.status is Status.FAIL, describe(r2)
    assert [f.message.split()[0] for f in fails(r2)] == ["bcrypt"]
    r3 = res(run_cfg(repo, tmp_path, only=["CFG-064"], licenses={"target_venv": venv}), "CFG-064")
    assert r3.status is Status.FAIL and len(fails(r3)) == 2


# ---------------------------------------------------------------- issue 16: package managers
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_development_requirement_files_are_not_production(tmp_path: Path) -> None:
    repo = _write(tmp_path / "r", {"requirements.txt": "fastapi==0.115.2\n",
                                   "requirements-dev.txt": "-r requirements.txt\nruff\npytest\n",
                                   "requirements/test.txt": "coverage\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-060"]), "CFG-060")
    assert r.status is Status.PASS, describe(r)
    assert "requirements-dev.txt" in r.findings[0].message  # named as not judged
    (repo / "requirements.txt").write_text("fastapi\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-060"]), "CFG-060")
    assert [f.location for f in fails(r)] == ["requirements.txt:1"]


def test_uv_workspace_members_are_locked_by_the_root(tmp_path: Path) -> None:
    repo = _write(tmp_path / "r", {
        "pyproject.toml": '[project]\nname = "root"\nversion = "1"\ndependencies = []\n'
                          '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/api/pyproject.toml": '[project]\nname = "api"\nversion = "1"\n'
                                       'dependencies = ["httpx>=0.27"]\n',
        "uv.lock": 'version = 1\n\n[[package]]\nname = "api"\nversion = "1"\n'
                   'source = { editable = "packages/api" }\ndependencies = [{ name = "httpx" }]\n\n'
                   '[[package]]\nname = "httpx"\nversion = "0.28.1"\n'
                   'source = { registry = "https://pypi.org/simple" }\n',
    })
    run = run_cfg(repo, tmp_path, only=["CFG-060", "CFG-061"])
    assert res(run, "CFG-060").status is Status.PASS, describe(res(run, "CFG-060"))
    assert res(run, "CFG-061").status is Status.PASS, describe(res(run, "CFG-061"))


def test_lock_pins_point_at_their_entry(tmp_path: Path) -> None:
    """A vulnerable version locked in uv.lock is reported at its ``name =`` line; a package only
    a dev group installs is not a production pin."""
    lock = ('version = 1\n\n[[package]]\nname = "svc"\nversion = "1"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "starlette" }]\n\n[package.dev-dependencies]\n'
            'dev = [{ name = "pytest" }]\n\n[[package]]\nname = "starlette"\nversion = "0.40.0"\n'
            'source = { registry = "https://pypi.org/simple" }\n\n[[package]]\nname = "pytest"\n'
            'version = "7.0.0"\nsource = { registry = "https://pypi.org/simple" }\n')
    repo = _write(tmp_path / "r", {"uv.lock": lock, "pyproject.toml": '[project]\nname = "svc"\n'
                                   'version = "1"\ndependencies = ["starlette>=0.40"]\n'})
    db = tmp_path / "osv"
    _osv(db, "starlette", "0", "0.47.2", "GHSA-test-star")
    _osv(db, "pytest", "0", "99.0", "GHSA-test-pyt")
    r = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert [(f.location, f.rule) for f in fails(r)] == [("uv.lock:13", "GHSA-test-star")], \
        describe(r)


def test_development_tools_in_production(tmp_path: Path) -> None:
    repo = _write(tmp_path / "r", {
        "requirements.txt": "flask==3.1.1\npylint==3.3.4\nisort==6.0.0\nipython==8.0.0\n"
                            "faker==30.0.0\n",
        "pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = [\n'
                          '    "uuid>=1.30",\n    "fastapi>=0.115",\n]\n'
                          '[dependency-groups]\ndev = ["pytest>=8", "ruff"]\n',
        "app/fake.py": "from faker import Faker\n",  # the app's own code uses faker
        "tests/test_x.py": "import pytest\n",
    })
    r = res(run_cfg(repo, tmp_path, only=["CFG-065"]), "CFG-065")
    assert r.status is Status.WARN, describe(r)
    assert {f.location for f in r.findings if f.status is Status.WARN} == {
        "requirements.txt:2", "requirements.txt:4", "pyproject.toml:5"}  # isort comes with pylint
    (repo / "requirements.txt").write_text("flask==3.1.1\n", encoding="utf-8")
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n'
                                         'dependencies = ["fastapi>=0.115"]\n', encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-065"]), "CFG-065").status is Status.PASS


def test_requirements_that_pin_only_direct_dependencies(tmp_path: Path) -> None:
    repo = _write(tmp_path / "r", {"requirements.txt": "fastapi==0.111.0\nopenai==1.33.0\n"
                                                       "python-dotenv\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.WARN, describe(r)
    (w,) = [f for f in r.findings if f.status is Status.WARN and "httpx" in f.message]
    assert w.location == "requirements.txt:2"  # openai misses the most
    (repo / "requirements.txt").write_text(
        "# This file is autogenerated by pip-compile\nfastapi==0.111.0\n    # via -r req.in\n",
        encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066").status is Status.PASS


def test_partly_pinned_requirements_do_not_pin_the_tree(tmp_path: Path) -> None:
    """Two pins among unpinned lines (flask-realworld's prod.txt): the unpinned lines and the
    pins' dependencies float, even when those dependencies are listed without a version."""
    repo = _write(tmp_path / "r", {"requirements/prod.txt": (
        "# Everything needed in production\n\nWerkzeug\nSQLAlchemy==1.1.9\nFlask_Caching\n"
        "Flask_SQLAlchemy==2.2\nclick\nFlask\ngunicorn\n")})
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.WARN, describe(r)
    locs = {f.location: f.message for f in r.findings if f.status is Status.WARN}
    assert "2 of 7" in locs["requirements/prod.txt:3"], describe(r)
    assert "flask" in locs["requirements/prod.txt:6"], describe(r)  # listed, but unpinned
    assert not [f for f in r.findings if f.status is Status.PASS]


def test_fully_pinned_requirements_with_their_dependencies_pass(tmp_path: Path) -> None:
    freeze = ("blinker==1.8.2\nclick==8.1.7\nFlask==3.0.3\nFlask-SQLAlchemy==3.1.1\n"
              "itsdangerous==2.2.0\nJinja2==3.1.4\nMarkupSafe==2.1.5\nSQLAlchemy==2.0.30\n"
              "Werkzeug==3.0.3\n-e .\n")
    repo = _write(tmp_path / "r", {"requirements.txt": freeze})
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.PASS, describe(r)
    assert "flask" in r.findings[0].message
    compiled = ("# This file is autogenerated by pip-compile\nflask==3.0.3\n    # via -r req.in\n"
                "werkzeug==3.0.3\n    # via flask\n")
    (repo / "requirements.txt").write_text(compiled, encoding="utf-8")
    assert res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066").status is Status.PASS
    # fully pinned, but nothing prodaudit knows the dependencies of: not verified
    (repo / "requirements.txt").write_text("psycopg2==2.9.9\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.SKIP and "not verified" in r.reason, describe(r)


def test_a_requirements_file_with_a_lock_next_to_it_is_its_input(tmp_path: Path) -> None:
    """``requirements.txt`` pins the direct dependencies and ``requirements-lock.txt`` (a ``pip
    freeze``) the whole tree: the lock is judged, not the input list (it WARNed that celery's
    dependencies float); a lock that misses them still WARNs."""
    lock = ("amqp==5.2.0\nbilliard==4.2.1\ncelery==5.4.0\nclick==8.1.7\n"
            "click-didyoumean==0.3.1\nclick-plugins==1.1.1\nclick-repl==0.3.0\nkombu==5.4.2\n"
            "python-dateutil==2.9.0.post0\ntzdata==2024.2\nvine==5.1.0\n")
    repo = _write(tmp_path / "r", {"requirements.txt": "celery==5.4.0\n",
                                   "requirements-lock.txt": lock})
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.PASS, describe(r)
    assert "requirements.txt (the input list of requirements-lock.txt)" in r.findings[0].message
    (repo / "requirements-lock.txt").write_text("celery==5.4.0\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-066"]), "CFG-066")
    assert r.status is Status.WARN, describe(r)
    assert {f.location for f in r.findings if f.status is Status.WARN} == {
        "requirements.txt:1", "requirements-lock.txt:1"}


_POETRY_LOCK = ('[[package]]\nname = "pyjwt"\nversion = "{ver}"\ndescription = "JWT"\n'
                'optional = false\npython-versions = ">=3.7"\ngroups = ["main"]\n\n'
                '[[package]]\nname = "pytest"\nversion = "7.0.0"\ngroups = ["dev"]\n')
_PDM_LOCK = ('[metadata]\ngroups = ["default"]\n\n[[package]]\nname = "click"\nversion = "8.1.7"\n'
             'groups = ["default"]\n\n[[package]]\nname = "PyJWT"\nversion = "{ver}"\n'
             'groups = ["default"]\n')


def _pipfile_lock(ver: str) -> str:
    return json.dumps({"_meta": {"hash": {"sha256": "x"}},
                       "default": {"click": {"version": "==8.1.7"},
                                   "pyjwt": {"hashes": [], "version": f"=={ver}"}},
                       "develop": {}}, indent=4) + "\n"


def _osv_listed(db: Path, pkg: str, versions: list[str], introduced: str, fixed: str) -> None:
    """A real-shaped OSV record: ECOSYSTEM range events and the enumerated ``versions``."""
    db.mkdir(exist_ok=True)
    (db / "GHSA-ffqj-6fqr-9h24.json").write_text(json.dumps({
        "schema_version": "1.6.0", "id": "GHSA-ffqj-6fqr-9h24", "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2022-29217"], "summary": "Key confusion through non-blocklisted formats",
        "affected": [{"package": {"ecosystem": "PyPI", "name": pkg},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": introduced}, {"fixed": fixed}]}],
                      "versions": versions}],
        "database_specific": {"severity": "HIGH"},
    }), encoding="utf-8")


@pytest.mark.parametrize("lock", ["poetry.lock", "pdm.lock", "Pipfile.lock"])
def test_vulnerable_lock_entry_fails_at_its_line(tmp_path: Path, lock: str) -> None:
    """CFG-063 offline: an affected version locked in poetry.lock, pdm.lock or Pipfile.lock is a
    FAIL at the line of the package's entry; the fixed version is a PASS."""
    def write(ver: str) -> Path:
        text = {"poetry.lock": _POETRY_LOCK, "pdm.lock": _PDM_LOCK}.get(lock, "").format(ver=ver)
        return _write(tmp_path / "r", {f"svc/{lock}": text or _pipfile_lock(ver)})

    db = tmp_path / "osv"
    _osv_listed(db, "PyJWT", ["1.5.0", "1.7.1", "2.3.0"], "1.5.0", "2.4.0")
    repo = write("1.7.1")
    text = (repo / "svc" / lock).read_text(encoding="utf-8")
    needle = '"pyjwt": {' if lock == "Pipfile.lock" else "yjwt\"\n"
    line = text[: text.lower().index(needle)].count("\n") + 1
    r = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert r.status is Status.FAIL, describe(r)
    assert [(f.location, f.rule, f.severity) for f in fails(r)] == [
        (f"svc/{lock}:{line}", "GHSA-ffqj-6fqr-9h24", Severity.HIGH)]
    assert "CVE-2022-29217" in fails(r)[0].message and "2.4.0" in fails(r)[0].remediation
    write("2.4.0")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert r2.status is Status.PASS, describe(r2)
    production = {"poetry.lock": 1}.get(lock, 2)  # poetry's pytest is in the dev group
    assert f"{production} pinned package(s) checked against 1 OSV advisories" in \
        r2.findings[0].message


def test_vulnerable_version_pinned_twice_fails_at_both(tmp_path: Path) -> None:
    repo = _write(tmp_path / "r", {"api/requirements.txt": "flask==3.1.1\nrequests==2.24.0\n",
                                   "worker/requirements.txt": "requests==2.24.0\n"})
    db = tmp_path / "osv"
    _osv(db, "requests", "2.3.0", "2.31.0", "PYSEC-2023-74")
    r = res(run_cfg(repo, tmp_path, only=["CFG-063"], vuln_db=db), "CFG-063")
    assert sorted(f.location for f in fails(r)) == ["api/requirements.txt:2",
                                                   "worker/requirements.txt:1"], describe(r)
