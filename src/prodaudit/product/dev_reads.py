"""Environment reads that only development or test settings make. Not a check module.

A variable read without a default in ``settings/local.py``, ``settings/test.py`` or
``config/dev.py`` (a settings module named for development or tests that production does not run:
``django_settings.development_modules``), or by a field of a development/test settings class
(``class DevSettings(BaseSettings)``, ``class TestConfig``), is required when a developer or the
test suite runs; a production deployment need not set it. CFG-001 reads this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.django_settings import development_modules
from prodaudit.product.envgraph import Read, Var
from prodaudit.product.pysettings import settings_model

if TYPE_CHECKING:
    from prodaudit.context import Context


@dataclass(frozen=True)
class DevReads:
    """Development/test settings modules production does not run, and ``path:line`` of the
    fields of development/test settings classes that read a variable."""

    modules: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def covers(self, r: Read) -> bool:
        return r.path in self.modules or r.loc in self.fields


def development_reads(ctx: Context) -> DevReads:
    """Where reads are development's or the tests' only (memoised)."""

    def build() -> DevReads:
        model = settings_model(ctx).settings
        modules = development_modules(ctx, {s.path for s in model})
        fields = {s.loc for s in model if s.env and s.dev and s.scope.startswith("class ")}
        return DevReads(frozenset(modules), frozenset(fields))

    result: DevReads = ctx.memo("product:development_reads", build)
    return result


def production_reads(ctx: Context, v: Var) -> list[Read]:
    """``v``'s reads without a default (frontend left out) that production makes: those
    :func:`development_reads` does not cover."""
    dev = development_reads(ctx)
    return [r for r in v.reads if not r.has_default and r.kind != "frontend" and not dev.covers(r)]
