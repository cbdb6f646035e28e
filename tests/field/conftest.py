"""The live goal test (marker ``field_goal``) runs only when selected with ``-m field_goal``: it
starts all eight field projects (two need Python 3.10 and 2.7 built by pyenv from python.org
sources, which CI cannot reach) and takes over an hour. In CI, ``test_live_projects_in_ci`` runs
the two projects the system Python serves, with assertions."""

from __future__ import annotations

import pytest

GOAL_MARKER = "field_goal"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if GOAL_MARKER in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="issue 17 live goals on all eight field projects: needs pyenv "
                                   "interpreters CI cannot build and over an hour; run with "
                                   "`pytest -m field_goal`")
    for item in items:
        if item.get_closest_marker(GOAL_MARKER) is not None:
            item.add_marker(skip)
