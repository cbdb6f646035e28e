"""The run removes only what it created (issue 11, items 1 and 8), on the real engine.

A base image made for each test (one tag, unique id: ``docker import`` of a busybox root file
system) stands in for a user's or the shared local base image. After DEP-010, after a full
``scripts/test_deployment.sh`` and after Ctrl-C (SIGINT to the process group, as a terminal sends
it) during the image build and during ``compose up --wait``: the base image still exists with its
tag, nothing built on it remains (intermediate layers of an interrupted build included), and
nothing labelled with the run id remains — or, when the interrupt's cleanup budget ran out, the
leftover report names ``prodaudit clean --run-id ID`` and that command removes the rest. An
interrupt ends the run within 5 s with exit 130 and no report.
"""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dep_helpers import (  # noqa: F401 - fixtures
    children_of,
    cleaned_or_named,
    containers_from,
    describe,
    docker_engine,
    image_id_of,
    import_busybox_image,
    labelled_with,
    result,
    run_deployment,
    throwaway_base,
    write_busybox_project,
)

from prodaudit import interrupt
from prodaudit.checks.deployment._run_objects import run_objects
from prodaudit.cleanup import label_args
from prodaudit.config import PROJECT_ROOT, load_config
from prodaudit.context import Context
from prodaudit.model import Status

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCRIPT = PROJECT_ROOT / "scripts" / "test_deployment.sh"


def assert_base_intact(tag: str, image_id: str) -> None:
    assert image_id_of(tag) == image_id, f"the base image {tag} was removed"
    assert children_of(image_id) == [], "images built on the base image were left behind"
    assert containers_from(image_id) == [], "containers of the run were left behind"


def test_base_image_survives_dep010(tmp_path: Path, throwaway_base: tuple[str, str]) -> None:
    tag, base_id = throwaway_base
    repo = tmp_path / "repo"
    write_busybox_project(repo, tag)
    run = run_deployment(tmp_path, ["DEP-010", "DEP-012", "DEP-016"], repo=repo)
    built = result(run, "DEP-010")
    assert built.status is Status.PASS, describe(built)
    assert result(run, "DEP-016").status is Status.PASS  # a probe container was created too
    assert_base_intact(tag, base_id)  # the builder stage's dangling image is gone as well
    assert labelled_with(run.run_id) == []
    assert f"FROM {tag}" in built.findings[0].message


def test_base_image_survives_the_deployment_script(tmp_path: Path,
                                                   throwaway_base: tuple[str, str]) -> None:
    tag, base_id = throwaway_base
    repo = tmp_path / "repo"
    compose = write_busybox_project(repo, tag)
    env_file = tmp_path / "deploy.env"
    env_file.write_text("", encoding="utf-8")
    out_dir = tmp_path / "reports"
    proc = subprocess.run(["bash", str(SCRIPT), "--no-start", "--repo", str(repo),
                           "--compose-file", str(compose), "--env-file", str(env_file),
                           "--output", str(out_dir), "-q"],
                          capture_output=True, text=True, timeout=900, cwd=PROJECT_ROOT)
    audits = sorted(out_dir.glob("*/audit.json"))
    assert audits, proc.stderr[-3000:]
    audit = json.loads(audits[-1].read_text(encoding="utf-8"))
    statuses = {r["id"]: r["status"] for r in audit["results"]}
    assert len(statuses) > 20  # the whole deployment suite ran
    for cid in ("DEP-010", "DEP-030", "DEP-034"):
        assert statuses[cid] == "pass", (cid, proc.stderr[-2000:])
    assert_base_intact(tag, base_id)
    assert labelled_with(audit["run_id"]) == []


def _start_audit(repo: Path, compose: Path, out_dir: Path, only: str) -> subprocess.Popen[bytes]:
    env_file = repo / "empty.env"
    env_file.write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    # a session of its own, so that the Ctrl-C below reaches the audit and its children together,
    # as a terminal sends it to the foreground process group
    return subprocess.Popen([sys.executable, "-m", "prodaudit.cli", "run", "--suite",
                             "deployment", "--only", only, "--no-start", "--repo", str(repo),
                             "--compose-file", str(compose), "--env-file", str(env_file),
                             "--output", str(out_dir), "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for(proc: subprocess.Popen[bytes], found: Callable[[], str | None],
              seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the audit ended before the interrupt: {err.decode()[-2000:]}")
        assert time.monotonic() < deadline, "the step to interrupt never started"
        time.sleep(0.3)


@pytest.fixture
def interrupted() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _ctrl_c(proc: subprocess.Popen[bytes]) -> str:
    """SIGINT to the audit's process group; the run ends within 5 s (issue 11.3) with exit 130."""
    os.killpg(proc.pid, signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=300)
    elapsed = time.monotonic() - start
    text = err.decode(errors="replace")
    assert proc.returncode == 130, text[-2000:]
    assert elapsed < 5.0, (elapsed, text[-2000:])
    return text


def _build_run_id(pid: int) -> str | None:
    """The run id on the command line of the `docker build` the audit started."""
    out = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(pid)], capture_output=True,
                         text=True, timeout=30).stdout
    for word in out.split():
        if word.startswith("org.prodaudit.run="):
            return word.split("=", 1)[1]
    return None


def test_ctrl_c_during_the_build(tmp_path: Path, throwaway_base: tuple[str, str],
                                 interrupted: list[subprocess.Popen[bytes]]) -> None:
    tag, base_id = throwaway_base
    repo = tmp_path / "repo"
    compose = write_busybox_project(repo, tag, build_sleep=300)
    out_dir = tmp_path / "reports"
    proc = _start_audit(repo, compose, out_dir, "DEP-01")
    interrupted.append(proc)

    def sleeping() -> str | None:  # the build's `RUN sleep`: earlier steps are committed layers
        for cid in containers_from(base_id):
            cmd = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Cmd}}", cid],
                                 capture_output=True, text=True, timeout=30).stdout
            if "sleep 300" in cmd:
                return cid
        return None

    _wait_for(proc, sleeping)
    run_id = _build_run_id(proc.pid)
    assert children_of(base_id), "the build committed no layer before the interrupt"
    err = _ctrl_c(proc)
    assert not list(out_dir.glob("*/audit.json")), "a report was written for an interrupted run"
    assert run_id is not None, "the build was not labelled with the run id"
    cleaned_or_named(run_id, err)
    assert_base_intact(tag, base_id)  # the committed intermediate layers were removed


def _project_containers(repo: Path) -> list[str]:
    """Containers (any state) of a compose project whose working directory is ``repo``."""
    return subprocess.run(["docker", "ps", "-a", "-q", "--filter",
                           f"label=com.docker.compose.project.working_dir={repo}"],
                          capture_output=True, text=True, timeout=30).stdout.split()


def _compose_run_id(repo: Path) -> str | None:
    containers = _project_containers(repo)
    if not containers:
        return None
    label = subprocess.run(["docker", "inspect", "--format",
                            '{{index .Config.Labels "org.prodaudit.run"}}', containers[0]],
                           capture_output=True, text=True, timeout=30).stdout.strip()
    return label if label and label != "<no value>" else None


def test_ctrl_c_during_compose_up(tmp_path: Path, throwaway_base: tuple[str, str],
                                  interrupted: list[subprocess.Popen[bytes]]) -> None:
    tag, base_id = throwaway_base
    repo = tmp_path / "repo"
    compose = write_busybox_project(repo, tag, healthy=False)  # `up --wait` waits forever
    out_dir = tmp_path / "reports"
    proc = _start_audit(repo, compose, out_dir, "DEP-03")
    interrupted.append(proc)
    _wait_for(proc, lambda: " ".join(_project_containers(repo)))
    run_id = _compose_run_id(repo)
    time.sleep(1.0)
    before = labelled_with(run_id) if run_id else []
    err = _ctrl_c(proc)
    assert "DEP-030" not in err and not list(out_dir.glob("*/audit.json")), err[-2000:]
    assert run_id is not None, "the stack's containers were not labelled with the run id"
    assert any(x.startswith("volume ") for x in before)  # the volume was labelled as created
    cleaned_or_named(run_id, err)
    assert _project_containers(repo) == []
    assert image_id_of(tag) == base_id


def test_image_names_the_user_had_are_given_back(tmp_path: Path,
                                                 throwaway_base: tuple[str, str]) -> None:
    tag, base_id = throwaway_base
    name = f"prodaudit-test/app:{uuid.uuid4().hex[:8]}"
    users_id = import_busybox_image(name)  # the user's own image of that name
    try:
        repo = tmp_path / "repo"
        compose = write_busybox_project(repo, tag, image_name=name)
        run = run_deployment(tmp_path, ["DEP-030", "DEP-034"], repo=repo,
                             compose_files=[compose], docker={"up_timeout_seconds": 60})
        assert result(run, "DEP-030").status is Status.PASS, describe(result(run, "DEP-030"))
        teardown = result(run, "DEP-034")
        assert teardown.status is Status.PASS, describe(teardown)
        assert f"restored the tags {name}" in teardown.findings[0].message
        assert image_id_of(name) == users_id  # the name points at the user's image again
        assert labelled_with(run.run_id) == []
        assert image_id_of(tag) == base_id
    finally:
        subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True, timeout=120)


@pytest.mark.parametrize("budget_left", [0.0, 2.0])
def test_interrupted_cleanup_keeps_the_bound_and_names_prodaudit_clean(
        tmp_path: Path, throwaway_base: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
        budget_left: float) -> None:
    """The reconciliation of issue 11's 5 s bound with "remove only what the run created": once
    the run is interrupted, its Docker cleanup is sized from what is left of the interrupt's
    budget, whatever ``docker.cleanup_timeout_seconds`` says; what does not fit stays labelled,
    and the leftover report names ``prodaudit clean --run-id``, which removes it. The interrupt
    state is the real one a signal sets (without its watchdog, which would end pytest)."""
    tag, _ = throwaway_base
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    ctx = Context(load_config({"start_target": False, "output": tmp_path,
                               "docker": {"cleanup_timeout_seconds": 600}}), run_id=run_id)
    objects = run_objects(ctx)
    # a container that ignores SIGTERM (sleep as PID 1) and a volume, labelled as the run's own
    subprocess.run(["docker", "volume", "create", *label_args(objects.labels("volume")),
                    f"{objects.slug}-data"], check=True, capture_output=True, timeout=60)
    subprocess.run(["docker", "run", "-d", "--network", "none",
                    *label_args(objects.labels("container")), tag, "sleep", "600"],
                   check=True, capture_output=True, timeout=60)
    assert len(labelled_with(run_id)) == 2
    monkeypatch.setattr(interrupt, "_state", interrupt._State(
        signum=signal.SIGINT, run_id=run_id,
        at=time.monotonic() - interrupt.GRACE_SECONDS + budget_left))
    start = time.monotonic()
    ctx.close()  # the run's end after the signal: bounded by the budget, not by 600 s
    assert time.monotonic() - start < budget_left + 1.0
    report = interrupt.leftover_report()
    if budget_left == 0.0:  # nothing could run: everything stays, labelled and named
        assert len(labelled_with(run_id)) == 2
        assert f"prodaudit clean --run-id {run_id}" in report, report
    cleaned = cleaned_or_named(run_id, report)
    if budget_left == 0.0:
        assert "2 object(s) of run" in cleaned, cleaned
