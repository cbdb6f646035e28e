"""The invoke tasks, generated from the command line's own option definitions (one source).

``tasks.py`` only names the tasks; every option of ``prodaudit run`` becomes an option of the
``audit.*`` tasks (``--compose-file`` and ``--suite`` repeatable, flags stay flags), every option of
``prodaudit report`` one of ``report.build``. A task calls the CLI with the same arguments, so
both surfaces behave the same, exit codes included: 0 GO, 1 NO-GO, 2 CONDITIONAL GO, 3 the audit
could not run (a usage error too, which invoke itself would report as 1), 130 interrupted.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from invoke import Context, Exit, Task
from invoke.exceptions import ParseError

from prodaudit.errors import EXIT_CANNOT_RUN, ProdauditError


def _name(action: argparse.Action) -> str:
    """The task parameter of an argparse action: its long option (``--compose-file`` ->
    ``compose_file``), or its dest for a positional argument."""
    longs = [o for o in action.option_strings if o.startswith("--")]
    raw = longs[0][2:] if longs else action.dest
    return raw.replace("-", "_")


def _is_flag(action: argparse.Action) -> bool:
    return action.nargs == 0


def _is_list(action: argparse.Action) -> bool:
    return isinstance(action, argparse._AppendAction)


def _option(action: argparse.Action) -> str:
    longs = [o for o in action.option_strings if o.startswith("--")]
    return longs[0] if longs else ""


def to_argv(actions: Sequence[argparse.Action], values: dict[str, Any]) -> list[str]:
    """Task arguments back to the CLI's argv (positional arguments last)."""
    argv: list[str] = []
    positional: list[str] = []
    for action in actions:
        value = values.get(_name(action))
        if value is None or value is False or value == [] or value == "":
            continue
        opt = _option(action)
        if not opt:
            positional.append(str(value))
        elif _is_flag(action):
            argv.append(opt)
        elif isinstance(value, list | tuple):
            for item in value:
                argv += [opt, str(item)]
        else:
            argv += [opt, str(value)]
    return argv + positional


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("%%", "%")
    if action.choices:
        text += f" ({' | '.join(str(c) for c in action.choices)})"
    return text


def _signature(actions: Sequence[argparse.Action]) -> inspect.Signature:
    params = [inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for action in actions:
        default: Any = False if _is_flag(action) else None
        params.append(inspect.Parameter(_name(action), inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=default))
    return inspect.Signature(params)


def cli_task(
    name: str,
    doc: str,
    actions: Sequence[argparse.Action],
    argv_prefix: Sequence[str],
) -> Task[Any]:
    """A task named ``name`` whose options are ``actions`` and whose body runs the CLI with
    ``argv_prefix`` plus the options given."""

    def body(c: Context, **values: Any) -> None:
        run_cli([*argv_prefix, *to_argv(actions, values)])

    body.__signature__ = _signature(actions)  # type: ignore[attr-defined]
    body.__doc__ = doc
    body.__name__ = body.__qualname__ = name.replace(".", "_")
    return Task(
        body,
        name=name,
        help={_name(a): _help(a) for a in actions},
        iterable=[_name(a) for a in actions if _is_list(a)],
        auto_shortflags=False,
    )


def run_cli(argv: list[str]) -> None:
    """Run the CLI in this process; a non-zero exit code becomes the task's exit code."""
    from prodaudit.cli import main

    code = main(argv, standalone=True)
    if code:
        raise Exit(code=code)


def audit_task(suite: str, name: str, doc: str) -> Task[Any]:
    """``audit.<suite>``: every option of ``prodaudit run`` (``audit.all`` also takes --suite)."""
    from prodaudit.cli import audit_option_actions

    actions = audit_option_actions(with_suite=suite == "all")
    return cli_task(name, doc, actions, ["run"] if suite == "all" else ["run", "--suite", suite])


def report_task(name: str, doc: str) -> Task[Any]:
    """``report.build``: every option of ``prodaudit report``."""
    from prodaudit.cli import report_option_actions

    return cli_task(name, doc, report_option_actions(), ["report"])


def clean_task(name: str, doc: str) -> Task[Any]:
    """``docker.clean``: every option of ``prodaudit clean``."""
    from prodaudit.cli import clean_option_actions

    return cli_task(name, doc, clean_option_actions(), ["clean"])


def library_call(func: Callable[[], Any]) -> Any:
    """Call the library from a task: a :class:`ProdauditError` exits with its code and one line."""
    try:
        return func()
    except ProdauditError as exc:
        raise Exit(f"prodaudit: error: {exc.headline()}", code=exc.exit_code) from None


def usage_errors_exit_3() -> None:
    """invoke reports an unknown task or option with exit code 1, which means NO-GO to a CI
    pipeline reading prodaudit's codes: make a task-line parse error exit 3 (could not run).
    Errors in invoke's own core flags come before tasks.py is loaded and keep invoke's code."""
    from invoke.program import Program

    if getattr(Program.parse_tasks, "_prodaudit_usage_exit", False):
        return
    original = Program.parse_tasks

    def parse_tasks(self: Program) -> None:
        try:
            original(self)
        except ParseError as exc:
            raise Exit(f"{exc} (usage error: see `invoke --help <task>`)",
                       code=EXIT_CANNOT_RUN) from None

    parse_tasks._prodaudit_usage_exit = True  # type: ignore[attr-defined]
    Program.parse_tasks = parse_tasks  # type: ignore[method-assign]
