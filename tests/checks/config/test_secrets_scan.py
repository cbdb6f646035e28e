"""CFG-040..042: credentials in files, in the built frontend, committed env files."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import subprocess
from pathlib import Path

import pytest
from cfg_helpers import describe, fails, ref_copy, res, run_cfg, run_text

from prodaudit.checks.config.secrets_scan import scan_text
from prodaudit.model import Status

ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def rand_password(n: int) -> str:
    """A random password that always reads as one: ``n`` distinct characters, letters and
    digits both present, and no letters that could spell a role word ("pwd", "test"). A plain
    ``rand(14)`` repeats characters or lacks digits often enough (about 3 in 100 draws) to
    fall under the entropy floor of a 16-character value."""
    rng = secrets.SystemRandom()
    letters = [c for c in string.ascii_letters if c.lower() not in "aeioup"]
    chars = rng.sample(letters, n - 2) + rng.sample(string.digits, 2)
    rng.shuffle(chars)
    return "".join(chars)


# Fake credentials, generated per run (nothing real, nothing that a push scanner would block).
FAKES = {
    "openai-key": lambda: "sk-proj-" + rand(64),
    "anthropic-key": lambda: "sk-ant-api03-" + rand(90),
    "google-api-key": lambda: "AIza" + rand(35),
    "huggingface-token": lambda: "hf_" + rand(36),
    "aws-access-key": lambda: "AKIA" + rand(16, string.ascii_uppercase + string.digits),
    "github-token": lambda: "ghp_" + rand(36),
    "gitlab-token": lambda: "glpat-" + rand(20),
    "slack-token": lambda: "xoxb-" + rand(12, string.digits) + "-" + rand(24),
    "stripe-key": lambda: "sk_" + "live_" + rand(24),
}


@pytest.mark.parametrize("rule", sorted(FAKES))
def test_provider_key_patterns(rule: str) -> None:
    key = FAKES[rule]()
    hits, _ = scan_text("app/x.py", f'\n\nCLIENT = make(key="{key}")\n', "prodaudit: allow")
    assert [(h.rule, h.line) for h in hits] == [(rule, 3)]
    assert key not in hits[0].excerpt


def test_other_patterns_and_false_positives() -> None:
    pw = rand(14)
    text = (f"DB = 'postgresql://app:{pw}@db.internal:5432/app'\n"
            f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{rand(60)}\n-----END RSA PRIVATE KEY-----\n"
            f"jwt_secret = '{rand(40)}'\n"
            "ok1 = 'postgresql://user:password@localhost/db'\n"  # documentation placeholder
            "ok2 = 'redis://:${REDIS_PASSWORD}@redis:6379/0'\n"
            "password = request.form.get('password_confirmation_field')\n"
            "token_url = 'https://example.com/api/v1/oauth2/token/refresh'\n"
            "SECRET_KEY: str = secrets.token_urlsafe(32)\n"
            'PEM_MARKER = "-----BEGIN PRIVATE KEY-----"  # a parser constant, not a key\n')
    hits, _ = scan_text("app/settings.py", text, "prodaudit: allow")
    assert sorted((h.rule, h.line) for h in hits) == [
        ("high-entropy-assignment", 5), ("private-key", 2), ("url-password", 1)]


def test_key_in_code_fails_with_redacted_evidence(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    key = FAKES["openai-key"]()
    (repo / "backend/app/client.py").write_text(f'"""x"""\n\nOPENAI_KEY = "{key}"\n',
                                                encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-040"])
    r = res(run, "CFG-040")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert (f.location, f.rule) == ("backend/app/client.py:3", "openai-key")
    assert "[REDACTED]" in f.evidence and key not in run_text(run)


def test_allow_comment_and_baseline(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    key = FAKES["github-token"]()
    other = FAKES["aws-access-key"]()
    (repo / "backend/app/fixtures.py").write_text(
        f'A = "{key}"  # prodaudit: allow (test fixture)\nB = "{other}"\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-040"]), "CFG-040")
    assert [f.location for f in fails(r)] == ["backend/app/fixtures.py:2"]
    fp = hashlib.sha256(f"aws-access-key:{other}".encode()).hexdigest()[:16]
    # the fingerprint to put in the baseline is reported with the hit; no summary WARN
    assert fp in fails(r)[0].evidence
    assert [f.status for f in r.findings] == [Status.FAIL]
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps({"findings": [{"path": "backend/app/fixtures.py",
                                              "fingerprint": fp}]}), encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-040"], secrets={"baseline": base}), "CFG-040")
    assert r2.status is Status.PASS, describe(r2)
    assert "1 allowed inline, 1 in the baseline" in r2.findings[0].message


def test_built_frontend_scanned_even_when_gitignored(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    key = FAKES["openai-key"]()
    bundle = next((repo / "frontend/dist/assets").glob("*.js"))
    bundle.write_text(bundle.read_text(encoding="utf-8") + f'\nconst k="{key}";\n',
                      encoding="utf-8")
    (repo / ".gitignore").write_text("dist/\n.env\n", encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    listed = subprocess.run([*git, "ls-files"], capture_output=True, text=True, check=True).stdout
    assert "frontend/dist" not in listed  # ignored by git...
    run = run_cfg(repo, tmp_path, only=["CFG-040", "CFG-041"])
    r = res(run, "CFG-041")  # ...but scanned because it ships
    assert r.status is Status.FAIL, describe(r)
    assert fails(r)[0].location.startswith("frontend/dist/assets/")
    assert res(run, "CFG-040").status is Status.PASS  # not counted twice
    assert key not in run_text(run)


def test_clean_frontend_build_passes(tmp_path: Path) -> None:
    r = res(run_cfg(ref_copy(tmp_path), tmp_path, only=["CFG-041"]), "CFG-041")
    assert r.status is Status.PASS, describe(r)


def test_committed_env_file_with_real_values(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / "deploy").mkdir()
    (repo / "deploy/prod.env").write_text(f"JWT_SECRET={rand(48)}\nLOG_LEVEL=INFO\n",
                                          encoding="utf-8")
    (repo / ".env").write_text(f"JWT_SECRET={rand(48)}\n", encoding="utf-8")  # git-ignored
    r = res(run_cfg(repo, tmp_path, only=["CFG-042"]), "CFG-042")
    assert r.status is Status.FAIL, describe(r)
    assert [f.location for f in fails(r)] == ["deploy/prod.env:1"]


def test_binaries_and_large_files_are_skipped_and_counted(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / "blob.bin").write_bytes(b"\0\1\2" + FAKES["openai-key"]().encode())
    (repo / "big.txt").write_text("x" * 2_100_000 + FAKES["openai-key"](), encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-040"]), "CFG-040")  # default cap: 2 MB
    assert r.status is Status.PASS, describe(r)
    assert "skipped: 1 binary, 1 over the size cap" in r.findings[0].message


def test_a_generated_tree_of_3000_files(tmp_path: Path) -> None:
    repo = tmp_path / "big"
    for d in range(30):
        sub = repo / f"pkg{d}"
        sub.mkdir(parents=True)
        for i in range(100):
            body = "".join(f"def f{j}(x):\n    token = compute(x, {j})\n    return token\n"
                           for j in range(40))  # ~2.5 KB of code mentioning "token"
            (sub / f"m{i}.py").write_text(body, encoding="utf-8")
    key = FAKES["anthropic-key"]()
    (repo / "pkg7/m42.py").write_text(f'KEY = "{key}"\n', encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-040"])  # speed is measured in benchmarks/
    r = res(run, "CFG-040")
    assert [f.location for f in fails(r)] == ["pkg7/m42.py:1"]
    summary = run.facts["secret_scan"]["summary"]  # a run fact, not a WARN without location
    assert "3000 files scanned" in summary


def test_tracked_env_file_in_git(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / ".env").write_text(f"LLM_API_KEY={rand(40)}\n", encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    r = res(run_cfg(repo, tmp_path, only=["CFG-042"]), "CFG-042")
    assert r.status is Status.PASS, describe(r)  # ignored by .gitignore: not in the index
    subprocess.run([*git, "add", "-f", ".env"], check=True)
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-042"]), "CFG-042")
    assert r2.status is Status.FAIL and fails(r2)[0].location == ".env:1", describe(r2)
    assert "tracked" in fails(r2)[0].message


def test_documentation_examples_of_chosen_passwords_are_not_credentials() -> None:
    """A password written in a documentation page that names its own role is an illustration;
    the same value in code, and a random value in the same page, are still found."""
    pw = rand_password(14)
    doc = ('POSTGRES_PASSWORD="complex_staging_password_123!"\n'
           '    password="SecurePassword123!"\n'
           'TEST_DATABASE_URL = "postgresql+asyncpg://test_user:test_pass@localhost:5432/t"\n'
           f'ADMIN_PASSWORD="{pw}9!"\n'
           f'DATABASE_URL = "postgresql://app:{pw}@db.internal:5432/app"\n')
    hits, _ = scan_text("docs/guide/configuration.md", doc, "prodaudit: allow")
    assert sorted((h.rule, h.line) for h in hits) == [
        ("high-entropy-assignment", 4), ("url-password", 5)]
    in_code, _ = scan_text("app/settings.py", doc, "prodaudit: allow")
    assert sorted(h.line for h in in_code) == [1, 2, 3, 4, 5]


def test_documentation_example_passes_but_real_password_in_docs_fails(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    guide = repo / "docs/deploy-guide.md"
    guide.parent.mkdir(exist_ok=True)
    guide.write_text('# Deploy\n\n```\nPOSTGRES_PASSWORD="ultra_secure_production_password_789!"\n'
                     "```\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-040"]), "CFG-040")
    assert r.status is Status.PASS, describe(r)
    real = rand(20) + "7#"
    guide.write_text(f'# Deploy\n\n```\nPOSTGRES_PASSWORD="{real}"\n```\n', encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-040"])
    r2 = res(run, "CFG-040")
    assert r2.status is Status.FAIL, describe(r2)
    assert [f.location for f in fails(r2)] == ["docs/deploy-guide.md:4"]
    assert real not in run_text(run)


def test_unquoted_values_in_plain_configuration_files() -> None:
    """YAML, INI and text files write values without quotes: a random one assigned to a
    secret-named key is found there, never in code (where an unquoted value is an expression)."""
    key = rand(60)
    cred = f"client-id:{rand(20)}\nclient-secret: {key}\n"
    hits, _ = scan_text("api/client_cred.txt", cred, "prodaudit: allow")
    assert [(h.rule, h.line) for h in hits] == [("high-entropy-assignment", 2)]
    assert key not in hits[0].excerpt
    yaml_text = (f"auth:\n  client_secret: {key}  # production\n"
                 "  password: ${DB_PASSWORD}\n  api_token: correct-horse-battery-staple-2024\n"
                 f"  signing_key: {rand(20)}\n")
    assert [h.line for h in scan_text("deploy/app.yaml", yaml_text, "prodaudit: allow")[0]] == [2]
    for rel in ("api/settings.py", "deploy/app.example.yaml", "docs/setup.md"):
        assert scan_text(rel, cred, "prodaudit: allow")[0] == [], rel


def test_committed_credential_text_file_fails_and_example_passes(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    key = rand(64)
    (repo / "backend/client_cred.example.txt").write_text(f"client-secret: {key}\n",
                                                          encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-040"]), "CFG-040")
    assert r.status is Status.PASS, describe(r)
    (repo / "backend/client_cred.txt").write_text(f"client-id:{rand(20)}\nclient-secret: {key}\n",
                                                  encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-040"])
    r2 = res(run, "CFG-040")
    assert [f.location for f in fails(r2)] == ["backend/client_cred.txt:2"], describe(r2)
    assert key not in run_text(run)


def _sqlite(path: Path, rows: bool) -> None:
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE auth_user (id INTEGER PRIMARY KEY, password TEXT)")
    con.execute("CREATE TABLE oauth2_provider_accesstoken (id INTEGER PRIMARY KEY, token TEXT)")
    con.execute("CREATE TABLE library_book (id INTEGER PRIMARY KEY, title TEXT)")
    con.execute("INSERT INTO library_book (title) VALUES ('Dune')")
    if rows:
        con.execute("INSERT INTO auth_user (password) VALUES (?)", (HASH,))
        con.execute("INSERT INTO oauth2_provider_accesstoken (token) VALUES (?)", (TOKEN,))
    con.commit()
    con.close()


HASH = "pbkdf2_sha256$36000$" + rand(12) + "$" + rand(43)
TOKEN = rand(30)


def test_committed_populated_sqlite_database_fails(tmp_path: Path) -> None:
    """A database whose account and token tables hold rows is a committed credential store; the
    finding names the tables and never a value."""
    repo = ref_copy(tmp_path)
    _sqlite(repo / "backend/db.sqlite3", rows=True)
    run = run_cfg(repo, tmp_path, only=["CFG-040"])
    r = res(run, "CFG-040")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert (f.location, f.rule) == ("backend/db.sqlite3", "committed-database")
    assert "auth_user" in f.message and "oauth2_provider_accesstoken" in f.message
    assert "library_book" not in f.evidence
    text = run_text(run)
    assert HASH not in text and TOKEN not in text


def test_empty_or_data_only_sqlite_database_passes(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    _sqlite(repo / "backend/db.sqlite3", rows=False)
    (repo / "backend/notes.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 1000)  # corrupt
    r = res(run_cfg(repo, tmp_path, only=["CFG-040"]), "CFG-040")
    assert r.status is Status.PASS, describe(r)


def _jwt(claims: dict[str, object]) -> str:
    import base64

    def seg(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(claims)}.{rand(43)}"


def test_expired_json_web_tokens_are_not_credentials() -> None:
    """A token whose ``exp`` has passed (an example response in a README) is not reported; one
    that is still valid, or has no ``exp``, is."""
    import time

    expired = _jwt({"user_id": 2, "exp": 1641825831})
    valid = _jwt({"user_id": 2, "exp": int(time.time()) + 86400 * 365})
    forever = _jwt({"user_id": 2})
    text = f'{{"token": "{expired}"}}\n{{"token": "{valid}"}}\nAuthorization: Bearer {forever}\n'
    hits, _ = scan_text("README.md", text, "prodaudit: allow")
    assert [(h.rule, h.line) for h in hits] == [("jwt", 2), ("jwt", 3)]


def test_access_key_id_in_a_sigv4_credential_scope_is_not_a_key() -> None:
    key_id = FAKES["aws-access-key"]()
    text = (f"'x-amz-credential': '{key_id}/20220405/eu-central-1/s3/aws4_request',\n"
            f"url = 'https://b.s3.amazonaws.com/k?X-Amz-Credential={key_id}%2F20240101%2F"
            "us-east-1%2Fs3%2Faws4_request'\n"
            f"AWS_ACCESS_KEY_ID = '{key_id}'\n")
    hits, _ = scan_text("app/storage.py", text, "prodaudit: allow")
    assert [(h.rule, h.line) for h in hits] == [("aws-access-key", 3)]


_API_EXAMPLES = '''\
"""Samples shown in the OpenAPI page."""

EXAMPLES = {
    "user_login": {
        "summary": "Login with user credentials",
        "value": {
            "email": "user@example.com",
            "password": "strongpassword123"
        }
    },
}


class UserCreate(BaseModel):
    email: str = Field(..., example="user@example.com")
    password: str = Field(..., min_length=8, example="testpassword42")

    model_config = {"json_schema_extra": {"examples": [{"password": "samplepass2024"}]}}


CLIENT = {
    "password": "strongpassword123",
}
'''


def test_sample_payloads_of_api_documentation_are_not_credentials(tmp_path: Path) -> None:
    """A password that names its role inside an API documentation example (``EXAMPLES``, an
    ``example=`` keyword, ``json_schema_extra``) is an illustration; the same value assigned
    outside such a sample, and a random value inside one, are still found."""
    hits, _ = scan_text("app/api/docs.py", _API_EXAMPLES, "prodaudit: allow")
    last = _API_EXAMPLES.splitlines().index('    "password": "strongpassword123",') + 1
    assert [h.line for h in hits] == [last], hits
    real = rand(18) + "7#"
    hits, _ = scan_text("app/api/docs.py", _API_EXAMPLES.replace("strongpassword123", real, 1),
                        "prodaudit: allow")
    assert [h.line for h in hits] == [8, last], hits
    repo = tmp_path / "repo"
    (repo / "app/api").mkdir(parents=True)
    (repo / "app/api/docs.py").write_text(_API_EXAMPLES, encoding="utf-8")
    for check in ("CFG-040", "CFG-023"):
        r = res(run_cfg(repo, tmp_path / check, only=[check]), check)
        assert [f.location for f in fails(r)] == [f"app/api/docs.py:{last}"], describe(r)
    (repo / "app/api/docs.py").write_text(_API_EXAMPLES[:_API_EXAMPLES.index("CLIENT")],
                                          encoding="utf-8")
    for check in ("CFG-040", "CFG-023"):
        r = res(run_cfg(repo, tmp_path / f"{check}-ok", only=[check]), check)
        assert r.status in (Status.PASS, Status.SKIP) and not fails(r), describe(r)


def test_tracked_env_file_with_values_naming_their_credential(tmp_path: Path) -> None:
    """``JWT_SECRET_KEY="token"`` and ``OPENAI_API_KEY="open_api_key"`` say what belongs there:
    a committed env file holding them leaks nothing (CFG-042), and they are placeholders
    (CFG-020); a random value next to them is still a committed secret."""
    repo = ref_copy(tmp_path)
    (repo / ".env").write_text('JWT_SECRET_KEY="token"\nOPENAI_API_KEY= "open_api_key"\n',
                               encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "add", "-f", ".env"], check=True)
    r = res(run_cfg(repo, tmp_path, only=["CFG-042"]), "CFG-042")
    assert r.status is Status.PASS, describe(r)
    r = res(run_cfg(repo, tmp_path / "b", only=["CFG-020"]), "CFG-020")
    assert sorted(f.location for f in fails(r)) == [".env:1", ".env:2"], describe(r)
    (repo / ".env").write_text(f'JWT_SECRET_KEY="token"\nLLM_API_KEY={rand(40)}\n',
                               encoding="utf-8")
    subprocess.run([*git, "add", "-f", ".env"], check=True)
    r = res(run_cfg(repo, tmp_path / "c", only=["CFG-042"]), "CFG-042")
    assert [f.location for f in fails(r)] == [".env:2"], describe(r)
