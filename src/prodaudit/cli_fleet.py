"""The fleet commands of the CLI (docs/fleet.md): ``prodaudit plan``, ``prodaudit merge``, and
``prodaudit run`` on a configuration with ``[[services]]``. Registered in ``cli.build_parser`` and
``cli._dispatch`` like every other command; same exit codes (0 GO, 1 NO-GO, 2 CONDITIONAL GO,
3 could not run)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodaudit.errors import InputError, UsageError

if TYPE_CHECKING:
    from prodaudit.config import AuditConfig

#: options of `run` that a plan does not pass on to its jobs (each job sets its own)
NOT_FORWARDED = frozenset({"formats", "output", "services", "quiet", "verbose", "suite"})


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_plan_options(p: argparse.ArgumentParser) -> None:
    """``prodaudit plan``: every option of ``run`` (passed on to each job's command), and its own
    ``--format``, ``--per``, ``--max-jobs``, ``--output``."""
    from prodaudit.cli import add_audit_options

    add_audit_options(p)
    p.add_argument(
        "--format",
        choices=["github", "gitlab", "json"],
        default="json",
        dest="plan_format",
        help='github: {"include": [...]} for strategy.matrix; gitlab: a child pipeline with '
        "parallel:matrix; json: the whole plan (for `prodaudit merge --plan`)",
    )
    p.add_argument(
        "--per",
        choices=["suite", "service"],
        default="suite",
        help="one job per service and suite (default) or per service",
    )
    p.add_argument(
        "--max-jobs",
        type=int,
        default=None,
        help="pack whole services into at most this many jobs (default: the CI's matrix "
        "limit: github 256, gitlab 200; json 0 = no limit)",
    )
    p.add_argument(
        "--output",
        default="prodaudit-reports",
        dest="jobs_output",
        help="the report directory of every job; a job writes OUTPUT/<service>[.<suites>]/<run-id>/ "
        "(default prodaudit-reports)",
    )
    p.add_argument(
        "--gitlab-template",
        type=Path,
        default=Path(".gitlab-ci.yml"),
        help="gitlab: the pipeline file whose .prodaudit-audit and .prodaudit-merge jobs (and "
        "variables) the child pipeline copies (default .gitlab-ci.yml; docs/ci/gitlab-fleet.yml)",
    )


def add_merge_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dirs",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="directories holding the jobs' report directories (their audit.json files)",
    )
    p.add_argument(
        "--plan",
        type=Path,
        help="the plan (`prodaudit plan --format json`); default: recovered from the jobs' audit.json",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=Path("reports"),
        help="fleet report directory: OUTPUT/<run-id>/, OUTPUT/latest (default reports)",
    )
    p.add_argument(
        "--format",
        type=_csv,
        dest="formats",
        help="report formats: json,markdown,html,sarif,junit (json always written)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        help="an earlier fleet audit.json: each service compared with its own part "
        "(default: OUTPUT/latest/audit.json when it is a fleet document)",
    )
    p.add_argument(
        "--fail-on",
        choices=["conditional", "no-go"],
        help="CI gating: no-go lets CONDITIONAL GO exit 0 (default: the plan's)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no decision screen on stdout")


def add_fleet_commands(sub: Any) -> None:
    from prodaudit.cli import EXIT_CODES_HELP

    p_plan = sub.add_parser(
        "plan",
        help="print the CI job matrix of a fleet",
        epilog=EXIT_CODES_HELP,
        conflict_handler="resolve",
        description="Print the jobs of a fleet audit (service x suite, each with the "
        "exact command it runs) for a CI matrix.",
    )
    add_plan_options(p_plan)
    p_merge = sub.add_parser(
        "merge",
        help="merge the jobs' audits of a fleet into one decision",
        epilog=EXIT_CODES_HELP,
        description="Read every job's audit.json, check they belong together, "
        "decide for the fleet and write the fleet reports.",
    )
    add_merge_options(p_merge)


def plan_option_actions() -> list[argparse.Action]:
    """Every option of ``prodaudit plan`` (the invoke task's options)."""
    from prodaudit.cli import Parser

    p = Parser(add_help=False, conflict_handler="resolve")
    add_plan_options(p)
    return [a for a in p._actions if a.option_strings]


def merge_option_actions() -> list[argparse.Action]:
    """Every option and argument of ``prodaudit merge``."""
    from prodaudit.cli import Parser

    p = Parser(add_help=False)
    add_merge_options(p)
    return list(p._actions)


def forwarded_argv(ns: argparse.Namespace) -> list[str]:
    """The audit options given to ``plan``, as every job's command passes them on."""
    from prodaudit.cli import audit_option_actions

    argv: list[str] = []
    for action in audit_option_actions(with_suite=False):
        if action.dest in NOT_FORWARDED:
            continue
        value = getattr(ns, action.dest, None)
        if value is None or value == action.default or value == []:
            continue
        opt = next(o for o in action.option_strings if o.startswith("--"))
        if action.nargs == 0:
            argv.append(opt)
        elif isinstance(action, argparse._AppendAction):
            argv += [x for v in value for x in (opt, str(v))]
        elif isinstance(value, list):
            argv += [opt, ",".join(map(str, value))]
        else:
            argv += [opt, str(value)]
    return argv


def cmd_plan(ns: argparse.Namespace) -> int:
    import sys

    from prodaudit.cli import cli_values, config_from_args
    from prodaudit.fleet.plan import MATRIX_LIMIT, build_plan, gitlab_templates, render

    if getattr(ns, "services", None):
        raise UsageError("plan: --service: a plan covers every service of the configuration")
    fleet = config_from_args(ns)
    max_jobs = MATRIX_LIMIT[ns.plan_format] if ns.max_jobs is None else ns.max_jobs
    if max_jobs < 0:
        raise UsageError("--max-jobs: 0 (no limit) or more")
    plan = build_plan(
        fleet,
        ["prodaudit", "run", *forwarded_argv(ns)],
        cli=cli_values(ns),
        per=ns.per,
        max_jobs=max_jobs,
        output=ns.jobs_output,
    )
    templates = gitlab_templates(ns.gitlab_template) if ns.plan_format == "gitlab" else None
    sys.stdout.write(render(plan, ns.plan_format, gitlab_templates=templates))
    for note in plan.notes:
        _console().print(f"plan: {note}", markup=False)
    return 0


def is_fleet_document(path: Path) -> bool:
    """Whether an audit.json is a fleet document (read only as far as its first bytes)."""
    from prodaudit.fleet.model import SCHEMA

    with path.open("rb") as fh:
        head = fh.read(4096)
    return re.search(rb'"schema"\s*:\s*"' + re.escape(SCHEMA.encode()) + rb'"', head) is not None


def _merge_and_write(
    dirs: Sequence[Path],
    *,
    output: Path,
    formats: Sequence[str] | None,
    plan_file: Path | None,
    baseline_file: Path | None,
    fail_on: str | None,
    quiet: bool,
) -> int:
    from prodaudit.fleet.merge import load_baseline, merge
    from prodaudit.fleet.plan import read_plan
    from prodaudit.report.console import output_console
    from prodaudit.report.fleet import write_fleet_reports
    from prodaudit.report.fleet.console import fleet_screen
    from prodaudit.report.fleet.step_summary import append_fleet_summary

    plan = read_plan(plan_file) if plan_file else None
    baseline = load_baseline(baseline_file, output)
    fleet_run = merge(dirs, plan=plan, fail_on=fail_on, baseline=baseline)
    evidence = {s.name: [Path(j.source).parent for j in s.jobs] for s in fleet_run.services}
    out = write_fleet_reports(fleet_run, output, formats, evidence)
    if not quiet:
        output_console().print(fleet_screen(fleet_run))
    append_fleet_summary(fleet_run)
    _console().print(f"fleet reports: {out}", markup=False)
    return fleet_run.decision.exit_code


def cmd_merge(ns: argparse.Namespace) -> int:
    for d in ns.dirs:
        if not d.exists():
            raise InputError(str(d), "no such directory")
    return _merge_and_write(
        ns.dirs,
        output=ns.output,
        formats=ns.formats,
        plan_file=ns.plan,
        baseline_file=ns.baseline,
        fail_on=ns.fail_on,
        quiet=ns.quiet,
    )


def run_fleet(ns: argparse.Namespace, fleet: AuditConfig, names: list[str], suites: list[str] | None) -> int:
    """``prodaudit run`` on a fleet configuration: the named services (a job), or every service
    merged into the fleet report."""
    from prodaudit.cli import cli_values, print_results, with_nested_options
    from prodaudit.fleet.local import run_services, worst_exit
    from prodaudit.report.console import output_console

    cli = cli_values(ns)

    def show(run: Any) -> None:
        print_results(run, output_console())

    if names:
        runs = run_services(
            fleet,
            names,
            cli,
            suites=suites,
            quiet=ns.quiet,
            adjust=lambda c: with_nested_options(c, ns),
            on_done=show,
        )
        for r in runs:
            _console().print(
                f"reports ({r.service}): {r.audit_json.parent if r.audit_json else '-'}", markup=False
            )
        return worst_exit(runs)
    jobs_dir = fleet.output / "jobs"
    runs = run_services(
        fleet,
        [s.name for s in fleet.services],
        cli,
        suites=suites,
        output=jobs_dir,
        quiet=ns.quiet,
        adjust=lambda c: with_nested_options(c, ns).model_copy(update={"formats": ["json"]}),
    )
    files = [r.audit_json for r in runs if r.audit_json is not None]
    return _merge_and_write(
        files,
        output=fleet.output,
        formats=fleet.formats,
        plan_file=None,
        baseline_file=None,
        fail_on=fleet.fail_on,
        quiet=False,  # -q: no progress; the decision screen is printed like `run`'s
    )


def _console() -> Any:
    from rich.console import Console  # imported when a fleet command prints (fast `list`)

    return Console(stderr=True)
