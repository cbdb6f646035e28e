"""``invoke demo.up`` / ``demo.down``: the reference target running in the background."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError, TargetError
from prodaudit.loaders import load_json_file

STATE = Path(".prodaudit-demo.json")


def up(flaws: str = "", state: Path = STATE, timeout: float = 60.0) -> str:
    """Start a detached ``python -m prodaudit.demo serve`` and wait for its state file."""
    if state.exists():
        return f"already running: {state} (invoke demo.down first)"
    env = dict(os.environ, ULTRA_FLAWS=flaws)
    log = open(state.with_suffix(".log"), "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "prodaudit.demo", "serve", str(state)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.exists():
            info = _read_state(state)
            return "\n".join(f"{k}={v}" for k, v in info.items())
        if proc.poll() is not None:
            raise TargetError(f"demo failed to start; see {state.with_suffix('.log')}")
        time.sleep(0.2)
    proc.terminate()
    raise TargetError(f"demo did not start within {timeout:.0f} s; see {state.with_suffix('.log')}")


def _read_state(state: Path) -> dict[str, Any]:
    """The demo's state file (written by ``serve``), bounded; InputError when it is not ours."""
    info = load_json_file(state, max_bytes=64_000)
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        raise InputError(str(state), "not a demo state file (no pid)")
    return info


def down(state: Path = STATE) -> str:
    if not state.exists():
        return "no demo running"
    info = _read_state(state)
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(info["pid"]), signal.SIGTERM)
    for _ in range(100):
        if not state.exists():
            break
        time.sleep(0.1)
    state.unlink(missing_ok=True)
    return "demo stopped"


def serve(state: Path) -> None:
    from prodaudit.target import ReferenceTarget

    stop = {"now": False}

    def handler(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    try:
        with ReferenceTarget() as target:
            info = {"pid": os.getpid(), "base_url": target.base_url,
                    "frontend_url": target.frontend_url, "env_file": str(target.env_file),
                    **target.audit_env}
            tmp = state.with_name(f".{state.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(info, indent=2))
            os.replace(tmp, state)  # up() never reads a half-written state file
            while not stop["now"]:
                time.sleep(0.5)
    finally:
        state.unlink(missing_ok=True)  # only once the target has stopped: down() waits for it


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        sys.exit("usage: python -m prodaudit.demo serve STATEFILE")
