"""Decision governance, applied to the results before the gate decides (DESIGN.md, "Decision").

- Waivers (``prodaudit-waivers.toml``; config key ``waivers``): a waived failure stays visible
  (``waived=True``, ``waiver="reason (owner, until DATE)"``) but no longer counts against the
  decision. An expired waiver stops waiving and is reported; a waiver that matched nothing is
  listed as unused. A waiver without reason, owner or expiry is a configuration error.
- Attestations (``prodaudit-attestations.toml``; config key ``attestations``): checklist items
  and sign-off lines signed by a person (name, role, date, note).
- Baseline: the previous ``audit.json`` (config key ``baseline``, else
  ``<output>/latest/audit.json`` read before this run replaces it) -> new / fixed / still failing.
- The checklist map (item id -> check ids declaring it, from the registry) so that reports stay
  pure functions of ``audit.json``.

Everything except the waived flags goes into ``AuditRun.extras``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prodaudit.config import AuditConfig, ConfigError
from prodaudit.errors import InputError
from prodaudit.loaders import MAX_REPORT_BYTES, load_json_file, load_toml, read_document
from prodaudit.model import CheckResult, Status
from prodaudit.redact import Redactor

WAIVERS_FILE = "prodaudit-waivers.toml"
ATTESTATIONS_FILE = "prodaudit-attestations.toml"
#: statuses a waiver can cover: failures, warnings and "not verified"
WAIVABLE = (Status.FAIL, Status.WARN, Status.SKIP, Status.ERROR)


@dataclass(frozen=True)
class Waiver:
    """One entry of the waivers file."""

    check: str  # check id or fnmatch pattern ("SEC-01?")
    reason: str
    owner: str
    expires: dt.date
    location: str = ""  # optional fnmatch pattern against finding locations
    index: int = 0  # position in the file, for messages

    def matches_id(self, check_id: str) -> bool:
        return fnmatch.fnmatchcase(check_id.upper(), self.check.upper())

    def matches_location(self, location: str) -> bool:
        return not self.location or fnmatch.fnmatchcase(location, self.location)

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    @property
    def label(self) -> str:
        return f"{self.reason} ({self.owner}, until {self.expires.isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "location": self.location,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True)
class Attestation:
    """A checklist item or sign-off line signed by a person."""

    item: str
    name: str
    role: str
    date: dt.date
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "name": self.name,
            "role": self.role,
            "date": self.date.isoformat(),
            "note": self.note,
        }


@dataclass
class Governance:
    """What ``apply_governance`` found; ``extras()`` is what goes into audit.json."""

    waivers_file: Path | None = None
    attestations_file: Path | None = None
    applied: list[dict[str, Any]] = field(default_factory=list)
    expired: list[dict[str, Any]] = field(default_factory=list)
    unused: list[dict[str, Any]] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    checklist_map: dict[str, list[str]] = field(default_factory=dict)
    check_evidence: dict[str, str] = field(default_factory=dict)

    def extras(self) -> dict[str, Any]:
        return {
            "waivers": {
                "file": str(self.waivers_file) if self.waivers_file else None,
                "applied": self.applied,
                "expired": self.expired,
                "unused": self.unused,
            },
            "attestations": {
                "file": str(self.attestations_file) if self.attestations_file else None,
                "items": {a.item: a.to_dict() for a in self.attestations},
            },
            "baseline": self.baseline,
            "checklist_map": self.checklist_map,
            "check_evidence": self.check_evidence,
        }


# --------------------------------------------------------------------------- file parsing


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return load_toml(read_document(path), str(path))
    except InputError as exc:
        raise ConfigError(str(exc)) from None


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: must be a date like 2026-12-31 (got {value!r})")


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(f"{where}: key '{key}' is missing or empty")
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: key '{key}' must be a string (got {value!r})")
    return value.strip()


def _entries(data: Mapping[str, Any], table: str, path: Path, known: set[str]) -> list[Any]:
    unknown = sorted(set(data) - {table})
    if unknown:
        raise ConfigError(f"{path}: key '{unknown[0]}': unknown key (expected [[{table}]] tables)")
    entries = data.get(table, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: key '{table}' must be an array of tables ([[{table}]])")
    for i, entry in enumerate(entries):
        extra = sorted(set(entry) - known)
        if extra:
            raise ConfigError(f"{path}: {table}[{i}]: key '{extra[0]}': unknown key")
    return entries


def load_waivers(path: Path) -> list[Waiver]:
    """Parse and validate a waivers file; every error is a one-line ``ConfigError``."""
    known = {"check", "location", "reason", "owner", "expires"}
    out: list[Waiver] = []
    for i, entry in enumerate(_entries(_read_toml(path), "waiver", path, known)):
        where = f"{path}: waiver[{i}]"
        check = _text(entry, "check", where)
        where = f"{path}: waiver[{i}] ({check})"
        if "expires" not in entry:
            raise ConfigError(f"{where}: key 'expires' is missing or empty")
        out.append(
            Waiver(
                check=check,
                reason=_text(entry, "reason", where),
                owner=_text(entry, "owner", where),
                expires=_date(entry["expires"], f"{where}: key 'expires'"),
                location=_text(entry, "location", where, required=False),
                index=i,
            )
        )
    return out


def load_attestations(path: Path, known_items: Iterable[str] | None = None) -> list[Attestation]:
    """Parse and validate an attestations file (item ids checked against the checklist)."""
    known = {"item", "name", "role", "date", "note"}
    items = set(known_items) if known_items is not None else None
    out: list[Attestation] = []
    seen: set[str] = set()
    for i, entry in enumerate(_entries(_read_toml(path), "attestation", path, known)):
        where = f"{path}: attestation[{i}]"
        item = _text(entry, "item", where)
        where = f"{path}: attestation[{i}] ({item})"
        if items is not None and item not in items:
            raise ConfigError(f"{where}: key 'item': unknown checklist item id {item!r}")
        if item in seen:
            raise ConfigError(f"{where}: key 'item': item {item!r} attested twice")
        seen.add(item)
        if "date" not in entry:
            raise ConfigError(f"{where}: key 'date' is missing or empty")
        out.append(
            Attestation(
                item=item,
                name=_text(entry, "name", where),
                role=_text(entry, "role", where),
                date=_date(entry["date"], f"{where}: key 'date'"),
                note=_text(entry, "note", where, required=False),
            )
        )
    return out


def _governance_file(repo: Path, explicit: Path | None, default_name: str, key: str) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: {key} file not found (config key '{key}')")
        return explicit
    candidate = repo / default_name
    return candidate if candidate.is_file() else None


# --------------------------------------------------------------------------- waivers


def _waivable_findings(r: CheckResult) -> list[str]:
    """Locations of the findings a waiver has to cover for the result to count as waived."""
    return [f.location for f in r.findings if f.status is r.status]


def waive(
    results: list[CheckResult], waivers: list[Waiver], today: dt.date
) -> tuple[list[CheckResult], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply waivers. Returns (results, applied, expired, unused).

    A result is waived when it is not PASS and every one of its findings with the result's
    status is matched by an active waiver for its check id (a waiver without ``location``
    matches every finding; a result without such findings needs a waiver without location).
    """
    active = [w for w in waivers if not w.expired(today)]
    used: dict[int, list[str]] = {}
    expired_hits: dict[int, list[str]] = {}
    out: list[CheckResult] = []
    for r in results:
        if r.status not in WAIVABLE:
            out.append(r)
            continue
        for w in waivers:
            if w.expired(today) and w.matches_id(r.id):
                expired_hits.setdefault(w.index, []).append(r.id)
        cands = [w for w in active if w.matches_id(r.id)]
        if not cands:
            out.append(r)
            continue
        locations = _waivable_findings(r)
        chosen: list[Waiver] = []
        if locations:
            for loc in locations:
                w_hit = next((w for w in cands if w.matches_location(loc)), None)
                if w_hit is None:
                    chosen = []
                    break
                if w_hit not in chosen:
                    chosen.append(w_hit)
        else:
            w_any = next((w for w in cands if not w.location), None)
            chosen = [w_any] if w_any else []
        if not chosen:
            out.append(r)
            continue
        for w in chosen:
            used.setdefault(w.index, []).append(r.id)
        out.append(replace(r, waived=True, waiver="; ".join(w.label for w in chosen)))
    applied = [{**w.to_dict(), "results": used[w.index]} for w in waivers if w.index in used]
    expired = [
        {**w.to_dict(), "results": expired_hits.get(w.index, [])}
        for w in waivers
        if w.expired(today)
    ]
    unused = [w.to_dict() for w in active if w.index not in used]
    return out, applied, expired, unused


# --------------------------------------------------------------------------- baseline


def _failing(results: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {r["id"]: r for r in results if r.get("status") == Status.FAIL.value}


def baseline_diff(previous: Mapping[str, Any], results: list[CheckResult]) -> dict[str, Any]:
    """Compare with a previous audit.json: new / fixed / still failing / no longer verified."""
    before = _failing(previous.get("results", []))
    now = {r.id: r for r in results}
    now_failing = {r.id for r in results if r.status is Status.FAIL}

    def item(check_id: str, title: str, severity: str, status: str) -> dict[str, str]:
        return {"id": check_id, "title": title, "severity": severity, "status": status}

    new = [
        item(i, now[i].title, now[i].effective_severity.label, "fail")
        for i in sorted(now_failing - set(before))
    ]
    still = [
        item(i, now[i].title, now[i].effective_severity.label, "fail")
        for i in sorted(now_failing & set(before))
    ]
    fixed: list[dict[str, str]] = []
    unverified: list[dict[str, str]] = []
    for i in sorted(set(before) - now_failing):
        old = before[i]
        cur = now.get(i)
        if cur is not None and cur.status in (Status.PASS, Status.WARN):
            fixed.append(item(i, cur.title, old.get("severity", ""), cur.status.value))
        else:
            status = cur.status.value if cur is not None else "not run"
            unverified.append(item(i, old.get("title", ""), old.get("severity", ""), status))
    return {
        "run_id": previous.get("run_id", ""),
        "decision": previous.get("decision", ""),
        "finished_at": previous.get("finished_at", ""),
        "new": new,
        "fixed": fixed,
        "still_failing": still,
        "no_longer_verified": unverified,
    }


#: the line that opens audit.json's facts in the layout prodaudit writes (indent 2, the header and
#: results first): no JSON string can hold a raw newline, so only the top-level key matches
_FACTS_LINE = '  "facts": {\n'


def _results_head(path: Path) -> dict[str, Any] | None:
    """audit.json without what follows its results (facts, extras, requests): all a baseline
    compares, read without parsing a 100,000-variable env graph (most of a large run's file: a
    whole load cost 110 MiB at the end of the next run). None when the file has another layout
    (then it is read whole)."""
    lines: list[str] = []
    size = 0
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line == _FACTS_LINE:
                    break
                size += len(line)
                if size > MAX_REPORT_BYTES:
                    return None
                lines.append(line)
            else:
                return None
    except (OSError, UnicodeDecodeError):
        return None
    head = "".join(lines).rstrip()
    if not head.endswith(","):
        return None
    try:
        data = json.loads(head[:-1] + "}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def load_baseline(cfg: AuditConfig) -> tuple[Path | None, dict[str, Any] | None]:
    """The previous audit.json: ``cfg.baseline`` (must exist) or ``<output>/latest/audit.json``."""
    if cfg.baseline is not None:
        path = cfg.baseline
        if not path.is_file():
            raise ConfigError(f"{path}: baseline audit.json not found (config key 'baseline')")
        explicit = True
    else:
        path = cfg.output / "latest" / "audit.json"
        if not path.is_file():
            return None, None
        explicit = False
    try:
        data = _results_head(path) or load_json_file(path, max_bytes=MAX_REPORT_BYTES)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ValueError("not an audit.json (no results list)")
    except (InputError, ValueError) as exc:
        if explicit:
            reason = exc.reason if isinstance(exc, InputError) else str(exc)
            raise ConfigError(
                f"{path}: unreadable baseline (config key 'baseline'): {reason}"
            ) from None
        return None, None
    return path, data


# --------------------------------------------------------------------------- entry point


def redact_result(r: CheckResult, redactor: Redactor) -> CheckResult:
    """Mask secret values in every text field of a result (idempotent). The final pass over the
    run: the Redactor memoises each text per set of registered values, so what the runner
    already redacted costs a lookup, and only values registered since are applied again."""
    red = redactor.redact
    return replace(
        r,
        reason=red(r.reason),
        waiver=red(r.waiver),
        findings=tuple(
            replace(
                f,
                message=red(f.message),
                location=red(f.location),
                evidence=red(f.evidence),
                remediation=red(f.remediation),
            )
            for f in r.findings
        ),
    )


def checklist_map() -> dict[str, list[str]]:
    """Checklist item id -> ids of the registered checks that declare it."""
    from prodaudit.checklist import coverage, load_items
    from prodaudit.registry import catalog  # declarations only: no check module imported

    return coverage(load_items(), catalog())


def check_evidence() -> dict[str, str]:
    """Check id -> the evidence level it can reach (its declaration, issue 18): the checklist's
    "can reach" figures stay a pure function of audit.json."""
    from prodaudit.registry import catalog  # declarations only: no check module imported

    return {c.id: c.evidence.value for c in catalog()}


def apply_governance(
    cfg: AuditConfig, results: list[CheckResult], today: dt.date | None = None
) -> tuple[list[CheckResult], dict[str, Any]]:
    """Apply waivers, read attestations and the baseline; returns (results, extras)."""
    from prodaudit.checklist import load_items

    today = today or dt.datetime.now(dt.UTC).date()
    gov = Governance()
    gov.waivers_file = _governance_file(cfg.repo, cfg.waivers, WAIVERS_FILE, "waivers")
    if gov.waivers_file is not None:
        results, gov.applied, gov.expired, gov.unused = waive(
            list(results), load_waivers(gov.waivers_file), today
        )
    gov.attestations_file = _governance_file(
        cfg.repo, cfg.attestations, ATTESTATIONS_FILE, "attestations"
    )
    if gov.attestations_file is not None:
        gov.attestations = load_attestations(gov.attestations_file, [i.id for i in load_items()])
    path, previous = load_baseline(cfg)
    if previous is not None:
        gov.baseline = {"file": str(path), **baseline_diff(previous, list(results))}
    gov.checklist_map = checklist_map()
    gov.check_evidence = check_evidence()
    return list(results), gov.extras()
