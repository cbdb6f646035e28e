"""Why checks could not verify their claim, grouped by root cause with the one action that
resolves each group.

A not-verified result (SKIP or ERROR) carries its reason. The reason is matched against
:data:`CAUSES` (first match wins); a result whose reason points at another check ("the image did
not build (see DEP-010)") joins that check's group, so one missing image registry is one line
with one action, not ten. Reasons no rule knows stay visible as their own group ("other"): every
not-verified check is listed, none is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prodaudit.model import CheckResult, Status


@dataclass(frozen=True)
class Cause:
    """A root cause: ``pattern`` (regex, case-insensitive) is searched in the reason; its named
    groups fill ``{placeholders}`` in the key, the title and the action."""

    key: str
    title: str
    action: str
    pattern: str


CAUSES: tuple[Cause, ...] = (
    Cause(
        "fleet-job:{job}",
        "A fleet job delivered no audit (docs/fleet.md)",
        "open the job's CI log ({job}), fix what stopped it, re-run it and merge again "
        "(`prodaudit plan` prints its command)",
        r"the fleet job for (?P<job>\S+)(?: \([^)]*\))? wrote no audit\.json",
    ),
    Cause(
        "extra:{extra}",
        "prodaudit[{extra}] is not installed",
        "`pip install 'prodaudit[{extra}]'` and re-run",
        r"install prodaudit\[(?P<extra>[\w-]+)\]",
    ),
    Cause(
        "audit-tools",
        "The audit's own scanners are not installed",
        "`pip install 'prodaudit[audit]'` (bandit, pip-audit) and re-run",
        r"\b(bandit|pip-audit) is not installed",
    ),
    Cause(
        "docker",
        "No Docker engine",
        "start one: `bash scripts/services.sh up` (Debian: installs and starts dockerd and "
        "Compose v2), then re-run",
        r"no docker engine|docker cli is not installed|docker compose \(v2 plugin\) is not installed",
    ),
    Cause(
        "registry",
        "No image registry reachable",
        "build a local base image (`bash scripts/build-base-image.sh`) and set "
        "`[docker] base_image`; load the images the compose file pulls (`docker load`)",
        r"image registry",
    ),
    Cause(
        "vuln-db",
        "Vulnerability service unreachable",
        "give offline advisories: `--vuln-db DIR` (OSV JSON files), or run where pip-audit "
        "reaches its service",
        r"vulnerability service|pip-audit could not",
    ),
    Cause(
        "audit-account",
        "No audit account",
        "create a dedicated account on the target and set {names} (names configurable in `[auth]`)",
        r"no audit account: set (?P<names>.+)$",
    ),
    Cause(
        "login",
        "The audit account could not log in",
        "check the account's credentials and `[auth] login_url` / `login_body`",
        r"audit account login failed",
    ),
    Cause(
        "live",
        "The backend was not reachable",
        "start the backend and pass `--base-url URL` (or let the audit start the reference target)",
        r"no --base-url given|^target \S+ unreachable",
    ),
    Cause(
        "frontend",
        "The frontend was not reachable",
        "serve the built frontend and pass `--frontend-url URL`",
        r"no --frontend-url given|^frontend \S+ unreachable",
    ),
    Cause(
        "env:{var}",
        "{var} is not set in the audited environment",
        "set `{var}` in the audited env file (`--env-file FILE`) to the production value",
        r"^(?P<var>[A-Z][A-Z0-9_]*) not set in the audited environment",
    ),
    Cause(
        "postgres",
        "The audited database is not PostgreSQL",
        "audit with the production PostgreSQL `DATABASE_URL` in the env file, or set "
        "`PRODAUDIT_SCRATCH_DATABASE_URL` to a scratch PostgreSQL server for the migration "
        "checks",
        r"not (a )?PostgreSQL( URL)?\b|PostgreSQL (URLs )?only|only PostgreSQL",
    ),
    Cause(
        "https",
        "The target was audited over plain HTTP",
        "audit the public deployment: `--base-url https://…`",
        r"plain HTTP|not an https:// target",
    ),
    Cause(
        "env-file",
        "No production env file was given",
        "pass the production env file: `--env-file FILE` (or `env_file` in prodaudit.toml)",
        r"no --env-file|no production env \(",
    ),
    Cause(
        "logs",
        "The target's logs were not available",
        "name the target's log files in `[readiness] log_files` (or let the audit start the target)",
        r"no target logs|target's logs are empty",
    ),
    Cause(
        "no-migrations",
        "No alembic migrations in the repository",
        "nothing to do if the product has no migrations; otherwise set `[database] alembic_ini`",
        r"no alembic\.ini|no revision files",
    ),
    Cause(
        "no-frontend",
        "No frontend in the repository",
        "nothing to do if the product has no frontend; otherwise audit the repository that holds it "
        "(`--repo`) and its built assets",
        r"no frontend sources|no built frontend assets|no index\.html in the repository|no package\.json",
    ),
    Cause(
        "staging",
        "No staging or development env file to compare with",
        'give one: `[readiness] staging_env_file = ".env.staging"`',
        r"staging_env_file|development or staging env file|staging env",
    ),
    Cause(
        "mutations",
        "Calls that write were not allowed",
        "run against a throwaway deployment with `--allow-mutations`",
        r"allow_mutations|--allow-mutations",
    ),
    Cause(
        "not-applicable",
        "Nothing of this kind in the project",
        "nothing to do if that is right; these checks verify it once the project has it",
        r"^no .*\b(found|in the compose files|in the code|in the repository|in the backend)\b|declares no |"
        r"every service is built from the repository|^no \S+ (operation|endpoint|service)",
    ),
    Cause(
        "timeout",
        "Checks timed out",
        "look at the target's latency; raise `check_timeout` if the target is slow by design",
        r"timed out after",
    ),
    Cause(
        "crash",
        "prodaudit could not run the check (an error in prodaudit)",
        "re-run with `-v`, and report the error with the check id",
        r"check crashed|check returned no result",
    ),
)

_SEE = re.compile(r"\((?:see )?(?P<id>[A-Z]{3}-\d{3})\)")


@dataclass
class CauseGroup:
    """Not-verified results sharing one root cause."""

    key: str
    title: str
    action: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def worst(self) -> CheckResult:
        return max(self.results, key=lambda r: (int(r.effective_severity), r.id))


def _match(reason: str) -> tuple[str, str, str] | None:
    for cause in CAUSES:
        m = re.search(cause.pattern, reason, re.I)
        if m:
            vals = {k: (v or "").strip() for k, v in m.groupdict().items()}
            return (cause.key.format(**vals), cause.title.format(**vals), cause.action.format(**vals))
    return None


def classify(
    result: CheckResult, by_id: Mapping[str, CheckResult], _seen: frozenset[str] = frozenset()
) -> tuple[str, str, str]:
    """``(key, title, action)`` of the result's root cause."""
    reason = result.reason or "; ".join(f.message for f in result.findings if not f.status.verified)
    ref = _SEE.search(reason)
    if ref and ref.group("id") in by_id and ref.group("id") not in _seen | {result.id}:
        other = by_id[ref.group("id")]
        if not other.status.verified:
            return classify(other, by_id, _seen | {result.id})
        if other.status is Status.FAIL:
            return (
                f"blocked:{other.id}",
                f"Blocked by {other.id}, which failed ({other.title})",
                f"fix {other.id} first; these checks run once it passes",
            )
    hit = _match(reason)
    if hit is not None:
        return hit
    return ("other", "Other reasons (each check's own)", "see each check's reason")


def group_causes(results: Iterable[CheckResult], all_results: Iterable[CheckResult] = ()) -> list[CauseGroup]:
    """Not-verified ``results`` grouped by cause; groups ordered by their worst severity, then size.
    ``all_results`` (default: ``results``) resolves references to other checks."""
    items = list(results)
    by_id = {r.id: r for r in (list(all_results) or items)}
    groups: dict[str, CauseGroup] = {}
    for r in items:
        key, title, action = classify(r, by_id)
        groups.setdefault(key, CauseGroup(key, title, action)).results.append(r)
    for g in groups.values():
        g.results.sort(key=lambda r: (-int(r.effective_severity), r.id))
    ordered = sorted(
        groups.values(),
        key=lambda g: (g.key == "other", -int(g.worst.effective_severity), -len(g.results), g.key),
    )
    return ordered
