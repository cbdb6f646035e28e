"""The configuration's two validation tiers (``prodaudit/config_model.py``): the fast tier accepts
only what pydantic would accept unchanged and builds the same configuration; everything else goes
to the pydantic twin, which words the error; a run without a configuration file (or with a plainly
valid one) never imports pydantic."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from prodaudit.config import AuditConfig, AuthConfig, ProbeConfig, ServiceConfig, load_config

VALID: list[dict[str, Any]] = [
    {},
    {"repo": "/srv/app", "only": ["CFG-040"], "start_target": False, "cache": False},
    {"base_url": "http://127.0.0.1:8000/", "profile": "staging", "request_timeout": 2.5},
    {"probes": {"max_requests": 10, "exclude": ["/admin/*"]}, "rate_limit": {"login_limit": 10}},
    {"readiness": {"log_files": ["/var/log/app.log"], "load_p95_ms": None}},
    {"formats": ["json", "sarif"], "compose_files": [Path("/srv/app/compose.yml")]},
    {"package_index": "https://index.example.test/simple"},  # the validator adds the slash
]
#: valid for pydantic, but not plainly: coerced (int for a float, str for a list item path ...)
COERCED: list[dict[str, Any]] = [
    {"request_timeout": 3},
    {"perf": {"max_seconds": 5}},
    {"services": [{"name": "api", "base_url": "http://127.0.0.1:9000"}]},
    {"auth": {"login_body": {"username": "{username}", "password": "{password}"}}},
]
INVALID: list[dict[str, Any]] = [
    {"bogus": 1},
    {"profile": "prod"},
    {"request_timeout": 0.0},
    {"perf": {"concurrency": 0}},
    {"base_url": "ftp://x"},
    {"package_index": "ftp://index.example.test/"},
    {"probes": {"exclude": ["admin"]}},
    {"jwt": {"max_access_minutes": "soon"}},
    {"services": [{"name": "a"}, {"name": "a"}]},
]


@pytest.mark.parametrize("data", VALID)
def test_the_fast_tier_builds_what_pydantic_builds(data: dict[str, Any]) -> None:
    fast = AuditConfig.fast_validate(data)
    assert fast is not None
    slow = AuditConfig.pydantic_validate(data)
    assert fast == slow
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_fields_set == slow.model_fields_set == set(data)
    assert fast.digest() == slow.digest()


@pytest.mark.parametrize("data", COERCED)
def test_what_needs_coercion_is_left_to_pydantic(data: dict[str, Any]) -> None:
    assert AuditConfig.fast_validate(data) is None
    cfg = AuditConfig.model_validate(data)
    assert cfg == AuditConfig.pydantic_validate(data)


@pytest.mark.parametrize("data", INVALID)
def test_the_fast_tier_never_accepts_what_pydantic_rejects(data: dict[str, Any]) -> None:
    assert AuditConfig.fast_validate(data) is None
    with pytest.raises(ValidationError):
        AuditConfig.model_validate(data)


def test_coerced_values_are_pydantics() -> None:
    cfg = AuditConfig.model_validate({"request_timeout": 3, "repo": "/srv/app",
                                      "base_url": "https://example.test/"})
    assert cfg.request_timeout == 3.0 and isinstance(cfg.request_timeout, float)
    assert cfg.repo == Path("/srv/app") and cfg.base_url == "https://example.test"


def test_instances_are_frozen_keyword_only_and_validated() -> None:
    cfg = AuditConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.profile = "staging"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        ProbeConfig(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="required keyword argument: 'name'"):
        ServiceConfig()  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="max_requests"):
        ProbeConfig(max_requests=0)
    with pytest.raises(ValueError, match="needs the {password} placeholder"):
        AuthConfig(login_body={"username": "{username}"})
    assert ProbeConfig(max_seconds=5).max_seconds == 5.0  # coerced as pydantic does
    assert ProbeConfig(max_requests=7) == ProbeConfig(max_requests=7) != ProbeConfig()
    assert "max_requests=7" in repr(ProbeConfig(max_requests=7))


def test_copy_keeps_shared_state_and_marks_updated_keys() -> None:
    cfg = load_config({"repo": Path(__file__).parent})
    copy = cfg.model_copy(update={"profile": "staging"})
    assert copy.profile == "staging" and cfg.profile == "production"
    assert "profile" in copy.model_fields_set
    assert copy._repository_ignored is cfg._repository_ignored  # as pydantic's shallow copy


def test_a_service_dumps_only_what_it_sets() -> None:
    cfg = AuditConfig.model_validate({"services": [
        {"name": "api", "probes": {"max_requests": 50}, "profile": "staging"}]})
    svc = cfg.services[0]
    assert svc.model_dump() == {"name": "api", "profile": "staging",
                                "probes": {"max_requests": 50}}  # 50 is the default: still set


def _run_modules(tmp_path: Path, toml: str | None) -> set[str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    if toml is not None:
        (repo / "prodaudit.toml").write_text(toml)
    code = ("import json, sys\nfrom prodaudit.cli import main\n"
            f"code = main(['run', '--suite', 'config', '--only', 'CFG-040', '--repo', {str(repo)!r},"
            f" '--no-start', '--no-cache', '--output', {str(tmp_path / 'out')!r}, '-q'],"
            " standalone=False)\n"
            "assert code in (0, 1, 2), code\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True, cwd=tmp_path)
    assert (tmp_path / "out" / "latest" / "index.html").is_file()  # every format was written
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_run_without_a_configuration_file_imports_no_pydantic(tmp_path: Path) -> None:
    mods = _run_modules(tmp_path, None)
    assert not {m for m in mods if m.split(".")[0] in ("pydantic", "pydantic_core")}


def test_a_plainly_valid_configuration_file_imports_no_pydantic(tmp_path: Path) -> None:
    mods = _run_modules(tmp_path, "[rate_limit]\nlogin_limit = 10\n[probes]\nexclude = ['/admin/*']\n")
    assert "pydantic" not in mods


def test_a_file_that_needs_pydantic_still_runs(tmp_path: Path) -> None:
    mods = _run_modules(tmp_path, "[perf]\nmax_seconds = 5\n")  # an int for a float
    assert "pydantic" in mods
