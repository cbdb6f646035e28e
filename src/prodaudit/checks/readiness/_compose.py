"""The compose stack as the readiness checks read it. Not a check module."""

from __future__ import annotations

import re

import yaml

from prodaudit.checks.api import Context
from prodaudit.checks.readiness._scan import is_test_path, parts


def compose_docs(ctx: Context) -> list[tuple[str, dict[str, object]]]:
    """Compose files of the audit (``--compose-file``) or, without it, the repository's stack
    files (no ``*override*`` files, nothing under tests/, examples/, fixtures/), parsed."""

    def build() -> list[tuple[str, dict[str, object]]]:
        paths: list[tuple[str, str | None]] = []
        if ctx.cfg.compose_files:
            for p in ctx.cfg.compose_files:
                try:
                    paths.append((str(p), p.read_text(encoding="utf-8")))
                except OSError:
                    continue
        else:
            for rel in ctx.files.files:
                name = rel.rsplit("/", 1)[-1]
                if (
                    re.match(r"(docker-)?compose[\w.-]*\.ya?ml$", name)
                    and "override" not in name  # merged onto a base file, not a stack alone
                    and not is_test_path(rel)
                    and not {"examples", "fixtures", "corpus"} & set(parts(rel)[:-1])
                ):
                    paths.append((rel, ctx.read(rel)))
        out = []
        for rel, text in paths:
            try:
                data = yaml.safe_load(text or "")
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and isinstance(data.get("services"), dict):
                out.append((rel, data))
        return out

    return ctx.memo("rdy:compose", build)
