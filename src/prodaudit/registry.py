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
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from prodaudit.errors import ProdauditError, UsageError
from prodaudit.model import NEEDS, SUITES, CheckFunc, CheckSpec, Evidence, Severity

if TYPE_CHECKING:
    from prodaudit.check_index import CheckInfo

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
        """Checks of the given suites, narrowed by ``only`` and ``skip`` (see :func:`select`)."""
        return select(self.all(), suites, only, skip)


class _Declared(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def suite(self) -> str: ...


S = TypeVar("S", bound=_Declared)


def select(
    every: Sequence[S],
    suites: Iterable[str] | None = None,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
) -> list[S]:
    """Checks of the given suites, narrowed by ``only`` and ``skip`` (ids or id prefixes), in
    the order of ``every`` (registered specs, or the index's :class:`CheckInfo`).

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


def load_checks(ids: Iterable[str] | None = None) -> Registry:
    """Import the modules under ``prodaudit.checks`` so their checks register. Idempotent.

    With ``ids``, only the modules that declare those checks, found in the generated index
    (:mod:`prodaudit.check_index`) when it matches the installed sources; otherwise, and without
    ``ids``, every module. The returned registry holds at least the checks asked for."""
    global _loaded
    if _loaded:
        return REGISTRY
    if ids is not None:
        wanted = [i for i in ids if i not in REGISTRY]  # some may be registered already
        from prodaudit.check_index import modules_of

        modules = modules_of(wanted)
        if modules is not None:
            for name in sorted(modules):
                importlib.import_module(name)
            if all(i in REGISTRY for i in wanted):
                return REGISTRY
    import prodaudit.checks as pkg

    for mod in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
        importlib.import_module(mod.name)
    _loaded = True
    return REGISTRY


def catalog() -> list[CheckInfo]:
    """Every check's declaration, in id order, without importing the check modules when the
    generated index is current (``prodaudit list``, selections, the checklist map)."""
    from prodaudit.check_index import CheckInfo, current

    if not _loaded:
        index = current()
        if index is not None:
            # plus checks registered in this process outside prodaudit.checks (a program that
            # declares its own checks with @check and then calls the CLI)
            known = {c.id for c in index}
            own = [CheckInfo.of(s) for s in REGISTRY.all() if s.id not in known]
            return sorted([*index, *own], key=lambda c: c.id)
    return [CheckInfo.of(s) for s in load_checks().all()]
