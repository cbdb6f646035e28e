"""The env graph's JSON is the graph's own ``to_json``; the checks that export it (CFG-001..005)
publish it once, built when the checks have finished."""

from __future__ import annotations

from pathlib import Path

import pytest
from product_helpers import context, write

from prodaudit.checks.config.env_vars import graph
from prodaudit.product.envgraph import env_graph

FILES = {
    "app/settings.py": 'import os\nSECRET_KEY = os.environ["SECRET_KEY"]\n'
                       'PATH_EXTRA = os.getenv("PATH", "/usr/bin")\n',
    ".env.example": "# signs sessions\nSECRET_KEY=\n",
    "Dockerfile": "FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1\n",
}


def test_json_lists_every_variable_of_the_graph(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "repo", FILES), tmp_path)
    data = env_graph(ctx).to_json()
    assert env_graph(ctx) is env_graph(ctx)  # memoised: one build for every CFG-00x check
    names = [v["name"] for v in data["variables"]]
    assert names == ["PATH", "PYTHONUNBUFFERED", "SECRET_KEY"]


def test_the_export_is_built_when_the_checks_have_finished(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "repo", FILES), tmp_path)
    g = graph(ctx)
    graph(ctx)  # every CFG-00x check exports it: one deferred export
    assert "env_graph" not in ctx.facts  # nothing is built while the checks run
    assert len(g.vars) == 3
    facts = ctx.settle()
    # runtime variables are exported only when read or documented: PATH is read, the image's
    # PYTHONUNBUFFERED is not
    assert [v["name"] for v in facts["env_graph"]["variables"]] == ["PATH", "SECRET_KEY"]
    assert ctx.peek("cfg:env_graph") is None  # settle dropped the checks' graph ...
    assert g.vars == {}  # ... so the export consumed it


def test_an_export_leaves_a_graph_still_memoised_whole(tmp_path: Path) -> None:
    from prodaudit.checks.config.env_vars import _exported
    from prodaudit.product.envgraph import export_env_graph

    ctx = context(write(tmp_path / "repo", FILES), tmp_path)
    export_env_graph(ctx, _exported)
    build = ctx._later["env_graph"]
    assert [v["name"] for v in build()["variables"]] == ["PATH", "SECRET_KEY"]
    assert len(env_graph(ctx).vars) == 3  # still memoised: exported without consuming it


def test_the_built_graph_is_frozen_with_shared_empty_locations(tmp_path: Path) -> None:
    from prodaudit.product.envgraph import build_graph

    ctx = context(write(tmp_path / "repo", FILES), tmp_path)
    g = env_graph(ctx)
    fresh = build_graph(context(write(tmp_path / "repo2", FILES), tmp_path / "2"))
    assert g.to_json() == fresh.to_json()  # freezing changes no exported fact
    secret, path = g.vars["SECRET_KEY"], g.vars["PATH"]
    assert secret.documented_in == [(".env.example", 2)] and secret.description == "signs sessions"
    assert path.documented_in == () and path.set_in is secret.set_in  # one shared empty tuple
    with pytest.raises(AttributeError):  # read-only once built
        path.code_sets.append("x.py:1")


READS = '''import os
import os as o
from os import environ, getenv
from decouple import config
import environ as django_environ

env = django_environ.Env()
A = os.getenv("A_VAR")
B = getenv("B_VAR", "x")
C = os.environ.get("C_VAR")
D = os.environ["D_VAR"]
E = environ.get("E_VAR")
F = env("F_VAR")
G = env.str("G_VAR", default="g")
H = config("H_VAR", default=1)
K = o.environ.get("K_VAR")
os.environ.setdefault("I_VAR", "1")
os.environ["J_VAR"] = "x"
client.get("NOT_A_VAR")
request.environ.get("NOR_THIS")
settings.get("NOR_THAT")
'''


def test_every_reader_shape_is_read_and_no_other_call(tmp_path: Path) -> None:
    """The graph's reads in Python: each reader shape (the cheap test that lets most calls go
    must let every one of these through) and none of the calls that only look like one."""
    ctx = context(write(tmp_path / "repo", {"app/config.py": READS}), tmp_path)
    g = env_graph(ctx)
    read = {n for n, v in g.vars.items() if v.reads}
    assert read == {f"{c}_VAR" for c in "ABCDEFGHK"}
    assert {n for n, v in g.vars.items() if v.set_in} == {"I_VAR", "J_VAR"}
    assert [(r.line, r.has_default) for r in g.vars["G_VAR"].reads] == [(14, True)]
