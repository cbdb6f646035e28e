"""``prodaudit plan``: the jobs of a fleet audit, for a CI matrix.

One job per service and suite (``--per suite``, the default) or per service (``--per service``).
CI systems cap a matrix (GitHub Actions: 256 jobs, GitLab ``parallel:matrix``: 200); when the plan
has more jobs than ``--max-jobs``, whole services are packed into that many jobs (each runs all
the suites of its services, one after the other). Every job carries the exact command it runs;
the audit options given to ``plan`` are passed on to every command, so the jobs record the same
fleet digest as the plan.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodaudit import __version__
from prodaudit.config import AuditConfig, service_config
from prodaudit.errors import InputError
from prodaudit.fleet.services import fleet_digest, fleet_root, planned, portable
from prodaudit.loaders import load_json_file

SCHEMA = "prodaudit/fleet-plan/1"
#: the largest matrix each CI system runs (GitHub: "a matrix can generate a maximum of 256 jobs per
#: workflow run"; GitLab: "parallel:matrix ... up to 200 jobs")
MATRIX_LIMIT = {"github": 256, "gitlab": 200, "json": 0}
#: the environment variables (secrets) a service's audit reads, by configuration key
SECRET_KEYS = (
    ("auth", "username_env"),
    ("auth", "password_env"),
    ("auth", "second_username_env"),
    ("auth", "second_password_env"),
    ("jwt", "secret_env"),
)


@dataclass(frozen=True)
class Job:
    """One CI job: the services it audits (each with its suites) and the exact command."""

    id: str
    units: tuple[tuple[str, tuple[str, ...]], ...]
    argv: tuple[str, ...]
    output: str
    checkouts: tuple[Mapping[str, str], ...] = ()
    env: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    @property
    def services(self) -> list[str]:
        return [s for s, _ in self.units]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "services": [{"service": s, "suites": list(su)} for s, su in self.units],
            "command": self.command,
            "argv": list(self.argv),
            "output": self.output,
            "checkouts": [dict(c) for c in self.checkouts],
            "env": list(self.env),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Job:
        return cls(
            id=str(d["id"]),
            units=tuple((str(u["service"]), tuple(u["suites"])) for u in d["services"]),
            argv=tuple(d["argv"]),
            output=str(d.get("output", "")),
            checkouts=tuple(dict(c) for c in d.get("checkouts", [])),
            env=tuple(d.get("env", [])),
        )


@dataclass(frozen=True)
class Plan:
    """The fleet's coverage (service -> suites that must be audited) and the jobs that do it."""

    fleet_digest: str
    tool_version: str
    config_file: str | None
    services: Mapping[str, Mapping[str, list[str]]]  # name -> {"suites", "only", "skip"}
    jobs: tuple[Job, ...] = ()
    per: str = "suite"
    fail_on: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "fleet_digest": self.fleet_digest,
            "tool_version": self.tool_version,
            "config_file": self.config_file,
            "per": self.per,
            "fail_on": self.fail_on,
            "services": {k: {kk: list(vv) for kk, vv in v.items()} for k, v in self.services.items()},
            "jobs": [j.to_dict() for j in self.jobs],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        return cls(
            fleet_digest=str(d["fleet_digest"]),
            tool_version=str(d["tool_version"]),
            config_file=d.get("config_file"),
            services={
                str(k): {
                    "suites": list(v["suites"]),
                    "only": list(v.get("only", [])),
                    "skip": list(v.get("skip", [])),
                }
                for k, v in d["services"].items()
            },
            jobs=tuple(Job.from_dict(j) for j in d.get("jobs", [])),
            per=str(d.get("per", "suite")),
            fail_on=d.get("fail_on"),
            notes=tuple(d.get("notes", [])),
        )


def read_plan(path: Path) -> Plan:
    """A plan written by ``prodaudit plan --format json`` (an InputError naming the file)."""
    data = load_json_file(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InputError(
            str(path),
            f'not a fleet plan (expected "schema": "{SCHEMA}"; '
            "write one with `prodaudit plan --format json`)",
        )
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(str(path), f"malformed fleet plan: {type(exc).__name__}: {exc}") from None


def _pack(units: list[tuple[str, tuple[str, ...]]], bins: int) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Whole services into ``bins`` jobs, each to the least loaded job (by suites), in order."""
    loads = [0] * bins
    out: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in range(bins)]
    for unit in units:
        i = min(range(bins), key=lambda b: (loads[b], b))
        out[i].append(unit)
        loads[i] += len(unit[1])
    return [b for b in out if b]


def build_plan(
    fleet: AuditConfig,
    base_argv: Sequence[str],
    *,
    cli: Mapping[str, Any] | None = None,
    per: str = "suite",
    max_jobs: int = 0,
    output: str = "prodaudit-reports",
) -> Plan:
    """The plan of ``fleet``. ``base_argv`` is the command every job starts with (``prodaudit run``
    and the options that locate the configuration and override it, as given to ``plan``)."""
    coverage = planned(fleet, cli)
    whole = [(name, tuple(sel["suites"])) for name, sel in coverage.items()]
    if per == "service":
        groups = [[unit] for unit in whole]
    else:
        groups = [[(name, (suite,))] for name, suites in whole for suite in suites]
    notes: list[str] = []
    if max_jobs and len(groups) > max_jobs:
        groups = _pack(whole, max_jobs)
        notes.append(
            f"{sum(len(s) for _, s in whole)} service/suite audits packed into "
            f"{len(groups)} jobs (--max-jobs {max_jobs}): each job audits whole services"
        )
    root = fleet_root(fleet)
    packed = bool(notes)
    jobs = []
    for i, units in enumerate(groups, 1):
        if packed:
            job_id = f"batch-{i:03d}"
        elif per == "service":
            job_id = units[0][0]
        else:
            job_id = f"{units[0][0]}.{units[0][1][0]}"
        out = output.rstrip("/") or "."
        argv = [*base_argv, "--service", ",".join(n for n, _ in units)]
        if not packed and per == "suite":
            argv += ["--suite", units[0][1][0]]
        argv += ["--output", out, "--format", "json"]
        checkouts, env = [], []
        for name, _ in units:
            svc = fleet.service(name)
            if svc.repository:
                path = portable(svc.repo or fleet.repo, root)
                checkouts.append(
                    {"service": name, "repository": svc.repository, "ref": svc.ref or "", "path": path}
                )
            cfg = service_config(fleet, name, dict(cli or {}))
            for section, key in SECRET_KEYS:
                var = getattr(getattr(cfg, section), key)
                if var and var not in env:
                    env.append(var)
        jobs.append(Job(job_id, tuple(units), tuple(argv), out, tuple(checkouts), tuple(env)))
    return Plan(
        fleet_digest=fleet_digest(fleet),
        tool_version=__version__,
        config_file=portable(fleet.config_file, root) if fleet.config_file else None,
        services=coverage,
        jobs=tuple(jobs),
        per=per,
        fail_on=fleet.fail_on,
        notes=tuple(notes),
    )


# ---- formats -------------------------------------------------------------------------------


def github_matrix(plan: Plan) -> dict[str, Any]:
    """``strategy.matrix``: ``{"include": [...]}``, one entry per job (``fromJSON`` it)."""
    return {
        "include": [
            {
                "job": j.id,
                "services": ",".join(j.services),
                "suites": ",".join(sorted({s for _, su in j.units for s in su})),
                "command": j.command,
                "output": j.output,
                "checkouts": [dict(c) for c in j.checkouts],
                "env": list(j.env),
            }
            for j in plan.jobs
        ]
    }


#: the hidden jobs of the GitLab template a child pipeline needs (docs/ci/gitlab-fleet.yml)
GITLAB_TEMPLATES = (".prodaudit-audit", ".prodaudit-merge")


def gitlab_templates(path: Path) -> dict[str, Any]:
    """The hidden jobs ``.prodaudit-*`` and the ``variables`` of the GitLab pipeline file that
    triggers the fleet (a ConfigError naming the file when one is missing)."""
    from prodaudit.errors import ConfigError
    from prodaudit.loaders import load_yaml, read_document

    try:
        doc = load_yaml(read_document(path), str(path))
    except InputError as exc:
        raise ConfigError(f"--gitlab-template {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--gitlab-template {path}: not a GitLab CI file")
    missing = [k for k in GITLAB_TEMPLATES if not isinstance(doc.get(k), dict)]
    if missing:
        raise ConfigError(
            f"--gitlab-template {path}: no {', '.join(missing)} job (docs/ci/gitlab-fleet.yml defines them)"
        )
    out: dict[str, Any] = {k: v for k, v in doc.items() if k.startswith(".prodaudit-")}
    if isinstance(doc.get("variables"), dict):
        out = {"variables": doc["variables"], **out}
    return out


def gitlab_pipeline(plan: Plan, templates: Mapping[str, Any]) -> str:
    """A child pipeline, self-contained: the template's hidden jobs (``.prodaudit-audit``,
    ``.prodaudit-merge`` and what they extend), the audits as one ``parallel:matrix`` job and the
    merge."""
    import yaml

    doc = {
        **templates,
        "stages": ["audit", "merge"],
        "prodaudit-audit": {
            "extends": ".prodaudit-audit",
            "stage": "audit",
            "parallel": {
                "matrix": [
                    {
                        "PRODAUDIT_JOB": j.id,
                        "PRODAUDIT_COMMAND": j.command,
                        "PRODAUDIT_CHECKOUTS": json.dumps([dict(c) for c in j.checkouts]),
                    }
                    for j in plan.jobs
                ]
            },
        },
        "prodaudit-merge": {
            "extends": ".prodaudit-merge",
            "stage": "merge",
            "needs": ["prodaudit-audit"],
            "when": "always",
        },
    }

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    head = (
        f"# generated by `prodaudit plan --format gitlab` (prodaudit {plan.tool_version}, fleet "
        f"digest {plan.fleet_digest}): {len(plan.jobs)} audit jobs and the merge\n"
    )
    return head + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=10_000)


def render(plan: Plan, fmt: str, *, gitlab_templates: Mapping[str, Any] | None = None) -> str:
    if fmt == "github":
        return json.dumps(github_matrix(plan), separators=(",", ":")) + "\n"
    if fmt == "gitlab":
        return gitlab_pipeline(plan, gitlab_templates or {})
    return json.dumps(plan.to_dict(), indent=2) + "\n"
