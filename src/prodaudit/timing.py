"""Time a check spends waiting for shared facts (a fact another check is building: the image
build, the OpenAPI document, the login). The runner reports a check's own duration without that
wait, and the wait separately (``CheckResult.waited_s``), so a check that only waited for the
image build does not look slow.

``measuring()`` opens an accumulator for the current check (a context variable: the runner sets
it around each check, and blocking checks run in a copy of that context); ``add_wait()`` is called
by the shared-fact cache (``Context.memo``/``amemo``) with the time it waited for a lock held by
another builder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_WAIT: ContextVar[list[float] | None] = ContextVar("prodaudit_wait", default=None)


@contextmanager
def measuring() -> Iterator[list[float]]:
    """An accumulator (``box[0]`` seconds) for the waits of the code run inside the block."""
    box = [0.0]
    token = _WAIT.set(box)
    try:
        yield box
    finally:
        _WAIT.reset(token)


def add_wait(seconds: float) -> None:
    """Record ``seconds`` of waiting for a shared fact against the current check (if any)."""
    box = _WAIT.get()
    if box is not None and seconds > 0:
        box[0] += seconds
