"""The pre-commit hook (``.pre-commit-hooks.yaml``, id ``prodaudit-config``): the static
configuration suite on the repository being committed.

It prints the decision screen (pre-commit shows it when the hook fails) and writes no report file
unless the hook's ``args`` name an ``--output`` directory, so nothing lands in the repository and
the next run does not scan its own reports. By default only a NO-GO blocks the commit
(``--fail-on no-go``); ``args`` come after the defaults and override them
(``args: [--fail-on, conditional]``, ``args: [--skip, CFG-063]``, ``args: [--output, .prodaudit]``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

DEFAULTS = ("--suite", "config", "--repo", ".", "--no-start", "--fail-on", "no-go", "-q")


def main(argv: Sequence[str] | None = None) -> int:
    from prodaudit.audit import run_audit
    from prodaudit.cli import build_parser, config_from_args, parse_suites, print_results
    from prodaudit.errors import ProdauditError
    from prodaudit.gate import EXIT_CANNOT_RUN
    from prodaudit.report.console import output_console

    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(["run", *DEFAULTS, *args])
    try:
        cfg = config_from_args(ns)
        outcome = run_audit(cfg, parse_suites(ns.suite), quiet=True, write=ns.output is not None)
    except ProdauditError as exc:
        print(f"prodaudit: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print_results(outcome.run, output_console())
    if outcome.report_dir is not None:
        print(f"reports: {outcome.report_dir}", file=sys.stderr)
    return outcome.run.decision.exit_code


if __name__ == "__main__":
    sys.exit(main())
