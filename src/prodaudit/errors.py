"""One exception tree for everything that stops prodaudit or one of its inputs (httpx style).

``ProdauditError`` carries the process exit code the CLI uses when it reaches the top level:
the audit could not run (3). Errors about one input of the audited repository
(:class:`InputError`) are caught by the runner and become an ERROR result naming the file;
the rest of the audit still runs.
"""

from __future__ import annotations

EXIT_CANNOT_RUN = 3


class ProdauditError(Exception):
    """Base of every error prodaudit raises on purpose. The message is one line."""

    exit_code: int = EXIT_CANNOT_RUN

    def headline(self) -> str:
        """The one line the command line prints (the first line of the message)."""
        text = str(self).strip()
        return text.splitlines()[0] if text else type(self).__name__


class ConfigError(ProdauditError):
    """The audit cannot run with this configuration (bad file, bad option value)."""


class UsageError(ProdauditError):
    """The command line asked for something that does not exist (unknown check id, suite ...)."""


class FleetError(ProdauditError):
    """The audits given to ``prodaudit merge`` do not make one fleet audit (another tool version
    or configuration, an audit outside the plan, no job at all)."""


class TargetError(ProdauditError):
    """The reference target did not start; the message carries the log tail."""

    def headline(self) -> str:
        return f"the reference target did not start: {super().headline()}"


class InputError(ProdauditError):
    """One file of the audited repository cannot be read safely (too large, alias bomb,
    malformed). Inside a check it becomes an ERROR naming the file, never a crash of the run."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
