"""CFG-081 on small repositories made in tmp_path."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import fails, run_cfg
from helpers import describe
from helpers import result as res

from prodaudit.model import Status

SITE = """server {
    listen 80;
    location / {
        proxy_pass http://web:8000;
    }
}
"""
MAIN = """user www-data;
events {
    worker_connections 1024;
}

http {
    sendfile on;
    include /etc/nginx/conf.d/*.conf;
}
"""


def _write(repo: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    return repo


def test_cfg081_server_tokens(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad", {"nginx/nginx.conf": MAIN, "nginx/conf.d/site.conf": SITE,
                                    "README.md": "# x\n"})
    r = res(run_cfg(bad, tmp_path, only=["CFG-081"]), "CFG-081")
    assert r.status is Status.FAIL, describe(r)
    assert sorted(f.location for f in fails(r)) == ["nginx/conf.d/site.conf:1",
                                                    "nginx/nginx.conf:6"]
    good = _write(tmp_path / "good", {
        "nginx/nginx.conf": MAIN.replace("    sendfile on;", "    sendfile on;\n    server_tokens off;"),
        "nginx/conf.d/site.conf": SITE})
    r = res(run_cfg(good, tmp_path, only=["CFG-081"]), "CFG-081")
    assert r.status is Status.PASS, describe(r)  # the http level covers the included site
    on = _write(tmp_path / "on", {"site.conf": SITE.replace("    listen 80;",
                                                            "    listen 80;\n    server_tokens on;")})
    r = res(run_cfg(on, tmp_path, only=["CFG-081"]), "CFG-081")
    assert [f.location for f in fails(r)] == ["site.conf:3"]
    none = _write(tmp_path / "none", {"app.py": "A = 1\n"})
    assert res(run_cfg(none, tmp_path, only=["CFG-081"]), "CFG-081").status is Status.SKIP
