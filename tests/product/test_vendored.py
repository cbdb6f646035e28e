"""Unit tests of the pure rules of prodaudit.product.vendored (no repository needed)."""

from __future__ import annotations

import pytest

from prodaudit.product.vendored import app_static_names, copied_package_index, is_vendored_bundle


@pytest.mark.parametrize(("entry", "top", "names"), [
    ("django.contrib.admin", "django", {"django", "admin"}),
    ("rest_framework", "rest_framework", {"rest_framework"}),
    ("shop.apps.ShopConfig", "shop", {"shop"}),
    ("django.contrib.admin.apps.SimpleAdminConfig", "django", {"django", "admin"}),
    ("wagtail.admin", "wagtail", {"wagtail", "admin", "wagtailadmin"}),
])
def test_app_static_names(entry: str, top: str, names: set[str]) -> None:
    assert app_static_names(entry) == (top, names)


FILES = {"static/js/npm.js", "static/js/bootstrap.js", "src/alert.js"}


@pytest.mark.parametrize(("text", "copied"), [
    ("// generated\nrequire('../../js/alert.js')\nrequire('../../js/modal.js')\n", True),
    ("import '../../js/alert.js';\nimport x from './missing';\n", True),
    ("require('../../src/alert.js')\n", False),  # the target is in the repository
    ("require('jquery')\n", False),  # a package, not a copied tree
    ("require('../../js/alert.js')\nalert(1)\n", False),  # code of its own
    ("", False),
])
def test_copied_package_index(text: str, copied: bool) -> None:
    assert copied_package_index("static/js/npm.js", text, FILES) is copied


def test_vendored_bundle_banner() -> None:
    assert is_vendored_bundle("/*!\n * Bootstrap v3.3.7\n * Licensed under MIT\n */\nx()\n")
    assert not is_vendored_bundle("/* Copyright 2025 the product team. */\nx()\n")
