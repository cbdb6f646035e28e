"""A product with many environment variables: the human reports (Markdown, HTML) list a bounded
number of them — the ones the findings name and the deployment must set first — with counts and
where the rest are; audit.json keeps every variable with every location."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status
from prodaudit.report import write_reports
from prodaudit.report.facts_view import ENV_GRAPH_WHERE, ENV_LOCATIONS, ENV_ROWS, env_vars
from prodaudit.report.html import HtmlRenderer
from prodaudit.report.markdown import ConfigurationValidationRenderer

MANY = ENV_ROWS * 3


def _var(name: str, **kw: object) -> dict[str, object]:
    return {"name": name, "required": False, "compose_required": False, "default": None,
            "secret": True, "read_at": [f"src/{name.lower()}.py:3"], "read_by": ["python"],
            "used": True, "set_in": [], "documented": False, "documented_in": [],
            "description": "", "compose_services": [], **kw}


def big_run(run: AuditRun) -> AuditRun:
    variables = [_var(f"A{i:04d}_API_KEY") for i in range(MANY)]
    # sorted last by name, so listed only because they matter
    variables.append(_var("ZZ_NAMED_IN_FINDING"))
    variables.append(_var("ZZ_REQUIRED", required=True, secret=False))
    variables.append(_var("ZZ_SET_BY_DEPLOY", secret=False, set_in=["compose.yaml"]))
    variables.append(_var("ZZ_MANY_READS", required=True,
                          read_at=[f"app/m{i}.py:1" for i in range(ENV_LOCATIONS + 7)]))
    flagged = CheckResult(
        id="CFG-001", suite="config", title="Required environment variables are set",
        severity=Severity.HIGH, status=Status.FAIL,
        findings=(Finding(Status.FAIL, "ZZ_NAMED_IN_FINDING is read without a default but "
                          "missing in the production env file", "src/zz.py:3"),),
        duration_s=0.1, doc="Doc.\n\nRemediation: set it.")
    graph = {"schema": "prodaudit/env-graph/1", "example_files": [], "variables": variables}
    return replace(run, facts={**run.facts, "env_graph": graph},
                   results=(*run.results, flagged))


def _table_names(md: str) -> list[str]:
    section = md.split("## Environment variables", 1)[1]
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.M)


def test_human_reports_list_a_bounded_number_and_say_where_the_rest_are(run: AuditRun) -> None:
    big = big_run(run)
    total = MANY + 4
    md = ConfigurationValidationRenderer().format(big)
    names = _table_names(md)
    assert len(names) == ENV_ROWS and names == sorted(names)
    for must in ("ZZ_NAMED_IN_FINDING", "ZZ_REQUIRED", "ZZ_SET_BY_DEPLOY", "ZZ_MANY_READS"):
        assert must in names, must
    assert f"**Listed: {ENV_ROWS} of {total:,}**" in md
    assert f"**{total - ENV_ROWS:,} more** are in `{ENV_GRAPH_WHERE}`" in md
    assert f"1 in a finding; 2 required; 0 required by Compose; 1 set by the deployment; " \
           f"{MANY + 2:,} secret; 0 documented." in md
    assert "app/m0.py:1" in md and f"app/m{ENV_LOCATIONS}.py:1" not in md
    assert "… +7 more" in md
    html = HtmlRenderer().format(big)
    assert html.count("<tr><td data-label=\"Variable\"><code>") == ENV_ROWS
    assert f"<b>{total - ENV_ROWS:,} more</b> are in <code>{ENV_GRAPH_WHERE}</code>" in html
    assert "ZZ_NAMED_IN_FINDING" in html


def test_ranking_fills_the_bound_in_order_of_importance(run: AuditRun) -> None:
    big = big_run(run)
    view = env_vars(big.facts, big.results)
    assert view is not None and view.total == MANY + 4 and view.omitted == MANY + 4 - ENV_ROWS
    shown = {v.name for v in view.rows}
    # after the four that matter, the plain secrets fill the bound by name
    assert shown == {"ZZ_NAMED_IN_FINDING", "ZZ_REQUIRED", "ZZ_SET_BY_DEPLOY", "ZZ_MANY_READS",
                     *(f"A{i:04d}_API_KEY" for i in range(ENV_ROWS - 4))}
    # a pass finding does not make a variable matter
    passing = replace(big, results=tuple(
        replace(r, status=Status.PASS, findings=tuple(replace(f, status=Status.PASS)
                                                      for f in r.findings))
        for r in big.results))
    view = env_vars(passing.facts, passing.results)
    assert view is not None and "ZZ_NAMED_IN_FINDING" not in {v.name for v in view.rows}


def test_small_products_are_listed_whole(run: AuditRun) -> None:
    view = env_vars(run.facts, run.results)
    assert view is not None and view.omitted == 0
    assert len(view.rows) == len(run.facts["env_graph"]["variables"])
    assert "Listed:" not in ConfigurationValidationRenderer().format(run)


def test_machine_report_keeps_every_variable_and_location(run: AuditRun, tmp_path: Path) -> None:
    big = big_run(run)
    out = write_reports(big, tmp_path / "reports")
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    variables = data["facts"]["env_graph"]["variables"]
    assert variables == big.facts["env_graph"]["variables"]
    many = next(v for v in variables if v["name"] == "ZZ_MANY_READS")
    assert len(many["read_at"]) == ENV_LOCATIONS + 7
    md = (out / "configuration-validation.md").read_text(encoding="utf-8")
    assert len(_table_names(md)) == ENV_ROWS
