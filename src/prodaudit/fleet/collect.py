"""Find the jobs' ``audit.json`` files in the directories given to ``prodaudit merge``.

The directories are what the CI downloaded: each job's report directory, in any layout. Every
regular file named ``audit.json`` below them is read (symbolic links are not followed: a
``latest`` link names a run already found), through the bounded JSON loader. A file is a *job*
when it is an audit with a fleet record (``extras.fleet``, written by ``prodaudit run --service``);
a fleet document (an earlier merge) is skipped; anything else is listed as set aside, with why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError
from prodaudit.fleet.model import SCHEMA as FLEET_SCHEMA
from prodaudit.fleet.services import KEY
from prodaudit.loaders import MAX_REPORT_BYTES, load_json_file

AUDIT_SCHEMA = "prodaudit/audit/1"
#: how many files a merge reads at most (a directory tree given by mistake stays bounded)
MAX_FILES = 100_000


@dataclass(frozen=True)
class JobFile:
    """What the merge needs to know about one job's audit.json before it reads the results."""

    path: Path
    run_id: str
    service: str
    suites: tuple[str, ...]
    fleet_digest: str
    tool_version: str
    finished_at: str
    decision: str
    record: Mapping[str, Any]  # extras.fleet without the plan (kept once per digest in Found)

    @property
    def label(self) -> str:
        return f"{self.service}/{','.join(self.suites)} ({self.path})"


@dataclass
class Found:
    jobs: list[JobFile] = field(default_factory=list)
    set_aside: list[dict[str, str]] = field(default_factory=list)  # {"source", "why"}
    plans: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # fleet digest -> plan


def _files(dirs: Iterable[Path]) -> Iterable[Path]:
    seen = 0
    for d in dirs:
        if d.is_file() and d.name == "audit.json":
            yield d
            continue
        if not d.is_dir():
            raise InputError(
                str(d), "no such directory (give the directories the jobs' reports were downloaded to)"
            )
        for root, subdirs, files in os.walk(d, followlinks=False):
            subdirs.sort()
            if "audit.json" in files:
                path = Path(root) / "audit.json"
                if not path.is_symlink():
                    seen += 1
                    if seen > MAX_FILES:
                        raise InputError(str(d), f"more than {MAX_FILES} audit.json files")
                    yield path


def job_file(path: Path, data: Any) -> JobFile | str:
    """The job an audit.json is, or why it is not one."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("schema") == FLEET_SCHEMA:
        return "a fleet document (an earlier merge)"
    if data.get("schema") != AUDIT_SCHEMA:
        return f"not a prodaudit audit.json (schema {data.get('schema')!r})"
    extras = data.get("extras")
    record = extras.get(KEY) if isinstance(extras, dict) else None
    if not isinstance(record, dict) or not record.get("service"):
        return "an audit of no fleet (run without --service)"
    try:
        return JobFile(
            path=path,
            run_id=str(data["run_id"]),
            service=str(record["service"]),
            suites=tuple(str(s) for s in record["suites"]),
            fleet_digest=str(record["fleet_digest"]),
            tool_version=str(data["tool_version"]),
            finished_at=str(data.get("finished_at", "")),
            decision=str(data.get("decision", "")),
            record={k: v for k, v in record.items() if k != "plan"},
        )
    except (KeyError, TypeError) as exc:
        return f"malformed fleet record: {type(exc).__name__}: {exc}"


def read_job(path: Path) -> dict[str, Any]:
    """The whole audit.json of a job (bounded)."""
    data = load_json_file(path, max_bytes=MAX_REPORT_BYTES)
    if not isinstance(data, dict):
        raise InputError(str(path), "not a JSON object")
    return data


def collect(dirs: Iterable[Path]) -> Found:
    """Every job audit.json below ``dirs`` (one per run id), and what was set aside."""
    found = Found()
    runs: set[str] = set()
    for path in _files(dirs):
        try:
            data = read_job(path)
        except InputError as exc:
            found.set_aside.append({"source": str(path), "why": f"unreadable: {exc.reason}"})
            continue
        job = job_file(path, data)
        if isinstance(job, str):
            if not job.startswith("a fleet document"):
                found.set_aside.append({"source": str(path), "why": job})
            continue
        if job.run_id in runs:  # the same run twice (a copied `latest`)
            continue
        runs.add(job.run_id)
        found.jobs.append(job)
        plan = data["extras"][KEY].get("plan")
        if isinstance(plan, dict):
            found.plans.setdefault(job.fleet_digest, plan)
    return found
