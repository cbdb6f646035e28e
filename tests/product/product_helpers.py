"""Helpers of the product-model tests: a repository written from a dict, a Context on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prodaudit.config import load_config
from prodaudit.context import Context
from prodaudit.product.compose import ComposeProject


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def context(repo: Path, tmp_path: Path, **cfg: Any) -> Context:
    return Context(load_config({"repo": repo, "start_target": False, "output": tmp_path / "out",
                                **cfg}))


def project(ctx: Context, directory: str = "") -> ComposeProject:
    return next(p for p in ctx.compose().projects if p.directory == directory)
