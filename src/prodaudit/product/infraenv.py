"""Environment variables the deployment's infrastructure sets: Bicep and Terraform container
definitions, Kubernetes manifests and Helm templates (``env: - name: X``), and the platform
manifests of product/platforms.py (Heroku's ``app.json`` ``env``, ``fly.toml`` ``[env]``,
Render's ``render.yaml`` ``envVars``, ``heroku.yml``, DigitalOcean and App Engine app specs).
Not a check module.

Infrastructure files are read as text with small patterns (these formats are templated: Helm's
``{{ }}``, Bicep expressions), so a value is the literal written there or the expression as
text; a platform variable's value is its literal, "" when the platform provides it (generated,
another resource's, entered in the dashboard).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from prodaudit.product.platforms import platform_manifests

if TYPE_CHECKING:
    from prodaudit.context import Context

_NAME = r"[A-Z_][A-Z0-9_]*"
#: Bicep ``{ name: 'X' value: ... }`` / ``secretRef``, Terraform ``name = "X"`` next to a value
_NAME_VALUE_RE = re.compile(
    rf"""\bname\s*[:=]\s*['"]({_NAME})['"][\s,]*(?:(?:value|secretRef|secret_name)\s*[:=]\s*"""
    rf"""['"]?([^'"\n]*)['"]?)?""")
#: Terraform maps: ``environment = { X = "v" }``, ``app_settings = { "X" = "v" }``
_TF_MAP_RE = re.compile(r"\b(environment|app_settings|env_vars|environment_variables|"
                        r"env)\s*=\s*\{(?P<body>[^{}]*)\}", re.S)
_TF_PAIR_RE = re.compile(rf"""['"]?({_NAME})['"]?\s*=\s*['"]?([^'"\n]*)['"]?""")
#: Kubernetes / Helm: ``- name: X`` then ``value:`` / ``valueFrom:``
_K8S_RE = re.compile(rf"""^\s*-\s*name:\s*['"]?({_NAME})['"]?\s*$\s*^\s*(value|valueFrom):"""
                     r"""\s*['"]?([^'"\n]*)""", re.M)

Entry = tuple[str, int, str]  # (path, line, value as written)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _kind(rel: str, text: str) -> str:
    low = rel.lower()
    if low.endswith(".bicep"):
        return "bicep"
    if low.endswith((".tf", ".tf.json")):
        return "terraform"
    if low.endswith((".yaml", ".yml", ".tpl")) and "containers:" in text and "env:" in text \
            and not low.startswith(".github/"):
        return "kubernetes"
    return ""


def infra_env(ctx: Context) -> dict[str, list[Entry]]:
    """Variable name → where an infrastructure file sets it (memoised)."""
    return ctx.memo("product:infra_env", lambda: _build(ctx))


def _candidate(rel: str) -> bool:
    return rel.lower().endswith((".bicep", ".tf", ".yaml", ".yml", ".tpl"))


def _build(ctx: Context) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    platform = {m.path for m in platform_manifests(ctx)}
    for m in platform_manifests(ctx):
        for v in m.variables:
            path, _, line = v.location.rpartition(":")
            out.setdefault(v.name, []).append((path, int(line), v.value or ""))
    for rel in ctx.files.files:
        if not _candidate(rel) or rel in platform:
            continue
        text = ctx.read(rel)
        if not text:
            continue
        kind = _kind(rel, text)
        if not kind:
            continue
        for key, at, value in _entries(rel, text, kind):
            out.setdefault(key, []).append((rel, at, value))
    return out


def _entries(rel: str, text: str, kind: str) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    if kind in ("bicep", "terraform"):
        found += [(m.group(1), _line(text, m.start()), m.group(2).strip())
                  for m in _NAME_VALUE_RE.finditer(text) if m.group(2) is not None]
    if kind == "terraform":
        for block in _TF_MAP_RE.finditer(text):
            start = block.start("body")
            found += [(m.group(1), _line(text, start + m.start()), m.group(2).strip())
                      for m in _TF_PAIR_RE.finditer(block.group("body"))]
    if kind == "kubernetes":
        found += [(m.group(1), _line(text, m.start()), m.group(3).strip())
                  for m in _K8S_RE.finditer(text)]
    return found

