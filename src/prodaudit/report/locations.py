"""Where a finding is, as a reader should see it.

Checks record locations as ``path:line`` (absolute or relative to the repository), ``METHOD URL``
for live findings, or a short label (``env DATABASE_URL``). Reports show repository files
relative to the repository root, and never point a reader at a temporary file that is gone once
the audit ends (the env file the audit writes for the reference target it starts, scratch build
contexts): such a location names the file and says it was temporary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from prodaudit.model import AuditRun

#: directories whose files do not outlive the run (checked as string prefixes: renderers are pure)
TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "/dev/shm/", "/private/tmp/", "/private/var/folders/")  # noqa: S108
_PATH_LINE = re.compile(r"^(?P<path>/[^\s:]+)(?P<rest>(?::\d+){0,2})(?P<tail>.*)$", re.S)


@dataclass(frozen=True)
class Temporary:
    """A location in a file that no longer exists after the run."""

    name: str
    line: str
    what: str

    def __str__(self) -> str:
        at = f", line {self.line}" if self.line else ""
        return f"{self.name}{at} ({self.what}; removed after the run)"


def _target(run: AuditRun) -> Mapping[str, Any]:
    return run.target if isinstance(run.target, Mapping) else {}


def _repo(run: AuditRun) -> str:
    repo = str(_target(run).get("repo") or "").rstrip("/")
    return repo + "/" if repo else ""


def _generated_dir(run: AuditRun) -> str:
    """The work directory of the reference target the audit started (its env file's directory)."""
    t = _target(run)
    env = str(t.get("env_file") or "")
    if not t.get("reference_target") or not env.startswith("/"):
        return ""
    if _repo(run) and env.startswith(_repo(run)):
        return ""
    return str(PurePosixPath(env).parent) + "/"


def temporary(run: AuditRun, location: str) -> Temporary | None:
    """The location's temporary file, or None when the location is not in one."""
    m = _PATH_LINE.match(location or "")
    if not m:
        return None
    path = m.group("path")
    if _repo(run) and path.startswith(_repo(run)):
        return None
    line = m.group("rest").lstrip(":").split(":", 1)[0]
    gen = _generated_dir(run)
    if gen and path.startswith(gen):
        what = "written by the audit for the reference target it started"
        return Temporary(PurePosixPath(path).name, line, what)
    if path.startswith(TEMP_PREFIXES):
        return Temporary(PurePosixPath(path).name, line, "a temporary file of the audit")
    return None


def display(run: AuditRun, location: str) -> str:
    """The location as shown in reports: repository files relative to the repository root,
    temporary files named and marked as gone, anything else unchanged."""
    if not location:
        return ""
    tmp = temporary(run, location)
    if tmp is not None:
        return str(tmp)
    repo = _repo(run)
    if repo and location.startswith(repo):
        return location[len(repo) :]
    if repo:  # "METHOD /abs/path" never occurs, but "label: /repo/file" may
        return location.replace(repo, "")
    return location
