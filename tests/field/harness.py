"""Field harness (issues 16-18): measure prodaudit's static suites against the field manifests.

For every project of the field corpus that has a manifest in ``tests/field/<folder>.toml``, the
harness copies the project into a temporary directory, runs the manifest's render step there, runs
``prodaudit run`` (config, deployment without a Docker engine, readiness) on the copy through the
real command line, and compares the FAIL/WARN findings with the manifest: must-flag facts found,
must-not facts violated, readiness verdicts agreed, and every other FAIL/WARN (the noise).

    python tests/field/harness.py [--project NAME]... [--json PATH] [--corpus DIR] [--keep DIR]
                                  [--vuln-db DIR]

The matching and scoring functions are pure (unit-tested in ``test_harness.py``); only
:func:`prepare_copy`, :func:`run_prodaudit` and :func:`main` touch files and processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "field"
TOPICS_FILE = HERE / "topics.toml"
STATIC_SUITES = ("config", "deployment", "readiness")
PROBLEM = frozenset({"FAIL", "WARN"})
LINE_TOLERANCE = 2
#: a PASS on presence only (evidence level "present", issue 18) is reported as PRESENT: it claims
#: nothing is verified, so it agrees with "not-pass" as well as with "pass"
EXPECTATIONS = {
    "pass": frozenset({"PASS", "PRESENT"}),
    "fail": frozenset({"FAIL"}),
    "warn": frozenset({"WARN"}),
    "not-pass": frozenset({"FAIL", "WARN", "SKIP", "ERROR", "PRESENT"}),
    "not-applicable": frozenset({"SKIP"}),  # the property has no object in this project
}
RUN_TIMEOUT_S = 900.0
RENDER_TIMEOUT_S = 300.0
# The audit process sees only these variables of the harness's environment (plus DOCKER_HOST,
# pointed at a socket that does not exist): a developer's DATABASE_URL or REDIS_URL must not turn
# the static run into a live one, and results must not depend on who runs the harness.
ENV_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TERM", "SYSTEMROOT")
_METHOD_LOCATION = re.compile(r"^[A-Z]+ \S")


class ManifestError(ValueError):
    """A manifest or topics file that cannot be used (the message names the file)."""


# ---------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    checks: frozenset[str]


@dataclass(frozen=True)
class Fact:
    """A must-flag or must-not-flag fact of a manifest (static: path and line)."""

    id: str
    topic: str
    checks: frozenset[str]
    path: str
    line: int
    statuses: frozenset[str]
    why: str


@dataclass(frozen=True)
class Verdict:
    check: str
    expect: str
    why: str


@dataclass(frozen=True)
class Manifest:
    folder: str
    render: str
    repo: str
    env_file: str
    must_flag: tuple[Fact, ...]
    must_not_flag: tuple[Fact, ...]
    readiness: tuple[Verdict, ...]
    source: Path


@dataclass(frozen=True)
class Observed:
    """One FAIL/WARN finding of the run, with its location split into path and line."""

    check: str
    status: str
    message: str
    location: str
    path: str | None
    line: int | None

    def describe(self) -> str:
        return f"{self.check} {self.status} {self.location or '(no location)'}: {self.message}"


@dataclass(frozen=True)
class VerdictResult:
    verdict: Verdict
    actual: str  # the check's result status, or "absent"
    agreed: bool


@dataclass(frozen=True)
class ProjectScore:
    folder: str
    found: tuple[tuple[Fact, tuple[Observed, ...]], ...]
    missed: tuple[Fact, ...]
    violated: tuple[tuple[Fact, tuple[Observed, ...]], ...]
    respected: tuple[Fact, ...]
    readiness: tuple[VerdictResult, ...]
    noise: tuple[Observed, ...]
    errors: tuple[str, ...] = ()  # ERROR results and runs that crashed

    @property
    def must_flag_total(self) -> int:
        return len(self.found) + len(self.missed)


# ---------------------------------------------------------------------------------- loading


def _str(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ManifestError(f"{where}: `{key}` must be a non-empty string")
    return value


def load_topics(path: Path = TOPICS_FILE) -> dict[str, Topic]:
    """The topics file: ``[topics.<name>]`` with ``description`` and ``checks``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from None
    topics: dict[str, Topic] = {}
    for name, table in data.get("topics", {}).items():
        where = f"{path.name}: topics.{name}"
        if not isinstance(table, dict):
            raise ManifestError(f"{where}: must be a table")
        checks = table.get("checks")
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise ManifestError(f"{where}: `checks` must be a list of check ids")
        topics[name] = Topic(name, _str(table, "description", where), frozenset(checks))
    return topics


def _fact(entry: Mapping[str, Any], where: str, *, with_status: bool) -> Fact:
    fid = _str(entry, "id", where)
    where = f"{where} {fid}"
    topic = entry.get("topic", "")
    checks = entry.get("checks", [])
    if not isinstance(topic, str) or not isinstance(checks, list):
        raise ManifestError(f"{where}: `topic` must be a string and `checks` a list")
    if not topic and not checks:
        raise ManifestError(f"{where}: needs a topic or checks")
    line = entry.get("line", 0)
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise ManifestError(f"{where}: `line` must be an integer >= 0")
    statuses = entry.get("status", ["FAIL", "WARN"]) if with_status else ["FAIL", "WARN"]
    if not isinstance(statuses, list) or not statuses or not set(statuses) <= PROBLEM:
        raise ManifestError(f"{where}: `status` must be a non-empty subset of FAIL, WARN")
    return Fact(id=fid, topic=topic, checks=frozenset(checks), path=_str(entry, "path", where),
                line=line, statuses=frozenset(statuses), why=_str(entry, "why", where))


def parse_manifest(data: Mapping[str, Any], source: Path) -> Manifest:
    """A manifest from its parsed TOML (structure only; see :func:`validate_manifest`)."""
    name = source.name
    project = data.get("project")
    if not isinstance(project, dict):
        raise ManifestError(f"{name}: missing [project] table")
    lists: dict[str, list[Any]] = {}
    for key in ("must_flag", "must_not_flag", "readiness"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ManifestError(f"{name}: `{key}` must be an array of tables")
        lists[key] = value
    verdicts = []
    for entry in lists["readiness"]:
        check = _str(entry, "check", f"{name}: readiness")
        expect = _str(entry, "expect", f"{name}: readiness {check}")
        if expect not in EXPECTATIONS:
            raise ManifestError(f"{name}: readiness {check}: `expect` must be one of {sorted(EXPECTATIONS)}")
        verdicts.append(Verdict(check, expect, _str(entry, "why", f"{name}: readiness {check}")))
    return Manifest(
        folder=_str(project, "folder", f"{name}: [project]"),
        render=_str(project, "render", f"{name}: [project]", required=False),
        repo=_str(project, "repo", f"{name}: [project]", required=False) or ".",
        env_file=_str(project, "env_file", f"{name}: [project]", required=False),
        must_flag=tuple(_fact(e, f"{name}: must_flag", with_status=True) for e in lists["must_flag"]),
        must_not_flag=tuple(_fact(e, f"{name}: must_not_flag", with_status=False)
                            for e in lists["must_not_flag"]),
        readiness=tuple(verdicts),
        source=source,
    )


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path.name}: {exc}") from None
    return parse_manifest(data, path)


def manifest_paths(directory: Path = HERE) -> list[Path]:
    """Every manifest file: ``<owner>__<name>.toml`` (topics.toml excluded)."""
    return sorted(p for p in directory.glob("*__*.toml") if p.is_file())


# ---------------------------------------------------------------------------------- validation

LIVE_SERVICES = frozenset({"postgres", "redis", "llm"})
LIVE_PLACEHOLDERS = frozenset({"port", "pg", "pg_user", "pg_password", "pg_host", "pg_port", "redis",
                               "redis_host", "redis_port", "llm", "random_secret"})
_OPERATION = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S*$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def validate_manifest(m: Manifest, topics: Mapping[str, Topic], check_ids: Iterable[str],
                      repo: Path | None = None) -> list[str]:
    """Semantic problems of a parsed manifest: duplicate ids, unknown topics and check ids, and,
    with ``repo`` (the project after rendering), paths that do not exist or lines past the end."""
    known = set(check_ids)
    problems: list[str] = []
    if m.folder != m.source.stem:
        problems.append(f"[project] folder {m.folder!r} differs from the file name {m.source.stem!r}")
    ids = [f.id for f in (*m.must_flag, *m.must_not_flag)]
    problems += [f"duplicate fact id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for f in (*m.must_flag, *m.must_not_flag):
        if f.topic and f.topic not in topics:
            problems.append(f"{f.id}: unknown topic {f.topic!r} (add it to topics.toml)")
        problems += [f"{f.id}: unknown check {c}" for c in sorted(f.checks - known)]
        if f.path.startswith("/") or ".." in Path(f.path).parts:
            problems.append(f"{f.id}: path {f.path!r} must be relative to the repository")
            continue
        if repo is None:
            continue
        target = repo / f.path
        if not target.is_file():
            problems.append(f"{f.id}: {f.path} does not exist in the project")
        elif f.line:
            with target.open("rb") as fh:
                n = sum(1 for _ in fh)
            if f.line > n:
                problems.append(f"{f.id}: {f.path} has {n} lines, fact points at line {f.line}")
    checks = [v.check for v in m.readiness]
    problems += [f"readiness {c} listed twice" for c in sorted({c for c in checks if checks.count(c) > 1})]
    problems += [f"readiness: {c} is not a readiness check id" for c in checks
                 if c not in known or not c.startswith("RDY-")]
    if m.env_file and repo is not None and not (repo / m.env_file).is_file():
        problems.append(f"env_file {m.env_file} does not exist in the project")
    return problems


def validate_live(live: Any, topics: Mapping[str, Topic], check_ids: Iterable[str]) -> list[str]:
    """Problems of a manifest's ``[live]`` section (issue 17's recipe and facts)."""
    if not isinstance(live, dict):
        return ["[live] section missing"]
    known = set(check_ids)
    problems: list[str] = []
    if not isinstance(live.get("runnable"), bool):
        return ["[live] runnable must be true or false"]
    if not live["runnable"]:
        if not live.get("why_not"):
            problems.append("[live] runnable = false needs why_not")
        return problems
    for key in ("python", "start", "health"):
        if not isinstance(live.get(key), str) or not live[key]:
            problems.append(f"[live] {key} must be a non-empty string")
    if not re.fullmatch(r"[23]\.\d+", str(live.get("python", ""))):
        problems.append(f"[live] python {live.get('python')!r} is not a version like 3.11")
    if not str(live.get("health", "/")).startswith("/"):
        problems.append("[live] health must be a path")
    for key in ("install", "seed"):
        if not isinstance(live.get(key, []), list):
            problems.append(f"[live] {key} must be a list of commands")
    services = live.get("services", [])
    if not isinstance(services, list) or not set(services) <= LIVE_SERVICES:
        problems.append(f"[live] services must be a subset of {sorted(LIVE_SERVICES)}")
    env = live.get("env", {})
    if not isinstance(env, dict):
        problems.append("[live] env must be a table")
        env = {}
    texts = [str(v) for v in env.values()] + [str(c) for c in live.get("seed", [])] + [str(live.get("start"))]
    for name in sorted({p for t in texts for p in _PLACEHOLDER.findall(t)} - LIVE_PLACEHOLDERS):
        problems.append(f"[live] unknown placeholder {{{name}}}")
    if not any("{port}" in t for t in texts):  # the start command, its env or a seeded config
        problems.append("[live] the recipe must bind {port} (start, env or seed)")
    ids: list[str] = []
    for key in ("must_flag", "must_not_flag"):
        for entry in live.get(key, []):
            fid = str(entry.get("id", "?"))
            ids.append(fid)
            if not entry.get("topic") and not entry.get("checks"):
                problems.append(f"live {fid}: needs a topic or checks")
            if entry.get("topic") and entry["topic"] not in topics:
                problems.append(f"live {fid}: unknown topic {entry['topic']!r}")
            problems += [f"live {fid}: unknown check {c}" for c in entry.get("checks", []) if c not in known]
            if not _OPERATION.match(str(entry.get("operation", ""))):
                problems.append(f"live {fid}: operation {entry.get('operation')!r} is not 'METHOD /path'")
            if not entry.get("why"):
                problems.append(f"live {fid}: why missing")
    problems += [f"live: duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


# ---------------------------------------------------------------------------------- matching


def fact_checks(fact: Fact, topics: Mapping[str, Topic]) -> frozenset[str]:
    """The check ids that may report ``fact``: its own ``checks`` and its topic's."""
    topic = topics.get(fact.topic)
    return fact.checks | (topic.checks if topic else frozenset())


def normalise_path(path: str, roots: Sequence[str] = ()) -> str:
    """A finding's path relative to the audited repository: absolute ``roots`` prefixes and
    leading ``./`` removed, separators as ``/``."""
    p = path.strip().replace("\\", "/")
    for root in sorted({r.rstrip("/") for r in roots if r}, key=len, reverse=True):
        if p == root:
            return "."
        if p.startswith(root + "/"):
            p = p[len(root) + 1:]
            break
    while p.startswith("./"):
        p = p[2:]
    return p


def parse_location(location: str, roots: Sequence[str] = ()) -> tuple[str | None, int | None]:
    """``path:line`` (also ``path:line:col``, ``path:``, ``path: services.x``, ``path``) into a
    normalised path and a line; an HTTP location (``GET http://…``) has neither."""
    loc = location.strip()
    if not loc or _METHOD_LOCATION.match(loc):
        return None, None
    head, sep, rest = loc.partition(":")
    line = None
    if sep:
        m = re.match(r"\s*(\d+)", rest)
        if m:
            line = int(m.group(1))
    return normalise_path(head, roots), line


def matches(fact: Fact, finding: Observed, topics: Mapping[str, Topic], *,
            any_status: bool = False) -> bool:
    """True when ``finding`` reports ``fact``: a check of the fact, a status the fact accepts
    (any FAIL/WARN with ``any_status``), the same path, and for ``line > 0`` a line within ±2."""
    if finding.check not in fact_checks(fact, topics) or finding.path is None:
        return False
    if not any_status and finding.status not in fact.statuses:
        return False
    if normalise_path(finding.path) != normalise_path(fact.path):
        return False
    if fact.line == 0:
        return True
    return finding.line is not None and abs(finding.line - fact.line) <= LINE_TOLERANCE


def distance(fact: Fact, finding: Observed) -> int:
    """How precisely ``finding`` points at ``fact`` (0 = its line; a whole-file fact is the least
    precise match). Only meaningful when :func:`matches` holds."""
    if fact.line == 0 or finding.line is None:
        return LINE_TOLERANCE + 1
    return abs(finding.line - fact.line)


def observed_from_audit(audit: Mapping[str, Any], roots: Sequence[str] = ()) -> tuple[
        list[Observed], dict[str, str], list[str]]:
    """From an ``audit.json`` document: the FAIL/WARN findings, every check's result status, and
    one line per ERROR result (check id and reason)."""
    findings: list[Observed] = []
    statuses: dict[str, str] = {}
    errors: list[str] = []
    for result in audit.get("results", []):
        cid = str(result.get("id", "?"))
        status = str(result.get("status", "")).upper()
        statuses[cid] = "PRESENT" if status == "PASS" and result.get("evidence_level") == "present" \
            else status
        if status == "ERROR":
            errors.append(f"{cid} ERROR: {result.get('reason') or ''}".rstrip())
        seen = 0
        for f in result.get("findings", []):
            fstatus = str(f.get("status", "")).upper()
            if fstatus not in PROBLEM:
                continue
            seen += 1
            location = str(f.get("location") or "")
            path, line = parse_location(location, roots)
            findings.append(Observed(cid, fstatus, str(f.get("message", "")), location, path, line))
        if status in PROBLEM and not seen:  # a FAIL/WARN result without a finding to show for it
            findings.append(Observed(cid, status, str(result.get("reason") or ""), "", None, None))
    return findings, statuses, errors


def judge_verdict(verdict: Verdict, statuses: Mapping[str, str]) -> VerdictResult:
    actual = statuses.get(verdict.check, "absent")
    return VerdictResult(verdict, actual, actual in EXPECTATIONS[verdict.expect])


def score_project(manifest: Manifest, findings: Sequence[Observed], statuses: Mapping[str, str],
                  topics: Mapping[str, Topic], errors: Sequence[str] = ()) -> ProjectScore:
    """Compare one project's findings with its manifest.

    A finding is not noise when it reports a must-flag fact (any FAIL/WARN status: a fact found
    with another status is a severity question, not a false alarm), violates a must-not fact
    (listed as a violation instead), or belongs to a readiness check whose verdict the manifest
    records (judged in the readiness section). A finding within the line tolerance of both a
    must-flag and a must-not fact belongs to the one it points at more precisely (the must-flag
    fact on a tie): `SECRET_KEY = "x"` on line 21 does not violate "line 23 is a duration"."""
    found: list[tuple[Fact, tuple[Observed, ...]]] = []
    missed: list[Fact] = []
    violated: list[tuple[Fact, tuple[Observed, ...]]] = []
    respected: list[Fact] = []
    explained: set[int] = set()
    for fact in manifest.must_flag:
        hits = tuple(f for f in findings if matches(fact, f, topics))
        explained.update(i for i, f in enumerate(findings) if matches(fact, f, topics, any_status=True))
        if hits:
            found.append((fact, hits))
        else:
            missed.append(fact)
    def closer_must_flag(finding: Observed, than: int) -> bool:
        return any(matches(m, finding, topics, any_status=True) and distance(m, finding) <= than
                   for m in manifest.must_flag)

    for fact in manifest.must_not_flag:
        hits = tuple(f for f in findings if matches(fact, f, topics, any_status=True)
                     and not closer_must_flag(f, distance(fact, f)))
        explained.update(i for i, f in enumerate(findings) if f in hits)
        if hits:
            violated.append((fact, hits))
        else:
            respected.append(fact)
    judged = {v.check for v in manifest.readiness}
    explained.update(i for i, f in enumerate(findings) if f.check in judged)
    noise = tuple(f for i, f in enumerate(findings) if i not in explained)
    return ProjectScore(
        folder=manifest.folder, found=tuple(found), missed=tuple(missed), violated=tuple(violated),
        respected=tuple(respected), readiness=tuple(judge_verdict(v, statuses) for v in manifest.readiness),
        noise=noise, errors=tuple(errors),
    )


# ---------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Totals:
    found: int
    must_flag: int
    violated: int
    must_not: int
    readiness_agreed: int
    readiness: int
    noise: int

    @property
    def found_ratio(self) -> float:
        return self.found / self.must_flag if self.must_flag else 1.0


def totals(scores: Iterable[ProjectScore]) -> Totals:
    s = list(scores)
    return Totals(
        found=sum(len(p.found) for p in s), must_flag=sum(p.must_flag_total for p in s),
        violated=sum(len(p.violated) for p in s),
        must_not=sum(len(p.violated) + len(p.respected) for p in s),
        readiness_agreed=sum(sum(r.agreed for r in p.readiness) for p in s),
        readiness=sum(len(p.readiness) for p in s), noise=sum(len(p.noise) for p in s),
    )


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}%" if d else "n/a"


def render_text(scores: Sequence[ProjectScore]) -> str:
    """The human report: per project every miss, violation, disagreement and noise finding, then
    a table and the overall figures."""
    out: list[str] = []
    for p in scores:
        out.append(f"=== {p.folder}")
        out.append(f"must-flag found {len(p.found)}/{p.must_flag_total} "
                   f"({_pct(len(p.found), p.must_flag_total)}); must-not flagged {len(p.violated)}; "
                   f"readiness agreed {sum(r.agreed for r in p.readiness)}/{len(p.readiness)}; "
                   f"noise {len(p.noise)}")
        for err in p.errors:
            out.append(f"  ERROR   {err}")
        for fact in p.missed:
            out.append(f"  MISSED  {fact.id} [{fact.topic or ','.join(sorted(fact.checks))}] "
                       f"{fact.path}:{fact.line} — {fact.why}")
        for fact, hits in p.violated:
            out.append(f"  FLAGGED {fact.id} [{fact.topic}] {fact.path}:{fact.line} — {fact.why}")
            out.extend(f"          by {h.describe()}" for h in hits)
        for r in p.readiness:
            if not r.agreed:
                out.append(f"  VERDICT {r.verdict.check} expected {r.verdict.expect}, got {r.actual} "
                           f"— {r.verdict.why}")
        for n in p.noise:
            out.append(f"  NOISE   {n.describe()}")
    out.append("")
    out.append(f"{'project':46} {'found':>9} {'must-not':>8} {'readiness':>9} {'noise':>5}")
    for p in scores:
        out.append(f"{p.folder:46} {len(p.found):>4}/{p.must_flag_total:<4} {len(p.violated):>8} "
                   f"{sum(r.agreed for r in p.readiness):>4}/{len(p.readiness):<4} {len(p.noise):>5}")
    t = totals(scores)
    out.append(f"{'overall':46} {t.found:>4}/{t.must_flag:<4} {t.violated:>8} "
               f"{t.readiness_agreed:>4}/{t.readiness:<4} {t.noise:>5}")
    out.append(f"must-flag found {_pct(t.found, t.must_flag)} (goal >= 95%), must-not flagged "
               f"{t.violated} (goal 0), noise per project max "
               f"{max((len(p.noise) for p in scores), default=0)} (goal <= 5)")
    return "\n".join(out)


def _fact_json(fact: Fact) -> dict[str, Any]:
    d = dataclasses.asdict(fact)
    d["checks"], d["statuses"] = sorted(fact.checks), sorted(fact.statuses)
    return d


def _obs_json(o: Observed) -> dict[str, Any]:
    return dataclasses.asdict(o)


def summary_json(scores: Sequence[ProjectScore], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable summary (written by ``--json``)."""
    t = totals(scores)
    return {
        "meta": dict(meta or {}),
        "overall": {**dataclasses.asdict(t), "found_ratio": round(t.found_ratio, 4),
                    "max_noise": max((len(p.noise) for p in scores), default=0)},
        "projects": [
            {
                "folder": p.folder,
                "must_flag": {"found": len(p.found), "total": p.must_flag_total},
                "must_not_flagged": len(p.violated),
                "readiness": {"agreed": sum(r.agreed for r in p.readiness), "total": len(p.readiness)},
                "noise_count": len(p.noise),
                "found": [{"fact": _fact_json(f), "by": [_obs_json(h) for h in hits]} for f, hits in p.found],
                "missed": [_fact_json(f) for f in p.missed],
                "violated": [{"fact": _fact_json(f), "by": [_obs_json(h) for h in hits]}
                             for f, hits in p.violated],
                "verdicts": [{"check": r.verdict.check, "expect": r.verdict.expect, "actual": r.actual,
                              "agreed": r.agreed} for r in p.readiness],
                "noise": [_obs_json(n) for n in p.noise],
                "errors": list(p.errors),
            }
            for p in scores
        ],
    }


# ---------------------------------------------------------------------------------- running


@dataclass
class RunOutput:
    audits: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _writable(path: Path) -> None:
    """Give the owner write permission on a copied tree (the corpus is read-only)."""
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def prepare_copy(corpus: Path, manifest: Manifest, workdir: Path) -> Path:
    """Copy the project into ``workdir``, run its render step there; the repository to audit."""
    src = corpus / manifest.folder
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: project folder not in the corpus")
    copy = workdir / manifest.folder
    shutil.copytree(src, copy, symlinks=True)
    _writable(copy)
    if manifest.render:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.run(["sh", "-c", manifest.render], cwd=copy, env=env, capture_output=True,
                              text=True, timeout=RENDER_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"render `{manifest.render}` failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    repo = (copy / manifest.repo).resolve()
    if not repo.is_dir():
        raise FileNotFoundError(f"{manifest.source.name}: repo {manifest.repo} missing after render")
    return repo


def prodaudit_command() -> list[str]:
    """The real CLI of the interpreter running the harness (its console script when present)."""
    script = Path(sys.executable).parent / "prodaudit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "prodaudit.cli"]


def audit_environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_PASSTHROUGH}
    # the tools the audit calls (hadolint, bandit, pip-audit) live next to this interpreter
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p)
    env["DOCKER_HOST"] = f"unix://{workdir / 'no-docker-engine.sock'}"  # deployment without engine
    env["PYTHONUNBUFFERED"] = "1"
    # the audits run this checkout's prodaudit, not whichever one the interpreter has installed
    # (an editable install of another worktree measured that worktree instead)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT / "src"),
         *(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)])
    return env


def suite_invocations(suites: Sequence[str], combined: bool) -> list[str]:
    return [",".join(suites)] if combined else list(suites)


def _rejects_suite_list(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode == 2 and "invalid choice" in proc.stderr and "--suite" in proc.stderr


def run_prodaudit(repo: Path, workdir: Path, env_file: Path | None,
                  suites: Sequence[str] = STATIC_SUITES, vuln_db: Path | None = None) -> RunOutput:
    """``prodaudit run`` on ``repo`` for ``suites`` (one invocation with ``--suite a,b,c`` when the
    CLI accepts it, else one per suite); the audit.json documents and the crashes."""
    out = RunOutput()
    env = audit_environment(workdir)
    combined = True
    pending = suite_invocations(suites, combined)
    n = 0
    while pending:
        suite = pending.pop(0)
        n += 1
        outdir = workdir / f"reports-{n}"
        cmd = [*prodaudit_command(), "run", "--suite", suite, "--repo", str(repo), "--no-start",
               "--format", "json", "--output", str(outdir), "-q"]
        if env_file is not None:
            cmd += ["--env-file", str(env_file)]
        if vuln_db is not None:
            cmd += ["--vuln-db", str(vuln_db)]
        try:
            proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            out.errors.append(f"prodaudit run --suite {suite} timed out after {RUN_TIMEOUT_S:.0f} s")
            continue
        if combined and "," in suite and _rejects_suite_list(proc):
            combined = False
            pending = suite_invocations(suites, combined)
            continue
        docs = sorted(outdir.glob("*/audit.json"), key=lambda p: p.stat().st_mtime)
        if proc.returncode not in (0, 1, 2) or not docs:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
            out.errors.append(f"prodaudit run --suite {suite} exited {proc.returncode}: "
                              + " | ".join(tail))
            continue
        out.audits.append(json.loads(docs[-1].read_text(encoding="utf-8")))
    return out


def audit_project(corpus: Path, manifest: Manifest, topics: Mapping[str, Topic],
                  workdir: Path, vuln_db: Path | None = None) -> ProjectScore:
    """Copy, render, audit and score one project (a failure to prepare or run is recorded as an
    error of the project, and every must-flag fact then counts as missed)."""
    try:
        repo = prepare_copy(corpus, manifest, workdir)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return score_project(manifest, [], {}, topics, [f"preparation failed: {exc}"])
    env_file = repo / manifest.env_file if manifest.env_file else None
    run = run_prodaudit(repo, workdir, env_file, vuln_db=vuln_db)
    roots = [str(repo), str(repo.resolve()), str(workdir / manifest.folder)]
    findings: list[Observed] = []
    statuses: dict[str, str] = {}
    errors = list(run.errors)
    for audit in run.audits:
        f, s, e = observed_from_audit(audit, roots)
        findings += f
        statuses.update(s)
        errors += e
    return score_project(manifest, findings, statuses, topics, errors)


def _git_commit() -> str:
    try:
        proc = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return proc.stdout.strip() or "unknown"


def select_manifests(paths: Sequence[Path], projects: Sequence[str]) -> list[Path]:
    """Manifests whose folder (file stem) equals or contains one of ``projects`` (all when empty)."""
    if not projects:
        return list(paths)
    chosen = [p for p in paths if any(name == p.stem or name.lower() in p.stem.lower() for name in projects)]
    if not chosen:
        raise ManifestError(f"no manifest matches {', '.join(projects)}; "
                            f"known: {', '.join(p.stem for p in paths)}")
    return chosen


def run_field(corpus: Path, manifests: Sequence[Manifest], topics: Mapping[str, Topic],
              keep: Path | None = None, vuln_db: Path | None = None) -> list[ProjectScore]:
    """Audit every manifest's project (in a temporary directory, or under ``keep``)."""
    scores = []
    for manifest in manifests:
        if keep is not None:
            workdir = keep / manifest.folder
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            scores.append(audit_project(corpus, manifest, topics, workdir, vuln_db))
            continue
        with tempfile.TemporaryDirectory(prefix="prodaudit-field-") as tmp:
            scores.append(audit_project(corpus, manifest, topics, Path(tmp), vuln_db))
    return scores


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nox -s field --", description=__doc__.split("\n\n")[0])
    p.add_argument("--project", action="append", default=[],
                   help="only this project (folder name or part of it; repeatable)")
    p.add_argument("--json", type=Path, dest="json_path", help="write the summary as JSON to this path")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                   help=f"the field corpus (default: {DEFAULT_CORPUS})")
    p.add_argument("--keep", type=Path, help="work in this directory and keep the copies and reports")
    p.add_argument("--vuln-db", type=Path, help="passed to prodaudit: offline OSV advisories (default: none, "
                   "as a new user runs it)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    corpus: Path = ns.corpus
    if not corpus.is_dir():
        print(f"field: the corpus is not at {corpus} (use --corpus)", file=sys.stderr)
        return 3
    try:
        topics = load_topics()
        manifests = [load_manifest(p) for p in select_manifests(manifest_paths(), ns.project)]
    except ManifestError as exc:
        print(f"field: {exc}", file=sys.stderr)
        return 3
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    scores = run_field(corpus, manifests, topics, ns.keep, ns.vuln_db)
    print(render_text(scores))
    if ns.json_path is not None:
        meta = {"started": started, "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "commit": _git_commit(), "suites": list(STATIC_SUITES), "corpus": str(corpus),
                "vuln_db": str(ns.vuln_db) if ns.vuln_db else None}
        ns.json_path.parent.mkdir(parents=True, exist_ok=True)
        ns.json_path.write_text(json.dumps(summary_json(scores, meta), indent=2) + "\n", encoding="utf-8")
        print(f"summary: {ns.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
