"""The py_index pass in worker processes gives exactly what the sequential pass gives — every
module's text, summary and facts, the parse outcomes, what the readers recorded, and the config
suite's results — and falls back to the sequential pass, saying why, when the workers cannot
start, die or answer garbage; every worker started is stopped."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import audit_target
from product_helpers import context, write

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import AuditRun
from prodaudit.product import pyindex, pyparallel
from prodaudit.pysource import source_cache

MODULE = '''import os
import re

API_KEY = os.environ.get("{upper}_API_KEY", "")
DEBUG = os.getenv("{upper}_DEBUG") == "1"


def {name}(request, token=None):
    password = "hunter2-{name}"
    return client.get(settings.BASE_URL + "/{name}", timeout=10)
'''


def _repo(tmp_path: Path) -> Path:
    files = {f"app/m{i}.py": MODULE.format(name=f"f{i}", upper=f"F{i}") for i in range(9)}
    files.update({
        "app/settings.py": "from pydantic_settings import BaseSettings\n\n\nclass Settings("
                           "BaseSettings):\n    database_url: str\n    secret_key: str = 'x'\n",
        "app/broken.py": "def f(:\n    pass\n",  # only tree-sitter reads it (approximated)
        "app/modern.py": "type Alias = list[int]\nX = os.environ['MODERN']\n",  # 3.12 syntax
        "app/latin.py": "# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n",
        "app/bad_utf8.py": "",
        "app/big.py": "X = 1\n" * 200,
    })
    repo = write(tmp_path / "repo", files)
    (repo / "app/latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n")
    (repo / "app/bad_utf8.py").write_bytes(b"X = '\xff\xfe'\n")
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 'outside the repository'\n", encoding="utf-8")
    os.symlink(outside, repo / "app/leak.py")
    return repo


def _pass(repo: Path, tmp_path: Path, *, workers: bool) -> dict[str, Any]:
    ctx = context(repo, tmp_path / ("par" if workers else "seq"),
                  secrets={"max_file_bytes": 1024})  # app/big.py is over the cap
    mods = pyindex.py_index(ctx)
    return {
        "modules": [(m.rel, m.text, sorted(m.kinds), sorted(m.names), m.summary.facts)
                    for m in mods],
        "outcomes": [(rel, o.grammar, o.note, o.line) for rel, o in
                     sorted(source_cache(ctx)._outcomes.items())],
        "problems": sorted(ctx.files.problems),
        "outside": sorted(ctx.files.outside_links),
    }


@pytest.fixture
def many_workers(monkeypatch: pytest.MonkeyPatch) -> list[pyparallel._Worker]:
    """Workers for any repository (two modules per chunk), and every worker started."""
    monkeypatch.setattr(pyparallel, "MIN_MODULES", 1)
    monkeypatch.setattr(pyparallel, "CHUNK", 2)
    # two workers even on a one-core machine
    monkeypatch.setattr(pyparallel, "workers_for",
                        lambda n: 1 if n < pyparallel.MIN_MODULES else 2)
    started: list[pyparallel._Worker] = []
    real = pyparallel._Worker.__init__

    def record(self: pyparallel._Worker, header: tuple[Any, ...]) -> None:
        real(self, header)
        started.append(self)

    monkeypatch.setattr(pyparallel._Worker, "__init__", record)
    return started


def test_workers_give_what_the_sequential_pass_gives(
        tmp_path: Path, many_workers: list[pyparallel._Worker],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path)
    par = _pass(repo, tmp_path, workers=True)
    assert len(many_workers) == 2
    assert all(w.proc.returncode == 0 for w in many_workers)  # each stopped, cleanly
    monkeypatch.setattr(pyparallel, "MIN_MODULES", 10**9)  # the sequential pass
    seq = _pass(repo, tmp_path, workers=False)
    assert par == seq
    rels = [m[0] for m in par["modules"]]
    assert "app/m0.py" in rels and "app/modern.py" in rels and "app/latin.py" in rels
    assert "app/big.py" not in rels and "app/leak.py" not in rels
    assert any(rel == "app/big.py" and "cap" in why for rel, why in par["problems"])
    assert [link for link, _ in par["outside"]] == ["app/leak.py"]
    grammars = {o[0]: o[1] for o in par["outcomes"]}
    assert grammars["app/broken.py"] == "modern" and grammars["app/m0.py"] == "host"
    reads = dict(next(m for m in par["modules"] if m[0] == "app/m3.py")[4]["envgraph:reads"])
    assert {"F3_API_KEY", "F3_DEBUG"} <= set(reads)


def test_workers_for_follows_the_cores_and_the_environment(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    many = 100 * pyparallel.CHUNK
    assert pyparallel.workers_for(many) == 4
    assert pyparallel.workers_for(pyparallel.MIN_MODULES - 1) == 1
    monkeypatch.setenv("PRODAUDIT_INDEX_WORKERS", "2")
    assert pyparallel.workers_for(many) == 2
    monkeypatch.setenv("PRODAUDIT_INDEX_WORKERS", "0")
    assert pyparallel.workers_for(many) == 1
    monkeypatch.setenv("PRODAUDIT_INDEX_WORKERS", "lots")
    with caplog.at_level(logging.WARNING, logger="prodaudit.product.pyparallel"):
        assert pyparallel.workers_for(many) == 4
    assert "not a number" in caplog.text
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # a bundled executable
    assert pyparallel.workers_for(many) == 1


def test_below_the_threshold_no_worker_starts(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("a worker was started for a small repository")

    monkeypatch.setattr(pyparallel._Worker, "__init__", refuse)
    ctx = context(_repo(tmp_path), tmp_path)
    assert len(pyindex.py_index(ctx)) == 15  # all but the link leaving the repository


@pytest.mark.parametrize("command,why", [
    ([str(Path(sys.executable).with_name("no-such-python"))], "cannot start a worker process"),
    ([sys.executable, "-c", "import sys; sys.stderr.write('worker gave up\\n'); sys.exit(3)"],
     "worker gave up"),
    ([sys.executable, "-c", "import sys; sys.stdin.buffer.read(1); "
                            "sys.stdout.buffer.write(b'not a pickle'); sys.stdout.flush()"],
     "a worker process failed (UnpicklingError)"),
], ids=["cannot-start", "dies", "garbage"])
def test_a_failing_pool_falls_back_to_the_sequential_pass(
        tmp_path: Path, many_workers: list[pyparallel._Worker], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, command: list[str], why: str) -> None:
    repo = _repo(tmp_path)
    monkeypatch.setattr(pyparallel, "worker_command", lambda: command)
    with caplog.at_level(logging.WARNING, logger="prodaudit.product.pyindex"):
        fallback = _pass(repo, tmp_path, workers=True)
    assert any(why in r.getMessage() and "indexing them in this process" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert all(w.proc.poll() is not None for w in many_workers)  # none left running
    monkeypatch.setattr(pyparallel, "MIN_MODULES", 10**9)
    assert fallback == _pass(repo, tmp_path, workers=False)


def test_an_extractor_error_in_a_worker_is_raised_as_in_this_process(
        tmp_path: Path, many_workers: list[pyparallel._Worker],
        monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "failing_extractor.py").write_text(
        "from prodaudit.product.pyindex import extractor\n\n\n"
        "@extractor('test:failing')\n"
        "def failing(module):\n"
        "    raise LookupError(f'cannot read {module.rel}')\n", encoding="utf-8")
    monkeypatch.setattr(pyindex, "EXTRACTOR_MODULES",
                        (*pyindex.EXTRACTOR_MODULES, "failing_extractor"))
    monkeypatch.syspath_prepend(str(plugin))  # only here: the workers get this import path
    monkeypatch.setattr(pyindex, "EXTRACTORS", dict(pyindex.EXTRACTORS))
    ctx = context(_repo(tmp_path), tmp_path)
    with pytest.raises(LookupError, match="cannot read app/"):
        pyindex.py_index(ctx)
    assert all(w.proc.poll() is not None for w in many_workers)


def _config_results(repo: Path, tmp_path: Path) -> list[tuple[Any, ...]]:
    run: AuditRun = audit_target(None, tmp_path, suites=["config"], repo=repo, cache=False)
    def timeless(text: str) -> str:  # "scanned in 0.08 s"
        return re.sub(r"\d+\.\d+ s\b", "N s", text)

    return [(r.id, r.status, timeless(r.reason),
             [(f.status, f.location, timeless(f.message)) for f in r.findings])
            for r in sorted(run.results, key=lambda r: r.id)]


def test_the_config_suite_gives_the_same_results_with_workers(
        tmp_path: Path, many_workers: list[pyparallel._Worker],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "ultra-mvp"
    shutil.copytree(REFERENCE_TARGET, repo, ignore=shutil.ignore_patterns(
        "wheels", "node_modules", ".venv", "__pycache__", "reports"))
    with_workers = _config_results(repo, tmp_path / "a")
    assert len(many_workers) == 2
    monkeypatch.setattr(pyparallel, "MIN_MODULES", 10**9)
    assert with_workers == _config_results(repo, tmp_path / "b")


def test_every_extractor_is_registered_by_a_module_the_workers_import() -> None:
    """An extractor registered elsewhere would be missing from the workers' facts and computed
    again in the audit's process, module by module (a parse each): silently slow."""
    from prodaudit.registry import load_checks

    load_checks()  # every check module and what it imports
    elsewhere = {name: fn.__module__ for name, fn in pyindex.EXTRACTORS.items()
                 if fn.__module__ not in pyindex.EXTRACTOR_MODULES}
    assert not elsewhere, f"add their modules to pyindex.EXTRACTOR_MODULES: {elsewhere}"


def test_a_row_comes_back_from_a_pickle_whole() -> None:
    import pickle

    row = pyparallel.Row("app/m.py", b"x", frozenset({"calls"}), frozenset({"os"}),
                         {"text:words": frozenset({"encode"})}, None, (("a", "b"),), ())
    back = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert back == row and type(back) is pyparallel.Row
