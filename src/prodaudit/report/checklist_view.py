"""The seed checklists with each item's state derived from a run (ticked, crossed, manual ...).

State of an item (``data/checklist.toml``), from the results whose check declares the item:
- ``fail``: at least one unwaived failing check;
- ``waived``: failing checks, all waived;
- ``unverified``: no failure, but a mapped check was skipped or errored;
- ``weak``: the mapped checks passed, but the item's claim needs stronger evidence than they give
  (``evidence = "observed"`` in data/checklist.toml: "cross-browser compatibility verified" is not
  shown by a configuration file that lists browsers);
- ``pass``: every mapped check that ran passed (or warned);
- ``not-run``: checks are mapped to the item but none ran in this audit (``--only``/``--skip``);
- ``manual``: no check covers the item: a person verifies it (and may sign it, see attestations).
An attestation marks the item as signed, whatever its machine state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prodaudit.checklist import Item, load_items
from prodaudit.model import AuditRun, CheckResult, Status

LABEL = {
    "pass": "✓ verified",
    "fail": "✗ failed",
    "waived": "✗ failed (waived)",
    "unverified": "? not verified",
    "weak": "? not observed (set up or configured only)",
    "not-run": "– not run",
    "manual": "manual",
}


@dataclass
class ItemState:
    item: Item
    state: str
    checks: list[CheckResult] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    attestation: Mapping[str, Any] | None = None

    @property
    def box(self) -> str:
        return "x" if self.attestation or self.state == "pass" else " "

    @property
    def label(self) -> str:
        return LABEL[self.state]

    @property
    def check_summary(self) -> str:
        return ", ".join(f"{r.id} {r.status.value.upper()}" for r in self.checks)


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

    @property
    def automated_percent(self) -> int:
        return round(100 * self.automated / self.total) if self.total else 0

    def for_source(self, source: str) -> list[Group]:
        return [g for g in self.groups if g.items and g.items[0].item.source == source]


def _checklist_map(run: AuditRun) -> dict[str, list[str]]:
    raw = run.extras.get("checklist_map")
    if isinstance(raw, Mapping):
        return {str(k): [str(c) for c in v] for k, v in raw.items()}
    # audit.json written before the map was recorded: use the registry of this version
    from prodaudit.checklist import coverage
    from prodaudit.registry import load_checks

    return coverage(load_items(), load_checks().all())


#: how directly a result can show a claim, weakest first
EVIDENCE_RANK = {"present": 0, "parsed": 1, "observed": 2}
#: needs of a check that looks at the running product (it observes rather than reads)
_LIVE_NEEDS = frozenset({"target", "live", "frontend", "docker", "database", "redis"})


def evidence_level(r: CheckResult) -> str:
    """How directly ``r`` showed its claim: "observed" (on the running product), "parsed" (read from
    code or configuration) or "present" (a file or a setup exists).

    Extension point: results do not record their evidence level yet; until they do, it is derived
    from what the check needs (a check that needs a running target observes; one that only reads
    the repository parses). A result that records ``evidence`` wins over the derivation."""
    recorded = getattr(r, "evidence", None)
    if isinstance(recorded, str) and recorded in EVIDENCE_RANK:
        return recorded
    return "observed" if _check_needs(r.id) & _LIVE_NEEDS else "parsed"


def _check_needs(check_id: str) -> frozenset[str]:
    from prodaudit.registry import load_checks

    try:
        return load_checks().get(check_id).needs
    except Exception:  # a check of another version: assume it only read files
        return frozenset()


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
    if evidence and not any(
        EVIDENCE_RANK[evidence_level(r)] >= EVIDENCE_RANK.get(evidence, 0) for r in checks
    ):
        return "weak"
    return "pass"


def build_checklist(run: AuditRun) -> ChecklistView:
    items = load_items()
    mapping = _checklist_map(run)
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
        )
        if it.kind == "signoff":
            signoffs.append(st)
            continue
        total += 1
        automated += 1 if mapped else 0
        counts[st.state] += 1
        counts["signed"] += 1 if st.attestation else 0
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
    )
