"""Scoring a live audit of a field project against its manifest's ``[[live.must_flag]]`` and
``[[live.must_not_flag]]`` facts (issue 17). Pure functions: unit-tested in test_live_score.py.

Matching (the live counterpart of ``harness.matches``). A finding of the live audit is a FAIL or
WARN of a check, located ``METHOD URL`` (``GET http://127.0.0.1:8000/api/users/7?x=1``). It
reports a live fact when all of these hold:

1. **check**: its check id is one of the fact's ``checks`` or of its topic's checks
   (``topics.toml``);
2. **status**: for a must-flag fact, a status the fact accepts (default FAIL, WARN); for a
   must-not fact, any FAIL/WARN;
3. **place**: either the fact's topic is *site-wide* (``scope = "site"`` in ``topics.toml``:
   properties of the whole server, such as its security headers, its CORS policy, its health
   endpoint or the tokens it issues — the manifest's operation only says where the reviewer
   observed it), or the finding's location is an operation of the fact: the same method (HEAD
   counts as GET) and a URL path that matches the fact's path template. The URL path is taken
   relative to the base URL's path, percent-decoded, without query or fragment, and a trailing
   slash is ignored on both sides; a template segment ``{name}`` matches one non-empty path
   segment (``/api/users/{id}`` matches ``/api/users/7``, not ``/api/users/7/posts``). A
   finding without an HTTP location (``path:line`` or none) reports only site-wide facts.

A finding that reports a must-flag fact is not noise (any FAIL/WARN status); one that reports a
must-not fact is a violation. Every other FAIL of the live suites whose severity (the finding's,
else its check's) is CRITICAL or HIGH is listed for review ("unexpected"), except findings at a
repository location (``path:line``: the security suite's scanners, which the static harness
measures).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
TOPICS_FILE = HERE / "topics.toml"
PROBLEM = frozenset({"FAIL", "WARN"})
SEVERE = frozenset({"CRITICAL", "HIGH"})
LIVE_SUITES = ("functional", "security")
_LOCATION = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE)\s+(\S+)")
_OPERATION = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*)$")


class LiveManifestError(ValueError):
    """A live fact or the topics file cannot be used (the message names it)."""


@dataclass(frozen=True)
class LiveTopic:
    name: str
    checks: frozenset[str]
    site: bool  # a property of the whole server (scope = "site")


@dataclass(frozen=True)
class LiveFact:
    id: str
    topic: str
    checks: frozenset[str]
    method: str
    path: str  # template, e.g. /api/users/{id}
    statuses: frozenset[str]
    why: str

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class LiveObserved:
    """One FAIL/WARN finding of a live audit, its location split into method and path."""

    check: str
    status: str
    severity: str
    message: str
    location: str
    method: str | None
    path: str | None

    def describe(self) -> str:
        return f"{self.check} {self.status} {self.severity} {self.location or '(no location)'}: " \
               f"{self.message[:220]}"


@dataclass(frozen=True)
class Login:
    """Whether the audit account logged in, and why (from the audit's FUN-020 and facts.login)."""

    expected: bool  # the project has an account to log in with
    ok: bool
    detail: str


@dataclass(frozen=True)
class LiveScore:
    folder: str
    found: tuple[tuple[LiveFact, tuple[LiveObserved, ...]], ...]
    missed: tuple[LiveFact, ...]
    violated: tuple[tuple[LiveFact, tuple[LiveObserved, ...]], ...]
    respected: tuple[LiveFact, ...]
    unexpected: tuple[LiveObserved, ...]  # CRITICAL/HIGH FAILs no fact explains
    login: Login
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # start-up, accounts, leftovers, health before/after
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def must_flag_total(self) -> int:
        return len(self.found) + len(self.missed)


# ---------------------------------------------------------------------------------- loading


def load_live_topics(path: Path = TOPICS_FILE) -> dict[str, LiveTopic]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LiveManifestError(f"{path}: {exc}") from None
    out = {}
    for name, table in (data.get("topics") or {}).items():
        scope = table.get("scope", "operation")
        if scope not in ("site", "operation"):
            raise LiveManifestError(f"{path.name}: topics.{name}: scope must be site or operation")
        out[name] = LiveTopic(name, frozenset(table.get("checks", [])), scope == "site")
    return out


def parse_fact(entry: Mapping[str, Any], where: str, *, with_status: bool) -> LiveFact:
    fid = str(entry.get("id", "?"))
    m = _OPERATION.match(str(entry.get("operation", "")))
    if not m:
        raise LiveManifestError(f"{where} {fid}: operation {entry.get('operation')!r} is not "
                                "'METHOD /path'")
    statuses = frozenset(entry.get("status", ["FAIL", "WARN"]) if with_status else PROBLEM)
    if not statuses or not statuses <= PROBLEM:
        raise LiveManifestError(f"{where} {fid}: status must be a subset of FAIL, WARN")
    return LiveFact(fid, str(entry.get("topic", "")), frozenset(entry.get("checks", [])),
                    m.group(1), m.group(2), statuses, str(entry.get("why", "")))


def load_live_facts(path: Path) -> tuple[tuple[LiveFact, ...], tuple[LiveFact, ...]]:
    """(must_flag, must_not_flag) of a manifest's ``[live]`` section."""
    live = tomllib.loads(path.read_text(encoding="utf-8")).get("live") or {}
    must = tuple(parse_fact(e, f"{path.name}: live.must_flag", with_status=True)
                 for e in live.get("must_flag", []))
    must_not = tuple(parse_fact(e, f"{path.name}: live.must_not_flag", with_status=False)
                     for e in live.get("must_not_flag", []))
    return must, must_not


# ---------------------------------------------------------------------------------- matching


def normalise_path(path: str) -> str:
    """Percent-decoded, without a trailing slash (``/`` stays ``/``)."""
    p = unquote(path) or "/"
    return p.rstrip("/") or "/"


def parse_live_location(location: str, base_url: str = "") -> tuple[str | None, str | None]:
    """``METHOD URL`` into the method and the URL path relative to ``base_url``'s path
    (normalised); (None, None) for any other location."""
    m = _LOCATION.match(location.strip())
    if not m:
        return None, None
    method, target = m.group(1), m.group(2)
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0].split("#", 1)[0]
    base = urlsplit(base_url).path.rstrip("/") if base_url else ""
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):] or "/"
    return method, normalise_path(path or "/")


def template_regex(template: str) -> re.Pattern[str]:
    """The path template as a regex: ``{name}`` is one non-empty segment, the rest literal."""
    parts = re.split(r"(\{[^{}/]+\})", normalise_path(template))
    body = "".join("[^/]+" if re.fullmatch(r"\{[^{}/]+\}", p) else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def same_method(fact_method: str, method: str) -> bool:
    def norm(m: str) -> str:
        return "GET" if m == "HEAD" else m

    return norm(fact_method) == norm(method)


def static_location(location: str) -> bool:
    """A repository location (``path:line``): a finding of the security suite's static scanners,
    measured by the static harness, not here."""
    loc = location.strip()
    return bool(loc) and not _LOCATION.match(loc) and "://" not in loc


def fact_checks(fact: LiveFact, topics: Mapping[str, LiveTopic]) -> frozenset[str]:
    topic = topics.get(fact.topic)
    return fact.checks | (topic.checks if topic else frozenset())


def site_wide(fact: LiveFact, topics: Mapping[str, LiveTopic]) -> bool:
    topic = topics.get(fact.topic)
    return bool(topic and topic.site)


def live_matches(fact: LiveFact, obs: LiveObserved, topics: Mapping[str, LiveTopic], *,
                 any_status: bool = False) -> bool:
    """True when ``obs`` reports ``fact`` (the module docstring defines it)."""
    if obs.check not in fact_checks(fact, topics):
        return False
    if obs.status not in (PROBLEM if any_status else fact.statuses):
        return False
    if site_wide(fact, topics):
        return True
    if obs.method is None or obs.path is None:
        return False
    return same_method(fact.method, obs.method) and bool(template_regex(fact.path).match(obs.path))


def observed_live(audit: Mapping[str, Any], base_url: str) -> list[LiveObserved]:
    """The FAIL/WARN findings of the live suites in an ``audit.json`` document."""
    out: list[LiveObserved] = []
    for result in audit.get("results", []):
        if result.get("suite") not in LIVE_SUITES:
            continue
        cid = str(result.get("id", "?"))
        check_sev = str(result.get("severity", "")).upper()
        seen = 0
        for f in result.get("findings", []):
            status = str(f.get("status", "")).upper()
            if status not in PROBLEM:
                continue
            seen += 1
            location = str(f.get("location") or "")
            method, path = parse_live_location(location, base_url)
            sev = str(f.get("severity") or check_sev).upper()
            out.append(LiveObserved(cid, status, sev, str(f.get("message", "")), location,
                                    method, path))
        status = str(result.get("status", "")).upper()
        if status in PROBLEM and not seen:
            out.append(LiveObserved(cid, status, check_sev, str(result.get("reason") or ""), "",
                                    None, None))
    return out


def score_live(folder: str, must_flag: Sequence[LiveFact], must_not: Sequence[LiveFact],
               findings: Sequence[LiveObserved], topics: Mapping[str, LiveTopic], login: Login,
               errors: Iterable[str] = (), notes: Iterable[str] = (),
               seconds: Mapping[str, float] | None = None) -> LiveScore:
    """Compare one project's live findings with its facts (module docstring). A finding that
    reports both a must-flag and a must-not fact belongs to the must-flag fact when that fact
    names the finding's operation and the must-not fact is only site-wide, else it violates."""
    found, missed, violated, respected = [], [], [], []
    explained: set[int] = set()
    for fact in must_flag:
        hits = tuple(f for f in findings if live_matches(fact, f, topics))
        explained.update(i for i, f in enumerate(findings)
                         if live_matches(fact, f, topics, any_status=True))
        (found.append((fact, hits)) if hits else missed.append(fact))

    def owned_by_must_flag(obs: LiveObserved) -> bool:
        return any(not site_wide(m, topics) and live_matches(m, obs, topics, any_status=True)
                   for m in must_flag)

    for fact in must_not:
        hits = tuple(f for f in findings if live_matches(fact, f, topics, any_status=True)
                     and not (site_wide(fact, topics) and owned_by_must_flag(f)))
        explained.update(i for i, f in enumerate(findings) if f in hits)
        (violated.append((fact, hits)) if hits else respected.append(fact))
    unexpected = tuple(f for i, f in enumerate(findings)
                       if i not in explained and f.status == "FAIL" and f.severity in SEVERE
                       and not static_location(f.location))
    return LiveScore(folder, tuple(found), tuple(missed), tuple(violated), tuple(respected),
                     unexpected, login, tuple(errors), tuple(notes), dict(seconds or {}))


# ---------------------------------------------------------------------------------- login


def login_outcome(audit: Mapping[str, Any], expected: bool) -> Login:
    """Did the audit account log in? From ``facts.login`` (the login adapter's record) when
    present, else FUN-020's result."""
    facts = audit.get("facts") or {}
    record = facts.get("login") if isinstance(facts, dict) else None
    fun020 = next((r for r in audit.get("results", []) if r.get("id") == "FUN-020"), None)
    if isinstance(record, dict) and "ok" in record:
        ok = bool(record.get("ok"))
        detail = str(record.get("summary") or record.get("reason") or "")
        return Login(expected, ok, detail)
    if fun020 is None:
        return Login(expected, False, "FUN-020 did not run")
    findings = fun020.get("findings") or []
    first = findings[0] if findings else {}
    ok = str(first.get("status", "")).upper() == "PASS" and "logged" in str(first.get("message", ""))
    detail = str(first.get("message") or fun020.get("reason") or fun020.get("status"))
    return Login(expected, ok, detail)
