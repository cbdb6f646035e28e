"""The one command line: ``prodaudit list | run | report | clean | plan | merge``. Scripts and
tasks call into it (``plan`` and ``merge``, the fleet commands, live in ``cli_fleet.py``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from prodaudit import __version__, interrupt
from prodaudit.errors import InputError, ProdauditError, UsageError
from prodaudit.model import SUITES, AuditRun, Status

if TYPE_CHECKING:  # rich and pydantic are imported by the commands that use them (fast start)
    from rich.console import Console

    from prodaudit.config import AuditConfig

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
    p.add_argument("--profile", choices=["production", "staging", "development"],
                   help="the audited deployment profile (default: production)")
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
    p.add_argument("--no-cache", action="store_false", default=None, dest="cache",
                   help="do not read or write the cache of static results (secret scan ...)")
    p.add_argument("--keep-up", action="store_true", default=None, dest="keep_up",
                   help="deployment suite: leave the compose stack running (debugging)")
    p.add_argument("--target-venv", type=Path,
                   help="the target's installed environment (venv or site-packages): license checks "
                   "and the run of the target's tests")
    p.add_argument("--service", type=_csv, action="append", dest="services", metavar="NAME[,NAME]",
                   help="fleet: audit these [[services]] of the configuration (repeatable, comma "
                        "separated); a fleet job of `prodaudit plan` (docs/fleet.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("-v", "--verbose", action="store_true", help="log what the checks do (INFO)")


_CLI_KEYS = ("repo", "base_url", "frontend_url", "openapi", "env_file", "compose_files", "profile",
             "only", "skip", "formats", "output", "allow_mutations", "vuln_db", "waivers",
             "attestations", "baseline", "fail_on", "request_timeout", "start_target", "cache")


def cli_values(ns: argparse.Namespace) -> dict[str, Any]:
    """The configuration values given on the command line (None: not given)."""
    return {k: getattr(ns, k, None) for k in _CLI_KEYS}


def config_from_args(ns: argparse.Namespace) -> AuditConfig:
    from prodaudit.config import load_config

    cfg = load_config(cli_values(ns), config_file=getattr(ns, "config_file", None))
    return with_nested_options(cfg, ns)


def with_nested_options(cfg: AuditConfig, ns: argparse.Namespace) -> AuditConfig:
    """The options that set a key of a section (``--keep-up``, ``--target-venv``)."""
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
    """Every check as aligned columns, from the generated index when it is current: no check
    module, no rich, no pydantic imported (``prodaudit list`` is a fast command)."""
    from prodaudit.registry import catalog, select

    specs = select(catalog(), parse_suites(ns.suite))
    rows = [("ID", "SUITE", "SEVERITY", "TITLE", "NEEDS")]
    rows += [(s.id, s.suite, s.severity.label, s.title, ",".join(sorted(s.needs))) for s in specs]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
           for r in rows]
    try:
        print("\n".join(line.rstrip() for line in out))
        print(f"{len(specs)} checks", flush=True)
    except BrokenPipeError:  # `prodaudit list | head`: the reader has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from prodaudit.audit import run_audit

    if getattr(ns, "verbose", False):
        import logging

        from rich.logging import RichHandler

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s",
                            handlers=[RichHandler(console=Console(stderr=True), show_path=False)])
    suites = parse_suites(ns.suite, getattr(ns, "default_suite", "all"))
    cfg = config_from_args(ns)
    names = [n for group in (getattr(ns, "services", None) or []) for n in group]
    if cfg.services:
        from prodaudit.cli_fleet import run_fleet

        return run_fleet(ns, cfg, names, parse_suites(ns.suite) if ns.suite else None)
    if names:
        raise UsageError(f"--service {','.join(names)}: {cfg.config_file or 'the configuration'} has no "
                         "[[services]] (docs/fleet.md)")
    outcome = run_audit(cfg, suites, quiet=ns.quiet)
    from prodaudit.report.console import output_console

    print_results(outcome.run, output_console())
    if outcome.report_dir is not None:
        Console(stderr=True).print(f"reports: {outcome.report_dir}", markup=False)
    return outcome.run.decision.exit_code


def cmd_report(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from prodaudit.report import rerender

    src: Path = ns.audit_json or Path(ns.output or "reports") / "latest" / "audit.json"
    if not src.is_file():
        raise InputError(str(src), "no audit.json to render (run an audit first)")
    from prodaudit.cli_fleet import is_fleet_document

    if is_fleet_document(src):
        from prodaudit.report.fleet import rerender_fleet

        out = rerender_fleet(src, ns.formats)
    else:
        out = rerender(src, ns.formats)
    Console(stderr=True).print(f"reports re-rendered in {out}", markup=False)
    return 0


SUITE_HELP: dict[str, str] = {
    "config": "the repository: environment variables, secrets in code and in the built frontend, "
    "dependency pinning, vulnerabilities and licenses, Dockerfiles, compose files, production "
    "settings",
    "functional": "the running product: health, every API operation from OpenAPI, the auth flow, "
    "LLM integration and mock mode, frontend-backend wiring",
    "security": "the running product: JWT attacks and claim rules, API keys, CORS, rate limiting, "
    "security headers, HTTPS/HSTS/cookies, error leakage",
    "deployment": "Docker and the services: compose config, image build and inspection, "
    "containers up and healthy, migrations, Redis and database settings, monitoring endpoints",
    "readiness": "the team and the codebase: structure, frontend at phone and desktop widths, "
    "tests, observability, docs, continuity, launch",
}
EXIT_CODES_HELP = (
    "exit codes: 0 GO, 1 NO-GO, 2 CONDITIONAL GO, 3 the audit could not run (bad configuration, "
    "usage error, unknown check id, unreadable target), 130 interrupted (SIGINT/SIGTERM, after "
    "cleanup; what could not be removed in time is named, with `prodaudit clean --run-id ID`)"
)


class Parser(argparse.ArgumentParser):
    """argparse with prodaudit's exit codes: a usage error is exit 3 (2 means CONDITIONAL GO)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def parse_suites(values: Sequence[Sequence[str]] | None, default: str = "all") -> list[str]:
    """``--suite`` values (repeatable, comma separated; ``all``) as suite names, in SUITES order.
    An unknown name is a :class:`UsageError`."""
    names = [n.lower() for group in (values or [[default]]) for n in group] or [default]
    unknown = [n for n in names if n not in SUITES and n != "all"]
    if unknown:
        raise UsageError(f"--suite {','.join(unknown)}: unknown suite (known: {', '.join(SUITES)}, all)")
    if "all" in names:
        return list(SUITES)
    return [s for s in SUITES if s in names]


def add_suite_option(p: argparse.ArgumentParser, default: str = "all") -> None:
    p.add_argument("--suite", type=_csv, action="append", metavar="SUITE[,SUITE]",
                   help=f"suites to run: {', '.join(SUITES)} or all (repeatable, comma separated; "
                        f"default: {default})")


def add_report_options(p: argparse.ArgumentParser) -> None:
    """The options of ``prodaudit report`` (and ``invoke report.build``)."""
    p.add_argument("audit_json", type=Path, nargs="?",
                   help="the audit.json to render (default: OUTPUT/latest/audit.json)")
    p.add_argument("--output", type=Path,
                   help="report directory whose latest run is rendered (default: reports)")
    p.add_argument("--format", type=_csv, dest="formats",
                   help="formats to re-render: markdown,html,sarif,junit (default: all; audit.json "
                        "itself is never rewritten)")


def add_clean_options(p: argparse.ArgumentParser) -> None:
    """The options of ``prodaudit clean`` (and ``invoke docker.clean``)."""
    p.add_argument("--run-id", help="only the objects of this run (default: every run)")
    p.add_argument("--dry-run", action="store_true", help="list them, remove nothing")


def cmd_clean(ns: argparse.Namespace) -> int:
    from prodaudit.cleanup import main as clean_main

    return clean_main(ns.run_id, dry_run=ns.dry_run)


def build_parser(default_suite: str | None = None) -> argparse.ArgumentParser:
    parser = Parser(prog="prodaudit", description="Production readiness audit.",
                    epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="version", version=f"prodaudit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p_list = sub.add_parser("list", help="list every check", description="List every check.")
    add_suite_option(p_list)
    p_run = sub.add_parser("run", help="run an audit", epilog=EXIT_CODES_HELP,
                           description="Run an audit: select checks, start the reference target "
                                       "if needed, run, decide, write the reports.")
    add_suite_option(p_run, default_suite or "all")
    p_run.set_defaults(default_suite=default_suite or "all")
    add_audit_options(p_run)
    p_rep = sub.add_parser("report", help="re-render reports from an audit.json",
                           description="Re-render every report from an existing audit.json "
                                       "(no audit is run).", epilog=EXIT_CODES_HELP)
    add_report_options(p_rep)
    p_clean = sub.add_parser(
        "clean", help="remove the Docker objects prodaudit runs left behind", epilog=EXIT_CODES_HELP,
        description="Remove the Docker containers, volumes, networks and images that carry "
        "prodaudit's labels (org.prodaudit.run=<run id>): what an interrupted run could not "
        "remove in time. Nothing else is ever removed. Exit 0 when nothing is left, 3 otherwise.")
    add_clean_options(p_clean)
    from prodaudit.cli_fleet import add_fleet_commands

    add_fleet_commands(sub)
    return parser


def build_suite_parser(suite: str, prog: str) -> argparse.ArgumentParser:
    """The parser of a per-suite script: the audit options without --suite."""
    parser = Parser(prog=prog, epilog=EXIT_CODES_HELP,
                    description=f"Run the {suite} suite of prodaudit: {SUITE_HELP[suite]}. "
                                "Same options as `prodaudit run`; writes the reports.")
    parser.add_argument("--version", action="version", version=f"prodaudit {__version__}")
    add_audit_options(parser)
    parser.set_defaults(command="run", suite=[[suite]], default_suite=suite)
    return parser


def audit_option_actions(*, with_suite: bool = True) -> list[argparse.Action]:
    """Every option of ``prodaudit run`` (the one source for the invoke tasks' options)."""
    p = Parser(add_help=False)
    if with_suite:
        add_suite_option(p)
    add_audit_options(p)
    return [a for a in p._actions if a.option_strings]


def report_option_actions() -> list[argparse.Action]:
    """Every option of ``prodaudit report``."""
    p = Parser(add_help=False)
    add_report_options(p)
    return list(p._actions)


def clean_option_actions() -> list[argparse.Action]:
    """Every option of ``prodaudit clean``."""
    p = Parser(add_help=False)
    add_clean_options(p)
    return [a for a in p._actions if a.option_strings]


def main(argv: Sequence[str] | None = None, *, parser: argparse.ArgumentParser | None = None,
         standalone: bool | None = None) -> int:
    """Run one command; returns the exit code. ``standalone`` (default: ``argv`` is None, i.e.
    this process is the command) lets an interrupted or finished run end the process at once
    when a worker thread still busy with an abandoned check would keep it alive."""
    standalone = argv is None if standalone is None else standalone
    if standalone:
        fewer_collections()
    restore = interrupt.install()
    try:
        code = _dispatch(parser or build_parser(), argv)
    except KeyboardInterrupt:
        code = interrupt.EXIT_INTERRUPTED
        left = interrupt.leftover_report()
        done = "cleanup incomplete" if left else "cleaned up what the run started and created"
        print(f"prodaudit: {interrupt.signal_name()}: audit stopped, {done} (exit {code})",
              file=sys.stderr)
        print(left, end="", file=sys.stderr)
    finally:
        restore()
    if standalone:
        if interrupt.interrupted():
            interrupt.exit_now(code)
        interrupt.exit_if_stuck(code)
        interrupt.finish_now(code)
    return code


#: the cyclic collector's young-generation threshold for the command's process (Python: 700)
GC_GEN0_THRESHOLD = 10_000


def fewer_collections() -> None:
    """Fast start (issue 13): a command allocates hundreds of thousands of long-lived objects
    (imported modules, pydantic's schemas, the file index, the scan's results) and frees almost
    none of them as cycles; with the default threshold the collector runs ~170 times in a warm
    rerun, traversing them again and again (≈ 0.06 s of its 0.6 s CPU). A larger young generation
    (same ratios between generations) keeps collecting cycles, 14 times less often; the extra
    garbage it may hold is bounded by that many allocations. The process that is the command
    only: a library caller's interpreter is left alone."""
    import gc

    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GC_GEN0_THRESHOLD, gen0), gen1, gen2)


def _dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    from prodaudit.cli_fleet import cmd_merge, cmd_plan

    handlers = {"list": cmd_list, "run": cmd_run, "report": cmd_report, "clean": cmd_clean,
                "plan": cmd_plan, "merge": cmd_merge}
    try:
        ns = parser.parse_args(argv)
        return handlers[ns.command](ns)
    except ProdauditError as exc:
        print(f"prodaudit: error: {exc.headline()}", file=sys.stderr)
        return exc.exit_code


def suite_main(suite: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of the per-suite scripts: ``run --suite SUITE`` plus the shared options."""
    prog = Path(sys.argv[0]).name if argv is None else f"prodaudit-{suite}"
    args = list(sys.argv[1:] if argv is None else argv)
    return main(args, parser=build_suite_parser(suite, prog), standalone=argv is None)


if __name__ == "__main__":
    sys.exit(main())
