"""loaders.py: every bound refuses with an InputError naming the source, and ordinary documents
(anchors used normally, several documents, line numbers) still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.errors import InputError
from prodaudit.loaders import (
    expanded_nodes,
    iter_yaml,
    load_json,
    load_json_file,
    load_toml,
    load_yaml,
    load_yaml_all,
    read_document,
)


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a: &a ["lol"' + ',"lol"' * (width - 1) + "]"]
    prev = "a"
    for i in range(1, levels):
        name = f"l{i}"
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_by_the_node_budget() -> None:
    text = billion_laughs()
    assert len(text) < 800
    with pytest.raises(InputError, match="expands to more than") as err:
        load_yaml(text, "docker-compose.yml")
    assert err.value.source == "docker-compose.yml"
    assert str(err.value).startswith("docker-compose.yml: ")


def test_bomb_in_a_later_document_is_refused_too() -> None:
    with pytest.raises(InputError, match="expands"):
        load_yaml_all("a: 1\n---\n" + billion_laughs(), "k8s.yaml")


def test_ordinary_anchors_and_merge_keys_load() -> None:
    text = "x-common: &common {restart: always, image: app:1}\nservices:\n  api:\n    <<: *common\n"
    assert load_yaml(text, "compose.yml")["services"]["api"] == {"restart": "always", "image": "app:1"}


def test_expanded_nodes_counts_aliases_each_time() -> None:
    import yaml

    node = yaml.compose("a: &a [1, 2, 3]\nb: [*a, *a]\n")
    # mapping + 2 keys + list a (4) + list b (1 + 2 * 4)
    assert expanded_nodes(node) == 1 + 2 + 4 + 9


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(InputError):
        load_yaml("a: &a [*a]\n", "loop.yml")


def test_documents_keep_their_node_for_line_numbers() -> None:
    docs = list(iter_yaml("a: 1\n---\nb:\n  c: 2\n", "two.yml"))
    assert [d.data for d in docs] == [{"a": 1}, {"b": {"c": 2}}]
    assert docs[1].node.start_mark.line == 2


@pytest.mark.parametrize(("loader", "text", "reason"), [
    (load_yaml, "a: [1, 2\n", "invalid YAML"),
    (load_toml, "a = [\n", "invalid TOML"),
    (load_json, "{\"a\": ", "invalid JSON"),
    (load_json, "[" * 100_000, "nested too deeply"),
    (load_yaml, "[" * 10_000 + "]" * 10_000, "YAML"),
])
def test_malformed_input_is_an_input_error(loader: object, text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as err:
        loader(text, "input.file")  # type: ignore[operator]
    assert err.value.source == "input.file"


@pytest.mark.parametrize("loader", [load_yaml, load_toml, load_json])
def test_size_cap(loader: object) -> None:
    with pytest.raises(InputError, match="over the 100-byte limit"):
        loader("#" * 101 if loader is not load_json else " " * 101, "big", max_bytes=100)  # type: ignore[operator]


def test_read_document_checks_the_size_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    with pytest.raises(InputError, match="over the 1000-byte limit"):
        read_document(big, max_bytes=1000)
    with pytest.raises(InputError, match="cannot read"):
        read_document(tmp_path / "missing.json")
    (tmp_path / "ok.json").write_text('{"a": [1]}')
    assert load_json_file(tmp_path / "ok.json") == {"a": [1]}
