"""docs/deployment-checklist.md: the deployment steps, each with its status in the last audit.

The steps say what to do and what to check; they assert nothing about the product. What the audit
established is in each item's line, from the checks that declare the item (the seed checklist's
state, ``report/checklist_view.py``): ✅ verified (by which checks), ❌ failing, ❔ not verified
(and why) or only set up where the item needs observed evidence, ✋ manual (no check covers it;
signed items from ``prodaudit-attestations.toml`` are shown as signed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prodaudit.guides._common import SYMBOL, attested, cell, esc, header, problems, results_for
from prodaudit.model import AuditRun
from prodaudit.report.checklist_view import ItemState, build_checklist


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
        "`docker compose build`; check that the image is multi-stage, runs as a non-root user, "
        "defines a HEALTHCHECK and stays within the size budget.",
        ("3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.1.5", "P.2.1"),
    ),
    Step(
        "Validate the Compose file",
        "`docker compose config --quiet`; check that database and Redis data live on volumes, "
        "and which ports are published.",
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
        "Set persistence, `maxmemory` and an eviction policy that fit Redis' role (cache or queue).",
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
        "Check that logs are structured and collected, `/metrics` is scraped, error tracking "
        "receives events and alerts reach a person (see `post-launch-monitoring-plan.md`).",
        ("5.1.1", "5.1.4", "5.2.1", "5.2.3", "5.3.1", "P.1.5", "10.2.3"),
    ),
    Step(
        "Rollback plan ready",
        "Write down the previous image tag and a database restore point, and rehearse the "
        "rollback procedure.",
        ("10.2.1", "10.2.2", "9.1.2", "9.1.3"),
    ),
)


#: how each item state reads in the checklist (the box is ticked only for "pass" and signed items)
ITEM_TEXT = {
    "pass": "verified",
    "fail": "FAILING",
    "waived": "failing, waived",
    "unverified": "not verified",
    "warn": "met with warnings, not verified",
    "weak": "not observed: only set up or configured",
    "present": "present, not verified",
    "not-run": "not run in this audit",
    "manual": "manual",
}
#: order of severity for a step's overall state (worst first)
STEP_ORDER = ("fail", "waived", "unverified", "warn", "weak", "present", "not-run", "manual", "pass")


def verified_by(st: ItemState) -> str:
    """Which checks established the item, and how (extension point for evidence levels)."""
    return st.check_summary


def item_line(st: ItemState) -> str:
    """One checklist line; only a verified or signed item is ticked, and it says by whom."""
    att = st.attestation
    if isinstance(att, Mapping):
        return (
            f"- [x] {esc(st.item.text)} — signed by {att.get('name')} ({att.get('role')}, {att.get('date')})"
        )
    mark = "x" if st.state == "pass" else " "
    note = f"{SYMBOL[st.state]} {ITEM_TEXT[st.state]}"
    if st.checks:
        note += f" ({verified_by(st)})"
        reasons = [f"{r.id}: {esc(r.reason)}" for r in st.checks if not r.status.verified and r.reason]
        if reasons:
            note += " — " + "; ".join(reasons)
    elif st.mapped:
        note += f" ({', '.join(st.mapped)})"
    if st.shows_manual:
        note += f" — verify: {esc(st.item.manual)}"
    return f"- [{mark}] {esc(st.item.text)} — {note}"


def step_state(items: list[ItemState]) -> str:
    states = {st.state for st in items if not st.attestation}
    return next((s for s in STEP_ORDER if s in states), "pass" if items else "manual")


def deployment_checklist(run: AuditRun) -> str:
    cl = build_checklist(run)
    by_id = {st.item.id: st for g in cl.groups for st in g.items}
    lines = header(run, "Deployment checklist")
    lines += [
        "Work through the steps in order. Each step says what to do; its status and every item's "
        "state come from the last audit: ✅ verified (by the checks named) · ❌ failing · "
        "❔ not verified, or only set up where the item needs the product observed · "
        "✋ manual (no automated check). Only verified or signed items are ticked.",
        "",
        "| # | Step | Status |",
        "|---|---|---|",
    ]
    per_step = [(s, [by_id[i] for i in s.items if i in by_id], results_for(run, s.items)) for s in STEPS]
    for n, (step, items, _) in enumerate(per_step, 1):
        st = step_state(items)
        lines.append(f"| {n} | {cell(step.title)} | {SYMBOL[st]} {ITEM_TEXT[st]} |")
    lines.append("")
    for n, (step, items, results) in enumerate(per_step, 1):
        st = step_state(items)
        lines += [
            f"## {n}. {step.title}",
            "",
            f"**Do:** {step.how}",
            "",
            f"Status: {SYMBOL[st]} {ITEM_TEXT[st]}",
            "",
        ]
        for p in problems(run, results):
            lines.append(f"- ❗ {p}")
        lines += [item_line(it) for it in items]
        lines.append("")
    lines += ["## Sign-off", ""]
    signed = attested(run)
    for so in cl.signoffs:
        att = signed.get(so.item.id)
        if isinstance(att, Mapping):
            lines.append(f"- [x] {so.item.text}: {att.get('name')}, {att.get('role')}, {att.get('date')}")
        else:
            lines.append(f"- [ ] {so.item.text}: ____________________")
    return "\n".join(lines).rstrip() + "\n"
