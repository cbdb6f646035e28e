"""CFG-080: symbolic links that leave the repository are named (link and target path), never
followed or read — and the outside content reaches no report: audit.json, SARIF, JUnit, HTML,
markdown, nor the console (issue 11.2: a link to /etc/passwd was quoted in six report files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfg_helpers import describe, ref_copy, res, run_cfg

from prodaudit.config import PROJECT_ROOT
from prodaudit.model import Status

MARK = "OUTSIDEMARKER"  # every line of the outside files carries it


def outside_tree(tmp_path: Path) -> Path:
    """Files outside the repository: Python reading a variable, a fake secret, an env file."""
    outside = tmp_path / "outside"
    (outside / "conf").mkdir(parents=True)
    (outside / "secret.py").write_text(
        "import os\n"
        f"TOKEN = os.environ['{MARK}_VAR']\n"
        f"API_KEY = 'sk-proj-{MARK}abcdef1234567890abcdef1234567890'\n"
        f"# {MARK} note: internal host db.{MARK.lower()}.example\n")
    (outside / "conf" / "settings.py").write_text(
        f"import os\nDEBUG = os.environ.get('{MARK}_DEBUG', 'true')\n")
    (outside / "conf" / ".env").write_text(f"{MARK}_ENV_NAME=hello\nJWT_SECRET=changeme\n")
    (outside / "conf" / "docker-compose.yml").write_text(
        f"services:\n  {MARK.lower()}:\n    image: {MARK.lower()}/x:latest\n    privileged: true\n")
    return outside


def linked_repo(tmp_path: Path) -> tuple[Path, Path]:
    outside = outside_tree(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("import os\nNAME = os.environ.get('APP_NAME', 'x')\n")
    (repo / "settings_link.py").symlink_to(outside / "secret.py")
    (repo / ".env.production").symlink_to("../outside/conf/.env")
    (repo / "conf").symlink_to(outside / "conf")
    (repo / "passwd.txt").symlink_to("/etc/passwd")
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True, timeout=60)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, timeout=60)
    return repo, outside


def test_links_outside_fail_naming_link_and_target(tmp_path: Path) -> None:
    repo, outside = linked_repo(tmp_path)
    r = res(run_cfg(repo, tmp_path, only=["CFG-080"]), "CFG-080")
    assert r.status is Status.FAIL, describe(r)
    by_link = {f.location: f for f in r.findings}
    assert set(by_link) == {"settings_link.py", ".env.production", "conf", "passwd.txt"}
    assert str((outside / "secret.py").resolve()) in by_link["settings_link.py"].message
    assert "directory" in by_link["conf"].message
    assert by_link[".env.production"].evidence == (
        f".env.production -> ../outside/conf/.env (resolves to {(outside / 'conf/.env').resolve()})")
    assert by_link["passwd.txt"].evidence == "passwd.txt -> /etc/passwd"
    assert all(f.status is Status.FAIL for f in r.findings)
    assert MARK not in describe(r) and "root:" not in describe(r)


def test_links_inside_pass(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "app.py").write_text("print('hello')\n")
    (repo / "main.py").symlink_to("pkg/app.py")
    (repo / "lib").symlink_to("pkg")
    r = res(run_cfg(repo, tmp_path, only=["CFG-080"]), "CFG-080")
    assert r.status is Status.PASS, describe(r)
    assert "no symbolic link leads outside" in r.findings[0].message


def test_reference_target_passes(tmp_path: Path) -> None:
    r = res(run_cfg(ref_copy(tmp_path), tmp_path, only=["CFG-080"]), "CFG-080")
    assert r.status is Status.PASS, describe(r)


def test_link_into_the_enclosing_checkout_warns(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    (mono / "shared").mkdir(parents=True)
    (mono / "shared" / "logging.py").write_text("LEVEL = 'INFO'\n")
    repo = mono / "services" / "api"
    repo.mkdir(parents=True)
    (repo / "app.py").write_text("print('hello')\n")
    (repo / "logging_conf.py").symlink_to("../../shared/logging.py")
    subprocess.run(["git", "-C", str(mono), "init", "-q"], check=True, timeout=60)
    r = res(run_cfg(repo, tmp_path, only=["CFG-080"]), "CFG-080")
    assert r.status is Status.WARN, describe(r)
    assert "enclosing checkout" in r.findings[0].message
    assert r.findings[0].location == "logging_conf.py"


@pytest.mark.slow
def test_no_report_contains_outside_content(tmp_path: Path) -> None:
    """The whole audit (every suite; no target, so the live checks skip) over a repository with
    outside links, through the CLI: no report format and no console line carries the outside
    content."""
    repo, _ = linked_repo(tmp_path)
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "prodaudit.cli", "run", "--repo", str(repo), "--no-start",
         "--output", str(out),
         "--format", "json,markdown,html,sarif,junit"],
        capture_output=True, text=True, timeout=900, cwd=PROJECT_ROOT)
    data = json.loads((out / "latest" / "audit.json").read_text())
    assert proc.returncode == data["exit_code"], proc.stderr[-3000:]
    written = sorted(p.name for p in (out / "latest").iterdir() if p.is_file())
    for name in ("audit.json", "audit.sarif", "junit.xml", "index.html", "production-readiness.md",
                 "security-audit.md", "configuration-validation.md", "test-results-summary.md"):
        assert name in written, written
    passwd_lines = [ln for ln in Path("/etc/passwd").read_text().splitlines() if ":" in ln]
    for path in [*(out / "latest").rglob("*"), None]:
        if path is not None and not path.is_file():
            continue
        text = proc.stdout + proc.stderr if path is None else path.read_text(errors="replace")
        where = "console" if path is None else path.name
        assert MARK not in text and MARK.lower() not in text, where
        assert not any(line in text for line in passwd_lines), where
    [r] = [r for r in data["results"] if r["id"] == "CFG-080"]
    assert r["status"] == "fail" and len(r["findings"]) == 4
