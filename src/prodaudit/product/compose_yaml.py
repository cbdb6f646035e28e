"""Compose files as YAML: the Compose tags (``!reset``, ``!override``), a line for every key path,
and Compose's merge of one file onto another. Not Compose's file selection: see compose.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from prodaudit.errors import InputError
from prodaudit.loaders import load_yaml_document
from prodaudit.templating import (
    TEMPLATE_NOT_RENDERED,
    has_template_tag,
    line_text,
    render_placeholders,
)

_UNION_LISTS = frozenset({
    "ports", "expose", "volumes", "dns", "dns_search", "tmpfs", "cap_add", "cap_drop",
    "security_opt", "external_links", "env_file", "devices", "secrets", "configs", "networks",
})  # fmt: skip


_MAPPING_LISTS = frozenset({"environment", "labels", "extra_hosts", "depends_on", "annotations"})


class Reset:
    """``!reset``: remove the value inherited from earlier files."""


class Override:
    """``!override VALUE``: replace instead of merge."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _Loader(yaml.SafeLoader):
    pass


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


@dataclass
class ComposeFile:
    path: str  # repo-relative when inside the repo
    data: dict[str, Any] | None
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    error: tuple[int, str] | None = None

    @property
    def template_error(self) -> bool:
        """The file is an unrendered template's that does not load even rendered."""
        return self.error is not None and self.error[1].startswith(TEMPLATE_NOT_RENDERED)


def _line_map(node: yaml.Node, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                path = (*prefix, key.value)
                out.setdefault(path, key.start_mark.line + 1)
                _line_map(value, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, i)
            out.setdefault(path, item.start_mark.line + 1)
            if (prefix and prefix[-1] in ("environment", "labels")
                    and isinstance(item, yaml.ScalarNode) and isinstance(item.value, str)):
                out.setdefault((*prefix, item.value.split("=", 1)[0]), item.start_mark.line + 1)
            _line_map(item, path, out)


def _yaml_error(text: str, exc: InputError) -> tuple[int, str]:
    """(line, message) of a refused document: the problem and its line for malformed YAML."""
    if not exc.reason.startswith("invalid YAML"):
        return 0, f"refused: {exc.reason}"
    try:  # composing again is cheap (no construction) and gives the problem's position
        yaml.compose(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return (mark.line + 1 if mark is not None else 0), f"invalid YAML: {problem}"
    return 0, exc.reason


def load_compose_text(path: str, text: str) -> ComposeFile:
    """One Compose file, parsed through the bounded loader, with its line map; a file that
    cannot be read safely (malformed YAML, alias bomb, over a bound) carries the error.

    An unrendered template's file (``- {{cookiecutter.port}}:80``, ``{% if %}`` lines) that the
    loader rejects at a template tag is read with the placeholders as names and the tag lines
    blank (:func:`prodaudit.templating.render_placeholders`, lines kept); one that does not load
    even so carries "template not rendered" (``template_error``) instead of the YAML error."""
    try:
        doc = load_yaml_document(text, path, loader=_Loader)
    except InputError as exc:
        error = _yaml_error(text, exc)
        if not has_template_tag(line_text(text, error[0])):
            return ComposeFile(path, None, error=error)
        try:
            doc = load_yaml_document(render_placeholders(text), path, loader=_Loader)
        except InputError:
            return ComposeFile(path, None, error=(error[0], f"{TEMPLATE_NOT_RENDERED} "
                                                            f"({error[1]})"))
    data = doc.data if doc is not None else None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return ComposeFile(path, None, error=(1, "not a YAML mapping"))
    lines: dict[tuple[Any, ...], int] = {}
    if doc is not None and doc.node is not None:
        _line_map(doc.node, (), lines)
    return ComposeFile(path, data, lines)


def _normalise(key: str, value: Any) -> Any:
    if key in _MAPPING_LISTS and isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if key == "depends_on":
                out[str(item)] = {"condition": "service_started"}
            elif isinstance(item, str):
                sep = ":" if key == "extra_hosts" and "=" not in item else "="
                k, _, v = item.partition(sep)
                out[k.strip()] = v if _ else None
        return out
    return value


def merge(base: Any, over: Any, key: str = "") -> Any:
    """Compose's merge of ``over`` onto ``base``."""
    if isinstance(over, Reset):
        return None
    if isinstance(over, Override):
        return over.value
    base = _normalise(key, base)
    over = _normalise(key, over)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if isinstance(v, Reset):
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v, str(k))
            else:
                out[k] = v.value if isinstance(v, Override) else _strip(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and key in _UNION_LISTS:
        return base + [v for v in over if v not in base]
    return _strip(over)


def _strip(value: Any) -> Any:
    """Remove tag markers from a value that is not merged with anything."""
    if isinstance(value, Override):
        return value.value
    if isinstance(value, Reset):
        return None
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def service_env(svc: dict[str, Any]) -> dict[str, Any]:
    """A service's ``environment`` as a mapping."""
    env = _normalise("environment", svc.get("environment") or {})
    return env if isinstance(env, dict) else {}


def env_file_paths(svc: dict[str, Any]) -> list[tuple[str, bool]]:
    """(path as written, required) of a service's ``env_file:`` in its short and long forms."""
    ef = svc.get("env_file")
    items = ef if isinstance(ef, list) else [ef] if ef else []
    out = []
    for e in items:
        if isinstance(e, dict):
            out.append((str(e.get("path", "")), e.get("required", True) is not False))
        elif e:
            out.append((str(e), True))
    return out


def healthcheck_test(hc: object) -> str:
    """The command of a Compose ``healthcheck`` as one text (its ``test`` list joined by spaces,
    or its string form); "" when there is none."""
    test = hc.get("test") if isinstance(hc, dict) else None
    if isinstance(test, list):
        return " ".join(str(t) for t in test)
    return str(test or "")
