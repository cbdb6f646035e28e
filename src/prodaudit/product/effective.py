"""A setting's effective value for the audited deployment, from every place it can come from.
Not a check module."""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.context import Context
from prodaudit.product.compose import compose_projects
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.envfiles import deployment_env_files, profile_env_file
from prodaudit.product.envgraph import env_graph, env_pairs
from prodaudit.product.infraenv import infra_env
from prodaudit.product.interpolation import interpolate
from prodaudit.product.pysettings import Setting, dev_path


@dataclass(frozen=True)
class Value:
    value: str
    location: str
    source: str  # "env file" | "compose service ..." | "env file X (reader)" | "example X ..."
    #: | "code default"

    @property
    def from_example(self) -> bool:
        """An example the deployer copies: deployed as it is only if nobody edits it."""
        return self.source.startswith("example ")


def profile_entry_line(ctx: Context, name: str) -> int:
    prof = profile_env_file(ctx)
    if prof is None:
        return 0
    entry = prof.get(name)
    return entry.line if entry else 0


def effective(ctx: Context, name: str) -> list[Value]:
    """Where ``name`` gets its value: the profile's env file, the ``environment:`` of services
    built from the repository (interpolated with the profile's env), else the code default."""
    out: list[Value] = []
    env = ctx.profile_env
    if name in env:
        path = ctx.cfg.env_file
        line = profile_entry_line(ctx, name)
        out.append(Value(env[name], f"{path}:{line}" if line else str(path), "env file"))
    for p in compose_projects(ctx):
        if p.dev_only:
            continue  # a development-only stack is not what production runs
        for sname, svc in p.services.items():
            if svc.get("build") is None:
                continue
            senv = service_env(svc)
            if name in senv and senv[name] is not None:
                val = interpolate(str(senv[name]), env, missing=True)
                out.append(Value(val, p.loc("services", sname, "environment", name),
                                 f"compose service {sname}{p.note}"))
    if not any(v.source.startswith("compose") for v in out):
        for dep in deployment_env_files(ctx):
            entry = dep.file.get(name)
            if entry is not None:
                out.append(Value(entry.value, f"{dep.file.path}:{entry.line}", dep.source))
    if not out:
        var = env_graph(ctx).vars.get(name)
        if var is not None:
            for r in var.reads:
                if r.has_default and r.default is not None and r.kind != "frontend" \
                        and not dev_path(r.path):
                    out.append(Value(r.default, r.loc, "code default"))
                    break
    return out


def candidate_names(ctx: Context) -> set[str]:
    """Every variable name known to the graph or set in the profile's env."""
    return set(env_graph(ctx).vars) | set(ctx.profile_env)


def deployment_sets(ctx: Context, name: str) -> list[Value]:
    """Where the deployment itself gives ``name`` a value: the profile's env file, the Compose
    ``environment:`` of built services, a Dockerfile ``ENV`` of the final stage, or an
    infrastructure or platform manifest (Bicep, Terraform, Kubernetes, Helm; ``render.yaml``,
    ``app.json``, ``fly.toml`` …: infraenv.py)."""
    out = [v for v in effective(ctx, name) if v.source != "code default"]
    for df in ctx.dockerfiles():
        final = df.final
        for ins in final.instructions if final is not None else []:
            if ins.name == "ENV":
                for key, val in env_pairs(ins.value):
                    if key == name:
                        out.append(Value(val, df.loc(ins.line), "Dockerfile ENV"))
    for path, line, val in infra_env(ctx).get(name, []):
        out.append(Value(val, f"{path}:{line}", f"infrastructure ({path})"))
    return out


def deployed_value(ctx: Context, setting: Setting) -> tuple[object, Value | None]:
    """(the value production gets for ``setting``, where the deployment sets it): for a setting
    read from the environment that the deployment sets (``deployment_sets``), its first value
    there; else the code's value and None."""
    deployed = deployment_sets(ctx, setting.env) if setting.env else []
    return (deployed[0].value, deployed[0]) if deployed else (setting.value, None)
