"""Capability test, NOT an accuracy measurement: given advisories, the fact is found at its line.

No advisory data is available on this machine and none is shipped: the field numbers in
``docs/accuracy.md`` are measured without ``--vuln-db`` (CFG-063 is SKIP there). This test writes
a throw-away OSV directory for three pins the manifests call vulnerable (package, version and
advisory id as the manifest states them) and checks that ``harness.py --vuln-db DIR`` passes it to
the audit and that CFG-063's findings then land on those facts at their manifest lines — a lock
entry (``uv.lock``) and requirements lines. It says nothing about how many vulnerable pins a real
advisory database would reveal."""

from __future__ import annotations

import json
from pathlib import Path

import harness
from conftest_services import require_service

#: (manifest folder, fact id, OSV package name, introduced, fixed or "" (no fix), advisory id)
GIVEN = (
    ("benavlabs__FastAPI-boilerplate", "F26", "starlette", "0", "0.47.2", "CVE-2025-54121"),
    ("benavlabs__FastAPI-boilerplate", "F27", "ecdsa", "0", "", "CVE-2024-23342"),
    ("miguelgrinberg__microblog-api", "F14", "werkzeug", "0", "3.0.6", "CVE-2024-49767"),
)


def _osv_dir(root: Path) -> Path:
    root.mkdir()
    for _, _, pkg, introduced, fixed, ident in GIVEN:
        events = [{"introduced": introduced}, *([{"fixed": fixed}] if fixed else [])]
        (root / f"{ident}.json").write_text(json.dumps({
            "schema_version": "1.6.0", "id": ident, "modified": "2025-01-01T00:00:00Z",
            "summary": f"test advisory for {pkg} (capability test, not real data)",
            "affected": [{"package": {"ecosystem": "PyPI", "name": pkg},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
        }), encoding="utf-8")
    return root


def test_given_advisories_the_fact_is_found_at_its_line(tmp_path: Path) -> None:
    require_service("field corpus", harness.DEFAULT_CORPUS.is_dir(),
                    f"{harness.DEFAULT_CORPUS} is absent (it is ../shared/field wherever CI runs)")
    db = _osv_dir(tmp_path / "osv")
    out = tmp_path / "field.json"
    folders = sorted({g[0] for g in GIVEN})
    args = [a for f in folders for a in ("--project", f)]
    assert harness.main([*args, "--vuln-db", str(db), "--json", str(out)]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["meta"]["vuln_db"] == str(db)
    by_folder = {p["folder"]: p for p in summary["projects"]}
    for folder, fact_id, pkg, _, _, ident in GIVEN:
        project = by_folder[folder]
        found = {f["fact"]["id"]: f for f in project["found"]}
        assert fact_id in found, f"{folder} {fact_id} ({pkg}) not found given {ident}"
        fact = found[fact_id]["fact"]
        hits = [h for h in found[fact_id]["by"] if h["check"] == "CFG-063"]
        assert any(h["path"] == fact["path"] and h["line"] is not None
                   and abs(h["line"] - fact["line"]) <= harness.LINE_TOLERANCE for h in hits), hits
        assert not [n for n in project["noise"] if n["check"] == "CFG-063"], project["noise"]
