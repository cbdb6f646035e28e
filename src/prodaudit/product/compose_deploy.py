"""The Compose files the repository's own deployment runs. Not a check module.

Compose's default rules load ``docker-compose.yml`` *and* ``docker-compose.override.yml``, and
the override is very often the local development stack (reload, published database ports, admin
UIs). A repository that deploys with ``docker compose -f docker-compose.yml up -d`` says that
production runs without it. This module reads the repository's deployment commands:

- steps of CI jobs that deploy — GitHub Actions workflows (``.github/workflows/*.yml``) and
  GitLab CI (``.gitlab-ci.yml``) jobs whose workflow or job name, trigger (``release``,
  ``deployment``), stage or ``environment`` says deploy, production, release or staging;
- shell scripts whose path says so (``scripts/deploy.sh``, ``deploy/production.sh``);
- Makefile targets named so (``deploy:``, ``prod-up:``);
- fenced shell blocks (also indented under a list item) of deployment documents: Markdown files
  named so (``deployment.md``, ``docs/production.md``), or sections under a heading that says so
  (README "## Deployment", "### Production").

A deployment command is ``docker compose``/``docker-compose`` running ``up``, ``build``,
``pull``, ``create``, ``start``, ``run`` or ``restart`` (global options before the subcommand:
``-f``/``--file``, ``COMPOSE_FILE=`` in front of the command, in ``export``, or in the CI
step's ``env``), or ``docker stack deploy -c``. Files are resolved against the step's
``working-directory`` or a preceding ``cd``, then the repository root, then the script's own
directory; a command whose files cannot be resolved (``-f $FILE``) tells nothing and is ignored,
and so does one that names a development or test file (``-f docker-compose.test.yml``) or runs in
a test or lint job of a deploy workflow.
A command that brings up a standalone file of a project's directory instead of its default
files (``docker-compose -f docker-compose.prod.yml up -d`` next to a development
``docker-compose.yml``) makes that file the project's production stack.
Reading is bounded: at most :data:`MAX_SOURCES` files of at most the configured file-size cap.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from prodaudit.product.compose_yaml import load_compose_text

if TYPE_CHECKING:
    from prodaudit.context import Context

MAX_SOURCES = 80
MAX_COMMANDS = 400
_WORDS = re.compile(r"(^|[^a-z])(deploy\w*|prod|production|release[sd]?|staging)([^a-z]|$)", re.I)
_TEST_JOB = re.compile(r"(^|[^a-z])(tests?|testing|lint|checks?|e2e)([^a-z]|$)", re.I)
#: a file named so is not what production runs (``-f docker-compose.test.yml`` in a test step)
_NOT_PROD_FILE = re.compile(r"(^|[._-])(dev|devel|development|local|debug|tests?|testing|ci|e2e)"
                            r"([._-]|$)", re.I)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_DOC_HEADING_WORDS = re.compile(r"\b(deploy\w*|production|staging)\b", re.I)
#: a fence, also indented under a list item (``1. Build ...`` then ``    ```sh``)
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_SHELL_LANGS = frozenset({"", "sh", "bash", "shell", "console", "zsh", "shell-session"})
_SKIP_PARTS = frozenset({"tests", "test", "testing", "node_modules", ".venv", "venv", "examples",
                         "example", "fixtures", "site-packages", "vendor"})
_SUBCOMMANDS = frozenset({"up", "build", "pull", "create", "start", "run", "restart"})
_VALUE_OPTS = frozenset({"-p", "--project-name", "--env-file", "--profile", "--ansi",
                         "--progress", "--parallel", "--project-directory", "-c", "--context",
                         "-H", "--host", "--log-level", "--config"})
_SOURCE_RANK = {"workflow": 0, "gitlab": 0, "script": 1, "makefile": 2, "docs": 3}
_EXPR = re.compile(r"\$\{\{.*?\}\}")
_SEGMENT_SPLIT = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")


@dataclass(frozen=True)
class DeployCommand:
    """One deployment command: ``files`` are repo-relative Compose files chosen explicitly
    (``-f``, ``COMPOSE_FILE``), None when Compose's default rules choose them in ``directory``
    (repo-relative; None when unknown)."""

    location: str  # path:line
    kind: str  # workflow, gitlab, script, makefile, docs
    files: tuple[str, ...] | None
    directory: str | None
    text: str
    subcommand: str = "up"


# ---- which sources deploy ---------------------------------------------------------------------
def _says_deploy(*texts: Any) -> bool:
    return any(isinstance(t, str) and _WORDS.search(t.replace("_", "-")) for t in texts)


def _skipped(rel: str) -> bool:
    return bool(set(rel.split("/")[:-1]) & _SKIP_PARTS)


def _sources(ctx: Context) -> list[tuple[str, str]]:
    """(kind, repo-relative path) of the files that may hold deployment commands, bounded."""
    out: list[tuple[str, str]] = []
    for rel in ctx.files.files:
        low = rel.lower()
        name = low.rsplit("/", 1)[-1]
        if low.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
            out.append(("workflow", rel))
        elif low == ".gitlab-ci.yml":
            out.append(("gitlab", rel))
        elif _skipped(rel):
            continue
        elif name.endswith(".sh") and _says_deploy(low.rsplit(".", 1)[0]):
            out.append(("script", rel))
        elif name in ("makefile", "gnumakefile") or name.endswith(".mk"):
            out.append(("makefile", rel))
        elif name.endswith(".md"):
            out.append(("docs", rel))
    out.sort(key=lambda kr: (_SOURCE_RANK[kr[0]], not _says_deploy(kr[1].lower()),
                             kr[1].count("/"), kr[1]))
    return out[:MAX_SOURCES]


def _known(ctx: Context) -> frozenset[str]:
    return ctx.memo("product:compose_deploy:files", lambda: frozenset(ctx.files.files))


# ---- shell command lines ----------------------------------------------------------------------
def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, comments and prompts dropped."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in lines:
        line = raw.strip()
        if not buf:
            start = n
            if line.startswith("#"):
                continue
            line = re.sub(r"^\$\s+", "", line)
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def _split(segment: str) -> list[str] | None:
    try:
        return shlex.split(_EXPR.sub("EXPR", segment), comments=True)
    except ValueError:
        return None


class _Shell:
    """Walks command lines of one block, tracking ``cd`` and ``COMPOSE_FILE`` assignments."""

    def __init__(self, ctx: Context, rel: str, kind: str, cwd: str | None,
                 env: dict[str, str]) -> None:
        self.ctx, self.rel, self.kind, self.cwd, self.env = ctx, rel, kind, cwd, dict(env)
        self.known = _known(ctx)

    def feed(self, lines: list[tuple[int, str]], out: list[DeployCommand]) -> None:
        for n, line in _logical_lines(lines):
            for segment in _SEGMENT_SPLIT.split(line):
                words = _split(segment)
                if words:
                    cmd = self._command(words, n, segment)
                    if cmd is not None:
                        out.append(cmd)

    def _command(self, words: list[str], n: int, text: str) -> DeployCommand | None:
        env: dict[str, str] = {}
        while words and words[0] in ("sudo", "env", "export", "exec", "time", "command"):
            words = words[1:]
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            k, _, v = words[0].partition("=")
            env[k] = v
            words = words[1:]
        if not words:  # a plain assignment (or export): it holds for the following commands
            self.env.update(env)
            return None
        if words[0] == "cd":
            self.cwd = self._cd(words[1] if len(words) > 1 else "")
            return None
        env = {**self.env, **env}
        files, sub = _compose_args(words)
        if sub is None:
            return None
        loc = f"{self.rel}:{n}"
        if files is None and "COMPOSE_FILE" in env:
            files = [f for f in re.split(r"[:;,]", env["COMPOSE_FILE"]) if f]
        if files is None:
            return DeployCommand(loc, self.kind, None, self.cwd, text[:200], sub)
        resolved = [self._resolve(f) for f in files]
        if not resolved or any(r is None for r in resolved):
            return None  # -f $FILE: the files cannot be told
        if any(_NOT_PROD_FILE.search(posixpath.basename(r or "").rsplit(".", 1)[0]
                                     .replace("compose", "")) for r in resolved):
            return None  # a development or test stack
        return DeployCommand(loc, self.kind, tuple(r for r in resolved if r), self.cwd, text[:200],
                             sub)

    def _cd(self, target: str) -> str | None:
        if (not target or self.cwd is None or "$" in target or "EXPR" in target
                or target.startswith(("/", "~"))):
            return None  # somewhere the repository does not tell
        joined = posixpath.normpath(posixpath.join(self.cwd, target))
        return None if joined.startswith("..") else ("" if joined == "." else joined)

    def _resolve(self, f: str) -> str | None:
        if "$" in f or "EXPR" in f or f.startswith(("~", "/")):
            return None
        bases = [self.cwd] if self.cwd is not None else []
        bases += ["", posixpath.dirname(self.rel)]
        for base in bases:
            cand = posixpath.normpath(posixpath.join(base or "", f))
            if cand in self.known:
                return cand
        return None


def _compose_args(words: list[str]) -> tuple[list[str] | None, str | None]:
    """(explicit files or None, subcommand) of a deploying Compose command; (None, None) for
    anything else."""
    if words[0].rsplit("/", 1)[-1] == "docker-compose":
        rest = words[1:]
    elif words[0].rsplit("/", 1)[-1] == "docker" and len(words) > 1:
        i = 1
        while i < len(words) and words[i].startswith("-"):
            i += 1 if "=" in words[i] or words[i] not in _VALUE_OPTS else 2
        if i + 1 < len(words) and words[i] == "stack" and words[i + 1] == "deploy":
            return _stack_files(words[i + 2:]), "deploy"
        if i >= len(words) or words[i] != "compose":
            return None, None
        rest = words[i + 1:]
    else:
        return None, None
    files: list[str] = []
    i = 0
    while i < len(rest):
        w = rest[i]
        if w in ("-f", "--file") and i + 1 < len(rest):
            files.append(rest[i + 1])
            i += 2
        elif w.startswith("--file="):
            files.append(w.split("=", 1)[1])
            i += 1
        elif w.startswith("-f") and len(w) > 2 and not w.startswith("--"):
            files.append(w[2:])
            i += 1
        elif w.startswith("-"):
            i += 1 if "=" in w or w not in _VALUE_OPTS else 2
        else:
            return (files or None), (w if w in _SUBCOMMANDS else None)
    return None, None


def _stack_files(words: list[str]) -> list[str] | None:
    files = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-c", "--compose-file")]
    files += [w.split("=", 1)[1] for w in words if w.startswith("--compose-file=")]
    return files or None


# ---- readers ----------------------------------------------------------------------------------
def _step_lines(text_lines: list[str], run: str, line: int) -> list[tuple[int, str]]:
    """The ``run:`` script's lines with their line numbers in the workflow file."""
    body = run.splitlines()
    first = text_lines[line - 1] if 0 < line <= len(text_lines) else ""
    start = line if body and body[0].strip() and body[0].strip() in first else line + 1
    return [(start + i, s) for i, s in enumerate(body)]


def _env_compose_file(*envs: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for env in envs:
        if isinstance(env, dict) and isinstance(env.get("COMPOSE_FILE"), str):
            out["COMPOSE_FILE"] = env["COMPOSE_FILE"]
    return out


def _workflow(ctx: Context, rel: str, text: str, out: list[DeployCommand]) -> None:
    f = load_compose_text(rel, text)
    data: dict[Any, Any] = f.data or {}
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        return
    on = data.get("on", data.get(True))  # YAML 1.1 reads the key `on` as true
    triggers = {str(t) for t in on} if isinstance(on, (dict, list)) else {str(on)}
    wf_deploy = _says_deploy(rel.rsplit("/", 1)[-1].rsplit(".", 1)[0], data.get("name")) \
        or bool({"release", "deployment"} & triggers)
    lines = text.splitlines()
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        job_deploy = _says_deploy(str(job_id), job.get("name"), _env_name(job))
        if not job_deploy and (not wf_deploy or _TEST_JOB.search(f"{job_id} {job.get('name') or ''}")):
            continue  # a test job of a deploy workflow runs its own stack
        defaults = job.get("defaults")
        run_defaults = defaults.get("run") if isinstance(defaults, dict) else None
        job_wd = run_defaults.get("working-directory") if isinstance(run_defaults, dict) else None
        for i, step in enumerate(job.get("steps") or []):
            if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                continue
            wd = step.get("working-directory") or job_wd
            cwd = _clean_dir(wd) if isinstance(wd, str) else ""
            env = _env_compose_file(data.get("env"), job.get("env"), step.get("env"))
            line = f.lines.get(("jobs", job_id, "steps", i, "run"), 0)
            _Shell(ctx, rel, "workflow", cwd, env).feed(_step_lines(lines, step["run"], line), out)


def _env_name(job: dict[Any, Any]) -> Any:
    """A CI job's ``environment`` (its ``name`` when it is a mapping)."""
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def _clean_dir(wd: str) -> str | None:
    if "$" in wd or wd.startswith("/"):
        return None
    norm = posixpath.normpath(wd)
    return "" if norm == "." else None if norm.startswith("..") else norm


def _gitlab(ctx: Context, rel: str, text: str, out: list[DeployCommand]) -> None:
    f = load_compose_text(rel, text)
    data = f.data or {}
    lines = text.splitlines()
    for name, job in data.items():
        if not isinstance(job, dict) or not isinstance(name, str) or name.startswith("."):
            continue
        if not _says_deploy(name, job.get("stage"), _env_name(job)):
            continue
        shell = _Shell(ctx, rel, "gitlab", "", _env_compose_file(data.get("variables"),
                                                                job.get("variables")))
        for key in ("before_script", "script"):
            script = job.get(key)
            for i, cmd in enumerate(script if isinstance(script, list) else [script]):
                if isinstance(cmd, str):
                    line = f.lines.get((name, key, i), f.lines.get((name, key), 0))
                    shell.feed(_step_lines(lines, cmd, line) if "\n" in cmd
                               else [(line, cmd)], out)


def _makefile(ctx: Context, rel: str, text: str, out: list[DeployCommand]) -> None:
    target: str | None = None
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if target is not None and block and _says_deploy(target):
            _Shell(ctx, rel, "makefile", posixpath.dirname(rel), {}).feed(block, out)

    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t"):
            block.append((n, line.strip().lstrip("@-+")))
            continue
        m = re.match(r"^([\w./-]+)\s*:(?!=)", line)
        if m:
            flush()
            target, block = m.group(1), []
    flush()


def _markdown(ctx: Context, rel: str, text: str, out: list[DeployCommand]) -> None:
    whole = _says_deploy(rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]) and not re.search(
        r"changelog|history|news", rel, re.I)
    heading_deploy = False
    fence: str | None = None
    lang = ""
    block: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if fence is not None:
            if line.strip().startswith(fence):
                if (whole or heading_deploy) and lang in _SHELL_LANGS:
                    _Shell(ctx, rel, "docs", "", {}).feed(block, out)
                fence, block = None, []
            else:
                block.append((n, line))
            continue
        m = _FENCE.match(line)
        if m:
            fence, lang, block = m.group(1), m.group(2).lower(), []
            continue
        h = _HEADING.match(line)
        if h:
            heading_deploy = bool(_DOC_HEADING_WORDS.search(h.group(2)))


_READERS = {"workflow": _workflow, "gitlab": _gitlab, "script": None, "makefile": _makefile,
            "docs": _markdown}


def deploy_commands(ctx: Context) -> list[DeployCommand]:
    """Every deployment command of the repository, workflows first, then scripts, Makefiles
    and documents (bounded by :data:`MAX_SOURCES` files and :data:`MAX_COMMANDS` commands)."""

    def build() -> list[DeployCommand]:
        out: list[DeployCommand] = []
        for kind, rel in _sources(ctx):
            text = ctx.read(rel)
            if not text or ("compose" not in text and "stack deploy" not in text):
                continue
            reader = _READERS[kind]
            if reader is None:
                _Shell(ctx, rel, kind, None, {}).feed(list(enumerate(text.splitlines(), 1)), out)
            else:
                reader(ctx, rel, text, out)
            if len(out) >= MAX_COMMANDS:
                break
        return out[:MAX_COMMANDS]

    return ctx.memo("product:compose_deploy", build)


def deployed_files(ctx: Context, directory: str, group: list[str]) -> tuple[list[str], str] | None:
    """The files the repository's deployment gives Compose for the project in ``directory``
    whose default files are ``group`` (repo-relative), with the command's ``path:line`` — or
    None when Compose's default rules stand: no deployment command names the project's first
    file nor brings up a standalone file of the project's directory instead
    (``docker-compose -f docker-compose.prod.yml up -d``), or one of them runs with the default
    files (no ``-f``, in that directory or in one that cannot be told) or with the override
    file."""
    cmds = deploy_commands(ctx)
    base, rest = group[0], set(group[1:])
    if any(c.files is None and c.directory in (directory, None) for c in cmds):
        return None  # `docker compose up` with the default files (there, or who knows where)
    chosen = [c for c in cmds if c.files is not None and base in c.files]
    if not chosen:  # a standalone production file next to the default one (-f compose.prod.yml)
        chosen = [c for c in cmds if c.files and c.subcommand in ("up", "deploy")
                  and posixpath.dirname(c.files[0]) == directory and not set(c.files) & rest]
    if not chosen or any(rest and rest <= set(c.files or ()) for c in chosen):
        return None
    first = min(chosen, key=lambda c: (_SOURCE_RANK[c.kind], c.subcommand not in ("up", "deploy")))
    files = list(dict.fromkeys(first.files or ()))
    if files == group:
        return None
    return files, first.location


#: a Compose file whose name says it is the production stack
PROD_VARIANT_RE = re.compile(r"^(docker-)?compose[.-](prod|production)\.ya?ml$", re.I)


def production_variant(ctx: Context, directory: str, group: list[str]
                       ) -> tuple[list[str], str] | None:
    """The files of the production stack when the repository names one but no deployment
    command says how it runs: a ``docker-compose.prod.yml`` (``compose.production.yaml`` ...)
    next to the default files ``group``, no deployment command running anything in that
    directory. The variant alone when it is a whole stack (each service has an ``image`` or a
    ``build``), else the default file and the variant on top of it (an override); with the
    reason. A deployment command that names the variant decides instead (its files)."""
    prefix = f"{directory}/" if directory else ""
    names = sorted(rel[len(prefix):] for rel in ctx.files.files
                   if rel.startswith(prefix) and "/" not in rel[len(prefix):]
                   and PROD_VARIANT_RE.match(rel[len(prefix):]))
    if not names:
        return None
    variant = prefix + names[0]
    cmds = deploy_commands(ctx)
    naming = [c for c in cmds if c.files is not None and variant in c.files]
    if naming:
        first = min(naming, key=lambda c: (_SOURCE_RANK[c.kind],
                                           c.subcommand not in ("up", "deploy")))
        return list(dict.fromkeys(first.files or ())), first.location
    if any(c.directory in (directory, None) for c in cmds):
        return None  # the repository deploys something here: its commands decide
    try:
        data = yaml.safe_load(ctx.read(variant) or "")
    except yaml.YAMLError:
        return None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not services:
        return None
    whole = all(isinstance(s, dict) and ("image" in s or "build" in s) for s in services.values())
    why = (f"{variant}, the production variant of {group[0]} (no deployment command chooses "
           "the files)")
    return ([variant] if whole else [group[0], variant]), why
