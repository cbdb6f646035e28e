"""CFG-110: runtimes, services, distributions and frameworks past (or near) their end of life,
judged against the dated table shipped in ``data/end-of-life.toml`` (endoflife.date)."""

from __future__ import annotations

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.product import eol
from prodaudit.product.runtimes import RuntimeUse, runtime_uses


def _judge(use: RuntimeUse, table: eol.Table) -> tuple[str, eol.Cycle | None]:
    cycle = table.cycle(use.product, use.version)
    return (eol.judge(cycle, eol.today()), cycle) if cycle is not None else ("unknown", None)


@check("CFG-110", "Runtimes and services are within their supported life",
       severity=Severity.HIGH, needs=("repo",), checklist=("2.2.2", "3.1.3"),
       references=("CWE-1104",), evidence=Evidence.PARSED)
def end_of_life(ctx: Context) -> list[Finding]:
    """Every runtime, service, distribution and framework version the repository deploys is
    still supported: Dockerfile ``FROM`` images (``python:3.8``, ``node:12``, the Alpine or
    Debian release of the variant), the Python 2 an image installs from its distribution,
    Compose ``image:`` versions (``postgres:12``, ``nginx:1.17``), ``.python-version``,
    ``runtime.txt``, ``.tool-versions``, ``.nvmrc``, a ``requires-python``/``engines.node`` that
    caps the version, and pinned frameworks (Django). Past its end of life is a FAIL (a build
    stage that does not run in production: a WARN); ending within six months is a WARN. The
    dates come from the table shipped with prodaudit (source endoflife.date, date in
    ``data/end-of-life.toml``, refreshed by ``scripts/refresh_eol.py``); a version the table
    does not know is not judged.

    Pinned is not the same as supported: an end-of-life line gets no security fixes, so every
    vulnerability found after that date stays open in production.

    Remediation: move to a supported release line (the finding names the date support ended)
    and plan upgrades before the next end-of-life date; keep the version pinned.
    """
    uses = runtime_uses(ctx)
    if not uses:
        raise Skip("no runtime, service or framework version found (Dockerfile FROM, compose "
                   "image, .python-version, runtime.txt, requires-python, engines.node, Django pin)")
    table = eol.eol_table()
    out: list[Finding] = []
    judged = unknown = 0
    seen: set[tuple[str, str, str]] = set()
    for use in uses:
        verdict, cycle = _judge(use, table)
        key = (use.product, use.version, use.location)
        if key in seen:
            continue
        seen.add(key)
        if cycle is None:
            unknown += 1
            continue
        judged += 1
        ended = cycle.eol.isoformat() if cycle.eol else "no date"
        what = f"{cycle.label} {cycle.cycle} ({use.what})"
        if verdict == "eol":
            msg = f"{what} reached end of life on {ended}"
            if use.build_only:
                out.append(warned(msg + " (build stage only)", location=use.location))
            else:
                out.append(failed(msg, location=use.location,
                                  evidence=f"source: {table.source}, table of {table.retrieved}"))
        elif verdict == "soon":
            out.append(warned(f"{what} reaches end of life on {ended}", location=use.location,
                              evidence=f"source: {table.source}, table of {table.retrieved}"))
    if not out:
        if not judged:
            raise Skip(f"{unknown} version(s) found, none known to the end-of-life table of "
                       f"{table.retrieved}")
        out.append(passed(f"{judged} runtime/service version(s) supported for more than six months "
                          f"(table of {table.retrieved}, {table.source}); {unknown} not in the "
                          "table"))
    return out
