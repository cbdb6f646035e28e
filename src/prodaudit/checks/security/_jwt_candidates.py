"""Signing-secret candidates from the audited repository: every literal a secret-named setting
may take, whatever the assignment's shape — ``SECRET_KEY = "…"``, ``config["SECRET_KEY"] = "…"``,
``app.config.update(SECRET_KEY="…")``, ``os.environ.get("SECRET_KEY", "…")``,
``Field("…")``/``Field(default="…")`` on a secret-named settings field, ``env("JWT_SECRET",
default="…")``, env files and Compose (``JWT_SECRET=…``, ``${JWT_SECRET:-…}``), YAML/TOML/JSON
keys (``secret_key: …``, cookiecutter's ``"secret_key": "…"``), Dockerfile ``ENV``/``ARG``,
``process.env.JWT_SECRET || "…"``, and literal keys passed to ``jwt.encode``/``jwt.decode``
— plus the literal defaults the environment-variable graph knows. The one place SEC-005 (and
the checks that reuse a cracked key) gets repository candidates from. Not a check module.

Text patterns rather than a parser: they read any Python version and every file type alike."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context

MAX_CANDIDATES = 2000
MAX_FILES = 3000
FILE_RE = re.compile(
    r"(^|/)(\.env[^/]*|[^/]*\.env|[^/]*\.(?:py|pyi|toml|ya?ml|json|ini|cfg|conf|properties|"
    r"js|mjs|cjs|ts|rb|php|go|java|kt|cs|exs?|sh)|Dockerfile[^/]*|[^/]*\.dockerfile|"
    r"Procfile)$",
    re.I,
)
SKIP_PARTS = re.compile(r"(^|/)(node_modules|\.git|\.venv|venv|site-packages|dist|build|"
                        r"__pycache__|\.mypy_cache|\.tox)(/|$)")
NAME = r"[A-Za-z0-9_]*(?:secret|signing|jwt|hmac)[A-Za-z0-9_]*|(?:app|auth|token|session|cookie)[_-]?key"
QUOTED = r"""(?P<q>['"`])(?P<value>(?:(?!(?P=q)).){1,200})(?P=q)"""
PATTERNS = (
    # SECRET_KEY = "x" · "secret_key": "x" · config["SECRET_KEY"] = "x" · secret_key: str = "x"
    # · secret_key="x" (keyword argument) · secret_key: "x" (YAML)
    re.compile(rf"""(?i)(?P<name>{NAME})['"\]]{{0,2}}\s*(?::\s*[\w\[\]|., ]+?)?\s*(?:=|:|=>)\s*"""
               rf"""[bru]?{QUOTED}"""),
    # SECRET_KEY = os.environ.get("SECRET_KEY", "x") · Field(default="x") · env("X", default="x")
    re.compile(rf"""(?i)(?P<name>{NAME})['"\]]{{0,2}}\s*(?::\s*[\w\[\]|., ]+?)?\s*=\s*"""
               rf"""[\w.\[\]'"]+\((?P<args>[^()]{{0,300}})\)"""),
    # os.getenv("SECRET_KEY", "x") · config("JWT_SECRET", default="x") · setdefault(...)
    re.compile(rf"""(?i)\(\s*['"](?P<name>{NAME})['"]\s*,\s*(?:default\s*=\s*)?[bru]?{QUOTED}"""),
    # JWT_SECRET=x · export JWT_SECRET=x · ENV JWT_SECRET=x · ARG JWT_SECRET=x · secret: x
    re.compile(rf"""(?i)^\s*(?:export\s+|ENV\s+|ARG\s+|-\s+)?(?P<name>{NAME})\s*[=:]\s*"""
               r"""(?P<value>[^\s'"#${}]{3,200})\s*(?:#.*)?$"""),
    # ${JWT_SECRET:-x} (Compose, shell)
    re.compile(rf"""(?i)\$\{{(?P<name>{NAME}):?-(?P<value>[^}}]{{3,200}})\}}"""),
    # process.env.JWT_SECRET || "x" · ?? "x"
    re.compile(rf"""(?i)process\.env\.(?P<name>{NAME})\s*(?:\|\||\?\?)\s*{QUOTED}"""),
    # jwt.encode(payload, "x", ...) · jwt.decode(token, "x", ...) · jwt.sign(payload, "x")
    re.compile(rf"""(?i)(?P<name>jwt)\.(?:encode|decode|sign|verify)\(\s*[^,()]+,\s*[bru]?{QUOTED}"""),
)
_ARG_LITERAL = re.compile(r"""[bru]?(['"])((?:(?!\1).){1,200})\1""")
_NOT_A_VALUE = re.compile(r"^(?:none|null|true|false|undefined|str|bytes|string|required|"
                          r"\$.*|\{.*|%\(.*|<.*>|os\.\w+.*|settings\.\w+|env\(.*)$", re.I)


def _values(m: re.Match[str]) -> list[str]:
    """The candidate values of one match: the literal, or the literals of a call's arguments
    that are not the variable's own name."""
    groups = m.groupdict()
    if groups.get("args") is not None:
        lits = [v for _, v in _ARG_LITERAL.findall(groups["args"])]
        return [v for v in lits if not re.fullmatch(r"[A-Z][A-Z0-9_]*", v)]
    value = groups.get("value")
    return [value] if value else []


def _usable(value: str) -> bool:
    v = value.strip()
    return 3 <= len(v) <= 200 and not _NOT_A_VALUE.match(v)


def _graph_defaults(ctx: Context, out: dict[str, str]) -> None:
    """Literal defaults of secret variables from the environment-variable graph."""
    try:
        graph = ctx.env_graph()
    except Exception:  # noqa: BLE001 - a broken repository file never stops the probe
        return
    for var in graph.vars.values():
        if not var.secret:
            continue
        for read in var.reads:
            if read.default and _usable(read.default) and read.default not in out:
                out[read.default] = read.loc


def repo_candidates(ctx: Context) -> list[tuple[str, str]]:
    """(value, "path:line") for every literal a secret-named setting takes in the repository,
    bounded by MAX_FILES files and MAX_CANDIDATES values (memoised)."""

    def build() -> list[tuple[str, str]]:
        out: dict[str, str] = {}
        try:
            files = [f for f in ctx.files.files if FILE_RE.search(f) and not SKIP_PARTS.search(f)]
        except OSError:
            files = []
        for rel in files[:MAX_FILES]:
            text = ctx.read(rel)
            if not text:
                continue
            for lineno, line in enumerate(text.splitlines(), 1):
                if len(line) > 2000:
                    continue
                for rx in PATTERNS:
                    for m in rx.finditer(line):
                        for value in _values(m):
                            if _usable(value) and value not in out:
                                out[value] = f"{rel}:{lineno}"
                if len(out) >= MAX_CANDIDATES:
                    return list(out.items())
        _graph_defaults(ctx, out)
        return list(out.items())[:MAX_CANDIDATES]

    result: list[tuple[str, str]] = ctx.memo("sec:jwt-candidates", build)
    return result
