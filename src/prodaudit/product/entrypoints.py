"""The commands that start the product in production, and what they really run.

Entry points: Dockerfile ``ENTRYPOINT``/``CMD`` (exec form read as words; a Dockerfile that only
development-only Compose projects build, of a product that a platform deploys without building
images, or that only the development Compose files replaced by a production variant build, left
out), Compose ``command:``/``entrypoint:`` (development-only projects left out),
the start and release commands of platform manifests (``render.yaml`` ``startCommand``,
``fly.toml`` ``[processes]``, ``heroku.yml`` ``run`` … — platforms.py), Procfile lines and start
scripts. Each is followed one step to what decides the behaviour:

- a shell script it runs (``/app/run.sh start``, ``./boot.sh``) — found in the build context
  (or the repository) by its path — and the commands inside it;
- ``npm start`` / ``npm run X`` / ``yarn X`` → the ``scripts`` entry of the ``package.json``
  next to it (``react-scripts start`` is a dev server; ``node server.js`` is not);
- ``python app/main.py`` / ``python -m pkg`` → the script's ``app.run(debug=True)``,
  ``uvicorn.run(reload=True)``;
- ``gunicorn`` → its configuration file (``-c``, else ``gunicorn.conf.py`` in the working
  directory) and ``reload = True`` in it.

Not a check module.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodaudit.errors import InputError
from prodaudit.loaders import load_json
from prodaudit.product.compose import compose_model, rel_path
from prodaudit.product.compose_dev import development_dockerfiles
from prodaudit.product.deploy_paths import tokens
from prodaudit.product.dockerfiles import dockerfiles
from prodaudit.product.platforms import platform_manifests
from prodaudit.product.pysettings import DEV_TOKENS
from prodaudit.pysource import parse_tree

if TYPE_CHECKING:
    from prodaudit.context import Context

DEV_CMD_RE = re.compile(
    r"(--reload\b|\bfastapi\s+dev\b|\bflask\s+run\b|manage\.py\s+runserver(_plus)?\b|"
    r"\bnpm\s+run\s+dev\b|\byarn\s+dev\b|\bpnpm\s+(run\s+)?dev\b|\breact-scripts\s+start\b|"
    r"\bng\s+serve\b|\bnext\s+dev\b|\bnuxt\s+dev\b|\bvue-cli-service\s+serve\b|"
    r"\bwebpack(-dev-server|\s+serve)\b|\bnodemon\b|\bts-node-dev\b|\bgatsby\s+develop\b|"
    r"\bvite(\s|\"|'|$)(?!\s*build)(?!\s*preview)|--debug\b|\bwatchmedo\b|"
    r"(?<!install )\b(watchfiles|watchgod|hupper)\b(?=\s+[-'\"\w]))")
DEBUG_LOG_RE = re.compile(r"(--log-?level[= ]+debug\b|--loglevel[= ]+debug\b|(?<!\S)-l\s+debug\b)",
                          re.I)
_NPM_SCRIPT = re.compile(r"\b(npm|pnpm)\s+(?:run(?:-script)?\s+)?(?P<s>start|dev|serve|[\w:-]+)|"
                         r"\byarn\s+(?:run\s+)?(?P<y>start|dev|serve|[\w:-]+)")
_PY_SCRIPT = re.compile(r"\bpython[\d.]*\s+(?:-u\s+)?(?P<m>-m\s+)?(?P<target>[\w./-]+)")
_SCRIPT_PATH = re.compile(r"(?:^|\s|/)(?P<p>[\w./-]*[\w-]+\.sh)\b|(?:^|\s)\./(?P<q>[\w.-]+)")
START_SCRIPTS = ("procfile", "entrypoint.sh", "docker-entrypoint.sh", "start.sh", "run.sh",
                 "prestart.sh", "start-prod.sh", "boot.sh")


@dataclass(frozen=True)
class Hit:
    """Something an entry point runs that makes it a development setup."""

    what: str  # "uvicorn --reload", "react-scripts start (npm start)"
    where: str  # path:line of the code or script that says so ("" = the entry point itself)
    kind: str = "dev"  # "dev" | "debug-log"


@dataclass
class EntryPoint:
    location: str  # path:line a reviewer points at
    source: str  # "Dockerfile CMD", "service api command", "Procfile"
    command: str
    base: str  # repo-relative directory the command's relative paths start from
    hits: list[Hit] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)  # repo files it was followed into


def words_text(value: str) -> str:
    """An instruction value as plain words (exec-form JSON arrays joined with spaces)."""
    v = value.strip()
    if v.startswith("["):
        try:
            data = json.loads(v)
            if isinstance(data, list):
                return " ".join(str(x) for x in data)
        except ValueError:
            pass
    return v


def _find(ctx: Context, base: str, path: str) -> str | None:
    """A repo file for ``path`` as a command names it: relative to ``base``, else the file of
    that name under ``base`` (a container path such as ``/app/run.sh``)."""
    path = path.strip("\"'")
    cands = [posixpath.normpath(posixpath.join(base, path.lstrip("./")))] if not \
        path.startswith("/") else []
    name = posixpath.basename(path)
    prefix = f"{base}/" if base else ""
    files = ctx.files.files
    for c in cands:
        if c in files:
            return c
    under = sorted((f for f in files if f.startswith(prefix) and f.rsplit("/", 1)[-1] == name),
                   key=lambda f: f.count("/"))
    return under[0] if under else None


def dev_calls(text: str) -> list[tuple[int, str]]:
    """``app.run(debug=True)``, ``app.run(host="0.0.0.0")``, ``uvicorn.run(..., reload=True)``
    in Python source (none when it cannot be read as Python at all)."""
    tree = parse_tree(text)
    if tree is None:
        return []
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run"):
            continue
        owner = ast.unparse(node.func.value)
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        for key in ("debug", "reload", "use_reloader"):
            v = kws.get(key)
            if isinstance(v, ast.Constant) and v.value is True:
                out.append((node.lineno, f"{owner}.run({key}=True)"))
        host = kws.get("host")
        if (owner not in ("uvicorn", "asyncio", "subprocess") and isinstance(host, ast.Constant)
                and host.value == "0.0.0.0"):  # noqa: S104 - the value we look for
            out.append((node.lineno, f'{owner}.run(host="0.0.0.0"): the development server on '
                                     "every interface"))
    return out


def gunicorn_reload(text: str) -> list[tuple[int, str]]:
    """``reload = True`` in a gunicorn configuration file (also inside an ``if``)."""
    tree = parse_tree(text)
    if tree is None:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            for sub in node.body:
                if _sets_reload(sub):
                    out.append((sub.lineno, f"reload = True when {ast.unparse(node.test)[:80]}"))
        elif isinstance(node, ast.Module):
            for sub in node.body:
                if _sets_reload(sub):
                    out.append((sub.lineno, "reload = True"))
    return out


def _sets_reload(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "reload"
                                                 for t in node.targets)
            and isinstance(node.value, ast.Constant) and bool(node.value.value))


def _npm_hits(ctx: Context, base: str, text: str) -> list[Hit]:
    out = []
    for m in _NPM_SCRIPT.finditer(text):
        name = m.group("s") or m.group("y")
        pkg = _find(ctx, base, "package.json") if name else None
        if pkg is None:
            continue
        try:
            scripts = (load_json(ctx.read(pkg) or "", pkg) or {}).get("scripts") or {}
        except (InputError, AttributeError):
            continue
        body = str(scripts.get(name, ""))
        dev = DEV_CMD_RE.search(body)
        if dev:
            line = next((i for i, ln in enumerate((ctx.read(pkg) or "").splitlines(), 1)
                         if f'"{name}"' in ln), 0)
            out.append(Hit(f"{body[:60]} ({m.group(0).strip()})", f"{pkg}:{line}" if line else pkg))
    return out


def _direct(text: str) -> list[Hit]:
    """Development switches written in the command itself."""
    out = []
    dev = DEV_CMD_RE.search(text)
    if dev:
        out.append(Hit(dev.group(0).strip(), ""))
    log = DEBUG_LOG_RE.search(text)
    if log:
        out.append(Hit(log.group(0).strip(), "", "debug-log"))
    return out


def _indirect(ctx: Context, ep: EntryPoint, text: str, depth: int = 0) -> None:
    """Follow what ``text`` runs: npm scripts, Python scripts, gunicorn's configuration file,
    shell scripts (whose lines are judged directly and followed in turn)."""
    ep.hits.extend(_npm_hits(ctx, ep.base, text))
    py = _PY_SCRIPT.search(text)
    if py and not py.group("m") and py.group("target").endswith(".py"):
        rel = _find(ctx, ep.base, py.group("target"))
        if rel is not None:
            ep.followed.append(rel)
            ep.hits.extend(Hit(what, f"{rel}:{line}")
                           for line, what in dev_calls(ctx.read(rel) or ""))
    if re.search(r"\bgunicorn\b", text):
        conf = re.search(r"(?:-c|--config)[= ]+(?:python:)?(\S+)", text)
        rel = _find(ctx, ep.base, conf.group(1)) if conf else (
            posixpath.join(ep.base, "gunicorn.conf.py") if ep.base else "gunicorn.conf.py")
        if rel is not None and rel in ctx.files.files:
            ep.followed.append(rel)
            ep.hits.extend(Hit(what, f"{rel}:{line}", "gunicorn")
                           for line, what in gunicorn_reload(ctx.read(rel) or ""))
    if depth >= 2:
        return
    for m in _SCRIPT_PATH.finditer(text):
        path = m.group("p") or m.group("q")
        rel = _find(ctx, ep.base, path) if path else None
        if rel is None or rel in ep.followed:
            continue
        ep.followed.append(rel)
        for i, line in enumerate((ctx.read(rel) or "").splitlines(), 1):
            if line.lstrip().startswith("#") or not line.strip():
                continue
            ep.hits.extend(Hit(h.what, f"{rel}:{i}", h.kind) for h in _direct(line))
            _indirect(ctx, ep, line, depth + 1)


def _follow(ctx: Context, ep: EntryPoint, text: str) -> None:
    ep.hits.extend(_direct(text))
    _indirect(ctx, ep, text)


def _dockerfile_entries(ctx: Context) -> list[EntryPoint]:
    """One entry point per CMD/ENTRYPOINT for what it says itself, and one per stage (at its
    ENTRYPOINT, else its CMD) for what the combined command runs."""
    from prodaudit.product.builds import builds  # builds need the compose model
    dev_images = development_dockerfiles(ctx)
    out = []
    for df in dockerfiles(ctx):
        if posixpath.normpath(df.path) in dev_images:
            continue  # the image of the development stack; the platform runs no image
        contexts = [b.context for b in builds(ctx, df)] or [posixpath.dirname(df.path)]
        for st in df.stages:
            parts = [i for i in st.instructions if i.name in ("ENTRYPOINT", "CMD")]
            for ins in parts:
                ep = EntryPoint(df.loc(ins.line), f"Dockerfile {ins.name}",
                                words_text(ins.value), contexts[0])
                ep.hits.extend(_direct(ep.command))
                out.append(ep)
            if not parts:
                continue
            last = {p.name: p for p in parts}
            at = last.get("ENTRYPOINT") or last["CMD"]
            command = " ".join(words_text(p.value) for p in (last.get("ENTRYPOINT"),
                                                              last.get("CMD")) if p)
            ep = EntryPoint(df.loc(at.line), f"Dockerfile {at.name}", command, contexts[0])
            _indirect(ctx, ep, command)
            out.append(ep)
    return out


def _compose_entries(ctx: Context) -> list[EntryPoint]:
    out = []
    for p in compose_model(ctx).stacks:
        if p.dev_only:
            continue
        base_dir = rel_path(ctx, p.paths[0].parent) if p.paths else ""
        for name, svc in p.services.items():
            build = svc.get("build")
            ctx_dir = build if isinstance(build, str) else (build or {}).get("context", "") \
                if isinstance(build, dict) else ""
            base = posixpath.normpath(posixpath.join("" if base_dir == "." else base_dir,
                                                     str(ctx_dir or ".")))
            for key in ("entrypoint", "command"):
                if svc.get(key) is None:
                    continue
                cmd = svc[key] if isinstance(svc[key], str) else " ".join(map(str, svc[key]))
                ep = EntryPoint(p.loc("services", name, key), f"service {name} {key}{p.note}",
                                cmd, "" if base == "." else base)
                _follow(ctx, ep, cmd)
                out.append(ep)
    return out


def _platform_entries(ctx: Context) -> list[EntryPoint]:
    """The start and release commands of the platform manifests."""
    out = []
    for m in platform_manifests(ctx):
        for c in m.commands:
            if c.role == "build":
                continue
            who = f" of {c.service}" if c.service else ""
            ep = EntryPoint(c.location, f"{m.path} {c.role} command{who}", c.command, c.base)
            _follow(ctx, ep, c.command)
            out.append(ep)
    return out


def _dev_procfile(name: str) -> bool:
    """``Procfile.dev``, ``Procfile.local`` …: the processes of a development machine
    (foreman, overmind, honcho), not of the deployment."""
    return bool((tokens(name) - {"procfile"}) & DEV_TOKENS)


def _script_entries(ctx: Context, followed: set[str]) -> list[EntryPoint]:
    """Every process line of a Procfile (each is an entry point, clean or not); for a start
    script, the lines that start something of a development setup, else the script itself (at
    its first command) as one clean entry point."""
    out = []
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        procfile = name.startswith("procfile")
        if rel in followed or not (name in START_SCRIPTS or procfile) or \
                (procfile and _dev_procfile(name)):
            continue
        first: EntryPoint | None = None
        hits = False
        for i, line in enumerate((ctx.read(rel) or "").splitlines(), 1):
            if line.lstrip().startswith("#") or not line.strip():
                continue
            ep = EntryPoint(f"{rel}:{i}", rel, line.strip(), posixpath.dirname(rel))
            _follow(ctx, ep, line)
            if ep.hits or procfile:
                out.append(ep)
                hits = hits or bool(ep.hits)
            elif first is None:
                first = ep
        if first is not None and not hits and not procfile:
            out.append(first)
    return out


def entry_points(ctx: Context) -> list[EntryPoint]:
    """Every production entry point with what it runs (built once per audit)."""

    def build() -> list[EntryPoint]:
        eps = _dockerfile_entries(ctx) + _compose_entries(ctx) + _platform_entries(ctx)
        followed = {f for ep in eps for f in ep.followed}
        return eps + _script_entries(ctx, followed)

    return ctx.memo("product:entrypoints", build)
