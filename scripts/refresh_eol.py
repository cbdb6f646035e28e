#!/usr/bin/env python3
"""Refresh src/prodaudit/data/end-of-life.toml from endoflife.date's API.

    python scripts/refresh_eol.py [--output PATH] [--timeout SECONDS]

For every product of the current table it fetches ``https://endoflife.date/api/<product>.json``
(one request per product, bounded by ``--timeout``), keeps each release cycle with its
end-of-life date (``false`` while none is published) and rewrites the table with today's date as
``retrieved``. The table is data shipped with prodaudit; tests never call this script (they test
:func:`cycles_from_api` and :func:`render` on fixed input).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from pathlib import Path
from typing import Any

API = "https://endoflife.date/api/{product}.json"
TABLE = Path(__file__).resolve().parent.parent / "src" / "prodaudit" / "data" / "end-of-life.toml"
HEADER_END = "[meta]"


def cycles_from_api(items: list[dict[str, Any]]) -> list[tuple[str, str | bool]]:
    """(cycle, eol) pairs, oldest first, from an endoflife.date product answer: ``eol`` is a date
    string (kept), ``false`` (supported, no end date yet: kept as ``false``) or ``true`` (ended
    without a published date: dropped, the table needs a date)."""
    out: list[tuple[str, str | bool]] = []
    for item in items:
        cycle, eol = str(item.get("cycle", "")), item.get("eol")
        if not cycle:
            continue
        if isinstance(eol, str) and len(eol) == 10:
            out.append((cycle, eol))
        elif eol is False:
            out.append((cycle, False))
    return sorted(out, key=lambda c: [int(x) if x.isdigit() else 0 for x in c[0].split(".")])


def render(header: str, retrieved: str, products: dict[str, tuple[str, list[tuple[str, str | bool]]]]
           ) -> str:
    """The table file: the comment header kept as it is, then meta and one table per product."""
    lines = [header.rstrip() + "\n", "[meta]", 'source = "https://endoflife.date"',
             f'retrieved = "{retrieved}"', ""]
    for name, (label, cycles) in products.items():
        lines += [f"[products.{name}]", f'label = "{label}"', "cycles = ["]
        for cycle, eol in cycles:
            value = "false" if eol is False else f'"{eol}"'
            lines.append(f'  {{ cycle = "{cycle}", eol = {value} }},')
        lines += ["]", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TABLE)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    import httpx  # a core dependency of prodaudit

    text = TABLE.read_text(encoding="utf-8")
    current = tomllib.loads(text)
    header = text[: text.index(HEADER_END)]
    products: dict[str, tuple[str, list[tuple[str, str | bool]]]] = {}
    with httpx.Client(timeout=args.timeout, follow_redirects=True) as client:
        for name, prod in current["products"].items():
            resp = client.get(API.format(product=name))
            resp.raise_for_status()
            products[name] = (str(prod.get("label", name)), cycles_from_api(resp.json()))
            print(f"{name}: {len(products[name][1])} cycles", file=sys.stderr)
    args.output.write_text(render(header, dt.date.today().isoformat(), products), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
