"""Decision governance: waivers (validation, location patterns, expiry, unused), attestations,
baseline diff, and their effect on the decision and the exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from prodaudit.cli import main
from prodaudit.config import ConfigError, load_config
from prodaudit.gate import decide
from prodaudit.governance import (
    apply_governance,
    baseline_diff,
    load_attestations,
    load_waivers,
    waive,
)
from prodaudit.model import CheckResult, Finding, Severity, Status

TODAY = dt.date(2026, 11, 20)


def _fail(check_id: str, *locations: str, severity: Severity = Severity.HIGH) -> CheckResult:
    findings = tuple(Finding(Status.FAIL, f"bad at {loc}", loc) for loc in locations)
    return CheckResult(
        id=check_id,
        suite="config",
        title=f"check {check_id}",
        severity=severity,
        status=Status.FAIL,
        findings=findings,
    )


def _res(check_id: str, status: Status, severity: Severity = Severity.HIGH) -> CheckResult:
    return CheckResult(
        id=check_id,
        suite="security",
        title=f"check {check_id}",
        severity=severity,
        status=status,
        reason="why" if not status.verified else "",
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


W = '[[waiver]]\ncheck = "{c}"\nreason = "{r}"\nowner = "{o}"\nexpires = {e}\n'


# ------------------------------------------------------------------ waiver file validation


@pytest.mark.parametrize("missing", ["reason", "owner", "expires"])
def test_waiver_without_required_key_is_a_config_error(tmp_path: Path, missing: str) -> None:
    entry = {"check": '"SEC-001"', "reason": '"r"', "owner": '"o"', "expires": "2027-01-01"}
    del entry[missing]
    path = _write(
        tmp_path / "w.toml", "[[waiver]]\n" + "".join(f"{k} = {v}\n" for k, v in entry.items())
    )
    with pytest.raises(ConfigError) as exc:
        load_waivers(path)
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg and f"'{missing}'" in msg and "SEC-001" in msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (W.format(c="SEC-001", r="", o="o", e="2027-01-01"), "'reason'"),
        (W.format(c="SEC-001", r="r", o="o", e='"next year"'), "'expires'"),
        (W.format(c="SEC-001", r="r", o="o", e="2027-01-01") + 'colour = "red"\n', "'colour'"),
        ("waivers = 1\n", "'waivers'"),
        ("[[waiver]\n", "invalid TOML"),
    ],
)
def test_bad_waiver_files(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path / "w.toml", text)
    with pytest.raises(ConfigError, match=needle):
        load_waivers(path)


def test_waiver_dates_accept_toml_dates_and_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.toml",
        W.format(c="A", r="r", o="o", e="2027-01-01")
        + W.format(c="B", r="r", o="o", e='"2027-02-03"'),
    )
    assert [w.expires for w in load_waivers(path)] == [dt.date(2027, 1, 1), dt.date(2027, 2, 3)]


# ------------------------------------------------------------------ applying waivers


def test_waiver_applies_expires_and_is_listed_unused(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.toml",
        W.format(c="CFG-001", r="vendor fix pending", o="alice", e="2026-12-31")
        + W.format(c="CFG-002", r="old", o="bob", e="2026-11-19")  # expired yesterday
        + W.format(c="CFG-009", r="nothing fails", o="carol", e="2027-01-01")  # unused
        + W.format(c="CFG-003", r="ends today", o="dan", e="2026-11-20"),  # still valid today
    )
    results = [
        _fail("CFG-001", "a.py:1"),
        _fail("CFG-002", "b.py:2"),
        _fail("CFG-003"),
        _res("CFG-004", Status.PASS),
    ]
    out, applied, expired, unused = waive(results, load_waivers(path), TODAY)
    by_id = {r.id: r for r in out}
    assert by_id["CFG-001"].waived and by_id["CFG-001"].waiver == (
        "vendor fix pending (alice, until 2026-12-31)"
    )
    assert by_id["CFG-001"].status is Status.FAIL  # stays visible as a failure
    assert not by_id["CFG-002"].waived
    assert by_id["CFG-003"].waived
    assert [a["check"] for a in applied] == ["CFG-001", "CFG-003"]
    assert expired == [
        {
            "check": "CFG-002",
            "location": "",
            "reason": "old",
            "owner": "bob",
            "expires": "2026-11-19",
            "results": ["CFG-002"],
        }
    ]
    assert [u["check"] for u in unused] == ["CFG-009"]
    # the expired waiver no longer waives: the decision sees the failure
    assert decide(out, "production").verdict == "NO-GO"
    assert decide([by_id["CFG-001"], by_id["CFG-003"]], "production").verdict == "GO"


def test_location_patterns_must_cover_every_failing_finding(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.toml",
        W.format(c="CFG-010", r="test fixtures", o="qa", e="2027-01-01") + 'location = "tests/*"\n',
    )
    waivers = load_waivers(path)
    covered, *_ = waive([_fail("CFG-010", "tests/a.py:1", "tests/b.py:9")], waivers, TODAY)
    partial, _, _, unused = waive([_fail("CFG-010", "tests/a.py:1", "app/x.py:3")], waivers, TODAY)
    bare, *_ = waive([_fail("CFG-010")], waivers, TODAY)
    assert covered[0].waived
    assert not partial[0].waived and [u["check"] for u in unused] == ["CFG-010"]
    assert not bare[0].waived  # a location waiver does not waive a finding without location


def test_id_patterns_and_not_verified_results(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.toml", W.format(c="sec-0*", r="pentest next week", o="sec", e="2027-01-01")
    )
    out, applied, _, _ = waive(
        [
            _res("SEC-001", Status.SKIP, Severity.CRITICAL),
            _res("SEC-002", Status.PASS),
            _res("SEC-100", Status.ERROR),
        ],
        load_waivers(path),
        TODAY,
    )
    assert [r.waived for r in out] == [True, False, False]
    assert applied[0]["results"] == ["SEC-001"]
    assert decide(out, "production").verdict == "CONDITIONAL GO"  # SEC-100 high, not verified


# ------------------------------------------------------------------ attestations


def test_attestations(tmp_path: Path) -> None:
    ok = _write(
        tmp_path / "a.toml",
        '[[attestation]]\nitem = "A.1"\nname = "Tom"\n'
        'role = "Technical lead"\ndate = 2026-11-20\nnote = "reviewed"\n',
    )
    (att,) = load_attestations(ok, ["A.1", "3.2.4"])
    assert (att.item, att.name, att.role, att.date, att.note) == (
        "A.1",
        "Tom",
        "Technical lead",
        dt.date(2026, 11, 20),
        "reviewed",
    )
    unknown = _write(
        tmp_path / "b.toml",
        '[[attestation]]\nitem = "9.9.9"\nname = "x"\nrole = "y"\ndate = 2026-11-20\n',
    )
    with pytest.raises(ConfigError, match="unknown checklist item"):
        load_attestations(unknown, ["A.1"])
    no_role = _write(
        tmp_path / "c.toml", '[[attestation]]\nitem = "A.1"\nname = "x"\ndate = 2026-11-20\n'
    )
    with pytest.raises(ConfigError, match="'role'"):
        load_attestations(no_role, ["A.1"])


# ------------------------------------------------------------------ baseline


def test_baseline_diff() -> None:
    previous = {
        "run_id": "old",
        "decision": "NO-GO",
        "results": [
            {"id": "A-1", "status": "fail", "severity": "high", "title": "a"},
            {"id": "B-1", "status": "fail", "severity": "medium", "title": "b"},
            {"id": "C-1", "status": "pass", "severity": "low", "title": "c"},
            {"id": "D-1", "status": "fail", "severity": "low", "title": "d"},
            {"id": "E-1", "status": "fail", "severity": "low", "title": "e"},
        ],
    }
    now = [_fail("A-1"), _res("B-1", Status.PASS), _fail("C-1"), _res("D-1", Status.SKIP)]
    diff = baseline_diff(previous, now)
    assert [x["id"] for x in diff["new"]] == ["C-1"]
    assert [x["id"] for x in diff["still_failing"]] == ["A-1"]
    assert [x["id"] for x in diff["fixed"]] == ["B-1"]
    assert [(x["id"], x["status"]) for x in diff["no_longer_verified"]] == [
        ("D-1", "skip"),
        ("E-1", "not run"),
    ]
    assert diff["run_id"] == "old"


def test_apply_governance_end_to_end(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    output = tmp_path / "reports"
    (output / "latest").mkdir(parents=True)
    (output / "latest" / "audit.json").write_text(
        json.dumps(
            {
                "run_id": "prev",
                "decision": "NO-GO",
                "results": [{"id": "CFG-001", "status": "fail", "severity": "high", "title": "x"}],
            }
        ),
        encoding="utf-8",
    )
    _write(repo / "prodaudit-waivers.toml", W.format(c="CFG-001", r="r", o="o", e="2999-01-01"))
    _write(
        repo / "prodaudit-attestations.toml",
        '[[attestation]]\nitem = "A.2"\nname = "Sec"\nrole = "Security lead"\ndate = 2026-11-20\n',
    )
    cfg = load_config({"repo": repo, "output": output, "start_target": False})
    results, extras = apply_governance(cfg, [_fail("CFG-001", "x.py:1")], today=TODAY)
    assert results[0].waived
    assert extras["waivers"]["file"] == str(repo / "prodaudit-waivers.toml")
    assert extras["attestations"]["items"]["A.2"]["name"] == "Sec"
    assert extras["baseline"]["run_id"] == "prev"
    assert [x["id"] for x in extras["baseline"]["still_failing"]] == ["CFG-001"]
    assert isinstance(extras["checklist_map"], dict) and "1.1.1" in extras["checklist_map"]
    # explicit files that do not exist are errors, default ones are optional
    cfg2 = load_config(
        {"repo": repo, "output": output, "start_target": False, "baseline": tmp_path / "nope.json"}
    )
    with pytest.raises(ConfigError, match="baseline"):
        apply_governance(cfg2, [])
    empty = tmp_path / "empty"
    empty.mkdir()
    _, extras3 = apply_governance(load_config({"repo": empty, "output": empty / "r"}), [])
    assert extras3["waivers"]["file"] is None and extras3["baseline"] is None


def test_bad_waiver_file_makes_the_cli_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    bad = _write(
        tmp_path / "waivers.toml",
        '[[waiver]]\ncheck = "SEC-001"\nowner = "o"\nexpires = 2027-01-01\n',
    )
    code = main(
        [
            "run",
            "--repo",
            str(repo),
            "--no-start",
            "--only",
            "CFG-005",  # a real check: an unknown id is itself a usage error now
            "-q",
            "--output",
            str(tmp_path / "out"),
            "--waivers",
            str(bad),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1 and str(bad) in err[0] and "'reason'" in err[0]


@pytest.mark.parametrize(
    ("verdict", "fail_on", "code"),
    [
        ("GO", None, 0),
        ("NO-GO", None, 1),
        ("CONDITIONAL GO", None, 2),
        ("CONDITIONAL GO", "conditional", 2),
        ("CONDITIONAL GO", "no-go", 0),
        ("NO-GO", "no-go", 1),
    ],
)
def test_fail_on(verdict: str, fail_on: str | None, code: int) -> None:
    from prodaudit.gate import exit_code

    assert exit_code(verdict, fail_on) == code


def test_oversized_waiver_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "prodaudit-waivers.toml"
    path.write_text("# padding\n" * 600_000)
    with pytest.raises(ConfigError, match=r"over the \d+-byte limit"):
        load_waivers(path)


def test_baseline_that_is_not_json_is_named(tmp_path: Path) -> None:
    base = tmp_path / "old.json"
    base.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON") as err:
        apply_governance(load_config({"repo": tmp_path, "baseline": base, "output": tmp_path}), [])
    assert str(base) in str(err.value)


def test_the_baseline_is_read_up_to_its_facts(tmp_path: Path) -> None:
    from prodaudit.governance import _results_head, load_baseline

    results = [{"id": "CFG-040", "status": "fail", "severity": "critical", "title": "t"}]
    doc = {"schema": "prodaudit/audit/1", "run_id": "r1", "decision": "NO-GO", "results": results,
           "facts": {"env_graph": {"variables": [{"name": f"V{i}"} for i in range(1000)]}},
           "extras": {}}
    written = tmp_path / "reports" / "latest" / "audit.json"
    written.parent.mkdir(parents=True)
    written.write_text(json.dumps(doc, indent=2), encoding="utf-8")  # the layout prodaudit writes
    head = _results_head(written)
    assert head == {k: doc[k] for k in ("schema", "run_id", "decision", "results")}
    cfg = load_config({"repo": tmp_path, "output": tmp_path / "reports"})
    assert load_baseline(cfg) == (written, head)
    # another layout (minified, or facts before results) is read whole, with the same answer
    written.write_text(json.dumps(doc), encoding="utf-8")
    assert _results_head(written) is None and load_baseline(cfg)[1] == doc
    moved = {"facts": doc["facts"], **{k: v for k, v in doc.items() if k != "facts"}}
    written.write_text(json.dumps(moved, indent=2), encoding="utf-8")
    assert _results_head(written) is None and load_baseline(cfg)[1] == moved
