"""The secret scan's engine: every finder yields the same hits, precision on noise, safe excerpts
of minified bundles, parallel scans of large trees."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import string
from pathlib import Path

import pytest
from cfg_helpers import describe, fails, res, run_cfg
from conftest_services import require_service

from prodaudit.audit import run_audit
from prodaudit.checks.config import _scan_engine
from prodaudit.checks.config._scan_engine import scan_tree
from prodaudit.checks.config._scan_rules import RULES, finder_pattern, relaxed
from prodaudit.checks.config.secrets_scan import scan_text
from prodaudit.config import load_config
from prodaudit.model import Status

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _pem() -> str:
    body = "\n".join(rand(64, ALNUM + "+/") for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"


def mixed_tree(root: Path) -> dict[str, str]:
    """Files with every format, in every position the rules care about, plus noise; returns
    the secret values planted (name -> value)."""
    v = {
        "openai": "sk-proj-" + rand(64), "anthropic": "sk-ant-api03-" + rand(90),
        "aws": "AKIA" + rand(16, string.ascii_uppercase + string.digits),
        "github": "ghp_" + rand(36), "slack": "xoxb-" + rand(12, string.digits) + "-" + rand(24),
        "azure": rand(32, HEX), "jwt_secret": rand(40), "pg": rand(16),
        "google": "AIza" + rand(35), "stripe": "sk_" + "live_" + rand(24),
    }
    files = {
        "app/settings.py": f'OPENAI_KEY = "{v["openai"]}"\nDB = "postgresql://app:{v["pg"]}@db/x"\n'
                           f'jwt_secret = "{v["jwt_secret"]}"\n',
        "app/keys.pem": _pem(),
        "deploy/values.yml": f"azure_openai_key:\n  {v['azure']}\nother: 1\n",
        "deploy/sa.json": json.dumps({"type": "service_account", "project_id": "p",
                                      "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE"}, indent=2),
        "web/dist/app.min.js": "var a=1;" * 300 + f'const pw="{rand(14)}";const k="{v["github"]}";'
                               + "var b=2;" * 300,
        "docs/readme.md": f"Use `{v['slack']}` here.\r\nAnd {v['google']} there.\r\n",
        "app/allowed.py": f'A = "{v["aws"]}"  # prodaudit: allow\nB = "{v["anthropic"]}"\n',
        "app/unicode.py": f'# é ü 日本\nSTRIPE = "{v["stripe"]}"  # ключ\n',
        "app/noise.json": json.dumps({
            "secret": rand(40, HEX), "sessionToken": "session-format-53",
            "secretPayment": rand(30), "cacheKey": rand(30), "token_url": "https://x.example/t",
            "name": "task-schedule-99-" + rand(20, string.ascii_lowercase)}, indent=1),
        "app/placeholders.py": 'DB = "postgresql://user:password@localhost/db"\n'
                               'R = "redis://:${REDIS_PASSWORD}@redis:6379/0"\n'
                               "SECRET_KEY: str = secrets.token_urlsafe(32)\n",
        "blob.bin": "\0" + v["openai"],
        "late_nul.txt": "x" * 9000 + "\0" + f'\nK = "{v["aws"]}"\n',
        "image.png": v["openai"],
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    return v


def _hits(root: Path, engine: str = "python") -> list[tuple[str, int, str, str, str]]:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    tree = scan_tree(root, files, allow="prodaudit: allow", cap=2_000_000, cache=None,
                     engine=engine)
    assert tree.engine == engine
    out = [(h.path, h.line, h.rule, h.secret, h.excerpt)
           for rel in files if rel in tree.results for h in tree.results[rel].hits]
    counts = (tree.scanned, tree.skipped_binary, sum(r.allowed for r in tree.results.values()))
    return [*out, ("counts", *counts, "", "")]  # type: ignore[list-item]


def test_rules_and_finders_agree_on_every_format(tmp_path: Path) -> None:
    v = mixed_tree(tmp_path)
    got = _hits(tmp_path)
    rules = sorted((h[0], h[2]) for h in got if h[0] != "counts")
    assert rules == sorted([
        ("app/allowed.py", "anthropic-key"), ("app/keys.pem", "private-key"),
        ("app/settings.py", "high-entropy-assignment"), ("app/settings.py", "openai-key"),
        ("app/settings.py", "url-password"), ("app/unicode.py", "stripe-key"),
        ("deploy/sa.json", "gcp-service-account"), ("deploy/values.yml", "azure-openai-key"),
        ("docs/readme.md", "google-api-key"), ("docs/readme.md", "slack-token"),
        ("late_nul.txt", "aws-access-key"), ("web/dist/app.min.js", "github-token"),
    ]), got
    # 13 files: blob.bin (a NUL) and image.png (by name) are binary; one hit allowed inline
    assert got[-1] == ("counts", 11, 2, 1, "", "")
    for value in v.values():
        assert not any(value in h[4] for h in got), value  # excerpts never hold a value


def test_findings_identical_with_and_without_ripgrep(tmp_path: Path) -> None:
    require_service("ripgrep", shutil.which("rg") is not None, "install the Debian package ripgrep")
    mixed_tree(tmp_path)
    assert _hits(tmp_path, "ripgrep") == _hits(tmp_path, "python")


def test_findings_identical_with_python_re_as_finder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_tree(tmp_path)
    with_re2 = _hits(tmp_path)
    monkeypatch.setattr(_scan_engine, "default_finder",
                        lambda: re.compile(finder_pattern().encode()))
    assert _hits(tmp_path) == with_re2


def test_relaxed_patterns_match_wherever_the_rules_do() -> None:
    assert relaxed(r"\bsk-[A-Za-z0-9]{48}\b") == r"sk-[A-Za-z0-9]{48}"
    assert relaxed(r"a{3,20}\\b") == r"a{3,}\\b"  # an escaped backslash is not a boundary
    for rule in RULES:
        assert "\\b" not in relaxed(rule.pattern).replace("\\\\", "")


def test_noise_is_not_reported() -> None:
    text = "\n".join([
        '"secretPayment": "a8Kd92jfL0qPz7Xc3vBn",',  # the name does not denote a credential
        '"cacheKey": "a8Kd92jfL0qPz7Xc3vBn",',
        '"sessionToken": "review-branch-82-cursor",',  # words and a number: a slug
        f'"secret": "{rand(40, HEX)}",',  # a git object id
        "task-schedule-cursor-inventory-shipment-tracking",  # 'sk-' inside a word
        'password = request.form["password_confirmation_field"]',
    ])
    assert scan_text("a.json", text, "prodaudit: allow") == ([], 0)


def test_chosen_passwords_of_words_and_numbers_are_still_reported() -> None:
    text = 'DB_PASSWORD = "sunflower-harbor-1987"\nAPI_TOKEN = "sunflower-harbor-1987"\n'
    hits, _ = scan_text("settings.py", text, "prodaudit: allow")
    assert [(h.line, h.rule) for h in hits] == [(1, "high-entropy-assignment")]


def test_large_tree_is_scanned_in_parallel_with_the_same_hits(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    for i in range(300):
        (tmp_path / f"m{i}.py").write_text(f"token = compute({i})\n" * 50, encoding="utf-8")
    key = "ghp_" + rand(36)
    (tmp_path / "m7.py").write_text(f'T = "{key}"\n', encoding="utf-8")
    serial = _hits(tmp_path)
    monkeypatch.setattr(_scan_engine, "PARALLEL_MIN_BYTES", 1)
    threads: set[str] = set()
    real = _scan_engine.scan_bytes

    def spy(*a: object, **kw: object) -> _scan_engine.FileResult:
        import threading

        threads.add(threading.current_thread().name)
        return real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_scan_engine, "scan_bytes", spy)
    assert _hits(tmp_path) == serial
    assert any(t.startswith("secret-scan") for t in threads), threads


def test_minified_bundle_with_two_secrets_leaks_into_no_report(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "frontend/dist/assets").mkdir(parents=True)
    pw, key = rand(18), "sk-proj-" + rand(64)
    bundle = ("function a(){return 1}" * 200 + f'const pw="{pw}";const client=new OpenAI('
              f'{{apiKey:"{key}"}});' + "function b(){return 2}" * 200)
    (repo / "frontend/dist/assets/index-4f2a.js").write_text(bundle, encoding="utf-8")
    (repo / "app.py").write_text("print('hello')\n", encoding="utf-8")
    out = tmp_path / "reports"
    cfg = load_config({"repo": repo, "output": out, "only": ["CFG-040", "CFG-041"],
                       "start_target": False})
    outcome = run_audit(cfg, ["config"], quiet=True)
    r = res(outcome.run, "CFG-041")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.rule == "openai-key" and f.location == "frontend/dist/assets/index-4f2a.js:1"
    assert "sk-proj-[REDACTED]" in f.evidence and len(f.evidence) < 300
    assert outcome.report_dir is not None
    written = sorted(p.name for p in outcome.report_dir.iterdir() if p.is_file())
    assert {"audit.json", "audit.sarif", "junit.xml", "index.html"} <= set(written), written
    for p in outcome.report_dir.rglob("*"):
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            assert pw not in text and key not in text, p.name


def test_cfg040_fails_on_pem_and_quotes_no_body(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    pem = _pem()
    (repo / "key.py").write_text(f'KEY = """{pem}"""\n', encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-040"])
    (f,) = fails(res(run, "CFG-040"))
    assert f.location == "key.py:1" and "-----BEGIN RSA PRIVATE KEY-----[REDACTED]" in f.evidence
    for body_line in pem.splitlines()[1:-1]:
        assert body_line not in str(run.to_dict())
