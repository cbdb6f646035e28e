"""Whole-process measurement for the benchmarks (not a benchmark): wall, CPU and peak RSS of one
command as a user runs it, start-up included, and the goals of issue 13 collected for the summary.

A small launcher forks and execs the command and reports the child's own resource usage: Linux
keeps a process's peak RSS across fork+exec, so a child forked straight from the (large) pytest
process would report pytest's peak, not its own. CPU is user + system of the command and every
child it waited for (``wait4``: a scanner subprocess counts); peak RSS is the larger of the
largest single process among them and the peak of their sum, sampled every 50 ms from /proc while
the command runs (the py_index pass's worker processes are alive beside the audit).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 900
_SCRIPT = Path(sys.executable).with_name("prodaudit")  # the console script a user runs
PRODAUDIT = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "prodaudit.cli"]

_LAUNCH = """
import json, os, sys, time
PAGE = os.sysconf("SC_PAGE_SIZE")

def tree_rss(root):
    # resident memory of ``root`` and every descendant now (Linux /proc; 0 elsewhere)
    parent, rss = {}, {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss[pid] = int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        parent[pid] = int(fields[1])
    total = 0
    for pid, size in rss.items():
        p = pid
        while p > 1 and p != root:
            p = parent.get(p, 0)
        if p == root:
            total += size
    return total

t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
peak = 0
while True:
    done, status, ru = os.wait4(pid, os.WNOHANG)
    if done:
        break
    peak = max(peak, tree_rss(pid))
    time.sleep(0.05)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_kib": ru.ru_maxrss,
                  "tree_rss_kib": peak // 1024,
                  "rc": os.waitstatus_to_exitcode(status)}), file=sys.stderr)
"""


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
          ok: tuple[int, ...] = (0, 1, 2)) -> tuple[float, float, float, bytes]:
    """(wall s, cpu s, peak RSS MiB, stdout) of one whole process, from its fork to its exit.
    The peak RSS is the larger of the largest single process and the process tree's sampled
    peak (the command and every descendant alive at once: worker processes count)."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], capture_output=True, env=env,
                          cwd=cwd, timeout=TIMEOUT, check=False)
    usage = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert usage["rc"] in ok, (cmd[:6], usage, proc.stderr.decode()[-2000:])
    return usage["wall"], usage["cpu"], max(usage["rss_kib"], usage["tree_rss_kib"]) / 1024, \
        proc.stdout


@dataclass
class Runs:
    """The rounds of one whole-process measurement."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: float = 0.0

    def add(self, wall: float, cpu: float, rss: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.rss_mb = max(self.rss_mb, rss)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def info(self) -> dict[str, float]:
        return {"median_wall_s": round(self.median, 3), "min_wall_s": round(min(self.wall), 3),
                "median_cpu_s": round(self.cpu_median, 3), "peak_rss_mib": round(self.rss_mb, 1),
                "rounds": len(self.wall)}


#: the issue's table, filled by the benchmarks that ran: row -> (measured, goal)
GOALS: dict[str, tuple[str, str]] = {}


def goal(row: str, measured: str, target: str) -> None:
    GOALS[row] = (measured, target)


def project_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell in this checkout: this interpreter's tools first."""
    env = dict(os.environ, **extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env
