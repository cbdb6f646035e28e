"""The end-of-life table shipped as data (``data/end-of-life.toml``, from endoflife.date): which
release line a version belongs to and when its security support ends. Not a check module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from prodaudit.loaders import load_toml

TABLE = "data/end-of-life.toml"
WARN_WITHIN = dt.timedelta(days=183)  # "within six months"


@dataclass(frozen=True)
class Cycle:
    product: str
    label: str  # "Python"
    cycle: str  # "3.8"
    eol: dt.date | None  # None: no end date published yet


@dataclass(frozen=True)
class Table:
    source: str
    retrieved: str
    products: dict[str, tuple[Cycle, ...]]

    def cycle(self, product: str, version: str) -> Cycle | None:
        """The release line of ``version`` (``3.8.10`` → 3.8, ``14.1`` → 14, ``9.6.15`` → 9.6);
        a version shorter than the cycles (``mysql 8``) takes the newest line it names; None when
        the table does not know it."""
        cycles = self.products.get(product, ())
        parts = [p for p in version.strip().split(".") if p]
        nums: list[int] = []
        for p in parts:
            if not p.isdigit():
                break
            nums.append(int(p))
        if not nums:
            return None
        best: Cycle | None = None
        for c in cycles:
            cnums = [int(x) for x in c.cycle.split(".")]
            fits = len(nums) >= len(cnums) and nums[: len(cnums)] == cnums
            if fits and (best is None or len(cnums) > len(best.cycle.split("."))):
                best = c
        if best is not None:
            return best
        shorter = [c for c in cycles if [int(x) for x in c.cycle.split(".")][: len(nums)] == nums]
        return shorter[-1] if shorter else None


def today() -> dt.date:
    """The audit's date (a function so tests can pin it)."""
    return dt.date.today()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value)
    return None


def parse_table(data: dict[str, Any]) -> Table:
    meta = data.get("meta") or {}
    products: dict[str, tuple[Cycle, ...]] = {}
    for name, prod in (data.get("products") or {}).items():
        label = str(prod.get("label") or name)
        cycles = [Cycle(name, label, str(c["cycle"]), _date(c.get("eol")))
                  for c in prod.get("cycles") or [] if isinstance(c, dict) and "cycle" in c]
        products[name] = tuple(cycles)
    return Table(str(meta.get("source", "")), str(meta.get("retrieved", "")), products)


@cache
def eol_table() -> Table:
    """The shipped table (parsed once per process)."""
    text = resources.files("prodaudit").joinpath(TABLE).read_text(encoding="utf-8")
    return parse_table(load_toml(text, TABLE))


def judge(c: Cycle, on: dt.date) -> str:
    """``eol`` (support has ended), ``soon`` (ends within six months) or ``supported``."""
    if c.eol is None:
        return "supported"
    if c.eol <= on:
        return "eol"
    return "soon" if c.eol - on <= WARN_WITHIN else "supported"
