"""DEP-010–029: the API image: build, size, user, HEALTHCHECK, secrets, ports."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    Status,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.deployment._base_image import BaseChoice, choose, offline_remediation
from prodaudit.checks.deployment._common import index_unreachable, registry_unreachable, rel
from prodaudit.checks.deployment._image_build import Build, short_ids
from prodaudit.checks.deployment._run_objects import interrupted_exit, run_objects
from prodaudit.cleanup import Deadline, docker, label_args
from prodaudit.redact import is_secret_name

TAG_PREFIX = "prodaudit-audit-"
LOG_TAIL = 4000
BENIGN_SECRET_NAMES = re.compile(r"^(GPG_KEY|PYTHON_GPG_KEY|.*_KEY_ID|.*PUBLIC_KEY.*|.*_SHA256|"
                                 r"PIP_.*|.*_TOKEN_URL|.*_PASSWORD_FILE|.*_FILE)$", re.I)
PLACEHOLDER = re.compile(
    r"^(|changeme|change-me|placeholder|dummy|example|none|null|\$\{.*\}|<.*>)$", re.I)
HISTORY_SECRET_RE = re.compile(
    r"\b([A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIAL)[A-Z0-9_]*)"
    r"=(\"[^\"]+\"|'[^']+'|[^\s'\"]+)", re.I)
TOKEN_RE = re.compile(r"\b(sk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{16,}|AKIA[A-Z0-9]{16}|"
                      r"gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,})")


@dataclass
class BuiltImage:
    tag: str
    dockerfile: Path
    context_dir: Path
    target: str | None
    build_args: dict[str, str]
    ok: bool
    log: str
    seconds: float
    error: str = ""
    inspect: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    base: BaseChoice | None = None

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.inspect.get("Config") or {}
        return cfg if isinstance(cfg, dict) else {}


def build_spec(ctx: Context) -> tuple[Path, Path, str | None, dict[str, str], str]:
    """(dockerfile, context, target, build args, source note) of the audited service's image."""
    api = ctx.api_service()
    if api is not None and api.build is not None:
        b = api.build
        return b.dockerfile, b.context, b.target, dict(b.args), f"compose service {api.name}"
    dockerfile = ctx.repo / "Dockerfile"
    if not dockerfile.is_file():
        name = api.name if api is not None else ctx.cfg.docker.service
        raise Skip(f"no Dockerfile at the repository root and no build section for compose "
                   f"service {name or '(no API service detected)'!r} (docker.service)")
    return dockerfile, ctx.repo, None, {}, "repository Dockerfile"


def _build(ctx: Context) -> BuiltImage:
    dockerfile, context_dir, target, args, _ = build_spec(ctx)
    args.update(ctx.cfg.docker.build_args)
    base = choose(ctx, dockerfile, args, f"DEP-010 {rel(ctx, dockerfile)}")
    if base is not None and base.substituted and base.arg:
        args[base.arg] = base.image
    objects = run_objects(ctx)
    tag = f"{TAG_PREFIX}{uuid.uuid4().hex[:12]}:latest"
    # --no-cache: the gate verifies that the image builds from its Dockerfile, not that it builds
    # on layers some other build left in the engine (which that build's owner may remove meanwhile)
    cmd = ["docker", "build", "--no-cache", "--force-rm", "-t", tag, "-f", str(dockerfile),
           *label_args(objects.labels("image", tag))]
    if target:
        cmd += ["--target", target]
    for k, v in sorted(args.items()):
        cmd += ["--build-arg", f"{k}={v}"]
    cmd.append(str(context_dir))
    img = BuiltImage(tag=tag, dockerfile=dockerfile, context_dir=context_dir, target=target,
                     build_args=args, ok=False, log="", seconds=0.0, base=base)
    build = Build(tag, cmd, short_ids())
    objects.add(build.cleanup)  # before the build starts: an interrupt can come at any moment
    timeout = ctx.cfg.docker.build_timeout_seconds
    start = time.monotonic()
    build.start()
    code = build.wait(timeout)
    if code is None:
        build.stop(Deadline(ctx.cfg.docker.cleanup_timeout_seconds))
        img.error = f"docker build did not finish within {timeout:.0f} s"
    elif build.stopped or interrupted_exit(code):  # Ctrl-C: the run ends, no result
        raise KeyboardInterrupt
    else:
        img.ok = code == 0
        if not img.ok:
            img.error = f"docker build exited with {code}"
    img.log = build.log()[-20000:]
    img.seconds = time.monotonic() - start
    if img.ok:
        img.inspect = _inspect(tag)
        img.history = _history(tag)
    return img


def _inspect(ref: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True,
                         timeout=60, check=True)
    data = json.loads(out.stdout)
    return data[0] if data else {}


def _history(ref: str) -> list[dict[str, Any]]:
    out = subprocess.run(["docker", "history", "--no-trunc", "--format", "{{json .}}", ref],
                         capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class _Once:
    """The image build, once per run, under its own lock: the build takes minutes and must not
    hold the context's lock, which the run's cleanup (Ctrl-C) needs at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value: BuiltImage | None = None
        self.error: BaseException | None = None

    def get(self, build: Callable[[], BuiltImage]) -> BuiltImage:
        with self.lock:
            if not self.done:
                try:
                    self.value = build()
                except BaseException as exc:  # an interrupt too: never start a second build
                    self.error = exc
                    raise
                finally:
                    self.done = True
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def image(ctx: Context) -> BuiltImage:
    """The audited image, built once per run (removed with what its build created when the run
    ends, also on Ctrl-C)."""
    ctx.docker()  # Skip when no engine answers
    return ctx.memo("deployment:image", _Once).get(lambda: _build(ctx))


def built(ctx: Context) -> BuiltImage:
    img = image(ctx)
    if not img.ok:
        raise Skip("the image did not build (see DEP-010)")
    return img


def _loc(ctx: Context, img: BuiltImage) -> str:
    return rel(ctx, img.dockerfile)


def _ref(img: BuiltImage) -> str:
    return f"{img.dockerfile.name}{' --target ' + img.target if img.target else ''}"


def _not_verified(message: str, *, location: str, evidence: str, remediation: str) -> Finding:
    return Finding(Status.ERROR, message, location=location, evidence=evidence,
                   remediation=remediation)


@check("DEP-010", "The image builds", severity=Severity.HIGH, needs=("docker",),
       checklist=("3.1.1", "P.2.1"), timeout=1200, evidence=Evidence.OBSERVED)
def builds(ctx: Context) -> list[Finding]:
    """The audited service's image builds from its Dockerfile (the compose ``build`` section of
    the API service — ``docker.service``, else the one the product model detects — or the
    repository's Dockerfile when no service builds). The base image: ``docker.base_image``
    or ``PRODAUDIT_BASE_IMAGE`` as the ``BASE_IMAGE`` build argument when set; else the
    Dockerfile's default; else, when no image registry answers, the local base image
    ``docker.local_base_image`` (the finding says which image and why). The build log is the
    evidence of a failure; a build that needs an unreachable registry, or whose steps cannot reach
    their package index (name resolution, connection failures in the log), is ERROR (not verified):
    that is this machine's network, not the product.

    The build does not use the engine's layer cache (``--no-cache``): a cached layer could hide
    a step that no longer works. The image is tagged ``prodaudit-audit-<random>`` and labelled
    with the run id; it is removed when the audit ends (also on Ctrl-C) with the images and
    containers its build created, and nothing else: the base image stays.

    Remediation: reproduce with the ``docker build`` command in the evidence and fix the failing
    step; dependencies should install from pinned requirements (a wheelhouse for offline builds).
    """
    img = image(ctx)
    cmd = (f"docker build --no-cache -f {rel(ctx, img.dockerfile)}"
           + (f" --target {img.target}" if img.target else "")
           + "".join(f" --build-arg {k}={shlex.quote(v)}"
                     for k, v in sorted(img.build_args.items()))
           + f" {rel(ctx, img.context_dir) or '.'}")
    base = img.base
    evidence = f"$ {cmd}" + (f"\nbase image: {base.note}" if base else "")
    if not img.ok:
        offline = registry_unreachable(img.log)
        log = f"{evidence}\n--- build log (tail) ---\n{img.log[-LOG_TAIL:]}"
        if base is not None and base.offline:
            assert base.registry is not None
            return [_not_verified(f"not verified: the build needs {base.default}, which the engine does "
                            f"not have, from {base.registry.host}, which does not answer",
                            location=_loc(ctx, img), evidence=log,
                            remediation=offline_remediation(base, ctx.cfg.docker.local_base_image))]
        if offline:
            return [_not_verified(f"not verified: the build needs an image registry this engine cannot "
                            f"reach ({offline[:160]})", location=_loc(ctx, img), evidence=log,
                            remediation="Make the images the Dockerfile names available to the "
                            "engine, or build FROM a local image: set docker.base_image / "
                            "PRODAUDIT_BASE_IMAGE (see docs/deployment.md, base image).")]
        no_index = index_unreachable(img.log)
        if no_index:
            return [_not_verified(f"not verified: the build installs packages from an index its "
                                  f"steps cannot reach here ({no_index[:160]})",
                                  location=_loc(ctx, img), evidence=log,
                                  remediation="Give the engine's builds network access to the package "
                                  "index, or install from a wheelhouse in the build context (the "
                                  "reference target: bash scripts/build-wheelhouse.sh "
                                  "examples/ultra-mvp/wheels examples/ultra-mvp/backend/requirements.txt).")]
        return [failed(f"the image did not build: {img.error}", location=_loc(ctx, img),
                       evidence=log)]
    source = f" ({base.source})" if base and base.source != "default" else ""
    return [passed(f"{_ref(img)} built FROM {base.image}{source} in {img.seconds:.0f} s" if base
                   else f"{_ref(img)} built in {img.seconds:.0f} s",
                   location=_loc(ctx, img), evidence=evidence)]


@check("DEP-011", "Image size is within the budget", severity=Severity.LOW, needs=("docker",),
       checklist=("3.1.4",), timeout=1200, evidence=Evidence.OBSERVED)
def size(ctx: Context) -> list[Finding]:
    """The built image is no larger than ``docker.image_size_budget_mb`` (default 600 MB).

    Large images slow deployments and rollbacks and usually carry build tools and caches an
    attacker can use.

    Remediation: use a slim base, a multi-stage build that copies only the virtualenv, and
    ``--no-cache-dir``; check ``docker history`` for the largest layers.
    """
    img = built(ctx)
    mb = int(img.inspect.get("Size", 0)) / 1_000_000
    budget = ctx.cfg.docker.image_size_budget_mb
    layers = sorted(img.history, key=lambda h: _size_bytes(str(h.get("Size", "0"))), reverse=True)
    ev = "largest layers:\n" + "\n".join(
        f"{h.get('Size', '?'):>8}  {str(h.get('CreatedBy', ''))[:120]}" for h in layers[:5])
    if mb > budget:
        return [failed(f"image is {mb:.0f} MB, over the {budget:.0f} MB budget",
                       location=_loc(ctx, img), evidence=ev)]
    return [passed(f"image is {mb:.0f} MB (budget {budget:.0f} MB)", location=_loc(ctx, img),
                   evidence=ev)]


def _size_bytes(text: str) -> float:
    m = re.match(r"([\d.]+)\s*([kMG]?B)", text)
    if not m:
        return 0.0
    return float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]


@check("DEP-012", "The image does not run as root", severity=Severity.HIGH, needs=("docker",),
       checklist=("3.1.3",), references=("CIS Docker 4.1", "CWE-250"), timeout=1200,
       evidence=Evidence.OBSERVED)
def non_root(ctx: Context) -> list[Finding]:
    """The image's configured user (``Config.User``) is neither empty, ``root`` nor uid 0.

    A process running as root inside the container turns any code execution bug into root on
    the container and a much shorter path to the host.

    Remediation: create an unprivileged user with a fixed uid and end the Dockerfile with
    ``USER 10001:10001``.
    """
    img = built(ctx)
    user = str(img.config.get("User") or "")
    name = user.split(":", 1)[0]
    if name in ("", "root", "0"):
        return [failed(f"the image runs as {user or 'root (no USER)'}",
                       location=_loc(ctx, img), evidence=f"Config.User: {user!r}")]
    return [passed(f"the image runs as user {user}", location=_loc(ctx, img))]


@check("DEP-013", "The image defines a HEALTHCHECK", severity=Severity.MEDIUM, needs=("docker",),
       checklist=("3.1.5", "P.2.5"), references=("CIS Docker 4.6",), timeout=1200, evidence=Evidence.OBSERVED)
def healthcheck(ctx: Context) -> list[Finding]:
    """The image has a ``HEALTHCHECK`` (``Config.Healthcheck`` with a test other than NONE).

    Without it ``docker ps`` and orchestrators only know that the process exists, not that it
    answers.

    Remediation: ``HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD
    [...]`` calling the readiness endpoint with a binary present in the image.
    """
    img = built(ctx)
    hc = img.config.get("Healthcheck") or {}
    test = hc.get("Test") or []
    if not test or test[0] == "NONE":
        return [failed("the image defines no HEALTHCHECK", location=_loc(ctx, img),
                       evidence=f"Config.Healthcheck: {json.dumps(hc) if hc else 'absent'}")]
    return [passed(f"HEALTHCHECK {' '.join(str(t) for t in test)[:160]}", location=_loc(ctx, img))]


def _secret_env(img: BuiltImage) -> list[tuple[str, str, str]]:
    """(where, name, value) of secret-looking values in Env and labels."""
    hits: list[tuple[str, str, str]] = []
    for entry in img.config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        if _is_secret(name, value):
            hits.append(("ENV", name, value))
    for name, value in (img.config.get("Labels") or {}).items():
        if _is_secret(str(name).replace(".", "_").replace("-", "_"), str(value)):
            hits.append(("LABEL", str(name), str(value)))
    return hits


def _is_secret(name: str, value: str) -> bool:
    if TOKEN_RE.search(value):
        return True
    return (is_secret_name(name) and not BENIGN_SECRET_NAMES.match(name)
            and not PLACEHOLDER.match(value.strip()) and len(value) >= 6)


@check("DEP-014", "No secret values in the image (Env, labels, history)",
       severity=Severity.CRITICAL, needs=("docker",), checklist=("3.1.3",),
       references=("CWE-798", "CIS Docker 4.10"), timeout=1200, evidence=Evidence.OBSERVED)
def no_secrets(ctx: Context) -> list[Finding]:
    """The image's environment, labels and layer history (``docker history``: every ``RUN``,
    ``ENV`` and ``ARG`` as built) contain no secret values: secret-named variables with real
    values, or provider key formats.

    Anyone who can pull the image reads them with ``docker inspect``/``docker history``; they
    cannot be rotated out of published layers.

    Remediation: never put secrets in ``ENV``, ``ARG`` or ``LABEL``; pass them at run time
    (environment, Docker secrets) or use ``RUN --mount=type=secret`` for build-time secrets;
    rotate any secret that was baked in.
    """
    img = built(ctx)
    out: list[Finding] = []
    for where, name, value in _secret_env(img):
        ctx.redact.register(value)
        out.append(failed(f"{where} {name} carries a secret value baked into the image",
                          location=_loc(ctx, img), evidence=f"{where} {name}={value}"))
    for h in img.history:
        created = str(h.get("CreatedBy", ""))
        for m in HISTORY_SECRET_RE.finditer(created):
            name, value = m.group(1), m.group(2).strip("'\"")
            if BENIGN_SECRET_NAMES.match(name) or PLACEHOLDER.match(value) or len(value) < 6:
                continue
            if any(f.evidence.endswith(f"{name}={value}") for f in out):
                continue
            ctx.redact.register(value)
            out.append(failed(f"layer history sets {name} with a literal value",
                              location=_loc(ctx, img), evidence=created[:300]))
        for m in TOKEN_RE.finditer(created):
            ctx.redact.register(m.group(1))
            out.append(failed("layer history contains a credential-format token",
                              location=_loc(ctx, img), evidence=created[:300]))
    if not out:
        out.append(passed(f"no secret values in {len(img.config.get('Env') or [])} ENV entries, "
                          f"{len(img.config.get('Labels') or {})} labels and "
                          f"{len(img.history)} history entries", location=_loc(ctx, img)))
    return out


def _compose_container_ports(ctx: Context) -> list[int]:
    api = ctx.api_service()
    ports: list[int] = []
    for p in (api.config.get("ports") or []) if api is not None else []:
        if isinstance(p, dict) and p.get("target"):
            ports.append(int(p["target"]))
    return ports


@check("DEP-015", "Exposed ports are as expected", severity=Severity.LOW, needs=("docker",),
       checklist=("P.2.4",), timeout=1200, evidence=Evidence.OBSERVED)
def exposed_ports(ctx: Context) -> list[Finding]:
    """The image's ``EXPOSE`` list equals ``docker.expected_ports`` (or, unset, the container
    ports the compose service publishes).

    Remediation: ``EXPOSE`` only the application's port; remove debug or admin ports.
    """
    img = built(ctx)
    exposed = sorted(int(p.split("/")[0]) for p in (img.config.get("ExposedPorts") or {}))
    expected = sorted(set(ctx.cfg.docker.expected_ports or _compose_container_ports(ctx)))
    if not expected:
        raise Skip(f"no expected ports (docker.expected_ports unset and the compose service "
                   f"publishes none); image exposes {exposed or 'nothing'}")
    extra = [p for p in exposed if p not in expected]
    missing = [p for p in expected if p not in exposed]
    ev = f"EXPOSE: {exposed}\nexpected: {expected}"
    out: list[Finding] = []
    if extra:
        out.append(warned(f"the image exposes unexpected ports {extra}", location=_loc(ctx, img),
                          evidence=ev))
    if missing:
        out.append(warned(f"expected ports {missing} are not exposed", location=_loc(ctx, img),
                          evidence=ev))
    return out or [passed(f"exposed ports {exposed} as expected", location=_loc(ctx, img))]


def _healthcheck_binary(img: BuiltImage) -> tuple[str, list[str]]:
    """(the binary the healthcheck runs, candidate absolute paths)."""
    test = [str(t) for t in (img.config.get("Healthcheck") or {}).get("Test") or []]
    if not test or test[0] == "NONE":
        raise Skip("the image defines no HEALTHCHECK (see DEP-013)")
    if test[0] == "CMD-SHELL":
        words = shlex.split(" ".join(test[1:]))
        binary = words[0] if words else ""
        shell = ["/bin/sh"]
    else:
        binary = test[1] if len(test) > 1 else ""
        shell = []
    if not binary:
        raise Skip("the HEALTHCHECK has no command")
    if binary.startswith("/"):
        return binary, shell + [binary]
    path_env = next((e.split("=", 1)[1] for e in img.config.get("Env") or []
                     if str(e).startswith("PATH=")), "/usr/local/bin:/usr/bin:/bin")
    return binary, shell + [f"{d.rstrip('/')}/{binary}" for d in path_env.split(":") if d]


def _remove_container(container_id: str, deadline: Deadline) -> None:
    docker(["rm", "-f", container_id], deadline.left())


def path_exists(ctx: Context, image_ref: str, paths: list[str]) -> dict[str, bool]:
    """Whether each path exists in the image, read with ``docker cp`` from a created (never
    started) container."""
    client = ctx.docker()
    objects = run_objects(ctx)
    container = client.container.create(image_ref, name=f"prodaudit-probe-{uuid.uuid4().hex[:8]}",
                                        networks=["none"], labels=objects.labels("container"))
    objects.add(lambda dl: _remove_container(container.id, dl))
    result: dict[str, bool] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="prodaudit-cp-") as tmp:
            for i, p in enumerate(paths):
                proc = subprocess.run(["docker", "cp", f"{container.id}:{p}", f"{tmp}/{i}"],
                                      capture_output=True, text=True, timeout=60)
                result[p] = proc.returncode == 0
    finally:
        container.remove(force=True)
    return result


@check("DEP-016", "The healthcheck's binary exists in the image", severity=Severity.MEDIUM,
       needs=("docker",), checklist=("3.1.5",), timeout=1200, evidence=Evidence.OBSERVED)
def healthcheck_binary(ctx: Context) -> list[Finding]:
    """The program the ``HEALTHCHECK`` runs (``curl``, ``wget``, ``python`` ... and ``/bin/sh``
    for the shell form) exists in the final image.

    Slim and distroless images often lack ``curl``: the healthcheck then fails forever, the
    container is never healthy, and ``depends_on: service_healthy`` blocks the stack.

    Remediation: call a binary the image has (e.g. the application's Python with
    ``urllib.request``), or install the tool in the final stage.
    """
    img = built(ctx)
    binary, candidates = _healthcheck_binary(img)
    found = path_exists(ctx, img.tag, candidates)
    shell_missing = candidates[0] == "/bin/sh" and not found.get("/bin/sh")
    if shell_missing:
        return [failed("the HEALTHCHECK uses the shell form but /bin/sh is not in the image",
                       location=_loc(ctx, img))]
    hits = [p for p in candidates if p != "/bin/sh" and found.get(p)]
    if not hits:
        return [failed(f"the HEALTHCHECK runs {binary}, which is not in the image",
                       location=_loc(ctx, img),
                       evidence="looked for: "
                       + ", ".join(c for c in candidates if c != "/bin/sh"))]
    return [passed(f"the HEALTHCHECK binary {hits[0]} exists in the image",
                   location=_loc(ctx, img))]
