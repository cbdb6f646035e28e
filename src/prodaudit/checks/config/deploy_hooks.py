"""CFG-082: release and post-deploy hooks do not load fake or demo data into production."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, failed, load_json, passed
from prodaudit.product.platforms import platform_manifests

_FAKE = re.compile(r"\b(fake|faker|demo|dummy|sample[_-]?data|mock[_-]?data|fixtures?/(demo|"
                   r"sample|test)\w*|loaddata\s+\S*(demo|sample|test|fake)\w*)\b", re.I)
_PROCFILE_HOOK = re.compile(r"^(release|postdeploy|predeploy)\s*:\s*(?P<cmd>.+)$")


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


@check("CFG-082", "Deployment hooks do not seed fake or demo data", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.2.1", "10.2.1"), evidence=Evidence.PARSED)
def no_fake_data_in_deploy_hooks(ctx: Context) -> list[Finding]:
    """The commands a platform runs on every deployment — Heroku ``app.json`` ``scripts``
    (``postdeploy``, ``pr-predestroy`` …), Procfile ``release:``, ``heroku.yml``
    ``release``, ``render.yaml`` ``preDeployCommand``, ``fly.toml`` ``release_command``,
    ``railway`` ``preDeployCommand``, DigitalOcean pre-deploy jobs — do not generate fake,
    demo, dummy or sample data (``flask fake users 10``, ``manage.py loaddata demo``,
    ``seed_demo``).

    A hook runs against the production database: fake accounts (with known passwords) and fake
    content appear next to real users' data, and every deployment may add more.

    Remediation: keep data generators as manual commands for development and review apps
    (``environments.review.scripts`` in app.json), and run only migrations in release hooks.
    """
    hooks = _hooks(ctx)
    if not hooks:
        raise Skip("no deployment hook (app.json scripts, Procfile release, platform manifest "
                   "release command) in the repository")
    findings = [failed(f"{hook} runs {m.group(0)!r} on every deployment", location=loc,
                       evidence=cmd[:200])
                for loc, hook, cmd in hooks if (m := _FAKE.search(cmd))]
    if not findings:
        findings.append(passed(f"{len(hooks)} deployment hook(s) without data generators: "
                               + ", ".join(h for _l, h, _c in hooks)))
    return findings
