"""The per-suite sections rendered from ``AuditRun.facts``: shown when the fact exists, "not
measured in this run" otherwise, no value from the env graph, and the screenshots embedded in
index.html through the writer's evidence loader (capped, confined to ``<run dir>/evidence``)."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import replace
from pathlib import Path

from prodaudit.model import AuditRun
from prodaudit.report import rerender, write_reports
from prodaudit.report.evidence import PNG_MAGIC, Screenshots, load_screenshots
from prodaudit.report.html import HtmlRenderer
from prodaudit.report.markdown import (
    ConfigurationValidationRenderer,
    SecurityAuditRenderer,
    TestResultsSummaryRenderer,
)

SHOTS = "readiness.screenshots"


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real (tiny) PNG, built by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    )


def without_facts(run: AuditRun, *keys: str) -> AuditRun:
    return replace(run, facts={k: v for k, v in run.facts.items() if k not in keys})


def test_test_results_summary_sections(run: AuditRun) -> None:
    md = TestResultsSummaryRenderer().format(run)
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Checks",
        "## API operations",
        "## Auth flow",
        "## LLM integration",
        "## Frontend",
        "## Performance baseline",
        "## Screenshots",
        "## Check details",
    ]
    # every operation, with what was done and why not
    assert "3 operation(s) in the OpenAPI document: 1 ok, 1 warn, 1 not exercised." in md
    assert "| DELETE | `/notes/{note_id}` | required | not exercised |  | FUN-013: mutating" in md
    assert "FUN-011 without credentials: 401 ok (7.4 ms)<br>FUN-012 with the audit account" in md
    # HTML and pipes in a note cannot break the table or inject markup
    assert "&lt;b&gt;debug&lt;/b&gt; \\| raw" in md and "<b>debug" not in md
    # the auth flow step by step, in order, a missing response said so
    assert "| 5 | FUN-022 | old token after logout |" in md
    assert (
        "| 6 | FUN-023 | log in with wrong password | `POST http://127.0.0.1:8000/auth/token` "
        "| no response | error | timed out |" in md
    )
    # LLM from the results, frontend not run
    assert "| PASS | FUN-030 | LLM endpoint answers a small prompt within the timeout | 0.86 s |" in md
    assert "Not measured in this run: no frontend check (FUN-040–049) ran." in md
    # performance baseline table
    assert (
        "| liveness | `GET http://127.0.0.1:8000/health` | 200 (198) | 15.1 | 40.8 | 54.8 | 195.1 "
        "| 468.1 | 1.01 % | 0 |" in md
    )
    # screenshots relative to the report directory
    assert "![screenshot phone](evidence/rdy-030-phone-390px.png)" in md


def test_missing_facts_say_not_measured(run: AuditRun) -> None:
    bare = replace(
        without_facts(run, "operations", "auth_flow", "performance", SHOTS, "env_graph", "security_headers"),
        results=tuple(r for r in run.results if not r.id.startswith("FUN-03")),
    )
    md = TestResultsSummaryRenderer().format(bare)
    for text in (
        "no `operations` fact",
        "no `auth_flow` fact",
        "no LLM check (FUN-030–039) ran",
        "no frontend check (FUN-040–049) ran",
        "no `performance` fact",
        "no `readiness.screenshots` fact",
    ):
        assert f"Not measured in this run: {text}" in md, text
    assert "| Method | Path |" not in md and "| Target | Request |" not in md
    assert "Not measured in this run: no `env_graph` fact" in ConfigurationValidationRenderer().format(bare)
    assert "Not measured in this run: no `security_headers` fact" in SecurityAuditRenderer().format(bare)
    html = HtmlRenderer().format(bare)
    # 5 functional + env graph + header grades + bandit; no readiness check ran, no screenshot fact
    assert html.count('class="muted not-measured"') == 8
    assert 'id="facts-screenshots"' not in html and 'id="facts-screenshots"' in HtmlRenderer().format(run)
    # a fact of the wrong shape (from another version) is "not measured", never a crash
    odd = replace(bare, facts={"operations": "?", "auth_flow": {"x": 1}, "performance": [], "env_graph": []})
    assert "Not measured in this run: no `operations` fact" in TestResultsSummaryRenderer().format(odd)
    assert "Not measured in this run: no `env_graph` fact" in ConfigurationValidationRenderer().format(odd)


def test_config_variable_table_never_shows_values(run: AuditRun) -> None:
    graph = run.facts["env_graph"]
    marker = "v4lue-that-must-not-show"
    variables = [{**v, "default": f"{marker}-{i}", "value": marker} for i, v in enumerate(graph["variables"])]
    leaky = replace(run, facts={**run.facts, "env_graph": {**graph, "variables": variables}})
    md = ConfigurationValidationRenderer().format(leaky)
    html = HtmlRenderer().format(leaky)
    assert marker not in md and marker not in html
    assert "sqlite:///./app.db" not in ConfigurationValidationRenderer().format(run)
    assert "| Variable | Required | Secret | Documented | Read at | Set in |" in md
    assert "| `JWT_SECRET` | yes | yes | no | app/settings.py:10 | .env.example, docker-compose.yml |" in md
    assert "| `DATABASE_URL` | compose | yes | .env.example:31 | app/db.py:5 | .env.example |" in md
    assert (
        '<td data-label="Variable"><code>LOG_LEVEL</code></td><td data-label="Required">no</td>'
        '<td data-label="Secret">no</td>' in html
    )


def test_security_header_grades(run: AuditRun) -> None:
    md = SecurityAuditRenderer().format(run)
    assert (
        "| api | `http://127.0.0.1:8000/users/me` | **B** | 85/100 | Cache-Control: no-store missing |" in md
    )
    assert "'unsafe-inline' &lt;script&gt;; no COOP" in md
    html = HtmlRenderer().format(run)
    assert '<td data-label="Grade"><b>D</b></td><td data-label="Score">40/100</td>' in html
    assert "&lt;script&gt;; no COOP" in html


def test_html_embeds_screenshots_passed_in(run: AuditRun) -> None:
    image = png()
    shots = Screenshots({"desktop": image}, {"phone": "4096 KB, over the 2048 KB embedding cap"})
    html = HtmlRenderer(shots).format(run)
    uri = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
    assert html.count(uri) == 1
    assert 'alt="screenshot desktop"' in html
    assert "Not embedded: 4096 KB, over the 2048 KB embedding cap." in html
    plain = HtmlRenderer().format(run)  # no loader: named, not embedded, and says why
    assert "data:image/png" not in plain
    assert plain.count("Not embedded: the report writer did not load the evidence files") == 2


def _run_with_shots(run: AuditRun, shots: dict[str, str]) -> AuditRun:
    return replace(run, facts={**run.facts, SHOTS: shots})


def test_loader_confines_and_caps(run: AuditRun, tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    ev = run_dir / "evidence"
    ev.mkdir(parents=True)
    small, big = png(), png(400, 400, (1, 2, 3)) + b"\x00" * 3000
    (ev / "a.png").write_bytes(small)
    (ev / "big.png").write_bytes(big)
    (ev / "fake.png").write_bytes(b"<svg onload=alert(1)>")
    (ev / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "outside.png").write_bytes(small)
    r = _run_with_shots(
        run,
        {
            "a": "/elsewhere/evidence/a.png",  # looked up by name in this run's evidence/
            "big": str(ev / "big.png"),
            "fake": "fake.png",
            "txt": "notes.txt",
            "escape": "../outside.png",
            "gone": "missing.png",
        },
    )
    got = load_screenshots(r, run_dir, max_image_bytes=len(small) + 10)
    assert dict(got.images) == {"a": small}
    assert set(got.omitted) == {"big", "fake", "txt", "escape", "gone"}
    assert "embedding cap" in got.omitted["big"]
    assert got.omitted["fake"] == "the file is not a PNG image"
    assert got.omitted["txt"] == "not a PNG file name"
    assert "not in this report directory" in got.omitted["escape"]  # ../ is dropped: evidence/outside.png
    both = load_screenshots(
        _run_with_shots(run, {"a": "a.png", "b": "a.png"}), run_dir, max_total_bytes=len(small) + 1
    )
    assert list(both.images) == ["a"] and "already embeds" in both.omitted["b"]
    assert load_screenshots(without_facts(run, SHOTS), run_dir) == Screenshots()


def test_write_reports_embeds_evidence_and_rerender_keeps_it(run: AuditRun, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    ev = reports / run.run_id / "evidence"
    ev.mkdir(parents=True)
    image = png(6, 6, (10, 120, 200))
    (ev / "rdy-030-desktop-1280px.png").write_bytes(image)
    out = write_reports(run, reports)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," + base64.b64encode(image).decode("ascii") in html
    assert "Not embedded: evidence/rdy-030-phone-390px.png is not in this report directory." in html
    before = html
    (out / "index.html").unlink()
    rerender(out / "audit.json")
    assert (out / "index.html").read_text(encoding="utf-8") == before
