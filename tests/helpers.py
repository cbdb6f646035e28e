"""Plain helpers shared by the tests (no fixtures): looking up and describing results, running
with a target's audit accounts in the environment.

``tests/conftest.py`` and the suite helper modules (``cfg_helpers``, ``dep_helpers``,
``rdy_helpers``) re-export what their test modules import."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest_services import in_ci

from prodaudit.audit import run_audit
from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.model import AuditRun, CheckResult
from prodaudit.target import ReferenceTarget


def result(run: AuditRun, check_id: str) -> CheckResult:
    """The result of ``check_id`` in ``run`` (an AssertionError naming the ids when missing)."""
    for r in run.results:
        if r.id == check_id:
            return r
    raise AssertionError(f"{check_id} not in results: {[r.id for r in run.results]}")


def describe(r: CheckResult) -> str:
    """One line for assertion messages: id, status, reason and every finding."""
    return f"{r.id} {r.status.value} {r.reason!r} " + " | ".join(
        f"{f.status.value}: {f.message} @ {f.location}" for f in r.findings)


ci = in_ci  # the name the test modules import from conftest


def messages(r: CheckResult) -> str:
    """Every finding's message, location and evidence (to search with ``in``)."""
    return "\n".join(f"{f.message} @ {f.location}\n{f.evidence}" for f in r.findings)


@contextmanager
def target_environ(target: ReferenceTarget | None) -> Iterator[None]:
    """The target's audit accounts in ``os.environ`` (none when ``target`` is None); the
    environment is restored exactly afterwards."""
    saved = dict(os.environ)
    if target is not None:
        os.environ.update(target.audit_env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process started by a test; kill it when it does not exit in 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def audit_target(
    target: ReferenceTarget | None,
    tmp_path: Path,
    *,
    suites: list[str] | None = None,
    only: list[str] | None = None,
    repo: Path | None = None,
    **cfg: Any,
) -> AuditRun:
    """Run an audit (no reports written) against a started target, with its audit accounts."""
    cli: dict[str, Any] = {
        "repo": repo or REFERENCE_TARGET,
        "output": tmp_path / "reports",
        "only": only,
        "start_target": False,
    }
    if target is not None:
        cli.update(base_url=target.base_url, frontend_url=target.frontend_url, env_file=target.env_file)
    cli.update(cfg)
    with target_environ(target):
        config = load_config(cli)
        return run_audit(config, suites, quiet=True, write=False).run


def check_ids(*, module: str | None = None, prefix: str | None = None) -> list[str]:
    """Check ids from the registry (never a copied list): the checks of a module
    (``module="deployment.image"``) or of an id range (``prefix="CFG-15"``), in id order."""
    from prodaudit.registry import load_checks

    specs = load_checks().all()
    if module is not None:
        specs = [s for s in specs if s.func.__module__ == f"prodaudit.checks.{module}"]
    if prefix is not None:
        specs = [s for s in specs if s.id.startswith(prefix)]
    ids = [s.id for s in specs]
    assert ids, f"no check for module={module!r} prefix={prefix!r}"
    return ids


# ---- Docker: a tiny image of our own ----------------------------------------------------------
BUSYBOX_APPLETS = ("sh", "true", "false", "sleep", "wget", "httpd", "mkdir", "echo", "cat")


def import_busybox_image(tag: str) -> str:
    """``docker import`` a FROM-scratch root file system holding Debian's static busybox (and a
    unique marker, so the image id is unique) as ``tag``; returns the image id. One tag, no
    parent: a test that uses it as a base image can tell whether anything removed it."""
    import io
    import shutil
    import tarfile
    import uuid

    from conftest_services import require_service

    binary = shutil.which("busybox")
    require_service("busybox", binary is not None,
                    "Debian busybox-static is not installed (scripts/services.sh installs it)")
    assert binary is not None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        tar.add(binary, arcname="bin/busybox")
        for applet in BUSYBOX_APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        marker = f"{tag} {uuid.uuid4().hex}\n".encode()
        info = tarfile.TarInfo("etc/prodaudit-test")
        info.size = len(marker)
        tar.addfile(info, io.BytesIO(marker))
    out = subprocess.run(["docker", "import", "--change", "ENV PATH=/bin", "--change",
                          'CMD ["/bin/sh"]', "-", tag], input=buf.getvalue(), capture_output=True,
                         timeout=120, check=True)
    return out.stdout.decode().strip()
