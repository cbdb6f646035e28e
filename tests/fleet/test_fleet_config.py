"""[[services]] in prodaudit.toml: inheritance, paths, validation with one-line errors, the fleet
digest, and the classification of every service key (issue 18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fleet_helpers import prodaudit, write

from prodaudit.config import (
    SERVICE_KEY_KINDS,
    AuditConfig,
    ConfigError,
    ServiceConfig,
    load_config,
    service_config,
)
from prodaudit.config_model import ConfigModel
from prodaudit.fleet.services import fleet_digest

FLEET = """
profile = "production"
env_file = ".env.shared"
skip = ["RDY-072"]

[auth]
username_env = "TOP_USER"
login_url = "/auth/token"

[perf]
requests = 50

[[services]]
name = "api"
repo = "services/api"
base_url = "http://127.0.0.1:9001/"
compose_files = ["docker-compose.yml", "docker-compose.prod.yml"]
compose_service = "backend"
waivers = "waivers.toml"

[services.auth]
password_env = "API_PASSWORD"

[[services]]
name = "worker"
suites = ["config", "deployment"]
profile = "staging"
"""


def _fleet(tmp_path: Path, text: str = FLEET) -> Path:
    root = tmp_path / "fleet"
    (root / "services" / "api").mkdir(parents=True)
    write(root / "prodaudit.toml", text)
    return root


def test_each_service_inherits_the_top_level_and_overrides_what_it_sets(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    fleet = load_config({}, config_file=root / "prodaudit.toml")
    assert [s.name for s in fleet.services] == ["api", "worker"]
    api = service_config(fleet, "api")
    assert api.repo == (root / "services" / "api").resolve()
    assert api.base_url == "http://127.0.0.1:9001"
    # paths of a service table are relative to its repo; inherited ones keep the file's base
    assert api.compose_files == [
        root / "services/api/docker-compose.yml",
        root / "services/api/docker-compose.prod.yml",
    ]
    assert api.waivers == root / "services/api/waivers.toml"
    assert api.env_file == root / ".env.shared"
    assert api.docker.service == "backend"
    # a section key by key: the service sets one key, inherits the others
    assert api.auth.password_env == "API_PASSWORD"
    assert api.auth.username_env == "TOP_USER" and api.auth.login_url == "/auth/token"
    assert api.perf.requests == 50 and api.skip == ["RDY-072"] and api.profile == "production"
    assert api.services == []
    worker = service_config(fleet, "worker")
    assert worker.repo == fleet.repo and worker.profile == "staging" and worker.base_url is None
    assert fleet.service("worker").planned_suites == ["config", "deployment"]
    assert fleet.service("api").planned_suites == [
        "config",
        "functional",
        "security",
        "deployment",
        "readiness",
    ]


def test_command_line_values_override_the_service(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    cli = {"profile": "development", "base_url": "https://staging.example.com", "repo": tmp_path}
    fleet = load_config({"profile": "development"}, config_file=root / "prodaudit.toml")
    worker = service_config(fleet, "worker", cli)
    api = service_config(fleet, "api", cli)
    assert worker.profile == "development" and api.base_url == "https://staging.example.com"
    assert api.repo == (root / "services" / "api").resolve()  # --repo only located the file


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[[services]]\nname = 'a'\n[[services]]\nname = 'b'\n[[services]]\nname = 'a'\n",
         "key 'services': duplicate service name 'a' (services[0] and services[2])"),
        ("[[services]]\nname = 'a'\nbase_url = 'ftp://x'\n",
         "key 'services[0].base_url': must start with http"),
        ("[[services]]\nname = 'a'\nbogus = 1\n", "key 'services[0].bogus': unknown key"),
        ("[[services]]\nname = 'a'\n[services.jwt]\nmax_access_minutes = 'soon'\n",
         "key 'services[0].jwt.max_access_minutes'"),
        ("[[services]]\nname = 'a'\nsuites = ['config', 'nope']\n",
         "key 'services[0].suites': unknown suite(s) ['nope']"),
        ("[[services]]\nname = 'a b'\n", "key 'services[0].name': String should match pattern"),
        ("[[services]]\nrepo = 'x'\n", "key 'services[0].name': Field required"),
        ("services = 'api'\n", "key 'services'"),
    ],
)  # fmt: skip
def test_a_bad_services_table_exits_3_with_one_line_naming_file_and_key(
    tmp_path: Path, table: str, expected: str
) -> None:
    path = write(tmp_path / "prodaudit.toml", table)
    with pytest.raises(ConfigError) as err:
        load_config({}, config_file=path)
    assert expected in str(err.value) and str(path) in str(err.value)
    for command in (["run", "-q"], ["plan"]):
        proc = prodaudit(*command, "--config", str(path), cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert not (tmp_path / "reports").exists()


def test_unknown_service_and_service_without_a_fleet_exit_3(tmp_path: Path) -> None:
    root = _fleet(tmp_path)
    proc = prodaudit("run", "--config", "prodaudit.toml", "--service", "nope", "-q", cwd=root)
    assert proc.returncode == 3
    assert "no service 'nope' (known: api, worker)" in proc.stderr
    plain = write(tmp_path / "plain" / "prodaudit.toml", "profile = 'production'\n")
    proc = prodaudit("run", "--config", str(plain), "--service", "api", "-q", cwd=tmp_path)
    assert proc.returncode == 3 and "has no [[services]]" in proc.stderr
    proc = prodaudit("merge", str(tmp_path / "missing"), cwd=tmp_path)
    assert proc.returncode == 3 and "no such directory" in proc.stderr


def test_the_fleet_digest_is_the_same_in_every_checkout_and_changes_with_the_configuration(
    tmp_path: Path,
) -> None:
    one = _fleet(tmp_path / "runner-1")
    two = tmp_path / "runner-2" / "work" / "fleet"
    shutil.copytree(one, two)
    d1 = fleet_digest(load_config({}, config_file=one / "prodaudit.toml"))
    d2 = fleet_digest(load_config({}, config_file=two / "prodaudit.toml"))
    assert d1 == d2  # different checkout directories (CI runners) agree
    # where reports go does not matter; what is audited does
    assert (
        fleet_digest(
            load_config({"output": tmp_path / "x", "formats": ["json"]}, config_file=one / "prodaudit.toml")
        )
        == d1
    )
    assert fleet_digest(load_config({"profile": "staging"}, config_file=one / "prodaudit.toml")) != d1
    write(two / "prodaudit.toml", FLEET.replace("9001", "9002"))
    assert fleet_digest(load_config({}, config_file=two / "prodaudit.toml")) != d1


def test_every_service_key_is_classified_product_or_policy() -> None:
    """Issue 18: a repository-side configuration may describe the product, not loosen the policy.
    Section tables of a service follow the top-level rules of their keys; every other key of a
    service is classified here."""
    defaults = AuditConfig()
    sections = {k for k in ServiceConfig.model_fields if isinstance(getattr(defaults, k, None), ConfigModel)}
    plain = set(ServiceConfig.model_fields) - sections
    assert plain == set(SERVICE_KEY_KINDS)
    assert set(SERVICE_KEY_KINDS.values()) == {"product", "policy"}
    # what loosens the audit is policy; where the product is and how to reach it is product
    for key in ("profile", "suites", "only", "skip", "waivers", "baseline", "allow_mutations"):
        assert SERVICE_KEY_KINDS[key] == "policy", key
    for key in ("name", "repo", "base_url", "env_file", "compose_files", "compose_service"):
        assert SERVICE_KEY_KINDS[key] == "product", key


def test_a_fleet_file_inside_the_audited_repository_cannot_define_the_fleet(tmp_path: Path) -> None:
    """Issue 18: [[services]] (suites, skips, waivers) are the release manager's; a file inside
    --repo is the audited repository's, so they are ignored and the plan says why."""
    write(tmp_path / "prodaudit.toml", "[[services]]\nname = 'api'\nrepo = '.'\nskip = ['SEC-001']\n")
    cfg = load_config({"repo": str(tmp_path)}, config_file=tmp_path / "prodaudit.toml")
    assert cfg.services == [] and [i["key"] for i in cfg.repository_ignored] == ["services"]
    inside = prodaudit("plan", "--repo", ".", "--config", "prodaudit.toml", cwd=tmp_path)
    assert inside.returncode == 3
    assert "[[services]] are ignored: the file is inside the audited repository" in inside.stderr
    outside = prodaudit("plan", "--config", "prodaudit.toml", cwd=tmp_path)  # the release manager's
    assert outside.returncode == 0, outside.stderr
    assert '"api"' in outside.stdout
