"""The py_index pass: every application module is parsed once, summarised, and its tree dropped;
handles load a tree only when a consumer needs it, through a bounded LRU, and keep the nodes of
one tree; the config suite's product facts (variable graph, settings model, code secrets,
endpoints, dev switches, Django settings) parse nothing again for modules they do not need."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
from product_helpers import context, write

from prodaudit import pysource
from prodaudit.product import pyindex
from prodaudit.product.codesecrets import code_secrets, seeded_accounts
from prodaudit.product.devswitches import dev_switches
from prodaudit.product.django_settings import django_settings
from prodaudit.product.endpoints import endpoints, global_guard
from prodaudit.product.envgraph import env_graph
from prodaudit.product.pyindex import EXTRACTORS, parse_counts, py_index
from prodaudit.product.pysettings import live_settings_classes, settings_model

PLAIN = '''def {name}(request, token=None):
    url = settings.API_BASE_URL + "/v1/{name}"
    api_key = os.environ.get("{upper}_API_KEY", "")
    return client.get(url, headers={{"Authorization": token}}, timeout=10)
'''
ROUTES = '''from fastapi import APIRouter
from .config import Settings

router = APIRouter(prefix="/items")


@router.get("/{item_id}")
def read_item(item_id: int):
    return {"id": item_id}
'''
CONFIG = '''from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str
    debug: bool = False
'''


@pytest.fixture
def small_lrus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyindex, "LRU_SIZE", 2)
    monkeypatch.setattr(pysource, "TREE_LRU", 2)


def _repo(tmp_path: Path, plain: int = 8) -> Path:
    files = {f"app/m{i}.py": PLAIN.format(name=f"f{i}", upper=f"F{i}") for i in range(plain)}
    files.update({"app/routes.py": ROUTES, "app/config.py": CONFIG})
    return write(tmp_path / "repo", files)


def test_trees_are_not_retained_after_the_pass(tmp_path: Path, small_lrus: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    refs: list[weakref.ref[Any]] = []

    def record(module: pyindex.PyModule) -> None:
        refs.append(weakref.ref(module.tree))

    monkeypatch.setitem(EXTRACTORS, "test:tree", record)
    ctx = context(_repo(tmp_path), tmp_path)
    handles = py_index(ctx)
    assert len(handles) == 10 and len(refs) == 10
    gc.collect()
    alive = [r for r in refs if r() is not None]
    # at most the LRUs' few trees (2 indexed modules, 2 parse results) outlive the pass
    assert 0 < len(alive) <= 4, len(alive)
    assert all(h._indexed is None for h in handles)  # a handle starts without a tree


def test_summary_answers_without_parsing(tmp_path: Path, small_lrus: None) -> None:
    ctx = context(_repo(tmp_path), tmp_path)
    before = dict(parse_counts(ctx))
    assert set(before.values()) == {1}
    for module in py_index(ctx):
        assert module.text and module.names and module.kinds
        if module.rel.startswith("app/m"):
            assert module.classes == [] and module.imports == [] and module.ifs == []
            assert "environ" in module.names and not module.has("decorated")
            assert module.fact("envgraph:reads")  # the reads were extracted in the pass
        assert module._indexed is None  # nothing above needed the tree
    assert dict(parse_counts(ctx)) == before


def test_lru_is_bounded_and_a_handle_keeps_one_tree(tmp_path: Path, small_lrus: None) -> None:
    ctx = context(_repo(tmp_path), tmp_path)
    handles = py_index(ctx)
    first = next(h for h in handles if h.rel == "app/m0.py")
    rest = [h for h in handles if h is not first]
    calls = first.calls  # loads the tree (re-parsed: the LRU holds only the last two modules)
    for other in rest:
        other.tree  # noqa: B018 - loads every other module, evicting the first one
    store = pyindex._the_pass(ctx).store
    assert len(store._lru) <= 2
    assert parse_counts(ctx)[first.rel] == 2
    parents = first.parents()  # the same tree as its calls, although it left the LRU
    assert calls and all(call in parents for call in calls)
    assert pysource.source_cache(ctx).outcome(first.rel) is not None
    assert len(pysource.source_cache(ctx)._trees) <= 2


def test_config_facts_parse_no_module_twice_that_they_do_not_need(tmp_path: Path,
                                                                   small_lrus: None) -> None:
    ctx = context(_repo(tmp_path, plain=12), tmp_path)
    graph = env_graph(ctx)
    model = settings_model(ctx)
    eps = endpoints(ctx)
    code_secrets(ctx)
    seeded_accounts(ctx)
    dev_switches(ctx)
    django_settings(ctx)
    global_guard(ctx)
    counts = parse_counts(ctx)
    plain = [rel for rel in counts if rel.startswith("app/m")]
    assert len(plain) == 12 and all(counts[rel] == 1 for rel in plain), dict(counts)
    # the modules with routes or settings classes were read as before
    assert [(e.route, e.module.rel) for e in eps] == [("/items/{item_id}", "app/routes.py")]
    assert live_settings_classes(ctx) == {"Settings"}
    assert {"F0_API_KEY", "F11_API_KEY", "DATABASE_URL", "DEBUG"} <= set(graph.vars)
    assert graph.vars["DATABASE_URL"].required and not graph.vars["DEBUG"].required
    assert {s.name for s in model.settings} >= {"database_url", "debug"}


def test_a_settings_class_module_is_read_after_the_pass(tmp_path: Path) -> None:
    """A module with a class (or an import from another module) depends on repository-wide
    facts: the pass leaves its reads to the graph, which reads them with those facts."""
    ctx = context(_repo(tmp_path, plain=1), tmp_path)
    by_rel = {m.rel: m for m in py_index(ctx)}
    assert by_rel["app/config.py"].fact("envgraph:reads") is None
    assert by_rel["app/routes.py"].fact("envgraph:reads") is None
    assert by_rel["app/m0.py"].fact("envgraph:reads") is not None
    reads = env_graph(ctx).vars["DATABASE_URL"].reads
    assert [(r.path, r.kind, r.has_default) for r in reads] == [
        ("app/config.py", "settings", False)]


def test_an_extractor_name_is_registered_once() -> None:
    from prodaudit.product.pyindex import extractor

    name = next(iter(EXTRACTORS))
    with pytest.raises(ValueError, match="duplicate py_index extractor"):
        extractor(name)(lambda module: None)


def test_a_loop_over_every_module_does_not_pin_every_tree(tmp_path: Path, small_lrus: None) -> None:
    ctx = context(_repo(tmp_path), tmp_path)
    modules = py_index(ctx)
    trees: list[weakref.ref[Any]] = []
    for module in modules:
        trees.append(weakref.ref(module.tree))  # loads it, then lets the handle go
    gc.collect()
    # only what the LRUs hold (2 indexed modules, 2 parse results) outlives its loop step
    assert len([t for t in trees if t() is not None]) <= 4
    kept = modules[0]
    tree = kept.tree
    for module in modules:
        module.calls  # noqa: B018 - loads every module again
    assert modules[0] is kept and modules[0].tree is tree  # a held handle is given back
    assert [m.rel for m in modules[1:3]] == [m.rel for m in list(modules)[1:3]]
    assert [m.rel for m in modules + []] == [m.rel for m in modules]


def test_the_pass_keeps_texts_packed_and_a_handle_gives_them_back(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    ctx = context(repo, tmp_path)
    rows = pyindex._the_pass(ctx).modules
    assert all(isinstance(packed, bytes) for _, packed, _ in rows)
    for module in py_index(ctx):
        assert module.text == (repo / module.rel).read_text(encoding="utf-8")
    assert pyindex.unpack(pyindex.pack("x = '\udc80é'\n")) == "x = '\udc80é'\n"


def test_equal_immutable_facts_of_different_modules_are_one_object(tmp_path: Path) -> None:
    ctx = context(_repo(tmp_path), tmp_path)
    plain = [m for m in py_index(ctx) if m.rel.startswith("app/m")]
    used = [m.fact("pysettings:used") for m in plain]
    assert len(plain) == 8 and all(u == used[0] for u in used)
    assert all(u is used[0] for u in used)  # kept once for the eight modules


def test_the_graph_takes_its_reads_out_of_the_summaries(tmp_path: Path) -> None:
    ctx = context(_repo(tmp_path), tmp_path)
    assert all("envgraph:reads" in m.summary.facts for m in py_index(ctx))
    graph = env_graph(ctx)
    assert "F0_API_KEY" in graph.vars
    assert not any("envgraph:reads" in m.summary.facts for m in py_index(ctx))
