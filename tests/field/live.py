"""Live field harness (issue 17): start the runnable projects of the field corpus on 127.0.0.1
and audit them with the functional and security suites, as a new user would.

    nox -s field -- --live [--project NAME]... [--allow-mutations] [--json PATH] [--keep DIR]
    python tests/field/live.py [same options]

For each project with a runnable ``[live]`` recipe: copy (and render) it, install it into a cached
venv of the interpreter its manifest names, create its databases, start the fake LLM provider
when it needs one, seed it, start it and wait for its health path (``live_recipe.py``). Then run
``prodaudit run --suite functional,security`` through the real CLI with the least configuration a
new user would write: the base URL, the audit account in ``PRODAUDIT_AUDIT_USERNAME`` /
``PRODAUDIT_AUDIT_PASSWORD`` (a second one for BOLA when the manifest has ``account2``), and in a
configuration file at most ``[auth] login_url`` (the manifest's ``login_path``) and
``login_body`` (with secret values moved into environment variables). An account the manifest
says must be registered (``account.register``) is registered first through prodaudit's own
registration (read-only mode), unless the seed creates it; with ``--allow-mutations`` the audit
gets no such account and has to register its own. The findings are scored against ``[[live.must_flag]]`` /
``[[live.must_not_flag]]`` (``live_score.py``), with the login outcome and every CRITICAL/HIGH
failure no fact explains. Every process started is stopped and every database dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import harness
import live_recipe as lr
import live_score as ls

AUDIT_TIMEOUT_S = 1200.0
SUITES = "functional,security"
SECRET_KEY = re.compile(r"secret|password|passwd|token|api[_-]?key", re.I)
ACCOUNT_ENV = ("PRODAUDIT_AUDIT_USERNAME", "PRODAUDIT_AUDIT_PASSWORD")
ACCOUNT2_ENV = ("PRODAUDIT_AUDIT2_USERNAME", "PRODAUDIT_AUDIT2_PASSWORD")
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TERM")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def audit_config(recipe: lr.LiveRecipe) -> tuple[str, dict[str, str]]:
    """The configuration file a new user would write, and the secret env vars it names: the
    login path, and a login body whose secret-named literal values move into env vars."""
    lines = ["# written by tests/field/live.py: the least configuration of a new user", "[auth]"]
    env: dict[str, str] = {}
    if recipe.login_path:
        lines.append(f"login_url = {_toml_value(recipe.login_path)}")
    if recipe.login_body:
        body: dict[str, Any] = {}
        for key, value in recipe.login_body.items():
            text = str(value)
            if SECRET_KEY.search(key) and not re.fullmatch(r"\{[a-z_:A-Z0-9]+\}", text):
                name = "FIELD_LOGIN_" + re.sub(r"\W", "_", key).upper()
                env[name] = text
                body[key] = "{env:" + name + "}"
            else:
                body[key] = value
        lines.append(f"login_body = {_toml_value(body)}")
    return "\n".join(lines) + "\n", env


def audit_env(accounts: Sequence[lr.Account | None], extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH}
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    for names, account in zip((ACCOUNT_ENV, ACCOUNT2_ENV), accounts, strict=False):
        if account is not None and account.password:
            env[names[0]], env[names[1]] = account.username, account.password
    env.update(extra)
    return env


def run_audit(run: lr.Running, workdir: Path, accounts: Sequence[lr.Account | None], *,
              mutations: bool, timeout: float = AUDIT_TIMEOUT_S) -> tuple[dict[str, Any] | None, str]:
    """``prodaudit run`` (functional, security) against the started project; (audit.json, error)."""
    text, secret_env = audit_config(run.recipe)
    cfg = workdir / "prodaudit-live.toml"
    cfg.write_text(text, encoding="utf-8")
    out = workdir / ("reports-mutations" if mutations else "reports-readonly")
    cmd = [*harness.prodaudit_command(), "run", "--suite", SUITES, "--repo", str(run.repo),
           "--base-url", run.base_url, "--no-start", "--format", "json", "--output", str(out),
           "--config", str(cfg), "-q"]
    if mutations:
        cmd.append("--allow-mutations")
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=audit_env(accounts, secret_env),
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"prodaudit run timed out after {timeout:.0f} s"
    (workdir / "prodaudit.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    docs = sorted(out.glob("*/audit.json"), key=lambda p: p.stat().st_mtime)
    if proc.returncode not in (0, 1, 2) or not docs:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-10:])
        return None, f"prodaudit run exited {proc.returncode}: {tail[-900:]}"
    return json.loads(docs[-1].read_text(encoding="utf-8")), ""


def register_account(base_url: str, account: lr.Account, recipe: lr.LiveRecipe) -> str:
    """Create the audit account through prodaudit's own registration (the operation the manifest
    names); a note saying what happened."""
    from prodaudit.auth.accounts import register_with

    method, _, path = account.register.partition(" ")
    try:
        outcome = asyncio.run(register_with(base_url, path, account.username, account.password,
                                            login_path=recipe.login_path or None))
    except Exception as exc:  # reported in the table: the login then fails for a known reason
        return f"registering {account.username} at {method} {path} crashed: {type(exc).__name__}: {exc}"
    return f"registered {account.username} at {method} {path}: {outcome}"


def health_compare(run: lr.Running, before: int | None) -> str:
    after = lr.http_status(run.base_url + run.recipe.health)
    alive = "alive" if run.server.alive() else "EXITED"
    worse = before is not None and before < 500 and (after is None or after >= 500)
    return (f"health GET {run.recipe.health}: {before} before, {after} after, server {alive}"
            + (" — LEFT WORSE THAN FOUND" if worse or not run.server.alive() else ""))


def audit_project(corpus: Path, path: Path, topics: Mapping[str, ls.LiveTopic], workdir: Path, *,
                  mutations: bool) -> ls.LiveScore:
    """Start, audit and score one project; every failure is recorded in the score."""
    recipe = lr.load_recipe(path)
    manifest = harness.load_manifest(path)
    must, must_not = ls.load_live_facts(path)
    expected = recipe.account is not None
    seconds: dict[str, float] = {}
    notes: list[str] = []

    def failed(error: str) -> ls.LiveScore:
        return ls.score_live(recipe.folder, must, must_not, [], topics,
                             ls.Login(expected, False, "not attempted: " + error[:200]), [error],
                             notes, seconds)

    if not recipe.runnable:
        return failed(f"not runnable: {recipe.why_not}")
    t0 = time.monotonic()
    try:
        repo = harness.prepare_copy(corpus, manifest, workdir)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return failed(f"preparation failed: {exc}")
    try:
        with lr.started(recipe, repo, workdir, lr.tree_digest(corpus / recipe.folder)) as run:
            seconds.update(run.seconds)
            notes.append(f"python {run.venv.python_version}, venv "
                         + ("cached" if run.venv.cached else f"built in {run.venv.seconds:.0f} s"))
            accounts: list[lr.Account | None] = [recipe.account, recipe.account2]
            to_register = [a for a in accounts if a is not None and a.register
                           and not lr.seeded(recipe, a)]
            if mutations:  # the audit registers its own accounts
                accounts = [None if a in to_register else a for a in accounts]
            else:  # the account a new user would already have
                notes += [register_account(run.base_url, a, recipe) for a in to_register]
            before = lr.http_status(run.base_url + recipe.health)
            t1 = time.monotonic()
            audit, error = run_audit(run, workdir, accounts, mutations=mutations)
            seconds["audit"] = time.monotonic() - t1
            notes.append(health_compare(run, before))
    except lr.RecipeError as exc:
        seconds["total"] = time.monotonic() - t0
        return failed(str(exc))
    seconds["total"] = time.monotonic() - t0
    if audit is None:
        return failed(error)
    findings = ls.observed_live(audit, run.base_url)
    login = ls.login_outcome(audit, expected)
    errors = [f"{r['id']} ERROR: {r.get('reason', '')}" for r in audit.get("results", [])
              if r.get("status") == "ERROR"]
    notes += leftovers(audit)
    return ls.score_live(recipe.folder, must, must_not, findings, topics, login, errors, notes,
                         seconds)


def leftovers(audit: Mapping[str, Any]) -> list[str]:
    """What the audit says it created and could not delete, and whether it left the target
    worse (``facts.accounts`` / ``facts.target_state``)."""
    facts = audit.get("facts") or {}
    notes = []
    accounts = facts.get("accounts") or {}
    for item in accounts.get("left", []) if isinstance(accounts, dict) else []:
        notes.append(f"left on the target: {item}")
    state = facts.get("target_state") or {}
    if isinstance(state, dict) and state.get("worse"):
        notes.append("the audit reports the target worse than it found it: "
                     + "; ".join(str(w) for w in state["worse"]))
    return notes


# ---------------------------------------------------------------------------------- rendering


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}%" if d else "n/a"


def render_text(scores: Sequence[ls.LiveScore]) -> str:
    out: list[str] = []
    for s in scores:
        out.append(f"=== {s.folder}")
        login = ("ok" if s.login.ok else "FAILED") if s.login.expected else \
            ("ok" if s.login.ok else "n/a (no account)")
        out.append(f"login {login}: {s.login.detail[:300]}")
        out.append(f"must-flag found {len(s.found)}/{s.must_flag_total} "
                   f"({_pct(len(s.found), s.must_flag_total)}); must-not flagged {len(s.violated)}; "
                   f"unexpected CRITICAL/HIGH {len(s.unexpected)}")
        out += [f"  NOTE    {n}" for n in s.notes]
        out += [f"  ERROR   {e[:400]}" for e in s.errors]
        for fact, hits in s.found:
            out.append(f"  FOUND   {fact.id} [{fact.topic}] {fact.operation} by "
                       + ", ".join(sorted({h.check for h in hits})))
        out += [f"  MISSED  {f.id} [{f.topic or ','.join(sorted(f.checks))}] {f.operation} — {f.why}"
                for f in s.missed]
        for fact, hits in s.violated:
            out.append(f"  FLAGGED {fact.id} [{fact.topic}] {fact.operation} — {fact.why}")
            out += [f"          by {h.describe()}" for h in hits]
        out += [f"  REVIEW  {u.describe()}" for u in s.unexpected]
    out.append("")
    out.append(render_table(scores))
    return "\n".join(out)


def render_table(scores: Sequence[ls.LiveScore]) -> str:
    """The markdown table of docs/accuracy.md's live section."""
    rows = ["| project | login | must-flag found | must-not flagged | unexpected CRITICAL/HIGH | "
            "audit s |", "|---|---|---|---|---|---|"]
    found = total = violated = unexpected = logins = expected = 0
    for s in scores:
        login = "n/a" if not s.login.expected else ("yes" if s.login.ok else "**no**")
        if s.errors and not s.found and not s.login.ok:
            login += " (did not run)"
        rows.append(f"| {s.folder} | {login} | {len(s.found)}/{s.must_flag_total} | "
                    f"{len(s.violated)} | {len(s.unexpected)} | {s.seconds.get('audit', 0):.0f} |")
        found, total = found + len(s.found), total + s.must_flag_total
        violated, unexpected = violated + len(s.violated), unexpected + len(s.unexpected)
        expected += s.login.expected
        logins += s.login.expected and s.login.ok
    rows.append(f"| **overall** | {logins}/{expected} | {found}/{total} ({_pct(found, total)}) | "
                f"{violated} | {unexpected} | |")
    return "\n".join(rows)


def _fact_json(f: ls.LiveFact) -> dict[str, Any]:
    return {"id": f.id, "topic": f.topic, "operation": f.operation, "why": f.why}


def summary_json(scores: Sequence[ls.LiveScore], meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "meta": dict(meta),
        "projects": [
            {
                "folder": s.folder,
                "login": dataclasses.asdict(s.login),
                "must_flag": {"found": len(s.found), "total": s.must_flag_total},
                "must_not_flagged": len(s.violated),
                "found": [{"fact": _fact_json(f), "by": [dataclasses.asdict(h) for h in hits]}
                          for f, hits in s.found],
                "missed": [_fact_json(f) for f in s.missed],
                "violated": [{"fact": _fact_json(f), "by": [dataclasses.asdict(h) for h in hits]}
                             for f, hits in s.violated],
                "unexpected": [dataclasses.asdict(u) for u in s.unexpected],
                "errors": list(s.errors),
                "notes": list(s.notes),
                "seconds": {k: round(v, 1) for k, v in s.seconds.items()},
            }
            for s in scores
        ],
    }


# ---------------------------------------------------------------------------------- main


def run_live(corpus: Path, paths: Sequence[Path], *, mutations: bool = False,
             keep: Path | None = None) -> list[ls.LiveScore]:
    topics = ls.load_live_topics()
    scores = []
    for path in paths:
        if keep is not None:
            workdir = keep / path.stem
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            scores.append(audit_project(corpus, path, topics, workdir, mutations=mutations))
            continue
        with tempfile.TemporaryDirectory(prefix="prodaudit-live-") as tmp:
            scores.append(audit_project(corpus, path, topics, Path(tmp), mutations=mutations))
    return scores


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nox -s field -- --live", description=__doc__.split("\n\n")[0])
    p.add_argument("--live", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--project", action="append", default=[],
                   help="only this project (folder name or part of it; repeatable)")
    p.add_argument("--allow-mutations", action="store_true",
                   help="audit with --allow-mutations (the audit registers its own accounts)")
    p.add_argument("--json", type=Path, dest="json_path", help="write the summary as JSON here")
    p.add_argument("--corpus", type=Path, default=harness.DEFAULT_CORPUS)
    p.add_argument("--keep", type=Path, help="work in this directory and keep copies, logs, reports")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    if not ns.corpus.is_dir():
        print(f"field --live: the corpus is not at {ns.corpus} (use --corpus)", file=sys.stderr)
        return 3
    try:
        paths = harness.select_manifests(harness.manifest_paths(), ns.project)
    except harness.ManifestError as exc:
        print(f"field --live: {exc}", file=sys.stderr)
        return 3
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    scores = run_live(ns.corpus, paths, mutations=ns.allow_mutations, keep=ns.keep)
    print(render_text(scores))
    if ns.json_path is not None:
        meta = {"started": started, "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "commit": harness._git_commit(), "suites": SUITES, "mutations": ns.allow_mutations}
        ns.json_path.parent.mkdir(parents=True, exist_ok=True)
        ns.json_path.write_text(json.dumps(summary_json(scores, meta), indent=2) + "\n",
                                encoding="utf-8")
        print(f"summary: {ns.json_path}")
    return 0


def _exit_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM/SIGINT end the run through the normal unwinding: servers stopped, databases
    dropped (a background run ignores SIGINT unless a handler is set)."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    sys.exit(main())
