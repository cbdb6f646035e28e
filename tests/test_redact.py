from __future__ import annotations

import pytest

from prodaudit.redact import MASK, Redactor, is_secret_name, quote_line, quote_window


def test_registered_values_and_env_are_masked() -> None:
    r = Redactor()
    r.register_env({"JWT_SECRET": "s3cr3t-value-long", "LOG_LEVEL": "INFO",
                    "DATABASE_URL": "postgresql://app:pg-pass-123@db:5432/app"})
    out = r("secret=s3cr3t-value-long url=postgresql://app:pg-pass-123@db/app level INFO")
    assert "s3cr3t-value-long" not in out and "pg-pass-123" not in out
    assert "INFO" in out and MASK in out


def test_patterns_mask_unregistered_credentials() -> None:
    r = Redactor()
    text = (
        "key sk-proj-abcdefghijklmnopqrstuvwxyz123456 aws AKIAABCDEFGHIJKLMNOP\n"
        "Authorization: Bearer abc.def.ghi\n"
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl\n"
        "ghp_" + "a" * 36
    )
    out = r(text)
    assert "abcdefghijklmnopqrstuvwxyz123456" not in out
    assert "ABCDEFGHIJKLMNOP" not in out
    assert "abc.def.ghi" not in out
    assert "c2lnbmF0dXJlc2lnbmF0dXJl" not in out
    assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" in out  # header/payload kept as evidence
    assert "a" * 36 not in out


def test_short_values_are_not_registered() -> None:
    r = Redactor()
    r.register("ab", "", None)
    assert r("ab cd") == "ab cd"


def test_redact_obj_nested() -> None:
    r = Redactor()
    r.register("topsecretvalue")
    assert r.redact_obj({"a": ["x topsecretvalue"], "b": 1}) == {"a": [f"x {MASK}"], "b": 1}


def test_secret_names() -> None:
    for n in ("JWT_SECRET", "DB_PASSWORD", "LLM_API_KEY", "GITHUB_TOKEN", "SENTRY_DSN"):
        assert is_secret_name(n), n
    for n in ("LOG_LEVEL", "DATABASE_HOST", "KEYBOARD_LAYOUT_NAME"):
        assert not is_secret_name(n), n


def test_a_word_like_secret_is_masked_in_value_positions_only() -> None:
    r = Redactor()
    r.register("secret")  # a weak JWT secret cracked from a word list
    prose = "the JWT signing secret is guessable; common secrets and a secret-sauce stay readable"
    assert r(prose) == prose
    for text in ("JWT_SECRET=secret", 'JWT_SECRET="secret"', '{"jwt": "secret"}',
                 "Authorization: Bearer secret", "redis://:secret@redis:6379/0", "secret",
                 "key: 'secret' # yaml"):
        out = r(text)
        assert MASK in out and "secret" not in out.replace("SECRET", ""), (text, out)


def test_registered_values_are_masked_as_whole_tokens() -> None:
    r = Redactor()
    r.register("Zk39-xQ7pL2mN8vR4t", "p@ss w0rd!")
    out = r("a=Zk39-xQ7pL2mN8vR4t b=Zk39-xQ7pL2mN8vR4tX c=(Zk39-xQ7pL2mN8vR4t) d='p@ss w0rd!'")
    assert out == f"a={MASK} b=Zk39-xQ7pL2mN8vR4tX c=({MASK}) d='{MASK}'"


def test_each_text_is_redacted_once_per_set_of_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import prodaudit.redact as redact

    r = Redactor()
    r.register("first-value-123")
    calls: list[str] = []
    real = redact._mask_values
    monkeypatch.setattr(redact, "_mask_values", lambda t, m: calls.append(t) or real(t, m))
    text = "x first-value-123 second-value-456"
    once = r(text)
    assert r(text) == once and r(once) == once and len(calls) == 1  # runner, then governance
    r.register("second-value-456")  # a value registered later: the final pass masks it too
    assert r(once) == f"x {MASK} {MASK}" and len(calls) == 2


def test_private_key_bodies_are_masked_without_their_end_line() -> None:
    body = ["MIIEowIBAAKCAQEA1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ", "Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUv"]
    for text in ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n",
                 '"private_key": "-----BEGIN PRIVATE KEY-----\\n' + "\\n".join(body) + '\\n...'):
        out = Redactor()(text)
        assert not any(b in out for b in body), out


def test_quote_window_is_bounded_and_masks_every_credential() -> None:
    pw, key = "Tr0ub4dor&3xyzQ", "sk-proj-" + "Ab3" * 22
    line = "var a=1;" * 100 + f'const pw="{pw}";const k="{key}";' + "var b=2;" * 100
    start = line.index(key)
    out = quote_window(line, start, start + len(key), keep=8)
    assert pw not in out and key[8:] not in out and "sk-proj-[REDACTED]" in out
    assert len(out) <= len(key) + 2 * 60 + 30 and out.startswith("…") and out.endswith("…")
    shown = quote_line("web: uvicorn app:app --reload --api-key ghp_" + "x1" * 18, 5, 25)
    assert "uvicorn app:app --reload" in shown and "x1x1" not in shown


def test_redact_obj_copies_only_what_changes() -> None:
    r = Redactor()
    r.register("topsecretvalue")
    clean = {"variables": [{"name": "A", "read_at": ["app.py:1"]}], "n": 2}
    assert r.redact_obj(clean) is clean  # nothing to mask: the same structure, not a copy
    mixed = {"keep": ["app.py:1"], "leak": ["x topsecretvalue"], "t": ("y",)}
    out = r.redact_obj(mixed)
    assert out == {"keep": ["app.py:1"], "leak": [f"x {MASK}"], "t": ["y"]}
    assert out["keep"] is mixed["keep"] and mixed["leak"] == ["x topsecretvalue"]


def test_a_flat_dict_is_tested_at_once_and_masked_string_by_string() -> None:
    """A dict of scalars and lists of strings (an env graph variable) is tested in one go:
    a registered value next to other strings' letters is still a whole token of its own."""
    r = Redactor()
    r.register("Zk39-xQ7pL2mN8vR4t")
    var = {"name": "API_TOKEN", "read_at": ["app.py:1", "Zk39-xQ7pL2mN8vR4t"], "n": 1,
           "description": "x", "default": None}
    out = r.redact_obj(var)
    assert out["read_at"] == ["app.py:1", MASK] and out["description"] == "x"
    clean = {"name": "A", "read_at": ["app.py:1", "b.py:2"], "secret": False, "default": "y"}
    assert r.redact_obj(clean) is clean


def _reference_redact_obj(r: Redactor, obj: object) -> object:
    """``redact_obj`` as it was before its walk skipped clean strings: every string through
    ``redact``."""
    if isinstance(obj, str):
        return r.redact(obj)
    if isinstance(obj, dict):
        out = None
        for k, v in obj.items():
            red = _reference_redact_obj(r, v)
            if not (red is v or (type(red) is str and type(v) is str and red == v)):
                out = dict(obj) if out is None else out
                out[k] = red
        return obj if out is None else out
    if isinstance(obj, list | tuple):
        items = [_reference_redact_obj(r, v) for v in obj]
        same = all(a is b or (type(a) is str and type(b) is str and a == b) for a, b in zip(items, obj))
        return obj if isinstance(obj, list) and same else items
    return obj


class _Name(str):
    pass


def test_redact_obj_skips_only_strings_that_hold_nothing_to_mask() -> None:
    """The walk keeps a string without calling ``redact`` only when no pattern hint and no
    registered value is in it: on random structures it gives what redacting every string gave,
    and copies exactly what that copied."""
    import random

    # a value with a newline: the walk tests a flat dict's strings joined by newlines at once,
    # where it could span two of them (the test then fails and each string is tested alone)
    secrets = ["Zk39-xQ7pL2mN8vR4t", "secret", "p@ss w0rd!", "AKIAABCDEFGHIJKLMNOP",
               "ab-12\ncd-34"]
    texts = ["", "plain text", "app.py:12", "JWT_SECRET", "the secret is out", "JWT_SECRET=secret",
             "a=Zk39-xQ7pL2mN8vR4t", "Zk39-xQ7pL2mN8vR4tX", "d='p@ss w0rd!'", "p@ss w0rd!x",
             "postgresql://app:pg-pass-9@db/app", "key sk-proj-" + "a" * 30, "id AKIAABCDEFGHIJKLMNOP",
             "ghp_" + "b" * 36, "Authorization: Bearer abc", "ordinary://url", _Name("x=secret"),
             _Name("clean name"), "ü and ☃ secret", "secret", "ab-12", "cd-34",
             "x ab-12\ncd-34 y"]

    def build(rng: random.Random, depth: int) -> object:
        kind = rng.randrange(8 if depth else 5)
        if kind < 3:
            return rng.choice(texts)
        if kind == 3:
            return rng.choice([1, 2.5, True, None, ("t", "secret")])
        if kind == 4:
            return rng.choice([[], {}, ()])
        items = [build(rng, depth - 1) for _ in range(rng.randrange(1, 5))]
        if kind == 5:
            return items
        if kind == 6:
            return tuple(items)
        return {f"k{i}": v for i, v in enumerate(items)}

    rng = random.Random(7)
    masked = 0
    for n in range(300):
        r = Redactor()
        r.register(*rng.sample(secrets, rng.randrange(len(secrets) + 1)))
        obj = build(rng, 4)
        expected = _reference_redact_obj(r, obj)
        got = r.redact_obj(obj)
        assert got == expected, (n, obj)
        if not isinstance(obj, str):  # a container: copied exactly when something changed
            assert (got is obj) == (expected is obj), (n, obj)
        masked += expected != obj
    assert masked > 50  # the structures had something to mask, often


def test_a_long_table_of_flat_dicts_is_redacted_as_string_by_string() -> None:
    """A list of many flat dicts (an env graph's variables) is tested a block at a time: the
    blocks with nothing to mask are kept as they are, the others dict by dict — the result is
    what redacting every string gives, and copies exactly what that copies."""
    import random

    rng = random.Random(11)
    r = Redactor()
    r.register("Zk39-xQ7pL2mN8vR4t", "p@ss w0rd!")
    values = ["app.py:1", "x", "", "Zk39-xQ7pL2mN8vR4t", "d='p@ss w0rd!'", "AKIAF0QZ1GGNZZ8JMFAO",
              "postgresql://app:pg-pass-9@db/app", "plain"]
    for n in range(40):
        rows = [{"name": f"V{i}", "read_at": [rng.choice(values[:3]) for _ in range(rng.randrange(3))],
                 "default": None, "secret": False, "description": "d"} for i in range(rng.randrange(60, 300))]
        for _ in range(rng.randrange(3)):  # a few rows with something to mask, anywhere
            row = rng.choice(rows)
            row[rng.choice(["description", "default"])] = rng.choice(values[3:])
        if n % 5 == 0:
            rows[rng.randrange(len(rows))]["nested"] = {"k": "Zk39-xQ7pL2mN8vR4t"}  # not flat
        expected = _reference_redact_obj(r, rows)
        got = r.redact_obj(rows)
        assert got == expected, n
        assert (got is rows) == (expected is rows), n
        if got is not rows:
            assert all(a is b for a, b, e in zip(got, rows, expected, strict=True) if e is b)
