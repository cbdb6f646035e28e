"""CFG-041 and source maps: a map of the application's code ships its source (WARN); the map of
a vendored library's bundle, or one whose sources all lie in node_modules, reveals nothing of the
application (not a finding). Repositories are built in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

from cfg_helpers import describe, res, run_cfg, warns

from prodaudit.model import Status


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


BANNER = "/*!\n * Bootstrap v3.3.7 (http://getbootstrap.com)\n * Licensed under MIT\n */\n"


def source_map(sources: list[str], file: str = "") -> str:
    return json.dumps({"version": 3, "file": file, "sources": sources, "mappings": "AAAA"})


def test_application_source_map_warns(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "frontend" / "dist" / "assets" / "app.js", "console.log(1)\n")
    write(repo / "frontend" / "dist" / "assets" / "app.js.map",
          source_map(["../../src/main.jsx", "../../node_modules/react/index.js"], "app.js"))
    r = res(run_cfg(repo, tmp_path, only=["CFG-041"]), "CFG-041")
    assert r.status is Status.WARN, describe(r)
    assert [f.location for f in warns(r)] == ["frontend/dist/assets/app.js.map"]
    assert "1 source map(s)" in warns(r)[0].message


def test_vendored_library_maps_are_not_findings(tmp_path: Path) -> None:
    """bootstrap-theme.css.map next to the bannered bootstrap-theme.css (sources in the
    library's own less/ tree), and a map whose sources are all in node_modules: PASS."""
    repo = tmp_path / "repo"
    css = repo / "static" / "css"
    write(css / "bootstrap-theme.css", BANNER + ".btn-default { color: #333; }\n")
    write(css / "bootstrap-theme.css.map",
          source_map(["bootstrap-theme.css", "less/theme.less"], "bootstrap-theme.css"))
    write(repo / "static" / "js" / "chunk-vendors.js", "var a=1;\n")
    write(repo / "static" / "js" / "chunk-vendors.js.map",
          source_map(["webpack:///./node_modules/vue/dist/vue.runtime.esm.js",
                      "../../node_modules/axios/index.js"]))
    r = res(run_cfg(repo, tmp_path, only=["CFG-041"]), "CFG-041")
    assert r.status is Status.PASS, describe(r)
    write(css / "site.css", ".x { color: red; }\n")  # the product's own CSS and its map
    write(css / "site.css.map", source_map(["../../scss/site.scss"], "site.css"))
    r = res(run_cfg(repo, tmp_path, only=["CFG-041"]), "CFG-041")
    assert r.status is Status.WARN, describe(r)
    assert [f.location for f in warns(r)] == ["static/css/site.css.map"]
