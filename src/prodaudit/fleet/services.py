"""What a fleet job knows about its fleet: the services and the suites planned for each, the
fleet digest, and the record every job writes into its ``audit.json`` (``extras.fleet``).

The **fleet digest** identifies the configuration every job of one fleet audit must share: the
whole configuration (every service included) with the command-line values that apply to all jobs,
without what only says where reports go (``output``, ``formats``, ``cache``), and with paths
written relative to the configuration file's directory, so jobs on different runners (different
checkout directories) agree. Secrets are never part of it: the file only names their variables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prodaudit.config import AuditConfig, service_config
from prodaudit.errors import ConfigError, UsageError
from prodaudit.model import SUITES

#: the key of a job's record in ``audit.json`` → ``extras``
KEY = "fleet"
#: configuration keys that only say where and how reports are written: not part of the digest
RUNNER_KEYS = frozenset({"output", "formats", "cache", "config_file"})


def fleet_root(cfg: AuditConfig) -> Path:
    """The directory relative paths of the fleet are expressed in: the configuration file's."""
    return (cfg.config_file.parent if cfg.config_file else cfg.repo).resolve()


def portable(path: Path | str, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX) when it lies inside, else as given."""
    p = Path(path)
    try:
        return p.resolve().relative_to(root).as_posix() or "."
    except (ValueError, OSError):
        return str(path)


def _portable_tree(value: Any, root: Path) -> Any:
    if isinstance(value, dict):
        return {k: _portable_tree(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable_tree(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        return portable(value, root)
    return value


def fleet_digest(cfg: AuditConfig) -> str:
    """The digest every job of this fleet records and ``prodaudit merge`` compares."""
    data = cfg.model_dump(mode="json", exclude=set(RUNNER_KEYS))
    raw = json.dumps(_portable_tree(data, fleet_root(cfg)), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def narrow_only(only: Iterable[str], suites: Iterable[str]) -> list[str]:
    """The ``only`` entries that select a check of ``suites`` (a job of one suite runs only those;
    the others belong to another job of the same service)."""
    from prodaudit.registry import load_checks

    wanted = set(suites)
    every = [s.id for s in load_checks().all() if s.suite in wanted]
    tokens = [t.strip().upper() for t in only if t.strip()]
    return [t for t in tokens if any(i == t or i.startswith(t) for i in every)]


def _suites_with_checks(cfg: AuditConfig, suites: list[str]) -> list[str]:
    from prodaudit.registry import load_checks

    registry = load_checks()
    registry.select(SUITES, cfg.only, cfg.skip)  # an unknown id: UsageError, exit 3
    out = []
    for suite in suites:
        only = narrow_only(cfg.only, [suite])
        if cfg.only and not only:
            continue
        try:
            registry.select([suite], only, cfg.skip)
        except UsageError:  # --skip removes every check of this suite
            continue
        out.append(suite)
    return out


def planned(fleet: AuditConfig, cli: Mapping[str, Any] | None = None) -> dict[str, dict[str, list[str]]]:
    """Service name -> ``{"suites", "only", "skip"}``: the suites the fleet audits for it (its
    ``suites``, narrowed to those with at least one selected check) and its selection (what the
    merge needs to name the checks of a missing job). A service left with nothing to audit is a
    ConfigError."""
    if not fleet.services:
        if any(i["key"] == "services" for i in fleet.repository_ignored):
            raise ConfigError(
                f"{fleet.config_file}: its [[services]] are ignored: the file is inside the audited "
                "repository (--repo), which cannot define its own fleet; give it with --config and "
                "without --repo (docs/fleet.md)"
            )
        raise ConfigError(
            f"{fleet.config_file or 'configuration'}: no [[services]]: not a fleet "
            "(`prodaudit run` audits one product without a plan)"
        )
    out: dict[str, dict[str, list[str]]] = {}
    for svc in fleet.services:
        cfg = service_config(fleet, svc.name, dict(cli or {}))
        suites = _suites_with_checks(cfg, svc.planned_suites)
        if not suites:
            raise ConfigError(
                f"{fleet.config_file}: service {svc.name!r}: its suites "
                f"({', '.join(svc.planned_suites)}) have no check left after only/skip"
            )
        out[svc.name] = {"suites": suites, "only": list(cfg.only), "skip": list(cfg.skip)}
    return out


def job_record(
    fleet: AuditConfig, name: str, suites: list[str], plan: Mapping[str, Mapping[str, list[str]]], digest: str
) -> dict[str, Any]:
    """What a job writes into ``audit.json`` → ``extras.fleet``: enough for ``prodaudit merge``
    to check that the jobs belong together and to recover the plan without a plan file."""
    root = fleet_root(fleet)
    svc = fleet.service(name)
    repo = svc.repo or fleet.repo
    return {
        "fleet_digest": digest,
        "service": name,
        "suites": [s for s in SUITES if s in suites],
        "repo": portable(repo, root),
        "config_file": portable(fleet.config_file, root) if fleet.config_file else None,
        "fail_on": fleet.fail_on,
        "plan": encode_plan(plan),
    }


def encode_plan(plan: Mapping[str, Mapping[str, list[str]]]) -> dict[str, Any]:
    """The plan as every job records it, compact (every job carries it: 500 services are ~10 kB):
    the distinct selections once, each service by the index of its selection."""
    selections: list[dict[str, list[str]]] = []
    services: dict[str, int] = {}
    for name, sel in plan.items():
        entry = {k: list(v) for k, v in sel.items()}
        if entry not in selections:
            selections.append(entry)
        services[name] = selections.index(entry)
    return {"selections": selections, "services": services}


def decode_plan(recorded: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The plan a job recorded (:func:`encode_plan`) -> service -> selection."""
    selections = recorded["selections"]
    return {str(name): {k: list(v) for k, v in selections[int(i)].items()}
            for name, i in recorded["services"].items()}
