"""The browser engines installed on this machine that Playwright can drive, and how.

- Chromium: Debian's ``chromium`` (``readiness.chromium_path``), launched by Playwright's
  ``chromium`` browser type with ``executable_path``.
- Firefox: Debian's ``firefox-esr`` (``readiness.firefox_path``), driven over WebDriver BiDi
  (Playwright's ``moz-firefox`` channel). Playwright's own patched Firefox ("Juggler") is what
  ``playwright install`` downloads and cannot be used with a system Firefox. Firefox ESR lacks
  one BiDi command Playwright sends for every new context, so the engine is launched through
  :mod:`prodaudit.bidi_shim` (see there: it answers only a no-op override itself).
- WebKit: no system build Playwright can drive exists on Debian; it is reported as not
  installed, never as passed.

Playwright's browser downloads are never used (they need a network the audit does not have).
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ENGINES = ("chromium", "firefox", "webkit")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


@dataclass(frozen=True)
class Engine:
    name: str  # chromium | firefox
    executable: Path  # what Playwright launches (for Firefox: the BiDi launcher script)
    browser: Path  # the installed browser binary
    channel: str | None = None
    args: tuple[str, ...] = field(default_factory=tuple)

    def launch_options(self) -> dict[str, object]:
        opts: dict[str, object] = {"executable_path": str(self.executable), "args": list(self.args)}
        if self.channel:
            opts["channel"] = self.channel
        return opts


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def firefox_launcher(firefox: Path, directory: Path) -> Path:
    """A launcher script in ``directory`` that starts ``firefox`` through the BiDi shim."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "firefox-bidi"
    python, browser = shlex.quote(sys.executable), shlex.quote(str(firefox))
    script.write_text(f'#!/bin/sh\nexec {python} -m prodaudit.bidi_shim {browser} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def installed_engines(chromium: Path, firefox: Path, launcher_dir: Path) -> tuple[list[Engine], list[str]]:
    """(engines that can run, why each other engine cannot)."""
    engines: list[Engine] = []
    missing: list[str] = []
    if _executable(chromium):
        engines.append(Engine("chromium", chromium, chromium, args=CHROMIUM_ARGS))
    else:
        missing.append(f"chromium: not installed at {chromium}")
    if _executable(firefox):
        engines.append(Engine("firefox", firefox_launcher(firefox, launcher_dir), firefox,
                              channel="moz-firefox"))
    else:
        missing.append(f"firefox: not installed at {firefox} (Debian firefox-esr)")
    missing.append("webkit: no system WebKit that Playwright can drive")
    return engines, missing
