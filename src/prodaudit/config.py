"""AuditConfig: configuration file + CLI options, validated, with one-line errors.

Sources, lowest precedence first: built-in defaults, ``prodaudit.toml`` (or ``[tool.prodaudit]``
in ``pyproject.toml``) found in ``--repo`` (or given by ``--config``), then CLI options.
Secrets never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from prodaudit.config_model import ConfigModel, setting
from prodaudit.errors import ConfigError, InputError
from prodaudit.loaders import load_toml, read_document
from prodaudit.model import SUITES
from prodaudit.repo_policy import Ignored, is_inside, split_repository_table

if TYPE_CHECKING:  # pydantic validates only what the fast tier leaves to it (config_model.py)
    from pydantic import ValidationError

__all__ = ["AuditConfig", "ConfigError", "ServiceConfig", "load_config", "service_config"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_TARGET = PROJECT_ROOT / "examples" / "ultra-mvp"

Profile = Literal["production", "staging", "development"]


def _login_template(v: Any) -> Any:
    """``auth.login_body``: a template table needs {password} and holds no secret itself."""
    if not isinstance(v, dict):
        return v
    from prodaudit.auth.shapes import PASSWORD, secret_literals

    flat = json.dumps(v)
    if PASSWORD not in flat:
        raise ValueError("a login_body template needs the {password} placeholder")
    bad = secret_literals(v)
    if bad:
        raise ValueError(f"{', '.join(bad)}: a secret never lives in the file; write "
                         '"{env:NAME}" and put the value in that environment variable')
    return v


def _path_patterns(v: list[str]) -> list[str]:
    for pattern in v:
        if not pattern.startswith(("/", "*")):
            raise ValueError(f"{pattern!r}: a path pattern starts with / (or *)")
    return v


def _url(v: str | None) -> str | None:
    if v is None:
        return v
    if not v.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return v.rstrip("/")


def _suites(v: list[str] | None) -> list[str] | None:
    if v is None:
        return v
    unknown = [s for s in v if s not in SUITES]
    if unknown or not v:
        raise ValueError(f"unknown suite(s) {unknown} (known: {', '.join(SUITES)})" if unknown
                         else "at least one suite")
    return [s for s in SUITES if s in v]


def _unique_services(v: list[ServiceConfig]) -> list[ServiceConfig]:
    seen: dict[str, int] = {}
    for i, svc in enumerate(v):
        if svc.name in seen:
            raise ValueError(f"duplicate service name {svc.name!r} (services[{seen[svc.name]}] "
                             f"and services[{i}])")
        seen[svc.name] = i
    return v


def _index_url(v: str | None) -> str | None:
    if v is None:
        return v
    if not v.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return v if v.endswith("/") else v + "/"


class _Section(ConfigModel):
    """A table of the configuration (``[auth]``, ``[probes]`` ...)."""


class AuthConfig(_Section):
    login_url: str | None = None
    me_url: str | None = None
    refresh_url: str | None = None
    logout_url: str | None = None
    register_url: str | None = None
    # "auto" (discovered), an encoding that restricts discovery ("form", "json", "multipart",
    # "basic"), or a template table with {username}/{password} (and {env:NAME}) placeholders
    login_body: Literal["auto", "form", "json", "multipart", "basic"] | dict[str, Any] = setting(
        default="auto", check=_login_template)
    login_encoding: Literal["auto", "form", "json", "multipart"] = "auto"  # of a template
    username_field: str | None = None
    token_scheme: str | None = None  # "Bearer", "Token", ... (auto when None)
    username_env: str = "PRODAUDIT_AUDIT_USERNAME"
    password_env: str = "PRODAUDIT_AUDIT_PASSWORD"
    second_username_env: str = "PRODAUDIT_AUDIT2_USERNAME"
    second_password_env: str = "PRODAUDIT_AUDIT2_PASSWORD"
    admin_paths: list[str] = setting(factory=list)


class ProbeConfig(_Section):
    """Bounds and limits of every live probe, enforced in the HTTP layer (``http.py``)."""

    # one check's probe budget (count, and seconds of sending from its first request)
    max_requests: int = setting(default=50, ge=1, le=10_000)
    max_seconds: float = setting(default=20.0, gt=0, le=600)
    # the budget of an OpenAPI operation sweep (FUN-011–013): operations per check
    max_operations: int = setting(default=200, ge=1, le=10_000)
    # potentially billable calls of LLM endpoints in the whole run
    max_llm_calls: int = setting(default=100, ge=0, le=10_000)
    # glob patterns on URL paths no request of the audit may reach, whatever its method
    # (e.g. ["/createdb", "/admin/*"]); relative to the base URL's path or absolute
    exclude: list[str] = setting(factory=list, check=_path_patterns)


class JwtConfig(_Section):
    max_access_minutes: int = setting(default=60, ge=1)
    issuer: str | None = None
    audience: str | None = None
    secret_env: str | None = None  # env var holding the signing secret (staging audits)
    wordlist: Path | None = None


class CorsConfig(_Section):
    allowed_origins: list[str] = setting(factory=list)


class RateLimitConfig(_Section):
    login_limit: int | None = setting(default=None, ge=1)
    llm_limit: int | None = setting(default=None, ge=1)
    reset_limit: int | None = setting(default=None, ge=1)  # password-reset requests (SEC-045)
    margin: int = setting(default=5, ge=0)
    max_requests: int = setting(default=60, ge=1, le=5_000)
    max_seconds: float = setting(default=30.0, gt=0, le=600)
    window_seconds: float | None = setting(default=None, gt=0)
    max_reset_wait_seconds: float = setting(default=0.0, ge=0, le=600)
    trusted_proxy: bool = False


class PerfConfig(_Section):
    requests: int = setting(default=200, ge=1, le=100_000)
    concurrency: int = setting(default=10, ge=1, le=200)
    max_seconds: float = setting(default=10.0, gt=0, le=600)
    p95_warn_ms: float = setting(default=500.0, gt=0)
    p95_fail_ms: float = setting(default=2000.0, gt=0)
    error_rate_warn: float = setting(default=0.0, ge=0, le=1)
    error_rate_fail: float = setting(default=0.01, ge=0, le=1)


class HealthConfig(_Section):
    liveness_path: str | None = None
    readiness_path: str | None = None
    max_liveness_ms: float = setting(default=1000.0, gt=0)


class LlmConfig(_Section):
    endpoints: list[str] = setting(factory=list)
    timeout_seconds: float = setting(default=30.0, gt=0)
    mock_env: list[str] = setting(factory=lambda: ["MOCK_LLM", "LLM_MOCK", "USE_MOCK_LLM"])
    oversized_prompt_chars: int = setting(default=200_000, ge=1000)


class DockerConfig(_Section):
    image_size_budget_mb: float = setting(default=600.0, gt=0)
    # BASE_IMAGE of the builds; unset: PRODAUDIT_BASE_IMAGE, else the Dockerfile's default, else
    # (no registry answers) local_base_image when the engine has it (checks/deployment/_base_image.py)
    base_image: str | None = None
    local_base_image: str | None = "prodaudit/python-base:bookworm"
    # Ctrl-C or the run's end: each cleanup phase (stop, down, remove labelled objects) is bounded
    cleanup_timeout_seconds: float = setting(default=60.0, gt=0, le=900)
    build_args: dict[str, str] = setting(factory=dict)
    service: str | None = None  # the API service (default: detected, prodaudit.product.services)
    up_timeout_seconds: float = setting(default=240.0, gt=0)
    keep_up: bool = False
    expected_ports: list[int] = setting(factory=list)
    build_timeout_seconds: float = setting(default=900.0, gt=0, le=7200)
    restart_timeout_seconds: float = setting(default=60.0, gt=0, le=600)
    health_url: str | None = None  # /health through the host port (default: derived)


class DatabaseConfig(_Section):
    url_env: str = "DATABASE_URL"
    alembic_ini: Path | None = None
    # PostgreSQL server where DEP-041 may create and drop a scratch database (default: the
    # server of url_env); the interpreter that runs alembic (default: the audit's own).
    scratch_url_env: str = "PRODAUDIT_SCRATCH_DATABASE_URL"
    python: Path | None = None
    migration_timeout_seconds: float = setting(default=120.0, gt=0, le=1800)


class RedisConfig(_Section):
    url_env: str = "REDIS_URL"
    role: Literal["cache", "queue", "mixed"] = "cache"


class LicenseConfig(_Section):
    allow: list[str] = setting(factory=list)
    deny: list[str] = setting(factory=lambda: ["AGPL", "GPL", "SSPL"])
    target_venv: Path | None = None
    # "installed": every distribution in target_venv; "pinned": only those the repository pins
    # (for an environment shared with other tools, e.g. the audit's own)
    scope: Literal["installed", "pinned"] = "installed"


class SecretsConfig(_Section):
    max_file_bytes: int = setting(default=2_000_000, ge=1024)
    baseline: Path | None = None
    allow_comment: str = "prodaudit: allow"
    # candidate finder: "auto" (RE2 in process; ripgrep when RE2 is missing), "python", "ripgrep"
    engine: Literal["auto", "python", "ripgrep"] = "auto"


class ExposureConfig(_Section):
    docs_in_production: Literal["warn", "fail", "allow"] = "warn"


class TransportConfig(_Section):
    cert_min_days: int = setting(default=30, ge=0)  # certificate must stay valid this long
    http_url: str | None = None  # where plain HTTP is served (default: http://host of --base-url)


class ReadinessConfig(_Section):
    security_scan_max_age_days: int = setting(default=7, ge=0)
    min_coverage_percent: float = setting(default=60.0, ge=0, le=100)
    staging_env_file: Path | None = None
    chromium_path: Path = Path("/usr/bin/chromium")
    browser_timeout_seconds: float = setting(default=20.0, gt=0, le=300)
    log_files: list[Path] = setting(factory=list)  # extra target log files to scan
    metrics_path: str | None = None
    min_docstring_percent: float = setting(default=40.0, ge=0, le=100)
    max_file_lines: int = setting(default=400, ge=50)
    slow_query_ms: float = setting(default=500.0, gt=0)
    # observed runs of the target's own suites and commands (issue 18), each bounded
    run_tests: bool = True  # run the target's test suite (RDY-045, coverage RDY-041)
    target_venv: Path | None = None  # the target's environment for its tests (--target-venv)
    tests_timeout_seconds: float = setting(default=300.0, gt=0, le=3600)
    tests_env_file: Path | None = None  # services for the target's tests (DATABASE_URL ...)
    venv_build_timeout_seconds: float = setting(default=600.0, gt=0, le=3600)
    venv_cache_dir: Path | None = None  # default ~/.cache/prodaudit/venvs
    wheelhouse: Path | None = None  # offline: install the target's pins from here only
    firefox_path: Path = Path("/usr/bin/firefox-esr")
    e2e_timeout_seconds: float = setting(default=300.0, gt=0, le=3600)
    # where the end-to-end journeys run (a test instance with its own limits); default frontend_url
    e2e_frontend_url: str | None = None
    load_users: int = setting(default=5, ge=1, le=200)
    load_seconds: float = setting(default=20.0, gt=0, le=600)
    load_max_requests: int = setting(default=400, ge=1, le=20000)
    load_p95_ms: float | None = setting(default=None, gt=0)  # unset: p95 is reported, not judged
    load_max_error_percent: float = setting(default=1.0, ge=0, le=100)
    backup_command: str | None = None  # default: the repository's pg_dump script, else pg_dump
    restore_command: str | None = None  # {dump} {database_url}; default pg_restore / psql
    backup_timeout_seconds: float = setting(default=180.0, gt=0, le=3600)
    tool_timeout_seconds: float = setting(default=30.0, gt=0, le=600)  # promtool, amtool, vector ...


# ---- fleets (issue 15): [[services]] ---------------------------------------------------------

#: a service name: used in job ids, report directories and artifact names
SERVICE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"

#: who may set a service key (issue 18): "product" keys describe the product (where it is, how to
#: reach it); "policy" keys loosen or steer the audit and count only from the release manager's
#: configuration. Section tables (``[services.auth]`` ...) follow the top-level rules of their keys.
SERVICE_KEY_KINDS: dict[str, str] = {
    "name": "product", "repo": "product", "repository": "product", "ref": "product",
    "base_url": "product", "frontend_url": "product", "openapi": "product", "env_file": "product",
    "compose_files": "product", "compose_service": "product",
    "profile": "policy", "suites": "policy", "only": "policy", "skip": "policy",
    "waivers": "policy", "attestations": "policy", "baseline": "policy", "vuln_db": "policy",
    "allow_mutations": "policy",
}  # fmt: skip


class ServiceConfig(_Section):
    """One service of a fleet (``[[services]]``). Every key but ``name`` is optional: what a service
    does not set it inherits from the top level of the file (a section key by key). Relative paths
    are relative to the service's ``repo``, which is relative to the configuration file."""

    name: str = setting(pattern=SERVICE_NAME, description="unique; used in job ids and report paths")
    repo: Path | None = setting(default=None, description="the service's directory (sub-folder or checkout)")
    repository: str | None = setting(
        default=None, pattern=r"^[^\s]+$",
        description="what CI checks out into `repo`: owner/name or a git URL")
    ref: str | None = setting(default=None, pattern=r"^[^\s]+$",
                              description="branch, tag or commit to check out")
    base_url: str | None = setting(default=None, check=_url)
    frontend_url: str | None = setting(default=None, check=_url)
    openapi: str | None = None
    env_file: Path | None = None
    compose_files: list[Path] | None = None
    compose_service: str | None = setting(default=None, description="the API service in the compose files")
    profile: Profile | None = None
    suites: list[str] | None = setting(default=None, check=_suites,
                                       description="the suites the fleet runs for it (default: all)")
    only: list[str] | None = None
    skip: list[str] | None = None
    waivers: Path | None = None
    attestations: Path | None = None
    baseline: Path | None = None
    vuln_db: Path | None = None
    allow_mutations: bool | None = None

    auth: AuthConfig | None = None
    probes: ProbeConfig | None = None
    jwt: JwtConfig | None = None
    cors: CorsConfig | None = None
    rate_limit: RateLimitConfig | None = None
    perf: PerfConfig | None = None
    health: HealthConfig | None = None
    llm: LlmConfig | None = None
    docker: DockerConfig | None = None
    database: DatabaseConfig | None = None
    redis: RedisConfig | None = None
    licenses: LicenseConfig | None = None
    secrets: SecretsConfig | None = None
    exposure: ExposureConfig | None = None
    transport: TransportConfig | None = None
    readiness: ReadinessConfig | None = None

    @property
    def planned_suites(self) -> list[str]:
        return list(self.suites or SUITES)

    def model_dump(self, *, mode: Literal["python", "json"] = "python",
                   include: set[str] | None = None, exclude: set[str] | None = None
                   ) -> dict[str, Any]:
        """What the service sets, a section key by key: dumped and validated again (``load_config``
        merges through a dump), a service still inherits everything it does not set."""
        data = super().model_dump(mode=mode, include=include, exclude=exclude)
        given = self.model_fields_set
        out = {}
        for key, dumped in data.items():
            if key not in given:
                continue
            value = getattr(self, key)
            if isinstance(value, _Section) and isinstance(dumped, dict):
                out[key] = {k: v for k, v in dumped.items() if k in value.model_fields_set}
            else:
                out[key] = dumped
        return out


class AuditConfig(ConfigModel):
    """Everything an audit run needs to know. Immutable once built."""

    repo: Path = REFERENCE_TARGET
    base_url: str | None = setting(default=None, check=_url)
    frontend_url: str | None = setting(default=None, check=_url)
    openapi: str | None = None
    env_file: Path | None = None
    compose_files: list[Path] = setting(factory=list)
    profile: Profile = "production"
    only: list[str] = setting(factory=list)
    skip: list[str] = setting(factory=list)
    output: Path = Path("reports")
    formats: list[str] = setting(factory=lambda: ["json", "markdown", "html", "sarif", "junit"])
    allow_mutations: bool = False
    request_timeout: float = setting(default=10.0, gt=0, le=300)
    check_timeout: float = setting(default=180.0, gt=0, le=3600)
    concurrency: int = setting(default=8, ge=1, le=64)
    max_body_bytes: int = setting(default=2_000_000, ge=1024)
    vuln_db: Path | None = None
    #: the package index CFG-067 asks for yanked versions (PEP 691 JSON simple API); unset:
    #: $PRODAUDIT_PACKAGE_INDEX, else https://pypi.org/simple/
    package_index: str | None = setting(default=None, check=_index_url)
    waivers: Path | None = None
    attestations: Path | None = None
    baseline: Path | None = None
    fail_on: Literal["no-go", "conditional"] | None = None
    start_target: bool | None = None  # None: auto (reference target without --base-url)
    cache: bool = True  # content-hash cache of static results (prodaudit/cache.py); --no-cache

    auth: AuthConfig = AuthConfig()
    probes: ProbeConfig = ProbeConfig()
    jwt: JwtConfig = JwtConfig()
    cors: CorsConfig = CorsConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    perf: PerfConfig = PerfConfig()
    health: HealthConfig = HealthConfig()
    llm: LlmConfig = LlmConfig()
    docker: DockerConfig = DockerConfig()
    database: DatabaseConfig = DatabaseConfig()
    redis: RedisConfig = RedisConfig()
    licenses: LicenseConfig = LicenseConfig()
    secrets: SecretsConfig = SecretsConfig()
    exposure: ExposureConfig = ExposureConfig()
    transport: TransportConfig = TransportConfig()
    readiness: ReadinessConfig = ReadinessConfig()
    #: a fleet: one audit per service, merged into one decision (docs/fleet.md)
    services: list[ServiceConfig] = setting(factory=list, check=_unique_services)

    config_file: Path | None = None
    # keys of the audited repository's own configuration that the audit ignored (issue 18)
    _repository_ignored: list[Ignored] = setting(factory=list, private=True)

    @property
    def repository_ignored(self) -> list[dict[str, Any]]:
        """Policy keys set by the audited repository and ignored, for audit.json and reports."""
        return [i.to_dict() for i in self._repository_ignored]

    def service(self, name: str, source: str = "") -> ServiceConfig:
        """The service called ``name`` (a ConfigError naming the known ones otherwise)."""
        for svc in self.services:
            if svc.name == name:
                return svc
        known = ", ".join(s.name for s in self.services) or "none: the file has no [[services]]"
        where = source or str(self.config_file or "configuration")
        raise ConfigError(f"{where}: no service {name!r} (known: {known})")

    @property
    def is_reference_target(self) -> bool:
        try:
            return self.repo.resolve() == REFERENCE_TARGET.resolve()
        except OSError:
            return False

    @property
    def should_start_target(self) -> bool:
        if self.start_target is not None:
            return self.start_target
        return self.base_url is None and self.is_reference_target

    def digest(self) -> str:
        data = self.model_dump(mode="json", exclude={"config_file"})
        raw = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def _find_file(repo: Path, explicit: Path | None) -> tuple[Path | None, dict[str, Any]]:
    """Locate and parse the configuration file; returns (path, table)."""
    candidates: list[tuple[Path, bool]] = []
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
        candidates.append((explicit, explicit.name == "pyproject.toml"))
    else:
        candidates += [(repo / "prodaudit.toml", False), (repo / "pyproject.toml", True)]
    for path, is_pyproject in candidates:
        if not path.is_file():
            continue
        try:
            text = read_document(path)
        except InputError as exc:
            if is_pyproject and explicit is None:
                continue  # the target's own unreadable pyproject.toml: a finding, not our configuration
            raise ConfigError(str(exc)) from None
        try:
            data = load_toml(text, str(path))
        except InputError as exc:
            if is_pyproject and explicit is None and "tool.prodaudit" not in text:
                continue  # the target's own broken pyproject.toml: a finding, not our configuration
            raise ConfigError(str(exc)) from None
        if is_pyproject:
            table = data.get("tool", {}).get("prodaudit")
            if table is None:
                if explicit is not None:
                    raise ConfigError(f"{path}: no [tool.prodaudit] table")
                continue
            return path, table
        return path, data
    return None, {}


_PATH_KEYS = (
    "repo", "env_file", "output", "vuln_db", "waivers", "attestations", "baseline",
)  # fmt: skip


_NESTED_PATH_KEYS = (
    ("jwt", "wordlist"), ("database", "alembic_ini"), ("licenses", "target_venv"),
    ("secrets", "baseline"), ("readiness", "staging_env_file"),
    ("readiness", "tests_env_file"), ("readiness", "wheelhouse"), ("readiness", "target_venv"),
)  # fmt: skip


def _resolve_paths(table: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths in the file are relative to the file's directory."""
    out = dict(table)
    for key in _PATH_KEYS:
        if isinstance(out.get(key), str):
            out[key] = str((base / out[key]).resolve())
    for section, key in _NESTED_PATH_KEYS:
        sub = out.get(section)
        if isinstance(sub, dict) and isinstance(sub.get(key), str):
            out[section] = {**sub, key: str((base / sub[key]).resolve())}
    if isinstance(out.get("compose_files"), list):
        out["compose_files"] = [
            str((base / p).resolve()) if isinstance(p, str) else p for p in out["compose_files"]
        ]
    if isinstance(out.get("services"), list):
        out["services"] = [_resolve_service(s, base) for s in out["services"]]
    return out


def _resolve_service(entry: Any, base: Path) -> Any:
    """A ``[[services]]`` table: ``repo`` relative to the file, the rest relative to ``repo``."""
    if not isinstance(entry, dict):
        return entry
    out = dict(entry)
    if isinstance(out.get("repo"), str):
        out["repo"] = str((base / out["repo"]).resolve())
    root = Path(out["repo"]) if isinstance(out.get("repo"), str) else base
    inner = _resolve_paths({k: v for k, v in out.items() if k not in ("repo", "services")}, root)
    return {**out, **inner}


def _validate(data: dict[str, Any], source: str) -> AuditConfig:
    """``data`` as an AuditConfig; invalid: a ConfigError naming ``source`` and the key. Plainly
    valid data never imports pydantic (``config_model``)."""
    fast = AuditConfig.fast_validate(data)
    if fast is not None:
        return fast
    from pydantic import ValidationError

    try:
        return AuditConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None


def _format_error(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    if len(loc) > 1 and loc[0] == "services" and isinstance(loc[1], int):  # services[1].base_url
        loc = [f"services[{loc[1]}]", *loc[2:]]
    key = ".".join(str(p) for p in loc) or "(root)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    got = err.get("input")
    quiet = err["type"] in ("extra_forbidden", "missing") or loc == ["services"]
    got_s = "" if quiet else f" (got {got!r})"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: key '{key}': {msg}{got_s}{more}"


def load_config(
    cli: dict[str, Any] | None = None,
    *,
    config_file: Path | None = None,
) -> AuditConfig:
    """Build the configuration: file (found in the repo) overridden by CLI values (None = unset)."""
    overrides = {k: v for k, v in (cli or {}).items() if v is not None and v != []}
    repo = Path(overrides.get("repo", REFERENCE_TARGET)).expanduser()
    if not repo.exists():
        raise ConfigError(f"--repo {repo}: no such directory")
    if not repo.is_dir():
        raise ConfigError(f"--repo {repo}: not a directory")
    try:
        next(repo.iterdir(), None)
    except OSError as exc:
        raise ConfigError(f"--repo {repo}: unreadable: {exc.strerror}") from None
    path, table, ignored = _policy_sources(repo, config_file, overrides)
    file_cfg = _validate({**table, "repo": str(repo)}, str(path) if path else "configuration")
    merged = file_cfg.model_dump()
    merged.update(overrides)
    merged["repo"] = repo.resolve()
    merged["config_file"] = path
    cfg = _validate(merged, "command line")
    cfg._repository_ignored.extend(ignored)
    return cfg


# ---- who may set what (issue 18, prodaudit/repo_policy.py) -----------------------------------


def _validated_table(repo: Path, path: Path, table: dict[str, Any]) -> dict[str, Any]:
    """A configuration file's table with its paths resolved, validated on its own (errors name
    the file)."""
    table = _resolve_paths(table, path.parent)
    _validate({**table, "repo": str(repo)}, str(path))
    return table


def _policy_sources(
    repo: Path, explicit: Path | None, overrides: dict[str, Any]
) -> tuple[Path | None, dict[str, Any], list[Ignored]]:
    """The configuration file to report, the merged table of the files and the repository keys
    ignored. The release manager's file (``--config`` or ``PRODAUDIT_CONFIG`` outside the
    repository) sets everything; the repository's own file only what describes the product (or
    tightens a threshold)."""
    env_file = os.environ.get("PRODAUDIT_CONFIG", "").strip()
    if explicit is None and env_file:
        explicit = Path(env_file).expanduser()
    manager_path: Path | None = None
    manager: dict[str, Any] = {}
    if explicit is not None and not is_inside(explicit, repo):
        manager_path, raw = _find_file(repo, explicit)
        manager = _validated_table(repo, manager_path, raw) if manager_path else {}
        repo_path, raw = _find_file(repo, None)
    else:
        repo_path, raw = _find_file(repo, explicit)
    if repo_path is None:
        return manager_path, manager, []
    repo_table = _validated_table(repo, repo_path, raw)
    otherwise = _validate({**manager, "repo": str(repo)}, "configuration").model_dump()
    otherwise.update(overrides)
    kept, ignored = split_repository_table(repo_table, otherwise, _display(repo_path, repo))
    merged: dict[str, Any] = {**kept}
    for key, value in manager.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    owner = (kept.get("probes") or {}).get("exclude") or []
    if owner and isinstance(manager.get("probes"), dict) and "exclude" in manager["probes"]:
        # a safety request: the release manager's exclusions add to the owner's, never drop them
        both = list(owner) + [p for p in manager["probes"]["exclude"] if p not in owner]
        merged["probes"] = {**merged["probes"], "exclude": both}
    return manager_path or repo_path, merged, ignored


def _display(path: Path, repo: Path) -> str:
    try:
        return str(path.resolve().relative_to(repo.resolve()))
    except ValueError:
        return str(path)


def service_config(fleet: AuditConfig, name: str, cli: dict[str, Any] | None = None) -> AuditConfig:
    """The configuration of the ``[[services]]`` entry ``name`` of ``fleet`` (built by
    :func:`load_config`): the top level, the keys the service sets over it (a section key by key),
    the command-line values ``cli`` over both (``--repo`` only located the file)."""
    source = str(fleet.config_file or "configuration")
    svc = fleet.service(name, source)
    out = fleet.model_dump()
    for key in svc.model_fields_set - {"name", "repository", "ref", "suites", "compose_service"}:
        value = getattr(svc, key)
        if isinstance(value, _Section):  # a section: only the keys the service sets
            out[key] = {**dict(out[key]), **value.model_dump(include=value.model_fields_set)}
        elif value is not None:
            out[key] = value
    if svc.compose_service is not None:
        out["docker"] = {**dict(out["docker"]), "service": svc.compose_service}
    out.update({k: v for k, v in (cli or {}).items() if v is not None and v != [] and k != "repo"})
    out["services"] = []
    cfg = _validate(out, f"{source} (service {name!r})")
    cfg._repository_ignored.extend(fleet._repository_ignored)  # what the fleet's file could not set
    return cfg
