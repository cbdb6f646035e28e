"""The Docker objects an audit run creates, and their removal (``prodaudit clean``).

Every image, container, volume and network the deployment suite creates carries

- ``org.prodaudit.run=<run id>``: the run that created it;
- ``org.prodaudit.object=<kind>``: set on the object itself. An image's labels are inherited by
  the containers and images made from it, so a user's container started from an audit image
  says ``image`` here, never ``container``;
- on images, ``org.prodaudit.tag=<the name the run gave it>``: an image is the run's only while
  it has no other tag (a user who tagged it keeps it).

A run removes what it created when it ends, also on Ctrl-C, within a time bound. Whatever it
could not remove in time stays labelled; ``prodaudit clean [--run-id ID]`` removes exactly the
objects that carry these labels (of one run, or of every run) and never anything else.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from prodaudit import interrupt
from prodaudit.errors import EXIT_CANNOT_RUN, ProdauditError

RUN_LABEL = interrupt.RUN_LABEL  # "org.prodaudit.run"
PROJECT_LABEL = "com.docker.compose.project"
KIND_LABEL = "org.prodaudit.object"
TAG_LABEL = "org.prodaudit.tag"
KINDS = ("container", "volume", "network", "image")  # removal order: users of an object first
DOCKER_CALL_S = 30.0
CLEAN_SECONDS = 120.0


class CleanupError(ProdauditError):
    """The engine could not be asked which objects carry prodaudit's labels."""


def labels(run_id: str, kind: str, tag: str | None = None) -> dict[str, str]:
    """The labels of an object of ``kind`` that run ``run_id`` creates."""
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")
    out = {RUN_LABEL: run_id, KIND_LABEL: kind}
    if tag:
        out[TAG_LABEL] = normalise_tag(tag)
    return out


def label_args(values: dict[str, str]) -> list[str]:
    """``--label k=v`` arguments for the docker CLI."""
    args: list[str] = []
    for key, value in values.items():
        args += ["--label", f"{key}={value}"]
    return args


def normalise_tag(ref: str) -> str:
    """``name`` → ``name:latest``; ``docker.io/library/name:t`` → ``name:t`` (as RepoTags show)."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


class Deadline:
    """An overall time bound shared by a sequence of docker calls. Once the run is interrupted
    (SIGINT/SIGTERM) it is also bounded by what is left of the interrupt's cleanup budget
    (:func:`prodaudit.interrupt.remaining`), also when it was made before the signal: each
    step is sized from that, and what does not fit stays labelled for ``prodaudit clean``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, cap: float = DOCKER_CALL_S) -> float:
        return max(0.0, min(cap, self.end - time.monotonic(), *_interrupt_left()))

    @property
    def expired(self) -> bool:
        return self.left(float("inf")) <= 0.0


def _interrupt_left() -> tuple[float, ...]:
    left = interrupt.remaining()
    return () if left is None else (left,)


def docker(args: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    """``docker ARGS`` bounded by ``timeout``; None when it did not finish (or cannot run)."""
    if timeout <= 0:
        return None
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass(frozen=True)
class Labelled:
    """A Docker object carrying prodaudit's labels."""

    kind: str
    id: str
    name: str
    run_id: str
    project: str = ""  # the compose project it belongs to, if any

    def __str__(self) -> str:
        short = self.id.removeprefix("sha256:")[:12]
        ident = "" if short == self.name[:12] else f"{short}, "
        return f"{self.kind} {self.name} ({ident}run {self.run_id})"


def _filters(run_id: str | None, kind: str, project: str | None) -> list[str]:
    run = f"label={RUN_LABEL}={run_id}" if run_id else f"label={RUN_LABEL}"
    out = ["--filter", run, "--filter", f"label={KIND_LABEL}={kind}"]
    if project:
        out += ["--filter", f"label={PROJECT_LABEL}={project}"]
    return out


def _rows(out: subprocess.CompletedProcess[str] | None, what: str) -> list[list[str]]:
    if out is None:
        raise CleanupError(f"docker {what} did not answer in time")
    if out.returncode != 0:
        raise CleanupError(f"docker {what} failed: "
                           + (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1][:300])
    return [line.split("\t") for line in out.stdout.splitlines() if line.strip()]


def _is_run_image(info: dict[str, Any], run_id: str | None) -> bool:
    lab = (info.get("Config") or {}).get("Labels") or {}
    if lab.get(KIND_LABEL) != "image" or not lab.get(RUN_LABEL):
        return False
    if run_id and lab.get(RUN_LABEL) != run_id:
        return False
    own = lab.get(TAG_LABEL)
    if not own:  # the classic builder adds one label per step: a parent layer, not the image
        return False
    tags = [normalise_tag(t) for t in info.get("RepoTags") or []]
    return all(t == own for t in tags)


def find(run_id: str | None = None, deadline: Deadline | None = None,
         project: str | None = None) -> list[Labelled]:
    """The objects carrying prodaudit's labels, of run ``run_id`` or of every run (and of one
    compose project, when given), in removal order: containers, volumes, networks, images
    newest first. CleanupError when the engine does not answer."""
    dl = deadline or Deadline(60.0)
    found: list[Labelled] = []
    fmt = '\t{{.Label "' + RUN_LABEL + '"}}\t{{.Label "' + PROJECT_LABEL + '"}}'
    for row in _rows(docker(["ps", "-a", "--no-trunc", *_filters(run_id, "container", project),
                             "--format", "{{.ID}}\t{{.Names}}" + fmt], dl.left()), "ps"):
        if len(row) == 4:
            found.append(Labelled("container", row[0], row[1], row[2], row[3]))
    for row in _rows(docker(["volume", "ls", *_filters(run_id, "volume", project),
                             "--format", "{{.Name}}" + fmt], dl.left()), "volume ls"):
        if len(row) == 3:
            found.append(Labelled("volume", row[0], row[0], row[1], row[2]))
    for row in _rows(docker(["network", "ls", "--no-trunc", *_filters(run_id, "network", project),
                             "--format", "{{.ID}}\t{{.Name}}" + fmt], dl.left()), "network ls"):
        if len(row) == 4:
            found.append(Labelled("network", row[0], row[1], row[2], row[3]))
    ids = sorted({row[0] for row in _rows(docker(
        ["image", "ls", "-a", "--no-trunc", *_filters(run_id, "image", project),
         "--format", "{{.ID}}"], dl.left()), "image ls")})
    if ids:
        out = docker(["image", "inspect", *ids], dl.left())
        infos: list[dict[str, Any]] = []
        if out is None:
            raise CleanupError("docker image inspect did not answer in time")
        if out.stdout.strip():
            try:
                infos = json.loads(out.stdout)
            except ValueError:
                infos = []
        images = [i for i in infos if isinstance(i, dict) and _is_run_image(i, run_id)]
        images.sort(key=lambda i: str(i.get("Created", "")), reverse=True)
        for info in images:
            lab = (info.get("Config") or {}).get("Labels") or {}
            tags = info.get("RepoTags") or []
            found.append(Labelled("image", str(info["Id"]), tags[0] if tags else
                                  str(info["Id"])[7:19], str(lab.get(RUN_LABEL)),
                                  str(lab.get(PROJECT_LABEL) or "")))
    return found


def remove_one(obj: Labelled, timeout: float) -> str | None:
    """Remove one labelled object; None when it is gone, else why not."""
    cmd = {
        "container": ["rm", "-f", "-v", obj.id],  # its anonymous volumes were created with it
        "volume": ["volume", "rm", obj.id],
        "network": ["network", "rm", obj.id],
        "image": ["image", "rm", obj.id],  # no -f: an image something else uses stays
    }[obj.kind]
    out = docker(cmd, timeout)
    if out is None:
        return f"docker {' '.join(cmd[:2])} did not finish within {timeout:.0f} s"
    if out.returncode != 0 and "no such" not in out.stderr.lower():
        return (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1][:300]
    return None


@dataclass(frozen=True)
class CleanResult:
    removed: tuple[Labelled, ...]
    failed: tuple[tuple[Labelled, str], ...]  # (object, why it is still there)
    timed_out: bool

    @property
    def ok(self) -> bool:
        return not self.failed and not self.timed_out


def remove_all(objects: list[Labelled], deadline: Deadline) -> CleanResult:
    """Remove ``objects`` in order within ``deadline``."""
    removed: list[Labelled] = []
    failed: list[tuple[Labelled, str]] = []
    for obj in objects:
        if deadline.expired:
            bound = ("the interrupt's cleanup budget" if interrupt.interrupted()
                     else f"the {deadline.seconds:.0f} s bound")
            failed.append((obj, f"not attempted: {bound} ran out"))
            continue
        why = remove_one(obj, deadline.left(60.0))
        if why is None:
            removed.append(obj)
        else:
            failed.append((obj, why))
    return CleanResult(tuple(removed), tuple(failed), deadline.expired and bool(failed))


def clean(run_id: str | None = None, seconds: float = CLEAN_SECONDS) -> CleanResult:
    """Remove every object labelled by prodaudit (by run ``run_id`` only, when given)."""
    deadline = Deadline(seconds)
    return remove_all(find(run_id, deadline), deadline)


def leftover_hint(run_id: str, left: list[Labelled] | tuple[Labelled, ...]) -> str:
    """One line telling the user what is left and how to remove it."""
    kinds: dict[str, int] = {}
    for obj in left:
        kinds[obj.kind] = kinds.get(obj.kind, 0) + 1
    what = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in kinds.items())
    return (f"{what} labelled {RUN_LABEL}={run_id} could not be removed in time; remove them "
            f"with `prodaudit clean --run-id {run_id}`")


def main(run_id: str | None, dry_run: bool = False) -> int:
    """``prodaudit clean``: print what is (or would be) removed. Exit 0 when nothing labelled is
    left, 3 when the engine does not answer or an object could not be removed."""
    import sys

    try:
        if dry_run:
            objects = find(run_id)
            for obj in objects:
                print(f"would remove {obj}")
            print(f"{len(objects)} object(s) labelled {RUN_LABEL}"
                  + (f"={run_id}" if run_id else ""))
            return 0
        result = clean(run_id)
    except CleanupError as exc:
        print(f"prodaudit: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    for obj in result.removed:
        print(f"removed {obj}")
    for obj, why in result.failed:
        print(f"not removed: {obj}: {why}", file=sys.stderr)
    scope = f"run {run_id}" if run_id else "every run"
    print(f"{len(result.removed)} object(s) of {scope} removed, {len(result.failed)} left")
    return 0 if result.ok else EXIT_CANNOT_RUN
