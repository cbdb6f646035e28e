"""Error boundaries of React libraries (Sentry, Bugsnag ...) rendered by the frontend's own
sources: ``<Sentry.ErrorBoundary>`` or an imported ``<ErrorBoundary>`` of a package (RDY-021)."""

from __future__ import annotations

import re

from prodaudit.checks.readiness._scan import line_of

_BOUNDARY_TAG = re.compile(r"<((?:\w+\.)*\w*ErrorBoundary)[\s>/]")


def _imported_from_package(text: str, name: str) -> bool:
    """``name`` is bound by an import from a package (``import * as Sentry from
    "@sentry/react"``, ``import { ErrorBoundary } from "@bugsnag/plugin-react"``), not from a
    module of the project (``./``, ``../``, ``@/``, ``~/``)."""
    for m in re.finditer(r"import\s+([^;]*?)\s+from\s+['\"]([^'\"]+)['\"]", text):
        bound, source = m.group(1), m.group(2)
        if re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", bound) and \
                not source.startswith((".", "/", "@/", "~/")):
            return True
    return False


def library_boundaries(files: dict[str, str]) -> list[tuple[str, int, str]]:
    """Where an error boundary component of a library is rendered: ``<Sentry.ErrorBoundary``,
    ``<Bugsnag.ErrorBoundary`` or an imported ``<ErrorBoundary`` whose namespace or name comes
    from a package import."""
    out = []
    for rel, t in files.items():
        for m in _BOUNDARY_TAG.finditer(t):
            if _imported_from_package(t, m.group(1).split(".")[0]):
                out.append((rel, line_of(t, m.start()), f"<{m.group(1)}>"))
    return out
