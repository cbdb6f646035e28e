from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from prodaudit.demo import down, up


def test_demo_up_and_down(tmp_path: Path) -> None:
    state = tmp_path / "demo.json"
    out = up("", state=state)
    assert "base_url=" in out, out
    info = json.loads(state.read_text())
    assert httpx.get(info["base_url"] + "/health", timeout=5).status_code == 200
    assert "already running" in up("", state=state)
    assert down(state) == "demo stopped"
    assert not state.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(info["base_url"] + "/health", timeout=2)
    assert down(state) == "no demo running"


def test_a_state_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    from prodaudit.errors import InputError

    state = tmp_path / "demo.json"
    state.write_text('{"pid": "1; rm -rf /"}')
    with pytest.raises(InputError, match="not a demo state file"):
        down(state)
    state.write_text("[" * 20_000)
    with pytest.raises(InputError, match="JSON"):
        down(state)
