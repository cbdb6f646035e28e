"""CFG-039: the API base URL written into frontend sources — the static half of FUN-041."""

from __future__ import annotations

import re

from prodaudit.checks.api import Context, Evidence, Finding, Severity, Skip, check, passed, warned
from prodaudit.product.compose import compose_model
from prodaudit.product.envgraph import BUILD_PARTS, FRONTEND_SUFFIXES, env_graph

#: ``NAME = 'http://localhost...'`` / ``name: "http://127.0.0.1..."`` (the value may follow on the
#: next line); group 1 the name, group 2 the quoted URL
_ASSIGN_RE = re.compile(
    r"([A-Za-z_$][\w$]*)['\"]?\s*(?::\s*[\w<>\[\]| .]+?)?\s*[=:]\s*"
    r"['\"`]((?:https?|wss?)://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?:[:/][^'\"`\s]*)?)"
    r"['\"`]")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")  # noqa: S104
_NAME_RE = re.compile(r"(url|uri|endpoint|host|origin|server|backend|api)", re.I)
#: what makes the literal a local fallback or a development branch, not the production value
_GUARDED_RE = re.compile(r"process\.env|import\.meta\.env|window\.(_|env|config)|\?\?|\|\||"
                         r"\b(isDev|isDevelopment|__DEV__|DEV|PROD|NODE_ENV|MODE)\b")
_SKIP_PARTS = frozenset({"tests", "test", "__tests__", "e2e", "cypress", "playwright", "mocks",
                         "__mocks__", "stories", "fixtures", "docs", "examples", "scripts"})
_SKIP_NAME_RE = re.compile(r"(\.|^)(test|spec|stories|story|mock|mocks|setupproxy|setuptests|dev|"
                           r"development|local)(\.|$)", re.I)
#: build and test tool configuration (``vite.config.ts``, ``jest.config.js``), dev servers
_TOOL_RE = re.compile(r"\.config\.|^(vite|webpack|jest|vitest|playwright|cypress|babel|postcss|"
                      r"tailwind|next|nuxt|svelte|rollup|eslint|prettier|karma|protractor)\b")


#: the build-time variables a guarded statement reads (``import.meta.env.VITE_API_URL``)
_ENV_READ_RE = re.compile(r"(?:import\.meta\.env|process\.env)\.([A-Za-z_]\w*)")
#: ``import.meta.env.VITE_API_URL || "http://localhost:8000"`` (``??`` too): group 1 the variable
_FALLBACK_RE = re.compile(r"(?:import\.meta\.env|process\.env)\.([A-Za-z_]\w*)\s*(?:\?\?|\|\|)\s*"
                          r"['\"`](?:https?|wss?)://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])")
_LOCAL_URL_RE = re.compile(r"^['\"]?(?:https?|wss?)://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
                           r"(?:[:/]|['\"]?$)")
#: files that set a variable for development or tests only
_DEV_FILE_RE = re.compile(r"(^|[./_-])(dev|development|local|test|testing|e2e|ci|override|"
                          r"example|sample|template)([./_-]|$)", re.I)


def _local_settings(ctx: Context, names: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Per variable of ``names``: where the repository sets it for a deployment (env files,
    Compose environment or build args, Dockerfile ENV/ARG; not development, test or example
    files, not development-only Compose projects) to a local URL — only when every such
    setting is local (a production value next to a local one is taken to win)."""
    dev_compose = {f.path for p in compose_model(ctx).projects if p.dev_only for f in p.files}
    graph = env_graph(ctx)
    out: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(names):
        var = graph.vars.get(name)
        sets = [(path, line, value) for path, line, value in (var.set_in if var else ())
                if path not in dev_compose and not _DEV_FILE_RE.search(path.rsplit("/", 1)[-1])
                and value and "${" not in value]
        if sets and all(_LOCAL_URL_RE.match(v.strip()) for _, _, v in sets):
            out[name] = [(f"{path}:{line}" if line else path, v.strip().strip("'\""))
                         for path, line, v in sets]
    return out


def _source(rel: str) -> bool:
    parts = rel.split("/")
    if not rel.endswith(FRONTEND_SUFFIXES) or set(parts[:-1]) & (BUILD_PARTS | _SKIP_PARTS):
        return False
    name = parts[-1].lower()
    return not _SKIP_NAME_RE.search(name.rsplit(".", 1)[0]) and not _TOOL_RE.search(name)


def _statement(text: str, start: int, stop: int) -> str:
    """The statement around ``text[start:stop]``: from the previous ``;``, ``{`` or blank line to
    the end of the line where it stops."""
    head = max(text.rfind(";", 0, start), text.rfind("\n\n", 0, start), text.rfind("{", 0, start))
    end = text.find("\n", stop)
    return text[head + 1:len(text) if end < 0 else end]


@check("CFG-039", "The frontend's API URL is not hard-coded to localhost",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.2.4", "2.1.3"),
       evidence=Evidence.PARSED)
def frontend_localhost_url(ctx: Context) -> list[Finding]:
    """Frontend sources (JavaScript, TypeScript, Vue, Svelte; not tests, stories, mocks, tool
    configuration or build output) do not set an API/base/backend URL constant or config key to
    a literal ``localhost`` / ``127.0.0.1`` URL. A literal that is the fallback of a build-time
    variable (``import.meta.env.VITE_API_URL ?? "http://localhost:8000"``) or the development
    branch of a mode test is not judged as such (FUN-041 checks the built bundle); but when
    the repository sets that variable only to local URLs outside development files (a Compose
    service's ``environment:`` or build args, ``.env``/``.env.production``, a Dockerfile
    ``ENV``/``ARG``; not ``.env.development``, examples or development-only Compose files), the
    setting is reported where it is made.

    A production build of such a source sends every user's browser to its own machine: the site
    loads and no API call works.

    Remediation: read the URL from a build-time variable (``import.meta.env.VITE_API_URL``,
    ``process.env.REACT_APP_API_URL``) or a runtime ``config.js`` written at deploy time, or use a
    relative base (``/api``) behind the same origin.
    """
    files = [rel for rel in ctx.files.files if _source(rel)]
    if not files:
        raise Skip("no frontend source file in the repository")
    out: list[Finding] = []
    fallbacks: dict[str, list[str]] = {}  # build-time variable -> where a local URL backs it
    for rel in files:
        text = ctx.read(rel)
        if not text or not any(host in text for host in LOCAL_HOSTS):
            continue
        hits = []
        for m in _ASSIGN_RE.finditer(text):
            if not _NAME_RE.search(m.group(1)):
                continue
            statement = _statement(text, m.start(), m.end())
            if _GUARDED_RE.search(statement):
                for var in _ENV_READ_RE.findall(statement):
                    fallbacks.setdefault(var, []).append(
                        f"{rel}:{text.count(chr(10), 0, m.start(1)) + 1}")
                continue
            hits.append((text.count("\n", 0, m.start(1)) + 1, m.group(1), m.group(2)))
        for m in _FALLBACK_RE.finditer(text):
            fallbacks.setdefault(m.group(1), []).append(
                f"{rel}:{text.count(chr(10), 0, m.start()) + 1}")
        if hits:
            line, name, url = hits[0]
            more = f" (and {', '.join(n for _, n, _ in hits[1:4])})" if len(hits) > 1 else ""
            out.append(warned(f"{name} is hard-coded to {url}{more}: a production build calls "
                              "the user's own machine", location=f"{rel}:{line}",
                              evidence="; ".join(f"{n} = {u} (line {ln})" for ln, n, u in hits[:5])))
    for var, settings in _local_settings(ctx, set(fallbacks)).items():
        reads = sorted(set(fallbacks[var]))
        more = f" and {len(reads) - 1} more" if len(reads) > 1 else ""
        where, url = settings[0]
        out.append(warned(f"{var}, the API URL the frontend reads ({reads[0]}{more}), is set to "
                          f"{url} at {where}, and to nothing else outside development files: "
                          "a frontend built or served with it calls the user's own machine",
                          location=where, evidence="; ".join(f"{w}: {var}={u}"
                                                             for w, u in settings[:4])))
    if not out:
        unset = sorted(fallbacks)
        note = (f"; the local fallback(s) of {', '.join(unset[:4])} apply unless the build sets "
                "them (FUN-041 checks the built bundle)") if unset else ""
        out.append(passed(f"{len(files)} frontend source file(s): no API URL hard-coded to "
                          f"localhost{note}"))
    return out
