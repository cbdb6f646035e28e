"""The routes the repository's Python code declares, as the target serves them (memoised): the
source map's scan, without the bare path of a route whose module is included under a prefix
(Django ``include()``, ``include_router(prefix=)``): ``/create/`` is served as
``/api/users/create/`` only. Not a check module."""

from __future__ import annotations

from collections import defaultdict

from prodaudit.checks.api import Context
from prodaudit.report.source_map import Route, scan_routes


def served_routes(ctx: Context) -> list[Route]:
    def build() -> list[Route]:
        try:
            routes = scan_routes(ctx.repo, ctx.files.files)
        except OSError:
            return []
        same: dict[tuple[str, int, str], list[str]] = defaultdict(list)
        for r in routes:
            same[(r.file, r.line, r.func)].append(r.path)
        return [r for r in routes
                if not any(p != r.path and p.endswith(r.path) for p in same[(r.file, r.line, r.func)])]

    result: list[Route] = ctx.memo("sec:repo-routes", build)
    return result
