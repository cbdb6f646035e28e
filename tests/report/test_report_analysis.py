"""The analysis behind every renderer: root causes of not-verified checks, variant grouping,
inline code, locations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prodaudit.model import AuditRun, CheckResult, Finding, Severity, Status
from prodaudit.report.causes import classify, group_causes
from prodaudit.report.locations import display, temporary
from prodaudit.report.text import html_inline, md_cell, md_inline, plain
from prodaudit.report.variants import group_findings


def _skip(cid: str, reason: str, status: Status = Status.SKIP, sev: Severity = Severity.HIGH) -> CheckResult:
    return CheckResult(cid, "deployment", f"check {cid}", sev, status, reason=reason)


@pytest.mark.parametrize(
    ("reason", "key"),
    [
        ("no Docker engine reachable: Cannot connect to the Docker daemon", "docker"),
        ("not verified: the build needs an image registry this engine cannot reach (Get ...)", "registry"),
        ("vulnerabilities not verified: pip-audit could not reach its vulnerability service", "vuln-db"),
        (
            "not verified: pip-audit could not audit any of 57 packages (vulnerability service unreachable)",
            "vuln-db",
        ),
        ("no audit account: set PRODAUDIT_AUDIT_USERNAME and PRODAUDIT_AUDIT_PASSWORD", "audit-account"),
        (
            "psycopg is not installed: install prodaudit[database] (pip install 'prodaudit[database]')",
            "extra:database",
        ),
        ("bandit is not installed in this environment: install prodaudit[audit]", "extra:audit"),
        ("REDIS_URL not set in the audited environment", "env:REDIS_URL"),
        ("DATABASE_URL is not PostgreSQL (sqlite); set PRODAUDIT_SCRATCH_DATABASE_URL", "postgres"),
        ("sslmode applies to PostgreSQL URLs only", "postgres"),
        ("the target is served over plain HTTP on 127.0.0.1 (loopback/private)", "https"),
        ("no --base-url given and no target started: live checks not verified", "live"),
        ("target http://127.0.0.1:9 unreachable: ConnectError", "live"),
        ("timed out after 180 s", "timeout"),
        ("check crashed: KeyError: 'x' at foo.py:3", "crash"),
        ("the OpenAPI document declares no apiKey security scheme", "not-applicable"),
        ("something nobody anticipated", "other"),
    ],
)
def test_root_causes(reason: str, key: str) -> None:
    assert classify(_skip("DEP-001", reason), {})[0] == key


def test_audit_account_action_names_the_variables() -> None:
    key, title, action = classify(
        _skip("SEC-001", "no audit account: set PRODAUDIT_AUDIT_USERNAME and PRODAUDIT_AUDIT_PASSWORD"), {}
    )
    assert "PRODAUDIT_AUDIT_USERNAME and PRODAUDIT_AUDIT_PASSWORD" in action


def test_dependents_join_their_root_cause() -> None:
    build = _skip("DEP-010", "not verified: the build needs an image registry", Status.ERROR)
    dep = _skip("DEP-014", "the image did not build (see DEP-010)", sev=Severity.CRITICAL)
    chain = _skip("DEP-016", "the image defines no HEALTHCHECK (see DEP-014)")
    groups = group_causes([build, dep, chain])
    assert [(g.key, [r.id for r in g.results]) for g in groups] == [
        ("registry", ["DEP-014", "DEP-010", "DEP-016"])
    ]
    # a dependency that failed: the group says to fix it first
    failed = replace(build, status=Status.FAIL, reason="")
    (g,) = group_causes([dep], [failed, dep])
    assert g.key == "blocked:DEP-010" and "fix DEP-010 first" in g.action
    # a reference loop cannot recurse forever
    a, b = _skip("DEP-020", "x (see DEP-021)"), _skip("DEP-021", "y (see DEP-020)")
    assert {g.key for g in group_causes([a, b])} == {"other"}


def test_groups_ordered_by_worst_severity_other_last() -> None:
    groups = group_causes(
        [
            _skip("A-001", "odd", sev=Severity.CRITICAL),
            _skip("DEP-060", "REDIS_URL not set in the audited environment", sev=Severity.MEDIUM),
            _skip("CFG-063", "pip-audit could not reach its vulnerability service", sev=Severity.HIGH),
        ]
    )
    assert [g.key for g in groups] == ["vuln-db", "env:REDIS_URL", "other"]


def _f(message: str, loc: str = "GET http://x/me", status: Status = Status.FAIL, **kw: object) -> Finding:
    return Finding(status, message, loc, **kw)  # type: ignore[arg-type]


def test_variants_group_only_what_differs_in_the_variant() -> None:
    findings = [
        _f(
            "alg none: the API accepted a token with alg=none, empty signature (HTTP 200)",
            evidence="< HTTP 200  (4 ms)",
        ),
        _f("alg none: the API accepted a token with alg=nOnE, empty signature (HTTP 200)"),
        _f("alg none: the API accepted a token with alg=none, original signature kept (HTTP 200)"),
        _f("a different problem entirely", loc="GET http://x/other"),
        _f(
            "alg none: the API accepted a token with alg=NONE, empty signature (HTTP 200)", status=Status.PASS
        ),
    ]
    groups = group_findings(findings)
    assert [len(g.findings) for g in groups] == [3, 1, 1]
    g = groups[0]
    assert g.message == "alg none: the API accepted a token with alg=… (HTTP 200)"
    assert g.variants == ("none, empty signature", "nOnE, empty signature", "none, original signature kept")
    assert g.rows()[0] == ("none, empty signature", "HTTP 200 (4 ms)")
    # unrelated messages at one location are not merged
    assert len(group_findings([_f("port 5432 published"), _f("no healthcheck for the api")])) == 2
    # identical messages (the same finding twice) are not variants
    assert len(group_findings([_f("same"), _f("same")])) == 2


def test_inline_code_in_every_medium() -> None:
    text = 'use ``jwt.decode(t, k, algorithms=["HS256"])`` and `<b>` not <b>'
    assert md_inline(text) == 'use `jwt.decode(t, k, algorithms=["HS256"])` and `<b>` not &lt;b&gt;'
    assert str(html_inline(text)) == (
        "use <code>jwt.decode(t, k, algorithms=[&#34;HS256&#34;])</code> and "
        "<code>&lt;b&gt;</code> not &lt;b&gt;"
    )
    assert plain(text) == 'use `jwt.decode(t, k, algorithms=["HS256"])` and `<b>` not <b>'
    assert md_cell("a | b ``c|d``") == "a \\| b `c\\|d`"
    assert md_inline("a `` ` `` b") == "a `` ` `` b"


def test_locations(run: AuditRun) -> None:
    assert display(run, "/srv/ultra-mvp/app/main.py:3") == "app/main.py:3"
    assert display(run, "GET http://127.0.0.1:8000/me") == "GET http://127.0.0.1:8000/me"
    tmp = temporary(run, "/tmp/prodaudit-target-abc/runtime.env:9")
    assert (
        tmp is not None
        and str(tmp) == "runtime.env, line 9 (a temporary file of the audit; removed after the run)"
    )
    started = replace(
        run, target={**run.target, "reference_target": True, "env_file": "/var/lib/x/work/runtime.env"}
    )
    assert "written by the audit for the reference target" in display(
        started, "/var/lib/x/work/runtime.env:2"
    )
    assert display(run, "/etc/app/.env:2") == "/etc/app/.env:2"  # a real file outside the repo stays
