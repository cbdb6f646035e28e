"""The check table of each suite's page (``docs/<suite>.md``), generated from the registry.

The table sits between two markers; everything else on the page is hand-written. The "evidence"
column is the strongest level a check's PASS reaches (issue 18): *observed* (it ran, measured or
rendered it), *parsed* (it read the artefact and validated what it means), *present* (it only
found that something exists); the checklist ticks "verified" only on observed or parsed passes. After adding
or changing a check, regenerate::

    python -m prodaudit.doc_tables          # rewrite the tables
    python -m prodaudit.doc_tables --check  # exit 1 when a table differs from the registry

``tests/test_doc_tables.py`` runs the check, so a table cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prodaudit.model import SUITES, CheckSpec
from prodaudit.registry import Registry, load_checks

BEGIN = "<!-- begin: check table, generated from the registry by `python -m prodaudit.doc_tables` -->"
END = "<!-- end: check table -->"
HEADER = ("| id | title | severity | needs | evidence | checklist items | module |\n"
          "|---|---|---|---|---|---|---|\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def row(spec: CheckSpec) -> str:
    needs = ", ".join(sorted(spec.needs)) or "—"
    if spec.exclusive:
        needs += " (exclusive: runs last, alone)"
    module = spec.func.__module__.rsplit(".", 1)[-1] + ".py"
    return (f"| {spec.id} | {_cell(spec.title)} | {spec.severity.label} | {needs} | "
            f"{spec.evidence.value} | {', '.join(spec.checklist) or '—'} | `{module}` |\n")


def table(suite: str, registry: Registry | None = None) -> str:
    """The suite's check table (Markdown), markers included."""
    reg = registry if registry is not None else load_checks()
    rows = "".join(row(s) for s in reg.all() if s.suite == suite)
    return f"{BEGIN}\n{HEADER}{rows}{END}"


def render(text: str, suite: str, registry: Registry | None = None) -> str:
    """``text`` (a suite page) with its generated table replaced; ValueError without markers."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no generated check table markers for the {suite} suite")
    return text[:start] + table(suite, registry) + text[end + len(END):]


def doc_path(docs: Path, suite: str) -> Path:
    return docs / f"{suite}.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prodaudit.doc_tables", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a table is out of date")
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[2] / "docs")
    ns = parser.parse_args(argv)
    stale = []
    for suite in SUITES:
        path = doc_path(ns.docs, suite)
        text = path.read_text(encoding="utf-8")
        new = render(text, suite)
        if new != text:
            stale.append(str(path))
            if not ns.check:
                path.write_text(new, encoding="utf-8")
    if ns.check and stale:
        print("out of date (run python -m prodaudit.doc_tables): " + ", ".join(stale))
        return 1
    for name in stale:
        print(f"updated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
