"""What one audit run creates in Docker: the run's labels and compose project name, the
cleanups that remove it when the run ends (also on Ctrl-C), and a final sweep. Not a check module.

Every object is created with ``prodaudit.cleanup.labels(run_id, kind)``. When the run ends, the
registered cleanups run newest first (each phase bounded by ``docker.cleanup_timeout_seconds``),
then everything still labelled with the run id is removed (except a stack ``docker.keep_up``
keeps). They run in the context's bounded cleanup (``Context.close``); once the run is
interrupted every step is sized from what is left of the interrupt's budget instead
(:class:`prodaudit.cleanup.Deadline`), so the run ends within 5 s. What cannot be removed in time
stays labelled, and the leftover report (stderr) says how to remove it
(``prodaudit clean --run-id ID``).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import uuid
from collections.abc import Callable

from prodaudit import interrupt
from prodaudit.checks.api import Context
from prodaudit.cleanup import RUN_LABEL, Deadline, Labelled, find, labels, leftover_hint, remove_all
from prodaudit.errors import ProdauditError

Cleanup = Callable[[Deadline], None]
# exit codes of a docker CLI that a Ctrl-C (SIGINT) or SIGTERM ended: the terminal sends the
# signal to the whole process group, so the audit's children see it at the same moment it does
INTERRUPTED_EXIT = frozenset({130, 143, -2, -15})


def interrupted_exit(code: int | None) -> bool:
    """The child exited because the run is being interrupted: raise KeyboardInterrupt, never
    report its exit as a result of the product."""
    return code in INTERRUPTED_EXIT


class RunObjects:
    """The run's Docker bookkeeping (one per audit run, see :func:`run_objects`)."""

    def __init__(self, ctx: Context) -> None:
        self.run_id = ctx.run_id or "adhoc-" + uuid.uuid4().hex[:12]
        self.timeout = ctx.cfg.docker.cleanup_timeout_seconds
        self.kept_project: str | None = None  # docker.keep_up: the stack the user keeps
        self._lock = threading.Lock()
        self._cleanups: list[Cleanup] = []
        ctx.on_close(self.close, f"Docker objects of run {self.run_id} (label "
                                 f"{RUN_LABEL}={self.run_id}): prodaudit clean --run-id "
                                 f"{self.run_id}")

    @property
    def slug(self) -> str:
        """The run id as Compose accepts it in a project name."""
        return re.sub(r"[^a-z0-9_-]+", "-", self.run_id.lower()).strip("-_") or "run"

    @property
    def project(self) -> str:
        """The compose project name of this run's stack."""
        return f"prodaudit-{self.slug}"

    def labels(self, kind: str, tag: str | None = None) -> dict[str, str]:
        return labels(self.run_id, kind, tag)

    def add(self, cleanup: Cleanup) -> None:
        """Run ``cleanup(deadline)`` when the run ends (newest first)."""
        with self._lock:
            self._cleanups.append(cleanup)

    def close(self) -> None:
        """The run ends (normally or interrupted): registered cleanups, then the sweep."""
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        for cleanup in cleanups:
            with contextlib.suppress(Exception):  # best effort: the sweep reports leftovers
                cleanup(Deadline(self.timeout))
        self.sweep()

    def sweep(self) -> list[Labelled]:
        """Remove whatever is still labelled with this run (a kept stack excepted); returns what
        is left, and says so on stderr."""
        deadline = Deadline(self.timeout)
        try:
            objects = [o for o in find(self.run_id, deadline)
                       if not (self.kept_project and o.project == self.kept_project)]
        except ProdauditError as exc:
            if interrupt.interrupted():  # not verified: say so, with the command that finishes
                interrupt.left_behind(f"Docker objects of run {self.run_id}: not verified "
                                      f"({exc}): prodaudit clean --run-id {self.run_id}")
            return []
        if not objects:
            return []
        result = remove_all(objects, deadline)
        left = [o for o, _ in result.failed]
        if left and interrupt.interrupted():  # named in the leftover report
            interrupt.left_behind(leftover_hint(self.run_id, left))
        elif left:
            sys.stderr.write(f"prodaudit: {leftover_hint(self.run_id, left)}\n")
        return left


def run_objects(ctx: Context) -> RunObjects:
    """This run's Docker bookkeeping (created on first use, closed with the run)."""
    return ctx.memo("deployment:run-objects", lambda: RunObjects(ctx))
