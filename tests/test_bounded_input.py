"""Bounded memory and time on hostile repository input, through the real CLI: a 700-byte YAML
alias bomb in docker-compose.yml ends the run normally with an ERROR naming the file (issue 11.3;
before, it grew to 4.4 GB in 6.5 minutes). The subprocess runs under an address-space limit so a
regression fails the test instead of the machine."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from prodaudit.config import PROJECT_ROOT

MEMORY_LIMIT = 3 * 1024**3


def alias_bomb_compose() -> str:
    lines = ['x-lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for ch in "bcdefghi":
        lines.append(f"x-{ch}: &{ch} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = ch
    lines += ["services:", "  api:", "    image: example/api:1.0", "    command: *i"]
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_alias_bomb_in_compose_file_is_an_error_naming_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    bomb = alias_bomb_compose()
    assert len(bomb.encode()) <= 700
    (repo / "docker-compose.yml").write_text(bomb)
    (repo / "app.py").write_text("import os\nDEBUG = os.environ.get('DEBUG', 'false')\n")
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "prodaudit.cli", "run", "--repo", str(repo), "--no-start",
         "--suite", "config,deployment,readiness", "--output", str(out), "-q"],
        capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT, preexec_fn=_limit_memory,
    )
    assert (out / "latest" / "audit.json").is_file(), proc.stderr[-3000:]
    data = json.loads((out / "latest" / "audit.json").read_text())
    assert proc.returncode == data["exit_code"], proc.stderr[-3000:]
    named = [r for r in data["results"] if r["status"] == "error"
             and "docker-compose.yml" in r["reason"] and "alias" in r["reason"]]
    assert named, [(r["id"], r["status"], r["reason"]) for r in data["results"]
                   if r["status"] in ("error", "skip")]
    crashed = [(r["id"], r["reason"]) for r in data["results"] if "crashed" in r["reason"]]
    assert crashed == []  # refused with a reason, never a MemoryError
    assert {"config", "readiness"} <= {r["suite"] for r in data["results"]}  # the rest still ran
