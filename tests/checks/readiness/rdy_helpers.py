"""Helpers of the readiness-suite tests: run RDY checks through the real runner on a Context
built from a real configuration (a mutated copy of examples/ultra-mvp, or a started target)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import describe, stop_process, target_environ
from helpers import messages as messages  # re-exported for the test modules

from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.context import Context
from prodaudit.model import CheckResult, Status
from prodaudit.ports import on_free_port
from prodaudit.registry import REGISTRY, load_checks
from prodaudit.runner import run_checks
from prodaudit.target import ReferenceTarget, wait_http

load_checks()  # every RDY check registers (the registry is the one list)

IGNORE = shutil.ignore_patterns("__pycache__", "node_modules", ".venv", "*.pyc", "*.db")


def copy_mvp(dest: Path) -> Path:
    """A copy of the reference target to mutate."""
    shutil.copytree(REFERENCE_TARGET, dest, ignore=IGNORE)
    return dest


@pytest.fixture
def mvp(tmp_path: Path) -> Path:
    return copy_mvp(tmp_path / "mvp")


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found (the reference target changed?)"
    path.write_text(text.replace(old, new), encoding="utf-8")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_repo(root: Path, files: dict[str, str]) -> Path:
    """A small repository written from a dict (relative path → text)."""
    for rel, text in files.items():
        write(root / rel, text)
    return root


def problem_locs(r: CheckResult) -> set[str]:
    """Locations of the FAIL and WARN findings."""
    return {f.location for f in r.findings if f.status in (Status.FAIL, Status.WARN)}


def run_rdy(
    ids: list[str] | str,
    *,
    repo: Path = REFERENCE_TARGET,
    target: ReferenceTarget | None = None,
    login: bool = False,
    target_logs: list[Path] | None = None,
    target_env: dict[str, str] | None = None,
    **cfg: Any,
) -> dict[str, CheckResult]:
    """Run the given RDY checks (through the runner: needs, timeouts, redaction) and return
    their results by id."""
    ids = [ids] if isinstance(ids, str) else ids
    cli: dict[str, Any] = {"repo": repo, "start_target": False, "output": cfg.pop("output", None)}
    if target is not None:
        cli.update(base_url=target.base_url, frontend_url=target.frontend_url,
                   env_file=target.env_file)
        target_env = target.env if target_env is None else target_env
        target_logs = target.logs if target_logs is None else target_logs
    cli.update(cfg)
    with target_environ(target):
        config = load_config(cli)
        ctx = Context(config, target_env=target_env, target_logs=target_logs)

        async def go() -> list[CheckResult]:
            if login:
                await ctx.auth()
            return await run_checks([REGISTRY.get(i) for i in ids], ctx)

        return {r.id: r for r in asyncio.run(go())}


def assert_status(r: CheckResult, status: Status) -> None:
    assert r.status is status, describe(r)
    if status is Status.PASS:
        assert any(f.status is Status.PASS and f.message for f in r.findings), describe(r)


class StaticServer:
    """The reference target's frontend server (serve.py) run from a (mutated) copy."""

    def __init__(self, frontend_dir: Path, api_base: str = "") -> None:
        self.dir = frontend_dir
        self.port = 0
        self.log = frontend_dir / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api_base = api_base

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticServer:
        on_free_port(self._start, what="static frontend server")  # another port if one is taken
        return self

    def _start(self, port: int) -> None:
        self.port = port
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}
        env["API_BASE_URL"] = self.api_base
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "serve:app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                cwd=self.dir, env=env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            wait_http(self.url + "/healthz", 30, self.proc, self.log)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def started(root: Path, **overrides: str) -> Iterator[ReferenceTarget]:
    """Start a reference target from a (mutated) copy; stop it afterwards."""
    t = ReferenceTarget(root=root, flaws="", overrides=overrides)
    t.start()
    try:
        yield t
    finally:
        t.stop()
