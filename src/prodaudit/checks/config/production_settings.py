"""CFG-030–039: application settings for production — debug/dev modes, database and Redis URLs,
LLM mock mode, API docs exposure (dev servers in entry points, CFG-031: entry_points.py)."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, passed, warned
from prodaudit.product.codesecrets import register
from prodaudit.product.connections import CodeURL, code_urls
from prodaudit.product.deploy_paths import container_runtime
from prodaudit.product.devswitches import DEBUG_NAME_RE as DEBUG_RE
from prodaudit.product.devswitches import (
    ENV_NAME_RE,
    DevSwitch,
    debug_settings,
    dev_switches,
    is_dev_value,
)
from prodaudit.product.django_settings import production_override
from prodaudit.product.effective import Value, candidate_names, deployment_sets, effective
from prodaudit.product.pysettings import Setting

TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


def _production_like(ctx: Context) -> None:
    if ctx.cfg.profile == "development":
        raise Skip("development profile: production settings not applicable")


def _is_true(value: str) -> bool:
    return value.strip().strip("\"'").lower() in TRUE


@check("CFG-030", "Debug and development modes are off", severity=Severity.HIGH, needs=("repo",),
       checklist=("2.1.3", "2.1.4"), references=("CWE-489", "CWE-215"), evidence=Evidence.PARSED)
def debug_off(ctx: Context) -> list[Finding]:
    """In the production (and staging) profile, ``DEBUG``/``*_DEBUG``/``RELOAD`` are not true and
    ``ENVIRONMENT``/``APP_ENV``/``FASTAPI_ENV``/``FLASK_ENV``/``NODE_ENV`` are not a development
    value — as set in the profile's env file, in the Compose ``environment:`` of built services,
    or by the code default when neither sets them. Settings are read wherever they live (Django
    ``DEBUG = True`` or ``env.bool("DJANGO_DEBUG", default=True)``, Flask ``app.debug`` and
    config classes, pydantic and starlette settings); ``Application(debug=True)``-style
    constructors count, and so does SQLAlchemy's ``create_engine(..., echo=True)`` (every
    statement logged with its parameters: password hashes, tokens, personal data) outside an
    Alembic migration environment (its engine runs the migrations, not requests); so do
    *inverted* production switches (``if not
    os.getenv("RUNNING_IN_PRODUCTION"): ...`` turning on DEBUG logging or a local ``.env`` — FAIL
    when nothing in the deployment sets the variable, WARN when only infrastructure files do) and
    wsgi/asgi entry points whose ``DJANGO_SETTINGS_MODULE`` fallback is a settings module with
    debug on. A debug flag read through the builtin ``bool()`` (``DEBUG =
    bool(os.environ.get("DEBUG", 0))``) is true for every non-empty string: FAIL where the
    deployment or its example sets any value (``DEBUG=0`` and ``DEBUG=False`` switch it on),
    WARN when nothing sets it (off only while the variable stays unset). Development and test
    settings modules are not judged, nor a Django base module's value that every production
    settings module star-importing it replaces (``from .base import *`` then ``DEBUG =
    False``): the production module's value is judged instead — unless
    the base module is itself what runs (no production module, or the deployment's
    ``DJANGO_SETTINGS_MODULE`` or wsgi fallback names it).

    Debug mode returns stack traces with local variables and configuration to any client,
    enables interactive debuggers (Werkzeug: remote code execution) and disables caches. A
    production that has to opt out of development behaviour gets it whenever one variable is
    forgotten.

    Remediation: set ``DEBUG=false`` and ``ENVIRONMENT=production`` in the production env and make
    the code default the safe value (development opts in, production never opts out); refuse to
    start with debug on in production.
    """
    _production_like(ctx)
    out: dict[str, Finding] = {}
    checked: list[str] = []
    for name in sorted(candidate_names(ctx)):
        if not (DEBUG_RE.match(name) or ENV_NAME_RE.match(name)):
            continue
        for val in effective(ctx, name):
            checked.append(f"{name} ({val.source})")
            if is_dev_value(name, val.value):
                out.setdefault(val.location, _dev_finding(
                    val, f"{name}={val.value} from {val.source} in the {ctx.cfg.profile} profile",
                    f"{name}={val.value}"))
    for st in debug_settings(ctx):
        if _gunicorn_file(st.path):
            continue  # gunicorn's reload: an entry-point setting (CFG-031)
        replaced = production_override(ctx, st)
        if replaced:  # a base module's value that every production settings module replaces
            checked.append(f"{st.name} ({st.loc}, replaced at "
                           f"{', '.join(r.loc for r in replaced)})")
            continue
        checked.append(f"{st.name} ({st.loc})")
        for loc, finding in _setting_findings(ctx, st):
            out.setdefault(loc, finding)
    for sw in dev_switches(ctx):
        if sw.reload_only:
            continue
        checked.append(sw.loc)
        switch = _switch_finding(ctx, sw)
        if switch is not None:
            out.setdefault(sw.loc, switch)
    if not checked:
        raise Skip("no DEBUG/ENVIRONMENT-like setting found in the code or the profile's env")
    if not out:
        return [passed(f"debug/environment settings are production values: "
                       f"{', '.join(checked[:12])}")]
    return list(out.values())


def _setting_findings(ctx: Context, st: Setting) -> list[tuple[str, Finding]]:
    """A debug/environment setting in code: its deployed value, else its default."""
    if st.env and st.any_value_true and DEBUG_RE.match(st.name):
        return _bool_of_string(ctx, st)
    if st.env:
        deployed = deployment_sets(ctx, st.env)
        if deployed:
            return [(v.location, _dev_finding(v, f"{st.name} is on: {st.env}={v.value} from "
                                                 f"{v.source}", f"{st.env}={v.value}"))
                    for v in deployed if is_dev_value(st.name, v.value)]
        if is_dev_value(st.name, st.value):
            return [(st.loc, failed(f"{st.name} defaults to {st.value!r} when {st.env} is unset, "
                                    "and nothing in the deployment sets it", location=st.loc,
                                    evidence=f"{st.name} = {st.expr}"))]
        return []
    if is_dev_value(st.name, st.value):
        return [(st.loc, failed(f"{st.name} = {st.value!r} in code ({st.scope})", location=st.loc,
                                evidence=f"{st.name} = {st.expr}"))]
    return []


def _bool_of_string(ctx: Context, st: Setting) -> list[tuple[str, Finding]]:
    """``DEBUG = bool(os.environ.get("DEBUG", 0))``: the builtin ``bool()`` of a string is true
    for every non-empty value, so ``DEBUG=0`` or ``DEBUG=False`` switch debug *on*."""
    assert st.env is not None
    why = (f"bool() of the environment string is true for every non-empty value "
           f"({st.name} = {st.expr})")
    fix = (f"parse the string: {st.name} = os.environ.get({st.env!r}, '0').lower() in "
           "('1', 'true', 'yes') (or env.bool / config(cast=bool)); until then leave "
           f"{st.env} unset in production")
    deployed = [v for v in deployment_sets(ctx, st.env) if v.value.strip()]
    if deployed:
        sets = "; ".join(f"{st.env}={v.value} at {v.location} ({v.source})" for v in deployed[:3])
        return [(st.loc, failed(f"{st.name} is on in the {ctx.cfg.profile} profile: {why}, and "
                                f"the deployment sets {sets}", location=st.loc,
                                evidence=f"{st.name} = {st.expr}", remediation=fix))]
    if is_dev_value(st.name, st.value):
        return [(st.loc, failed(f"{st.name} defaults to {st.value!r} when {st.env} is unset, "
                                "and nothing in the deployment sets it", location=st.loc,
                                evidence=f"{st.name} = {st.expr}", remediation=fix))]
    return [(st.loc, warned(f"{st.name} is off only while {st.env} is unset or empty: {why}, "
                            f"so {st.env}=0 or {st.env}=false turn it on", location=st.loc,
                            evidence=f"{st.name} = {st.expr}", remediation=fix))]


def _dev_finding(val: Value, message: str, evidence: str) -> Finding:
    """FAIL for a value the deployment uses; WARN for one in an example the deployer copies."""
    if val.from_example:
        return warned(message + " (deployed as it is unless the copy is edited)",
                      location=val.location, evidence=evidence)
    return failed(message, location=val.location, evidence=evidence)


def _switch_finding(ctx: Context, sw: DevSwitch, what: str = "development behaviour"
                    ) -> Finding | None:
    if sw.kind != "inverted":
        suffix = "" if "echo=" in sw.what else ": debug mode in production"
        return failed(f"{sw.what}{suffix}", location=sw.loc)
    sets = [v for name in sw.variables for v in deployment_sets(ctx, name) if v.value.strip()]
    if any(not v.source.startswith("infrastructure") for v in sets):
        return None  # the deployment (env file, Compose, Dockerfile) switches it off
    if sets:
        return warned(f"{what} by default ({sw.what}); only {sets[0].location} sets "
                      f"{', '.join(sw.variables)}", location=sw.loc)
    return failed(f"{what} unless {', '.join(sw.variables)} is set ({sw.what}); nothing in the "
                  "deployment sets it", location=sw.loc)


def _gunicorn_file(rel: str) -> bool:
    return "gunicorn" in rel.rsplit("/", 1)[-1].lower()


def _url_findings(name: str, value: str, location: str, source: str, redis: bool,
                  container: str = "") -> list[Finding]:
    v = value.strip()
    if not v or v.startswith("<"):
        return []
    try:
        parts = urlsplit(v)
        host = (parts.hostname or "").lower()
        password = parts.password
    except ValueError:
        return [warned(f"{name} from {source} is not a URL", location=location)]
    shown = f"{name}={parts.scheme}://…@{host}" if password else f"{name}={v}"
    if redis:
        if parts.scheme in ("redis", "rediss", "unix") and not password and "<" not in v:
            return [failed(f"{name} from {source} connects to Redis without authentication",
                           location=location, evidence=shown)]
        return []
    if parts.scheme.startswith("sqlite"):
        return [warned(f"{name} from {source} points at SQLite: one file, one writer, no network "
                       "access for replicas and no managed backups", location=location,
                       evidence=shown)]
    if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):  # noqa: S104 - compared, not bound
        why = (f"inside a container ({container}) that is the container itself" if container
               else "a production database runs on another host (a managed service or its own "
               "machine), so this only works where the database shares the application's host")
        return [warned(f"{name} from {source} points at {host}: {why}", location=location,
                       evidence=shown)]
    return []


@check("CFG-032", "Database and Redis URLs are production-grade", severity=Severity.HIGH,
       needs=("repo",), checklist=("P.1.3", "P.1.4"), references=("CWE-306",), evidence=Evidence.PARSED)
def service_urls(ctx: Context) -> list[Finding]:
    """In the production profile the database URL (``database.url_env``, default
    ``DATABASE_URL``) does not point at SQLite or localhost (WARN: valid only for single-host
    deployments that know it), and the Redis URL (``redis.url_env``) carries credentials (FAIL).
    URLs written into the code count too: a Redis or broker URL composed from host and port
    only (``f"redis://{HOST}:{PORT}"``: there is no place for a password) or hard-coded
    (``Celery("worker", broker="redis://redis:6379/0")``) fails; a SQLite engine
    (``create_engine("sqlite:///...")``, Django ``"ENGINE": "...sqlite3"``) warns. A code
    default the deployment overrides is not judged: a Django ``ENGINE`` read from a variable
    (``os.environ.get("SQL_ENGINE", "...sqlite3")``) is judged by the value the deployment or its
    example env file sets; a setting that only names another (``"LOCATION": REDIS_URL``) is
    judged once, at the line that writes the URL.

    SQLite cannot be shared between replicas and is lost with the container's file system;
    ``localhost`` inside a container (the product has a Dockerfile or a Compose service built
    from the repository) is the container itself, and on a platform host (Procfile, buildpack)
    it is that host, where no managed database runs. A Redis without ``requirepass``
    lets anything on the network read sessions and rate-limit state and run commands.

    Remediation: point ``DATABASE_URL`` at the managed PostgreSQL (``postgresql+psycopg://user:
    ${POSTGRES_PASSWORD}@db:5432/app``) and use ``redis://:PASSWORD@redis:6379/0`` (or
    ``rediss://`` with ACL users) with ``requirepass`` on the server.
    """
    _production_like(ctx)
    out: list[Finding] = []
    looked = []
    for name, redis in ((ctx.cfg.database.url_env, False), (ctx.cfg.redis.url_env, True)):
        for val in effective(ctx, name):
            looked.append(f"{name} ({val.source})")
            out.extend(_url_findings(name, val.value, val.location, val.source, redis,
                                     container_runtime(ctx)))
            pw = None
            with contextlib.suppress(ValueError):
                pw = urlsplit(val.value).password
            if pw:
                register(ctx, pw)
    out += _code_url_findings(ctx, looked, {f.location for f in out})
    if not looked:
        raise Skip(f"neither {ctx.cfg.database.url_env} nor {ctx.cfg.redis.url_env} is set in the "
                   "profile's env, Compose or a code default, and no URL is written in the code")
    if not out:
        out.append(passed(f"URLs are production-grade: {', '.join(looked[:12])}"))
    return out


def _code_url_findings(ctx: Context, looked: list[str], seen: set[str]) -> list[Finding]:
    """Redis URLs without a password and SQLite engines written in the code, one Redis finding
    per file (its evidence lists every URL of the file)."""
    judged = {ctx.cfg.database.url_env, ctx.cfg.redis.url_env}
    redis: dict[str, list[CodeURL]] = {}
    out: list[Finding] = []
    for u in code_urls(ctx):
        deployed = deployment_sets(ctx, u.env) if u.env and u.env not in judged else []
        if u.scheme.startswith("sqlite") and u.env and deployed:  # ENGINE from the environment
            looked.append(f"{u.env} ({deployed[0].source})")
            out += [warned(f"{u.env}={v.value} ({v.source}) selects SQLite: one file, one writer, "
                           "no network access for replicas and no managed backups",
                           location=v.location) for v in deployed
                    if v.value.strip().lower().endswith("sqlite3")]
            continue
        if u.loc in seen or (u.env and (u.env in judged or deployed)):
            continue
        looked.append(u.loc)
        if u.scheme.startswith("sqlite"):
            out.append(warned(f"{u.where} uses SQLite: one file, one writer, no network access "
                              "for replicas and no managed backups", location=u.loc))
        elif u.scheme in ("redis", "rediss") and "@" not in u.url:
            redis.setdefault(u.path, []).append(u)
    for urls in redis.values():
        first = urls[0]
        how = ("composed from host and port only: there is no place for a password"
               if any(u.composed for u in urls) else "hard-coded without a password")
        out.append(failed(f"Redis URL {how} ({first.where})", location=first.loc,
                          evidence="; ".join(f"{u.loc}: {u.where}" for u in urls)[:600]))
    return out


@check("CFG-033", "LLM mock mode is off in production", severity=Severity.HIGH, needs=("repo",),
       checklist=("4.1.4", "2.1.3"), evidence=Evidence.PARSED)
def mock_mode_off(ctx: Context) -> list[Finding]:
    """The LLM mock switch (``llm.mock_env``: ``MOCK_LLM``, ``LLM_MOCK``, ``USE_MOCK_LLM``, and any
    ``*MOCK*`` variable) is not on in the production profile's env, the Compose environment of
    built services, or the code default.

    In mock mode the product answers with canned text: users get fake answers and nobody notices
    until they complain; usage metrics and costs look healthy while the feature is broken.

    Remediation: set ``MOCK_LLM=false`` in production and make the code refuse mock mode when
    ``ENVIRONMENT=production``.
    """
    _production_like(ctx)
    names = set(ctx.cfg.llm.mock_env) | {n for n in candidate_names(ctx)
                                         if "MOCK" in n.upper() and not n.startswith("VITE_")}
    out: list[Finding] = []
    looked = []
    for name in sorted(names):
        for val in effective(ctx, name):
            looked.append(f"{name}={val.value} ({val.source})")
            if _is_true(val.value):
                out.append(failed(f"{name} is on ({val.source}) in the {ctx.cfg.profile} profile",
                                  location=val.location, evidence=f"{name}={val.value}"))
    if not looked:
        raise Skip(f"no mock switch found (looked for {', '.join(sorted(names))})")
    if not out:
        out.append(passed(f"mock mode is off: {', '.join(looked)}"))
    return out
