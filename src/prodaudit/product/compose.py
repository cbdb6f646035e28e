"""The Compose projects of the audited repository, as ``docker compose config`` would produce them.

Files are chosen by Compose's own rules: the ``--compose-file`` options (or ``compose_files`` in
the configuration) in order; else, in every directory, ``COMPOSE_FILE`` from that directory's
``.env``, or the first of ``compose.yaml``, ``compose.yml``, ``docker-compose.yml``,
``docker-compose.yaml`` plus the first override file (``compose.override.yml`` ...) — except
that in the production and staging profiles, when the repository's own deployment commands (CI
deploy jobs, deploy scripts, Makefile targets, deployment docs: compose_deploy.py) give Compose
those files explicitly without the override (``docker compose -f docker-compose.yml up -d``),
the project is the files as deployed (``deployed_by`` names the command); and when the
default files are a development stack (a dev server or reloader, bind-mounted source) that no
deployment command runs while a production variant sits next to them
(``docker-compose.prod.yml``, ``compose.production.yaml``), the project is that variant (alone
when it is a whole stack, on top of the base file when it is an override; ``deployed_by`` says
so). ``include:``
and ``extends:`` are resolved, profiles decide which services ``docker compose up`` starts, and
``${VAR}`` interpolation uses the env file Compose reads (``--env-file``, else the project's
``.env``) under the audit's environment.

Two views of each project:

- ``data``: prodaudit's own merge of the files, *not* interpolated, with ``path:line`` for every
  key (``loc``). Static checks judge it (a ``${JWT_SECRET:-secret}`` fallback is a finding).
- ``config``: what Compose itself makes of the project — ``docker compose config --format json``
  (bounded by a timeout) when a docker CLI with Compose v2 is available, else the own merge
  interpolated and normalised, and ``source`` says which (``merged by prodaudit: docker compose
  unavailable: <reason>``).
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodaudit.product.compose_cli import ComposeError, compose_cli_reason, compose_env, run_config
from prodaudit.product.compose_deploy import deployed_files, production_variant
from prodaudit.product.compose_dev import dev_trait, development_only
from prodaudit.product.compose_include import Resolver, join
from prodaudit.product.compose_yaml import (
    ComposeFile,
    env_file_paths,
    load_compose_text,
    merge,
    service_env,
)
from prodaudit.product.envfiles import EnvFile, parse_env_text
from prodaudit.product.interpolation import VarRef, interpolate, var_refs

if TYPE_CHECKING:
    from prodaudit.context import Context

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
OWN_MERGE_NOTE = "(merged by prodaudit's own Compose merge, not `docker compose config`)"
CLI_SOURCE = "docker compose config"
MAX_CLI_PROJECTS = 20
#: directories whose compose files are test data, examples or documentation, not a stack
AUXILIARY_PARTS = frozenset({"tests", "test", "testing", "examples", "example", "fixtures",
                             "corpus", "samples", "sample", "testdata", "docs"})
_VARIANT_RE = re.compile(r"^(docker-)?compose[.-][\w.-]*\.ya?ml$")


@dataclass
class ComposeProject:
    """One project: its files (``-f`` order, then the included ones), the own merge ``data``
    (uninterpolated, with line numbers) and Compose's ``config``."""

    files: list[ComposeFile]
    data: dict[str, Any]
    directory: str = ""  # the project directory, repo-relative ("" = the repository root)
    explicit: bool = False  # chosen by --compose-file / compose_files
    paths: list[Path] = field(default_factory=list)  # the main files (``-f``), absolute
    env_file: Path | None = None  # the env file Compose reads for interpolation (None: none)
    env: dict[str, str] = field(default_factory=dict)  # interpolation environment
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # CLI_SOURCE or "merged by prodaudit: ..."
    cli_error: str | None = None  # Compose's own error when `docker compose config` failed
    cli_reason: str | None = None  # why `docker compose config` did not run
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # (path, line, message)
    referenced: list[ComposeFile] = field(default_factory=list)  # extends.file targets
    origins: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    profiles: frozenset[str] = frozenset()  # active Compose profiles (COMPOSE_PROFILES)
    profiles_from: str = ""  # where the profiles come from when nothing the audit reads sets them
    dev_only: str | None = None  # why the project is a development-only stack (compose_dev)
    deployed_by: str = ""  # path:line of the deployment command whose -f files were chosen
    replaced: tuple[str, ...] = ()  # the development default files a production variant replaced

    @property
    def name(self) -> str:
        return " + ".join(f.path for f in self.files)

    @property
    def main_files(self) -> list[ComposeFile]:
        """The files Compose is given (``-f``), without the included ones."""
        return self.files[: len(self.paths)] if self.paths else self.files

    @property
    def merged(self) -> bool:
        return len([f for f in self.files if f.data is not None]) > 1

    @property
    def note(self) -> str:
        """What a finding on the merged data adds: the own merge, the deployment command."""
        return (f" {OWN_MERGE_NOTE}" if self.merged else "") + self.deployed_note

    @property
    def by_compose(self) -> bool:
        """``config`` is Compose's own (``docker compose config`` ran and succeeded)."""
        return self.source == CLI_SOURCE

    @property
    def auxiliary(self) -> bool:
        """Under tests/, examples/, fixtures/ ...: test data or documentation, not a stack."""
        return not self.explicit and bool(AUXILIARY_PARTS & set(self.directory.split("/")))

    @property
    def deployed_note(self) -> str:
        """`` (files as deployed by path:line)`` when the deployment command chose the files."""
        return f" (files as deployed by {self.deployed_by})" if self.deployed_by else ""

    @property
    def dev_label(self) -> str:
        """`` (development-only compose file: why)`` for findings on such a project."""
        return f" (development-only compose file: {self.dev_only})" if self.dev_only else ""

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        """Every service of the own merge (also those of inactive profiles), uninterpolated."""
        svcs = self.data.get("services") or {}
        if not isinstance(svcs, dict):
            return {}
        return {k: v for k, v in svcs.items() if isinstance(v, dict)}

    def env_file_rels(self, svc: dict[str, Any]) -> list[str]:
        """The repo-relative ``env_file:`` paths of a service of this project (short and long
        forms)."""
        return [posixpath.normpath(posixpath.join(self.directory, name))
                for name, _ in env_file_paths(svc) if name]

    def active(self, name: str) -> bool:
        """Started by ``docker compose up``: no ``profiles:``, or one of them is active."""
        prof = self.services.get(name, {}).get("profiles")
        if not prof:
            return True
        names = {str(p) for p in prof} if isinstance(prof, list) else {str(prof)}
        return "*" in self.profiles or bool(names & self.profiles)

    @property
    def active_services(self) -> list[str]:
        return [n for n in self.services if self.active(n)]

    def loc(self, *path: Any) -> str:
        """``file:line`` of ``path`` in the last file that sets it; for a key a service inherits
        through ``extends``, where the base service writes it; when no file has the full path,
        the nearest parent in the first (base) file that has it."""
        origin = self.origins.get(tuple(path[:2])) if len(path) > 2 else None
        for n in range(len(path), 0, -1):
            order = reversed(self.files) if n == len(path) else iter(self.files)
            for f in order:
                line = f.lines.get(tuple(path[:n]))
                if line:
                    return f"{f.path}:{line}"
            if n == len(path) and origin is not None:
                src, base = origin
                for f in self.referenced + self.files:
                    line = f.lines.get((*base, *path[2:])) if f.path == src else None
                    if line:
                        return f"{f.path}:{line}"
        return self.files[0].path if self.files else ""

    def abs_path(self, rel: str) -> Path:
        """A path of the effective config (absolute from Compose, or project-relative)."""
        return Path(rel) if os.path.isabs(rel) else Path(self.paths[0]).parent / rel


@dataclass
class ComposeModel:
    """Every Compose project of the repository, the compose files no project loads, and the
    project the deployment suite runs (``primary``)."""

    projects: list[ComposeProject]
    variants: list[ComposeFile]
    cli_reason: str | None  # why docker compose is unavailable; None when it runs

    @property
    def stacks(self) -> list[ComposeProject]:
        """Projects that describe a stack (not test data, examples or documentation)."""
        return [p for p in self.projects if not p.auxiliary]

    @property
    def primary(self) -> ComposeProject | None:
        """The stack the audit deploys: ``--compose-file``, else the repository root's project,
        else the only stack (several: the first whose services include an API)."""
        if not self.projects:
            return None
        for p in self.projects:
            if p.explicit or p.directory == "":
                return p
        stacks = self.stacks
        if len(stacks) == 1:
            return stacks[0]
        from prodaudit.product.services import api_candidates  # the roles need the project

        with_api = [p for p in stacks if api_candidates(p)]
        found = with_api or stacks
        return found[0] if found else None


# ---- reading ------------------------------------------------------------------------------
def deployed_suffix(projects: Iterable[ComposeProject]) -> str:
    """`` (name: files as deployed by path:line; ...)`` for the projects whose files a deployment
    command chose (a PASS says which files it judged), else empty."""
    notes = [f"{p.name}: files as deployed by {p.deployed_by}" for p in projects if p.deployed_by]
    return f" ({'; '.join(notes)})" if notes else ""


def rel_path(ctx: Context, path: str | Path) -> str:
    """A path relative to the audited repository when it lies inside it."""
    p = Path(path)
    try:
        return p.resolve().relative_to(ctx.repo.resolve()).as_posix()
    except (ValueError, OSError):
        return str(p)


def explicit_paths(ctx: Context) -> list[Path]:
    """``--compose-file`` paths: relative ones to the working directory (the CLI's view), else
    to the repository."""
    return [Path(p).resolve() if Path(p).is_absolute() or Path(p).exists() else ctx.repo / p
            for p in ctx.cfg.compose_files]


def _read_bytes(path: Path, limit: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError:
        return None
    return raw.decode("utf-8", errors="replace")


def _loader(ctx: Context) -> Any:
    """A reader of repo-relative Compose files (inside the repository only), cached per file."""
    cache: dict[str, ComposeFile | None] = {}
    root = ctx.repo.resolve()

    def load(rel: str) -> ComposeFile | None:
        if rel not in cache:
            path = (ctx.repo / rel).resolve()
            inside = path == root or root in path.parents
            text = _read_bytes(path, ctx.cfg.secrets.max_file_bytes) if inside else None
            cache[rel] = load_compose_text(rel, text) if text is not None else None
        return cache[rel]

    return load


def read_env_file(path: Path, label: str, limit: int) -> EnvFile | None:
    """An env file parsed with line numbers (None when absent or unreadable)."""
    if not path.is_file():
        return None
    text = _read_bytes(path, limit)
    return parse_env_text(label, text) if text is not None else None


# ---- discovery ----------------------------------------------------------------------------
def _groups(ctx: Context) -> list[tuple[str, list[str], bool, str]]:
    """(project directory, repo-relative or absolute files, explicit, deployment command) by
    Compose's rules, or as the repository's deployment runs them (:func:`_as_deployed`)."""
    if ctx.cfg.compose_files:
        paths = [str(p) for p in explicit_paths(ctx)]
        first = rel_path(ctx, paths[0])
        return [(posixpath.dirname(first) if not os.path.isabs(first) else "", paths, True, "")]
    return [_as_deployed(ctx, d, files) for d, files in _default_groups(ctx)]


def _as_deployed(ctx: Context, d: str, files: list[str]) -> tuple[str, list[str], bool, str]:
    """The production (and staging) profile audits the files the repository deploys with."""
    if ctx.cfg.profile == "development":
        return d, files, False, ""
    found = deployed_files(ctx, d, files)
    return (d, found[0], False, found[1]) if found else (d, files, False, "")


def _default_groups(ctx: Context) -> list[tuple[str, list[str]]]:
    """(project directory, repo-relative files) by Compose's default rules."""
    by_dir: dict[str, set[str]] = {}
    for rel in ctx.files.files:
        d, _, name = rel.rpartition("/")
        by_dir.setdefault(d, set()).add(name)
    out = []
    for d in sorted(by_dir):
        names = by_dir[d]
        prefix = f"{d}/" if d else ""
        listed = _compose_file_var(ctx, d)
        if listed:
            out.append((d, [prefix + n for n in listed]))
            continue
        base = next((n for n in BASE_NAMES if n in names), None)
        if base is None:
            continue
        over = next((n for n in OVERRIDE_NAMES if n in names), None)
        out.append((d, [prefix + base] + ([prefix + over] if over else [])))
    return out


def _compose_file_var(ctx: Context, d: str) -> list[str]:
    """``COMPOSE_FILE`` set in the directory's ``.env`` (files relative to the directory)."""
    ef = read_env_file(ctx.repo / d / ".env", f"{d}/.env" if d else ".env",
                       ctx.cfg.secrets.max_file_bytes)
    entry = ef.get("COMPOSE_FILE") if ef is not None else None
    if entry is None or not entry.value:
        return []
    sep_entry = ef.get("COMPOSE_PATH_SEPARATOR") if ef is not None else None
    sep = sep_entry.value if sep_entry is not None and sep_entry.value else os.pathsep
    files = [join(d, p.strip()) for p in entry.value.split(sep) if p.strip()]
    return [posixpath.relpath(f, d) if d else f for f in files if f is not None]


# ---- building -----------------------------------------------------------------------------
def _load_project(ctx: Context, directory: str, group: list[str], explicit: bool,
                  deployed_by: str, load: Any) -> ComposeProject:
    files: list[ComposeFile] = []
    paths: list[Path] = []
    resolver = Resolver(load)
    data: dict[str, Any] = {}
    for p in group:
        rel = rel_path(ctx, p) if os.path.isabs(p) else p
        path = Path(p) if os.path.isabs(p) else ctx.repo / p
        paths.append(path)
        text = _read_bytes(path, ctx.cfg.secrets.max_file_bytes)
        f = (load_compose_text(rel, text) if text is not None
             else ComposeFile(rel, None, error=(0, "unreadable")))
        files.append(f)
        if f.data is None:
            continue
        included = resolver.include(f, f.data, directory)
        own = resolver.extends(f, {k: v for k, v in f.data.items() if k != "include"})
        data = merge(merge(data, included) or {}, own) or {}
    res = resolver.out
    project = ComposeProject(files + res.included, data, directory=directory, explicit=explicit,
                             paths=paths, problems=list(res.problems), referenced=res.referenced,
                             origins=res.origins, deployed_by=deployed_by)
    _environment(ctx, project)
    return project


def _environment(ctx: Context, p: ComposeProject) -> None:
    """The env file Compose reads for interpolation (``--env-file``, else the project's
    ``.env``), the interpolation environment (the audit's environment wins, as in Compose)
    and the active profiles."""
    env_path = ctx.cfg.env_file or (p.paths[0].parent / ".env" if p.paths else None)
    values: dict[str, str] = {}
    if env_path is not None:
        label = rel_path(ctx, env_path)
        ef = read_env_file(env_path, label, ctx.cfg.secrets.max_file_bytes)
        if ef is not None:
            p.env_file = env_path
            values = ef.values
    p.env = {**values, **compose_env()}
    p.profiles = _profile_set(p.env.get("COMPOSE_PROFILES", ""))
    if not p.profiles and p.services and not p.active_services:
        _deployed_profiles(ctx, p, env_path)


def _profile_set(value: str) -> frozenset[str]:
    return frozenset(x.strip() for x in value.split(",") if x.strip())


def _deployed_profiles(ctx: Context, p: ComposeProject, env_path: Path | None) -> None:
    """Every service has ``profiles:`` and nothing the audit reads sets ``COMPOSE_PROFILES``: as
    it stands ``docker compose up`` starts nothing, so the deployment must set the profiles.
    They are taken from the committed example the deployer copies to create the env file
    Compose reads (``.env.example`` for ``.env``), else every profile is active — the stack is
    judged as the files define it, never as an empty one."""
    from prodaudit.product.envfiles import example_for

    if env_path is not None and ctx.cfg.env_file is None:
        rel = rel_path(ctx, env_path)
        example = example_for(ctx, rel) if not os.path.isabs(rel) else None
        ef = read_env_file(ctx.repo / example, example, ctx.cfg.secrets.max_file_bytes) \
            if example is not None else None
        entry = ef.get("COMPOSE_PROFILES") if ef is not None else None
        if entry is not None and _profile_set(entry.value):
            p.profiles = _profile_set(entry.value)
            p.profiles_from = (f"COMPOSE_PROFILES={entry.value} from {example}:{entry.line}, "
                               f"which the deployer copies to {rel}")
            return
    p.profiles = frozenset({"*"})
    p.profiles_from = ("every profile: each service has profiles: and nothing sets "
                       "COMPOSE_PROFILES")


def _effective(ctx: Context, p: ComposeProject, cli_reason: str | None, budget: list[int]) -> None:
    """``config``: Compose's own when its CLI runs (and the project reads nothing outside the
    repository), else the own merge interpolated and normalised."""
    if cli_reason is None and (outside := _outside_refs(ctx, p)):
        cli_reason = f"the project references {outside} outside the repository"
    if cli_reason is None and budget[0] <= 0:
        cli_reason = f"more than {MAX_CLI_PROJECTS} compose projects"
    refused = [f for f in p.files if f.error and f.error[1].startswith("refused")]
    if cli_reason is None and not refused:  # malformed YAML: Compose names the problem itself
        budget[0] -= 1
        try:
            p.config = run_config(p.paths, ctx.cfg.env_file,
                                  profiles=p.profiles if p.profiles_from else None)
            p.source = CLI_SOURCE
            return
        except ComposeError as exc:
            p.cli_error = str(exc).strip()
            lines = p.cli_error.splitlines() or ["?"]
            cli_reason = f"docker compose config failed: {lines[-1][:200]}"
    elif cli_reason is None:
        cli_reason = f"{refused[0].path} was refused ({refused[0].error[1] if refused[0].error else '?'})"
    p.cli_reason = cli_reason
    p.source = f"merged by prodaudit: {cli_reason}" if cli_reason.startswith("docker compose") \
        else f"merged by prodaudit: docker compose unavailable: {cli_reason}"
    p.config = own_config(p)


def _outside_refs(ctx: Context, p: ComposeProject) -> str | None:
    """A file the project makes Compose read that lies outside the repository (None: none)."""
    root = ctx.repo.resolve()
    for f in p.files:
        if f.data is None:
            continue
        base = (ctx.repo / f.path).parent if not os.path.isabs(f.path) else Path(f.path).parent
        refs: list[Any] = []
        inc = f.data.get("include")
        for e in inc if isinstance(inc, list) else []:
            paths = e.get("path") if isinstance(e, dict) else e
            refs += paths if isinstance(paths, list) else [paths]
        for svc in (f.data.get("services") or {}).values():
            if not isinstance(svc, dict):
                continue
            ext = svc.get("extends")
            if isinstance(ext, dict) and ext.get("file"):
                refs.append(ext["file"])
            ef = svc.get("env_file")
            for e in ef if isinstance(ef, list) else [ef] if ef else []:
                refs.append(e.get("path") if isinstance(e, dict) else e)
        for r in refs:
            if isinstance(r, str) and "${" not in r:
                target = (base / r).resolve()
                if target != root and root not in target.parents:
                    return r
    return None


def own_config(p: ComposeProject) -> dict[str, Any]:
    """The own merge as ``docker compose config`` would print it: interpolated, services of
    inactive profiles left out, build contexts absolute, ports in long syntax."""
    data = _interpolated(copy.deepcopy(p.data), p.env, p)
    services = data.get("services") if isinstance(data.get("services"), dict) else {}
    out_services: dict[str, Any] = {}
    for name, svc in services.items():
        if not isinstance(svc, dict) or not p.active(name):
            continue
        out_services[name] = normalise_service(svc, p.paths[0].parent if p.paths else Path("."))
    data["services"] = out_services
    return data


def _interpolated(value: Any, env: dict[str, str], p: ComposeProject,
                  path: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, str):
        for ref in var_refs(value):
            if ref.required and not env.get(ref.name) and (ref.op == ":?" or ref.name not in env):
                where, _, line = p.loc(*path).rpartition(":")
                problem = (where, int(line) if line.isdigit() else 0,
                           f"required variable {ref.name} has no value ({ref.arg or 'no message'})")
                if problem not in p.problems:
                    p.problems.append(problem)
        return interpolate(value, env)
    if isinstance(value, dict):
        return {k: _interpolated(v, env, p, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, env, p, (*path, i)) for i, v in enumerate(value)]
    return value


def normalise_service(svc: dict[str, Any], base: Path) -> dict[str, Any]:
    """The keys the suites read, in ``docker compose config`` form."""
    out = dict(svc)
    build = out.get("build")
    if isinstance(build, str):
        build = {"context": build}
    if isinstance(build, dict):
        ctx_dir = str(build.get("context", "."))
        path = ctx_dir if "://" in ctx_dir or os.path.isabs(ctx_dir) else str(
            (base / ctx_dir).resolve())
        out["build"] = {**build, "context": path, "dockerfile": build.get("dockerfile", "Dockerfile")}
    if isinstance(out.get("ports"), list):
        out["ports"] = [long_port(x) for x in out["ports"]]
    if "environment" in out:
        out["environment"] = service_env(out)
    return out


_PORT_RE = re.compile(r"^(?:(?P<ip>\[[^\]]+\]|[\d.]+|[^:]*?):)??(?:(?P<pub>[\d-]*):)?"
                      r"(?P<target>\d+)(?:-\d+)?(?:/(?P<proto>\w+))?$")


def long_port(value: Any) -> Any:
    """A ``ports:`` entry in long syntax ({target, published, host_ip, protocol})."""
    if isinstance(value, dict):
        return value
    m = _PORT_RE.match(str(value).strip())
    if m is None:
        return value
    out: dict[str, Any] = {"mode": "ingress", "target": int(m.group("target")),
                           "protocol": m.group("proto") or "tcp"}
    if m.group("pub"):
        out["published"] = m.group("pub").split("-")[0]
    if m.group("ip"):
        out["host_ip"] = m.group("ip").strip("[]")
    return out


def _production_stack(ctx: Context, p: ComposeProject, group: list[str], load: Any
                      ) -> ComposeProject:
    """The production variant's project in place of ``p`` when Compose's default files are a
    development stack (a dev server or reloader, source bind-mounted over the image:
    ``compose_dev``) that no deployment command chose, and a ``docker-compose.prod.yml`` next to
    them is what production runs (:func:`compose_deploy.production_variant`); else ``p``.
    The development profile keeps the default files."""
    if p.explicit or p.deployed_by or ctx.cfg.profile == "development":
        return p
    variant = production_variant(ctx, p.directory, group)
    trait = dev_trait(ctx, p) if variant else None
    if variant is None or trait is None:
        return p
    base = posixpath.basename(group[0])
    prod = _load_project(ctx, p.directory, variant[0], False,
                         f"{variant[1]}; {base} is the development stack: {trait}", load)
    prod.replaced = tuple(f for f in group if f not in variant[0])
    return prod


def build_model(ctx: Context) -> ComposeModel:
    load = _loader(ctx)
    groups = _groups(ctx)
    projects = [_production_stack(ctx, _load_project(ctx, d, group, explicit, deployed_by, load),
                                  group, load)
                for d, group, explicit, deployed_by in groups]
    cli_reason = compose_cli_reason() if projects else None
    budget = [MAX_CLI_PROJECTS]
    for p in projects:
        _effective(ctx, p, cli_reason, budget)
        p.dev_only = development_only(ctx, p)
    loaded = {f.path for p in projects for f in p.files}
    # default files a production variant replaced (_production_stack), or the deployment's own
    # file replaced (-f docker-compose.prod.yml alone), stay in the variable graph
    for p in projects:
        if p.deployed_by and not p.replaced:
            p.replaced = tuple(rel for rel in ctx.files.files if rel not in loaded
                               and rel.rpartition("/")[2] in BASE_NAMES
                               and rel.rpartition("/")[0] == p.directory)
    replaced = {rel for _d, group, _e, _b in groups for rel in group} - loaded
    replaced |= {rel for p in projects for rel in p.replaced}
    variants = []
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1]
        if rel in loaded or not (_VARIANT_RE.match(name) or rel in replaced) \
                or "override" in name:
            continue
        text = ctx.read(rel)
        if text is not None:
            variants.append(load_compose_text(rel, text))
    return ComposeModel(projects, variants, cli_reason)


def compose_model(ctx: Context) -> ComposeModel:
    """The repository's Compose model, built once per audit (``ctx.compose()``)."""
    return ctx.memo("product:compose", lambda: build_model(ctx))


def compose_projects(ctx: Context) -> list[ComposeProject]:
    """The Compose projects to audit: ``--compose-file`` files merged in order, else every
    directory's project by Compose's file rules."""
    return compose_model(ctx).projects


def variant_files(ctx: Context) -> list[ComposeFile]:
    """Compose files that no project loads (``docker-compose.prod.yml``, ``compose.dev.yaml``,
    a default ``docker-compose.yml`` replaced by its production variant or by the file the
    deployment runs instead): parsed for the variable graph only."""
    return compose_model(ctx).variants


def project_refs(project: ComposeProject) -> list[tuple[VarRef, tuple[Any, ...]]]:
    """Every ``${VAR}`` reference in the merged project with the path where it occurs."""
    out: list[tuple[VarRef, tuple[Any, ...]]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, str):
            out.extend((r, path) for r in var_refs(value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))

    walk(project.data, ())
    return out
