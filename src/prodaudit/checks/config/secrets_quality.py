"""CFG-020–024: the quality of secret values — placeholders and defaults, signing-secret
strength, secrets shared between environments, secret defaults hard-coded in settings code."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    mask_value,
    passed,
    skipped,
    warned,
)
from prodaudit.product.codesecrets import (
    code_secrets,
    register,
    seeded_access_codes,
    seeded_accounts,
    sql_seeded_accounts,
)
from prodaudit.product.compose import compose_projects, project_refs
from prodaudit.product.envfiles import (
    DeployedEnvFile,
    EnvFile,
    deployment_env_files,
    env_files,
    parse_env_text,
    profile_env_file,
)
from prodaudit.product.envgraph import Var, env_graph
from prodaudit.product.platforms import LITERAL, platform_manifests
from prodaudit.product.pysettings import settings_model
from prodaudit.product.secretguards import guard_for
from prodaudit.product.secretvalues import (
    PLACEHOLDER_RE,
    is_secret_var,
    is_signing_var,
    not_a_credential,
    placeholder_reason,
    url_password,
    weakness,
)


def _secret_items(ef: EnvFile) -> list[tuple[str, str, int, str]]:
    """(name, value, line, kind) for secret-like entries: secret names and URL passwords."""
    out = []
    for e in ef.entries:
        if is_secret_var(e.name):
            out.append((e.name, e.value, e.line, "value"))
        pw = url_password(e.value)
        if pw is not None:
            out.append((e.name, pw, e.line, "URL password"))
    return out


@check("CFG-020", "Secrets are not placeholders or defaults", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.4", "P.1.2", "8.2.1"), references=("CWE-1392", "CWE-798"),
       evidence=Evidence.PARSED)
def placeholder_secrets(ctx: Context) -> list[Finding]:
    """Secret-like variables (``*SECRET*``, ``*KEY*``, ``*TOKEN*``, ``*PASSWORD*``, passwords in
    DSNs) in the profile's env file and in committed env files hold real values, not placeholders
    (``changeme``, ``changethis``, ``secret``, ``your-…-here``, a value made only of the words
    naming the credential — ``token``, ``open_api_key``, ``jwt-secret`` —, empty); Compose files
    give secrets
    no fallback value (``${JWT_SECRET:-secret}``); platform manifests (``render.yaml``,
    ``app.json``, ``heroku.yml``, ``fly.toml`` ``[env]``, DigitalOcean/App Engine app specs)
    set no secret to a literal value — a secret the platform generates (``generateValue: true``,
    ``generator: secret``), encrypts (``type: SECRET``), takes from another resource
    (``fromDatabase``) or has entered in its dashboard (``sync: false``) is the way, and the PASS
    names them. Development env files and examples are not
    judged, except an example the deployment copies (below). An empty value is a WARN (a FAIL for
    a signing secret), except for a non-signing variable the code reads only with a default or
    an optional type (``SMTP_PASSWORD: str | None = None``, ``os.getenv("SENTRY_DSN")``): empty
    there turns an optional feature off.

    Template defaults are public: anyone can sign tokens with ``changethis`` or log in to a
    database whose password is ``postgres``. A Compose fallback turns a forgotten variable into a
    well-known secret instead of a startup error.

    Remediation: generate every secret (``python -c "import secrets;
    print(secrets.token_urlsafe(48))"``), keep it in the secret store or the deployment's env
    file, and make Compose require it: ``${JWT_SECRET:?JWT_SECRET must be set}``.

    An example env file the deployment copies to create a file it reads (Compose ``env_file:
    .env`` absent, ``.env.example`` committed) is judged too: a non-empty placeholder there is a
    WARN (it is deployed as it is unless someone edits the copy), and so is a signing or
    encryption key with any concrete value (the committed key is public); empty values are not
    findings.

    A placeholder the application refuses at start-up in production is a WARN citing the guard:
    settings code that raises when the setting equals a literal placeholder, is in a set of weak
    values, is empty or shorter than N (the full-stack FastAPI template's
    ``_check_default_secret`` raises on ``changethis`` outside ``ENVIRONMENT == "local"``, from a
    ``@model_validator``; ``prodaudit.product.secretguards``) — the deployment fails to start
    instead of running with a public secret (the message says so when the env file itself sets
    the environment under which the value is accepted, ``ENVIRONMENT=local``). A guard that
    only warns, or one not applied to that
    setting or not rejecting that value, keeps the FAIL (the message cites a warning guard).
    """
    out: list[Finding] = []
    # example files hold placeholders by design; development files may hold weak local secrets
    files: list[EnvFile] = [ef for ef in env_files(ctx)
                            if ef.kind in ("production", "staging", "unknown")]
    prof = profile_env_file(ctx)
    if prof is not None:
        files.insert(0, prof)
        prof_real = Path(prof.path).resolve()
        files = [ef for ef in files if ef is prof or (ctx.repo / ef.path).resolve() != prof_real]
    examples = {d.file.path: d for d in deployment_env_files(ctx) if d.substitute_for}
    files += [d.file for d in examples.values()]
    checked = 0
    for ef in files:
        if ef.path in examples:
            out += _example_placeholders(examples[ef.path])
        else:
            out += _file_placeholders(ctx, ef, ef is prof)
        checked += len(_secret_items(ef))
    fallbacks, in_compose = _compose_fallbacks(ctx)
    out += fallbacks
    checked += in_compose
    committed, provided = _manifest_secrets(ctx)
    out += committed
    if prof is None and not files and not checked and not committed and not provided:
        raise Skip("no --env-file and no env, Compose or platform manifest file with secrets to "
                   "verify")
    if not out:
        src = f"the profile env file and {len(files) - (prof is not None)} env file(s)" \
            if prof else f"{len(files)} env file(s)"
        by_platform = f"; {len(provided)} secret(s) provided by the platform ({', '.join(provided[:6])})" \
            if provided else ""
        out.append(passed(f"{checked} secret value(s) in {src} and Compose fallbacks are neither "
                          f"placeholders nor defaults{by_platform}"))
    if prof is None:
        out.append(skipped("no --env-file: the values the deployment will use were not verified"))
    return out


def _file_placeholders(ctx: Context, ef: EnvFile, is_profile: bool) -> list[Finding]:
    """Placeholder and empty secrets of one env file (the profile's or a committed one)."""
    graph = env_graph(ctx)
    out: list[Finding] = []
    for name, value, line, kind in _secret_items(ef):
        why = placeholder_reason(value)
        if why is None:
            continue
        if why == "empty" and kind == "value" and not is_signing_var(name):
            if _optional_in_code(graph.vars.get(name)):
                continue  # SENTRY_DSN= read as ``HttpUrl | None = None``: the feature is off
            out.append(warned(f"{name} is empty in {Path(ef.path).name}"
                              + (", and the code reads it without a default"
                                 if name in graph.vars and graph.vars[name].required else ""),
                              location=f"{ef.path}:{line}"))
            continue
        sev = Severity.CRITICAL if is_signing_var(name) and is_profile else None
        found = failed(f"{name} ({kind}) is {why} in "
                       f"{'the profile env file ' if is_profile else ''}{ef.path}",
                       location=f"{ef.path}:{line}", severity=sev,
                       evidence=f"{name}={mask_value(value)}")
        out.append(_guarded(ctx, name, value, found, ef.values) if kind == "value" else found)
    return out


def _guarded(ctx: Context, name: str, value: str, finding: Finding,
             env: dict[str, str]) -> Finding:
    """``finding`` about setting ``name``'s weak ``value``, judged against the application's
    start-up guards (``prodaudit.product.secretguards``): a WARN when the application refuses
    that value at start-up (the deployment fails instead of running with it), the FAIL citing a
    guard that only warns, the FAIL unchanged without a guard on that value."""
    guard = guard_for(ctx, name, value)
    if guard is None:
        return finding
    if guard.refuses:
        off = guard.skipped_with(env)
        note = f" (this file sets {off}, under which it is accepted)" if off else ""
        return warned(f"{finding.message}, but the application {guard.describe}{note}: the "
                      "deployment fails until it is replaced", location=finding.location,
                      evidence=finding.evidence)
    return failed(f"{finding.message}; the application {guard.describe}",
                  location=finding.location, severity=finding.severity,
                  evidence=finding.evidence)


def _compose_fallbacks(ctx: Context) -> tuple[list[Finding], int]:
    """Secret-like variables Compose gives a fallback value (``${JWT_SECRET:-secret}``), and how
    many secret references with a fallback were looked at."""
    out: list[Finding] = []
    checked = 0
    for p in compose_projects(ctx):
        for ref, path in project_refs(p):
            if not is_secret_var(ref.name) or ref.default is None:
                continue
            checked += 1
            if not ref.default.strip():
                continue  # ${LLM_API_KEY:-} = optional, off by default
            register(ctx, ref.default)
            why = placeholder_reason(ref.default) or "a hard-coded fallback value"
            out.append(failed(f"Compose gives {ref.name} a fallback value ({why}): a forgotten "
                              f"variable silently becomes a known secret", location=p.loc(*path),
                              evidence=f"${{{ref.name}{ref.op}{mask_value(ref.default)}}}"))
    return out, checked


def _manifest_secrets(ctx: Context) -> tuple[list[Finding], list[str]]:
    """FAILs for secret-like variables a platform manifest sets to a literal (a committed secret
    or a placeholder; passwords in URLs too), and ``NAME (how, path:line)`` of those the platform
    provides (generated, encrypted, another resource's, entered in its dashboard)."""
    out: list[Finding] = []
    provided: list[str] = []
    for m in platform_manifests(ctx):
        for v in m.variables:
            value = v.value or ""
            pw = url_password(value) if v.how == LITERAL else None
            if not is_secret_var(v.name) and not pw:
                continue
            if v.how != LITERAL:
                provided.append(f"{v.name} ({v.how}, {v.location})")
                continue
            secret = pw or value
            if not secret.strip() or (not pw and not_a_credential(value, v.name)):
                continue
            register(ctx, secret)
            why = placeholder_reason(secret) or "a literal value committed to the repository"
            kind = "URL password" if pw else "value"
            out.append(failed(f"{v.name} ({kind}) is {why} in the {m.platform} manifest "
                              f"{m.path}: have the platform generate it or keep it in its secret "
                              "store", location=v.location,
                              evidence=f"{v.name}={mask_value(value)}"))
    return out, provided


def _optional_in_code(var: Var | None) -> bool:
    """Backend code reads the variable, and every read has a default (``str | None = None``,
    ``os.getenv("X")``): an empty value turns an optional feature off."""
    return var is not None and any(r.kind != "frontend" for r in var.reads) and not var.required


def _example_placeholders(dep: DeployedEnvFile) -> list[Finding]:
    """Non-empty placeholders in an example the deployment copies as its env file (empty
    values are the example's way of saying "fill me in")."""
    out = []
    for name, value, line, kind in _secret_items(dep.file):
        why = placeholder_reason(value)
        if why is None and kind == "value" and is_signing_var(name):
            out.append(warned(f"{name} has a concrete value in {dep.file.path}, which the deployer "
                              f"copies to {dep.substitute_for}: the key is committed, public, and "
                              "deployed as it is unless edited", location=f"{dep.file.path}:{line}",
                              evidence=f"{name}={mask_value(value)}"))
            continue
        if why is None or why == "empty":
            continue
        out.append(warned(f"{name} ({kind}) is {why} in {dep.file.path}, which the deployer "
                          f"copies to {dep.substitute_for}: deployed as it is unless edited",
                          location=f"{dep.file.path}:{line}",
                          evidence=f"{name}={mask_value(value)}"))
    return out


@check("CFG-021", "JWT/HMAC signing secrets are long and random", severity=Severity.HIGH,
       needs=("repo",), checklist=("8.1.1", "P.1.2", "P.3.1"), references=("CWE-326", "CWE-521"),
       evidence=Evidence.PARSED)
def signing_secret_strength(ctx: Context) -> list[Finding]:
    """Signing secrets in the profile's env file (``JWT_SECRET``, ``SECRET_KEY``, ``*_SIGNING_KEY``,
    session/HMAC keys) are at least 32 bytes and look random (character variety and Shannon
    entropy).

    An HS256 token signed with a short or dictionary secret is cracked offline from one captured
    token (hashcat does billions of guesses per second); the attacker then forges admin tokens.

    Remediation: generate 32+ random bytes, e.g. ``python -c "import secrets;
    print(secrets.token_urlsafe(48))"``, and rotate the secret (all sessions are invalidated).

    A weak value the application itself refuses at start-up in production (settings code that
    raises when the value equals a placeholder, is one of a set of weak values or is shorter
    than N: ``prodaudit.product.secretguards``) is a WARN citing that guard: the deployment
    fails to start rather than run with it. A guard that only warns keeps the FAIL.
    """
    prof = profile_env_file(ctx)
    if prof is None:
        raise Skip("no --env-file: signing secrets not verified")
    g = env_graph(ctx)
    out: list[Finding] = []
    seen = 0
    for e in prof.entries:
        if not is_signing_var(e.name):
            continue
        seen += 1
        register(ctx, e.value)
        why = weakness(e.value)
        if why:
            out.append(_guarded(ctx, e.name, e.value, failed(
                f"{e.name} is weak: {why}", location=f"{prof.path}:{e.line}",
                severity=Severity.CRITICAL, evidence=f"{e.name}={mask_value(e.value)}"),
                prof.values))
    read_signing = sorted(n for n, v in g.vars.items() if is_signing_var(n) and v.reads)
    missing = [n for n in read_signing if n not in prof.values]
    if missing:
        out.append(skipped("read by the code but not in the profile env file: "
                           + ", ".join(missing)))
    if not seen and not read_signing:
        raise Skip("no JWT/HMAC/session signing secret read by the code or set in the env file")
    if not any(f.status.value == "fail" for f in out):
        out.insert(0, passed(f"{seen} signing secret(s) in {Path(prof.path).name} are at least "
                             "32 bytes with high entropy"))
    return out


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@check("CFG-022", "Production secrets differ from development ones", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.3", "P.3.1"), references=("CWE-798",), evidence=Evidence.PARSED)
def shared_secrets(ctx: Context) -> list[Finding]:
    """No secret value of the production env (the profile's env file in the production profile,
    committed ``*.production`` env files) also appears in a development, staging or local env
    file (repository env files, ``readiness.staging_env_file``).

    Development secrets live on laptops, in CI logs and in chat: a shared value means a developer
    machine compromise is a production compromise.

    Remediation: generate separate secrets per environment and rotate the shared ones.
    """
    prod: list[EnvFile] = [ef for ef in env_files(ctx) if ef.kind == "production"]
    prof = profile_env_file(ctx)
    if prof is not None and ctx.cfg.profile == "production":
        prod.insert(0, prof)
    others: list[EnvFile] = [ef for ef in env_files(ctx)
                             if ef.kind in ("development", "staging", "unknown")]
    staging = ctx.cfg.readiness.staging_env_file
    if staging is not None:
        try:
            others.append(parse_env_text(str(staging), staging.read_text(errors="replace")))
        except OSError as exc:
            return [errored(f"readiness.staging_env_file {staging}: {exc.strerror}")]
    if prof is not None:
        prof_real = Path(prof.path).resolve()
        others = [o for o in others if (ctx.repo / o.path).resolve() != prof_real]
    if not prod:
        raise Skip("no production env (--env-file in the production profile, or a committed "
                   "*.production env file)")
    if not others:
        raise Skip("no development or staging env file to compare with")
    index: dict[str, list[tuple[str, str, int]]] = {}
    for o in others:
        for name, value, line, _ in _secret_items(o):
            if len(value) >= 6 and placeholder_reason(value) is None:
                index.setdefault(value, []).append((name, o.path, line))
    out: list[Finding] = []
    compared = 0
    for p in prod:
        for name, value, line, _ in _secret_items(p):
            if len(value) < 6 or placeholder_reason(value) is not None:
                continue
            compared += 1
            for oname, opath, oline in index.get(value, []):
                register(ctx, value)
                out.append(failed(f"{name} in {p.path} has the same value as {oname} in {opath}:"
                                  f"{oline}", location=f"{p.path}:{line}",
                                  evidence=f"sha256 prefix of both values: {_fingerprint(value)}"))
    if not out:
        out.append(passed(f"{compared} production secret(s) compared with {len(others)} "
                          f"development/staging env file(s): none shared"))
    return out


@check("CFG-023", "No secrets hard-coded in settings code", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.2", "2.1.4"), references=("CWE-798", "CWE-1188"),
       evidence=Evidence.PARSED)
def hardcoded_secret_defaults(ctx: Context) -> list[Finding]:
    """Application code assigns no credential: no literal value, of any length, for a
    secret-named setting (``SECRET_KEY = "x"``, ``app.config["SECRET_KEY"] = "..."``,
    ``app.secret_key = ...``, a Django or Flask config class attribute, a settings dictionary
    entry), no literal default for one (``SECRET_KEY: str = "changethis"``,
    ``os.getenv("JWT_SECRET", "dev-secret")``, starlette/decouple ``config("X", default=...)``,
    django-environ ``env("X", default=...)``), no URL with a password (a DSN or broker URL
    default), no generated-looking token assigned to a secret-named name, and no secret-named
    key with a literal value in a configuration file the code loads by name
    (``default_config="./config/app.yaml"``). Numbers, durations, booleans, import and file paths
    are never secrets (a placeholder default such as ``CHANGE_ME`` is one, though it looks like
    an identifier: it is the key a forgotten variable falls back to), nor a short identifier
    held by a setting named for a field, header or claim (``JWT_AUTH_USERNAME_KEY = "email"``,
    ``TOKEN_TYPE_CLAIM``), nor a value that spells out its role in a sample payload of the API's
    documentation (``EXAMPLES = {"user_create": {"value": {"password": "strongpassword123"}}}``,
    ``Field(..., example="testpass1")``, ``json_schema_extra``); tests, documentation and
    development or test settings modules are
    not judged.

    A credential in code is public (it is in the repository) and is used whenever the variable is
    forgotten. Fail closed instead: no default, and validation at startup.

    Remediation: read the value from the environment or the secret store without a default
    (``jwt_secret: SecretStr`` without a value, ``env("SECRET_KEY")``) and refuse to start
    without it; rotate any credential that was committed.
    """
    g = env_graph(ctx)
    found: dict[str, Finding] = {}
    for c in code_secrets(ctx):
        register(ctx, c.value)
        found[c.loc] = failed(f"{c.name} is {c.how}", location=c.loc,
                              evidence=f"{c.name} = {mask_value(c.value)}")
    checked = len(found)
    for v in sorted(g.vars.values(), key=lambda x: x.name):
        for r in v.reads:
            if r.kind == "frontend" or r.default is None or found and r.loc in found:
                continue
            pw = url_password(r.default)
            if v.secret_name or r.secret_type:  # v.secret and (a secret name or a secret type)
                checked += 1
                if not_a_credential(r.default) is not None and \
                        not PLACEHOLDER_RE.match(r.default.strip()):
                    continue  # a DSN without credentials, a path, a boolean ... (a placeholder
                    # such as CHANGE_ME is the key a forgotten variable falls back to)
                register(ctx, r.default)
                found[r.loc] = failed(f"{v.name} has a hard-coded default in code",
                                      location=r.loc, evidence=f"default {mask_value(r.default)}")
            elif pw:
                checked += 1
                register(ctx, pw)
                found[r.loc] = failed(f"{v.name} defaults to a URL with a password",
                                      location=r.loc, evidence=f"password {mask_value(pw)}")
    settings = settings_model(ctx)
    if not found and not settings.settings and not any(v.reads for v in g.vars.values()):
        raise Skip("no settings and no environment variable reads found in the code")
    out = list(found.values())
    if not out:
        secrets = sum(1 for st in settings.settings if is_secret_var(st.name))
        out.append(passed(f"{len(settings.settings)} settings in code ({secrets} secret-named) and "
                          f"{checked} secret defaults: no credential hard-coded"))
    return out


@check("CFG-024", "No account or access code is seeded with a literal secret", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.2", "8.2.1"), references=("CWE-798", "CWE-1392"),
       evidence=Evidence.PARSED)
def seeded_passwords(ctx: Context) -> list[Finding]:
    """Seed and start-up code creates no account with a password written in the code:
    ``UserCreate(email=..., password="password", is_superuser=True)``,
    ``create_superuser("admin", "a@b.c", "admin")``, ``User("admin@x", hashpw(b"admin", ...))``,
    and no SQL fixture or init script inserts accounts with literal passwords
    (``INSERT INTO users (..., pwd_hash, is_admin) VALUES (..., md5('superadmin'), TRUE)``,
    one finding per statement). Privileged accounts are FAIL, ordinary ones WARN. An access code
    seeded with a literal value (``RegistrationCode("a36e…")``, ``InviteCode(code=...)``,
    ``ApiKey(key=...)``, directly or through a local name) is FAIL: anyone who reads the
    repository can register or call the API. Tests are not judged.

    The password is public (it is in the repository) and the seed runs in every deployment:
    anyone who reads the repository can log in, as an administrator when the seed creates one.

    Remediation: take the first administrator's password from the environment or the secret
    store (no default), or create the account interactively once; never seed demo accounts into
    production. Generate access codes at run time (``secrets.token_urlsafe()``) and hand them out
    outside the repository.
    """
    accounts = seeded_accounts(ctx) + sql_seeded_accounts(ctx)
    out: list[Finding] = []
    for c in seeded_access_codes(ctx):
        register(ctx, c.value)
        out.append(failed(f"{c.who} seeds an access code with a literal value: the same code in "
                          "every deployment", location=c.loc,
                          evidence=f"code {mask_value(c.value)}"))
    for a in accounts:
        register(ctx, a.value)
        what = "a privileged account" if a.privileged else "an account"
        msg = f"{a.who} seeds {what} with a literal password"
        ev = f"password {mask_value(a.value)}"
        out.append(failed(msg, location=a.loc, evidence=ev) if a.privileged
                   else warned(msg, location=a.loc, evidence=ev))
    if not out:
        files = settings_model(ctx).files
        if not files:
            raise Skip("no application Python code in the repository")
        out.append(passed(f"{files} Python modules: no account or access code created with a "
                          "literal password or code"))
    return out
