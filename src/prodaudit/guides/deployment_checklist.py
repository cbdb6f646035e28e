"""docs/deployment-checklist.md: the deployment steps, each with its live status from the last
audit.

A step's status comes from the checks that declare the step's checklist items: ❌ a check failed,
❔ a check could not verify, ✅ verified, ✋ no check covers it (a person verifies it; signed items
from ``prodaudit-attestations.toml`` are shown as signed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prodaudit.guides._common import SYMBOL, cell, header, problems, results_for, state, status_line
from prodaudit.model import AuditRun


@dataclass(frozen=True)
class Step:
    title: str
    how: str
    items: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step(
        "Prepare the production environment file",
        "Start from `.env.example`; set every required variable (see `configuration-guide.md`); "
        "generate fresh secrets (`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
        "never reuse development values; keep the file out of the repository.",
        ("2.1.1", "2.1.2", "2.1.3", "2.1.4", "2.1.5", "P.1.1", "P.1.2", "P.3.1", "P.3.2"),
    ),
    Step(
        "Check dependencies",
        "Pin every dependency; run `pip-audit` (or `prodaudit run --suite config`) and resolve "
        "known vulnerabilities; confirm licences.",
        ("2.2.1", "2.2.2", "2.2.3", "2.2.4"),
    ),
    Step(
        "Build the image",
        "`docker compose build`; the image is multi-stage, runs as non-root, has a HEALTHCHECK "
        "and stays within the size budget.",
        ("3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.1.5", "P.2.1"),
    ),
    Step(
        "Validate the Compose file",
        "`docker compose config --quiet`; check volumes (database and Redis data persist), "
        "networks and published ports.",
        ("P.2.2", "P.2.3", "P.2.4"),
    ),
    Step(
        "Back up, then migrate the database",
        "Take a backup (and know how to restore it), then `alembic upgrade head`; confirm "
        "`alembic current` is at head and downgrade works in staging.",
        ("3.2.4", "3.2.5", "9.1.1", "P.1.3", "3.2.1", "3.2.2", "3.2.3"),
    ),
    Step(
        "Provision Redis",
        "Persistence, `maxmemory` and an eviction policy that fit Redis' role (cache or queue).",
        ("P.1.4", "3.3.1", "3.3.2", "3.3.3", "3.3.4"),
    ),
    Step(
        "Start the stack and wait for health",
        "`docker compose up -d`; wait until every container is healthy and `/health/ready` "
        "reports the database, Redis and the LLM provider.",
        ("P.2.5", "9.2.4"),
    ),
    Step(
        "Verify the security configuration live",
        "JWT rules, CORS allowlist, rate limits, security headers, HTTPS redirect and HSTS "
        "(`prodaudit run --suite security`).",
        (
            "8.1.1",
            "8.1.2",
            "8.1.3",
            "8.1.4",
            "8.2.1",
            "8.2.2",
            "8.2.3",
            "8.2.4",
            "P.3.3",
            "P.3.4",
            "P.3.5",
            "1.3.1",
            "1.3.2",
            "1.3.7",
        ),
    ),
    Step(
        "Smoke-test the product",
        "Register/login, `/me`, the LLM chat, the frontend calling the API "
        "(`prodaudit run --suite functional`).",
        ("4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.3.1"),
    ),
    Step(
        "Confirm monitoring",
        "Logs are structured and collected, `/metrics` is scraped, error tracking receives "
        "events, alerts reach a person (see `post-launch-monitoring-plan.md`).",
        ("5.1.1", "5.1.4", "5.2.1", "5.2.3", "5.3.1", "P.1.5", "10.2.3"),
    ),
    Step(
        "Rollback plan ready",
        "The previous image tag and a database restore point are known; the rollback "
        "procedure has been rehearsed.",
        ("10.2.1", "10.2.2", "9.1.2", "9.1.3"),
    ),
)


def _attested(run: AuditRun) -> Mapping[str, Any]:
    raw = run.extras.get("attestations", {})
    items = raw.get("items", {}) if isinstance(raw, Mapping) else {}
    return items if isinstance(items, Mapping) else {}


def deployment_checklist(run: AuditRun) -> str:
    from prodaudit.checklist import load_items

    texts = {i.id: i for i in load_items()}
    attested = _attested(run)
    lines = header(run, "Deployment checklist")
    lines += [
        "Work through the steps in order. Each step shows its status in the last audit: "
        "✅ verified · ⚠️ verified with warnings or waived · ❌ failing · ❔ not verified · "
        "✋ manual (no automated check).",
        "",
        "| # | Step | Status |",
        "|---|---|---|",
    ]
    per_step = [(s, results_for(run, s.items)) for s in STEPS]
    for n, (step, results) in enumerate(per_step, 1):
        lines.append(f"| {n} | {cell(step.title)} | {SYMBOL[state(results)]} {state(results)} |")
    lines.append("")
    for n, (step, results) in enumerate(per_step, 1):
        lines += [f"## {n}. {step.title}", "", f"Status: {status_line(results)}", "", step.how, ""]
        for p in problems(results, limit=8):
            lines.append(f"- ❗ {p}")
        for item_id in step.items:
            item = texts.get(item_id)
            if item is None:
                continue
            covered = results_for(run, (item_id,))
            att = attested.get(item_id)
            if covered:
                mark = "x" if state(covered) in ("pass", "warn") else " "
                note = status_line(covered)
            elif isinstance(att, Mapping):
                mark, note = (
                    "x",
                    f"signed by {att.get('name')} ({att.get('role')}, {att.get('date')})",
                )
            else:
                mark, note = " ", "manual"
            lines.append(f"- [{mark}] {item.text} — {note}")
        lines.append("")
    lines += ["## Sign-off", ""]
    for item in texts.values():
        if item.kind != "signoff":
            continue
        att = attested.get(item.id)
        if isinstance(att, Mapping):
            lines.append(
                f"- [x] {item.text}: {att.get('name')}, {att.get('role')}, {att.get('date')}"
            )
        else:
            lines.append(f"- [ ] {item.text}: ____________________")
    return "\n".join(lines).rstrip() + "\n"
