"""Which base image the audit's builds start from, and why. Not a check module.

A Dockerfile that takes its base image from a build argument (``ARG BASE_IMAGE=python:3.12-slim``
then ``FROM ${BASE_IMAGE}``) is built from, in this order:

1. ``docker.base_image`` (configuration, CLI) or, unset, the ``PRODAUDIT_BASE_IMAGE`` environment
   variable;
2. its default (the compose build argument, else the ``ARG`` default) when the engine has that
   image or the image's registry answers;
3. when no registry answers and the engine lacks the default: the local base image
   ``docker.local_base_image`` (default ``prodaudit/python-base:bookworm``, what
   ``scripts/build-base-image.sh`` and ``scripts/services.sh up`` build), if the engine has it and
   the argument is ``BASE_IMAGE`` or the default is a ``python`` image.

Each registry is probed once per run (``GET https://<registry>/v2/``: any HTTP answer means it
is reachable; bounded by ``PROBE_TIMEOUT_S``; the engine's registry mirrors count for Docker Hub),
and every build shares that result. The choice and its reason are published in ``audit.json``
(``facts["deployment.base_images"]``) and quoted by DEP-010 and DEP-030.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from prodaudit.checks.api import Context

log = logging.getLogger("prodaudit.deployment")

ENV_VAR = "PRODAUDIT_BASE_IMAGE"
PROBE_TIMEOUT_S = 5.0
DOCKER_CALL_S = 20.0
MAX_DOCKERFILE_BYTES = 1_000_000
DOCKER_HUB = "registry-1.docker.io"
_ARG_IN_FROM_RE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


@dataclass(frozen=True)
class RegistryProbe:
    host: str
    reachable: bool
    detail: str  # the HTTP status, or why nothing answered
    seconds: float


@dataclass(frozen=True)
class BaseChoice:
    """The base image one build starts from."""

    where: str  # the build: "DEP-010 Dockerfile" or "compose service api"
    arg: str | None  # the build argument naming the base image (None: FROM names it literally)
    image: str  # what the build starts from
    default: str  # what the Dockerfile / compose file names
    source: str  # "docker.base_image", "PRODAUDIT_BASE_IMAGE", "default", "local base image"
    reason: str
    substituted: bool  # the build gets ``--build-arg <arg>=<image>``
    registry: RegistryProbe | None = None

    @property
    def note(self) -> str:
        """One line for a finding: which image, and why."""
        return f"FROM {self.image} ({self.source}: {self.reason})"

    @property
    def offline(self) -> bool:
        """The build needs an image that is neither in the engine nor reachable."""
        return self.registry is not None and not self.registry.reachable and not self.substituted


def registry_host(ref: str) -> str:
    """The registry an image reference is pulled from (Docker Hub for ``python:3.12``)."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in ("docker.io", "index.docker.io") else first
    return DOCKER_HUB


def _repository(ref: str) -> str:
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def base_reference(text: str) -> tuple[str | None, str] | None:
    """(build argument, default) of the first ``FROM ${ARG}`` whose argument is declared before
    the first FROM; (None, image) when the first FROM names an image literally; None when the
    Dockerfile cannot be read or starts ``FROM scratch``."""
    from dockerfile_parse import DockerfileParser

    try:
        structure = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8"))).structure
    except Exception:  # the parser raises assorted errors on garbage
        return None
    global_args: dict[str, str] = {}
    stages: set[str] = set()
    seen_from = False
    for item in structure:
        name = str(item.get("instruction", "")).upper()
        value = str(item.get("value", "")).strip()
        if name == "ARG" and not seen_from:
            for tok in value.split():
                key, _, default = tok.partition("=")
                global_args[key] = default.strip("\"'")
        elif name == "FROM":
            seen_from = True
            words = [w for w in value.split() if not w.startswith("--")]
            if not words:
                continue
            image = words[0]
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
            m = _ARG_IN_FROM_RE.match(image)
            if m and m.group(1) in global_args:
                return m.group(1), global_args[m.group(1)]
            if image.lower() in stages or image.lower() == "scratch" or "$" in image:
                continue
            return None, image
    return None


class _Registry:
    """Per-run memo of registry probes, one probe per host even under concurrent builds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._probes: dict[str, RegistryProbe] = {}
        self._mirrors: list[str] | None = None

    def mirrors(self) -> list[str]:
        if self._mirrors is None:
            out = _docker(["info", "--format", "{{json .RegistryConfig.Mirrors}}"])
            try:
                data = json.loads(out) if out else []
            except ValueError:
                data = []
            self._mirrors = [str(m) for m in data or []] if isinstance(data, list) else []
        return self._mirrors

    def probe(self, host: str) -> RegistryProbe:
        with self._lock:  # one probe per host; the others wait for its result
            if host not in self._probes:
                self._probes[host] = self._probe(host)
            return self._probes[host]

    def _probe(self, host: str) -> RegistryProbe:
        import httpx

        start = time.monotonic()
        urls = [f"https://{host}/v2/"]
        if host == DOCKER_HUB:
            urls = [m.rstrip("/") + "/v2/" for m in self.mirrors()] + urls
        details: list[str] = []
        for url in urls:
            left = PROBE_TIMEOUT_S - (time.monotonic() - start)
            if left <= 0:
                details.append(f"{url}: no time left within {PROBE_TIMEOUT_S:.0f} s")
                break
            try:
                r = httpx.get(url, timeout=left, follow_redirects=False)
            except httpx.HTTPError as exc:
                details.append(f"{url}: {type(exc).__name__}: {str(exc)[:160]}")
                continue
            return RegistryProbe(host, True, f"GET {url} answered HTTP {r.status_code}",
                                 time.monotonic() - start)
        return RegistryProbe(host, False, "; ".join(details), time.monotonic() - start)


def _docker(args: list[str]) -> str | None:
    try:
        out = subprocess.run(["docker", *args], capture_output=True, text=True,
                             timeout=DOCKER_CALL_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def image_exists(ref: str) -> bool:
    """The engine has an image of that name (bounded)."""
    return bool(_docker(["image", "inspect", "--format", "{{.Id}}", ref]))


def registry(ctx: Context) -> _Registry:
    return ctx.memo("deployment:registries", _Registry)


def registry_probe(ctx: Context, host: str) -> RegistryProbe:
    """Whether ``host`` answers: probed once per run, shared by every build."""
    return registry(ctx).probe(host)


def _explicit(ctx: Context) -> tuple[str, str] | None:
    if ctx.cfg.docker.base_image:
        return ctx.cfg.docker.base_image, "docker.base_image"
    env = os.environ.get(ENV_VAR, "").strip()
    return (env, ENV_VAR) if env else None


def _local_fits(arg: str, default: str) -> bool:
    return arg == "BASE_IMAGE" or _repository(default).startswith("python")


def choose(ctx: Context, dockerfile: Path, build_args: dict[str, str], where: str) -> BaseChoice | None:
    """The base image of one build (``where`` names it in the report), or None when the
    Dockerfile cannot be read or needs no base image."""
    roots = [ctx.repo.resolve(), *(Path(f).resolve().parent for f in ctx.cfg.compose_files)]
    try:
        resolved = dockerfile.resolve()
        if not any(resolved.is_relative_to(root) for root in roots):
            return None  # never read outside the audited repository and its compose files
        if dockerfile.stat().st_size > MAX_DOCKERFILE_BYTES:
            return None
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    ref = base_reference(text)
    explicit = _explicit(ctx)
    if ref is None:
        return None
    arg, default = ref
    if arg is not None:
        default = build_args.get(arg) or default
    choice: BaseChoice | None
    if explicit is not None:
        image, source = explicit
        if arg is None:
            choice = BaseChoice(where, None, default, default, "default",
                                f"the Dockerfile names {default} literally; {source} is not used",
                                False)
        else:
            choice = BaseChoice(where, arg, image, default, source, f"set by {source}", True)
    elif not default:
        return None
    elif image_exists(default):
        choice = BaseChoice(where, arg, default, default, "default", "the engine has it", False)
    else:
        probe = registry_probe(ctx, registry_host(default))
        local = ctx.cfg.docker.local_base_image
        if probe.reachable:
            choice = BaseChoice(where, arg, default, default, "default",
                                f"pulled from {probe.host} ({probe.detail})", False, probe)
        elif arg is not None and local and _local_fits(arg, default) and image_exists(local):
            choice = BaseChoice(where, arg, local, default, "local base image",
                                f"no image registry answers ({probe.host}: {probe.detail}) and the "
                                f"engine has no {default}; set docker.base_image or {ENV_VAR} to "
                                "choose another", True, probe)
        else:
            why = (f"the Dockerfile names {default} literally" if arg is None else
                   f"no local base image {local} either" if local else
                   "docker.local_base_image is off")
            choice = BaseChoice(where, arg, default, default, "default",
                                f"{probe.host} does not answer ({probe.detail}), the engine has no "
                                f"{default}, and {why}", False, probe)
    _record(ctx, choice)
    return choice


def offline_remediation(choice: BaseChoice, local: str | None) -> str:
    """What resolves a build that needs an unreachable registry."""
    target = local or "prodaudit/python-base:bookworm"
    if choice.arg is None:
        return (f"Take the base image from a build argument (`ARG BASE_IMAGE={choice.default}` then "
                f"`FROM ${{BASE_IMAGE}}`) so the audit can build from a local image, or make "
                f"{choice.default} available to the engine (`docker load`, a registry mirror).")
    return (f"Build the local base image with `scripts/build-base-image.sh {target}` (the audit "
            f"then uses it by itself), or set docker.base_image / {ENV_VAR} to an image the "
            "engine has.")


class _Choices:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_where: dict[str, BaseChoice] = {}
        self.announced: set[str] = set()


def _record(ctx: Context, choice: BaseChoice) -> None:
    """Publish the choice (audit.json facts); say an automatic one on stderr, once per image."""
    choices = ctx.memo("deployment:base-image-choices", _Choices)
    with choices.lock:
        choices.by_where[choice.where] = choice
        if choice.source == "local base image" and choice.image not in choices.announced:
            choices.announced.add(choice.image)
            host = choice.registry.host if choice.registry else "the registry"
            log.warning("prodaudit: no image registry answers (%s): the deployment suite builds "
                        "FROM the local base image %s instead of %s (set docker.base_image or "
                        "%s to choose)", host, choice.image, choice.default, ENV_VAR)
        facts = [{k: v for k, v in asdict(c).items() if k != "registry"}
                 | ({"registry": asdict(c.registry)} if c.registry else {})
                 for c in choices.by_where.values()]
    ctx.export("deployment.base_images", facts)
