"""The decision screen on the console and in the CI step summary: failures first by severity,
not-verified checks grouped by cause with one action each and nothing dropped, passes counted,
titles that read as the requirement, one severity everywhere, no line cut at 80 columns."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from prodaudit.model import AuditRun, Finding, Severity, Status
from prodaudit.report.console import decision_screen, output_console, to_text
from prodaudit.report.step_summary import append_step_summary, step_summary


def test_order_and_grouping(run: AuditRun) -> None:
    text = to_text(run)
    lines = text.splitlines()
    assert lines[0].strip().startswith("NO-GO")
    i_fail, i_unv, i_warn = (
        text.index(h) for h in ("Requirements not met", "Not verified", "Met, with warnings")
    )
    assert i_fail < i_unv < i_warn
    fails = [ln.split()[1] for ln in lines if ln.startswith("  ✗")]
    assert fails[:3] == ["SEC-001", "CFG-010", "DEP-010"]  # critical, high, low
    # the title is the requirement, the result says which way it went
    sec = next(ln for ln in lines if "SEC-001" in ln and "✗" in ln)
    assert "JWT alg none rejected — NOT MET → NO-GO" in sec
    # one severity everywhere: the effective one (critical) although the check's default is high
    assert " critical " in sec
    # variants folded into one finding
    assert "token with alg=… accepted" in text and "3 variants: none; None; NONE" in text
    assert text.count("token with alg=") == 1
    # RST literals shown as code, not as ``double backticks``
    assert "``" not in text and 'jwt.decode(token, key, algorithms=["HS256"])' in text
    # not verified by cause: the dependent check joins its root cause, with the action
    registry = text.index("No image registry reachable — 2 check(s)")
    assert "scripts/build-base-image.sh" in text[registry : registry + 400]
    assert text.index("DEP-014", registry) < text.index("Vulnerability service unreachable")
    # every not-verified check listed, none dropped; passes folded into a count
    for r in run.results:
        if not r.status.verified:
            assert r.id in text, r.id
    assert "Met: 4 of 14 checks." in text
    assert "FUN-001" not in text  # a pass is counted, not listed
    # temporary files are named, not pointed at
    assert "/tmp/" not in text and "runtime.env, line 9 (a temporary file of the audit" in text
    assert "score" not in text.lower()


def test_the_request_ledger_is_one_line(run: AuditRun) -> None:
    """What the audit did to the target, from audit.json's ``requests``; nothing without a ledger."""
    text = to_text(run)
    line = next(ln for ln in text.splitlines() if ln.startswith("Requests sent:"))
    assert line == "Requests sent: 57 (GET 35, POST 22) · refused 1 (mutation 1) · LLM calls 0"
    assert text.index("Met: ") < text.index("Requests sent:") < text.index("Decision: ")
    assert "Requests sent" not in to_text(replace(run, requests={}))


def test_no_silent_truncation(run: AuditRun) -> None:
    many = tuple(
        replace(run.results[0], id=f"DEP-{100 + i}", status=Status.SKIP, findings=(),
                reason="REDIS_URL not set in the audited environment", severity=Severity.HIGH)
        for i in range(30)
    )  # fmt: skip
    text = to_text(replace(run, results=(*run.results, *many)))
    assert "REDIS_URL is not set in the audited environment — 30 check(s)" in text
    assert all(f"DEP-{100 + i}" in text for i in range(30))
    assert "more" not in text.split("REDIS_URL is not set")[1].split("\n\n")[0]


def test_long_lines_are_not_wrapped_in_a_pipe(run: AuditRun, monkeypatch: pytest.MonkeyPatch) -> None:
    long = "x" * 150
    r = replace(
        run.results[3], findings=(Finding(Status.FAIL, f"finding {long}", "GET http://127.0.0.1:8000/me"),)
    )
    buf = io.StringIO()
    monkeypatch.delenv("COLUMNS", raising=False)
    console = output_console(file=buf)
    assert not console.is_terminal and console.width >= 200
    console.print(decision_screen(replace(run, results=(r, *run.results[4:]))), soft_wrap=True)
    assert any(line.endswith(long) for line in buf.getvalue().splitlines())


def test_step_summary(run: AuditRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = step_summary(run)
    assert md.startswith("## prodaudit: NO-GO")
    assert "### Requirements not met (3)" in md and "### Not verified (4), by cause" in md
    assert "| ✗ | SEC-001 | **critical** | JWT alg none rejected |" in md
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    assert append_step_summary(run) == path
    assert path.read_text(encoding="utf-8") == "earlier step\n" + md  # appended, not replaced
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert append_step_summary(run) is None


def test_cli_prints_the_screen_and_writes_the_summary(
    run: AuditRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodaudit.cli import print_results

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    print_results(run, output_console())
    out = capsys.readouterr().out
    assert "Requirements not met (3)" in out and "Decision:" in out
    assert "## prodaudit: NO-GO" in summary.read_text(encoding="utf-8")
    data = json.loads(json.dumps(run.to_dict()))
    assert data["results"][3]["effective_severity"] == "critical" and data["results"][3]["severity"] == "high"
