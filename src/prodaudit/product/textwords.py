"""Which words of a fixed vocabulary each application module's text contains, recorded by the
py_index pass while the text is at hand (an extractor). Consumers that only ask whether a word
occurs (``"load_dotenv" in text``) before they look at a module read the answer from the
module's summary: on a 20,000-module repository each of them decompressed every module's text
again only to find the word in a few. Not a check module.

A word must be listed here to be asked for (:func:`contains` raises otherwise): the pass records
only these. :func:`contains_folded` asks ``word in text.lower()`` for the words of ``FOLDED``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from prodaudit.product.pyindex import PyModule, extractor

if TYPE_CHECKING:
    from prodaudit.context import Context

#: asked with ``word in module.text`` by the config checks and the facts they use
WORDS = (
    # codesecrets: a password keyword argument
    "passw", "pwd",
    # csrf_sessions (CFG-172, CFG-173)
    "CSRFProtect", "csrf.init_app", "SeaSurf", "request.post()", "middlewares", "flask_login",
    "from flask import ", "wtforms", "get_session", "request.session",
    # route_auth (CFG-170)
    "has_permission", "has_object_permission",
    # envfiles: env files the code reads
    "env_file", "load_dotenv",
    # session_cookies (CFG-036)
    "httponly", "http_only", "SessionMiddleware", "https_only", "secure=", "aiohttp_session",
    # cache_control (CFG-175)
    "cache_control",
    # docs_exposure (CFG-037)
    "FastAPI",
    # pysettings: Flask settings on the application object
    ".config", ".secret_key", ".debug",
    # tokenlife: token lifetimes in encoding functions and in calls that create tokens
    "encode", "expire", "lifetime",
    # connections: URLs in code
    "://",
    # devswitches: debug switches in constructors
    "debug", "echo",
    # entry_points (CFG-030): development servers started from the code
    ".run(",
)
#: asked with ``word in module.text.lower()``
FOLDED = ("cors", "csrf", "cache-control")
#: recorded when the text is not pure ASCII (identifiers may then be spelled with other
#: characters that Python normalises: a substring test on the text proves nothing about them)
NON_ASCII = "\0non-ascii"
_WORDS, _FOLDED = frozenset(WORDS), frozenset(FOLDED)


@functools.lru_cache(maxsize=1)
def _sets() -> tuple[Any, Any] | None:
    """RE2 sets of ``WORDS`` and of ``FOLDED`` (case-insensitive): one scan of a text finds
    every word it holds, a quarter of the cost of a substring search per word. None without
    RE2 (an optional speed-up: the searches give the same words)."""
    try:
        import re2
    except ImportError:
        return None
    words = re2.Set.SearchSet(re2.Options())
    for word in WORDS:
        words.Add(re.escape(word))
    words.Compile()
    options = re2.Options()
    options.case_sensitive = False
    folded = re2.Set.SearchSet(options)
    for word in FOLDED:
        folded.Add(re.escape(word))
    folded.Compile()
    return words, folded


@extractor("text:words")
def text_words(module: PyModule) -> frozenset[str]:
    """The words of ``WORDS`` in the module's text, ``"lower:" + word`` for those of ``FOLDED``
    in its lower-cased text, and ``NON_ASCII`` for a text that is not ASCII."""
    text = module.text
    ascii_text = text.isascii()
    sets = _sets() if ascii_text else None  # the sets fold case as Unicode, not as str.lower()
    if sets is not None:
        found = [WORDS[i] for i in sets[0].Match(text) or ()]  # None: no word
        found += ["lower:" + FOLDED[i] for i in sets[1].Match(text) or ()]
    else:
        found = [w for w in WORDS if w in text]
        low = text.lower()
        found += ["lower:" + w for w in FOLDED if w in low]
    if not ascii_text:
        found.append(NON_ASCII)
    return frozenset(found)


def contains(module: PyModule, word: str) -> bool:
    """``word in module.text``, read from the module's summary."""
    if word not in _WORDS:
        raise ValueError(f"{word!r} is not in textwords.WORDS: the pass does not record it")
    return word in module.fact("text:words")


def contains_any(module: PyModule, *words: str) -> bool:
    """Any of ``words`` in ``module.text``."""
    found = module.fact("text:words")
    for word in words:
        if word not in _WORDS:
            raise ValueError(f"{word!r} is not in textwords.WORDS: the pass does not record it")
        if word in found:
            return True
    return False


def contains_folded(module: PyModule, word: str) -> bool:
    """``word in module.text.lower()``, read from the module's summary."""
    if word not in _FOLDED:
        raise ValueError(f"{word!r} is not in textwords.FOLDED: the pass does not record it")
    return "lower:" + word in module.fact("text:words")


def non_ascii(module: PyModule) -> bool:
    """The module's text holds a character outside ASCII."""
    return NON_ASCII in module.fact("text:words")


def texts_with(ctx: Context, *words: str) -> tuple[frozenset[str], dict[str, str]]:
    """(the paths of every module of the py_index pass, path → text of those whose text contains
    one of ``words``) when the pass has run or is running (this waits for it): a consumer that
    reads every Python file for a word need not read the pass's modules again, and reading them
    while the pass runs takes a core from it. Two empty results when no check asked for the pass
    or it failed: this does not make it run (a suite without Python facts would pay for the whole
    pass)."""
    for word in words:
        if word not in _WORDS:
            raise ValueError(f"{word!r} is not in textwords.WORDS: the pass does not record it")
    if not ctx.under_way("product:py_index"):
        return frozenset(), {}
    from prodaudit.product.pyindex import py_index

    try:
        modules = py_index(ctx)
    except Exception:  # noqa: BLE001 - the check that asked for the pass reports its error
        return frozenset(), {}
    indexed: list[str] = []
    texts: dict[str, str] = {}
    for module in modules:  # the summary says which texts to unpack
        indexed.append(module.rel)
        if contains_any(module, *words):
            texts[module.rel] = module.text
    return frozenset(indexed), texts
