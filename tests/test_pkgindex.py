"""Parsing of PEP 691 project pages (prodaudit.pkgindex); the lookups themselves are tested
against a real server in tests/checks/config/test_dependencies_yanked.py."""

from __future__ import annotations

import pytest

from prodaudit.errors import InputError
from prodaudit.pkgindex import is_listed, parse_page, yank_reason


def _f(filename: str, yanked: bool | str = False) -> dict[str, object]:
    return {"filename": filename, "url": "u", "hashes": {}, "yanked": yanked}


def test_a_version_is_yanked_only_when_every_file_is() -> None:
    page = parse_page({"files": [
        _f("Pkg-1.0.tar.gz", "broken"), _f("pkg-1.0-py3-none-any.whl", "broken"),
        _f("Pkg-2.0.tar.gz", "bad sdist"), _f("pkg-2.0-py3-none-any.whl"),
        _f("pkg-3.0.zip", True), _f("not-a-distribution.txt", "x"),
    ], "versions": ["1.0", "2.0", "3.0", "4.0"]}, "page")
    assert page.yanked == {"1.0": "broken", "3.0": "no reason given"}
    assert yank_reason(page, "1.0.0") == "broken"  # compared as versions
    assert yank_reason(page, "2.0") is None
    assert is_listed(page, "4.0") and is_listed(page, "2.0.0") and not is_listed(page, "5.0")


@pytest.mark.parametrize("data", [[], {"files": "x"}, {"name": "pkg"}, None])
def test_a_page_that_is_not_pep_691_is_an_input_error(data: object) -> None:
    with pytest.raises(InputError, match="not a PEP 691 project page"):
        parse_page(data, "page")
