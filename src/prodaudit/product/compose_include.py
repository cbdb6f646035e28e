"""Compose's ``include:`` and ``extends:`` in prodaudit's own merge.

An included file is a project of its own: its relative paths (build contexts, env files, bind
mounts) are relative to its directory, and its services join the including project. A service
that ``extends`` another (in the same file or in ``extends.file``) starts from that service and
is merged with its own keys. Only files inside the audited repository are read; a reference
that leaves it, a missing file or a cycle is recorded as a problem instead.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodaudit.product.compose_yaml import ComposeFile, merge

MAX_DEPTH = 10  # include/extends nesting
_TOP_LEVEL = ("services", "volumes", "networks", "secrets", "configs")

#: reads a repo-relative Compose file (None when it is not a readable file inside the repository)
Loader = Callable[[str], ComposeFile | None]


@dataclass
class Resolved:
    """The files a project pulls in and what went wrong on the way."""

    included: list[ComposeFile] = field(default_factory=list)  # merge before the including file
    referenced: list[ComposeFile] = field(default_factory=list)  # extends.file targets (lines)
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # (path, line, message)
    # ("services", name) -> (file path, ("services", base name)): where an extended key is written
    origins: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = field(default_factory=dict)


def _is_local(p: str) -> bool:
    return not (posixpath.isabs(p) or "://" in p or p.startswith(("git@", "~")))


def join(base_dir: str, p: str) -> str | None:
    """``p`` relative to ``base_dir`` as a normalised repo-relative path; None when it leaves
    the repository (or is absolute)."""
    if not _is_local(p):
        return None
    out = posixpath.normpath(posixpath.join(base_dir, p))
    if out == ".":
        return ""
    return None if out == ".." or out.startswith("../") else out


def _rebase_path(p: Any, from_dir: str, to_dir: str) -> Any:
    if not isinstance(p, str) or not _is_local(p) or "${" in p or from_dir == to_dir:
        return p
    target = posixpath.normpath(posixpath.join(from_dir, p))
    rel = posixpath.relpath(target, to_dir or ".")
    return rel if rel.startswith(".") else "./" + rel


def rebase_service(svc: dict[str, Any], from_dir: str, to_dir: str) -> dict[str, Any]:
    """A service whose relative paths (build context, env files, bind mounts) were written
    relative to ``from_dir``, rewritten relative to ``to_dir``."""
    if from_dir == to_dir:
        return svc
    out = dict(svc)
    build = out.get("build")
    if isinstance(build, str):
        out["build"] = _rebase_path(build, from_dir, to_dir)
    elif isinstance(build, dict):
        out["build"] = {**build, "context": _rebase_path(build.get("context", "."), from_dir, to_dir)}
    env_file = out.get("env_file")
    if isinstance(env_file, str):
        out["env_file"] = _rebase_path(env_file, from_dir, to_dir)
    elif isinstance(env_file, list):
        out["env_file"] = [
            {**e, "path": _rebase_path(e.get("path"), from_dir, to_dir)} if isinstance(e, dict)
            else _rebase_path(e, from_dir, to_dir)
            for e in env_file
        ]
    vols = out.get("volumes")
    if isinstance(vols, list):
        out["volumes"] = [_rebase_volume(v, from_dir, to_dir) for v in vols]
    return out


def _rebase_volume(v: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(v, str) and v.startswith("."):
        src, sep, rest = v.partition(":")
        return _rebase_path(src, from_dir, to_dir) + sep + rest
    if isinstance(v, dict) and v.get("type") == "bind" and isinstance(v.get("source"), str):
        return {**v, "source": _rebase_path(v["source"], from_dir, to_dir)}
    return v


class Resolver:
    """Resolves ``extends`` in one file's services and ``include`` of a project's main files."""

    def __init__(self, load: Loader) -> None:
        self.load = load
        self.out = Resolved()

    # ---- extends ------------------------------------------------------------------------
    def extends(self, f: ComposeFile, data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """``data`` (the content of ``f``) with every service's ``extends`` applied."""
        services = data.get("services")
        if not isinstance(services, dict) or not any(
            isinstance(s, dict) and "extends" in s for s in services.values()
        ):
            return data
        out = dict(data)
        out["services"] = {name: self._service(f, services, name, (), depth)
                           for name in services}
        return out

    def _service(self, f: ComposeFile, services: dict[str, Any], name: str,
                 chain: tuple[tuple[str, str], ...], depth: int) -> Any:
        svc = services.get(name)
        if not isinstance(svc, dict) or "extends" not in svc:
            return svc
        ext = svc["extends"]
        base_name, base_file = (ext, None) if isinstance(ext, str) else (
            (ext.get("service"), ext.get("file")) if isinstance(ext, dict) else (None, None))
        line = f.lines.get(("services", name, "extends"), 0)
        own = {k: v for k, v in svc.items() if k != "extends"}
        if not isinstance(base_name, str) or (f.path, name) in chain or depth > MAX_DEPTH:
            why = "extends cycle" if (f.path, name) in chain else "extends without a service name"
            self.out.problems.append((f.path, line, f"service {name}: {why}"))
            return own
        here = posixpath.dirname(f.path)
        if base_file is None:
            src, src_services = f, services
        else:
            target = join(here, str(base_file))
            loaded = self.load(target) if target is not None else None
            if loaded is None or loaded.data is None:
                self.out.problems.append((f.path, line, f"service {name}: extends file {base_file} "
                                          "is not a readable Compose file inside the repository"))
                return own
            self.out.referenced.append(loaded)
            src, src_services = loaded, loaded.data.get("services") or {}
        if not isinstance(src_services.get(base_name), dict):
            self.out.problems.append((f.path, line, f"service {name}: extends unknown service "
                                      f"{base_name}"))
            return own
        base = self._service(src, src_services, base_name, (*chain, (f.path, name)), depth + 1)
        base = rebase_service(copy.deepcopy(base), posixpath.dirname(src.path), here)
        self.out.origins.setdefault(("services", name), (src.path, ("services", base_name)))
        result = merge(base, own)
        return result if isinstance(result, dict) else own

    # ---- include ------------------------------------------------------------------------
    def include(self, f: ComposeFile, data: dict[str, Any], project_dir: str,
                depth: int = 0) -> dict[str, Any]:
        """The resources of every file ``data`` includes, merged (paths rebased onto
        ``project_dir``); ``data`` itself is not part of the result."""
        entries = data.get("include")
        if not isinstance(entries, list):
            return {}
        acc: dict[str, Any] = {}
        here = posixpath.dirname(f.path)
        for i, entry in enumerate(entries):
            paths = entry.get("path") if isinstance(entry, dict) else entry
            for p in paths if isinstance(paths, list) else [paths]:
                line = f.lines.get(("include", i), 0)
                target = join(here, str(p)) if isinstance(p, str) else None
                loaded = self.load(target) if target is not None and depth < MAX_DEPTH else None
                if loaded is None or loaded.data is None:
                    why = loaded.error[1] if loaded is not None and loaded.error else (
                        "not a readable Compose file inside the repository")
                    self.out.problems.append((f.path, line, f"include {p}: {why}"))
                    continue
                inner = self.include(loaded, loaded.data, project_dir, depth + 1)
                own = self.extends(loaded, loaded.data, depth)
                inc_dir = posixpath.dirname(loaded.path)
                own = {k: v for k, v in own.items() if k in _TOP_LEVEL}
                if isinstance(own.get("services"), dict):
                    own["services"] = {n: rebase_service(s, inc_dir, project_dir)
                                       if isinstance(s, dict) else s
                                       for n, s in own["services"].items()}
                acc = merge(merge(acc, inner) or {}, own) or {}
                self.out.included.append(loaded)
        return acc
