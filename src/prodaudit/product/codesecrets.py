"""Credentials written into the application's code: literal values and literal defaults of
secret-named settings (any length), URLs with a password, generated-looking tokens assigned to
secret-named names, accounts a seed script creates with a literal password, and access codes
(registration/invitation codes, API keys) a seed script creates with a literal value. Not a check
module: CFG-023 and CFG-024 report these.

Never a credential: numbers, durations, booleans, import and file paths, URLs without a password,
empty values, references (``${VAR}``), a self-describing value in a sample payload of the API's
documentation (``EXAMPLES = {...: {"password": "strongpassword123"}}``,
``secretvalues.example_payload``); never judged: tests, documentation, development or test
settings modules and classes, settings assigned only under a CI/test condition.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.pyindex import PyModule, extractor, py_index
from prodaudit.product.pysettings import settings_model
from prodaudit.product.pyvalues import Composed
from prodaudit.product.secretvalues import (
    example_payload,
    is_secret_var,
    looks_random,
    not_a_credential,
    placeholder_reason,
    url_password,
)
from prodaudit.product.textwords import contains_any, non_ascii

if TYPE_CHECKING:
    from prodaudit.context import Context

HASHERS = frozenset({"hashpw", "generate_password_hash", "make_password", "hash_password",
                     "get_password_hash", "set_password", "encrypt_password", "hash"})
PASSWORD_KWARGS = frozenset({"password", "passwd", "pwd", "raw_password", "plain_password",
                             "password1"})
PRIVILEGE_KWARGS = frozenset({"is_superuser", "is_admin", "is_staff", "superuser", "admin",
                              "is_root"})
_PRIVILEGED_RE = re.compile(r"admin|superuser|root|owner|staff", re.I)
#: constants that say they are not a real credential (``WEAK_SECRET`` used to test weak keys)
_NOT_REAL_RE = re.compile(r"^(WEAK|TEST|TESTING|DUMMY|FAKE|EXAMPLE|SAMPLE|MOCK)_", re.I)
_SEED_RE = re.compile(r"seed|initial|init_?db|^init$|fixture|bootstrap|populate|demo|setup_db|"
                      r"create_(first|initial|default)", re.I)
_SEED_TEXT_RE = re.compile(r"passw|pwd|hashpw|make_password|password_hash|create_superuser",
                           re.I)
_CREATOR_RE = re.compile(r"user|create|admin|account|member|add|seed|^[A-Z]")


@dataclass(frozen=True)
class CodeSecret:
    name: str
    path: str
    line: int
    value: str
    how: str  # "a literal" | "the default of VAR" | "a URL with a password" | ...

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class SeededAccount:
    path: str
    line: int
    value: str  # the literal password
    who: str  # what the call creates, e.g. "UserCreate(..., is_superuser=True)"
    privileged: bool
    user: str | None = None  # the literal user name or e-mail address it is created with

    @property
    def loc(self) -> str:
        return f"{self.path}:{self.line}"


def register(ctx: Context, value: str | None) -> None:
    """Mask ``value`` in every output unless it is a well-known default (``postgres``,
    ``password``, ``admin``): it protects nothing and would blank that word in every report."""
    if value and placeholder_reason(value) is None:
        ctx.redact.register(value)


def code_secrets(ctx: Context) -> list[CodeSecret]:
    """Every credential in the application's settings and assignments (memoised)."""
    return ctx.memo("product:code_secrets", lambda: _code_secrets(ctx))


def _code_secrets(ctx: Context) -> list[CodeSecret]:
    out: dict[str, CodeSecret] = {}
    for s in settings_model(ctx).settings:
        if s.dev or s.ci_only or not isinstance(s.value, str) or isinstance(s.value, Composed):
            continue
        if _NOT_REAL_RE.match(s.name):
            continue
        secret_name = is_secret_var(s.name) or bool(s.env and is_secret_var(s.env))
        how = "a literal in code" if s.env is None else f"the default of {s.env} in code"
        if secret_name and s.env is None and \
                example_payload(s.path, ctx.read(s.path) or "", s.line, s.value):
            continue
        if secret_name and not_a_credential(s.value, s.name, s.env) is None:
            out.setdefault(s.loc, CodeSecret(s.name, s.path, s.line, s.value, how))
            continue
        pw = url_password(s.value)
        if pw and not_a_credential(pw) is None:
            out.setdefault(s.loc, CodeSecret(s.name, s.path, s.line, pw,
                                             f"a URL with a password ({how})"))
    for module in py_index(ctx):
        for found in module.fact("codesecrets:nested"):
            out.setdefault(found.loc, found)
    for found in _config_file_secrets(ctx):
        out.setdefault(found.loc, found)
    return sorted(out.values(), key=lambda c: (c.path, c.line))


CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf")
_CONFIG_KEY_RE = re.compile(r"""^\s*["']?([A-Za-z_][\w.-]*)["']?\s*[:=]\s*["']?([^"'#\n,]*)""")


def _config_file_secrets(ctx: Context) -> list[CodeSecret]:
    """Secret-named keys with literal values in the configuration files the application code
    loads by name (``default_config="./config/dev.yaml"``): the file it runs with."""
    import posixpath

    indexed = set(ctx.files.files)
    referenced: dict[str, str] = {}
    for module in py_index(ctx):
        rel = module.rel
        base = posixpath.dirname(rel)
        for value, lineno in module.fact("codesecrets:config_names"):
            for cand in (posixpath.normpath(value), posixpath.normpath(posixpath.join(base, value))):
                if cand in indexed and not cand.startswith(("..", "/")):
                    referenced.setdefault(cand, f"{rel}:{lineno}")
    out = []
    for path, by in sorted(referenced.items()):
        text = ctx.read(path) or ""
        for n, line in enumerate(text.splitlines(), 1):
            m = _CONFIG_KEY_RE.match(line)
            if m is None or not is_secret_var(m.group(1).rsplit(".", 1)[-1]):
                continue
            value = m.group(2).strip()
            if not_a_credential(value, m.group(1).rsplit(".", 1)[-1]) is None:
                out.append(CodeSecret(m.group(1), path, n, value,
                                      f"a literal in the configuration file {by} loads"))
    return out


def _target_names(node: ast.Assign | ast.AnnAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = []
    for t in targets:
        if isinstance(t, ast.Name):
            names.append(t.id)
        elif isinstance(t, ast.Attribute):
            names.append(t.attr)
        elif isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) \
                and isinstance(t.slice.value, str):
            names.append(t.slice.value)
    return names


@extractor("codesecrets:nested")
def _module_nested_tokens(module: PyModule) -> list[CodeSecret]:
    """:func:`_nested_tokens` of every assignment of the module (the py_index pass). A module
    none of whose strings looks random has none in an assignment either (``strings`` holds
    every string constant of the tree): its assignments are not walked."""
    if not any(isinstance(v := node.value, str) and looks_random(v) for node in module.strings):
        return []
    return [found for node in module.assigns if node.value is not None
            for found in _nested_tokens(module.rel, node)]


@extractor("codesecrets:config_names")
def _config_names(module: PyModule) -> list[tuple[str, int]]:
    """(string, line) of the module's strings that name a configuration file."""
    return [(node.value, node.lineno) for node in module.strings
            if isinstance(node.value, str) and node.value.endswith(CONFIG_SUFFIXES)
            and len(node.value) < 200]


def _nested_tokens(rel: str, node: ast.Assign | ast.AnnAssign) -> list[CodeSecret]:
    """A generated-looking token anywhere in the value assigned to a secret-named name
    (``client_secret = forms.CharField(widget=HiddenInput(attrs={"value": "mWM7..."}))``)."""
    names = [n for n in _target_names(node) if is_secret_var(n)]
    if not names:
        return []
    out = []
    for sub in ast.walk(node.value):  # type: ignore[arg-type]
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                and looks_random(sub.value):
            out.append(CodeSecret(names[0], rel, sub.lineno, sub.value,
                                  "a generated-looking token assigned in code"))
    return out


# ---------------------------------------------------------------------------- seeds
#: calls :func:`_seed_call` reads a password from without a password keyword argument
_SEED_CALLS = HASHERS | {"create_superuser"}


def _may_seed(module: PyModule) -> bool:
    """The module's text names a password (:data:`_SEED_TEXT_RE`) and can hold a seeding call:
    a password keyword argument (every one of ``PASSWORD_KWARGS`` contains ``passw`` or ``pwd``;
    a text with non-ASCII identifiers may spell one with other characters) or a call named
    ``create_superuser`` or a hasher. The summary (its words and names) first: the
    case-insensitive regex over every module's text cost more than the seeding calls."""
    if not non_ascii(module) and not contains_any(module, "passw", "pwd") and \
            not module.names & _SEED_CALLS:
        return False
    return _SEED_TEXT_RE.search(module.text) is not None


def seeded_accounts(ctx: Context) -> list[SeededAccount]:
    """Accounts the application code creates with a literal password (memoised)."""

    def build() -> list[SeededAccount]:
        out: dict[str, SeededAccount] = {}
        for module in py_index(ctx):
            rel = module.rel
            if not _may_seed(module):
                continue
            parents = module.parents()
            seed_file = bool(_SEED_RE.search(rel.rsplit("/", 1)[-1])) \
                or "management/commands/" in rel
            for node in module.calls:
                for acc in _seed_call(rel, node, parents):
                    if acc.privileged or seed_file or _in_seed_function(node, parents):
                        out.setdefault(acc.loc, acc)
        return sorted(out.values(), key=lambda a: (a.path, a.line))

    return ctx.memo("product:seeded_accounts", build)


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes) and node.value:
        value = node.value.decode(errors="replace") if isinstance(node.value, bytes) \
            else node.value
        return value if not_a_credential(value) in (None, "a boolean switch") else None
    return None


def _privileged(node: ast.Call) -> bool:
    if _PRIVILEGED_RE.search(_call_name(node)):
        return True
    for kw in node.keywords:
        v = kw.value
        if kw.arg in PRIVILEGE_KWARGS and isinstance(v, ast.Constant) and v.value is True:
            return True
        if kw.arg in ("role", "roles", "group", "groups") and _PRIVILEGED_RE.search(
                ast.unparse(v)):
            return True
    return any(isinstance(a, ast.Constant) and a.value is True for a in node.args) or any(
        isinstance(a, ast.Constant) and isinstance(a.value, str) and _PRIVILEGED_RE.search(
            a.value.split("@")[0]) for a in [*node.args, *(k.value for k in node.keywords)])


_USER_KWARGS = ("email", "username", "user_name", "login", "name", "user")


def _user_of(node: ast.Call) -> str | None:
    """The literal user name or e-mail address a creating call passes (keyword, else the first
    positional string)."""
    kws = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    for key in _USER_KWARGS:
        v = kws.get(key)
        if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value.strip():
            return v.value.strip()
    for a in node.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.strip():
            return a.value.strip()
    return None


def _seed_call(rel: str, node: ast.Call, parents: dict[ast.AST, ast.AST]) -> list[SeededAccount]:
    name = _call_name(node)
    out = []
    for kw in node.keywords:  # UserCreate(email=..., password="password", is_superuser=True)
        value = _literal(kw.value) if kw.arg in PASSWORD_KWARGS else None
        if value is not None:
            out.append(SeededAccount(rel, kw.value.lineno, value, f"{name}(...)",
                                     _privileged(node), _user_of(node)))
    if name == "create_superuser" and len(node.args) >= 3:  # Django's (username, email, password)
        value = _literal(node.args[2])
        if value is not None:
            out.append(SeededAccount(rel, node.args[2].lineno, value, f"{name}(...)", True,
                                     _user_of(node)))
    if name in HASHERS and node.args:  # User("admin@x", hashpw(b"admin", gensalt()), True)
        value = _literal(node.args[0])
        creator = _creator(node, parents)
        if value is not None and creator is not None:
            out.append(SeededAccount(rel, node.lineno, value,
                                     f"{_call_name(creator)}(...) with {name}(<literal>)",
                                     _privileged(creator), _user_of(creator)))
    return out


def _in_seed_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside a function named for seeding (``seed_db``, ``init``, ``create_first_user``) or at
    module level / under ``if __name__ == "__main__"``: code that runs at deployment, not a
    request handler."""
    cur: ast.AST | None = parents.get(node)
    while cur is not None:
        if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef):
            return bool(_SEED_RE.search(cur.name))
        if isinstance(cur, ast.ClassDef):
            return False
        cur = parents.get(cur)
    return True


def _creator(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.Call | None:
    """The call (a model constructor or a create function) the hashed literal is passed to."""
    cur = node
    for _ in range(4):
        parent = parents.get(cur)
        if parent is None:
            return None
        if isinstance(parent, ast.Call) and cur is not parent.func and _CREATOR_RE.search(
                _call_name(parent)):
            return parent
        cur = parent
    return None


# ---------------------------------------------------------------------------- SQL seeds
_INSERT_RE = re.compile(r"INSERT\s+INTO\s+[`\"]?(\w*(?:user|account|admin|member|login)\w*)[`\"]?"
                        r"\s*\(([^)]*)\)\s*VALUES\s*", re.I)
_PW_COLUMN_RE = re.compile(r"pass|pwd", re.I)
_ADMIN_COLUMN_RE = re.compile(r"admin|superuser|staff|role", re.I)
_USER_COLUMN_RE = re.compile(r"^(?:user_?name|login|e_?mail|user)$", re.I)
_HASHED_LITERAL_RE = re.compile(r"^(?:md5|sha1|sha224|sha256|sha512|crypt|password|"
                                r"encode|digest)\s*\(\s*'([^']*)'", re.I)
MAX_SQL_BYTES = 2_000_000
MAX_ROWS = 10_000


def _sql_rows(text: str, start: int) -> list[tuple[int, list[str]]]:
    """(line, values) of the tuples after ``VALUES`` (quotes and nested calls respected)."""
    rows: list[tuple[int, list[str]]] = []
    i, depth, quote = start, 0, ""
    cur: list[str] = []
    vals: list[str] = []
    row_start = start
    while i < len(text) and len(rows) < MAX_ROWS:
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == "(":
            if depth == 0:
                row_start, cur, vals = i, [], []
            else:
                cur.append(ch)
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                vals.append("".join(cur).strip())
                rows.append((text.count("\n", 0, row_start) + 1, vals))
            else:
                cur.append(ch)
        elif ch == "," and depth == 1:
            vals.append("".join(cur).strip())
            cur = []
        elif ch == ";" and depth == 0:
            break
        elif depth > 0:
            cur.append(ch)
        i += 1
    return rows


def _sql_literal_password(value: str) -> str | None:
    value = value.strip()
    m = _HASHED_LITERAL_RE.match(value)
    if m:
        return m.group(1) or None
    if len(value) > 2 and value[0] == value[-1] == "'" and not value.startswith("'$"):
        inner = value[1:-1]
        return inner if not_a_credential(inner) in (None, "a boolean switch") else None
    return None


def sql_seeded_accounts(ctx: Context) -> list[SeededAccount]:
    """``INSERT INTO users (..., pwd_hash, is_admin) VALUES (..., md5('superadmin'), TRUE)`` in
    the repository's SQL files (fixtures, init scripts): one per statement (memoised)."""

    def build() -> list[SeededAccount]:
        out = []
        for rel in ctx.files.files:
            parts = rel.lower().split("/")
            if not rel.lower().endswith(".sql") or {"test", "tests", "docs"} & set(parts[:-1]):
                continue
            text = ctx.files.read_text(rel, MAX_SQL_BYTES) or ""
            for m in _INSERT_RE.finditer(text):
                cols = [c.strip().strip('`"') for c in m.group(2).split(",")]
                pw = [i for i, c in enumerate(cols) if _PW_COLUMN_RE.search(c)]
                if not pw:
                    continue
                admin = [i for i, c in enumerate(cols) if _ADMIN_COLUMN_RE.search(c)]
                names = [i for i, c in enumerate(cols) if _USER_COLUMN_RE.match(c)]
                seeded = []
                for line, vals in _sql_rows(text, m.end()):
                    value = _sql_literal_password(vals[pw[0]]) if len(vals) > pw[0] else None
                    if value is None:
                        continue
                    privileged = any(i < len(vals) and vals[i].strip("' ").lower() in (
                        "true", "1", "t", "admin", "superuser") for i in admin)
                    user = (vals[names[0]].strip().strip("'\"") or None
                            if names and len(vals) > names[0] else None)
                    seeded.append((privileged, line, value, user))
                if seeded:
                    privileged, line, value, user = max(seeded, key=lambda s: (s[0], -s[1]))
                    out.append(SeededAccount(rel, line, value,
                                             f"INSERT INTO {m.group(1)} ({len(seeded)} "
                                             "account(s))", privileged, user))
        return out

    return ctx.memo("product:sql_seeded_accounts", build)


#: records that let their holder in: registration/invitation codes, access tokens, API keys
_ACCESS_CODE_RE = re.compile(r"(^|_)(registration|invite|invitation|signup|sign_up|enrol?ment|"
                             r"activation|referral|access|beta|api)_(codes?|tokens?|keys?)$|"
                             r"^(api_?key|invite|invitation)s?$")
_CODE_KWARGS = frozenset({"code", "token", "key", "value", "secret"})
#: how every name :data:`_ACCESS_CODE_RE` accepts ends (lower-cased): a test before ``_snake``
_ACCESS_CODE_ENDS = ("code", "codes", "token", "tokens", "key", "keys", "invite", "invites",
                     "invitation", "invitations")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _literal_of(arg: ast.expr, scope: ast.AST) -> tuple[str, int] | None:
    """(value, line) of a literal string argument, or of the literal a local name was assigned
    in the same function (``code = 'a36e…'; session.add(RegistrationCode(code))``)."""
    if isinstance(arg, ast.Name):
        for n in ast.walk(scope):
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == arg.id
                                                 for t in n.targets):
                return _literal_of(n.value, scope) if isinstance(n.value, ast.Constant) else None
        return None
    value = _literal(arg)
    if value is None or len(value) < 6 or placeholder_reason(value) is not None:
        return None
    return value, arg.lineno


@extractor("codesecrets:access_code_calls")
def _access_code_calls(module: PyModule) -> bool:
    """A superset of the modules where :func:`seeded_access_codes` can find something, read from
    the summary and the text while the pass has them (a module without is never parsed again): a
    name shaped like an access-code record or key that the text calls (``RegistrationCode(``,
    ``.create_api_key(``)."""
    text: str | None = None
    for name in module.names:
        if name.lower().endswith(_ACCESS_CODE_ENDS) and _ACCESS_CODE_RE.search(_snake(name)):
            text = module.text if text is None else text
            if re.search(re.escape(name) + r"\s*\(", text):
                return True
    return False


def _may_create_access_code(module: PyModule) -> bool:
    return bool(module.fact("codesecrets:access_code_calls"))


def seeded_access_codes(ctx: Context) -> list[SeededAccount]:
    """Access codes (a registration or invitation code, an API key or access token record) that
    seed and start-up code creates with a literal value: the same code in every deployment
    (memoised)."""

    def build() -> list[SeededAccount]:
        out: dict[str, SeededAccount] = {}
        for module in py_index(ctx):
            if not _may_create_access_code(module):
                continue
            parents = module.parents()
            seed_file = bool(_SEED_RE.search(module.rel.rsplit("/", 1)[-1]))
            for node in module.calls:
                name = _call_name(node)
                if not _ACCESS_CODE_RE.search(_snake(name)) or not (
                        seed_file or _in_seed_function(node, parents)):
                    continue
                scope: ast.AST = node
                while scope in parents and not isinstance(scope, ast.FunctionDef |
                                                          ast.AsyncFunctionDef):
                    scope = parents[scope]
                args = [*node.args, *(k.value for k in node.keywords if k.arg in _CODE_KWARGS)]
                for arg in args:
                    hit = _literal_of(arg, scope)
                    if hit is not None:
                        acc = SeededAccount(module.rel, hit[1], hit[0], f"{name}(...)", True)
                        out.setdefault(acc.loc, acc)
        return sorted(out.values(), key=lambda a: (a.path, a.line))

    return ctx.memo("product:seeded_access_codes", build)
