"""prodaudit.browsers and prodaudit.bidi_shim: the installed engines, and Playwright driving the
system Firefox ESR over WebDriver BiDi through the relay (a real browser, a real page)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

from conftest_services import chromium_path, require_service

from prodaudit.bidi_shim import answer_locally
from prodaudit.browsers import installed_engines

FIREFOX = Path("/usr/bin/firefox-esr")


def test_only_a_no_op_media_override_is_answered_locally() -> None:
    noop = {"id": 7, "method": "emulation.setMediaFeaturesOverride",
            "params": {"features": {"prefers-color-scheme": None}, "userContexts": ["u"]}}
    assert json.loads(answer_locally(json.dumps(noop)) or "{}") == {"type": "success", "id": 7, "result": {}}
    assert answer_locally(json.dumps({**noop, "params": {"features": {}}})) is not None
    dark = {**noop, "params": {"features": {"prefers-color-scheme": "dark"}}}
    assert answer_locally(json.dumps(dark)) is None  # a real override reaches Firefox (and fails)
    assert answer_locally(json.dumps({"id": 1, "method": "browsingContext.navigate", "params": {}})) is None
    assert answer_locally("not json") is None


def test_engines_are_what_is_installed(tmp_path: Path) -> None:
    engines, missing = installed_engines(tmp_path / "no-chromium", tmp_path / "no-firefox", tmp_path)
    assert engines == []
    assert [m.split(":")[0] for m in missing] == ["chromium", "firefox", "webkit"]


def test_playwright_drives_firefox_esr_through_the_relay(tmp_path: Path) -> None:
    require_service("firefox", FIREFOX.is_file(), "Debian firefox-esr (scripts/services.sh up firefox)")
    require_service("chromium", chromium_path() is not None, "Debian chromium")
    require_service("playwright", importlib.util.find_spec("playwright") is not None,
                    "the browser extra (pip install 'prodaudit[browser]')")
    engines, _ = installed_engines(Path(chromium_path() or ""), FIREFOX, tmp_path)
    assert [e.name for e in engines] == ["chromium", "firefox"]
    page_html = ("data:text/html,<h1>hi</h1><input id=x><button onclick=\"console.error("
                 "'clicked '+document.getElementById('x').value)\">b</button>")

    async def drive() -> list[tuple[str, str, str, int]]:
        from playwright.async_api import async_playwright

        out = []
        async with async_playwright() as pw:
            for e in engines:
                launch = getattr(pw, e.name).launch
                browser = await launch(headless=True, timeout=90_000, **e.launch_options())
                try:
                    page = await browser.new_page(viewport={"width": 375, "height": 667})
                    await page.goto(page_html)
                    await page.fill("#x", "typed")
                    async with page.expect_console_message() as message:
                        await page.click("button")
                    text = (await message.value).text
                    out.append((browser.browser_type.name, await page.inner_text("h1"), text,
                                await page.evaluate("innerWidth")))
                finally:
                    await browser.close()
        return out

    results = asyncio.run(drive())
    assert [(n, h, c, w) for n, h, c, w in results] == [
        ("chromium", "hi", "clicked typed", 375), ("firefox", "hi", "clicked typed", 375)]
