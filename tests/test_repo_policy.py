"""The audited repository does not configure its own auditor (issue 18): a repository-side
prodaudit.toml describes the product; keys that loosen the policy count only from the release
manager's configuration and are otherwise ignored and listed (audit.json extras, reports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from prodaudit.audit import run_audit
from prodaudit.config import AuditConfig, load_config
from prodaudit.repo_policy import POLICY, PRODUCT, RULES, SAFETY
from prodaudit.report.markdown import ProductionReadinessRenderer


def config_keys(model: type[BaseModel] = AuditConfig, prefix: str = "") -> list[str]:
    """Every key of AuditConfig, one level of sections deep (``readiness.log_files``)."""
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += config_keys(ann, f"{name}.")
        else:
            out.append(prefix + name)
    return out


def test_every_config_key_is_classified() -> None:
    """A new key must be classified in prodaudit/repo_policy.py: may the audited repository set
    it (it describes the product) or only the release manager (it loosens or steers the audit)?"""
    missing = [k for k in config_keys() if k not in RULES]
    assert missing == [], f"classify these AuditConfig keys in prodaudit/repo_policy.RULES: {missing}"
    assert {r.kind for r in RULES.values()} == {PRODUCT, POLICY, SAFETY}


LOOSENING = """
profile = "development"
skip = ["RDY-072", "CFG-"]
fail_on = "no-go"
waivers = "my-waivers.toml"
env_file = ".env.prod"

[auth]
login_url = "/api/login"
password_env = "GITHUB_TOKEN"

[readiness]
min_docstring_percent = 0
max_file_lines = 100000
min_coverage_percent = 0
log_files = ["fake.log"]

[jwt]
max_access_minutes = 100000

[perf]
p95_fail_ms = 90000
"""


def repo_with(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prodaudit.toml").write_text(text, encoding="utf-8")
    (repo / "my-waivers.toml").write_text("", encoding="utf-8")
    (repo / "fake.log").write_text('{"level": "info", "msg": "ok"}\n', encoding="utf-8")
    return repo


def test_repository_side_loosening_keys_are_ignored_and_listed(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, LOOSENING)
    cfg = load_config({"repo": repo})
    default = AuditConfig()
    assert cfg.profile == "production" and cfg.skip == [] and cfg.fail_on is None
    assert cfg.waivers is None and cfg.readiness.log_files == []
    assert cfg.readiness.min_docstring_percent == default.readiness.min_docstring_percent
    assert cfg.readiness.max_file_lines == default.readiness.max_file_lines
    assert cfg.jwt.max_access_minutes == default.jwt.max_access_minutes
    assert cfg.perf.p95_fail_ms == default.perf.p95_fail_ms
    assert cfg.auth.password_env == "PRODAUDIT_AUDIT_PASSWORD"
    # what describes the product is honoured
    assert cfg.env_file == (repo / ".env.prod").resolve() and cfg.auth.login_url == "/api/login"
    ignored = {i["key"]: i for i in cfg.repository_ignored}
    assert set(ignored) == {
        "profile", "skip", "fail_on", "waivers", "auth.password_env", "readiness.min_docstring_percent",
        "readiness.max_file_lines", "readiness.min_coverage_percent", "readiness.log_files",
        "jwt.max_access_minutes", "perf.p95_fail_ms",
    }
    assert ignored["readiness.max_file_lines"]["value"] == 100000
    assert "threshold looser than 400" in ignored["readiness.max_file_lines"]["why"]
    assert ignored["readiness.log_files"]["file"] == "prodaudit.toml"


def test_a_stricter_repository_threshold_is_honoured(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "profile = 'production'\n[readiness]\nmin_docstring_percent = 80\n"
                               "max_file_lines = 200\n[jwt]\nmax_access_minutes = 15\n")
    cfg = load_config({"repo": repo})
    assert cfg.readiness.min_docstring_percent == 80 and cfg.readiness.max_file_lines == 200
    assert cfg.jwt.max_access_minutes == 15 and cfg.repository_ignored == []


@pytest.mark.parametrize("how", ["--config", "PRODAUDIT_CONFIG"])
def test_the_release_managers_configuration_sets_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A file outside the repository (``--config`` or ``PRODAUDIT_CONFIG``) may loosen the policy;
    the repository's product description still applies under it."""
    repo = repo_with(tmp_path, LOOSENING)
    manager = tmp_path / "release-manager.toml"
    manager.write_text("[readiness]\nmin_docstring_percent = 5\nlog_files = ['/var/log/app.log']\n",
                       encoding="utf-8")
    kwargs: dict[str, Any] = {}
    if how == "--config":
        kwargs["config_file"] = manager
    else:
        monkeypatch.setenv("PRODAUDIT_CONFIG", str(manager))
    cfg = load_config({"repo": repo}, **kwargs)
    assert cfg.readiness.min_docstring_percent == 5
    assert cfg.readiness.log_files == [Path("/var/log/app.log")]
    assert cfg.env_file == (repo / ".env.prod").resolve()  # from the repository: the product
    assert cfg.config_file == manager
    assert "readiness.max_file_lines" in {i["key"] for i in cfg.repository_ignored}


def test_the_auditors_machinery_and_budgets_are_not_the_repositorys(tmp_path: Path) -> None:
    """The cache, the scan engine and the probe budgets steer the audit itself: a repository
    cannot pick a weaker engine or starve the probes (budget exhaustion turns checks into SKIP)."""
    repo = repo_with(tmp_path, "cache = false\n[secrets]\nengine = 'python'\n"
                               "[probes]\nmax_operations = 1\nmax_llm_calls = 0\n"
                               "[docker]\nlocal_base_image = 'theirs:latest'\n"
                               "cleanup_timeout_seconds = 1\n")
    cfg = load_config({"repo": repo})
    default = AuditConfig()
    assert cfg.cache is True and cfg.secrets.engine == default.secrets.engine
    assert cfg.probes.max_operations == default.probes.max_operations
    assert cfg.probes.max_llm_calls == default.probes.max_llm_calls
    assert {i["key"] for i in cfg.repository_ignored} == {
        "cache", "secrets.engine", "probes.max_operations", "probes.max_llm_calls",
        "docker.local_base_image", "docker.cleanup_timeout_seconds"}
    assert cfg.docker.local_base_image == default.docker.local_base_image
    assert cfg.docker.cleanup_timeout_seconds == default.docker.cleanup_timeout_seconds


def test_probe_exclusions_of_the_repository_are_honoured(tmp_path: Path) -> None:
    """``probes.exclude`` is the owner's safety request (a GET that recreates the database): it
    only removes requests, so it is honoured from the repository, and the release manager's
    exclusions add to it instead of dropping it."""
    repo = repo_with(tmp_path, "[probes]\nexclude = ['/createdb']\n")
    cfg = load_config({"repo": repo})
    assert cfg.probes.exclude == ["/createdb"] and cfg.repository_ignored == []
    manager = tmp_path / "release-manager.toml"
    manager.write_text("[probes]\nexclude = ['/admin/*']\nmax_requests = 50\n", encoding="utf-8")
    cfg = load_config({"repo": repo}, config_file=manager)
    assert cfg.probes.exclude == ["/createdb", "/admin/*"] and cfg.probes.max_requests == 50


def test_config_inside_the_repository_is_repository_side(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "")
    inside = repo / "ci" / "audit.toml"
    inside.parent.mkdir()
    inside.write_text("[readiness]\nmax_file_lines = 100000\n", encoding="utf-8")
    cfg = load_config({"repo": repo}, config_file=inside)
    assert cfg.readiness.max_file_lines == AuditConfig().readiness.max_file_lines
    assert [(i["key"], i["file"]) for i in cfg.repository_ignored] == [
        ("readiness.max_file_lines", "ci/audit.toml")]


def test_the_cli_may_loosen(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, LOOSENING)
    cfg = load_config({"repo": repo, "profile": "staging", "skip": ["RDY-072"]})
    assert cfg.profile == "staging" and cfg.skip == ["RDY-072"]


def test_ignored_keys_change_nothing_and_are_reported(tmp_path: Path) -> None:
    """An audit of a repository whose prodaudit.toml lowers the docstring threshold and skips the
    check gives the same RDY-072 verdict as without the file, and lists the keys."""
    repo = repo_with(tmp_path, LOOSENING)
    pkg = repo / "app"
    pkg.mkdir()
    (pkg / "main.py").write_text("".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(20)),
                                 encoding="utf-8")

    def audit() -> Any:
        cfg = load_config({"repo": repo, "only": ["RDY-072"], "start_target": False,
                           "output": tmp_path / "reports"})
        return run_audit(cfg, ["readiness"], quiet=True, write=False).run

    with_file = audit()
    (repo / "prodaudit.toml").unlink()
    without = audit()
    [r1], [r2] = with_file.results, without.results
    assert r1.status is r2.status and r1.status.value == "warn"
    ignored = with_file.extras["repository_config"]["ignored"]
    assert "readiness.min_docstring_percent" in {i["key"] for i in ignored}
    assert without.extras["repository_config"]["ignored"] == []
    md = ProductionReadinessRenderer().format(with_file)
    assert "## Set by the audited repository (ignored)" in md
    assert "`readiness.log_files = " in md and json.dumps(["fake.log"]) in md
