"""Misbehaving HTTP servers on 127.0.0.1 (plain asyncio), one behaviour per server:

- ``garbage``: valid HTTP 200 with random bytes declared as JSON, on every path;
- ``raw``: answers every connection with bytes that are not HTTP at all;
- ``hang``: accepts connections, reads the request, never answers;
- ``redirect``: 302 to a new URL on the same server, forever;
- ``huge``: 200 with a 50 MB JSON-typed body on every path;
- ``stall``: answers ``/`` with 404 at once, never answers any other path.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prodaudit.target import free_port

HUGE_BYTES = 50 * 1024 * 1024
MODES = ("garbage", "raw", "hang", "redirect", "huge", "stall")


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        return b""


async def _handle(mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await _read_request(reader)
            if not head:
                return
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if mode == "raw":
                writer.write(os.urandom(256))
                await writer.drain()
                return
            if mode == "stall" and path == b"/":
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                continue
            if mode in ("hang", "stall"):
                await asyncio.sleep(3600)
                return
            if mode == "redirect":
                n = len(path)
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: /r" + str(n).encode() + b"/x\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            elif mode == "garbage":
                body = os.urandom(512)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
            elif mode == "huge":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(HUGE_BYTES).encode() + b"\r\n\r\n"
                )
                chunk = b"[" + b"0," * (512 * 1024)
                sent = 0
                while sent < HUGE_BYTES:
                    part = chunk[: HUGE_BYTES - sent]
                    writer.write(part)
                    await writer.drain()
                    sent += len(part)
                return
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()


@contextmanager
def bad_server(mode: str) -> Iterator[str]:
    """Run a misbehaving server in a thread; yields its base URL, stops it on exit."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.AbstractServer] = {}

    async def serve() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(mode, r, w), "127.0.0.1", port)
        holder["server"] = server
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    thread = threading.Thread(target=run, name=f"bad-server-{mode}", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"bad server ({mode}) did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
