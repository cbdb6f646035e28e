"""A report format: a pure function of an ``AuditRun`` to text."""

from __future__ import annotations

from abc import ABC, abstractmethod

from prodaudit.model import AuditRun


class Renderer(ABC):
    """One output file. ``format`` is pure: same run, same text."""

    #: format name used by ``--format``
    name: str = ""
    #: file written in the report directory
    filename: str = ""
    #: what the file holds (the report file tables in README.md and docs/reports.md)
    description: str = ""

    @abstractmethod
    def format(self, run: AuditRun) -> str:
        """Render the run."""
