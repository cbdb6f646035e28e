"""Is a Compose project the production stack, or a development-only one?

A project is *development-only* when the repository says so about that project itself:

- its directory is a dev container (``.devcontainer/``) or its main file's name says
  development (``docker-compose.dev.yml``, ``compose.local.yaml`` chosen by ``COMPOSE_FILE``);
- or a documentation file (README, ``docs/``) has a sentence that names the compose file and
  calls it local development, development only or not for production ("this repo includes a
  ``docker-compose.yaml`` for local development").

- or the product deploys with a platform manifest (``render.yaml``, Heroku ``app.json``,
  ``fly.toml`` … — product/platforms.py), no deployment command runs the Compose project
  (compose_deploy.py), and the stack itself shows development: a service runs a development
  server or reloader (its ``command:``/``entrypoint:``, or the ``CMD``/``ENTRYPOINT`` of the
  Dockerfile it builds) or bind-mounts its own build context over the image (``.:/app``).

A sentence about the workflow that does not name the file ("dockerized for local development
with docker compose") is not enough: the file may still be the only stack the project ships;
nor is a platform manifest next to a Compose stack that shows no development trait (it may be
the self-hosted way to run the product).
``--compose-file`` projects are what the user asked to audit and are never development-only.
Checks about production operations (restart policies, limits, healthchecks, bind-mounted
source, dev servers) skip such projects; the others label their findings.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from prodaudit.product.compose_deploy import deploy_commands
from prodaudit.product.platforms import platform_deployment

if TYPE_CHECKING:
    from prodaudit.context import Context
    from prodaudit.product.compose import ComposeProject

_DEV_DIRS = frozenset({".devcontainer", "devcontainer", ".dev"})
_DEV_NAME = re.compile(r"(^|[._-])(dev|devel|development|local|debug)([._-]|$)", re.I)
_DEV_PHRASE = re.compile(
    r"(for\s+(?:local\s+)?(?:development|dev\b)|local(?:ly)?\s+(?:development|dev\b)|"
    r"development[\s-]+(?:only|purposes|environment|setup)|only\s+for\s+(?:local\s+)?"
    r"development|not\s+(?:meant|intended|suitable|designed|for\s+use)\s+(?:for\s+)?"
    r"(?:in\s+)?production|dev(?:elopment)?\s+use\s+only)", re.I)
_DOC_NAME = re.compile(r"(^|/)(readme[^/]*|[^/]*\.md|[^/]*\.rst)$", re.I)
MAX_DOCS = 60
MAX_DOC_BYTES = 400_000


def _sentences(text: str) -> list[tuple[int, str]]:
    """(first line, sentence) of a document: paragraphs joined, split at sentence ends."""
    out: list[tuple[int, str]] = []
    para: list[str] = []
    start = 1
    for i, line in enumerate([*text.splitlines(), ""], 1):
        if line.strip():
            if not para:
                start = i
            para.append(line.strip())
            continue
        if para:
            joined = " ".join(para)
            offset = 0
            for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z`*\[])", joined):
                out.append((start + min(offset, len(para) - 1), sent))
                offset += 1 if len(sent) > 80 else 0
            para = []
    return out


def _doc_files(ctx: Context) -> list[str]:
    docs = [f for f in ctx.files.files if _DOC_NAME.search(f)
            and "node_modules" not in f.split("/")]
    return sorted(docs, key=lambda f: (f.count("/"), f))[:MAX_DOCS]


def development_only(ctx: Context, p: ComposeProject) -> str | None:
    """Why ``p`` is a development-only stack (``path:line`` and what it says), or None."""
    if p.explicit or not p.main_files:
        return None
    parts = set(p.directory.split("/")) if p.directory else set()
    if parts & _DEV_DIRS:
        return f"{p.directory}/ is a development container definition"
    names = [posixpath.basename(f.path) for f in p.main_files]
    if all(_DEV_NAME.search(n.rsplit(".", 1)[0].replace("compose", "")) for n in names):
        return f"{', '.join(names)}: the file name says development"
    base = names[0]
    for rel in _doc_files(ctx):
        text = ctx.read(rel) or ""
        if base not in text or len(text) > MAX_DOC_BYTES:
            continue
        for line, sent in _sentences(text):
            if base in sent and _DEV_PHRASE.search(sent):
                return f"{rel}:{line} calls {base} {_DEV_PHRASE.search(sent).group(0)!r}"  # type: ignore[union-attr]
    return _platform_dev(ctx, p)


def _deployed(ctx: Context, p: ComposeProject) -> bool:
    """A deployment command of the repository runs the project (its files, or Compose's default
    files in its directory or one that cannot be told)."""
    if p.deployed_by:
        return True
    own = {f.path for f in p.files}
    return any((c.files is None and c.directory in (p.directory, None))
               or (c.files is not None and own & set(c.files)) for c in deploy_commands(ctx))


def _build_dir(p: ComposeProject, build: Any) -> tuple[str, str] | None:
    """(build context, Dockerfile) of a service's ``build:``, repo-relative."""
    ctx_dir, dockerfile = (build, "Dockerfile") if isinstance(build, str) else (
        (build.get("context") or ".", build.get("dockerfile") or "Dockerfile")
        if isinstance(build, dict) else (None, None))
    if not isinstance(ctx_dir, str) or not isinstance(dockerfile, str) or "$" in ctx_dir + dockerfile:
        return None
    context = posixpath.normpath(posixpath.join(p.directory, ctx_dir))
    if context.startswith(".."):
        return None
    return ("" if context == "." else context,
            posixpath.normpath(posixpath.join(context, dockerfile)))


def _overlaps(a: str, b: str) -> bool:
    return a == b or not a or not b or a.startswith(f"{b}/") or b.startswith(f"{a}/")


def dev_trait(ctx: Context, p: ComposeProject) -> str | None:
    """The first development trait of the stack ("service api runs --reload"), or None. The
    Dockerfile's last ``CMD``/``ENTRYPOINT`` is read (not when the service builds a ``target``
    stage of it: another stage may be the production one)."""
    for name, svc in p.services.items():
        trait = service_dev_trait(ctx, p, name, svc)
        if trait:
            return trait
    return None


def service_dev_trait(ctx: Context, p: ComposeProject, name: str, svc: dict[str, Any]) -> str | None:
    """The development trait of one service of ``p`` (see ``dev_trait``), or None."""
    from prodaudit.product.entrypoints import DEV_CMD_RE, words_text  # entrypoints reads compose

    for key in ("command", "entrypoint"):
        value = svc.get(key)
        cmd = value if isinstance(value, str) else " ".join(map(str, value or []))
        m = DEV_CMD_RE.search(cmd) if isinstance(value, (str, list)) else None
        if m:
            return f"service {name} runs {m.group(0).strip()}"
    built = _build_dir(p, svc.get("build"))
    if built is None:
        return None
    context, dockerfile = built
    starts = [(i, ins.group(2)) for i, line in
              enumerate((ctx.read(dockerfile) or "").splitlines(), 1)
              if (ins := re.match(r"^\s*(CMD|ENTRYPOINT)\s+(.*)$", line, re.I))]
    target = isinstance(svc.get("build"), dict) and svc["build"].get("target")
    m = DEV_CMD_RE.search(words_text(starts[-1][1])) if starts and not target else None
    if m:
        return f"service {name} runs {m.group(0).strip()} ({dockerfile}:{starts[-1][0]})"
    for vol in svc.get("volumes") or []:
        src = vol.split(":", 1)[0] if isinstance(vol, str) and ":" in vol else \
            vol.get("source") if isinstance(vol, dict) and vol.get("type") == "bind" else None
        if not isinstance(src, str) or not src.startswith("."):
            continue
        rel = posixpath.normpath(posixpath.join(p.directory, src))
        rel = "" if rel == "." else rel
        if not rel.startswith("..") and _overlaps(rel, context) and _is_dir(ctx, rel):
            return f"service {name} bind-mounts its source ({src}) over the image"
    return None


def _is_dir(ctx: Context, rel: str) -> bool:
    prefix = f"{rel}/" if rel else ""
    return any(f.startswith(prefix) for f in ctx.files.files)


def _platform_dev(ctx: Context, p: ComposeProject) -> str | None:
    """Why ``p`` is the development stack of a product that deploys with a platform manifest."""
    m = platform_deployment(ctx)
    if m is None or _deployed(ctx, p):
        return None
    trait = dev_trait(ctx, p)
    if trait is None:
        return None
    base = posixpath.basename(p.main_files[0].path)
    return (f"{base} is a development stack ({trait}) that no deployment command runs: the "
            f"product deploys with {m.location}")


def _replaced_stack_images(ctx: Context, built: set[str]) -> dict[str, str]:
    """Dockerfiles only the development default files build that a production variant replaced
    (``compose._production_stack``): no production service builds them."""
    out: dict[str, str] = {}
    variants = {v.path: v for v in ctx.compose().variants}
    for p in ctx.compose().projects:
        for rel in p.replaced:
            data = variants[rel].data if rel in variants else None
            services = data.get("services") if isinstance(data, dict) else None
            for svc in services.values() if isinstance(services, dict) else []:
                found = _build_dir(p, svc.get("build")) if isinstance(svc, dict) else None
                if found and found[1] not in built:
                    out.setdefault(found[1], f"built only by the development stack {rel}; "
                                             f"production runs {p.name}")
    return out


def development_dockerfiles(ctx: Context) -> dict[str, str]:
    """Dockerfile (repo-relative) → why it is a development image: only development-only Compose
    projects build it, and the product deploys with a platform manifest that builds no image
    (a buildpack or native runtime: Render ``runtime: python``, Heroku without ``heroku.yml``);
    or only development default files build it that a production variant or the file the
    deployment runs instead replaced (``docker-compose -f docker-compose.prod.yml up`` next to
    ``docker-compose.yml``; ``ComposeProject.replaced``), and no project builds it."""

    def build() -> dict[str, str]:
        from prodaudit.product.services import dockerfile_services  # services read compose

        m = platform_deployment(ctx)
        if m is None or m.builds_image:
            if not any(p.replaced for p in ctx.compose().projects):
                return {}
            built = {posixpath.normpath(path) for path, svcs in dockerfile_services(ctx).items()
                     if svcs}
            return _replaced_stack_images(ctx, built)
        out = {}
        for path, svcs in dockerfile_services(ctx).items():
            if svcs and all(s.project.dev_only for s in svcs):
                out[path] = (f"built only by the development stack {svcs[0].project.name}; the "
                             f"product deploys with {m.location} without an image")
        return out

    return ctx.memo("product:development_dockerfiles", build)
