"""scripts/services.sh: the node check (Node.js 20+ and npm for the end-to-end runs) and the
browser variables. Package installation is stubbed out (a dpkg-query that reports every package
installed), so these tests never install anything; the state directory is a temporary one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest_services import in_ci

from prodaudit.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "services.sh"


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _run(tmp_path: Path, *args: str, stubs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    _stub(bin_dir, "dpkg-query", "printf 'install ok installed'")
    for name, body in stubs.items():
        _stub(bin_dir, name, body)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
           "PRODAUDIT_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_node_older_than_20_fails_up(tmp_path: Path) -> None:
    ran = _run(tmp_path, "up", "node", stubs={"node": "echo v18.19.0", "npm": "echo 9.2.0"})
    assert ran.returncode == 1, ran.stderr
    assert "node: FAILED: node v18.19.0 is older than 20" in ran.stderr
    assert "up: FAILED: node" in ran.stderr


def test_node_20_and_npm_pass_up(tmp_path: Path) -> None:
    ran = _run(tmp_path, "up", "node", stubs={"node": "echo v20.11.1", "npm": "echo 10.2.4"})
    assert ran.returncode == 0, ran.stderr
    assert "node: ok (node v20.11.1, npm 10.2.4)" in ran.stderr


def test_broken_npm_fails_up(tmp_path: Path) -> None:
    ran = _run(tmp_path, "up", "node", stubs={"node": "echo v22.0.0", "npm": "exit 3"})
    assert ran.returncode == 1, ran.stderr
    assert "node: FAILED: npm --version" in ran.stderr


def test_machine_node_is_recent_enough(tmp_path: Path) -> None:
    """The machine's own node and npm (the end-to-end runs need them): under CI=true a missing
    or old Node.js fails here, before the end-to-end tests do."""
    ran = _run(tmp_path, "up", "node", stubs={})
    if in_ci():
        assert ran.returncode == 0, ran.stderr
    if ran.returncode == 0:
        assert "node: ok (node v" in ran.stderr
    else:
        assert "node: FAILED:" in ran.stderr


def test_env_names_firefox(tmp_path: Path) -> None:
    ran = _run(tmp_path, "env", stubs={})
    expected = ("export PRODAUDIT_TEST_FIREFOX=/usr/bin/firefox-esr"
                if Path("/usr/bin/firefox-esr").is_file() else "unset PRODAUDIT_TEST_FIREFOX")
    assert expected in ran.stdout
