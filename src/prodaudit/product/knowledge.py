"""Package knowledge the dependency checks share: development tools, obsolete standard-library
backports, and the runtime dependencies of widely used packages (their ``Requires-Dist`` without
extras or environment markers, as of their current releases). Names are canonical (PEP 503).
Not a check module."""

from __future__ import annotations

#: development tools → what they are
DEV_TOOLS: dict[str, str] = {
    **dict.fromkeys(("pytest", "pytest-cov", "pytest-asyncio", "pytest-mock", "pytest-xdist",
                     "pytest-django", "pytest-env", "pytest-snapshot", "coverage", "tox", "nox",
                     "hypothesis", "freezegun", "responses", "httpretty", "factory-boy",
                     "model-bakery", "faker", "mock"), "a test tool"),
    **dict.fromkeys(("ruff", "flake8", "pylint", "pyflakes", "pycodestyle", "pydocstyle",
                     "bandit", "isort", "black", "autopep8", "yapf", "pre-commit"),
                    "a linter or formatter"),
    **dict.fromkeys(("mypy", "pyright", "pytype"), "a type checker"),
    **dict.fromkeys(("ipython", "ipdb", "pdbpp", "jupyter", "notebook", "jupyterlab", "debugpy",
                     "django-debug-toolbar", "werkzeug-debugger-appengine"),
                    "a REPL or debugger"),
    **dict.fromkeys(("sphinx", "mkdocs", "mkdocs-material", "twine", "pip-tools"),
                    "a documentation or packaging tool"),
}
#: a tool that another listed tool brings along (not reported twice)
TOOL_PARTS: dict[str, tuple[str, ...]] = {
    "isort": ("pylint",), "pyflakes": ("flake8",), "pycodestyle": ("flake8", "autopep8"),
    "coverage": ("pytest-cov",), "pytest": ("pytest-cov", "pytest-asyncio", "pytest-mock",
                                            "pytest-django", "pytest-xdist", "pytest-env",
                                            "pytest-snapshot"),
    "ipython": ("ipdb", "jupyter", "notebook", "jupyterlab"),
}
#: PyPI backports of modules every supported Python has
OBSOLETE: dict[str, str] = {
    "uuid": "uuid is in the standard library since Python 2.5",
    "argparse": "argparse is in the standard library since 2.7",
    "enum34": "enum is in the standard library since 3.4",
    "futures": "concurrent.futures is in the standard library since 3.2",
    "typing": "typing is in the standard library since 3.5",
    "pathlib": "pathlib is in the standard library since 3.4",
    "dataclasses": "dataclasses is in the standard library since 3.7",
    "asyncio": "asyncio is in the standard library since 3.4",
    "importlib": "importlib is in the standard library since 2.7",
    "subprocess32": "a Python 2 backport",
    "functools32": "a Python 2 backport",
    "ordereddict": "collections.OrderedDict since 2.7",
    "configparser": "configparser is in the standard library since 3.0",
    "statistics": "statistics is in the standard library since 3.4",
}
#: runtime dependencies of widely used packages; ``name>=X`` / ``name<X``: only for versions of
#: the package from / before ``X``
REQUIRES: dict[str, tuple[str, ...]] = {
    "fastapi": ("starlette", "pydantic", "typing-extensions>=0.90"),
    "starlette": ("anyio",),
    "uvicorn": ("click", "h11"),
    "gunicorn": ("packaging",),
    "openai": ("httpx>=1.0", "pydantic>=1.0", "anyio>=1.0", "distro>=1.0", "jiter>=1.40",
               "sniffio>=1.0", "tqdm>=1.0", "typing-extensions>=1.0"),
    "anthropic": ("httpx", "pydantic", "anyio", "distro", "jiter", "sniffio",
                  "typing-extensions"),
    "httpx": ("httpcore", "anyio", "certifi", "idna"),
    "requests": ("urllib3", "idna", "certifi", "charset-normalizer"),
    "flask": ("werkzeug", "jinja2", "itsdangerous", "click", "blinker>=2.3"),
    "django": ("asgiref>=3.0", "sqlparse>=2.2", "pytz<4.0"),
    "djangorestframework": ("django",),
    "celery": ("kombu", "billiard", "vine", "click"),
    "alembic": ("sqlalchemy", "mako"),
    "pydantic": ("pydantic-core>=2.0", "annotated-types>=2.0", "typing-extensions"),
    "aiohttp": ("aiosignal", "frozenlist", "multidict", "yarl", "attrs"),
    "azure-identity": ("azure-core", "msal", "cryptography"),
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "jinja2": ("markupsafe",),
    "python-jose": ("ecdsa", "rsa", "pyasn1"),
    "sqlalchemy-utils": ("sqlalchemy",),
    "flask-sqlalchemy": ("flask", "sqlalchemy"),
    "flask-migrate": ("flask", "flask-sqlalchemy", "alembic"),
    "flask-cors": ("flask",),
    "flask-jwt-extended": ("flask", "werkzeug", "pyjwt"),
}


def requirements_of(name: str, version: str) -> list[str]:
    """The runtime dependencies ``REQUIRES`` knows for ``name`` at ``version``."""
    from packaging.version import InvalidVersion, Version

    out = []
    for entry in REQUIRES.get(name, ()):
        dep, op, bound = entry.partition(">=") if ">=" in entry else entry.partition("<")
        if op:
            try:
                v, b = Version(version), Version(bound)
            except InvalidVersion:
                continue
            if (op == ">=" and v < b) or (op == "<" and v >= b):
                continue
        out.append(dep)
    return out
