"""The seed checklists as data (data/checklist.toml), mapped to the checks that cover them."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from prodaudit.model import CheckSpec

if TYPE_CHECKING:
    from prodaudit.check_index import CheckInfo


@dataclass(frozen=True)
class Item:
    id: str
    source: str  # "checklist" | "plan"
    section: str
    group: str
    text: str
    kind: str = "item"  # "item" | "signoff"
    manual: str = ""  # how to verify by hand when no check covers the item (or only in part)
    # the evidence the item's claim needs before it is ticked: "" (any passing check), "parsed"
    # (read from code or configuration), "observed" (seen on the running product)
    evidence: str = ""


def load_items() -> list[Item]:
    return list(_items())


@functools.lru_cache(maxsize=1)
def _items() -> tuple[Item, ...]:  # parsed once per process (a run renders several reports)
    raw = resources.files("prodaudit").joinpath("data/checklist.toml").read_text(encoding="utf-8")
    return tuple(Item(**entry) for entry in tomllib.loads(raw)["item"])


def coverage(items: list[Item], specs: Sequence[CheckSpec] | Sequence[CheckInfo]
             ) -> dict[str, list[str]]:
    """Item id -> ids of the checks that declare it."""
    out: dict[str, list[str]] = {i.id: [] for i in items}
    for spec in specs:
        for item_id in spec.checklist:
            out.setdefault(item_id, []).append(spec.id)
    return out
