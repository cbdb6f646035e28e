"""The live harness's matching and scoring (live_score.py) on hand-made findings, and the
recipe helpers that need no server (live_recipe.py, live.py's configuration)."""

from __future__ import annotations

from pathlib import Path

import harness
import live
import live_recipe as lr
import live_score as ls
import pytest

TOPICS = {
    "rate-limit-missing": ls.LiveTopic("rate-limit-missing", frozenset({"SEC-040"}), False),
    "security-headers-missing": ls.LiveTopic("security-headers-missing", frozenset({"SEC-050"}), True),
    "bola": ls.LiveTopic("bola", frozenset({"SEC-082"}), False),
    "cors-foreign-origin": ls.LiveTopic("cors-foreign-origin", frozenset({"SEC-030"}), True),
}
BASE = "http://127.0.0.1:8000"
LOGIN = ls.Login(True, True, "logged in")


def fact(fid: str, topic: str, operation: str, statuses: tuple[str, ...] = ("FAIL", "WARN"),
         checks: tuple[str, ...] = ()) -> ls.LiveFact:
    return ls.parse_fact({"id": fid, "topic": topic, "operation": operation, "why": "w",
                          "status": list(statuses), "checks": list(checks)}, "t", with_status=True)


def obs(check: str, location: str, status: str = "FAIL", severity: str = "HIGH",
        base: str = BASE) -> ls.LiveObserved:
    method, path = ls.parse_live_location(location, base)
    return ls.LiveObserved(check, status, severity, "m", location, method, path)


@pytest.mark.parametrize(("location", "base", "expected"), [
    ("GET http://127.0.0.1:8000/api/users/7?page=2", BASE, ("GET", "/api/users/7")),
    ("POST http://127.0.0.1:8000/api/token/", BASE, ("POST", "/api/token")),
    ("GET http://127.0.0.1:8000/", BASE, ("GET", "/")),
    ("GET http://h:1/v1/items/%7B%7B7*7%7D%7D", "http://h:1/v1", ("GET", "/items/{{7*7}}")),
    ("GET /relative/path?x=1", BASE, ("GET", "/relative/path")),
    ("app/main.py:12", BASE, (None, None)),
    ("http://127.0.0.1:8000", BASE, (None, None)),
    ("", BASE, (None, None)),
])
def test_parse_live_location(location: str, base: str, expected: tuple[str | None, str | None]) -> None:
    assert ls.parse_live_location(location, base) == expected


@pytest.mark.parametrize(("template", "path", "matched"), [
    ("/api/users/{id}", "/api/users/7", True),
    ("/api/users/{id}/", "/api/users/7", True),
    ("/api/users/{id}", "/api/users/7/posts", False),
    ("/api/users/{id}", "/api/users", False),
    ("/{unknown_path}", "/{{7*7}}", True),
    ("/{unknown_path}", "/", False),
    ("/api/v1/{username}/posts", "/api/v1/alice/posts", True),
    ("/a.b", "/aXb", False),  # literal parts are escaped
])
def test_template_regex(template: str, path: str, matched: bool) -> None:
    assert bool(ls.template_regex(template).match(ls.normalise_path(path))) is matched


def test_operation_facts_need_the_operation_and_the_method() -> None:
    f = fact("L01", "rate-limit-missing", "POST /api/token")
    assert ls.live_matches(f, obs("SEC-040", f"POST {BASE}/api/token/"), TOPICS)
    assert not ls.live_matches(f, obs("SEC-040", f"GET {BASE}/api/token"), TOPICS)
    assert not ls.live_matches(f, obs("SEC-040", f"POST {BASE}/api/tokens/reset"), TOPICS)
    assert not ls.live_matches(f, obs("SEC-050", f"POST {BASE}/api/token"), TOPICS)  # other check
    assert not ls.live_matches(f, obs("SEC-040", "", "FAIL"), TOPICS)  # no location


def test_head_counts_as_get_and_status_is_respected() -> None:
    f = fact("L02", "bola", "GET /items/{id}", statuses=("FAIL",))
    assert ls.live_matches(f, obs("SEC-082", f"HEAD {BASE}/items/3"), TOPICS)
    assert not ls.live_matches(f, obs("SEC-082", f"GET {BASE}/items/3", status="WARN"), TOPICS)
    assert ls.live_matches(f, obs("SEC-082", f"GET {BASE}/items/3", status="WARN"), TOPICS,
                           any_status=True)


def test_site_wide_topics_match_anywhere() -> None:
    f = fact("L03", "security-headers-missing", "GET /api/me")
    assert ls.live_matches(f, obs("SEC-050", f"GET {BASE}/"), TOPICS)
    assert ls.live_matches(f, obs("SEC-050", ""), TOPICS)


def test_a_facts_own_checks_join_its_topics() -> None:
    f = fact("L04", "bola", "GET /users/", checks=("FUN-011",))
    assert ls.live_matches(f, obs("FUN-011", f"GET {BASE}/users"), TOPICS)


def test_score_found_missed_violated_and_unexpected() -> None:
    must = [fact("L01", "rate-limit-missing", "POST /login"), fact("L02", "bola", "GET /items/{id}")]
    must_not = [fact("N01", "cors-foreign-origin", "OPTIONS /items")]
    findings = [
        obs("SEC-040", f"POST {BASE}/login"),
        obs("SEC-040", f"POST {BASE}/login", status="WARN"),
        obs("SEC-030", f"OPTIONS {BASE}/other"),  # site-wide must-not: violated anywhere
        obs("SEC-081", f"GET {BASE}/admin", severity="CRITICAL"),  # unexplained, severe
        obs("SEC-081", f"GET {BASE}/admin2", severity="MEDIUM"),  # unexplained, not severe
        obs("SEC-081", f"GET {BASE}/admin3", status="WARN", severity="HIGH"),  # WARN: not listed
        obs("SEC-090", "api/models.py:133", severity="HIGH"),  # a static finding: the static harness
    ]
    s = ls.score_live("p", must, must_not, findings, TOPICS, LOGIN)
    assert [f.id for f, _ in s.found] == ["L01"] and len(s.found[0][1]) == 2
    assert [f.id for f in s.missed] == ["L02"]
    assert [f.id for f, _ in s.violated] == ["N01"]
    assert [u.location for u in s.unexpected] == [f"GET {BASE}/admin"]
    assert s.must_flag_total == 2


def test_a_finding_at_a_must_flag_operation_does_not_violate_a_site_wide_must_not() -> None:
    topics = {**TOPICS, "cors-wildcard-credentials": ls.LiveTopic("cors-wildcard-credentials",
                                                                 frozenset({"SEC-030"}), False)}
    must = [fact("L01", "cors-wildcard-credentials", "OPTIONS /chat")]
    must_not = [fact("N01", "cors-foreign-origin", "OPTIONS /chat")]
    s = ls.score_live("p", must, must_not, [obs("SEC-030", f"OPTIONS {BASE}/chat")], topics, LOGIN)
    assert [f.id for f, _ in s.found] == ["L01"] and not s.violated
    other = ls.score_live("p", must, must_not, [obs("SEC-030", f"OPTIONS {BASE}/x")], topics, LOGIN)
    assert not other.found and [f.id for f, _ in other.violated] == ["N01"]


def test_observed_live_reads_audit_json() -> None:
    audit = {"results": [
        {"id": "SEC-040", "suite": "security", "severity": "HIGH", "status": "FAIL", "findings": [
            {"status": "FAIL", "location": f"POST {BASE}/login", "message": "no 429", "severity": None},
            {"status": "PASS", "location": f"POST {BASE}/x", "message": "ok"}]},
        {"id": "CFG-001", "suite": "config", "status": "FAIL", "findings": [
            {"status": "FAIL", "location": "a.py:1", "message": "static"}]},
        {"id": "FUN-001", "suite": "functional", "severity": "CRITICAL", "status": "WARN", "reason": "r",
         "findings": []},
    ]}
    found = ls.observed_live(audit, BASE)
    assert [(o.check, o.status, o.severity, o.path) for o in found] == [
        ("SEC-040", "FAIL", "HIGH", "/login"), ("FUN-001", "WARN", "CRITICAL", None)]


def test_login_outcome_prefers_the_login_record() -> None:
    audit = {"facts": {"login": {"ok": False, "summary": "no credential obtained: POST /x → 401"}},
             "results": []}
    assert ls.login_outcome(audit, True) == ls.Login(True, False, "no credential obtained: POST /x → 401")
    fun020 = {"results": [{"id": "FUN-020", "findings": [
        {"status": "PASS", "message": "POST /t (form) logged the audit account in"}]}]}
    assert ls.login_outcome(fun020, True).ok
    assert not ls.login_outcome({"results": []}, True).ok


def test_every_manifest_has_parsable_live_facts_and_scopes() -> None:
    topics = ls.load_live_topics()
    assert any(t.site for t in topics.values()) and any(not t.site for t in topics.values())
    for path in harness.manifest_paths():
        must, must_not = ls.load_live_facts(path)
        recipe = lr.load_recipe(path)
        if recipe.runnable:
            assert must, path.name
        for f in (*must, *must_not):
            assert f.topic in topics or f.checks, (path.name, f.id)


def test_bad_live_facts_are_refused() -> None:
    with pytest.raises(ls.LiveManifestError, match="METHOD /path"):
        ls.parse_fact({"id": "L1", "operation": "/no-method"}, "t", with_status=True)
    with pytest.raises(ls.LiveManifestError, match="subset"):
        ls.parse_fact({"id": "L1", "operation": "GET /", "status": ["PASS"]}, "t", with_status=True)


def test_recipe_placeholders_databases_and_hash(tmp_path: Path) -> None:
    manifest = tmp_path / "o__p.toml"
    manifest.write_text('[project]\nfolder = "o__p"\n[live]\nrunnable = true\npython = "3.11"\n'
                        'install = ["pip install -r r.txt"]\nservices = ["postgres"]\n'
                        'env = { DATABASE_URL = "postgresql://{pg}/field_op", P = "{port}" }\n'
                        'seed = ["psql field_op_extra"]\nstart = "run {port} {unknown}"\n'
                        'health = "/h"\nlogin_path = "/login"\n'
                        'account = { username = "u", password = "p", register = "POST /r" }\n',
                        encoding="utf-8")
    recipe = lr.load_recipe(manifest)
    assert lr.databases(recipe) == ["field_op", "field_op_extra"]
    assert lr.fill(recipe.start, {"port": "81"}) == "run 81 {unknown}"
    assert recipe.account == lr.Account("u", "p", "POST /r") and recipe.account2 is None
    h = lr.recipe_hash(recipe, "3.11.7", "d1")
    assert h == lr.recipe_hash(recipe, "3.11.7", "d1")
    assert h != lr.recipe_hash(recipe, "3.11.8", "d1") != lr.recipe_hash(recipe, "3.11.7", "d2")
    assert lr.cacheable(recipe)


def test_the_audit_configuration_keeps_secrets_out_of_the_file() -> None:
    recipe = lr.load_recipe(harness.HERE / "payatu__Tiredful-API.toml")
    text, env = live.audit_config(recipe)
    assert recipe.login_body is not None
    secret = str(recipe.login_body["client_secret"])
    assert secret not in text and env == {"FIELD_LOGIN_CLIENT_SECRET": secret}
    import tomllib

    from prodaudit.config import AuditConfig

    cfg = AuditConfig.model_validate(tomllib.loads(text))  # a valid configuration
    assert cfg.auth.login_url == "/oauth/token/"
    assert isinstance(cfg.auth.login_body, dict)
    assert cfg.auth.login_body["client_secret"] == "{env:FIELD_LOGIN_CLIENT_SECRET}"
    assert cfg.auth.login_body["password"] == "{password}"
