"""The repository file index: one walk, shared by every static check."""

from __future__ import annotations

import codecs
import os
import re
import stat
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SKIP_DIRS = frozenset({
    ".git", "node_modules", ".venv", "venv", "env", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".nox", ".tox", "site-packages", ".idea", ".vscode", "reports", "wheels",
})  # fmt: skip
BUILD_DIRS = ("dist", "build", "static", "public")
PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
_CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263


@dataclass
class FileIndex:
    """Every file of the repository (relative POSIX paths), and what could not be read.

    Nothing outside the repository is ever read or walked: a symbolic link (to a file or a
    directory, found by the walk or listed by ``git ls-files``) that resolves outside ``root`` is
    left out of ``files`` and recorded in ``outside_links`` with its target path, and
    :meth:`read_text` refuses any path that resolves outside, whoever asks."""

    root: Path
    files: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    git: bool = False
    outside_links: list[tuple[str, str]] = field(default_factory=list)  # (link, resolved target)
    # the ``stat`` of a listed regular file (no link) taken when it was indexed, for a reader
    # that needs it (the secret scan's cache) without a second system call; not every file has
    # one (the tree walk takes none: its directory listing gives the types)
    stats: dict[str, os.stat_result] = field(default_factory=dict, repr=False)
    _real_root: str = field(default="", repr=False)
    _real_dirs: dict[str, str] = field(default_factory=dict, repr=False)  # dir -> its realpath

    @classmethod
    def build(cls, root: Path, max_files: int = 500_000) -> FileIndex:
        idx = cls(root=root)
        listed = _git_files(root)
        if listed is not None:
            idx.git = True
            idx.files = [f for f in listed if idx._indexable(f)]
            # built frontend assets ship even when git-ignored
            known = set(idx.files)
            for rel in _walk(root, idx, max_files, only_under=BUILD_DIRS):
                if rel not in known:
                    idx.files.append(rel)
                    known.add(rel)
        else:
            idx.files = list(_walk(root, idx, max_files))
        idx.files.sort()
        return idx

    @property
    def real_root(self) -> str:
        if not self._real_root:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    def realpath(self, rel: str) -> str:
        """``os.path.realpath(root / rel)``, resolving each directory once per index (a 50,000-file
        tree has 500 directories): a file that is no symbolic link lies where its resolved
        directory is; anything else (a link, a missing file, ``..``) takes the full resolution."""
        head, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or "\\" in rel:
            return os.path.realpath(self.root / rel)
        base = self._real_dirs.get(head)
        if base is None:
            base = os.path.realpath(self.root / head) if head else self.real_root
            self._real_dirs[head] = base
        joined = os.path.join(base, name)
        try:
            if not stat.S_ISLNK(os.lstat(joined).st_mode):
                return joined
        except OSError:
            pass
        return os.path.realpath(self.root / rel)

    def inside(self, real: str) -> bool:
        """True when the resolved path ``real`` lies inside the repository."""
        base = self.real_root
        return real == base or real.startswith(base.rstrip(os.sep) + os.sep)

    def _indexable(self, rel: str) -> bool:
        """A listed path to index: a regular file, or a link to one inside the repository.
        A link that leaves the repository is recorded (never followed)."""
        full = os.path.join(self.root, rel)
        try:
            st = os.lstat(full)
        except OSError:
            return False
        if not stat.S_ISLNK(st.st_mode):
            if stat.S_ISREG(st.st_mode):
                self.stats[rel] = st  # lstat of a non-link: what stat would say
                return True
            return False
        real = os.path.realpath(full)
        if not self.inside(real):
            self._outside(rel, real)
            return False
        return os.path.isfile(real)

    def merge(self, problems: Iterable[tuple[str, str]], outside: Iterable[tuple[str, str]]
              ) -> None:
        """Record what another reader of this repository found (a worker process's index)."""
        self.problems.extend(problems)
        for link, real in outside:
            if (link, real) not in self.outside_links:
                self.outside_links.append((link, real))

    def _outside(self, rel: str, real: str) -> None:
        entry = (Path(rel).as_posix(), real)
        if entry not in self.outside_links:
            self.outside_links.append(entry)

    def matching(self, *suffixes: str, names: tuple[str, ...] = ()) -> list[str]:
        return [
            f for f in self.files
            if f.endswith(suffixes) or (names and f.rsplit("/", 1)[-1] in names)
        ] if suffixes else [f for f in self.files if f.rsplit("/", 1)[-1] in names]

    def read_text(self, rel: str, max_bytes: int = 2_000_000) -> str | None:
        """The file's text, or None when binary, too large, unreadable (recorded in problems) or
        outside the repository (a link that leaves it: recorded in ``outside_links``, not read).

        Python sources are decoded with their PEP 263 coding declaration (UTF-8 by default)."""
        real = self.realpath(rel)
        if not self.inside(real):
            self._outside(_first_link(self.root, rel) or rel, real)
            return None
        try:
            size = os.stat(real).st_size
            if size > max_bytes:
                self.problems.append((rel, f"skipped: {size} bytes over the {max_bytes}-byte cap"))
                return None
            with open(real, "rb") as fh:
                # a buffer of the file's size, not of the cap (a 2 MB buffer per small file
                # costs more than reading it); a file that grew since is read on to the cap
                raw = fh.read(size + 1)
                if len(raw) > size:
                    raw += fh.read(max_bytes + 1 - len(raw))
                raw = raw[:max_bytes]
        except OSError as exc:
            self.problems.append((rel, f"unreadable: {exc.strerror}"))
            return None
        if b"\0" in raw[:8192]:
            return None
        encoding = "utf-8"
        if rel.endswith(PYTHON_SUFFIXES):
            declared = _coding_declaration(raw)
            if declared is not None:
                try:
                    encoding = codecs.lookup(declared).name
                except LookupError:
                    self.problems.append((rel, f"bad coding declaration (unknown encoding "
                                               f"{declared!r}); read as UTF-8 with replacement "
                                               "characters"))
                    return raw.decode("utf-8", errors="replace")
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            name = "UTF-8" if encoding == "utf-8" else f"valid {encoding} (its coding declaration)"
            self.problems.append((rel, f"not {name}; read with replacement characters"))
            return raw.decode(encoding, errors="replace")


def _coding_declaration(raw: bytes) -> str | None:
    """The PEP 263 encoding of a Python source: a UTF-8 BOM, or a ``coding[:=]`` comment on the
    first line, or on the second when the first is blank or a comment; None when undeclared."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for i, line in enumerate(raw.split(b"\n", 2)[:2]):
        m = _CODING_RE.match(line)
        if m:
            return m.group(1).decode("ascii")
        if i == 0 and line.strip() and not line.lstrip().startswith(b"#"):
            return None
    return None


def _first_link(root: Path, rel: str) -> str | None:
    """The first component of ``rel`` that is a symbolic link (the link that leaves the repo)."""
    parts = Path(rel).parts
    for i in range(1, len(parts) + 1):
        candidate = Path(*parts[:i])
        if os.path.islink(root / candidate):
            return candidate.as_posix()
    return None


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
    """Relative POSIX paths of the regular files under ``root`` (links to files inside it
    included), top-down, skipping ``SKIP_DIRS``; never descends into a linked directory. One
    ``scandir`` per directory: the entry types come from the directory listing, so an ordinary
    file costs no system call of its own."""
    count = 0
    seen: set[tuple[int, int]] = set()
    base = os.fspath(root)
    stack: list[tuple[str, str, bool]] = [(base, "", not only_under)]  # (dir, rel prefix, wanted)
    while stack:
        dirpath, prefix, wanted = stack.pop()
        try:
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            where = (prefix.rstrip("/") or ".") if e.filename else "?"
            idx.problems.append((where, f"unreadable directory: {e.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            name, rel = entry.name, prefix + entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows a link: a linked directory is not descended
            except OSError:
                continue
            if is_dir:
                if name in SKIP_DIRS or name.endswith(".egg-info"):
                    continue
                if is_link:
                    real = os.path.realpath(entry.path)
                    if not idx.inside(real):
                        idx._outside(rel, real)
                    continue
                subdirs.append((entry.path, rel + "/", wanted or name in only_under))
                continue
            if not wanted:
                continue
            if is_link:
                if not os.path.exists(entry.path):
                    idx.problems.append((rel, "broken symlink"))
                    continue
                real = os.path.realpath(entry.path)
                if not idx.inside(real):
                    idx._outside(rel, real)
                    continue
            try:
                if not entry.is_file():
                    continue
            except OSError:
                continue
            count += 1
            if count > max_files:
                idx.problems.append((prefix.rstrip("/") or ".",
                                     f"file limit {max_files} reached; rest not indexed"))
                return
            yield rel
        stack.extend(reversed(subdirs))
