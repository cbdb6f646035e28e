"""RDY-084 (a load scenario that can load something) and RDY-085 (the scenario run headless
against a live reference target, bounded). The reference target's Locust scenario passes
(budgets generous enough that no timing is asserted); a copy whose scenario requests an endpoint
that does not exist fails on its error rate; an empty locustfile.py is a FAIL, not a scenario."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_services import require_service
from rdy_helpers import assert_status, messages, mvp, run_rdy, write

from prodaudit.model import Evidence, Status
from prodaudit.target import ReferenceTarget

__all__ = ["mvp"]

#: budgets that only a broken run misses: the test asserts outcomes, never timings
BUDGET = {"load_seconds": 8, "load_users": 3, "load_max_requests": 60, "load_p95_ms": 120_000}


@pytest.fixture(scope="module")
def api() -> Iterator[ReferenceTarget]:
    require_service("locust", importlib.util.find_spec("locust") is not None,
                    "install prodaudit[load] (the test extra has it)")
    with ReferenceTarget(flaws="", frontend=False) as t:
        yield t


def test_reference_scenario_runs_within_budget(api: ReferenceTarget) -> None:
    r = run_rdy("RDY-085", target=api, allow_mutations=True, readiness=BUDGET)["RDY-085"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.OBSERVED
    text = messages(r)
    assert "load-tests/locustfile.py: " in text and "errors 0.0%" in text and "p95 " in text
    assert "--headless" in text and "GET /notes" in text


BROKEN = '''
from locust import HttpUser, between, task


class Visitor(HttpUser):
    wait_time = between(0.1, 0.3)

    @task
    def missing_page(self):
        self.client.get("/this-endpoint-does-not-exist")
'''


def test_scenario_with_failing_requests_fails(api: ReferenceTarget, mvp: Path) -> None:
    write(mvp / "load-tests" / "locustfile.py", BROKEN)
    r = run_rdy("RDY-085", target=api, repo=mvp, readiness=BUDGET)["RDY-085"]
    assert_status(r, Status.FAIL)  # read-only scenario: runs without --allow-mutations
    text = messages(r)
    assert "errors 100.0%" in text and "error rate above 1%" in text
    assert "/this-endpoint-does-not-exist" in text


THROTTLED = '''
import secrets

from locust import HttpUser, between, task


class Returning(HttpUser):
    """Registers, then logs in again and again: the target's login limiter (10 per minute and
    address) answers 429 after the first few."""

    wait_time = between(0.05, 0.1)

    def on_start(self):
        self.email = f"load-{secrets.token_hex(6)}@example.com"
        self.client.post("/auth/register", json={"email": self.email, "password": "Pw-" + "x" * 16})

    @task
    def login(self):
        self.client.post("/auth/token", data={"username": self.email, "password": "Pw-" + "x" * 16})
'''


def test_a_run_the_targets_limiter_refused_is_not_verified(api: ReferenceTarget,
                                                            mvp: Path) -> None:
    """429s and what follows them measure the limiter, not the product: SKIP with the reason,
    never a FAIL on an error rate the product's own protection made (nor a PASS)."""
    write(mvp / "load-tests" / "locustfile.py", THROTTLED)
    r = run_rdy("RDY-085", target=api, repo=mvp, allow_mutations=True, readiness=BUDGET)["RDY-085"]
    assert_status(r, Status.SKIP)
    assert "the target rate-limited" in r.reason and "POST /auth/token" in r.reason, r.reason
    assert "raise the limits" in r.reason


def test_writing_scenario_needs_allow_mutations(api: ReferenceTarget) -> None:
    r = run_rdy("RDY-085", target=api, readiness=BUDGET)["RDY-085"]
    assert_status(r, Status.SKIP)
    assert "--allow-mutations" in r.reason


def test_empty_locustfile_is_no_scenario(mvp: Path) -> None:
    write(mvp / "load-tests" / "locustfile.py", "")
    r = run_rdy("RDY-084", repo=mvp)["RDY-084"]
    assert_status(r, Status.FAIL)
    assert "cannot load anything" in messages(r)
    r = run_rdy("RDY-085", repo=mvp, base_url="http://127.0.0.1:9")["RDY-085"]
    assert r.status is Status.SKIP  # target down, or nothing to run: never a PASS


def test_reference_scenario_is_present_not_executed() -> None:
    r = run_rdy("RDY-084")["RDY-084"]
    assert_status(r, Status.PASS)
    assert r.evidence_level is Evidence.PRESENT and not r.verified_pass
    assert "ProductUser" in messages(r) and "writes" in messages(r)
