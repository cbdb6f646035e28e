"""A fleet report format: a pure function of a ``FleetRun`` to text."""

from __future__ import annotations

from abc import ABC, abstractmethod

from prodaudit.fleet.model import FleetRun


class FleetRenderer(ABC):
    """One output file of a fleet report directory. ``format`` is pure: same fleet, same text."""

    #: format name used by ``--format`` (the same names as for one audit)
    name: str = ""
    #: file written in the fleet report directory
    filename: str = ""
    #: what the file holds (the fleet report table in docs/fleet.md)
    description: str = ""

    @abstractmethod
    def format(self, fleet: FleetRun) -> str:
        """Render the fleet."""
