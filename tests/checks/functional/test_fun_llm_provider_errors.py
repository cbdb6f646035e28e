"""FUN-032 with the provider up: a message with a role no provider accepts, forwarded by an API
to the fake OpenAI-compatible provider (which refuses it as OpenAI does), shows how the API
handles provider errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audit_target, describe, result
from servers.live_probes import chat_api, fake_provider
from servers.serving import serve_app

from prodaudit.model import Status


@pytest.mark.parametrize("handled", [False, True])
def test_provider_error_provoked_by_an_unknown_role(tmp_path: Path, handled: bool) -> None:
    """FUN-032 with the provider up: a message with a role the provider refuses is forwarded; an
    unhandled provider error is a 500 (FAIL), a JSON 502 passes."""
    with serve_app(fake_provider()) as provider, serve_app(chat_api(provider, handled)) as url:
        run = audit_target(None, tmp_path, only=["FUN-032"], base_url=url, allow_mutations=True)
    r = result(run, "FUN-032")
    if handled:
        assert r.status is Status.PASS, describe(r)
        assert "answers 502 with a JSON error" in r.findings[0].message
    else:
        assert r.status is Status.FAIL, describe(r)
        f = r.findings[0]
        assert f.location == f"POST {url}/chat" and "answers 500" in f.message
        assert "prodaudit-unknown-role" in f.message
    assert run.requests["llm_calls"] == 2  # the small prompt and the unknown role


def test_provider_error_probe_needs_mutations(tmp_path: Path) -> None:
    with serve_app(fake_provider()) as provider, serve_app(chat_api(provider, False)) as url:
        run = audit_target(None, tmp_path, only=["FUN-032"], base_url=url)
    r = result(run, "FUN-032")
    assert r.status is Status.SKIP and run.requests["llm_calls"] == 0
