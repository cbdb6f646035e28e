"""The typed check registry and the ``@check`` decorator.

Check ids are stable forever and carry their suite in the prefix. Id ranges per category
(bandit style) and how to add a check: ``docs/writing-checks.md``. The check tables of
``docs/<suite>.md`` are generated from this registry (``python -m prodaudit.doc_tables``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from prodaudit.errors import ProdauditError, UsageError
from prodaudit.model import NEEDS, SUITES, CheckFunc, CheckSpec, Evidence, Severity

PREFIXES: dict[str, str] = {
    "CFG": "config",
    "FUN": "functional",
    "SEC": "security",
    "DEP": "deployment",
    "RDY": "readiness",
}
_ID_RE = re.compile(r"^(CFG|FUN|SEC|DEP|RDY)-\d{3}$")

F = TypeVar("F", bound=CheckFunc)


class RegistryError(ProdauditError):
    """A check was declared wrongly (bad id, duplicate id, unknown need)."""


class Registry:
    """Holds every check by id; duplicate ids are an error."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckSpec] = {}

    def add(self, spec: CheckSpec) -> None:
        if spec.id in self._checks:
            other = self._checks[spec.id].func
            raise RegistryError(
                f"duplicate check id {spec.id}: {other.__module__}.{other.__qualname__} and "
                f"{spec.func.__module__}.{spec.func.__qualname__}"
            )
        self._checks[spec.id] = spec

    def get(self, check_id: str) -> CheckSpec:
        return self._checks[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __len__(self) -> int:
        return len(self._checks)

    def all(self) -> list[CheckSpec]:
        return sorted(self._checks.values(), key=lambda s: s.id)

    def select(
        self,
        suites: Iterable[str] | None = None,
        only: Iterable[str] = (),
        skip: Iterable[str] = (),
    ) -> list[CheckSpec]:
        """Checks of the given suites, narrowed by ``only`` and ``skip`` (ids or id prefixes).

        A selection that cannot mean what was asked is a :class:`UsageError` (exit 3), raised
        before anything runs: an unknown suite, an ``only``/``skip`` entry that matches no check,
        an ``only`` entry whose checks all lie outside the selected suites, or a selection that
        leaves no check at all. Nothing is silently dropped."""
        wanted = set(suites) if suites is not None else set(SUITES)
        bad_suites = sorted(wanted - set(SUITES))
        if bad_suites:
            raise UsageError(f"--suite: unknown suite {', '.join(bad_suites)} "
                             f"(known: {', '.join(SUITES)}, all)")
        only_l = _tokens(only)
        skip_l = _tokens(skip)
        every = self.all()
        for option, tokens in (("--only", only_l), ("--skip", skip_l)):
            unknown = [t for t in tokens if not any(_matches(s.id, t) for s in every)]
            if unknown:
                raise UsageError(f"{option} {','.join(unknown)}: no check has this id or id prefix "
                                 "(`prodaudit list` shows every check)")
        outside = [t for t in only_l if not any(_matches(s.id, t) for s in every if s.suite in wanted)]
        if outside:
            homes = sorted({s.suite for s in every for t in outside if _matches(s.id, t)})
            raise UsageError(
                f"--only {','.join(outside)}: in the {', '.join(homes)} suite, which this run does not "
                f"audit (suites: {', '.join(sorted(wanted))}); add that suite with --suite or leave "
                "the id out of --only")
        out = [
            spec for spec in every
            if spec.suite in wanted
            and (not only_l or any(_matches(spec.id, o) for o in only_l))
            and not any(_matches(spec.id, s) for s in skip_l)
        ]
        if not out:
            raise UsageError("the selection matches no check (--skip removes every check that "
                             "--suite and --only select)")
        return out


def _tokens(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip().upper() for v in values if v.strip()))


def _matches(check_id: str, token: str) -> bool:
    return check_id == token or check_id.startswith(token)


REGISTRY = Registry()


def check(
    id: str,
    title: str,
    *,
    severity: Severity,
    needs: Iterable[str] = (),
    checklist: Iterable[str] = (),
    references: Iterable[str] = (),
    exclusive: bool = False,
    timeout: float | None = None,
    evidence: Evidence | None = None,
    registry: Registry | None = None,
    final: bool = False,
) -> Callable[[F], F]:
    """Register a check function. Its docstring is its documentation.

    The function takes the audit ``Context`` and returns (or yields) ``Finding`` objects; it may
    be ``async``. Raise ``Skip`` when a prerequisite is missing. ``evidence`` is the strongest
    level a PASS of this check reaches (default: observed for checks that need a running system,
    parsed for repository checks); a finding may state a weaker one with ``passed(level=...)``.
    ``final`` checks run alone after every other check, exclusive ones included.
    """
    if not _ID_RE.match(id):
        raise RegistryError(f"check id {id!r} must look like CFG-001 (prefixes {sorted(PREFIXES)})")
    unknown = set(needs) - NEEDS
    if unknown:
        raise RegistryError(f"check {id}: unknown needs {sorted(unknown)} (known: {sorted(NEEDS)})")

    def decorate(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        if not doc:
            raise RegistryError(f"check {id} has no docstring: the docstring is its documentation")
        spec = CheckSpec(
            id=id,
            title=title,
            suite=PREFIXES[id[:3]],
            severity=severity,
            func=func,
            needs=frozenset(needs),
            checklist=tuple(checklist),
            references=tuple(references),
            exclusive=exclusive or final,
            final=final,
            timeout=timeout,
            is_async=inspect.iscoroutinefunction(func),
            doc=doc,
            evidence=evidence if evidence is not None else Evidence.default_for(frozenset(needs)),
        )
        (registry if registry is not None else REGISTRY).add(spec)
        return func

    return decorate


_loaded = False


def load_checks() -> Registry:
    """Import every module under ``prodaudit.checks`` so their checks register. Idempotent."""
    global _loaded
    if not _loaded:
        import prodaudit.checks as pkg

        for mod in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            importlib.import_module(mod.name)
        _loaded = True
    return REGISTRY
