"""The audit-started reference target: the product runs as configured (every check judges the
limits it ships with); the end-to-end journeys get an instance of their own."""

from __future__ import annotations

from pathlib import Path

import httpx
from helpers import describe, result

from prodaudit.audit import _target, run_audit
from prodaudit.config import load_config
from prodaudit.model import Status


def test_the_started_target_keeps_the_products_login_limit(tmp_path: Path) -> None:
    """The audit once raised the target's login limit for its browser journeys, and SEC-040 then
    failed the product for a limit the product does not ship."""
    cfg = load_config({"output": tmp_path / "reports", "only": ["SEC-040"]})
    run = run_audit(cfg, ["security"], quiet=True, write=False).run
    r = result(run, "SEC-040")
    assert r.status is Status.PASS, describe(r)


def test_end_to_end_journeys_run_against_their_own_instance(tmp_path: Path) -> None:
    cfg = load_config({"output": tmp_path / "reports"})
    with _target(cfg, True, live=True, e2e_instance=True) as (eff, _, ready, urls):
        assert ready is not None and ready() is None and urls is not None
        eff = eff.model_copy(update=urls())  # where they started (a taken port moves one)
        url = eff.readiness.e2e_frontend_url
        assert url and url != eff.frontend_url
        assert httpx.get(url + "/", timeout=10).status_code == 200
        assert httpx.get(str(eff.frontend_url) + "/", timeout=10).status_code == 200
    with _target(cfg, True, live=True, e2e_instance=False) as (eff, _, ready, _urls):
        assert eff.readiness.e2e_frontend_url is None  # no journeys selected: one instance
    own = load_config({"output": tmp_path / "reports",
                       "readiness": {"e2e_frontend_url": "http://127.0.0.1:9"}})
    with _target(own, True, live=False, e2e_instance=True) as (eff, _, _ready, _urls):
        assert eff.readiness.e2e_frontend_url == "http://127.0.0.1:9"  # the user's test instance
