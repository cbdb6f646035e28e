"""Optional dependencies: which ``prodaudit[extra]`` provides a module a check imports.

The core install (``pip install prodaudit``) runs every static check and the live HTTP checks.
Heavier libraries are extras, imported only inside the checks that use them; when one is missing,
the runner turns the ``ModuleNotFoundError`` into a SKIP that says what to install (never a crash,
never a pass).
"""

from __future__ import annotations

#: top-level module -> extra that installs it
EXTRA_OF: dict[str, str] = {
    "python_on_whales": "docker",
    "psycopg": "database",
    "sqlalchemy": "database",
    "alembic": "database",
    "redis": "redis",
    "playwright": "browser",
    "websockets": "browser",
    "locust": "load",
    "hypothesis": "fuzz",
    "hypothesis_jsonschema": "fuzz",
    "bandit": "audit",
    "pip_audit": "audit",
}


def missing_extra(exc: ImportError) -> str | None:
    """The extra that provides the module ``exc`` is about, or None for any other import error."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    return EXTRA_OF.get(name)


def install_hint(exc: ImportError) -> str | None:
    """``"psycopg is not installed: install prodaudit[database]"`` (None: not an optional module)."""
    extra = missing_extra(exc)
    if extra is None:
        return None
    name = (getattr(exc, "name", None) or "").split(".")[0]
    return f"{name} is not installed: install prodaudit[{extra}] (pip install 'prodaudit[{extra}]')"
