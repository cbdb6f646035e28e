"""The audited repository does not configure its own auditor (issue 18).

A ``prodaudit.toml`` or ``[tool.prodaudit]`` inside the audited repository may *describe the
product*: paths, URLs, service names, compose and env files, auth endpoints (``product`` keys).
Keys that loosen or steer the audit — thresholds, skips, waivers, attestations, ``log_files`` and
other evidence sources, ``fail_on``, a profile other than production, budgets, the environment
variables whose secrets the audit uses, where reports go (``policy`` keys) — count only when they
come from the release manager: ``--config`` (or ``PRODAUDIT_CONFIG``) naming a file outside the
repository, or a command-line option. From the repository they are ignored and listed as "set by
the audited repository" in audit.json (``extras.repository_config``) and the reports.

A threshold the repository makes *stricter* than the value it would otherwise have (``stricter``)
is honoured: tightening the policy never loosens it.

``safety`` keys are the owner's request to keep the audit's probes away from the product
(``probes.exclude``: operations with side effects even on GET, such as ``/createdb``). They are
honoured wherever they come from, because a gate never harms the target: a repository-side
exclusion can only remove requests, never add a PASS — every request it refuses is counted in the
request ledger ("refused … excluded N" in the reports and the console), the checks that needed it
report the operations as excluded or not verified, and the release manager's own
``probes.exclude`` adds to it (the tables merge). Every ``AuditConfig`` key is classified here;
``tests/test_repo_policy.py`` fails when a key is added without a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRODUCT = "product"
POLICY = "policy"
SAFETY = "safety"


@dataclass(frozen=True)
class Rule:
    kind: str  # PRODUCT | POLICY | SAFETY
    why: str = ""  # what a policy key does, for the report ("threshold", "skips" ...)
    stricter: str = ""  # "lower" | "higher": a repository value at least as strict is honoured
    order: tuple[str, ...] = ()  # choices, strictest first (a repository value as strict is honoured)


P = Rule(PRODUCT)
THRESHOLD_LOW = Rule(POLICY, "threshold", stricter="lower")
THRESHOLD_HIGH = Rule(POLICY, "threshold", stricter="higher")
BUDGET = Rule(POLICY, "budget of the audit's own probes and time")
CREDENTIALS = Rule(POLICY, "names the environment variable whose secret the audit uses")
EVIDENCE = Rule(POLICY, "evidence source")
RUNNER = Rule(POLICY, "how and where the audit runs")
#: honoured from the repository: it only keeps the audit's probes away from the product
KEEP_AWAY = Rule(SAFETY)

RULES: dict[str, Rule] = {
    # where and how the audit runs
    "repo": RUNNER, "output": RUNNER, "formats": RUNNER, "start_target": RUNNER,
    "config_file": RUNNER, "cache": RUNNER, "request_timeout": BUDGET, "check_timeout": BUDGET,
    "concurrency": BUDGET, "max_body_bytes": BUDGET,
    # the product
    "base_url": P, "frontend_url": P, "openapi": P, "env_file": P, "compose_files": P,
    # decision and governance
    "profile": Rule(POLICY, "profile downgrade", order=("production", "staging", "development")),
    "only": Rule(POLICY, "skips"), "skip": Rule(POLICY, "skips"),
    "allow_mutations": Rule(POLICY, "consent to write to the target"),
    "vuln_db": EVIDENCE, "package_index": EVIDENCE, "waivers": Rule(POLICY, "waivers"),
    "attestations": Rule(POLICY, "attestations"), "baseline": EVIDENCE,
    "fail_on": Rule(POLICY, "exit policy"),
    # a fleet (docs/fleet.md): its services' suites, skips and waivers are the release manager's
    "services": Rule(POLICY, "fleet services (their suites, skips, waivers)"),
    # auth
    "auth.login_url": P, "auth.me_url": P, "auth.refresh_url": P, "auth.logout_url": P,
    "auth.register_url": P, "auth.login_body": P, "auth.username_field": P,
    "auth.token_scheme": P, "auth.admin_paths": P, "auth.login_encoding": P,
    "auth.username_env": CREDENTIALS, "auth.password_env": CREDENTIALS,
    "auth.second_username_env": CREDENTIALS, "auth.second_password_env": CREDENTIALS,
    # probes
    "probes.max_requests": BUDGET, "probes.max_seconds": BUDGET,
    "probes.max_operations": BUDGET, "probes.max_llm_calls": BUDGET,
    "probes.exclude": KEEP_AWAY,
    # jwt
    "jwt.max_access_minutes": THRESHOLD_LOW, "jwt.issuer": P, "jwt.audience": P,
    "jwt.secret_env": CREDENTIALS, "jwt.wordlist": EVIDENCE,
    # cors
    "cors.allowed_origins": P,
    # rate limits
    "rate_limit.login_limit": THRESHOLD_LOW, "rate_limit.llm_limit": THRESHOLD_LOW,
    "rate_limit.reset_limit": THRESHOLD_LOW,
    "rate_limit.margin": THRESHOLD_LOW, "rate_limit.max_requests": BUDGET,
    "rate_limit.max_seconds": BUDGET, "rate_limit.window_seconds": BUDGET,
    "rate_limit.max_reset_wait_seconds": BUDGET,
    "rate_limit.trusted_proxy": Rule(POLICY, "trusts X-Forwarded-For"),
    # performance
    "perf.requests": BUDGET, "perf.concurrency": BUDGET, "perf.max_seconds": BUDGET,
    "perf.p95_warn_ms": THRESHOLD_LOW, "perf.p95_fail_ms": THRESHOLD_LOW,
    "perf.error_rate_warn": THRESHOLD_LOW, "perf.error_rate_fail": THRESHOLD_LOW,
    # health
    "health.liveness_path": P, "health.readiness_path": P,
    "health.max_liveness_ms": THRESHOLD_LOW,
    # llm
    "llm.endpoints": P, "llm.mock_env": P, "llm.timeout_seconds": THRESHOLD_LOW,
    "llm.oversized_prompt_chars": THRESHOLD_LOW,
    # docker
    "docker.image_size_budget_mb": THRESHOLD_LOW, "docker.base_image": P,
    "docker.build_args": P, "docker.service": P, "docker.expected_ports": P,
    "docker.health_url": P, "docker.up_timeout_seconds": BUDGET,
    "docker.build_timeout_seconds": BUDGET, "docker.restart_timeout_seconds": BUDGET,
    "docker.keep_up": RUNNER,
    # the machine's stand-in base image and the cleanup bound are the auditor's, not the product's
    "docker.local_base_image": RUNNER, "docker.cleanup_timeout_seconds": BUDGET,
    # database and redis
    "database.url_env": CREDENTIALS, "database.scratch_url_env": CREDENTIALS,
    "database.alembic_ini": P, "database.python": Rule(POLICY, "interpreter the audit runs"),
    "database.migration_timeout_seconds": BUDGET,
    "redis.url_env": CREDENTIALS, "redis.role": P,
    # licenses and secrets
    "licenses.allow": Rule(POLICY, "license policy"), "licenses.deny": Rule(POLICY, "license policy"),
    "licenses.target_venv": EVIDENCE, "licenses.scope": Rule(POLICY, "license policy"),
    "secrets.max_file_bytes": Rule(POLICY, "scan limit", stricter="higher"),
    "secrets.baseline": Rule(POLICY, "waivers"), "secrets.allow_comment": Rule(POLICY, "waivers"),
    "secrets.engine": RUNNER,
    # exposure and transport
    "exposure.docs_in_production": Rule(POLICY, "threshold", order=("fail", "warn", "allow")),
    "transport.cert_min_days": THRESHOLD_HIGH, "transport.http_url": P,
    # readiness
    "readiness.security_scan_max_age_days": THRESHOLD_LOW,
    "readiness.min_coverage_percent": THRESHOLD_HIGH, "readiness.staging_env_file": P,
    "readiness.chromium_path": Rule(POLICY, "executable the audit runs"),
    "readiness.browser_timeout_seconds": BUDGET, "readiness.log_files": EVIDENCE,
    "readiness.metrics_path": P, "readiness.min_docstring_percent": THRESHOLD_HIGH,
    "readiness.max_file_lines": THRESHOLD_LOW, "readiness.slow_query_ms": THRESHOLD_LOW,
    # observed readiness runs: the target's tests, browsers, load and backups
    "readiness.run_tests": Rule(POLICY, "skips"), "readiness.target_venv": EVIDENCE,
    "readiness.tests_timeout_seconds": BUDGET, "readiness.tests_env_file": P,
    "readiness.venv_build_timeout_seconds": BUDGET, "readiness.venv_cache_dir": RUNNER,
    "readiness.wheelhouse": RUNNER,
    "readiness.firefox_path": Rule(POLICY, "executable the audit runs"),
    "readiness.e2e_timeout_seconds": BUDGET, "readiness.e2e_frontend_url": P, "readiness.load_users": BUDGET,
    "readiness.load_seconds": BUDGET, "readiness.load_max_requests": BUDGET,
    "readiness.load_p95_ms": THRESHOLD_LOW, "readiness.load_max_error_percent": THRESHOLD_LOW,
    # the product's own backup procedure (the audit runs the repository's scripts anyway)
    "readiness.backup_command": P, "readiness.restore_command": P,
    "readiness.backup_timeout_seconds": BUDGET, "readiness.tool_timeout_seconds": BUDGET,
}  # fmt: skip


SECTIONS = frozenset(k.split(".")[0] for k in RULES if "." in k)


def flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    """``{"readiness": {"log_files": [...]}}`` -> ``{"readiness.log_files": [...]}`` (one level of
    sections, as in AuditConfig)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _as_strict(rule: Rule, value: Any, otherwise: Any) -> bool:
    """Whether ``value`` is at least as strict as ``otherwise`` under ``rule``."""
    if rule.order:
        return value in rule.order and otherwise in rule.order and \
            rule.order.index(value) <= rule.order.index(otherwise)
    if rule.stricter and isinstance(value, int | float) and isinstance(otherwise, int | float):
        return value <= otherwise if rule.stricter == "lower" else value >= otherwise
    if rule.stricter and otherwise is None:  # e.g. no limit configured: any limit is stricter
        return isinstance(value, int | float)
    return False


@dataclass(frozen=True)
class Ignored:
    key: str
    value: Any
    why: str
    file: str

    def to_dict(self) -> dict[str, Any]:
        value = str(self.value) if isinstance(self.value, Path) else self.value
        if isinstance(value, list):
            value = [str(v) if isinstance(v, Path) else v for v in value]
        return {"key": self.key, "value": value, "why": self.why, "file": self.file}


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    section, _, key = dotted.partition(".")
    if not key:
        return data.get(section)
    sub = data.get(section)
    return sub.get(key) if isinstance(sub, Mapping) else None


def split_repository_table(
    table: Mapping[str, Any], otherwise: Mapping[str, Any], file: str
) -> tuple[dict[str, Any], list[Ignored]]:
    """The keys of a repository-side table the audit honours (as a nested table) and the ones it
    ignores. ``otherwise`` is the configuration without the repository file (defaults, the
    release manager's file), for the "stricter is honoured" comparison."""
    kept: dict[str, Any] = {}
    ignored: list[Ignored] = []
    for dotted, value in flatten(table).items():
        rule = RULES.get(dotted, Rule(POLICY, "unclassified key"))
        if rule.kind in (PRODUCT, SAFETY) or _as_strict(rule, value, _lookup(otherwise, dotted)):
            section, _, key = dotted.partition(".")
            if key:
                kept.setdefault(section, {})[key] = value
            else:
                kept[section] = value
            continue
        why = rule.why
        if rule.stricter or rule.order:
            why += f" looser than {_lookup(otherwise, dotted)!r}"
        ignored.append(Ignored(dotted, value, why, file))
    return kept, ignored


def is_inside(path: Path, repo: Path) -> bool:
    try:
        path.resolve().relative_to(repo.resolve())
    except ValueError:
        return False
    return True
