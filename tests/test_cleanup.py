"""``prodaudit clean [--run-id ID]`` removes exactly the Docker objects that carry prodaudit's
labels — of one run, or (listed here with ``--dry-run``, never removed: other runs may be in
progress on a shared engine) of every run — and nothing else: not a container a user started
from an audit image (it inherits the image's labels), not an audit image a user tagged, not an
object that carries only part of the labels."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_services import docker_available, require_service
from helpers import import_busybox_image

from prodaudit import interrupt
from prodaudit.cleanup import (
    KIND_LABEL,
    RUN_LABEL,
    TAG_LABEL,
    Deadline,
    Labelled,
    labels,
    normalise_tag,
    remove_all,
)
from prodaudit.cleanup import docker as docker_call
from prodaudit.config import PROJECT_ROOT


def test_labels_and_tags() -> None:
    assert labels("r1", "image", "app") == {RUN_LABEL: "r1", KIND_LABEL: "image",
                                            TAG_LABEL: "app:latest"}
    assert labels("r1", "volume") == {RUN_LABEL: "r1", KIND_LABEL: "volume"}
    with pytest.raises(ValueError):
        labels("r1", "pod")
    assert normalise_tag("docker.io/library/python:3.12") == "python:3.12"
    assert normalise_tag("registry:5000/team/app") == "registry:5000/team/app:latest"
    assert normalise_tag("app@sha256:abc") == "app@sha256:abc"


def test_deadline_follows_the_interrupt_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleanup bound made before or after the signal shrinks to what is left of the interrupt's
    budget (the run ends within 5 s), whatever its own length; without an interrupt it is its
    own."""
    deadline = Deadline(60.0)
    assert 59.0 < deadline.left(float("inf")) <= 60.0 and deadline.left() <= 30.0
    monkeypatch.setattr(interrupt, "_state", interrupt._State(
        signum=signal.SIGINT, at=time.monotonic() - interrupt.GRACE_SECONDS + 1.0))
    assert 0.0 < deadline.left(float("inf")) <= 1.0
    assert 0.0 < Deadline(600.0).left(float("inf")) <= 1.0
    monkeypatch.setattr(interrupt, "_state", interrupt._State(
        signum=signal.SIGTERM, at=time.monotonic() - interrupt.GRACE_SECONDS))
    assert deadline.expired and deadline.left() == 0.0
    assert docker_call(["version"], deadline.left()) is None  # no call starts without time left
    obj = Labelled("container", "c" * 64, "x", "r1")
    result = remove_all([obj], deadline)
    assert result.failed == ((obj, "not attempted: the interrupt's cleanup budget ran out"),)
    assert not result.ok


def clean(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prodaudit.cli", "clean", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"),
                               **(env or {})})


def docker(*args: str) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120,
                         check=True)
    return out.stdout.strip()


def label_args(values: dict[str, str]) -> list[str]:
    return [a for k, v in values.items() for a in ("--label", f"{k}={v}")]


def exists(kind: str, ref: str) -> bool:
    return subprocess.run(["docker", kind, "inspect", ref], capture_output=True,
                          timeout=60).returncode == 0


@pytest.fixture
def objects(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two runs' labelled objects and decoys; whatever is left is removed afterwards."""
    require_service("Docker", docker_available(), "no Docker engine answers `docker info`")
    suffix = uuid.uuid4().hex[:8]
    run_a, run_b = f"test-a-{suffix}", f"test-b-{suffix}"
    base = f"prodaudit-test/base:{suffix}"
    import_busybox_image(base)
    (tmp_path / "Dockerfile").write_text(f'FROM {base}\nCMD ["/bin/sleep", "600"]\n',
                                         encoding="utf-8")

    def build(tag: str, lab: dict[str, str]) -> str:
        docker("build", "-q", "--force-rm", "-t", tag, *label_args(lab), str(tmp_path))
        return docker("image", "inspect", "--format", "{{.Id}}", tag)

    made: dict[str, str] = {"run_a": run_a, "run_b": run_b, "base": base}
    try:
        tag_a = f"prodaudit-audit-{suffix}a:latest"
        made["image_a"] = build(tag_a, labels(run_a, "image", tag_a))
        tag_kept = f"prodaudit-audit-{suffix}k:latest"
        made["image_user_tagged"] = build(tag_kept, labels(run_a, "image", tag_kept))
        made["user_tag"] = f"prodaudit-test/users-copy:{suffix}"
        docker("tag", tag_kept, made["user_tag"])
        made["container_a"] = docker("create", *label_args(labels(run_a, "container")), base,
                                     "/bin/true")
        made["container_b"] = docker("create", *label_args(labels(run_b, "container")), base,
                                     "/bin/true")
        # a user's container from the audit image: it inherits org.prodaudit.run and
        # org.prodaudit.object=image, but the audit did not create it
        made["container_users"] = docker("create", made["user_tag"], "/bin/true")
        made["volume_a"] = docker("volume", "create", *label_args(labels(run_a, "volume")),
                                  f"prodaudit-test-{suffix}-a")
        made["volume_partial"] = docker("volume", "create", "--label", f"{RUN_LABEL}={run_a}",
                                        f"prodaudit-test-{suffix}-partial")
        made["volume_plain"] = docker("volume", "create", f"prodaudit-test-{suffix}-plain")
        yield made
    finally:
        for key in ("container_a", "container_b", "container_users"):
            if key in made:
                subprocess.run(["docker", "rm", "-f", made[key]], capture_output=True, timeout=60)
        for key in ("volume_a", "volume_partial", "volume_plain"):
            if key in made:
                subprocess.run(["docker", "volume", "rm", "-f", made[key]], capture_output=True,
                               timeout=60)
        for ref in (made.get("user_tag"), made.get("image_user_tagged"), made.get("image_a"),
                    base):
            if ref:
                subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True,
                               timeout=120)


DECOYS = ("container_users", "volume_partial", "volume_plain", "image_user_tagged", "base")
KIND = {"container": "container", "volume": "volume", "image": "image", "base": "image"}


def short(ref: str) -> str:
    """An id as the command prints it (12 hex digits); names unchanged."""
    is_id = re.fullmatch(r"(sha256:)?[0-9a-f]{64}", ref) is not None
    return ref.removeprefix("sha256:")[:12] if is_id else ref


def kind_of(key: str) -> str:
    return KIND[key.split("_", 1)[0]]


@pytest.mark.docker
def test_clean_removes_exactly_the_labelled_objects(objects: dict[str, str]) -> None:
    run_a, run_b = objects["run_a"], objects["run_b"]
    listed = clean("--run-id", run_a, "--dry-run")
    assert listed.returncode == 0, listed.stderr
    text = listed.stdout
    assert "3 object(s)" in text, text
    for key in ("container_a", "volume_a", "image_a"):
        assert short(objects[key]) in text, (key, text)
    for key in (*DECOYS, "container_b"):
        assert short(objects[key]) not in text, (key, text)
    everything = clean("--dry-run").stdout  # every run: lists, removes nothing here
    assert run_a in everything and run_b in everything
    assert objects["volume_partial"] not in everything

    done = clean("--run-id", run_a)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 object(s) of run" in done.stdout
    for key in ("container_a", "volume_a", "image_a"):
        assert not exists(kind_of(key), objects[key]), key
    for key in (*DECOYS, "container_b"):
        assert exists(kind_of(key), objects[key]), f"{key} was removed"
    assert exists("image", objects["user_tag"])

    done = clean("--run-id", run_b)
    assert done.returncode == 0 and not exists("container", objects["container_b"])
    for key in DECOYS:
        assert exists(kind_of(key), objects[key]), f"{key} was removed"


def test_clean_without_an_engine_exits_3(tmp_path: Path) -> None:
    out = clean("--run-id", "x", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert out.returncode == 3
    assert out.stderr.startswith("prodaudit: error: docker ")
