"""This run's compose stack (DEP-030–034): the override file that labels everything ``compose up``
creates with the run id, ``up`` itself, and the teardown that removes exactly the labelled
objects of the project. Not a check module.

Teardown bounds: without an interrupt, ``compose down --timeout 10`` within
``DOWN_TIMEOUT_S`` and each later phase within ``docker.cleanup_timeout_seconds``. Once the run is
interrupted (SIGINT/SIGTERM) the run must end within 5 s (``prodaudit.interrupt``): ``up`` is
killed, containers are killed rather than stopped (``down --timeout 0``, ``docker rm -f``) and
every step is sized from what is left of the interrupt's budget (:class:`prodaudit.cleanup.Deadline`
follows it). Whatever does not fit stays labelled, and the leftover report names
``prodaudit clean --run-id ID``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from prodaudit import interrupt
from prodaudit.checks.api import Context, Finding, failed, passed
from prodaudit.checks.deployment._base_image import BaseChoice, choose
from prodaudit.checks.deployment._common import compose_base_args, compose_env
from prodaudit.checks.deployment._run_objects import RunObjects
from prodaudit.cleanup import Deadline, Labelled, docker, find, leftover_hint, remove_all
from prodaudit.errors import ProdauditError

UP_STOP_GRACE_S = 5.0
DOWN_TIMEOUT_S = 180.0
DOWN_SHARE_INTERRUPTED = 0.6  # of the interrupt's budget left: the rest removes what is labelled


def read_tail(path: Path, limit: int = 200_000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", errors="replace")


def stack_env(ctx: Context) -> dict[str, str]:
    """The environment of the run's compose commands."""
    env = compose_env(ctx)
    if ctx.cfg.docker.base_image:
        env["BASE_IMAGE"] = ctx.cfg.docker.base_image
    return env


def image_id(name: str, timeout: float = 60.0) -> str | None:
    out = docker(["image", "inspect", "--format", "{{.Id}}", name], timeout)
    return (out.stdout.strip() or None) if out is not None and out.returncode == 0 else None


class Stack:
    """This run's compose stack: an override file labels everything it creates with the run id;
    ``teardown`` stops ``up``, runs ``down`` and removes exactly the labelled objects of the
    project (idempotent: ``finally`` and the run's close hook share it)."""

    def __init__(self, ctx: Context, objects: RunObjects, files: list[Path]) -> None:
        self.ctx, self.objects, self.files = ctx, objects, files
        self.project = objects.project
        self.dir = Path(tempfile.mkdtemp(prefix="prodaudit-compose-"))
        self.override = self.dir / "prodaudit.override.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.previous_tags: dict[str, str] = {}  # image name -> the id it named before the run
        self.bases: list[BaseChoice] = []
        self.kept = False
        self._lock = threading.Lock()
        self._done = False
        self.findings: list[Finding] = []

    @property
    def base_args(self) -> list[str]:
        return compose_base_args(self.ctx, [*self.files, self.override], self.project)

    def prepare(self, config: dict[str, Any]) -> None:
        """Write the override (labels, base images) and note the image names that exist."""
        services: dict[str, Any] = {}
        for name, svc in (config.get("services") or {}).items():
            if not isinstance(svc, dict):
                continue
            entry: dict[str, Any] = {"labels": self.objects.labels("container")}
            build = svc.get("build")
            if isinstance(build, dict):
                image_name = str(svc.get("image") or f"{self.project}-{name}")
                previous = image_id(image_name)
                if previous:
                    self.previous_tags[image_name] = previous
                out: dict[str, Any] = {"labels": self.objects.labels("image", image_name)}
                base = self._base(str(name), build)
                if base is not None:
                    self.bases.append(base)
                    if base.substituted and base.arg:
                        out["args"] = {base.arg: base.image}
                entry["build"] = out
            services[str(name)] = entry
        doc: dict[str, Any] = {"services": services}
        for kind, key in (("volume", "volumes"), ("network", "networks")):
            declared = {str(k): {"labels": self.objects.labels(kind)}
                        for k, v in (config.get(key) or {}).items()
                        if not (isinstance(v, dict) and v.get("external"))}
            if declared:
                doc[key] = declared
        self.override.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    def _base(self, service: str, build: dict[str, Any]) -> BaseChoice | None:
        context = str(build.get("context") or "")
        if not context or "://" in context:
            return None
        dockerfile = Path(context) / str(build.get("dockerfile") or "Dockerfile")
        args = {str(k): str(v) for k, v in (build.get("args") or {}).items() if v is not None}
        return choose(self.ctx, dockerfile, args, f"compose service {service}")

    def up(self, timeout: float) -> tuple[int | None, str, str]:
        """``compose up -d --build --wait``: (exit code or None on timeout, stdout, stderr)."""
        out_path, err_path = self.dir / "up.out", self.dir / "up.err"
        with self._lock:
            if self._done:  # torn down already (interrupted before up started)
                return None, "", "the run was interrupted"
            with out_path.open("wb") as out, err_path.open("wb") as err:
                # same process group: whatever ends prodaudit ends `up` too
                self.proc = subprocess.Popen(
                    [*self.base_args, "up", "-d", "--build", "--wait", "--wait-timeout",
                     str(int(self.ctx.cfg.docker.up_timeout_seconds))],
                    stdout=out, stderr=err, env=stack_env(self.ctx),
                    cwd=str(self.files[0].parent))
        try:
            code: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop_up(Deadline(UP_STOP_GRACE_S * 2))
            code = None
        return code, read_tail(out_path), read_tail(err_path)

    def stop_up(self, deadline: Deadline) -> None:
        """Stop a ``compose up`` still running: SIGINT, then SIGKILL (at once when the run is
        interrupted: no time for Compose's own graceful stop)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        if not interrupt.interrupted():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.5, deadline.left(UP_STOP_GRACE_S)))
                return
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.05, deadline.left(UP_STOP_GRACE_S)))

    def close_hook(self, deadline: Deadline) -> None:
        """The run's end (also Ctrl-C): tear down unless the user keeps the stack."""
        if not self.kept:
            self.teardown(interrupted=True)

    def teardown(self, interrupted: bool = False) -> list[Finding]:
        """``interrupted``: not the lifecycle's own teardown (the run's end, an error, Ctrl-C):
        leftovers are said on stderr too."""
        with self._lock:
            if self._done:
                return self.findings
            self._done = True
        try:
            self.findings = self._teardown(interrupted)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.findings

    def _down(self, where: str) -> list[Finding]:
        """``compose down --volumes --remove-orphans``: containers get 10 s to stop, none once the
        run is interrupted (killed at once, within part of the interrupt's budget)."""
        killing = interrupt.interrupted()
        deadline = Deadline(DOWN_TIMEOUT_S)
        timeout = (deadline.left(DOWN_TIMEOUT_S) * DOWN_SHARE_INTERRUPTED if killing
                   else max(1.0, deadline.left(DOWN_TIMEOUT_S)))
        if timeout <= 0:
            return [failed("docker compose down was not run: the interrupt's cleanup budget "
                           "ran out", location=where)]
        try:
            down = subprocess.run([*self.base_args, "down", "--volumes", "--remove-orphans",
                                   "--timeout", "0" if killing else "10"], capture_output=True,
                                  text=True, timeout=timeout, env=stack_env(self.ctx),
                                  cwd=str(self.files[0].parent))
        except subprocess.TimeoutExpired:
            return [failed(f"docker compose down did not finish within {timeout:.1f} s",
                           location=where)]
        if down.returncode != 0:
            return [failed(f"docker compose down failed: {down.stderr.strip()[-300:]}",
                           location=where)]
        return []

    def _teardown(self, interrupted: bool) -> list[Finding]:
        where = f"compose project {self.project}"
        self.stop_up(Deadline(UP_STOP_GRACE_S * 2))
        out = self._down(where)
        deadline = Deadline(self.ctx.cfg.docker.cleanup_timeout_seconds)
        removed: list[Labelled] = []
        try:  # what `down` left (or never knew about): exactly the run's labelled objects
            restored = self._restore_tags(deadline)  # first: our images lose the user's names
            result = remove_all(find(self.objects.run_id, deadline, self.project), deadline)
            removed = list(result.removed)
            left = find(self.objects.run_id, deadline, self.project)
        except ProdauditError as exc:
            if interrupt.interrupted():
                interrupt.left_behind(f"compose project {self.project}: not verified ({exc})")
            return [*out, failed(f"could not verify the teardown: {exc}", location=where)]
        if left:
            hint = leftover_hint(self.objects.run_id, left)
            if interrupt.interrupted():  # named in the leftover report, with `prodaudit clean`
                interrupt.left_behind(hint)
            elif interrupted:
                sys.stderr.write(f"prodaudit: {hint}\n")
            out.append(failed("teardown left objects labelled with the run behind: "
                              + ", ".join(str(o) for o in left[:10]), location=where,
                              evidence=hint))
        elif not out:
            kinds = sorted({o.kind for o in removed})
            out.append(passed(
                f"teardown removed every container, volume, network and built image of project "
                f"{self.project}: nothing labelled org.prodaudit.run={self.objects.run_id} of the "
                f"project remains" + (f" (removed after down: {', '.join(kinds)})" if kinds else "")
                + (f"; restored the tags {', '.join(restored)} to the images they named before"
                   if restored else ""), location=where))
        return out

    def _restore_tags(self, deadline: Deadline) -> list[str]:
        """Compose moved image names the user had onto the images it built: give them back."""
        restored: list[str] = []
        for name, previous in self.previous_tags.items():
            if image_id(name, deadline.left()) == previous:
                continue
            tagged = docker(["tag", previous, name], deadline.left())
            if tagged is not None and tagged.returncode == 0:
                restored.append(name)
            elif interrupt.interrupted():
                interrupt.left_behind(f"the image name {name} (moved by compose up): give it back "
                                      f"with `docker tag {previous.removeprefix('sha256:')[:12]} "
                                      f"{name}`")
        return restored
