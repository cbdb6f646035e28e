"""Repeated variants of one problem shown once.

A check that tries several variants of one attack (``alg: none`` spelled five ways, six forged CORS
origins) records one finding per variant: same status, severity, location and remediation,
and messages that differ only in the variant. Reports show such findings as one group: the shared
message with a small table of variants, and the full exchange (evidence) of the first variant
only — the others differ in the variant (and in per-request noise: dates, ids); every finding
stays in ``audit.json``. Grouping is a presentation of a check's findings; checks are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from prodaudit.model import Finding

#: characters a variant may start after / end before (the cut is moved back to one of these)
_BOUNDARY = " \t=:,;(/[\"'"
#: the shared part of the messages must be at least this share of the shortest message
MIN_SHARED = 0.4
#: variants longer than this are not variants of one message but different findings
MAX_VARIANT = 120


@dataclass(frozen=True)
class FindingGroup:
    """Findings of one check that differ only in a variant (one finding: no variants)."""

    findings: tuple[Finding, ...]
    prefix: str = ""
    suffix: str = ""
    variants: tuple[str, ...] = ()

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def grouped(self) -> bool:
        return len(self.findings) > 1

    @property
    def message(self) -> str:
        """The shared message with ``…`` for the variant: ``… with alg=… (HTTP 200 …)``."""
        if not self.grouped:
            return self.first.message
        return f"{self.prefix}…{self.suffix}".strip()

    def rows(self) -> list[tuple[str, str]]:
        """``(variant, observed)``: the variant and the first response line of its evidence."""
        return [(v, observed(f.evidence)) for v, f in zip(self.variants, self.findings, strict=True)]


def observed(evidence: str) -> str:
    """The first response status line of an exchange (``< HTTP 200 (41 ms)``) without ``<``."""
    for line in (evidence or "").splitlines():
        s = line.strip()
        if s.startswith("< HTTP") or s.startswith("<  HTTP"):
            return " ".join(s.lstrip("< ").split())
    return ""


def _common_suffix(texts: list[str]) -> str:
    rev = os.path.commonprefix([t[::-1] for t in texts])
    return rev[::-1]


def _split(messages: list[str]) -> tuple[str, str] | None:
    prefix = os.path.commonprefix(messages)
    while prefix and prefix[-1] not in _BOUNDARY:
        prefix = prefix[:-1]
    rest = [m[len(prefix) :] for m in messages]
    suffix = _common_suffix(rest)
    while suffix and suffix[0] not in _BOUNDARY:
        suffix = suffix[1:]
    shortest = min(len(m) for m in messages)
    if len(prefix) + len(suffix) < MIN_SHARED * shortest:
        return None
    variants = [r[: len(r) - len(suffix)] if suffix else r for r in rest]
    if any(not v.strip() or len(v) > MAX_VARIANT for v in variants):
        return None
    return prefix, suffix


def _key(f: Finding) -> tuple[object, ...]:
    return (f.status, f.severity, f.location, f.remediation)


def group_findings(findings: Iterable[Finding]) -> list[FindingGroup]:
    """Findings in their order, those differing only in a variant merged into one group (at the
    place of the first of them)."""
    items = list(findings)
    buckets: dict[tuple[object, ...], list[Finding]] = {}
    for f in items:
        buckets.setdefault(_key(f), []).append(f)
    groups: dict[tuple[object, ...], FindingGroup] = {}
    for key, bucket in buckets.items():
        messages = [b.message for b in bucket]
        if len(bucket) < 2 or len(set(messages)) != len(messages):
            continue
        split = _split(messages)
        if split is not None:
            prefix, suffix = split
            variants = tuple(m[len(prefix) : len(m) - len(suffix)].strip() for m in messages)
            groups[key] = FindingGroup(tuple(bucket), prefix, suffix, variants)
    out: list[FindingGroup] = []
    for f in items:
        key = _key(f)
        if key not in groups:
            out.append(FindingGroup((f,)))
        elif groups[key].first is f:
            out.append(groups[key])
    return out
