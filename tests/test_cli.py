"""The command line's contract: exit codes that do not collide (3 for a usage error, never
argparse's 2 = CONDITIONAL GO), a selection that matches nothing is an error before anything
runs or is written, repeatable/comma-separated --suite, one exception type at the top, and help
texts that document every option (also for the per-suite scripts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import prodaudit.cli as cli
from prodaudit.auth import AuthError
from prodaudit.config import PROJECT_ROOT
from prodaudit.errors import ProdauditError, UsageError
from prodaudit.openapi import OpenAPIError
from prodaudit.registry import RegistryError

SCRIPTS = {
    "check_production_readiness.py": "config",
    "test_mvp_functionality.py": "functional",
    "validate_security.py": "security",
}


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


@pytest.mark.parametrize("argv", [
    ["run", "--bogus"],
    ["run", "--profile", "prod"],
    ["run", "--timeout", "soon"],
    ["run", "--fail-on", "maybe"],
    ["frobnicate"],
    [],
    ["report", "a.json", "b.json"],
])
def test_usage_errors_exit_3_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 3
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("prodaudit: error: "), lines


def _prepared_output(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    previous = out / "20200101T000000Z-aaaaaa"
    previous.mkdir(parents=True)
    (previous / "audit.json").write_text("{}")
    os.symlink(previous.name, out / "latest")
    return out


def _unchanged(out: Path) -> bool:
    return (sorted(p.name for p in out.iterdir()) == ["20200101T000000Z-aaaaaa", "latest"]
            and os.readlink(out / "latest") == "20200101T000000Z-aaaaaa")


@pytest.mark.parametrize(("args", "named"), [
    (["--only", "NOPE"], "--only NOPE"),
    (["--only", "CFG-005,XYZ-1,SEC-9"], "--only XYZ-1,SEC-9"),
    (["--skip", "CFG-00X"], "--skip CFG-00X"),
    (["--suite", "config", "--only", "SEC-001"], "in the security suite"),
    (["--suite", "config", "--only", "CFG-005", "--skip", "CFG"], "matches no check"),
    (["--suite", "confg"], "--suite confg"),
])
def test_a_selection_that_cannot_be_run_exits_3_before_anything_runs(
    args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = _prepared_output(tmp_path)
    # no --no-start: with the old behaviour the reference target would start and reports be written
    assert cli.main(["run", *args, "--output", str(out), "-q"]) == 3
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and named in lines[0], lines
    assert "starting the reference target" not in capsys.readouterr().err
    assert _unchanged(out)


def _audit(tmp_path: Path, *args: str) -> dict:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "app.py").write_text("print('hello')\n")
    out = tmp_path / "reports"
    code = cli.main(["run", "--repo", str(repo), "--no-start", "--output", str(out), "-q",
                     "--format", "json", *args])
    data = json.loads((out / "latest" / "audit.json").read_text())
    assert code == data["exit_code"]
    return data


@pytest.mark.parametrize("suite_args", [
    ["--suite", "config", "--suite", "readiness"],
    ["--suite", "config,readiness"],
    ["--suite", "readiness,config"],
])
def test_suite_given_twice_or_comma_separated_runs_both(tmp_path: Path, suite_args: list[str]) -> None:
    data = _audit(tmp_path, *suite_args, "--only", "CFG-005,RDY-001")
    assert sorted(r["id"] for r in data["results"]) == ["CFG-005", "RDY-001"]
    assert data["target"]["suites"] == ["config", "readiness"]


def test_every_error_raised_on_purpose_is_a_prodaudit_error() -> None:
    from prodaudit.errors import ConfigError, InputError, TargetError

    for cls in (ConfigError, UsageError, TargetError, AuthError, OpenAPIError, RegistryError):
        assert issubclass(cls, ProdauditError), cls
        assert cls("x").exit_code == 3, cls
    assert InputError("f.yml", "why").exit_code == 3
    assert TargetError("x").headline() == "the reference target did not start: x"


@pytest.mark.parametrize("exc", [
    AuthError("the audit account could not log in"),
    OpenAPIError("no OpenAPI document found"),
    RegistryError("duplicate check id CFG-001"),
])
def test_the_cli_catches_one_type_and_prints_one_line(
    exc: ProdauditError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    def boom(ns: object) -> int:
        raise exc

    monkeypatch.setattr(cli, "cmd_list", boom)
    assert cli.main(["list"]) == exc.exit_code == 3
    assert stderr_lines(capsys) == [f"prodaudit: error: {exc}"]


def test_an_error_with_its_own_exit_code_is_honoured(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    class Special(ProdauditError):
        exit_code = 4

    def boom(ns: object) -> int:
        raise Special("first line\nsecond line (log tail)")

    monkeypatch.setattr(cli, "cmd_list", boom)
    assert cli.main(["list"]) == 4
    assert stderr_lines(capsys) == ["prodaudit: error: first line"]


def test_report_of_something_that_is_not_an_audit_json_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "audit.json"
    bad.write_text(json.dumps({"hello": "world"}))
    assert cli.main(["report", str(bad)]) == 3
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and str(bad) in lines[0] and "not an audit.json" in lines[0], lines


def test_report_help_documents_every_option() -> None:
    proc = subprocess.run([sys.executable, "-m", "prodaudit.cli", "report", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for action in cli.report_option_actions():
        assert action.help, action.dest
        assert " ".join(action.help.split())[:30] in " ".join(proc.stdout.split()), action.dest
    assert "130 interrupted" in " ".join(proc.stdout.split())


@pytest.mark.parametrize(("script", "suite"), sorted(SCRIPTS.items()))
def test_scripts_say_what_they_run_and_exit_3_on_usage_errors(script: str, suite: str) -> None:
    path = PROJECT_ROOT / "scripts" / script
    helped = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    assert f"Run the {suite} suite of prodaudit: {cli.SUITE_HELP[suite]}" in text
    for action in cli.audit_option_actions(with_suite=False):
        assert action.option_strings[-1] in text, action.option_strings
    for bad in (["--bogus"], ["--suite", "config"], ["--only", "NOPE"]):
        proc = subprocess.run([sys.executable, str(path), *bad], capture_output=True, text=True,
                              timeout=120, cwd=PROJECT_ROOT)
        assert proc.returncode == 3, (bad, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "prodaudit: error:" in proc.stderr, proc.stderr


def test_test_deployment_sh_usage_error_exits_3(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/none.sock",  # skip the engine probes
           "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "test_deployment.sh"), "--bogus"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=PROJECT_ROOT)
    assert proc.returncode == 3, proc.stderr
    assert "unrecognized arguments: --bogus" in proc.stderr


def test_exit_codes_are_documented() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for row in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert row in readme, row
    gate = (PROJECT_ROOT / "docs" / "gate.md").read_text()
    for promise in ("exits 3", "130", "run id", "outside the repository", "ledger",
                    "--allow-mutations", "positive observation"):
        assert promise in gate, promise


def test_a_finished_command_ends_without_interpreter_shutdown_but_loses_nothing(
        tmp_path: Path) -> None:
    """The command's process ends at once when it is done (interpreter shutdown would free a
    large audit's heap object by object): its exit functions still run, every line it printed
    reaches the pipe, and the exit code is the command's."""
    marker = tmp_path / "atexit-ran"
    script = ("import atexit, sys, pathlib\n"
              f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
              "from prodaudit.cli import main\n"
              "sys.argv = ['prodaudit', *sys.argv[1:]]\n"
              "main()\n"
              "print('NOT REACHED')\n")
    listed = subprocess.run([sys.executable, "-c", script, "list"], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()  # a header, a line per check, the count
    assert lines[-1].endswith(" checks") and int(lines[-1].split()[-2]) == len(lines) - 2 > 100
    assert "NOT REACHED" not in listed.stdout and marker.read_text() == "yes"
    bad = subprocess.run([sys.executable, "-c", script, "run", "--only", "NOPE-999"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 3 and "NOPE-999" in bad.stderr  # a usage error, still
