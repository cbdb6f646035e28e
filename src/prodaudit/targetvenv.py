"""The target's own Python environment, for running its tests (issue 18): ``--target-venv`` when
given, else a virtualenv built from the target's lock or requirements with the interpreter it
pins (pyenv interpreters are found too; when none satisfies the pin, with another one, and the
environment says so), bounded in time and cached by the hash of what it was
built from, so the next audit reuses it (and works offline with ``readiness.wheelhouse``).

Lock formats: ``requirements*.txt`` (and ``requirements/*.txt``), ``poetry.lock``, ``uv.lock``,
``Pipfile.lock``; pins of a lock are installed with ``--no-deps`` after their environment
markers are evaluated for the chosen interpreter. Local and editable requirements (``-e .``)
are left out: the project is put on ``PYTHONPATH`` instead, so the cached environment never
points into a temporary copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from prodaudit.errors import InputError
from prodaudit.loaders import load_json, load_toml
from prodaudit.observe import child_env, run_bounded

FORMAT = "1"  # bump when the way environments are built changes
TOOLS = ("pytest", "coverage")  # what the audit itself needs inside the environment
_REQ_NAME = re.compile(r"^(requirements|reqs?)([-_.][\w.-]*)?\.(txt|in)$", re.I)
_REQ_KEEP = re.compile(r"^(requirements(\.txt)?|[\w-]*(test|dev|ci|base|common|local)[\w-]*\.txt)$", re.I)


class VenvError(Exception):
    """The environment could not be built; the message says why (it becomes a SKIP reason)."""


@dataclass(frozen=True)
class TargetEnv:
    python: Path
    description: str  # what it is, for the evidence
    built_from: tuple[str, ...] = ()
    #: set when the project pins a Python no installed interpreter satisfies and the environment
    #: was built with another one: which was pinned (and where), which was used
    python_mismatch: str = ""


def _installed_interpreters() -> list[Path]:
    found = [Path(sys.executable)]
    for name in ("python3", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9"):
        w = shutil.which(name)
        if w:
            found.append(Path(w))
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if root.is_dir():
        found += sorted(root.glob("*/bin/python3"), reverse=True)
    seen: set[Path] = set()
    out = []
    for p in found:
        with contextlib.suppress(OSError):
            r = p.resolve()
            if r not in seen and os.access(r, os.X_OK):
                seen.add(r)
                out.append(p)
    return out


def _version(python: Path) -> str:
    ran = run_bounded([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                      cwd=Path("/"), timeout=20)
    return ran.stdout.strip() if ran.ok else ""


def wanted_python(project: Path, repo: Path) -> tuple[str, str]:
    """(a version specifier such as ``==3.9.*`` or ``>=3.11``, where it was read) or ('', ''):
    ``.python-version``, ``runtime.txt``, ``pyproject.toml`` (``requires-python``, Poetry's
    ``python``), ``Pipfile`` (``[requires] python_version``), nearest directory first."""
    for d in _dirs_up(project, repo):
        for name, rx in ((".python-version", r"^\s*(\d+\.\d+)"), ("runtime.txt", r"python-(\d+\.\d+)")):
            p = d / name
            if p.is_file():
                m = re.search(rx, p.read_text(errors="replace")[:200], re.M)
                if m:
                    return f"=={m.group(1)}.*", str(p.relative_to(repo))
        pp = d / "pyproject.toml"
        if pp.is_file():
            with contextlib.suppress(InputError):
                data = load_toml(pp.read_text(errors="replace"), str(pp.relative_to(repo)))
                spec = (data.get("project") or {}).get("requires-python") or \
                    ((data.get("tool") or {}).get("poetry") or {}).get("dependencies", {}).get("python")
                if isinstance(spec, str) and spec.strip() not in ("", "*"):
                    return _poetry_spec(spec), str(pp.relative_to(repo))
        pf = d / "Pipfile"
        if pf.is_file():
            with contextlib.suppress(InputError):
                requires = load_toml(pf.read_text(errors="replace"),
                                     str(pf.relative_to(repo))).get("requires") or {}
                pinned = requires.get("python_version") or requires.get("python_full_version")
                m = re.match(r"\s*(\d+\.\d+)", pinned) if isinstance(pinned, str) else None
                if m:
                    return f"=={m.group(1)}.*", str(pf.relative_to(repo))
    return "", ""


def _poetry_spec(spec: str) -> str:
    """Poetry's ``^3.9`` / ``~3.9`` as a PEP 440 specifier."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        m = re.fullmatch(r"\^(\d+)\.(\d+)(?:\.\d+)?", part)
        if m:
            out += [f">={m.group(1)}.{m.group(2)}", f"<{int(m.group(1)) + 1}"]
            continue
        m = re.fullmatch(r"~(\d+)\.(\d+)(?:\.\d+)?", part)
        out.append(f"=={m.group(1)}.{m.group(2)}.*" if m else part)
    return ",".join(out)


def choose_interpreter(spec: str) -> tuple[Path, str]:
    """The first installed interpreter whose version satisfies ``spec`` (any when empty)."""
    try:
        wanted = SpecifierSet(spec) if spec else SpecifierSet()
    except InvalidSpecifier:
        wanted = SpecifierSet()
    tried = []
    for python in _installed_interpreters():
        v = _version(python)
        if v and wanted.contains(v, prereleases=True) and v.split(".")[0] == "3":
            return python, v
        tried.append(v or str(python))
    raise VenvError(f"no installed Python satisfies {spec} (found {', '.join(t for t in tried if t)})")


def _dirs_up(project: Path, repo: Path) -> Iterator[Path]:
    d = project
    while True:
        yield d
        if d == repo or repo not in d.parents:
            return
        d = d.parent


def lock_files(project: Path, repo: Path) -> list[Path]:
    """The pins to build from: the nearest directory (project, then its parents up to the
    repository root) holding a lock or requirements files."""
    for d in _dirs_up(project, repo):
        for lock in ("poetry.lock", "uv.lock", "Pipfile.lock"):
            if (d / lock).is_file():
                return [d / lock]
        reqs = sorted(p for p in d.glob("requirements*.txt") if _REQ_KEEP.match(p.name))
        reqs += sorted(p for p in (d / "requirements").glob("*.txt") if _REQ_KEEP.match(p.name)) \
            if (d / "requirements").is_dir() else []
        if reqs:
            return reqs
    return []


def _included(name: str, edges: dict[str, list[str | None]], env: dict[str, str]) -> bool:
    markers = edges.get(name)
    if not markers:
        return True  # a root of the lock (or a package nothing depends on)
    for m in markers:
        if m is None:
            return True
        try:
            if Marker(m).evaluate(env):
                return True
        except InvalidMarker:
            return True
    return False


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: Path, version: str) -> list[str]:
    """``name==version`` of every package of a lock that the interpreter ``version`` needs."""
    env = {"python_version": ".".join(version.split(".")[:2]), "python_full_version": version,
           "extra": ""}
    text = lock.read_text(errors="replace")
    try:
        data = load_json(text, lock.name) if lock.name == "Pipfile.lock" else load_toml(text, lock.name)
    except InputError as exc:
        raise VenvError(f"{lock.name} is unreadable: {exc}") from None
    pins: list[str] = []
    if lock.name == "Pipfile.lock":
        for section in ("default", "develop"):
            for name, info in (data.get(section) or {}).items():
                v = str(info.get("version", "")) if isinstance(info, dict) else ""
                marker = info.get("markers") if isinstance(info, dict) else None
                if v.startswith("==") and _included(name, {name: [marker]} if marker else {}, env):
                    pins.append(f"{name}{v}")
        return pins
    packages = [p for p in data.get("package", []) if isinstance(p, dict)]
    edges: dict[str, list[str | None]] = {}
    for p in packages:
        deps = p.get("dependencies") or {}
        items: list[tuple[str, object]] = list(deps.items()) if isinstance(deps, dict) else \
            [(d.get("name", ""), d) for d in deps if isinstance(d, dict)]
        dev = p.get("dev-dependencies")
        for group in dev.values() if isinstance(dev, dict) else []:
            items += [(d.get("name", ""), d) for d in group if isinstance(d, dict)]
        for dep, spec in items:
            marker = spec.get("markers") or spec.get("marker") if isinstance(spec, dict) else None
            edges.setdefault(_norm(dep), []).append(str(marker) if marker else None)
    for p in packages:
        source = p.get("source") or {}
        if isinstance(source, dict) and ({"editable", "virtual", "directory", "path"} & set(source)
                                         or source.get("type") in ("directory", "file", "git")):
            continue  # the project itself, or something that is not on an index
        name, v = str(p.get("name", "")), str(p.get("version", ""))
        if name and v and _included(_norm(name), edges, env):
            pins.append(f"{name}=={v}")
    return pins


def _requirement_lines(files: list[Path]) -> list[str]:
    """Requirement lines without local or editable entries (those would tie the cached
    environment to a temporary copy); ``-r`` includes are followed within the same files."""
    out: list[str] = []
    for f in files:
        for raw in f.read_text(errors="replace").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("-r", "--requirement", "-c", "--constraint")):
                inc = f.parent / line.split(maxsplit=1)[-1].strip()
                if inc.is_file() and inc not in files:
                    out += _requirement_lines([inc])
                continue
            if line.startswith(("-e", "--editable", ".", "/", "file:")) or line.startswith("-"):
                continue
            out.append(line)
    return list(dict.fromkeys(out))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cache_root(configured: Path | None) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return configured or base / "prodaudit" / "venvs"


def build_env(project: Path, repo: Path, *, cache: Path | None, timeout: float,
              wheelhouse: Path | None = None) -> TargetEnv:
    """A cached virtualenv for ``project`` built from its pins (``VenvError`` with the reason
    when there is nothing to build from, no interpreter, or pip fails). When no installed
    interpreter satisfies the Python the project pins, another one builds it and
    ``python_mismatch`` says which was pinned and which was used."""
    locks = lock_files(project, repo)
    if not locks:
        raise VenvError("no lock or requirements file to build the target's environment from "
                        "(pass --target-venv)")
    spec, spec_from = wanted_python(project, repo)
    mismatch = ""
    try:
        python, version = choose_interpreter(spec)
    except VenvError:
        if not spec:
            raise
        # the pinned Python is not installed: build with another one, and say so (a run that
        # then fails to import is no evidence against the project's tests)
        python, version = choose_interpreter("")
        mismatch = (f"the project pins Python {spec} ({spec_from}), which no installed "
                    f"interpreter satisfies; built with Python {version}")
    if locks[0].name in ("poetry.lock", "uv.lock", "Pipfile.lock"):
        pins, no_deps = lock_pins(locks[0], version), True
    else:
        pins, no_deps = _requirement_lines(locks), False
    key = hashlib.sha256("\n".join([FORMAT, version, str(wheelhouse or ""), *pins]).encode()).hexdigest()[:16]
    root = cache_root(cache)
    venv = root / f"py{version}-{key}"
    rels = tuple(str(p.relative_to(repo)) for p in locks)
    per = f" per {spec_from}" if spec_from and not mismatch else ""
    what = f"virtualenv (Python {version}{per}) built from " \
        f"{', '.join(rels)}: {venv}"
    if mismatch:
        what += f"; {mismatch}"
    with _locked(root / f"{venv.name}.lock"):
        if (venv / ".prodaudit-complete").is_file():
            return TargetEnv(venv / "bin" / "python", what + " (cached)", rels, mismatch)
        shutil.rmtree(venv, ignore_errors=True)
        try:
            _create(python, venv, pins, no_deps, timeout, wheelhouse)
        except VenvError as exc:
            raise VenvError(f"{exc} ({mismatch})" if mismatch else str(exc)) from None
    return TargetEnv(venv / "bin" / "python", what, rels, mismatch)


def _pip(venv: Path, args: list[str], timeout: float, wheelhouse: Path | None) -> None:
    index = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    env = child_env({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    ran = run_bounded([venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check",
                       "--no-input", "-q", *index, *args], cwd=venv, timeout=timeout, env=env)
    if not ran.ok:
        why = "timed out" if ran.timed_out else f"exited {ran.returncode}"
        tail = "\n".join(ln for ln in ran.tail(1500).splitlines() if "Location 'file:" not in ln)
        raise VenvError(f"pip install {why} building the target's environment: {tail[-800:]}")


def _create(python: Path, venv: Path, pins: list[str], no_deps: bool, timeout: float,
            wheelhouse: Path | None) -> None:
    ran = run_bounded([python, "-m", "venv", venv], cwd=venv.parent, timeout=min(timeout, 120))
    if not ran.ok:
        raise VenvError(f"{python} -m venv failed: {ran.tail(400)}")
    if pins:
        _pip(venv, (["--no-deps"] if no_deps else []) + pins, timeout, wheelhouse)
    probe = f"import importlib.util as u; print(','.join(m for m in {TOOLS!r} if u.find_spec(m) is None))"
    missing = run_bounded([venv / "bin" / "python", "-c", probe], cwd=venv, timeout=30).stdout.strip()
    if missing:
        _pip(venv, missing.split(","), timeout, wheelhouse)
    (venv / ".prodaudit-complete").write_text("\n".join(pins) + "\n", encoding="utf-8")


def given_env(path: Path) -> TargetEnv:
    """``--target-venv``: a virtualenv directory, its interpreter, or its site-packages."""
    cands = [path] + [d / "bin" / n for d in [path, *list(path.parents)[:3]] for n in ("python", "python3")]
    for cand in cands:
        if cand.is_file() and os.access(cand, os.X_OK):
            return TargetEnv(cand, f"--target-venv {path}")
    raise VenvError(f"--target-venv {path} has no bin/python")
