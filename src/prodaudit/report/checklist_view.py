"""The seed checklists with each item's state derived from a run (ticked, crossed, manual ...).

State of an item (``data/checklist.toml``), from the results whose check declares the item:
- ``fail``: at least one unwaived failing check;
- ``waived``: failing (or warning) checks, all waived;
- ``unverified``: no failure, but a mapped check was skipped or errored;
- ``warn``: a mapped check warned: met with warnings, never "verified";
- ``present``: the mapped checks passed, but only on presence (a file name, a heading, a keyword:
  evidence level ``present``): "present, not verified", shown with the item's manual how-to;
- ``weak``: the mapped checks passed on parsed evidence, but the item's claim needs an observation
  (``evidence = "observed"`` in data/checklist.toml: "cross-browser compatibility verified" is not
  shown by a configuration file that lists browsers);
- ``pass``: every mapped check that ran passed, at least one on observed or parsed evidence;
- ``not-run``: checks are mapped to the item but none ran in this audit (``--only``/``--skip``);
- ``manual``: no check covers the item: a person verifies it (and may sign it, see attestations).
An attestation marks the item as signed, whatever its machine state.

Evidence per item (issue 18): ``reached`` is the strongest level at which this run checked the item
(a PASS at its evidence level, a FAIL or WARN at its check's declared level); ``reach`` is the
strongest level its mapped checks can reach at all (their declared levels, recorded in audit.json
``extras.check_evidence``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.checklist import Item, load_items
from prodaudit.model import AuditRun, CheckResult, Evidence, Status

LABEL = {
    "pass": "✓ verified",
    "fail": "✗ failed",
    "waived": "✗ failed (waived)",
    "unverified": "? not verified",
    "warn": "! met with warnings, not verified",
    "weak": "? not observed (set up or configured only)",
    "present": "? present, not verified",
    "not-run": "– not run",
    "manual": "manual",
}
#: evidence levels, strongest first (the order of the coverage line)
LEVELS = ("observed", "parsed", "present")
#: how directly a result can show a claim, weakest first
EVIDENCE_RANK = {"present": 0, "parsed": 1, "observed": 2}


@dataclass
class ItemState:
    item: Item
    state: str
    checks: list[CheckResult] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    attestation: Mapping[str, Any] | None = None
    reached: str = ""  # strongest evidence level this run checked the item at ("" = not checked)
    reach: str = ""  # strongest level the mapped checks can reach ("" = manual)

    @property
    def box(self) -> str:
        return "x" if self.attestation or self.state == "pass" else " "

    @property
    def label(self) -> str:
        return LABEL[self.state]

    @property
    def check_summary(self) -> str:
        return ", ".join(result_label(r) for r in self.checks)

    @property
    def shows_manual(self) -> bool:
        """Whether the item's manual how-to belongs on its line: nothing covers it, or the checks
        saw only that something exists or is configured."""
        return self.state in ("manual", "present", "weak") and bool(self.item.manual)


def result_label(r: CheckResult) -> str:
    """``RDY-066 PASS [present]``: a pass names its evidence level."""
    level = r.evidence_level
    return f"{r.id} {r.status.value.upper()}" + (f" [{level.value}]" if level is not None else "")


@dataclass
class Group:
    section: str
    group: str
    items: list[ItemState] = field(default_factory=list)


@dataclass
class ChecklistView:
    groups: list[Group]
    signoffs: list[ItemState]
    total: int  # non-sign-off items of both seed documents
    automated: int  # items with at least one mapped check in the registry
    counts: dict[str, int]
    unknown_attestations: list[str]
    reached: dict[str, int] = field(default_factory=dict)  # level -> items this run checked at it
    reach: dict[str, int] = field(default_factory=dict)  # level -> items the checks can reach

    @property
    def automated_percent(self) -> int:
        return round(100 * self.automated / self.total) if self.total else 0

    @property
    def coverage_line(self) -> str:
        """"N observed, M parsed, K present only, of T items" for this run."""
        return evidence_line(self.reached, self.total)

    @property
    def reach_line(self) -> str:
        """The same three numbers for what the mapped checks can reach at best."""
        return evidence_line(self.reach, self.total)

    def for_source(self, source: str) -> list[Group]:
        return [g for g in self.groups if g.items and g.items[0].item.source == source]


def evidence_line(levels: Mapping[str, int], total: int) -> str:
    return (
        f"{levels.get('observed', 0)} observed, {levels.get('parsed', 0)} parsed, "
        f"{levels.get('present', 0)} present only, of {total} items"
    )


def _checklist_map(run: AuditRun) -> dict[str, list[str]]:
    raw = run.extras.get("checklist_map")
    if isinstance(raw, Mapping):
        return {str(k): [str(c) for c in v] for k, v in raw.items()}
    # audit.json written before the map was recorded: use the registry of this version
    from prodaudit.checklist import coverage
    from prodaudit.registry import catalog

    return coverage(load_items(), catalog())


def _check_evidence(run: AuditRun) -> dict[str, str]:
    """Check id -> the level it can reach (its declaration), as recorded in audit.json; results
    fill in for an audit.json written before the levels were recorded."""
    raw = run.extras.get("check_evidence")
    out = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
    for r in run.results:
        out.setdefault(r.id, r.evidence.value)
    return {k: v for k, v in out.items() if v in EVIDENCE_RANK}


def evidence_level(r: CheckResult) -> str:
    """How directly ``r`` showed its claim: a PASS at its evidence level (the weakest of its
    passing findings), any other verified result at the check's declared level."""
    level = r.evidence_level
    return (level or r.evidence).value


def _strongest(levels: list[str]) -> str:
    return max(levels, key=lambda v: EVIDENCE_RANK[v]) if levels else ""


def item_state(checks: list[CheckResult], mapped: list[str], evidence: str = "") -> str:
    """The state of one checklist item from the results of the checks mapped to it."""
    if not checks:
        return "not-run" if mapped else "manual"
    fails = [r for r in checks if r.status is Status.FAIL]
    if any(not r.waived for r in fails):
        return "fail"
    if fails:
        return "waived"
    if any(not r.status.verified for r in checks):
        return "unverified"
    warns = [r for r in checks if r.status is Status.WARN]
    if any(not r.waived for r in warns):
        return "warn"
    if warns or any(r.waived for r in checks):
        return "waived"
    best = _strongest([evidence_level(r) for r in checks])
    if not Evidence(best).verifies:
        return "present"
    if evidence and EVIDENCE_RANK[best] < EVIDENCE_RANK.get(evidence, 0):
        return "weak"
    return "pass"


def _reached(checks: list[CheckResult]) -> str:
    return _strongest([evidence_level(r) for r in checks if r.status.verified])


def build_checklist(run: AuditRun) -> ChecklistView:
    items = load_items()
    mapping = _checklist_map(run)
    declared = _check_evidence(run)
    by_item: dict[str, list[CheckResult]] = {}
    for r in sorted(run.results, key=lambda r: r.id):
        for item_id in r.checklist:
            by_item.setdefault(item_id, []).append(r)
    att_raw = run.extras.get("attestations", {})
    attested: Mapping[str, Any] = att_raw.get("items", {}) if isinstance(att_raw, Mapping) else {}
    groups: list[Group] = []
    signoffs: list[ItemState] = []
    counts: dict[str, int] = {k: 0 for k in LABEL}
    counts["signed"] = 0
    reached = {k: 0 for k in LEVELS}
    reach = {k: 0 for k in LEVELS}
    total = automated = 0
    for it in items:
        checks = by_item.get(it.id, [])
        mapped = sorted(set(mapping.get(it.id, [])) | {r.id for r in checks})
        st = ItemState(
            item=it,
            state=item_state(checks, mapped, it.evidence),
            checks=checks,
            mapped=mapped,
            attestation=attested.get(it.id),
            reached=_reached(checks),
            reach=_strongest([declared[c] for c in mapped if c in declared]),
        )
        if it.kind == "signoff":
            signoffs.append(st)
            continue
        total += 1
        automated += 1 if mapped else 0
        counts[st.state] += 1
        counts["signed"] += 1 if st.attestation else 0
        if st.reached:
            reached[st.reached] += 1
        if st.reach:
            reach[st.reach] += 1
        if not groups or (groups[-1].section, groups[-1].group) != (it.section, it.group):
            groups.append(Group(section=it.section, group=it.group))
        groups[-1].items.append(st)
    known = {i.id for i in items}
    return ChecklistView(
        groups=groups,
        signoffs=signoffs,
        total=total,
        automated=automated,
        counts=counts,
        unknown_attestations=sorted(k for k in attested if k not in known),
        reached=reached,
        reach=reach,
    )
