"""The words the py_index pass records per module (product/textwords): the same answers as the
substring tests on the module's text they replace, and the pass's texts handed to readers of
every Python file without reading the files again."""

from __future__ import annotations

import ast
import importlib
import threading
from pathlib import Path

import pytest
from product_helpers import context, write

from prodaudit.product import pyindex, textwords
from prodaudit.product.envfiles import env_file_uses
from prodaudit.product.pyindex import EXTRACTOR_MODULES, EXTRACTORS, PyModule, py_index
from prodaudit.product.textwords import (
    FOLDED,
    WORDS,
    contains,
    contains_any,
    contains_folded,
    non_ascii,
    texts_with,
)

TEXTS = [
    "",
    "import os\nDEBUG = os.getenv('DEBUG')\n",
    "from flask import Flask, session\napp = Flask(__name__)\napp.config['X'] = 1\n",
    "# CORS and Cache-Control are set by the proxy\nx = 'https://a.b'\n",
    "class P(BasePermission):\n    def has_object_permission(self, r, v, o):\n"
    "        return True\n",
    "s = 'Ünïcode'\nuvicorn.run(app, reload=True)\nload_dotenv('.env')\n",
    "user = create(password='pw', pwd=1)\n",
    # overlapping words (".debug" holds "debug") and other cases of the folded ones
    "app.debug = True\napp.config.from_object(x)\nCsRf = 1\n# CACHE-control: no-store\n"
    "request.post()\nexpire = lifetime.encode()  # cors\n",
    "ſecret = 'CSRF İ'  # non-ASCII: the folded words as str.lower() finds them\n",
]


def _module(text: str) -> PyModule:
    return PyModule("app/m.py", ast.parse(text), text).index()


@pytest.mark.parametrize("re2", [True, False], ids=["re2-sets", "substring-search"])
@pytest.mark.parametrize("text", TEXTS)
def test_the_recorded_words_are_the_substring_tests(text: str, re2: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not re2:  # without RE2 (an optional speed-up) the pass searches word by word
        monkeypatch.setattr(textwords, "_sets", lambda: None)
    else:  # google-re2 is a dependency of prodaudit: the sets are always built here
        assert textwords._sets() is not None
    module = _module(text)
    for word in WORDS:
        assert contains(module, word) is (word in text), word
    for word in FOLDED:
        assert contains_folded(module, word) is (word in text.lower()), word
    assert non_ascii(module) is (not text.isascii())
    assert contains_any(module, "passw", "pwd") is ("passw" in text or "pwd" in text)


def test_a_word_the_pass_does_not_record_is_refused() -> None:
    module = _module("x = 1\n")
    with pytest.raises(ValueError, match="not in textwords.WORDS"):
        contains(module, "elsewhere")
    with pytest.raises(ValueError, match="not in textwords.FOLDED"):
        contains_folded(module, "CORS")


def test_the_pass_runs_the_extractor() -> None:
    for name in EXTRACTOR_MODULES:  # what the pass imports before it starts
        importlib.import_module(name)
    assert "text:words" in EXTRACTORS
    assert "codesecrets:access_code_calls" in EXTRACTORS


def test_texts_with_hands_over_the_pass_texts_only_once_it_ran(tmp_path: Path) -> None:
    files = {"app/config.py": "from dotenv import load_dotenv\nload_dotenv('deploy/.env')\n",
             "app/main.py": "print('hello')\n",
             "app/blob.py": "\0load_dotenv('x')\n",  # binary: never read, not the pass's
             "deploy/.env": "A=1\n"}
    ctx = context(write(tmp_path / "repo", files), tmp_path)
    assert texts_with(ctx, "load_dotenv") == (frozenset(), {})  # the pass did not run
    before = env_file_uses(context(write(tmp_path / "repo2", files), tmp_path / "2"))
    py_index(ctx)
    indexed, texts = texts_with(ctx, "load_dotenv")
    assert indexed == {"app/config.py", "app/main.py"}
    assert texts == {"app/config.py": files["app/config.py"]}
    after = env_file_uses(ctx)
    assert [(u.path, u.reader, u.location) for u in after] == \
        [(u.path, u.reader, u.location) for u in before]
    assert ("deploy/.env", "load_dotenv() in app/config.py", "app/config.py:2") in \
        [(u.path, u.reader, u.location) for u in after]


def test_texts_with_waits_for_a_pass_under_way(tmp_path: Path) -> None:
    """A reader that asks while another check runs the pass waits for it (reading every Python
    file beside the pass's workers would take a core from them) and gets the pass's texts."""
    files = {"app/config.py": "from dotenv import load_dotenv\nload_dotenv('deploy/.env')\n",
             "app/main.py": "print('hello')\n", "deploy/.env": "A=1\n"}
    ctx = context(write(tmp_path / "repo", files), tmp_path)
    started, release = threading.Event(), threading.Event()

    def held_pass() -> object:
        started.set()
        release.wait(30)
        return pyindex._run_pass(ctx)

    building = threading.Thread(target=ctx.memo, args=("product:py_index", held_pass))
    building.start()
    assert started.wait(30)
    got: dict[str, object] = {}
    reader = threading.Thread(target=lambda: got.update(r=texts_with(ctx, "load_dotenv")))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # waiting for the pass, not reading the files itself
    release.set()
    reader.join(30)
    building.join(30)
    assert got["r"] == (frozenset({"app/config.py", "app/main.py"}),
                        {"app/config.py": files["app/config.py"]})


def test_texts_with_a_failed_pass_leaves_the_reader_to_read(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "repo", {"app/config.py": "load_dotenv('x')\n"}), tmp_path)

    def failing() -> object:
        raise OSError("disk gone")

    with pytest.raises(OSError):
        ctx.memo("product:py_index", failing)
    assert texts_with(ctx, "load_dotenv") == (frozenset(), {})
