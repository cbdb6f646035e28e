"""CFG-001–019: the environment variable graph (prodaudit.product.envgraph) checked against the profile's env,
the documentation (``.env.example``) and the Compose wiring; CFG-005 reports broken config input."""

from __future__ import annotations

import re
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.config._compose import (
    built_services,
    env_file_names,
    settings_module_of,
)
from prodaudit.product.compose import compose_projects
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.deploy_paths import other_production_deployment
from prodaudit.product.dev_reads import development_reads, production_reads
from prodaudit.product.django_settings import unused_settings_modules
from prodaudit.product.envdocs import documented_in_docs
from prodaudit.product.envfiles import is_env_file, used_env_file_problems
from prodaudit.product.envgraph import EnvGraph, Var, env_graph, export_env_graph
from prodaudit.product.infraenv import infra_env
from prodaudit.product.platforms import platform_variables
from prodaudit.product.templates import template_repo
from prodaudit.templating import TEMPLATE_NOT_RENDERED

# Variables any container runtime sets or that tools read for themselves: never "undocumented".
RUNTIME_VARS = frozenset({
    "PATH", "HOME", "HOSTNAME", "PWD", "USER", "TZ", "LANG", "LC_ALL", "TERM", "SHELL", "TMPDIR",
    "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK", "VIRTUAL_ENV", "NODE_ENV", "CI", "PYTHONBREAKPOINT",
    "PYTHONHASHSEED", "PYTHONWARNINGS", "PYTHONOPTIMIZE", "PYTHONIOENCODING", "PYTHONUTF8",
    "DJANGO_SETTINGS_MODULE", "PORT", "WEB_CONCURRENCY",
})  # fmt: skip
#: variables Docker Compose and the Docker CLI read themselves (a ``.env`` next to the Compose
#: file sets the project name, the active profiles, BuildKit): used when the repository has a
#: Compose project
TOOL_VARS = frozenset({
    "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_PATH_SEPARATOR",
    "COMPOSE_ENV_FILES", "COMPOSE_CONVERT_WINDOWS_PATHS", "COMPOSE_IGNORE_ORPHANS",
    "COMPOSE_REMOVE_ORPHANS", "COMPOSE_PARALLEL_LIMIT", "COMPOSE_ANSI", "COMPOSE_STATUS_STDOUT",
    "COMPOSE_MENU", "COMPOSE_BAKE", "COMPOSE_HTTP_TIMEOUT", "COMPOSE_DOCKER_CLI_BUILD",
    "DOCKER_BUILDKIT", "BUILDKIT_PROGRESS", "DOCKER_HOST", "DOCKER_CONTEXT",
    "DOCKER_DEFAULT_PLATFORM", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
})  # fmt: skip
#: variables a CI system sets (``if os.environ.get("GITHUB_WORKFLOW")``): never "undocumented"
CI_VAR_RE = re.compile(r"^(GITHUB_|GITLAB_|CI_|CIRCLE|TRAVIS|BUILDKITE|JENKINS_|TF_BUILD|"
                       r"BITBUCKET_|CODEBUILD_|RUNNER_|DRONE|TEAMCITY_|APPVEYOR)")
#: where data lives and which hosts are served: a deployment must decide them even with a default
DATASTORE_RE = re.compile(
    r"^ALLOWED_HOSTS$|_DSN$|^(DATABASE|DB|POSTGRES|PG|MYSQL|MARIADB|MONGO|MONGODB|REDIS|BROKER|"
    r"CACHE|AMQP|RABBITMQ|CELERY_BROKER|CELERY_RESULT_BACKEND|ELASTICSEARCH|KAFKA)(_\w+)?_(URL|URI)$")
#: the variables a database URL's parts come in (``POSTGRES_USER``, ``PGHOST``, ``MYSQL_HOST``)
_DB_PARTS = ("POSTGRES_", "PG", "MYSQL_", "MARIADB_")
_PROFILE_SEVERITY = {"production": Severity.HIGH, "staging": Severity.MEDIUM,
                     "development": Severity.LOW}


def _exported(v: Var) -> bool:
    """Runtime variables (PATH, HOME …) only when the code reads or the docs list them."""
    return v.name not in RUNTIME_VARS or bool(v.reads) or v.documented


def graph(ctx: Context) -> EnvGraph:
    """The graph, exported into audit.json (``facts.env_graph``) when the checks have finished."""
    export_env_graph(ctx, _exported)
    return env_graph(ctx)


def _used(v: Var) -> bool:
    return bool(v.reads or v.compose_required)


def _first_loc(v: Var) -> str:
    if v.reads:
        return v.reads[0].loc
    if v.compose_required:
        return v.compose_required[0]
    return ""


def _set_in_image(v: Var) -> bool:
    """Set to a literal, non-empty value by a Dockerfile ENV or a Compose ``environment:``."""
    return any(val and "${" not in val and not is_env_file(path) for path, _, val in v.set_in)


@check("CFG-001", "Required environment variables are set in the profile's env",
       severity=Severity.HIGH, needs=("repo",), checklist=("2.1.4", "2.1.5", "P.1.1"),
       references=("CWE-1188",), evidence=Evidence.PARSED)
def required_vars(ctx: Context) -> list[Finding]:
    """Every variable the backend reads without a default (``os.environ["X"]``, a pydantic
    ``BaseSettings`` field without default) is set, non-empty, in the profile's env file
    (``--env-file``); with ``--compose-file`` so are the variables Compose requires (``${X:?}``).

    A required variable missing at deploy time crashes the service at startup at best, and at
    worst (code that reads it lazily) fails the first request that needs it. The severity follows
    the profile: HIGH for production, MEDIUM for staging, LOW for development.

    Outside the development profile, a variable read only by development or test settings is not
    required: a settings module named for development or tests (``settings/local.py``,
    ``settings/test.py``, ``config/dev.py``) that the deployment does not name in
    ``DJANGO_SETTINGS_MODULE`` (env file, Compose, Dockerfile ``ENV``, infrastructure, the
    wsgi/asgi fallback) and that no module production runs star-imports, or a field of a
    development/test settings class (``class DevSettings(BaseSettings)``). The PASS names them.

    Remediation: set the variable in the deployment's env file or secret store, or give it a safe
    default in the settings code; document it in ``.env.example``.
    """
    g = graph(ctx)
    if not ctx.cfg.env_file:
        raise Skip("no --env-file given: the profile's variables cannot be verified")
    if not ctx.cfg.env_file.is_file():
        return [errored(f"--env-file {ctx.cfg.env_file}: not a readable file")]
    env = ctx.profile_env
    sev = _PROFILE_SEVERITY[ctx.cfg.profile]
    out: list[Finding] = []
    development = ctx.cfg.profile == "development"
    reads = {v.name: [r for r in v.reads if not r.has_default and r.kind != "frontend"]
             if development else production_reads(ctx, v) for v in g.vars.values() if v.required}
    required = [v for v in g.vars.values() if reads.get(v.name)]
    dev_only = sorted(n for n, rs in reads.items() if not rs)
    compose_req = [v for v in g.vars.values() if v.compose_required and not reads.get(v.name)]
    use_compose = bool(ctx.cfg.compose_files)
    checked = required + (compose_req if use_compose else [])
    for v in sorted(checked, key=lambda x: x.name):
        if env.get(v.name, "").strip():
            continue
        strict = reads.get(v.name, [])
        if strict and _set_in_image(v):
            continue
        why = "read without a default" if strict else "required by Compose (${VAR:?})"
        state = "empty" if v.name in env else "missing"
        out.append(failed(f"{v.name} is {why} but {state} in the {ctx.cfg.profile} env file",
                          location=_first_loc(v) if not strict or development
                          or not development_reads(ctx).covers(v.reads[0]) else strict[0].loc,
                          severity=sev,
                          evidence=f"read at: {', '.join(r.loc for r in v.reads[:5]) or '-'}; "
                                   f"env file: {ctx.cfg.env_file.name}"))
    note = ""
    if dev_only:
        note = (f"; not required: {len(dev_only)} variable(s) read without a default only by "
                f"development or test settings ({', '.join(dev_only[:8])}"
                f"{' ...' if len(dev_only) > 8 else ''})")
    if compose_req and not use_compose:
        names = ", ".join(sorted(v.name for v in compose_req))
        note += (f"; not checked: {len(compose_req)} variable(s) only Compose requires ({names}) — "
                "give --compose-file when the profile deploys with Compose")
    if not out:
        out.append(passed(f"all {len(checked)} required variable(s) are set in "
                          f"{ctx.cfg.env_file.name} ({len(g.vars)} variables in the graph){note}"))
    return out


def _critical(v: Var, docs: dict[str, str]) -> str | None:
    """Why forgetting ``v`` in production matters, or None for an optional setting: reads
    inside an ``if`` branch belong to an optional feature, ``os.getenv("X")`` without a default
    is optional by design, a pydantic field composed from other fields is derived."""
    reads = [r for r in v.reads if r.kind != "frontend" and not r.conditional]
    if any(r.strict for r in reads):
        return "read without a default"
    if v.compose_required:
        return "required by Compose (${VAR:?})"
    explicit = [r for r in reads if r.kind == "python"]
    if any(r.default and r.default.strip() for r in explicit) and v.secret:
        return "a secret with a hard-coded default, used whenever it is forgotten"
    if explicit and DATASTORE_RE.search(v.name):
        prefix = re.sub(r"_(URL|URI|DSN)$", "", v.name) + "_"
        prefixes: tuple[str, ...] = (prefix,)
        if prefix in ("DATABASE_", "DB_") and all(r.has_default for r in explicit):
            # an override of a default the code composes from the server's own variables
            prefixes += _DB_PARTS
        if prefix != v.name + "_" and any(d.startswith(prefixes) for d in docs):
            return None  # its parts (POSTGRES_HOST, POSTGRES_PASSWORD ...) are documented
        return "it decides where the deployment's data or hosts are"
    return None


def _documentation(ctx: Context, g: EnvGraph) -> dict[str, str]:
    """Variable → the first place that documents it or sets it for the deployment: example env
    files, env blocks and tables of the README/docs, the ``environment:`` of a Compose project
    when Compose is how production is deployed (no Procfile, infrastructure or production
    Dockerfile next to it), a Dockerfile ``ENV``, the code itself (``os.environ.setdefault``),
    the variables of a platform manifest that deploys the product (``render.yaml``, ``app.json``,
    ``fly.toml`` …), or — when no production Compose project deploys the product —
    infrastructure (Bicep, Terraform, Kubernetes)."""
    out: dict[str, str] = {}
    for name, v in g.vars.items():
        if v.documented_in:
            out[name] = f"{v.documented_in[0][0]}:{v.documented_in[0][1]}"
        elif v.code_sets:
            out[name] = v.code_sets[0]
        elif any(not is_env_file(p) and not p.endswith((".yml", ".yaml")) and val
                 for p, _, val in v.set_in):
            out[name] = next(f"{p}:{ln}" for p, ln, val in v.set_in
                             if not is_env_file(p) and not p.endswith((".yml", ".yaml")) and val)
    for name, places in documented_in_docs(ctx).items():
        out.setdefault(name, f"{places[0][0]}:{places[0][1]}")
    for name, sets in platform_variables(ctx).items():
        out.setdefault(name, sets[0].location)
    stacks = [p for p in compose_projects(ctx) if not p.dev_only and not p.auxiliary]
    for p in stacks if not other_production_deployment(ctx) else []:
        for sname, svc in p.services.items():
            for key in service_env(svc):
                out.setdefault(str(key), p.loc("services", sname, "environment", key))
    if not stacks:  # infrastructure documents the deployment only when Compose does not deploy it
        for name, entries in infra_env(ctx).items():
            out.setdefault(name, f"{entries[0][0]}:{entries[0][1]}")
    return out


@check("CFG-002", "Every variable the code reads is documented", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.1.1", "6.1.3"), evidence=Evidence.PARSED)
def undocumented_vars(ctx: Context) -> list[Finding]:
    """Every variable a deployment must decide is documented. Must decide: read by the backend
    without a default (``os.environ["X"]``, ``env("X")``, a required settings field), required
    by Compose (``${X:?}``), a secret with a hard-coded default, or a data-store URL /
    ``ALLOWED_HOSTS`` (unless its parts, ``POSTGRES_HOST`` ..., are documented). Documented: in
    an example env file (``.env.example``, ``.env.sample``, ``env.template`` ...; a
    commented-out assignment ``#export X=default`` of a variable the code reads counts), in an env
    block (fenced, indented, or two or more bare ``NAME=value`` lines) or a table of the
    README/docs, or set by the deployment itself (the ``environment:``
    of a Compose file that is the production deployment, a Dockerfile ``ENV`` or the official
    base image's own (``PYTHON_VERSION`` of ``python:*``, ``NODE_VERSION`` of ``node:*``),
    ``os.environ.setdefault``, a platform manifest's variables — ``render.yaml`` ``envVars``,
    Heroku's ``app.json`` ``env``, ``fly.toml`` ``[env]`` …; and, when no production Compose file
    deploys the product, infrastructure manifests). Optional settings (a default,
    ``os.getenv("X")``, a branch of an optional feature) that are not documented are listed in
    the result. Variables of CI systems and of
    the runtime (``PATH``, ``PYTHONBREAKPOINT`` ...) are not judged, nor development-only
    Compose files.

    An operator configures a release from the example file; a variable that is only discoverable
    by reading the code is forgotten in production, or set with the wrong name.

    Remediation: add the variable to ``.env.example`` with a comment line above it saying what it
    does, its default, and whether it is a secret (placeholder value only).
    """
    documented_in_docs(ctx)  # facts that need no Python: built while the py_index pass runs,
    infra_env(ctx)  # not after it, when the rest of the audit waits for this check
    g = graph(ctx)
    used = [v for v in g.vars.values() if _used(v) and not _runtime(v.name)]
    if not used:
        raise Skip(f"no environment variable reads found ({g.python_files} Python, "
                   f"{g.frontend_files} frontend files parsed)")
    docs = _documentation(ctx, g)
    where = ", ".join(g.example_files) or "an example env file, the docs or the deployment files"
    out: list[Finding] = []
    optional: list[str] = []
    for v in sorted(used, key=lambda x: x.name):
        if v.name in docs:
            continue
        why = _critical(v, docs)
        if why is None:
            optional.append(v.name)
            continue
        out.append(failed(f"{v.name} is read ({why}) but not documented in {where}",
                          location=_first_loc(v)))
    if not out:
        note = (f"; {len(optional)} optional variable(s) with defaults are not documented: "
                f"{', '.join(optional[:15])}") if optional else ""
        out.append(passed(f"all {len(used) - len(optional)} variables a deployment must set are "
                          f"documented ({where}){note}"))
    return out


def _runtime(name: str) -> bool:
    return name in RUNTIME_VARS or bool(CI_VAR_RE.match(name))


@check("CFG-003", "Every documented variable is used", severity=Severity.LOW, needs=("repo",),
       checklist=("2.1.1",), evidence=Evidence.PARSED)
def unused_documented(ctx: Context) -> list[Finding]:
    """Every variable in an example env file is read by the code or a shell script
    (``entrypoint.sh`` testing ``$DATABASE``), referenced by Compose or a Dockerfile, consumed
    by a Compose service's image (its ``environment:``, or the ``env_file:`` of an image service
    such as ``postgres``, or the committed example of that file, or a name the official image
    reads: ``POSTGRES_PASSWORD`` with a ``postgres`` service), or — with a Compose project in the
    repository — read by Docker Compose or the Docker CLI themselves (``COMPOSE_PROJECT_NAME``,
    ``COMPOSE_PROFILES``, ``DOCKER_BUILDKIT`` …). A read anywhere counts, development
    settings modules included, with the readers a module star-imports (``from .base import *``
    brings base's ``config`` or ``env``).

    Stale documentation makes operators set variables that do nothing (a renamed ``JWT_SECRET``
    leaves the real one at its default) and hides the real configuration surface.

    Remediation: remove the variable from the example file, or fix the name the code reads.
    """
    g = graph(ctx)
    if not g.example_files:
        raise Skip("no example env file (.env.example, .env.sample ...) in the repository")
    documented = [v for v in g.vars.values() if v.documented]
    tooling = TOOL_VARS if compose_projects(ctx) else frozenset()
    out: list[Finding] = []
    for v in sorted(documented, key=lambda x: x.name):
        consumed = _used(v) or _runtime(v.name) or v.compose_defaults or v.compose_services \
            or v.variant_refs or v.script_refs or any(not is_env_file(p) for p, _, _ in v.set_in) \
            or v.name in tooling
        if not consumed:
            path, line = v.documented_in[0]
            out.append(failed(f"{v.name} is documented but nothing reads it",
                              location=f"{path}:{line}"))
    if not out:
        out.append(passed(f"all {len(documented)} documented variables are used"))
    return out


@check("CFG-004", "Compose wiring matches what the code reads", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("2.1.1", "P.2.2"), evidence=Evidence.PARSED)
def compose_wiring(ctx: Context) -> list[Finding]:
    """For services built from the repository (``build:``): every variable set in their
    ``environment:`` is read by the code, and every variable the code requires (no default) reaches
    the container through ``environment:``, ``env_file:`` or the Dockerfile. An ``env_file`` is
    read (a git-ignored one from the committed example a deployer copies to create it: ``.env.prod``
    ← ``.env.prod-sample``); with one, a requirement is a read that fails without the variable
    (``os.environ["X"]``, a settings field without default), not an ``os.environ.get("X")``; an
    ``env_file`` that cannot be read leaves the required variables unverified.

    A service built from a frontend whose code reads only build-time variables
    (``import.meta.env.VITE_*``, ``process.env.REACT_APP_*``) is not judged (its SKIP names
    them). Reads in Django settings modules the services do not run (``production.py`` when their
    ``DJANGO_SETTINGS_MODULE`` is the base module) are not their requirements.

    A variable wired under a misspelt name is silently ignored (the code falls back to its
    default); a required variable never passed to the container crashes it at startup.

    Remediation: fix the name in ``docker-compose.yml`` or in the settings code; pass required
    variables through ``environment:`` (``${VAR:?message}``) or an ``env_file:``.
    """
    g = graph(ctx)
    projects = [p for p in compose_projects(ctx) if p.services]
    if not projects:
        raise Skip("no Compose file with services in the repository")
    out: list[Finding] = []
    for p in projects:
        if p.dev_only:
            out.append(skipped(f"{p.name}: a development-only stack ({p.dev_only})"))
            continue
        app, no_code = built_services(g, p, out)
        if not app:
            out += [skipped(f"{p.name}: {why}") for why in no_code] or [
                skipped(f"{p.name}: no service is built from code in the repository")]
            continue
        passed_names: set[str] = set()
        has_env_file = False  # an env_file whose content cannot be told (absent, no example)
        via_files: list[str] = []
        before = len(out)
        for sname, (svc, ctx_dir) in app.items():
            read_names = {n for n, v in g.vars.items()
                          if any(r.kind != "frontend" and r.path.startswith(ctx_dir)
                                 for r in v.reads)}
            env = svc.get("environment") or {}
            names = list(env) if isinstance(env, dict) else [str(e).split("=", 1)[0] for e in env]
            passed_names.update(str(n) for n in names)
            for rel in p.env_file_rels(svc):
                names_in = env_file_names(ctx, rel)
                if names_in is None:
                    has_env_file = True
                else:
                    passed_names.update(names_in[1])
                    via_files.append(names_in[0])
            for name in names:
                if str(name) not in read_names and str(name) not in RUNTIME_VARS:
                    out.append(failed(f"service {sname} sets {name} but no code reads it"
                                      f"{p.note}",
                                      location=p.loc("services", sname, "environment", name)))
        if not has_env_file:
            out += _missing_required(ctx, g, p, app, passed_names, bool(via_files))
        if not any(f.status.value == "fail" for f in out[before:]):
            extra = " and an env_file" if has_env_file else ""
            files = f" (env_file: {', '.join(dict.fromkeys(via_files))})" if via_files else ""
            others = f"; {'; '.join(no_code)}" if no_code else ""
            out.append(passed(f"{p.name}: the {len(passed_names)} variables of the built services' "
                              f"environment{extra}{files} match what the code reads{p.note}"
                              f"{others}"))
    return out


def _missing_required(ctx: Context, g: EnvGraph, p: Any,
                      app: dict[str, tuple[dict[str, Any], str]], passed_names: set[str],
                      strict_only: bool) -> list[Finding]:
    """CFG-004: the variables the built services' code requires that none of them receives.
    Through an env_file the deployer edits (``strict_only``), only a read that fails without the
    variable (``os.environ["X"]``, a settings field without default) is a requirement."""
    out: list[Finding] = []
    contexts = [c for _, c in app.values()]
    unused = unused_settings_modules(ctx, settings_module_of(g, app))
    for v in sorted(g.vars.values(), key=lambda x: x.name):
        needed = not _runtime(v.name) and any(
            not r.has_default and r.kind != "frontend" and not r.conditional
            and (r.strict or not strict_only) and r.path not in unused
            and any(r.path.startswith(c) for c in contexts) for r in v.reads)
        if needed and v.name not in passed_names and not _set_in_image(v):
            out.append(failed(f"{v.name} is required by the code but no built service "
                              f"receives it ({', '.join(app)}){p.note}",
                              location=_first_loc(v)))
    return out


def _env_file_problems(ctx: Context) -> list[Finding]:
    """A WARN with ``path:line`` for every invalid line of an env file (committed, or read by
    a deployment: a git-ignored ``.env`` Compose reads, ``--env-file``)."""
    out = []
    for path, line, msg, readers in used_env_file_problems(ctx):
        who = "; ".join(sorted({u.reader for u in readers}))
        effect = ("python-dotenv skips the line; docker compose refuses the whole file"
                  if any(u.compose for u in readers) else "python-dotenv skips the line")
        out.append(warned(f"{path}:{line}: {msg} ({effect})" + (f"; read by {who}" if who else ""),
                          location=f"{path}:{line}" if line else path))
    return out


@check("CFG-005", "Configuration files parse", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("2.1.5",), evidence=Evidence.PARSED)
def config_input(ctx: Context) -> list[Finding]:
    """Env files, Compose files, Dockerfiles and Python settings code parse, are UTF-8 and
    readable; the repository walk itself hit no unreadable directory, broken symlink or limit.
    An invalid line of an env file (committed, or read by a deployment: the ``.env`` Compose
    reads, a service's ``env_file:``, a settings class's ``env_file``, ``--env-file``) is a WARN
    with ``path:line``: python-dotenv skips it silently and docker compose refuses the file.

    Every other CFG check skips what it cannot parse; this check lists those inputs in one place,
    with ``path:line``, so that nothing is silently left unverified.

    An unrendered project template (cookiecutter, copier, ``django-admin startproject
    --template``) is said so once. Its Python modules and Compose files with ``{{ ... }}``
    placeholders are read with the placeholders as names (every check judges them, at their own
    ``path:line``); one that does not parse even so is a WARN "template not rendered" with
    ``path:line``, not a syntax error: render the template and audit the result. A syntax error
    of any other file is still an ERROR.

    Remediation: fix the syntax at the reported line (or remove the stray file).
    """
    g = graph(ctx)
    out: list[Finding] = []
    for path, line, msg in dict.fromkeys(g.problems):
        if is_env_file(path):
            continue  # reported below, with who reads the file
        report = warned if msg.startswith(TEMPLATE_NOT_RENDERED) else errored
        out.append(report(f"{path}:{line}: {msg}", location=f"{path}:{line}" if line else path))
    out += _env_file_problems(ctx)
    modern = []
    for path, parsed in g.parse_notes:
        if parsed.unrendered:
            out.append(warned(f"{path}:{parsed.line}: {parsed.note}",
                              location=f"{path}:{parsed.line}"))
        elif parsed.parsed and "skipped" in parsed.note:
            out.append(warned(f"{path}: {parsed.note}; every check reads the rest of the file",
                              location=f"{path}:{parsed.line}"))
        elif parsed.grammar == "modern":
            modern.append(path)
    template = template_repo(ctx)
    if template is not None and out:
        out.append(warned(template.note(), location=template.marker))
    for path, why in dict.fromkeys(list(ctx.files.problems)):  # several checks read each file
        if "over the" in why:
            out.append(warned(f"{path}: {why}", location=path))
        else:
            out.append(errored(f"{path}: {why}", location=path))
    if not out:
        note = (f" ({len(modern)} with syntax the host Python rejects, read with tree-sitter's "
                f"grammar: {', '.join(modern[:5])})") if modern else ""
        if template is not None:
            note += f"; {template.note()}"
        out.append(passed(f"{len(ctx.files.files)} files indexed; env, Compose, Dockerfile and "
                          f"{g.python_files} Python files parsed without error{note}"))
    return out
