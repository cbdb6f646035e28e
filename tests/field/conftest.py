"""The field goal test (marker ``field_goal``) runs only when selected with ``-m field_goal``:
issue 16's accuracy goals are not met yet, and the coordinator decides when they join CI."""

from __future__ import annotations

import pytest

GOAL_MARKER = "field_goal"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if GOAL_MARKER in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="issue 16 accuracy goals: not met yet, run with `pytest -m field_goal` "
                                   "(joins CI when the coordinator decides)")
    for item in items:
        if item.get_closest_marker(GOAL_MARKER) is not None:
            item.add_marker(skip)
