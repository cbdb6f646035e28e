"""RDY-013 and RDY-016: how the backend stores passwords (no fast unsalted hash) and which
passwords its registration and password-change inputs accept, read statically (``ast``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._backend import broken_sources
from prodaudit.checks.readiness._scan import PyModule, call_name
from prodaudit.checks.readiness._taint import aliases, code_modules, handler_params, is_handler, qualified
from prodaudit.product.endpoints import dev_endpoints, dev_only_inputs

MIN_LENGTH = 8
_PASSWORD_NAME = re.compile(r"(^|_)(password|passwd|passphrase|pwd)\d?$", re.I)
_FAST_HASHES = re.compile(r"^(hashlib\.)?(md5|sha1|sha224|sha256|sha384|sha512|blake2b|"
                          r"blake2s)$|^hashlib\.new$|^Crypto\.Hash\.(MD5|SHA1|SHA256)\.new$")
# schema classes that take a password to check it, not to set it
_NOT_SETTING = re.compile(r"Login|SignIn|Signin|Auth|Token|Credential|Verify|Check|Confirm|InDB|"
                          r"Internal|Response|Out$|Read$|Public")
_WEAK_SAMPLES = ("a", "1", "abc", "1234", "abcdef", "1234567")
_REGISTER = re.compile(r"sign_?up|register|registration|create_user|new_user", re.I)


# ---- RDY-013 fast hashes of passwords ----------------------------------------------------------


_SLOW_HASHERS = re.compile(r"\bbcrypt\.|argon2|passlib|CryptContext|scrypt|pbkdf2|"
                           r"generate_password_hash|make_password")


def _fast_hashes(mod: PyModule) -> Iterator[tuple[ast.Call, str]]:
    if _SLOW_HASHERS.search(mod.text):
        return  # a fast digest next to a slow hasher is a pre-hash (bcrypt's 72-byte limit)
    names = aliases(mod)
    for node in ast.walk(mod.tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        q = qualified(node, names)
        if not _FAST_HASHES.match(q):
            continue
        for n in ast.walk(node.args[-1] if q.endswith(".new") else node.args[0]):
            ident = n.id if isinstance(n, ast.Name) else n.attr if isinstance(
                n, ast.Attribute) else ""
            if ident and _PASSWORD_NAME.search(ident):
                yield node, q
                break


@check("RDY-013", "Passwords are hashed with a slow, salted algorithm (not md5/sha)",
       severity=Severity.HIGH, needs=("repo",), checklist=("1.3.1", "8.1.4"),
       references=("CWE-916", "CWE-328", "OWASP A02:2021"), evidence=Evidence.PARSED)
def password_hashing(ctx: Context) -> list[Finding]:
    """No password-named value (``password``, ``passwd``, ``pwd`` …) is passed to a fast hash —
    ``hashlib.md5``/``sha1``/``sha256``/``sha512``/``blake2``, ``hashlib.new(...)``,
    PyCryptodome ``MD5.new`` — to store or compare it. Hashes of other values (a Gravatar
    e-mail digest, an ETag) are not judged, nor a digest in a module that also uses a slow
    hasher (bcrypt, argon2, passlib, scrypt, PBKDF2): that is a pre-hash.

    A fast, unsalted digest falls to a dictionary or rainbow table within minutes once the
    table leaks: every user's password (and their other accounts) is exposed.

    Remediation: ``bcrypt``/``argon2-cffi``/``passlib`` (``CryptContext(schemes=["argon2",
    "bcrypt"])``) or Django's/Werkzeug's password hashers, and rehash at the next login.
    """
    mods = code_modules(ctx)
    if not mods:
        raise Skip("no Python backend modules in the repository")
    findings = broken_sources(ctx)
    for m in mods:
        for call, q in _fast_hashes(m):
            findings.append(failed(f"a password is hashed with {q} (fast, unsalted)",
                                   location=m.line(call), evidence=ast.unparse(call)[:160]))
    if not any(f.status.value == "fail" for f in findings):
        findings.append(passed(f"{len(mods)} backend module(s): no password reaches a fast "
                               "hash (md5/sha*)"))
    return findings


# ---- RDY-016 password policy of inputs ---------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    location: str
    owner: str
    min_length: int | None
    pattern: str | None


def _constraints(e: ast.AST, consts: dict[str, int]) -> tuple[int | None, str | None, bool]:
    """(min length, pattern, validated) found in a field declaration (``consts``: the module's
    integer constants, for ``min_length=MIN_PASSWORD_CHARS``)."""

    def _int(v: ast.expr | None) -> int | None:
        if isinstance(v, ast.Name):
            return consts.get(v.id)
        return v.value if isinstance(v, ast.Constant) and isinstance(v.value, int) else None

    min_len: int | None = None
    pattern: str | None = None
    validated = False
    for n in ast.walk(e):
        if not isinstance(n, ast.Call):
            continue
        name = call_name(n).split(".")[-1]
        for kw in n.keywords:
            if kw.arg in ("min_length", "min") and name not in ("Range",):
                min_len = max(min_len or 0, _int(kw.value) or 0)
            elif kw.arg in ("pattern", "regex") and isinstance(kw.value, ast.Constant):
                pattern = str(kw.value.value)
        if name in ("Length", "MinLengthValidator") and n.args and _int(n.args[0]) is not None:
            min_len = max(min_len or 0, _int(n.args[0]) or 0)
        if name in ("Regexp", "RegexValidator", "Regex") and n.args and \
                isinstance(n.args[0], ast.Constant):
            pattern = str(n.args[0].value)
        if name in ("validate_password", "PasswordValidator", "zxcvbn") or \
                (name == "validate" and not n.keywords and n.args):
            validated = True
    return min_len, pattern, validated


def _accepts(min_len: int | None, pattern: str | None) -> str | None:
    """A weak password the rule accepts, or None."""
    for sample in _WEAK_SAMPLES:
        if min_len is not None and len(sample) < min_len:
            continue
        if pattern is not None:
            try:
                if re.search(pattern, sample) is None:
                    continue
            except re.error:
                return None
        return sample
    return None


def _custom_validator(cls: ast.ClassDef, field: str) -> bool:
    """A validator method of the class judges ``field`` (pydantic, marshmallow, DRF)."""
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if fn.name == f"validate_{field}":
            return True
        for dec in fn.decorator_list:
            if isinstance(dec, ast.Call) and re.search(r"valid", call_name(dec)) and any(
                    isinstance(a, ast.Constant) and a.value == field for a in dec.args):
                return True
    return False


_SCHEMA_BASE = re.compile(r"BaseModel|Schema|Form|Serializer|SQLModel|Struct")


def _is_input_schema(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], depth: int = 0) -> bool:
    """A pydantic/marshmallow/WTForms/DRF class (bases followed inside the module; a base
    imported from elsewhere counts)."""
    if depth > 6 or not cls.bases or any("dataclass" in ast.unparse(d)
                                         for d in cls.decorator_list):
        return False
    for b in cls.bases:
        name = ast.unparse(b)
        if _SCHEMA_BASE.search(name):
            return True
        local = classes.get(name)
        if local is None and name not in ("object", "Enum", "str", "int", "Exception"):
            return True
        if local is not None and local is not cls and _is_input_schema(local, classes,
                                                                      depth + 1):
            return True
    return False


def _password_field(stmt: ast.stmt) -> tuple[str, ast.AST] | None:
    """(field name, declaration) when ``stmt`` declares a password a client sets."""
    target: str | None = None
    decl: ast.AST | None = None
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        target, decl = stmt.target.id, ast.Module([stmt], [])
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
            isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call):
        target, decl = stmt.targets[0].id, stmt.value
        kind = call_name(stmt.value).split(".")[-1]
        if not re.search(r"String|Str|Password|CharField|Field$", kind) or \
                "dump_only" in ast.unparse(stmt.value):
            return None
    if target is None or decl is None or not _PASSWORD_NAME.search(target) or \
            re.search(r"hash|old|current", target, re.I):
        return None
    return target, decl


def _own_names(body: list[ast.stmt]) -> set[str]:
    """Names the statements of a class body assign."""
    return {t.id for stmt in body for t in (
        [stmt.target] if isinstance(stmt, ast.AnnAssign) else
        stmt.targets if isinstance(stmt, ast.Assign) else []) if isinstance(t, ast.Name)}


def _inherited(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]
               ) -> Iterator[tuple[ast.ClassDef, ast.stmt]]:
    """(base, statement) of the fields ``cls`` inherits from bases of its module that it does
    not declare itself (``class UserInCreate(UserInLogin)`` takes ``UserInLogin.password``)."""
    seen, declared = {cls.name}, _own_names(cls.body)
    todo = [ast.unparse(b) for b in cls.bases]
    while todo:
        base = classes.get(todo.pop(0))
        if base is None or base.name in seen:
            continue
        seen.add(base.name)
        for stmt in base.body:
            names = _own_names([stmt])
            if names and not names & declared:
                yield base, stmt
        declared |= _own_names(base.body)
        todo += [ast.unparse(b) for b in base.bases]


def _class_rules(mod: PyModule) -> Iterator[tuple[ast.AST, str, str | None]]:
    classes = {c.name: c for c in ast.walk(mod.tree) if isinstance(c, ast.ClassDef)}
    consts = {t.id: n.value.value for n in mod.tree.body if isinstance(n, ast.Assign)
              and isinstance(n.value, ast.Constant) and isinstance(n.value.value, int)
              for t in n.targets if isinstance(t, ast.Name)}
    outer = {id(c): p.name for p in ast.walk(mod.tree) if isinstance(p, ast.ClassDef)
             for c in p.body if isinstance(c, ast.ClassDef)}
    for cls in (n for n in ast.walk(mod.tree) if isinstance(n, ast.ClassDef)):
        bases = " ".join(ast.unparse(b) for b in cls.bases)
        if _NOT_SETTING.search(cls.name + " " + outer.get(id(cls), "")) or \
                re.search(r"Settings|Config", cls.name + bases) or \
                not _is_input_schema(cls, classes):
            continue
        fields: list[tuple[ast.ClassDef, ast.stmt]] = [(cls, stmt) for stmt in cls.body]
        # inherited from a base judged on its own (not a login model): reported at the base
        fields += [(b, st) for b, st in _inherited(cls, classes) if _NOT_SETTING.search(b.name)]
        for owner, stmt in fields:
            found = _password_field(stmt)
            if found is None:
                continue
            target, decl = found
            min_len, pattern, validated = _constraints(decl, consts)
            validated = validated or _custom_validator(owner, target) or \
                _custom_validator(cls, target)
            weak = None if validated else _accepts(min_len, pattern)
            rule = f"min length {min_len}" if min_len else "no minimum length"
            if pattern:
                rule += f", pattern {pattern!r}"
            label = f"{cls.name}.{target}" if owner is cls else \
                f"{cls.name}.{target} (inherited from {owner.name}, line {stmt.lineno})"
            yield (stmt if owner is cls else cls), label, None if weak is None else \
                f"{rule}: accepts {weak!r}"


def _handler_rules(mod: PyModule) -> Iterator[tuple[ast.AST, str, str | None]]:
    for fn in (n for n in ast.walk(mod.tree) if isinstance(n, ast.FunctionDef |
                                                            ast.AsyncFunctionDef)):
        if not is_handler(fn) or not _REGISTER.search(
                fn.name + " ".join(ast.unparse(d) for d in fn.decorator_list)):
            continue
        text = ast.unparse(fn)
        checked = bool(re.search(r"len\(\s*[\w.]*password", text)) or "validate_password" in text
        for arg in fn.args.args + fn.args.kwonlyargs:
            ann = ast.unparse(arg.annotation) if arg.annotation is not None else ""
            if ann.endswith("OAuth2PasswordRequestForm") or (
                    _PASSWORD_NAME.search(arg.arg) and arg.arg in handler_params(fn)
                    and ann in ("", "str")):
                yield arg, f"{fn.name}({arg.arg})", None if checked else \
                    "the password is taken as it comes (no minimum length)"


@check("RDY-016", "Registration and password changes enforce a minimum password strength",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("8.1.4",),
       references=("CWE-521", "OWASP ASVS 2.1.1"), evidence=Evidence.PARSED)
def password_policy(ctx: Context) -> list[Finding]:
    """Every input that sets a password — a pydantic model (``Field``/``constr``
    ``min_length``/``pattern``), a marshmallow schema (``validate.Length``), a WTForms form
    (``Length``/``Regexp``) or a registration handler's parameter (``OAuth2PasswordRequestForm``
    in a sign-up route) — requires at least 8 characters. Each rule is tried on weak samples
    (``a``, ``1234``, ``1234567``): a pattern that accepts one (e.g. an unanchored alternation)
    is as weak as no rule. Models for logging in or reading, fields judged by a custom
    validator, and the inputs of routes registered only outside production (a router included
    under ``if settings.ENVIRONMENT == "local":``: the schema only those routes take, their
    handlers; the PASS names them) are not judged; a model that sets a password through a field
    it inherits from such a login model of its module (``class UserInCreate(UserInLogin)``) is
    judged on that field, reported at the inheriting class. WARN: a service may still check the
    password elsewhere.

    Short passwords fall to online guessing and to the first offline attack on the hashes.

    Remediation: ``Field(min_length=12)`` (NIST SP 800-63B: at least 8, better 12+, no
    composition rules, check against breached passwords), the same rule on every input that
    sets a password.
    """
    mods = code_modules(ctx)
    if not mods:
        raise Skip("no Python backend modules in the repository")
    findings = broken_sources(ctx)
    judged: list[str] = []
    weak = 0
    dev_inputs = dev_only_inputs(ctx)
    dev_handlers = {(e.module.rel, e.func.name): e.dev_only for e in dev_endpoints(ctx)}
    dev: list[str] = []
    if any("validate_password(" in m.text for m in mods):
        mods = [m for m in mods if "django" not in m.text and "rest_framework" not in m.text]
    for m in mods:
        for node, owner, why in [*_class_rules(m), *_handler_rules(m)]:
            guard = dev_inputs.get(owner.split(".")[0]) or \
                dev_handlers.get((m.rel, owner.split("(")[0]))
            if guard:
                dev.append(f"{owner} (only development-only routes: {guard})")
                continue
            judged.append(owner)
            if why is not None:
                weak += 1
                findings.append(warned(f"{owner}: {why}", location=m.line(node),
                                       evidence=ast.unparse(node)[:160]))
    not_judged = f"; not judged: {', '.join(dev[:3])}" if dev else ""
    if not judged and dev:
        raise Skip(f"the only inputs that set a password serve development-only routes: "
                   f"{', '.join(dev[:3])}")
    if not judged:
        raise Skip("no input that sets a password found (schema field or sign-up handler)")
    if not weak:
        findings.append(passed(f"{len(judged)} password input(s) require {MIN_LENGTH}+ "
                               f"characters: {', '.join(judged[:5])}{not_judged}"))
    return findings
