"""Progress while checks run: a rich bar on a terminal, one line per check otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prodaudit.model import CheckResult, CheckSpec
from prodaudit.runner import ProgressHook

_console = Console(stderr=True, highlight=False)


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        _console.print(f"[dim]prodaudit:[/dim] {message}")


@contextmanager
def make_progress(total: int, quiet: bool) -> Iterator[ProgressHook | None]:
    if quiet:
        yield None
        return
    if not sys.stderr.isatty():
        done = [0]

        def line(spec: CheckSpec, res: CheckResult | None) -> None:
            if res is None:
                return
            done[0] += 1
            _console.print(
                f"[{done[0]:>3}/{total}] {res.id:<8} {res.status.value.upper():<5} "
                f"{res.duration_s:6.2f}s  {res.title}",
                markup=False,
            )

        yield line
        return
    with Progress(
        TextColumn("[bold]auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)
        running: set[str] = set()

        def hook(spec: CheckSpec, res: CheckResult | None) -> None:
            if res is None:
                running.add(spec.id)
            else:
                running.discard(spec.id)
                bar.advance(task)
            bar.update(task, description=" ".join(sorted(running)[:4]))

        yield hook
