"""RDY-100–119: launch readiness — staging vs production configuration, a rollback path, and
the age of the last security audit."""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from dotenv import dotenv_values

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    Skip,
    Status,
    check,
    errored,
    failed,
    load_json,
    passed,
    read_document,
    warned,
)
from prodaudit.checks.readiness._compose import compose_docs
from prodaudit.checks.readiness._docs import judge_document
from prodaudit.checks.readiness._scan import py_sources
from prodaudit.redact import is_secret_name

_TAG_NAME = re.compile(r"(_TAG|_IMAGE|IMAGE_|_VERSION|^VERSION|RELEASE)$|^IMAGE", re.I)
_PROFILE_NAME = re.compile(r"^(ENV|ENVIRONMENT|APP_ENV|NODE_ENV|PROFILE|STAGE|DEPLOY_ENV)$", re.I)
MAX_RUNS = 200


def _read_env(path: Path) -> dict[str, str]:
    try:
        return {k: v or "" for k, v in dotenv_values(path).items()}
    except (OSError, UnicodeDecodeError) as exc:
        raise Skip(f"{path}: unreadable: {exc}") from None


@check(
    "RDY-100",
    "Staging configuration matches production (names, image tags, distinct secrets)",
    severity=Severity.MEDIUM,
    checklist=("10.1.1",),
    evidence=Evidence.PARSED,
)
def staging_vs_production(ctx: Context) -> list[Finding]:
    """The staging env file (``readiness.staging_env_file``) and the production env file
    (``--env-file``) define the same variable names, the same image tags/versions, and different
    values for every secret. Only names are reported, never values.

    Staging only predicts production when it runs the same image with the same configuration
    shape; a variable missing on one side is a production-only code path nobody tested, and a
    secret shared between the two lets a staging leak open production.

    Remediation: derive both files from one template, promote the same image tag, and generate
    separate secrets per environment.
    """
    staging_cfg = ctx.cfg.readiness.staging_env_file
    if staging_cfg is None:
        raise Skip("readiness.staging_env_file is not set: nothing to compare production with")
    if ctx.cfg.env_file is None:
        raise Skip("no production env file (--env-file) to compare staging with")
    staging_path = staging_cfg if staging_cfg.is_absolute() else ctx.repo / staging_cfg
    for p in (staging_path, ctx.cfg.env_file):
        if not p.is_file():
            raise Skip(f"{p}: no such env file")
    prod = _read_env(ctx.cfg.env_file)
    stag = _read_env(staging_path)
    for env in (prod, stag):
        ctx.redact.register_env(env)
    findings: list[Finding] = []
    only_prod = sorted(set(prod) - set(stag))
    only_stag = sorted(set(stag) - set(prod))
    if only_prod:
        findings.append(
            failed(f"only in production: {', '.join(only_prod)}", location=str(staging_path))
        )
    if only_stag:
        findings.append(
            failed(f"only in staging: {', '.join(only_stag)}", location=str(ctx.cfg.env_file))
        )
    common = sorted(set(prod) & set(stag))
    tags = [n for n in common if _TAG_NAME.search(n) and not is_secret_name(n)]
    for n in tags:
        if prod[n] != stag[n]:
            findings.append(
                warned(
                    f"{n} differs between staging and production: staging does "
                    "not run the image that will be released",
                    location=str(staging_path),
                )
            )
    shared = [n for n in common if is_secret_name(n) and prod[n] and prod[n] == stag[n]]
    if shared:
        findings.append(
            failed(
                f"secrets identical in staging and production: {', '.join(shared)}",
                location=str(ctx.cfg.env_file),
                severity=Severity.CRITICAL,
            )
        )
    if not findings:
        secrets = [n for n in common if is_secret_name(n)]
        findings.append(
            passed(
                f"{len(common)} variables in both files; image tags equal "
                f"({', '.join(tags) or 'none declared'}); {len(secrets)} secret(s) all different",
                location=str(staging_path),
            )
        )
    return findings


def _downgrade_empty(fn: ast.FunctionDef) -> bool:
    body = [
        s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if not body:
        return True
    if all(isinstance(s, ast.Pass) for s in body):
        return True
    return any(isinstance(s, ast.Raise) for s in body[:1])


@check(
    "RDY-101",
    "A rollback path exists (migration downgrades, versioned images, plan)",
    severity=Severity.MEDIUM,
    needs=("repo",),
    checklist=("10.2.2",),
    evidence=Evidence.PARSED,
)
def rollback_path(ctx: Context) -> list[Finding]:
    """A release can be rolled back: every alembic migration has a real ``downgrade()`` (not
    ``pass`` or ``raise``), the compose images are versioned (a tag variable such as
    ``${IMAGE_TAG}``, not ``latest`` or untagged) so the previous tag can be redeployed, and the
    documentation has a rollback section that says what to do (commands or steps; a heading alone
    makes the pass *present, not verified*).

    Without downgrades a bad migration can only be fixed forward under pressure; with ``latest``
    tags nobody knows which image was running before the deploy.

    Remediation: write a ``downgrade()`` for every migration (test it: upgrade, downgrade,
    upgrade), tag images with the release version or commit and record the previous tag, and
    document the rollback steps.
    """
    findings: list[Finding] = []
    migrations = [
        m
        for m in py_sources(ctx).migrations
        if re.search(r"^\s*(down_)?revision\s*[:=]", m.text, re.M)
    ]
    missing = []
    for mod in migrations:
        fns = {n.name: n for n in mod.tree.body if isinstance(n, ast.FunctionDef)}
        down = fns.get("downgrade")
        if down is None or _downgrade_empty(down):
            missing.append(mod.line(down) if down else mod.rel)
    if missing:
        findings.append(
            failed(
                f"{len(missing)} of {len(migrations)} migration(s) cannot be "
                f"downgraded: {', '.join(missing[:6])}",
                location=missing[0],
            )
        )
    elif migrations:
        findings.append(passed(f"all {len(migrations)} migration(s) have a downgrade()"))
    for proj, data in compose_docs(ctx):
        services = data.get("services")
        for name, svc in services.items() if isinstance(services, dict) else []:
            if not isinstance(svc, dict) or "build" not in svc:
                continue
            image = str(svc.get("image", ""))
            if not image:
                findings.append(
                    warned(
                        f"service {name} is built without an image name/tag: the "
                        "previous release cannot be redeployed by tag",
                        location=proj.loc("services", name, "image"),
                    )
                )
            elif (
                ":" not in image.rsplit("/", 1)[-1]
                or image.endswith((":latest", ":local"))
                and "${" not in image
            ):
                findings.append(
                    warned(
                        f"service {name} image {image} is not versioned",
                        location=proj.loc("services", name, "image"),
                    )
                )
            else:
                findings.append(
                    passed(
                        f"service {name} image {image} is versioned",
                        location=proj.loc("services", name, "image"),
                    )
                )
    plan = judge_document(ctx, "rollback procedure", r"roll-?back|revert|downgrade")
    if plan[0].status is Status.FAIL:
        plan = [replace(plan[0], severity=Severity.LOW)]
    return findings + plan


def _security_runs(output: Path) -> list[tuple[Path, dict[str, object]]]:
    """audit.json files under ``output`` that contain security-suite results, newest first."""
    candidates: list[Path] = []
    latest = output / "latest" / "audit.json"
    if latest.is_file():
        candidates.append(latest)
    if output.is_dir():
        runs = sorted(
            (p for p in output.glob("*/audit.json") if p.parent.name != "latest"),
            key=lambda p: p.parent.name,
            reverse=True,
        )
        candidates += runs[:MAX_RUNS]
    out = []
    for path in candidates:
        try:
            data = load_json(read_document(path), str(path))
        except InputError:
            continue
        if not isinstance(data, dict):
            continue
        results = data.get("results") or []
        if any(
            isinstance(r, dict)
            and r.get("suite") == "security"
            and r.get("status") in ("pass", "fail", "warn")
            for r in results
        ):
            out.append((path, data))
    out.sort(key=lambda pd: str(pd[1].get("finished_at", "")), reverse=True)
    return out


@check(
    "RDY-102", "The final security scan is recent", severity=Severity.MEDIUM, checklist=("10.1.2",),
    evidence=Evidence.PARSED,
)
def security_scan_age(ctx: Context) -> list[Finding]:
    """The newest ``audit.json`` under the output directory (``<output>/latest/audit.json``, else
    ``<output>/<run>/audit.json``) that contains security-suite results finished less than
    ``readiness.security_scan_max_age_days`` days ago, and its decision is not NO-GO.

    The launch checklist asks for a final security scan: a scan weeks old does not cover the code
    that is about to ship. The check judges a previous security audit (its age and decision) also
    when this audit runs the security suite; with no previous one it is SKIP then (this run's own
    security results count in its decision, but the check cannot see them), FAIL otherwise.

    Remediation: run ``invoke audit.security`` (or ``nox -s security``) on the release candidate
    and fix or waive its findings before launch.
    """
    runs = _security_runs(ctx.cfg.output)
    if not runs and "security" in ctx.suites:
        raise Skip(
            "no previous security audit under "
            f"{ctx.cfg.output}: this audit's own security results are judged by its decision, "
            "not by this check (it cannot see them while they run)"
        )
    if not runs:
        return [
            failed(
                f"no previous security audit found under {ctx.cfg.output} "
                "(latest/audit.json or <run>/audit.json with security results)"
            )
        ]
    path, data = runs[0]
    finished = str(data.get("finished_at", ""))
    try:
        when = dt.datetime.fromisoformat(finished)
    except ValueError:
        return [
            errored(f"{path}: finished_at {finished!r} is not an ISO timestamp", location=str(path))
        ]
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    age = dt.datetime.now(dt.UTC) - when
    days = age.total_seconds() / 86400
    limit = ctx.cfg.readiness.security_scan_max_age_days
    decision = str(data.get("decision", "?"))
    results = data.get("results")
    sec = [
        r
        for r in (results if isinstance(results, list) else [])
        if isinstance(r, dict) and r.get("suite") == "security"
    ]
    failing = [str(r.get("id")) for r in sec if r.get("status") == "fail" and not r.get("waived")]
    desc = (
        f"last security audit {data.get('run_id', path.parent.name)} finished {finished} "
        f"({days:.1f} days ago; {len(sec)} security checks, {len(failing)} failing; "
        f"decision {decision})"
    )
    if days > limit:
        return [failed(desc + f": older than {limit} days", location=str(path))]
    if decision == "NO-GO":
        return [
            failed(
                desc + ": the scan's decision was NO-GO",
                location=str(path),
                evidence="failing: " + ", ".join(failing[:20]),
            )
        ]
    return [passed(desc, location=str(path))]
