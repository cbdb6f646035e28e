"""One ``docker build`` of DEP-010 and what it leaves behind: the image, the classic builder's
intermediate images and step containers, and (after an interrupt) the layers the engine still
committed. Its cleanup removes exactly those, never a ``FROM`` image or a cached layer. Not a
check module.

Once the run is interrupted the cleanup is sized from what is left of the interrupt's budget
(:class:`prodaudit.cleanup.Deadline` follows it): the step container is killed at once, the
engine gets a fraction of the budget to abandon the build, and intermediate images that could not
be removed in time (they carry no label: the classic builder adds the labels in the last step) are
named in the leftover report with the command that removes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from prodaudit import interrupt
from prodaudit.checks.deployment._run_objects import interrupted_exit
from prodaudit.cleanup import Deadline, docker

LOG_KEEP_BYTES = 200_000
STOP_GRACE_S = 10.0
ABANDON_WAIT_S = 3.0  # how long the engine gets to abandon a stopped build (less when interrupted)
STEP_RE = re.compile(r"(?m)^Step \d+/\d+ : ")
ID_LINE_RE = re.compile(r"(?m)^ ---> ([0-9a-f]{12})\s*$")
RUNNING_IN_RE = re.compile(r"(?m)^ ---> Running in ([0-9a-f]{12})\s*$")


class Build:
    """One ``docker build`` of this run and what it leaves behind.

    The build's output goes to a file, so that a cleanup running on another thread (Ctrl-C, the
    run's end) reads the steps it committed even while the build is being stopped."""

    def __init__(self, tag: str, cmd: list[str], before: set[str]) -> None:
        self.tag, self.cmd, self.before = tag, cmd, before
        fd, path = tempfile.mkstemp(prefix="prodaudit-build-", suffix=".log")
        os.close(fd)
        self.log_path = Path(path)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False  # the cleanup stopped a build still running (Ctrl-C, timeout)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock, self.log_path.open("wb") as out:
            # same process group: whatever ends prodaudit (Ctrl-C, SIGTERM, SIGKILL of the
            # group) ends the build client too, and the engine then abandons the build
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None when the build is still running after ``timeout``."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, self.log_path.stat().st_size - LOG_KEEP_BYTES))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self, deadline: Deadline) -> None:
        """Stop a build still running: its step container first (the engine then abandons the
        build), then the client."""
        with self._lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self.stopped = True
        for cid in RUNNING_IN_RE.findall(self.log())[-1:]:
            docker(["rm", "-f", cid], deadline.left(STOP_GRACE_S))
        proc.kill()
        floor = 0.05 if interrupt.interrupted() else 1.0
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(floor, deadline.left(STOP_GRACE_S)))

    def cleanup(self, deadline: Deadline) -> None:
        """Remove the image and every image and container this build created (nothing else)."""
        self.stop(deadline)
        log = self.log()
        # stopped by us or by the same Ctrl-C: the engine may still be finishing a step
        abandoned = self.stopped or (self.proc is not None
                                     and interrupted_exit(self.proc.returncode))
        for cid in RUNNING_IN_RE.findall(log) if abandoned else []:
            if exists("container", cid, deadline):  # a step container of this build
                docker(["rm", "-f", cid], deadline.left())
        docker(["image", "rm", self.tag], deadline.left(60.0))
        created = [i for i in created_ids(log) if i not in self.before]
        if abandoned:
            created += descendants(set(created), self.before, deadline)
        left: list[str] = []
        for image_id in reversed(created):
            tags = repo_tags(image_id, deadline) if not deadline.expired else []
            if tags is None and deadline.expired:  # not asked in time: it may still be there
                left.append(image_id)
                continue
            if tags is None or tags:  # gone, or someone tagged it meanwhile: not ours to remove
                continue
            out = docker(["image", "rm", image_id], deadline.left())  # no -f: a used image stays
            if out is None:  # the time ran out
                left.append(image_id)
        if left and interrupt.interrupted():  # unlabelled: `prodaudit clean` cannot find them
            interrupt.left_behind(f"{len(left)} intermediate image(s) of the interrupted build "
                                  f"(no labels): docker image rm {' '.join(left)}")
        self.log_path.unlink(missing_ok=True)


def short_ids(deadline: Deadline | None = None) -> set[str]:
    out = docker(["images", "-a", "-q"], (deadline or Deadline(60.0)).left(60.0))
    if out is None or out.returncode != 0:
        raise RuntimeError("docker images did not answer")
    return set(out.stdout.split())


def exists(kind: str, ref: str, deadline: Deadline) -> bool:
    out = docker([kind, "inspect", "--format", "{{.Id}}", ref], deadline.left())
    return out is not None and out.returncode == 0


def repo_tags(image_id: str, deadline: Deadline) -> list[str] | None:
    out = docker(["image", "inspect", "--format", "{{json .RepoTags}}", image_id], deadline.left())
    if out is None or out.returncode != 0:
        return None
    try:
        tags = json.loads(out.stdout or "[]")
    except ValueError:
        return None
    return [str(t) for t in tags or []]


def descendants(ours: set[str], before: set[str], deadline: Deadline) -> list[str]:
    """Images committed after the build was stopped (the engine may finish the step it was
    running): new images whose parent is one this build created. The engine gets
    ``ABANDON_WAIT_S`` to abandon the build, a quarter of what is left once interrupted."""
    wait = deadline.left() / 4 if interrupt.interrupted() else deadline.left()
    end = time.monotonic() + min(ABANDON_WAIT_S, wait)
    while time.monotonic() < end:  # give the engine a moment to abandon the build
        time.sleep(min(0.25, max(0.0, end - time.monotonic())))
    try:
        new = sorted(short_ids(deadline) - before - ours)
    except RuntimeError:
        return []
    if not new:
        return []
    out = docker(["image", "inspect", "--format", "{{.Id}} {{.Parent}}", *new], deadline.left())
    parents: dict[str, str] = {}
    for line in (out.stdout if out is not None else "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            parents[parts[0].removeprefix("sha256:")[:12]] = parts[1].removeprefix("sha256:")[:12]
    found: list[str] = []
    known = set(ours)
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if child not in known and parent in known:
                known.add(child)
                found.append(child)
                changed = True
    return found


def created_ids(log: str) -> list[str]:
    """Image ids this build committed, oldest first: the last `` ---> <id>`` of every step it
    executed. A ``FROM`` step only names an image that exists already (the base image, or an
    earlier stage) and a cached step reuses one: neither is counted, so neither is removed."""
    ids: list[str] = []
    for block in STEP_RE.split(log)[1:]:
        if block.lstrip().upper().startswith("FROM ") or "---> Using cache" in block:
            continue
        found = ID_LINE_RE.findall(block)
        if found:
            ids.append(found[-1])
    return ids
