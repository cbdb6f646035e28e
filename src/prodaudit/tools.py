"""External tools whose results checks use (bandit, pip-audit): one availability decision, one
run per input, results cached.

- **One answer per run.** Whether pip-audit can verify anything is decided once
  (:func:`pip_audit_unavailable`: installed? does its vulnerability service answer? — the
  context's shared network probe), so CFG-063 and SEC-091 always agree; each distinct input is
  audited once per run, whichever check asks first.
- **Cached across runs** (``prodaudit.cache``, namespaces ``bandit`` and ``pip-audit``), keyed
  by the content hashes of the input files, the tool's version and its arguments. bandit's
  answer depends only on those, so it is reused as long as they are unchanged. pip-audit's also
  depends on the advisory database, which changes every day: an answer is reused for
  ``PIP_AUDIT_MAX_AGE`` seconds at most, only when every package was audited, and never when the
  input includes other files. A result from the cache says so (``cached_at``), and the checks put
  that in their finding.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prodaudit.context import Context

PIP_AUDIT_TIMEOUT = 240
BANDIT_TIMEOUT = 290
PIP_AUDIT_MAX_AGE = 12 * 3600.0
BANDIT_NS = "bandit"
PIP_AUDIT_NS = "pip-audit"
_INCLUDES = ("-r", "--requirement", "-c", "--constraint", "-e", "--editable")


@dataclass(frozen=True)
class ToolRun:
    """A tool's JSON answer (``data``), or why there is none (``error``)."""

    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cached_at: float | None = None  # when the cached answer was produced (None: run now)

    @property
    def cache_note(self) -> str:
        if self.cached_at is None:
            return ""
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.cached_at))
        return f" (from the cache: inputs unchanged since {when})"


def _record(ctx: Context, tool: str, what: str, run: ToolRun) -> ToolRun:
    """Say in audit.json (``facts.tool_runs``) which answers were produced now and which came
    from the cache, and when."""
    entry = {"tool": tool, "input": what, "from_cache": run.cached_at is not None,
             "produced": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.cached_at))
             if run.cached_at is not None else "now"}
    if run.error:
        entry["error"] = run.error
    ctx.export_item("tool_runs", entry)
    return run


def _same_env(exe: str) -> bool:
    return Path(exe).resolve().parent == Path(sys.executable).resolve().parent


@lru_cache(maxsize=8)
def _version(dist: str, module: str, exe: str | None) -> str:
    """The tool's version: from this interpreter's metadata when it runs here, else ``--version``."""
    from importlib import metadata

    if importlib.util.find_spec(module) is not None and (exe is None or _same_env(exe)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    if exe is None:
        return "unknown"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout or out.stderr).strip()[:100] or "unknown"


# ---- pip-audit -----------------------------------------------------------------------------
def pip_audit_command() -> list[str] | None:
    """How to run pip-audit here (its console script, else ``python -m pip_audit``)."""
    exe = shutil.which("pip-audit")
    if exe:
        return [exe]
    if importlib.util.find_spec("pip_audit") is not None:
        return [sys.executable, "-m", "pip_audit"]
    return None


def pip_audit_unavailable(ctx: Context) -> str | None:
    """Why pip-audit cannot verify anything in this run (None: it can). One decision per run."""

    def decide() -> str | None:
        if pip_audit_command() is None:
            return "pip-audit is not installed in this environment: install prodaudit[audit]"
        down = ctx.network_service("pypi")
        if down:
            return f"pip-audit's vulnerability service (PyPI's JSON API) cannot be used: {down}"
        return None

    reason: str | None = ctx.memo("tool:pip-audit:available", decide)
    return reason


def pip_audit(ctx: Context, requirements: Path, label: str = "") -> ToolRun:
    """pip-audit's JSON answer for one requirements file (``--no-deps --disable-pip``), once per
    run per content, cached across runs (see the module docstring)."""
    try:
        text = requirements.read_bytes()
    except OSError as exc:
        return ToolRun(error=f"unreadable: {exc.strerror}")
    digest = hashlib.sha256(text).hexdigest()
    label = label or _rel(ctx, requirements)
    return ctx.memo(f"tool:pip-audit:{digest}",
                    lambda: _record(ctx, "pip-audit", label, _pip_audit(ctx, requirements, text)))


def _rel(ctx: Context, path: Path) -> str:
    try:
        return path.relative_to(ctx.repo).as_posix()
    except ValueError:
        return str(path)


def pip_audit_pins(ctx: Context, pins: list[tuple[str, str]]) -> ToolRun:
    """pip-audit on exact ``name==version`` pins (written to a temporary requirements file)."""
    with tempfile.TemporaryDirectory(prefix="prodaudit-pins-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("".join(f"{n}=={v}\n" for n, v in sorted(set(pins))), encoding="utf-8")
        return pip_audit(ctx, req, "the pinned packages")


def _pip_audit(ctx: Context, requirements: Path, text: bytes) -> ToolRun:
    cmd0 = pip_audit_command()
    if cmd0 is None:
        return ToolRun(error="pip-audit is not installed")
    cache = ctx.cache()
    own = not any(ln.strip().startswith(_INCLUDES) for ln in text.decode("utf-8", "replace")
                  .splitlines())
    key = ""
    if cache is not None and own:
        from prodaudit.cache import Cache, get_json

        key = Cache.key(_version("pip-audit", "pip_audit", cmd0[0] if len(cmd0) == 1 else None),
                        text, "--no-deps --disable-pip")
        hit = get_json(cache, PIP_AUDIT_NS, [key]).get(key)
        if isinstance(hit, dict) and time.time() - float(hit.get("at", 0)) < PIP_AUDIT_MAX_AGE:
            return ToolRun(data=hit.get("data", {}), cached_at=float(hit["at"]))
    cmd = [*cmd0, "-r", str(requirements), "--no-deps", "--disable-pip", "-f", "json",
           "--progress-spinner", "off"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_AUDIT_TIMEOUT,
                              env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = f"did not finish within {PIP_AUDIT_TIMEOUT} s" if isinstance(
            exc, subprocess.TimeoutExpired) else f"could not start: {exc}"
        return ToolRun(error=f"pip-audit {why}")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        tail = (proc.stderr or proc.stdout or "no output").strip()[-300:]
        return ToolRun(error=f"pip-audit exited {proc.returncode} without JSON: {tail}")
    if not isinstance(data, dict):
        return ToolRun(error="pip-audit answered JSON that is not an object")
    deps = data.get("dependencies", [])
    complete = bool(deps) and not any(d.get("skip_reason") for d in deps if isinstance(d, dict))
    if key and complete:  # a partial answer (the service failed for some) is not kept
        from prodaudit.cache import put_json

        put_json(cache, PIP_AUDIT_NS, key, {"at": time.time(), "data": data})
    return ToolRun(data=data)


# ---- bandit --------------------------------------------------------------------------------
def bandit_available() -> bool:
    return importlib.util.find_spec("bandit") is not None


def bandit(ctx: Context, files: list[str]) -> ToolRun:
    """``python -m bandit -f json -q FILES`` in the repository, cached by the files' contents and
    bandit's version. Runs in chunks on very long file lists (command-line length)."""
    return _record(ctx, "bandit", f"{len(files)} Python files", _bandit(ctx, files))


def _bandit(ctx: Context, files: list[str]) -> ToolRun:
    cache = ctx.cache()
    key = ""
    if cache is not None:
        from prodaudit.cache import Cache, get_json

        sums = file_digests(ctx, files)
        if sums is not None:
            key = Cache.key(_version("bandit", "bandit", None), "-f json -q",
                            *(f"{rel}\0{sums[rel]}" for rel in files))
            hit = get_json(cache, BANDIT_NS, [key]).get(key)
            if isinstance(hit, dict):
                return ToolRun(data=hit.get("data", {}), cached_at=float(hit.get("at", 0)))
    merged: dict[str, Any] = {"results": [], "errors": [], "metrics": {}}
    for chunk in _chunks(files, 100_000):
        run = _bandit_once(ctx.repo, chunk)
        if run.error:
            return run
        merged["results"] += run.data.get("results", [])
        merged["errors"] += run.data.get("errors", [])
        merged["metrics"].update({k: v for k, v in run.data.get("metrics", {}).items()
                                  if k != "_totals"})
    merged["metrics"]["_totals"] = {}
    if key:
        from prodaudit.cache import put_json

        put_json(cache, BANDIT_NS, key, {"at": time.time(), "data": merged})
    return ToolRun(data=merged)


def _chunks(files: list[str], max_bytes: int) -> list[list[str]]:
    out: list[list[str]] = [[]]
    size = 0
    for f in files:
        if out[-1] and size + len(f) + 1 > max_bytes:
            out.append([])
            size = 0
        out[-1].append(f)
        size += len(f) + 1
    return out


def _bandit_once(repo: Path, files: list[str]) -> ToolRun:
    cmd = [sys.executable, "-m", "bandit", "-f", "json", "-q", "--", *files]
    try:
        proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True,
                              timeout=BANDIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ToolRun(error=f"bandit did not finish within {BANDIT_TIMEOUT} s")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        tail = (proc.stderr or proc.stdout).strip()[-300:]
        return ToolRun(error=f"bandit exited {proc.returncode} without JSON: {tail}")
    return ToolRun(data=data if isinstance(data, dict) else {})


def file_digests(ctx: Context, files: list[str]) -> dict[str, str] | None:
    """Content hash of each repository file (the cache's stat index spares re-reading unchanged
    ones); None when one cannot be read (nothing is cached then)."""
    from prodaudit.cache import file_digest

    cache = ctx.cache()
    base = str(ctx.repo)
    stats = {}
    for rel in files:
        try:
            stats[f"{base}/{rel}"] = (rel, os.stat(f"{base}/{rel}"))
        except OSError:
            return None
    known = cache.known_files(BANDIT_NS, "\0", ((full, st) for full, (_, st) in stats.items())
                              ) if cache is not None else {}
    out: dict[str, str] = {}
    for full, (rel, st) in stats.items():
        if full in known:
            out[rel] = known[full][0]
            continue
        try:
            with open(full, "rb") as fh:
                out[rel] = file_digest(fh.read())
        except OSError:
            return None
        if cache is not None:
            cache.remember_digest(full, st, out[rel])
    return out
