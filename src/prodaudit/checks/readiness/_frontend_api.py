"""Whether and where the frontend calls the API — one notion for RDY-020 and RDY-022: the files
that make network calls themselves (``fetch``, ``axios``, ``XMLHttpRequest`` …) and the files
that import an API client module (an ``api/``/``client/``/``services/`` module, or one that
makes network calls), imports followed through relative paths and the path aliases of the
frontend's ``tsconfig.json``/``jsconfig.json`` (``compilerOptions.paths``) and Vite/webpack
configuration (``alias``), ``@/`` and ``~/`` falling back to the frontend's ``src/``."""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
from dataclasses import dataclass, field

from prodaudit.checks.api import Context
from prodaudit.checks.readiness._scan import FrontendSources, frontend_sources, line_of

NET_CALL = re.compile(
    r"(?<![\w.])(fetch\s*\(|axios(\.\w+)?\s*\(|new\s+XMLHttpRequest|"
    r"\$\.ajax\s*\(|ky(\.\w+)?\s*\()"
)
#: a module path (relative to the frontend's root) that names an API client
CLIENT_NAME = re.compile(
    r"(^|/)(api|apis|services?|http|client)(/|$)|(^|/)(api|apiClient|"
    r"client|http|request)[\w.-]*(\.[cm]?[jt]sx?)?$",
    re.I,
)
IMPORT_FROM = re.compile(r"""(?:import\s[^;]*?from\s*|require\s*\(\s*)["']([^"']+)["']""")
_CONFIGS = ("tsconfig.json", "jsconfig.json", "tsconfig.app.json", "vite.config.ts",
            "vite.config.js", "vite.config.mts", "vite.config.mjs", "webpack.config.js")
#: ``'@': path.resolve(__dirname, './src')`` / ``'@': fileURLToPath(new URL('./src', …))``
_JS_ALIAS = re.compile(r"""["']?([@~][\w/-]*)["']?\s*:\s*[^\n}]*?"""
                       r"""["'](\.{1,2}/[\w./-]*|/?src(?:/[\w./-]*)?)["']""")


@dataclass
class ApiUsage:
    net: dict[str, list[int]] = field(default_factory=dict)  # rel -> lines of network calls
    #: rel -> (line, import specifier, resolved module path) of an API client import
    client_imports: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    @property
    def calls_api(self) -> bool:
        return bool(self.net or self.client_imports)


def _roots(src: FrontendSources) -> list[str]:
    """The frontends' root directories (of their ``package.json``), deepest first."""
    return sorted({posixpath.dirname(rel) for rel in src.package_json}, key=len, reverse=True)


def _root_of(rel: str, roots: list[str]) -> str:
    return next((r for r in roots if r == "" or rel.startswith(r + "/")), "")


def _inside(path: str, root: str) -> str:
    """``path`` relative to the frontend's root (a frontend in ``client/`` is not a client)."""
    return path[len(root) + 1:] if root and path.startswith(root + "/") else path


def _strip_jsonc(text: str) -> str:
    text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text,
                  flags=re.S)
    return re.sub(r",(\s*[}\]])", r"\1", text)


def aliases(ctx: Context, root: str) -> list[tuple[str, str]]:
    """``(prefix, repository-relative directory)`` of the path aliases of the frontend at
    ``root``, longest prefix first; ``@/`` and ``~/`` map to ``<root>/src/`` unless declared."""
    out: dict[str, str] = {}
    present = set(ctx.files.matching(names=_CONFIGS))  # never read a file the repository lacks
    for name in _CONFIGS:
        rel = posixpath.join(root, name) if root else name
        text = ctx.read(rel) if rel in present else None
        if not text:
            continue
        if name.endswith(".json"):
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                opts = json.loads(_strip_jsonc(text)).get("compilerOptions") or {}
                base = posixpath.normpath(posixpath.join(root, str(opts.get("baseUrl") or ".")))
                for key, targets in (opts.get("paths") or {}).items():
                    if isinstance(targets, list) and targets and key.endswith("*"):
                        target = str(targets[0]).rstrip("*")
                        out.setdefault(key[:-1], posixpath.normpath(posixpath.join(base, target)) + "/")
        else:
            for m in _JS_ALIAS.finditer(text):
                key = m.group(1).rstrip("/") + "/"
                out.setdefault(key, posixpath.normpath(posixpath.join(root, m.group(2).lstrip("/"))) + "/")
    for key in ("@/", "~/"):
        out.setdefault(key, posixpath.join(root, "src") + "/" if root else "src/")
    return sorted(out.items(), key=lambda kv: len(kv[0]), reverse=True)


def resolve(spec: str, importer: str, alias: list[tuple[str, str]]) -> str | None:
    """The repository-relative module path (no extension) ``spec`` names from ``importer``;
    None for a package."""
    if spec.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    for prefix, target in alias:
        if spec.startswith(prefix) or spec + "/" == prefix:
            return posixpath.normpath(target + spec[len(prefix):])
    return None


def api_usage(ctx: Context) -> ApiUsage:
    def build() -> ApiUsage:
        src = frontend_sources(ctx)
        out = ApiUsage()
        for rel, text in src.files.items():
            lines = [line_of(text, m.start()) for m in NET_CALL.finditer(text)]
            if lines:
                out.net[rel] = lines
        net_modules = {rel.rsplit(".", 1)[0] for rel in out.net}
        net_modules |= {m.rsplit("/index", 1)[0] for m in net_modules if m.endswith("/index")}
        roots = _roots(src)
        alias_of: dict[str, list[tuple[str, str]]] = {}
        for rel, text in src.files.items():
            root = _root_of(rel, roots)
            if CLIENT_NAME.search(_inside(rel.rsplit(".", 1)[0], root)):
                continue  # the client's own modules import each other
            if root not in alias_of:
                alias_of[root] = aliases(ctx, root)
            for m in IMPORT_FROM.finditer(text):
                target = resolve(m.group(1), rel, alias_of[root])
                if target is None or target == rel.rsplit(".", 1)[0]:
                    continue
                if target in net_modules or CLIENT_NAME.search(_inside(target, root)):
                    out.client_imports[rel] = (line_of(text, m.start()), m.group(1), target)
                    break
        return out

    return ctx.memo("rdy:frontend-api", build)


def client_modules(usage: ApiUsage) -> list[str]:
    """The client modules the components import, most imported first."""
    counts: dict[str, int] = {}
    for _, _, target in usage.client_imports.values():
        counts[target] = counts.get(target, 0) + 1
    return sorted(counts, key=lambda t: -counts[t])

