"""Helpers for the security-suite tests."""

from __future__ import annotations

import json

from prodaudit.target import ReferenceTarget


def api_requests(
    target: ReferenceTarget, path: str | None = None, method: str | None = None
) -> int:
    """How many requests the target's API logged (optionally for one path / method)."""
    n = 0
    for line in target.api_log().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("message") != "request completed":
            continue
        if path is not None and rec.get("path") != path:
            continue
        if method is not None and rec.get("method") != method:
            continue
        n += 1
    return n
