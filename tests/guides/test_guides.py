"""The generated guides are about this run of this product: the troubleshooting guide covers only
what went wrong, the deployment checklist never claims what was not verified, the monitoring plan
never turns a loopback measurement into a production SLO or a loopback URL into an endpoint."""

from __future__ import annotations

import re
from dataclasses import replace

from prodaudit.gate import decide
from prodaudit.guides import deployment_checklist, post_launch_monitoring_plan, troubleshooting_guide
from prodaudit.model import AuditRun, CheckResult, Evidence, Finding, Severity, Status
from prodaudit.report.checklist_view import build_checklist
from prodaudit.report.markdown import ProductionReadinessRenderer


def _with(run: AuditRun, *results: CheckResult) -> AuditRun:
    rs = (*run.results, *results)
    return replace(run, results=rs, decision=decide(rs, run.profile))


def test_troubleshooting_covers_only_what_went_wrong(run: AuditRun) -> None:
    text = troubleshooting_guide(run)
    passed = [r.id for r in run.results if r.status is Status.PASS and not r.waived]
    assert passed and not [i for i in passed if re.search(rf"\b{i}\b", text)]
    for r in run.results:
        if r.status is not Status.PASS:
            assert r.id in text, r.id
    # failures first, worst first; variants folded; code as code
    assert text.index("SEC-001") < text.index("CFG-010") < text.index("DEP-010")
    assert "3 variants: none; None; NONE" in text
    assert '`jwt.decode(token, key, algorithms=["HS256"])`' in text and "``" not in text
    # the live finding points at its handler in the code (source map)
    assert "`app/routers/users.py:14`" in text
    # not verified: grouped by cause, with the action
    assert "### No image registry reachable (2)" in text
    assert "scripts/build-base-image.sh" in text
    # a temporary file of the run is named, never pointed at
    assert "/tmp/" not in text and "runtime.env, line 9 (a temporary file of the audit" in text
    # it stays short: one section per problem, not one per check of the registry
    assert len(text.splitlines()) < 40 * sum(1 for r in run.results if r.status is not Status.PASS)


def test_troubleshooting_when_nothing_went_wrong(run: AuditRun) -> None:
    ok = tuple(r for r in run.results if r.status is Status.PASS)
    text = troubleshooting_guide(replace(run, results=ok, decision=decide(ok, "production")))
    assert "Nothing to troubleshoot" in text


def _ticked(text: str) -> list[str]:
    steps = text.split("## Sign-off")[0]
    return [ln for ln in steps.splitlines() if ln.startswith("- [x]")]


def test_deployment_checklist_never_asserts_what_was_not_verified(run: AuditRun) -> None:
    text = deployment_checklist(run)
    cl = build_checklist(run)
    states = {st.item.id: st for g in cl.groups for st in g.items}
    # DEP-012 errored (item 3.1.1), DEP-014 skipped (3.1.4): those items are not ticked and say why
    for item_id, check in (("3.1.1", "DEP-012"), ("3.1.4", "DEP-014")):
        st = states[item_id]
        line = next(ln for ln in text.splitlines() if ln.startswith("- [") and st.item.text in ln)
        assert line.startswith("- [ ]") and "not verified" in line and check in line
    # every ticked line is verified by passing checks or signed by a person
    for line in _ticked(text):
        assert "✅ verified" in line or "signed by" in line, line
    # step instructions do not claim properties of the product
    assert "the image is multi-stage, runs as non-root" not in text
    assert "check that the image is multi-stage, runs as a non-root user" in text
    build = text[text.index("## 3. Build the image") : text.index("## 4.")]
    assert "Status: ❔ not verified" in build


def test_cross_browser_is_not_ticked_from_a_configuration_file(run: AuditRun) -> None:
    """RDY-044 reads a Playwright config listing browsers: the set-up is there, the compatibility
    is not observed; a check that drives the frontend (FUN-040 needs a running frontend) is."""
    config_only = CheckResult(
        "RDY-044", "readiness", "End-to-end tests are set up, across browsers", Severity.LOW, Status.PASS,
        (Finding(Status.PASS, "playwright.config.js runs chromium, firefox, webkit"),), checklist=("4.3.2",),
    )  # fmt: skip
    state = {st.item.id: st.state for g in build_checklist(_with(run, config_only)).groups for st in g.items}
    assert state["4.3.2"] == "weak"
    md = ProductionReadinessRenderer().format(_with(run, config_only))
    line = next(ln for ln in md.splitlines() if "Cross-browser compatibility verified" in ln)
    assert line.startswith("- [ ]") and "not observed" in line
    observed = replace(config_only, id="FUN-040", suite="functional", evidence=Evidence.OBSERVED)
    state = {st.item.id: st.state for g in build_checklist(_with(run, observed)).groups for st in g.items}
    assert state["4.3.2"] == "pass"


def test_monitoring_plan_on_a_loopback_run(run: AuditRun) -> None:
    perf = run.facts["performance"]
    assert run.target["base_url"].startswith("http://127.0.0.1")
    text = post_launch_monitoring_plan(run)
    body = text.split("\n", 3)[3]  # after the header, which names the audited target
    assert "not production SLOs" in body and "Re-measure against staging or production" in body
    assert "127.0.0.1" not in body
    assert "Paths found (on the production host): `/health`" in body
    assert perf["targets"][0]["p95_ms"] == 40.8


def test_monitoring_plan_on_a_production_run(run: AuditRun) -> None:
    def public(r: CheckResult) -> CheckResult:
        fs = tuple(replace(f, location=f.location.replace("http://127.0.0.1:8000", "https://api.example.com"))
                   for f in r.findings)  # fmt: skip
        return replace(r, findings=fs)

    prod = replace(
        run,
        target={**run.target, "base_url": "https://api.example.com"},
        results=tuple(public(r) for r in run.results),
    )
    text = post_launch_monitoring_plan(prod)
    assert "not production SLOs" not in text
    assert "Baseline measured by the last audit against `https://api.example.com`: p95 41 ms" in text
    assert "`https://api.example.com/health`" in text
