"""The repository file index: one walk, shared by every static check."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SKIP_DIRS = frozenset({
    ".git", "node_modules", ".venv", "venv", "env", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".nox", ".tox", "site-packages", ".idea", ".vscode", "reports", "wheels",
})  # fmt: skip
BUILD_DIRS = ("dist", "build", "static", "public")


@dataclass
class FileIndex:
    """Every file of the repository (relative POSIX paths), and what could not be read."""

    root: Path
    files: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    git: bool = False

    @classmethod
    def build(cls, root: Path, max_files: int = 500_000) -> FileIndex:
        idx = cls(root=root)
        listed = _git_files(root)
        if listed is not None:
            idx.git = True
            idx.files = [f for f in listed if (root / f).is_file()]
            # built frontend assets ship even when git-ignored
            for rel in _walk(root, idx, max_files, only_under=BUILD_DIRS):
                if rel not in idx.files:
                    idx.files.append(rel)
        else:
            idx.files = list(_walk(root, idx, max_files))
        idx.files.sort()
        return idx

    def matching(self, *suffixes: str, names: tuple[str, ...] = ()) -> list[str]:
        return [
            f for f in self.files
            if f.endswith(suffixes) or (names and f.rsplit("/", 1)[-1] in names)
        ] if suffixes else [f for f in self.files if f.rsplit("/", 1)[-1] in names]

    def read_text(self, rel: str, max_bytes: int = 2_000_000) -> str | None:
        """The file's text, or None when binary, too large or unreadable (recorded in problems)."""
        path = self.root / rel
        try:
            size = path.stat().st_size
            if size > max_bytes:
                self.problems.append((rel, f"skipped: {size} bytes over the {max_bytes}-byte cap"))
                return None
            raw = path.read_bytes()
        except OSError as exc:
            self.problems.append((rel, f"unreadable: {exc.strerror}"))
            return None
        if b"\0" in raw[:8192]:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.problems.append((rel, "not UTF-8; read with replacement characters"))
            return raw.decode("utf-8", errors="replace")


def _git_files(root: Path) -> list[str] | None:
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, timeout=60, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [p for p in out.decode("utf-8", "replace").split("\0") if p]


def _walk(
    root: Path, idx: FileIndex, max_files: int, only_under: tuple[str, ...] = ()
) -> Iterator[str]:
    count = 0
    seen: set[tuple[int, int]] = set()
    def onerror(e: OSError) -> None:
        where = os.path.relpath(e.filename, root) if e.filename else "?"
        idx.problems.append((where, f"unreadable directory: {e.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=onerror):
        try:
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen:
                dirnames[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
        except OSError:
            continue
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        if only_under:
            parts = Path(rel_dir).parts
            if not any(p in only_under for p in parts):  # the root itself is not a build dir
                continue
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full) and not os.path.exists(full):
                idx.problems.append((os.path.relpath(full, root), "broken symlink"))
                continue
            if not os.path.isfile(full):
                continue
            count += 1
            if count > max_files:
                idx.problems.append((rel_dir, f"file limit {max_files} reached; rest not indexed"))
                return
            yield Path(os.path.relpath(full, root)).as_posix()
