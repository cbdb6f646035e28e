"""The configuration's model machinery: frozen classes that validate without pydantic.

Fast start (issue 13): importing pydantic and building the configuration's twenty models cost
≈ 0.13 s CPU of every run, a third of a warm rerun. The configuration classes
(``prodaudit.config``) are frozen, keyword-only classes (:class:`ConfigModel`, a dataclass
transform: no code generated per class, which ``@dataclass`` would spend ≈ 14 ms on for these
eighteen) whose keys are declared with :func:`setting` (default, pydantic ``Field``
constraints, an after-validator) or a plain default. A table is validated in two tiers:

- :meth:`ConfigModel.fast_validate` accepts only what is plainly valid: known keys, values of
  exactly the declared type (a ``str`` for a ``Path`` becomes ``Path(str)``, as pydantic does),
  numbers inside their ``ge``/``gt``/``le``/``lt`` bounds, the key's validator passing. It
  returns None for anything else — it never rejects and never coerces beyond that;
- then :meth:`ConfigModel.model_validate` builds the pydantic *twin* of the classes (the same
  names, fields, defaults, constraints and validators, built once, only when needed) and
  validates with it: its ``ValidationError`` words the error exactly as before, and its JSON
  schema is the published ``prodaudit.schema.json``.

The instances offer the part of pydantic's model API the project uses (``model_copy``,
``model_dump``, ``model_fields_set``, ``model_validate``, ``model_fields``,
``model_json_schema``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["ConfigModel", "setting"]

M = TypeVar("M", bound="ConfigModel")
#: constraints the fast tier checks itself; any other (``pattern`` ...) leaves the value to pydantic
_BOUNDS = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b,
           "lt": lambda v, b: v < b}
_DOC_ONLY = frozenset({"description"})
_FIELDS_SET = "_fields_set"
_PLUGINS_VAR = "PYDANTIC_DISABLE_PLUGINS"


MISSING: Any = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Setting:
    """How one key is declared (see :func:`setting`)."""

    default: Any = MISSING
    factory: Callable[[], Any] | None = None
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    check: Callable[[Any], Any] | None = None
    private: bool = False

    def value(self) -> Any:
        """The default value (a new one from ``factory``)."""
        return self.factory() if self.factory is not None else self.default

    @property
    def required(self) -> bool:
        return self.factory is None and self.default is MISSING


def setting(default: Any = MISSING, *, factory: Callable[[], Any] | None = None,
            check: Callable[[Any], Any] | None = None, private: bool = False,
            **constraints: Any) -> Any:
    """One configuration key: its ``default`` (or ``factory``), pydantic ``Field`` constraints
    (``ge``, ``gt``, ``le``, ``lt``, ``pattern``, ``description``) and ``check``, an
    after-validator (the value in, the value out; a ``ValueError`` says what is wrong).
    ``private``: state of the instance, not a key (never validated, dumped, compared or shown)."""
    return Setting(default, factory, constraints, check, private)


class _ModelFields:
    """``Cls.model_fields``: the pydantic twin's fields (built on first use)."""

    def __get__(self, obj: Any, owner: type[ConfigModel]) -> dict[str, Any]:
        return owner.pydantic_model().model_fields


@typing.dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting,))
class ConfigModel:
    """Base of the configuration's classes (see the module's docstring): a subclass declares
    its keys as annotated class attributes; instances are built with keyword arguments, frozen,
    compared and shown key by key."""

    model_fields = _ModelFields()
    _specs: typing.ClassVar[dict[str, Setting]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = dict(cls._specs)
        for name, ann in cls.__dict__.get("__annotations__", {}).items():
            if str(ann).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, MISSING)
            specs[name] = value if isinstance(value, Setting) else Setting(default=value)
            if isinstance(value, Setting):
                delattr(cls, name)  # the instance holds the value; the class, no stray Setting
        cls._specs = specs

    def __init__(self, **values: Any) -> None:
        specs = self._specs
        for name in values:
            if name not in specs:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                                f"{name!r}")
        for name, spec in specs.items():
            if name in values:
                value = values[name]
            elif spec.required:
                raise TypeError(f"{type(self).__name__}() missing a required keyword argument: "
                                f"{name!r}")
            else:
                value = spec.value()
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _fields(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        keys = ", ".join(f"{name}={getattr(self, name)!r}" for name in _fields(type(self)))
        return f"{type(self).__name__}({keys})"

    def __post_init__(self) -> None:
        """Built directly (``AuthConfig(login_body=...)``): validated as a pydantic model is, a
        ``ValidationError`` (a ``ValueError``) for a bad value. Instances this module builds from
        values it validated itself skip this."""
        if getattr(_LOCAL, "trusted", False):
            return
        cls = type(self)
        for name, f in _fields(cls).items():
            value = getattr(self, name)
            ok, out = _fast_value(cls, name, f, value)
            if not ok:
                break
            if out is not value:
                object.__setattr__(self, name, out)
        else:
            return
        checked = cls.pydantic_model().model_validate(self.model_dump())
        for name in _fields(cls):
            object.__setattr__(self, name, _from_value(getattr(checked, name)))

    # ---- validation ------------------------------------------------------------------------
    @classmethod
    def fast_validate(cls: type[M], data: Mapping[str, Any]) -> M | None:
        """An instance when every key of ``data`` is plainly valid, else None (no error: the
        caller validates with :meth:`model_validate`, which words it)."""
        fields = _fields(cls)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            f = fields.get(key)
            if f is None:
                return None
            ok, kwargs[key] = _fast_value(cls, key, f, value)
            if not ok:
                return None
        if any(k not in kwargs and f.required for k, f in fields.items()):
            return None  # a required key is missing
        with _trusted():
            made = cls(**kwargs)
        object.__setattr__(made, _FIELDS_SET, frozenset(data))
        return made

    @classmethod
    def model_validate(cls: type[M], data: Any) -> M:
        """Validate with the pydantic twin (raises pydantic's ``ValidationError``)."""
        fast = cls.fast_validate(data) if isinstance(data, Mapping) else None
        if fast is not None:
            return fast
        return cls.pydantic_validate(data)

    @classmethod
    def pydantic_validate(cls: type[M], data: Any) -> M:
        """Validate with the pydantic twin only (what :meth:`model_validate` does with what the
        fast tier leaves to it)."""
        return _from_twin(cls, cls.pydantic_model().model_validate(data))

    @classmethod
    def pydantic_model(cls) -> type[BaseModel]:
        """The pydantic twin of this class (built on first use, with its sections' twins)."""
        twin = _TWINS.get(cls)
        if twin is None:
            with _no_plugins():
                twin = _TWINS[cls] = _build_twin(cls)
            _CLASSES[twin] = cls
        return twin

    @classmethod
    def model_json_schema(cls, **kwargs: Any) -> dict[str, Any]:
        return cls.pydantic_model().model_json_schema(**kwargs)

    # ---- the instance ----------------------------------------------------------------------
    @property
    def model_fields_set(self) -> set[str]:
        """The keys given when the instance was validated or copied with ``update`` (built
        directly: the keys whose value is not the default)."""
        given = self.__dict__.get(_FIELDS_SET)
        if given is not None:
            return set(given)
        return {name for name, f in _fields(type(self)).items()
                if getattr(self, name) != f.value()}

    def model_copy(self: M, *, update: Mapping[str, Any] | None = None) -> M:
        """A shallow copy with ``update`` applied (not validated, as pydantic's)."""
        changes = dict(update or {})
        with _trusted():
            made = type(self)(**{**{n: getattr(self, n) for n in self._specs}, **changes})
        object.__setattr__(made, _FIELDS_SET, frozenset(self.model_fields_set | set(changes)))
        return made

    def model_dump(self, *, mode: Literal["python", "json"] = "python",
                   include: set[str] | None = None, exclude: set[str] | None = None
                   ) -> dict[str, Any]:
        """The keys as plain data (``mode="json"``: paths as strings)."""
        return {name: _dump(getattr(self, name), mode) for name in _fields(type(self))
                if (include is None or name in include) and not (exclude and name in exclude)}


# ---- helpers -----------------------------------------------------------------------------------

_TWINS: dict[type[ConfigModel], type[BaseModel]] = {}
_CLASSES: dict[type[BaseModel], type[ConfigModel]] = {}
_FIELD_CACHE: dict[type, dict[str, Setting]] = {}
_HINTS: dict[type, dict[str, Any]] = {}
_DEFAULT_DUMPS: dict[tuple[type, str], Any] = {}


_LOCAL = threading.local()


@contextlib.contextmanager
def _trusted() -> Iterator[None]:
    """Instances built in here from validated values: ``__post_init__`` does not check again."""
    before = getattr(_LOCAL, "trusted", False)
    _LOCAL.trusted = True
    try:
        yield
    finally:
        _LOCAL.trusted = before


def _fields(cls: type[ConfigModel]) -> dict[str, Setting]:
    """The keys of a configuration class (private state left out), in declaration order."""
    found = _FIELD_CACHE.get(cls)
    if found is None:
        found = _FIELD_CACHE[cls] = {n: f for n, f in cls._specs.items() if not f.private}
    return found


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)  # each class's names in its module
    return found


def _fast_value(cls: type, name: str, f: Setting, value: Any) -> tuple[bool, Any]:
    """(plainly valid, the validated value) of one key."""
    key = (cls, name)
    if not f.required:
        if key not in _DEFAULT_DUMPS:
            _DEFAULT_DUMPS[key] = _dump(f.value(), "python")
        if type(value) is type(_DEFAULT_DUMPS[key]) and value == _DEFAULT_DUMPS[key]:
            return True, f.value()  # the default (or its dump): valid by construction
    constraints = f.constraints
    if set(constraints) - set(_BOUNDS) - _DOC_ONLY:
        return False, None
    ok, out = _plain(_hints(cls)[name], value)
    if not ok:
        return False, None
    for name, bound in constraints.items():
        if name in _BOUNDS and out is not None and not _BOUNDS[name](out, bound):
            return False, None
    if f.check is not None:
        try:
            out = f.check(out)
        except ValueError:
            return False, None
    return True, out


def _plain(ann: Any, v: Any) -> tuple[bool, Any]:
    """Whether ``v`` is exactly of type ``ann`` (pydantic would return it unchanged), and it."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return True, None
        rest = [a for a in args if a is not type(None)]
        return _plain(rest[0], v) if len(rest) == 1 else (False, None)
    if origin is Literal:
        return type(v) is str and v in args, v
    if origin is list:
        if type(v) is not list:
            return False, None
        out = []
        for item in v:
            ok, got = _plain(args[0], item)
            if not ok:
                return False, None
            out.append(got)
        return True, out
    if isinstance(ann, type) and issubclass(ann, ConfigModel):
        if isinstance(v, ann):
            return True, v
        if isinstance(v, Mapping):
            made = ann.fast_validate(v)
            return made is not None, made
        return False, None
    if ann is Path:
        if isinstance(v, Path):
            return True, v
        return (True, Path(v)) if type(v) is str and v else (False, None)
    if ann in (str, int, float, bool):
        return type(v) is ann, v
    return False, None


def _dump(v: Any, mode: str) -> Any:
    if isinstance(v, ConfigModel):
        return v.model_dump(mode=mode)  # type: ignore[arg-type]
    if isinstance(v, list | tuple):
        return [_dump(x, mode) for x in v]
    if isinstance(v, dict):
        return {k: _dump(x, mode) for k, x in v.items()}
    if mode == "json" and isinstance(v, Path):
        return str(v)
    return v


def _docstring(cls: type) -> str | None:
    return cls.__dict__.get("__doc__")  # its own (pydantic's schema shows no inherited one)


def _twin_type(ann: Any) -> Any:
    """``ann`` with every configuration class replaced by its pydantic twin."""
    if isinstance(ann, type) and issubclass(ann, ConfigModel):
        return ann.pydantic_model()
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if not args or origin is Literal:
        return ann
    new = tuple(_twin_type(a) for a in args)
    if new == args:
        return ann
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]  # noqa: UP007 (built from a tuple)
    return origin[new] if origin is not None else ann


@contextlib.contextmanager
def _no_plugins() -> Iterator[None]:
    """pydantic looks up plugins in every installed distribution's entry points when it builds
    its first model (≈ 40 ms); the twins take no plugin: the lookup is off while they are built."""
    before = os.environ.get(_PLUGINS_VAR)
    os.environ[_PLUGINS_VAR] = "__all__"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_PLUGINS_VAR, None)
        else:
            os.environ[_PLUGINS_VAR] = before


def _after(check: Callable[[Any], Any]) -> Any:
    def validate(cls: type, value: Any) -> Any:
        return check(value)

    return classmethod(validate)


def _build_twin(cls: type[ConfigModel]) -> type[BaseModel]:
    from pydantic import ConfigDict, Field, create_model, field_validator

    hints = _hints(cls)
    fields: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for name, f in _fields(cls).items():
        constraints = dict(f.constraints)
        if f.factory is not None:
            info = Field(default_factory=f.factory, **constraints)
        elif f.required:
            info = Field(**constraints)
        elif isinstance(f.default, ConfigModel):  # a section's default: all its defaults
            info = Field(type(f.default).pydantic_model().model_construct(), **constraints)
        else:
            info = Field(f.default, **constraints)
        fields[name] = (_twin_type(hints[name]), info)
        if f.check is not None:
            validators[f"_check_{name}"] = field_validator(name)(_after(f.check))
    twin: type[BaseModel] = create_model(
        cls.__name__, __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__=_docstring(cls), __module__=cls.__module__, __validators__=validators, **fields)
    return twin


def _from_twin(cls: type[M], obj: Any) -> M:
    """The dataclass of a validated pydantic twin instance (``model_fields_set`` kept)."""
    with _trusted():
        made = cls(**{name: _from_value(getattr(obj, name)) for name in _fields(cls)})
    object.__setattr__(made, _FIELDS_SET, frozenset(obj.model_fields_set))
    return made


def _from_value(v: Any) -> Any:
    cls = _CLASSES.get(type(v))
    if cls is not None:
        return _from_twin(cls, v)
    if isinstance(v, list):
        return [_from_value(x) for x in v]
    return v
