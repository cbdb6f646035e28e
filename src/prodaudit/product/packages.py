"""Which Python module an image's command serves, and which top-level modules the image gets by
installing the project itself (``pip install .``, ``uv sync`` without ``--no-install-project``,
``poetry install`` without ``--no-root``) — read from the project's ``pyproject.toml`` build
configuration (hatch, setuptools, Poetry, the default of the project's name). Not a check
module."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from typing import TYPE_CHECKING, Any

from prodaudit.product.dependencies import read_toml
from prodaudit.product.dockerfiles import Dockerfile, Stage, last_instruction

if TYPE_CHECKING:
    from prodaudit.context import Context

_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve"})
_PY = re.compile(r"(^|/)python[\d.]*$")
_INSTALLS_PROJECT = re.compile(
    r"\b(pip3?\s+install\s+(?:-\S+\s+)*(?:-e\s+)?\.(?:\[\w+\])?(?:\s|$)|uv\s+sync(?![^\n&;]*"
    r"--no-install-project)|uv\s+pip\s+install\s+(?:-\S+\s+)*\.(?:\s|$)|poetry\s+install"
    r"(?![^\n&;]*--no-root)|pdm\s+install(?![^\n&;]*--no-self))")


def _words(value: str) -> list[str]:
    v = value.strip()
    if v.startswith("["):
        try:
            data = json.loads(v)
            return [str(x) for x in data] if isinstance(data, list) else []
        except ValueError:
            return v.strip("[]").replace('"', "").replace(",", " ").split()
    try:
        return shlex.split(v)
    except ValueError:
        return v.split()


def command_words(df: Dockerfile, st: Stage) -> list[str]:
    """ENTRYPOINT + CMD of ``st`` (inherited from the stages it is built FROM) as words."""
    words: list[str] = []
    for name in ("ENTRYPOINT", "CMD"):
        ins = last_instruction(df, st, name)
        if ins is not None:
            words += _words(ins.value)
    return words


def module_of(words: list[str]) -> str | None:
    """The top-level module a command serves: ``uvicorn app.main:app`` → ``app``, ``python -m
    api`` → ``api``, ``python app/main.py`` → ``app``, ``fastapi run app/main.py`` → ``app``."""
    for i, w in enumerate(words):
        base = posixpath.basename(w)
        if base in _SERVERS or (base in ("fastapi", "flask") and "run" in words[i + 1:i + 2]):
            for arg in words[i + 1:]:
                if arg.startswith("-") or arg == "run":
                    continue
                if re.match(r"^[A-Za-z_][\w.]*:[\w()]+", arg) or arg.endswith(".py"):
                    return re.split(r"[.:/]", arg)[0]
            return None
        if _PY.search(base):
            rest = words[i + 1:]
            if rest[:1] == ["-m"] and len(rest) > 1:
                mod = rest[1]
                return module_of(rest[1:]) if mod in _SERVERS else mod.split(".")[0]
            script = next((a for a in rest if not a.startswith("-")), None)
            if script and script.endswith(".py"):
                return script.split("/")[0].removesuffix(".py") if "/" in script \
                    else script.removesuffix(".py")
            return None
    return None


def served_module(df: Dockerfile, st: Stage) -> str | None:
    return module_of(command_words(df, st))


def _packages(data: dict[str, Any]) -> set[str]:
    tool = data.get("tool") or {}
    out: set[str] = set()
    wheel = (((tool.get("hatch") or {}).get("build") or {}).get("targets") or {}).get("wheel") or {}
    for p in wheel.get("packages") or []:
        out.add(posixpath.basename(str(p).rstrip("/")))
    st = tool.get("setuptools") or {}
    if isinstance(st.get("packages"), list):
        out |= {str(p).split(".")[0] for p in st["packages"]}
    out |= {str(m) for m in st.get("py-modules") or []}
    for p in (tool.get("poetry") or {}).get("packages") or []:
        if isinstance(p, dict) and p.get("include"):
            out.add(str(p["include"]).split("/")[0].split(".")[0])
    name = str((data.get("project") or {}).get("name") or (tool.get("poetry") or {}).get("name")
               or "")
    if not out and name:
        out.add(re.sub(r"[-.]+", "_", name).lower())
    return out


def installed_modules(ctx: Context, df: Dockerfile) -> set[str]:
    """Top-level modules the image gets by installing the project from its build context."""
    from prodaudit.product.builds import builds  # builds need the compose model

    if not any(i.name == "RUN" and _INSTALLS_PROJECT.search(i.value) for i in df.instructions):
        return set()
    out: set[str] = set()
    for b in builds(ctx, df):
        rel = posixpath.join(b.context, "pyproject.toml") if b.context else "pyproject.toml"
        if rel in ctx.files.files:
            data, _ = read_toml(ctx, rel)
            out |= _packages(data or {})
    return out
