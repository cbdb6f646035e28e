"""One service's audit from the audits of its jobs (one per suite, or one for all).

Results are taken per suite from the job chosen for that suite; facts and extras are combined
(each job exported the facts of its own suites); the request ledgers are added up. Waivers were
applied by each job with the service's waivers file: a waiver is *unused* only when no job used
it. A job's baseline diff covers its own suites; the combination keeps each job's entries for
those suites (a fleet baseline given to the merge replaces it: ``merge.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prodaudit.model import SUITES, AuditRun, CheckResult

PREFIX_SUITE = {
    "CFG": "config",
    "FUN": "functional",
    "SEC": "security",
    "DEP": "deployment",
    "RDY": "readiness",
}
#: refused requests quoted in a ledger (as in http.py)
MAX_EXAMPLES = 50


def suite_of(check_id: str) -> str:
    return PREFIX_SUITE.get(check_id[:3], "")


def _key(entry: Any) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


def _union(lists: Iterable[Iterable[Any]]) -> list[Any]:
    out: dict[str, Any] = {}
    for items in lists:
        for item in items or []:
            out.setdefault(_key(item), item)
    return list(out.values())


def _waivers(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ws: list[Mapping[str, Any]] = [p["waivers"] for p in parts if isinstance(p.get("waivers"), Mapping)]
    if not ws:
        return {"file": None, "applied": [], "expired": [], "unused": []}

    def ident(w: Mapping[str, Any]) -> str:
        return _key({k: w.get(k) for k in ("check", "location", "reason", "owner", "expires")})

    applied = _union(w.get("applied", []) for w in ws)
    expired = _union(w.get("expired", []) for w in ws)
    used = {ident(w) for w in applied + expired}
    unused_everywhere = set.intersection(*({ident(u) for u in w.get("unused", [])} for w in ws))
    unused = [
        u
        for u in _union(w.get("unused", []) for w in ws)
        if ident(u) in unused_everywhere and ident(u) not in used
    ]
    return {
        "file": next((w.get("file") for w in ws if w.get("file")), None),
        "applied": applied,
        "expired": expired,
        "unused": unused,
    }


def _baseline(parts: Sequence[tuple[Mapping[str, Any], Sequence[str]]]) -> dict[str, Any] | None:
    diffs = [(p.get("baseline"), suites) for p, suites in parts if isinstance(p.get("baseline"), Mapping)]
    if not diffs:
        return None
    first = diffs[0][0]
    assert first is not None
    out: dict[str, Any] = {k: first.get(k) for k in ("file", "run_id", "decision", "finished_at")}
    for kind in ("new", "fixed", "still_failing", "no_longer_verified"):
        out[kind] = sorted(
            _union(
                [e for e in (d or {}).get(kind, []) if suite_of(str(e.get("id", ""))) in suites]
                for d, suites in diffs
            ),
            key=lambda e: str(e.get("id", "")),
        )
    return out


def _source_map(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    maps = [p["source_map"] for p in parts if isinstance(p.get("source_map"), Mapping)]
    if not maps:
        return None
    out: dict[str, Any] = {"locations": {}, "anchors": {}}
    for m in maps:
        out["locations"].update(m.get("locations") or {})
        for k, v in (m.get("anchors") or {}).items():
            out["anchors"].setdefault(k, v)
    for m in maps:
        for k, v in m.items():
            out.setdefault(k, v)
    return out


def combine_extras(parts: Sequence[tuple[Mapping[str, Any], Sequence[str]]]) -> dict[str, Any]:
    """The extras of a service from its jobs' extras (each with the suites taken from it)."""
    extras = [p for p, _ in parts]
    out: dict[str, Any] = {}
    for e in extras:
        for k, v in e.items():
            out.setdefault(k, v)
    out["waivers"] = _waivers(extras)
    baseline = _baseline(parts)
    out["baseline"] = baseline
    smap = _source_map(extras)
    if smap is not None:
        out["source_map"] = smap
    out.pop("fleet", None)  # the jobs' records are listed in the fleet document
    return out


def _add(into: dict[str, int], more: Mapping[str, Any]) -> None:
    for k, v in more.items():
        if isinstance(v, int):
            into[k] = into.get(k, 0) + v


def combine_requests(ledgers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The request ledgers of the jobs, added up (``{}`` when no job sent a request)."""
    ledgers = [r for r in ledgers if r]
    if not ledgers:
        return {}
    total = llm = refused_total = 0
    by_method: dict[str, int] = {}
    by_check: dict[str, dict[str, int]] = {}
    refused_kind: dict[str, int] = {}
    refused_check: dict[str, dict[str, int]] = {}
    examples: list[Any] = []
    for r in ledgers:
        total += int(r.get("total", 0))
        llm += int(r.get("llm_calls", 0))
        _add(by_method, r.get("by_method") or {})
        for check, methods in (r.get("by_check") or {}).items():
            _add(by_check.setdefault(check, {}), methods)
        ref = r.get("refused") or {}
        refused_total += int(ref.get("total", 0))
        _add(refused_kind, ref.get("by_kind") or {})
        for check, kinds in (ref.get("by_check") or {}).items():
            _add(refused_check.setdefault(check, {}), kinds)
        examples += list(ref.get("examples") or [])
    refused = {
        "total": refused_total,
        "by_kind": dict(sorted(refused_kind.items())),
        "by_check": dict(sorted(refused_check.items())),
        "examples": examples[:MAX_EXAMPLES],
    }
    top = sorted(((c, sum(m.values())) for c, m in by_check.items()), key=lambda x: (-x[1], x[0]))[:10]
    return {
        "total": total,
        "by_method": dict(sorted(by_method.items())),
        "by_check": dict(sorted(by_check.items())),
        "top_checks": [list(t) for t in top],
        "llm_calls": llm,
        "refused": refused,
    }


def combine_results(parts: Sequence[tuple[AuditRun, Sequence[str]]]) -> list[CheckResult]:
    """The results of the suites taken from each run, in id order."""
    out = [r for run, suites in parts for r in run.results if r.suite in suites]
    return sorted(out, key=lambda r: r.id)


def combine_target(parts: Sequence[tuple[AuditRun, Sequence[str]]], service: str) -> dict[str, Any]:
    target: dict[str, Any] = dict(parts[0][0].target) if parts else {}
    taken = {s for _, suites in parts for s in suites}
    target["suites"] = [s for s in SUITES if s in taken]
    target["service"] = service
    return target


def combine_facts(runs: Iterable[AuditRun]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in runs:
        for k, v in run.facts.items():
            out.setdefault(k, v)
    return out
