"""The field harness on the field corpus (issue 16): static suites through the real CLI.

``test_harness_end_to_end`` (always run) audits one project through ``harness.main`` and checks the
report and the JSON summary. ``test_field_goals`` (marker ``field_goal``, selected with
``-m field_goal``) audits every project with a manifest and asserts the goals of issue 16."""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pytest
from conftest_services import require_service

GOAL_FOUND_RATIO = 0.95
GOAL_MAX_NOISE = 5
SMOKE_PROJECT = "miguelgrinberg__microblog-api"


def _require_corpus() -> Path:
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    return harness.DEFAULT_CORPUS


def test_harness_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One project through the real CLI: three suites ran, every fact was judged, the summary is
    written and agrees with the printed table."""
    _require_corpus()
    out = tmp_path / "field.json"
    assert harness.main(["--project", SMOKE_PROJECT, "--json", str(out), "--keep", str(tmp_path / "w")]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    [project] = summary["projects"]
    manifest = harness.load_manifest(harness.HERE / f"{SMOKE_PROJECT}.toml")
    assert project["folder"] == SMOKE_PROJECT
    assert not project["errors"], project["errors"]
    assert project["must_flag"]["total"] == len(manifest.must_flag)
    assert len(project["verdicts"]) == len(manifest.readiness)
    assert all(v["actual"] != "absent" for v in project["verdicts"]), "the readiness suite did not run"
    reports = list((tmp_path / "w" / SMOKE_PROJECT).glob("reports-*/*/audit.json"))
    suites = {s for r in reports for s in json.loads(r.read_text(encoding="utf-8"))["target"]["suites"]}
    assert suites == set(harness.STATIC_SUITES)
    assert f"=== {SMOKE_PROJECT}" in printed
    assert f"{project['must_flag']['found']}/{project['must_flag']['total']}" in printed
    assert summary["meta"]["commit"]


@pytest.fixture(scope="module")
def field_scores() -> list[harness.ProjectScore]:
    corpus = _require_corpus()
    manifests = [harness.load_manifest(p) for p in harness.manifest_paths()]
    return harness.run_field(corpus, manifests, harness.load_topics())


#: must-flag facts found by checks that need no network on 2026-11-29 (287 of 314 with CFG-177,
#: public user records with privileges, CFG-178, error handlers answering 200, and CFG-024's
#: seeded access codes; 288 found in all, CFG-067 finding the yanked pin where PyPI answers;
#: 282 of 312 with CFG-176, rate limits; 277 of 308
#: after the code-pattern checks RDY-010..019,
#: RDY-027, RDY-103, CFG-081/082/163 merged with main; 234 of 292 after the static route checks
#: CFG-170..175; 214 of 288 before): the found ratio may only go up
FOUND_FLOOR = 288


#: checks that need a network service (pip-audit's vulnerability service, the package index):
#: they find their facts where the service answers and are SKIP where it does not, so the floor
#: counts only facts found by a check that works offline (the result is the same wherever CI runs)
NETWORK_CHECKS = frozenset({"CFG-063", "CFG-067"})


def found_offline(scores: list[harness.ProjectScore]) -> int:
    """Must-flag facts found by at least one check that needs no network service."""
    return sum(1 for p in scores for _fact, seen in p.found
               if any(o.check not in NETWORK_CHECKS for o in seen))


def test_field_accuracy_holds(field_scores: list[harness.ProjectScore]) -> None:
    """The issue 16 goals met today stay met (no must-not fact flagged, <= 5 noise per project,
    no ERROR), and no fewer must-flag facts are found offline than the last measurement."""
    report = harness.render_text(field_scores)
    t = harness.totals(field_scores)
    assert not [p.folder for p in field_scores if p.errors], report
    assert t.violated == 0, report
    assert all(len(p.noise) <= GOAL_MAX_NOISE for p in field_scores), report
    assert found_offline(field_scores) >= FOUND_FLOOR, report


def test_found_offline_leaves_out_facts_only_a_network_check_found() -> None:
    fact = harness.Fact("f", "t", frozenset(), "a.py", 1, frozenset({"FAIL"}), "why")

    def seen(*checks: str) -> tuple[harness.Observed, ...]:
        return tuple(harness.Observed(c, "FAIL", "m", "a.py:1", "a.py", 1) for c in checks)

    score = harness.ProjectScore("p", ((fact, seen("CFG-067")), (fact, seen("CFG-067", "CFG-060")),
                                       (fact, seen("CFG-001"))), (), (), (), (), ())
    assert found_offline([score]) == 2


@pytest.mark.xfail(strict=True, reason="issue 16: 92% of must-flag facts found (24 misses need "
                                       "advisory data), the goal is 95% (strict: this fails once "
                                       "the goal is met, to lift the mark)")
def test_field_goals(field_scores: list[harness.ProjectScore]) -> None:
    """Issue 16: >= 95% of must-flag facts found, no must-not fact flagged, <= 5 noise per project."""
    report = harness.render_text(field_scores)
    t = harness.totals(field_scores)
    assert not [p.folder for p in field_scores if p.errors], report
    assert t.found_ratio >= GOAL_FOUND_RATIO, report
    assert t.violated == 0, report
    assert all(len(p.noise) <= GOAL_MAX_NOISE for p in field_scores), report
