"""Everything a check module needs, in one import::

    from prodaudit.checks.api import Context, Finding, Severity, Skip, check, failed, passed

A check module imports this, other core modules (``prodaudit.product``, ``prodaudit.auth`` ...)
and its own suite's private helpers (``prodaudit.checks.<suite>._<topic>``), never another check
module (tests/test_architecture.py enforces it). How to write a check: docs/writing-checks.md.
"""

from __future__ import annotations

from prodaudit.context import Context
from prodaudit.errors import InputError
from prodaudit.http import Exchange, NotSent
from prodaudit.loaders import load_json, load_toml, load_yaml, load_yaml_all, read_document
from prodaudit.model import Evidence, Finding, Severity, Status
from prodaudit.openapi import OpenAPIDoc, Operation
from prodaudit.outcome import Skip, errored, failed, passed, skipped, warned
from prodaudit.redact import mask_value
from prodaudit.registry import check

__all__ = [
    "Context",
    "Evidence",
    "Exchange",
    "Finding",
    "InputError",
    "NotSent",
    "OpenAPIDoc",
    "Operation",
    "Severity",
    "Skip",
    "Status",
    "check",
    "errored",
    "failed",
    "load_json",
    "load_toml",
    "load_yaml",
    "load_yaml_all",
    "mask_value",
    "passed",
    "read_document",
    "skipped",
    "warned",
]
