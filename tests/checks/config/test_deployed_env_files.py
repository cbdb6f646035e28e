"""The env files a deployment really reads (issue 16): a committed env file Compose reads and an
example the deployer copies to create an absent one are judged at their own ``path:line``."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import repo_of

from prodaudit.model import Status

COMPOSE = """\
services:
  api:
    build: .
    env_file: .env
    ports: ["127.0.0.1:8000:8000"]
"""
CODE = 'import os\nDEBUG = os.getenv("DEBUG", "false")\nSECRET_KEY = os.environ["SECRET_KEY"]\n'


def test_example_copied_by_the_deployer_is_judged(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"docker-compose.yml": COMPOSE, "app.py": CODE,
                              ".env.example": "# set me\nSECRET_KEY=changeme\nDEBUG=True\n"
                                              "MAIL_PASSWORD=\n"})
    run = run_cfg(repo, tmp_path, only=["CFG-020", "CFG-030"])
    r20, r30 = res(run, "CFG-020"), res(run, "CFG-030")
    f20 = [f for f in r20.findings if f.status is Status.WARN]
    assert [f.location for f in f20] == [".env.example:2"], describe(r20)  # empty: not a finding
    assert "copies to .env" in f20[0].message
    f30 = [f for f in r30.findings if f.location == ".env.example:3"]
    assert f30 and f30[0].status is Status.WARN, describe(r30)


def test_committed_env_file_compose_reads_fails(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"docker-compose.yml": COMPOSE, "app.py": CODE,
                              ".env": "SECRET_KEY=" + "k" * 48 + "\nDEBUG=1\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-030"]), "CFG-030")
    assert any(f.status is Status.FAIL and f.location == ".env:2" for f in r.findings), describe(r)
    ok = repo_of(tmp_path, {"docker-compose.yml": COMPOSE, "app.py": CODE,
                            ".env": "SECRET_KEY=" + "k" * 48 + "\nDEBUG=false\n"}, "ok")
    assert res(run_cfg(ok, tmp_path, only=["CFG-030"]), "CFG-030").status is Status.PASS


def test_profile_env_file_inside_the_repo_is_reported_once(tmp_path: Path) -> None:
    """The same line under an absolute and a relative path is one finding, named relatively."""
    repo = repo_of(tmp_path, {"app.py": CODE, "deploy/prod.env": "SECRET_KEY=changeme\n"
                                                               "DEBUG=true\n"})
    run = run_cfg(repo, tmp_path, only=["CFG-020", "CFG-030"], env_file=repo / "deploy/prod.env")
    r20, r30 = res(run, "CFG-020"), res(run, "CFG-030")
    assert [f.location for f in r20.findings if f.status is Status.FAIL] == \
        ["deploy/prod.env:1"], describe(r20)
    assert [f.location for f in r30.findings if f.status is Status.FAIL] == \
        ["deploy/prod.env:2"], describe(r30)


def test_a_concrete_signing_key_or_vendor_default_in_the_copied_example_warns(
        tmp_path: Path) -> None:
    """A signing or encryption key with any concrete value in the example the deployer copies is
    public; so is a vendor's default password (MinIO's ``minioadmin``). Other concrete secrets
    (a mail password) are not judged there, and no example is judged when nothing copies it."""
    example = ("SECRET_KEY=09d25e0a4faa6c52ac818166b7a9563b93f70991f6f0f4caa6cf63b88e8d3e7\n"
               "ENCRYPT_KEY=TshgGacKPYrm35m89UqbRg46JAbUm2yRtxOCQFdqa3w=\n"
               "MINIO_ROOT_PASSWORD=minioadmin\nMAIL_PASSWORD=Zq8vP2mLk4\n")
    repo = repo_of(tmp_path, {"docker-compose.yml": COMPOSE, "app.py": CODE,
                              ".env.example": example})
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    assert r.status is Status.WARN, describe(r)
    warned = {f.location: f.message for f in r.findings if f.status is Status.WARN}
    assert sorted(warned) == [".env.example:1", ".env.example:2", ".env.example:3"], describe(r)
    assert "committed, public" in warned[".env.example:1"]
    assert "well-known default" in warned[".env.example:3"]
    assert "09d25e0a4faa" not in " ".join(f.message + f.evidence for f in r.findings)
    alone = repo_of(tmp_path / "b", {"app.py": CODE, ".env.example": example})
    r = res(run_cfg(alone, tmp_path / "b", only=["CFG-020"]), "CFG-020")
    assert not [f for f in r.findings if f.status is not Status.PASS], describe(r)
