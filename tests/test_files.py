"""FileIndex: nothing outside the repository is walked or read (file and directory links, with
and without git, and by path), and Python sources are decoded with their PEP 263 declaration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from prodaudit.files import FileIndex

SECRET = "OUTSIDE-CONTENT-7f3a9c"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def linked_repo(tmp_path: Path, git: bool) -> tuple[Path, Path]:
    """A repository with links to an outside file, an outside directory and an inside file."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(f"TOKEN = '{SECRET}'\n")
    (outside / "dir" / "settings.py").write_text(f"PASSWORD = '{SECRET}'\n")
    repo = tmp_path / "repo"
    (repo / "dist").mkdir(parents=True)
    (repo / "app.py").write_text("print('hello')\n")
    (repo / "leak.py").symlink_to("../outside/secret.txt")
    (repo / "shared").symlink_to(outside / "dir")
    (repo / "dist" / "bundle.js").symlink_to(outside / "secret.txt")  # built assets are walked
    (repo / "alias.py").symlink_to("app.py")  # inside: fine
    if git:
        _git(repo, "init", "-q")
        _git(repo, "add", "app.py", "leak.py", "shared", "alias.py")
    return repo, outside


@pytest.mark.parametrize("git", [True, False])
def test_links_that_leave_the_repository_are_recorded_not_indexed(tmp_path: Path, git: bool) -> None:
    repo, outside = linked_repo(tmp_path, git)
    idx = FileIndex.build(repo)
    assert idx.git is git
    assert "app.py" in idx.files and "alias.py" in idx.files
    assert not any(f.startswith(("leak.py", "shared", "dist/bundle.js")) for f in idx.files), idx.files
    assert sorted(idx.outside_links) == sorted([
        ("dist/bundle.js", str((outside / "secret.txt").resolve())),
        ("leak.py", str((outside / "secret.txt").resolve())),
        ("shared", str((outside / "dir").resolve())),
    ])
    for rel in idx.files:
        assert SECRET not in (idx.read_text(rel) or "")


@pytest.mark.parametrize(("rel", "link"), [
    ("leak.py", "leak.py"), ("shared/settings.py", "shared"), ("dist/bundle.js", "dist/bundle.js"),
    ("shared/../shared/settings.py", "shared"),
])
def test_read_text_refuses_a_path_that_resolves_outside(tmp_path: Path, rel: str, link: str) -> None:
    repo, _ = linked_repo(tmp_path, git=False)
    idx = FileIndex.build(repo)
    idx.outside_links.clear()
    assert idx.read_text(rel) is None
    assert idx.problems == []  # not a read error: a link that leaves, reported by CFG-080
    assert [name for name, _ in idx.outside_links] == [link]


def test_read_text_of_an_inside_link_is_allowed(tmp_path: Path) -> None:
    repo, _ = linked_repo(tmp_path, git=False)
    assert FileIndex.build(repo).read_text("alias.py") == "print('hello')\n"


def test_repository_given_through_a_link_is_still_readable(tmp_path: Path) -> None:
    repo, _ = linked_repo(tmp_path, git=False)
    via = tmp_path / "via"
    via.symlink_to(repo)
    idx = FileIndex.build(via)
    assert idx.read_text("app.py") == "print('hello')\n"
    assert {link for link, _ in idx.outside_links} == {"leak.py", "shared", "dist/bundle.js"}


@pytest.mark.parametrize(("declaration", "codec", "text"), [
    ("# -*- coding: latin-1 -*-", "latin-1", "NAME = 'Müller café'"),
    ("# vim: set fileencoding=cp1252 :", "cp1252", "QUOTE = '“smart” – dash €'"),
    ("#!/usr/bin/env python\n# coding=koi8-r", "koi8-r", "GREETING = 'Привет'"),
])
def test_pep263_declaration_is_honoured(tmp_path: Path, declaration: str, codec: str,
                                        text: str) -> None:
    (tmp_path / "legacy.py").write_bytes(f"{declaration}\n{text}\n".encode(codec))
    idx = FileIndex.build(tmp_path)
    assert idx.read_text("legacy.py") == f"{declaration}\n{text}\n"
    assert idx.problems == []  # no false "not UTF-8"


def test_undeclared_non_utf8_and_a_lying_declaration_are_reported(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_bytes("NAME = 'Müller'\n".encode("latin-1"))
    (tmp_path / "lying.py").write_bytes(b"# coding: ascii\nNAME = 'M\xc3\xbcller'\n")
    (tmp_path / "unknown.py").write_bytes(b"# coding: klingon\nX = 1\n")
    (tmp_path / "notes.txt").write_bytes("# coding: latin-1\nMüller\n".encode("latin-1"))
    idx = FileIndex.build(tmp_path)
    for rel in ("plain.py", "lying.py", "unknown.py", "notes.txt"):
        assert idx.read_text(rel) is not None
    why = dict(idx.problems)
    assert why["plain.py"].startswith("not UTF-8")
    assert "ascii" in why["lying.py"]
    assert "coding declaration" in why["unknown.py"]
    assert why["notes.txt"].startswith("not UTF-8")  # PEP 263 is for Python sources only


def test_utf8_bom_source_decodes(tmp_path: Path) -> None:
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfX = '\xc3\xa9'\n")
    idx = FileIndex.build(tmp_path)
    assert idx.read_text("bom.py") == "X = 'é'\n"
    assert idx.problems == []


def test_git_listed_outside_link_is_not_followed_even_when_tracked(tmp_path: Path) -> None:
    repo, outside = linked_repo(tmp_path, git=True)
    listed = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True,
                            check=True, timeout=60).stdout.split()
    assert "leak.py" in listed and "shared" in listed  # git tracks the links themselves
    idx = FileIndex.build(repo)
    assert "leak.py" not in idx.files
    assert os.path.islink(repo / "leak.py")


@pytest.mark.parametrize("through_link", [False, True])
def test_realpath_resolves_like_os_realpath_with_directories_resolved_once(
        tmp_path: Path, through_link: bool) -> None:
    """The per-directory resolution gives what ``os.path.realpath`` gives for every shape: plain
    files, links to files and directories inside and outside, ``..``, missing files, absolute
    paths, a repository given through a link; asked twice (the cached directory) and cold."""
    repo, _ = linked_repo(tmp_path, git=False)
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "sub" / "mod.py").write_text("X = 1\n")
    (repo / "pkg" / "inner").symlink_to("sub")
    (repo / "pkg" / "up.py").symlink_to("../app.py")
    root = repo
    if through_link:
        root = tmp_path / "via"
        root.symlink_to(repo)
    rels = ["app.py", "alias.py", "leak.py", "shared/settings.py", "dist/bundle.js",
            "pkg/sub/mod.py", "pkg/inner/mod.py", "pkg/up.py", "pkg/../app.py", "pkg/sub/../up.py",
            "pkg/missing.py", "missing/dir/x.py", "pkg/..", "pkg/", "../outside/secret.txt",
            "/etc/hostname", "shared/../leak.py"]
    idx = FileIndex.build(root)
    for _ in range(2):
        for rel in rels:
            assert idx.realpath(rel) == os.path.realpath(root / rel), rel
    assert FileIndex.build(root).realpath("pkg/inner/mod.py") == str(
        (repo / "pkg" / "sub" / "mod.py").resolve())


@pytest.mark.parametrize("cap,expected", [(4096, 3000), (2048, 2048)])
def test_a_file_that_grew_after_its_size_was_taken_is_read_to_the_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int, expected: int) -> None:
    """read_text sizes its buffer by the file's stat; a file longer by the time it is read is
    still read whole, up to the cap (never cut at the size first seen)."""
    (tmp_path / "grew.txt").write_text("x" * 3000, encoding="utf-8")
    real_stat = os.stat

    def stale(path: Any, *args: Any, **kwargs: Any) -> Any:
        st = real_stat(path, *args, **kwargs)
        if str(path).endswith("grew.txt"):
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid,
                                   st.st_gid, 10, st.st_atime, st.st_mtime, st.st_ctime))
        return st

    monkeypatch.setattr(os, "stat", stale)
    text = FileIndex.build(tmp_path).read_text("grew.txt", cap)
    assert text is not None and len(text) == expected
