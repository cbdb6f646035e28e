"""CFG-161: database servers of the stack ask for a password — no missing or empty password,
no ``trust`` authentication, no MongoDB or Redis without access control — and configuration
files do not ship well-known database credentials."""

from __future__ import annotations

import json
import re
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    InputError,
    Severity,
    Skip,
    Status,
    check,
    failed,
    load_toml,
    load_yaml,
    mask_value,
    passed,
    warned,
)
from prodaudit.checks.config._compose import roles
from prodaudit.product.compose import compose_model, read_env_file
from prodaudit.product.envfiles import example_for
from prodaudit.product.secretvalues import PLACEHOLDER_RE
from prodaudit.product.service_env import ServiceEnv, service_environment
from prodaudit.product.service_env import Setting as EnvSetting
from prodaudit.product.services import Service

TRUE = frozenset({"1", "true", "yes", "on", "y"})
_ENGINES = (("postgres", re.compile(r"postgres|postgis|timescale|pgvector")),
            ("mysql", re.compile(r"mysql|mariadb|percona")),
            ("mongodb", re.compile(r"(^|/)mongo")),
            ("redis", re.compile(r"redis|valkey|keydb|dragonfly")))
_CONFIG_SKIP = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example",
                          "fixtures", ".github", ".gitlab", "node_modules", ".venv", "venv",
                          ".circleci", "charts", "site-packages"})
_PASSWORD_KEY = re.compile(r"^(db_?|database_?|postgres_?|mysql_?|mongo_?|redis_?)?"
                           r"(password|passwd|pass|pwd)$", re.I)
_DB_CONTEXT = re.compile(r"^(host|hostname|port|database|db|dbname|db_name|name|user|username|"
                         r"uri|url|dsn|engine|driver|schema)$", re.I)
_DB_WORD = re.compile(r"db|database|postgres|mysql|maria|mongo|sql|redis", re.I)
MAX_CONFIG_FILES = 200


def _engine(svc: Service) -> str | None:
    for image in (svc.image, svc.base_image):
        for name, pattern in _ENGINES:
            if image and pattern.search(image.lower()):
                return name
    return None


def _where(svc: Service, env: ServiceEnv, names: tuple[str, ...]) -> str:
    """Where the missing setting belongs: the Dockerfile line that sets the server's other
    variables (or its FROM), else the service's ``environment:``."""
    for n in names:
        s = env.get(n)
        if s is not None:
            return s.location
    if env.dockerfile_loc:
        found = [s.location for k, s in env.values.items()
                 if s.source == "Dockerfile ENV" and k.split("_")[0] in
                 {x.split("_")[0] for x in names}]
        return found[-1] if found else env.dockerfile_loc
    p = svc.project
    return p.loc("services", svc.name, "environment") if "environment" in svc.raw \
        else p.loc("services", svc.name)


def _judge_postgres(svc: Service, env: ServiceEnv) -> list[Finding]:
    out = []
    method = env.get("POSTGRES_HOST_AUTH_METHOD")
    if method is not None and (method.value or "").strip().lower() == "trust":
        out.append(failed(f"service {svc.name}: POSTGRES_HOST_AUTH_METHOD=trust accepts every "
                          "connection without a password", location=method.location))
    pw = env.get("POSTGRES_PASSWORD") or env.get("POSTGRES_PASSWORD_FILE")
    if pw is None and not env.missing_env_files and not out:
        out.append(failed(
            f"service {svc.name}: PostgreSQL gets no POSTGRES_PASSWORD (environment, env_file or "
            "Dockerfile ENV): images before 2020 then trust every connection, later ones refuse "
            "to start", location=_where(svc, env, ("POSTGRES_DB", "POSTGRES_USER"))))
    elif pw is not None and pw.value is not None and not pw.value.strip():
        out.append(failed(f"service {svc.name}: POSTGRES_PASSWORD is empty",
                          location=pw.location))
    return out


def _judge_other(engine: str, svc: Service, env: ServiceEnv) -> list[Finding]:
    def on(name: str) -> bool:
        s = env.get(name)
        return s is not None and (s.value or "").strip().strip("\"'").lower() in TRUE

    command = " ".join(str(svc.raw.get(k) or "") for k in ("command", "entrypoint"))
    if engine == "mysql":
        flags = [n for n in ("MYSQL_ALLOW_EMPTY_PASSWORD", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
                             "MARIADB_ALLOW_EMPTY_PASSWORD") if on(n)]
        return [failed(f"service {svc.name}: {flags[0]} lets root log in without a password",
                       location=env.values[flags[0]].location)] if flags else []
    if engine == "mongodb":
        if env.get("MONGO_INITDB_ROOT_USERNAME") or env.get("MONGODB_ROOT_PASSWORD") \
                or "--auth" in command or env.missing_env_files:
            return []
        return [failed(f"service {svc.name}: MongoDB starts without access control (no "
                       "MONGO_INITDB_ROOT_USERNAME/PASSWORD, no --auth)",
                       location=_where(svc, env, ("MONGO_INITDB_DATABASE",)))]
    if engine == "redis":
        if on("ALLOW_EMPTY_PASSWORD"):
            return [failed(f"service {svc.name}: ALLOW_EMPTY_PASSWORD=yes runs Redis without "
                           "authentication", location=env.values["ALLOW_EMPTY_PASSWORD"].location)]
        vols = " ".join(str(v) for v in svc.raw.get("volumes") or [])
        if ("requirepass" in command or "--aclfile" in command or env.get("REDIS_PASSWORD")
                or ".conf" in vols or env.missing_env_files):
            return []
        return [failed(f"service {svc.name}: Redis runs without authentication (no --requirepass, "
                       "ACL file or REDIS_PASSWORD): anything on its network reads and writes "
                       "every key", location=svc.loc)]
    return []


#: what gives PostgreSQL a password or says how it authenticates
_AUTH_VARS = frozenset({"POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_HOST_AUTH_METHOD"})


def _with_examples(ctx: Context, env: ServiceEnv) -> tuple[list[tuple[str, str]], set[str]]:
    """Fill in what an absent ``env_file`` would set from the committed example a deployer
    copies to create it (``.env.prod.db`` ← ``.env.prod.db-sample``; the service's own
    ``environment:`` still wins): ((absent file, its example) of each one read, the names the
    examples set). The absent files without an example stay in ``env.missing_env_files``."""
    copied: list[tuple[str, str]] = []
    named: set[str] = set()
    left = []
    for label in env.missing_env_files:
        example = example_for(ctx, label)
        ef = read_env_file(ctx.repo / example, example, ctx.cfg.secrets.max_file_bytes) \
            if example else None
        if ef is None:
            left.append(label)
            continue
        copied.append((label, ef.path))
        for e in ef.entries:
            named.add(e.name)
            if e.name not in env.values or env.values[e.name].source != "environment":
                env.values[e.name] = EnvSetting(e.value, f"{ef.path}:{e.line}",
                                                f"example of {label}")
    env.missing_env_files = left
    return copied, named


def _examples_judged(ctx: Context, svc: Service, env: ServiceEnv) -> tuple[bool, list[Finding]]:
    """A PostgreSQL service whose ``env_file`` is absent and whose environment sets no password,
    judged on the committed examples the deployer copies to create it: (judged, findings).
    Examples that name no password or auth method WARN; one they give a value is judged as the
    server would get it. Not judged when an example is missing, or when the examples leave the
    password empty (the slot the deployer fills in)."""
    absent = list(env.missing_env_files)
    copied, named = _with_examples(ctx, env)
    if env.missing_env_files:
        return False, []
    if not named & _AUTH_VARS:
        copies = ", ".join(f"{m} from {ex}" for m, ex in copied)
        where = svc.project.loc("services", svc.name, "env_file")
        return True, [warned(
            f"service {svc.name}: PostgreSQL gets no POSTGRES_PASSWORD: neither its environment "
            f"nor the example the deployer copies ({copies}) sets one: images before 2020 then "
            "trust every connection, later ones refuse to start", location=where)]
    if any((s := env.get(k)) is not None and (s.value or "").strip() for k in _AUTH_VARS):
        return True, _judge_postgres(svc, env)  # an example's value is the deployer's to replace
    env.missing_env_files = absent  # not judged: the reason names the absent files
    return False, []


#: the variables that set a server's password, per engine (official images and Bitnami's)
_PASSWORD_VARS = {
    "postgres": ("POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD"),
    "mysql": ("MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "MARIADB_ROOT_PASSWORD", "MARIADB_PASSWORD"),
    "mongodb": ("MONGO_INITDB_ROOT_PASSWORD", "MONGODB_ROOT_PASSWORD"),
    "redis": ("REDIS_PASSWORD",),
}


def _default_passwords(engine: str, svc: Service, env: ServiceEnv) -> list[Finding]:
    """A server password the container really gets that is a well-known default (``postgres``,
    ``password``, ``root`` …): a literal, not a ``${VAR}`` the deployer sets."""
    out = []
    for name in _PASSWORD_VARS.get(engine, ()):
        s = env.get(name)
        value = (s.value or "").strip().strip("\"'") if s is not None else ""
        if s is None or not value or "${" in value or not PLACEHOLDER_RE.match(value):
            continue
        out.append(failed(f"service {svc.name}: {name} is a well-known default password "
                          f"(set in {s.source}): the server asks for the password every scanner "
                          "tries first", location=s.location, evidence=f"{name}={mask_value(value)}"))
    return out


def _servers(ctx: Context) -> tuple[int, list[Finding], list[str]]:
    """(servers judged, findings, PostgreSQL servers not judged: an absent env_file without an
    example and no password in the service's environment)."""
    n, out, unjudged = 0, [], []
    for p in compose_model(ctx).stacks:
        for svc in roles(ctx, p).values():
            engine = _engine(svc) if svc.role in ("database", "cache") else None
            if engine is None or not svc.active:
                continue
            env = service_environment(ctx, svc)
            found = _judge_postgres(svc, env) if engine == "postgres" \
                else _judge_other(engine, svc, env)
            found += _default_passwords(engine, svc, env)
            judged = True
            if not found and env.missing_env_files and engine == "postgres" and \
                    not env.get("POSTGRES_PASSWORD") and not env.get("POSTGRES_PASSWORD_FILE"):
                judged, found = _examples_judged(ctx, svc, env)
            if not judged:
                unjudged.append(f"{svc.name} (env_file {', '.join(env.missing_env_files)} "
                                "absent)")
                continue
            n += 1
            out += [f if not p.dev_only else failed(f.message + p.dev_label, location=f.location)
                    for f in found]
    return n, out, unjudged


Hit = tuple[tuple[str, ...], str, str]


def _walk(node: Any, path: tuple[str, ...], hits: list[Hit], seen: list[int]) -> None:
    """Mappings that configure a database connection (host/port/user … next to a password
    key): ``seen`` counts them, ``hits`` gets those whose password is a well-known default."""
    if isinstance(node, dict):
        keys = {str(k) for k in node}
        db_like = any(_DB_CONTEXT.match(k) for k in keys) and (
            any(_DB_WORD.search(x) for x in path) or {"host", "port"} <= {k.lower() for k in keys})
        for k, v in node.items():
            if isinstance(v, dict | list):
                _walk(v, (*path, str(k)), hits, seen)
            elif db_like and _PASSWORD_KEY.match(str(k)) and isinstance(v, str | int):
                seen[0] += 1
                if PLACEHOLDER_RE.match(str(v).strip()):
                    hits.append(((*path, str(k)), str(k), str(v)))
    elif isinstance(node, list):
        for item in node[:200]:
            _walk(item, path, hits, seen)


def _config_files(ctx: Context) -> tuple[int, list[Finding]]:
    """Database connection settings in YAML/JSON/TOML configuration files, and the well-known
    default passwords among them (a default is public: it is not registered as a secret)."""
    loaded = {f.path for p in compose_model(ctx).projects for f in p.files}
    out: list[Finding] = []
    looked = 0
    seen = [0]
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        if (rel in loaded or set(rel.split("/")[:-1]) & _CONFIG_SKIP or "compose" in name
                or not name.endswith((".yaml", ".yml", ".json", ".toml"))
                or name in ("package.json", "package-lock.json", "pyproject.toml", "tsconfig.json")
                or name.endswith(".lock")):
            continue
        looked += 1
        if looked > MAX_CONFIG_FILES:
            break
        text = ctx.read(rel)
        if not text or not re.search(r"pass|pwd", text, re.I):
            continue
        try:
            data = load_toml(text, rel) if name.endswith(".toml") else (
                json.loads(text) if name.endswith(".json") else load_yaml(text, rel))
        except (InputError, ValueError):
            continue
        hits: list[Hit] = []
        _walk(data, (), hits, seen)
        for path, key, value in hits:
            line = next((i for i, raw in enumerate(text.splitlines(), 1)
                         if re.search(rf"\b{re.escape(key)}\b\W*[:=]\s*[\"']?{re.escape(value)}",
                                      raw)), 0)
            out.append(failed(f"{rel}: {'.'.join(path)} is a well-known default database "
                              "password", location=f"{rel}:{line}" if line else rel,
                              evidence=f"{key}: {mask_value(value)}"))
    return seen[0], out


@check("CFG-161", "Database servers require a real password", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.4", "P.2.4"), references=("CWE-306", "CWE-1392"),
       evidence=Evidence.PARSED)
def database_credentials(ctx: Context) -> list[Finding]:
    """Every database server of the Compose stacks (by role: its image, or the image its
    Dockerfile builds FROM) requires a password, as its container will really start: PostgreSQL
    gets a non-empty ``POSTGRES_PASSWORD`` (from ``environment:``, an ``env_file`` or the
    Dockerfile's ``ENV``) and no ``POSTGRES_HOST_AUTH_METHOD=trust``; MySQL/MariaDB no
    ``*_ALLOW_EMPTY_*PASSWORD``; MongoDB a root user or ``--auth``; Redis ``--requirepass``, an
    ACL or config file, or ``REDIS_PASSWORD``. A service whose ``env_file`` is absent is
    judged on the committed example the deployer copies to create it (``.env`` from
    ``.env.example``, ``.env.prod.db`` from ``.env.prod.db-sample``: PostgreSQL without a
    password there WARNs, one the example gives a password is judged on it); a PostgreSQL
    service without an example is not judged, nor counted as requiring a password (SKIP when no server was
    judged). The password the server gets (``POSTGRES_PASSWORD``, ``MYSQL_ROOT_PASSWORD``,
    ``MONGO_INITDB_ROOT_PASSWORD``, ``REDIS_PASSWORD`` …, as a literal rather than a ``${VAR}``
    the deployer sets) and the database passwords of configuration files (YAML, JSON, TOML; not
    tests or docs) are not a well-known default (``postgres``, ``password``, ``root`` …). That a
    Compose password is a literal at all is CFG-156's concern, placeholder values in env files
    CFG-020's.

    A database without a password, or with the one every scanner tries first, is open to
    anything that reaches its port — another container, a published port, an SSRF.

    Remediation: set ``POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}`` (or a Compose secret
    with ``POSTGRES_PASSWORD_FILE``), remove ``trust``, start Redis with ``--requirepass``, and
    read the application's database password from the environment, never from a committed file.
    """
    n, out, unjudged = _servers(ctx)
    configs, found = _config_files(ctx)
    out += found
    if not [f for f in out if f.status is not Status.SKIP]:
        if not n and not configs and out:
            raise Skip("; ".join(f.message for f in out))
        if not n and not configs:
            if unjudged:
                raise Skip(f"not judged: {', '.join(unjudged)}, and no example to read instead")
            raise Skip("no database server in the Compose stacks and no database settings in "
                       "configuration files")
        out.append(passed(f"{n} database/cache server(s) require a password that is not a "
                          f"well-known default; {configs} database password setting(s) in "
                          "configuration files are not well-known defaults"
                          + (f"; not judged: {', '.join(unjudged)}" if unjudged else "")))
    return out
