"""Presentation-ready views of the facts the checks export (``AuditRun.facts``), shared by the
Markdown and HTML renderers.

Facts come from ``audit.json``, possibly written by another version: every accessor checks the
shape and returns ``None`` when the fact is absent or unusable, so a template can say "not
measured in this run" instead of failing. Nothing here reads a file.
"""

from __future__ import annotations

import heapq
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Any

from prodaudit.model import AuditRun, CheckResult, Status

#: check id ranges with their own section (docs/writing-checks.md, "Id ranges")
LLM_IDS = ("FUN-03",)
FRONTEND_IDS = ("FUN-04",)
SCREENSHOTS = "readiness.screenshots"


def _rows(value: Any) -> list[Mapping[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [r for r in value if isinstance(r, Mapping)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _strs(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    protected: bool
    result: str
    actions: list[str]
    why_not: str


@dataclass(frozen=True)
class AuthStep:
    check: str
    step: str
    request: str
    status: str
    result: str
    detail: str


@dataclass(frozen=True)
class PerfTarget:
    name: str
    request: str
    requests: str
    completed: str
    p50: str
    p95: str
    p99: str
    max: str
    throughput: str
    error_rate: str
    rate_limited: str
    statuses: str


@dataclass(frozen=True)
class Performance:
    targets: list[PerfTarget]
    settings: str
    thresholds: str


@dataclass(frozen=True)
class EnvVar:
    """One variable of the env graph: names and locations only, never a value or default."""

    name: str
    required: str
    secret: str
    documented: str
    read_at: list[str]
    set_in: list[str]


#: variables the human reports list at most; the complete graph stays in audit.json
ENV_ROWS = 200
#: locations listed per cell (read at, set in, documented in); the rest are counted
ENV_LOCATIONS = 10
#: where the complete graph is (every variable with all its locations)
ENV_GRAPH_WHERE = "audit.json → facts.env_graph.variables"
#: why a variable is listed, most important first (``EnvVars.counts`` keys, in this order)
ENV_REASONS = ("in a finding", "required", "required by Compose", "set by the deployment",
               "secret", "documented")
_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class EnvVars:
    """The env graph as the human reports show it: every variable counted, at most
    ``ENV_ROWS`` listed (by name) — those a finding that is not a pass names first, then those
    the deployment must set (required by the code or by Compose), those it sets, secrets,
    documented ones. ``omitted`` are in the complete graph (``ENV_GRAPH_WHERE``)."""

    rows: list[EnvVar]
    total: int
    counts: dict[str, int]  # ENV_REASONS -> variables with that property
    where: str = ENV_GRAPH_WHERE

    @property
    def omitted(self) -> int:
        return self.total - len(self.rows)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[EnvVar]:
        return iter(self.rows)


@dataclass(frozen=True)
class HeaderGrade:
    kind: str
    url: str
    grade: str
    score: str
    missing: list[str]


@dataclass(frozen=True)
class Screenshot:
    name: str
    path: str  # as exported by the check
    href: str  # relative to the report directory when under evidence/, else the path


@dataclass
class FactsView:
    operations: list[Operation] | None = None
    auth_flow: list[AuthStep] | None = None
    performance: Performance | None = None
    llm: list[CheckResult] = field(default_factory=list)
    frontend: list[CheckResult] = field(default_factory=list)
    header_grades: list[HeaderGrade] | None = None
    bandit: str | None = None
    screenshots: list[Screenshot] | None = None
    #: what ``env_vars`` is built from (only when a template shows it: 100,000s of variables)
    env_source: tuple[Mapping[str, Any], tuple[CheckResult, ...]] = ({}, ())

    @cached_property
    def env_vars(self) -> EnvVars | None:
        return env_vars(*self.env_source)

    @property
    def operation_counts(self) -> dict[str, int]:
        """Operations per result, in a fixed order (``ok`` ... ``not exercised``)."""
        order = ("ok", "warn", "fail", "error", "not exercised")
        ops = self.operations or []
        found = {o.result for o in ops}
        keys = [k for k in order if k in found] + sorted(found - set(order))
        return {k: sum(1 for o in ops if o.result == k) for k in keys}


def _ms(value: Any) -> str:
    n = _num(value)
    return "" if n is None else f"{n:.1f}"


def _action(a: Mapping[str, Any]) -> str:
    parts = [_text(a.get("check")), _text(a.get("what"))]
    head = " ".join(p for p in parts if p)
    status = _text(a.get("status")) or "no response"
    line = f"{head}: {status} {_text(a.get('verdict'))}".strip()
    ms = _ms(a.get("ms"))
    if ms:
        line += f" ({ms} ms)"
    note = _text(a.get("note"))
    return f"{line}, {note}" if note else line


def operations(facts: Mapping[str, Any]) -> list[Operation] | None:
    rows = _rows(facts.get("operations"))
    if rows is None:
        return None
    out = []
    for r in rows:
        actions = _rows(r.get("actions")) or []
        why = _text(r.get("why_not_exercised"))
        if not actions and not why:
            why = "; ".join(_strs(r.get("notes"))) or "no check exercised it"
        out.append(
            Operation(
                method=_text(r.get("method")).upper(),
                path=_text(r.get("path")),
                operation_id=_text(r.get("operation_id")),
                protected=bool(r.get("protected")),
                result=_text(r.get("result")) or "unknown",
                actions=[_action(a) for a in actions],
                why_not=why,
            )
        )
    return out


def auth_flow(facts: Mapping[str, Any]) -> list[AuthStep] | None:
    rows = _rows(facts.get("auth_flow"))
    if rows is None:
        return None
    return [
        AuthStep(
            check=_text(r.get("check")),
            step=_text(r.get("step")),
            request=_text(r.get("request")),
            status=_text(r.get("status")) or "no response",
            result=_text(r.get("result")),
            detail=_text(r.get("detail")),
        )
        for r in rows
    ]


def performance(facts: Mapping[str, Any]) -> Performance | None:
    perf = facts.get("performance")
    if not isinstance(perf, Mapping):
        return None
    targets = []
    for t in _rows(perf.get("targets")) or []:
        rate = _num(t.get("error_rate"))
        tput = _num(t.get("throughput_rps"))
        counts = t.get("status_counts")
        statuses = (
            ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
            if isinstance(counts, Mapping)
            else ""
        )
        targets.append(
            PerfTarget(
                name=_text(t.get("name")),
                request=f"{_text(t.get('method'))} {_text(t.get('url'))}".strip(),
                requests=_text(t.get("requests")),
                completed=_text(t.get("completed")),
                p50=_ms(t.get("p50_ms")),
                p95=_ms(t.get("p95_ms")),
                p99=_ms(t.get("p99_ms")),
                max=_ms(t.get("max_ms")),
                throughput="" if tput is None else f"{tput:.1f}",
                error_rate="" if rate is None else f"{rate * 100:.2f} %",
                rate_limited=_text(t.get("rate_limited")),
                statuses=statuses,
            )
        )

    def _pairs(key: str) -> str:
        value = perf.get(key)
        if not isinstance(value, Mapping):
            return ""
        return ", ".join(f"{k} = {_text(v)}" for k, v in value.items())

    return Performance(targets, _pairs("settings"), _pairs("thresholds"))


def _capped(values: list[str], limit: int = ENV_LOCATIONS) -> list[str]:
    return values if len(values) <= limit else [*values[:limit], f"… +{len(values) - limit} more"]


def _env_row(v: Mapping[str, Any]) -> EnvVar:
    where = _strs(v.get("documented_in"))
    documented = v.get("documented")
    if documented is None:  # graphs without the flag: documented where a location is known
        documented = bool(where)
    required = bool(v.get("required"))
    req = "yes" if required else ("compose" if v.get("compose_required") else "no")
    return EnvVar(
        name=_text(v.get("name")),
        required=req,
        secret=_text(bool(v.get("secret"))),
        documented=(", ".join(_capped(where)) or "yes") if documented else "no",
        read_at=_capped(_strs(v.get("read_at"))),
        set_in=_capped(_strs(v.get("set_in"))),
    )


def _reasons(v: Mapping[str, Any], named: set[str], name: str) -> tuple[bool, ...]:
    """Which of ``ENV_REASONS`` hold for the variable ``name`` (graphs without a flag: from
    locations)."""
    documented = v.get("documented")
    return (
        name in named,
        bool(v.get("required")),
        not v.get("required") and bool(v.get("compose_required")),
        bool(v.get("set_in")),
        bool(v.get("secret")),
        bool(v.get("documented_in")) if documented is None else bool(documented),
    )


def finding_names(results: Iterable[CheckResult]) -> set[str]:
    """Every name-like word in the findings that are not a pass (message, location, evidence):
    the variables the checks report on."""
    words: set[str] = set()
    for r in results:
        for f in r.findings:
            if f.status is not Status.PASS:
                for text in (f.message, f.location, f.evidence):
                    words.update(_NAME_TOKEN.findall(text or ""))
    return words


def env_vars(facts: Mapping[str, Any], results: Iterable[CheckResult] = ()) -> EnvVars | None:
    """The bounded view of ``facts.env_graph`` (see ``EnvVars``); ``None`` when absent."""
    graph = facts.get("env_graph")
    if not isinstance(graph, Mapping):
        return None
    rows = _rows(graph.get("variables"))
    if rows is None:
        return None
    named = finding_names(results)
    tally: Counter[tuple[bool, ...]] = Counter()  # variables per combination of reasons

    def ranked() -> Iterator[tuple[int, str, int]]:  # (first reason or none, name, index)
        none = len(ENV_REASONS)
        for i, v in enumerate(rows):
            name = _text(v.get("name"))
            reasons = _reasons(v, named, name)
            tally[reasons] += 1
            yield (reasons.index(True) if True in reasons else none), name, i

    chosen = heapq.nsmallest(ENV_ROWS, ranked())  # holds ENV_ROWS entries, not every variable
    counts = {key: sum(n for reasons, n in tally.items() if reasons[k])
              for k, key in enumerate(ENV_REASONS)}
    shown = sorted((_env_row(rows[i]) for _, _, i in chosen), key=lambda e: e.name)
    return EnvVars(rows=shown, total=len(rows), counts=counts)


def header_grades(facts: Mapping[str, Any]) -> list[HeaderGrade] | None:
    rows = _rows(facts.get("security_headers"))
    if rows is None:
        return None
    return [
        HeaderGrade(
            kind=_text(r.get("kind")),
            url=_text(r.get("url")),
            grade=_text(r.get("grade")),
            score=_text(r.get("score")),
            missing=_strs(r.get("missing")),
        )
        for r in rows
    ]


def bandit(facts: Mapping[str, Any]) -> str | None:
    """One line from the ``bandit`` fact (SEC-090): files scanned, results, low, errors."""
    b = facts.get("bandit")
    if not isinstance(b, Mapping):
        return None
    parts = [
        f"{_text(b.get(key))} {label}"
        for key, label in (
            ("files", "file(s) scanned"),
            ("results", "result(s)"),
            ("low", "low-severity (counted, not reported)"),
            ("errors", "scan error(s)"),
        )
        if b.get(key) is not None
    ]
    return ", ".join(parts) or None


def evidence_href(path: str) -> str:
    """``evidence/NAME`` for a file kept in a run's evidence directory, else the path itself."""
    p = PurePath(path)
    return f"evidence/{p.name}" if p.parent.name == "evidence" else path


def screenshots(facts: Mapping[str, Any]) -> list[Screenshot] | None:
    shots = facts.get(SCREENSHOTS)
    if not isinstance(shots, Mapping):
        return None
    return [
        Screenshot(str(name), str(path), evidence_href(str(path)))
        for name, path in sorted(shots.items(), key=lambda kv: str(kv[0]))
        if isinstance(path, str) and path
    ]


#: the view of the run rendered last: every format of one run reads the same view (the env
#: variables are ranked once, not once per format: 100,000s on a large repository). Held only
#: while that run lives.
_LAST: dict[int, FactsView] = {}
_LAST_LOCK = threading.Lock()


def build_facts(run: AuditRun) -> FactsView:
    with _LAST_LOCK:
        view = _LAST.get(id(run))
    if view is None:
        view = _build_facts(run)
        with _LAST_LOCK:
            _LAST.clear()
            _LAST[id(run)] = view
        weakref.finalize(run, _forget, id(run))
    return view


def _forget(key: int) -> None:
    with _LAST_LOCK:
        _LAST.pop(key, None)


def _build_facts(run: AuditRun) -> FactsView:
    facts: Mapping[str, Any] = run.facts if isinstance(run.facts, Mapping) else {}
    ordered = sorted(run.results, key=lambda r: r.id)
    return FactsView(
        operations=operations(facts),
        auth_flow=auth_flow(facts),
        performance=performance(facts),
        llm=[r for r in ordered if r.id.startswith(LLM_IDS)],
        frontend=[r for r in ordered if r.id.startswith(FRONTEND_IDS)],
        env_source=(facts, tuple(run.results)),
        header_grades=header_grades(facts),
        bandit=bandit(facts),
        screenshots=screenshots(facts),
    )
