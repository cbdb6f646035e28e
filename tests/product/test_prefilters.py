"""The fast paths of the product facts answer exactly what the slower tests they replaced did:
the error-status regex without its leading look-behind, ``is_secret_var`` on an upper-cased ASCII
name, frontend reads found where their sources start, and the seed and access-code prefilters."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from product_helpers import context, write

from prodaudit.product import codesecrets, envdocs, envgraph, error_handlers, secretvalues
from prodaudit.redact import SECRET_NAME_RE

_STATUS_CASES = ["{404: not_found}", "x404: 1", ".404: 1", "4500:", "a 500 :", "404:",
                 "range(401, 600)", "range( 4xx", "12:45", "{\n  503\t: handler}", "٤٠٤:"]


def _fuzz(atoms: list[str], n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 12))) for _ in range(n)]


def test_status_text_is_the_look_behind_regex() -> None:
    for text in _STATUS_CASES + _fuzz(
            ["4", "5", "0", "9", ":", " ", ".", "x", "_", "range(", "\n", "٤"], 20000, 1):
        expected = error_handlers._STATUS_TEXT.search(text) is not None
        assert error_handlers._status_text(text) is expected, text


def test_is_secret_var_fast_path_is_the_case_insensitive_regexes() -> None:
    for pattern in (SECRET_NAME_RE.pattern, secretvalues._NOT_SECRET_RE.pattern):
        assert not re.search(r"[a-z\\\[]", pattern)  # capitals only: upper-casing is exact
    names = ["JWT_SECRET", "jwt_secret", "Db_Password", "ACCESS_TOKEN_EXPIRE_MINUTES", "key",
             "api_key", "OPENAI_APIKEY", "PASS", "bypass", "SECRET_KEY_FILE", "dsn", "x_id",
             "ſecret", "K", "Token_Url"] + _fuzz(
        ["SECRET", "secret", "_", "KEY", "key", "PASS", "pass", "TOKEN", "_FILE", "_ID", "DSN",
         "x", "_URL", "EXPIRE", "ſ"], 5000, 2)
    for name in names:
        expected = bool(SECRET_NAME_RE.search(name)) and not secretvalues._NOT_SECRET_RE.search(name)
        assert secretvalues.is_secret_var.__wrapped__(name) is expected, name


def _frontend_reference(text: str) -> list[tuple[str, int]]:
    out = []
    for m in envgraph._FRONTEND_RE.finditer(text):
        name = m.group(2) or m.group(3)
        if name not in envgraph.FRONTEND_BUILTINS:
            out.append((name, text.count("\n", 0, m.start()) + 1))
    for m in envgraph._DESTRUCTURE_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for part in m.group(1).split(","):
            name = part.split(":")[0].split("=")[0].strip()
            if name.isidentifier() and name not in envgraph.FRONTEND_BUILTINS:
                out.append((name, line))
    return out


def test_frontend_reads_are_the_single_regex_reads() -> None:
    texts = ["import.meta.env.process.env.X", "process.env.import.meta.env.VITE_A",
             "const { VITE_A, B: b = 1 } = import.meta.env\nprocess.env?.['C']\n"] + _fuzz(
        ["import.meta.env", "process.env", ".", "?.", "[", "]", "'", '"', "VITE_A", "process",
         "env", "\n", " ", "{", "}", "=", ",", "MODE", ":"], 30000, 3)
    for text in texts:
        assert envgraph.frontend_reads(text) == _frontend_reference(text), text


def test_seed_prefilter_words_cover_every_password_keyword() -> None:
    for kwarg in codesecrets.PASSWORD_KWARGS:
        assert "passw" in kwarg or "pwd" in kwarg
    assert {"create_superuser"} | codesecrets.HASHERS <= codesecrets._SEED_CALLS


def test_access_code_endings_cover_the_access_code_regex() -> None:
    names = ["RegistrationCode", "InviteCode", "ApiKey", "api_keys", "Invitation", "invites",
             "create_api_key", "AccessToken", "beta_codes", "referralCODE", "SignupToken",
             "Key", "apiKEY", "enrolment_keys"] + _fuzz(
        ["Api", "api_", "Key", "key", "s", "Code", "code", "Invite", "invitation", "Token",
         "access_", "_", "X"], 5000, 4)
    for name in names:
        if codesecrets._ACCESS_CODE_RE.search(codesecrets._snake(name)):
            assert name.lower().endswith(codesecrets._ACCESS_CODE_ENDS), name


@pytest.mark.parametrize("text", ["# Title\n\nSet `API_KEY` in the environment.\n",
                                  "prose with A_B=1 inline only\n"])
def test_prose_documents_define_no_variable(text: str) -> None:
    assert envdocs.doc_variables(text) == []
    assert envdocs.doc_variables(text + "\n```\nAPI_KEY=x\n```\n") == [("API_KEY", len(
        text.splitlines()) + 3)]


@pytest.mark.parametrize("text", ["x = {404: not_found}\n", "app = App(exception_handlers=h)\n",
                                  "x = {'a': 1}\n", "y = x404\n"])
def test_the_pass_records_whether_a_module_names_an_error_status(text: str) -> None:
    import ast

    from prodaudit.product.pyindex import PyModule

    module = PyModule("app/m.py", ast.parse(text), text).index()
    expected = "exception_handlers" in text or \
        error_handlers._STATUS_TEXT.search(text) is not None
    assert module.fact("error_handlers:status_text") is expected
    assert error_handlers._may_register(module) is expected


_TOKEN = "mWM7pgvjtUSAtfaK8RXLjzOaLmurBxIWxMdQIQ0t1fSv9orq"


@pytest.mark.parametrize("text", [
    "client_secret = os.environ.get('CLIENT_SECRET', '')\nname = 'x'\n",
    f"client_secret = forms.CharField(widget=HiddenInput(attrs={{'value': '{_TOKEN}'}}))\n",
    f"url = '{_TOKEN}'\nclient_secret = build(prefix='short')\n",  # random, but not in it
    f"def f():\n    api_key = make(f'{{x}}{_TOKEN}')\n",  # inside an f-string
    f"settings.SECRET_KEY: str = fetch(default=' {_TOKEN} ')\n",
])
def test_nested_tokens_skip_only_modules_without_a_random_string(text: str) -> None:
    import ast

    from prodaudit.product.pyindex import PyModule

    module = PyModule("app/m.py", ast.parse(text), text).index()
    walked = [found for node in module.assigns if node.value is not None
              for found in codesecrets._nested_tokens(module.rel, node)]
    assert codesecrets._module_nested_tokens(module) == walked
    assert bool(walked) is (_TOKEN in text and "client_secret = forms" in text
                            or "api_key" in text or "SECRET_KEY" in text)


def test_drf_write_views_and_schema_instances_decompress_only_modules_that_can_hold_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prodaudit.product import pyindex, request_schemas


    view = ("from rest_framework import generics\n\n\n"
            "class RegisterView(generics.CreateAPIView):\n    serializer_class = S\n")
    schemas = "from marshmallow import Schema\n\nuser_schema = UserSchema()\n"
    plain = "import os\n\n\ndef f():\n    return os.environ.get('APIView_Schema(')\n"
    files = {"app/views.py": view, "app/schemas.py": schemas,
             **{f"app/plain{i}.py": plain for i in range(5)}}
    ctx = context(write(tmp_path / "repo", files), tmp_path)
    pyindex.py_index(ctx)  # the pass itself reads every module
    opened: list[bytes] = []
    real = pyindex.unpack
    monkeypatch.setattr(pyindex, "unpack", lambda packed: opened.append(packed) or real(packed))
    writes = request_schemas.generic_write_views(ctx)
    assert [(e.view, e.methods) for e in writes] == [("RegisterView", ("POST",))]
    assert request_schemas._instances(ctx) == {"user_schema": "UserSchema"}
    texts = {real(p) for p in opened}
    # the views module (it has classes) and the schemas module (a module-level assignment): never
    # the five modules that have neither, though their text holds both words
    assert texts == {view, schemas}, texts
