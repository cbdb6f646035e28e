from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodaudit.config import REFERENCE_TARGET, ConfigError, load_config


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prodaudit.cli", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("x = [", "invalid TOML"),
        ("bogus = 1\n", "key 'bogus': unknown key"),
        ("profile = 'prod'\n", "key 'profile'"),
        ("[jwt]\nmax_access_minutes = 'soon'\n", "key 'jwt.max_access_minutes'"),
        ("[perf]\nconcurrency = 0\n", "key 'perf.concurrency'"),
        ("base_url = 'ftp://x'\n", "key 'base_url'"),
    ],
)
def test_bad_config_file_exits_3_naming_the_key(tmp_path: Path, content: str, expected: str) -> None:
    cfg = tmp_path / "prodaudit.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_config({"repo": tmp_path})
    assert expected in str(err.value) and str(cfg) in str(err.value)
    proc = run_cli("run", "--repo", str(tmp_path), "--no-start", "-q")
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr


def test_unreachable_repo_exits_3(tmp_path: Path) -> None:
    proc = run_cli("run", "--repo", str(tmp_path / "missing"), "-q")
    assert proc.returncode == 3
    assert "no such directory" in proc.stderr


def test_pyproject_table_and_cli_override(tmp_path: Path) -> None:
    """The repository's table describes the product (env file) and may tighten a threshold; a
    profile downgrade from the repository is ignored (tests/test_repo_policy.py), from the command
    line it counts."""
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname='x'\n[tool.prodaudit]\nprofile='staging'\nenv_file='.env.staging'\n"
        "[tool.prodaudit.jwt]\nmax_access_minutes=30\n"
    )
    cfg = load_config({"repo": tmp_path})
    assert cfg.profile == "production" and cfg.jwt.max_access_minutes == 30
    assert [i["key"] for i in cfg.repository_ignored] == ["profile"]
    assert cfg.env_file == (tmp_path / ".env.staging").resolve()
    cfg2 = load_config({"repo": tmp_path, "profile": "staging"})
    assert cfg2.profile == "staging" and cfg2.jwt.max_access_minutes == 30


def test_defaults_target_reference() -> None:
    cfg = load_config({})
    assert cfg.is_reference_target and cfg.should_start_target
    assert cfg.repo == REFERENCE_TARGET.resolve()
    assert not load_config({"base_url": "http://127.0.0.1:1"}).should_start_target


def test_oversized_configuration_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    cfg = tmp_path / "prodaudit.toml"
    cfg.write_text("profile = 'staging'\n" + "# padding\n" * 600_000)  # ~6 MB of valid TOML
    with pytest.raises(ConfigError, match=r"over the \d+-byte limit") as err:
        load_config({"repo": tmp_path})
    assert str(cfg) in str(err.value)


def test_a_targets_own_oversized_pyproject_is_not_our_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n" + "# padding\n" * 600_000)
    assert load_config({"repo": tmp_path}).config_file is None
