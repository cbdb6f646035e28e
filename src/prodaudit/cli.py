"""The one command line: ``prodaudit list | run | report``. Scripts and tasks call into it."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from prodaudit import __version__
from prodaudit.config import AuditConfig, ConfigError, load_config
from prodaudit.gate import EXIT_CANNOT_RUN
from prodaudit.model import SUITES, AuditRun, Status

STATUS_STYLE = {
    Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red",
    Status.SKIP: "cyan", Status.ERROR: "magenta",
}
VERDICT_STYLE = {"GO": "bold green", "CONDITIONAL GO": "bold yellow", "NO-GO": "bold red"}


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_audit_options(p: argparse.ArgumentParser) -> None:
    """The option set shared by every entry point (DESIGN.md, "The user's surface")."""
    p.add_argument("--repo", type=Path, help="target repository (default: the bundled reference target)")
    p.add_argument("--base-url", help="running backend, e.g. http://127.0.0.1:8000")
    p.add_argument("--frontend-url", help="running frontend")
    p.add_argument("--openapi", help="OpenAPI document: path or URL (default: discovered)")
    p.add_argument("--env-file", type=Path, help="env file of the audited profile")
    p.add_argument("--compose-file", type=Path, action="append", dest="compose_files",
                   help="compose file (repeatable; base first, overrides after)")
    p.add_argument("--profile", choices=["production", "staging", "development"])
    p.add_argument("--only", type=_csv, help="check ids or prefixes to run, comma separated")
    p.add_argument("--skip", type=_csv, help="check ids or prefixes to skip, comma separated")
    p.add_argument("--format", type=_csv, dest="formats",
                   help="report formats: json,markdown,html,sarif,junit (json always written)")
    p.add_argument("--output", type=Path, help="report directory (default: reports)")
    p.add_argument("--config", type=Path, dest="config_file", help="configuration file")
    p.add_argument("--allow-mutations", action="store_true", default=None,
                   help="allow calls that create or delete data on the target")
    p.add_argument("--vuln-db", type=Path, help="offline vulnerability data (OSV JSON files)")
    p.add_argument("--waivers", type=Path, help="waivers file (default: prodaudit-waivers.toml)")
    p.add_argument("--attestations", type=Path, help="attestations file")
    p.add_argument("--baseline", type=Path, help="previous audit.json to compare with")
    p.add_argument("--fail-on", choices=["conditional", "no-go"],
                   help="CI gating: no-go lets CONDITIONAL GO exit 0")
    p.add_argument("--timeout", type=float, dest="request_timeout", help="per-request timeout (s)")
    p.add_argument("--no-start", action="store_false", default=None, dest="start_target",
                   help="never start the reference target")
    p.add_argument("--keep-up", action="store_true", default=None, dest="keep_up",
                   help="deployment suite: leave the compose stack running (debugging)")
    p.add_argument("--target-venv", type=Path,
                   help="the target's installed environment (venv or site-packages): license checks "
                   "and the run of the target's tests")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("-v", "--verbose", action="store_true", help="log what the checks do (INFO)")


def config_from_args(ns: argparse.Namespace) -> AuditConfig:
    keys = ("repo", "base_url", "frontend_url", "openapi", "env_file", "compose_files", "profile",
            "only", "skip", "formats", "output", "allow_mutations", "vuln_db", "waivers",
            "attestations", "baseline", "fail_on", "request_timeout", "start_target")
    cli: dict[str, Any] = {k: getattr(ns, k, None) for k in keys}
    cfg = load_config(cli, config_file=getattr(ns, "config_file", None))
    nested = {
        ("docker", "keep_up"): getattr(ns, "keep_up", None),
        ("licenses", "target_venv"): getattr(ns, "target_venv", None),
        ("readiness", "target_venv"): getattr(ns, "target_venv", None),
    }
    for (section, key), value in nested.items():
        if value is not None:
            sub = getattr(cfg, section).model_copy(update={key: value})
            cfg = cfg.model_copy(update={section: sub})
    return cfg


def print_results(run: AuditRun, console: Console) -> None:
    """The decision screen (``report/console.py``); appended to ``$GITHUB_STEP_SUMMARY`` when set."""
    from prodaudit.report.console import decision_screen
    from prodaudit.report.step_summary import append_step_summary

    console.print(decision_screen(run), soft_wrap=not console.is_terminal)
    append_step_summary(run)


def cmd_list(ns: argparse.Namespace) -> int:
    from prodaudit.registry import load_checks
    from prodaudit.report.console import output_console

    console = output_console()
    table = Table(show_lines=False)
    for col in ("Id", "Suite", "Severity", "Title", "Needs"):
        table.add_column(col)
    specs = load_checks().select([ns.suite] if ns.suite != "all" else None)
    for s in specs:
        table.add_row(s.id, s.suite, s.severity.label, s.title, ",".join(sorted(s.needs)))
    console.print(table)
    console.print(f"{len(specs)} checks")
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    from prodaudit.audit import run_audit

    if getattr(ns, "verbose", False):
        import logging

        from rich.logging import RichHandler

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s",
                            handlers=[RichHandler(console=Console(stderr=True), show_path=False)])
    cfg = config_from_args(ns)
    suites = list(SUITES) if ns.suite == "all" else [ns.suite]
    outcome = run_audit(cfg, suites, quiet=ns.quiet)
    from prodaudit.report.console import output_console

    print_results(outcome.run, output_console())
    if outcome.report_dir is not None:
        Console(stderr=True).print(f"reports: {outcome.report_dir}", markup=False)
    return outcome.run.decision.exit_code


def cmd_report(ns: argparse.Namespace) -> int:
    from prodaudit.report import rerender

    src: Path = ns.audit_json or Path(ns.output or "reports") / "latest" / "audit.json"
    if not src.is_file():
        raise ConfigError(f"{src}: no audit.json to render (run an audit first)")
    out = rerender(src, ns.formats)
    Console(stderr=True).print(f"reports re-rendered in {out}", markup=False)
    return 0


def build_parser(default_suite: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodaudit", description="Production readiness audit.")
    parser.add_argument("--version", action="version", version=f"prodaudit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list every check")
    p_list.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    p_run = sub.add_parser("run", help="run an audit")
    p_run.add_argument("--suite", choices=[*SUITES, "all"], default=default_suite or "all")
    add_audit_options(p_run)
    p_rep = sub.add_parser("report", help="re-render reports from an audit.json")
    p_rep.add_argument("audit_json", type=Path, nargs="?")
    p_rep.add_argument("--output", type=Path)
    p_rep.add_argument("--format", type=_csv, dest="formats")
    return parser


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    handlers = {"list": cmd_list, "run": cmd_run, "report": cmd_report}
    try:
        return handlers[ns.command](ns)
    except ConfigError as exc:
        print(f"prodaudit: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("prodaudit: interrupted; the target was stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # the audit could not run at all
        from prodaudit.target import TargetError

        if isinstance(exc, TargetError):
            first = str(exc).splitlines()[0]
            print(f"prodaudit: error: the reference target did not start: {first}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        raise


def suite_main(suite: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of the per-suite scripts: ``run --suite SUITE`` plus the shared options."""
    args = list(sys.argv[1:] if argv is None else argv)
    return main(["run", "--suite", suite, *args])


if __name__ == "__main__":
    sys.exit(main())
