"""The environment a Compose service's container starts with, each variable where it is set:
the service's ``environment:`` (wins), its ``env_file:`` files (later files win), then the
``ENV`` of the Dockerfile stage it builds (or nothing known for a pulled image). ``env_file``
entries that do not exist are listed: what they would set is unknown. Not a check module."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodaudit.product.compose import read_env_file, rel_path
from prodaudit.product.compose_yaml import env_file_paths, service_env
from prodaudit.product.dockerfiles import chain, dockerfiles
from prodaudit.product.envgraph import env_pairs

if TYPE_CHECKING:
    from prodaudit.context import Context
    from prodaudit.product.services import Service


@dataclass(frozen=True)
class Setting:
    value: str | None  # None: passed through from the shell (``- NAME`` without a value)
    location: str  # path:line
    source: str  # "environment" | "env_file" | "Dockerfile ENV"


@dataclass
class ServiceEnv:
    values: dict[str, Setting] = field(default_factory=dict)
    missing_env_files: list[str] = field(default_factory=list)  # repo-relative
    env_files: list[str] = field(default_factory=list)  # the ones read
    dockerfile_loc: str = ""  # the built stage's FROM line ("" for a pulled image)

    def get(self, name: str) -> Setting | None:
        return self.values.get(name)


def service_environment(ctx: Context, svc: Service) -> ServiceEnv:
    """What ``svc``'s container gets, by Compose's precedence."""
    out = ServiceEnv()
    p = svc.project
    if svc.build is not None:
        _dockerfile_env(ctx, svc, out)
    base = p.paths[0].parent if p.paths else ctx.repo
    for path, required in env_file_paths(svc.raw):
        if "${" in path:
            continue
        full = base / path
        label = rel_path(ctx, full)
        ef = read_env_file(full, label, ctx.cfg.secrets.max_file_bytes)
        if ef is None:
            if required:
                out.missing_env_files.append(label)
            continue
        out.env_files.append(label)
        for e in ef.entries:
            out.values[e.name] = Setting(e.value, f"{label}:{e.line}", "env_file")
    for name, value in service_env(svc.raw).items():
        out.values[str(name)] = Setting(None if value is None else str(value),
                                        p.loc("services", svc.name, "environment", name),
                                        "environment")
    return out


def _dockerfile_env(ctx: Context, svc: Service, out: ServiceEnv) -> None:
    from prodaudit.product.services import built_stage  # services import this module's users

    assert svc.build is not None
    rel = posixpath.normpath(rel_path(ctx, svc.build.dockerfile))
    df = next((d for d in dockerfiles(ctx) if posixpath.normpath(d.path) == rel), None)
    stage = built_stage(df, svc.build.target) if df is not None else None
    if df is None or stage is None:
        return
    out.dockerfile_loc = df.loc(stage.line)
    for st in chain(df, stage):
        for ins in st.instructions:
            if ins.name == "ENV":
                for k, v in env_pairs(ins.value):
                    out.values[k] = Setting(v, df.loc(ins.line), "Dockerfile ENV")
