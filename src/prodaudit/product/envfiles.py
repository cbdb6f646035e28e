"""Parsing of ``.env`` files with line numbers, and their discovery and classification.

Not a check module: the CFG checks share it. The parser is deliberately strict about syntax
(a line that is not ``KEY=VALUE``, a comment or blank is reported with its line number) and
lenient about values (quotes are removed, ``${VAR}`` references are kept verbatim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from prodaudit.context import Context

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
EXAMPLE_MARKERS = ("example", "sample", "template", "dist", "defaults", "tpl")
PROD_MARKERS = ("prod", "production", "live")
DEV_MARKERS = ("dev", "development", "local", "test", "testing", "ci")
STAGING_MARKERS = ("staging", "stage", "preprod", "uat")


@dataclass
class EnvEntry:
    """One ``KEY=VALUE`` line; ``comment`` is the comment block right above it (if any)."""

    name: str
    value: str
    line: int
    comment: str = ""


@dataclass
class EnvFile:
    """A parsed env file: entries in order, and syntax problems as ``(line, message)``."""

    path: str
    entries: list[EnvEntry] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def get(self, name: str) -> EnvEntry | None:
        found = None
        for entry in self.entries:
            if entry.name == name:
                found = entry  # the last assignment wins, as in dotenv
        return found

    @property
    def values(self) -> dict[str, str]:
        return {e.name: e.value for e in self.entries}

    @property
    def kind(self) -> str:
        return env_file_kind(self.path)


def is_env_file(rel: str) -> bool:
    """``.env``, ``.env.production``, ``.env.example``, ``prod.env``, ``env.example`` ...
    (not ``.envrc``, not ``environment.py``)."""
    name = rel.rsplit("/", 1)[-1].lower()
    if name in (".envrc", ".env.py", ".env.js", ".env.ts"):
        return False
    if name == ".env" or name.startswith(".env."):
        return True
    if name.endswith(".env"):
        return True
    return name in ("env.example", "env.sample", "env.template", "env.dist")


def env_file_kind(rel: str) -> str:
    """``example`` (documentation), ``production``, ``staging``, ``development`` or ``unknown``."""
    name = rel.rsplit("/", 1)[-1].lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", name) if t and t != "env"]
    if any(t in EXAMPLE_MARKERS for t in tokens):
        return "example"
    if any(t in PROD_MARKERS for t in tokens):
        return "production"
    if any(t in STAGING_MARKERS for t in tokens):
        return "staging"
    if any(t in DEV_MARKERS for t in tokens):
        return "development"
    return "unknown"


def _unquote(raw: str) -> tuple[str, str | None]:
    """The value of a ``KEY=`` right-hand side, or an error message."""
    raw = raw.strip()
    if not raw:
        return "", None
    if raw[0] in "\"'":
        quote = raw[0]
        end = raw.find(quote, 1)
        while end != -1 and quote == '"' and raw[end - 1] == "\\":
            end = raw.find(quote, end + 1)
        if end == -1:
            return raw[1:], f"unterminated {quote} quote"
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            return raw[1:end], "unexpected text after the closing quote"
        return raw[1:end], None
    # unquoted: an inline comment starts at " #"
    value = re.split(r"\s+#", raw, maxsplit=1)[0]
    return value.strip(), None


def parse_env_text(path: str, text: str) -> EnvFile:
    """Parse dotenv syntax; multi-line double-quoted values are joined."""
    env = EnvFile(path)
    comment: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped:
            comment = []
            continue
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, rest = stripped.partition("=")
        key = key.strip()
        if not sep:
            env.problems.append((lineno, f"not KEY=VALUE: {stripped[:40]!r}"))
            comment = []
            continue
        if not _KEY_RE.match(key):
            env.problems.append((lineno, f"invalid variable name {key[:40]!r}"))
            comment = []
            continue
        rest_s = rest.strip()
        if rest_s.startswith('"') and rest_s.count('"') - rest_s.count('\\"') == 1:
            # multi-line double-quoted value
            parts = [rest_s[1:]]
            closed = False
            while i < len(lines):
                nxt = lines[i]
                i += 1
                if '"' in nxt:
                    parts.append(nxt[: nxt.index('"')])
                    closed = True
                    break
                parts.append(nxt)
            if not closed:
                env.problems.append((lineno, 'unterminated " quote'))
            value = "\n".join(parts)
        else:
            value, err = _unquote(rest)
            if err:
                env.problems.append((lineno, err))
        env.entries.append(EnvEntry(key, value, lineno, " ".join(comment)))
        comment = []
    return env


def env_files(ctx: Context) -> list[EnvFile]:
    """Every env file of the repository, parsed once per audit."""

    def build() -> list[EnvFile]:
        out = []
        for rel in ctx.files.files:
            if not is_env_file(rel):
                continue
            text = ctx.read(rel)
            if text is None:
                continue
            out.append(parse_env_text(rel, text))
        return out

    return ctx.memo("cfg:env_files", build)


def profile_env_file(ctx: Context) -> EnvFile | None:
    """The profile's env file parsed with line numbers (None without ``--env-file``)."""
    path = ctx.cfg.env_file
    if path is None:
        return None

    def build() -> EnvFile | None:
        try:
            text = Path(path).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None
        return parse_env_text(str(path), text)

    return ctx.memo("cfg:profile_envfile", build)


# ---- who reads which env file -------------------------------------------------------------
@dataclass(frozen=True)
class EnvFileUse:
    """One reader of an env file: the audited profile (``--env-file``), Compose's interpolation,
    a service's ``env_file:``, a settings class's ``env_file`` or a ``load_dotenv()`` call."""

    path: str  # repo-relative; absolute for an --env-file outside the repository
    reader: str  # who reads it, e.g. "compose service api (env_file)"
    location: str  # where the reader names it (path:line), "" for --env-file
    exists: bool
    compose: bool = False  # read by docker compose (which refuses a file with invalid lines)


_SETTINGS_ENV_FILE = re.compile(r"\benv_file[\"']?\s*[=:]\s*(?:\(\s*)?[\"']([^\"']+)[\"']")
_LOAD_DOTENV = re.compile(r"\bload_dotenv\(\s*(?:[\"']([^\"']+)[\"'])?")


def _inside(ctx: Context, rel: str) -> bool:
    try:
        target = (ctx.repo / rel).resolve()
        root = ctx.repo.resolve()
    except OSError:
        return False
    return target == root or root in target.parents


def env_file_uses(ctx: Context) -> list[EnvFileUse]:
    """Every env file a deployment of the repository reads, with its reader (memoised)."""
    return ctx.memo("product:env_file_uses", lambda: _uses(ctx))


def _uses(ctx: Context) -> list[EnvFileUse]:
    import posixpath

    from prodaudit.product.compose import compose_model, rel_path

    out: list[EnvFileUse] = []
    if ctx.cfg.env_file is not None:
        out.append(EnvFileUse(rel_path(ctx, ctx.cfg.env_file), "--env-file (the audited profile)",
                              "", ctx.cfg.env_file.is_file()))
    for p in compose_model(ctx).projects:
        if ctx.cfg.env_file is None:
            dot = posixpath.join(p.directory, ".env") if p.directory else ".env"
            out.append(EnvFileUse(dot, f"docker compose {p.name} (interpolation)", p.loc(),
                                  (ctx.repo / dot).is_file(), compose=True))
        for name, svc in p.services.items():
            ef = svc.get("env_file")
            for i, e in enumerate(ef if isinstance(ef, list) else [ef] if ef else []):
                raw = e.get("path") if isinstance(e, dict) else e
                if not isinstance(raw, str) or "${" in raw:
                    continue
                rel = posixpath.normpath(posixpath.join(p.directory, raw))
                if not _inside(ctx, rel):
                    continue
                loc = p.loc("services", name, "env_file", *([i] if isinstance(ef, list) else []))
                out.append(EnvFileUse(rel, f"compose service {name} (env_file)", loc,
                                      (ctx.repo / rel).is_file(), compose=True))
    out += _code_uses(ctx)
    return out


def _code_uses(ctx: Context) -> list[EnvFileUse]:
    """``env_file=".env"`` of a settings class and ``load_dotenv(path)`` calls (a relative path
    is taken relative to the repository root, where the process usually starts)."""
    import posixpath

    from prodaudit.product.envgraph import python_source_file
    from prodaudit.product.textwords import texts_with

    out: list[EnvFileUse] = []
    indexed, naming = texts_with(ctx, "env_file", "load_dotenv")
    for rel in ctx.files.files:
        if not python_source_file(rel):
            continue
        text = naming.get(rel, "") if rel in indexed else ctx.read(rel) or ""
        if "env_file" not in text and "load_dotenv" not in text:
            continue
        for m in list(_SETTINGS_ENV_FILE.finditer(text)) + list(_LOAD_DOTENV.finditer(text)):
            line = text.count("\n", 0, m.start()) + 1
            target = m.group(1) or ".env"
            is_settings = m.re is _SETTINGS_ENV_FILE
            if is_settings or m.group(1):
                path = posixpath.normpath(target)
            else:  # load_dotenv() without a path: find_dotenv() from the calling module upwards
                path = next((posixpath.join(d, ".env") if d else ".env"
                             for d in _parents(posixpath.dirname(rel))
                             if (ctx.repo / d / ".env").is_file()), ".env")
            if not _inside(ctx, path):
                continue
            reader = "settings class (env_file)" if is_settings else "load_dotenv()"
            out.append(EnvFileUse(path, f"{reader} in {rel}", f"{rel}:{line}",
                                  (ctx.repo / path).is_file()))
    return out


def _parents(d: str) -> list[str]:
    out = [d]
    while d:
        d = d.rpartition("/")[0]
        out.append(d)
    return out


def used_env_file_problems(ctx: Context) -> list[tuple[str, int, str, list[EnvFileUse]]]:
    """(path, line, problem, readers) for every invalid line of an env file the repository
    contains or a deployment reads (git-ignored ``.env`` files and ``--env-file`` included)."""
    readers: dict[str, list[EnvFileUse]] = {}
    for use in env_file_uses(ctx):
        if use.exists:
            readers.setdefault(use.path, []).append(use)
    parsed = {ef.path: ef for ef in env_files(ctx)}
    prof = profile_env_file(ctx)
    out = []
    for path in sorted(set(parsed) | set(readers)):
        ef = parsed.get(path)
        if ef is None and prof is not None and ctx.cfg.env_file is not None and readers.get(path) \
                and readers[path][0].reader.startswith("--env-file"):
            ef = EnvFile(path, prof.entries, prof.problems)
        if ef is None:
            text = ctx.files.read_text(path, ctx.cfg.secrets.max_file_bytes) if _inside(ctx, path) \
                else None
            ef = parse_env_text(path, text) if text is not None else None
        for line, msg in ef.problems if ef is not None else []:
            out.append((path, line, msg, readers.get(path, [])))
    return out


# ---- env files the deployer creates ------------------------------------------------------
_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tpl", ".defaults")


def example_for(ctx: Context, rel: str) -> str | None:
    """The committed example a deployer copies to create ``rel`` (``src/.env`` →
    ``src/.env.example``, ``.env.prod`` → ``.env.prod.example`` or ``.env.prod-sample``, or
    ``env.example`` next to it)."""
    import posixpath

    directory, name = posixpath.split(rel)
    candidates = [rel + sep + s[1:] for sep in ".-_" for s in _EXAMPLE_SUFFIXES]
    candidates += [posixpath.join(directory, n) for n in
                   ("env.example", "env.sample", "env.template", ".env.example", ".env.sample",
                    ".env.template", "example.env", "sample.env")]
    if name.endswith(".env") and name != ".env":
        stem = name[: -len(".env")]
        candidates += [posixpath.join(directory, f"{stem}.example.env"),
                       posixpath.join(directory, f"{stem}.env.example")]
    indexed = set(ctx.files.files)
    return next((c for c in candidates if c in indexed), None)


@dataclass(frozen=True)
class DeployedEnvFile:
    """An env file a deployment reads as it is committed, or the committed example a deployer
    copies to create an absent one (``substitute_for`` names the absent file)."""

    file: EnvFile
    reader: str
    substitute_for: str = ""

    @property
    def source(self) -> str:
        if self.substitute_for:
            return (f"example {self.file.path}, which the deployer copies to "
                    f"{self.substitute_for} ({self.reader})")
        return f"env file {self.file.path} ({self.reader})"


def committed_or_example(ctx: Context, rel: str) -> EnvFile | None:
    """The env file ``rel`` as the repository holds it, else the committed example a deployer
    copies to create it (``example_for``); None when neither is there."""
    parsed = {ef.path: ef for ef in env_files(ctx)}
    example = example_for(ctx, rel)
    return parsed.get(rel) or (parsed.get(example) if example else None)


def deployment_env_files(ctx: Context) -> list[DeployedEnvFile]:
    """Env files the deployment reads without ``--env-file``: a production Compose project's
    ``env_file:`` and interpolation ``.env``, a settings class's ``env_file``, ``load_dotenv()``,
    env files a Dockerfile copies into the image; an absent one is replaced by its committed
    example (memoised)."""
    if ctx.cfg.env_file is not None:
        return []

    def build() -> list[DeployedEnvFile]:
        from prodaudit.product.compose import compose_projects

        dev = {f.path for p in compose_projects(ctx) if p.dev_only for f in p.files}
        parsed = {ef.path: ef for ef in env_files(ctx)}
        out: dict[str, DeployedEnvFile] = {}
        uses = [u for u in env_file_uses(ctx) if not u.reader.startswith("--env-file")
                and "(interpolation)" not in u.reader]
        for u in uses:
            if u.compose and u.location.rsplit(":", 1)[0] in dev:
                continue
            if u.exists and u.path in parsed:
                out.setdefault(u.path, DeployedEnvFile(parsed[u.path], u.reader))
            elif not u.exists:
                example = example_for(ctx, u.path)
                if example is not None and example in parsed:
                    out.setdefault(example, DeployedEnvFile(parsed[example], u.reader, u.path))
        for path, reader in _copied_env_files(ctx):
            if path in parsed:
                out.setdefault(path, DeployedEnvFile(parsed[path], reader))
        return list(out.values())

    return ctx.memo("product:deployment_env_files", build)


def _copied_env_files(ctx: Context) -> list[tuple[str, str]]:
    """(path, reader) of env files a Dockerfile ``COPY``/``ADD`` names (``COPY .env .env``)."""
    import posixpath

    from prodaudit.product.dockerfiles import dockerfiles

    out = []
    for df in dockerfiles(ctx):
        base = posixpath.dirname(df.path)
        for ins in df.instructions:
            if ins.name not in ("COPY", "ADD") or "--from" in ins.value:
                continue
            sources = ins.value.split()[:-1]
            for src in sources:
                if src.startswith("--"):
                    continue
                rel = posixpath.normpath(posixpath.join(base, src))
                if is_env_file(rel):
                    out.append((rel, f"copied into the image by {df.path}:{ins.line}"))
    return out
