"""A launcher that lets Playwright drive a system Firefox ESR over WebDriver BiDi.

Playwright (1.5x+) drives Firefox through WebDriver BiDi when launched with a ``moz-firefox``
channel and an ``executablePath``. Debian's Firefox ESR speaks BiDi but does not implement
``emulation.setMediaFeaturesOverride``, which Playwright sends whenever it creates a browser
context: every ``new_context``/``new_page`` then fails with "unknown command". This launcher
sits between the two: it starts Firefox with Playwright's arguments, relays Firefox's output,
and when Firefox announces ``WebDriver BiDi listening on ws://…`` it announces a local relay
instead. The relay forwards every message unchanged, except a ``setMediaFeaturesOverride`` that
asks for no override at all (every feature ``null``/absent, i.e. the browser's own setting):
that one is answered "success" without reaching Firefox, because not overriding is exactly what
Firefox does anyway. A request for a real override (``colorScheme: 'dark'``) is forwarded and
fails as before: nothing is faked.

Run as ``python -m prodaudit.bidi_shim FIREFOX [firefox arguments...]`` (written into a small
launcher script by :func:`prodaudit.browsers.firefox_launcher`). The relay listens on 127.0.0.1
only and lives as long as Firefox: when Firefox exits, so does the launcher (with its code).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import signal
import sys
from typing import Any

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://[^\s/]+)")
NOOP_METHODS = frozenset({"emulation.setMediaFeaturesOverride"})


def answer_locally(message: str) -> str | None:
    """The reply for a command the relay answers itself (a media-features override that
    overrides nothing), else None (forward it)."""
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("method") not in NOOP_METHODS:
        return None
    features = (data.get("params") or {}).get("features") or {}
    if isinstance(features, dict) and all(v is None for v in features.values()):
        return json.dumps({"type": "success", "id": data.get("id"), "result": {}})
    return None


async def _relay(client: Any, upstream_base: str) -> None:
    import websockets

    path = client.request.path if getattr(client, "request", None) else "/session"
    async with websockets.connect(upstream_base + path, max_size=None, ping_interval=None) as upstream:

        async def to_firefox() -> None:
            async for message in client:
                reply = answer_locally(message) if isinstance(message, str) else None
                if reply is not None:
                    await client.send(reply)
                else:
                    await upstream.send(message)

        async def to_client() -> None:
            async for message in upstream:
                await client.send(message)

        tasks = [asyncio.ensure_future(to_firefox()), asyncio.ensure_future(to_client())]
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()


async def main(argv: list[str]) -> int:
    import websockets

    proc = await asyncio.create_subprocess_exec(*argv, stdout=None, stderr=asyncio.subprocess.PIPE)
    server = None
    loop = asyncio.get_running_loop()
    def stop() -> None:
        if proc.returncode is None:
            proc.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    assert proc.stderr is not None
    while True:
        raw = await proc.stderr.readline()
        if not raw:
            break
        line = raw.decode(errors="replace")
        m = LISTENING.search(line)
        if m and server is None:
            upstream = m.group(1)
            server = await websockets.serve(functools.partial(_relay, upstream_base=upstream),
                                            "127.0.0.1", 0, max_size=None, ping_interval=None)
            port = next(iter(server.sockets)).getsockname()[1]
            line = line.replace(upstream, f"ws://127.0.0.1:{port}")
        sys.stderr.write(line)
        sys.stderr.flush()
    code = await proc.wait()
    if server is not None:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    return code


if __name__ == "__main__":  # pragma: no cover - started by Playwright through the launcher
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m prodaudit.bidi_shim FIREFOX [ARGS...]\n")
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1:])))
