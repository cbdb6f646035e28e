"""CFG-082: release and post-deploy hooks, and the commands that start production, do not load
fake or demo data into it."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, load_json, passed
from prodaudit.product.entrypoints import entry_points
from prodaudit.product.platforms import platform_manifests

_FAKE = re.compile(r"\b(fake|faker|demo|dummy|sample[_-]?data|mock[_-]?data|fixtures?/(demo|"
                   r"sample|test)\w*|loaddata\s+\S*(demo|sample|test|fake)\w*)\b", re.I)
_PROCFILE_HOOK = re.compile(r"^(release|postdeploy|predeploy)\s*:\s*(?P<cmd>.+)$")
#: a data generator in a command that starts the product: narrower than ``_FAKE`` (a start
#: command names the application — ``uvicorn demo.main:app``, ``celery -A demo`` — so a bare
#: "demo" says nothing): demo fixtures loaded, ``flask fake …``, or a script, module or command
#: named for fake, demo or sample data (``seed_demo``, ``create_fake_users.py``, ``demo_data``)
_FAKE_START = re.compile(
    r"\bloaddata\s+(?:\S+\s+)*?\S*(?:demo|sample|fake|dummy)\w*"
    r"|\bflask\s+(?:fake|seed[-_]demo|demo[-_]data)\b"
    r"|(?:^|[\s/.])(?:seed|populate|load|create|generate|insert|add)[-_](?:fake|demo|dummy|sample)"
    r"\w*(?:\.py|\.sh)?\b"
    r"|(?:^|[\s/.])(?:fake|demo|dummy|sample)[-_](?:data|users|accounts|content|posts|fixtures)"
    r"\w*(?:\.py|\.sh)?\b", re.I)


def _hooks(ctx: Context) -> list[tuple[str, str, str]]:
    """(location, hook name, command) of the deployment hooks the repository declares:
    Heroku ``app.json`` scripts, Procfile ``release:`` lines and the release commands of the
    other platform manifests (platforms.py)."""
    out: list[tuple[str, str, str]] = []
    for rel in ctx.files.matching(names=("app.json",)):
        text = ctx.read(rel) or ""
        data = load_json(text, rel)
        scripts = data.get("scripts") if isinstance(data, dict) else None
        if not isinstance(scripts, dict):
            continue
        for name, cmd in scripts.items():
            if not isinstance(cmd, str):
                continue
            n = next((i + 1 for i, line in enumerate(text.splitlines())
                      if f'"{name}"' in line), 1)
            out.append((f"{rel}:{n}", f"app.json {name}", cmd))
    for rel in ctx.files.matching(names=("Procfile",)):
        for i, line in enumerate((ctx.read(rel) or "").splitlines(), 1):
            m = _PROCFILE_HOOK.match(line.strip())
            if m:
                out.append((f"{rel}:{i}", f"Procfile {m.group(1)}", m.group("cmd")))
    for pm in platform_manifests(ctx):
        if pm.path.rsplit("/", 1)[-1] != "app.json":  # its scripts are read above, every one
            out += [(c.location, f"{pm.path} release command", c.command)
                    for c in pm.commands if c.role == "release"]
    return out


def _starts(ctx: Context) -> list[tuple[str, str, str]]:
    """(location, what, command line) of the commands that start production and the lines of
    the shell scripts they run: entry points (entrypoints.py: Dockerfile CMD/ENTRYPOINT,
    production Compose commands, platform start commands, start scripts and Procfiles)."""
    out: list[tuple[str, str, str]] = []
    for ep in entry_points(ctx):
        out.append((ep.location, ep.source, ep.command))
        for rel in ep.followed:
            if rel.endswith(".py"):
                continue  # the application's code, not a command
            for i, line in enumerate((ctx.read(rel) or "").splitlines(), 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    out.append((f"{rel}:{i}", f"{rel} (run by {ep.source})", line.strip()))
    return out


@check("CFG-082", "Deployment hooks and start commands do not seed fake or demo data", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.2.1", "10.2.1"), evidence=Evidence.PARSED)
def no_fake_data_in_deploy_hooks(ctx: Context) -> list[Finding]:
    """The commands a platform runs on every deployment — Heroku ``app.json`` ``scripts``
    (``postdeploy``, ``pr-predestroy`` …), Procfile ``release:``, ``heroku.yml``
    ``release``, ``render.yaml`` ``preDeployCommand``, ``fly.toml`` ``release_command``,
    ``railway`` ``preDeployCommand``, DigitalOcean pre-deploy jobs — do not generate fake,
    demo, dummy or sample data (``flask fake users 10``, ``manage.py loaddata demo``,
    ``seed_demo``). Nor do the commands that start production on every start — Dockerfile
    ``CMD``/``ENTRYPOINT``, the production Compose ``command:``, platform start commands, start
    scripts and the shell scripts they run (``sh -c "python seed_demo.py && uvicorn …"``,
    ``manage.py loaddata demo_users``, ``flask fake users 10``); there a bare "demo" is an
    application's name (``uvicorn demo.main:app``) and is not judged.

    A hook runs against the production database: fake accounts (with known passwords) and fake
    content appear next to real users' data, and every deployment (every start, for a start
    command) may add more.

    Remediation: keep data generators as manual commands for development and review apps
    (``environments.review.scripts`` in app.json), and run only migrations in release hooks and
    start scripts.
    """
    hooks, starts = _hooks(ctx), _starts(ctx)
    if not hooks and not starts:
        raise Skip("no deployment hook (app.json scripts, Procfile release, platform manifest "
                   "release command) and no command that starts production in the repository")
    findings = [failed(f"{hook} runs {m.group(0)!r} on every deployment", location=loc,
                       evidence=cmd[:200])
                for loc, hook, cmd in hooks if (m := _FAKE.search(cmd))]
    seen = {f.location for f in findings}
    for loc, what, cmd in starts:
        m = _FAKE_START.search(cmd)
        if m and loc not in seen:
            seen.add(loc)
            findings.append(failed(f"{what} runs {m.group(0).strip(' /.')!r} on every start",
                                   location=loc, evidence=cmd[:200]))
    if not findings:
        points = len({loc for loc, _w, _c in starts})
        findings.append(passed(f"{len(hooks)} deployment hook(s) and {points} start command(s) "
                               "or script line(s) without data generators"
                               + (": " + ", ".join(h for _l, h, _c in hooks) if hooks else "")))
    return findings
