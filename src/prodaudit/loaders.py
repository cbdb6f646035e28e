"""Bounded loaders for YAML, TOML and JSON: every document the audit parses goes through here.

An audited repository is untrusted input. A 700-byte YAML "billion laughs" document is cheap to
parse (aliases share one object) but explodes in whatever walks it afterwards, so YAML documents
are composed first and their *expanded* node count (every alias counted as often as it is
reached) is checked against a fixed budget before anything is constructed. Every loader also
caps the size of its input. A document over a bound raises :class:`InputError` naming the source.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError

MAX_DOCUMENT_BYTES = 5_000_000
MAX_YAML_NODES = 200_000  # expanded (aliases counted each time they are reached)
MAX_NESTING = 200
MAX_REPORT_BYTES = 200_000_000  # an audit.json a previous run wrote (re-render, baseline, docs)


@dataclass(frozen=True)
class YamlDocument:
    """One YAML document: the constructed data and the composed node tree (for line numbers)."""

    data: Any
    node: Any  # yaml.Node | None


def _check_size(text: str | bytes, source: str, max_bytes: int) -> None:
    size = len(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    if size > max_bytes:
        raise InputError(source, f"{size} bytes, over the {max_bytes}-byte limit for documents")


def expanded_nodes(node: Any, budget: int = MAX_YAML_NODES) -> int:
    """The node count of ``node`` with every alias expanded; stops counting past ``budget``.

    Linear in the number of distinct nodes: sizes are memoised by node identity, so a document
    whose aliases nest a thousand levels deep is measured without being expanded."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(n: Any, depth: int) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in on_path or depth > MAX_NESTING:  # recursive alias or absurd nesting
            return budget + 1
        on_path.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > budget:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item, depth + 1)
                if total > budget:
                    break
        on_path.discard(key)
        sizes[key] = min(total, budget + 1)
        return sizes[key]

    return size(node, 0)


def _loader_class(loader: type[Any] | None) -> type[Any]:
    import yaml

    if loader is not None:
        return loader
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def iter_yaml(
    text: str,
    source: str,
    *,
    loader: type[Any] | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_nodes: int = MAX_YAML_NODES,
) -> Iterator[YamlDocument]:
    """Every document of a YAML stream, each checked against the node budget before it is built.

    ``loader`` is a ``yaml.SafeLoader`` subclass (custom tags such as Compose's ``!reset``).
    Raises :class:`InputError` for a document over a bound or for malformed YAML."""
    import yaml

    _check_size(text, source, max_bytes)
    ld = _loader_class(loader)(text)
    try:
        while True:
            try:
                if not ld.check_node():
                    return
                node = ld.get_node()
            except yaml.YAMLError as exc:
                raise InputError(source, f"invalid YAML: {_one_line(exc)}") from None
            except RecursionError:
                raise InputError(source, "YAML nested too deeply") from None
            count = expanded_nodes(node, max_nodes)
            if count > max_nodes:
                raise InputError(
                    source,
                    f"YAML document expands to more than {max_nodes} nodes (alias expansion bomb?); "
                    "refused",
                )
            try:
                data = ld.construct_document(node)
            except yaml.YAMLError as exc:
                raise InputError(source, f"invalid YAML: {_one_line(exc)}") from None
            except RecursionError:
                raise InputError(source, "YAML nested too deeply") from None
            yield YamlDocument(data=data, node=node)
    finally:
        ld.dispose()


def load_yaml(text: str, source: str, *, loader: type[Any] | None = None, **bounds: int) -> Any:
    """The first document of ``text`` (None for an empty stream), bounded (see :func:`iter_yaml`)."""
    doc = load_yaml_document(text, source, loader=loader, **bounds)
    return doc.data if doc is not None else None


def load_yaml_document(
    text: str, source: str, *, loader: type[Any] | None = None, **bounds: int
) -> YamlDocument | None:
    """The first document with its node tree, or None for an empty stream."""
    for doc in iter_yaml(text, source, loader=loader, **bounds):
        return doc
    return None


def load_yaml_all(text: str, source: str, *, loader: type[Any] | None = None, **bounds: int) -> list[Any]:
    """Every document's data, bounded."""
    return [d.data for d in iter_yaml(text, source, loader=loader, **bounds)]


def load_toml(text: str, source: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """A TOML document, size-capped; :class:`InputError` when malformed."""
    _check_size(text, source, max_bytes)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, f"invalid TOML: {_one_line(exc)}") from None
    except RecursionError:
        raise InputError(source, "TOML nested too deeply") from None


def load_json(text: str | bytes, source: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """A JSON document, size-capped; :class:`InputError` when malformed or nested too deeply."""
    _check_size(text, source, max_bytes)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(source, f"invalid JSON: {_one_line(exc)}") from None
    except RecursionError:
        raise InputError(source, "JSON nested too deeply") from None


def read_document(path: Path, source: str | None = None, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """A document file's text, refusing files over ``max_bytes`` before reading them."""
    name = source or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(name, f"cannot read: {exc.strerror}") from None
    if size > max_bytes:
        raise InputError(name, f"{size} bytes, over the {max_bytes}-byte limit for documents")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, f"cannot read: {_one_line(exc)}") from None


def load_json_file(path: Path, source: str | None = None, *,
                   max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """A JSON file, size-checked before it is read (see :func:`read_document`, :func:`load_json`)."""
    name = source or str(path)
    return load_json(read_document(path, name, max_bytes=max_bytes), name, max_bytes=max_bytes)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
