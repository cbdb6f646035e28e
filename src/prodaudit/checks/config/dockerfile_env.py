"""CFG-111: development switches baked into the image that runs (``ENV DEBUG=1``,
``FLASK_ENV=development``, ``NODE_ENV=development``, a development settings module)."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, check, failed, passed
from prodaudit.checks.config._dockerfiles import parsed, shipped_stages, stage_label
from prodaudit.product.dockerfiles import chain
from prodaudit.product.envgraph import env_pairs

TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
DEBUG_NAME = re.compile(r"^(DEBUG|DEBUG_MODE|[A-Z0-9]+_DEBUG|PYTHONDEVMODE|[A-Z0-9]+_RELOAD|"
                        r"RELOAD)$")
ENV_NAME = re.compile(r"^(ENVIRONMENT|ENV|APP_ENV|APP_ENVIRONMENT|FASTAPI_ENV|FLASK_ENV|NODE_ENV|"
                      r"PYTHON_ENV|RUN_ENV|DEPLOY_ENV|RUN_MODE|APP_MODE|STAGE|RAILS_ENV|"
                      r"RACK_ENV|[A-Z0-9]+_ENVIRONMENT)$")
DEV_VALUES = frozenset({"development", "dev", "local", "debug", "test", "testing"})
SETTINGS_NAME = re.compile(r"^(DJANGO_SETTINGS_MODULE|[A-Z0-9]+_SETTINGS(_MODULE)?|"
                           r"APP_SETTINGS|FLASK_CONFIG|CONFIG_CLASS)$")
DEV_MODULE = re.compile(r"(^|[.:_])(dev|develop|development|local|test|tests|testing|debug)"
                        r"(config|settings)?$", re.I)


def _dev_switch(name: str, value: str) -> str | None:
    v = value.strip().strip("\"'")
    if DEBUG_NAME.match(name) and v.lower() in TRUE:
        return "debug mode"
    if ENV_NAME.match(name) and v.lower() in DEV_VALUES:
        return "a development environment"
    if SETTINGS_NAME.match(name) and DEV_MODULE.search(v):
        return "development settings"
    return None


@check("CFG-111", "No development switches baked into images", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.3", "3.1.3"), references=("CWE-489",),
       evidence=Evidence.PARSED)
def image_dev_switches(ctx: Context) -> list[Finding]:
    """The ``ENV`` of every buildable final stage (and the stages it is built FROM) switches on
    no development behaviour: ``DEBUG``/``*_DEBUG``/``PYTHONDEVMODE`` true, ``FLASK_ENV``/
    ``NODE_ENV``/``APP_ENV``/``ENVIRONMENT`` set to a development value, or a settings module
    that names development (``DJANGO_SETTINGS_MODULE=config.settings.local``). Builder stages
    that do not run in production, and stages only development services build (see CFG-101),
    are not judged.

    A value baked into the image is the default of every container started from it: forget to
    override it once and production runs with the debugger, verbose errors and development
    settings.

    Remediation: bake production values (or none) into the image and set development switches
    in the development Compose file or the developer's environment.
    """
    out: list[Finding] = []
    looked = 0
    for df in parsed(ctx, out):
        seen: set[int] = set()
        for st in shipped_stages(ctx, df):
            for stage in chain(df, st):
                for ins in stage.instructions:
                    if ins.name != "ENV" or ins.line in seen:
                        continue
                    seen.add(ins.line)
                    for name, value in env_pairs(ins.value):
                        looked += 1
                        why = _dev_switch(name, value)
                        if why:
                            out.append(failed(f"{df.path} {stage_label(st)}: ENV {name}={value} "
                                              f"bakes {why} into the image",
                                              location=df.loc(ins.line),
                                              evidence=ins.content.strip()[:200]))
    if not any(f.status.value in ("fail", "error") for f in out):
        out.append(passed(f"{looked} ENV variable(s) of final stages: no development switch"))
    return out
