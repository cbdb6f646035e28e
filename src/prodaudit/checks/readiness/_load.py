"""The repository's load-test scenarios (issue 18): Locust files read with ``ast`` (user classes,
tasks, the requests they send, whether they write) and k6 scripts, and one bounded headless
Locust run against the live target (requests and time budgets, p95 and error rate)."""

from __future__ import annotations

import ast
import csv
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from prodaudit.checks.api import Context, Skip
from prodaudit.checks.readiness._scan import parts
from prodaudit.observe import child_env, find_tool, run_bounded, workspace
from prodaudit.pysource import host_parse

_USER_BASES = ("HttpUser", "FastHttpUser", "User", "HttpLocust", "Locust")
_WRITE = ("post", "put", "patch", "delete")
_K6_IMPORT = re.compile(r"""from\s+["']k6(/http)?["']""")
_K6_REQUEST = re.compile(r"\bhttp\.(get|post|put|patch|del|request|batch)\s*\(")
_K6_WRITE = re.compile(r"\bhttp\.(post|put|patch|del)\s*\(|http\.request\(\s*['\"](POST|PUT|PATCH|DELETE)")

#: loaded next to the scenario (``locust -f scenario.py,budget.py``): stops the run after
#: PRODAUDIT_LOAD_MAX_REQUESTS requests, whatever the scenario does
BUDGET_PLUGIN = '''
import os
import gevent
from locust import events

_limit = int(os.environ.get("PRODAUDIT_LOAD_MAX_REQUESTS", "100"))
_state = {"count": 0, "env": None}


@events.init.add_listener
def _init(environment, **_kw):
    _state["env"] = environment


@events.request.add_listener
def _count(**_kw):
    _state["count"] += 1
    if _state["count"] == _limit and _state["env"] is not None and _state["env"].runner:
        gevent.spawn(_state["env"].runner.quit)
'''


@dataclass(frozen=True)
class Scenario:
    rel: str
    tool: str  # "locust" | "k6"
    users: tuple[str, ...] = ()  # user classes with tasks
    requests: int = 0  # request calls in the code
    writes: bool = False
    problem: str = ""  # why it cannot load anything ('' when it can)


def _is_task(s: ast.stmt) -> bool:
    """A ``@task`` method, or a ``tasks = [...]`` attribute."""
    if isinstance(s, ast.FunctionDef):
        return any("task" in ast.unparse(d) for d in s.decorator_list)
    return isinstance(s, ast.Assign) and any(getattr(t, "id", "") == "tasks" for t in s.targets)


def _locust(rel: str, text: str) -> Scenario | None:
    try:
        tree = host_parse(text, rel)
    except (SyntaxError, ValueError):
        return Scenario(rel, "locust", problem="the file does not parse")
    if "locust" not in text:
        return None
    users: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
        has_tasks = any(_is_task(s) for s in node.body)
        if bases & set(_USER_BASES) and has_tasks:
            users.append(node.name)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in ("get", "post", "put", "patch", "delete", "request", "head")
             and "client" in ast.unparse(n.func.value)]
    writes = any(c.func.attr in _WRITE for c in calls if isinstance(c.func, ast.Attribute))
    problem = "" if users and calls else (
        "no user class with tasks" if not users else "the tasks send no request through self.client")
    return Scenario(rel, "locust", tuple(users), len(calls), writes, problem)


def scenarios(ctx: Context) -> list[Scenario]:
    """Every Locust file (``locustfile*.py`` or a module that imports locust) and k6 script."""
    out: list[Scenario] = []
    for rel in ctx.files.files:
        if "node_modules" in parts(rel):
            continue
        name = rel.rsplit("/", 1)[-1]
        if rel.endswith(".py"):
            text = ctx.read(rel) or ""
            if name.startswith("locustfile") or re.search(r"^\s*(from|import)\s+locust\b", text, re.M):
                s = _locust(rel, text)
                if s is not None:
                    out.append(s)
                elif name.startswith("locustfile"):
                    out.append(Scenario(rel, "locust", problem="the file does not use locust"))
        elif rel.endswith((".js", ".ts", ".mjs")):
            text = ctx.read(rel) or ""
            if _K6_IMPORT.search(text):
                n = len(_K6_REQUEST.findall(text))
                out.append(Scenario(rel, "k6", requests=n, writes=bool(_K6_WRITE.search(text)),
                                    problem="" if n and "export default" in text else
                                    "no default function sending requests"))
    return out


@dataclass(frozen=True)
class LoadRun:
    scenario: str
    command: str
    requests: int
    failures: int
    p95_ms: float | None
    rps: float
    seconds: float
    exit_code: int | None
    endpoints: tuple[str, ...]  # "GET /notes: 120 req, p95 35 ms, 0 failures"
    log: str
    #: Locust's error report: (request, error text, occurrences)
    errors: tuple[tuple[str, str, int], ...] = ()

    @property
    def error_percent(self) -> float:
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    def failed_with(self, pattern: re.Pattern[str]) -> int:
        """Failures whose error text matches ``pattern``."""
        return sum(n for _, error, n in self.errors if pattern.search(error))


def _locust_cmd() -> list[str]:
    exe = find_tool("locust")
    if exe is not None:
        return [str(exe)]
    if importlib.util.find_spec("locust") is not None:
        return [sys.executable, "-m", "locust"]
    raise Skip("locust is not installed (pip install 'prodaudit[load]'): the load scenario was not run")


def _stats(path: Path) -> tuple[int, int, float | None, float, list[str]]:
    requests = failures = 0
    p95: float | None = None
    rps = 0.0
    endpoints: list[str] = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            n, f = int(row.get("Request Count") or 0), int(row.get("Failure Count") or 0)
            q = row.get("95%") or ""
            value = float(q) if q not in ("", "N/A") else None
            if row.get("Name") == "Aggregated":
                requests, failures, p95 = n, f, value
                rps = float(row.get("Requests/s") or 0)
            elif len(endpoints) < 20:
                endpoints.append(f"{row.get('Type', '')} {row.get('Name', '')}: {n} req, p95 "
                                 f"{value if value is not None else '-'} ms, {f} failures")
    return requests, failures, p95, rps, endpoints


def _errors(path: Path) -> list[tuple[str, str, int]]:
    """Locust's ``_failures.csv``: (method and name, error text, occurrences)."""
    out: list[tuple[str, str, int]] = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            request = f"{row.get('Method', '')} {row.get('Name', '')}".strip()
            out.append((request, (row.get("Error") or "")[:300],
                        int(row.get("Occurrences") or 0)))
    return out


def run_locust(ctx: Context, scenario: Scenario) -> LoadRun:
    """``locust --headless`` against the live target, bounded by users, time and requests."""
    r = ctx.cfg.readiness
    base = [*_locust_cmd()]
    with workspace(ctx.repo) as copy:
        plugin = copy.parent / "prodaudit_load_budget.py"
        plugin.write_text(BUDGET_PLUGIN, encoding="utf-8")
        prefix = copy.parent / "load"
        cmd = [*base, "-f", f"{copy / scenario.rel},{plugin}", "--headless", "--host", ctx.base_url,
               "-u", str(r.load_users), "-r", "1", "--run-time", f"{int(r.load_seconds)}s",
               "--stop-timeout", "5", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
        env = child_env({"PRODAUDIT_LOAD_MAX_REQUESTS": str(r.load_max_requests)})
        ran = run_bounded(cmd, cwd=(copy / scenario.rel).parent, timeout=r.load_seconds + 90, env=env)
        stats = prefix.parent / "load_stats.csv"
        counts = _stats(stats) if stats.is_file() else (0, 0, None, 0.0, [])
        failures = prefix.parent / "load_failures.csv"
        errors = _errors(failures) if failures.is_file() else []
        shown = ran.command.replace(str(copy.parent), "<workspace>")
        log = ran.tail(2500).replace(str(copy.parent), "<workspace>")
    return LoadRun(scenario.rel, shown, counts[0], counts[1], counts[2], counts[3], ran.seconds,
                   ran.returncode, tuple(counts[4]), log, tuple(errors))
