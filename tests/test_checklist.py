"""The checklist data (data/checklist.toml) covers every item of both seed documents, and the
report's checklist states and machine coverage are computed from the results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodaudit.checklist import coverage, load_items
from prodaudit.config import PROJECT_ROOT
from prodaudit.model import AuditRun, CheckResult, Decision, Evidence, Finding, Severity, Status
from prodaudit.registry import load_checks
from prodaudit.report.checklist_view import build_checklist

VENDORED = PROJECT_ROOT / "src" / "prodaudit" / "data" / "seeds"
SHARED = PROJECT_ROOT.parent / "shared" / "seeds"
CHECKLIST_MD = "MVP-Production-Audit-Checklist.md"
PLAN_MD = "MVPProductionAudit-PLAN.md"
PLAN_SECTIONS = {
    "Configuration Validation Checklist": "Plan: Configuration Validation Checklist",
    "Approval Required": "Plan: Approval Required",
}


def seed(name: str) -> Path:
    """The shared seed when the checkout has ../shared beside it, else the vendored copy."""
    return SHARED / name if (SHARED / name).is_file() else VENDORED / name


def parse_seed(path: Path, plan: bool) -> list[tuple[str, str, str]]:
    """(section, group, text) of every ``- [ ]`` item."""
    out: list[tuple[str, str, str]] = []
    section = group = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^##\s+(.+?)\s*$", line):
            section = group = m.group(1)
        elif m := re.match(r"^###\s+(.+?)\s*$", line):
            group = m.group(1)
        elif m := re.match(r"^\s*[-*]\s+\[[ xX]\]\s+(.+?)\s*$", line):
            if plan:
                if section not in PLAN_SECTIONS:
                    continue
                out.append((PLAN_SECTIONS[section], group, m.group(1)))
            else:
                out.append((section, group, m.group(1)))
    return out


def test_vendored_seeds_match_shared() -> None:
    for name in (CHECKLIST_MD, PLAN_MD):
        assert (VENDORED / name).is_file()
        if (SHARED / name).is_file():
            assert (VENDORED / name).read_bytes() == (SHARED / name).read_bytes(), (
                f"{VENDORED / name} is stale: copy {SHARED / name} again"
            )


@pytest.mark.parametrize(
    ("name", "source", "plan"), [(CHECKLIST_MD, "checklist", False), (PLAN_MD, "plan", True)]
)
def test_every_seed_item_is_in_checklist_toml(name: str, source: str, plan: bool) -> None:
    seed_items = parse_seed(seed(name), plan)
    assert len(seed_items) >= (19 if plan else 100)  # the parser found the lists
    toml_items = [i for i in load_items() if i.source == source]
    known = {(i.section, i.group, i.text) for i in toml_items}
    unmapped = [it for it in seed_items if it not in known]
    assert unmapped == [], f"seed items of {name} missing from checklist.toml: {unmapped}"
    invented = [i.id for i in toml_items if (i.section, i.group, i.text) not in set(seed_items)]
    assert invented == [], f"checklist.toml items not in {name}: {invented}"


def test_item_ids_are_unique_and_signoffs_marked() -> None:
    items = load_items()
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    signoffs = {i.id for i in items if i.kind == "signoff"}
    assert signoffs == {"S.1", "S.2", "S.3", "S.4", "S.5", "A.1", "A.2", "A.3", "A.4"}


def test_registered_checks_name_existing_items() -> None:
    known = {i.id for i in load_items()}
    bad = {
        s.id: [c for c in s.checklist if c not in known]
        for s in load_checks().all()
        if set(s.checklist) - known
    }
    assert bad == {}, f"checks declare unknown checklist item ids: {bad}"


def _result(
    cid: str,
    status: Status,
    items: tuple[str, ...],
    waived: bool = False,
    evidence: Evidence = Evidence.PARSED,
    level: Evidence | None = None,
) -> CheckResult:
    return CheckResult(
        id=cid,
        suite="config",
        title=cid,
        severity=Severity.HIGH,
        status=status,
        findings=(Finding(status, f"{cid} finding", level=level),),
        checklist=items,
        waived=waived,
        reason="r" if not status.verified else "",
        evidence=evidence,
    )


def _run(results: list[CheckResult], extras: dict) -> AuditRun:
    return AuditRun(
        run_id="r",
        target={},
        profile="production",
        tool_version="0",
        config_digest="d",
        started_at="",
        finished_at="",
        results=tuple(results),
        decision=Decision("GO", 0),
        extras=extras,
    )


def test_states_and_coverage() -> None:
    results = [
        _result("CFG-001", Status.PASS, ("2.2.1",)),
        _result("CFG-002", Status.WARN, ("2.2.1",)),
        _result("CFG-003", Status.FAIL, ("2.2.2",)),
        _result("CFG-004", Status.PASS, ("2.2.2",)),
        _result("CFG-005", Status.FAIL, ("2.2.3",), waived=True),
        _result("CFG-006", Status.SKIP, ("2.2.4", "P.1.1")),
    ]
    cmap = {
        "2.2.1": ["CFG-001", "CFG-002"],
        "2.2.2": ["CFG-003", "CFG-004"],
        "2.2.3": ["CFG-005"],
        "2.2.4": ["CFG-006"],
        "P.1.1": ["CFG-006"],
        "3.1.1": ["DEP-001"],
        "A.1": ["CFG-999"],
    }
    extras = {
        "checklist_map": cmap,
        "attestations": {
            "items": {
                "1.1.1": {"name": "N", "role": "R", "date": "2026-11-20"},
                "S.1": {"name": "Lead", "role": "Engineering lead", "date": "2026-11-20"},
            }
        },
    }
    view = build_checklist(_run(results, extras))
    state = {st.item.id: st for g in view.groups for st in g.items}
    assert state["2.2.1"].state == "warn" and state["2.2.1"].box == " "  # WARN is never verified
    assert state["2.2.2"].state == "fail" and state["2.2.2"].box == " "
    assert state["2.2.3"].state == "waived"
    assert state["2.2.4"].state == "unverified" and state["P.1.1"].state == "unverified"
    assert state["3.1.1"].state == "not-run"
    assert state["1.1.1"].state == "manual" and state["1.1.1"].box == "x"  # signed by a person
    assert state["1.1.2"].state == "manual" and state["1.1.2"].box == " "
    non_signoff = [i for i in load_items() if i.kind != "signoff"]
    assert view.total == len(non_signoff)
    assert view.automated == 6  # 2.2.1-2.2.4, P.1.1, 3.1.1; sign-off A.1 does not count
    assert view.automated_percent == round(600 / len(non_signoff))
    signed = {st.item.id for st in view.signoffs if st.attestation}
    assert signed == {"S.1"}
    assert view.counts["signed"] == 1


def test_coverage_from_registry_specs() -> None:
    items = load_items()
    specs = [s for s in load_checks().all() if s.checklist][:1]
    assert specs, "no registered check declares a checklist item"
    cov = coverage(items, specs)
    assert set(cov) >= {i.id for i in items}
    for item_id in specs[0].checklist:
        assert specs[0].id in cov[item_id]
    # the run without a recorded map falls back to the registry
    view = build_checklist(_run([], {}))
    assert view.automated == sum(
        1 for i in items if i.kind != "signoff" and coverage(items, load_checks().all())[i.id]
    )


def test_only_observed_or_parsed_passes_are_ticked() -> None:
    """A pass on presence only (a file name, a heading) is "present, not verified" with the manual
    how-to; a pass on parsed or observed evidence is ticked; the coverage line counts the three."""
    results = [
        _result("RDY-066", Status.PASS, ("6.3.2",), evidence=Evidence.PARSED, level=Evidence.PRESENT),
        _result("RDY-060", Status.PASS, ("6.1.1",), evidence=Evidence.PARSED),
        _result("FUN-001", Status.PASS, ("9.2.4",), evidence=Evidence.OBSERVED),
        _result("RDY-067", Status.FAIL, ("6.3.3",), evidence=Evidence.PARSED),
        _result("RDY-063", Status.PASS, ("6.1.4",), evidence=Evidence.PRESENT),
        _result("RDY-044", Status.PASS, ("4.3.2",), evidence=Evidence.PARSED),
    ]
    extras = {"checklist_map": {"6.3.2": ["RDY-066"], "6.1.1": ["RDY-060"], "9.2.4": ["FUN-001"],
                                "6.3.3": ["RDY-067"], "6.1.4": ["RDY-063"], "4.3.2": ["RDY-044"],
                                "6.1.2": ["RDY-061"]},
              "check_evidence": {"RDY-066": "parsed", "RDY-060": "parsed", "FUN-001": "observed",
                                 "RDY-067": "parsed", "RDY-063": "present", "RDY-044": "parsed",
                                 "RDY-061": "observed"}}
    view = build_checklist(_run(results, extras))
    state = {st.item.id: st for g in view.groups for st in g.items}
    assert state["6.3.2"].state == "present" and state["6.3.2"].box == " "
    assert state["6.3.2"].shows_manual and state["6.3.2"].item.manual
    assert "RDY-066 PASS [present]" in state["6.3.2"].check_summary
    assert state["6.1.4"].state == "present"
    assert state["6.1.1"].state == "pass" and state["6.1.1"].box == "x"
    assert state["9.2.4"].state == "pass" and state["9.2.4"].reached == "observed"
    assert state["6.3.3"].state == "fail" and state["6.3.3"].reached == "parsed"
    assert state["4.3.2"].state == "weak"  # the item needs an observation
    assert state["6.1.2"].state == "not-run" and state["6.1.2"].reach == "observed"
    assert view.reached == {"observed": 1, "parsed": 3, "present": 2}
    assert view.coverage_line == f"1 observed, 3 parsed, 2 present only, of {view.total} items"
    assert view.reach == {"observed": 2, "parsed": 4, "present": 1}
    assert view.counts["present"] == 2 and view.counts["pass"] == 2
